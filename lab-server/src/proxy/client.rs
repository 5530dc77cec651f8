//! The client side's own HTTP/1 connection loop, for requests without a body.
//!
//! Almost every request a cache sees is a `GET` or `HEAD` without a body, and on a hit the
//! work is small (vcl_recv, a lookup, vcl_hit, vcl_deliver): going through hyper's
//! dispatcher, its header map for the request and its URI parsing cost as much as the rest.
//! This loop reads each request head itself (with `httparse`, the parser hyper uses, so what
//! it accepts does not change), runs the request through [`server::process`] and writes the
//! answer as hyper would (the same header order, `Content-Length`, chunked or
//! close-delimited bodies, `Date` when missing), except that the status line is always
//! `HTTP/1.1`, as Varnish writes it, also to an HTTP/1.0 client, and header names go out as
//! spelled (the backend's, VCL's), as Varnish writes them; [`super::server`] has hyper write
//! the same spelling on its path.
//!
//! Whatever is not a plain request without a body (a `Content-Length` or
//! `Transfer-Encoding`, `Expect`, a request target that is not a plain path, a head hyper
//! would refuse or that is not complete within the limits) goes to hyper with the bytes
//! already read, and hyper serves the rest of that connection as before.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use http_body::Body as _;
use http_body_util::BodyExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::body::ProxyBody;
use super::server::{self, Answer, Prepared, ReqHead};
use super::stats::Trace;
use super::tunnel::Tunnel;
use super::Proxy;

/// Time for a client to send a complete request head (hyper's `header_read_timeout` on the
/// other path).
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// A head longer than this is left to hyper (which answers 431 past its own limit).
const MAX_HEAD: usize = 64 * 1024;
/// Header lines parsed here; a request with more goes to hyper (which takes up to 100).
pub(crate) const MAX_HEADERS: usize = 64;

/// Serves one client connection.
pub async fn connection(proxy: Arc<Proxy>, stream: TcpStream, client: SocketAddr) {
    let local = stream.local_addr().unwrap_or(client);
    let _ = stream.set_nodelay(true);
    proxy.stats.sess_conn.fetch_add(1, Relaxed);
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(4096),
        out: Vec::with_capacity(1024),
        timer: Box::pin(tokio::time::sleep(HEAD_TIMEOUT)),
        key: Vec::with_capacity(128),
    };
    let tunnel = Tunnel::default();
    loop {
        let parsed = match conn.read_head(&proxy, client).await {
            Read::Head(p) => p,
            Read::Hit { head_len, body } => {
                // A plain hit (`super::fast`): the answer is in `out`, and `body` when large.
                conn.buf.advance(head_len);
                let sent = if body.is_empty() {
                    conn.stream.write_all(&conn.out).await
                } else {
                    write_two(&mut conn.stream, &conn.out, &body).await
                };
                if sent.is_err() {
                    return;
                }
                continue;
            }
            Read::Closed => {
                let _ = conn.stream.shutdown().await;
                return;
            }
            Read::Gone => return,
            Read::Other => {
                let prefix = conn.buf.freeze();
                return server::serve_hyper(proxy, conn.stream, prefix, client, local).await;
            }
        };
        let Parsed {
            head,
            head_len,
            head_only,
        } = parsed;
        let http10 = head.http10;
        conn.buf.advance(head_len);
        let xid = proxy.next_xid();
        proxy.stats.client_req.fetch_add(1, Relaxed);
        let mut trace = Trace::default();
        server::begin_trace(
            &mut trace,
            xid,
            client,
            &head.method,
            &head.url,
            head.http10,
        );
        // The client's headers as it spelled them, for `lab proxy log`.
        for (n, v) in &head.headers {
            trace.header("ReqHeader", n, v);
        }
        let resp = server::process(
            Arc::clone(&proxy),
            xid,
            head,
            ProxyBody::Empty,
            client,
            local,
            &tunnel,
            trace,
        )
        .await;
        if let Some(backend) = tunnel.take() {
            // `return (pipe)`: from now on a tunnel; what the client sent after the piped
            // request goes on to the backend.
            let early = conn.buf.split().freeze();
            return super::tunnel::join(conn.stream, backend, early).await;
        }
        match conn.write_response(resp, head_only, http10).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = conn.stream.shutdown().await;
                return;
            }
            Err(_) => return,
        }
    }
}

struct Conn {
    stream: TcpStream,
    /// What has been read and not yet used.
    buf: BytesMut,
    /// The response head being written (kept between requests).
    out: Vec<u8>,
    /// Wakes the connection to check [`HEAD_TIMEOUT`]: one timer for the connection, moved
    /// only when it fires (a timer per read would cost more than the read).
    timer: Pin<Box<Sleep>>,
    /// The cache key of a plain hit (kept between requests).
    key: Vec<u8>,
}

enum Read {
    Head(Parsed),
    /// A plain hit already answered in `out` (see [`super::fast`]): the head's length and
    /// the body to write after `out` (empty when it is in `out`).
    Hit {
        head_len: usize,
        body: bytes::Bytes,
    },
    /// The client closed (or timed out) between requests.
    Closed,
    /// A read error: nothing more to do on this connection.
    Gone,
    /// Not for this loop: hyper takes the connection with what was read.
    Other,
}

struct Parsed {
    head: ReqHead,
    head_len: usize,
    head_only: bool,
}

enum Parse {
    Done(Parsed),
    Hit { head_len: usize, body: bytes::Bytes },
    Partial,
    Other,
}

impl Conn {
    async fn read_head(&mut self, proxy: &Proxy, client: SocketAddr) -> Read {
        let started = Instant::now();
        loop {
            if !self.buf.is_empty() {
                let fast = Fast {
                    proxy,
                    client,
                    out: &mut self.out,
                    key: &mut self.key,
                };
                match parse(&self.buf, fast) {
                    Parse::Done(p) => return Read::Head(p),
                    Parse::Hit { head_len, body } => return Read::Hit { head_len, body },
                    Parse::Other => return Read::Other,
                    Parse::Partial if self.buf.len() > MAX_HEAD => return Read::Other,
                    Parse::Partial => {}
                }
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let read = tokio::select! {
                biased;
                r = self.stream.read_buf(&mut self.buf) => Some(r),
                () = &mut self.timer => None,
            };
            match read {
                Some(Ok(0)) if self.buf.is_empty() => return Read::Closed,
                // A partial head and then the end: hyper says what it says about that.
                Some(Ok(0)) => return Read::Other,
                Some(Ok(_)) => {}
                Some(Err(_)) => return Read::Gone,
                None => {
                    let deadline = started + HEAD_TIMEOUT;
                    if Instant::now() < deadline {
                        // Set for an earlier head: wait for this one's deadline.
                        self.timer.as_mut().reset(deadline);
                    } else if self.buf.is_empty() {
                        return Read::Closed;
                    } else {
                        return Read::Gone;
                    }
                }
            }
        }
    }

    /// Writes `resp` as hyper's server would; `Ok(false)` when the connection must close.
    async fn write_response(
        &mut self,
        answer: Answer,
        head_only: bool,
        http10: bool,
    ) -> io::Result<bool> {
        // A placeholder for a tunnel that could not be taken over: nothing to write.
        let Answer::Head(p) = answer else {
            return Ok(false);
        };
        let out = &mut self.out;
        out.clear();
        let enc = encode_head(&p, head_only, http10, out);
        let mut body = p.body;
        match enc.framing {
            Framing::Length(0) => {
                self.stream.write_all(out).await?;
            }
            Framing::Length(n) => {
                if let ProxyBody::Full(Some(b)) = &body {
                    if b.len() as u64 == n {
                        write_two(&mut self.stream, out, b).await?;
                        return Ok(!enc.last);
                    }
                }
                self.stream.write_all(out).await?;
                let mut sent = 0u64;
                while let Some(frame) = body.frame().await {
                    let Ok(data) = frame
                        .map_err(|_| ())
                        .and_then(|f| f.into_data().map_err(|_| ()))
                    else {
                        // A body that fails, or a frame that is not data: cut the answer.
                        return Ok(false);
                    };
                    let take = (n - sent).min(data.len() as u64) as usize;
                    self.stream.write_all(&data[..take]).await?;
                    sent += take as u64;
                    if sent == n {
                        break;
                    }
                }
                if sent < n {
                    return Ok(false);
                }
            }
            Framing::Chunked => {
                self.stream.write_all(out).await?;
                while let Some(frame) = body.frame().await {
                    let Ok(frame) = frame else {
                        return Ok(false);
                    };
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    let size = format!("{:x}\r\n", data.len());
                    let mut parts = [
                        IoSlice::new(size.as_bytes()),
                        IoSlice::new(&data),
                        IoSlice::new(b"\r\n"),
                    ];
                    write_all_vectored(&mut self.stream, &mut parts).await?;
                }
                self.stream.write_all(b"0\r\n\r\n").await?;
            }
            Framing::Close => {
                self.stream.write_all(out).await?;
                while let Some(frame) = body.frame().await {
                    let Ok(frame) = frame else {
                        return Ok(false);
                    };
                    if let Ok(data) = frame.into_data() {
                        self.stream.write_all(&data).await?;
                    }
                }
                return Ok(false);
            }
        }
        Ok(!enc.last)
    }
}

async fn write_two(stream: &mut TcpStream, a: &[u8], b: &[u8]) -> io::Result<()> {
    let mut parts = [IoSlice::new(a), IoSlice::new(b)];
    write_all_vectored(stream, &mut parts).await
}

async fn write_all_vectored(
    stream: &mut TcpStream,
    mut parts: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        let n = stream.write_vectored(parts).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut parts, n);
    }
    Ok(())
}

/// What a plain hit needs to be answered while its head is parsed.
struct Fast<'a> {
    proxy: &'a Proxy,
    client: SocketAddr,
    out: &'a mut Vec<u8>,
    key: &'a mut Vec<u8>,
}

/// Reads one request head from `buf`, and answers it if it is a plain hit.
fn parse(buf: &[u8], fast: Fast<'_>) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parse::Partial,
        Err(_) => return Parse::Other,
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Parse::Other;
    };
    if !plain_path(path) {
        return Parse::Other;
    }
    for h in req.headers.iter() {
        let n = h.name;
        if n.eq_ignore_ascii_case("content-length")
            || n.eq_ignore_ascii_case("transfer-encoding")
            || n.eq_ignore_ascii_case("expect")
        {
            return Parse::Other;
        }
    }
    if let Some(body) = super::fast::try_hit(
        fast.proxy,
        &req,
        &buf[..len],
        fast.client,
        fast.out,
        fast.key,
    ) {
        return Parse::Hit {
            head_len: len,
            body,
        };
    }
    let mut list = Vec::with_capacity(req.headers.len() + 2);
    for h in req.headers.iter() {
        list.push((
            h.name.to_string(),
            String::from_utf8_lossy(h.value).into_owned(),
        ));
    }
    Parse::Done(Parsed {
        head_only: method == "HEAD",
        head: ReqHead {
            method: method.to_string(),
            url: path.to_string(),
            http10: version == 0,
            headers: list,
        },
        head_len: len,
    })
}

/// An origin-form request target made only of the characters RFC 3986 allows (hyper's URI
/// parser takes those as they are; anything else is left to it).
fn plain_path(p: &str) -> bool {
    p.starts_with('/')
        && p.len() < 65534
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%[]".contains(&b))
}

pub(crate) enum Framing {
    Length(u64),
    Chunked,
    Close,
}

pub(crate) struct Encoded {
    pub framing: Framing,
    /// The connection ends after this answer.
    pub last: bool,
}

fn has_token(v: &str, token: &str) -> bool {
    v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The response head as hyper's HTTP/1 server encodes it (`Server::encode_headers` in hyper
/// 1.x), with `HTTP/1.1` in the status line.
pub(crate) fn encode_head(
    p: &Prepared,
    head_only: bool,
    http10: bool,
    out: &mut Vec<u8>,
) -> Encoded {
    let status = p.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(p.reason().as_bytes());
    out.extend_from_slice(b"\r\n");

    // What hyper learns from the body: none, a known length, or unknown.
    let body = &p.body;
    let body_len: Option<Option<u64>> = if body.is_end_stream() {
        None
    } else {
        Some(body.size_hint().exact())
    };
    let informational = status.is_informational();
    let no_content =
        status == http::StatusCode::NO_CONTENT || status == http::StatusCode::NOT_MODIFIED;
    // No chunks to an HTTP/1.0 client: a body of unknown length ends with the connection.
    let can_chunk = !http10 && !head_only && !informational && !no_content;
    let can_have_length = !informational && !no_content;

    let mut framing = Framing::Length(0);
    let mut wrote_len = false;
    let mut wrote_date = false;
    let mut last = false;
    let mut prev_name: Option<&str> = None;
    for (name, value) in &p.headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        let first_of_name = !prev_name.is_some_and(|n| n.eq_ignore_ascii_case(name));
        prev_name = Some(name);
        if name.eq_ignore_ascii_case("content-length") {
            match body_len {
                Some(Some(n)) => {
                    if first_of_name && !wrote_len {
                        framing = Framing::Length(n);
                        wrote_len = true;
                        write_header(out, name, value);
                    }
                    continue;
                }
                Some(None) => {
                    if !wrote_len {
                        if let Ok(n) = value.trim().parse() {
                            framing = Framing::Length(n);
                            wrote_len = true;
                            write_header(out, name, value);
                        }
                    }
                    continue;
                }
                None if head_only => {
                    wrote_len = true;
                }
                None => continue,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !can_chunk {
                continue;
            }
            wrote_len = true;
            framing = Framing::Chunked;
            if !first_of_name {
                join_value(out, value);
                continue;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if has_token(value, "close") {
                last = true;
            }
            // hyper writes several values of these two on one line.
            if !first_of_name {
                join_value(out, value);
                continue;
            }
        } else if name.eq_ignore_ascii_case("date") {
            wrote_date = true;
        }
        write_header(out, name, value);
    }
    if !wrote_len {
        match body_len {
            Some(None) => {
                if can_chunk {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                    framing = Framing::Chunked;
                } else {
                    framing = Framing::Close;
                }
            }
            None | Some(Some(0)) => {
                if can_have_length && !head_only {
                    out.extend_from_slice(b"Content-Length: 0\r\n");
                }
            }
            Some(Some(n)) => {
                if can_have_length {
                    out.extend_from_slice(b"Content-Length: ");
                    out.extend_from_slice(n.to_string().as_bytes());
                    out.extend_from_slice(b"\r\n");
                    framing = Framing::Length(n);
                }
            }
        }
    }
    if head_only || informational || no_content {
        framing = Framing::Length(0);
    }
    if !wrote_date {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if matches!(framing, Framing::Close) {
        last = true;
    }
    Encoded { framing, last }
}

/// Adds `, value` to the header line just written.
fn join_value(out: &mut Vec<u8>, value: &str) {
    out.truncate(out.len() - 2);
    out.extend_from_slice(b", ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A header line, its name as spelled (the backend's, VCL's or Varnish's own, as Varnish
/// writes them).
fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}
