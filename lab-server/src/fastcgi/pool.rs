//! Connections to one FastCGI backend (a php-fpm pool, a php-cgi pool, a flup app), the way
//! `mod_proxy_fcgi` keeps them: without multiplexing, one request per connection at a time.
//!
//! A backend whose size is known (a pool the lab runs, or `enablereuse=on` with `max=`) gets
//! `FCGI_KEEP_CONN` connections kept idle between requests, and never more requests in flight
//! than it has children: php-fpm gives a child to a kept connection until it closes, so one
//! connection more than children would wait behind an idle one. When all of them are busy, a
//! request without a body may already be written on a kept connection behind the one the
//! child is running (never more than one, and never before a request that waited longer; see
//! `Slots`): php-fpm reads it after the previous one, without multiplexing, as it would take
//! the next connection from its listen queue. Only behind a request that started a moment
//! ago: one still running after 2 ms may be a slow page, and what waits behind it would miss
//! a child that frees first, which php-fpm's listen queue would give it. A request that waits
//! in line instead is written
//! by the task that frees a child, at END_REQUEST. A backend of unknown size gets a new
//! connection per request, closed by the application (Apache's default for `fcgi://` workers).
//!
//! With the lab's serving threads (see [`crate::cores`]) the children are shared out between
//! them, one lane per thread: a thread's requests wait only for its own share and use only
//! connections registered with its own poller, so no request wakes another thread.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::cgi::{self, CgiHead};
use super::client::{self, Event, Exchange};

/// Where a backend listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `unix:/run/php/php8.2-fpm.sock` (the path already resolved in the workspace).
    Unix(PathBuf),
    /// `fcgi://127.0.0.1:9000`: host and port.
    Tcp(String, u16),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Unix(p) => write!(f, "unix:{}", p.display()),
            Backend::Tcp(h, p) => write!(f, "{h}:{p}"),
        }
    }
}

/// A connection to a backend, on either transport.
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Why a request did not get a response head.
#[derive(Debug)]
pub enum ProxyError {
    /// Nobody accepts on the backend (php-fpm stopped, wrong socket): Apache's 503.
    Unavailable(std::io::Error),
    /// No answer within the timeout: Apache's 504.
    Timeout,
    /// The backend broke the protocol or closed early: Apache's 502 (or 500 for bad heads).
    Broken(String),
    /// The head on STDOUT was not a valid CGI head.
    BadHead(cgi::HeadError),
}

/// The pool of one backend.
pub struct Pool {
    backend: Backend,
    /// One per serving thread when the backend has a child for each, else one for all.
    lanes: Vec<Lane>,
    connect_timeout: Duration,
}

/// A share of the backend's children.
struct Lane {
    /// Requests in flight are bounded by the share; `None`: not bounded, no reuse.
    slots: Option<Arc<Slots>>,
}

/// The children of a lane: how many are free, the kept connections idle (never more than
/// free children) and the requests waiting for a child, in order of arrival.
///
/// A request that ends hands its child on at once, from the task that read its
/// END_REQUEST, with its kept connection. When every child is busy, a request without a
/// body is written at once behind the one in flight on a kept connection (one at most per
/// connection): php-fpm's child reads it as soon as it has written the previous answer, as
/// it takes the next connection waiting in its listen queue behind Apache or nginx, instead
/// of sleeping until the lab's task that read that answer writes it. Otherwise the request
/// waits in line and the task that frees a child writes it on the kept connection before
/// handing both over.
struct Slots {
    state: Mutex<SlotState>,
    /// Numbers the kept connections.
    lines: std::sync::atomic::AtomicU64,
}

struct SlotState {
    free: usize,
    idle: Vec<(Instant, Stream, Line)>,
    waiting: VecDeque<Waiter>,
    /// Kept connections in flight with nobody written behind their request yet, and since
    /// when (oldest first).
    open: VecDeque<(Instant, Line)>,
    /// Requests written behind the one in flight on a kept connection: the connection's
    /// number, the waiter and how much of its request went out ([`WRITING`] while it goes:
    /// the socket is written without holding the lock).
    behind: Vec<(u64, Waiter, Arc<AtomicUsize>)>,
}

/// How long after a request went to a child another may still be written behind it.
const BEHIND_WINDOW: Duration = Duration::from_millis(2);

/// [`SlotState::behind`]: the request is being written.
const WRITING: usize = usize::MAX;

/// A kept connection's number and a second descriptor of its socket, to write a request
/// behind the one in flight while another task owns the connection.
#[derive(Clone)]
struct Line {
    id: u64,
    fd: Arc<std::os::fd::OwnedFd>,
}

impl Line {
    fn of(stream: &Stream, id: u64) -> Option<Line> {
        use std::os::fd::AsFd;
        let fd = match stream {
            Stream::Unix(s) => s.as_fd().try_clone_to_owned(),
            Stream::Tcp(s) => s.as_fd().try_clone_to_owned(),
        };
        fd.ok().map(|fd| Line {
            id,
            fd: Arc::new(fd),
        })
    }

    /// Writes what the socket takes now (non-blocking: the descriptor shares the
    /// connection's flags); `None` when it failed.
    #[allow(unsafe_code)]
    fn try_send(&self, buf: &[u8]) -> Option<usize> {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is owned by `self.fd` and stays open during the call; the
        // buffer is valid for `buf.len()` bytes.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Some(n as usize);
        }
        let e = std::io::Error::last_os_error();
        (e.kind() == std::io::ErrorKind::WouldBlock).then_some(0)
    }
}

/// A request waiting for a child. `request`: the bytes of a request without a body (written
/// on the kept connection it is given); `None` for a request with a body, which gets the
/// child but opens a connection of its own.
struct Waiter {
    request: Option<Bytes>,
    tx: oneshot::Sender<Grant>,
}

/// A child given to a waiter: with a kept connection on which the first `sent` bytes of its
/// request are already written, or none (connect anew).
struct Grant {
    slot: Slot,
    stream: Option<Kept>,
    sent: usize,
}

/// A kept connection handed on: the stream, its line and what was already read of the
/// answer to the request written behind (usually nothing).
type Kept = (Stream, Line, BytesMut);

/// One child of a lane, held by a request until its response is read; dropped, the child
/// goes to the next waiter (without a connection) or back to the free ones. `line`: the
/// kept connection the request is in flight on.
pub struct Slot {
    slots: Option<Arc<Slots>>,
    line: Option<Line>,
}

impl Slot {
    /// The request ended cleanly on `stream`, which can carry the next one; `rest`: what
    /// was read after its END_REQUEST.
    fn release(mut self, stream: Stream, rest: BytesMut) {
        if let Some(slots) = self.slots.take() {
            let line = self.line.take();
            let conn = line.clone().map(|l| (stream, l, rest));
            Slots::release(slots, conn, line.map(|l| l.id));
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            let id = self.line.take().map(|l| l.id);
            Slots::release(slots, None, id);
        }
    }
}

/// What [`Slots::acquire`] got: a free child (and a kept connection, for a request without
/// a body) or a place in the queue.
enum Acquired {
    Now(Slot, Option<Kept>),
    Later(oneshot::Receiver<Grant>),
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            state: Mutex::new(SlotState {
                free: n,
                idle: Vec::new(),
                waiting: VecDeque::new(),
                open: VecDeque::new(),
                behind: Vec::new(),
            }),
            lines: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn slot(this: &Arc<Slots>) -> Slot {
        Slot {
            slots: Some(Arc::clone(this)),
            line: None,
        }
    }

    fn acquire(this: &Arc<Slots>, request: Option<&Bytes>) -> Acquired {
        let Ok(mut st) = this.state.lock() else {
            return Acquired::Now(
                Slot {
                    slots: None,
                    line: None,
                },
                None,
            );
        };
        if st.free > 0 {
            st.free -= 1;
            // A request with a body closes a kept connection instead (it holds the child
            // this request is about to use).
            let kept = st.idle.pop().map(|(_, s, l)| (s, l, BytesMut::new()));
            drop(st);
            return Acquired::Now(Slots::slot(this), kept.filter(|_| request.is_some()));
        }
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            request: request.cloned(),
            tx,
        };
        // Every child busy and nobody waiting before this request: behind the request in
        // flight on a kept connection, if one has room.
        if st.waiting.is_empty() {
            if let Some(req) = request {
                // Only behind a request that started a moment ago: one still running after
                // [`BEHIND_WINDOW`] is likely a slow page, and a request written behind it
                // would wait for it even if another child became free first.
                let now = Instant::now();
                let fresh = st
                    .open
                    .iter()
                    .position(|(since, _)| now.duration_since(*since) < BEHIND_WINDOW);
                if let Some((_, line)) = fresh.and_then(|i| st.open.remove(i)) {
                    let sent = Arc::new(AtomicUsize::new(WRITING));
                    st.behind.push((line.id, waiter, Arc::clone(&sent)));
                    drop(st);
                    sent.store(line.try_send(req).unwrap_or(0), Ordering::Release);
                    return Acquired::Later(rx);
                }
            }
        }
        st.waiting.push_back(waiter);
        Acquired::Later(rx)
    }

    /// A request is in flight on kept connection `line`: the first request waiting in
    /// line is written behind it, or the connection is open for the next one that comes.
    fn in_flight(this: &Arc<Slots>, line: &Line) {
        let Ok(mut st) = this.state.lock() else {
            return;
        };
        loop {
            match st.waiting.front() {
                Some(w) if w.tx.is_closed() => {
                    st.waiting.pop_front();
                }
                Some(Waiter {
                    request: Some(_), ..
                }) => {
                    let Some(w) = st.waiting.pop_front() else {
                        return;
                    };
                    let req = w.request.clone().unwrap_or_default();
                    let sent = Arc::new(AtomicUsize::new(WRITING));
                    st.behind.push((line.id, w, Arc::clone(&sent)));
                    drop(st);
                    sent.store(line.try_send(&req).unwrap_or(0), Ordering::Release);
                    return;
                }
                Some(_) => return,
                None => {
                    st.open.push_back((Instant::now(), line.clone()));
                    return;
                }
            }
        }
    }

    /// A child is free again, with the kept connection it served on when the request
    /// ended cleanly; `line`: that connection's number (the request behind on it, if any,
    /// gets both).
    fn release(this: Arc<Slots>, mut conn: Option<Kept>, line: Option<u64>) {
        let mut next = None;
        if let Some(id) = line {
            if let Ok(mut st) = this.state.lock() {
                st.open.retain(|(_, l)| l.id != id);
                if let Some(i) = st.behind.iter().position(|(l, ..)| *l == id) {
                    next = Some(st.behind.swap_remove(i));
                }
            }
        }
        if let Some((_, waiter, sent)) = next {
            // The task writing it behind may still be in its (non-blocking) send.
            let sent = loop {
                match sent.load(Ordering::Acquire) {
                    WRITING => std::thread::yield_now(),
                    n => break n,
                }
            };
            // Its request is already (partly) written there: the connection is its own. A
            // connection that broke loses it: the waiter connects anew and sends it whole.
            let (stream, sent) = match conn.take() {
                Some(c) => (Some(c), sent),
                None => (None, 0),
            };
            match Slots::give(&this, waiter, stream, sent) {
                Ok(()) => return,
                // It gave up: a connection its request was written on goes with it.
                Err(back) => conn = back,
            }
        }
        // Bytes after END_REQUEST with nothing written behind: the connection is not clean.
        if conn.as_ref().is_some_and(|(_, _, rest)| !rest.is_empty()) {
            conn = None;
        }
        loop {
            let waiter = {
                let Ok(mut st) = this.state.lock() else {
                    return;
                };
                match st.waiting.pop_front() {
                    Some(w) => w,
                    None => {
                        st.free += 1;
                        if let Some((s, l, _)) = conn {
                            st.idle.push((Instant::now(), s, l));
                        }
                        return;
                    }
                }
            };
            if waiter.tx.is_closed() {
                continue;
            }
            let mut given = match &waiter.request {
                Some(_) => conn.take(),
                None => {
                    // Closed now, before the child goes to a request that connects anew.
                    drop(conn.take());
                    None
                }
            };
            let mut sent = 0;
            if let (Some((_, line, _)), Some(req)) = (&given, &waiter.request) {
                match line.try_send(req) {
                    Some(n) => sent = n,
                    None => given = None,
                }
            }
            match Slots::give(&this, waiter, given, sent) {
                Ok(()) => return,
                // The waiter gave up meanwhile: the child goes to the next one (a connection
                // with that request half or wholly written is closed).
                Err(back) => conn = back,
            }
        }
    }

    /// Hands a child (and `stream`, with `sent` bytes of the waiter's request already on
    /// it) to `waiter`. When the waiter gave up, the connection comes back if nothing of its
    /// request was written on it.
    fn give(
        this: &Arc<Slots>,
        waiter: Waiter,
        stream: Option<Kept>,
        sent: usize,
    ) -> Result<(), Option<Kept>> {
        let grant = Grant {
            slot: Slots::slot(this),
            stream,
            sent,
        };
        waiter.tx.send(grant).map_err(|mut grant| {
            grant.slot.slots = None;
            if grant.sent == 0 {
                grant.stream.take()
            } else {
                None
            }
        })
    }
}

/// A kept connection idle for longer is closed: php-fpm counts a child waiting on a kept
/// connection as busy, so without this `pm = ondemand` would never see an idle child to
/// stop, nor `dynamic` its spare ones.
pub const IDLE_KEEP: Duration = Duration::from_secs(2);

impl Pool {
    /// `size`: the number of requests the backend serves at once (`pm.max_children`), when
    /// known; then connections are kept and reused (idle ones for [`IDLE_KEEP`] at most).
    pub fn new(backend: Backend, size: Option<usize>) -> Pool {
        let threads = crate::cores::count();
        let shares: Vec<Option<usize>> = match size {
            Some(n) if threads > 1 && n >= threads => (0..threads)
                .map(|i| Some(n / threads + usize::from(i < n % threads)))
                .collect(),
            _ => vec![size],
        };
        let lanes: Vec<Lane> = shares
            .into_iter()
            .map(|share| Lane {
                slots: share.map(|n| Arc::new(Slots::new(n.max(1)))),
            })
            .collect();
        if size.is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let weak: Vec<_> = lanes
                    .iter()
                    .filter_map(|l| l.slots.as_ref().map(Arc::downgrade))
                    .collect();
                rt.spawn(async move {
                    let mut tick = tokio::time::interval(IDLE_KEEP / 2);
                    loop {
                        tick.tick().await;
                        for w in &weak {
                            let Some(slots) = w.upgrade() else { return };
                            let stale: Vec<(Instant, Stream, Line)> = match slots.state.lock() {
                                Ok(mut st) => {
                                    let (old, keep) = std::mem::take(&mut st.idle)
                                        .into_iter()
                                        .partition(|(since, ..)| since.elapsed() >= IDLE_KEEP);
                                    st.idle = keep;
                                    old
                                }
                                Err(_) => Vec::new(),
                            };
                            drop(stale);
                        }
                    }
                });
            }
        }
        Pool {
            backend,
            lanes,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// This thread's lane.
    fn lane(&self) -> &Lane {
        let i = match crate::cores::current() {
            Some(i) if self.lanes.len() > 1 => i % self.lanes.len(),
            _ => 0,
        };
        &self.lanes[i]
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Whether connections are kept between requests.
    pub fn reuses(&self) -> bool {
        self.lanes[0].slots.is_some()
    }

    /// Forgets idle connections (the backend restarted).
    pub fn clear(&self) {
        for lane in &self.lanes {
            if let Some(slots) = &lane.slots {
                let idle = match slots.state.lock() {
                    Ok(mut st) => std::mem::take(&mut st.idle),
                    Err(_) => Vec::new(),
                };
                drop(idle);
            }
        }
    }

    async fn connect(&self) -> std::io::Result<Stream> {
        let fut = async {
            Ok::<_, std::io::Error>(match &self.backend {
                Backend::Unix(p) => Stream::Unix(UnixStream::connect(p).await?),
                Backend::Tcp(h, port) => {
                    let s = TcpStream::connect((h.as_str(), *port)).await?;
                    let _ = s.set_nodelay(true);
                    Stream::Tcp(s)
                }
            })
        };
        match tokio::time::timeout(self.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// A child of `lane` for a request (`request`: its bytes when it has no body), waiting
    /// at most `timeout` for one: the slot (none when the lane is not bounded), a kept
    /// connection to use and how much of the request is already written on it.
    async fn acquire(
        &self,
        lane: &Lane,
        request: Option<&Bytes>,
        timeout: Duration,
    ) -> Result<(Option<Slot>, Option<Kept>, usize), ProxyError> {
        let Some(slots) = &lane.slots else {
            return Ok((None, None, 0));
        };
        match Slots::acquire(slots, request) {
            Acquired::Now(slot, kept) => Ok((slot.slots.is_some().then_some(slot), kept, 0)),
            Acquired::Later(rx) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(Grant { slot, stream, sent })) => Ok((Some(slot), stream, sent)),
                // The pool went away: not bounded any more.
                Ok(Err(_)) => Ok((None, None, 0)),
                Err(_) => Err(ProxyError::Timeout),
            },
        }
    }

    /// Sends one request and waits for the head of its response. STDERR seen before the head
    /// is collected in `stderr`; the returned [`Response`] streams the rest of STDOUT (and STDERR).
    /// `timeout` bounds each wait for the backend (`ProxyTimeout`, `timeout=`).
    pub async fn request(
        &self,
        params: &[super::record::Param<'_>],
        body: Option<mpsc::Receiver<Result<Bytes, String>>>,
        timeout: Duration,
        stderr: &mut Vec<Bytes>,
    ) -> Result<(CgiHead, Response), ProxyError> {
        let lane = self.lane();
        // A request without a body is encoded before it waits for a child: whoever hands it
        // one writes it on the kept connection.
        let request = body
            .is_none()
            .then(|| client::encode_bodiless(params, lane.slots.is_some()));
        // A kept connection may have been closed by the backend meanwhile (php-fpm recycling
        // a child after pm.max_requests): a request without a body is retried once on a new
        // connection when nothing at all came back.
        // A request with a body is not retried, so it never rides a kept connection; it closes
        // one instead, which frees the child that connection held.
        let mut body = body;
        for attempt in 0..2 {
            // The retry goes on a new connection of its own (neither kept nor written
            // behind another request: that child may be about to go too).
            let wanted = if attempt == 0 { request.as_ref() } else { None };
            let (slot, kept, sent) = self.acquire(lane, wanted, timeout).await?;
            let was_pooled = kept.is_some();
            let (mut stream, line, read) = match kept {
                Some((s, l, read)) => (s, Some(l), read),
                None => (
                    self.connect().await.map_err(ProxyError::Unavailable)?,
                    None,
                    BytesMut::new(),
                ),
            };
            let (mut exchange, mut permit) = match &request {
                Some(req) => {
                    let skip = if was_pooled { sent } else { 0 };
                    match tokio::io::AsyncWriteExt::write_all(&mut stream, &req[skip..]).await {
                        Ok(()) => {}
                        Err(_) if was_pooled => continue,
                        Err(e) => return Err(ProxyError::Broken(e.to_string())),
                    }
                    // The child goes on with the connection as soon as END_REQUEST is read;
                    // meanwhile the next request may be written behind this one.
                    let recycle = slot.and_then(|mut slot| {
                        let slots = Arc::clone(slot.slots.as_ref()?);
                        let line = line.or_else(|| {
                            let id = slots
                                .lines
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            Line::of(&stream, id)
                        });
                        if let Some(line) = line {
                            Slots::in_flight(&slots, &line);
                            slot.line = Some(line);
                        }
                        Some(
                            Box::new(move |s: Stream, rest: BytesMut| slot.release(s, rest))
                                as client::RecycleRest<Stream>,
                        )
                    });
                    (client::sent(stream, read, recycle), None)
                }
                None => match client::begin_with(stream, params, body.take(), None).await {
                    Ok(e) => (e, slot),
                    Err(e) => return Err(ProxyError::Broken(e.to_string())),
                },
            };
            let mut buf = BytesMut::new();
            let mut got_any = false;
            loop {
                let ev = match tokio::time::timeout(timeout, exchange.next_event()).await {
                    Ok(ev) => ev,
                    Err(_) => return Err(ProxyError::Timeout),
                };
                match ev {
                    Some(Ok(Event::Stdout(b))) => {
                        got_any = true;
                        buf.extend_from_slice(&b);
                        match cgi::parse_head(&buf) {
                            Ok(Some((head, n))) => {
                                let mut first = buf.split_off(n).freeze();
                                let mut exchange = Some(exchange);
                                // Like mod_proxy_fcgi, nothing goes to the client before the
                                // first byte of the body: a body that ends before any byte
                                // is known to be empty (Apache then sends
                                // `Content-Length: 0`).
                                while first.is_empty() {
                                    let Some(ex) = exchange.as_mut() else { break };
                                    let ev = match tokio::time::timeout(timeout, ex.next_event())
                                        .await
                                    {
                                        Ok(ev) => ev,
                                        Err(_) => return Err(ProxyError::Timeout),
                                    };
                                    match ev {
                                        Some(Ok(Event::Stdout(b))) => first = b,
                                        Some(Ok(Event::Stderr(b))) => stderr.push(b),
                                        Some(Ok(Event::End { .. })) | None => exchange = None,
                                        Some(Err(e)) => {
                                            return Err(ProxyError::Broken(e.to_string()))
                                        }
                                    }
                                }
                                // What was read with it: usually the whole answer, whose
                                // END_REQUEST frees the child now rather than when the
                                // client's side gets to it.
                                let mut more = VecDeque::new();
                                while let Some(ex) = exchange.as_mut() {
                                    match ex.try_buffered() {
                                        None => break,
                                        Some(Ok(Event::Stdout(b))) => {
                                            more.push_back(Ok(Piece::Data(b)))
                                        }
                                        Some(Ok(Event::Stderr(b))) => {
                                            more.push_back(Ok(Piece::Stderr(b)))
                                        }
                                        Some(Ok(Event::End { .. })) => exchange = None,
                                        Some(Err(e)) => {
                                            more.push_back(Err(e));
                                            exchange = None;
                                        }
                                    }
                                }
                                if exchange.is_none() {
                                    permit = None;
                                }
                                return Ok((
                                    head,
                                    Response {
                                        exchange,
                                        first: (!first.is_empty()).then_some(first),
                                        more,
                                        timeout,
                                        _permit: permit,
                                    },
                                ));
                            }
                            Ok(None) => {}
                            Err(e) => return Err(ProxyError::BadHead(e)),
                        }
                    }
                    Some(Ok(Event::Stderr(b))) => {
                        got_any = true;
                        stderr.push(b);
                    }
                    Some(Ok(Event::End { .. })) => {
                        // No head at all: what php-fpm does for an empty script output is
                        // still a 200 with no body; a partial head is an error.
                        if buf.is_empty() {
                            return Ok((
                                CgiHead {
                                    status: 200,
                                    reason: None,
                                    headers: Vec::new(),
                                },
                                Response {
                                    exchange: None,
                                    first: None,
                                    more: VecDeque::new(),
                                    timeout,
                                    _permit: None,
                                },
                            ));
                        }
                        return Err(ProxyError::Broken(
                            "la respuesta terminó antes del final de las cabeceras".into(),
                        ));
                    }
                    Some(Err(_)) | None if was_pooled && !got_any => break,
                    Some(Err(e)) => return Err(ProxyError::Broken(e.to_string())),
                    None => return Err(ProxyError::Broken("conexión cerrada".into())),
                }
            }
        }
        Err(ProxyError::Broken(
            "el backend cerró la conexión sin responder".into(),
        ))
    }
}

/// The pools of the process, one per backend: the Apache role and the services that run
/// backends (php-fpm, the php-cgi pool) share them.
fn registry() -> &'static Mutex<std::collections::HashMap<Backend, Arc<Pool>>> {
    static POOLS: std::sync::OnceLock<Mutex<std::collections::HashMap<Backend, Arc<Pool>>>> =
        std::sync::OnceLock::new();
    POOLS.get_or_init(Default::default)
}

/// A service says how many requests its backend serves at once (a new pool replaces the old
/// one: its connections belong to a previous process).
pub fn declare(backend: Backend, size: Option<usize>) {
    let pool = Arc::new(Pool::new(backend.clone(), size));
    if let Ok(mut r) = registry().lock() {
        r.insert(backend, pool);
        CHANGES.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

/// Bumped whenever a pool is replaced or removed: what threads remember is stale then.
static CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// The pool this thread used last, with the value of [`CHANGES`] it was valid at.
    static LAST: std::cell::RefCell<Option<(u64, Backend, Arc<Pool>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The service stopped: its backend is no longer known.
pub fn forget(backend: &Backend) {
    if let Ok(mut r) = registry().lock() {
        r.remove(backend);
        CHANGES.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

/// The pool of a backend, if one was declared or used.
pub fn existing(backend: &Backend) -> Option<Arc<Pool>> {
    registry().lock().ok()?.get(backend).cloned()
}

/// The pool for a request: the declared one, else one sized by the configuration (`size`,
/// from `enablereuse=on max=N`) or unbounded without reuse.
pub fn for_backend(backend: &Backend, size: Option<usize>) -> Arc<Pool> {
    // The usual case, the same backend as this thread's last request: no lock, no hashing.
    let now = CHANGES.load(std::sync::atomic::Ordering::Acquire);
    let hit = LAST.with(|l| match &*l.borrow() {
        Some((at, b, pool)) if *at == now && b == backend => Some(Arc::clone(pool)),
        _ => None,
    });
    if let Some(pool) = hit {
        return pool;
    }
    let pool = registered(backend, size);
    LAST.with(|l| *l.borrow_mut() = Some((now, backend.clone(), Arc::clone(&pool))));
    pool
}

fn registered(backend: &Backend, size: Option<usize>) -> Arc<Pool> {
    let Ok(mut r) = registry().lock() else {
        return Arc::new(Pool::new(backend.clone(), size));
    };
    // The usual case, a pool already there, without copying the key.
    if let Some(pool) = r.get(backend) {
        return Arc::clone(pool);
    }
    Arc::clone(
        r.entry(backend.clone())
            .or_insert_with(|| Arc::new(Pool::new(backend.clone(), size))),
    )
}

/// The rest of a response after its head: STDOUT chunks, with STDERR handed to a callback.
pub struct Response {
    exchange: Option<Exchange<Stream>>,
    first: Option<Bytes>,
    /// What came after `first` in the same reads.
    more: VecDeque<std::io::Result<Piece>>,
    timeout: Duration,
    /// The backend's child, held until the response is read (a request with a body; one
    /// without hands it on with its connection at END_REQUEST).
    _permit: Option<Slot>,
}

/// One piece of the rest of a response.
pub enum Piece {
    Data(Bytes),
    Stderr(Bytes),
}

impl Response {
    /// The body is known to be empty (the application ended without writing any byte of it).
    pub fn is_empty(&self) -> bool {
        self.exchange.is_none() && self.first.is_none() && self.more.is_empty()
    }

    /// Polls the next piece; `None` at END_REQUEST.
    pub fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Piece>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Piece::Data(first))));
        }
        if let Some(piece) = self.more.pop_front() {
            return Poll::Ready(Some(piece));
        }
        let Some(ex) = self.exchange.as_mut() else {
            return Poll::Ready(None);
        };
        match ex.poll_event(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(Event::Stdout(b)))) => Poll::Ready(Some(Ok(Piece::Data(b)))),
            Poll::Ready(Some(Ok(Event::Stderr(b)))) => Poll::Ready(Some(Ok(Piece::Stderr(b)))),
            Poll::Ready(Some(Ok(Event::End { .. }))) | Poll::Ready(None) => {
                self.exchange = None;
                self._permit = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.exchange = None;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    /// Each wait for the backend is bounded by this.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::{self, RecordType};
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A one-child responder on a unix socket: answers each request with `Hola N`, keeping
    /// the connection when asked to. Returns how many connections it accepted.
    async fn responder(listener: tokio::net::UnixListener, conns: Arc<Mutex<usize>>) {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            *conns.lock().unwrap() += 1;
            let mut served = 0;
            let mut buf = BytesMut::new();
            loop {
                let mut keep = false;
                let mut ended_stdin = false;
                while !ended_stdin {
                    let Ok(Some(rec)) = record::read_record(&mut s, &mut buf).await else {
                        break;
                    };
                    match rec.record_type() {
                        Some(RecordType::BeginRequest) => {
                            keep = record::parse_begin_request(&rec.content).unwrap().1 & 1 == 1
                        }
                        Some(RecordType::Stdin) if rec.content.is_empty() => ended_stdin = true,
                        _ => {}
                    }
                }
                if !ended_stdin {
                    break;
                }
                served += 1;
                let mut out = BytesMut::new();
                record::encode(&mut out, RecordType::Stderr, 1, b"PHP message: aviso");
                let text = format!("Content-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nHola {served}");
                answer(&mut out, text.as_bytes());
                if s.write_all(&out).await.is_err() || !keep {
                    break;
                }
            }
        }
    }

    /// One whole answer of request 1: `text` on STDOUT, the stream's end, `END_REQUEST`.
    fn answer(out: &mut BytesMut, text: &[u8]) {
        record::encode(out, RecordType::Stdout, 1, text);
        record::encode(out, RecordType::Stdout, 1, b"");
        record::encode(
            out,
            RecordType::EndRequest,
            1,
            &record::end_request_body(0, 0),
        );
    }

    /// Children (one task per connection) that wait `ESPERA` milliseconds (a param) before
    /// they answer `hecho`, keeping the connection.
    async fn slow_children(listener: tokio::net::UnixListener) {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                loop {
                    let mut wait = 0u64;
                    let mut ended_stdin = false;
                    while !ended_stdin {
                        let Ok(Some(rec)) = record::read_record(&mut s, &mut buf).await else {
                            return;
                        };
                        match rec.record_type() {
                            Some(RecordType::Params) => {
                                for ms in [200, 2000] {
                                    let needle = format!("ESPERA{ms}");
                                    if rec
                                        .content
                                        .windows(needle.len())
                                        .any(|w| w == needle.as_bytes())
                                    {
                                        wait = ms;
                                    }
                                }
                            }
                            Some(RecordType::Stdin) if rec.content.is_empty() => ended_stdin = true,
                            _ => {}
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let mut out = BytesMut::new();
                    answer(&mut out, b"Content-Type: text/plain\r\n\r\nhecho");
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// With every child busy on requests that have run for a while, a new request is not
    /// written behind one of them (it could be a slow page): it waits for the first child
    /// that frees, as it would in php-fpm's listen queue.
    #[tokio::test]
    async fn nothing_is_written_behind_a_request_that_has_run_for_a_while() {
        let backend = pool_served_by(Some(2), slow_children);
        let pool = backend.pool;
        let ask = |ms: &'static str| {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let params: Vec<super::super::record::Param<'_>> = vec![(
                    std::borrow::Cow::Borrowed(b"ESPERA"),
                    std::borrow::Cow::Borrowed(ms.as_bytes()),
                )];
                let (_, rest) = pool
                    .request(&params, None, Duration::from_secs(10), &mut Vec::new())
                    .await
                    .unwrap();
                body_text(rest).await
            })
        };
        // Both children busy: one for 2 s, one for 200 ms; both past the window by now.
        let slow = ask("2000");
        let medium = ask("200");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t0 = Instant::now();
        let fast = ask("0");
        assert_eq!(fast.await.unwrap(), "hecho");
        let took = t0.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "it waited for the slow child: {took:?}"
        );
        assert_eq!(medium.await.unwrap(), "hecho");
        assert_eq!(slow.await.unwrap(), "hecho");
    }

    async fn body_text(mut r: Response) -> String {
        let mut out = Vec::new();
        while let Some(p) = std::future::poll_fn(|cx| r.poll_piece(cx)).await {
            if let Piece::Data(d) = p.unwrap() {
                out.extend_from_slice(&d);
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// A pool of `size` connections to a socket in a new directory that `serve` answers.
    struct Served {
        _dir: tempfile::TempDir,
        sock: std::path::PathBuf,
        task: tokio::task::JoinHandle<()>,
        pool: Arc<Pool>,
    }

    fn pool_served_by<F, Fut>(size: Option<usize>, serve: F) -> Served
    where
        F: FnOnce(tokio::net::UnixListener) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("fpm.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let task = tokio::spawn(serve(listener));
        let pool = Arc::new(Pool::new(Backend::Unix(sock.clone()), size));
        Served {
            _dir: dir,
            sock,
            task,
            pool,
        }
    }

    /// The body of one request without parameters through `pool`.
    async fn hello(pool: &Pool) -> String {
        let (_, rest) = pool
            .request(&[], None, Duration::from_secs(5), &mut Vec::new())
            .await
            .unwrap();
        body_text(rest).await
    }

    #[tokio::test]
    async fn a_sized_pool_keeps_one_connection_per_child() {
        let conns = Arc::new(Mutex::new(0));
        let c = Arc::clone(&conns);
        let backend = pool_served_by(Some(1), |l| responder(l, c));
        let pool = Arc::clone(&backend.pool);
        for n in 1..=3 {
            let mut errs = Vec::new();
            let (head, rest) = pool
                .request(&[], None, Duration::from_secs(5), &mut errs)
                .await
                .unwrap();
            assert_eq!(head.status, 200);
            let cookies: Vec<_> = head
                .headers
                .iter()
                .filter(|(k, _)| k == "Set-Cookie")
                .collect();
            assert_eq!(cookies.len(), 2);
            assert_eq!(errs, vec![Bytes::from_static(b"PHP message: aviso")]);
            assert_eq!(body_text(rest).await, format!("Hola {n}"));
        }
        assert_eq!(
            *conns.lock().unwrap(),
            1,
            "one kept connection served all three"
        );
    }

    #[tokio::test]
    async fn a_child_goes_from_one_request_to_the_next_waiting_one_on_its_connection() {
        let conns = Arc::new(Mutex::new(0));
        let c = Arc::clone(&conns);
        let backend = pool_served_by(Some(1), |l| responder(l, c));
        let pool = Arc::clone(&backend.pool);
        // A waiter that gives up (its timeout is shorter than the others' wait) must not
        // keep the child from the ones after it.
        let mut tasks = Vec::new();
        for i in 0..6 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move {
                let wait = if i == 2 {
                    Duration::from_nanos(1)
                } else {
                    Duration::from_secs(5)
                };
                match pool.request(&[], None, wait, &mut Vec::new()).await {
                    Ok((_, rest)) => Some(body_text(rest).await),
                    Err(ProxyError::Timeout) => None,
                    Err(e) => panic!("{e:?}"),
                }
            }));
        }
        let mut bodies = Vec::new();
        for t in tasks {
            if let Some(b) = t.await.unwrap() {
                bodies.push(b);
            }
        }
        bodies.sort();
        let served = bodies.len();
        assert!(served >= 5, "{bodies:?}");
        let expected: Vec<String> = (1..=served).map(|n| format!("Hola {n}")).collect();
        assert_eq!(bodies, expected, "one child served them in turn");
        assert_eq!(*conns.lock().unwrap(), 1, "all on one kept connection");
        // The child is free again for a later request.
        assert_eq!(hello(&pool).await, format!("Hola {}", served + 1));
    }

    /// A one-child responder that reads two requests before it answers both in one write
    /// (as a child fast enough does when the lab reads late).
    async fn two_at_once(listener: tokio::net::UnixListener, conns: Arc<Mutex<usize>>) {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        *conns.lock().unwrap() += 1;
        let mut buf = BytesMut::new();
        let mut ended = 0;
        while ended < 2 {
            let Ok(Some(rec)) = record::read_record(&mut s, &mut buf).await else {
                return;
            };
            if rec.record_type() == Some(RecordType::Stdin) && rec.content.is_empty() {
                ended += 1;
            }
        }
        let mut out = BytesMut::new();
        for n in 1..=2 {
            let text = format!("Content-Type: text/plain\r\n\r\nHola {n}");
            answer(&mut out, text.as_bytes());
        }
        s.write_all(&out).await.unwrap();
        // Keeps the connection open until the client goes.
        let _ = record::read_record(&mut s, &mut buf).await;
    }

    #[tokio::test]
    async fn a_request_written_behind_another_gets_its_answer_even_when_read_with_the_first() {
        let conns = Arc::new(Mutex::new(0));
        let c = Arc::clone(&conns);
        let backend = pool_served_by(Some(1), |l| two_at_once(l, c));
        let pool = Arc::clone(&backend.pool);
        let first = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { hello(&pool).await })
        };
        // The first one is in flight before the second asks.
        while pool.lanes[0]
            .slots
            .as_ref()
            .is_some_and(|s| s.state.lock().unwrap().open.is_empty())
        {
            tokio::task::yield_now().await;
        }
        assert_eq!(hello(&pool).await, "Hola 2");
        assert_eq!(first.await.unwrap(), "Hola 1");
        assert_eq!(*conns.lock().unwrap(), 1, "both on the one connection");
    }

    /// A child that serves one request per connection and then closes it, kept or not (as
    /// php-fpm with `pm.max_requests = 1`), one connection at a time.
    async fn one_per_connection(listener: tokio::net::UnixListener) {
        let mut served = 0;
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = BytesMut::new();
            loop {
                let Ok(Some(rec)) = record::read_record(&mut s, &mut buf).await else {
                    break;
                };
                if rec.record_type() == Some(RecordType::Stdin) && rec.content.is_empty() {
                    break;
                }
            }
            served += 1;
            let mut out = BytesMut::new();
            let text = format!("Content-Type: text/plain\r\n\r\nHola {served}");
            record::encode(&mut out, RecordType::Stdout, 1, text.as_bytes());
            record::encode(
                &mut out,
                RecordType::EndRequest,
                1,
                &record::end_request_body(0, 0),
            );
            let _ = s.write_all(&out).await;
        }
    }

    #[tokio::test]
    async fn requests_written_behind_one_whose_child_goes_away_are_sent_again() {
        let backend = pool_served_by(Some(1), one_per_connection);
        let pool = Arc::clone(&backend.pool);
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move { hello(&pool).await }));
        }
        let mut bodies = Vec::new();
        for t in tasks {
            bodies.push(t.await.unwrap());
        }
        bodies.sort();
        assert_eq!(bodies, ["Hola 1", "Hola 2", "Hola 3", "Hola 4", "Hola 5"]);
    }

    #[tokio::test]
    async fn an_unsized_pool_opens_a_connection_per_request_and_a_dead_backend_is_unavailable() {
        let conns = Arc::new(Mutex::new(0));
        let c = Arc::clone(&conns);
        let Served {
            _dir,
            sock,
            task,
            pool,
        } = pool_served_by(None, |l| responder(l, c));
        for _ in 0..2 {
            assert_eq!(hello(&pool).await, "Hola 1");
        }
        assert_eq!(*conns.lock().unwrap(), 2);
        task.abort();
        let _ = task.await;
        std::fs::remove_file(&sock).unwrap();
        let err = pool
            .request(&[], None, Duration::from_secs(5), &mut Vec::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ProxyError::Unavailable(_)));
    }

    #[tokio::test]
    async fn a_silent_backend_times_out() {
        let backend = pool_served_by(None, |listener| async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        });
        let pool = Arc::clone(&backend.pool);
        let err = pool
            .request(&[], None, Duration::from_millis(200), &mut Vec::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ProxyError::Timeout));
    }
}
