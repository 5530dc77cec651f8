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
use super::{autoindex, errors, full, status, urlpath, Body};
use crate::config::model::{
    EncodedSlashes, ErrorDocument, HeaderOp, HostConfig, OptionSet, ServerConfig,
};
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
    let mut resp = match outcome {
        Ok((mut resp, eff)) => {
            if let Some(eff) = &eff {
                output_filters(&mut resp, eff, &ctx.env);
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
            for (k, v) in failure.headers {
                resp.headers_mut().insert(k, v);
            }
            if let Some(eff) = &eff {
                output_filters(&mut resp, eff, &ctx.env);
            }
            resp
        }
    };

    let ka = &site.config.keep_alive;
    if !ka.enabled || (ka.max_requests > 0 && served >= u64::from(ka.max_requests)) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp.headers_mut()
        .insert(header::SERVER, site.server_header.clone());

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
    let header_bytes = 19
        + 37
        + resp
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>() as u64;
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
        for (file, format) in &logs.access {
            file.line(&format.render(&entry));
        }
    }
    site.stats.busy.fetch_sub(1, Ordering::Relaxed);
    resp
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

    // 2. URL -> path.
    // AllowEncodedSlashes On decodes `%2F` to `/`; NoDecode keeps it as the three
    // characters `%2F` in the decoded path (so `%2F` becomes `%252F` before decoding).
    let encoded = ctx
        .host
        .allow_encoded_slashes
        .or(config.main.allow_encoded_slashes);
    let raw_path = parts.uri.path();
    let raw_path: std::borrow::Cow<'_, str> = match encoded {
        Some(EncodedSlashes::On) => raw_path.replace("%2F", "/").replace("%2f", "/").into(),
        Some(EncodedSlashes::NoDecode) => raw_path
            .replace("%2F", "%252F")
            .replace("%2f", "%252f")
            .into(),
        _ => raw_path.into(),
    };
    let url = match urlpath::clean(&raw_path) {
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
        Walk::Missing { dir, links } => (
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
    let mut wctx = crate::wsgi::WsgiContext::from_match(
        config,
        ctx.host,
        &m,
        conn.port,
        conn.client,
        conn.local,
    );
    wctx.default_type = content_type(site, &eff, &script);
    wctx.body_limit = eff.limit_request_body();
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
    if parts.method == Method::OPTIONS {
        let mut resp = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, 0)
            .body(super::empty())
            .unwrap_or_default();
        for (k, v) in allow_header() {
            resp.headers_mut().insert(k, v);
        }
        return Ok((resp, Some(eff)));
    }
    let meta = match walk {
        Walk::Found { meta, .. } => meta,
        Walk::Missing { .. } => {
            return Err((
                Failure::logged(
                    404,
                    Level::Info,
                    format!("AH00128: el fichero no existe: {}", path.display()),
                ),
                Some(eff),
            ))
        }
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let mut f = Failure::new(405);
        f.headers = allow_header();
        return Err((f, Some(eff)));
    }
    if meta.is_dir() {
        let has_dir = config.has_module("dir");
        if !url.ends_with('/') && has_dir {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}:{}", site.server_name(ctx.host), conn.port));
            let mut to = format!("http://{host}{}/", urlpath::encode(url));
            if let Some(q) = parts.uri.query() {
                to.push('?');
                to.push_str(q);
            }
            return redirect_response(301, Some(to)).map(|r| (r, Some(eff)));
        }
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
        if eff.options.contains(OptionSet::INDEXES) && config.has_module("autoindex") {
            let sig = signature(site, ctx.host, conn);
            return match autoindex::listing(path, url, &sig) {
                Ok(html) => Ok((
                    text_response(StatusCode::OK, "text/html; charset=utf-8", html, parts),
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
    let ctype = content_type(site, &eff, path);
    let cond = Conditions {
        method: &parts.method,
        headers: &parts.headers,
    };
    match files::respond(path, &entity, ctype.as_deref(), &cond).await {
        Ok(resp) if resp.status() == StatusCode::PRECONDITION_FAILED => {
            Err((Failure::new(412), Some(eff)))
        }
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

/// `ForceType`, else `AddType` or the `TypesConfig` table for the last extension.
fn content_type(site: &Site, eff: &Effective<'_>, path: &Path) -> Option<String> {
    if let Some(t) = eff.force_type() {
        return Some(t.to_string());
    }
    let name = path.file_name()?.to_str()?;
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let t = eff
        .added_type(&ext)
        .or_else(|| site.mime.get(&ext).map(String::as_str))?;
    Some(t.to_string())
}

fn text_response(status: StatusCode, ctype: &str, body: String, parts: &Parts) -> Response<Body> {
    let len = body.len();
    Response::builder()
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

/// `Header` and `Expires` on the way out.
fn output_filters(resp: &mut Response<Body>, eff: &Effective<'_>, env: &HashMap<String, String>) {
    let success = resp.status().is_success() || resp.status().is_redirection();
    for action in eff.headers() {
        if !action.always && !success {
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
    if eff.expires_active() && resp.status() == StatusCode::OK {
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if let Some(after) = eff.expires_for(&ctype) {
            files::expires_headers(resp.headers_mut(), after);
        }
    }
}
