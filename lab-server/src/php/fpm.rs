//! PHP-FPM's configuration in the workspace: `etc/php/8.2/fpm/php-fpm.conf`, the pools it
//! includes (`pool.d/*.conf`) and `php.ini`. Text -> entries with spans ([`super::ini`]) ->
//! [`FpmConfig`] (unknown keys, bad values and impossible `pm` combinations are diagnostics at
//! file:line:column) -> the file the real `php-fpm8.2` runs with, where every path points
//! inside the workspace.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ini::{self, Entry};
use crate::config::diagnostic::{suggest, Diagnostic, Span};
use crate::fastcgi::pool::Backend;
use crate::workspace::Workspace;

/// Where the main file lives inside the workspace.
pub const CONF_PATH: &str = "etc/php/8.2/fpm/php-fpm.conf";
/// The php.ini of the FPM SAPI.
pub const INI_PATH: &str = "etc/php/8.2/fpm/php.ini";

/// The socket of the pool that plays mod_php (inside the workspace).
pub const MOD_PHP_SOCKET: &str = "/run/apache2/php.sock";
/// mod_php's php.ini.
pub const MOD_PHP_INI: &str = "etc/php/8.2/apache2/php.ini";

/// Keys of `[global]` (php-fpm 8.2).
const GLOBAL_KEYS: &[&str] = &[
    "pid",
    "error_log",
    "syslog.facility",
    "syslog.ident",
    "log_level",
    "log_limit",
    "log_buffering",
    "emergency_restart_threshold",
    "emergency_restart_interval",
    "process_control_timeout",
    "process.max",
    "process.priority",
    "daemonize",
    "rlimit_files",
    "rlimit_core",
    "events.mechanism",
    "systemd_interval",
    "include",
];

/// Keys of a pool section (php-fpm 8.2).
const POOL_KEYS: &[&str] = &[
    "prefix",
    "user",
    "group",
    "listen",
    "listen.backlog",
    "listen.owner",
    "listen.group",
    "listen.mode",
    "listen.acl_users",
    "listen.acl_groups",
    "listen.allowed_clients",
    "listen.setfib",
    "process.priority",
    "process.dumpable",
    "pm",
    "pm.max_children",
    "pm.start_servers",
    "pm.min_spare_servers",
    "pm.max_spare_servers",
    "pm.max_spawn_rate",
    "pm.process_idle_timeout",
    "pm.max_requests",
    "pm.status_listen",
    "pm.status_path",
    "ping.path",
    "ping.response",
    "access.log",
    "access.format",
    "slowlog",
    "request_slowlog_timeout",
    "request_slowlog_trace_depth",
    "request_terminate_timeout",
    "request_terminate_timeout_track_finished",
    "rlimit_files",
    "rlimit_core",
    "chroot",
    "chdir",
    "catch_workers_output",
    "decorate_workers_output",
    "clear_env",
    "security.limit_extensions",
    "apparmor_hat",
    "include",
];

/// Array keys of a pool: `env[NAME]`, `php_value[NAME]`...
const POOL_ARRAYS: &[&str] = &[
    "env",
    "php_value",
    "php_flag",
    "php_admin_value",
    "php_admin_flag",
];

/// Keys whose value is a path to resolve inside the workspace.
const PATH_KEYS: &[&str] = &[
    "pid",
    "error_log",
    "access.log",
    "slowlog",
    "chdir",
    "chroot",
];

/// Keys dropped from the generated file: php-fpm runs as the lab's own user, which owns the
/// workspace (as root it runs with `--allow-to-run-as-root`), so the files it serves are
/// readable whoever runs the lab.
const ROOT_ONLY: &[&str] = &["user", "group", "listen.owner", "listen.group"];

/// How a pool manages its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmKind {
    Static,
    Dynamic,
    Ondemand,
}

impl PmKind {
    /// As written in the pool file.
    pub fn name(self) -> &'static str {
        match self {
            PmKind::Static => "static",
            PmKind::Dynamic => "dynamic",
            PmKind::Ondemand => "ondemand",
        }
    }
}

/// One pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FpmPool {
    pub name: String,
    /// `listen` as written.
    pub listen_written: String,
    pub backend: Backend,
    pub pm: PmKind,
    pub max_children: usize,
    pub status_path: Option<String>,
    pub ping_path: Option<String>,
    /// The `[name]` line.
    pub span: Span,
    /// Entries for the generated file (paths already resolved).
    entries: Vec<(String, String)>,
}

/// The loaded configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FpmConfig {
    /// `[global]` entries for the generated file.
    global: Vec<(String, String)>,
    pub pools: Vec<FpmPool>,
    pub php_ini: PathBuf,
    pub error_log: PathBuf,
    pub pid_file: PathBuf,
}

/// What loading found: the model, and warnings that do not stop it.
#[derive(Debug)]
pub struct Loaded {
    pub config: FpmConfig,
    pub warnings: Vec<Diagnostic>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// Loads the workspace's PHP-FPM configuration. `Ok(None)` when the workspace has no
/// `php-fpm.conf` (an older workspace: PHP-FPM is simply not configured).
pub fn load(ws: &Workspace) -> Result<Option<Loaded>, Vec<Diagnostic>> {
    let conf = ws.root.join(CONF_PATH);
    if !conf.is_file() {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let rel = |p: &Path| Arc::new(p.strip_prefix(&ws.root).unwrap_or(p).to_path_buf());
    let text = read(&conf).map_err(|e| {
        vec![Diagnostic::error(
            None,
            format!("no se pudo leer {CONF_PATH}: {e}"),
        )]
    })?;
    let (main, errs) = ini::parse(&rel(&conf), &text);
    errors.extend(errs);

    let conf_dir = conf.parent().unwrap_or(&ws.root).to_path_buf();
    let mut global = Vec::new();
    let mut pid_file = ws.root.join("run/php/php8.2-fpm.pid");
    let mut error_log = ws.root.join("var/log/php8.2-fpm.log");
    let mut pool_entries: Vec<Entry> = Vec::new();
    let mut sections: Vec<(String, Span)> = main
        .sections
        .iter()
        .filter(|(n, _)| n != "global")
        .cloned()
        .collect();
    for e in &main.entries {
        if e.section.is_empty() || e.section == "global" {
            if e.key == "include" {
                let pattern = ws.resolve(&e.value, &conf_dir).path;
                match glob(&pattern) {
                    Ok(files) if files.is_empty() => warnings.push(Diagnostic::warning(
                        Some(e.value_span.clone()),
                        format!("`include={}` no encuentra ningún fichero", e.value),
                    )),
                    Ok(files) => {
                        for f in files {
                            match read(&f) {
                                Ok(t) => {
                                    let (inc, errs) = ini::parse(&rel(&f), &t);
                                    errors.extend(errs);
                                    for e in &inc.entries {
                                        if e.section.is_empty() {
                                            errors.push(Diagnostic::error(
                                                Some(e.key_span.clone()),
                                                format!("`{}` está fuera de cualquier pool", e.key),
                                            ).with_hint("un fichero de pool.d empieza por la línea `[nombre_del_pool]`"));
                                        }
                                    }
                                    sections.extend(inc.sections.iter().cloned());
                                    pool_entries.extend(
                                        inc.entries.into_iter().filter(|e| !e.section.is_empty()),
                                    );
                                }
                                Err(err) => errors.push(Diagnostic::error(
                                    Some(e.value_span.clone()),
                                    format!("no se pudo leer {}: {err}", f.display()),
                                )),
                            }
                        }
                    }
                    Err(msg) => errors.push(Diagnostic::error(Some(e.value_span.clone()), msg)),
                }
                continue;
            }
            if !GLOBAL_KEYS.contains(&e.key.as_str()) {
                errors.push(unknown(e, GLOBAL_KEYS, "[global]"));
                continue;
            }
            let value = if PATH_KEYS.contains(&e.key.as_str()) {
                let p = ws.resolve(&e.value, &conf_dir).path;
                match e.key.as_str() {
                    "pid" => pid_file = p.clone(),
                    "error_log" => error_log = p.clone(),
                    _ => {}
                }
                p.display().to_string()
            } else {
                e.value.clone()
            };
            if e.key != "daemonize" {
                global.push((e.key.clone(), value));
            }
        } else {
            pool_entries.push(e.clone());
        }
    }

    let mut pools = Vec::new();
    let mut seen = HashSet::new();
    let mut listens: Vec<(String, Span)> = Vec::new();
    for (name, span) in &sections {
        if !seen.insert(name.clone()) {
            continue;
        }
        let entries: Vec<&Entry> = pool_entries.iter().filter(|e| &e.section == name).collect();
        if let Some(pool) = load_pool(ws, name, span, &entries, &conf_dir, &mut errors) {
            if let Some((_, prev)) = listens.iter().find(|(l, _)| *l == pool.backend.to_string()) {
                errors.push(Diagnostic::error(
                    Some(pool.span.clone()),
                    format!(
                        "el pool [{name}] escucha en {} como otro pool (en {})",
                        pool.listen_written,
                        prev.location(None)
                    ),
                ));
            }
            listens.push((pool.backend.to_string(), pool.span.clone()));
            pools.push(pool);
        }
    }
    if pools.is_empty() && errors.is_empty() {
        errors.push(
            Diagnostic::error(
                None,
                format!("{CONF_PATH} no define ningún pool"),
            )
            .with_hint("Debian incluye `pool.d/*.conf` con `include=`; el pool por defecto es pool.d/www.conf"),
        );
    }

    let php_ini = ws.root.join(INI_PATH);
    if php_ini.is_file() {
        match read(&php_ini) {
            Ok(t) => {
                let (_, errs) = ini::parse(&rel(&php_ini), &t);
                errors.extend(errs);
            }
            Err(e) => errors.push(Diagnostic::error(
                None,
                format!("no se pudo leer {INI_PATH}: {e}"),
            )),
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(Loaded {
        config: FpmConfig {
            global,
            pools,
            php_ini,
            error_log,
            pid_file,
        },
        warnings,
    }))
}

fn unknown(e: &Entry, keys: &[&str], place: &str) -> Diagnostic {
    let d = Diagnostic::error(
        Some(e.key_span.clone()),
        format!("clave desconocida en {place}: `{}`", e.key),
    );
    match suggest(&e.key, keys.iter().copied()) {
        Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
        None => d,
    }
}

fn number(e: &Entry, errors: &mut Vec<Diagnostic>) -> Option<usize> {
    match e.value.parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(Diagnostic::error(
                Some(e.value_span.clone()),
                format!("`{}` espera un número entero, no `{}`", e.key, e.value),
            ));
            None
        }
    }
}

fn load_pool(
    ws: &Workspace,
    name: &str,
    span: &Span,
    entries: &[&Entry],
    conf_dir: &Path,
    errors: &mut Vec<Diagnostic>,
) -> Option<FpmPool> {
    let before = errors.len();
    let get = |k: &str| entries.iter().rev().find(|e| e.key == k).copied();
    let mut out = Vec::new();
    let root = crate::util::is_root();
    for e in entries {
        let key = e.key.as_str();
        let array = key
            .split_once('[')
            .filter(|(_, rest)| rest.ends_with(']') && rest.len() > 1)
            .map(|(base, _)| base);
        match array {
            Some(base) if POOL_ARRAYS.contains(&base) => {
                let value = if base.starts_with("php_") && e.key.contains("error_log") {
                    ws.resolve(&e.value, conf_dir).path.display().to_string()
                } else {
                    e.value.clone()
                };
                out.push((e.key.clone(), value));
                continue;
            }
            Some(_) => {
                errors.push(unknown(e, POOL_ARRAYS, &format!("el pool [{name}]")));
                continue;
            }
            None => {}
        }
        if !POOL_KEYS.contains(&key) {
            errors.push(unknown(e, POOL_KEYS, &format!("el pool [{name}]")));
            continue;
        }
        if ROOT_ONLY.contains(&key) {
            continue;
        }
        let value = if PATH_KEYS.contains(&key) {
            ws.resolve(&e.value, conf_dir).path.display().to_string()
        } else {
            e.value.clone()
        };
        if key != "listen" {
            out.push((e.key.clone(), value));
        }
    }
    let Some(listen) = get("listen") else {
        errors.push(
            Diagnostic::error(
                Some(span.clone()),
                format!("el pool [{name}] no tiene `listen`"),
            )
            .with_hint(
                "por ejemplo `listen = /run/php/php8.2-fpm.sock` o `listen = 127.0.0.1:9000`",
            ),
        );
        return None;
    };
    let backend = match parse_listen(&listen.value) {
        Some(ListenAddr::Unix(p)) => Backend::Unix(ws.resolve(&p, conf_dir).path),
        Some(ListenAddr::Tcp(h, port)) => Backend::Tcp(h, port),
        None => {
            errors.push(Diagnostic::error(
                Some(listen.value_span.clone()),
                format!(
                    "`listen = {}` no es ni una ruta de socket ni dirección:puerto",
                    listen.value
                ),
            ));
            return None;
        }
    };
    if let Backend::Tcp(_, port) = &backend {
        if *port < 1024 && !root {
            errors.push(
                Diagnostic::error(
                    Some(listen.value_span.clone()),
                    format!(
                        "el puerto {port} es privilegiado y php-fpm no puede usarlo sin ser root"
                    ),
                )
                .with_hint("usa un puerto a partir de 1024, como el 9000 habitual"),
            );
        }
    }
    let pm = match get("pm").map(|e| (e, e.value.as_str())) {
        Some((_, "static")) => PmKind::Static,
        Some((_, "dynamic")) | None => PmKind::Dynamic,
        Some((_, "ondemand")) => PmKind::Ondemand,
        Some((e, other)) => {
            errors.push(
                Diagnostic::error(
                    Some(e.value_span.clone()),
                    format!("`pm = {other}` no existe"),
                )
                .with_hint(
                    match suggest(other, ["static", "dynamic", "ondemand"]) {
                        Some(s) => format!("¿Quisiste decir `{s}`? (static, dynamic u ondemand)"),
                        None => "los valores son static, dynamic y ondemand".to_string(),
                    },
                ),
            );
            PmKind::Dynamic
        }
    };
    let num = |k: &str, errors: &mut Vec<Diagnostic>| {
        get(k).and_then(|e| number(e, errors).map(|n| (n, e)))
    };
    let max_children = match num("pm.max_children", errors) {
        Some((0, e)) => {
            errors.push(Diagnostic::error(
                Some(e.value_span.clone()),
                "`pm.max_children` debe ser al menos 1",
            ));
            1
        }
        Some((n, _)) => n,
        None => {
            if get("pm.max_children").is_none() {
                errors.push(Diagnostic::error(
                    Some(span.clone()),
                    format!("el pool [{name}] no tiene `pm.max_children` (php-fpm lo exige)"),
                ));
            }
            // Nothing to compare the other limits with.
            usize::MAX
        }
    };
    if pm == PmKind::Dynamic {
        let min = num("pm.min_spare_servers", errors);
        let max = num("pm.max_spare_servers", errors);
        let start = num("pm.start_servers", errors);
        match (min, max) {
            (Some((min, emin)), Some((max, emax))) => {
                if min == 0 {
                    errors.push(Diagnostic::error(
                        Some(emin.value_span.clone()),
                        "`pm.min_spare_servers` debe ser al menos 1",
                    ));
                }
                if max > max_children {
                    errors.push(Diagnostic::error(
                        Some(emax.value_span.clone()),
                        format!("pm.max_spare_servers ({max}) no puede ser mayor que pm.max_children ({max_children})"),
                    ));
                }
                if min > max {
                    errors.push(Diagnostic::error(
                        Some(emin.value_span.clone()),
                        format!("pm.min_spare_servers ({min}) no puede ser mayor que pm.max_spare_servers ({max})"),
                    ));
                }
                if let Some((s, es)) = start {
                    if s < min || s > max {
                        errors.push(Diagnostic::error(
                            Some(es.value_span.clone()),
                            format!("pm.start_servers ({s}) debe estar entre pm.min_spare_servers ({min}) y pm.max_spare_servers ({max})"),
                        ));
                    }
                    if s > max_children {
                        errors.push(Diagnostic::error(
                            Some(es.value_span.clone()),
                            format!("pm.start_servers ({s}) no puede ser mayor que pm.max_children ({max_children})"),
                        ));
                    }
                }
            }
            _ => {
                if get("pm.min_spare_servers").is_none() || get("pm.max_spare_servers").is_none() {
                    errors.push(Diagnostic::error(
                        Some(span.clone()),
                        format!("con `pm = dynamic` el pool [{name}] necesita pm.min_spare_servers y pm.max_spare_servers"),
                    ));
                }
            }
        }
    }
    if let Some(e) = get("pm.status_path").or(get("ping.path")) {
        if !e.value.starts_with('/') {
            errors.push(Diagnostic::error(
                Some(e.value_span.clone()),
                format!("`{}` debe empezar por `/`", e.key),
            ));
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(FpmPool {
        name: name.to_string(),
        listen_written: listen.value.clone(),
        backend,
        pm,
        max_children,
        status_path: get("pm.status_path").map(|e| e.value.clone()),
        ping_path: get("ping.path").map(|e| e.value.clone()),
        span: span.clone(),
        entries: out,
    })
}

enum ListenAddr {
    Unix(String),
    Tcp(String, u16),
}

fn parse_listen(v: &str) -> Option<ListenAddr> {
    if v.starts_with('/') {
        return Some(ListenAddr::Unix(v.to_string()));
    }
    if let Ok(port) = v.parse::<u16>() {
        // php-fpm listens on every address for a bare port; the lab keeps to loopback.
        return Some(ListenAddr::Tcp("127.0.0.1".into(), port));
    }
    let (host, port) = v.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host == "*" || host.is_empty() {
        "127.0.0.1"
    } else {
        host
    };
    Some(ListenAddr::Tcp(host.to_string(), port))
}

/// `dir/*.conf`: the files of `dir` matching one `*` in the last component, sorted.
fn glob(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let name = pattern
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("patrón no válido: {}", pattern.display()))?;
    let Some(dir) = pattern.parent() else {
        return Ok(Vec::new());
    };
    if !name.contains('*') {
        return Ok(if pattern.is_file() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    let (pre, post) = name.split_once('*').unwrap_or((name, ""));
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post)
                    })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    Ok(out)
}

impl FpmConfig {
    /// The pool that stands in for mod_php's prefork children: one php-fpm pool sized like
    /// the prefork MPM (`StartServers`, `MinSpareServers`, `MaxSpareServers`,
    /// `MaxRequestWorkers`, `MaxConnectionsPerChild`), reading `etc/php/8.2/apache2/php.ini`,
    /// listening on `run/apache2/php.sock`.
    pub fn mod_php(ws_root: &Path, mpm: &crate::config::model::MpmSettings) -> FpmConfig {
        let max = mpm.max_request_workers.max(1) as usize;
        let max_spare = (mpm.max_spare.max(1) as usize).min(max);
        let min_spare = (mpm.min_spare.max(1) as usize).min(max_spare);
        let start = (mpm.start_servers as usize).clamp(min_spare, max_spare);
        let entries = vec![
            ("pm".to_string(), "dynamic".to_string()),
            ("pm.max_children".to_string(), max.to_string()),
            ("pm.start_servers".to_string(), start.to_string()),
            ("pm.min_spare_servers".to_string(), min_spare.to_string()),
            ("pm.max_spare_servers".to_string(), max_spare.to_string()),
            (
                "pm.max_requests".to_string(),
                mpm.max_connections_per_child.to_string(),
            ),
            ("catch_workers_output".to_string(), "yes".to_string()),
            // mod_php never reads `.user.ini` files (php-fpm and php-cgi do).
            (
                "php_admin_value[user_ini.filename]".to_string(),
                String::new(),
            ),
        ];
        FpmConfig {
            global: Vec::new(),
            pools: vec![FpmPool {
                name: "mod_php".to_string(),
                listen_written: MOD_PHP_SOCKET.to_string(),
                backend: Backend::Unix(ws_root.join(MOD_PHP_SOCKET.trim_start_matches('/'))),
                pm: PmKind::Dynamic,
                max_children: max,
                status_path: None,
                ping_path: None,
                span: Span::new(Arc::new(PathBuf::from(MOD_PHP_INI)), 1, 1, 1),
                entries,
            }],
            php_ini: ws_root.join(MOD_PHP_INI),
            error_log: ws_root.join("var/log/apache2/mod_php.log"),
            pid_file: ws_root.join("run/apache2/mod_php.pid"),
        }
    }

    /// The configuration file php-fpm runs with: Debian's settings with every path inside the
    /// workspace and the pools inlined, in the foreground.
    pub fn generate(&self) -> String {
        let mut out = String::from(
            "; Generado por el laboratorio a partir de etc/php/8.2/fpm/php-fpm.conf y pool.d/.\n\
             ; No lo edites: edita esos ficheros y reinicia con `lab service php8.2-fpm restart`.\n\
             [global]\n",
        );
        let mut has_pid = false;
        let mut has_log = false;
        for (k, v) in &self.global {
            has_pid |= k == "pid";
            has_log |= k == "error_log";
            out.push_str(&format!("{k} = {}\n", quote(v)));
        }
        if !has_pid {
            out.push_str(&format!(
                "pid = {}\n",
                quote(&self.pid_file.display().to_string())
            ));
        }
        if !has_log {
            out.push_str(&format!(
                "error_log = {}\n",
                quote(&self.error_log.display().to_string())
            ));
        }
        out.push_str("daemonize = no\n");
        for p in &self.pools {
            out.push_str(&format!("\n[{}]\n", p.name));
            let listen = match &p.backend {
                Backend::Unix(path) => path.display().to_string(),
                Backend::Tcp(h, port) => format!("{h}:{port}"),
            };
            out.push_str(&format!("listen = {}\n", quote(&listen)));
            for (k, v) in &p.entries {
                out.push_str(&format!("{k} = {}\n", quote(v)));
            }
        }
        out
    }

    /// The pool listening on `backend`.
    pub fn pool_for(&self, backend: &Backend) -> Option<&FpmPool> {
        self.pools.iter().find(|p| &p.backend == backend)
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == ';' || c == '=' || c == '"') {
        format!("\"{}\"", v.replace('"', ""))
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&tmp.path().join("ws"), None).unwrap();
        (tmp, ws)
    }

    fn write_pool(ws: &Workspace, text: &str) {
        std::fs::write(ws.root.join("etc/php/8.2/fpm/pool.d/www.conf"), text).unwrap();
    }

    #[test]
    fn debian_files_load_with_paths_inside_the_workspace() {
        let (_t, ws) = ws();
        let loaded = load(&ws).unwrap().unwrap();
        let c = &loaded.config;
        assert_eq!(c.pools.len(), 1);
        let www = &c.pools[0];
        assert_eq!(
            (www.name.as_str(), www.pm, www.max_children),
            ("www", PmKind::Dynamic, 5)
        );
        assert_eq!(
            www.backend,
            Backend::Unix(ws.root.join("run/php/php8.2-fpm.sock"))
        );
        let gen = c.generate();
        assert!(gen.contains("daemonize = no"));
        assert!(gen.contains(&format!(
            "pid = {}",
            ws.root.join("run/php/php8.2-fpm.pid").display()
        )));
        assert!(gen.contains(&format!(
            "error_log = {}",
            ws.root.join("var/log/php8.2-fpm.log").display()
        )));
        assert!(gen.contains("pm.max_children = 5"));
    }

    #[test]
    fn unknown_keys_get_a_suggestion_at_their_position() {
        let (_t, ws) = ws();
        write_pool(
            &ws,
            "[www]\nlisten = /run/php/php8.2-fpm.sock\npm = static\npm.max_childen = 4\n",
        );
        let errs = load(&ws).unwrap_err();
        let text = crate::config::diagnostic::render(&errs, Some(&ws.root));
        assert!(
            text.contains("etc/php/8.2/fpm/pool.d/www.conf:4:1"),
            "{text}"
        );
        assert!(
            text.contains("¿Quisiste decir `pm.max_children`?"),
            "{text}"
        );
    }

    #[test]
    fn impossible_pm_combinations_are_errors() {
        let (_t, ws) = ws();
        write_pool(
            &ws,
            "[www]\nlisten = 127.0.0.1:9000\npm = dynamic\npm.max_children = 2\npm.start_servers = 3\npm.min_spare_servers = 1\npm.max_spare_servers = 2\n",
        );
        let errs = load(&ws).unwrap_err();
        let text = crate::config::diagnostic::render(&errs, Some(&ws.root));
        assert!(
            text.contains("pm.start_servers (3) debe estar entre"),
            "{text}"
        );
        assert!(text.contains("www.conf:5:"), "{text}");
    }

    #[test]
    fn bad_pm_and_missing_listen_are_errors() {
        let (_t, ws) = ws();
        write_pool(&ws, "[www]\npm = estatico\npm.max_children = 2\n");
        let text = crate::config::diagnostic::render(&load(&ws).unwrap_err(), Some(&ws.root));
        assert!(text.contains("no tiene `listen`"), "{text}");
        write_pool(
            &ws,
            "[www]\nlisten = 127.0.0.1:9000\npm = statik\npm.max_children = 2\n",
        );
        let text = crate::config::diagnostic::render(&load(&ws).unwrap_err(), Some(&ws.root));
        assert!(text.contains("¿Quisiste decir `static`?"), "{text}");
    }

    #[test]
    fn tcp_pools_and_arrays_pass_through() {
        let (_t, ws) = ws();
        write_pool(
            &ws,
            "[tcp]\nlisten = 127.0.0.1:9000\npm = ondemand\npm.max_children = 3\npm.status_path = /estado\nenv[SALUDO] = hola\nphp_admin_value[memory_limit] = 64M\n",
        );
        let c = load(&ws).unwrap().unwrap().config;
        assert_eq!(c.pools[0].backend, Backend::Tcp("127.0.0.1".into(), 9000));
        assert_eq!(c.pools[0].status_path.as_deref(), Some("/estado"));
        let gen = c.generate();
        assert!(gen.contains("env[SALUDO] = hola\n"));
        assert!(gen.contains("php_admin_value[memory_limit] = 64M\n"));
    }
}
