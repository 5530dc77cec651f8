//! The supervisor: what `lab start` runs. It loads the configuration, starts the services
//! the workspace enables, and serves the control socket `run/lab.sock` that `lab stop`,
//! `lab reload`, `lab status` and `lab service` talk to.
//!
//! The control protocol is one JSON line per request and one per response:
//!
//! ```text
//! -> {"cmd":"status"}
//! <- {"ok":true,"message":"...","status":{...}}
//! ```
//!
//! Services are listed in [`SERVICES`]: adding one (memcached, varnish, php-fpm) is one entry
//! there with its start function, plus its configuration in [`Stack`].

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::config::diagnostic::{render, suggest, Diagnostic};
use crate::config::model::{Listen, ServerConfig};
use crate::report;
use crate::workspace::{Settings, Workspace};

/// Errors of the supervisor and of the control client. Messages are in Spanish.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("la configuración tiene errores; no se arranca nada\n  ayuda: corrígelos (`lab configtest` los muestra) y vuelve a ejecutar `lab start`")]
    InvalidConfig,
    #[error("ya hay un laboratorio en marcha en este espacio de trabajo{pid}\n  ayuda: usa ese, o páralo con `lab stop`")]
    AlreadyRunning { pid: String },
    #[error(
        "no hay ningún laboratorio en marcha en este espacio de trabajo; arráncalo con `lab start`"
    )]
    NotRunning,
    #[error("no se pudo arrancar {service}: {message}")]
    Service { service: String, message: String },
    #[error("no existe el servicio `{name}`{hint}\n  servicios: {list}")]
    UnknownService {
        name: String,
        hint: String,
        list: String,
    },
    #[error("la ruta del socket de control es demasiado larga ({len} bytes, el máximo es {max}): {path}\n  ayuda: usa un espacio de trabajo con una ruta más corta")]
    SocketPathTooLong {
        path: String,
        len: usize,
        max: usize,
    },
    #[error("no se pudo {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("el laboratorio en marcha respondió algo inesperado: {0}")]
    Protocol(String),
    #[error("{0}")]
    Workspace(#[from] crate::workspace::WorkspaceError),
}

impl SupervisorError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> SupervisorError {
        SupervisorError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration of every role

/// The loaded configuration of every role of the stack. A reload builds a new one.
#[derive(Debug, Clone)]
pub struct Stack {
    pub apache: Arc<ServerConfig>,
    /// `etc/memcached.conf`.
    pub memcached: Arc<crate::memcached::config::MemcachedConfig>,
    /// `etc/php/8.2/fpm/` (absent in workspaces made before PHP-FPM was in the lab).
    pub php_fpm: Option<Arc<crate::php::fpm::FpmConfig>>,
    /// The varnish unit and its VCL (`None` when absent, or invalid while disabled).
    pub varnish: Option<Arc<crate::proxy::config::ProxyConfig>>,
    /// Why `varnish` is `None` although the workspace has it (shown on `service start`).
    pub varnish_errors: Vec<Diagnostic>,
    /// The errors of a broken `memcached.conf` while memcached is disabled: they do not stop
    /// the lab (`memcached` then holds the defaults) but refuse `lab service memcached start`.
    pub memcached_errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Stack {
    /// Loads and validates all configuration of the workspace.
    pub fn load(ws: &Workspace) -> Result<Stack, Vec<Diagnostic>> {
        let apache = crate::config::load(ws);
        let (memcached, memcached_errors) = load_memcached(ws);
        let php_fpm = crate::php::fpm::load(ws);
        match (apache, memcached, php_fpm) {
            (Ok(loaded), Ok(mc), Ok(fpm)) => {
                let mut warnings = loaded.warnings;
                warnings.extend(mc.warnings);
                let php_fpm = fpm.map(|f| {
                    warnings.extend(f.warnings);
                    Arc::new(f.config)
                });
                let (varnish, varnish_errors) =
                    load_varnish(ws, &loaded.config, &mc.config, &mut warnings)?;
                Ok(Stack {
                    apache: Arc::new(loaded.config),
                    memcached: Arc::new(mc.config),
                    php_fpm,
                    varnish,
                    varnish_errors,
                    memcached_errors,
                    warnings,
                })
            }
            (apache, memcached, php_fpm) => {
                let mut diags = apache.err().unwrap_or_default();
                diags.extend(memcached.err().unwrap_or_default());
                diags.extend(php_fpm.err().unwrap_or_default());
                Err(diags)
            }
        }
    }
}

/// Loads `etc/memcached.conf`. Its errors stop everything only when memcached is enabled;
/// when it is disabled they are kept for `lab service memcached start` and the defaults
/// stand in, with a warning, so a file the student has not got to yet does not stop the lab.
fn load_memcached(
    ws: &Workspace,
) -> (
    Result<crate::memcached::config::Loaded, Vec<Diagnostic>>,
    Vec<Diagnostic>,
) {
    use crate::memcached::config;
    match config::load(ws) {
        Err(diags) if !ws.settings.services.memcached => {
            let defaults =
                config::MemcachedConfig::defaults(ws.resolve(config::DEFAULT_LOG, &ws.root).path);
            let first = crate::config::diagnostic::first_error(&diags);
            let warning = Diagnostic::warning(
                diags.iter().find(|d| d.is_error()).and_then(|d| d.span.clone()),
                format!(
                    "{} tiene errores ({first}); memcached está desactivado en lab.toml, así que no impide arrancar",
                    config::CONF_PATH
                ),
            )
            .with_hint("corrígelo antes de `lab service memcached start`; `lab configtest` muestra todos los errores");
            (
                Ok(config::Loaded {
                    config: defaults,
                    warnings: vec![warning],
                }),
                diags,
            )
        }
        other => (other, Vec::new()),
    }
}

/// The addresses the other enabled services bind, for varnish's port warnings.
pub fn other_binds(
    ws: &Workspace,
    apache: &ServerConfig,
    memcached: &crate::memcached::config::MemcachedConfig,
) -> Vec<(&'static str, SocketAddr)> {
    let mut others = Vec::new();
    if ws.settings.services.apache2 {
        others.extend(apache.listens.iter().map(|l| ("apache2", l.bind)));
    }
    if ws.settings.services.memcached {
        others.extend(memcached.binds.iter().map(|b| ("memcached", *b)));
    }
    others
}

/// Loads varnish's unit and VCL when the workspace has them: errors stop everything when
/// the service is enabled, and are kept for `lab service varnish start` otherwise.
#[allow(clippy::type_complexity)]
fn load_varnish(
    ws: &Workspace,
    apache: &ServerConfig,
    memcached: &crate::memcached::config::MemcachedConfig,
    warnings: &mut Vec<Diagnostic>,
) -> Result<
    (
        Option<Arc<crate::proxy::config::ProxyConfig>>,
        Vec<Diagnostic>,
    ),
    Vec<Diagnostic>,
> {
    if !crate::proxy::config::present(ws) {
        return Ok((None, Vec::new()));
    }
    let enabled = ws.settings.services.varnish;
    match crate::proxy::config::load(ws) {
        Ok(loaded) => {
            if enabled {
                warnings.extend(loaded.warnings);
                warnings.extend(crate::proxy::config::cross_check(
                    &loaded.config,
                    &other_binds(ws, apache, memcached),
                ));
            }
            Ok((Some(Arc::new(loaded.config)), Vec::new()))
        }
        Err(diags) if enabled => Err(diags),
        Err(diags) => Ok((None, diags)),
    }
}

// ---------------------------------------------------------------------------------------------
// Service registry

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a service starts: from the loaded configuration to a running service.
type StartFn = for<'a> fn(&'a Stack) -> BoxFuture<'a, Result<Box<dyn Running>, String>>;

/// A started service.
trait Running: Send + Sync {
    /// Applies a new configuration without dropping connections.
    fn reload<'a>(&'a self, stack: &'a Stack) -> BoxFuture<'a, Result<(), String>>;
    /// Where it listens: (`Listen 80` as written, address bound).
    fn bound(&self) -> Vec<(Listen, SocketAddr)>;
    fn stats(&self) -> Counters;
    /// The service's parts with their counters (the web server's handlers).
    fn parts(&self) -> Vec<PartCounters> {
        Vec::new()
    }
    /// How to reach one bound address, and how it relates to the configuration:
    /// (`http://127.0.0.1:10080/`, `Listen 80 -> 127.0.0.1:10080`).
    fn endpoint(&self, listen: &Listen, addr: SocketAddr) -> (String, String) {
        (report::url_for(addr), report::mapping(listen, addr))
    }
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
    /// A change in `stack` this service does not apply on reload, said in Spanish (memcached
    /// reads its configuration only when it starts).
    fn pending(&self, _stack: &Stack) -> Option<String> {
        None
    }
    /// For a service without listeners (php-fpm): what it serves, as (what, detail) lines.
    fn notes(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The caching proxy, for `lab proxy` and `lab ban`.
    fn proxy(&self) -> Option<Arc<crate::proxy::Proxy>> {
        None
    }
}

/// A service the lab can run.
pub struct ServiceSpec {
    /// The name `lab service NAME` takes (Debian's unit name).
    pub name: &'static str,
    /// One line, in Spanish.
    pub description: &'static str,
    /// Whether `lab.toml` enables it.
    pub enabled: fn(&Settings) -> bool,
    pub set_enabled: fn(&mut Settings, bool),
    start: StartFn,
}

/// Every service, in start order.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "apache2",
        description: "servidor web Apache 2",
        enabled: |s| s.services.apache2,
        set_enabled: |s, on| s.services.apache2 = on,
        start: start_apache,
    },
    ServiceSpec {
        name: "memcached",
        description: "caché de objetos en memoria memcached",
        enabled: |s| s.services.memcached,
        set_enabled: |s, on| s.services.memcached = on,
        start: start_memcached,
    },
    ServiceSpec {
        name: "php8.2-fpm",
        description: "gestor de procesos FastCGI de PHP (php-fpm de Debian)",
        enabled: |s| s.services.php_fpm,
        set_enabled: |s, on| s.services.php_fpm = on,
        start: start_php_fpm,
    },
    ServiceSpec {
        name: "varnish",
        description: "caché HTTP (acelerador) Varnish",
        enabled: |s| s.services.varnish,
        set_enabled: |s, on| s.services.varnish = on,
        start: start_varnish,
    },
];

/// Looks a service up by name, with a suggestion when it does not exist.
pub fn find_service(name: &str) -> Result<&'static ServiceSpec, SupervisorError> {
    SERVICES.iter().find(|s| s.name == name).ok_or_else(|| {
        let names = SERVICES.iter().map(|s| s.name);
        SupervisorError::UnknownService {
            name: name.to_string(),
            hint: suggest(name, names)
                .map(|s| format!(". ¿Quisiste decir `{s}`?"))
                .unwrap_or_default(),
            list: SERVICES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        }
    })
}

fn start_apache(stack: &Stack) -> BoxFuture<'_, Result<Box<dyn Running>, String>> {
    Box::pin(async move {
        let run_dir = stack.apache.workspace.join("run");
        let wsgi = Arc::new(crate::wsgi::WsgiHost::start_in(&stack.apache, &run_dir)?);
        if let Some(python) = wsgi.python_description() {
            say(&format!("  mod_wsgi  {python} incrustado"));
        }
        let mod_php = match crate::php::modphp::ModPhp::start(&stack.apache).await {
            Ok(m) => m,
            Err(e) => {
                wsgi.stop();
                return Err(e);
            }
        };
        if let Some(m) = &mod_php {
            say(&format!("  {}", m.describe()));
        }
        let role = match crate::http::HttpRole::start_with_wsgi(
            Arc::clone(&stack.apache),
            Some(Arc::clone(&wsgi)),
        )
        .await
        {
            Ok(role) => role,
            Err(e) => {
                wsgi.stop();
                if let Some(m) = mod_php {
                    m.stop().await;
                }
                return Err(e);
            }
        };
        Ok(
            Box::new(ApacheService(role, wsgi, tokio::sync::Mutex::new(mod_php)))
                as Box<dyn Running>,
        )
    })
}

/// The Apache role as a supervised service, with mod_wsgi's host and mod_php's PHP
/// processes beside it.
struct ApacheService(
    crate::http::HttpRole,
    Arc<crate::wsgi::WsgiHost>,
    tokio::sync::Mutex<Option<crate::php::modphp::ModPhp>>,
);

impl Running for ApacheService {
    fn reload<'a>(&'a self, stack: &'a Stack) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.1.reload(&stack.apache)?;
            {
                let mut m = self.2.lock().await;
                if crate::php::modphp::ModPhp::outdated(m.as_ref(), &stack.apache) {
                    if let Some(old) = m.take() {
                        old.stop().await;
                    }
                    *m = crate::php::modphp::ModPhp::start(&stack.apache).await?;
                }
            }
            self.0.reload(Arc::clone(&stack.apache)).await
        })
    }

    fn notes(&self) -> Vec<(String, String)> {
        self.2
            .try_lock()
            .ok()
            .and_then(|m| m.as_ref().map(|m| m.describe()))
            .map(|d| vec![(d, "php8.2".to_string())])
            .unwrap_or_default()
    }

    fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        self.0.bound()
    }

    fn stats(&self) -> Counters {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.0.stats();
        Counters {
            uptime_secs: s.started.elapsed().as_secs(),
            requests: s.requests.load(Relaxed),
            bytes: s.bytes.load(Relaxed),
            busy_workers: s.busy.load(Relaxed),
            errors: s.errors.load(Relaxed),
            ..Counters::default()
        }
    }

    fn parts(&self) -> Vec<PartCounters> {
        self.0
            .stats()
            .handlers()
            .into_iter()
            .map(|(key, requests, errors, busy)| PartCounters {
                key,
                requests,
                errors,
                busy,
            })
            .collect()
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        let ApacheService(role, wsgi, mod_php) = *self;
        Box::pin(async move {
            role.stop().await;
            wsgi.stop();
            if let Some(m) = mod_php.into_inner() {
                m.stop().await;
            }
        })
    }
}

/// memcached: the role runs on its own runtime with `-t` worker threads.
fn start_memcached(stack: &Stack) -> BoxFuture<'_, Result<Box<dyn Running>, String>> {
    Box::pin(async move {
        if !stack.memcached_errors.is_empty() {
            return Err(format!(
                "{} tiene errores:\n{}",
                crate::memcached::config::CONF_PATH,
                render(&stack.memcached_errors, Some(&stack.apache.workspace))
            ));
        }
        let config = Arc::clone(&stack.memcached);
        let role = crate::memcached::MemcachedRole::start((*config).clone())?;
        let file = Arc::new(PathBuf::from(crate::memcached::config::CONF_PATH));
        let listens = config.listens(&file);
        Ok(Box::new(MemcachedService {
            role: Some(role),
            config,
            listens,
        }) as Box<dyn Running>)
    })
}

struct MemcachedService {
    role: Option<crate::memcached::MemcachedRole>,
    config: Arc<crate::memcached::config::MemcachedConfig>,
    listens: Vec<Listen>,
}

impl Running for MemcachedService {
    fn endpoint(&self, listen: &Listen, addr: SocketAddr) -> (String, String) {
        (
            format!(
                "{addr} (protocolo memcached: `telnet {} {}`)",
                addr.ip(),
                addr.port()
            ),
            format!("-p {} en etc/memcached.conf -> {addr}", listen.port),
        )
    }

    fn reload<'a>(&'a self, _stack: &'a Stack) -> BoxFuture<'a, Result<(), String>> {
        // Like Debian's memcached, the configuration is read at start only: a reload leaves
        // it as it is and `pending` says what is waiting for a restart.
        Box::pin(async { Ok(()) })
    }

    fn pending(&self, stack: &Stack) -> Option<String> {
        (*stack.memcached != *self.config).then(|| {
            format!(
                "memcached: {} ha cambiado, pero memcached solo lo lee al arrancar (como en Debian); aplícalo con `lab service memcached restart`",
                crate::memcached::config::CONF_PATH
            )
        })
    }

    fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        let bound = self
            .role
            .as_ref()
            .map(|r| r.bound().to_vec())
            .unwrap_or_default();
        self.listens.iter().cloned().zip(bound).collect()
    }

    fn stats(&self) -> Counters {
        let Some(role) = &self.role else {
            return Counters::default();
        };
        let shared = role.shared();
        let totals = shared.store.totals();
        let r = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        Counters {
            uptime_secs: shared.store.clock.uptime(),
            requests: totals.counters.cmd_get + totals.counters.cmd_set,
            bytes: r(&shared.bytes_written),
            busy_workers: r(&shared.curr_connections),
            hits: Some(totals.counters.get_hits),
            misses: Some(totals.counters.get_misses),
            ..Counters::default()
        }
    }

    fn stop(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        let role = self.role.take();
        Box::pin(async move {
            if let Some(role) = role {
                role.shutdown().await;
            }
        })
    }
}

/// php-fpm: Debian's binary with the configuration generated from the workspace.
fn start_php_fpm(stack: &Stack) -> BoxFuture<'_, Result<Box<dyn Running>, String>> {
    Box::pin(async move {
        let Some(config) = stack.php_fpm.clone() else {
            return Err(format!(
                "este espacio de trabajo no tiene {}; créalo copiando el de un espacio nuevo (`lab init`)",
                crate::php::fpm::CONF_PATH
            ));
        };
        let state = stack.apache.workspace.join(".lab");
        let process = crate::php::service::FpmProcess::start(config, &state).await?;
        Ok(Box::new(FpmService(tokio::sync::Mutex::new(Some(process)))) as Box<dyn Running>)
    })
}

struct FpmService(tokio::sync::Mutex<Option<crate::php::service::FpmProcess>>);

impl Running for FpmService {
    fn reload<'a>(&'a self, stack: &'a Stack) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut guard = self.0.lock().await;
            let Some(p) = guard.as_mut() else {
                return Ok(());
            };
            match &stack.php_fpm {
                Some(new) if **new == *p.config => {
                    p.reload();
                    Ok(())
                }
                Some(new) => p.reload_with(Arc::clone(new)).await,
                None => Err(format!(
                    "falta {}; php-fpm sigue con la configuración anterior",
                    crate::php::fpm::CONF_PATH
                )),
            }
        })
    }

    fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        Vec::new()
    }

    fn notes(&self) -> Vec<(String, String)> {
        let Ok(g) = self.0.try_lock() else {
            return Vec::new();
        };
        let Some(p) = g.as_ref() else {
            return Vec::new();
        };
        p.config
            .pools
            .iter()
            .map(|pool| {
                (
                    format!("pool [{}] en {}", pool.name, pool.backend),
                    format!(
                        "pm {}, máx. {} procesos, maestro PID {}, {} reinicios",
                        pool.pm.name(),
                        pool.max_children,
                        p.pid(),
                        p.restarts()
                    ),
                )
            })
            .collect()
    }

    fn stats(&self) -> Counters {
        let uptime = self
            .0
            .try_lock()
            .ok()
            .and_then(|g| g.as_ref().map(|p| p.uptime().as_secs()))
            .unwrap_or(0);
        Counters {
            uptime_secs: uptime,
            ..Counters::default()
        }
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Some(p) = self.0.lock().await.take() {
                p.stop().await;
            }
        })
    }
}

/// varnish: the proxy runs as tasks of the lab's runtime.
fn start_varnish(stack: &Stack) -> BoxFuture<'_, Result<Box<dyn Running>, String>> {
    Box::pin(async move {
        let Some(config) = stack.varnish.clone() else {
            return Err(if stack.varnish_errors.is_empty() {
                "el espacio de trabajo no tiene etc/varnish/default.vcl ni la unidad varnish.service".to_string()
            } else {
                format!(
                    "la configuración de varnish tiene errores:\n{}",
                    render(&stack.varnish_errors, Some(&stack.apache.workspace))
                )
            });
        };
        let role = crate::proxy::ProxyRole::start(&config).await?;
        Ok(Box::new(VarnishService {
            role: Some(role),
            config: std::sync::Mutex::new(config),
            started: Instant::now(),
        }) as Box<dyn Running>)
    })
}

struct VarnishService {
    role: Option<crate::proxy::ProxyRole>,
    config: std::sync::Mutex<Arc<crate::proxy::config::ProxyConfig>>,
    started: Instant,
}

impl Running for VarnishService {
    fn endpoint(&self, listen: &Listen, addr: SocketAddr) -> (String, String) {
        (
            report::url_for(addr),
            format!(
                "-a {}:{} -> {addr}",
                listen.addr.map(|a| a.to_string()).unwrap_or_default(),
                listen.port
            ),
        )
    }

    fn reload<'a>(&'a self, stack: &'a Stack) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let Some(new) = stack.varnish.clone() else {
                return Err(
                    "la configuración de varnish no es válida; se sigue usando el VCL anterior"
                        .into(),
                );
            };
            let Some(role) = &self.role else {
                return Ok(());
            };
            let mut cur = self.config.lock().unwrap_or_else(|p| p.into_inner());
            // Like `varnishreload`: a new VCL is loaded and used; -a, -s and -p need a restart.
            let restart = cur.listens != new.listens
                || cur.storage != new.storage
                || cur.params != new.params;
            role.proxy.use_vcl(Arc::clone(&new.vcl))?;
            *cur = new;
            if restart {
                Err("VCL nuevo en uso, pero -a, -s y -p solo cambian al reiniciar: `lab service varnish restart`".into())
            } else {
                Ok(())
            }
        })
    }

    fn bound(&self) -> Vec<(Listen, SocketAddr)> {
        self.role.as_ref().map(|r| r.bound()).unwrap_or_default()
    }

    fn stats(&self) -> Counters {
        let Some(role) = &self.role else {
            return Counters::default();
        };
        let st = &role.proxy.stats;
        let r = |a: &crate::proxy::stats::Counter| a.load(std::sync::atomic::Ordering::Relaxed);
        Counters {
            uptime_secs: self.started.elapsed().as_secs(),
            requests: r(&st.client_req),
            bytes: r(&st.s_resp_bodybytes),
            busy_workers: 0,
            errors: r(&st.fetch_failed) + r(&st.backend_fail),
            hits: Some(r(&st.cache_hit) + r(&st.cache_hit_grace)),
            misses: Some(r(&st.cache_miss)),
        }
    }

    fn stop(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        let role = self.role.take();
        Box::pin(async move {
            if let Some(role) = role {
                role.stop();
            }
        })
    }

    fn proxy(&self) -> Option<Arc<crate::proxy::Proxy>> {
        self.role.as_ref().map(|r| Arc::clone(&r.proxy))
    }
}

// ---------------------------------------------------------------------------------------------
// Control protocol

/// A request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    Status,
    Reload,
    Stop,
    /// `lab cache reset`: empties the script cache.
    #[serde(rename = "cache-reset")]
    CacheReset,
    /// `lab cache status`.
    #[serde(rename = "cache-status")]
    CacheStatus,
    /// `lab service NAME start|stop|restart|reload`.
    Service {
        name: String,
        action: String,
    },
    /// `lab proxy log`: transactions after sequence number `after`.
    ProxyLog {
        after: u64,
        /// `-q`: varnishlog's query language (the common subset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// `-g`: `vxid` (default) or `request`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// `lab proxy stat`.
    ProxyStat,
    /// `lab ban EXPR`.
    Ban {
        expr: String,
    },
    /// `lab explain URL`, the proxy's part.
    ProxyExplain {
        method: String,
        url: String,
        host: String,
        /// Extra request headers (cookies, Accept-Encoding...), as the console's form sends.
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
}

/// The answer to a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    /// Spanish text for the user.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusData>,
    /// `lab proxy log`: the last transaction number returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Response {
    fn ok(message: impl Into<String>) -> Response {
        Response {
            ok: true,
            message: message.into(),
            status: None,
            seq: None,
        }
    }

    fn fail(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            message: message.into(),
            status: None,
            seq: None,
        }
    }
}

/// What `lab status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusData {
    pub workspace: String,
    pub pid: u32,
    pub uptime_secs: u64,
    pub services: Vec<ServiceStatus>,
    /// The `apache2ctl -S` table of the configuration in use.
    pub vhosts: String,
    /// Where the lesson console answers, when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub enabled: bool,
    pub running: bool,
    pub urls: Vec<String>,
    /// `Listen 80 -> 127.0.0.1:10080`.
    pub mappings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Counters>,
    /// What the service is made of, with their own counters (the web server's handlers:
    /// static files, each WSGI group, CGI, each FastCGI backend).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartCounters>,
}

/// Activity counters of a running service.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Counters {
    pub uptime_secs: u64,
    pub requests: u64,
    pub bytes: u64,
    pub busy_workers: u64,
    /// Answers that went wrong (5xx for HTTP, failed fetches for the proxy).
    #[serde(default)]
    pub errors: u64,
    /// Cache hits and misses (varnish, memcached's `get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misses: Option<u64>,
}

/// Counters of one part of a service (`wsgi:GROUP`, `cgi`, `fcgi:unix:/run/php/...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartCounters {
    pub key: String,
    pub requests: u64,
    pub errors: u64,
    pub busy: u64,
}

/// The text `lab status` prints.
pub fn status_text(s: &StatusData) -> String {
    let mut out = format!(
        "Laboratorio en marcha en {} (PID {}, desde hace {})\n\nServicios:\n",
        s.workspace,
        s.pid,
        duration_text(s.uptime_secs)
    );
    for svc in &s.services {
        let state = match (svc.running, svc.enabled) {
            (true, _) => "en marcha",
            (false, true) => "parado",
            (false, false) => "parado (desactivado en lab.toml)",
        };
        out.push_str(&format!("  {:<9} {state}\n", svc.name));
        for (url, mapping) in svc.urls.iter().zip(&svc.mappings) {
            out.push_str(&format!("            {url}  ({mapping})\n"));
        }
        if let Some(c) = &svc.counters {
            out.push_str(&format!(
                "            {} peticiones atendidas, {} de tráfico, {} trabajadores ocupados, \
                 en marcha desde hace {}\n",
                c.requests,
                bytes_text(c.bytes),
                c.busy_workers,
                duration_text(c.uptime_secs)
            ));
        }
    }
    if let Some(url) = &s.console {
        out.push_str(&format!(
            "  {:<9} {url}  (lecciones y «Comprobar»)\n",
            "consola"
        ));
    }
    out.push('\n');
    out.push_str(&s.vhosts);
    out
}

fn duration_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

fn bytes_text(b: u64) -> String {
    match b {
        0..=1023 => format!("{b} B"),
        1024..=1_048_575 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

/// Sends one request to the `lab start` running in `ws` and waits for the answer.
pub fn request(ws: &Workspace, req: &Request) -> Result<Response, SupervisorError> {
    let path = ws.control_socket();
    let stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(SupervisorError::NotRunning)
        }
        Err(e) => return Err(SupervisorError::io("conectar con", &path, e)),
    };
    let io_err = |e| SupervisorError::io("hablar con el laboratorio por", &path, e);
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io_err)?;
    let mut line =
        serde_json::to_string(req).map_err(|e| SupervisorError::Protocol(e.to_string()))?;
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(io_err)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(io_err)?;
    if answer.trim().is_empty() {
        return Err(SupervisorError::Protocol(
            "la conexión se cerró sin respuesta".to_string(),
        ));
    }
    serde_json::from_str(answer.trim()).map_err(|e| SupervisorError::Protocol(e.to_string()))
}

/// Asks the running lab to stop and waits until it has (socket gone), up to `timeout`.
pub fn stop_and_wait(ws: &Workspace, timeout: Duration) -> Result<Response, SupervisorError> {
    let resp = request(ws, &Request::Stop)?;
    let deadline = Instant::now() + timeout;
    let sock = ws.control_socket();
    while sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(resp)
}

/// `lab service NAME enable|disable`: edits `lab.toml` (a running lab is not touched, as
/// `systemctl enable` does not start anything). Returns the message to print.
pub fn set_service_enabled(
    ws: &mut Workspace,
    name: &str,
    enabled: bool,
) -> Result<String, SupervisorError> {
    let spec = find_service(name)?;
    if (spec.enabled)(&ws.settings) == enabled {
        return Ok(format!(
            "El servicio {name} ya estaba {} en lab.toml",
            if enabled { "activado" } else { "desactivado" }
        ));
    }
    (spec.set_enabled)(&mut ws.settings, enabled);
    ws.save_settings()?;
    Ok(if enabled {
        format!("Servicio {name} activado: arrancará con el próximo `lab start` (o ya: `lab service {name} start`)")
    } else {
        format!("Servicio {name} desactivado: no arrancará con el próximo `lab start` (para pararlo ya: `lab service {name} stop`)")
    })
}

// ---------------------------------------------------------------------------------------------
// The supervisor

/// Options of `lab start`.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The URL of the lesson console served beside the stack (the CLI starts it: the
    /// console lives in the `lessons` crate), shown by `lab status`.
    pub console_url: Option<String>,
}

struct Command {
    request: Request,
    reply: oneshot::Sender<Response>,
    /// Fires once the answer is on the wire, so `stop` can answer before the process ends.
    written: oneshot::Receiver<()>,
}

struct Supervisor {
    ws: Workspace,
    stack: Stack,
    started: Instant,
    services: Vec<(&'static ServiceSpec, Option<Box<dyn Running>>)>,
    console_url: Option<String>,
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

fn say_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{text}");
    let _ = err.flush();
}

/// Runs the lab in the foreground until Ctrl-C, SIGTERM or `lab stop`.
pub async fn run(ws: Workspace, opts: StartOptions) -> Result<(), SupervisorError> {
    crate::util::raise_fd_limit();
    let stack = match Stack::load(&ws) {
        Ok(stack) => stack,
        Err(diags) => {
            say_err(&render(&diags, Some(&ws.root)));
            return Err(SupervisorError::InvalidConfig);
        }
    };

    let run_dir = ws.run_dir();
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| SupervisorError::io("crear el directorio", &run_dir, e))?;
    let listener = bind_control_socket(&ws)?;
    let pid_file = run_dir.join("lab.pid");
    let cleanup = Cleanup {
        socket: ws.control_socket(),
        pid_file: pid_file.clone(),
    };
    std::fs::write(&pid_file, format!("{}\n", std::process::id()))
        .map_err(|e| SupervisorError::io("escribir", &pid_file, e))?;

    let mut sup = Supervisor {
        ws,
        stack,
        started: Instant::now(),
        services: SERVICES.iter().map(|s| (s, None)).collect(),
        console_url: opts.console_url,
    };

    say(&format!("Espacio de trabajo: {}", sup.ws.root.display()));
    if !sup.stack.warnings.is_empty() {
        say_err(&render(&sup.stack.warnings, Some(&sup.ws.root)));
    }
    for i in 0..sup.services.len() {
        let spec = sup.services[i].0;
        if !(spec.enabled)(&sup.ws.settings) {
            say(&format!(
                "  {:<10} desactivado en lab.toml (actívalo con `lab service {} enable`)",
                spec.name, spec.name
            ));
            continue;
        }
        match (spec.start)(&sup.stack).await {
            Ok(running) => {
                for line in endpoint_lines(spec, running.as_ref()) {
                    say(&line);
                }
                sup.services[i].1 = Some(running);
            }
            // Only the web server is essential: memcached or php-fpm failing is reported and
            // the rest of the lab keeps running.
            Err(message) if spec.name != "apache2" => {
                say_err(&format!("  {:<10} no arrancó: {message}\n", spec.name));
            }
            Err(message) => {
                sup.stop_all().await;
                drop(cleanup);
                return Err(SupervisorError::Service {
                    service: spec.name.to_string(),
                    message,
                });
            }
        }
    }

    let (tx, mut rx) = mpsc::channel::<Command>(16);
    let accept = tokio::spawn(accept_loop(listener, tx));
    // The handlers go in before "Listo": a SIGTERM or Ctrl-C right after it must stop the
    // lab cleanly, not kill it with the signal's default action.
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    say("Listo. Pulsa Ctrl-C para parar.");

    let terminate = async move {
        let term = async {
            match sigterm.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let int = async {
            match sigint.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = int => {}
        }
    };
    tokio::pin!(terminate);
    loop {
        tokio::select! {
            _ = &mut terminate => break,
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                let stop = cmd.request == Request::Stop;
                let resp = if stop {
                    Response::ok("Parando el laboratorio…")
                } else {
                    sup.handle(cmd.request).await
                };
                let _ = cmd.reply.send(resp);
                if stop {
                    let _ = tokio::time::timeout(Duration::from_secs(2), cmd.written).await;
                    break;
                }
            }
        }
    }

    say("Parando el laboratorio…");
    accept.abort();
    sup.stop_all().await;
    drop(cleanup);
    say("Laboratorio parado.");
    Ok(())
}

/// Removes the socket and the pid file when the supervisor ends, however it ends.
struct Cleanup {
    socket: PathBuf,
    pid_file: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Binds `run/lab.sock`, removing the socket of a dead instance and refusing when a live one
/// answers on it.
fn bind_control_socket(ws: &Workspace) -> Result<tokio::net::UnixListener, SupervisorError> {
    let path = ws.control_socket();
    // sun_path holds 108 bytes including the terminating NUL.
    const MAX: usize = 107;
    let len = path.as_os_str().len();
    if len > MAX {
        return Err(SupervisorError::SocketPathTooLong {
            path: path.display().to_string(),
            len,
            max: MAX,
        });
    }
    let already = || SupervisorError::AlreadyRunning {
        pid: std::fs::read_to_string(ws.run_dir().join("lab.pid"))
            .ok()
            .map(|p| format!(" (PID {})", p.trim()))
            .unwrap_or_default(),
    };
    if path.symlink_metadata().is_ok() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(already());
        }
        // Nobody answers: the socket of an instance that died without cleaning up.
        std::fs::remove_file(&path)
            .map_err(|e| SupervisorError::io("borrar el socket antiguo", &path, e))?;
    }
    tokio::net::UnixListener::bind(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            already()
        } else {
            SupervisorError::io("crear el socket de control", &path, e)
        }
    })
}

async fn accept_loop(listener: tokio::net::UnixListener, tx: mpsc::Sender<Command>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = tokio::io::BufReader::new(read).lines();
            let Ok(Some(line)) = lines.next_line().await else {
                return;
            };
            let (written_tx, written) = oneshot::channel();
            let resp = match serde_json::from_str::<Request>(&line) {
                Ok(request) => {
                    let (reply, answer) = oneshot::channel();
                    let cmd = Command {
                        request,
                        reply,
                        written,
                    };
                    if tx.send(cmd).await.is_err() {
                        Response::fail("el laboratorio se está parando")
                    } else {
                        answer
                            .await
                            .unwrap_or_else(|_| Response::fail("el laboratorio se está parando"))
                    }
                }
                Err(e) => Response::fail(format!("petición no válida: {e}")),
            };
            if let Ok(mut text) = serde_json::to_string(&resp) {
                text.push('\n');
                let _ = write.write_all(text.as_bytes()).await;
                let _ = write.shutdown().await;
            }
            let _ = written_tx.send(());
        });
    }
}

/// `  apache2  http://127.0.0.1:10080/  (Listen 80 -> 127.0.0.1:10080)`, one per listener.
fn endpoint_lines(spec: &ServiceSpec, running: &dyn Running) -> Vec<String> {
    let bound = running.bound();
    let notes = running.notes();
    if bound.is_empty() && !notes.is_empty() {
        return notes
            .iter()
            .map(|(what, detail)| format!("  {:<10} {what}  ({detail})", spec.name))
            .collect();
    }
    if bound.is_empty() {
        return vec![format!(
            "  {:<10} en marcha (sin puertos de escucha)",
            spec.name
        )];
    }
    bound
        .iter()
        .map(|(listen, addr)| {
            let (url, mapping) = running.endpoint(listen, *addr);
            format!("  {:<10} {url}  ({mapping})", spec.name)
        })
        .collect()
}

impl Supervisor {
    async fn handle(&mut self, request: Request) -> Response {
        match request {
            Request::Status => {
                let status = self.status();
                Response {
                    ok: true,
                    message: status_text(&status),
                    status: Some(status),
                    seq: None,
                }
            }
            Request::Reload => self.reload(None).await,
            Request::Stop => Response::ok("Parando el laboratorio…"),
            Request::CacheReset => {
                let cache = crate::scriptcache::global();
                let n = cache.status().scripts.len();
                cache.reset();
                Response::ok(format!(
                    "Caché de scripts vaciada ({n} scripts compilados descartados)."
                ))
            }
            Request::CacheStatus => {
                let st = crate::scriptcache::global().status();
                Response::ok(crate::scriptcache::summary(&st))
            }
            Request::Service { name, action } => self.service(&name, &action).await,
            Request::ProxyLog {
                after,
                query,
                group,
            } => match self.proxy() {
                Ok(p) => {
                    let parsed = (
                        query
                            .as_deref()
                            .map(crate::proxy::query::Query::parse)
                            .transpose(),
                        group
                            .as_deref()
                            .map(crate::proxy::query::Grouping::parse)
                            .transpose(),
                    );
                    let (q, g) = match parsed {
                        (Ok(q), Ok(g)) => (q, g),
                        (Err(e), _) => return Response::fail(format!("-q: {e}")),
                        (_, Err(e)) => return Response::fail(format!("-g: {e}")),
                    };
                    let (entries, seq) = p.log.since_query(
                        after,
                        q.as_ref(),
                        g.unwrap_or(crate::proxy::query::Grouping::Vxid),
                    );
                    let mut r = Response::ok(entries.concat());
                    r.seq = Some(seq);
                    r
                }
                Err(r) => r,
            },
            Request::ProxyStat => match self.proxy() {
                Ok(p) => Response::ok(p.stat_text()),
                Err(r) => r,
            },
            Request::ProxyExplain {
                method,
                url,
                host,
                headers,
            } => match self.proxy() {
                Ok(p) => {
                    let vcl = std::sync::Arc::clone(&p.loaded.load().vcl);
                    Response::ok(crate::proxy::explain::explain(
                        &vcl,
                        Some(&p),
                        &method,
                        &url,
                        &host,
                        &headers,
                        Some(&self.ws.root),
                    ))
                }
                Err(r) => r,
            },
            Request::Ban { expr } => match self.proxy() {
                Ok(p) => match p.ban(&expr) {
                    Ok(()) => Response::ok(format!("Ban añadido: {expr}")),
                    Err(e) => Response::fail(format!("ban no válido: {e}")),
                },
                Err(r) => r,
            },
        }
    }

    /// The running proxy, or the answer to give when varnish is not running.
    #[allow(clippy::result_large_err)]
    fn proxy(&self) -> Result<Arc<crate::proxy::Proxy>, Response> {
        self.services
            .iter()
            .find_map(|(_, r)| r.as_ref().and_then(|r| r.proxy()))
            .ok_or_else(|| {
                Response::fail("varnish no está en marcha; actívalo con `lab service varnish enable` y arráncalo con `lab service varnish start`")
            })
    }

    fn status(&self) -> StatusData {
        StatusData {
            workspace: self.ws.root.display().to_string(),
            pid: std::process::id(),
            uptime_secs: self.started.elapsed().as_secs(),
            services: self
                .services
                .iter()
                .map(|(spec, running)| {
                    let bound = running.as_ref().map(|r| r.bound()).unwrap_or_default();
                    let endpoints: Vec<(String, String)> = match running {
                        Some(r) if bound.is_empty() => r.notes(),
                        Some(r) => bound
                            .iter()
                            .map(|(l, a)| r.endpoint(l, *a))
                            .chain(r.notes())
                            .collect(),
                        None => Vec::new(),
                    };
                    ServiceStatus {
                        name: spec.name.to_string(),
                        enabled: (spec.enabled)(&self.ws.settings),
                        running: running.is_some(),
                        urls: endpoints.iter().map(|(u, _)| u.clone()).collect(),
                        mappings: endpoints.into_iter().map(|(_, m)| m).collect(),
                        counters: running.as_ref().map(|r| r.stats()),
                        parts: running.as_ref().map(|r| r.parts()).unwrap_or_default(),
                    }
                })
                .collect(),
            vhosts: report::vhost_table(&self.stack.apache),
            console: self.console_url.clone(),
        }
    }

    /// Re-reads `lab.toml` (ports, services) and then all configuration. Returns the
    /// stack, or the answer to give when something is invalid.
    fn load_fresh(&mut self) -> Result<Stack, String> {
        match Workspace::open(&self.ws.root) {
            Ok(ws) => self.ws.settings = ws.settings,
            Err(e) => {
                return Err(format!(
                    "error: {e}
"
                ))
            }
        }
        Stack::load(&self.ws).map_err(|diags| render(&diags, Some(&self.ws.root)))
    }

    /// Re-reads all configuration; when valid, every running service (or only `only`) takes
    /// it. When invalid, nothing changes and the diagnostics are the answer.
    async fn reload(&mut self, only: Option<usize>) -> Response {
        let stack = match self.load_fresh() {
            Ok(stack) => stack,
            Err(text) => {
                return Response::fail(format!(
                    "{text}La configuración no es válida: se sigue sirviendo la anterior."
                ))
            }
        };
        let mut failures = Vec::new();
        let mut lines = Vec::new();
        let mut notes = Vec::new();
        for (i, (spec, running)) in self.services.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            if let Some(r) = running {
                match r.reload(&stack).await {
                    Ok(()) => lines.extend(endpoint_lines(spec, r.as_ref())),
                    Err(e) => failures.push(format!("{}: {e}", spec.name)),
                }
                if let Some(note) = r.pending(&stack) {
                    // `lab service memcached reload` asks for what cannot be done (systemd:
                    // reload is not applicable); `lab reload` reloaded the rest and says so.
                    if only.is_some() {
                        failures.push(note);
                    } else {
                        notes.push(note);
                    }
                }
            }
        }
        let warnings = render(&stack.warnings, Some(&self.ws.root));
        self.stack = stack;
        if failures.is_empty() {
            let mut msg = warnings;
            msg.push_str("Configuración recargada.");
            for l in notes.iter().chain(lines.iter()) {
                msg.push('\n');
                msg.push_str(l);
            }
            Response::ok(msg)
        } else {
            Response::fail(format!(
                "{warnings}No se pudo aplicar la configuración nueva:\n  {}",
                failures.join("\n  ")
            ))
        }
    }

    async fn service(&mut self, name: &str, action: &str) -> Response {
        let Some(index) = self.services.iter().position(|(s, _)| s.name == name) else {
            return match find_service(name) {
                Err(e) => Response::fail(e.to_string()),
                Ok(_) => Response::fail(format!("el servicio {name} no está en el laboratorio")),
            };
        };
        let spec = self.services[index].0;
        let running = self.services[index].1.is_some();
        match action {
            "start" if running => Response::ok(format!("{name} ya está en marcha")),
            "stop" if !running => Response::ok(format!("{name} ya está parado")),
            "reload" if !running => Response::fail(format!(
                "{name} está parado; arráncalo con `lab service {name} start`"
            )),
            "reload" => self.reload(Some(index)).await,
            "stop" => {
                if let Some(r) = self.services[index].1.take() {
                    r.stop().await;
                }
                Response::ok(format!("{name} parado."))
            }
            "start" | "restart" => {
                // Like systemd, starting re-reads the configuration from disk.
                let stack = match self.load_fresh() {
                    Ok(stack) => stack,
                    Err(text) => {
                        return Response::fail(format!(
                            "{text}La configuración no es válida: {name} no se {}.",
                            if running { "reinicia" } else { "arranca" }
                        ))
                    }
                };
                if let Some(r) = self.services[index].1.take() {
                    r.stop().await;
                }
                match (spec.start)(&stack).await {
                    Ok(r) => {
                        let mut msg = render(&stack.warnings, Some(&self.ws.root));
                        msg.push_str(&format!(
                            "{name} {}.",
                            if action == "start" {
                                "arrancado"
                            } else {
                                "reiniciado"
                            }
                        ));
                        for l in endpoint_lines(spec, r.as_ref()) {
                            msg.push('\n');
                            msg.push_str(&l);
                        }
                        self.services[index].1 = Some(r);
                        self.stack = stack;
                        Response::ok(msg)
                    }
                    Err(e) => Response::fail(format!("no se pudo arrancar {name}: {e}")),
                }
            }
            other => Response::fail(format!(
                "acción desconocida `{other}`; usa start, stop, restart, reload, enable o disable"
            )),
        }
    }

    async fn stop_all(&mut self) {
        // Stop in reverse start order (a proxy before its backends).
        for (_, running) in self.services.iter_mut().rev() {
            if let Some(r) = running.take() {
                r.stop().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_use_the_json_lines_shape() {
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"cmd":"status"}"#
        );
        let req: Request =
            serde_json::from_str(r#"{"cmd":"service","name":"apache2","action":"restart"}"#)
                .unwrap();
        assert_eq!(
            req,
            Request::Service {
                name: "apache2".into(),
                action: "restart".into()
            }
        );
    }

    #[test]
    fn unknown_services_get_a_suggestion() {
        let err = find_service("apache").err().expect("unknown");
        assert!(err.to_string().contains("¿Quisiste decir `apache2`?"));
    }

    #[test]
    fn enable_and_disable_edit_lab_toml() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = crate::workspace::init(&tmp.path().join("ws"), None).unwrap();
        let msg = set_service_enabled(&mut ws, "apache2", false).unwrap();
        assert!(msg.starts_with("Servicio apache2 desactivado"));
        let reopened = Workspace::open(&ws.root).unwrap();
        assert!(!reopened.settings.services.apache2);
        let msg = set_service_enabled(&mut ws, "apache2", false).unwrap();
        assert!(msg.contains("ya estaba desactivado"));
    }

    #[test]
    fn status_text_shows_services_and_counters() {
        let s = StatusData {
            workspace: "/tmp/ws".into(),
            pid: 42,
            uptime_secs: 65,
            services: vec![ServiceStatus {
                name: "apache2".into(),
                enabled: true,
                running: true,
                urls: vec!["http://127.0.0.1:10080/".into()],
                mappings: vec!["Listen 80 -> 127.0.0.1:10080".into()],
                counters: Some(Counters {
                    uptime_secs: 65,
                    requests: 3,
                    bytes: 2048,
                    busy_workers: 0,
                    ..Counters::default()
                }),
                parts: Vec::new(),
            }],
            vhosts: "Configuración de VirtualHost:\n".into(),
            console: Some("http://127.0.0.1:7070/".into()),
        };
        let text = status_text(&s);
        assert!(text.starts_with("Laboratorio en marcha en /tmp/ws (PID 42, desde hace 1 min 5 s)"));
        assert!(text.contains("  apache2   en marcha\n"));
        assert!(text.contains("http://127.0.0.1:10080/  (Listen 80 -> 127.0.0.1:10080)"));
        assert!(text.contains("3 peticiones atendidas, 2.0 KiB de tráfico"));
        assert!(text.contains("  consola   http://127.0.0.1:7070/  (lecciones y «Comprobar»)\n"));
    }

    #[test]
    fn client_reports_not_running_without_a_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&tmp.path().join("ws"), None).unwrap();
        assert!(matches!(
            request(&ws, &Request::Status),
            Err(SupervisorError::NotRunning)
        ));
    }
}
