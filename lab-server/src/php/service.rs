//! The `php8.2-fpm` service: Debian's real `php-fpm8.2` master run in the foreground as a
//! child of the lab with the generated configuration, restarted when it dies.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::Notify;

use super::fpm::FpmConfig;
use crate::fastcgi::pool::{self, Backend};

/// Debian's binary.
pub const FPM_BINARY: &str = "php-fpm8.2";
/// The package that provides it.
pub const FPM_PACKAGE: &str = "php8.2-fpm";

/// Where [`find_program`] looks instead of the usual places, when set (a list like `PATH`):
/// lets a test, or a machine with PHP installed elsewhere, choose the programs.
pub const PROGRAM_DIRS_ENV: &str = "LAB_PROGRAM_DIRS";

/// Finds a program in the usual Debian places and in `PATH` (or only in the directories of
/// [`PROGRAM_DIRS_ENV`] when that is set).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = match std::env::var_os(PROGRAM_DIRS_ENV) {
        Some(list) => std::env::split_paths(&list).collect(),
        None => {
            let mut dirs: Vec<PathBuf> = vec!["/usr/sbin".into(), "/usr/bin".into()];
            if let Some(path) = std::env::var_os("PATH") {
                dirs.extend(std::env::split_paths(&path));
            }
            dirs
        }
    };
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The Spanish message for a missing PHP program.
pub fn missing_message(program: &str, package: &str) -> String {
    format!(
        "no está instalado {program} (paquete {package}); el resto del laboratorio sigue en marcha.\n  \
         ayuda: instálalo con `sudo apt-get install {package}` y arráncalo con `lab service php8.2-fpm start`"
    )
}

/// A running php-fpm master and the task that watches it.
pub struct FpmProcess {
    pub config: Arc<FpmConfig>,
    shared: Arc<Shared>,
    /// The generated configuration file php-fpm was started with.
    conf: PathBuf,
}

struct Shared {
    stopping: AtomicBool,
    stop: Notify,
    pid: AtomicU32,
    restarts: AtomicU64,
    started: Instant,
}

impl FpmProcess {
    /// Writes the generated configuration under `state_dir`, starts php-fpm and waits until
    /// every pool listens (or php-fpm exits, whose log lines then make the error).
    pub async fn start(config: Arc<FpmConfig>, state_dir: &Path) -> Result<FpmProcess, String> {
        let Some(binary) = find_program(FPM_BINARY) else {
            return Err(missing_message(FPM_BINARY, FPM_PACKAGE));
        };
        let dir = state_dir.join("php-fpm");
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("no se pudo crear {}: {e}", dir.display()))?;
        let conf = dir.join("php-fpm.conf");
        std::fs::write(&conf, config.generate())
            .map_err(|e| format!("no se pudo escribir {}: {e}", conf.display()))?;
        for p in &config.pools {
            if let Backend::Unix(sock) = &p.backend {
                if let Some(parent) = sock.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                // A socket left by a php-fpm that was killed would make the new one fail.
                let _ = std::fs::remove_file(sock);
            }
        }
        for f in [&config.error_log, &config.pid_file] {
            if let Some(parent) = f.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
            pid: AtomicU32::new(0),
            restarts: AtomicU64::new(0),
            started: Instant::now(),
        });
        let child = spawn(&binary, &conf, &config)?;
        shared.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
        let child = wait_ready(child, &config).await?;
        for p in &config.pools {
            pool::declare(p.backend.clone(), Some(p.max_children));
        }
        tokio::spawn(watch(
            child,
            binary,
            conf.clone(),
            Arc::clone(&config),
            Arc::clone(&shared),
        ));
        Ok(FpmProcess {
            config,
            shared,
            conf,
        })
    }

    pub fn pid(&self) -> u32 {
        self.shared.pid.load(Ordering::SeqCst)
    }

    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::SeqCst)
    }

    pub fn uptime(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Graceful reload (php-fpm re-reads its configuration on SIGUSR2).
    pub fn reload(&self) {
        let pid = self.pid();
        if pid > 0 {
            signal(pid, libc::SIGUSR2);
        }
    }

    /// Applies a new configuration as `systemctl reload php8.2-fpm` does: the generated file
    /// is rewritten and the master re-reads it (SIGUSR2); its pools answer on their new
    /// sockets within a few seconds, or the error says what php-fpm logged.
    pub async fn reload_with(&mut self, new: Arc<FpmConfig>) -> Result<(), String> {
        std::fs::write(&self.conf, new.generate())
            .map_err(|e| format!("no se pudo escribir {}: {e}", self.conf.display()))?;
        for p in &self.config.pools {
            pool::forget(&p.backend);
        }
        self.reload();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old sockets go away while the master re-executes itself; give it a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        loop {
            let mut ready = true;
            for p in &new.pools {
                ready &= match &p.backend {
                    Backend::Unix(s) => tokio::net::UnixStream::connect(s).await.is_ok(),
                    Backend::Tcp(h, port) => tokio::net::TcpStream::connect((h.as_str(), *port))
                        .await
                        .is_ok(),
                };
            }
            if ready {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "php-fpm no abrió sus sockets tras recargar; últimas líneas de {}:\n{}",
                    new.error_log.display(),
                    log_tail(&new.error_log, 5)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for p in &new.pools {
            pool::declare(p.backend.clone(), Some(p.max_children));
        }
        self.config = new;
        Ok(())
    }

    /// Stops php-fpm (SIGQUIT: graceful) and waits for it, up to a few seconds.
    pub async fn stop(self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.stop.notify_waiters();
        self.shared.stop.notify_one();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pid() != 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for p in &self.config.pools {
            pool::forget(&p.backend);
        }
    }
}

fn spawn(binary: &Path, conf: &Path, config: &FpmConfig) -> Result<Child, String> {
    let mut cmd = Command::new(binary);
    cmd.arg("--nodaemonize")
        .arg("--fpm-config")
        .arg(conf)
        .arg("-c")
        .arg(&config.php_ini);
    if crate::util::is_root() {
        cmd.arg("--allow-to-run-as-root");
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    // SIGTERM, so that the master stops its workers before it goes.
    crate::util::die_with_parent(&mut cmd, libc::SIGTERM);
    // A process group of its own, which its workers join: when the master dies without
    // stopping them (killed), what is left of the group goes with it, as systemd's
    // control group does for the php8.2-fpm service on Debian.
    cmd.process_group(0);
    cmd.spawn()
        .map_err(|e| format!("no se pudo ejecutar {}: {e}", binary.display()))
}

/// Waits until every pool accepts connections; php-fpm exiting first is an error that quotes
/// the end of its log.
async fn wait_ready(mut child: Child, config: &FpmConfig) -> Result<Child, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "php-fpm terminó al arrancar ({status}); últimas líneas de {}:\n{}",
                config.error_log.display(),
                log_tail(&config.error_log, 5)
            ));
        }
        let mut ready = true;
        for p in &config.pools {
            let ok = match &p.backend {
                Backend::Unix(s) => tokio::net::UnixStream::connect(s).await.is_ok(),
                Backend::Tcp(h, port) => tokio::net::TcpStream::connect((h.as_str(), *port))
                    .await
                    .is_ok(),
            };
            ready &= ok;
        }
        if ready {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.start_kill();
            return Err(format!(
                "php-fpm no abrió sus sockets en 10 s; últimas líneas de {}:\n{}",
                config.error_log.display(),
                log_tail(&config.error_log, 5)
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// SIGKILL to what is left of php-fpm's process group (its master's pid), if anything.
fn kill_group(group: Option<u32>) {
    if let Some(pgid) = group.and_then(|p| libc::pid_t::try_from(p).ok()) {
        if pgid > 1 {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // involved.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Appends one line to php-fpm's log, in its own shape.
fn log_line(path: &Path, level: &str, text: &str) {
    use std::io::Write;
    let now = crate::wsgi::errorlog::apache_time(std::time::SystemTime::now());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "[{now}] {level}: {text}");
    }
}

/// Watches the master: when it dies without being asked, it is started again (after a short
/// pause that grows if it keeps dying), and the connection pools forget their connections.
async fn watch(
    mut child: Child,
    binary: PathBuf,
    conf: PathBuf,
    config: Arc<FpmConfig>,
    shared: Arc<Shared>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        let group = child.id();
        let status = tokio::select! {
            s = child.wait() => s,
            _ = shared.stop.notified() => {
                if let Some(pid) = child.id() {
                    signal(pid, libc::SIGQUIT);
                }
                match tokio::time::timeout(Duration::from_secs(3), child.wait()).await {
                    Ok(_) => {}
                    Err(_) => {
                        let _ = child.kill().await;
                    }
                }
                kill_group(group);
                shared.pid.store(0, Ordering::SeqCst);
                return;
            }
        };
        // Workers the master left behind (it was killed) would keep their old socket open.
        kill_group(group);
        if shared.stopping.load(Ordering::SeqCst) {
            shared.pid.store(0, Ordering::SeqCst);
            return;
        }
        let how = match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        };
        log_line(
            &config.error_log,
            "WARNING",
            &format!("el laboratorio vio terminar php-fpm ({how}); se vuelve a arrancar"),
        );
        for p in &config.pools {
            if let Some(pool) = pool::existing(&p.backend) {
                pool.clear();
            }
            if let Backend::Unix(s) = &p.backend {
                let _ = std::fs::remove_file(s);
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
        match spawn(&binary, &conf, &config) {
            Ok(c) => {
                shared.pid.store(c.id().unwrap_or(0), Ordering::SeqCst);
                shared.restarts.fetch_add(1, Ordering::SeqCst);
                match wait_ready(c, &config).await {
                    Ok(c) => {
                        child = c;
                        pause = Duration::from_millis(100);
                    }
                    Err(e) => {
                        log_line(&config.error_log, "ERROR", &e);
                        shared.pid.store(0, Ordering::SeqCst);
                        tokio::time::sleep(pause).await;
                        match spawn(&binary, &conf, &config) {
                            Ok(c) => child = c,
                            Err(_) => return,
                        }
                    }
                }
            }
            Err(e) => {
                log_line(&config.error_log, "ERROR", &e);
                shared.pid.store(0, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Sends `sig` to a child the lab spawned and has not reaped yet.
fn signal(pid: u32, sig: libc::c_int) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) only sends a signal; the pid is our own unreaped child (the watcher
    // reaps it), so it cannot name another process.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}
