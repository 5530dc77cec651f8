//! An Apache role started for the checks on free loopback ports, stopped on drop. It runs
//! on its own small runtime, so the checks (blocking code) can talk to it from the calling
//! thread.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use lab_server::http::HttpRole;
use lab_server::wsgi::WsgiHost;

/// A running isolated instance.
pub struct Instance {
    /// (port as written in `Listen`, address bound).
    pub binds: Vec<(u16, SocketAddr)>,
    role: Option<HttpRole>,
    /// The caching proxy, when the workspace enables varnish.
    proxy: Option<lab_server::proxy::ProxyRole>,
    /// mod_wsgi's host, so `WSGIScriptAlias` sites answer as in `lab start`.
    wsgi: Arc<WsgiHost>,
    /// Where the daemon processes' sockets live (never the running lab's `run/`).
    run_dir: PathBuf,
    /// php-fpm when `lab.toml` enables `php8.2-fpm`, and mod_php's PHP processes when
    /// Apache loads php8.2, as `lab start` runs them.
    php: Option<lab_server::php::service::FpmProcess>,
    mod_php: Option<lab_server::php::modphp::ModPhp>,
    runtime: tokio::runtime::Runtime,
}

/// Starts the HTTP role of `config` with every `Listen` moved to `127.0.0.1:0` and, when
/// given, varnish (`-a` moved the same way, its backends pointed at the moved `Listen`s).
pub fn start(
    mut config: lab_server::config::ServerConfig,
    varnish: Option<lab_server::proxy::config::ProxyConfig>,
) -> Result<Instance, String> {
    let original: Vec<u16> = config.listens.iter().map(|l| l.bind.port()).collect();
    for l in &mut config.listens {
        l.bind = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lab-check")
        .enable_all()
        .build()
        .map_err(|e| format!("no se pudo crear el planificador de tareas: {e}"))?;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let run_dir = std::env::temp_dir().join(format!(
        "lab-check-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| format!("no se pudo crear {}: {e}", run_dir.display()))?;
    let config = Arc::new(config);
    let php_fpm = lab_server::workspace::Workspace::open(&config.workspace)
        .ok()
        .filter(|ws| ws.settings.services.php_fpm)
        .and_then(|ws| lab_server::php::fpm::load(&ws).ok().flatten());
    let started = runtime.block_on(async {
        let php = match php_fpm {
            Some(loaded) => Some(
                lab_server::php::service::FpmProcess::start(Arc::new(loaded.config), &run_dir)
                    .await?,
            ),
            None => None,
        };
        let mod_php = lab_server::php::modphp::ModPhp::start(&config).await?;
        let wsgi = Arc::new(WsgiHost::start_in(&config, &run_dir)?);
        match HttpRole::start_with_wsgi(Arc::clone(&config), Some(Arc::clone(&wsgi))).await {
            Ok(role) => Ok((role, wsgi, php, mod_php)),
            Err(e) => {
                wsgi.stop();
                Err(e)
            }
        }
    });
    let (role, wsgi, php, mod_php) = match started {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&run_dir);
            return Err(format!(
                "no se pudo arrancar una instancia para comprobar: {e}"
            ));
        }
    };
    let mut binds: Vec<(u16, SocketAddr)> =
        role.bound().into_iter().map(|(l, a)| (l.port, a)).collect();
    let moved: Vec<(u16, SocketAddr)> = original
        .iter()
        .copied()
        .zip(role.bound().into_iter().map(|(_, a)| a))
        .collect();
    let proxy = match varnish {
        Some(mut v) => {
            if let Some(vcl) = Arc::get_mut(&mut v.vcl) {
                for b in vcl.program.backends.iter_mut() {
                    if let Some((_, a)) = moved.iter().find(|(p, _)| *p == b.port) {
                        b.port = a.port();
                    }
                }
            }
            for l in &mut v.listens {
                l.bind = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
            }
            match runtime.block_on(lab_server::proxy::ProxyRole::start(&v)) {
                Ok(p) => {
                    // Varnish first: on a port both want, the proxy is what a client reaches.
                    let mut b: Vec<(u16, SocketAddr)> =
                        p.bound().into_iter().map(|(l, a)| (l.port, a)).collect();
                    b.append(&mut binds);
                    binds = b;
                    Some(p)
                }
                Err(e) => {
                    runtime.block_on(role.stop());
                    wsgi.stop();
                    let _ = std::fs::remove_dir_all(&run_dir);
                    return Err(format!("no se pudo arrancar varnish para comprobar: {e}"));
                }
            }
        }
        None => None,
    };
    Ok(Instance {
        binds,
        proxy,
        role: Some(role),
        wsgi,
        run_dir,
        php,
        mod_php,
        runtime,
    })
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(p) = self.proxy.take() {
            let _guard = self.runtime.enter();
            p.stop();
        }
        if let Some(role) = self.role.take() {
            self.runtime.block_on(role.stop());
        }
        self.wsgi.stop();
        if let Some(p) = self.php.take() {
            self.runtime.block_on(p.stop());
        }
        if let Some(m) = self.mod_php.take() {
            self.runtime.block_on(m.stop());
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}
