//! Connections to one FastCGI backend (a php-fpm pool, a php-cgi pool, a flup app), the way
//! `mod_proxy_fcgi` keeps them: without multiplexing, one request per connection at a time.
//!
//! A backend whose size is known (a pool the lab runs, or `enablereuse=on` with `max=`) gets
//! `FCGI_KEEP_CONN` connections kept idle between requests, and never more requests in flight
//! than it has children: php-fpm gives a child to a kept connection until it closes, so one
//! connection more than children would wait behind an idle one. A backend of unknown size
//! gets a new connection per request, closed by the application (Apache's default for
//! `fcgi://` workers).
//!
//! With the lab's serving threads (see [`crate::cores`]) the children are shared out between
//! them, one lane per thread: a thread's requests wait only for its own share and use only
//! connections registered with its own poller, so no request wakes another thread.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::pin::Pin;
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

impl Stream {
    /// Writes what the socket takes now, without waiting (`WouldBlock`: nothing).
    fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.try_write(buf),
            Stream::Tcp(s) => s.try_write(buf),
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
/// END_REQUEST: the kept connection goes to the first waiter with the waiter's request
/// already written on it, so the child starts on it without waiting for the waiter's task
/// to run.
struct Slots {
    state: Mutex<SlotState>,
}

struct SlotState {
    free: usize,
    idle: Vec<(Instant, Stream)>,
    waiting: VecDeque<Waiter>,
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
    stream: Option<Stream>,
    sent: usize,
}

/// One child of a lane, held by a request until its response is read; dropped, the child
/// goes to the next waiter (without a connection) or back to the free ones.
pub struct Slot {
    slots: Option<Arc<Slots>>,
}

impl Slot {
    /// The request ended cleanly on `stream`, which can carry the next one.
    fn release(mut self, stream: Stream) {
        if let Some(slots) = self.slots.take() {
            Slots::release(slots, Some(stream));
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            Slots::release(slots, None);
        }
    }
}

/// What [`Slots::acquire`] got: a free child (and a kept connection, for a request without
/// a body) or a place in the queue.
enum Acquired {
    Now(Slot, Option<Stream>),
    Later(oneshot::Receiver<Grant>),
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            state: Mutex::new(SlotState {
                free: n,
                idle: Vec::new(),
                waiting: VecDeque::new(),
            }),
        }
    }

    fn acquire(this: &Arc<Slots>, request: Option<&Bytes>) -> Acquired {
        let Ok(mut st) = this.state.lock() else {
            return Acquired::Now(Slot { slots: None }, None);
        };
        if st.free > 0 {
            st.free -= 1;
            // A request with a body closes a kept connection instead (it holds the child
            // this request is about to use).
            let kept = st.idle.pop().map(|(_, s)| s);
            drop(st);
            let slot = Slot {
                slots: Some(Arc::clone(this)),
            };
            return Acquired::Now(slot, kept.filter(|_| request.is_some()));
        }
        let (tx, rx) = oneshot::channel();
        st.waiting.push_back(Waiter {
            request: request.cloned(),
            tx,
        });
        Acquired::Later(rx)
    }

    /// A child is free again, with the kept connection it served on when the request
    /// ended cleanly.
    fn release(this: Arc<Slots>, mut stream: Option<Stream>) {
        loop {
            let waiter = {
                let Ok(mut st) = this.state.lock() else {
                    return;
                };
                match st.waiting.pop_front() {
                    Some(w) => w,
                    None => {
                        st.free += 1;
                        if let Some(s) = stream {
                            st.idle.push((Instant::now(), s));
                        }
                        return;
                    }
                }
            };
            if waiter.tx.is_closed() {
                continue;
            }
            let mut conn = match &waiter.request {
                Some(_) => stream.take(),
                None => {
                    stream = None;
                    None
                }
            };
            let mut sent = 0;
            if let (Some(s), Some(req)) = (&conn, &waiter.request) {
                match s.try_write(req) {
                    Ok(n) => sent = n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => conn = None,
                }
            }
            let grant = Grant {
                slot: Slot {
                    slots: Some(Arc::clone(&this)),
                },
                stream: conn,
                sent,
            };
            match waiter.tx.send(grant) {
                Ok(()) => return,
                Err(mut grant) => {
                    // The waiter gave up meanwhile: the child goes to the next one (a
                    // connection with that request half or wholly written is closed).
                    grant.slot.slots = None;
                    if grant.sent == 0 {
                        stream = grant.stream.take();
                    }
                }
            }
        }
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
                            let stale: Vec<(Instant, Stream)> = match slots.state.lock() {
                                Ok(mut st) => {
                                    let (old, keep) = std::mem::take(&mut st.idle)
                                        .into_iter()
                                        .partition(|(since, _)| since.elapsed() >= IDLE_KEEP);
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
    /// at most `timeout` for one: the slot (none when the lane is not bounded), a connection
    /// to use and how much of the request is already written on it.
    async fn acquire(
        &self,
        lane: &Lane,
        request: Option<&Bytes>,
        timeout: Duration,
    ) -> Result<(Option<Slot>, Option<Stream>, usize), ProxyError> {
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
        for _attempt in 0..2 {
            let (slot, kept, sent) = self.acquire(lane, request.as_ref(), timeout).await?;
            let was_pooled = kept.is_some();
            let mut stream = match kept {
                Some(s) => s,
                None => self.connect().await.map_err(ProxyError::Unavailable)?,
            };
            let (mut exchange, mut permit) = match &request {
                Some(req) => {
                    let skip = if was_pooled { sent } else { 0 };
                    match tokio::io::AsyncWriteExt::write_all(&mut stream, &req[skip..]).await {
                        Ok(()) => {}
                        Err(_) if was_pooled => continue,
                        Err(e) => return Err(ProxyError::Broken(e.to_string())),
                    }
                    // The child goes on with the connection as soon as END_REQUEST is read.
                    let recycle = slot.map(|slot| {
                        Box::new(move |s: Stream| slot.release(s)) as client::Recycle<Stream>
                    });
                    (client::sent(stream, recycle), None)
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
                record::encode(&mut out, RecordType::Stdout, 1, text.as_bytes());
                record::encode(&mut out, RecordType::Stdout, 1, b"");
                record::encode(
                    &mut out,
                    RecordType::EndRequest,
                    1,
                    &record::end_request_body(0, 0),
                );
                if s.write_all(&out).await.is_err() || !keep {
                    break;
                }
            }
        }
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

    #[tokio::test]
    async fn a_sized_pool_keeps_one_connection_per_child() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("fpm.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let conns = Arc::new(Mutex::new(0));
        tokio::spawn(responder(listener, Arc::clone(&conns)));
        let pool = Pool::new(Backend::Unix(sock.clone()), Some(1));
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
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("fpm.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let conns = Arc::new(Mutex::new(0));
        tokio::spawn(responder(listener, Arc::clone(&conns)));
        let pool = Arc::new(Pool::new(Backend::Unix(sock.clone()), Some(1)));
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
        let (_, rest) = pool
            .request(&[], None, Duration::from_secs(5), &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(body_text(rest).await, format!("Hola {}", served + 1));
    }

    #[tokio::test]
    async fn an_unsized_pool_opens_a_connection_per_request_and_a_dead_backend_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("app.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let conns = Arc::new(Mutex::new(0));
        let task = tokio::spawn(responder(listener, Arc::clone(&conns)));
        let pool = Pool::new(Backend::Unix(sock.clone()), None);
        for _ in 0..2 {
            let (_, rest) = pool
                .request(&[], None, Duration::from_secs(5), &mut Vec::new())
                .await
                .unwrap();
            assert_eq!(body_text(rest).await, "Hola 1");
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
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("slow.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let _keep = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        });
        let pool = Pool::new(Backend::Unix(sock), None);
        let err = pool
            .request(&[], None, Duration::from_millis(200), &mut Vec::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ProxyError::Timeout));
    }
}
