//! [`WsgiHost`]: what the HTTP role calls for a request a `WSGIScriptAlias` matched. It owns
//! the embedded interpreter's pool and the daemon process groups, builds the CGI part of
//! `environ` and turns the application's output into an HTTP response.

use std::collections::HashMap;
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
use super::mapping::{self, ScriptMatch};
use super::python::{Head, Out};
use super::Body;
use crate::config::model::{HostConfig, ServerConfig};
use crate::workspace::Workspace;

/// What the HTTP role knows about a request that a `WSGIScriptAlias` matched.
#[derive(Debug, Clone)]
pub struct WsgiContext {
    /// The matched alias URL (`""` for `/`), percent-decoded.
    pub script_name: String,
    /// The rest of the path, percent-decoded.
    pub path_info: String,
    /// The `.wsgi` file.
    pub script: PathBuf,
    /// `process-group=` / `WSGIProcessGroup`; `None` or `%{GLOBAL}`: embedded mode.
    pub process_group: Option<String>,
    /// `application-group=` / `WSGIApplicationGroup`; default `server|script_name`.
    pub application_group: Option<String>,
    /// `WSGICallableObject` (default `application`).
    pub callable: Option<String>,
    /// `WSGIScriptReloading` (default on).
    pub script_reloading: bool,
    pub server_name: String,
    /// The port as the client sees it (written in the configuration, not the mapped one).
    pub server_port: u16,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    /// The virtual host's `ErrorLog` (the main server's when the vhost has none).
    pub error_log: Option<PathBuf>,
    /// The virtual host's DocumentRoot, for `DOCUMENT_ROOT`.
    pub document_root: Option<PathBuf>,
}

impl WsgiContext {
    /// Fills a context from a match in `host`, with the per-directory WSGI settings that
    /// apply to its script.
    pub fn from_match(
        cfg: &ServerConfig,
        host: &HostConfig,
        m: &ScriptMatch<'_>,
        server_port: u16,
        remote: SocketAddr,
        local: SocketAddr,
    ) -> WsgiContext {
        let settings = mapping::settings_for(cfg, host, m.alias);
        let server_name = host
            .server_name
            .clone()
            .or_else(|| cfg.main.server_name.clone())
            .unwrap_or_else(|| local.ip().to_string());
        WsgiContext {
            script_name: m.script_name.to_string(),
            path_info: m.path_info.to_string(),
            script: m.alias.script.path.clone(),
            process_group: settings.process_group.map(|(g, _)| g),
            application_group: settings.application_group,
            callable: settings.callable_object,
            script_reloading: settings.script_reloading.unwrap_or(true),
            server_name,
            server_port,
            remote,
            local,
            error_log: host
                .error_log
                .as_ref()
                .or(cfg.main.error_log.as_ref())
                .map(|p| p.path.clone()),
            document_root: host
                .document_root
                .as_ref()
                .or(cfg.main.document_root.as_ref())
                .map(|p| p.path.clone()),
        }
    }

    /// The daemon group this request goes to (`None`: embedded mode).
    pub fn daemon_group(&self) -> Option<&str> {
        self.process_group
            .as_deref()
            .filter(|g| !g.is_empty() && *g != "%{GLOBAL}")
    }

    /// The application group: mod_wsgi's default `%{RESOURCE}` is `server|script_name`.
    pub fn application_group(&self) -> String {
        match self.application_group.as_deref() {
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
        match &self.error_log {
            Some(p) => ErrorLog::file(p),
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
        };
        host.reload(cfg)?;
        Ok(host)
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
        let log = ctx.log();
        let client = ctx.remote.to_string();
        if !ctx.script.is_file() {
            log.write(
                "error",
                Some(&client),
                &[&format!(
                    "Target WSGI script not found or unable to stat: {}",
                    ctx.script.display()
                )],
            );
            return error_page(404);
        }
        let software = self
            .server_software
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        let environ = cgi_environ(&req, &ctx, &software);
        let body = req.into_body();
        // A request without a body (most GETs) needs no pump task.
        let in_rx = if body.is_end_stream() {
            None
        } else {
            let (in_tx, in_rx) = mpsc::channel(4);
            tokio::spawn(pump_body(body, in_tx));
            Some(in_rx)
        };
        if let Some(group) = ctx.daemon_group() {
            let g = self.daemons.lock().ok().and_then(|g| g.get(group).cloned());
            let Some(g) = g else {
                log.write(
                    "error",
                    Some(&client),
                    &[&format!(
                        "mod_wsgi: no existe el grupo de procesos '{group}' (WSGIDaemonProcess) para '{}'",
                        ctx.script.display()
                    )],
                );
                return error_page(500);
            };
            return g.handle(environ, in_rx, &ctx).await;
        }
        let embedded = self.embedded.lock().ok().and_then(|e| e.clone());
        let Some(embedded) = embedded else {
            log.write(
                "error",
                Some(&client),
                &["mod_wsgi no está cargado: activa el módulo con `lab a2enmod wsgi`"],
            );
            return error_page(500);
        };
        let in_rx = in_rx.unwrap_or_else(|| mpsc::channel(1).1);
        embedded.handle(environ, in_rx, &ctx).await
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

/// Latin-1 "native string" for a header value or path byte string (PEP 3333).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The CGI variables of `environ` (RFC 3875 plus what Apache adds).
pub fn cgi_environ<B>(
    req: &Request<B>,
    ctx: &WsgiContext,
    software: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(24 + req.headers().len());
    let mut set = |k: &str, v: String| env.push((k.to_string(), v));
    set("GATEWAY_INTERFACE", "CGI/1.1".into());
    set("SERVER_SOFTWARE", software.into());
    set("SERVER_NAME", ctx.server_name.clone());
    set("SERVER_PORT", ctx.server_port.to_string());
    set("SERVER_ADDR", ctx.local.ip().to_string());
    set("SERVER_PROTOCOL", format!("{:?}", req.version()));
    set("REQUEST_SCHEME", "http".into());
    set("REQUEST_METHOD", req.method().as_str().into());
    set(
        "REQUEST_URI",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
    );
    set("SCRIPT_NAME", ctx.script_name.clone());
    set("PATH_INFO", ctx.path_info.clone());
    set("QUERY_STRING", req.uri().query().unwrap_or("").into());
    set("REMOTE_ADDR", ctx.remote.ip().to_string());
    set("REMOTE_PORT", ctx.remote.port().to_string());
    set("SCRIPT_FILENAME", ctx.script.to_string_lossy().into_owned());
    if let Some(root) = &ctx.document_root {
        set("DOCUMENT_ROOT", root.to_string_lossy().into_owned());
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers() {
        let value = latin1(value.as_bytes());
        match name.as_str() {
            "content-type" => set("CONTENT_TYPE", value),
            "content-length" => set("CONTENT_LENGTH", value),
            // Never pass hop-by-hop framing to the application.
            "transfer-encoding" | "connection" | "proxy-authorization" => {}
            n => {
                let key = format!("HTTP_{}", n.to_ascii_uppercase().replace('-', "_"));
                match headers.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => {
                        v.push_str(", ");
                        v.push_str(&value);
                    }
                    None => headers.push((key, value)),
                }
            }
        }
    }
    env.extend(headers);
    env
}

/// The response for an application's head; the body streams from `body`.
pub fn response_from_head(
    status: u16,
    reason: Option<&str>,
    headers: Vec<(String, Bytes)>,
    body: Body,
) -> Response<Body> {
    let Ok(code) = StatusCode::from_u16(status) else {
        return error_page(500);
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = code;
    if let Some(reason) = reason {
        if code.canonical_reason() != Some(reason) {
            if let Ok(r) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes()) {
                resp.extensions_mut().insert(r);
            }
        }
    }
    let mut spelled = Vec::with_capacity(headers.len());
    let h = resp.headers_mut();
    for (name, value) in headers {
        let (Ok(parsed), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(value),
        ) else {
            continue;
        };
        h.append(parsed, value);
        spelled.push(name);
    }
    // Apache writes the application's header names as it wrote them.
    resp.extensions_mut()
        .insert(crate::http::head::Spelling(spelled));
    resp
}

/// The Spanish page for an error status of the WSGI host (HTML).
pub fn error_html(status: u16) -> String {
    let (title, text) = match status {
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
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The body of an embedded-mode response: chunks from the Python thread until `End`; a
/// channel that closes before `End` (the application failed mid-body) is an error, so the
/// client sees a truncated response rather than a complete-looking one.
pub struct ChannelBody {
    rx: mpsc::Receiver<Out>,
    done: bool,
}

impl ChannelBody {
    pub fn new(rx: mpsc::Receiver<Out>) -> ChannelBody {
        ChannelBody { rx, done: false }
    }
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.done {
            return Poll::Ready(None);
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
                Poll::Ready(None) => {
                    self.done = true;
                    Poll::Ready(Some(Err(std::io::Error::other(
                        "la aplicación WSGI no terminó la respuesta",
                    ))))
                }
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Turns the first message of the application into a response.
pub async fn response_from_channel(mut rx: mpsc::Receiver<Out>) -> Response<Body> {
    match rx.recv().await {
        Some(Out::Head(Head {
            status,
            reason,
            headers,
        })) => {
            let empty = headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-length") && &v[..] == b"0");
            let body = if empty {
                drop(rx);
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed()
            } else {
                ChannelBody::new(rx).boxed()
            };
            response_from_head(status, Some(&reason), headers, body)
        }
        Some(Out::Whole(head, body)) => response_from_head(
            head.status,
            Some(&head.reason),
            head.headers,
            Full::new(body).map_err(|never| match never {}).boxed(),
        ),
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
