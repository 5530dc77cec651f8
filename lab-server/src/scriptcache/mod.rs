//! The lab's accelerators for Python, modelled on PHP's:
//!
//! - [`ScriptCache`] (`ScriptCache*` directives, like OPcache): CPython never keeps the
//!   bytecode of the script it is started with, so a big CGI script is compiled again on
//!   every request. With the cache on, the CGI handler starts the interpreter with a small
//!   bootstrap that runs the script from code compiled once, kept under the workspace's
//!   `.lab/scriptcache/` and indexed here by path, size and mtime; imported modules' bytecode
//!   goes to `.lab/pycache/` (`PYTHONPYCACHEPREFIX`), not next to the student's files.
//! - [`apcu`]: the `apcu` Python module, a user cache in shared memory (like APCu).
//! - [`status`]: `SetHandler scriptcache-status` (HTML and `?json`, like
//!   `opcache_get_status()`).

pub mod apcu;
pub mod shm;
pub mod status;

use std::collections::HashMap;
use std::fs::Metadata;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::model::ScriptCacheSettings;

/// The Python the bootstrap runs in: it compiles the script (and saves the code where the
/// lab says) or loads code compiled before, then runs it as `__main__`, as `python3 script`
/// would.
pub const BOOTSTRAP: &str = r#"
def _lab_run():
    import builtins, marshal, os, sys
    path = sys.argv[1]
    del sys.argv[0]
    sys.path[0] = os.path.dirname(path)
    out = os.environ.pop("LAB_SCRIPTCACHE_OUT", None)
    cached = os.environ.pop("LAB_SCRIPTCACHE_CODE", None)
    code = None
    if cached:
        try:
            with open(cached, "rb") as f:
                code = marshal.load(f)
        except (OSError, ValueError, EOFError, TypeError):
            code = None
    if code is None:
        with open(path, "rb") as f:
            source = f.read()
        code = compile(source, path, "exec", dont_inherit=True)
        if out:
            tmp = "%s.%d.tmp" % (out, os.getpid())
            try:
                with open(tmp, "wb") as f:
                    marshal.dump(code, f)
                os.replace(tmp, out)
            except OSError:
                pass
    main = sys.modules["__main__"].__dict__
    main.clear()
    main.update(__name__="__main__", __file__=path, __builtins__=builtins,
                __doc__=None, __spec__=None, __loader__=None, __package__=None,
                __cached__=None)
    exec(code, main)
_lab_run()
"#;

/// How the CGI handler should start a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Not a Python script, or the cache is off: execute the script itself.
    Direct,
    /// Run `program args... -c BOOTSTRAP script` with these extra variables.
    Bootstrap {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        hit: bool,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    size: u64,
    mtime: SystemTime,
    code: PathBuf,
    code_len: u64,
    hits: u64,
    checked: Instant,
    compiled_at: SystemTime,
    last_used: SystemTime,
}

#[derive(Debug, Default)]
struct Inner {
    settings: Option<ScriptCacheSettings>,
    workspace: PathBuf,
    entries: HashMap<PathBuf, Entry>,
    memory: u64,
    started: Option<SystemTime>,
    last_reset: Option<SystemTime>,
    evictions: u64,
}

/// The script cache of this lab process.
#[derive(Debug, Default)]
pub struct ScriptCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    resets: AtomicU64,
}

/// The one script cache of the running lab (one workspace per process).
pub fn global() -> &'static ScriptCache {
    static CACHE: OnceLock<ScriptCache> = OnceLock::new();
    CACHE.get_or_init(ScriptCache::default)
}

/// A snapshot for the status page and `lab cache`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub enabled: bool,
    pub validate_timestamps: bool,
    pub revalidate_freq: u64,
    pub max_files: usize,
    pub memory_limit: u64,
    pub memory_used: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub resets: u64,
    pub start_time: u64,
    pub last_reset_time: u64,
    pub scripts: Vec<ScriptStatus>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScriptStatus {
    pub full_path: String,
    pub hits: u64,
    pub memory_consumption: u64,
    pub timestamp: u64,
    pub compiled_at: u64,
    pub last_used_timestamp: u64,
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl ScriptCache {
    /// Applies the settings of a (re)loaded configuration; `None` when the module is not
    /// loaded. A reload empties the cache, as restarting php-fpm empties OPcache.
    pub fn configure(&self, settings: Option<&ScriptCacheSettings>, workspace: &Path) {
        {
            let mut inner = self.lock();
            inner.settings = settings.filter(|s| s.on).cloned();
            inner.workspace = workspace.to_path_buf();
            inner.started.get_or_insert_with(SystemTime::now);
        }
        self.reset();
    }

    /// Empties the cache (`lab cache reset`, `opcache_reset()`).
    pub fn reset(&self) {
        let mut inner = self.lock();
        for e in inner.entries.values() {
            let _ = std::fs::remove_file(&e.code);
        }
        inner.entries.clear();
        inner.memory = 0;
        inner.last_reset = Some(SystemTime::now());
        let dir = inner.workspace.join(".lab/scriptcache");
        if let Ok(list) = std::fs::read_dir(&dir) {
            for f in list.flatten() {
                let _ = std::fs::remove_file(f.path());
            }
        }
        self.resets.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.lock().settings.is_some()
    }

    /// How to start `script` (whose metadata the request just read).
    pub fn plan(&self, script: &Path, meta: &Metadata) -> Plan {
        let mut inner = self.lock();
        let Some(settings) = inner.settings.clone() else {
            return Plan::Direct;
        };
        let Some((program, args)) = python_interpreter(script) else {
            return Plan::Direct;
        };
        let ws = inner.workspace.clone();
        let dir = ws.join(".lab/scriptcache");
        let pycache = ws.join(".lab/pycache");
        let mut env = vec![(
            "PYTHONPYCACHEPREFIX".to_string(),
            pycache.to_string_lossy().into_owned(),
        )];
        let size = meta.len();
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        let now = Instant::now();
        // A cached entry: trusted within RevalidateFreq (or always, without timestamps).
        let mut stale = false;
        if let Some(e) = inner.entries.get_mut(script) {
            let trusted = !settings.validate_timestamps
                || now.duration_since(e.checked) < settings.revalidate_freq;
            if trusted || (e.size == size && e.mtime == mtime) {
                if !trusted {
                    e.checked = now;
                }
                e.hits += 1;
                e.last_used = SystemTime::now();
                self.hits.fetch_add(1, Ordering::Relaxed);
                env.push((
                    "LAB_SCRIPTCACHE_CODE".into(),
                    e.code.to_string_lossy().into_owned(),
                ));
                return Plan::Bootstrap {
                    program,
                    args,
                    env,
                    hit: true,
                };
            }
            stale = true;
        }
        if stale {
            if let Some(old) = inner.entries.remove(script) {
                inner.memory = inner.memory.saturating_sub(old.code_len);
                let _ = std::fs::remove_file(&old.code);
            }
        }
        // Compiled by an earlier request (the first one compiles and saves the code).
        let code = dir.join(code_name(script, size, mtime));
        if let Ok(m) = std::fs::metadata(&code) {
            let entry = Entry {
                size,
                mtime,
                code: code.clone(),
                code_len: m.len(),
                hits: 1,
                checked: now,
                compiled_at: m.modified().unwrap_or_else(|_| SystemTime::now()),
                last_used: SystemTime::now(),
            };
            inner.memory += entry.code_len;
            inner.entries.insert(script.to_path_buf(), entry);
            self.evict(&mut inner, &settings, script);
            if inner.entries.contains_key(script) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                env.push((
                    "LAB_SCRIPTCACHE_CODE".into(),
                    code.to_string_lossy().into_owned(),
                ));
                return Plan::Bootstrap {
                    program,
                    args,
                    env,
                    hit: true,
                };
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        if std::fs::create_dir_all(&dir).is_ok() {
            env.push((
                "LAB_SCRIPTCACHE_OUT".into(),
                code.to_string_lossy().into_owned(),
            ));
        }
        Plan::Bootstrap {
            program,
            args,
            env,
            hit: false,
        }
    }

    /// Keeps the cache within `ScriptCacheMaxFiles` and `ScriptCacheMemory`, dropping the
    /// least recently used scripts (but `keep` when it is alone).
    fn evict(&self, inner: &mut Inner, settings: &ScriptCacheSettings, keep: &Path) {
        while inner.entries.len() > settings.max_files || inner.memory > settings.memory {
            let victim = inner
                .entries
                .iter()
                .filter(|(p, _)| inner.entries.len() == 1 || p.as_path() != keep)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(p, _)| p.clone());
            let Some(victim) = victim else { break };
            if let Some(e) = inner.entries.remove(&victim) {
                inner.memory = inner.memory.saturating_sub(e.code_len);
                let _ = std::fs::remove_file(&e.code);
                inner.evictions += 1;
            }
        }
    }

    pub fn status(&self) -> Status {
        let inner = self.lock();
        let s = inner.settings.clone();
        let mut scripts: Vec<ScriptStatus> = inner
            .entries
            .iter()
            .map(|(p, e)| ScriptStatus {
                full_path: p.to_string_lossy().into_owned(),
                hits: e.hits,
                memory_consumption: e.code_len,
                timestamp: epoch(e.mtime),
                compiled_at: epoch(e.compiled_at),
                last_used_timestamp: epoch(e.last_used),
            })
            .collect();
        scripts.sort_by(|a, b| a.full_path.cmp(&b.full_path));
        Status {
            enabled: s.is_some(),
            validate_timestamps: s.as_ref().is_none_or(|s| s.validate_timestamps),
            revalidate_freq: s.as_ref().map_or(0, |s| s.revalidate_freq.as_secs()),
            max_files: s.as_ref().map_or(0, |s| s.max_files),
            memory_limit: s.as_ref().map_or(0, |s| s.memory),
            memory_used: inner.memory,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: inner.evictions,
            resets: self.resets.load(Ordering::Relaxed),
            start_time: inner.started.map_or(0, epoch),
            last_reset_time: inner.last_reset.map_or(0, epoch),
            scripts,
        }
    }
}

/// `lab cache status`: the numbers in Spanish.
pub fn summary(s: &Status) -> String {
    let mut out = format!(
        "Caché de scripts: {}\n  aciertos {}  fallos {}  scripts {}  memoria {} de {} bytes  expulsiones {}",
        if s.enabled { "activa" } else { "desactivada (activa el módulo con `lab a2enmod scriptcache`)" },
        s.hits,
        s.misses,
        s.scripts.len(),
        s.memory_used,
        s.memory_limit,
        s.evictions
    );
    for sc in &s.scripts {
        out.push_str(&format!(
            "\n  {} ({} aciertos, {} bytes)",
            sc.full_path, sc.hits, sc.memory_consumption
        ));
    }
    out
}

/// The file name of a script's code: its path, size and mtime, hashed.
fn code_name(script: &Path, size: u64, mtime: SystemTime) -> String {
    let mut h = std::hash::DefaultHasher::new();
    script.hash(&mut h);
    size.hash(&mut h);
    mtime.hash(&mut h);
    format!("{:016x}.code", h.finish())
}

/// The Python interpreter (and its options) of a script's `#!` line, when it is Python:
/// `#!/usr/bin/python3 -u` or `#!/usr/bin/env python3`.
pub fn python_interpreter(script: &Path) -> Option<(String, Vec<String>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(script).ok()?;
    let mut buf = [0u8; 256];
    let n = f.read(&mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let line = text.lines().next()?.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    let prog = words.next()?.to_string();
    let mut args: Vec<String> = words.map(str::to_string).collect();
    let base = Path::new(&prog).file_name()?.to_str()?.to_string();
    let python = if base == "env" {
        args.first().is_some_and(|a| a.starts_with("python"))
    } else {
        base.starts_with("python")
    };
    if !python {
        return None;
    }
    if base == "env" {
        let name = args.remove(0);
        // `env` would search PATH; the script's environment has Debian's PATH too.
        return Some((
            "/usr/bin/env".to_string(),
            std::iter::once(name).chain(args).collect(),
        ));
    }
    Some((prog, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_shebangs_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.py");
        std::fs::write(&p, "#!/usr/bin/python3 -u\nprint()\n").unwrap();
        assert_eq!(
            python_interpreter(&p),
            Some(("/usr/bin/python3".into(), vec!["-u".into()]))
        );
        std::fs::write(&p, "#!/usr/bin/env python3\n").unwrap();
        assert_eq!(
            python_interpreter(&p),
            Some(("/usr/bin/env".into(), vec!["python3".into()]))
        );
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        assert_eq!(python_interpreter(&p), None);
    }

    #[test]
    fn misses_then_hits_and_timestamps_invalidate() {
        let ws = tempfile::tempdir().unwrap();
        let cache = ScriptCache::default();
        let settings = ScriptCacheSettings {
            revalidate_freq: std::time::Duration::ZERO,
            ..Default::default()
        };
        cache.configure(Some(&settings), ws.path());
        let script = ws.path().join("s.py");
        std::fs::write(&script, "#!/usr/bin/python3\nprint(1)\n").unwrap();
        let meta = std::fs::metadata(&script).unwrap();
        let Plan::Bootstrap { env, hit, .. } = cache.plan(&script, &meta) else {
            panic!("debería usar el bootstrap");
        };
        assert!(!hit);
        let out = env
            .iter()
            .find(|(k, _)| k == "LAB_SCRIPTCACHE_OUT")
            .unwrap();
        std::fs::write(&out.1, b"code").unwrap();
        assert!(matches!(
            cache.plan(&script, &meta),
            Plan::Bootstrap { hit: true, .. }
        ));
        std::fs::write(&script, "#!/usr/bin/python3\nprint(22)\n").unwrap();
        let meta = std::fs::metadata(&script).unwrap();
        assert!(matches!(
            cache.plan(&script, &meta),
            Plan::Bootstrap { hit: false, .. }
        ));
        let st = cache.status();
        assert_eq!((st.hits, st.misses), (1, 2));
    }
}
