//! `WSGIDaemonProcess` groups, on the lab's side: each group is `processes` worker processes
//! (`lab __wsgi-worker`), each with its own unix socket in `run/`. A watcher task per worker
//! restarts it when it dies (its in-flight requests get a 502), when it recycles itself
//! (`maximum-requests`, `inactivity-timeout`) and when the group is restarted (a touched
//! script with `WSGIScriptReloading On`). Client connections are spread round-robin: the
//! HTTP role passes a connection whose request goes to the group to a worker's hand-off
//! socket ([`DaemonGroup::handoff_target`]), and the worker serves it directly; requests that
//! cannot move (and callers without a connection) are spoken to the worker in FastCGI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Response;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use tokio::net::UnixStream;
use tokio::sync::watch;

use super::errorlog::ErrorLog;
use super::host::{self, WsgiContext};
use super::python::InputRx;
use super::Body;
use crate::config::wsgi::WsgiDaemon;
use crate::fastcgi::cgi;
use crate::fastcgi::client::{self, Event};

/// How long a request waits for a (re)starting worker to accept connections.
const CONNECT_WAIT: Duration = Duration::from_secs(30);
/// How long a stopped worker may take to finish its requests before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Groups started by this process, to keep their socket names apart.
static STARTS: AtomicU64 = AtomicU64::new(0);

/// A running daemon process group.
pub struct DaemonGroup {
    inner: Arc<Inner>,
}

struct Inner {
    spec: WsgiDaemon,
    run_dir: PathBuf,
    exe: PathBuf,
    log: ErrorLog,
    pids: Vec<AtomicU32>,
    next: AtomicUsize,
    generation: AtomicU64,
    stopping: AtomicBool,
    restart: watch::Sender<u64>,
    /// Modification time of each script when this generation first served it.
    /// The modification time (the bits of [`super::scriptstat::Stamp`]'s seconds) of each
    /// script this generation ran.
    scripts: Mutex<HashMap<PathBuf, u64>>,
    /// Idle keep-alive connections per worker, with the generation they belong to.
    idle: Vec<Mutex<Vec<(u64, UnixStream)>>>,
    /// The group's `apcu` cache (shared memory file), when it could be created.
    apcu: Option<PathBuf>,
}

impl DaemonGroup {
    /// Starts the group's workers (must run inside a tokio runtime).
    pub fn start(
        spec: WsgiDaemon,
        run_dir: &Path,
        exe: &Path,
        log: ErrorLog,
    ) -> Result<DaemonGroup, String> {
        std::fs::create_dir_all(run_dir)
            .map_err(|e| format!("no se pudo crear {}: {e}", run_dir.display()))?;
        let (restart, _) = watch::channel(0);
        // One `apcu` cache per group, new every time the group starts.
        let apcu_file = run_dir.join(format!(
            "apcu-{}-{}.shm",
            spec.name.replace(['/', '.'], "_"),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let apcu = match crate::scriptcache::apcu::create(&apcu_file) {
            Ok(()) => Some(apcu_file),
            Err(e) => {
                log.write("warn", None, &[&e]);
                None
            }
        };
        let inner = Arc::new(Inner {
            apcu,
            pids: (0..spec.processes).map(|_| AtomicU32::new(0)).collect(),
            idle: (0..spec.processes)
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            spec,
            run_dir: run_dir.to_path_buf(),
            exe: exe.to_path_buf(),
            log,
            next: AtomicUsize::new(0),
            // Socket names carry the generation: a group started again under the same name
            // (its settings changed) must not share names with the processes still stopping.
            generation: AtomicU64::new(STARTS.fetch_add(1, Ordering::Relaxed) * 1_000_000),
            stopping: AtomicBool::new(false),
            restart,
            scripts: Mutex::new(HashMap::new()),
        });
        for i in 0..inner.spec.processes as usize {
            tokio::spawn(watch_worker(Arc::clone(&inner), i));
        }
        Ok(DaemonGroup { inner })
    }

    pub fn spec(&self) -> &WsgiDaemon {
        &self.inner.spec
    }

    /// Current worker pids (0 while one is restarting).
    pub fn pids(&self) -> Vec<u32> {
        self.inner
            .pids
            .iter()
            .map(|p| p.load(Ordering::SeqCst))
            .collect()
    }

    /// True once the group is stopped (or replaced by a reload).
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Stops every worker; in-flight requests get [`STOP_GRACE`] to finish.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.restart_all();
    }

    fn restart_all(&self) {
        // The group's user cache goes with its processes, as APCu's with php-fpm's.
        if let Some(f) = &self.inner.apcu {
            crate::scriptcache::apcu::clear_file(f);
            if self.inner.stopping.load(Ordering::SeqCst) {
                let _ = std::fs::remove_file(f);
            }
        }
        for idle in &self.inner.idle {
            if let Ok(mut idle) = idle.lock() {
                idle.clear();
            }
        }
        let g = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.restart.send_replace(g);
    }

    /// A connection to the hand-off socket of the next worker (waiting for one that is
    /// restarting), to pass a client's connection to it.
    pub async fn handoff_target(&self) -> Option<std::os::unix::net::UnixStream> {
        let (s, _) = self.connect_to("hand").await?;
        s.into_std().ok()
    }

    /// With `WSGIScriptReloading On`: a script changed since this generation first ran it
    /// restarts the whole group, as mod_wsgi does in daemon mode.
    /// `stamp` is what a look at the script found ([`super::scriptstat::stamp`]).
    pub fn check_script(&self, script: &Path, stamp: super::scriptstat::Stamp) {
        let Some(mtime) = stamp.map(f64::to_bits) else {
            return;
        };
        let Ok(mut seen) = self.inner.scripts.lock() else {
            return;
        };
        match seen.get(script) {
            None => {
                seen.insert(script.to_path_buf(), mtime);
            }
            Some(old) if *old == mtime => {}
            Some(_) => {
                seen.clear();
                seen.insert(script.to_path_buf(), mtime);
                drop(seen);
                // mod_wsgi's line (the process that saw the change restarts; here the whole
                // group does, which is what follows in mod_wsgi too once each process gets a
                // request): requests in flight finish with the old code, every request from
                // now on waits for the new processes and runs the new code.
                let pid = self.pids().into_iter().find(|&p| p != 0).unwrap_or(0);
                self.inner.log.write(
                    "info",
                    None,
                    &[&format!(
                        "mod_wsgi (pid={pid}): Force restart of process '{}'.",
                        self.inner.spec.name
                    )],
                );
                self.restart_all();
            }
        }
    }

    /// Serves a request on one of the group's workers.
    pub async fn handle(
        &self,
        environ: super::python::Environ,
        input: Option<InputRx>,
        ctx: &WsgiContext,
    ) -> Response<Body> {
        if ctx.place.script_reloading {
            // The look the request made when it checked that the script exists.
            let stamp = match ctx.script_mtime {
                Some(t) => Some(t),
                None => super::scriptstat::stamp(ctx.script()),
            };
            self.check_script(ctx.script(), stamp);
        }
        let log = ctx.log();
        let client = ctx.remote.to_string();
        let retry_safe = environ
            .iter()
            .any(|(k, v)| k == "REQUEST_METHOD" && (v == "GET" || v == "HEAD"));
        let mut params = params(environ, ctx);
        let spec = &self.inner.spec;
        for (k, on) in [
            ("LAB_MULTIPROCESS", spec.multiprocess),
            ("LAB_MULTITHREAD", spec.threads > 1),
        ] {
            params.push((k.as_bytes().to_vec(), vec![if on { b'1' } else { b'0' }]));
        }
        let mut input = input;
        for attempt in 0..3 {
            // Requests without a body reuse an idle connection (the worker keeps it open).
            let pooled = if input.is_none() && retry_safe && attempt == 0 {
                self.pooled()
            } else {
                None
            };
            let (stream, index) = match pooled {
                Some(p) => p,
                None => match self.connect().await {
                    Some(c) => c,
                    // A group replaced by a reload: the caller hands the request on to
                    // the new one, with nothing to log.
                    None if self.is_stopping() => return host::error_page(503),
                    None => {
                        log.write(
                            "error",
                            Some(&client),
                            &[&format!(
                                "mod_wsgi: ningún proceso del grupo '{}' acepta conexiones (se esperó {}s); revisa el registro de errores",
                                self.inner.spec.name,
                                CONNECT_WAIT.as_secs()
                            )],
                        );
                        return host::error_page(503);
                    }
                },
            };
            let body = input.take();
            let recycle =
                (body.is_none() && self.inner.spec.threads >= 2).then(|| self.recycler(index));
            let mut exchange = match client::begin(stream, &params, body, recycle).await {
                Ok(e) => e,
                Err(e) => {
                    if retry_safe && attempt < 2 {
                        continue;
                    }
                    log.write("error", Some(&client), &[&format!("mod_wsgi: no se pudo enviar la petición al grupo '{}': {e}; se responde 502", self.inner.spec.name)]);
                    return host::error_page(502);
                }
            };
            let mut buf = BytesMut::new();
            let failure = loop {
                match exchange.next_event().await {
                    Some(Ok(Event::Stdout(b))) => {
                        buf.extend_from_slice(&b);
                        match cgi::parse_head(&buf) {
                            Ok(Some((head, n))) => {
                                let first = buf.split_off(n).freeze();
                                let body = DaemonBody {
                                    exchange,
                                    first: (!first.is_empty()).then_some(first),
                                    log: log.clone(),
                                    done: false,
                                    cut: None,
                                };
                                return host::response_from_head(
                                    head.status,
                                    head.reason.as_deref(),
                                    head.headers,
                                    ctx.default_type.as_deref(),
                                    body.boxed(),
                                );
                            }
                            Ok(None) => continue,
                            Err(e) => break format!("cabeceras de respuesta no válidas ({e})"),
                        }
                    }
                    Some(Ok(Event::Stderr(b))) => {
                        let text = String::from_utf8_lossy(&b).into_owned();
                        let lines: Vec<&str> = text.lines().collect();
                        log.write("error", Some(&client), &lines);
                    }
                    Some(Ok(Event::End { .. })) => {
                        break "el proceso terminó la petición sin enviar cabeceras".to_string()
                    }
                    Some(Err(e)) => break format!("el proceso cerró la conexión ({e})"),
                    None => break "el proceso cerró la conexión".to_string(),
                }
            };
            // A GET that got nothing back may have hit a worker that was just recycling.
            if buf.is_empty() && retry_safe && attempt < 2 {
                continue;
            }
            log.write(
                "error",
                Some(&client),
                &[&format!(
                    "mod_wsgi: Truncated or oversized response headers received from daemon process '{}': {}: {failure}; se responde 502",
                    self.inner.spec.name,
                    ctx.script().display()
                )],
            );
            return host::error_page(502);
        }
        host::error_page(502)
    }

    /// An idle keep-alive connection of the current generation, if any.
    fn pooled(&self) -> Option<(UnixStream, usize)> {
        let n = self.inner.idle.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let gen = self.inner.generation.load(Ordering::SeqCst);
        for k in 0..n {
            let i = (start + k) % n;
            let mut idle = self.inner.idle[i].lock().ok()?;
            while let Some((g, s)) = idle.pop() {
                if g == gen {
                    return Some((s, i));
                }
            }
        }
        None
    }

    /// Puts a connection back after a clean keep-alive request. At most half the worker's
    /// threads wait on idle connections, so new connections (uploads) always find a thread.
    fn recycler(&self, index: usize) -> client::Recycle<UnixStream> {
        let inner = Arc::clone(&self.inner);
        let gen = inner.generation.load(Ordering::SeqCst);
        Box::new(move |stream| {
            if inner.stopping.load(Ordering::SeqCst)
                || inner.generation.load(Ordering::SeqCst) != gen
            {
                return;
            }
            let max = (inner.spec.threads as usize / 2).max(1);
            if let Ok(mut idle) = inner.idle[index].lock() {
                if idle.len() < max {
                    idle.push((gen, stream));
                }
            }
        })
    }

    /// Connects to the next worker, waiting for one that is (re)starting.
    async fn connect(&self) -> Option<(UnixStream, usize)> {
        self.connect_to("sock").await
    }

    /// Connects to the socket with extension `ext` of the next worker.
    async fn connect_to(&self, ext: &str) -> Option<(UnixStream, usize)> {
        let n = self.inner.pids.len().max(1);
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + CONNECT_WAIT;
        let mut delay = Duration::from_millis(2);
        loop {
            let gen = self.inner.generation.load(Ordering::SeqCst);
            for k in 0..n {
                let i = (start + k) % n;
                let path = host::socket_path(&self.inner.run_dir, &self.inner.spec.name, i, gen)
                    .with_extension(ext);
                if let Ok(s) = UnixStream::connect(&path).await {
                    return Some((s, i));
                }
            }
            if Instant::now() > deadline || self.inner.stopping.load(Ordering::SeqCst) {
                return None;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(50));
        }
    }
}

impl Drop for DaemonGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The FastCGI params: the CGI environ (latin-1 back to bytes) plus what the worker needs.
fn params(environ: super::python::Environ, ctx: &WsgiContext) -> Vec<(Vec<u8>, Vec<u8>)> {
    let bytes = |s: &str| -> Vec<u8> { s.chars().map(|c| c as u32 as u8).collect() };
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = environ
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), bytes(v)))
        .collect();
    let mut extra = |k: &str, v: String| out.push((k.as_bytes().to_vec(), v.into_bytes()));
    extra("LAB_CALLABLE", ctx.place.callable.to_string());
    extra("LAB_APPLICATION_GROUP", ctx.application_group());
    extra(
        "LAB_RELOADING",
        if ctx.place.script_reloading { "1" } else { "0" }.into(),
    );
    extra(
        "LAB_ERROR_LOG",
        ctx.place
            .error_log
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    extra("LAB_CLIENT", ctx.remote.to_string());
    out
}

/// The body of a daemon-mode response.
struct DaemonBody {
    exchange: client::Exchange<UnixStream>,
    first: Option<Bytes>,
    log: ErrorLog,
    done: bool,
    cut: Option<host::CutShort>,
}

impl HttpBody for DaemonBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        let this = &mut *self;
        if let Some(end) = host::CutShort::poll_end(&mut this.cut, &mut this.done, cx) {
            return end;
        }
        loop {
            return match self.exchange.poll_event(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Ok(Event::Stdout(b)))) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Poll::Ready(Some(Ok(Event::Stderr(b)))) => {
                    let text = String::from_utf8_lossy(&b).into_owned();
                    let lines: Vec<&str> = text.lines().collect();
                    self.log.write("error", None, &lines);
                    continue;
                }
                Poll::Ready(Some(Ok(Event::End { .. }))) => {
                    self.done = true;
                    Poll::Ready(None)
                }
                Poll::Ready(Some(Err(_)) | None) => host::CutShort::begin(&mut self.cut, cx),
            };
        }
    }
}

fn describe_exit(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("código de salida {c}"),
        (None, Some(s)) => format!("señal {s}"),
        _ => "motivo desconocido".into(),
    }
}

fn terminate(pid: u32) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) only sends a signal; the pid is a child this group spawned and has not
    // reaped yet (the watcher reaps it), so it cannot name another process.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// Keeps worker `index` running until the group stops.
async fn watch_worker(inner: Arc<Inner>, index: usize) {
    let mut restart = inner.restart.subscribe();
    let spec = &inner.spec;
    loop {
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        let gen = inner.generation.load(Ordering::SeqCst);
        restart.mark_unchanged();
        let socket = host::socket_path(&inner.run_dir, &spec.name, index, gen);
        let mut cmd = tokio::process::Command::new(&inner.exe);
        let default_name = format!("(wsgi:{})", spec.name);
        cmd.arg0(
            spec.display_name
                .as_deref()
                .map(|d| d.replace("%{GROUP}", &default_name))
                .unwrap_or(default_name),
        )
        .arg("__wsgi-worker")
        .arg("--socket")
        .arg(&socket)
        .arg("--group")
        .arg(&spec.name)
        .arg("--threads")
        .arg(spec.threads.to_string())
        .arg("--maximum-requests")
        .arg(spec.maximum_requests.to_string())
        .arg("--processes")
        .arg(spec.processes.to_string());
        if spec.multiprocess {
            cmd.arg("--multiprocess");
        }
        if let Some(t) = spec.inactivity_timeout {
            cmd.arg("--inactivity-timeout").arg(t.as_secs().to_string());
        }
        if let Some(h) = &spec.python_home {
            cmd.arg("--python-home").arg(&h.path);
        }
        for p in &spec.python_path {
            cmd.arg("--python-path").arg(&p.path);
        }
        if let Some(p) = &inner.log.path {
            cmd.arg("--log").arg(p.as_os_str());
        }
        // `home=`, `lang=` and `locale=` as mod_wsgi applies them to its daemon processes.
        if let Some(h) = spec.home.as_ref().filter(|h| h.path.is_dir()) {
            cmd.current_dir(&h.path);
        }
        if let Some(l) = &spec.lang {
            cmd.env("LANG", l);
        }
        if let Some(l) = &spec.locale {
            cmd.env("LC_ALL", l);
        }
        if let Some(f) = &inner.apcu {
            cmd.env(crate::scriptcache::apcu::ENV_FILE, f);
        }
        // The worker exits when this pipe closes, so workers never outlive the lab.
        cmd.stdin(std::process::Stdio::piped()).kill_on_drop(true);
        let started = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                inner.log.write(
                    "error",
                    None,
                    &[&format!(
                        "mod_wsgi: no se pudo lanzar un proceso del grupo '{}' ({}): {e}",
                        spec.name,
                        inner.exe.display()
                    )],
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let pid = child.id().unwrap_or(0);
        // `wait()` would close the child's stdin: keep it here, open while the worker lives.
        let stdin = child.stdin.take();
        inner.pids[index].store(pid, Ordering::SeqCst);
        tokio::select! {
            status = child.wait() => {
                inner.pids[index].store(0, Ordering::SeqCst);
                if inner.stopping.load(Ordering::SeqCst) {
                    return;
                }
                let _ = std::fs::remove_file(&socket);
                let _ = std::fs::remove_file(socket.with_extension("hand"));
                match status {
                    Ok(s) if s.success() => inner.log.write("info", None, &[&format!(
                        "mod_wsgi: el proceso {pid} del grupo '{}' terminó tras maximum-requests o inactivity-timeout; se lanza otro",
                        spec.name
                    )]),
                    Ok(s) => inner.log.write("error", None, &[&format!(
                        "mod_wsgi: el proceso {pid} del grupo '{}' terminó inesperadamente ({}); se reinicia. Las peticiones que atendía han recibido un 502",
                        spec.name,
                        describe_exit(&s)
                    )]),
                    Err(e) => inner.log.write("error", None, &[&format!(
                        "mod_wsgi: no se pudo esperar al proceso {pid} del grupo '{}': {e}", spec.name
                    )]),
                }
                // A worker that dies right away (a broken venv, say) must not spin.
                if started.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            _ = restart.changed() => {
                inner.pids[index].store(0, Ordering::SeqCst);
                terminate(pid);
                let socket = socket.clone();
                tokio::spawn(async move {
                    let _stdin = stdin;
                    if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                        let _ = child.kill().await;
                    }
                    let _ = std::fs::remove_file(&socket);
                    let _ = std::fs::remove_file(socket.with_extension("hand"));
                });
            }
        }
    }
}
