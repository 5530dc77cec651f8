//! Content handlers: what produces the response once the request went through Apache's
//! phases (vhost, URL mapping, per-directory configuration, access control).
//!
//! Every handler has the same shape: it takes a [`Call`] (the request, the effective
//! per-directory configuration and the mapped file) and gives an [`Outcome`]. Which one runs
//! is decided in one place, [`choose`], as Apache does from `SetHandler`, `AddHandler`,
//! `ScriptAlias` and the translate hooks of modules such as mod_wsgi.
//!
//! - [`static_files`]: the core's default handler (files, `DirectoryIndex`), built on
//!   [`files`] (validators, conditional requests, ranges).
//! - [`autoindex`]: directory listings (mod_autoindex).
//! - [`status`]: `SetHandler server-status` (mod_status).
//! - [`wsgi`]: a `WSGIScriptAlias` (mod_wsgi).
//! - [`cgi`]: `ScriptAlias` and `SetHandler cgi-script` (mod_cgi/mod_cgid).
//! - [`actions`]: `Action` (mod_actions): an internal redirect to a CGI program.
//! - [`proxy_fcgi`]: `SetHandler proxy:...`, `ProxyPass` and `ProxyPassMatch` to FastCGI
//!   backends (mod_proxy_fcgi).
//! - [`cgivars`]: the CGI meta-variables (RFC 3875 and Apache's additions), shared by CGI and
//!   FastCGI (proxy_fcgi).

pub mod actions;
pub mod autoindex;
pub mod cgi;
pub mod cgivars;
pub mod files;
pub mod proxy_fcgi;
pub mod proxy_http;
pub mod static_files;
pub mod status;
pub mod wsgi;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};

use crate::config::model::{Alias, HostConfig, ServerConfig};
use crate::http::log::Level;
use crate::http::mapping::Walk;
use crate::http::perdir::Effective;
use crate::http::request::{Conn, RequestBody};
use crate::http::site::Site;
use crate::http::vhost::Chosen;
use crate::http::{errors, full, head, Body};
use crate::wsgi::ScriptMatch;

/// What produces the response once access is granted.
#[derive(Debug, Clone, Copy)]
pub enum Handler<'a> {
    /// The core's default handler: files, `DirectoryIndex`, autoindex.
    Static,
    /// `SetHandler server-status` (mod_status).
    ServerStatus,
    /// A `WSGIScriptAlias` matched the URL (mod_wsgi's translate hook).
    Wsgi(ScriptMatch<'a>),
    /// `SetHandler cgi-script` or `ScriptAlias`.
    Cgi,
    /// `Action handler-or-type /cgi-script [virtual]` (mod_actions).
    Action(&'a str, bool),
    /// `SetHandler "proxy:unix:...|fcgi://..."` (mod_proxy_fcgi).
    ProxyFcgi,
    /// `SetHandler application/x-httpd-php` with mod_php loaded (Debian's php8.2.conf).
    ModPhp,
    /// `SetHandler scriptcache-status` (the lab's script cache).
    ScriptCacheStatus,
}

/// Chooses the handler: a `WSGIScriptAlias` translation, else `ScriptAlias`, else
/// `SetHandler`, else `AddHandler` for the file's extension, else the default (static)
/// handler.
pub fn choose<'a>(
    config: &ServerConfig,
    eff: &Effective<'a>,
    script_alias: bool,
    wsgi: Option<ScriptMatch<'a>>,
    file_name: Option<&str>,
) -> Handler<'a> {
    if let Some(m) = wsgi {
        return Handler::Wsgi(m);
    }
    if script_alias {
        return Handler::Cgi;
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    let named = eff
        .set_handler()
        .or_else(|| ext.as_deref().and_then(|e| eff.handler_for_ext(e)));
    if config.has_module("actions") {
        let by_handler = named.and_then(|h| eff.action(&h.to_ascii_lowercase()));
        let by_type = || {
            eff.force_type()
                .or_else(|| ext.as_deref().and_then(|e| eff.added_type(e)))
                .and_then(|t| eff.action(&t.to_ascii_lowercase()))
        };
        if let Some((url, virt)) = by_handler.or_else(by_type) {
            return Handler::Action(url, *virt);
        }
    }
    match named {
        Some(h) if h.eq_ignore_ascii_case("server-status") && config.has_module("status") => {
            Handler::ServerStatus
        }
        Some(h) if h.eq_ignore_ascii_case("scriptcache-status") => Handler::ScriptCacheStatus,
        Some(h)
            if h.eq_ignore_ascii_case("cgi-script")
                && (config.has_module("cgid") || config.has_module("cgi")) =>
        {
            Handler::Cgi
        }
        Some(h)
            if h.eq_ignore_ascii_case("application/x-httpd-php")
                && config.has_module(crate::config::modules::PHP) =>
        {
            Handler::ModPhp
        }
        Some(h)
            if h.len() > 6
                && h[..6].eq_ignore_ascii_case("proxy:")
                && config.has_module("proxy_fcgi") =>
        {
            Handler::ProxyFcgi
        }
        _ => Handler::Static,
    }
}

/// Writes the key of the per-handler counters (`crate::http::site::Stats::handler`).
fn stats_key(out: &mut String, handler: &Handler<'_>, call: &Call<'_, '_>) {
    let fixed = match handler {
        Handler::Static => "static",
        Handler::ServerStatus => "server-status",
        Handler::ScriptCacheStatus => "scriptcache-status",
        Handler::Wsgi(m) => {
            let place = call.site.wsgi_place(call.ctx.host, m.alias);
            out.push_str("wsgi:");
            if let Some(g) = &place.process_group {
                out.push_str(g);
            }
            return;
        }
        Handler::Cgi | Handler::Action(..) => "cgi",
        Handler::ModPhp => "php:mod_php",
        Handler::ProxyFcgi => return fcgi_stats_key(out, call),
    };
    out.push_str(fixed);
}

/// The counters' key of a `SetHandler proxy:...` request: `fcgi:` and the socket or
/// address of the handler.
fn fcgi_stats_key(out: &mut String, call: &Call<'_, '_>) {
    let named = call.eff.set_handler().unwrap_or_default();
    // Byte searches: `split_once`/`split` set up a char searcher each time, for a short name.
    let bytes = named.as_bytes();
    let target = match bytes.iter().position(|&b| b == b':') {
        Some(colon) => {
            let rest = &named[colon + 1..];
            let end = rest.bytes().position(|b| b == b'|').unwrap_or(rest.len());
            &rest[..end]
        }
        None => named,
    };
    out.push_str("fcgi:");
    out.push_str(target);
}

/// The counters of `handler`; the key is put together in a buffer of the thread rather
/// than a new string per request.
fn handler_stats(
    handler: &Handler<'_>,
    call: &Call<'_, '_>,
) -> std::sync::Arc<crate::http::site::HandlerStats> {
    thread_local! {
        static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    KEY.with(|key| match key.try_borrow_mut() {
        Ok(mut key) => {
            key.clear();
            stats_key(&mut key, handler, call);
            call.site.stats.handler(&key)
        }
        Err(_) => {
            let mut key = String::new();
            stats_key(&mut key, handler, call);
            call.site.stats.handler(&key)
        }
    })
}

/// A request counted in a handler's `stats`: busy from [`Counted::start`] until it is
/// finished or dropped (the client went away midway), a request when it finishes, an error
/// when it finishes with a 5xx. A guard rather than a wrapper future: an `async fn` that takes
/// the handler's future as an argument would hold it twice (the argument and the awaited
/// copy), and every future above it would grow by that much.
pub(crate) struct Counted<'s>(&'s crate::http::site::HandlerStats);

impl<'s> Counted<'s> {
    pub(crate) fn start(stats: &'s crate::http::site::HandlerStats) -> Counted<'s> {
        stats
            .busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Counted(stats)
    }

    pub(crate) fn finish(self, out: &Outcome<'_>) {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = self.0;
        drop(self);
        stats.requests.fetch_add(1, Relaxed);
        let status = match out {
            Ok((resp, _)) => resp.status().as_u16(),
            Err((f, _)) => f.status,
        };
        if status >= 500 {
            stats.errors.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0
            .busy
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `handler` for `call`, counting it by handler.
pub async fn run<'a>(handler: Handler<'_>, mut call: Call<'a, '_>) -> Outcome<'a> {
    // In a daemon-mode worker, anything but its WSGI group goes back to the lab.
    if !matches!(handler, Handler::Wsgi(_)) {
        if let Some(back) = hand_back(call.conn, call.parts, &mut call.body) {
            return back;
        }
    }
    // Not for mod_proxy_fcgi: Apache marks the request as proxied before reading its body,
    // and LimitRequestBody does not apply to proxied requests (php-fpm gets every byte).
    if matches!(handler, Handler::Cgi | Handler::ModPhp) {
        if let Some(f) = body_over_limit(&call) {
            return Err((f, Some(call.eff)));
        }
    }
    let stats = handler_stats(&handler, &call);
    let counted = Counted::start(&stats);
    let out = dispatch(handler, call).await;
    counted.finish(&out);
    out
}

async fn dispatch<'a>(handler: Handler<'_>, call: Call<'a, '_>) -> Outcome<'a> {
    match handler {
        Handler::Static => static_files::serve(call).await,
        Handler::ServerStatus => status::serve(call),
        Handler::Wsgi(m) => wsgi::serve(call, m).await,
        Handler::Cgi => cgi::serve(call).await,
        Handler::Action(url, virt) => actions::serve(call, url, virt),
        Handler::ModPhp => {
            let path_info = call.file.path_info;
            proxy_fcgi::serve(call, proxy_fcgi::Form::ModPhp { path_info }).await
        }
        Handler::ProxyFcgi => {
            let named = call.eff.set_handler().unwrap_or_default();
            match proxy_fcgi::request_target(&call.site.config.workspace, named) {
                Some(Ok(target)) => {
                    let path_info = call.file.path_info;
                    proxy_fcgi::serve(call, proxy_fcgi::Form::Handler { target, path_info }).await
                }
                other => {
                    let msg = match other {
                        Some(Err(m)) => m,
                        _ => "no es un manejador proxy:".to_string(),
                    };
                    Err((
                        Failure::logged(
                            500,
                            Level::Error,
                            format!("AH01144: SetHandler {named}: {msg}"),
                        ),
                        Some(call.eff),
                    ))
                }
            }
        }
        Handler::ScriptCacheStatus => {
            let st = crate::scriptcache::global().status();
            let json = call
                .parts
                .uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == "json"));
            let (body, ctype) = if json {
                (crate::scriptcache::status::json(&st), "application/json")
            } else {
                let sig = signature(call.site, call.ctx.host, call.conn);
                (
                    crate::scriptcache::status::html(&st, &sig),
                    "text/html; charset=utf-8",
                )
            };
            Ok((
                text_response(StatusCode::OK, ctype, body, call.parts),
                Some(call.eff),
            ))
        }
    }
}

/// What the request pipeline learnt, for the log line and the output filters.
pub struct Ctx<'a> {
    pub chosen: Chosen,
    pub host: &'a HostConfig,
    /// The decoded, normalised URL path.
    pub url: String,
    /// The file the response comes from (for `%f` and the log).
    pub file: Option<PathBuf>,
    /// Environment variables set by `SetEnvIf` and friends.
    pub env: HashMap<String, String>,
    /// Set by a handler that asks for an internal redirect (a CGI `Location: /path`, an
    /// `Action`): the pipeline runs again for that URL.
    pub redirect: Option<InternalRedirect>,
    /// The request target of the original request, once an internal redirect happened
    /// (`REQUEST_URI` keeps it).
    pub request_uri: Option<String>,
    /// Error-log lines (module, level, whether to name the client, text) the request writes
    /// whatever its answer, before the line of a failure (mod_access_compat's refusal that
    /// `Satisfy Any` overruled, mod_proxy's line about the backend).
    pub log: Vec<(&'static str, Level, Option<std::net::SocketAddr>, String)>,
}

/// An internal redirect, as `ap_internal_redirect` does it.
pub struct InternalRedirect {
    /// The new request target (path and query, encoded).
    pub target: String,
    /// `Action` keeps the method and body; a CGI `Location` turns the request into a GET.
    pub keep_method: bool,
    /// The variables of the first request, passed on as `REDIRECT_*`.
    pub env: Vec<(String, String)>,
    /// The request body, for `Action` (behind a lock only so that `Ctx` stays `Sync`).
    pub body: std::sync::Mutex<Option<RequestBody>>,
}

/// The file a URL was mapped to.
#[derive(Clone, Copy)]
pub struct MappedFile<'r> {
    pub path: &'r Path,
    /// The directory the URL was mapped into (`DocumentRoot` or the alias target).
    pub root: &'r Path,
    /// The `Alias`/`ScriptAlias` used, if any.
    pub alias: Option<&'r Alias>,
    /// What follows the file in the URL (`PATH_INFO`), decoded; `""` when nothing does.
    pub path_info: &'r str,
    /// What the walk on disk found (`None` when a module translated the URL itself, as
    /// mod_wsgi does).
    pub walk: Option<&'r Walk>,
}

/// One request as every handler receives it.
pub struct Call<'a, 'r> {
    pub site: &'a Site,
    pub conn: &'r Conn,
    pub parts: &'r Parts,
    /// The request body; a handler that reads it takes it.
    pub body: Option<RequestBody>,
    pub ctx: &'r mut Ctx<'a>,
    /// The effective per-directory configuration of the mapped file.
    pub eff: Effective<'a>,
    pub file: MappedFile<'r>,
}

/// An error status with what to write in the error log.
pub struct Failure {
    pub status: u16,
    pub log: Option<(Level, String)>,
    /// The module named in the error log line (`core`, `cgid`...).
    pub module: &'static str,
    /// Extra headers (`Allow` for 405...).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Failure {
    pub fn new(status: u16) -> Failure {
        Failure {
            status,
            log: None,
            module: "core",
            headers: Vec::new(),
        }
    }

    pub fn logged(status: u16, level: Level, msg: impl Into<String>) -> Failure {
        Failure {
            status,
            log: Some((level, msg.into())),
            module: "core",
            headers: Vec::new(),
        }
    }

    /// The same failure, logged as `module`.
    pub fn from_module(mut self, module: &'static str) -> Failure {
        self.module = module;
        self
    }
}

/// A response, or an error status; either way with the per-directory configuration that
/// applied (for `ErrorDocument` and `Header always`).
/// Apache's `LimitRequestBody` when none is written: 1 GiB since 2.4.53 (Debian 12 has
/// 2.4.62).
pub const DEFAULT_LIMIT_REQUEST_BODY: u64 = 1 << 30;

/// `LimitRequestBody` for a handler that passes the body on (CGI, mod_php): a declared
/// `Content-Length` over the limit is refused with 413 before anything is started, as
/// Apache's core does (`0` means no limit).
fn body_over_limit(call: &Call<'_, '_>) -> Option<Failure> {
    let limit = call
        .eff
        .limit_request_body()
        .unwrap_or(DEFAULT_LIMIT_REQUEST_BODY);
    let len = call
        .parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    (limit > 0 && len > limit).then(|| {
        Failure::logged(
            413,
            Level::Info,
            format!(
                "AH01588: Requested content-length of {len} is larger than the configured limit of {limit}"
            ),
        )
    })
}

pub type Outcome<'a> =
    Result<(Response<Body>, Option<Effective<'a>>), (Failure, Option<Effective<'a>>)>;

pub(crate) fn allow_header() -> Vec<(HeaderName, HeaderValue)> {
    vec![(
        header::ALLOW,
        HeaderValue::from_static("GET,POST,OPTIONS,HEAD"),
    )]
}

/// The `Content-Type` mod_mime gives a file (see [`mime_info`]).
pub(crate) fn content_type(site: &Site, eff: &Effective<'_>, path: &Path) -> Option<String> {
    mime_info(site, eff, path).0
}

/// mod_mime's reading of a file name: every extension after the first dot counts, left to
/// right (`web.html.es` is HTML in Spanish, `notas.txt.bak` still text): `AddType` or the
/// `TypesConfig` table (unless `RemoveType`) for the type, `AddLanguage`, `AddCharset`;
/// then `ForceType`, and `AddDefaultCharset` for text/plain and text/html without a charset.
/// Returns the type and the languages.
pub(crate) fn mime_info(
    site: &Site,
    eff: &Effective<'_>,
    path: &Path,
) -> (Option<String>, Vec<String>) {
    match eff.layers_key() {
        Some(layers) => site.mime_memo(layers, path, || mime_info_of(site, eff, path)),
        None => mime_info_of(site, eff, path),
    }
}

/// [`mime_info`] worked out.
fn mime_info_of(site: &Site, eff: &Effective<'_>, path: &Path) -> (Option<String>, Vec<String>) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut ctype: Option<String> = None;
    let mut langs = Vec::new();
    let mut charset: Option<&str> = None;
    for ext in name.split('.').skip(1).filter(|e| !e.is_empty()) {
        let ext = ext.to_ascii_lowercase();
        match eff.extension_type(&ext) {
            Some(Some(t)) => ctype = Some(t.to_string()),
            Some(None) => {}
            None => {
                if let Some(t) = site.mime.get(&ext) {
                    ctype = Some(t.clone());
                }
            }
        }
        if let Some(l) = eff.added_language(&ext) {
            langs.push(l.to_string());
        }
        if let Some(c) = eff.added_charset(&ext) {
            charset = Some(c);
        }
    }
    if let Some(t) = eff.force_type() {
        ctype = Some(t.to_string());
    }
    if let Some(t) = ctype.as_mut() {
        let bare = t.to_ascii_lowercase();
        if let Some(c) = charset {
            t.push_str("; charset=");
            t.push_str(c);
        } else if (bare == "text/plain" || bare == "text/html") && !bare.contains("charset") {
            if let Some(c) = eff.default_charset() {
                t.push_str("; charset=");
                t.push_str(c);
            }
        }
    }
    (ctype, langs)
}

/// The methods Apache's core knows (`ap_method_number_of`); any other is a 501.
pub(crate) fn known_method(m: &str) -> bool {
    matches!(
        m,
        "GET"
            | "HEAD"
            | "PUT"
            | "POST"
            | "DELETE"
            | "CONNECT"
            | "OPTIONS"
            | "TRACE"
            | "PATCH"
            | "PROPFIND"
            | "PROPPATCH"
            | "MKCOL"
            | "COPY"
            | "MOVE"
            | "LOCK"
            | "UNLOCK"
            | "VERSION-CONTROL"
            | "CHECKOUT"
            | "UNCHECKOUT"
            | "CHECKIN"
            | "UPDATE"
            | "LABEL"
            | "REPORT"
            | "MKWORKSPACE"
            | "MKACTIVITY"
            | "BASELINE-CONTROL"
            | "MERGE"
    )
}

/// A URL path made absolute the way Apache's `ap_construct_url` does. With
/// `UseCanonicalName On`, `ServerName` and its port; with `Off` (the default), the host the client asked for (`Host`, else `ServerName`), the port
/// it reached (from `Host`, else the local port of the connection; left out when 80).
pub(crate) fn absolute_url(
    site: &Site,
    conn: &Conn,
    parts: &Parts,
    host: &HostConfig,
    to: &str,
) -> String {
    if !to.starts_with('/') {
        return to.to_string();
    }
    let canonical = host
        .use_canonical_name
        .or(site.config.main.use_canonical_name)
        .unwrap_or(false);
    if canonical {
        // `UseCanonicalName On`: `ServerName` and its port (80 when it has none), whatever
        // the client asked for.
        let name = site.server_name(host);
        return match host.server_port.or(site.config.main.server_port) {
            None | Some(80) => format!("http://{name}{to}"),
            Some(port) => format!("http://{name}:{port}{to}"),
        };
    }
    let asked = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| !h.is_empty());
    let (name, port) = match asked {
        Some(h) => {
            let port = match h.rsplit_once(':') {
                Some((_, p)) if !h.ends_with(']') => p.parse::<u16>().ok(),
                _ => None,
            };
            let name = match port {
                Some(_) => h.rsplit_once(':').map_or(h, |(n, _)| n),
                None => h,
            };
            (name.to_string(), port.unwrap_or(conn.local.port()))
        }
        None => (site.server_name(host).to_string(), conn.local.port()),
    };
    if port == 80 {
        format!("http://{name}{to}")
    } else {
        format!("http://{name}:{port}{to}")
    }
}

pub(crate) fn text_response(
    status: StatusCode,
    ctype: &str,
    body: String,
    parts: &Parts,
) -> Response<Body> {
    let len = body.len();
    Response::builder()
        .extension(head::Generated)
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, len)
        .body(if parts.method == Method::HEAD {
            crate::http::empty()
        } else {
            full(body)
        })
        .unwrap_or_default()
}

pub(crate) fn redirect_response(
    status: u16,
    to: Option<String>,
) -> Result<Response<Body>, (Failure, Option<Effective<'static>>)> {
    let Some(to) = to else {
        return Err((Failure::new(410), None));
    };
    let Ok(location) = HeaderValue::from_str(&to) else {
        return Err((
            Failure::logged(
                500,
                Level::Error,
                format!("destino de Redirect no válido: {to}"),
            ),
            None,
        ));
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\"><title>{status} Movido</title></head>\n\
         <body><h1>Movido</h1><p>El documento está ahora <a href=\"{0}\">aquí</a>.</p></body></html>\n",
        errors::html_escape(&to)
    );
    Ok(Response::builder()
        .extension(head::Generated)
        .extension(head::ErrorPage)
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND))
        .header(header::LOCATION, location)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, html.len())
        .body(full(html))
        .unwrap_or_default())
}

/// `ServerSignature` for pages the server writes itself.
pub(crate) fn signature(site: &Site, host: &HostConfig, conn: &Conn) -> String {
    errors::signature(
        &site.config.server_tokens,
        site.server_name(host),
        conn.port,
    )
}

/// In a daemon-mode worker, a request for anything but a WSGI application passes the
/// connection back to the lab, which serves it (`None` elsewhere).
pub fn hand_back<'a>(
    conn: &crate::http::request::Conn,
    parts: &Parts,
    body: &mut Option<RequestBody>,
) -> Option<Outcome<'a>> {
    let crate::http::handoff::Mode::Worker(back) = &conn.hand else {
        return None;
    };
    if crate::http::handoff::chunked(&parts.headers) {
        return Some(Err((
            Failure::logged(
                501,
                Level::Error,
                "mod_wsgi: una petición con cuerpo troceado (chunked) para otro destino llegó a un proceso demonio por una conexión persistente; ábrela en una conexión nueva",
            ),
            None,
        )));
    }
    Some(match crate::http::handoff::back(back) {
        Some(resp) => {
            if let (Some(h), Some(body)) = (
                resp.extensions().get::<crate::http::handoff::HandOff>(),
                body.take(),
            ) {
                h.set_body(body);
            }
            Ok((resp, None))
        }
        None => Err((
            Failure::logged(
                503,
                Level::Error,
                "mod_wsgi: el proceso demonio no pudo devolver la conexión al laboratorio",
            ),
            None,
        )),
    })
}
