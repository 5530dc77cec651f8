//! A short serving loop for a connection's plainest requests, ahead of hyper.
//!
//! Most requests a student's site gets (and every request of the benchmarks) are an HTTP/1.1
//! `GET` or `HEAD` without a body, on a keep-alive connection. For those, hyper's general
//! machinery (its dispatcher, a boxed service future per request, its own head buffers and
//! timers) cost about a fifth of the front end's instructions per `hello.php` request. This
//! loop reads such a request from the same [`Wire`] hyper reads from (so every Apache check,
//! note and mod_reqtimeout clock is the same), builds the `http::Request` the way hyper
//! does, serves it with [`request::serve`], and writes the answer the way hyper writes it:
//! the same status line, header names in title case and in the same order, the same
//! `Content-Length`, `Transfer-Encoding: chunked` and `Date` rules, and `Connection: close`
//! ending the connection.
//!
//! Anything else (a body, `Expect`, `Upgrade`, a `Connection` other than `keep-alive`,
//! another method or version, a proxy's absolute URL, a head that needs the header case
//! kept) hands the connection to hyper at that request, with the bytes of its head put back
//! in the wire, and hyper serves it and the rest of the connection as before. So does a
//! stop of the server while the loop waits, and a worker whose configuration became stale.

use std::io::{self, IoSlice};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::handoff::HandOff;
use super::request::{self, Conn};
use super::server::Shared;
use super::wire::{trim, Wire};
use super::Body;

/// How the loop left the connection.
pub(super) enum Exit {
    /// The connection is over: closed by either side, or after an answer that ends it
    /// (`shutdown`: the write side is to be shut down first, as hyper does).
    Closed { shutdown: bool },
    /// A request's answer passes the connection on to another process.
    HandOff(HandOff),
    /// hyper serves the rest of the connection (the unserved bytes are back in the wire).
    Hyper,
}

/// The waits of a connection, as its hyper side would have them.
#[derive(Clone, Copy)]
pub(super) struct Waits {
    /// Between requests: `KeepAliveTimeout` (or `Timeout` with keep-alive off).
    pub idle: Duration,
    /// hyper's own head timer, when mod_reqtimeout does not bound every head.
    pub head: Option<Duration>,
}

/// A head longer than this goes to hyper (the wire has already checked Apache's limits).
const MAX_HEAD: usize = 16 * 1024;

/// Bodies up to this size are copied behind the head and go in one write; longer pieces
/// are written from where they are.
const COPY_BELOW: usize = 16 * 1024;

/// Serves the connection's requests while they are plain ones.
pub(super) async fn serve<S>(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    io: &mut Wire<S>,
    stop: &mut watch::Receiver<bool>,
    waits: Waits,
) -> Exit
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    // One timer for the connection's waits, moved to each wait's deadline: pushing a
    // deadline later only updates the entry (the timer wheel is not touched), where a new
    // `sleep` per wait registered and removed an entry for every request.
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    loop {
        if *stop.borrow() || shared.stale() {
            io.unread(&buf);
            return Exit::Hyper;
        }
        // One head, as the wire hands it over (whole, once it is complete).
        let end = loop {
            if let Some(end) = head_end(&buf) {
                break end;
            }
            if buf.len() >= MAX_HEAD {
                io.unread(&buf);
                return Exit::Hyper;
            }
            let wait = if !buf.is_empty() {
                waits.head
            } else if conn.served.load(Ordering::Relaxed) > 0 {
                Some(waits.head.map_or(waits.idle, |h| h.min(waits.idle)))
            } else {
                waits.head
            };
            if let Some(d) = wait {
                timer.as_mut().reset(tokio::time::Instant::now() + d);
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(4096);
            }
            tokio::select! {
                biased;
                r = io.read_buf(&mut buf) => match r {
                    Ok(0) => return Exit::Closed { shutdown: buf.is_empty() },
                    Ok(_) => {}
                    Err(_) => return Exit::Closed { shutdown: false },
                },
                _ = stop.changed(), if buf.is_empty() => return Exit::Hyper,
                _ = timer.as_mut(), if wait.is_some() => {
                    // Idle past the keep-alive time: closed, as hyper's side closes it.
                    return Exit::Closed { shutdown: buf.is_empty() };
                }
            }
        };
        let Some(req) = parse(&buf[..end]) else {
            io.unread(&buf);
            return Exit::Hyper;
        };
        let site = shared.site.load_full();
        if site.proxies_http {
            // hyper keeps the header names' case for a proxied request.
            io.unread(&buf);
            return Exit::Hyper;
        }
        buf.drain(..end);
        let head_request = req.method() == Method::HEAD;
        let resp = request::serve(site, Arc::clone(conn), req).await;
        if let Some(h) = resp.extensions().get::<HandOff>() {
            io.unread(&buf);
            return Exit::HandOff(h.clone());
        }
        match write_response(io, resp, head_request, &mut out).await {
            Ok(false) => {}
            Ok(true) => return Exit::Closed { shutdown: true },
            Err(_) => return Exit::Closed { shutdown: false },
        }
    }
}

/// Where the first head in `buf` ends (after its empty line), if it is all there.
fn head_end(buf: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', buf)
        .find(|&i| i >= 3 && &buf[i - 3..=i] == b"\r\n\r\n")
        .map(|i| i + 1)
}

/// The request in `head` when it is a plain one: `GET` or `HEAD`, HTTP/1.1, an origin-form
/// URL, and none of the fields that change how the connection goes on.
fn parse(head: &[u8]) -> Option<Request<http_body_util::Empty<Bytes>>> {
    let line_end = memchr::memchr(b'\n', head)?;
    let line = head[..line_end].strip_suffix(b"\r")?;
    let sp = memchr::memchr(b' ', line)?;
    let method = match &line[..sp] {
        b"GET" => Method::GET,
        b"HEAD" => Method::HEAD,
        _ => return None,
    };
    let rest = &line[sp + 1..];
    let sp = memchr::memrchr(b' ', rest)?;
    if &rest[sp + 1..] != b"HTTP/1.1" {
        return None;
    }
    let target = &rest[..sp];
    if !target.starts_with(b"/") {
        return None;
    }
    let uri = Uri::from_maybe_shared(Bytes::copy_from_slice(target)).ok()?;
    let mut headers = HeaderMap::with_capacity(8);
    let mut pos = line_end + 1;
    loop {
        let end = pos + memchr::memchr(b'\n', &head[pos..])?;
        let field = head[pos..end].strip_suffix(b"\r")?;
        pos = end + 1;
        if field.is_empty() {
            break;
        }
        let colon = memchr::memchr(b':', field)?;
        let name = HeaderName::from_bytes(&field[..colon]).ok()?;
        let value = trim(&field[colon + 1..]);
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::EXPECT
            || name == header::UPGRADE
        {
            return None;
        }
        // `Connection: keep-alive` (what browsers send) changes nothing in HTTP/1.1; `close`
        // or a list of hop-by-hop fields is hyper's to handle.
        if name == header::CONNECTION
            && !value
                .split(|&b| b == b',')
                .all(|t| trim(t).eq_ignore_ascii_case(b"keep-alive"))
        {
            return None;
        }
        headers.append(name, HeaderValue::from_bytes(value).ok()?);
    }
    let mut req = Request::new(http_body_util::Empty::new());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Some(req)
}

/// How the body of an answer goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Exactly this many bytes (0: none at all).
    Length(u64),
    Chunked,
    /// Until the body ends, and then the connection (HTTP/1.0 without a length).
    UntilClose,
}

/// What the body reported before the head was written (hyper's `BodyLength`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    /// The body is already over.
    Empty,
    Exactly(u64),
    Unknown,
}

/// Writes the answer; `Ok(true)` when it ends the connection (`Connection: close`).
async fn write_response<S>(
    io: &mut Wire<S>,
    resp: Response<Body>,
    head_request: bool,
    out: &mut Vec<u8>,
) -> io::Result<bool>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (parts, mut body) = resp.into_parts();
    let known = if body.is_end_stream() {
        Known::Empty
    } else {
        match body.size_hint().exact() {
            Some(n) => Known::Exactly(n),
            None => Known::Unknown,
        }
    };
    out.clear();
    let (framing, is_last) = encode_head(&parts, known, head_request, out)?;
    io.announce(
        out.len(),
        match framing {
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
            Framing::UntilClose => Some(u64::MAX),
        },
    );
    let mut left = match framing {
        Framing::Length(n) => n,
        Framing::UntilClose => u64::MAX,
        Framing::Chunked => {
            write_chunked(io, &mut body, out).await?;
            return Ok(is_last);
        }
    };
    if left == 0 {
        io.write_all(out).await?;
        return Ok(is_last);
    }
    loop {
        let frame = match next_frame_now(&mut body).await {
            Some(f) => f,
            None => {
                if !out.is_empty() {
                    io.write_all(out).await?;
                    out.clear();
                }
                http_body_util::BodyExt::frame(&mut body).await
            }
        };
        let data = match frame {
            None => break,
            Some(Err(e)) => return Err(e),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        let take = (data.len() as u64).min(left) as usize;
        left -= take as u64;
        if take < COPY_BELOW {
            out.extend_from_slice(&data[..take]);
        } else {
            write_two(io, out, &data[..take]).await?;
            out.clear();
        }
        if left == 0 {
            break;
        }
    }
    if !out.is_empty() {
        io.write_all(out).await?;
    }
    if left > 0 && framing != Framing::UntilClose {
        // The body ended before its length: the client cannot tell where the next answer
        // starts, so the connection ends here (as hyper ends it).
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "cuerpo incompleto",
        ));
    }
    Ok(is_last)
}

/// A chunked body: each piece as a chunk, the pieces that are ready together in one write.
async fn write_chunked<S>(io: &mut Wire<S>, body: &mut Body, out: &mut Vec<u8>) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let frame = match next_frame_now(body).await {
            Some(f) => f,
            None => {
                if !out.is_empty() {
                    io.write_all(out).await?;
                    out.clear();
                }
                http_body_util::BodyExt::frame(body).await
            }
        };
        let data = match frame {
            None => {
                out.extend_from_slice(b"0\r\n\r\n");
                io.write_all(out).await?;
                return Ok(());
            }
            Some(Err(e)) => {
                // hyper leaves the body unterminated and the connection ends.
                if !out.is_empty() {
                    io.write_all(out).await?;
                }
                return Err(e);
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        push_hex(out, data.len());
        out.extend_from_slice(b"\r\n");
        if data.len() < COPY_BELOW {
            out.extend_from_slice(&data);
        } else {
            write_two(io, out, &data).await?;
            out.clear();
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The body's next frame if it is there without waiting (`None`: not yet).
async fn next_frame_now(
    body: &mut Body,
) -> Option<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match std::pin::Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(f) => Some(f),
            Poll::Pending => None,
        })
    })
    .await
}

/// Writes `a` then `b` with as few writes as the socket takes.
async fn write_two<S>(io: &mut Wire<S>, a: &[u8], b: &[u8]) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let slices = [IoSlice::new(&a[i..]), IoSlice::new(&b[j..])];
        let n = io.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len() - i);
        i += from_a;
        j += n - from_a;
    }
    Ok(())
}

/// A chunk's size in hexadecimal, as hyper writes it (upper case).
fn push_hex(out: &mut Vec<u8>, n: usize) {
    let digits = (usize::BITS - n.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(b"0123456789ABCDEF"[(n >> (k * 4)) & 0xf]);
    }
}

/// The head of the answer as hyper's server encodes it for an HTTP/1.1 request with
/// `title_case_headers`: returns how the body goes and whether the connection ends.
fn encode_head(
    parts: &http::response::Parts,
    known: Known,
    head_request: bool,
    dst: &mut Vec<u8>,
) -> io::Result<(Framing, bool)> {
    let status = parts.status;
    if status.is_informational() {
        // hyper sends no 1xx answer as a final one; none reaches here from a plain request.
        return Err(io::Error::other("respuesta 1xx como respuesta final"));
    }
    let reason = parts.extensions.get::<hyper::ext::ReasonPhrase>();
    // An nph- script's answer keeps the version it was written with (hyper writes any other
    // as HTTP/1.1, and has none for HTTP/0.9).
    let http10 = match parts.version {
        Version::HTTP_10 => true,
        Version::HTTP_11 | Version::HTTP_2 => false,
        _ => return Err(io::Error::other("versión de respuesta inesperada")),
    };
    if status == StatusCode::OK && reason.is_none() && !http10 {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        dst.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        dst.extend_from_slice(status.as_str().as_bytes());
        dst.push(b' ');
        match reason {
            Some(r) => dst.extend_from_slice(r.as_bytes()),
            None => dst.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes()),
        }
        dst.extend_from_slice(b"\r\n");
    }
    // What a HEAD answer, a 204 and a 304 may carry (hyper's `can_chunked`,
    // `can_have_content_length`).
    let no_body_status = matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let can_body = !head_request && !no_body_status;
    // hyper's `can_chunked`, and no chunks in an HTTP/1.0 answer.
    let can_chunk = can_body && !http10;
    let mut framing = Framing::Length(0);
    let mut wrote_len = false;
    let mut wrote_date = false;
    let mut is_last = false;
    let mut prev_len: Option<u64> = None;
    // The special field whose line is still open (repeated values join it with ", "),
    // and whether `chunked` must be added at its end.
    let mut open: Option<HeaderName> = None;
    let mut add_chunked = false;
    let mut names = Namer {
        spellings: parts.extensions.get::<super::head::CaseNames>(),
        last: None,
        nth: 0,
    };
    let close_line = |dst: &mut Vec<u8>, open: &mut Option<HeaderName>, add_chunked: bool| {
        if open.take().is_some() {
            dst.extend_from_slice(if add_chunked {
                b", chunked\r\n"
            } else {
                b"\r\n"
            });
        }
    };
    for (name, value) in parts.headers.iter() {
        let continues = open.as_ref() == Some(name);
        if !continues {
            close_line(dst, &mut open, add_chunked);
        }
        match *name {
            header::CONTENT_LENGTH => {
                if wrote_len && !continues {
                    return Err(io::Error::other("Content-Length inesperado"));
                }
                match known {
                    Known::Exactly(n) => {
                        // hyper writes the first value and drops the others.
                        if !continues {
                            framing = Framing::Length(n);
                            wrote_len = true;
                            joined(dst, &mut names, &mut open, name, value);
                        }
                        continue;
                    }
                    Known::Unknown => {
                        let Some(len) = content_length(value) else {
                            return Err(io::Error::other("Content-Length no válido"));
                        };
                        match prev_len {
                            Some(prev) if prev != len => {
                                return Err(io::Error::other("Content-Length repetido"));
                            }
                            Some(_) => continue,
                            None => {
                                framing = Framing::Length(len);
                                wrote_len = true;
                                prev_len = Some(len);
                                joined(dst, &mut names, &mut open, name, value);
                                continue;
                            }
                        }
                    }
                    Known::Empty => {
                        if !head_request {
                            continue;
                        }
                    }
                }
                wrote_len = true;
            }
            header::TRANSFER_ENCODING => {
                if wrote_len && !continues {
                    return Err(io::Error::other("Transfer-Encoding inesperado"));
                }
                if !can_chunk {
                    continue;
                }
                wrote_len = true;
                add_chunked = !is_chunked(value);
                framing = Framing::Chunked;
                joined(dst, &mut names, &mut open, name, value);
                continue;
            }
            header::CONNECTION => {
                if has_token(value, b"close") {
                    is_last = true;
                }
                joined(dst, &mut names, &mut open, name, value);
                continue;
            }
            header::DATE => wrote_date = true,
            header::TRAILER => {
                if !can_chunk {
                    continue;
                }
                joined(dst, &mut names, &mut open, name, value);
                continue;
            }
            _ => {}
        }
        names.write(dst, name);
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    close_line(dst, &mut open, add_chunked);
    if !wrote_len {
        framing = match known {
            Known::Unknown if can_chunk => {
                names.write(dst, &header::TRANSFER_ENCODING);
                dst.extend_from_slice(b": chunked\r\n");
                Framing::Chunked
            }
            // An HTTP/1.0 answer of unknown length goes until the connection closes; a
            // HEAD answer, a 204 or a 304 has no body at all (dropped below).
            Known::Unknown if http10 && can_body => {
                is_last = true;
                Framing::UntilClose
            }
            Known::Unknown => Framing::Length(0),
            Known::Empty | Known::Exactly(0) => {
                if !no_body_status && !head_request {
                    names.write(dst, &header::CONTENT_LENGTH);
                    dst.extend_from_slice(b": 0\r\n");
                }
                Framing::Length(0)
            }
            Known::Exactly(n) => {
                if no_body_status {
                    Framing::Length(0)
                } else {
                    names.write(dst, &header::CONTENT_LENGTH);
                    dst.extend_from_slice(b": ");
                    let (digits, i) = crate::util::decimal(n);
                    dst.extend_from_slice(&digits[i..]);
                    dst.extend_from_slice(b"\r\n");
                    Framing::Length(n)
                }
            }
        };
    }
    if !can_body {
        framing = Framing::Length(0);
    }
    if !wrote_date {
        names.write(dst, &header::DATE);
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(super::head::date_now().as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
    Ok((framing, is_last))
}

/// A value of a field whose repeated values hyper writes on one line: after `, ` when the
/// field's line is the one open, else on a new line that stays open.
fn joined(
    dst: &mut Vec<u8>,
    names: &mut Namer<'_>,
    open: &mut Option<HeaderName>,
    name: &HeaderName,
    value: &HeaderValue,
) {
    if open.as_ref() == Some(name) {
        dst.extend_from_slice(b", ");
    } else {
        names.write(dst, name);
        dst.extend_from_slice(b": ");
        *open = Some(name.clone());
    }
    dst.extend_from_slice(value.as_bytes());
}

/// Writes header names as hyper does with a case map: the n-th line of a name takes the
/// n-th spelling of that name in the map, if there is one; title case otherwise.
struct Namer<'a> {
    spellings: Option<&'a super::head::CaseNames>,
    last: Option<HeaderName>,
    nth: usize,
}

impl Namer<'_> {
    fn write(&mut self, dst: &mut Vec<u8>, name: &HeaderName) {
        // Without a map (most answers) every name is title-cased: nothing to count.
        let Some(spellings) = self.spellings else {
            return title_name(dst, name);
        };
        if self.last.as_ref() != Some(name) {
            self.last = Some(name.clone());
            self.nth = 0;
        }
        let spelled = spellings
            .0
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(name.as_str()))
            .nth(self.nth);
        self.nth += 1;
        match spelled {
            Some(n) => dst.extend_from_slice(n.as_bytes()),
            None => title_name(dst, name),
        }
    }
}

/// A header name as hyper's title case writes it: upper case at the start and after `-`.
fn title_name(dst: &mut Vec<u8>, name: &HeaderName) {
    let mut prev = b'-';
    for &c in name.as_str().as_bytes() {
        dst.push(if prev == b'-' {
            c.to_ascii_uppercase()
        } else {
            c
        });
        prev = c;
    }
}

fn content_length(v: &HeaderValue) -> Option<u64> {
    let mut out: Option<u64> = None;
    for part in v.as_bytes().split(|&b| b == b',') {
        let n: u64 = std::str::from_utf8(trim(part)).ok()?.parse().ok()?;
        if out.is_some_and(|o| o != n) {
            return None;
        }
        out = Some(n);
    }
    out
}

/// Whether the last coding of a `Transfer-Encoding` value is `chunked`.
fn is_chunked(v: &HeaderValue) -> bool {
    v.as_bytes()
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|t| trim(t).eq_ignore_ascii_case(b"chunked"))
}

/// Whether a comma-separated value has `token` (any case).
fn has_token(v: &HeaderValue, token: &[u8]) -> bool {
    v.as_bytes()
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;

    /// A body of pieces whose length it does not tell (as a CGI or FastCGI answer).
    struct Pieces(VecDeque<Bytes>);

    impl http_body::Body for Pieces {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
        }
    }

    #[derive(Clone)]
    enum Made {
        Full(&'static str),
        Empty,
        Pieces(Vec<&'static str>),
    }

    /// One answer to write: the request's method, the answer's status, custom reason,
    /// header lines and body.
    struct Case {
        method: &'static str,
        status: u16,
        reason: Option<&'static str>,
        headers: Vec<(&'static str, &'static str)>,
        body: Made,
    }

    const DATE: (&str, &str) = ("date", "Mon, 07 Dec 2026 12:00:00 GMT");

    /// A case whose head has the fixed `Date` and then `headers`.
    fn dated(
        method: &'static str,
        status: u16,
        headers: &[(&'static str, &'static str)],
        body: Made,
    ) -> Case {
        Case {
            method,
            status,
            reason: None,
            headers: std::iter::once(DATE)
                .chain(headers.iter().copied())
                .collect(),
            body,
        }
    }

    /// The answers both writers are given: every rule of hyper's encoder that a plain
    /// request can meet.
    fn cases() -> Vec<Case> {
        use Made::{Empty, Full, Pieces};
        let mut all = vec![
            dated("GET", 200, &[("content-type", "text/html")], Full("hola\n")),
            dated("GET", 200, &[("content-length", "5")], Full("hola\n")),
            dated("GET", 200, &[], Pieces(vec!["uno", "", "dos"])),
            dated(
                "GET",
                200,
                &[
                    ("transfer-encoding", "chunked"),
                    ("content-type", "text/plain"),
                ],
                Pieces(vec!["Hola desde PHP\n"]),
            ),
            dated("GET", 200, &[("content-length", "3")], Pieces(vec!["abc"])),
            dated("GET", 200, &[], Empty),
            dated("GET", 404, &[("content-length", "0")], Empty),
            dated("GET", 304, &[("etag", "\"x\"")], Empty),
            dated("GET", 304, &[], Pieces(vec!["nada"])),
            dated("GET", 204, &[], Full("x")),
            dated("HEAD", 200, &[], Full("hola\n")),
            dated("HEAD", 200, &[("content-length", "5")], Empty),
            dated("HEAD", 200, &[], Pieces(vec!["hola"])),
            dated(
                "HEAD",
                200,
                &[("transfer-encoding", "chunked")],
                Pieces(vec!["x"]),
            ),
            dated("GET", 599, &[], Full("raro")),
            dated(
                "GET",
                200,
                &[
                    ("set-cookie", "a=1"),
                    ("set-cookie", "b=2"),
                    ("keep-alive", "timeout=5, max=100"),
                    ("connection", "Keep-Alive"),
                    ("x-powered-by", "PHP/8.2"),
                ],
                Full("galletas"),
            ),
            dated("GET", 200, &[("connection", "close")], Full("fin")),
            dated(
                "GET",
                200,
                &[("transfer-encoding", "gzip")],
                Pieces(vec!["zz"]),
            ),
            dated(
                "GET",
                200,
                &[("trailer", "x-a"), ("trailer", "x-b")],
                Pieces(vec!["t"]),
            ),
        ];
        let mut reason = dated("GET", 200, &[], Full("ok"));
        reason.reason = Some("Todo Bien");
        all.push(reason);
        all.push(Case {
            method: "GET",
            status: 200,
            reason: None,
            headers: vec![("server", "Apache")],
            body: Full("sin fecha"),
        });
        all
    }

    fn make(
        status: u16,
        reason: Option<&'static str>,
        headers: &[(&str, &str)],
        body: &Made,
    ) -> Response<Body> {
        let body: Body = match body {
            Made::Full(s) => super::super::full(*s),
            Made::Empty => http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed(),
            Made::Pieces(p) => {
                Pieces(p.iter().map(|s| Bytes::from_static(s.as_bytes())).collect()).boxed()
            }
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            resp.headers_mut().append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        if let Some(r) = reason {
            resp.extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(r.as_bytes()));
        }
        resp
    }

    /// What hyper's server (as the lab configures it) writes for `resp` to `method`.
    async fn by_hyper(method: &str, resp: Response<Body>) -> Vec<u8> {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let resp = std::sync::Mutex::new(Some(resp));
        let service =
            hyper::service::service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                let r = resp.lock().unwrap().take().unwrap();
                async move { Ok::<_, std::convert::Infallible>(r) }
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .title_case_headers(true)
            .keep_alive(true)
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let task = tokio::spawn(conn);
        client
            .write_all(format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        // hyper closes without an answer on an early end of input: the answer is read
        // until nothing more comes (everything is in memory, so a short wait is plenty).
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(100), client.read(&mut chunk)).await
        {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        task.abort();
        out
    }

    /// What the lean loop writes for `resp` to `method`, and whether it ends the connection.
    async fn by_lean(method: &str, resp: Response<Body>) -> (Vec<u8>, bool) {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let limits = super::super::wire::Limits {
            request_line: 8190,
            field_size: 8190,
            fields: 100,
        };
        let mut wire = Wire::new(server, limits, Arc::default());
        let mut out = Vec::new();
        let last = write_response(&mut wire, resp, method == "HEAD", &mut out)
            .await
            .unwrap_or(true);
        drop(wire);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        (got, last)
    }

    /// The `Date` line's value, which hyper fills from its own clock, as `FECHA`.
    fn without_date(raw: &[u8]) -> String {
        let text = String::from_utf8_lossy(raw).into_owned();
        text.split("\r\n")
            .map(|l| match l.strip_prefix("Date: ") {
                Some(_) if !l.contains("2026 12:00:00") => "Date: FECHA",
                _ if l.to_ascii_lowercase().starts_with("date: ")
                    && !l.contains("2026 12:00:00") =>
                {
                    "date: FECHA"
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    /// [`make`], then the spelling of its names as the lab gives every answer
    /// (`head::spell`), with the names an application wrote.
    async fn spelled(
        status: u16,
        reason: Option<&'static str>,
        headers: &[(&str, &str)],
        body: &Made,
        written: &[&str],
    ) -> Response<Body> {
        let mut resp = make(status, reason, headers, body);
        if !written.is_empty() {
            resp.extensions_mut().insert(super::super::head::Spelling(
                written.iter().map(|n| n.to_string()).collect(),
            ));
        }
        super::super::head::spell(&mut resp).await;
        resp
    }

    #[tokio::test]
    async fn names_are_spelled_as_hyper_spells_them_from_the_case_map() {
        // (header lines, names as an application wrote them)
        type Spelled = (Vec<(&'static str, &'static str)>, Vec<&'static str>);
        let cases: Vec<Spelled> = vec![
            (
                vec![DATE, ("etag", "\"1-2\""), ("accept-ranges", "bytes")],
                vec![],
            ),
            (
                vec![DATE, ("www-authenticate", "Basic realm=\"x\"")],
                vec![],
            ),
            (
                vec![DATE, ("x-mi-cabecera", "1"), ("etag", "\"e\"")],
                vec!["X-mi-Cabecera", "etag"],
            ),
            (
                vec![
                    DATE,
                    ("set-cookie", "a=1"),
                    ("set-cookie", "b=2"),
                    ("set-cookie", "c=3"),
                ],
                vec!["set-cookie", "SET-COOKIE"],
            ),
            (vec![("x-sin-fecha", "1")], vec!["X-SIN-fecha", "DATE"]),
            (vec![DATE, ("content-length", "2")], vec!["content-LENGTH"]),
        ];
        for (headers, written) in cases {
            for body in [Made::Full("ok"), Made::Pieces(vec!["ok"])] {
                let hyper =
                    by_hyper("GET", spelled(200, None, &headers, &body, &written).await).await;
                let (lean, _) =
                    by_lean("GET", spelled(200, None, &headers, &body, &written).await).await;
                assert_eq!(
                    without_date(&lean),
                    without_date(&hyper),
                    "{headers:?} {written:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn answers_are_written_byte_for_byte_as_hyper_writes_them() {
        for Case {
            method,
            status,
            reason,
            headers,
            body,
        } in cases()
        {
            let hyper = by_hyper(method, make(status, reason, &headers, &body)).await;
            let (lean, last) = by_lean(method, make(status, reason, &headers, &body)).await;
            let (hyper, lean) = (without_date(&hyper), without_date(&lean));
            assert_eq!(lean, hyper, "{method} {status} {headers:?}");
            let closes = headers
                .iter()
                .any(|(k, v)| *k == "connection" && v.eq_ignore_ascii_case("close"));
            assert_eq!(last, closes, "{method} {status} {headers:?}");
        }
    }

    /// An nph- script's HTTP/1.0 answer: its own status line, no chunks, and a body of
    /// unknown length that ends the connection.
    #[tokio::test]
    async fn an_http10_answer_is_written_as_hyper_writes_it() {
        for (body, ends) in [
            (Made::Pieces(vec!["uno", "dos"]), true),
            (Made::Full("tres"), false),
            (Made::Empty, false),
        ] {
            for method in ["GET", "HEAD"] {
                let mut a = make(200, None, &[DATE, ("transfer-encoding", "chunked")], &body);
                *a.version_mut() = Version::HTTP_10;
                let mut b = make(200, None, &[DATE, ("transfer-encoding", "chunked")], &body);
                *b.version_mut() = Version::HTTP_10;
                let hyper = by_hyper(method, a).await;
                let (lean, last) = by_lean(method, b).await;
                assert_eq!(without_date(&lean), without_date(&hyper), "{method}");
                assert_eq!(last, ends && method == "GET", "{method}");
            }
        }
    }

    #[test]
    fn plain_requests_are_parsed_and_the_others_left_to_hyper() {
        let req = parse(
            b"GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nAccept:  */*  \r\nX-A: 1\r\nx-a: 2\r\n\r\n",
        )
        .expect("plain");
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/a/b");
        assert_eq!(req.uri().query(), Some("c=d"));
        assert_eq!(req.version(), Version::HTTP_11);
        assert_eq!(req.headers()["accept"], "*/*");
        let xa: Vec<_> = req.headers().get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2"]);
        assert!(parse(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").is_some());
        let browser = parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n")
            .expect("keep-alive is plain");
        assert_eq!(browser.headers()["connection"], "Keep-Alive");
        for other in [
            &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: TE\r\nTE: trailers\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
            b"GET http://otro/ HTTP/1.1\r\nHost: x\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
            b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n",
        ] {
            assert!(parse(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn heads_end_at_their_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nGET"), Some(18));
        let mut hex = Vec::new();
        for (n, want) in [(0, "0"), (15, "F"), (16, "10"), (65535, "FFFF")] {
            hex.clear();
            push_hex(&mut hex, n);
            assert_eq!(hex, want.as_bytes());
        }
    }
}
