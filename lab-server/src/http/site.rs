//! The snapshot one request is served from: the configuration plus what is derived from it
//! (vhost names, MIME table, compiled log formats, open logs, worker limit). Built once per
//! start or reload; requests hold an `Arc` to it, so a reload never changes a request midway.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::Semaphore;

use super::log::{AccessFormat, ErrorLog, Level, LogFiles};
use super::vhost::{Chosen, VhostIndex};
use crate::config::model::{HostConfig, ServerConfig};
use crate::config::wsgi::WsgiScriptAlias;
use crate::handlers::files::FileCache;

/// Counters of the role, kept across reloads (what `/server-status` and `lab status` show).
/// They live in memory shared with the daemon-mode workers (which serve the connections the
/// lab hands them and count their requests here too) when the role has such a file.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    pub started_at: SystemTime,
    pub requests: &'static AtomicU64,
    pub bytes: &'static AtomicU64,
    pub busy: &'static AtomicU64,
    pub connections: &'static AtomicU64,
    /// Incremented by every reload (`ParentServerConfigGeneration`).
    pub generation: &'static AtomicU64,
    /// Responses with a 5xx status.
    pub errors: &'static AtomicU64,
    /// The file the counters live in, when they are shared.
    pub shared: Option<std::path::PathBuf>,
    /// The same counters by handler (`static`, `wsgi:GROUP`, `cgi`, `fcgi:BACKEND`...), for
    /// the console's live picture of the stack.
    handlers: std::sync::RwLock<std::collections::BTreeMap<String, Arc<HandlerStats>>>,
}

/// Counters of one handler.
#[derive(Debug, Default)]
pub struct HandlerStats {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub busy: AtomicU64,
}

impl Stats {
    /// The counters of handler `key`, created on first use.
    pub fn handler(&self, key: &str) -> Arc<HandlerStats> {
        if let Ok(map) = self.handlers.read() {
            if let Some(h) = map.get(key) {
                return Arc::clone(h);
            }
        }
        let mut map = self.handlers.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.to_string()).or_default())
    }

    /// (key, requests, errors, busy) of every handler that served something.
    pub fn handlers(&self) -> Vec<(String, u64, u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let map = self.handlers.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(k, h)| {
                (
                    k.clone(),
                    h.requests.load(Relaxed),
                    h.errors.load(Relaxed),
                    h.busy.load(Relaxed),
                )
            })
            .collect()
    }
}

impl Default for Stats {
    fn default() -> Self {
        let slots: &'static [AtomicU64; 8] = Box::leak(Box::default());
        Stats::from_slots(slots, None)
    }
}

impl Stats {
    /// Counters in `slots` (a shared mapping, or memory of this process).
    pub fn from_slots(slots: &'static [AtomicU64; 8], shared: Option<std::path::PathBuf>) -> Stats {
        let [requests, bytes, busy, connections, generation, errors, ..] = slots;
        if shared.is_some() || generation.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            generation.fetch_max(1, std::sync::atomic::Ordering::Relaxed);
        }
        Stats {
            started: Instant::now(),
            started_at: SystemTime::now(),
            requests,
            bytes,
            busy,
            connections,
            generation,
            errors,
            shared,
            handlers: Default::default(),
        }
    }
}

/// Logs of one server (main or vhost).
#[derive(Debug, Clone)]
pub struct HostLogs {
    pub access: Vec<(Arc<super::log::LogFile>, AccessFormat)>,
    pub error: ErrorLog,
}

/// One configuration snapshot of the HTTP role.
#[derive(Debug)]
pub struct Site {
    pub config: Arc<ServerConfig>,
    pub vhosts: VhostIndex,
    /// Extension (lowercase, no dot) -> MIME type, from `TypesConfig`.
    pub mime: HashMap<String, String>,
    /// Logs of each vhost, by index, then the main server's last.
    logs: Vec<HostLogs>,
    /// `MaxRequestWorkers`: requests served at once.
    pub workers: Arc<Semaphore>,
    pub stats: Arc<Stats>,
    pub files: FileCache,
    /// hyper's header read timeout: `Timeout` (mod_reqtimeout's stages are kept by the wire).
    pub header_timeout: std::time::Duration,
    /// Some `ProxyPass` goes to an `http://` backend: request header names are kept as the
    /// client spelled them, to be forwarded so (as mod_proxy_http does).
    pub proxies_http: bool,
    /// mod_reqtimeout's stages, when the module is loaded.
    pub read_timeouts: Option<crate::http::wire::ReadTimeouts>,
    /// The `Server` header (`ServerTokens`).
    pub server_header: http::HeaderValue,
    /// What requests take from the configuration for each (host, `WSGIScriptAlias`) pair met
    /// so far (its merged settings among it): made once per snapshot, not per request.
    wsgi_places: std::sync::Mutex<crate::util::FxMap<(usize, usize), Arc<crate::wsgi::WsgiPlace>>>,
    /// mod_mime's answers (type, languages) for files whose merge read no `.htaccess`: they
    /// depend only on this snapshot's sections and the file's name.
    mime_memo: std::sync::Mutex<MimeMemo>,
}

/// mod_mime's answers by a hash of their merge's layers and their path: (layers, path,
/// answer).
type MimeMemo = crate::util::HashChains<(u64, std::path::PathBuf, MimeAnswer)>;

/// What mod_mime says of a file: its `Content-Type` and its languages.
pub type MimeAnswer = (Option<String>, Vec<String>);

/// At most this many answers are kept (past it the memo starts again), and this many per
/// hash.
const MIME_MEMO_MAX: usize = 4096;
const MIME_CHAIN: usize = 4;

impl Site {
    pub fn new(
        config: Arc<ServerConfig>,
        log_files: &LogFiles,
        stats: Arc<Stats>,
    ) -> Result<Site, String> {
        let mime = match &config.types_config {
            Some(p) => read_mime_types(&p.path).map_err(|e| {
                format!(
                    "no se pudo leer TypesConfig {} ({}): {e}",
                    p.written,
                    p.path.display()
                )
            })?,
            None => HashMap::new(),
        };
        let main_logs = host_logs(&config, &config.main, None, log_files)?;
        let mut logs = Vec::with_capacity(config.vhosts.len() + 1);
        for v in &config.vhosts {
            logs.push(host_logs(&config, &v.host, Some(&main_logs), log_files)?);
        }
        logs.push(main_logs);
        // The script cache follows the configuration; a reload empties it.
        crate::scriptcache::global().configure(
            config
                .has_module("scriptcache")
                .then_some(&config.scriptcache),
            &config.workspace,
        );
        // mod_reqtimeout: the head and the body of each request get their stage's time (see
        // the connection's wire); `Timeout` bounds the rest.
        let read_timeouts =
            config
                .has_module("reqtimeout")
                .then(|| crate::http::wire::ReadTimeouts {
                    header: config.request_read.header(),
                    body: config.request_read.body(),
                });
        // hyper's own limit for a head is only the backstop: `Timeout`.
        let header_timeout = config.timeout;
        Ok(Site {
            vhosts: VhostIndex::new(&config),
            mime,
            logs,
            workers: Arc::new(Semaphore::new(
                config.mpm.max_request_workers.max(1) as usize
            )),
            stats,
            files: FileCache::default(),
            header_timeout,
            proxies_http: std::iter::once(&config.main)
                .chain(config.vhosts.iter().map(|v| &v.host))
                .any(|h| h.proxy.rules.iter().any(|r| r.http.is_some())),
            read_timeouts,
            server_header: http::HeaderValue::from_str(&config.server_tokens)
                .unwrap_or(http::HeaderValue::from_static("Apache")),
            wsgi_places: Default::default(),
            mime_memo: std::sync::Mutex::new(MimeMemo::new(MIME_MEMO_MAX, MIME_CHAIN)),
            config,
        })
    }

    /// What requests to `alias` in `host` take from the configuration (its merged
    /// [`crate::wsgi::mapping::settings_for`] among them), made once per snapshot.
    pub fn wsgi_place(
        &self,
        host: &HostConfig,
        alias: &WsgiScriptAlias,
    ) -> Arc<crate::wsgi::WsgiPlace> {
        // Both live in this snapshot's configuration, which does not move while it lives.
        let key = (
            std::ptr::from_ref(host) as usize,
            std::ptr::from_ref(alias) as usize,
        );
        let mut map = self.wsgi_places.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(&key) {
            return Arc::clone(s);
        }
        let s = Arc::new(crate::wsgi::WsgiPlace::new(&self.config, host, alias));
        map.insert(key, Arc::clone(&s));
        s
    }

    pub fn host(&self, chosen: Chosen) -> &HostConfig {
        match chosen {
            Chosen::Vhost(i) => &self.config.vhosts[i].host,
            Chosen::Main => &self.config.main,
        }
    }

    pub fn logs(&self, chosen: Chosen) -> &HostLogs {
        match chosen {
            Chosen::Vhost(i) => &self.logs[i],
            Chosen::Main => &self.logs[self.logs.len() - 1],
        }
    }

    /// The main server's error log (start-up and shutdown notices).
    pub fn main_error_log(&self) -> &ErrorLog {
        &self.logs[self.logs.len() - 1].error
    }

    /// The name this server answers with (`ServerName`, else the main server's, else
    /// `localhost`).
    pub fn server_name<'a>(&'a self, host: &'a HostConfig) -> &'a str {
        host.server_name
            .as_deref()
            .or(self.config.main.server_name.as_deref())
            .unwrap_or("localhost")
    }
}

fn host_logs(
    config: &ServerConfig,
    host: &HostConfig,
    main: Option<&HostLogs>,
    files: &LogFiles,
) -> Result<HostLogs, String> {
    let open = |p: &crate::config::model::ResolvedPath| {
        files.get(&p.path).map_err(|e| {
            format!(
                "no se pudo abrir el registro {} ({}): {e}",
                p.written,
                p.path.display()
            )
        })
    };
    let error = match (&host.error_log, main) {
        (Some(p), _) => ErrorLog {
            file: open(p)?,
            level: Level::Warn,
        },
        (None, Some(m)) => m.error.clone(),
        (None, None) => {
            let default = config.workspace.join("var/log/apache2/error.log");
            ErrorLog {
                file: files.get(&default).map_err(|e| {
                    format!("no se pudo abrir el registro {}: {e}", default.display())
                })?,
                level: Level::Warn,
            }
        }
    };
    let level = host
        .log_level
        .as_deref()
        .or(config.main.log_level.as_deref())
        .map(Level::parse)
        .unwrap_or(Level::Warn);
    let error = ErrorLog { level, ..error };
    // mod_log_config: a vhost with its own CustomLog does not inherit the main server's.
    let access = if host.custom_logs.is_empty() {
        main.map(|m| m.access.clone()).unwrap_or_default()
    } else {
        host.custom_logs
            .iter()
            .map(|c| Ok((open(&c.path)?, AccessFormat::compile(&c.format))))
            .collect::<Result<Vec<_>, String>>()?
    };
    Ok(HostLogs { access, error })
}

/// Reads a `mime.types` file: `type ext ext...` per line, `#` comments.
pub fn read_mime_types(path: &Path) -> std::io::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)?;
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(mime) = words.next() else { continue };
        for ext in words {
            map.insert(ext.to_ascii_lowercase(), mime.to_string());
        }
    }
    Ok(map)
}

impl Site {
    /// mod_mime's answer for `path` under the merge whose [`layers_key`] is `layers`, worked
    /// out by `compute` the first time.
    ///
    /// [`layers_key`]: crate::http::perdir::Effective::layers_key
    pub fn mime_memo(
        &self,
        layers: u64,
        path: &std::path::Path,
        compute: impl FnOnce() -> MimeAnswer,
    ) -> MimeAnswer {
        use std::hash::Hasher;
        let mut h = crate::util::FxHasher::default();
        h.write_u64(layers);
        h.write(path.as_os_str().as_encoded_bytes());
        let key = h.finish();
        if let Ok(memo) = self.mime_memo.lock() {
            if let Some((_, _, answer)) = memo.find(key, |(l, p, _)| *l == layers && p == path) {
                return answer.clone();
            }
        }
        let answer = compute();
        if let Ok(mut memo) = self.mime_memo.lock() {
            memo.insert(key, (layers, path.to_path_buf(), answer.clone()));
        }
        answer
    }
}
