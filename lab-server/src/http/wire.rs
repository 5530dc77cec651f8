//! The bytes of a connection, between the socket and hyper.
//!
//! hyper parses and writes HTTP/1 for the Apache role, but it is not Apache in three places a
//! student sees with `curl -i`, `telnet` or `ab`:
//!
//! - it answers an HTTP/1.0 client with an `HTTP/1.0` status line, where Apache always writes
//!   `HTTP/1.1` (RFC 9110 §2.5: a server sends its own highest version);
//! - it refuses what Apache's `HttpProtocolOptions Strict Allow0.9` accepts (`GET /` without a
//!   version, `HTTP/1.2`, a folded header line) and accepts some of what Apache refuses (a bare
//!   LF line end, a control character in a value);
//! - when it refuses a request it writes its own bare `400`/`431` and nobody logs it, where
//!   Apache answers with its error page and writes both logs.
//!
//! [`Wire`] sits under hyper. On the way in it reads each request head itself, checks it the way
//! Apache's `ap_read_request` does (request line, `LimitRequestLine`, `LimitRequestFieldSize`,
//! `LimitRequestFields`, header syntax), and hands hyper either the head as received, a
//! rewritten head hyper can parse (`HTTP/0.9`, other 1.x versions, folded lines), or, for a
//! refused request, a stand-in `GET` whose [`Note`] tells the service to answer with the error
//! (so the error page, `ErrorDocument`, the `Server` header and both logs come from the same
//! code as every other answer) and to close. It follows each request body (`Content-Length`
//! or chunked) so the next head is found where it starts.
//!
//! It also keeps mod_reqtimeout's clocks ([`ReadTimeouts`]): a request's head must arrive
//! within the `header=` stage's time and its body within the `body=` stage's, each extended by
//! the data received at `MinRate` up to the stage's maximum. A head that runs out of time
//! while its request line is still incomplete closes the connection without an answer (the
//! first request of a connection is still logged, as `"-" 408 0`); once the request line is
//! in, the answer is a 408. A body that runs out of time fails the handler's read with
//! [`io::ErrorKind::TimedOut`], and the handler answers 408.
//!
//! On the way out it follows each response (head, then body by `Content-Length`, chunks or
//! until close) and fixes the status line of an HTTP/1.0 request's response to `HTTP/1.1`, and
//! drops the head of an HTTP/0.9 request's response, as Apache sends a 0.9 client only the body.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::config::model::ReadStage;

/// Apache's request limits (`LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub request_line: usize,
    pub field_size: usize,
    pub fields: usize,
}

/// mod_reqtimeout's `header=` and `body=` stages for a connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadTimeouts {
    pub header: ReadStage,
    pub body: ReadStage,
}

/// The message of the error a body read fails with when the body stage runs out (the
/// handler learns it from [`Notes::body_timed_out`]).
const BODY_TIMEOUT: &str = "Request body read timeout";

/// The running clock of one stage: when it runs out, and how far data may push it.
struct Clock {
    at: Instant,
    max_at: Option<Instant>,
    /// Time added per byte received (`1 s / MinRate`), zero without MinRate.
    per_byte: std::time::Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Clock {
    fn start(stage: ReadStage) -> Option<Clock> {
        if stage.timeout == 0 {
            return None;
        }
        let now = Instant::now();
        let secs = std::time::Duration::from_secs;
        Some(Clock {
            at: now + secs(stage.timeout.into()),
            max_at: (stage.max > 0).then(|| now + secs(stage.max.into())),
            per_byte: if stage.min_rate > 0 {
                std::time::Duration::from_nanos(1_000_000_000 / u64::from(stage.min_rate))
            } else {
                std::time::Duration::ZERO
            },
            sleep: None,
        })
    }

    /// `n` bytes arrived: the time left grows by `n / MinRate` seconds, up to the maximum.
    fn extend(&mut self, n: usize) {
        if self.per_byte.is_zero() || n == 0 {
            return;
        }
        let add = self
            .per_byte
            .saturating_mul(n.min(u32::MAX as usize) as u32);
        let mut at = self.at + add;
        if let Some(max) = self.max_at {
            at = at.min(max);
        }
        self.at = at;
        if let Some(sleep) = self.sleep.as_mut() {
            sleep.as_mut().reset(at);
        }
    }

    /// Ready when the stage has run out.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        std::future::Future::poll(sleep.as_mut(), cx)
    }
}

/// What the service must know about a request that hyper did not see as it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// `GET /path` without a version: hyper saw `HTTP/1.0`; log `"GET /path"` and send only
    /// the body.
    Http09,
    /// A version hyper cannot parse but Apache serves (`HTTP/1.2`, `HTTP/2.0` in a request
    /// line): hyper saw `HTTP/1.1`; the log shows the version as sent.
    Version(String),
    /// A TRACE request: the head as received, which the answer echoes.
    Trace(Vec<u8>),
    /// A request Apache refuses while reading it: answer `status`, log `line` as the request
    /// line and `why` in the error log, and close.
    Refused {
        status: u16,
        line: String,
        why: String,
    },
    /// The head did not arrive within mod_reqtimeout's `header=` time: a 408, logged with the
    /// request line when it had arrived (`None`: `"-"`, and the answer is never sent). An
    /// `unlogged` one only writes the error log's line (a later request of a connection
    /// whose request line never completed, which Apache leaves out of the access log).
    TimedOut {
        line: Option<String>,
        unlogged: bool,
    },
}

/// Notes for the requests handed to hyper, by their number on the connection (from 1).
#[derive(Debug, Default)]
pub struct Notes {
    queue: Mutex<VecDeque<(u64, Note)>>,
    body_timed_out: std::sync::atomic::AtomicBool,
    /// The last request with a body (its number) and the bytes of that body read so far as
    /// they came on the wire (chunk framing included), for mod_logio's `%I`.
    body_of: std::sync::atomic::AtomicU64,
    body_bytes: std::sync::atomic::AtomicU64,
}

impl Notes {
    /// The bytes of request `n`'s body read from the connection so far, framing included.
    pub fn body_bytes(&self, n: u64) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        if self.body_of.load(Relaxed) == n {
            self.body_bytes.load(Relaxed)
        } else {
            0
        }
    }

    fn body_starts(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.body_bytes.store(0, Relaxed);
        self.body_of.store(n, Relaxed);
    }

    fn body_read(&self, k: usize) {
        self.body_bytes
            .fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a request body of this connection ran out of mod_reqtimeout's `body=` time
    /// (the read that failed, failed for that).
    pub fn body_timed_out(&self) -> bool {
        self.body_timed_out
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The note of request number `n` of the connection, if it has one.
    pub fn take(&self, n: u64) -> Option<Note> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        while q.front().is_some_and(|(k, _)| *k < n) {
            q.pop_front();
        }
        if q.front().is_some_and(|(k, _)| *k == n) {
            return q.pop_front().map(|(_, note)| note);
        }
        None
    }

    fn push(&self, n: u64, note: Note) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((n, note));
    }
}

/// How a response to a request must be fixed on its way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Http09,
    Http10,
    Http11,
}

#[derive(Clone, Copy, Debug)]
struct Expect {
    version: Version,
    head_request: bool,
    /// An answer the client never gets (a head that timed out before its request line).
    silent: bool,
}

/// The framing of a chunked body, followed byte by byte without decoding it.
#[derive(Clone, Copy, Debug, Default)]
struct Chunks {
    state: ChunkState,
    size: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Extension,
    Data,
    DataEnd,
    LineStart,
    Trailer,
    LastLf,
    Done,
}

impl Chunks {
    /// Follows `input`; returns how many bytes belong to the body (all of them unless the
    /// body ends inside `input`).
    fn feed(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                ChunkState::Size => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                        self.size = self.size.saturating_mul(16).saturating_add(d);
                    }
                    b'\n' => self.end_of_size_line(),
                    _ => self.state = ChunkState::Extension,
                },
                ChunkState::Extension => {
                    if b == b'\n' {
                        self.end_of_size_line();
                    }
                }
                ChunkState::Data => {
                    let take = (input.len() - i).min(self.size.min(usize::MAX as u64) as usize);
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                    continue;
                }
                ChunkState::DataEnd => {
                    if b == b'\n' {
                        self.state = ChunkState::Size;
                        self.size = 0;
                    }
                }
                ChunkState::LineStart => match b {
                    b'\r' => self.state = ChunkState::LastLf,
                    b'\n' => {
                        self.state = ChunkState::Done;
                        return i + 1;
                    }
                    _ => self.state = ChunkState::Trailer,
                },
                ChunkState::Trailer => {
                    if b == b'\n' {
                        self.state = ChunkState::LineStart;
                    }
                }
                ChunkState::LastLf => {
                    self.state = ChunkState::Done;
                    return i + 1;
                }
                ChunkState::Done => return i,
            }
            i += 1;
        }
        i
    }

    fn end_of_size_line(&mut self) {
        self.state = if self.size == 0 {
            ChunkState::LineStart
        } else {
            ChunkState::Data
        };
    }

    fn done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

/// Where the incoming byte stream is.
#[derive(Clone, Copy, Debug)]
enum In {
    Head,
    Body(u64),
    Chunked(Chunks),
    /// After a refused request, an HTTP/0.9 one, or a head whose body cannot be followed:
    /// nothing more is read, and hyper is not told the client is gone (it would drop the
    /// answer), so the answer goes out and its `Connection: close` ends the connection.
    Hold,
    /// The client closed its side.
    Closed,
}

/// Where the outgoing byte stream is.
#[derive(Clone, Debug)]
enum Out {
    /// A head, with the bytes seen of it so far and what its request asked for.
    Head {
        seen: Vec<u8>,
        expect: Expect,
    },
    Body(u64),
    Chunked(Chunks),
    /// A body that ends when the connection does (or an upgraded connection).
    UntilClose,
}

/// A piece of one write: input bytes passed on, replaced by one byte, or dropped.
#[derive(Clone, Copy, Debug)]
enum Seg {
    Pass(usize),
    Replace(&'static [u8; 1]),
    Drop(usize),
}

/// The outgoing stream's state machine, kept apart so a write can be planned on a copy.
#[derive(Clone, Debug)]
struct Writer {
    out: Out,
    expects: VecDeque<Expect>,
    /// A silent answer has begun: from here on nothing is written.
    silent: bool,
    /// The length of the next head and how its body goes, told by a writer that knows them
    /// ([`Wire::announce`]) so the head need not be read again.
    announced: Option<(usize, Out)>,
}

impl Writer {
    /// Whether nothing in flight needs fixing: every answer started or awaited is to an
    /// HTTP/1.1 request.
    fn plain(&self) -> bool {
        let current = match &self.out {
            Out::Head { seen, expect } if !seen.is_empty() => expect.version == Version::Http11,
            _ => true,
        };
        current
            && !self.silent
            && self
                .expects
                .iter()
                .all(|e| e.version == Version::Http11 && !e.silent)
    }

    #[cfg(test)]
    fn idle(&self) -> bool {
        matches!(&self.out, Out::Head { seen, .. } if seen.is_empty()) && self.expects.is_empty()
    }

    /// Follows `input` as the next bytes of the stream and says what to do with each.
    fn step(&mut self, input: &[u8], segs: &mut Vec<Seg>) {
        let mut i = 0;
        while i < input.len() {
            if self.silent {
                segs.push(Seg::Drop(input.len() - i));
                return;
            }
            match &mut self.out {
                Out::Body(n) => {
                    let take = (input.len() - i).min((*n).min(usize::MAX as u64) as usize);
                    segs.push(Seg::Pass(take));
                    *n -= take as u64;
                    i += take;
                    if *n == 0 {
                        self.out = self.next_head();
                    }
                }
                Out::Chunked(c) => {
                    let take = c.feed(&input[i..]);
                    segs.push(Seg::Pass(take));
                    i += take;
                    if c.done() {
                        self.out = self.next_head();
                    }
                }
                Out::UntilClose => {
                    segs.push(Seg::Pass(input.len() - i));
                    i = input.len();
                }
                Out::Head { seen, expect } => {
                    if seen.is_empty() {
                        // A head begins: it answers the oldest request without an answer.
                        // hyper writing a head nobody asked for (its own error answer) is
                        // passed on as it is.
                        if let Some(e) = self.expects.pop_front() {
                            *expect = e;
                        }
                        if expect.silent {
                            self.silent = true;
                            continue;
                        }
                    }
                    let rest = &input[i..];
                    let announced = if seen.is_empty() {
                        self.announced.take()
                    } else {
                        None
                    };
                    if seen.is_empty() && expect.version == Version::Http11 {
                        if let Some((used, body)) = announced.filter(|(n, _)| *n <= rest.len()) {
                            segs.push(Seg::Pass(used));
                            i += used;
                            self.out = match body {
                                Out::Body(0) => self.next_head(),
                                body => body,
                            };
                            continue;
                        }
                        // The usual case: a whole head in one write, passed on as it is.
                        if let Some(at) = memchr::memmem::find(rest, b"\r\n\r\n") {
                            let used = at + 4;
                            segs.push(Seg::Pass(used));
                            i += used;
                            let expect = *expect;
                            self.out = self.after_head(&rest[..used], expect);
                            continue;
                        }
                    }
                    // Where the head ends in `rest`, if it does: a `\n` that closes
                    // `\r\n\r\n`, counting the bytes already seen before `rest`.
                    let base = seen.len();
                    let at = |j: usize| if j < base { seen[j] } else { rest[j - base] };
                    let end = rest
                        .iter()
                        .enumerate()
                        .filter(|(_, &b)| b == b'\n')
                        .map(|(k, _)| base + k)
                        .find(|&j| {
                            j >= 3 && at(j - 1) == b'\r' && at(j - 2) == b'\n' && at(j - 3) == b'\r'
                        })
                        .map(|j| j - base + 1);
                    seen.extend_from_slice(&rest[..end.unwrap_or(rest.len())]);
                    let used = end.unwrap_or(rest.len());
                    let start = seen.len() - used;
                    match expect.version {
                        Version::Http09 => segs.push(Seg::Drop(used)),
                        Version::Http10
                            if start <= 7 && start + used > 7 && seen.starts_with(b"HTTP/1.0") =>
                        {
                            let before = 7 - start;
                            if before > 0 {
                                segs.push(Seg::Pass(before));
                            }
                            segs.push(Seg::Replace(b"1"));
                            if used > before + 1 {
                                segs.push(Seg::Pass(used - before - 1));
                            }
                        }
                        _ => segs.push(Seg::Pass(used)),
                    }
                    i += used;
                    if end.is_some() {
                        let head = std::mem::take(seen);
                        let expect = *expect;
                        self.out = self.after_head(&head, expect);
                    }
                }
            }
        }
    }

    fn next_head(&self) -> Out {
        Out::Head {
            seen: Vec::new(),
            expect: Expect {
                version: Version::Http11,
                head_request: false,
                silent: false,
            },
        }
    }

    /// The body that follows a complete response head.
    fn after_head(&mut self, head: &[u8], expect: Expect) -> Out {
        let status: u16 = head
            .get(9..12)
            .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
            .unwrap_or(200);
        if (100..200).contains(&status) && status != 101 {
            // An interim answer: the final one to the same request follows.
            self.expects.push_front(expect);
            return self.next_head();
        }
        if status == 101 {
            return Out::UntilClose;
        }
        if expect.head_request || status == 204 || status == 304 {
            return self.next_head();
        }
        let mut length = None;
        let mut chunked = false;
        // Bytes, not text: this runs for every answer.
        let mut start = memchr(b'\n', head).map_or(head.len(), |n| n + 1);
        while start < head.len() {
            let end = memchr(b'\n', &head[start..]).map_or(head.len(), |n| start + n);
            let line = &head[start..end];
            start = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = memchr(b':', line) else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"content-length") {
                length = std::str::from_utf8(trim(value))
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok());
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|t| trim(t).eq_ignore_ascii_case(b"chunked"));
            }
        }
        match (chunked, length) {
            (true, _) => Out::Chunked(Chunks::default()),
            (false, Some(0)) => self.next_head(),
            (false, Some(n)) => Out::Body(n),
            (false, None) => Out::UntilClose,
        }
    }
}

/// The framing of a request body, from a checked head.
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// What the check of a request head decided.
enum Checked {
    /// Not all of the head has arrived yet.
    More,
    /// Hand hyper `deliver` (the head rewritten), or with `as_received` the head as it is in
    /// the buffer (`buf[start..used]`, copied into `deliver` only by [`Wire::check_head`]);
    /// `used` bytes of the buffer.
    Good {
        used: usize,
        start: usize,
        as_received: bool,
        deliver: Vec<u8>,
        framing: Framing,
        version: Version,
        head_request: bool,
        note: Option<Note>,
    },
    Refused {
        used: usize,
        status: u16,
        line: String,
        why: String,
    },
}

/// A connection's socket as hyper sees it. See the module documentation.
pub struct Wire<S> {
    /// Dropped before `io` (fields drop in order).
    _logs: LogsFirst,
    io: S,
    limits: Limits,
    notes: Arc<Notes>,
    /// Bytes read from the socket and not yet handed to hyper.
    inbuf: Vec<u8>,
    /// A head (as received or rewritten) being handed to hyper.
    deliver: Vec<u8>,
    delivered: usize,
    input: In,
    /// Requests handed to hyper so far.
    requests: u64,
    writer: Writer,
    segs: Vec<Seg>,
    /// mod_reqtimeout's stages, when the module is loaded.
    timeouts: Option<ReadTimeouts>,
    /// The stage's clock while a head or a body is being read.
    clock: Option<Clock>,
    /// The header clock has been started for the head being read.
    head_clock: bool,
}

impl<S> Wire<S> {
    pub fn new(io: S, limits: Limits, notes: Arc<Notes>) -> Wire<S> {
        Wire {
            _logs: LogsFirst,
            io,
            limits,
            notes,
            inbuf: Vec::new(),
            deliver: Vec::new(),
            delivered: 0,
            input: In::Head,
            requests: 0,
            writer: Writer {
                out: Out::Head {
                    seen: Vec::new(),
                    expect: Expect {
                        version: Version::Http11,
                        head_request: false,
                        silent: false,
                    },
                },
                expects: VecDeque::new(),
                silent: false,
                announced: None,
            },
            segs: Vec::new(),
            timeouts: None,
            clock: None,
            head_clock: false,
        }
    }

    /// mod_reqtimeout's stages for this connection (see the module documentation). The
    /// header clock of the first request starts now, when the connection is taken.
    pub fn with_timeouts(mut self, timeouts: Option<ReadTimeouts>) -> Wire<S> {
        self.timeouts = timeouts;
        if let Some(t) = timeouts {
            if self.requests == 0 {
                self.clock = Clock::start(t.header);
                self.head_clock = true;
            }
        }
        self
    }

    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// For a connection another process passed on: the requests it already served there,
    /// so this side's notes are numbered like the connection's requests.
    pub fn starting_after(mut self, served: u64) -> Wire<S> {
        self.requests = served;
        self
    }

    /// The socket back, with the bytes read from it that hyper has not been given yet (to
    /// pass the connection on with them).
    pub fn into_parts(self) -> (S, Vec<u8>) {
        let mut pending = self.deliver[self.delivered..].to_vec();
        pending.extend_from_slice(&self.inbuf);
        (self.io, pending)
    }

    /// The next answer's head is `head` bytes long and its body is `body` bytes, chunked
    /// (`None`) or ends with the connection (`u64::MAX`): said by a writer that built the
    /// head, before writing it. The head then goes out without being read again, when it is
    /// in one write to an HTTP/1.1 request (otherwise it is read as usual).
    pub fn announce(&mut self, head: usize, body: Option<u64>) {
        let body = match body {
            None => Out::Chunked(Chunks::default()),
            Some(u64::MAX) => Out::UntilClose,
            Some(n) => Out::Body(n),
        };
        self.writer.announced = Some((head, body));
    }

    /// Puts back bytes this wire handed out and nobody used: they are handed out again
    /// first, as they are (they were checked when they first went out).
    pub fn unread(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let rest = &self.deliver[self.delivered..];
        let mut again = Vec::with_capacity(bytes.len() + rest.len());
        again.extend_from_slice(bytes);
        again.extend_from_slice(rest);
        self.deliver = again;
        self.delivered = 0;
    }

    /// [`Self::scan_head`] with a head that goes as received copied into `deliver`.
    #[cfg(test)]
    fn check_head(&self) -> Checked {
        let mut checked = self.scan_head();
        if let Checked::Good {
            used,
            start,
            as_received: true,
            deliver,
            ..
        } = &mut checked
        {
            *deliver = self.inbuf[*start..*used].to_vec();
        }
        checked
    }

    /// Checks the head at the start of `inbuf`.
    fn scan_head(&self) -> Checked {
        let buf = &self.inbuf;
        // Empty lines before a request line are skipped, as Apache does.
        let mut start = 0;
        while start < buf.len() && (buf[start] == b'\r' || buf[start] == b'\n') {
            if buf[start] == b'\r' && buf.get(start + 1).is_some_and(|&b| b != b'\n') {
                break;
            }
            start += 1;
        }
        let limits = self.limits;
        let Some(nl) = memchr(b'\n', &buf[start..]) else {
            if buf.len() - start > limits.request_line {
                // Apache keeps one byte more than the limit for the log.
                let line = lossy(&buf[start..start + limits.request_line + 1]);
                return refuse(
                    buf.len(),
                    414,
                    line,
                    format!(
                        "AH00565: la línea de petición supera LimitRequestLine ({} bytes)",
                        limits.request_line
                    ),
                );
            }
            return Checked::More;
        };
        let line_end = start + nl;
        let raw_line = &buf[start..line_end];
        let Some(line) = raw_line.strip_suffix(b"\r") else {
            // A bare LF: Apache's strict parser refuses it and logs the line with its LF.
            return refuse(
                buf.len(),
                400,
                lossy(&buf[start..=line_end]),
                "AH02428: la línea de petición termina en LF sin CR (HttpProtocolOptions Strict)"
                    .into(),
            );
        };
        if line.len() > limits.request_line {
            let line = lossy(&line[..limits.request_line + 1]);
            return refuse(
                buf.len(),
                414,
                line,
                format!(
                    "AH00565: la línea de petición supera LimitRequestLine ({} bytes)",
                    limits.request_line
                ),
            );
        }
        // The first three words (all a valid line has), how many there are and whether one
        // is empty (two spaces in a row), without collecting them.
        let mut words: [&[u8]; 3] = [&[]; 3];
        let mut count = 0;
        let mut empty_word = false;
        for (i, w) in line.split(|&b| b == b' ').enumerate() {
            if let Some(slot) = words.get_mut(i) {
                *slot = w;
            }
            empty_word |= w.is_empty();
            count = i + 1;
        }
        let shown = |n: usize| {
            lossy(
                &line
                    .split(|&b| b == b' ')
                    .filter(|w| !w.is_empty())
                    .take(n)
                    .map(|w| w.to_vec())
                    .collect::<Vec<_>>()
                    .join(&b' '),
            )
        };
        let bad_line = |why: &str| {
            refuse(
                buf.len(),
                400,
                shown(3),
                format!("AH02418: línea de petición no válida: {why}"),
            )
        };
        if empty_word {
            return bad_line("hay espacios de más");
        }
        let (method, target) = (words[0], words[1]);
        if !method.iter().all(|&b| is_tchar(b)) {
            return bad_line("el método no es un token");
        }
        if target.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return bad_line("la URL tiene caracteres de control");
        }
        let (version, note) = match count {
            2 if method == b"GET" => (Version::Http09, Some(Note::Http09)),
            3 => match parse_version(words[2]) {
                Some((1, 0)) => (Version::Http10, None),
                Some((1, 1)) => (Version::Http11, None),
                Some(_) => (Version::Http11, Some(Note::Version(lossy(words[2])))),
                None => return bad_line("la versión no es HTTP/x.y"),
            },
            _ => return bad_line("se esperan tres palabras: método, URL y versión"),
        };
        // Only a refused head needs the line as the log shows it.
        let request_line = || shown(3);

        // The header lines.
        let mut pos = line_end + 1;
        // Header fields seen so far (for `LimitRequestFields` and a fold with nothing before it).
        let mut fields = 0usize;
        let mut folded = false;
        let mut framing = Framing::None;
        let mut has_te = false;
        let head_end = loop {
            if version == Version::Http09 {
                // A 0.9 request is one line.
                break pos;
            }
            let Some(nl) = memchr(b'\n', &buf[pos..]) else {
                if buf.len() - pos > limits.field_size {
                    return refuse(
                        buf.len(),
                        400,
                        request_line(),
                        format!(
                            "AH00561: una cabecera de la petición supera LimitRequestFieldSize ({} bytes)",
                            limits.field_size
                        ),
                    );
                }
                return Checked::More;
            };
            let end = pos + nl;
            let Some(field) = buf[pos..end].strip_suffix(b"\r") else {
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    "AH02430: una cabecera termina en LF sin CR (HttpProtocolOptions Strict)"
                        .into(),
                );
            };
            if field.is_empty() {
                break end + 1;
            }
            if field.len() > limits.field_size {
                let name = field.split(|&b| b == b':').next().unwrap_or_default();
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    format!(
                        "AH00561: la cabecera {} supera LimitRequestFieldSize ({} bytes)",
                        lossy(&name[..name.len().min(80)]),
                        limits.field_size
                    ),
                );
            }
            if field[0] == b' ' || field[0] == b'\t' {
                // obs-fold: Apache joins the line to the previous field.
                if fields == 0 {
                    return refuse(
                        buf.len(),
                        400,
                        request_line(),
                        "AH00562: una línea de continuación sin cabecera anterior".into(),
                    );
                }
                folded = true;
                pos = end + 1;
                continue;
            }
            let Some(colon) = memchr(b':', field) else {
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    format!(
                        "AH02429: línea de cabecera sin «:» ({})",
                        lossy(&field[..field.len().min(80)])
                    ),
                );
            };
            let name = &field[..colon];
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    format!(
                        "AH02429: nombre de cabecera no válido ({})",
                        lossy(&name[..name.len().min(80)])
                    ),
                );
            }
            let value = &field[colon + 1..];
            if value.iter().any(|&b| (b < b' ' && b != b'\t') || b == 0x7f) {
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    format!(
                        "AH02430: la cabecera {} tiene caracteres de control",
                        lossy(name)
                    ),
                );
            }
            fields += 1;
            if fields > limits.fields {
                return refuse(
                    buf.len(),
                    400,
                    request_line(),
                    format!(
                        "AH00563: la petición tiene más de {} cabeceras (LimitRequestFields)",
                        limits.fields
                    ),
                );
            }
            let value = trim(value);
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                has_te = true;
                let last = value.rsplit(|&b| b == b',').next().map(trim);
                framing = if last.is_some_and(|t| t.eq_ignore_ascii_case(b"chunked")) {
                    Framing::Chunked
                } else {
                    // A body hyper will refuse: nothing after it can be followed.
                    Framing::Length(u64::MAX)
                };
            } else if name.eq_ignore_ascii_case(b"content-length") && !has_te {
                match std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    Some(n) => framing = Framing::Length(n),
                    None => {
                        return refuse(
                            buf.len(),
                            400,
                            request_line(),
                            format!("AH00566: Content-Length no válido ({})", lossy(value)),
                        )
                    }
                }
            }
            pos = end + 1;
        };
        let head_request = method == b"HEAD";
        let rewritten = version == Version::Http09 || note.is_some() || folded;
        let note = if method == b"TRACE" && note.is_none() {
            Some(Note::Trace(buf[start..head_end].to_vec()))
        } else {
            note
        };

        let deliver = if rewritten {
            let mut out = Vec::with_capacity(head_end - start + 16);
            out.extend_from_slice(method);
            out.push(b' ');
            out.extend_from_slice(target);
            // hyper is told 1.0 for a 0.9 request: no keep-alive, no chunked body.
            out.extend_from_slice(if matches!(version, Version::Http09 | Version::Http10) {
                b" HTTP/1.0\r\n"
            } else {
                b" HTTP/1.1\r\n"
            });
            let mut i = line_end + 1;
            while i < head_end {
                let nl = memchr(b'\n', &buf[i..head_end]).map_or(head_end, |n| i + n);
                let line = &buf[i..nl];
                if !line.is_empty() && (line[0] == b' ' || line[0] == b'\t') {
                    // Join: drop the CRLF already written, one space for the fold.
                    out.truncate(out.len() - 2);
                    out.push(b' ');
                    out.extend_from_slice(trim(line.strip_suffix(b"\r").unwrap_or(line)));
                    out.extend_from_slice(b"\r\n");
                } else {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                i = nl + 1;
            }
            if version == Version::Http09 {
                out.extend_from_slice(b"\r\n");
            }
            out
        } else {
            Vec::new()
        };
        Checked::Good {
            used: head_end,
            start,
            as_received: !rewritten,
            deliver,
            framing,
            version,
            head_request,
            note,
        }
    }
}

fn refuse(used: usize, status: u16, line: String, why: String) -> Checked {
    Checked::Refused {
        used,
        status,
        line,
        why,
    }
}

fn parse_version(v: &[u8]) -> Option<(u32, u32)> {
    let rest = v.strip_prefix(b"HTTP/")?;
    let dot = memchr(b'.', rest)?;
    let (major, minor) = (&rest[..dot], &rest[dot + 1..]);
    let digits = |d: &[u8]| !d.is_empty() && d.len() <= 3 && d.iter().all(u8::is_ascii_digit);
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((
        std::str::from_utf8(major).ok()?.parse().ok()?,
        std::str::from_utf8(minor).ok()?.parse().ok()?,
    ))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

/// A field value without the spaces and tabs around it.
pub(super) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &v[start..end.max(start)]
}

fn lossy(b: &[u8]) -> String {
    // The log escapes every byte of what is not ASCII, so UTF-8 comes out as Apache writes it.
    String::from_utf8_lossy(b).into_owned()
}

/// The head hyper is given for a refused request: it parses, it has no body, and its answer
/// closes the connection.
const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.delivered < this.deliver.len() {
                let n = (this.deliver.len() - this.delivered).min(buf.remaining());
                buf.put_slice(&this.deliver[this.delivered..this.delivered + n]);
                this.delivered += n;
                if this.delivered == this.deliver.len() {
                    this.deliver.clear();
                    this.delivered = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match this.input {
                In::Closed => return Poll::Ready(Ok(())),
                In::Hold => return Poll::Pending,
                In::Body(0) => {
                    this.clock = None;
                    this.input = In::Head;
                }
                In::Body(n) => {
                    if !this.inbuf.is_empty() {
                        let k = this
                            .inbuf
                            .len()
                            .min(buf.remaining())
                            .min(n.min(usize::MAX as u64) as usize);
                        buf.put_slice(&this.inbuf[..k]);
                        this.inbuf.drain(..k);
                        this.notes.body_read(k);
                        this.input = In::Body(n - k as u64);
                        return Poll::Ready(Ok(()));
                    }
                    if !std::task::ready!(this.fill_timed(cx))? {
                        return Poll::Ready(Err(this.body_timed_out()));
                    }
                    if this.inbuf.is_empty() {
                        // The client closed in the middle of a body.
                        this.input = In::Closed;
                        return Poll::Ready(Ok(()));
                    }
                }
                In::Chunked(mut chunks) => {
                    if this.inbuf.is_empty() {
                        if !std::task::ready!(this.fill_timed(cx))? {
                            return Poll::Ready(Err(this.body_timed_out()));
                        }
                        if this.inbuf.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                    }
                    let avail = this.inbuf.len().min(buf.remaining());
                    let k = chunks.feed(&this.inbuf[..avail]);
                    buf.put_slice(&this.inbuf[..k]);
                    this.inbuf.drain(..k);
                    this.notes.body_read(k);
                    this.input = if chunks.done() {
                        this.clock = None;
                        In::Head
                    } else {
                        In::Chunked(chunks)
                    };
                    return Poll::Ready(Ok(()));
                }
                In::Head => match this.scan_head() {
                    Checked::More => {
                        // A later request's header clock starts with its first byte (the
                        // wait before it is KeepAliveTimeout's).
                        if !this.head_clock && !this.inbuf.is_empty() {
                            if let Some(t) = this.timeouts {
                                this.clock = Clock::start(t.header);
                                this.head_clock = true;
                            }
                        }
                        let before = this.inbuf.len();
                        if !std::task::ready!(this.fill_timed(cx))? {
                            this.head_timed_out();
                            continue;
                        }
                        if this.inbuf.len() == before {
                            // The client closed: whatever part of a head there was is lost,
                            // as with Apache.
                            this.input = In::Closed;
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Checked::Good {
                        used,
                        start,
                        as_received,
                        deliver,
                        framing,
                        version,
                        head_request,
                        note,
                    } => {
                        // What was handed over before is all gone (`deliver` is empty).
                        match as_received {
                            false => {
                                this.inbuf.drain(..used);
                                this.deliver = deliver;
                                this.delivered = 0;
                            }
                            // The head is all that was read (the usual case): the buffers
                            // change places, nothing is copied.
                            true if used == this.inbuf.len() => {
                                this.deliver.clear();
                                std::mem::swap(&mut this.inbuf, &mut this.deliver);
                                this.delivered = start;
                            }
                            true => {
                                this.deliver.clear();
                                this.deliver.extend_from_slice(&this.inbuf[start..used]);
                                this.inbuf.drain(..used);
                                this.delivered = 0;
                            }
                        }
                        this.requests += 1;
                        // The head is in: the body's clock runs while it is read.
                        this.head_clock = false;
                        this.clock = match (&framing, this.timeouts) {
                            (Framing::Length(n), Some(t)) if *n > 0 => Clock::start(t.body),
                            (Framing::Chunked, Some(t)) => Clock::start(t.body),
                            _ => None,
                        };
                        if let Some(note) = note {
                            this.notes.push(this.requests, note);
                        }
                        this.writer.expects.push_back(Expect {
                            version,
                            head_request,
                            silent: false,
                        });
                        this.input = match framing {
                            Framing::None => In::Head,
                            Framing::Length(u64::MAX) => In::Hold,
                            Framing::Length(n) => {
                                this.notes.body_starts(this.requests);
                                In::Body(n)
                            }
                            Framing::Chunked => {
                                this.notes.body_starts(this.requests);
                                In::Chunked(Chunks::default())
                            }
                        };
                        if version == Version::Http09 {
                            this.input = In::Hold;
                        }
                    }
                    Checked::Refused {
                        used,
                        status,
                        line,
                        why,
                    } => {
                        this.inbuf.drain(..used.min(this.inbuf.len()));
                        this.requests += 1;
                        this.clock = None;
                        this.notes
                            .push(this.requests, Note::Refused { status, line, why });
                        this.writer.expects.push_back(Expect {
                            version: Version::Http11,
                            head_request: false,
                            silent: false,
                        });
                        this.deliver = STAND_IN.to_vec();
                        this.delivered = 0;
                        this.input = In::Hold;
                    }
                },
            }
        }
    }
}

impl<S: AsyncRead + Unpin> Wire<S> {
    /// [`Self::fill`] under the running stage's clock: `Ok(false)` when the stage ran out
    /// (before the read, as mod_reqtimeout checks, or while waiting for it).
    fn fill_timed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if let Some(clock) = self.clock.as_mut() {
            if Instant::now() >= clock.at {
                return Poll::Ready(Ok(false));
            }
        }
        let before = self.inbuf.len();
        match self.fill(cx) {
            Poll::Ready(r) => {
                r?;
                if let Some(clock) = self.clock.as_mut() {
                    clock.extend(self.inbuf.len() - before);
                }
                Poll::Ready(Ok(true))
            }
            Poll::Pending => {
                let expired = self
                    .clock
                    .as_mut()
                    .is_some_and(|clock| clock.poll_expired(cx).is_ready());
                if expired {
                    Poll::Ready(Ok(false))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// The body stage ran out: nothing more is read, and the read fails.
    fn body_timed_out(&mut self) -> io::Error {
        self.clock = None;
        self.notes
            .body_timed_out
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.input = In::Hold;
        io::Error::new(io::ErrorKind::TimedOut, BODY_TIMEOUT)
    }

    /// The header stage ran out: hyper is handed a stand-in whose note makes the answer a
    /// 408 (never sent without a request line).
    fn head_timed_out(&mut self) {
        self.clock = None;
        self.head_clock = false;
        let buf = std::mem::take(&mut self.inbuf);
        let start = buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(buf.len());
        let line_end = memchr(b'\n', &buf[start..]).map(|n| start + n);
        let unlogged = line_end.is_none() && self.requests > 0;
        let mut deliver = b"GET / HTTP/1.1\r\nConnection: close\r\n".to_vec();
        let line = line_end.map(|end| {
            let raw = &buf[start..end];
            // The fields already complete, but the last one (Apache reads one line ahead
            // for a folded value), as the log shows them; none that would change framing or
            // the host.
            let mut fields: Vec<&[u8]> = Vec::new();
            let mut i = end + 1;
            while let Some(n) = memchr(b'\n', &buf[i..]) {
                fields.push(&buf[i..i + n + 1]);
                i += n + 1;
            }
            fields.pop();
            for f in fields {
                let Some(colon) = memchr(b':', f) else {
                    continue;
                };
                let name = &f[..colon];
                let value = trim(
                    f[colon + 1..]
                        .strip_suffix(b"\n")
                        .unwrap_or(&f[colon + 1..]),
                );
                let value = value.strip_suffix(b"\r").unwrap_or(value);
                const SKIP: &[&[u8]] = &[
                    b"host",
                    b"content-length",
                    b"transfer-encoding",
                    b"connection",
                    b"expect",
                    b"upgrade",
                    b"te",
                    b"trailer",
                ];
                if name.is_empty()
                    || !name.iter().all(|&b| is_tchar(b))
                    || SKIP.iter().any(|s| name.eq_ignore_ascii_case(s))
                    || value.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f)
                {
                    continue;
                }
                deliver.extend_from_slice(name);
                deliver.extend_from_slice(b": ");
                deliver.extend_from_slice(value);
                deliver.extend_from_slice(b"\r\n");
            }
            lossy(raw.strip_suffix(b"\r").unwrap_or(raw))
        });
        deliver.extend_from_slice(b"\r\n");
        self.requests += 1;
        self.writer.expects.push_back(Expect {
            version: Version::Http11,
            head_request: false,
            silent: line.is_none(),
        });
        self.notes
            .push(self.requests, Note::TimedOut { line, unlogged });
        self.deliver = deliver;
        self.delivered = 0;
        self.input = In::Hold;
    }

    /// Reads more from the socket into `inbuf`, at most what a head may take.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Not zeroed first: the reader only hands back what it wrote.
        let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        let mut rb = ReadBuf::uninit(&mut chunk);
        std::task::ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        self.inbuf.extend_from_slice(rb.filled());
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> Wire<S> {
    /// Writes `bufs` with the fixes the responses need; returns the input bytes consumed.
    fn write_planned(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Fast path: when every answer in flight is to an HTTP/1.1 request nothing changes
        // on the way out; the bytes are written as they are and then followed.
        if self.writer.plain() {
            let k = std::task::ready!(Pin::new(&mut self.io).poll_write_vectored(cx, bufs))?;
            let mut segs = std::mem::take(&mut self.segs);
            let mut remaining = k;
            for b in bufs {
                if remaining == 0 {
                    break;
                }
                let n = remaining.min(b.len());
                segs.clear();
                self.writer.step(&b[..n], &mut segs);
                remaining -= n;
            }
            self.segs = segs;
            return Poll::Ready(Ok(k));
        }
        // Plan on a copy: which input bytes go out as they are, which change, which are
        // dropped.
        let mut plan = self.writer.clone();
        let mut segs = std::mem::take(&mut self.segs);
        segs.clear();
        let mut bounds = Vec::with_capacity(bufs.len());
        for b in bufs {
            plan.step(b, &mut segs);
            bounds.push(segs.len());
        }
        let mut out: Vec<IoSlice<'_>> = Vec::with_capacity(segs.len());
        let mut seg_i = 0;
        for (b, &end) in bufs.iter().zip(&bounds) {
            let mut at = 0;
            while seg_i < end {
                match segs[seg_i] {
                    Seg::Pass(n) => {
                        if n > 0 {
                            out.push(IoSlice::new(&b[at..at + n]));
                        }
                        at += n;
                    }
                    Seg::Replace(r) => {
                        out.push(IoSlice::new(&r[..]));
                        at += 1;
                    }
                    Seg::Drop(n) => at += n,
                }
                seg_i += 1;
            }
        }
        let written = if out.is_empty() {
            0
        } else {
            match Pin::new(&mut self.io).poll_write_vectored(cx, &out) {
                Poll::Ready(Ok(k)) => k,
                other => {
                    self.segs = segs;
                    return other;
                }
            }
        };
        if written == 0 && !out.is_empty() {
            self.segs = segs;
            return Poll::Ready(Ok(0));
        }
        // Map the output bytes written back to input bytes, then advance the real state
        // machine over exactly those.
        let mut left = written;
        let mut consumed = 0;
        for s in &segs {
            match *s {
                // Reached only when everything before it went out.
                Seg::Drop(n) => consumed += n,
                Seg::Pass(n) => {
                    let k = n.min(left);
                    consumed += k;
                    left -= k;
                    if k < n {
                        break;
                    }
                }
                Seg::Replace(_) => {
                    if left == 0 {
                        break;
                    }
                    consumed += 1;
                    left -= 1;
                }
            }
        }
        let mut real_segs = Vec::new();
        let mut remaining = consumed;
        for b in bufs {
            if remaining == 0 {
                break;
            }
            let k = remaining.min(b.len());
            self.writer.step(&b[..k], &mut real_segs);
            remaining -= k;
        }
        self.segs = segs;
        Poll::Ready(Ok(consumed))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_planned(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_planned(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // As Apache, which logs a request before it closes the connection: a client that
        // saw the end of the connection finds the request's line in the access log.
        super::log::flush_waiting();
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Writes the access log lines waiting for soon when dropped: the first field of a
/// [`Wire`], so that it runs before the socket closes (see `poll_shutdown`).
#[derive(Debug, Default)]
struct LogsFirst;

impl Drop for LogsFirst {
    fn drop(&mut self) {
        super::log::flush_waiting();
    }
}

#[cfg(test)]
mod tests;
