//! Listeners and connections of the Apache role.
//!
//! One accept task per bound address; each connection is served by the lean loop of
//! [`lean`] while its requests are plain ones, then by hyper's HTTP/1.1, with the header
//! read timeout of the snapshot current when it was accepted. Every request
//! takes the snapshot current when it starts, so `reload` swaps configuration between two
//! requests of the same keep-alive connection, and in-flight requests finish on the old one.
//! A reload that drops a `Listen` stops accepting there and lets that listener's open
//! connections finish their requests.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::handoff::{self, HandOff, Packet, Prefixed};
use super::log::{Level, LogFiles, FLUSH_EVERY};
use super::request::{self, Conn};
use super::site::{Site, Stats};
use super::{lean, wire};
use crate::config::model::{Listen, ServerConfig};

/// A running Apache role.
pub struct HttpRole {
    shared: Arc<Shared>,
    listeners: tokio::sync::Mutex<Vec<Listener>>,
    flusher: JoinHandle<()>,
}

pub(super) struct Shared {
    pub(super) site: ArcSwap<Site>,
    pub(super) logs: LogFiles,
    pub(super) stats: Arc<Stats>,
    /// Open connections, to wait for them on stop.
    pub(super) open: Arc<watch::Sender<usize>>,
    /// mod_wsgi's host (owned by the supervisor, which starts, reloads and stops it).
    pub(super) wsgi: Option<Arc<crate::wsgi::WsgiHost>>,
    /// What connections do with daemon-mode requests (see [`handoff`]).
    pub(super) hand: handoff::Mode,
    /// The lab's hand-back socket (empty when connections cannot be handed on).
    pub(super) handback: PathBuf,
    /// [`handoff::fingerprint`] of the current configuration.
    pub(super) fingerprint: AtomicU64,
    /// Set on stop, for connections that came through a hand-off.
    pub(super) stop_all: Arc<watch::Sender<bool>>,
    /// In a worker: the lab's configuration generation this snapshot belongs to.
    pub(super) generation: Option<u64>,
}

impl Shared {
    /// A packet that passes a connection of this process on.
    fn packet(
        &self,
        port: u16,
        served: u64,
        head: bytes::Bytes,
        extra: bytes::Bytes,
        flags: u32,
    ) -> Packet {
        Packet {
            flags,
            port,
            served,
            generation: self.stats.generation.load(Ordering::SeqCst),
            fingerprint: self.fingerprint.load(Ordering::Relaxed),
            workspace: self.site.load().config.workspace.clone(),
            handback: self.handback.clone(),
            stats: self.stats.shared.clone().unwrap_or_default(),
            head,
            extra,
        }
    }

    /// A worker whose configuration the lab has replaced since.
    pub(super) fn stale(&self) -> bool {
        self.generation
            .is_some_and(|g| self.stats.generation.load(Ordering::SeqCst) != g)
    }

    /// A snapshot for a daemon-mode worker (no listeners: the lab hands it connections).
    pub(super) fn for_worker(
        config: Arc<ServerConfig>,
        stats: Arc<Stats>,
        wsgi: Arc<crate::wsgi::WsgiHost>,
        handback: PathBuf,
        generation: u64,
        open: Arc<watch::Sender<usize>>,
        stop_all: Arc<watch::Sender<bool>>,
    ) -> Result<Shared, String> {
        let logs = LogFiles::default();
        let fingerprint = handoff::fingerprint(&config);
        let site = Site::new(config, &logs, Arc::clone(&stats))?;
        Ok(Shared {
            site: ArcSwap::from_pointee(site),
            logs,
            stats,
            open,
            wsgi: Some(wsgi),
            hand: handoff::Mode::Worker(Arc::new(handback.clone())),
            handback,
            fingerprint: AtomicU64::new(fingerprint),
            stop_all,
            generation: Some(generation),
        })
    }

    pub(super) fn flush_logs(&self) {
        self.logs.flush_all();
    }
}

struct Listener {
    listen: Listen,
    bound: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn bind_error(listen: &Listen, e: &std::io::Error) -> String {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "la dirección ya está en uso (¿otro programa, u otro laboratorio, escucha ahí?)"
                .to_string()
        }
        std::io::ErrorKind::PermissionDenied => {
            "permiso denegado (los puertos < 1024 necesitan privilegios)".to_string()
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "esa dirección IP no pertenece a esta máquina".to_string()
        }
        _ => e.to_string(),
    };
    format!(
        "no se pudo escuchar en {} ({} en {}): {why}\n  ayuda: cambia el puerto en ports.conf o para el programa que lo ocupa",
        listen.bind,
        crate::report::listen_label(listen),
        listen.span.location(None)
    )
}

impl HttpRole {
    /// Binds every `Listen` and starts serving `config`.
    pub async fn start(config: Arc<ServerConfig>) -> Result<HttpRole, String> {
        HttpRole::start_with_wsgi(config, None).await
    }

    /// [`HttpRole::start`] with mod_wsgi's host for `WSGIScriptAlias` requests.
    pub async fn start_with_wsgi(
        config: Arc<ServerConfig>,
        wsgi: Option<Arc<crate::wsgi::WsgiHost>>,
    ) -> Result<HttpRole, String> {
        // With mod_wsgi, connections can go to daemon-mode workers and come back: the
        // counters are shared with them and the lab listens for returned connections.
        let run_dir = config.workspace.join("run");
        let id = format!(
            "{}-{}",
            std::process::id(),
            ROLES.fetch_add(1, Ordering::Relaxed)
        );
        let counters = wsgi.as_ref().and_then(|_| {
            let _ = std::fs::create_dir_all(&run_dir);
            handoff::SharedCounters::map(&run_dir.join(format!("http-stats-{id}.shm")), true).ok()
        });
        let stats = Arc::new(match counters {
            Some(c) => Stats::from_slots(c.slots, Some(c.path)),
            None => Stats::default(),
        });
        let handback = match (&wsgi, &stats.shared) {
            // `LAB_WSGI_HANDOFF=0`: every daemon-mode request goes over FastCGI, as before
            // the hand-off existed (to compare the two, or to rule the hand-off out).
            _ if std::env::var_os("LAB_WSGI_HANDOFF").is_some_and(|v| v == "0") => PathBuf::new(),
            (Some(_), Some(_)) => handoff::socket_path(&run_dir, &format!("http-back-{id}.sock")),
            _ => PathBuf::new(),
        };
        let logs = LogFiles::default();
        let fingerprint = handoff::fingerprint(&config);
        let site = Site::new(Arc::clone(&config), &logs, Arc::clone(&stats))?;
        let (open, _) = watch::channel(0usize);
        let (stop_all, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            site: ArcSwap::from_pointee(site),
            logs,
            stats,
            open: Arc::new(open),
            wsgi,
            hand: if handback.as_os_str().is_empty() {
                handoff::Mode::Off
            } else {
                handoff::Mode::Lab
            },
            handback,
            fingerprint: AtomicU64::new(fingerprint),
            stop_all: Arc::new(stop_all),
            generation: None,
        });
        if !shared.handback.as_os_str().is_empty() {
            start_handback(&shared)?;
        }

        let mut listeners = Vec::new();
        for listen in &config.listens {
            match bind(listen).await {
                Ok(l) => listeners.push(spawn_listener(&shared, listen.clone(), l)),
                Err(e) => {
                    for l in listeners {
                        stop_listener(l).await;
                    }
                    return Err(e);
                }
            }
        }
        if listeners.is_empty() {
            return Err("la configuración no tiene ningún `Listen`: el servidor no escucharía en ningún puerto\n  ayuda: ports.conf debería tener `Listen 80`".into());
        }
        let flusher = {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(FLUSH_EVERY);
                loop {
                    tick.tick().await;
                    shared.logs.flush_all();
                }
            })
        };
        let site = shared.site.load();
        site.main_error_log().log(
            "mpm_event",
            Level::Notice,
            None,
            &format!(
                "AH00489: {} configurado: atendiendo peticiones",
                config.server_tokens
            ),
        );
        shared.logs.flush_all();
        Ok(HttpRole {
            shared,
            listeners: tokio::sync::Mutex::new(listeners),
            flusher,
        })
    }

    /// Applies a new configuration: new listeners are bound first (an error leaves
    /// everything as it was), then the snapshot is swapped and dropped listeners stop.
    pub async fn reload(&self, config: Arc<ServerConfig>) -> Result<(), String> {
        let site = Site::new(
            Arc::clone(&config),
            &self.shared.logs,
            Arc::clone(&self.shared.stats),
        )?;
        let mut listeners = self.listeners.lock().await;
        let mut fresh = Vec::new();
        for listen in &config.listens {
            if listeners.iter().any(|l| l.bound == listen.bind) {
                continue;
            }
            match bind(listen).await {
                Ok(l) => fresh.push((listen.clone(), l)),
                Err(e) => return Err(e),
            }
        }
        self.shared
            .fingerprint
            .store(handoff::fingerprint(&config), Ordering::Relaxed);
        self.shared.site.store(Arc::new(site));
        self.shared.stats.generation.fetch_add(1, Ordering::SeqCst);
        let (keep, gone): (Vec<Listener>, Vec<Listener>) = std::mem::take(&mut *listeners)
            .into_iter()
            .partition(|l| config.listens.iter().any(|n| n.bind == l.bound));
        *listeners = keep;
        // The written form may have changed (`Listen 80` -> `Listen 127.0.0.1:80`).
        for l in listeners.iter_mut() {
            if let Some(n) = config.listens.iter().find(|n| n.bind == l.bound) {
                l.listen = n.clone();
            }
        }
        for (listen, l) in fresh {
            listeners.push(spawn_listener(&self.shared, listen, l));
        }
        for l in gone {
            stop_listener(l).await;
        }
        self.shared.site.load().main_error_log().log(
            "mpm_event",
            Level::Notice,
            None,
            "AH00493: configuración recargada (equivalente a `systemctl reload apache2`)",
        );
        Ok(())
    }

    /// Where it listens: (`Listen` as written, address bound).
    pub fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        match self.listeners.try_lock() {
            Ok(l) => l.iter().map(|l| (l.listen.clone(), l.bound)).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Stops accepting, lets open connections finish their request (up to 10 s), flushes
    /// the logs.
    pub async fn stop(self) {
        let listeners = std::mem::take(&mut *self.listeners.lock().await);
        for l in listeners {
            stop_listener(l).await;
        }
        let _ = self.shared.stop_all.send(true);
        if !self.shared.handback.as_os_str().is_empty() {
            // Wakes the hand-back thread, which sees the stop and ends.
            let _ = std::os::unix::net::UnixStream::connect(&self.shared.handback);
            let _ = std::fs::remove_file(&self.shared.handback);
        }
        if let Some(p) = &self.shared.stats.shared {
            let _ = std::fs::remove_file(p);
        }
        let mut open = self.shared.open.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(10), open.wait_for(|n| *n == 0)).await;
        self.shared.site.load().main_error_log().log(
            "mpm_event",
            Level::Notice,
            None,
            "AH00491: recibida la orden de parar; el servidor se detiene",
        );
        self.flusher.abort();
        self.shared.logs.flush_all();
    }
}

async fn bind(listen: &Listen) -> Result<TcpListener, String> {
    let socket = match listen.bind {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(|e| bind_error(listen, &e))?;
    socket
        .set_reuseaddr(true)
        .map_err(|e| bind_error(listen, &e))?;
    socket
        .bind(listen.bind)
        .map_err(|e| bind_error(listen, &e))?;
    socket.listen(1024).map_err(|e| bind_error(listen, &e))
}

fn spawn_listener(shared: &Arc<Shared>, listen: Listen, tcp: TcpListener) -> Listener {
    let bound = tcp.local_addr().unwrap_or(listen.bind);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(Arc::clone(shared), listen.port, tcp, stop_rx));
    Listener {
        listen,
        bound,
        stop,
        task,
    }
}

async fn stop_listener(l: Listener) {
    let _ = l.stop.send(true);
    let _ = l.task.await;
}

async fn accept_loop(
    shared: Arc<Shared>,
    port: u16,
    tcp: TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok((stream, client)) => {
                    let _ = stream.set_nodelay(true);
                    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                    shared.open.send_modify(|n| *n += 1);
                    let shared = Arc::clone(&shared);
                    let stop = stop.clone();
                    crate::cores::spawn_connection(stream, move |stream| async move {
                        connection(&shared, stream, client, port, stop, Packet::default()).await;
                        shared.open.send_modify(|n| *n -= 1);
                    });
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = stop.changed() => break,
        }
    }
}

/// Roles started by this process (names their shared files apart).
static ROLES: AtomicU64 = AtomicU64::new(0);

/// Listens on the lab's hand-back socket for connections that daemon-mode workers return.
fn start_handback(shared: &Arc<Shared>) -> Result<(), String> {
    let path = shared.handback.clone();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path)
        .map_err(|e| format!("no se pudo escuchar en {}: {e}", path.display()))?;
    let weak = Arc::downgrade(shared);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut stopped = shared.stop_all.subscribe();
    {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let _ = stopped.wait_for(|s| *s).await;
            stop.store(true, Ordering::SeqCst);
        });
    }
    let rt = tokio::runtime::Handle::current();
    handoff::spawn_receiver("http-back", listener, stop, move |stream, packet| {
        let Some(shared) = weak.upgrade() else { return };
        if crate::cores::count() == 0 {
            rt.spawn(serve_handed(shared, stream, packet));
        } else {
            crate::cores::spawn_std_connection(stream, move |stream| {
                serve_handed_stream(shared, stream, packet)
            });
        }
    })
    .map(|_| ())
    .map_err(|e| format!("no se pudo crear el hilo de conexiones devueltas: {e}"))
}

/// Serves a connection another process passed to this one.
pub(super) async fn serve_handed(shared: Arc<Shared>, stream: std::net::TcpStream, packet: Packet) {
    if let Ok(stream) = TcpStream::from_std(stream) {
        serve_handed_stream(shared, stream, packet).await;
    }
}

/// [`serve_handed`] once the stream is registered with this thread's runtime.
async fn serve_handed_stream(shared: Arc<Shared>, stream: TcpStream, packet: Packet) {
    let _ = stream.set_nodelay(true);
    let Ok(client) = stream.peer_addr() else {
        return;
    };
    let port = packet.port;
    shared.open.send_modify(|n| *n += 1);
    let stop = shared.stop_all.subscribe();
    connection(&shared, stream, client, port, stop, packet).await;
    shared.open.send_modify(|n| *n -= 1);
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<super::Body>, Infallible>> + Send>>;

/// Serves one client connection. `start` carries what a hand-off brought with it: the head
/// of the first request and the bytes read after it, and the requests already served.
pub(super) async fn connection(
    shared: &Arc<Shared>,
    stream: TcpStream,
    client: SocketAddr,
    port: u16,
    mut stop: watch::Receiver<bool>,
    start: Packet,
) {
    let site = shared.site.load_full();
    let local = stream.local_addr().unwrap_or(client);
    // A worker that could not load the lab's configuration returned this connection: its
    // daemon-mode requests go over FastCGI from now on.
    let hand = if start.flags & handoff::FLAG_NO_HANDOFF != 0 {
        handoff::Mode::Off
    } else {
        shared.hand.clone()
    };
    let conn = Arc::new(Conn {
        client,
        peer: client,
        local,
        port,
        served: AtomicU64::new(start.served),
        wsgi: shared.wsgi.clone(),
        notes: Arc::default(),
        hand,
        remote_host: Default::default(),
    });
    let idle_limit = if site.config.keep_alive.enabled {
        site.config.keep_alive.timeout
    } else {
        site.header_timeout
    };
    let read_timeouts = site.read_timeouts;
    // hyper's own head timer (`Timeout`) is a backstop, armed anew for every request. When
    // mod_reqtimeout's header stage bounds every head on the wire within `Timeout` (a time,
    // and a maximum if `MinRate` may extend it), that stage always runs out first, and the
    // idle wait between requests is the keep-alive timer's below: the backstop is left out.
    let stage_bound = read_timeouts.map(|t| t.header).and_then(|h| match h {
        h if h.timeout == 0 => None,
        h if h.min_rate == 0 => Some(h.timeout),
        h if h.max > 0 => Some(h.max.max(h.timeout)),
        _ => None,
    });
    let header_timeout = match stage_bound {
        Some(b) if u64::from(b) <= site.header_timeout.as_secs() => None,
        _ => Some(site.header_timeout),
    };
    // The wire refuses a head with more than `LimitRequestFields` fields before hyper sees it.
    let max_headers = site.config.limits.fields.max(100) + 1;
    let limits = wire::Limits {
        request_line: site.config.limits.request_line,
        field_size: site.config.limits.field_size,
        fields: site.config.limits.fields,
    };
    let keep_case = site.proxies_http;
    drop(site);

    // Activity for the keep-alive idle timer: requests in flight and when the last ended.
    let activity = Arc::new(std::sync::Mutex::new((0usize, Instant::now())));
    // A request that passes the connection on sends its marker here and never answers.
    let (hand_tx, mut hand_rx) = tokio::sync::mpsc::unbounded_channel::<HandOff>();
    let service = {
        let shared = Arc::clone(shared);
        let conn = Arc::clone(&conn);
        let activity = Arc::clone(&activity);
        service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let site = shared.site.load_full();
            let conn = Arc::clone(&conn);
            let activity = Arc::clone(&activity);
            let hand_tx = hand_tx.clone();
            let shared = Arc::clone(&shared);
            Box::pin(async move {
                activity.lock().unwrap_or_else(|p| p.into_inner()).0 += 1;
                // A worker whose configuration is older than the lab's returns the connection
                // (the lab serves it with the new one and hands it on again).
                let back = if shared.stale() {
                    handoff::back(&shared.handback)
                } else {
                    None
                };
                let resp = match back {
                    Some(resp) => {
                        if let Some(h) = resp.extensions().get::<HandOff>() {
                            use http_body_util::BodyExt;
                            let (parts, body) = req.into_parts();
                            h.set_head(handoff::encode_head(&parts));
                            h.set_body(body.map_err(|e| e.to_string()).boxed_unsync());
                        }
                        resp
                    }
                    None => request::serve(site, conn, req).await,
                };
                if let Some(h) = resp.extensions().get::<HandOff>() {
                    let _ = hand_tx.send(h.clone());
                    std::future::pending::<()>().await;
                }
                let mut a = activity.lock().unwrap_or_else(|p| p.into_inner());
                a.0 -= 1;
                a.1 = Instant::now();
                Ok::<_, Infallible>(resp)
            }) as ServiceFuture
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .title_case_headers(true)
        .preserve_header_case(keep_case)
        .max_headers(max_headers)
        .max_buf_size(256 * 1024);
    let mut prefix = start.head;
    if !start.extra.is_empty() {
        let mut joined = bytes::BytesMut::with_capacity(prefix.len() + start.extra.len());
        joined.extend_from_slice(&prefix);
        joined.extend_from_slice(&start.extra);
        prefix = joined.freeze();
    }
    let io = Prefixed::new(prefix, stream);
    let write_blocked = io.write_blocked();
    // Apache's checks of each request head, under hyper (see [`wire`]); numbered after the
    // requests the connection already served elsewhere.
    let mut io = wire::Wire::new(io, limits, Arc::clone(&conn.notes))
        .starting_after(start.served)
        .with_timeouts(read_timeouts);
    // The plain requests first, without hyper (see [`lean`]); hyper takes over at the first
    // request that is not one.
    let waits = lean::Waits {
        idle: idle_limit,
        head: header_timeout,
    };
    // Boxed: the loop holds a request's whole future, and the connection's own future
    // (moved when it is spawned) stays small.
    match Box::pin(lean::serve(shared, &conn, &mut io, &mut stop, waits)).await {
        lean::Exit::Hyper => {}
        lean::Exit::Closed { shutdown } => {
            if shutdown {
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut io).await;
            }
            return;
        }
        lean::Exit::HandOff(h) => {
            let Some((to, head, flags)) = h.take() else {
                return;
            };
            let (prefixed, pending) = io.into_parts();
            let (stream, rest) = prefixed.into_parts();
            // What the wire holds back, what was never read.
            pass_on(
                shared,
                &conn,
                port,
                stream,
                (to, head, flags),
                &[&pending, &rest],
            );
            return;
        }
    }
    let mut http = builder.serve_connection(TokioIo::new(io), service);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.tick().await;
    let mut closing = false;
    // A worker that stops passes its connections back instead of closing them.
    let mut give_back = false;
    let mut handing: Option<HandOff> = None;
    let mut finished = false;
    if *stop.borrow() {
        closing = true;
        give_back = matches!(conn.hand, handoff::Mode::Worker(_));
        Pin::new(&mut http).graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = std::future::poll_fn(|cx| http.poll_without_shutdown(cx)) => {
                finished = r.is_ok();
                break;
            }
            h = hand_rx.recv() => {
                handing = h;
                break;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                give_back = matches!(conn.hand, handoff::Mode::Worker(_));
                Pin::new(&mut http).graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                let (in_flight, last) = *activity.lock().unwrap_or_else(|p| p.into_inner());
                let served = conn.served.load(Ordering::Relaxed);
                if in_flight == 0 && served > 0 && last.elapsed() >= idle_limit {
                    closing = true;
                    Pin::new(&mut http).graceful_shutdown();
                }
            }
        }
    }
    if handing.is_some() {
        // What hyper still had to write of the previous answer goes out first (before the
        // body of the request is looked at, so hyper reads no more of it).
        let deadline = Instant::now() + Duration::from_secs(5);
        while write_blocked.load(Ordering::Relaxed) && Instant::now() < deadline {
            let _ = tokio::time::timeout(
                Duration::from_millis(2),
                std::future::poll_fn(|cx| http.poll_without_shutdown(cx)),
            )
            .await;
        }
    }
    let (to, head, flags) = match handing.as_ref().and_then(HandOff::take) {
        Some(h) => h,
        None if give_back && finished => {
            match std::os::unix::net::UnixStream::connect(&shared.handback) {
                Ok(to) => (to, bytes::Bytes::new(), 0),
                Err(_) => return,
            }
        }
        None => {
            if finished {
                let parts = http.into_parts();
                let (prefixed, _) = parts.io.into_inner().into_parts();
                let (mut stream, _) = prefixed.into_parts();
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            }
            return;
        }
    };
    let parts = http.into_parts();
    let (prefixed, pending) = parts.io.into_inner().into_parts();
    let (stream, rest) = prefixed.into_parts();
    // What hyper read but did not parse, what the wire holds back, what was never read.
    let read = [&parts.read_buf[..], &pending, &rest];
    pass_on(shared, &conn, port, stream, (to, head, flags), &read);
}

/// Passes the connection on: to the process `to` leads to, with the head of the request
/// that goes with it and the bytes read after it (`read`, in order).
fn pass_on(
    shared: &Arc<Shared>,
    conn: &Conn,
    port: u16,
    stream: TcpStream,
    (to, head, flags): (std::os::unix::net::UnixStream, bytes::Bytes, u32),
    read: &[&[u8]],
) {
    let client = conn.peer;
    let served = conn.served.load(Ordering::Relaxed);
    let extra: bytes::Bytes = read.concat().into();
    let packet = shared.packet(port, served, head, extra, flags);
    let Ok(stream) = stream.into_std() else {
        return;
    };
    let sent = handoff::send(&to, std::os::fd::AsRawFd::as_raw_fd(&stream), &packet);
    if sent.is_err() && matches!(conn.hand, handoff::Mode::Lab) {
        // The worker went away between accepting and receiving: the lab keeps the
        // connection and serves it over FastCGI (it comes in again through the lab's own hand-back socket).
        let mut packet = packet;
        packet.flags |= handoff::FLAG_NO_HANDOFF;
        if let Ok(own) = std::os::unix::net::UnixStream::connect(&shared.handback) {
            if handoff::send(&own, std::os::fd::AsRawFd::as_raw_fd(&stream), &packet).is_ok() {
                return;
            }
        }
    }
    if let Err(e) = sent {
        shared.site.load().main_error_log().log(
            "mod_wsgi",
            Level::Error,
            Some(client),
            &format!("no se pudo pasar la conexión a otro proceso: {e}; se cierra"),
        );
    }
}

/// The HTTP side of a daemon-mode worker: it serves the connections the lab hands it, with
/// the lab's configuration loaded from the same workspace (and loaded again when the lab
/// reloads), and hands back the ones whose next request is not for its group.
pub struct WorkerHttp {
    current: std::sync::Mutex<Option<(u64, Arc<Shared>)>>,
    /// The generation whose configuration could not be loaded here (tried once).
    failed: std::sync::Mutex<Option<u64>>,
    counters: std::sync::Mutex<Option<(PathBuf, Arc<Stats>)>>,
    open: Arc<watch::Sender<usize>>,
    stop_all: Arc<watch::Sender<bool>>,
    make_wsgi: WsgiMaker,
}

type WsgiMaker =
    Box<dyn Fn(&ServerConfig, &std::path::Path) -> Arc<crate::wsgi::WsgiHost> + Send + Sync>;

impl WorkerHttp {
    /// `make_wsgi(config, handback)` builds the worker's WSGI host for a configuration.
    pub fn new(make_wsgi: WsgiMaker) -> WorkerHttp {
        WorkerHttp {
            current: std::sync::Mutex::new(None),
            failed: std::sync::Mutex::new(None),
            counters: std::sync::Mutex::new(None),
            open: Arc::new(watch::channel(0usize).0),
            stop_all: Arc::new(watch::channel(false).0),
            make_wsgi,
        }
    }

    /// The snapshot for the lab's configuration generation in `packet`.
    fn shared_for(&self, packet: &Packet) -> Result<Arc<Shared>, String> {
        let mut current = self
            .current
            .lock()
            .map_err(|_| "estado dañado".to_string())?;
        if let Some((g, s)) = current.as_ref() {
            if *g == packet.generation {
                return Ok(Arc::clone(s));
            }
        }
        let stats = {
            let mut counters = self
                .counters
                .lock()
                .map_err(|_| "estado dañado".to_string())?;
            match counters.as_ref() {
                Some((p, s)) if *p == packet.stats => Arc::clone(s),
                _ => {
                    let c = handoff::SharedCounters::map(&packet.stats, false)
                        .map_err(|e| format!("{}: {e}", packet.stats.display()))?;
                    let s = Arc::new(Stats::from_slots(c.slots, Some(c.path)));
                    *counters = Some((packet.stats.clone(), Arc::clone(&s)));
                    s
                }
            }
        };
        let ws = crate::workspace::Workspace::open(&packet.workspace).map_err(|e| e.to_string())?;
        let loaded = crate::config::load(&ws).map_err(|d| {
            d.first()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "configuración no válida".into())
        })?;
        let config = Arc::new(loaded.config);
        if handoff::fingerprint(&config) != packet.fingerprint {
            return Err(
                "la configuración en disco no es la que el laboratorio tiene cargada".into(),
            );
        }
        let wsgi = (self.make_wsgi)(&config, &packet.handback);
        let shared = Arc::new(Shared::for_worker(
            config,
            stats,
            wsgi,
            packet.handback.clone(),
            packet.generation,
            Arc::clone(&self.open),
            Arc::clone(&self.stop_all),
        )?);
        let weak = Arc::downgrade(&shared);
        tokio::runtime::Handle::try_current()
            .map_err(|e| e.to_string())?
            .spawn(async move {
                let mut tick = tokio::time::interval(FLUSH_EVERY);
                loop {
                    tick.tick().await;
                    let Some(s) = weak.upgrade() else { return };
                    s.flush_logs();
                }
            });
        *current = Some((packet.generation, Arc::clone(&shared)));
        Ok(shared)
    }

    /// Serves a connection the lab handed over (call inside the worker's runtime). When this
    /// worker cannot serve it, it goes back to the lab marked so, and the lab serves it; the
    /// error says why the first time for a configuration generation, and is empty after.
    pub fn accept(&self, stream: std::net::TcpStream, packet: Packet) -> Result<(), String> {
        let known = self
            .failed
            .lock()
            .is_ok_and(|f| *f == Some(packet.generation));
        let shared = if known {
            Err(String::new())
        } else {
            self.shared_for(&packet)
        };
        if shared.as_ref().is_err_and(|e| !e.is_empty()) {
            if let Ok(mut f) = self.failed.lock() {
                *f = Some(packet.generation);
            }
        }
        match shared {
            Ok(shared) => {
                // Counted at once (not when the task first runs): a worker that stops waits
                // for the connections it holds, this one included.
                let open = Arc::clone(&self.open);
                open.send_modify(|n| *n += 1);
                tokio::spawn(async move {
                    serve_handed(shared, stream, packet).await;
                    open.send_modify(|n| *n -= 1);
                });
                Ok(())
            }
            Err(why) => {
                let mut back = packet.clone();
                back.flags |= handoff::FLAG_NO_HANDOFF;
                if let Ok(to) = std::os::unix::net::UnixStream::connect(&packet.handback) {
                    let _ = handoff::send(&to, std::os::fd::AsRawFd::as_raw_fd(&stream), &back);
                }
                Err(why)
            }
        }
    }

    /// Stops serving: every connection is handed back once its current request ends.
    pub fn stop(&self) {
        let _ = self.stop_all.send(true);
    }

    /// Connections this worker holds.
    pub fn open(&self) -> usize {
        *self.open.borrow()
    }
}
