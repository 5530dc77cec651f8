//! An Apache role started for the checks on free loopback ports, stopped on drop.

use std::net::SocketAddr;

/// A running isolated instance.
pub struct Instance {
    /// (port as written in `Listen`, address bound).
    pub binds: Vec<(u16, SocketAddr)>,
}

/// Starts the HTTP role of `config` with every `Listen` moved to `127.0.0.1:0`.
pub fn start(config: lab_server::config::ServerConfig) -> Result<Instance, String> {
    let _ = config;
    Err("el servidor HTTP del laboratorio todavía no está disponible en esta versión".into())
}
