//! One request through the Apache role, in Apache's phases:
//!
//! 1. limits and sanity (`LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`,
//!    `Host`), virtual host selection;
//! 2. URL -> path: decode and normalise ([`urlpath`]), `Redirect`, `Alias`/`DocumentRoot`
//!    ([`mapping`]), the walk on disk;
//! 3. per-directory configuration ([`perdir`]), `SetEnvIf`, access control ([`authz`]);
//! 4. the handler: `server-status`, static files, directory index or listing;
//! 5. output filters: `Header`, `Expires`, `ErrorDocument`; then the access log line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};

use super::authz::{self, Subject};
use super::files::{self, Conditions};
use super::log::{Entry, Level};
use super::mapping::{self, Walk};
use super::perdir::{Effective, Target};
use super::site::Site;
use super::vhost::{self, Chosen};
use super::{autoindex, errors, full, head, status, urlpath, Body};
use crate::config::model::{ErrorDocument, HeaderOp, HostConfig, OptionSet, ServerConfig};
use crate::wsgi::ScriptMatch;

/// The connection a request arrived on.
#[derive(Debug)]
pub struct Conn {
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// The port as written in `Listen` (80, not the mapped 10080).
    pub port: u16,
    /// Requests served on this connection so far.
    pub served: AtomicU64,
    /// mod_wsgi's host, when the role runs with one.
    pub wsgi: Option<Arc<crate::wsgi::WsgiHost>>,
}

/// The request body, type-erased so the pipeline is not generic over it.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, String>;

/// What produces the response once access is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// The core's default handler: files, `DirectoryIndex`, autoindex.
    Static,
    /// `SetHandler server-status` (mod_status).
    ServerStatus,
    /// `SetHandler cgi-script` or `ScriptAlias`: not in this version of the lab yet.
    Cgi,
}

/// What the request pipeline learnt, for the log line and the output filters.
struct Ctx<'a> {
    chosen: Chosen,
    host: &'a HostConfig,
    url: String,
    file: Option<PathBuf>,
    env: HashMap<String, String>,
}

/// An error status with what to write in the error log.
struct Failure {
    status: u16,
    log: Option<(Level, String)>,
    /// Extra headers (`Allow` for 405...).
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Failure {
    fn new(status: u16) -> Failure {
        Failure {
            status,
            log: None,
            headers: Vec::new(),
        }
    }

    fn logged(status: u16, level: Level, msg: impl Into<String>) -> Failure {
        Failure {
            status,
            log: Some((level, msg.into())),
            headers: Vec::new(),
        }
    }
}

type Outcome<'a> =
    Result<(Response<Body>, Option<Effective<'a>>), (Failure, Option<Effective<'a>>)>;

/// Serves one request from `site`.
pub async fn serve<B>(site: Arc<Site>, conn: Arc<Conn>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    use http_body_util::BodyExt;
    let started = SystemTime::now();
    let t0 = Instant::now();
    let _permit = site.workers.acquire().await.ok();
    site.stats.busy.fetch_add(1, Ordering::Relaxed);
    let served = conn.served.fetch_add(1, Ordering::Relaxed) + 1;
    let (parts, body) = req.into_parts();
    let mut body = Some(body.map_err(|e| e.to_string()).boxed_unsync());

    let host_header = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let chosen = site.vhosts.choose(
        &site.config,
        conn.local.ip(),
        conn.port,
        host_header.map(|h| h.trim()),
    );
    let host = site.host(chosen);
    let mut ctx = Ctx {
        chosen,
        host,
        url: String::new(),
        file: None,
        env: HashMap::new(),
    };

    let outcome = route(&site, &conn, &parts, &mut body, &mut ctx).await;
    let mut always = Vec::new();
    let mut resp = match outcome {
        Ok((mut resp, eff)) => {
            if let Some(eff) = &eff {
                always = output_filters(&mut resp, eff, &ctx.env);
            }
            resp
        }
        Err((failure, eff)) => {
            let logs = site.logs(chosen);
            if let Some((level, msg)) = &failure.log {
                logs.error.log("core", *level, Some(conn.client), msg);
            }
            let mut resp =
                error_response(&site, &conn, &parts, &ctx, eff.as_ref(), failure.status).await;
            resp.extensions_mut().insert(head::ErrorPage);
            for (k, v) in failure.headers {
                resp.headers_mut().insert(k, v);
            }
            if let Some(eff) = &eff {
                always = output_filters(&mut resp, eff, &ctx.env);
            }
            resp
        }
    };

    finish_head(&site, &parts, served, &mut resp, &always).await;

    let body_bytes = if parts.method == Method::HEAD {
        0
    } else {
        http_body::Body::size_hint(resp.body())
            .exact()
            .unwrap_or_else(|| {
                resp.headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(0)
            })
    };
    let header_bytes = head_bytes(&resp);
    site.stats.requests.fetch_add(1, Ordering::Relaxed);
    site.stats
        .bytes
        .fetch_add(body_bytes + header_bytes, Ordering::Relaxed);

    let logs = site.logs(chosen);
    if !logs.access.is_empty() {
        let target = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let request_bytes = parts
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>() as u64
            + target.len() as u64
            + parts.method.as_str().len() as u64
            + 12;
        let entry = Entry {
            client: conn.client,
            local: conn.local,
            port: conn.port,
            started,
            duration: t0.elapsed(),
            method: parts.method.as_str(),
            target,
            protocol: version_text(parts.version),
            status: resp.status().as_u16(),
            body_bytes,
            header_bytes,
            request_bytes,
            request_headers: &parts.headers,
            response_headers: resp.headers(),
            server_name: site.server_name(host),
            host_header,
            url_path: &ctx.url,
            file: ctx.file.as_deref(),
            env: &ctx.env,
            keepalive_requests: served - 1,
        };
        // BufferedLogs Off (the default): the line is in the file when the request ends.
        for (file, format) in &logs.access {
            if site.config.buffered_logs {
                file.line(&format.render(&entry));
            } else {
                file.line_now(&format.render(&entry));
            }
        }
    }
    site.stats.busy.fetch_sub(1, Ordering::Relaxed);
    resp
}

/// `Date`, `Server`, `Connection`/`Keep-Alive` as Apache decides them, then Apache's order
/// and spelling of the head.
async fn finish_head(
    site: &Site,
    parts: &Parts,
    served: u64,
    resp: &mut Response<Body>,
    always: &[HeaderName],
) {
    let h = resp.headers_mut();
    h.insert(header::DATE, head::date_now());
    h.insert(header::SERVER, site.server_header.clone());
    let tokens = |name: &str| {
        parts
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(name))
    };
    let ka = &site.config.keep_alive;
    let ka_sent = tokens("keep-alive");
    let client_closes = tokens("close") || (parts.version == http::Version::HTTP_10 && !ka_sent);
    let limit = ka.max_requests > 0 && served >= u64::from(ka.max_requests);
    if !ka.enabled || limit || client_closes {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    } else if ka_sent {
        let timeout = ka.timeout.as_secs();
        let value = if ka.max_requests > 0 {
            let left = u64::from(ka.max_requests).saturating_sub(served - 1);
            format!("timeout={timeout}, max={left}")
        } else {
            format!("timeout={timeout}")
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static("keep-alive"), v);
        }
        h.insert(header::CONNECTION, HeaderValue::from_static("Keep-Alive"));
    }
    let late_length = resp.extensions().get::<head::Generated>().is_some();
    head::order(resp.headers_mut(), always, late_length);
    if let Some(reason) = apache_reason(resp.status()) {
        if resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .is_none()
        {
            resp.extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(reason.as_bytes()));
        }
    }
    head::spell(resp).await;
}

/// Apache's reason phrases where they differ from the `http` crate's.
fn apache_reason(status: StatusCode) -> Option<&'static str> {
    match status.as_u16() {
        413 => Some("Request Entity Too Large"),
        414 => Some("Request-URI Too Long"),
        416 => Some("Requested Range Not Satisfiable"),
        _ => None,
    }
}

/// The size of the head on the wire (for `%O`): status line, header lines, blank line.
fn head_bytes(resp: &Response<Body>) -> u64 {
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| r.as_bytes().len())
        .or_else(|| resp.status().canonical_reason().map(str::len))
        .unwrap_or(0);
    let lines: usize = resp
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (13 + reason + 2 + lines + 2) as u64
}

fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

/// Phases 1–4. `Err` carries the error status and whatever per-directory configuration was
/// already known (for `ErrorDocument` and `Header always`).
async fn route<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    body: &mut Option<RequestBody>,
    ctx: &mut Ctx<'a>,
) -> Outcome<'a> {
    let config = &*site.config;
    let limits = &config.limits;

    // 1. Limits and sanity.
    let target_len = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    if target_len + parts.method.as_str().len() + 10 > limits.request_line {
        return Err((
            Failure::logged(
                414,
                Level::Error,
                format!(
                    "AH00565: la línea de petición supera LimitRequestLine ({} bytes)",
                    limits.request_line
                ),
            ),
            None,
        ));
    }
    if parts.headers.len() > limits.fields {
        return Err((
            Failure::logged(
                431,
                Level::Error,
                format!(
                    "AH00563: la petición tiene {} cabeceras y LimitRequestFields es {}",
                    parts.headers.len(),
                    limits.fields
                ),
            ),
            None,
        ));
    }
    if let Some((name, _)) = parts
        .headers
        .iter()
        .find(|(k, v)| k.as_str().len() + 2 + v.len() > limits.field_size)
    {
        return Err((
            Failure::logged(
                431,
                Level::Error,
                format!(
                    "AH00561: la cabecera {name} supera LimitRequestFieldSize ({} bytes)",
                    limits.field_size
                ),
            ),
            None,
        ));
    }
    let host_header = parts.headers.get(header::HOST);
    if parts.version == http::Version::HTTP_11 && host_header.is_none() {
        return Err((
            Failure::logged(
                400,
                Level::Error,
                "AH00569: petición HTTP/1.1 sin cabecera Host",
            ),
            None,
        ));
    }
    if let Some(h) = host_header {
        if !h.to_str().is_ok_and(vhost::host_is_valid) {
            return Err((
                Failure::logged(400, Level::Error, "AH00550: la cabecera Host no es válida"),
                None,
            ));
        }
    }
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    {
        if limits.body > 0 && len > limits.body {
            return Err((
                Failure::logged(
                    413,
                    Level::Error,
                    format!(
                        "AH00567: el cuerpo ({len} bytes) supera LimitRequestBody ({})",
                        limits.body
                    ),
                ),
                None,
            ));
        }
    }

    // `OPTIONS *` asks about the server, not a resource: the core answers it.
    if parts.method == Method::OPTIONS && parts.uri.path() == "*" {
        let resp = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, 0)
            .body(head::zero_length())
            .unwrap_or_default();
        return Ok((resp, None));
    }
    // Debian's security.conf says `TraceEnable Off`: the core refuses TRACE with an empty
    // `Allow`.
    if parts.method == Method::TRACE {
        let mut f = Failure::logged(
            405,
            Level::Error,
            "AH00669: TRACE no está permitido en este servidor (TraceEnable Off)",
        );
        f.headers = vec![(header::ALLOW, HeaderValue::from_static(""))];
        return Err((f, None));
    }

    // 2. URL -> path.
    let url = match urlpath::clean(parts.uri.path()) {
        Ok(u) => u,
        Err(e) => {
            return Err((
                Failure::logged(
                    e.status(),
                    Level::Error,
                    format!(
                        "AH10244: URI no válida ({}): {}",
                        e.reason(),
                        parts.uri.path()
                    ),
                ),
                None,
            ))
        }
    };
    ctx.url = url.clone();
    let query = parts.uri.query();
    let is_main = std::ptr::eq(ctx.host, &config.main);
    let host_redirects = ctx
        .host
        .redirects
        .iter()
        .chain(config.main.redirects.iter().filter(|_| !is_main));
    if let Some((status, to)) = mapping::redirect(host_redirects, &url, query) {
        let to = to.map(|t| absolute_url(site, conn, parts, ctx.host, &t));
        return redirect_response(status, to).map(|r| (r, None));
    }
    let mapped = mapping::map(config, ctx.host, &url);
    // mod_wsgi translates after mod_alias: `Alias /static/` wins over `WSGIScriptAlias /`.
    if mapped.alias.is_none() {
        if let Some(m) = wsgi_alias(config, ctx.host, &url) {
            return wsgi_route(site, conn, parts, body, ctx, m, &url).await;
        }
    }
    let walk = mapping::walk(&mapped.root, &mapped.path);
    let (dir, file_name, links): (PathBuf, Option<&str>, &[(PathBuf, bool)]) = match &walk {
        Walk::Found { meta, links } if meta.is_dir() => (mapped.path.clone(), None, links),
        Walk::Found { links, .. } => (
            mapped.path.parent().unwrap_or(&mapped.root).to_path_buf(),
            mapped.path.file_name().and_then(|n| n.to_str()),
            links,
        ),
        Walk::Missing { dir, links, .. } => (
            dir.clone(),
            mapped.path.file_name().and_then(|n| n.to_str()),
            links,
        ),
    };
    ctx.file = Some(mapped.path.clone());

    // 3. Per-directory configuration and access.
    let eff = Effective::merge(
        config,
        ctx.host,
        &Target {
            dir: Some(&dir),
            file_name,
            url: &url,
        },
    );
    set_env_if(&eff, conn, parts, &url, &mut ctx.env);
    if let Some(name) = file_name {
        if name.len() >= 3 && name[..3].eq_ignore_ascii_case(".ht") {
            return Err((
                Failure::logged(
                    403,
                    Level::Error,
                    format!(
                        "AH01630: acceso denegado: los ficheros .ht* no se sirven nunca: {}",
                        mapped.path.display()
                    ),
                ),
                Some(eff),
            ));
        }
    }
    if !granted(&eff, conn, parts, &ctx.env) {
        return Err((denied(&mapped.path, ""), Some(eff)));
    }
    if let Walk::Missing {
        refused: Some((at, why)),
        ..
    } = &walk
    {
        return Err((
            Failure::logged(
                403,
                Level::Error,
                format!(
                    "AH00037: enlace simbólico no permitido o destino inaccesible: {} ({why})",
                    at.display()
                ),
            ),
            Some(eff),
        ));
    }
    if let Some(link) = refused_link(links, eff.options) {
        return Err((
            Failure::logged(
                403,
                Level::Error,
                format!(
                    "AH00037: enlace simbólico no permitido (falta Options FollowSymLinks): {}",
                    link.display()
                ),
            ),
            Some(eff),
        ));
    }
    if let Some((status, to)) = mapping::redirect(eff.redirects(), &url, query) {
        let to = to.map(|t| absolute_url(site, conn, parts, ctx.host, &t));
        return redirect_response(status, to).map(|r| (r, Some(eff)));
    }

    // 4. The handler.
    let handler = handler_for(config, &eff, &mapped, file_name);
    match handler {
        Handler::ServerStatus => {
            let name = site.server_name(ctx.host);
            let html = if query.is_some_and(|q| q.split('&').any(|p| p == "auto")) {
                (status::auto(site, name), "text/plain; charset=utf-8")
            } else {
                (
                    status::html(site, name, &signature(site, ctx.host, conn)),
                    "text/html; charset=utf-8",
                )
            };
            Ok((text_response(StatusCode::OK, html.1, html.0, parts), Some(eff)))
        }
        Handler::Cgi => Err((
            Failure::logged(
                501,
                Level::Error,
                format!(
                    "el laboratorio todavía no ejecuta programas CGI (ScriptAlias / SetHandler cgi-script): {}",
                    mapped.path.display()
                ),
            ),
            Some(eff),
        )),
        Handler::Static => {
            static_handler(site, conn, parts, ctx, &url, &mapped.path, &walk, eff).await
        }
    }
}

/// The handler for a mapped request: `ScriptAlias`, else `SetHandler`, else `AddHandler` for
/// the file's extension, else the default (static) handler.
pub fn handler_for(
    config: &ServerConfig,
    eff: &Effective<'_>,
    mapped: &mapping::Mapped<'_>,
    file_name: Option<&str>,
) -> Handler {
    if mapped.is_script() {
        return Handler::Cgi;
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    let named = eff
        .set_handler()
        .or_else(|| ext.as_deref().and_then(|e| eff.handler_for_ext(e)));
    match named {
        Some(h) if h.eq_ignore_ascii_case("server-status") && config.has_module("status") => {
            Handler::ServerStatus
        }
        Some(h) if h.eq_ignore_ascii_case("cgi-script") => Handler::Cgi,
        _ => Handler::Static,
    }
}

/// The `WSGIScriptAlias` (the host's, then the main server's) that serves `url`.
pub(crate) fn wsgi_alias<'a>(
    config: &'a ServerConfig,
    host: &'a HostConfig,
    url: &'a str,
) -> Option<ScriptMatch<'a>> {
    if !config.has_module("wsgi") {
        return None;
    }
    crate::wsgi::match_script_alias(&host.wsgi_aliases, url).or_else(|| {
        (!std::ptr::eq(host, &config.main))
            .then(|| crate::wsgi::match_script_alias(&config.main.wsgi_aliases, url))
            .flatten()
    })
}

/// A request for a WSGI application: the script's `<Directory>` must grant access (as with
/// mod_wsgi, the usual cause of a 403), then mod_wsgi's host serves it.
async fn wsgi_route<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    body: &mut Option<RequestBody>,
    ctx: &mut Ctx<'a>,
    m: ScriptMatch<'_>,
    url: &str,
) -> Outcome<'a> {
    let config = &*site.config;
    let script = m.alias.script.path.clone();
    let dir = script.parent().map(Path::to_path_buf).unwrap_or_default();
    let file_name = script.file_name().and_then(|n| n.to_str());
    ctx.file = Some(script.clone());
    let eff = Effective::merge(
        config,
        ctx.host,
        &Target {
            dir: Some(&dir),
            file_name,
            url,
        },
    );
    set_env_if(&eff, conn, parts, url, &mut ctx.env);
    if !granted(&eff, conn, parts, &ctx.env) {
        return Err((
            denied(
                &script,
                " (el <Directory> del script WSGI necesita `Require all granted`)",
            ),
            Some(eff),
        ));
    }
    let (Some(wsgi), Some(body)) = (conn.wsgi.as_ref(), body.take()) else {
        return Err((
            Failure::logged(
                500,
                Level::Error,
                "mod_wsgi no está disponible en este proceso",
            ),
            Some(eff),
        ));
    };
    let wctx = crate::wsgi::WsgiContext::from_match(
        config,
        ctx.host,
        &m,
        conn.port,
        conn.client,
        conn.local,
    );
    let mut req = Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    Ok((wsgi.handle(req, wctx).await, Some(eff)))
}

/// True when the `Require` rules of `eff` let this client in.
fn granted(eff: &Effective<'_>, conn: &Conn, parts: &Parts, env: &HashMap<String, String>) -> bool {
    let who = Subject {
        client: conn.client.ip(),
        local: conn.local.ip(),
        method: parts.method.as_str(),
        env,
    };
    authz::granted(eff.require(), &who)
}

/// The 403 of a `Require` that refused, with Apache's log line (`note` adds a hint).
fn denied(path: &Path, note: &str) -> Failure {
    Failure::logged(
        403,
        Level::Error,
        format!(
            "AH01630: cliente rechazado por la configuración del servidor (Require): {}{note}",
            path.display()
        ),
    )
}

/// The first symbolic link the options refuse.
fn refused_link(links: &[(PathBuf, bool)], options: OptionSet) -> Option<&Path> {
    if options.contains(OptionSet::FOLLOW_SYMLINKS) {
        return None;
    }
    let if_owner = options.contains(OptionSet::SYMLINKS_IF_OWNER_MATCH);
    links
        .iter()
        .find(|(_, owner_ok)| !(if_owner && *owner_ok))
        .map(|(p, _)| p.as_path())
}

/// The methods Apache's core knows (`ap_method_number_of`); any other is a 501.
fn known_method(m: &str) -> bool {
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

fn allow_header() -> Vec<(HeaderName, HeaderValue)> {
    vec![(
        header::ALLOW,
        HeaderValue::from_static("GET,POST,OPTIONS,HEAD"),
    )]
}

#[allow(clippy::too_many_arguments)]
async fn static_handler<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    ctx: &mut Ctx<'a>,
    url: &str,
    path: &Path,
    walk: &Walk,
    eff: Effective<'a>,
) -> Outcome<'a> {
    let config = &*site.config;
    // The core's default handler: 501 for a method Apache does not know (case counts: `get`
    // is not GET), before looking at the file.
    if !known_method(parts.method.as_str()) {
        let mut f = Failure::logged(
            501,
            Level::Info,
            format!(
                "AH00126: método desconocido en la petición: {}",
                parts.method
            ),
        );
        f.headers = allow_header();
        return Err((f, Some(eff)));
    }
    let found = match walk {
        Walk::Found { meta, .. } => Some(meta),
        Walk::Missing { .. } => None,
    };
    let is_dir = found.is_some_and(|m| m.is_dir());
    let has_dir = config.has_module("dir");
    // mod_dir's DirectorySlash runs in the fixups, before any handler, for every method.
    if is_dir && !url.ends_with('/') && has_dir {
        let mut to = format!("{}/", urlpath::encode(url));
        if let Some(q) = parts.uri.query() {
            to.push('?');
            to.push_str(q);
        }
        let to = absolute_url(site, conn, parts, ctx.host, &to);
        return redirect_response(301, Some(to)).map(|r| (r, Some(eff)));
    }
    if parts.method == Method::OPTIONS {
        // The type mod_mime gave the target (the index file for a directory) stays.
        let typed = if is_dir {
            eff.directory_index()
                .unwrap_or(&["index.html".to_string()])
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.is_file())
        } else {
            Some(path.to_path_buf())
        };
        let mut resp = Response::builder()
            .extension(head::Generated)
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, 0)
            .body(head::zero_length())
            .unwrap_or_default();
        for (k, v) in allow_header() {
            resp.headers_mut().insert(k, v);
        }
        if let Some(t) = typed
            .and_then(|p| content_type(site, &eff, &p))
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            resp.headers_mut().insert(header::CONTENT_TYPE, t);
        }
        return Ok((resp, Some(eff)));
    }
    // PUT, DELETE and the other known methods: 405 whether the file exists or not; a failed
    // precondition on GET or POST is checked later (412 before anything else).
    if parts.method != Method::GET && parts.method != Method::HEAD && parts.method != Method::POST {
        let mut f = Failure::new(405);
        f.headers = allow_header();
        return Err((f, Some(eff)));
    }
    let Some(meta) = found else {
        return Err((
            Failure::logged(
                404,
                Level::Info,
                format!("AH00128: el fichero no existe: {}", path.display()),
            ),
            Some(eff),
        ));
    };
    if meta.is_dir() {
        if has_dir {
            let default = ["index.html".to_string()];
            let indexes = eff.directory_index().unwrap_or(&default);
            for name in indexes {
                if name.eq_ignore_ascii_case("disabled") {
                    break;
                }
                // `DirectoryIndex /cgi-bin/index.pl` (an absolute URL) is not a file here.
                if name.starts_with('/') {
                    continue;
                }
                let candidate = path.join(name);
                if let Ok(m) = std::fs::metadata(&candidate) {
                    if m.is_file() {
                        // The index is a subrequest: its own <Files> sections apply.
                        let sub = Effective::merge(
                            config,
                            ctx.host,
                            &Target {
                                dir: Some(path),
                                file_name: Some(name),
                                url,
                            },
                        );
                        if !granted(&sub, conn, parts, &ctx.env) {
                            continue;
                        }
                        ctx.file = Some(candidate.clone());
                        return serve_file(site, parts, &candidate, &m, sub).await;
                    }
                }
            }
        }
        if parts.method == Method::POST {
            // mod_autoindex lists for GET only; the default handler does not serve directories.
            return Err((
                Failure::logged(
                    404,
                    Level::Info,
                    format!(
                        "AH00130: POST a un directorio sin índice: {}",
                        path.display()
                    ),
                ),
                Some(eff),
            ));
        }
        if eff.options.contains(OptionSet::INDEXES) && config.has_module("autoindex") {
            let sig = signature(site, ctx.host, conn);
            return match autoindex::listing(path, url, &sig) {
                // Debian's autoindex.conf says `IndexOptions Charset=UTF-8`; mod_autoindex
                // writes the type without a space.
                Ok(html) => Ok((
                    text_response(StatusCode::OK, "text/html;charset=UTF-8", html, parts),
                    Some(eff),
                )),
                Err(e) => Err((
                    Failure::logged(
                        403,
                        Level::Error,
                        format!(
                            "AH01275: no se puede leer el directorio {}: {e}",
                            path.display()
                        ),
                    ),
                    Some(eff),
                )),
            };
        }
        return Err((
            Failure::logged(
                403,
                Level::Error,
                format!(
                    "AH01276: no se puede servir el directorio {}: no hay DirectoryIndex ({}) y Options no incluye Indexes",
                    path.display(),
                    eff.directory_index()
                        .map(|v| v.join(" "))
                        .unwrap_or_else(|| "index.html".into())
                ),
            ),
            Some(eff),
        ));
    }
    let meta = meta.clone();
    serve_file(site, parts, path, &meta, eff).await
}

async fn serve_file<'a>(
    site: &'a Site,
    parts: &Parts,
    path: &Path,
    meta: &std::fs::Metadata,
    eff: Effective<'a>,
) -> Outcome<'a> {
    let entity = match site.files.entity(path, meta) {
        Ok(e) => e,
        Err(e) => {
            let status = if e.kind() == std::io::ErrorKind::PermissionDenied {
                403
            } else {
                404
            };
            return Err((
                Failure::logged(
                    status,
                    Level::Error,
                    format!("AH00132: no se pudo leer {}: {e}", path.display()),
                ),
                Some(eff),
            ));
        }
    };
    let (ctype, langs) = mime_info(site, &eff, path);
    let cond = Conditions {
        method: &parts.method,
        headers: &parts.headers,
    };
    let answer = files::respond(path, &entity, ctype.as_deref(), &cond)
        .await
        .map(|mut resp| {
            if !langs.is_empty() && resp.status() != StatusCode::NOT_MODIFIED {
                if let Ok(v) = HeaderValue::from_str(&langs.join(", ")) {
                    resp.headers_mut().insert(header::CONTENT_LANGUAGE, v);
                }
            }
            resp
        });
    match answer {
        Ok(resp) if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE => Err((
            Failure::logged(
                416,
                Level::Info,
                format!(
                    "ningún rango de la petición cae dentro de {}",
                    path.display()
                ),
            ),
            Some(eff),
        )),
        Ok(resp) => Ok((resp, Some(eff))),
        Err(e) => Err((
            Failure::logged(
                500,
                Level::Error,
                format!("AH00132: error al leer {}: {e}", path.display()),
            ),
            Some(eff),
        )),
    }
}

/// The `Content-Type` mod_mime gives a file (see [`mime_info`]).
fn content_type(site: &Site, eff: &Effective<'_>, path: &Path) -> Option<String> {
    mime_info(site, eff, path).0
}

/// mod_mime's reading of a file name: every extension after the first dot counts, left to
/// right (`web.html.es` is HTML in Spanish, `notas.txt.bak` still text): `AddType` or the
/// `TypesConfig` table (unless `RemoveType`) for the type, `AddLanguage`, `AddCharset`;
/// then `ForceType`, and `AddDefaultCharset` for text/plain and text/html without a charset.
/// Returns the type and the languages.
fn mime_info(site: &Site, eff: &Effective<'_>, path: &Path) -> (Option<String>, Vec<String>) {
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

fn text_response(status: StatusCode, ctype: &str, body: String, parts: &Parts) -> Response<Body> {
    let len = body.len();
    Response::builder()
        .extension(head::Generated)
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, len)
        .body(if parts.method == Method::HEAD {
            super::empty()
        } else {
            full(body)
        })
        .unwrap_or_default()
}

/// A URL path made absolute the way Apache's `ap_construct_url` does with
/// `UseCanonicalName Off`: the host the client asked for (`Host`, else `ServerName`), the port
/// it reached (from `Host`, else the local port of the connection; left out when 80).
fn absolute_url(site: &Site, conn: &Conn, parts: &Parts, host: &HostConfig, to: &str) -> String {
    if !to.starts_with('/') {
        return to.to_string();
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

fn redirect_response(
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

fn signature(site: &Site, host: &HostConfig, conn: &Conn) -> String {
    errors::signature(
        &site.config.server_tokens,
        site.server_name(host),
        conn.port,
    )
}

/// The response for an error status, honouring `ErrorDocument`.
async fn error_response(
    site: &Site,
    conn: &Conn,
    parts: &Parts,
    ctx: &Ctx<'_>,
    eff: Option<&Effective<'_>>,
    status: u16,
) -> Response<Body> {
    let doc = match eff {
        Some(e) => e.error_document(status),
        None => ctx
            .host
            .defaults
            .error_documents
            .get(&status)
            .or_else(|| site.config.main.defaults.error_documents.get(&status)),
    };
    let sig = signature(site, ctx.host, conn);
    let mut resp = match doc {
        Some(ErrorDocument::Text(text)) => {
            let mut r = text_response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                text.clone(),
                parts,
            );
            *r.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
        Some(ErrorDocument::Remote(url)) => match redirect_response(302, Some(url.clone())) {
            Ok(r) => r,
            Err(_) => errors::page(status, None, &sig),
        },
        Some(ErrorDocument::Local(url)) => match local_error_document(site, ctx, url).await {
            Some(mut r) => {
                *r.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                r
            }
            None => {
                site.logs(ctx.chosen).error.log(
                    "core",
                    Level::Error,
                    Some(conn.client),
                    &format!("ErrorDocument {status} {url}: no existe ese documento; se envía la página por defecto"),
                );
                errors::page(status, None, &sig)
            }
        },
        Some(ErrorDocument::Default) | None => errors::page(status, None, &sig),
    };
    if !matches!(doc, Some(ErrorDocument::Local(_))) {
        resp.extensions_mut().insert(head::Generated);
    }
    if parts.method == Method::HEAD {
        *resp.body_mut() = super::empty();
    }
    resp
}

/// Serves the file of a local `ErrorDocument` URL (a plain file below the mapped root).
async fn local_error_document(site: &Site, ctx: &Ctx<'_>, url: &str) -> Option<Response<Body>> {
    let (path_part, _) = url.split_once('?').unwrap_or((url, ""));
    let clean = urlpath::clean(path_part).ok()?;
    let mapped = mapping::map(&site.config, ctx.host, &clean);
    let meta = std::fs::metadata(&mapped.path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let entity = site.files.entity(&mapped.path, &meta).ok()?;
    let eff = Effective::merge(
        &site.config,
        ctx.host,
        &Target {
            dir: mapped.path.parent(),
            file_name: mapped.path.file_name().and_then(|n| n.to_str()),
            url: &clean,
        },
    );
    let ctype = content_type(site, &eff, &mapped.path);
    let headers = HeaderMap::new();
    let cond = Conditions {
        method: &Method::GET,
        headers: &headers,
    };
    files::respond(&mapped.path, &entity, ctype.as_deref(), &cond)
        .await
        .ok()
}

/// `SetEnvIf` rules of the request's configuration.
fn set_env_if(
    eff: &Effective<'_>,
    conn: &Conn,
    parts: &Parts,
    url: &str,
    env: &mut HashMap<String, String>,
) {
    let mut client = String::new();
    for rule in eff.set_env_if() {
        if client.is_empty() {
            client = conn.client.ip().to_canonical().to_string();
        }
        let value: Option<&str> = match rule.attribute.to_ascii_lowercase().as_str() {
            "remote_addr" => Some(&client),
            "request_uri" => Some(url),
            "request_method" => Some(parts.method.as_str()),
            "request_protocol" => Some(version_text(parts.version)),
            name => parts.headers.get(name).and_then(|v| v.to_str().ok()),
        };
        let Some(value) = value else { continue };
        if rule.regex.is_match(value) {
            for (k, v) in &rule.vars {
                match v {
                    Some(v) => env.insert(k.clone(), v.clone()),
                    None => env.remove(k),
                };
            }
        }
    }
}

/// `Expires` and `Header` on the way out, in Apache's order: mod_expires first (for any
/// answer that is not a 4xx or 5xx, 304 and redirects included, with the type of the file
/// even when a 304 carries none), then mod_headers: `Header always` on every answer, plain
/// `Header` only on answers that are not Apache's own error pages or redirects (whose head
/// starts again from the `always` table). Returns the names `Header always` set.
fn output_filters(
    resp: &mut Response<Body>,
    eff: &Effective<'_>,
    env: &HashMap<String, String>,
) -> Vec<HeaderName> {
    let status = resp.status();
    if eff.expires_active()
        && !(status.is_client_error() || status.is_server_error())
        && !resp.headers().contains_key(header::EXPIRES)
    {
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .or_else(|| resp.extensions().get::<files::TypeOf>().map(|t| &t.0))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if let Some(after) = eff.expires_for(&ctype) {
            files::expires_headers(resp.headers_mut(), after);
        }
    }
    let error_page = resp.extensions().get::<head::ErrorPage>().is_some();
    let mut always = Vec::new();
    for action in eff.headers() {
        if !action.always && error_page {
            continue;
        }
        if let Some((want, var)) = &action.condition {
            if env.contains_key(var) != *want {
                continue;
            }
        }
        let Ok(name) = HeaderName::from_bytes(action.name.as_bytes()) else {
            continue;
        };
        if action.always && action.op != HeaderOp::Unset && !always.contains(&name) {
            always.push(name.clone());
        }
        let value = action
            .value
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok());
        let h = resp.headers_mut();
        match (action.op, value) {
            (HeaderOp::Unset, _) => {
                h.remove(&name);
            }
            (HeaderOp::Set, Some(v)) => {
                h.insert(name, v);
            }
            (HeaderOp::Add, Some(v)) => {
                h.append(name, v);
            }
            (HeaderOp::SetIfEmpty, Some(v)) if !h.contains_key(&name) => {
                h.insert(name, v);
            }
            (HeaderOp::Append | HeaderOp::Merge, Some(v)) => {
                let joined = match h.get(&name).and_then(|old| old.to_str().ok()) {
                    Some(old) => {
                        let new = v.to_str().unwrap_or("");
                        if action.op == HeaderOp::Merge && old.split(',').any(|t| t.trim() == new) {
                            continue;
                        }
                        HeaderValue::from_str(&format!("{old}, {new}")).unwrap_or(v)
                    }
                    None => v,
                };
                h.insert(name, joined);
            }
            _ => {}
        }
    }
    always
}
