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
//! - [`proxy_fcgi`]: `SetHandler proxy:...`, `ProxyPass` and `ProxyPassMatch` to FastCGI
//!   backends (mod_proxy_fcgi).
//! - [`cgivars`]: the CGI meta-variables (RFC 3875 and Apache's additions), shared by CGI and
//!   FastCGI (proxy_fcgi).

pub mod autoindex;
pub mod cgi;
pub mod cgivars;
pub mod files;
pub mod proxy_fcgi;
pub mod static_files;
pub mod status;
pub mod wsgi;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};

use crate::config::model::{HostConfig, ServerConfig};
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
    /// `SetHandler "proxy:unix:...|fcgi://..."` (mod_proxy_fcgi).
    ProxyFcgi,
    /// `SetHandler application/x-httpd-php` with mod_php loaded (Debian's php8.2.conf).
    ModPhp,
}

/// Chooses the handler: a `WSGIScriptAlias` translation, else `ScriptAlias`, else
/// `SetHandler`, else `AddHandler` for the file's extension, else the default (static)
/// handler.
pub fn choose<'a>(
    config: &ServerConfig,
    eff: &Effective<'_>,
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
    match named {
        Some(h) if h.eq_ignore_ascii_case("server-status") && config.has_module("status") => {
            Handler::ServerStatus
        }
        Some(h) if h.eq_ignore_ascii_case("cgi-script") => Handler::Cgi,
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

/// Runs `handler` for `call`.
pub async fn run<'a>(handler: Handler<'_>, call: Call<'a, '_>) -> Outcome<'a> {
    match handler {
        Handler::Static => static_files::serve(call).await,
        Handler::ServerStatus => status::serve(call),
        Handler::Wsgi(m) => wsgi::serve(call, m).await,
        Handler::Cgi => cgi::serve(call).await,
        Handler::ModPhp => {
            let path_info = String::new();
            proxy_fcgi::serve(call, proxy_fcgi::Form::ModPhp { path_info }).await
        }
        Handler::ProxyFcgi => {
            let named = call.eff.set_handler().unwrap_or_default().to_string();
            match proxy_fcgi::handler_target(&call.site.config.workspace, &named) {
                Some(Ok(target)) => {
                    let path_info = String::new();
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
}

/// The file a URL was mapped to.
#[derive(Clone, Copy)]
pub struct MappedFile<'r> {
    pub path: &'r Path,
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
    /// Extra headers (`Allow` for 405...).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Failure {
    pub fn new(status: u16) -> Failure {
        Failure {
            status,
            log: None,
            headers: Vec::new(),
        }
    }

    pub fn logged(status: u16, level: Level, msg: impl Into<String>) -> Failure {
        Failure {
            status,
            log: Some((level, msg.into())),
            headers: Vec::new(),
        }
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
