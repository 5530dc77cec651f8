//! Backends of the VCL: connection pools, health probes and directors.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::body::ProxyBody;
use super::stats::Stats;
use super::vcl::interp::BackendRef;
use super::vcl::parser::{BackendDef, DirectorKind, ProbeDef, Program};

/// An idle backend connection: hyper's sender and the connection's [`Tap`].
type Pooled = (SendRequest<ProxyBody>, Arc<Mutex<Tap>>);

pub struct Backend {
    pub def: BackendDef,
    healthy: AtomicBool,
    /// Probe results, newest in bit 0.
    history: AtomicU64,
    /// With the serving thread each connection's task runs on (see [`crate::cores`]).
    pool: Mutex<Vec<(Option<usize>, Pooled)>>,
    probe: Mutex<Option<JoinHandle<()>>>,
}

pub struct Director {
    pub name: String,
    pub kind: DirectorKind,
    members: Mutex<Vec<(usize, f64)>>,
    next: AtomicUsize,
}

/// The backends and directors of one loaded VCL.
pub struct Backends {
    pub list: Vec<Arc<Backend>>,
    pub directors: Vec<Director>,
    stats: Arc<Stats>,
}

/// Why a backend request failed, in Spanish (for the log and the 503 page).
pub type FetchError = String;

impl Backends {
    pub fn new(prog: &Program, stats: Arc<Stats>) -> Backends {
        let list = prog
            .backends
            .iter()
            .map(|d| {
                let initial_ok = d.probe.as_ref().is_none_or(|p| {
                    p.initial.unwrap_or(p.threshold.saturating_sub(1)) >= p.threshold
                });
                let initial = d
                    .probe
                    .as_ref()
                    .map(|p| p.initial.unwrap_or(p.threshold.saturating_sub(1)))
                    .unwrap_or(0);
                Arc::new(Backend {
                    def: d.clone(),
                    healthy: AtomicBool::new(initial_ok),
                    history: AtomicU64::new((1u64 << initial.min(63)) - 1),
                    pool: Mutex::new(Vec::new()),
                    probe: Mutex::new(None),
                })
            })
            .collect();
        let directors = prog
            .objects
            .iter()
            .map(|o| Director {
                name: o.name.clone(),
                kind: o.kind,
                members: Mutex::new(Vec::new()),
                next: AtomicUsize::new(0),
            })
            .collect();
        Backends {
            list,
            directors,
            stats,
        }
    }

    /// Starts the health probes (call inside a tokio runtime).
    pub fn start_probes(&self) {
        for b in &self.list {
            if let Some(p) = b.def.probe.clone() {
                let weak = Arc::downgrade(b);
                let task = tokio::spawn(async move {
                    loop {
                        let Some(b) = weak.upgrade() else { return };
                        let ok = probe_once(&b.def, &p).await;
                        b.record_probe(ok, &p);
                        drop(b);
                        tokio::time::sleep(p.interval).await;
                    }
                });
                *b.probe.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
            }
        }
    }

    pub fn stop_probes(&self) {
        for b in &self.list {
            if let Some(t) = b.probe.lock().unwrap_or_else(|e| e.into_inner()).take() {
                t.abort();
            }
        }
    }

    pub fn healthy(&self, r: BackendRef) -> bool {
        match r {
            BackendRef::Backend(i) => self.list.get(i).is_some_and(|b| b.is_healthy()),
            BackendRef::Director(d) => self.directors.get(d).is_some_and(|d| {
                d.members
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .any(|(b, _)| self.list[*b].is_healthy())
            }),
        }
    }

    pub fn name(&self, r: BackendRef) -> String {
        match r {
            BackendRef::Backend(i) => self
                .list
                .get(i)
                .map(|b| b.def.name.clone())
                .unwrap_or_default(),
            BackendRef::Director(d) => self
                .directors
                .get(d)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
        }
    }

    pub fn add_to_director(&self, d: usize, b: usize, weight: f64) {
        if let Some(d) = self.directors.get(d) {
            d.members
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((b, weight));
        }
    }

    /// The backend a request goes to: the director's choice among healthy members, or the
    /// backend itself. `None` when nothing healthy is left.
    pub fn resolve(&self, r: Option<BackendRef>) -> Option<Arc<Backend>> {
        match r.unwrap_or(BackendRef::Backend(0)) {
            BackendRef::Backend(i) => {
                let b = self.list.get(i)?;
                b.is_healthy().then(|| Arc::clone(b))
            }
            BackendRef::Director(d) => {
                let d = self.directors.get(d)?;
                let members = d.members.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let healthy: Vec<(usize, f64)> = members
                    .into_iter()
                    .filter(|(b, _)| self.list[*b].is_healthy())
                    .collect();
                if healthy.is_empty() {
                    return None;
                }
                let pick = match d.kind {
                    DirectorKind::Fallback => healthy[0].0,
                    DirectorKind::RoundRobin => {
                        healthy[d.next.fetch_add(1, Relaxed) % healthy.len()].0
                    }
                    DirectorKind::Random => {
                        let total: f64 = healthy.iter().map(|(_, w)| w.max(0.0)).sum();
                        let mut x = super::random_unit() * total;
                        let mut chosen = healthy[0].0;
                        for (b, w) in &healthy {
                            if x < *w {
                                chosen = *b;
                                break;
                            }
                            x -= w;
                        }
                        chosen
                    }
                };
                Some(Arc::clone(&self.list[pick]))
            }
        }
    }

    /// Sends `req` to `b`, reusing an idle connection when there is one.
    pub async fn send(
        &self,
        b: &Backend,
        req: http::Request<ProxyBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, FetchError> {
        let here = crate::cores::current();
        let sender = {
            let mut pool = b.pool.lock().unwrap_or_else(|e| e.into_inner());
            pool.retain(|(_, s)| !s.0.is_closed());
            // The latest one idle on this thread, else on another one (its requests then
            // cross over to that thread, which still beats a new connection).
            let at = pool
                .iter()
                .rposition(|(core, s)| *core == here && s.0.is_ready())
                .or_else(|| pool.iter().rposition(|(_, s)| s.0.is_ready()));
            at.map(|i| pool.remove(i))
        };
        let (origin, (mut sender, tap)) = match sender {
            Some(s) => {
                self.stats.backend_reuse.fetch_add(1, Relaxed);
                s
            }
            None => {
                let s = self.connect(b).await?;
                self.stats.backend_conn.fetch_add(1, Relaxed);
                (here, s)
            }
        };
        self.stats.backend_req.fetch_add(1, Relaxed);
        tap.lock().unwrap_or_else(|e| e.into_inner()).start();
        let fut = sender.send_request(req);
        let mut resp = match tokio::time::timeout(b.def.first_byte_timeout, fut).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(format!(
                    "el backend `{}` cortó la conexión: {e}",
                    b.def.name
                ))
            }
            Err(_) => {
                return Err(format!(
                    "el backend `{}` no respondió en {:?} (first_byte_timeout)",
                    b.def.name, b.def.first_byte_timeout
                ))
            }
        };
        let raw = tap.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(list) = original_head(&raw, resp.headers()) {
            resp.extensions_mut().insert(BackendHead(list));
        }
        b.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((origin, (sender, tap)));
        Ok(resp)
    }

    async fn connect(&self, b: &Backend) -> Result<Pooled, FetchError> {
        let addr = format!("{}:{}", b.def.host, b.def.port);
        let stream = match tokio::time::timeout(
            b.def.connect_timeout,
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.stats.backend_fail.fetch_add(1, Relaxed);
                return Err(format!(
                    "no se pudo conectar con el backend `{}` ({addr}): {e}",
                    b.def.name
                ));
            }
            Err(_) => {
                self.stats.backend_fail.fetch_add(1, Relaxed);
                return Err(format!(
                    "el backend `{}` ({addr}) no aceptó la conexión en {:?}",
                    b.def.name, b.def.connect_timeout
                ));
            }
        };
        let _ = stream.set_nodelay(true);
        let tap = Arc::new(Mutex::new(Tap::default()));
        let io = TappedIo {
            inner: stream,
            tap: Arc::clone(&tap),
        };
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("backend `{}`: {e}", b.def.name))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((sender, tap))
    }

    /// Health of every backend, for `lab proxy stat` and `lab status`.
    pub fn health(&self) -> Vec<(String, bool, String)> {
        self.list
            .iter()
            .map(|b| {
                let probe = match &b.def.probe {
                    Some(p) => {
                        let h = b.history.load(Relaxed);
                        let mask = if p.window >= 64 {
                            u64::MAX
                        } else {
                            (1u64 << p.window) - 1
                        };
                        format!("sonda {}/{} correctas", (h & mask).count_ones(), p.window)
                    }
                    None => "sin sonda".to_string(),
                };
                (b.def.name.clone(), b.is_healthy(), probe)
            })
            .collect()
    }
}

impl Backend {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Relaxed)
    }

    fn record_probe(&self, ok: bool, p: &ProbeDef) {
        let h = (self.history.load(Relaxed) << 1) | u64::from(ok);
        self.history.store(h, Relaxed);
        let mask = if p.window >= 64 {
            u64::MAX
        } else {
            (1u64 << p.window) - 1
        };
        let good = (h & mask).count_ones();
        self.healthy.store(good >= p.threshold, Relaxed);
    }
}

/// One probe: a request on a new connection; good when the status is the expected one.
async fn probe_once(b: &BackendDef, p: &ProbeDef) -> bool {
    let addr = format!("{}:{}", b.host, b.port);
    let request = match &p.request {
        Some(lines) => {
            let mut r = lines.join("\r\n");
            r.push_str("\r\n\r\n");
            r
        }
        None => format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            p.url,
            b.host_header.as_deref().unwrap_or(&b.host)
        ),
    };
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
        s.write_all(request.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 256];
        let mut n = 0;
        while n < 12 {
            let r = s.read(&mut buf[n..]).await.ok()?;
            if r == 0 {
                break;
            }
            n += r;
        }
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
        let code: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(code)
    };
    matches!(
        tokio::time::timeout(p.timeout, attempt).await,
        Ok(Some(code)) if code == p.expected_response
    )
}

/// A short wait helper for tests of probes.
pub fn probe_interval(p: &ProbeDef) -> Duration {
    p.interval
}

/// A backend answer's header fields as the backend wrote them (names as spelled, in their
/// order), which hyper's header map does not keep (it lowers the names and groups them).
/// Put in the response's extensions by [`Backends::send`] when it could read them.
#[derive(Clone, Debug)]
pub struct BackendHead(pub Vec<(String, String)>);

/// The most a tap keeps: more than any head hyper takes.
const TAP_LIMIT: usize = 512 * 1024;

/// What a backend connection reads from the moment a request is sent until its answer's
/// head is known (the bytes hyper parses the head from).
#[derive(Default)]
pub struct Tap {
    on: bool,
    buf: Vec<u8>,
}

impl Tap {
    fn start(&mut self) {
        self.on = true;
        self.buf.clear();
    }

    fn take(&mut self) -> Vec<u8> {
        self.on = false;
        std::mem::take(&mut self.buf)
    }
}

/// A backend socket whose reads go to its [`Tap`] too while it is on.
struct TappedIo {
    inner: tokio::net::TcpStream,
    tap: Arc<Mutex<Tap>>,
}

impl tokio::io::AsyncRead for TappedIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut me.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &r {
            let mut tap = me.tap.lock().unwrap_or_else(|e| e.into_inner());
            if tap.on {
                let new = &buf.filled()[before..];
                if tap.buf.len() + new.len() > TAP_LIMIT {
                    tap.on = false;
                    tap.buf.clear();
                } else {
                    tap.buf.extend_from_slice(new);
                }
            }
        }
        r
    }
}

impl tokio::io::AsyncWrite for TappedIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The final answer head in `raw` (after any 1xx heads hyper skips), as spelled, when it has
/// exactly the fields hyper read into `map`.
fn original_head(raw: &[u8], map: &http::HeaderMap) -> Option<Vec<(String, String)>> {
    let mut at = 0;
    loop {
        let mut fields = [httparse::EMPTY_HEADER; 128];
        let mut r = httparse::Response::new(&mut fields);
        let n = match r.parse(raw.get(at..)?) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => return None,
        };
        let code = r.code?;
        if (100..200).contains(&code) && code != 101 {
            at += n;
            continue;
        }
        let list: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        if list.len() != map.len() {
            return None;
        }
        for (name, value) in &list {
            let lower = name.to_ascii_lowercase();
            let ours = list
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .count();
            if map.get_all(lower.as_str()).iter().count() != ours
                || !map
                    .get_all(lower.as_str())
                    .iter()
                    .any(|v| v.as_bytes() == value.as_bytes())
            {
                return None;
            }
        }
        return Some(list);
    }
}
