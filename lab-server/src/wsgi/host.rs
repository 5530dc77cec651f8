//! [`WsgiHost`]: what the HTTP role calls for a request a `WSGIScriptAlias` matched. It owns
//! the embedded interpreter's pool and the daemon process groups, builds the CGI part of
//! `environ` and turns the application's output into an HTTP response.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;

use super::daemon::DaemonGroup;
use super::embedded::Embedded;
use super::errorlog::ErrorLog;
use super::mapping;
use super::python::{Head, Out};
use super::Body;
use crate::config::model::{HostConfig, ServerConfig};
use crate::workspace::Workspace;

/// What a request's WSGI context takes from the configuration: the same for every request
/// that one alias serves in one host, so it is made once per configuration snapshot and
/// shared (see [`crate::http::site::Site::wsgi_place`]).
#[derive(Debug)]
pub struct WsgiPlace {
    /// The `.wsgi` file.
    pub script: Arc<Path>,
    /// `process-group=` / `WSGIProcessGroup`; `None` or `%{GLOBAL}`: embedded mode.
    pub process_group: Option<Arc<str>>,
    /// `application-group=` / `WSGIApplicationGroup`; default `server|script_name`.
    pub application_group: Option<Arc<str>>,
    /// `WSGICallableObject` (default `application`).
    pub callable: Arc<str>,
    /// `WSGIScriptReloading` (default on).
    pub script_reloading: bool,
    /// `WSGIChunkedRequest` (default off: 411 for a chunked request body).
    pub chunked_request: bool,
    /// `WSGIPassAuthorization` (default off: no `HTTP_AUTHORIZATION`).
    pub pass_authorization: bool,
    /// `UseCanonicalName On`: `SERVER_NAME`/`SERVER_PORT` come from `ServerName`, not `Host`.
    pub canonical: bool,
    /// `SERVER_PORT` with `UseCanonicalName On`.
    pub canonical_port: u16,
    /// `ServerName` (the host's, else the main server's); `None`: the local address.
    pub server_name: Option<Arc<str>>,
    /// The virtual host's `ErrorLog` (the main server's when the vhost has none).
    pub error_log: Option<Arc<Path>>,
    /// The virtual host's DocumentRoot, for `DOCUMENT_ROOT`.
    pub document_root: Option<Arc<Path>>,
}

impl WsgiPlace {
    pub fn new(
        cfg: &ServerConfig,
        host: &HostConfig,
        alias: &crate::config::wsgi::WsgiScriptAlias,
    ) -> WsgiPlace {
        let settings = mapping::settings_for(cfg, host, alias);
        let canonical = host
            .use_canonical_name
            .or(cfg.main.use_canonical_name)
            .unwrap_or(false);
        WsgiPlace {
            script: Arc::from(alias.script.path.as_path()),
            process_group: settings
                .process_group
                .as_ref()
                .map(|(g, _)| Arc::from(g.as_str())),
            application_group: settings.application_group.as_deref().map(Arc::from),
            callable: Arc::from(settings.callable_object.as_deref().unwrap_or("application")),
            script_reloading: settings.script_reloading.unwrap_or(true),
            chunked_request: settings.chunked_request.unwrap_or(false),
            pass_authorization: settings.pass_authorization.unwrap_or(false),
            canonical,
            canonical_port: host.server_port.or(cfg.main.server_port).unwrap_or(80),
            server_name: host
                .server_name
                .as_deref()
                .or(cfg.main.server_name.as_deref())
                .map(Arc::from),
            error_log: host
                .error_log
                .as_ref()
                .or(cfg.main.error_log.as_ref())
                .map(|p| Arc::from(p.path.as_path())),
            document_root: host
                .document_root
                .as_ref()
                .or(cfg.main.document_root.as_ref())
                .map(|p| Arc::from(p.path.as_path())),
        }
    }
}

/// What the HTTP role knows about a request that a `WSGIScriptAlias` matched.
#[derive(Debug, Clone)]
pub struct WsgiContext {
    /// What comes from the configuration (script, groups, settings, logs).
    pub place: Arc<WsgiPlace>,
    /// The matched alias URL (`""` for `/`), percent-decoded.
    pub script_name: String,
    /// The rest of the path, percent-decoded.
    pub path_info: String,
    /// The type mod_mime gives the script (`.py`: `text/x-python`), sent when the
    /// application sets no `Content-Type`.
    pub default_type: Option<String>,
    /// `LimitRequestBody` where the script is (0 or `None`: unlimited).
    pub body_limit: Option<u64>,
    /// `SERVER_NAME`: the `Host` of the request (`UseCanonicalName Off`), else `ServerName`.
    pub server_name: String,
    /// `SERVER_PORT`: the port of `Host`, else 80.
    pub server_port: u16,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    /// The request came on a connection that may pass to a daemon-mode worker (or back).
    pub handoff: bool,
    /// The script's modification time, as the check that it exists saw it (seconds since
    /// the epoch), so that script reloading needs no second look at the file.
    pub script_mtime: Option<f64>,
}

impl WsgiContext {
    /// A context for a match of `place`'s alias (split into `SCRIPT_NAME` and `PATH_INFO`,
    /// see [`super::ScriptMatch`]), on a connection to `server_port`.
    pub fn from_match(
        place: Arc<WsgiPlace>,
        (script_name, path_info): (&str, &str),
        server_port: u16,
        remote: SocketAddr,
        local: SocketAddr,
    ) -> WsgiContext {
        let (server_name, server_port) = if place.canonical {
            (
                place
                    .server_name
                    .as_deref()
                    .map_or_else(|| local.ip().to_string(), str::to_string),
                place.canonical_port,
            )
        } else {
            // Filled from `Host` by `apply_host` (the names only when there is none).
            (String::new(), server_port)
        };
        WsgiContext {
            place,
            script_name: script_name.to_string(),
            path_info: path_info.to_string(),
            default_type: None,
            body_limit: None,
            server_name,
            server_port,
            remote,
            local,
            handoff: false,
            script_mtime: None,
        }
    }

    /// The `.wsgi` file.
    pub fn script(&self) -> &Path {
        &self.place.script
    }

    /// `SERVER_NAME` and `SERVER_PORT` as Apache gives them with `UseCanonicalName Off` (with
    /// `On` they stay `ServerName` and its port, set by [`WsgiContext::from_match`]):
    /// from `Host` (lower case, without a final dot), its port or 80; without `Host`
    /// (HTTP/1.0), the virtual host's `ServerName` and 80.
    pub fn apply_host(&mut self, host: Option<&HeaderValue>) {
        if self.place.canonical {
            return;
        }
        let Some(host) = host.and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty()) else {
            self.server_port = 80;
            self.name_if_none();
            return;
        };
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.ends_with(']') || host.starts_with('[') => {
                (n, p.parse::<u16>().ok())
            }
            _ => (host, None),
        };
        let name = name.trim_end_matches('.');
        if name.is_empty() {
            self.name_if_none();
        } else {
            self.server_name.clear();
            self.server_name
                .extend(name.chars().map(|c| c.to_ascii_lowercase()));
        }
        self.server_port = port.unwrap_or(80);
    }

    /// Without a name from `Host`: the server's (`ServerName`, else the local address).
    fn name_if_none(&mut self) {
        if self.server_name.is_empty() {
            match &self.place.server_name {
                Some(n) => self.server_name.push_str(n),
                None => self.server_name = self.local.ip().to_string(),
            }
        }
    }

    /// The daemon group this request goes to (`None`: embedded mode).
    pub fn daemon_group(&self) -> Option<&str> {
        self.place
            .process_group
            .as_deref()
            .filter(|g| !g.is_empty() && *g != "%{GLOBAL}")
    }

    /// The application group: mod_wsgi's default `%{RESOURCE}` is `server|script_name`.
    pub fn application_group(&self) -> String {
        match self.place.application_group.as_deref() {
            Some("%{GLOBAL}") => String::new(),
            Some("%{SERVER}") => self.server_label(),
            Some(g) if !g.starts_with("%{") => g.to_string(),
            _ => format!("{}|{}", self.server_label(), self.script_name),
        }
    }

    fn server_label(&self) -> String {
        if self.server_port == 80 || self.server_port == 443 {
            self.server_name.clone()
        } else {
            format!("{}:{}", self.server_name, self.server_port)
        }
    }

    pub fn log(&self) -> ErrorLog {
        match &self.place.error_log {
            Some(p) => ErrorLog::shared(Arc::clone(p)),
            None => ErrorLog::stderr(),
        }
    }
}

/// The WSGI host of one running Apache role.
pub struct WsgiHost {
    embedded: Mutex<Option<Arc<Embedded>>>,
    daemons: Mutex<HashMap<String, Arc<DaemonGroup>>>,
    run_dir: PathBuf,
    worker_exe: Mutex<PathBuf>,
    server_software: Mutex<String>,
    main_log: ErrorLog,
    /// In a daemon-mode worker: its group, run here; everything else goes back to the lab.
    worker: Option<WorkerSide>,
}

/// The WSGI side of a daemon-mode worker serving connections the lab handed it.
pub struct WorkerSide {
    pub group: Arc<str>,
    pub pool: Arc<Mutex<super::pool::PythonPool>>,
    /// The scripts loaded in this process (shared by the pool and the runtime's threads).
    pub scripts: Arc<super::python::Scripts>,
    /// The runtimes' threads are Python threads: a request without a body runs on the
    /// thread that holds its connection ([`super::inline`]).
    pub inline: bool,
    /// The lab's hand-back socket.
    pub back: PathBuf,
    pub multiprocess: bool,
    pub multithread: bool,
    /// Called as each request starts (`maximum-requests`) and ends.
    pub started: Arc<dyn Fn() + Send + Sync>,
    pub ended: Arc<dyn Fn() + Send + Sync>,
    /// True once the worker is stopping: requests then go back to the lab.
    pub stopping: Arc<dyn Fn() -> bool + Send + Sync>,
}

/// The executable re-run as `lab __wsgi-worker`: `LAB_WSGI_WORKER_EXE` when set (tests of
/// this crate point it at the `lab` binary), otherwise the running executable.
fn worker_exe() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LAB_WSGI_WORKER_EXE") {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe().map_err(|e| {
        format!("no se pudo saber qué ejecutable relanzar para los procesos WSGI: {e}")
    })
}

impl WsgiHost {
    /// Starts the embedded interpreter (when `mod_wsgi` is loaded) and every
    /// `WSGIDaemonProcess` group. Must run inside a tokio runtime.
    pub fn start(cfg: &ServerConfig, ws: &Workspace) -> Result<WsgiHost, String> {
        WsgiHost::start_in(cfg, &ws.run_dir())
    }

    /// [`WsgiHost::start`] with the directory for the workers' sockets given directly.
    pub fn start_in(cfg: &ServerConfig, run_dir: &Path) -> Result<WsgiHost, String> {
        let host = WsgiHost {
            embedded: Mutex::new(None),
            daemons: Mutex::new(HashMap::new()),
            run_dir: run_dir.to_path_buf(),
            worker_exe: Mutex::new(PathBuf::new()),
            server_software: Mutex::new(cfg.server_tokens.clone()),
            main_log: cfg
                .main
                .error_log
                .as_ref()
                .map(|p| ErrorLog::file(&p.path))
                .unwrap_or_else(ErrorLog::stderr),
            worker: None,
        };
        host.reload(cfg)?;
        Ok(host)
    }

    /// The host of a daemon-mode worker: runs the requests of `side.group` on its pool.
    pub fn for_worker(cfg: &ServerConfig, side: WorkerSide) -> WsgiHost {
        WsgiHost {
            embedded: Mutex::new(None),
            daemons: Mutex::new(HashMap::new()),
            run_dir: cfg.workspace.join("run"),
            worker_exe: Mutex::new(PathBuf::new()),
            server_software: Mutex::new(cfg.server_tokens.clone()),
            main_log: cfg
                .main
                .error_log
                .as_ref()
                .map(|p| ErrorLog::file(&p.path))
                .unwrap_or_else(ErrorLog::stderr),
            worker: Some(side),
        }
    }

    /// The Python the lab embeds, for the start banner (`None` without mod_wsgi).
    pub fn python_description(&self) -> Option<String> {
        let started = self.embedded.lock().ok().is_some_and(|e| e.is_some());
        started.then(super::embedded_description)
    }

    /// Applies a new configuration: groups whose settings changed are restarted, new ones
    /// started, removed ones stopped. The embedded interpreter keeps its `WSGIPythonHome`
    /// (as Apache, changing it needs a full restart): a warning says so.
    pub fn reload(&self, cfg: &ServerConfig) -> Result<(), String> {
        let poisoned = || "estado interno del host WSGI dañado".to_string();
        *self.server_software.lock().map_err(|_| poisoned())? = cfg.server_tokens.clone();
        crate::scriptcache::apcu::set_size(cfg.scriptcache.apcu_shm_size);
        if !cfg.has_module("wsgi") {
            self.stop_groups();
            return Ok(());
        }
        {
            let mut embedded = self.embedded.lock().map_err(|_| poisoned())?;
            match &*embedded {
                None => *embedded = Some(Arc::new(Embedded::start(cfg)?)),
                Some(e) if !e.same_settings(cfg) => self.main_log.write(
                    "warn",
                    None,
                    &["mod_wsgi: WSGIPythonHome o WSGIPythonPath cambiaron; el modo embebido los aplicará cuando se reinicie el laboratorio (lab stop y lab start)"],
                ),
                Some(_) => {}
            }
        }
        let exe = {
            let mut exe = self.worker_exe.lock().map_err(|_| poisoned())?;
            if !cfg.wsgi.daemons.is_empty() && exe.as_os_str().is_empty() {
                *exe = worker_exe()?;
            }
            exe.clone()
        };
        let mut groups = self.daemons.lock().map_err(|_| poisoned())?;
        let mut next = HashMap::new();
        for d in &cfg.wsgi.daemons {
            match groups.remove(&d.name) {
                Some(g) if g.spec().same_settings(d) => {
                    next.insert(d.name.clone(), g);
                }
                old => {
                    if let Some(old) = old {
                        old.stop();
                    }
                    let g =
                        DaemonGroup::start(d.clone(), &self.run_dir, &exe, self.main_log.clone())?;
                    next.insert(d.name.clone(), Arc::new(g));
                }
            }
        }
        for (_, old) in groups.drain() {
            old.stop();
        }
        *groups = next;
        Ok(())
    }

    fn stop_groups(&self) {
        if let Ok(mut groups) = self.daemons.lock() {
            for (_, g) in groups.drain() {
                g.stop();
            }
        }
    }

    /// Stops every worker process (in-flight requests get a few seconds to finish).
    pub fn stop(&self) {
        self.stop_groups();
        if let Some(e) = self.embedded.lock().ok().and_then(|mut e| e.take()) {
            e.stop();
        }
    }

    /// The pids of a group's workers (for `lab status` and tests).
    pub fn group_pids(&self, name: &str) -> Vec<u32> {
        self.daemons
            .lock()
            .ok()
            .and_then(|g| g.get(name).map(|g| g.pids()))
            .unwrap_or_default()
    }

    /// Serves one request.
    pub async fn handle<B>(&self, req: Request<B>, ctx: WsgiContext) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = req.into_parts();
        self.handle_parts(&parts, body, ctx).await
    }

    /// [`Self::handle`] for a request whose head stays with the caller (no copy of it).
    pub async fn handle_parts<B>(
        &self,
        req: &http::request::Parts,
        body: B,
        mut ctx: WsgiContext,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let log = ctx.log();
        // Formatted for log lines only.
        let remote = ctx.remote;
        let client = move || remote.to_string();
        ctx.apply_host(req.headers.get(http::header::HOST));
        if ctx.handoff {
            if let Some(resp) = self.hand_off(&ctx, &log).await {
                if let Some(h) = resp.extensions().get::<crate::http::handoff::HandOff>() {
                    h.set_body(body.map_err(|e| e.to_string()).boxed_unsync());
                }
                return resp;
            }
        }
        let chunked = req
            .headers
            .get(http::header::TRANSFER_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        if chunked && !ctx.place.chunked_request {
            log.write(
                "error",
                Some(&client()),
                &[&format!(
                    "Received request requiring chunked transfer encoding, but optional support for chunked transfer encoding has not been enabled.: {}",
                    ctx.script().display()
                )],
            );
            return error_page(411);
        }
        let limit = ctx.body_limit.filter(|&l| l > 0);
        let declared = req
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let (Some(limit), Some(len)) = (limit, declared) {
            if len > limit {
                log.write(
                    "info",
                    Some(&client()),
                    &[&format!(
                        "AH01588: Requested content-length of {len} is larger than the configured limit of {limit}"
                    )],
                );
                return error_page(413);
            }
        }
        ctx.script_mtime = super::scriptstat::stamp(ctx.script());
        if ctx.script_mtime.is_none() {
            log.write(
                "error",
                Some(&client()),
                &[&format!(
                    "Target WSGI script not found or unable to stat: {}",
                    ctx.script().display()
                )],
            );
            return error_page(404);
        }
        let environ = match self.server_software.lock() {
            Ok(software) => cgi_environ(req, &ctx, &software),
            Err(_) => cgi_environ(req, &ctx, ""),
        };
        let mut body = body;
        // A chunked body under LimitRequestBody: read up to the limit before the application
        // runs, so that too much data is a 413 as in Apache (which fails the read instead).
        let mut early: Option<Bytes> = None;
        if let (Some(limit), true) = (limit, chunked) {
            let mut buf = bytes::BytesMut::new();
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { break };
                if let Some(d) = frame.data_ref() {
                    buf.extend_from_slice(d);
                }
                if buf.len() as u64 > limit {
                    log.write(
                        "error",
                        Some(&client()),
                        &[&format!(
                            "AH01590: el cuerpo de la petición supera LimitRequestBody ({limit} bytes)"
                        )],
                    );
                    return error_page(413);
                }
            }
            early = Some(buf.freeze());
        }
        // A request without a body (most GETs) needs no pump task.
        let in_rx = if let Some(data) = early {
            let (in_tx, in_rx) = mpsc::channel(1);
            if !data.is_empty() {
                let _ = in_tx.try_send(Ok(data));
            }
            Some(in_rx)
        } else if body.is_end_stream() {
            None
        } else {
            let (in_tx, in_rx) = mpsc::channel(4);
            tokio::spawn(pump_body(body, in_tx));
            Some(in_rx)
        };
        if let Some(w) = &self.worker {
            return w.run(environ, in_rx, &ctx).await;
        }
        if let Some(group) = ctx.daemon_group() {
            let g = self.daemons.lock().ok().and_then(|g| g.get(group).cloned());
            let Some(g) = g else {
                log.write(
                    "error",
                    Some(&client()),
                    &[&format!(
                        "mod_wsgi: no existe el grupo de procesos '{group}' (WSGIDaemonProcess) para '{}'",
                        ctx.script().display()
                    )],
                );
                return error_page(500);
            };
            // A reload that replaces the group stops it under requests that had just picked
            // it: one without a body that found no process goes to the new group instead.
            let retry = in_rx.is_none().then(|| environ.clone());
            let resp = g.handle(environ, in_rx, &ctx).await;
            if let Some(environ) = retry.filter(|_| resp.status() == 503 && g.is_stopping()) {
                let now = self.daemons.lock().ok().and_then(|d| d.get(group).cloned());
                if let Some(now) = now.filter(|now| !Arc::ptr_eq(now, &g)) {
                    return now.handle(environ, None, &ctx).await;
                }
            }
            return resp;
        }
        let embedded = self.embedded.lock().ok().and_then(|e| e.clone());
        let Some(embedded) = embedded else {
            log.write(
                "error",
                Some(&client()),
                &["mod_wsgi no está cargado: activa el módulo con `lab a2enmod wsgi`"],
            );
            return error_page(500);
        };
        embedded.handle(environ, in_rx, &ctx).await
    }
}

impl WsgiHost {
    /// Where a request on a connection that can move goes: in the lab, a daemon-mode
    /// request takes its connection to a worker of the group (503 when none accepts it); in
    /// a worker, anything but its own group goes back to the lab. `None`: served here.
    async fn hand_off(&self, ctx: &WsgiContext, log: &ErrorLog) -> Option<Response<Body>> {
        if let Some(w) = &self.worker {
            if ctx.daemon_group() == Some(&*w.group) && !(w.stopping)() {
                return None;
            }
            return Some(crate::http::handoff::back(&w.back).unwrap_or_else(|| error_page(503)));
        }
        let group = ctx.daemon_group()?;
        let g = self
            .daemons
            .lock()
            .ok()
            .and_then(|g| g.get(group).cloned())?;
        if ctx.place.script_reloading {
            g.check_script(ctx.script(), super::scriptstat::stamp(ctx.script()));
        }
        let mut target = g.handoff_target().await;
        // A reload that replaces the group stops it under requests that had just picked it:
        // those go to the group that took its place (as the FastCGI path does).
        if target.is_none() && g.is_stopping() {
            let now = self.daemons.lock().ok().and_then(|d| d.get(group).cloned());
            if let Some(now) = now.filter(|now| !Arc::ptr_eq(now, &g)) {
                target = now.handoff_target().await;
            }
        }
        match target {
            Some(to) => Some(crate::http::handoff::response(to)),
            None => {
                log.write(
                    "error",
                    Some(&ctx.remote.to_string()),
                    &[&format!(
                        "mod_wsgi: ningún proceso del grupo '{group}' acepta conexiones; revisa el registro de errores"
                    )],
                );
                Some(error_page(503))
            }
        }
    }
}

impl WorkerSide {
    /// Runs one request of the group on the worker's Python threads.
    async fn run(
        &self,
        environ: super::python::Environ,
        input: Option<super::python::InputRx>,
        ctx: &WsgiContext,
    ) -> Response<Body> {
        (self.started)();
        // Only while no other thread of the process is in Python (waiting for that without
        // holding this thread): then nothing waits for the interpreter lock, and the request
        // costs no thread change. When a slow request holds it, the pool's threads queue for
        // the lock instead, and this thread goes on reading and writing the other connections.
        if self.inline && input.is_none() && super::inline::wait_turn().await {
            let (input, output, queue) = super::inline::io();
            let job = super::embedded::job(
                environ,
                input,
                output,
                ctx,
                Some(&self.group),
                (self.multiprocess, self.multithread),
                ctx.log().in_daemon(),
            );
            let resp =
                super::inline::run(&self.scripts, job, queue, ctx.default_type.as_deref(), true);
            (self.ended)();
            return resp;
        }
        let (tx, rx) = mpsc::channel(8);
        let input = input.unwrap_or_else(|| mpsc::channel(1).1);
        let job = super::embedded::job(
            environ,
            Box::new(input),
            Box::new(tx),
            ctx,
            Some(&self.group),
            (self.multiprocess, self.multithread),
            ctx.log().in_daemon(),
        );
        let submitted = self.pool.lock().map(|p| p.submit(job)).unwrap_or(false);
        let resp = if submitted {
            response_from_channel(rx, ctx.default_type.as_deref(), true).await
        } else {
            error_page(503)
        };
        (self.ended)();
        resp
    }
}

impl std::fmt::Debug for WsgiHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups: Vec<String> = self
            .daemons
            .lock()
            .map(|g| g.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("WsgiHost")
            .field("run_dir", &self.run_dir)
            .field("groups", &groups)
            .finish_non_exhaustive()
    }
}

impl Drop for WsgiHost {
    fn drop(&mut self) {
        self.stop_groups();
    }
}

/// Forwards the request body, chunk by chunk, with back-pressure from the application.
async fn pump_body<B>(mut body: B, tx: mpsc::Sender<Result<Bytes, String>>)
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    loop {
        let next: Option<Result<Bytes, String>> = match body.frame().await {
            None => None,
            Some(Ok(frame)) => Some(Ok(frame.into_data().unwrap_or_default())),
            Some(Err(e)) => Some(Err(e.to_string())),
        };
        match next {
            None => return,
            Some(Ok(data)) if data.is_empty() => {}
            Some(item) => {
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        }
    }
}

/// Appends `bytes` as a latin-1 "native string" (PEP 3333): a header value or the bytes
/// of a path.
pub fn latin1_into(out: &mut String, bytes: &[u8]) {
    if bytes.is_ascii() {
        // ASCII (nearly every value) is the same text in UTF-8: one copy.
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
    } else {
        out.extend(bytes.iter().map(|&b| b as char));
    }
}

/// A path as text (lossy only when it is not UTF-8).
fn path_into(out: &mut String, p: &std::path::Path) {
    match p.to_str() {
        Some(s) => out.push_str(s),
        None => out.push_str(&p.to_string_lossy()),
    }
}

/// The `environ` names of the request headers most clients send (no allocation for them).
fn known_header_key(name: &str) -> Option<&'static str> {
    Some(match name {
        "host" => "HTTP_HOST",
        "user-agent" => "HTTP_USER_AGENT",
        "accept" => "HTTP_ACCEPT",
        "accept-encoding" => "HTTP_ACCEPT_ENCODING",
        "accept-language" => "HTTP_ACCEPT_LANGUAGE",
        "connection" => "HTTP_CONNECTION",
        "cookie" => "HTTP_COOKIE",
        "referer" => "HTTP_REFERER",
        "cache-control" => "HTTP_CACHE_CONTROL",
        "upgrade-insecure-requests" => "HTTP_UPGRADE_INSECURE_REQUESTS",
        "if-none-match" => "HTTP_IF_NONE_MATCH",
        "if-modified-since" => "HTTP_IF_MODIFIED_SINCE",
        "origin" => "HTTP_ORIGIN",
        "pragma" => "HTTP_PRAGMA",
        _ => return None,
    })
}

/// The CGI variables of `environ` (RFC 3875 plus what Apache adds).
pub fn cgi_environ(
    req: &http::request::Parts,
    ctx: &WsgiContext,
    software: &str,
) -> super::python::Environ {
    use crate::http::log::{push_ip, push_u64};
    let mut env = super::python::Environ::with_capacity(24 + req.headers.len(), 512);
    env.push("GATEWAY_INTERFACE", "CGI/1.1");
    env.push("SERVER_SOFTWARE", software);
    env.push("SERVER_NAME", &ctx.server_name);
    env.push_with("SERVER_PORT", |t| push_u64(t, u64::from(ctx.server_port)));
    env.push_with("SERVER_ADDR", |t| push_ip(t, ctx.local.ip()));
    match req.version {
        http::Version::HTTP_11 => env.push("SERVER_PROTOCOL", "HTTP/1.1"),
        http::Version::HTTP_10 => env.push("SERVER_PROTOCOL", "HTTP/1.0"),
        v => env.push("SERVER_PROTOCOL", &format!("{v:?}")),
    }
    env.push("REQUEST_SCHEME", "http");
    env.push("REQUEST_METHOD", req.method.as_str());
    env.push(
        "REQUEST_URI",
        req.uri.path_and_query().map_or("/", |p| p.as_str()),
    );
    // PEP 3333: the decoded path bytes as a latin-1 native string (`%C3%B1` is two
    // characters, as in mod_wsgi), not as UTF-8 text.
    env.push_with("SCRIPT_NAME", |t| {
        latin1_into(t, &crate::http::urlpath::raw_bytes(&ctx.script_name))
    });
    env.push_with("PATH_INFO", |t| {
        latin1_into(t, &crate::http::urlpath::raw_bytes(&ctx.path_info))
    });
    env.push("QUERY_STRING", req.uri.query().unwrap_or(""));
    env.push_with("REMOTE_ADDR", |t| push_ip(t, ctx.remote.ip()));
    env.push_with("REMOTE_PORT", |t| push_u64(t, u64::from(ctx.remote.port())));
    env.push_with("SCRIPT_FILENAME", |t| path_into(t, ctx.script()));
    if let Some(root) = &ctx.place.document_root {
        env.push_with("DOCUMENT_ROOT", |t| path_into(t, root));
    }
    for (name, value) in &req.headers {
        match name.as_str() {
            "content-type" => env.push_with("CONTENT_TYPE", |t| latin1_into(t, value.as_bytes())),
            "content-length" => {
                env.push_with("CONTENT_LENGTH", |t| latin1_into(t, value.as_bytes()))
            }
            _ => {}
        }
    }
    // The headers after every CGI variable, a repeated one joined with `, `.
    let first = env.len();
    for (name, value) in &req.headers {
        let key: std::borrow::Cow<'static, str> = match name.as_str() {
            "content-type" | "content-length" => continue,
            // Apache keeps credentials out of the environment (mod_wsgi passes
            // `Authorization` with WSGIPassAuthorization On) and drops `Proxy` (httpoxy).
            "authorization" if ctx.place.pass_authorization => "HTTP_AUTHORIZATION".into(),
            "authorization" | "proxy-authorization" | "proxy" => continue,
            n => match known_header_key(n) {
                Some(k) => k.into(),
                // Apache 2.4 drops a header whose name has characters other than letters,
                // digits and `-` (`X_Foo` could pose as `X-Foo`).
                None if !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => continue,
                None => {
                    let mut key = String::with_capacity(5 + n.len());
                    key.push_str("HTTP_");
                    key.extend(n.bytes().map(|b| match b {
                        b'-' => '_',
                        b => char::from(b.to_ascii_uppercase()),
                    }));
                    key.into()
                }
            },
        };
        let repeated = env.keys().skip(first).position(|k| k == key);
        match repeated {
            Some(at) => env.extend_at(first + at, |t| {
                t.push_str(", ");
                latin1_into(t, value.as_bytes());
            }),
            None => env.push_with(key, |t| latin1_into(t, value.as_bytes())),
        }
    }
    env
}

/// Statuses after which Apache closes the connection (`ap_status_drops_connection`).
fn drops_connection(status: u16) -> bool {
    matches!(status, 400 | 408 | 411 | 413 | 414 | 500 | 503 | 501)
}

/// The headers Apache keeps on a 304 (`ap_http_header_filter`).
const KEPT_ON_304: &[&str] = &[
    "connection",
    "keep-alive",
    "etag",
    "content-location",
    "expires",
    "cache-control",
    "vary",
    "warning",
    "www-authenticate",
    "proxy-authenticate",
    "set-cookie",
    "set-cookie2",
];

/// The response for an application's head; the body streams from `body`. As Apache does
/// with what mod_wsgi hands it: the last `Content-Type` wins and mod_mime's type of the
/// script (`default_type`) applies when there is none; 204 and 304 lose their body headers;
/// a status like 500 closes the connection.
pub fn response_from_head(
    status: u16,
    reason: Option<&str>,
    headers: Vec<(String, Bytes)>,
    default_type: Option<&str>,
    body: Body,
) -> Response<Body> {
    let Ok(code) = StatusCode::from_u16(status) else {
        return error_page(500);
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = code;
    if let Some(reason) = reason {
        // mod_wsgi passes the status line through: the reason phrase in latin-1.
        if code.canonical_reason() != Some(reason) {
            let bytes: Option<Vec<u8>> = reason
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect();
            if let Some(r) = bytes.and_then(|b| hyper::ext::ReasonPhrase::try_from(b).ok()) {
                resp.extensions_mut().insert(r);
            }
        }
    }
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    let mut spelling = Vec::with_capacity(headers.len());
    let h = resp.headers_mut();
    for (written, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(written.as_bytes()),
            HeaderValue::from_maybe_shared(value),
        ) else {
            continue;
        };
        if status == 304 && !KEPT_ON_304.contains(&name.as_str()) {
            continue;
        }
        if no_body && (name == http::header::CONTENT_TYPE || name == http::header::CONTENT_LENGTH) {
            continue;
        }
        if name == http::header::CONTENT_TYPE {
            spelling.retain(|s: &String| !s.eq_ignore_ascii_case(&written));
            h.insert(name, value);
        } else {
            h.append(name, value);
        }
        spelling.push(written);
    }
    if !no_body && !h.contains_key(http::header::CONTENT_TYPE) {
        if let Some(v) = default_type.and_then(|t| HeaderValue::from_str(t).ok()) {
            h.insert(http::header::CONTENT_TYPE, v);
        }
    }
    if drops_connection(status) {
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    // Only when some name is spelled in a way the head would not write anyway.
    if spelling
        .iter()
        .any(|n| crate::http::head::needs_spelling(n))
    {
        resp.extensions_mut()
            .insert(crate::http::head::Spelling(spelling));
    }
    resp
}

/// The Spanish page for an error status of the WSGI host (HTML).
pub fn error_html(status: u16) -> String {
    let (title, text) = match status {
        411 => (
            "411 Se necesita la longitud",
            "El cuerpo de la petición llegó troceado (<code>Transfer-Encoding: chunked</code>) y mod_wsgi solo lo acepta con <code>WSGIChunkedRequest On</code>.",
        ),
        413 => (
            "413 Cuerpo demasiado grande",
            "El cuerpo de la petición supera el límite de <code>LimitRequestBody</code>.",
        ),
        404 => (
            "404 No encontrado",
            "El script WSGI de esta dirección no existe. Comprueba la ruta de <code>WSGIScriptAlias</code>.",
        ),
        502 => (
            "502 Puerta de enlace incorrecta",
            "El proceso de la aplicación WSGI terminó sin completar la respuesta. El registro de errores del sitio dice qué pasó; el proceso se ha reiniciado.",
        ),
        503 => (
            "503 Servicio no disponible",
            "El servidor WSGI se está deteniendo o no puede aceptar más peticiones ahora.",
        ),
        _ => (
            "500 Error interno del servidor",
            "La aplicación Python falló al atender esta petición. El detalle (el <em>traceback</em>) está en el registro de errores del sitio, por ejemplo <code>var/log/apache2/error.log</code>.",
        ),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"es\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{text}</p>\n<hr>\n<address>lab (mod_wsgi)</address>\n</body>\n</html>\n"
    )
}

/// The Spanish error page as a response.
pub fn error_page(status: u16) -> Response<Body> {
    let html = error_html(status);
    let mut resp = Response::new(
        Full::new(Bytes::from(html))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == 413 {
        // Apache's reason phrase (RFC 2616's), not hyper's newer one.
        resp.extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(
                b"Request Entity Too Large",
            ));
    }
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if drops_connection(status) {
        resp.headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A body sent whole but framed as a stream, as Apache frames what mod_wsgi writes: chunked,
/// unless the application set `Content-Length`. With the application's one `Content-Length`
/// equal to the body's size, the size is told too (`sized`): the head is the same either way,
/// and the request is logged and counted as soon as its answer is made, as for a file.
struct Once {
    data: Option<Bytes>,
    sized: bool,
}

impl Once {
    fn new(data: Bytes, status: u16, headers: &[(String, Bytes)]) -> Once {
        let mut lengths = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        let declared = lengths.next().and_then(|(_, v)| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let sized = !data.is_empty()
            && status >= 200
            && status != 204
            && status != 304
            && lengths.next().is_none()
            && declared == Some(data.len() as u64);
        Once {
            data: Some(data),
            sized,
        }
    }
}

impl HttpBody for Once {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.data.take().map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.data {
            Some(b) if self.sized => http_body::SizeHint::with_exact(b.len() as u64),
            _ => http_body::SizeHint::default(),
        }
    }
}

/// Ends a response body with an error (so the connection closes and the client sees it
/// cut short), but only after a short pause: hyper writes out what it buffered (the head and
/// the last chunks) while the body is pending, and would drop it on an immediate error.
/// What a response body's `poll_frame` answers.
pub type BodyPoll = Poll<Option<Result<Frame<Bytes>, std::io::Error>>>;

#[derive(Default)]
pub struct CutShort {
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl CutShort {
    pub fn poll(&mut self, cx: &mut Context<'_>) -> BodyPoll {
        let pause = self.pause.get_or_insert_with(|| {
            Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20)))
        });
        match pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                "la aplicación WSGI no terminó la respuesta",
            )))),
        }
    }

    /// Starts cutting the body short (the application stopped without ending it).
    pub fn begin(slot: &mut Option<CutShort>, cx: &mut Context<'_>) -> BodyPoll {
        slot.insert(CutShort::default()).poll(cx)
    }

    /// The start of every WSGI response body's `poll_frame`: `Some` answer when the body is
    /// finished or is being cut short, `None` to go on reading chunks.
    pub fn poll_end(
        cut: &mut Option<CutShort>,
        done: &mut bool,
        cx: &mut Context<'_>,
    ) -> Option<BodyPoll> {
        if *done {
            return Some(Poll::Ready(None));
        }
        let r = cut.as_mut()?.poll(cx);
        if r.is_ready() {
            *done = true;
        }
        Some(r)
    }
}

/// The body of an embedded-mode response: chunks from the Python thread until `End`; a
/// channel that closes before `End` (the application failed mid-body) is an error, so the
/// client sees a truncated response rather than a complete-looking one.
pub struct ChannelBody {
    rx: mpsc::Receiver<Out>,
    done: bool,
    cut: Option<CutShort>,
}

impl ChannelBody {
    pub fn new(rx: mpsc::Receiver<Out>) -> ChannelBody {
        ChannelBody {
            rx,
            done: false,
            cut: None,
        }
    }
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(end) = CutShort::poll_end(&mut this.cut, &mut this.done, cx) {
            return end;
        }
        loop {
            return match self.rx.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Out::Body(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Poll::Ready(Some(Out::End)) => {
                    self.done = true;
                    Poll::Ready(None)
                }
                Poll::Ready(Some(_)) => continue,
                Poll::Ready(None) => CutShort::begin(&mut self.cut, cx),
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Turns the first message of the application into a response (embedded mode; `daemon`:
/// as mod_wsgi's daemon processes answer, where even an empty body streams, chunked).
pub async fn response_from_channel(
    mut rx: mpsc::Receiver<Out>,
    default_type: Option<&str>,
    daemon: bool,
) -> Response<Body> {
    let first = rx.recv().await;
    response_from_first(
        first,
        move || ChannelBody::new(rx).boxed(),
        default_type,
        daemon,
    )
}

/// The response for the application's first message; `rest` is the body that follows a
/// head sent on its own.
pub fn response_from_first(
    first: Option<Out>,
    rest: impl FnOnce() -> Body,
    default_type: Option<&str>,
    daemon: bool,
) -> Response<Body> {
    match first {
        Some(Out::Head(Head {
            status,
            reason,
            headers,
        })) => response_from_head(status, Some(&reason), headers, default_type, rest()),
        // Nothing written at all: Apache's content-length filter sees the whole (empty)
        // response and says `Content-Length: 0`; anything written is streamed. Less than
        // the application's `Content-Length`: sent, then the connection is cut.
        Some(Out::Whole(head, body)) => {
            let short = head.headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("content-length")
                    && std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.parse::<usize>().ok())
                        .is_some_and(|n| n > body.len())
            });
            let body = if short {
                let (tx, rx) = mpsc::channel(1);
                let _ = tx.try_send(Out::Body(body));
                drop(tx);
                ChannelBody::new(rx).boxed()
            } else if body.is_empty() && !daemon {
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed()
            } else {
                Once::new(body, head.status, &head.headers).boxed()
            };
            response_from_head(
                head.status,
                Some(&head.reason),
                head.headers,
                default_type,
                body,
            )
        }
        Some(Out::Failed(status)) => error_page(status),
        _ => error_page(500),
    }
}

/// The socket path for worker `index` of `group`, generation `gen`, short enough for
/// `sun_path` (108 bytes): in `run/` when it fits, else in the system's temporary directory.
pub fn socket_path(run_dir: &Path, group: &str, index: usize, gen: u64) -> PathBuf {
    let short: String = group
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(24)
        .collect();
    let name = format!("wsgi-{short}-{index}-{gen}.sock");
    let inside = run_dir.join(&name);
    if inside.as_os_str().len() < 100 {
        return inside;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_dir.to_string_lossy().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    std::env::temp_dir()
        .join(format!("lab-{:08x}", h as u32))
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Body {
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed()
    }

    fn head(pairs: &[(&str, &str)]) -> Vec<(String, Bytes)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Bytes::from(v.to_string())))
            .collect()
    }

    #[test]
    fn the_head_is_shaped_as_apache_shapes_what_mod_wsgi_hands_it() {
        let r = response_from_head(
            200,
            Some("OK"),
            head(&[
                ("X-MiXeD-CaSe", "1"),
                ("Content-Type", "text/plain"),
                ("content-type", "text/html"),
                ("Connection", "close"),
            ]),
            Some("text/x-python"),
            empty(),
        );
        assert_eq!(r.headers()["content-type"], "text/html");
        assert_eq!(r.headers()["connection"], "close");
        let spelling = &r
            .extensions()
            .get::<crate::http::head::Spelling>()
            .unwrap()
            .0;
        assert_eq!(spelling, &["X-MiXeD-CaSe", "content-type", "Connection"]);

        // No Content-Type from the application: mod_mime's type of the script.
        let r = response_from_head(200, Some("OK"), head(&[]), Some("text/x-python"), empty());
        assert_eq!(r.headers()["content-type"], "text/x-python");

        // 304 keeps only Apache's list; 204 loses the body headers.
        let h = head(&[("ETag", "\"x\""), ("Content-Type", "a/b"), ("X-A", "1")]);
        let r = response_from_head(304, Some("Not Modified"), h, Some("a/c"), empty());
        let names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["etag"]);
        let h = head(&[("Content-Type", "a/b"), ("Content-Length", "0")]);
        let r = response_from_head(204, Some("No Content"), h, None, empty());
        assert!(r.headers().is_empty());

        // A 500 of the application closes the connection; a latin-1 reason passes through.
        let r = response_from_head(500, Some("Oops"), head(&[]), None, empty());
        assert_eq!(r.headers()["connection"], "close");
        let r = response_from_head(200, Some("Señal"), head(&[]), None, empty());
        let reason = r.extensions().get::<hyper::ext::ReasonPhrase>().unwrap();
        assert_eq!(reason.as_bytes(), b"Se\xf1al");
    }

    #[test]
    fn server_name_and_port_come_from_host_as_with_use_canonical_name_off() {
        let place = |canonical: bool| WsgiPlace {
            script: Arc::from(Path::new("/srv/app.wsgi")),
            process_group: None,
            application_group: None,
            callable: Arc::from("application"),
            script_reloading: true,
            chunked_request: false,
            pass_authorization: false,
            canonical,
            canonical_port: 80,
            server_name: Some(Arc::from("www.ejemplo.test")),
            error_log: None,
            document_root: None,
        };
        let m = ("", "/");
        let remote = "127.0.0.1:1".parse().unwrap();
        let local = "127.0.0.1:10080".parse().unwrap();
        let mut ctx = WsgiContext::from_match(Arc::new(place(false)), m, 10080, remote, local);
        // No `Host` (HTTP/1.0): `ServerName` and 80.
        ctx.apply_host(None);
        assert_eq!(
            (ctx.server_name.as_str(), ctx.server_port),
            ("www.ejemplo.test", 80)
        );
        ctx.apply_host(Some(&HeaderValue::from_static("WSGI.Test.:8080")));
        assert_eq!(
            (ctx.server_name.as_str(), ctx.server_port),
            ("wsgi.test", 8080)
        );
        assert_eq!(ctx.application_group(), "wsgi.test:8080|");
        ctx.apply_host(Some(&HeaderValue::from_static("otro.test")));
        assert_eq!(
            (ctx.server_name.as_str(), ctx.server_port),
            ("otro.test", 80)
        );
        ctx.apply_host(None);
        assert_eq!(
            (ctx.server_name.as_str(), ctx.server_port),
            ("otro.test", 80)
        );
        ctx.apply_host(Some(&HeaderValue::from_static("[::1]:81")));
        assert_eq!((ctx.server_name.as_str(), ctx.server_port), ("[::1]", 81));
        // `UseCanonicalName On`: `Host` changes nothing.
        let mut ctx = WsgiContext::from_match(Arc::new(place(true)), m, 10080, remote, local);
        ctx.apply_host(Some(&HeaderValue::from_static("otro.test:8080")));
        assert_eq!(
            (ctx.server_name.as_str(), ctx.server_port),
            ("www.ejemplo.test", 80)
        );
    }
}
