//! The look at a WSGI script that every request makes (it exists and is a regular file, and
//! its modification time for `WSGIScriptReloading`), answered from memory while nothing on
//! its path changed.
//!
//! A `stat` walks the whole path on every request. Here the kernel tells instead (inotify):
//! the first look at a script watches every directory from `/` down to it and the file
//! itself, and remembers what `lstat` said; each later look reads the watch's queue (one
//! non-blocking `read`, with nothing to read while nothing changed) and answers from memory.
//! An event that may change what a `stat` says (the script touched, written or replaced, an
//! entry on its path created, removed, renamed or changed in one of those directories, a
//! directory itself moved, the queue overflowing) forgets everything remembered, so the
//! next look is a real `stat` again; events about other names in those directories (a busy
//! `/tmp`) are read and left aside. The kernel queues an event before the call that
//! caused it returns, so a request that starts after `touch script.wsgi` returned always
//! sees the new time, as with a `stat` of its own. Each thread that looks has an instance
//! of its own (a handful per process: the threads that serve connections), so two threads
//! never wait for each other's `read`.
//!
//! Paths that are relative, go through `.`/`..`, or pass through a symbolic link (whose
//! target could change without an event here) are looked at with `stat` every time, as is
//! everything when inotify is not available (the per-user limit of instances reached).

use std::collections::{HashMap, HashSet};
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// What a look at a script found: `Some(mtime)` for a regular file (seconds since the
/// epoch), `None` when it is missing, unreadable or not a regular file.
pub type Stamp = Option<f64>;

/// The script at `path` as a request sees it now.
pub fn stamp(path: &Path) -> Stamp {
    // Each thread has a watcher of its own (the kernel queues every event for each of
    // them): a look never waits for another thread's `read` of a shared queue.
    WATCHER.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(watcher);
        match w {
            Some(w) => w.stamp(path),
            None => stat(path),
        }
    })
}

thread_local! {
    /// This thread's watcher: `Some(None)` once inotify turned out unavailable (or is off).
    static WATCHER: std::cell::RefCell<Option<Option<Watcher>>> =
        const { std::cell::RefCell::new(None) };
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
    /// By the script's path as written (its bytes are hashed; a `Path`'s hash walks its
    /// components).
    known: crate::util::FxMap<OsString, Stamp>,
    /// For each directory watch, the names in it on the path of a remembered script.
    names: HashMap<i32, HashSet<OsString>>,
    /// The watches of the scripts themselves: any event on them counts.
    files: HashSet<i32>,
    /// A read failed other than "nothing to read": stop trusting the queue.
    broken: bool,
}

fn watcher() -> Option<Watcher> {
    static OFF: OnceLock<bool> = OnceLock::new();
    if *OFF
        .get_or_init(|| std::env::var_os("LAB_WSGI_STAT_EVERY_REQUEST").is_some_and(|v| v == "1"))
    {
        return None;
    }
    inotify().map(|fd| Watcher {
        fd,
        known: Default::default(),
        names: HashMap::new(),
        files: HashSet::new(),
        broken: false,
    })
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
            self.forget();
        }
        if self.broken {
            return stat(path);
        }
        if let Some(s) = self.known.get(path.as_os_str()) {
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
            // The names of the paths forgotten go too; this path's are watched again.
            self.forget();
            if self.watch(path) != Some(true) {
                return;
            }
        }
        self.known.insert(path.as_os_str().to_owned(), s);
    }

    /// Everything remembered goes (the watches stay; the next look adds its names again
    /// before it looks).
    fn forget(&mut self) {
        self.known.clear();
        self.names.clear();
        self.files.clear();
    }

    /// Whether a queued event may change what a look at a remembered script says.
    fn matters(&self, wd: i32, mask: u32, name: &[u8]) -> bool {
        if mask
            & (libc::IN_Q_OVERFLOW
                | libc::IN_IGNORED
                | libc::IN_UNMOUNT
                | libc::IN_DELETE_SELF
                | libc::IN_MOVE_SELF)
            != 0
            || self.files.contains(&wd)
            || name.is_empty()
        {
            return true;
        }
        self.names
            .get(&wd)
            .is_some_and(|n| n.contains(std::ffi::OsStr::from_bytes(name)))
    }

    /// Reads every queued event; true when one of them [`matters`](Self::matters).
    #[allow(unsafe_code)]
    fn drain(&mut self) -> bool {
        let mut any = false;
        // Aligned for `inotify_event`; only the bytes the kernel wrote are read, so it is
        // not zeroed first.
        let mut buf = std::mem::MaybeUninit::<[u64; 512]>::uninit();
        loop {
            // SAFETY: the kernel writes at most `size_of_val(&buf)` bytes into `buf`, which
            // lives on this frame for the whole call.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            };
            if n > 0 {
                // SAFETY: the first `n` bytes were written by the kernel just now.
                let bytes =
                    unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
                any |= self.any_matters(bytes);
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

    /// Walks the `inotify_event` records in `bytes` (header: wd, mask, cookie, name length;
    /// then the NUL-padded name).
    fn any_matters(&self, bytes: &[u8]) -> bool {
        let word = |at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
        let mut at = 0;
        let mut any = false;
        while at + 16 <= bytes.len() {
            let (Some(wd), Some(mask), Some(len)) = (word(at), word(at + 4), word(at + 12)) else {
                return true;
            };
            let (wd, mask) = (i32::from_ne_bytes(wd), u32::from_ne_bytes(mask));
            let len = u32::from_ne_bytes(len) as usize;
            let Some(name) = bytes.get(at + 16..at + 16 + len) else {
                return true;
            };
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            any |= self.matters(wd, mask, name);
            at += 16 + len;
        }
        any
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
            let Some(Component::Normal(next)) = parts.peek() else {
                return None;
            };
            // A directory, not a link to one (IN_DONT_FOLLOW with IN_ONLYDIR fails on a
            // symbolic link).
            let wd = self
                .add(&dir, MASK | libc::IN_ONLYDIR | libc::IN_DONT_FOLLOW)
                .ok()?;
            self.names
                .entry(wd)
                .or_default()
                .insert(next.to_os_string());
        }
        match self.add(path, MASK | libc::IN_DONT_FOLLOW) {
            Ok(wd) => {
                self.files.insert(wd);
                Some(true)
            }
            // Not there (yet): its directory's watch tells when it appears.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(true),
            Err(_) => Some(false),
        }
    }

    #[allow(unsafe_code)]
    fn add(&mut self, path: &Path, mask: u32) -> std::io::Result<i32> {
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
        Ok(wd)
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

        // Other names in the same directories: still the same answer.
        let before = stamp(&script);
        std::fs::write(sub.join("otro.txt"), "x").unwrap();
        std::fs::write(dir.path().join("otro.txt"), "x").unwrap();
        assert_eq!(stamp(&script), before);

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
