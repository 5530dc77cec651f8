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

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

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

/// Kept connections and since when each is idle.
type IdleList = Arc<Mutex<Vec<(std::time::Instant, Stream)>>>;

/// A share of the backend's children.
struct Lane {
    /// Requests in flight are bounded by the share; `None`: not bounded, no reuse.
    slots: Option<Arc<Semaphore>>,
    idle: IdleList,
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
                slots: share.map(|n| Arc::new(Semaphore::new(n.max(1)))),
                idle: Arc::default(),
            })
            .collect();
        if size.is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let weak: Vec<_> = lanes.iter().map(|l| Arc::downgrade(&l.idle)).collect();
                rt.spawn(async move {
                    let mut tick = tokio::time::interval(IDLE_KEEP / 2);
                    loop {
                        tick.tick().await;
                        for w in &weak {
                            let Some(idle) = w.upgrade() else { return };
                            let guard = idle.lock();
                            if let Ok(mut list) = guard {
                                list.retain(|(since, _)| since.elapsed() < IDLE_KEEP);
                            }
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
            if let Ok(mut idle) = lane.idle.lock() {
                idle.clear();
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
        let permit = match &lane.slots {
            // A free child: no timer to set up and take down.
            Some(s) => match Arc::clone(s).try_acquire_owned() {
                Ok(p) => Some(p),
                Err(tokio::sync::TryAcquireError::Closed) => None,
                Err(tokio::sync::TryAcquireError::NoPermits) => {
                    match tokio::time::timeout(timeout, Arc::clone(s).acquire_owned()).await {
                        Ok(Ok(p)) => Some(p),
                        Ok(Err(_)) => None,
                        Err(_) => return Err(ProxyError::Timeout),
                    }
                }
            },
            None => None,
        };
        let reuse = permit.is_some() && body.is_none();
        // A kept connection may have been closed by the backend meanwhile (php-fpm recycling
        // a child after pm.max_requests): a request without a body is retried once on a new
        // connection when nothing at all came back.
        // A request with a body is not retried, so it never rides a kept connection; it closes
        // one instead, which frees the child that connection held.
        if body.is_some() {
            if let Ok(mut idle) = lane.idle.lock() {
                idle.pop();
            }
        }
        let mut body = body;
        for attempt in 0..2 {
            let pooled = if attempt == 0 && reuse {
                lane.idle
                    .lock()
                    .ok()
                    .and_then(|mut i| i.pop())
                    .map(|(_, s)| s)
            } else {
                None
            };
            let was_pooled = pooled.is_some();
            let stream = match pooled {
                Some(s) => s,
                None => self.connect().await.map_err(ProxyError::Unavailable)?,
            };
            let recycle: Option<client::Recycle<Stream>> = reuse.then(|| {
                let idle = Arc::clone(&lane.idle);
                Box::new(move |s: Stream| {
                    if let Ok(mut idle) = idle.lock() {
                        idle.push((std::time::Instant::now(), s));
                    }
                }) as client::Recycle<Stream>
            });
            let mut exchange = match client::begin_with(stream, params, body.take(), recycle).await
            {
                Ok(e) => e,
                Err(_) if was_pooled => continue,
                Err(e) => return Err(ProxyError::Broken(e.to_string())),
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
                                let empty = exchange.is_none() && first.is_empty();
                                return Ok((
                                    head,
                                    Response {
                                        exchange,
                                        first: (!first.is_empty()).then_some(first),
                                        timeout,
                                        _permit: (!empty).then_some(permit).flatten(),
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
                                    timeout,
                                    _permit: permit,
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
    timeout: Duration,
    /// The backend slot, held until the response is read.
    _permit: Option<OwnedSemaphorePermit>,
}

/// One piece of the rest of a response.
pub enum Piece {
    Data(Bytes),
    Stderr(Bytes),
}

impl Response {
    /// The body is known to be empty (the application ended without writing any byte of it).
    pub fn is_empty(&self) -> bool {
        self.exchange.is_none() && self.first.is_none()
    }

    /// Polls the next piece; `None` at END_REQUEST.
    pub fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Piece>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Piece::Data(first))));
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
