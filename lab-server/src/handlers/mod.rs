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
//! - [`cgivars`]: the CGI meta-variables (RFC 3875 and Apache's additions), shared by CGI and
//!   FastCGI (proxy_fcgi).

pub mod actions;
pub mod autoindex;
pub mod cgi;
pub mod cgivars;
pub mod files;
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
use crate::http::{errors, full, Body};
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
        _ => Handler::Static,
    }
}

/// Runs `handler` for `call`.
pub async fn run<'a>(handler: Handler<'_>, call: Call<'a, '_>) -> Outcome<'a> {
    match handler {
        Handler::Static => static_files::serve(call).await,
        Handler::ServerStatus => status::serve(call),
        Handler::Wsgi(m) => wsgi::serve(call, m).await,
        Handler::Cgi => cgi::serve(call).await,
        Handler::Action(url, virt) => actions::serve(call, url, virt),
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
pub type Outcome<'a> =
    Result<(Response<Body>, Option<Effective<'a>>), (Failure, Option<Effective<'a>>)>;

pub(crate) fn allow_header() -> Vec<(HeaderName, HeaderValue)> {
    vec![(
        header::ALLOW,
        HeaderValue::from_static("GET,POST,OPTIONS,HEAD"),
    )]
}

/// `ForceType`, else `AddType` or the `TypesConfig` table for the last extension.
pub(crate) fn content_type(site: &Site, eff: &Effective<'_>, path: &Path) -> Option<String> {
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

pub(crate) fn text_response(
    status: StatusCode,
    ctype: &str,
    body: String,
    parts: &Parts,
) -> Response<Body> {
    let len = body.len();
    Response::builder()
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
