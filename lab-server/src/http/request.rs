//! One request through the Apache role, in Apache's phases:
//!
//! 1. limits and sanity (`LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`,
//!    `Host`), virtual host selection;
//! 2. URL -> path: decode and normalise ([`urlpath`]), `Redirect`, `Alias`/`DocumentRoot`
//!    ([`mapping`]), the walk on disk;
//! 3. per-directory configuration ([`perdir`]), `SetEnvIf`, access control ([`authz`]);
//! 4. the handler, chosen and run by [`crate::handlers`];
//! 5. output filters: `Header`, `Expires`, `ErrorDocument`; then the access log line.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};

use super::authz::{self, Subject};
use super::log::{Entry, Level};
use super::mapping::{self, Walk};
use super::perdir::{Effective, Target};
use super::site::Site;
use super::vhost;
use super::wire::Note;
use super::{errors, head, urlpath, Body};
use crate::config::model::{
    EncodedSlashes, EnvSource, ErrorDocument, HeaderOp, HostConfig, OptionSet, ServerConfig,
    TraceEnable,
};
use crate::handlers::files::{self, Conditions};
use crate::handlers::{
    self, absolute_url, content_type, redirect_response, signature, text_response, Call, Ctx,
    Failure, MappedFile, Outcome,
};
use crate::wsgi::ScriptMatch;

/// The connection a request arrived on.
#[derive(Debug)]
pub struct Conn {
    /// The client: the connection's peer, or the address mod_remoteip found for a request.
    pub client: SocketAddr,
    /// The connection's peer (`%{c}a`, `REMOTE_PORT`).
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The port as written in `Listen` (80, not the mapped 10080).
    pub port: u16,
    /// Requests served on this connection so far.
    pub served: AtomicU64,
    /// mod_wsgi's host, when the role runs with one.
    pub wsgi: Option<Arc<crate::wsgi::WsgiHost>>,
    /// What the connection's [`super::wire::Wire`] noted about requests it rewrote or refused.
    pub notes: Arc<super::wire::Notes>,
    /// Whether daemon-mode requests pass the connection on ([`super::handoff`]).
    pub hand: super::handoff::Mode,
    /// The client's name once a `host` access rule looked it up (Apache keeps it in the
    /// connection, and `%h` logs it for this and every later request on it).
    pub remote_host: std::sync::OnceLock<String>,
}

impl Conn {
    /// `REMOTE_ADDR` and `REMOTE_PORT` as Apache sets them for CGI, FastCGI and WSGI: the
    /// client's address (mod_remoteip's, if it changed it) and the connection's port.
    pub fn cgi_remote(&self) -> SocketAddr {
        SocketAddr::new(self.client.ip(), self.peer.port())
    }

    /// The same connection seen from a request whose client mod_remoteip changed: the
    /// client's address (port 0, as Apache does not know it) where the peer's was.
    fn for_client(&self, client: IpAddr) -> Conn {
        Conn {
            client: SocketAddr::new(client, 0),
            peer: self.peer,
            local: self.local,
            port: self.port,
            served: AtomicU64::new(self.served.load(Ordering::Relaxed)),
            wsgi: self.wsgi.clone(),
            notes: Arc::clone(&self.notes),
            hand: self.hand.clone(),
            remote_host: std::sync::OnceLock::new(),
        }
    }
}

/// The client mod_remoteip finds for a request to `host`, if it changes it (the header
/// rewritten as Apache leaves it).
fn remoteip_client(
    site: &Site,
    host: &crate::config::model::HostConfig,
    conn: &Conn,
    headers: &mut http::HeaderMap,
) -> Option<IpAddr> {
    let main = &site.config.main.remoteip;
    if host.remoteip.header.is_none() && main.header.is_none() {
        return None;
    }
    super::remoteip::apply(&host.remoteip.over(main), conn.client.ip(), headers)
}

/// The host the client named: the `Host` header, else the authority of an absolute target.
fn host_header(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
}

/// The request body, type-erased so the pipeline is not generic over it.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, String>;

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
    let note = conn.notes.take(served);
    let (mut parts, body) = req.into_parts();
    if let Some(Note::Trace(raw)) = &note {
        parts
            .extensions
            .insert(TraceHead(bytes::Bytes::from(raw.clone())));
    }
    let mut body = Some(body.map_err(|e| e.to_string()).boxed_unsync());

    let chosen = site.vhosts.choose(
        &site.config,
        conn.local.ip(),
        conn.port,
        host_header(&parts).map(|h| h.trim()),
    );
    let host = site.host(chosen);
    // mod_remoteip, before anything looks at the client: from here on the request's `conn`
    // names the client the trusted proxies report (the connection's own address stays in
    // `peer`).
    let conn = match remoteip_client(&site, host, &conn, &mut parts.headers) {
        Some(client) => Arc::new(conn.for_client(client)),
        None => conn,
    };
    let mut ctx = Ctx {
        chosen,
        host,
        url: String::new(),
        file: None,
        env: HashMap::new(),
        redirect: None,
        request_uri: None,
        log: Vec::new(),
    };

    let mut outcome = match &note {
        // Refused while the head was read: the answer is the error, on the default host.
        Some(Note::Refused { status, why, .. }) => {
            Err((Failure::logged(*status, Level::Error, why.clone()), None))
        }
        // mod_reqtimeout's header stage ran out (its line is at info, under Debian's `warn`).
        Some(Note::TimedOut { .. }) => Err((
            Failure::logged(408, Level::Info, "AH01382: Request header read timeout")
                .from_module("reqtimeout"),
            None,
        )),
        _ => route(&site, &conn, &parts, &mut body, &mut ctx).await,
    };
    // Internal redirects (a CGI `Location: /path`, `Action`): the phases again for the new
    // URL, at most 10 times as Apache's `LimitInternalRecursion`.
    let mut redirected: Vec<Parts> = Vec::new();
    while let Some(redirect) = ctx.redirect.take() {
        if redirected.len() >= 10 {
            outcome = Err((
                Failure::logged(
                    500,
                    Level::Error,
                    "AH00124: la petición supera el límite de 10 redirecciones internas (LimitInternalRecursion); revisa Location y Action",
                ),
                None,
            ));
            break;
        }
        let Some(next) = internal_parts(&parts, &redirect) else {
            outcome = Err((
                Failure::logged(
                    500,
                    Level::Error,
                    format!(
                        "redirección interna a una URL no válida: {}",
                        redirect.target
                    ),
                ),
                None,
            ));
            break;
        };
        ctx.request_uri.get_or_insert_with(|| {
            parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
        });
        ctx.env = redirect.env.into_iter().collect();
        body = redirect
            .body
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        redirected.push(next);
        let Some(next) = redirected.last() else { break };
        outcome = route(&site, &conn, next, &mut body, &mut ctx).await;
    }
    // The connection goes to another process, which serves this request from its head:
    // nothing of it is counted or logged here.
    if let Ok((resp, _)) = &outcome {
        if let Some(h) = resp.extensions().get::<super::handoff::HandOff>() {
            h.set_head(super::handoff::encode_head(&parts));
            conn.served.fetch_sub(1, Ordering::Relaxed);
            site.stats.busy.fetch_sub(1, Ordering::Relaxed);
            if let Ok((resp, _)) = outcome {
                return resp;
            }
            return Response::default();
        }
    }
    if !ctx.log.is_empty() {
        let logs = site.logs(chosen);
        for (module, level, client, msg) in ctx.log.drain(..) {
            logs.error.log(module, level, client, &msg);
        }
    }
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
                logs.error
                    .log(failure.module, *level, Some(conn.client), msg);
            }
            let mut resp =
                error_response(&site, &conn, &parts, &ctx, eff.as_ref(), failure.status).await;
            // A local `ErrorDocument` is a request of its own (an internal redirect): its
            // answer gets the plain `Header`s too; Apache's generated pages do not.
            if resp.extensions().get::<head::Generated>().is_some() {
                resp.extensions_mut().insert(head::ErrorPage);
            }
            for (k, v) in failure.headers {
                resp.headers_mut().insert(k, v);
            }
            // mod_proxy's own errors (`ap_proxyerror`) carry its reason phrase.
            if failure.status == 502 && failure.module == "proxy" {
                resp.extensions_mut()
                    .insert(hyper::ext::ReasonPhrase::from_static(b"Proxy Error"));
            }
            if let Some(eff) = &eff {
                always = output_filters(&mut resp, eff, &ctx.env);
            }
            resp
        }
    };

    finish_head(&site, &parts, served, &mut resp, &always).await;

    // A head that timed out before its request line gets no answer at all.
    let silent = matches!(&note, Some(Note::TimedOut { line: None, .. }));
    // The body's size when it is known now; a streamed one (CGI, FastCGI, WSGI, a proxied
    // answer without a length) is counted as it goes out, and its line logged then.
    let body_bytes = if parts.method == Method::HEAD || silent {
        Some(0)
    } else {
        http_body::Body::size_hint(resp.body())
            .exact()
            .or_else(|| resp.extensions().get::<ChunkedBytes>().map(|c| c.0))
    };
    // A 0.9 client gets the body alone.
    let header_bytes = if note == Some(Note::Http09) || silent {
        0
    } else {
        head_bytes(&resp)
    };
    site.stats.requests.fetch_add(1, Ordering::Relaxed);
    if resp.status().is_server_error() {
        site.stats.errors.fetch_add(1, Ordering::Relaxed);
    }
    // The target as sent: an absolute URL (`GET http://host/x`) is logged whole.
    let absolute;
    let target = if parts.uri.scheme().is_some() {
        absolute = parts.uri.to_string();
        absolute.as_str()
    } else {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    };
    // The head as read (request line, header lines, the blank line); the body's bytes are
    // added as the handler reads them.
    let request_head = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>() as u64
        + target.len() as u64
        + parts.method.as_str().len() as u64
        + 12
        + 2;
    // mod_status's traffic, with mod_logio built in as in Debian: the bytes read for the
    // request and written for its answer.
    if let Some(body_bytes) = body_bytes {
        site.stats.bytes.fetch_add(
            request_head + conn.notes.body_bytes(served) + body_bytes + header_bytes,
            Ordering::Relaxed,
        );
    }

    let logs = site.logs(chosen);
    let unlogged = matches!(&note, Some(Note::TimedOut { unlogged: true, .. }));
    let mut pending = None;
    if !logs.access.is_empty() && !unlogged {
        let body_read = conn.notes.body_bytes(served);
        let entry = Entry {
            client: conn.client,
            peer: conn.peer,
            remote_host: conn.remote_host.get().map(String::as_str),
            local: conn.local,
            port: conn.port,
            started,
            duration: t0.elapsed(),
            method: parts.method.as_str(),
            target,
            protocol: match &note {
                Some(Note::Http09) => "",
                Some(Note::Version(v)) => v,
                _ => version_text(parts.version),
            },
            request_line: match &note {
                Some(Note::Refused { line, .. }) => Some(line),
                Some(Note::TimedOut { line, .. }) => Some(line.as_deref().unwrap_or("-")),
                _ => None,
            },
            status: resp.status().as_u16(),
            body_bytes: body_bytes.unwrap_or(0),
            header_bytes,
            request_bytes: request_head + body_read,
            request_headers: &parts.headers,
            response_headers: resp.headers(),
            server_name: site.server_name(host),
            host_header: host_header(&parts),
            url_path: &ctx.url,
            file: ctx.file.as_deref(),
            env: &ctx.env,
            keepalive_requests: served - 1,
        };
        if body_bytes.is_some() {
            // BufferedLogs Off (the default): the line is in the file when the request ends.
            for (file, format) in &logs.access {
                if site.config.buffered_logs {
                    file.line(&format.render(&entry));
                } else {
                    file.line_soon(&format.render(&entry));
                }
            }
        } else {
            let lines = logs
                .access
                .iter()
                .map(|(_, format)| format.render_pending(&entry))
                .collect();
            pending = Some(lines);
        }
    }
    if body_bytes.is_none() {
        // A streamed body: its lines (if any) and its bytes in mod_status when it ends.
        let lines = pending.unwrap_or_default();
        let tail = LogTail {
            site: Arc::clone(&site),
            chosen,
            lines,
            header_bytes,
            request_head,
            body_in: (Arc::clone(&conn.notes), served),
            t0,
            chunked: parts.version == http::Version::HTTP_11
                && note != Some(Note::Http09)
                && !resp.headers().contains_key(header::CONTENT_LENGTH),
            data: 0,
            wire: 0,
            ended: false,
        };
        resp = resp.map(|inner| LoggedBody { inner, tail }.boxed());
    }
    site.stats.busy.fetch_sub(1, Ordering::Relaxed);
    resp
}

/// The end of a streamed answer's request: its access log lines and mod_status's byte count,
/// written when the body has gone out (or the client went away), as Apache logs a request
/// once its last byte is sent.
struct LogTail {
    site: Arc<Site>,
    chosen: vhost::Chosen,
    lines: Vec<super::log::Pending>,
    header_bytes: u64,
    request_head: u64,
    /// The connection's notes and the request's number, for the bytes of its body read.
    body_in: (Arc<super::wire::Notes>, u64),
    t0: Instant,
    /// hyper sends the body in chunks (each data frame one chunk, then `0\r\n\r\n`).
    chunked: bool,
    /// The body's bytes (`%B`).
    data: u64,
    /// Their bytes on the wire, chunk framing included.
    wire: u64,
    ended: bool,
}

impl LogTail {
    fn frame(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        self.data += len as u64;
        self.wire += len as u64;
        if self.chunked {
            // `{len:x}\r\n` before the data, `\r\n` after it.
            let digits = (usize::BITS - len.leading_zeros()).div_ceil(4) as u64;
            self.wire += digits + 4;
        }
    }
}

impl Drop for LogTail {
    fn drop(&mut self) {
        let last_chunk = if self.chunked && self.ended { 5 } else { 0 };
        let out_bytes = self.header_bytes + self.wire + last_chunk;
        let in_bytes = self.request_head + self.body_in.0.body_bytes(self.body_in.1);
        self.site
            .stats
            .bytes
            .fetch_add(in_bytes + out_bytes, Ordering::Relaxed);
        if self.lines.is_empty() {
            return;
        }
        let sent = super::log::Sent {
            body_bytes: self.data,
            out_bytes,
            in_bytes,
            duration: self.t0.elapsed(),
        };
        let logs = self.site.logs(self.chosen);
        for ((file, _), line) in logs.access.iter().zip(&self.lines) {
            let line = line.finish(&sent);
            if self.site.config.buffered_logs {
                file.line(&line);
            } else {
                file.line_soon(&line);
            }
        }
    }
}

/// A streamed answer's body, followed to its end for [`LogTail`].
struct LoggedBody {
    inner: Body,
    tail: LogTail,
}

impl http_body::Body for LoggedBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.tail.frame(data.len());
                }
                if this.inner.is_end_stream() {
                    this.tail.ended = true;
                }
            }
            std::task::Poll::Ready(None) => this.tail.ended = true,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The head of a TRACE request as received, for the echo.
#[derive(Clone)]
struct TraceHead(bytes::Bytes);

/// The bytes a chunked body takes on the wire (for `%O`), when the lab knows them.
#[derive(Clone, Copy)]
struct ChunkedBytes(u64);

/// Apache's TRACE answer: the head as received, as a `message/http` body of unknown length
/// (chunked, as Apache sends it).
fn trace_response(echo: bytes::Bytes, chunked: bool) -> Response<Body> {
    use http_body_util::BodyExt;
    let wire = if echo.is_empty() {
        5
    } else {
        format!("{:x}\r\n", echo.len()).len() as u64 + echo.len() as u64 + 2 + 5
    };
    let body = OneChunk(Some(echo)).map_err(|never| match never {}).boxed();
    let mut resp = Response::new(body);
    // Written here (hyper would add it last) so it is in Apache's place and counted in `%O`.
    if chunked {
        resp.headers_mut().insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
    }
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("message/http"),
    );
    resp.extensions_mut().insert(ChunkedBytes(wire));
    resp
}

/// One chunk of data whose size is not announced, so hyper sends it chunked.
struct OneChunk(Option<bytes::Bytes>);

impl http_body::Body for OneChunk {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// The request an internal redirect makes: the same headers, `GET` without a body unless the
/// redirect keeps the method.
fn internal_parts(parts: &Parts, redirect: &handlers::InternalRedirect) -> Option<Parts> {
    let uri: http::Uri = redirect.target.parse().ok()?;
    let (mut next, ()) = Request::new(()).into_parts();
    next.uri = uri;
    next.version = parts.version;
    next.headers = parts.headers.clone();
    if redirect.keep_method {
        next.method = parts.method.clone();
    } else {
        next.method = Method::GET;
        next.headers.remove(header::CONTENT_LENGTH);
        next.headers.remove(header::TRANSFER_ENCODING);
    }
    Some(next)
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
    // A proxied answer keeps the backend's `Date` and `Server`, as mod_proxy_http does.
    let proxied = resp.extensions().get::<head::Proxied>().is_some();
    // Apache keeps an HTTP/1.0 connection open only when the client can tell where the
    // answer ends: a `Content-Length`, or no body at all (HEAD, 204, 304). A body of unknown
    // length, which 1.0 cannot chunk, ends with the connection (`ap_set_keepalive`).
    let status = resp.status().as_u16();
    let delimited = parts.method == Method::HEAD
        || status == 204
        || status == 304
        || http_body::Body::size_hint(resp.body()).exact().is_some()
        || resp.headers().contains_key(header::CONTENT_LENGTH);
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
    let unframed = parts.version == http::Version::HTTP_10 && !delimited;
    // The connection's lines, which replace any the handler set.
    let mut set: Vec<(HeaderName, HeaderValue)> = Vec::new();
    if !ka.enabled || limit || client_closes || unframed {
        set.push((header::CONNECTION, HeaderValue::from_static("close")));
        // hyper, answering a 1.0 client that asked for keep-alive with an HTTP/1.1 head,
        // would add `keep-alive` to that `close`; with a 1.0 head it closes instead (the
        // wire writes the status line as `HTTP/1.1` all the same).
        if parts.version == http::Version::HTTP_10 {
            *resp.version_mut() = http::Version::HTTP_10;
        }
    } else if ka_sent {
        let timeout = ka.timeout.as_secs();
        let value = if ka.max_requests > 0 {
            let left = u64::from(ka.max_requests).saturating_sub(served - 1);
            format!("timeout={timeout}, max={left}")
        } else {
            format!("timeout={timeout}")
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            set.push((HeaderName::from_static("keep-alive"), v));
        }
        set.push((header::CONNECTION, HeaderValue::from_static("Keep-Alive")));
    }
    let late_length = resp.extensions().get::<head::Generated>().is_some();
    let h = resp.headers_mut();
    if !h.contains_key(header::DATE) && !h.contains_key(header::SERVER) {
        // The usual case: `Date` and `Server` go first, as Apache writes them, and the map
        // is built once, already in Apache's order.
        head::rebuild(
            h,
            [
                (header::DATE, head::date_now()),
                (header::SERVER, site.server_header.clone()),
            ],
            set,
            always,
            late_length,
            proxied,
        );
    } else {
        if !(proxied && h.contains_key(header::DATE)) {
            h.insert(header::DATE, head::date_now());
        }
        if !(proxied && h.contains_key(header::SERVER)) {
            h.insert(header::SERVER, site.server_header.clone());
        }
        for (name, value) in set {
            h.insert(name, value);
        }
        head::order(h, always, late_length, proxied);
    }
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
                400,
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
                400,
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
    // TRACE: Apache's core echoes the request head (`TraceEnable On`, its default), or
    // refuses it (`Off`, what Debian's security.conf says) with an empty `Allow`.
    if parts.method == Method::TRACE {
        let mode = ctx
            .host
            .trace_enable
            .or(config.main.trace_enable)
            .unwrap_or(TraceEnable::On);
        if mode == TraceEnable::Off {
            let mut f = Failure::logged(
                405,
                Level::Error,
                "AH00669: TRACE no está permitido en este servidor (TraceEnable Off)",
            );
            f.headers = vec![(header::ALLOW, HeaderValue::from_static(""))];
            return Err((f, None));
        }
        let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
            || parts
                .headers
                .get(header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if has_body && mode != TraceEnable::Extended {
            // Apache only notes it for the error page ("TRACE with a request body is not
            // allowed"); nothing goes to the error log.
            return Err((Failure::new(413), None));
        }
        let echo = parts
            .extensions
            .get::<TraceHead>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        // An HTTP/1.0 client gets the echo until the connection closes.
        let chunked = parts.version == http::Version::HTTP_11;
        return Ok((trace_response(echo, chunked), None));
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
        let to = to.map(|t| absolute_url(site, conn, parts, ctx.host, &t));
        return redirect_response(status, to).map(|r| (r, None));
    }
    // mod_proxy translates first (before mod_alias and the disk).
    if let Some(m) = http_proxy_match(config, ctx.host, &url) {
        return http_proxy_route(site, conn, parts, body, ctx, m, &url).await;
    }
    if let Some(m) = proxy_match(config, ctx.host, &url) {
        return proxy_route(site, conn, parts, body, ctx, m, &url).await;
    }
    // mod_wsgi translates after mod_alias: `Alias /static/` wins over `WSGIScriptAlias /`.
    if let Some(m) = wsgi_alias(config, ctx.host, &url) {
        if !mapping::has_alias(config, ctx.host, &url) {
            return wsgi_route(site, conn, parts, body, ctx, m, &url).await;
        }
    }
    let mut mapped = mapping::map(config, ctx.host, &url);
    let mut walk = mapping::walk(&mapped.root, &mapped.path);
    let path_info = split_path_info(config, ctx.host, &url, &mut mapped, &mut walk);
    let (dir, file_name, links): (&Path, Option<&str>, &[(PathBuf, bool)]) = match &walk {
        Walk::Found { meta, links } if meta.is_dir() => (&mapped.path, None, links),
        Walk::Found { links, .. } => (
            mapped.path.parent().unwrap_or(&mapped.root),
            mapped.path.file_name().and_then(|n| n.to_str()),
            links,
        ),
        Walk::Missing { dir, links, .. } => {
            (dir, mapped.path.file_name().and_then(|n| n.to_str()), links)
        }
    };
    ctx.file = Some(mapped.path.clone());

    // 3. Per-directory configuration (`.htaccess` files included) and access.
    let target = Target {
        dir: Some(dir),
        file_name,
        url: &url,
    };
    let eff = match Effective::merge_walk(config, ctx.host, &target) {
        Ok(eff) => eff,
        Err(bad) => return Err((Failure::logged(500, Level::Alert, bad.log_line()), None)),
    };
    set_env_if(&eff, conn, parts, &url, &mut ctx.env);
    if let Some(name) = file_name {
        if name.len() >= 3 && name[..3].eq_ignore_ascii_case(".ht") {
            // Debian's apache2.conf refuses them with `<FilesMatch "^\.ht"> Require all
            // denied`, so Apache logs the usual denial.
            return Err((denied(&mapped.path), Some(eff)));
        }
    }
    if let Err(refused) = check_access(&eff, conn, parts, ctx, &mapped.path).await {
        return Err((refused, Some(eff)));
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
    let handler = handlers::choose(config, &eff, mapped.is_script(), None, file_name);
    let call = Call {
        site,
        conn,
        parts,
        body: body.take(),
        ctx,
        eff,
        file: MappedFile {
            path: &mapped.path,
            root: &mapped.root,
            alias: mapped.alias,
            path_info: &path_info,
            walk: Some(&walk),
        },
    };
    handlers::run(handler, call).await
}

/// Apache's walk with extra path: `/cgi-bin/env.py/uno` maps to `env.py` with `PATH_INFO`
/// `/uno` when that file's handler takes path info (CGI, `Action`) or `AcceptPathInfo On`
/// says so; otherwise the path stays as it is (and is not found).
pub(crate) fn split_path_info(
    config: &ServerConfig,
    host: &HostConfig,
    url: &str,
    mapped: &mut mapping::Mapped<'_>,
    walk: &mut Walk,
) -> String {
    if !matches!(walk, Walk::Missing { .. }) {
        return String::new();
    }
    let Some((file, rest)) = mapping::split_path_info(&mapped.root, &mapped.path) else {
        return String::new();
    };
    let name = file.file_name().and_then(|n| n.to_str());
    let eff = Effective::merge_or_plain(
        config,
        host,
        &Target {
            dir: file.parent(),
            file_name: name,
            url,
        },
    );
    let takes_path_info = match eff.accept_path_info() {
        Some(on) => on,
        // `Default`: every handler but the core's default one (and mod_status) takes it, as
        // only `default_handler` refuses a request with path info.
        None => !matches!(
            handlers::choose(config, &eff, mapped.is_script(), None, name),
            handlers::Handler::Static | handlers::Handler::ServerStatus
        ),
    };
    // `AcceptPathInfo Off` on a CGI script is refused by the handler, which needs the split.
    let cgi = matches!(
        handlers::choose(config, &eff, mapped.is_script(), None, name),
        handlers::Handler::Cgi
    );
    if !takes_path_info && !cgi {
        return String::new();
    }
    let info = mapping::url_split(url, rest).1.to_string();
    *walk = mapping::walk(&mapped.root, &file);
    mapped.path = file;
    info
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
    let script = m.alias.script.path.as_path();
    let dir = script.parent().unwrap_or(Path::new(""));
    let file_name = script.file_name().and_then(|n| n.to_str());
    ctx.file = Some(script.to_path_buf());
    let target = Target {
        dir: Some(dir),
        file_name,
        url,
    };
    // The script's directory is walked as for a file: its `.htaccess` files count.
    let eff = match Effective::merge_walk(config, ctx.host, &target) {
        Ok(eff) => eff,
        Err(bad) => return Err((Failure::logged(500, Level::Alert, bad.log_line()), None)),
    };
    set_env_if(&eff, conn, parts, url, &mut ctx.env);
    if let Err(refused) = check_access(&eff, conn, parts, ctx, script).await {
        return Err((refused, Some(eff)));
    }
    let handler = handlers::choose(config, &eff, false, Some(m), file_name);
    let call = Call {
        site,
        conn,
        parts,
        body: body.take(),
        ctx,
        eff,
        file: MappedFile {
            path: script,
            root: dir,
            alias: None,
            path_info: m.path_info,
            walk: None,
        },
    };
    handlers::run(handler, call).await
}

/// The `ProxyPass`/`ProxyPassMatch` (the host's, then the main server's) that takes `url`.
pub(crate) fn proxy_match<'a>(
    config: &'a ServerConfig,
    host: &'a HostConfig,
    url: &str,
) -> Option<crate::config::proxy::ProxyMatch<'a>> {
    if !config.has_module("proxy_fcgi") {
        return None;
    }
    crate::config::proxy::match_rules(&host.proxy.rules, url).or_else(|| {
        (!std::ptr::eq(host, &config.main))
            .then(|| crate::config::proxy::match_rules(&config.main.proxy.rules, url))
            .flatten()
    })
}

/// The `ProxyPass`/`ProxyPassMatch` with an `http://` backend that takes `url` (the host's
/// rules, then the main server's; the first rule that matches decides).
pub(crate) fn http_proxy_match<'a>(
    config: &'a ServerConfig,
    host: &'a HostConfig,
    url: &str,
) -> Option<crate::config::proxy::HttpMatch<'a>> {
    if !config.has_module("proxy") {
        return None;
    }
    let first = |rules: &'a [crate::config::proxy::ProxyRule]| {
        rules
            .iter()
            .any(|r| r.http.is_some())
            .then(|| crate::config::proxy::match_http(rules, url))
            .flatten()
    };
    first(&host.proxy.rules).or_else(|| {
        (!std::ptr::eq(host, &config.main))
            .then(|| first(&config.main.proxy.rules))
            .flatten()
    })
}

/// A request `ProxyPass` sends to an HTTP backend (mod_proxy_http): as for FastCGI, only
/// `<Location>` sections apply, and the file name Apache logs is `proxy:` + the backend URL.
async fn http_proxy_route<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    body: &mut Option<RequestBody>,
    ctx: &mut Ctx<'a>,
    m: crate::config::proxy::HttpMatch<'_>,
    url: &str,
) -> Outcome<'a> {
    if let Some(back) = handlers::hand_back(conn, parts, body) {
        return back;
    }
    let config = &*site.config;
    let target = PathBuf::from(format!("proxy:http://{}{}", m.target.authority, m.path));
    if !config.has_module("proxy_http") {
        return Err((
            Failure::logged(
                500,
                Level::Warn,
                format!(
                    "AH01144: No protocol handler was valid for the URL {} (scheme 'http'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule. (activa el módulo: `lab a2enmod proxy_http`)",
                    parts.uri.path()
                ),
            )
            .from_module("proxy"),
            None,
        ));
    }
    let eff = proxy_access(site, conn, parts, ctx, url, &target).await?;
    ctx.file = Some(target.clone());
    let call = proxy_call(site, conn, parts, body, ctx, eff, &target);
    let stats = site
        .stats
        .handler(&format!("http:{}:{}", m.target.host, m.target.port));
    let counted = handlers::Counted::start(&stats);
    let out = handlers::proxy_http::serve(call, m).await;
    counted.finish(&out);
    out
}

/// What a `ProxyPass` request goes through before its module: no file on disk, so only
/// `<Location>` sections (and the server's defaults) apply, as for Apache's `proxy:` file
/// names; then `SetEnvIf` and access, logged under `logged`.
async fn proxy_access<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    ctx: &mut Ctx<'a>,
    url: &str,
    logged: &Path,
) -> Result<Effective<'a>, (Failure, Option<Effective<'a>>)> {
    let eff = Effective::merge(
        &site.config,
        ctx.host,
        &Target {
            dir: None,
            file_name: None,
            url,
        },
    );
    set_env_if(&eff, conn, parts, url, &mut ctx.env);
    match check_access(&eff, conn, parts, ctx, logged).await {
        Ok(()) => Ok(eff),
        Err(refused) => Err((refused, Some(eff))),
    }
}

/// The call of a proxied request: its "file" is the `proxy:` URL.
fn proxy_call<'a, 'r>(
    site: &'a Site,
    conn: &'r Conn,
    parts: &'r Parts,
    body: &mut Option<RequestBody>,
    ctx: &'r mut Ctx<'a>,
    eff: Effective<'a>,
    target: &'r Path,
) -> Call<'a, 'r> {
    Call {
        site,
        conn,
        parts,
        body: body.take(),
        ctx,
        eff,
        file: MappedFile {
            path: target,
            root: target,
            alias: None,
            path_info: "",
            walk: None,
        },
    }
}

/// A request `ProxyPass` sends to a FastCGI backend: no file on disk, so only `<Location>`
/// sections (and the server's defaults) apply, as for Apache's `proxy:` file names.
async fn proxy_route<'a>(
    site: &'a Site,
    conn: &Conn,
    parts: &Parts,
    body: &mut Option<RequestBody>,
    ctx: &mut Ctx<'a>,
    m: crate::config::proxy::ProxyMatch<'_>,
    url: &str,
) -> Outcome<'a> {
    if let Some(back) = handlers::hand_back(conn, parts, body) {
        return back;
    }
    let eff = proxy_access(site, conn, parts, ctx, url, Path::new(&m.url)).await?;
    let target = PathBuf::from(format!("proxy:{}", m.url));
    ctx.file = Some(target.clone());
    let call = proxy_call(site, conn, parts, body, ctx, eff, &target);
    let stats = site.stats.handler(&format!("fcgi:{}", m.target.backend));
    let counted = handlers::Counted::start(&stats);
    let out = handlers::proxy_fcgi::serve(call, handlers::proxy_fcgi::Form::Pass(m)).await;
    counted.finish(&out);
    out
}

/// True when the access rules of `eff` (`Order`/`Allow`/`Deny`, `Require`, `Satisfy`) let
/// this client in, with nothing logged (name lookups for `host` rules off the runtime).
pub(crate) async fn granted(
    eff: &Effective<'_>,
    conn: &Conn,
    parts: &Parts,
    env: &HashMap<String, String>,
) -> bool {
    let who = subject(conn, parts, env);
    let access = authz::access_async(eff.access_compat(), eff.require(), &who).await;
    if let Some(name) = access.name {
        let _ = conn.remote_host.set(name);
    }
    access.granted
}

fn subject<'a>(conn: &Conn, parts: &'a Parts, env: &'a HashMap<String, String>) -> Subject<'a> {
    Subject {
        client: conn.client.ip(),
        local: conn.local.ip(),
        method: parts.method.as_str(),
        env,
    }
}

/// Apache's access phases for a request to `path`: the 403 and its log line when they refuse.
/// A refusal of the host rules is logged even when `Satisfy Any` lets `Require` grant, as
/// mod_access_compat does.
async fn check_access(
    eff: &Effective<'_>,
    conn: &Conn,
    parts: &Parts,
    ctx: &mut Ctx<'_>,
    path: &Path,
) -> Result<(), Failure> {
    let who = subject(conn, parts, &ctx.env);
    let mut access = authz::access_async(eff.access_compat(), eff.require(), &who).await;
    if let Some(name) = access.name.take() {
        let _ = conn.remote_host.set(name);
    }
    if access.host_refused && (access.granted || access.require_refused) {
        let line = host_denied(path);
        if let Some((level, msg)) = line.log {
            ctx.log.push((line.module, level, Some(conn.client), msg));
        }
    }
    match access {
        a if a.granted => Ok(()),
        a if a.require_refused => Err(denied(path)),
        _ => Err(host_denied(path)),
    }
}

/// The 403 of mod_access_compat's host rules, with its line word for word.
fn host_denied(path: &Path) -> Failure {
    Failure::logged(
        403,
        Level::Error,
        format!(
            "AH01797: client denied by server configuration: {}",
            path.display()
        ),
    )
    .from_module("access_compat")
}

/// The 403 of a `Require` that refused, with the line mod_authz_core writes (word for word,
/// as students compare it with a real server's log).
fn denied(path: &Path) -> Failure {
    Failure::logged(
        403,
        Level::Error,
        format!(
            "AH01630: client denied by server configuration: {}",
            path.display()
        ),
    )
    .from_module("authz_core")
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
    let eff = Effective::merge_or_plain(
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
    // Debian's setenvif.conf has a dozen `BrowserMatch` rules in a row: one look-up of
    // `User-Agent` serves them all.
    let mut last: Option<(&http::HeaderName, Option<&str>)> = None;
    for rule in eff.set_env_if() {
        let value: Option<&str> = match &rule.source {
            EnvSource::RemoteAddr => {
                if client.is_empty() {
                    client = conn.client.ip().to_canonical().to_string();
                }
                Some(&client)
            }
            EnvSource::RequestUri => Some(url),
            EnvSource::RequestMethod => Some(parts.method.as_str()),
            EnvSource::RequestProtocol => Some(version_text(parts.version)),
            // Header names are looked up case-insensitively.
            EnvSource::Header(name) if rule.attribute_regex.is_none() => match last {
                Some((n, v)) if n == name => v,
                _ => {
                    let v = parts.headers.get(name).and_then(|v| v.to_str().ok());
                    last = Some((name, v));
                    v
                }
            },
            EnvSource::Header(name) => parts
                .headers
                .get(name)
                .or_else(|| header_by_regex(rule.attribute_regex.as_ref(), parts))
                .and_then(|v| v.to_str().ok()),
            EnvSource::Other => {
                header_by_regex(rule.attribute_regex.as_ref(), parts).and_then(|v| v.to_str().ok())
            }
        };
        let Some(value) = value else { continue };
        // The groups are only needed by a value with `$1`..`$9` (`HTTP_AUTHORIZATION=$1`).
        let groups = rule
            .vars
            .iter()
            .any(|(_, v)| v.as_ref().is_some_and(|v| v.contains('$')));
        let caps = if groups {
            match rule.regex.captures(value) {
                Some(caps) => Some(caps),
                None => continue,
            }
        } else if rule.regex.is_match(value) {
            None
        } else {
            continue;
        };
        for (k, v) in &rule.vars {
            match (v, &caps) {
                (Some(v), Some(caps)) if v.contains('$') => {
                    let mut out = String::new();
                    caps.expand(v, &mut out);
                    env.insert(k.clone(), out)
                }
                (Some(v), _) => env.insert(k.clone(), v.clone()),
                (None, _) => env.remove(k),
            };
        }
    }
}

/// An attribute written as a regular expression (`^Authorization$`, as Debian's
/// php8.2-fpm.conf does) names the first request header whose name it matches.
fn header_by_regex<'p>(re: Option<&regex::Regex>, parts: &'p Parts) -> Option<&'p HeaderValue> {
    let re = re?;
    parts
        .headers
        .iter()
        .find(|(name, _)| re.is_match(name.as_str()))
        .map(|(_, v)| v)
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
