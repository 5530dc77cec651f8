//! An Apache role started for the checks on free loopback ports, stopped on drop. It runs
//! on its own small runtime, so the checks (blocking code) can talk to it from the calling
//! thread.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use lab_server::http::HttpRole;

/// A running isolated instance.
pub struct Instance {
    /// (port as written in `Listen`, address bound).
    pub binds: Vec<(u16, SocketAddr)>,
    role: Option<HttpRole>,
    runtime: tokio::runtime::Runtime,
}

/// Starts the HTTP role of `config` with every `Listen` moved to `127.0.0.1:0`.
pub fn start(mut config: lab_server::config::ServerConfig) -> Result<Instance, String> {
    for l in &mut config.listens {
        l.bind = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lab-check")
        .enable_all()
        .build()
        .map_err(|e| format!("no se pudo crear el planificador de tareas: {e}"))?;
    let role = runtime
        .block_on(HttpRole::start(Arc::new(config)))
        .map_err(|e| format!("no se pudo arrancar una instancia para comprobar: {e}"))?;
    let binds = role.bound().into_iter().map(|(l, a)| (l.port, a)).collect();
    Ok(Instance {
        binds,
        role: Some(role),
        runtime,
    })
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(role) = self.role.take() {
            self.runtime.block_on(role.stop());
        }
    }
}
