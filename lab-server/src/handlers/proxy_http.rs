//! mod_proxy_http: `ProxyPass /app/ http://127.0.0.1:8000/`, the way Debian's Apache sends a
//! request to an application server (Gunicorn, Granian, Waitress...) and its answer back.
//!
//! What the backend gets, as Apache sends it: the method and the rest of the path after the
//! rule's prefix (re-encoded), the query string, the client's headers without the hop-by-hop
//! ones (`Connection` and the names it lists, `Keep-Alive`, `TE`, `Trailer`, `Upgrade`,
//! `Transfer-Encoding`), `Host` set to the backend's own unless `ProxyPreserveHost On`,
//! `X-Forwarded-For`, `X-Forwarded-Host` and `X-Forwarded-Server` added (or appended to), then
//! the body's `Content-Length` and `Connection: Keep-Alive`. A request body with a length is
//! streamed with it; a chunked one is read up to 16 KiB, sent with a length when it ends
//! there and streamed chunked otherwise.
//!
//! What the client gets: the backend's status line (its reason phrase too), its `Date` and
//! `Server`, its headers in their order with `Set-Cookie` last (Apache's table puts them
//! there), `Location`/`Content-Location`/`URI` rewritten by `ProxyPassReverse`, and the body as
//! it arrives. A backend that refuses the connection is a 503, one that does not answer in
//! `ProxyTimeout` (else `Timeout`) or closes without answering a 502 "Proxy Error", each with
//! Apache's lines in the error log.
//!
//! Connections to a backend are kept and reused, as Apache's workers do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::{Call, Failure, Outcome};
use crate::config::proxy::HttpMatch;
use crate::http::log::Level;
use crate::http::request::RequestBody;
use crate::http::Body;

/// A chunked request body up to this size is sent with a `Content-Length` (mod_proxy_http's
/// in-memory spool).
const SPOOL: usize = 16 * 1024;

type BackendBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// Idle connections per serving thread and backend (`host:port`): a connection's task runs
/// on the thread that opened it, so each thread keeps its own (see [`crate::cores`]).
type Idle = HashMap<(Option<usize>, String), Vec<SendRequest<BackendBody>>>;

fn pool() -> &'static Mutex<Idle> {
    static POOL: std::sync::OnceLock<Mutex<Idle>> = std::sync::OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// Serves `call` from the backend of `m`.
pub async fn serve<'a>(call: Call<'a, '_>, m: HttpMatch<'_>) -> Outcome<'a> {
    let Call {
        site,
        conn,
        parts,
        body,
        ctx,
        eff,
        ..
    } = call;
    let host = ctx.host;
    let config = &site.config;
    // `ProxyPassReverse` of the virtual host, else the main server's.
    let reverse = if host.proxy.reverse.is_empty() {
        &config.main.proxy.reverse
    } else {
        &host.proxy.reverse
    };
    let preserve = host
        .proxy
        .preserve_host
        .or(config.main.proxy.preserve_host)
        .unwrap_or(false);
    let timeout = host
        .proxy
        .timeout
        .or(config.main.proxy.timeout)
        .unwrap_or(config.timeout);
    let target = m.target;
    let key = format!("{}:{}", target.host, target.port);

    // The request line and head.
    let mut path = m.path.clone();
    if let Some(q) = parts.uri.query() {
        path.push('?');
        path.push_str(q);
    }
    let client_host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let mut headers = forwarded_headers(&parts.headers);
    let host_value = if preserve {
        client_host
            .clone()
            .unwrap_or_else(|| target.authority.clone())
    } else {
        target.authority.clone()
    };
    let mut out = HeaderMap::with_capacity(headers.len() + 6);
    if let Ok(v) = HeaderValue::from_str(&host_value) {
        out.insert(header::HOST, v);
    }
    for (k, v) in headers.drain(..) {
        out.append(k, v);
    }
    let client_ip = conn.client.ip().to_canonical().to_string();
    append_forwarded(&mut out, "x-forwarded-for", &client_ip);
    if let Some(h) = &client_host {
        append_forwarded(&mut out, "x-forwarded-host", h);
    }
    append_forwarded(&mut out, "x-forwarded-server", site.server_name(host));

    // The body: with its length, spooled, or chunked.
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    let backend_body: BackendBody = match (body, length, chunked) {
        (Some(b), Some(n), false) if n > 0 => {
            out.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
            b.map_err(std::io::Error::other).boxed_unsync()
        }
        (Some(mut b), _, true) => {
            let (spooled, finished) = spool(&mut b).await;
            if finished {
                out.insert(header::CONTENT_LENGTH, HeaderValue::from(spooled.len()));
                Full::new(spooled)
                    .map_err(|never| match never {})
                    .boxed_unsync()
            } else {
                out.insert(
                    header::TRANSFER_ENCODING,
                    HeaderValue::from_static("chunked"),
                );
                Prefixed {
                    first: Some(spooled),
                    rest: b,
                }
                .boxed_unsync()
            }
        }
        _ => http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    };
    out.insert(header::CONNECTION, HeaderValue::from_static("Keep-Alive"));
    let mut req = Request::new(backend_body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = match path.parse() {
        Ok(u) => u,
        Err(_) => {
            return Err((
                Failure::logged(
                    400,
                    Level::Error,
                    format!("la ruta para el backend no es válida: {path}"),
                )
                .from_module("proxy"),
                Some(eff),
            ))
        }
    };
    *req.headers_mut() = out;
    // The client's spelling of the header names (recorded by the server when a site proxies
    // to HTTP backends), which hyper follows when it writes the request.
    *req.extensions_mut() = parts.extensions.clone();

    // The exchange.
    let log_client = conn.client;
    let sender = match checkout(&key, target, timeout).await {
        Ok(s) => s,
        Err(e) => {
            ctx.log.push((
                "proxy",
                Level::Error,
                None,
                format!(
                    "({}){}: AH00957: http: attempt to connect to {key} ({key}) failed",
                    e.raw_os_error().unwrap_or(0),
                    super::proxy_fcgi::os_error_text(&e)
                ),
            ));
            return Err((
                Failure::logged(
                    503,
                    Level::Error,
                    format!(
                        "AH01114: HTTP: failed to make connection to backend: {} (¿está en marcha el servidor de aplicaciones en {key}?)",
                        target.host
                    ),
                )
                .from_module("proxy_http"),
                Some(eff),
            ));
        }
    };
    let mut sender = sender;
    let sent = tokio::time::timeout(timeout, sender.send_request(req)).await;
    let resp = match sent {
        Ok(Ok(r)) => r,
        failed => {
            let why = match failed {
                Err(_) => "(70007)The timeout specified has expired",
                _ => "(20014)Internal error (specific information not available)",
            };
            ctx.log.push((
                "proxy_http",
                Level::Error,
                None,
                format!(
                    "{why}: [client {}:{}] AH01102: error reading status line from remote server {}",
                    log_client.ip().to_canonical(),
                    log_client.port(),
                    key
                ),
            ));
            // From module `proxy`, a 502 goes out as "502 Proxy Error".
            let f = Failure::logged(
                502,
                Level::Error,
                format!(
                    "AH00898: Error reading from remote server returned by {}",
                    parts.uri.path()
                ),
            )
            .from_module("proxy");
            return Err((f, Some(eff)));
        }
    };
    checkin(&key, sender);

    // The answer.
    let (head, incoming) = resp.into_parts();
    let origin = client_host
        .as_deref()
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let mut headers: Vec<(String, Bytes)> = Vec::with_capacity(head.headers.len());
    let mut cookies: Vec<(String, Bytes)> = Vec::new();
    let hop = hop_by_hop(&head.headers);
    for (name, value) in head.headers.iter() {
        if hop.iter().any(|h| h == name.as_str()) {
            continue;
        }
        let mut value = Bytes::copy_from_slice(value.as_bytes());
        if matches!(name.as_str(), "location" | "content-location" | "uri") {
            if let Some(mapped) = std::str::from_utf8(&value)
                .ok()
                .and_then(|v| crate::config::proxy::reverse_map(reverse, v, &origin))
            {
                value = Bytes::from(mapped);
            }
        }
        let written = name.as_str().to_string();
        if name == header::SET_COOKIE {
            cookies.push((written, value));
        } else {
            headers.push((written, value));
        }
    }
    headers.extend(cookies);
    let no_body = parts.method == Method::HEAD
        || head.status == http::StatusCode::NO_CONTENT
        || head.status == http::StatusCode::NOT_MODIFIED;
    let body: Body = if no_body {
        crate::http::empty()
    } else {
        incoming.map_err(std::io::Error::other).boxed()
    };
    let zero = !no_body
        && head
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
    let body = if zero {
        // Keeps `Content-Length: 0` where the backend wrote it.
        crate::http::head::zero_length()
    } else {
        body
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = head.status;
    // The backend's reason phrase and the spelling of its header names (hyper's case map,
    // which the server writes back) travel in the extensions.
    *resp.extensions_mut() = head.extensions;
    let h = resp.headers_mut();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(value),
        ) {
            h.append(n, v);
        }
    }
    resp.extensions_mut().insert(crate::http::head::Proxied);
    Ok((resp, Some(eff)))
}

/// The client's headers a backend gets: all but `Host` (set apart), the hop-by-hop ones and
/// the body's framing (set again for the backend).
fn forwarded_headers(client: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let hop = hop_by_hop(client);
    client
        .iter()
        .filter(|(k, _)| {
            *k != header::HOST
                && *k != header::CONTENT_LENGTH
                && !hop.iter().any(|h| h == k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The hop-by-hop headers of a message: the fixed ones and those its `Connection` lists.
fn hop_by_hop(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for v in headers.get_all(header::CONNECTION) {
        if let Ok(v) = v.to_str() {
            names.extend(
                v.split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty()),
            );
        }
    }
    names
}

/// `X-Forwarded-*`: appended to a value the client sent (`a, b`), else added at the end.
fn append_forwarded(headers: &mut HeaderMap, name: &'static str, value: &str) {
    let name = HeaderName::from_static(name);
    let merged = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(old) => format!("{old}, {value}"),
        None => value.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&merged) {
        headers.insert(name, v);
    }
}

/// Reads a chunked request body up to [`SPOOL`] bytes: what was read, and whether the body
/// ended there.
async fn spool(body: &mut RequestBody) -> (Bytes, bool) {
    let mut buf = bytes::BytesMut::new();
    while buf.len() < SPOOL {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(_)) | None => return (buf.freeze(), true),
        }
    }
    (buf.freeze(), false)
}

/// A request body whose first bytes were already read.
struct Prefixed {
    first: Option<Bytes>,
    rest: RequestBody,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        std::pin::Pin::new(&mut self.rest)
            .poll_frame(cx)
            .map_err(std::io::Error::other)
    }
}

/// An idle connection to the backend, or a new one (within `timeout`).
async fn checkout(
    key: &str,
    target: &crate::config::proxy::HttpTarget,
    timeout: Duration,
) -> std::io::Result<SendRequest<BackendBody>> {
    {
        let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
        // This thread's connections first; else another thread's (it goes on running there,
        // each request then crossing over, which still beats a new connection).
        let here = crate::cores::current();
        let mut lists: Vec<_> = pool
            .iter_mut()
            .filter(|((_, k), _)| k == key)
            .map(|((core, _), idle)| (*core != here, idle))
            .collect();
        lists.sort_by_key(|(elsewhere, _)| *elsewhere);
        for (_, idle) in lists {
            // A connection still delivering an earlier answer's body stays for later; a
            // closed one goes.
            idle.retain(|s| !s.is_closed());
            if let Some(i) = idle.iter().position(|s| s.is_ready()) {
                return Ok(idle.swap_remove(i));
            }
        }
    }
    let addr = (target.host.as_str(), target.port);
    let stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Connection timed out",
            ))
        }
    };
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .preserve_header_case(true)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Puts a connection back for the next request (at most a few per backend).
fn checkin(key: &str, sender: SendRequest<BackendBody>) {
    let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
    let idle = pool
        .entry((crate::cores::current(), key.to_string()))
        .or_default();
    if idle.len() < 64 {
        idle.push(sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names_include_what_connection_lists() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("X-Quitar, close"),
        );
        let hop = hop_by_hop(&h);
        assert!(hop.contains(&"x-quitar".to_string()));
        assert!(hop.contains(&"keep-alive".to_string()));
        h.insert("x-quitar", HeaderValue::from_static("1"));
        h.insert("proxy-authorization", HeaderValue::from_static("x"));
        let kept: Vec<String> = forwarded_headers(&h)
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(kept, vec!["proxy-authorization".to_string()]);
    }

    #[test]
    fn forwarded_values_are_appended() {
        let mut h = HeaderMap::new();
        append_forwarded(&mut h, "x-forwarded-for", "127.0.0.1");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        append_forwarded(&mut h, "x-forwarded-for", "10.0.0.2");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1, 10.0.0.2");
    }
}
