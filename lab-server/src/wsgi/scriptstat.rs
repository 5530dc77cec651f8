//! The look at a WSGI script that every request makes (it exists and is a regular file, and
//! its modification time for `WSGIScriptReloading`), answered from memory while nothing on
//! its path changed.
//!
//! A `stat` walks the whole path on every request. Here the kernel tells instead (inotify):
//! the first look at a script watches every directory from `/` down to it and the file
//! itself, and remembers what `lstat` said; each later look reads the watch's queue (one
//! non-blocking `read`, with nothing to read while nothing changed) and answers from memory.
//! Any event at all (a file created, renamed, touched or written in one of those
//! directories, a directory moved, the queue overflowing) forgets everything remembered, so
//! the next look is a real `stat` again. The kernel queues an event before the call that
//! caused it returns, so a request that starts after `touch script.wsgi` returned always
//! sees the new time, as with a `stat` of its own.
//!
//! Paths that are relative, go through `.`/`..`, or pass through a symbolic link (whose
//! target could change without an event here) are looked at with `stat` every time, as is
//! everything when inotify is not available (the per-user limit of instances reached).

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// What a look at a script found: `Some(mtime)` for a regular file (seconds since the
/// epoch), `None` when it is missing, unreadable or not a regular file.
pub type Stamp = Option<f64>;

/// The script at `path` as a request sees it now.
pub fn stamp(path: &Path) -> Stamp {
    // Another thread looking right now: a `stat` of its own rather than a wait for it.
    match watcher().map(Mutex::try_lock) {
        Some(Ok(mut w)) => w.stamp(path),
        _ => stat(path),
    }
}

fn stat(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| super::python::mtime_of(&m))
}

/// More scripts than this remembered at once: start over (a lab serves a handful).
const MAX_KNOWN: usize = 4096;

struct Watcher {
    fd: OwnedFd,
    known: HashMap<PathBuf, Stamp>,
    /// A read failed other than "nothing to read": stop trusting the queue.
    broken: bool,
}

fn watcher() -> Option<&'static Mutex<Watcher>> {
    static WATCHER: OnceLock<Option<Mutex<Watcher>>> = OnceLock::new();
    WATCHER
        .get_or_init(|| {
            if std::env::var_os("LAB_WSGI_STAT_EVERY_REQUEST").is_some_and(|v| v == "1") {
                return None;
            }
            inotify().map(|fd| {
                Mutex::new(Watcher {
                    fd,
                    known: HashMap::new(),
                    broken: false,
                })
            })
        })
        .as_ref()
}

#[allow(unsafe_code)]
fn inotify() -> Option<OwnedFd> {
    // SAFETY: plain system call; a non-negative result is a new descriptor owned here.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    // SAFETY: `fd` was just returned by the kernel and nobody else owns it.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Events that may change what a `stat` of a path under a watched directory (or of the
/// watched file itself) answers.
const MASK: u32 = libc::IN_ATTRIB
    | libc::IN_MODIFY
    | libc::IN_CLOSE_WRITE
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

impl Watcher {
    fn stamp(&mut self, path: &Path) -> Stamp {
        if self.broken {
            return stat(path);
        }
        if self.drain() {
            self.known.clear();
        }
        if self.broken {
            return stat(path);
        }
        if let Some(s) = self.known.get(path) {
            return *s;
        }
        // Watched first, looked at second: a change after the watches exist is queued (and
        // makes the next request look again); the look sees anything before.
        let Some(direct) = self.watch(path) else {
            return stat(path);
        };
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            let missing = None;
            self.remember(path, missing);
            return missing;
        };
        if meta.file_type().is_symlink() || !direct {
            // The target may move without an event here.
            return stat(path);
        }
        let s = meta.is_file().then(|| super::python::mtime_of(&meta));
        self.remember(path, s);
        s
    }

    fn remember(&mut self, path: &Path, s: Stamp) {
        if self.known.len() >= MAX_KNOWN {
            self.known.clear();
        }
        self.known.insert(path.to_path_buf(), s);
    }

    /// Reads every queued event; true when there was any.
    #[allow(unsafe_code)]
    fn drain(&mut self) -> bool {
        let mut any = false;
        // Aligned for `inotify_event`; never read from here (any event counts), so it is
        // not zeroed either.
        let mut buf = std::mem::MaybeUninit::<[u64; 512]>::uninit();
        loop {
            // SAFETY: the kernel writes at most `size_of_val(&buf)` bytes into `buf`, which
            // lives on this frame for the whole call; nothing reads them.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            };
            if n > 0 {
                any = true;
                continue;
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::WouldBlock => return any,
                std::io::ErrorKind::Interrupted => continue,
                _ => {
                    self.broken = true;
                    return true;
                }
            }
        }
    }

    /// Watches every directory from `/` down to `path` and the file itself. `None`: the path
    /// cannot be watched (relative, `.` or `..`, a directory that is a symbolic link, an
    /// error); `Some(false)`: watched but the file itself could not be (it exists and is not
    /// something a watch follows); `Some(true)` otherwise.
    fn watch(&mut self, path: &Path) -> Option<bool> {
        if !path.is_absolute() {
            return None;
        }
        let mut dir = PathBuf::new();
        let mut parts = path.components().peekable();
        while let Some(c) = parts.next() {
            match c {
                Component::RootDir => dir.push("/"),
                Component::Normal(n) => {
                    if parts.peek().is_none() {
                        break;
                    }
                    dir.push(n);
                }
                _ => return None,
            }
            // A directory, not a link to one (IN_DONT_FOLLOW with IN_ONLYDIR fails on a
            // symbolic link).
            self.add(&dir, MASK | libc::IN_ONLYDIR | libc::IN_DONT_FOLLOW)
                .ok()?;
        }
        match self.add(path, MASK | libc::IN_DONT_FOLLOW) {
            Ok(()) => Some(true),
            // Not there (yet): its directory's watch tells when it appears.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(true),
            Err(_) => Some(false),
        }
    }

    #[allow(unsafe_code)]
    fn add(&mut self, path: &Path, mask: u32) -> std::io::Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        // IN_MASK_ADD: one inode may be watched for several scripts; masks only grow.
        let wd = unsafe {
            libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask | libc::IN_MASK_ADD)
        };
        if wd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mtime(p: &Path) -> f64 {
        super::super::python::mtime_of(&std::fs::metadata(p).unwrap())
    }

    #[test]
    fn follows_touch_replace_delete_and_parent_rename() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("app");
        std::fs::create_dir(&sub).unwrap();
        let script = sub.join("hola.wsgi");
        assert_eq!(stamp(&script), None, "missing before it exists");
        std::fs::write(&script, "a").unwrap();
        assert_eq!(stamp(&script), Some(mtime(&script)), "seen once created");
        // Remembered: the same answer without a change.
        assert_eq!(stamp(&script), Some(mtime(&script)));

        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        let f = std::fs::File::options().write(true).open(&script).unwrap();
        f.set_modified(later).unwrap();
        drop(f);
        let touched = mtime(&script);
        assert_eq!(stamp(&script), Some(touched), "a new mtime is seen at once");

        // Replaced by a rename (as editors save).
        let tmp = sub.join("hola.wsgi.tmp");
        std::fs::write(&tmp, "b").unwrap();
        std::fs::rename(&tmp, &script).unwrap();
        assert_eq!(stamp(&script), Some(mtime(&script)));
        assert_ne!(stamp(&script), Some(touched));

        // The directory above renamed away: the path no longer leads to a file.
        let moved = dir.path().join("app-old");
        std::fs::rename(&sub, &moved).unwrap();
        assert_eq!(stamp(&script), None, "gone with its directory");
        std::fs::rename(&moved, &sub).unwrap();
        assert!(stamp(&script).is_some(), "back with its directory");

        std::fs::remove_file(&script).unwrap();
        assert_eq!(stamp(&script), None, "deleted");

        // A directory is not a script.
        std::fs::create_dir(&script).unwrap();
        assert_eq!(stamp(&script), None, "a directory");
    }

    #[test]
    fn symbolic_links_are_looked_at_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("a.wsgi"), "a").unwrap();
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let script = link.join("a.wsgi");
        assert!(stamp(&script).is_some());
        // The target directory's file goes away: no event on the link's path.
        std::fs::rename(real.join("a.wsgi"), other.join("a.wsgi")).unwrap();
        assert_eq!(stamp(&script), None);
    }
}
