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
//! [`MemcachedRole`] runs the server as memcached does: an accepting thread hands each
//! connection to one of `-t` worker threads, each with its own event loop.

pub mod clock;
pub mod cmd;
pub mod config;
pub mod lru;
pub mod server;
pub mod session;
pub mod slabs;
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
    workers: Option<server::Workers>,
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
        let threads = config.threads;
        let store = Store::new(
            StoreSettings {
                memory_limit: config.memory_limit,
                item_size_max: config.item_size_max,
                evictions: !config.no_evictions,
                shards: StoreSettings::shards_for(threads),
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
        let workers = server::Workers::spawn(std_listeners, Arc::clone(&shared), threads)?;
        Ok(MemcachedRole {
            workers: Some(workers),
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

    /// Stops serving and waits until the listeners and connections are closed.
    pub async fn shutdown(mut self) {
        if let Some(w) = self.workers.take() {
            w.stop().await;
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
