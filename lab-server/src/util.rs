//! Small helpers shared by the roles.

use std::hash::Hasher;
use std::io::Write;
use std::path::Path;

/// Writes a file atomically: a temporary file in the same directory, fsync, rename. A crash
/// leaves either the old or the new content, never a torn file.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// True when the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}

/// Makes the child `cmd` starts receive `signal` when the lab dies, however it dies (even
/// `kill -9`), so no WSGI worker, php-fpm or CGI script outlives it (Linux's
/// `PR_SET_PDEATHSIG`). The signal follows the thread that spawned the child: every spawn
/// happens on the runtime's worker threads, which live as long as the lab.
pub fn die_with_parent(cmd: &mut tokio::process::Command, signal: libc::c_int) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // getppid(2) and _exit(2), which are async-signal-safe; it allocates nothing.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The lab died between fork and prctl: nobody will send the signal.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Raises the soft limit of open files to the hard one (at most 65536), as systemd's
/// `LimitNOFILE` does for Apache: with Debian's default soft limit of 1024, a thousand slow
/// clients would use up every descriptor and nobody else could connect. Returns the limit
/// now in force.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer,
    // which lives on this stack frame for the whole call.
    #[allow(unsafe_code)]
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let want = lim.rlim_max.min(65536);
        if lim.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = want;
            }
        }
    }
    lim.rlim_cur
}

/// Set by the supervising process of [`supervised`] when the lab dies.
static LAB_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn lab_gone(_: libc::c_int) {
    LAB_GONE.store(true, std::sync::atomic::Ordering::SeqCst);
}

extern "C" fn child_changed(_: libc::c_int) {}

/// Set by the supervising process of [`supervised`] when the lab asks it to end the script
/// and everything below it ([`CLEAN_UP`]).
static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn asked(_: libc::c_int) {
    ASKED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The signal that asks a supervising process of [`supervised`] to end everything below it
/// and exit (the lab sends it when it drops a script it has not seen end).
pub const CLEAN_UP: libc::c_int = libc::SIGUSR2;

/// Starts the program of `cmd` under a small supervising process, as mod_cgid starts scripts
/// from its daemon, so that nothing a script starts outlives the lab, even after `kill -9`.
///
/// The process the lab spawns (and waits for, and whose process group it ends) forks once
/// more before exec: the child goes on to run the program; the parent stays behind as a child
/// subreaper (`PR_SET_CHILD_SUBREAPER`, so the script's orphans, even those that left its
/// process group with `setsid`, become its children) that gets SIGTERM when the lab dies
/// (`PR_SET_PDEATHSIG`; a SIGTERM while its parent is still the lab is ignored, so the lab
/// can signal the script's process group). Until then it only waits: when the program exits
/// it exits with the program's status. When the lab dies, or asks with [`CLEAN_UP`], it
/// kills every child it has, again and again as their own children are handed to it, until
/// none is left, and exits.
///
/// Everything it runs after the fork is async-signal-safe system calls on stack buffers.
pub fn supervised(cmd: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec. Both processes it leaves
    // behind only make async-signal-safe system calls (prctl, sigaction, fork, waitpid,
    // kill, open, read, close, nanosleep, close_range, _exit) on buffers of this stack frame;
    // nothing is allocated and no lock is taken.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SIGTERM (the lab died), CLEAN_UP and SIGCHLD wake the supervisor; they stay
            // blocked but while it sleeps in sigsuspend, so none is missed between checks.
            let mut blocked: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut blocked);
            libc::sigaddset(&mut blocked, libc::SIGTERM);
            libc::sigaddset(&mut blocked, libc::SIGCHLD);
            libc::sigaddset(&mut blocked, CLEAN_UP);
            libc::sigprocmask(libc::SIG_BLOCK, &blocked, std::ptr::null_mut());
            let mut action: libc::sigaction = std::mem::zeroed();
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_sigaction = lab_gone as *const () as usize;
            libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
            action.sa_sigaction = child_changed as *const () as usize;
            libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut());
            action.sa_sigaction = asked as *const () as usize;
            libc::sigaction(CLEAN_UP, &action, std::ptr::null_mut());
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            let supervisor = libc::getpid();
            let program = libc::fork();
            if program < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if program == 0 {
                // The program: default signals and an empty mask again, and gone with its
                // supervisor.
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                libc::signal(libc::SIGCHLD, libc::SIG_DFL);
                libc::signal(CLEAN_UP, libc::SIG_DFL);
                libc::sigprocmask(libc::SIG_UNBLOCK, &blocked, std::ptr::null_mut());
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() != supervisor {
                    libc::_exit(1);
                }
                return Ok(());
            }
            // The supervisor: it holds none of the program's pipes (so the lab sees their
            // ends when the program closes them) nor the spawn's error pipe.
            libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            supervise(program, supervisor, parent)
        });
    }
}

/// The supervising process's loop (see [`supervised`]); never returns.
#[allow(unsafe_code)]
unsafe fn supervise(program: libc::pid_t, me: libc::pid_t, lab: libc::pid_t) -> ! {
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    loop {
        // A SIGTERM while the lab lives is the lab ending the script's process group (or
        // the lab's spawning thread ending): the program got it too; nothing to do here.
        if LAB_GONE.swap(false, std::sync::atomic::Ordering::SeqCst) && libc::getppid() != lab {
            break;
        }
        if ASKED.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let mut status = 0;
        let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
        if pid == program {
            if libc::WIFEXITED(status) {
                libc::_exit(libc::WEXITSTATUS(status));
            }
            libc::_exit(128 + libc::WTERMSIG(status));
        }
        if pid > 0 {
            // An orphan handed over and gone: look again before sleeping.
            continue;
        }
        if pid < 0 && *libc::__errno_location() == libc::ECHILD {
            libc::_exit(0);
        }
        // Sleeps with both signals open; returns after either was handled.
        libc::sigsuspend(&none);
    }
    // The lab is gone: kill every child, and the children handed over when they die.
    for _ in 0..2000 {
        let any = kill_children(me);
        let mut status = 0;
        while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
        if !any && libc::waitpid(-1, &mut status, libc::WNOHANG) < 0 {
            break;
        }
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        libc::nanosleep(&pause, std::ptr::null_mut());
    }
    libc::_exit(1)
}

/// Sends SIGKILL to every process whose parent is `me`, found by reading `/proc/*/stat`
/// (raw getdents64, open and read into stack buffers); whether there was any.
#[allow(unsafe_code)]
unsafe fn kill_children(me: libc::pid_t) -> bool {
    let mut any = false;
    let dir = libc::open(
        c"/proc".as_ptr(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
    );
    if dir < 0 {
        return false;
    }
    let mut entries = [0u8; 8192];
    loop {
        let n = libc::syscall(
            libc::SYS_getdents64,
            dir,
            entries.as_mut_ptr(),
            entries.len(),
        );
        if n <= 0 {
            break;
        }
        let mut at = 0usize;
        while at + 19 < n as usize {
            let reclen = u16::from_ne_bytes([entries[at + 16], entries[at + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &entries[at + 19..(at + reclen).min(n as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if !name.is_empty() && name.len() <= 10 && name.iter().all(u8::is_ascii_digit) {
                let mut pid: libc::pid_t = 0;
                for &b in name {
                    pid = pid * 10 + libc::pid_t::from(b - b'0');
                }
                if parent_of(name) == Some(me) {
                    libc::kill(pid, libc::SIGKILL);
                    any = true;
                }
            }
            at += reclen;
        }
    }
    libc::close(dir);
    any
}

/// The parent of the process named `pid` (its digits), from `/proc/PID/stat`.
#[allow(unsafe_code)]
unsafe fn parent_of(pid: &[u8]) -> Option<libc::pid_t> {
    let mut path = [0u8; 32];
    let mut len = 0;
    for part in [&b"/proc/"[..], pid, &b"/stat\0"[..]] {
        for &b in part {
            *path.get_mut(len)? = b;
            len += 1;
        }
    }
    let fd = libc::open(
        path.as_ptr() as *const libc::c_char,
        libc::O_RDONLY | libc::O_CLOEXEC,
    );
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 1024];
    let n = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
    libc::close(fd);
    if n <= 0 {
        return None;
    }
    let text = &buf[..n as usize];
    // `PID (comm) S PPID ...`: comm may hold anything, so from the last `)`.
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = text.get(close + 2..)?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let mut ppid: libc::pid_t = 0;
    let mut digits = 0;
    for &b in rest.get(space + 1..)? {
        if !b.is_ascii_digit() {
            break;
        }
        ppid = ppid
            .checked_mul(10)?
            .checked_add(libc::pid_t::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(ppid)
}

/// The decimal digits of `n` in a stack buffer, and where they start in it (as
/// `write!(out, "{n}")` would give them, without the formatting machinery).
pub fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (buf, i)
}

/// A fast non-cryptographic hasher (FxHash's mixing), for memcached's keys and the
/// per-directory merge cache, where SipHash would dominate a small lookup. Not for tables an
/// attacker can fill with colliding keys without a bound on each chain.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        for &b in chunks.remainder() {
            self.hash = (self.hash.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.hash = (self.hash.rotate_left(5) ^ u64::from(i)).wrapping_mul(SEED);
    }

    fn write_usize(&mut self, i: usize) {
        self.hash = (self.hash.rotate_left(5) ^ i as u64).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A map with [`FxHasher`], for keys that come from the configuration (paths of scripts,
/// addresses of sections), never from a request.
pub type FxMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
/// A set hashed with [`FxHasher`].
pub type FxSet<T> = std::collections::HashSet<T, std::hash::BuildHasherDefault<FxHasher>>;

/// A bounded table of entries by a fast hash of their key: entries whose hashes collide share
/// a short list (at most `chain` of them, so keys made to collide cannot make a lookup walk a
/// long one), and past `max` entries the table starts again empty.
#[derive(Debug)]
pub struct HashChains<E> {
    by_hash: FxMap<u64, Vec<E>>,
    len: usize,
    max: usize,
    chain: usize,
}

impl<E> HashChains<E> {
    pub fn new(max: usize, chain: usize) -> HashChains<E> {
        HashChains {
            by_hash: FxMap::default(),
            len: 0,
            max,
            chain,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry with this hash that `is` picks.
    pub fn find(&self, hash: u64, is: impl Fn(&E) -> bool) -> Option<&E> {
        self.by_hash.get(&hash)?.iter().find(|e| is(e))
    }

    /// Keeps `entry` under `hash`, unless its list is full.
    pub fn insert(&mut self, hash: u64, entry: E) {
        if self.len >= self.max {
            self.by_hash.clear();
            self.len = 0;
        }
        let list = self.by_hash.entry(hash).or_default();
        if list.len() < self.chain {
            list.push(entry);
            self.len += 1;
        }
    }
}
