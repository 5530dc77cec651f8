//! mod_proxy_fcgi: a request handed to a FastCGI backend (php-fpm, a php-cgi pool, a flup
//! app), in the two shapes Apache has:
//!
//! - `SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"` (Debian's
//!   `php8.2-fpm.conf`): Apache walked the disk, so the script is a real file and the rest of
//!   the URL is `PATH_INFO` (decoded); `SCRIPT_FILENAME` is `proxy:fcgi://localhost` + the
//!   file, and mod_proxy adds `proxy-nokeepalive=1` to the environment;
//! - `ProxyPass`/`ProxyPassMatch`: the URL is translated without looking at the disk;
//!   `SCRIPT_FILENAME` is `proxy:` + the backend URL (re-encoded), `SCRIPT_NAME` the whole
//!   decoded URL path and there is no `PATH_INFO`: php-fpm's `fix_pathinfo` splits it
//!   (and keeps the originals as `ORIG_SCRIPT_*`).
//!
//! The meta-variables come from [`super::cgivars`]. STDERR lines go to the virtual host's
//! error log as `AH01071: Got error '...'`; an unreachable backend is a 503 and a timeout a
//! 504, each with Apache's log lines.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::Method;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::cgivars::{self, CgiRequest};
use super::{Call, Failure, Outcome};
use crate::config::proxy::{FcgiTarget, ProxyMatch, WorkerParams};
use crate::fastcgi::pool::{self, Piece, ProxyError};
use crate::fastcgi::record::Param;
use crate::http::log::{ErrorLog, Level};
use crate::http::Body;

/// How the request reached the backend.
pub enum Form<'m> {
    /// `SetHandler proxy:...`: the file on disk and the path info after it (decoded).
    Handler {
        target: Arc<FcgiTarget>,
        path_info: &'m str,
    },
    /// `ProxyPass`/`ProxyPassMatch`.
    Pass(ProxyMatch<'m>),
    /// mod_php: the file on disk, served by the pool that plays Apache's PHP children.
    ModPhp { path_info: &'m str },
}

/// Serves `call` on the backend of `form`.
pub async fn serve<'a>(call: Call<'a, '_>, form: Form<'_>) -> Outcome<'a> {
    let Call {
        site,
        conn,
        parts,
        body,
        ctx,
        eff,
        file,
    } = call;
    let host = ctx.host;
    let config = &site.config;
    let mod_php_target;
    let (target, params, script_filename, script_name, path_info, nokeepalive) = match &form {
        Form::ModPhp { path_info } => {
            // mod_php runs inside Apache: a missing script is Apache's own 404.
            if !matches!(file.walk, Some(crate::http::mapping::Walk::Found { .. })) {
                return Err((
                    Failure::logged(
                        404,
                        Level::Info,
                        format!("AH00128: el fichero no existe: {}", file.path.display()),
                    ),
                    Some(eff),
                ));
            }
            let socket = crate::php::fpm::MOD_PHP_SOCKET.trim_start_matches('/');
            mod_php_target = FcgiTarget {
                backend: pool::Backend::Unix(config.workspace.join(socket)),
                authority_url: "fcgi://localhost".into(),
                path: String::new(),
                written: crate::php::fpm::MOD_PHP_SOCKET.into(),
            };
            let name = ctx.url.strip_suffix(*path_info).unwrap_or(&ctx.url);
            (
                &mod_php_target,
                WorkerParams {
                    enablereuse: Some(true),
                    ..WorkerParams::default()
                },
                file.path.display().to_string(),
                name,
                *path_info,
                false,
            )
        }
        Form::Handler { target, path_info } => {
            let params = config.main.proxy.worker_params(&target.authority_url);
            let script = proxy_file_name(&target.authority_url, file.path);
            let name = ctx.url.strip_suffix(*path_info).unwrap_or(&ctx.url);
            (&**target, params, script, name, *path_info, true)
        }
        Form::Pass(m) => {
            let mut params = m.rule.params.clone();
            let from_section = host.proxy.worker_params(&m.target.authority_url);
            params.enablereuse = params.enablereuse.or(from_section.enablereuse);
            params.max = params.max.or(from_section.max);
            params.timeout = params.timeout.or(from_section.timeout);
            (
                m.target,
                params,
                format!("proxy:{}", m.url),
                ctx.url.as_str(),
                "",
                false,
            )
        }
    };
    let reuse = params.enablereuse.unwrap_or(false);
    // `ProxyFCGIBackendType GENERIC`: Apache itself strips `proxy:fcgi://host:port` from
    // SCRIPT_FILENAME (php-fpm, the default FPM type, does it on its side).
    let generic = host.proxy.generic || config.main.proxy.generic;
    let script_filename = match script_filename.strip_prefix("proxy:fcgi://") {
        Some(rest) if generic => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_else(|| "/".to_string()),
        _ => script_filename,
    };

    let docroot: &Path = host
        .document_root
        .as_ref()
        .or(config.main.document_root.as_ref())
        .map_or(Path::new(""), |d| d.path.as_path());
    let host_header = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            let h = h.trim();
            if h.starts_with('[') {
                // `[::1]:8080`: the bracketed address, brackets included (and closed).
                match h.find(']') {
                    Some(i) => std::borrow::Cow::Borrowed(&h[..=i]),
                    None => std::borrow::Cow::Owned(format!("{h}]")),
                }
            } else {
                std::borrow::Cow::Borrowed(h.split(':').next().unwrap_or(h))
            }
        });
    let canonical = host
        .use_canonical_name
        .or(config.main.use_canonical_name)
        .unwrap_or(false);
    let server_name: &str = match &host_header {
        Some(h) if !canonical => h,
        _ => site.server_name(host),
    };
    let admin = host
        .server_admin
        .as_deref()
        .or(config.main.server_admin.as_deref())
        .unwrap_or("[no address given]");
    let signature = cgivars::signature(
        eff.server_signature(),
        site.server_header.to_str().unwrap_or("Apache"),
        admin,
        server_name,
        conn.port,
    );
    let software = site.server_header.to_str().unwrap_or("Apache");
    // mod_proxy's note first, then SetEnv/SetEnvIf's variables (none, usually: then
    // nothing is copied).
    static NOKEEPALIVE: std::sync::OnceLock<[(String, String); 1]> = std::sync::OnceLock::new();
    let nokeepalive: &[(String, String)] = if nokeepalive && !reuse {
        NOKEEPALIVE.get_or_init(|| [("proxy-nokeepalive".into(), "1".into())])
    } else {
        &[]
    };
    let owned_env: Vec<(String, String)>;
    let env: &[(String, String)] = if ctx.env.is_empty() {
        nokeepalive
    } else {
        let mut set_env: Vec<(&String, &String)> = ctx.env.iter().collect();
        set_env.sort();
        owned_env = nokeepalive
            .iter()
            .cloned()
            .chain(set_env.into_iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        &owned_env
    };
    let translated =
        (!path_info.is_empty()).then(|| docroot.join(path_info.trim_start_matches('/')));
    let script_path = Path::new(&script_filename);
    let req = CgiRequest {
        parts,
        client: conn.cgi_remote(),
        local: conn.local,
        server_port: conn.port,
        server_name,
        server_software: software,
        server_admin: admin,
        server_signature: &signature,
        scheme: "http",
        document_root: docroot,
        context_prefix: "",
        context_document_root: docroot,
        script_filename: script_path,
        script_name,
        path_info,
        path_translated: translated.as_deref(),
        // `CGIPassAuth On` hands `Authorization` to the application, as with mod_cgi
        // (Debian's php8.2-fpm.conf gets it there through SetEnvIfNoCase instead).
        pass_auth: eff.cgi_pass_auth(),
        remote_user: None,
        auth_type: None,
        subprocess_env: env,
    };
    let mut fcgi_params: Vec<Param<'_>> = cgivars::vars(&req)
        .into_iter()
        .map(|(k, v)| {
            let v = if cgivars::is_path_var(&k) {
                match crate::http::urlpath::raw_bytes(&v) {
                    Cow::Borrowed(_) => text_bytes(v),
                    Cow::Owned(raw) => Cow::Owned(raw),
                }
            } else {
                latin1_bytes(v)
            };
            (text_bytes(k), v)
        })
        .collect();
    // `ProxyFCGISetEnvIf`: the last word on the variables, after they are all built.
    let vary = fix_cgivars(&eff, parts, &ctx.url, &mut fcgi_params);
    let is_mod_php = matches!(form, Form::ModPhp { .. });
    if is_mod_php {
        // php_value/php_flag and php_admin_*: per-request ini settings of the PHP pool.
        let (user, admin) = match crate::php::modphp::ini_state(&config.workspace) {
            Some(state) => state.params(eff.php_settings()),
            None => (String::new(), String::new()),
        };
        if !user.is_empty() {
            fcgi_params.push((Cow::Borrowed(b"PHP_VALUE"), Cow::Owned(user.into_bytes())));
        }
        if !admin.is_empty() {
            fcgi_params.push((
                Cow::Borrowed(b"PHP_ADMIN_VALUE"),
                Cow::Owned(admin.into_bytes()),
            ));
        }
    }

    // The pool: sized by the service that runs the backend, else by `max=` with reuse.
    let size = if reuse { params.max.or(Some(16)) } else { None };
    let pool = pool::for_backend(&target.backend, size);
    let timeout = params
        .timeout
        .or(host.proxy.timeout)
        .or(config.main.proxy.timeout)
        .unwrap_or(config.timeout)
        .max(Duration::from_millis(1));
    let log = site.logs(ctx.chosen).error.clone();
    let client = conn.client;

    let has_body = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let input = match body {
        Some(mut body) if has_body => {
            // A chunked body: what has already arrived is read first, as mod_proxy_fcgi
            // prefetches; a body that ends there is sent with its CONTENT_LENGTH (without one
            // PHP reads no body at all).
            let mut early = Vec::new();
            if !parts.headers.contains_key(header::CONTENT_LENGTH) {
                let (data, ended) = prefetch(&mut body).await;
                if ended {
                    let len: usize = data.iter().map(Bytes::len).sum();
                    fcgi_params.retain(|(k, _)| {
                        k.as_ref() != b"CONTENT_LENGTH" && k.as_ref() != b"HTTP_TRANSFER_ENCODING"
                    });
                    fcgi_params.push((
                        Cow::Borrowed(b"CONTENT_LENGTH"),
                        Cow::Owned(len.to_string().into_bytes()),
                    ));
                }
                early = data;
            }
            let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(4);
            tokio::spawn(async move {
                for data in early {
                    if tx.send(Ok(data)).await.is_err() {
                        return;
                    }
                }
                while let Some(frame) = body.frame().await {
                    match frame {
                        Ok(f) => {
                            if let Ok(data) = f.into_data() {
                                if !data.is_empty() && tx.send(Ok(data)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    }
                }
            });
            Some(rx)
        }
        _ => None,
    };

    let mut early_errors: Vec<Bytes> = Vec::new();
    let result = pool
        .request(&fcgi_params, input, timeout, &mut early_errors)
        .await;
    for e in &early_errors {
        log_stderr(&log, client, e, is_mod_php);
    }
    let (head, mut rest) = match result {
        Ok(r) => r,
        Err(ProxyError::Unavailable(e)) => {
            let (what, port) = match &target.backend {
                pool::Backend::Unix(p) => (
                    format!("Unix domain socket {}", p.display()),
                    format!("{}:8000", host_of(&target.authority_url)),
                ),
                pool::Backend::Tcp(h, p) => (format!("{h}:{p}"), format!("{h}:{p}")),
            };
            log.log(
                "proxy",
                Level::Error,
                None,
                &format!(
                    "({}){}: AH02454: FCGI: attempt to connect to {what} ({port}) failed",
                    e.raw_os_error().unwrap_or(0),
                    os_error_text(&e)
                ),
            );
            return Err((
                Failure::logged(
                    503,
                    Level::Error,
                    format!(
                        "AH01079: failed to make connection to backend: {} (¿está en marcha? `lab service php8.2-fpm status`)",
                        host_of(&target.authority_url)
                    ),
                ),
                Some(eff),
            ));
        }
        Err(ProxyError::Timeout) => {
            return Err((
                Failure::logged(
                    504,
                    Level::Error,
                    format!(
                        "(70007)The timeout specified has expired: AH01075: Error dispatching request to {}: (polling) (ProxyTimeout {} s)",
                        target.written,
                        timeout.as_secs()
                    ),
                ),
                Some(eff),
            ))
        }
        Err(ProxyError::BadHead(e)) => {
            return Err((
                Failure::logged(
                    500,
                    Level::Error,
                    format!("AH01070: Error parsing script headers: {e}"),
                ),
                Some(eff),
            ))
        }
        Err(ProxyError::Broken(msg)) => {
            return Err((
                Failure::logged(
                    503,
                    Level::Error,
                    format!("AH01075: Error dispatching request to {}: {msg}", target.written),
                ),
                Some(eff),
            ))
        }
    };
    // Apache evaluates the request's preconditions against the validators the application
    // sent (ap_meets_conditions): a 304 or 412 without the application's body.
    if head.status == 200 {
        let find = |name: &str| {
            head.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
        };
        let etag = find("etag");
        let mtime = find("last-modified").and_then(|d| httpdate::parse_http_date(d).ok());
        let cond = super::files::Conditions {
            method: &parts.method,
            headers: &parts.headers,
        };
        let verdict = super::files::evaluate_validators(etag, mtime, &cond);
        if verdict != super::files::Precondition::Proceed {
            let status = if verdict == super::files::Precondition::NotModified {
                304
            } else {
                412
            };
            let keep: Vec<(String, Bytes)> = head
                .headers
                .iter()
                .filter(|(k, _)| {
                    [
                        "etag",
                        "last-modified",
                        "cache-control",
                        "expires",
                        "vary",
                        "set-cookie",
                    ]
                    .iter()
                    .any(|n| k.eq_ignore_ascii_case(n))
                })
                .cloned()
                .collect();
            let mut resp = crate::wsgi::host::response_from_head(
                status,
                None,
                keep,
                None,
                crate::http::empty(),
            );
            if status == 412 {
                resp.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            // The rest of the application's answer is read and dropped so the connection
            // can be reused.
            tokio::spawn(async move {
                let mut rest = rest;
                while std::future::poll_fn(|cx| rest.poll_piece(cx))
                    .await
                    .is_some()
                {}
            });
            return Ok((resp, Some(eff)));
        }
    }
    // A body that ended before its first byte: Apache's content-length filter sees the end
    // of the response with nothing before it and writes `Content-Length: 0` (a HEAD request
    // gets neither).
    let mut empty = rest.is_empty() && parts.method != Method::HEAD;
    let mut headers = head.headers;
    let mut whole = None;
    let mut first = None;
    let mut failed = None;
    if !is_mod_php {
        // mod_proxy_fcgi passes the body on as it comes, and Apache frames it itself: the
        // application's own `Content-Length` is not sent.
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
        // And, as for CGI, `Set-Cookie` after the application's other headers.
        if headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        {
            let (cookies, mut others): (Vec<_>, Vec<_>) = std::mem::take(&mut headers)
                .into_iter()
                .partition(|(k, _)| k.eq_ignore_ascii_case("set-cookie"));
            others.extend(cookies);
            headers = others;
        }
    } else if parts.method != Method::HEAD && !empty {
        // Under mod_php, Apache's `ap_rwrite` keeps up to 8000 bytes of PHP's output before
        // passing them on: an answer that fits, from a script that never called `flush()`,
        // reaches the content-length filter whole, and gets a `Content-Length` (measured on
        // Debian's Apache with libapache2-mod-php8.2). The lab's PHP children write such an
        // answer as one STDOUT record with its END_REQUEST; a `flush()` starts a new record.
        let ready = take_ready(&mut rest, &log, client, AP_MIN_BYTES_TO_WRITE);
        match ready.error {
            None if ready.complete && ready.data.is_empty() => empty = true,
            None if ready.complete && ready.records <= 1 => whole = Some(ready.data.freeze()),
            error => {
                first = (!ready.data.is_empty()).then(|| ready.data.freeze());
                failed = error;
            }
        }
    }
    let body: Body = if parts.method == Method::HEAD {
        crate::http::empty()
    } else if empty {
        crate::http::head::zero_length()
    } else if let Some(data) = &whole {
        crate::http::full(data.clone())
    } else {
        FcgiBody {
            rest,
            first,
            failed,
            log,
            client,
            timer: None,
            mod_php: is_mod_php,
        }
        .boxed()
    };
    let mut resp = crate::wsgi::host::response_from_head(
        head.status,
        head.reason.as_deref(),
        headers,
        None,
        body,
    );
    if empty {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    } else if let Some(data) = &whole {
        if !resp.headers().contains_key(header::CONTENT_LENGTH) {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        }
    }
    cgivars::chunked_in_apaches_place(&mut resp, parts);
    if !vary.is_empty() {
        let h = resp.headers_mut();
        let mut names: Vec<String> = h
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        for n in vary {
            if !names.iter().any(|x| x.eq_ignore_ascii_case(&n)) {
                names.push(n);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&names.join(",")) {
            h.insert(header::VARY, v);
        }
    }
    // Apache fills in a type the application did not give (php always does).
    if !resp.headers().contains_key(header::CONTENT_TYPE)
        && resp.status() != http::StatusCode::NOT_MODIFIED
    {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        );
    }
    Ok((resp, Some(eff)))
}

/// What a `ProxyFCGISetEnvIf` expression reads: the variables being sent (`reqenv`), the
/// request's headers and the usual server variables.
struct FcgiLookup<'p> {
    params: &'p [Param<'p>],
    parts: &'p http::request::Parts,
    url: &'p str,
    /// Request headers read through `req()`/`http()`/`%{HTTP:...}`: ap_expr adds them to
    /// `Vary`.
    vary: std::cell::RefCell<Vec<String>>,
}

impl crate::config::expr::Lookup for FcgiLookup<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            // `%{REQUEST_URI}` is the path without the query (r->uri), unlike the CGI variable.
            "REQUEST_URI" => Some(self.url.to_string()),
            "THE_REQUEST" => Some(format!(
                "{} {} {:?}",
                self.parts.method,
                self.parts.uri.path_and_query().map_or("/", |p| p.as_str()),
                self.parts.version
            )),
            "REQUEST_FILENAME" => self.reqenv("SCRIPT_FILENAME"),
            _ => self.reqenv(name).or_else(|| {
                name.strip_prefix("HTTP_").and_then(|h| {
                    self.parts
                        .headers
                        .get(h.replace('_', "-"))
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                })
            }),
        }
    }

    fn reqenv(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| k.as_ref() == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn header(&self, name: &str) -> Option<String> {
        if let Ok(mut v) = self.vary.try_borrow_mut() {
            if !v.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                v.push(name.to_string());
            }
        }
        self.parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
}

/// mod_proxy_fcgi's `fix_cgivars`: each `ProxyFCGISetEnvIf` whose condition holds sets (or,
/// with `!NAME`, removes) a variable; the value may use the condition's `$1`..`$9`. Returns
/// the request headers the expressions read (for `Vary`).
fn fix_cgivars(
    eff: &crate::http::perdir::Effective<'_>,
    parts: &http::request::Parts,
    url: &str,
    params: &mut Vec<Param<'_>>,
) -> Vec<String> {
    let mut vary: Vec<String> = Vec::new();
    for rule in eff.fcgi_set_env() {
        let mut caps = Vec::new();
        let (holds, value) = {
            let look = FcgiLookup {
                params,
                parts,
                url,
                vary: std::cell::RefCell::new(std::mem::take(&mut vary)),
            };
            let holds = rule.condition.eval(&look, &mut caps);
            let value = (holds && !rule.unset).then(|| rule.value.eval(&look, &caps));
            vary = look.vary.into_inner();
            (holds, value)
        };
        if !holds {
            continue;
        }
        let name = rule.name.as_bytes();
        match value {
            None => params.retain(|(k, _)| k.as_ref() != name),
            Some(v) => match params.iter_mut().find(|(k, _)| k.as_ref() == name) {
                Some(slot) => slot.1 = Cow::Owned(v.into_bytes()),
                None => params.push((Cow::Owned(name.to_vec()), Cow::Owned(v.into_bytes()))),
            },
        }
    }
    vary
}

fn host_of(url: &str) -> &str {
    let rest = url.strip_prefix("fcgi://").unwrap_or(url);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

pub(super) fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    // "No such file or directory (os error 2)" -> "No such file or directory".
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The bytes of a variable's name or value, still borrowed when it was.
fn text_bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    match s {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// `SCRIPT_FILENAME` of the `SetHandler` form: `proxy:` + the worker's URL + the file.
fn proxy_file_name(authority_url: &str, file: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    match std::str::from_utf8(file.as_os_str().as_bytes()) {
        Ok(f) => {
            let mut out = String::with_capacity(6 + authority_url.len() + f.len());
            out.push_str("proxy:");
            out.push_str(authority_url);
            out.push_str(f);
            out
        }
        Err(_) => format!("proxy:{}{}", authority_url, file.display()),
    }
}

fn latin1_bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    // cgivars turns header bytes into one char per byte; turn them back (ASCII, nearly every
    // value, is already right and keeps its buffer or stays borrowed).
    if s.is_ascii() {
        return text_bytes(s);
    }
    if s.chars().all(|c| (c as u32) < 256) {
        Cow::Owned(s.chars().map(|c| c as u8).collect())
    } else {
        text_bytes(s)
    }
}

/// One STDERR record in the error log: as mod_proxy_fcgi writes it (`AH01071: Got error
/// '...'`, newlines shown as `\n`), or, for mod_php, one `[php:level]` line per message as
/// PHP inside Apache writes them.
fn log_stderr(log: &ErrorLog, client: std::net::SocketAddr, data: &[u8], mod_php: bool) {
    let text = String::from_utf8_lossy(data);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    if text.is_empty() {
        return;
    }
    if mod_php {
        for msg in text
            .split("PHP message: ")
            .map(|m| m.trim_end_matches(['\n', ';', ' ']))
        {
            if msg.is_empty() {
                continue;
            }
            let level = if msg.starts_with("PHP Warning") {
                Level::Warn
            } else if msg.starts_with("PHP Notice") || msg.starts_with("PHP Deprecated") {
                Level::Notice
            } else {
                Level::Error
            };
            log.log("php", level, Some(client), msg);
        }
        return;
    }
    let joined = text.replace('\n', "\\n");
    log.log(
        "proxy_fcgi",
        Level::Error,
        Some(client),
        &format!("AH01071: Got error '{joined}'"),
    );
}

/// What `ap_rwrite` keeps before passing a module's output on.
const AP_MIN_BYTES_TO_WRITE: usize = 8000;

/// What of a response's body was there without waiting.
struct Ready {
    data: bytes::BytesMut,
    /// How many STDOUT records (or parts of them) brought it.
    records: usize,
    /// END_REQUEST was among it.
    complete: bool,
    error: Option<std::io::Error>,
}

/// Takes the pieces of `rest` already received (STDERR goes to the log), up to `limit` bytes
/// of STDOUT.
fn take_ready(
    rest: &mut pool::Response,
    log: &ErrorLog,
    client: std::net::SocketAddr,
    limit: usize,
) -> Ready {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut ready = Ready {
        data: bytes::BytesMut::new(),
        records: 0,
        complete: false,
        error: None,
    };
    while ready.data.len() <= limit {
        match rest.poll_piece(&mut cx) {
            Poll::Ready(Some(Ok(Piece::Data(d)))) => {
                ready.records += 1;
                ready.data.extend_from_slice(&d);
            }
            Poll::Ready(Some(Ok(Piece::Stderr(e)))) => log_stderr(log, client, &e, true),
            Poll::Ready(Some(Err(e))) => {
                ready.error = Some(e);
                break;
            }
            Poll::Ready(None) => {
                ready.complete = ready.data.len() <= limit;
                break;
            }
            Poll::Pending => break,
        }
    }
    ready
}

/// The response body: STDOUT as it comes; STDERR to the log.
struct FcgiBody {
    rest: pool::Response,
    /// STDOUT read before the body was made, and how that reading failed, if it did.
    first: Option<Bytes>,
    failed: Option<std::io::Error>,
    log: ErrorLog,
    client: std::net::SocketAddr,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    mod_php: bool,
}

impl HttpBody for FcgiBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(d) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            match self.rest.poll_piece(cx) {
                Poll::Ready(Some(Ok(Piece::Data(d)))) => {
                    self.timer = None;
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
                Poll::Ready(Some(Ok(Piece::Stderr(e)))) => {
                    self.timer = None;
                    let (log, client) = (self.log.clone(), self.client);
                    log_stderr(&log, client, &e, self.mod_php);
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    let t = self.rest.timeout();
                    let timer = self
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(t)));
                    if std::future::Future::poll(timer.as_mut(), cx).is_ready() {
                        return Poll::Ready(Some(Err(std::io::ErrorKind::TimedOut.into())));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The target of a `SetHandler proxy:...` value for this configuration.
pub fn handler_target(ws_root: &Path, handler: &str) -> Option<Result<FcgiTarget, String>> {
    crate::config::proxy::handler_target(ws_root, handler)
}

/// [`handler_target`] for a request: the targets this thread already resolved (those the
/// configuration's own cache keeps: inside the workspace, or TCP) are shared, not copied.
pub fn request_target(ws_root: &Path, handler: &str) -> Option<Result<Arc<FcgiTarget>, String>> {
    type Seen = Vec<(PathBuf, String, Arc<FcgiTarget>)>;
    thread_local! {
        static SEEN: std::cell::RefCell<Seen> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let hit = SEEN.with(|seen| {
        seen.try_borrow().ok().and_then(|seen| {
            seen.iter()
                .find(|(ws, h, _)| h == handler && ws.as_os_str() == ws_root.as_os_str())
                .map(|(_, _, t)| Arc::clone(t))
        })
    });
    if let Some(t) = hit {
        return Some(Ok(t));
    }
    let target = Arc::new(match handler_target(ws_root, handler)? {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    });
    let kept = match &target.backend {
        pool::Backend::Unix(p) => p.starts_with(ws_root),
        pool::Backend::Tcp(..) => true,
    };
    if kept {
        SEEN.with(|seen| {
            if let Ok(mut seen) = seen.try_borrow_mut() {
                if seen.len() >= 16 {
                    seen.clear();
                }
                seen.push((
                    ws_root.to_path_buf(),
                    handler.to_string(),
                    Arc::clone(&target),
                ));
            }
        });
    }
    Some(Ok(target))
}

/// Unused parameter sets stay visible to `lab explain`.
pub fn describe_params(p: &WorkerParams) -> String {
    match (p.enablereuse, p.max) {
        (Some(true), Some(m)) => format!("enablereuse=on max={m}"),
        (Some(true), None) => "enablereuse=on".into(),
        _ => "sin reutilizar conexiones".into(),
    }
}

/// mod_proxy_fcgi's prefetch of a body without a length: what can be read without waiting,
/// up to 16 KiB; and whether the body ended within it.
async fn prefetch(body: &mut crate::http::request::RequestBody) -> (Vec<Bytes>, bool) {
    let mut out = Vec::new();
    let mut total = 0;
    while total < 16 * 1024 {
        match tokio::time::timeout(Duration::ZERO, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    total += data.len();
                    if !data.is_empty() {
                        out.push(data);
                    }
                }
            }
            Ok(None) => return (out, true),
            Ok(Some(Err(_))) | Err(_) => break,
        }
    }
    (out, false)
}
