//! Listeners and connections of the Apache role.
//!
//! One accept task per bound address; each connection is served by hyper's HTTP/1.1 with
//! the header read timeout of the snapshot current when it was accepted. Every request
//! takes the snapshot current when it starts, so `reload` swaps configuration between two
//! requests of the same keep-alive connection, and in-flight requests finish on the old one.
//! A reload that drops a `Listen` stops accepting there and lets that listener's open
//! connections finish their requests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::log::{Level, LogFiles, FLUSH_EVERY};
use super::request::{self, Conn};
use super::site::{Site, Stats};
use super::wire;
use crate::config::model::{Listen, ServerConfig};

/// A running Apache role.
pub struct HttpRole {
    shared: Arc<Shared>,
    listeners: tokio::sync::Mutex<Vec<Listener>>,
    flusher: JoinHandle<()>,
}

struct Shared {
    site: ArcSwap<Site>,
    logs: LogFiles,
    stats: Arc<Stats>,
    /// Open connections, to wait for them on stop.
    open: tokio::sync::watch::Sender<usize>,
    /// mod_wsgi's host (owned by the supervisor, which starts, reloads and stops it).
    wsgi: Option<Arc<crate::wsgi::WsgiHost>>,
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
        let stats = Arc::new(Stats::default());
        let logs = LogFiles::default();
        let site = Site::new(Arc::clone(&config), &logs, Arc::clone(&stats))?;
        let (open, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            site: ArcSwap::from_pointee(site),
            logs,
            stats,
            open,
            wsgi,
        });
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
        self.shared.stats.generation.fetch_add(1, Ordering::Relaxed);
        self.shared.site.store(Arc::new(site));
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
                    tokio::spawn(async move {
                        connection(&shared, stream, client, port, stop).await;
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

async fn connection(
    shared: &Arc<Shared>,
    stream: TcpStream,
    client: SocketAddr,
    port: u16,
    mut stop: watch::Receiver<bool>,
) {
    let site = shared.site.load_full();
    let local = stream.local_addr().unwrap_or(client);
    let conn = Arc::new(Conn {
        client,
        local,
        port,
        served: Default::default(),
        wsgi: shared.wsgi.clone(),
        notes: Arc::default(),
    });
    let idle_limit = if site.config.keep_alive.enabled {
        site.config.keep_alive.timeout
    } else {
        site.header_timeout
    };
    let header_timeout = site.header_timeout;
    // The wire refuses a head with more than `LimitRequestFields` fields before hyper sees it.
    let max_headers = site.config.limits.fields.max(100) + 1;
    let limits = wire::Limits {
        request_line: site.config.limits.request_line,
        field_size: site.config.limits.field_size,
        fields: site.config.limits.fields,
    };
    drop(site);

    // Activity for the keep-alive idle timer: requests in flight and when the last ended.
    let activity = Arc::new(std::sync::Mutex::new((0usize, Instant::now())));
    let service = {
        let shared = Arc::clone(shared);
        let conn = Arc::clone(&conn);
        let activity = Arc::clone(&activity);
        service_fn(move |req| {
            let site = shared.site.load_full();
            let conn = Arc::clone(&conn);
            let activity = Arc::clone(&activity);
            async move {
                activity.lock().unwrap_or_else(|p| p.into_inner()).0 += 1;
                let resp = request::serve(site, conn, req).await;
                let mut a = activity.lock().unwrap_or_else(|p| p.into_inner());
                a.0 -= 1;
                a.1 = Instant::now();
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .title_case_headers(true)
        .max_headers(max_headers)
        .max_buf_size(256 * 1024);
    let stream = wire::Wire::new(stream, limits, Arc::clone(&conn.notes));
    let http = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(http);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.tick().await;
    let mut closing = false;
    loop {
        tokio::select! {
            _ = &mut http => break,
            _ = stop.changed(), if !closing => {
                closing = true;
                http.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                let (in_flight, last) = *activity.lock().unwrap_or_else(|p| p.into_inner());
                let served = conn.served.load(Ordering::Relaxed);
                if in_flight == 0 && served > 0 && last.elapsed() >= idle_limit {
                    closing = true;
                    http.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
