//! The memcached role: a server that speaks memcached 1.6's text and meta protocols,
//! configured from `etc/memcached.conf` like Debian's memcached.
//!
//! - [`config`]: `etc/memcached.conf` (one option a line) -> [`config::MemcachedConfig`],
//!   with Spanish diagnostics at file:line.
//! - [`clock`]: rel time in seconds and memcached's `exptime` rules, on tokio's clock.
//! - [`lru`]: one shard's items: hash map + intrusive LRU list.
//! - [`store`]: the sharded store: memory limit with eviction, item size limit, expiry,
//!   flush, cas, counters.
//! - [`cmd`]: the protocol, one file per command family, each split into parse, apply
//!   and encode.
//! - [`session`]: one connection's protocol state, without I/O.
//! - [`server`]: [`server::run`]`(listeners, shared, shutdown)`: accept loops, connections,
//!   periodic reclaim.
//!
//! [`MemcachedRole`] runs a server on its own tokio runtime with `-t` worker threads, as
//! memcached runs `-t` worker threads.

pub mod clock;
pub mod cmd;
pub mod config;
pub mod lru;
pub mod server;
pub mod session;
pub mod store;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use config::MemcachedConfig;
use session::Shared;
use store::{Store, StoreSettings};

/// A running memcached server.
pub struct MemcachedRole {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::sync::oneshot::Receiver<()>>,
    bound: Vec<SocketAddr>,
    shared: Arc<Shared>,
}

impl MemcachedRole {
    /// Binds the configured addresses and starts serving. Errors are Spanish sentences.
    pub fn start(config: MemcachedConfig) -> Result<MemcachedRole, String> {
        let mut std_listeners = Vec::new();
        for addr in &config.binds {
            let l = std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => format!(
                    "el puerto {} de {} ya está en uso (¿hay otro memcached en marcha?); cambia `-p` en etc/memcached.conf",
                    addr.port(),
                    addr.ip()
                ),
                _ => format!("no se pudo escuchar en {addr}: {e}"),
            })?;
            l.set_nonblocking(true)
                .map_err(|e| format!("no se pudo preparar {addr}: {e}"))?;
            std_listeners.push(l);
        }
        let bound = std_listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("no se pudo leer la dirección de escucha: {e}"))?;
        let log = open_log(&config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .thread_name("memcached")
            .enable_all()
            .build()
            .map_err(|e| format!("no se pudieron crear los hilos de memcached: {e}"))?;
        let store = Store::new(
            StoreSettings {
                memory_limit: config.memory_limit,
                item_size_max: config.item_size_max,
                evictions: !config.no_evictions,
                shards: StoreSettings::shards_for(config.threads),
            },
            clock::Clock::new(),
        );
        let shared = Arc::new(Shared::new(store, config, log));
        shared.log(1, || {
            format!(
                "memcached del laboratorio escuchando en {}",
                bound
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let task_shared = Arc::clone(&shared);
        runtime.spawn(async move {
            let mut listeners = Vec::new();
            for l in std_listeners {
                match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => listeners.push(l),
                    Err(_) => continue,
                }
            }
            server::run(listeners, task_shared, async {
                let _ = rx.await;
            })
            .await;
            let _ = done_tx.send(());
        });
        Ok(MemcachedRole {
            runtime: Some(runtime),
            shutdown: Some(tx),
            done: Some(done_rx),
            bound,
            shared,
        })
    }

    /// Where it listens.
    pub fn bound(&self) -> &[SocketAddr] {
        &self.bound
    }

    /// Its store and counters.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops serving and waits until the listeners are closed.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), done).await;
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for MemcachedRole {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn open_log(config: &MemcachedConfig) -> Result<Option<std::fs::File>, String> {
    if let Some(parent) = config.logfile.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.logfile)
    {
        Ok(f) => Ok(Some(f)),
        // Without -v nothing is written: a log that cannot be opened only matters then.
        Err(_) if config.verbosity == 0 => Ok(None),
        Err(e) => Err(format!(
            "no se pudo abrir el registro {}: {e}",
            config.logfile.display()
        )),
    }
}
