//! The caching reverse proxy (the Varnish role), configured with VCL.
//!
//! - [`vcl`]: lexer, parser, load-time checks and interpreter; Varnish 7.1's builtin.vcl.
//! - [`config`]: the systemd unit and drop-ins, varnishd's options, the VCL file.
//! - [`cache`]: objects, Vary variants, the waiting list, bans, LRU under `-s malloc`.
//! - [`fetch`]: the backend side (bereq, TTL rules, 304 merge, vcl_backend_*).
//! - [`server`]: the client side (vcl_recv ... vcl_deliver) and delivery headers.
//! - [`client`]: the client connections' own HTTP/1 loop (hyper for requests with a body).
//! - [`fast`]: plain cache hits answered without the interpreter when the VCL's client side
//!   is builtin.vcl's.
//! - [`backend`]: connection pools, probes, directors.
//! - [`stats`]: varnishstat counters and the varnishlog-like log.
//!
//! Under `lab start` the role runs on a scheduler of its own ([`own_runtime`]), as
//! varnishd is a process of its own beside Apache: its accept loops, client connections and
//! backend fetches never queue behind the web server's requests, and the number of its
//! threads is chosen for it. Half the cores (at least one): measured on two cores shared
//! with the load generator, cache hits on one thread of their own cost 7.2 µs of CPU against
//! 8.9 µs when they shared the lab's two-thread runtime, and the machine answered 131,000
//! hits per second against 98,000, since each extra runnable thread on a busy core costs
//! context switches. Tests start the role on their own runtime, and so it stays there.

pub mod backend;
pub mod body;
pub mod cache;
pub mod client;
pub mod config;
pub mod explain;
pub mod fast;
pub mod fetch;
pub mod query;
pub mod server;
pub mod stats;
pub mod tunnel;
pub mod vcl;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::model::Listen;
use backend::Backends;
use cache::Store;
use config::{Params, ProxyConfig};
use stats::{Stats, TxLog};
use vcl::interp::{run, Action, BackendRef, Ctx, Host};
use vcl::{SubKind, Vcl};

/// Wall-clock seconds that follow tokio's clock, so tests with paused time move TTLs.
pub struct Clock {
    wall0: f64,
    inst0: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            wall0: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            inst0: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> f64 {
        self.wall0 + self.inst0.elapsed().as_secs_f64()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A VCL in use with its backends.
pub struct Loaded {
    pub vcl: Arc<Vcl>,
    pub backends: Backends,
}

/// The state shared by every connection of the proxy.
pub struct Proxy {
    pub loaded: ArcSwap<Loaded>,
    pub store: Store,
    pub stats: Arc<Stats>,
    pub log: TxLog,
    pub params: Params,
    pub clock: Clock,
    pub hostname: String,
    /// Plain hits may take [`fast`]'s way (tests turn it off to compare with the full one).
    pub fast_hits: AtomicBool,
    xid: AtomicU64,
}

/// The interpreter's view of the proxy.
pub struct VclHost<'a> {
    pub proxy: &'a Proxy,
    pub loaded: &'a Loaded,
}

impl Host for VclHost<'_> {
    fn healthy(&self, b: BackendRef) -> bool {
        self.loaded.backends.healthy(b)
    }

    fn director_add(&self, director: usize, backend: usize, weight: f64) {
        self.loaded
            .backends
            .add_to_director(director, backend, weight);
    }

    fn ban(&self, expr: &str) -> Result<(), String> {
        self.proxy.store.ban(expr, self.proxy.clock.now())
    }

    fn backend_name(&self, b: BackendRef) -> String {
        self.loaded.backends.name(b)
    }
}

impl Proxy {
    pub fn new(vcl: Arc<Vcl>, storage: u64, params: Params) -> Result<Arc<Proxy>, String> {
        let stats = Arc::new(Stats::default());
        let proxy = Arc::new(Proxy {
            loaded: ArcSwap::from_pointee(Loaded {
                backends: Backends::new(&vcl.program, Arc::clone(&stats)),
                vcl: Arc::clone(&vcl),
            }),
            store: Store::new(storage, Arc::clone(&stats)),
            stats,
            log: TxLog::new(2000),
            params,
            clock: Clock::new(),
            hostname: hostname(),
            fast_hits: AtomicBool::new(true),
            // Varnish's first client request gets xid 2 (1 is the session).
            xid: AtomicU64::new(1),
        });
        let loaded = proxy.init_vcl(vcl)?;
        proxy.loaded.store(Arc::new(loaded));
        Ok(proxy)
    }

    /// Runs vcl_init for `vcl` (directors get their backends) and starts its probes.
    pub fn init_vcl(&self, vcl: Arc<Vcl>) -> Result<Loaded, String> {
        let loaded = Loaded {
            backends: Backends::new(&vcl.program, Arc::clone(&self.stats)),
            vcl,
        };
        let host = VclHost {
            proxy: self,
            loaded: &loaded,
        };
        let mut ctx = Ctx::default();
        match run(&loaded.vcl.program, SubKind::Init, &mut ctx, &host) {
            Action::Ok => {}
            other => return Err(format!("vcl_init terminó con `{}`", other.name())),
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            loaded.backends.start_probes();
        }
        Ok(loaded)
    }

    /// Switches to a new VCL; requests in flight finish on the old one.
    pub fn use_vcl(&self, vcl: Arc<Vcl>) -> Result<(), String> {
        let loaded = self.init_vcl(vcl)?;
        let old = self.loaded.swap(Arc::new(loaded));
        old.backends.stop_probes();
        Ok(())
    }

    pub fn next_xid(&self) -> u64 {
        self.xid.fetch_add(1, Relaxed) + 1
    }

    /// `lab ban EXPR`.
    pub fn ban(&self, expr: &str) -> Result<(), String> {
        self.store.ban(expr, self.clock.now())
    }

    /// The varnishstat-like table.
    pub fn stat_text(&self) -> String {
        let mut out = String::from("Contadores (como varnishstat -1):\n");
        for (name, value, desc) in self.stats.snapshot() {
            out.push_str(&format!("MAIN.{name:<22} {value:>12}   {desc}\n"));
        }
        out.push_str(&format!(
            "SMA.s0.g_bytes{:>22}   Bytes en uso en el almacenamiento malloc\n",
            self.store.bytes()
        ));
        let loaded = self.loaded.load();
        for (name, healthy, probe) in loaded.backends.health() {
            out.push_str(&format!(
                "VBE.{name:<20} {:>14}   {probe}\n",
                if healthy { "sano" } else { "enfermo" }
            ));
        }
        out
    }
}

/// How many threads the role's own scheduler gets (set by [`own_runtime`]).
static THREADS: OnceLock<usize> = OnceLock::new();

/// The role's own scheduler, made when the role first starts after [`own_runtime`] (`None`
/// when it could not be made: the role then runs where it is started, as in tests).
static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();

/// Asks for a scheduler of the role's own with `threads` threads (`lab start` does, before
/// the services start; the threads appear only if the role runs).
pub fn own_runtime(threads: usize) {
    let _ = THREADS.set(threads.max(1));
}

/// How many threads [`own_runtime`] should ask for: `LAB_PROXY_THREADS` (for benchmarks),
/// else half the cores, at least one.
pub fn default_threads() -> usize {
    std::env::var("LAB_PROXY_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
}

fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    let threads = *THREADS.get()?;
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("lab-varnish")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

/// Runs `f` in the role's scheduler's context (sockets made there are driven by it).
fn in_runtime<T>(f: impl FnOnce() -> T) -> T {
    match runtime() {
        Some(rt) => {
            let _guard = rt.enter();
            f()
        }
        None => f(),
    }
}

/// Spawns a task of the role on its scheduler, or on the current one when it has none.
fn spawn<F>(task: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime() {
        Some(rt) => rt.spawn(task),
        None => tokio::spawn(task),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A running proxy: its listeners and shared state.
pub struct ProxyRole {
    pub proxy: Arc<Proxy>,
    listeners: Vec<(Listen, SocketAddr, JoinHandle<()>)>,
}

impl ProxyRole {
    /// Binds every `-a` and starts serving.
    pub async fn start(cfg: &ProxyConfig) -> Result<ProxyRole, String> {
        let proxy = Proxy::new(Arc::clone(&cfg.vcl), cfg.storage, cfg.params.clone())?;
        let mut listeners = Vec::new();
        for l in &cfg.listens {
            let tcp = match in_runtime(|| bind(l.bind)) {
                Ok(t) => t,
                Err(e) => {
                    for (_, _, t) in listeners {
                        let t: JoinHandle<()> = t;
                        t.abort();
                    }
                    proxy.loaded.load().backends.stop_probes();
                    return Err(format!(
                        "varnish no pudo escuchar en {} (-a {}:{}): {e}\n  ayuda: cambia -a en la unidad de systemd o para el programa que ocupa ese puerto",
                        l.bind,
                        l.addr.map(|a| a.to_string()).unwrap_or_default(),
                        l.port
                    ));
                }
            };
            let bound = tcp.local_addr().unwrap_or(l.bind);
            let p = Arc::clone(&proxy);
            let task = spawn(async move {
                loop {
                    match tcp.accept().await {
                        Ok((stream, client)) => {
                            let p = Arc::clone(&p);
                            crate::cores::spawn_connection(stream, move |stream| {
                                client::connection(p, stream, client)
                            });
                        }
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    }
                }
            });
            listeners.push((l.clone(), bound, task));
        }
        Ok(ProxyRole { proxy, listeners })
    }

    pub fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        self.listeners
            .iter()
            .map(|(l, a, _)| (l.clone(), *a))
            .collect()
    }

    pub fn stop(self) {
        for (_, _, t) in self.listeners {
            t.abort();
        }
        self.proxy.loaded.load().backends.stop_probes();
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// A pseudo-random number in [0, 1) (directors and `std.random`), without a crate: a
/// xorshift over a per-thread state seeded from the clock.
pub fn random_unit() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9e37_79b9_7f4a_7c15)
                | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}
