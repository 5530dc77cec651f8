//! The hidden `lab __wsgi-worker` command: one process of a `WSGIDaemonProcess` group. It
//! embeds CPython with the group's venv and python-path and listens on two unix sockets:
//!
//! - `.hand`: client connections the lab passes over ([`crate::http::handoff`]). The worker
//!   loads the lab's configuration from the workspace and serves those connections' requests
//!   for its group itself, over HTTP (hyper on a runtime of `threads` threads, each a Python
//!   thread that runs the requests it reads itself, see [`super::inline`]; a request with a
//!   body goes to a pool of Python threads); any other request passes the connection back
//!   to the lab.
//! - `.sock`: FastCGI requests from the lab, for what cannot move (internal redirects,
//!   chunked bodies, a worker that could not load the configuration), on `threads` threads
//!   as mod_wsgi's daemon threads do: each thread accepts a connection, reads the request
//!   without the interpreter lock, runs the application holding it, and writes the response
//!   (releasing it again while it writes).
//!
//! It exits cleanly after `maximum-requests` connections, after `inactivity-timeout` idle
//! seconds, on SIGTERM (finishing what it is serving), and at once when its standard input
//! closes (the lab that started it is gone).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pyo3::Python;

use super::errorlog::ErrorLog;
use super::host::{error_html, latin1_into, WorkerSide, WsgiHost};
use super::pool::PythonPool;
use super::python::{self, BodySource, InterpreterSettings, Out, PyJob, ResponseSink, Scripts};
use super::venv;
use crate::fastcgi::cgi;
use crate::fastcgi::record::{self, RecordType};
use crate::http::handoff;
use crate::http::server::WorkerHttp;

/// The worker's command line (parsed by the CLI).
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    pub socket: PathBuf,
    pub group: String,
    pub processes: u32,
    /// `processes=` was written (mod_wsgi then reports `wsgi.multiprocess` True).
    pub multiprocess: bool,
    pub threads: usize,
    pub maximum_requests: u64,
    pub inactivity_timeout: Option<u64>,
    pub python_home: Option<PathBuf>,
    pub python_path: Vec<PathBuf>,
    pub log: Option<PathBuf>,
}

struct State {
    accepted: AtomicU64,
    active: AtomicUsize,
    last: Mutex<Instant>,
    stopping: AtomicBool,
}

/// Ends the worker process, once. Its stdin watcher (the lab went away) and its main thread
/// (a stop) can both get here together: when two threads call `exit` at once, the second finds
/// the exit handlers already taken by the first and ends the process under them, cutting short
/// what they write (a block of buffered output, say). The second caller waits instead.
pub fn exit_once(code: i32) -> ! {
    static EXITING: AtomicBool = AtomicBool::new(false);
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    std::process::exit(code)
}

/// Runs the worker; returns the process exit code.
pub fn run(args: WorkerArgs) -> i32 {
    let log = args
        .log
        .clone()
        .map(|p| ErrorLog::file(p).in_daemon())
        .unwrap_or_else(|| ErrorLog::stderr().in_daemon());
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        exit_once(0);
    });
    let embedded = super::embedded_version();
    let venv = match &args.python_home {
        Some(home) => match venv::inspect(home, embedded) {
            Ok(v) => Some(v),
            Err(p) => {
                let written = home.to_string_lossy();
                let (msg, hint) = venv::describe(&p, &written, home, embedded);
                log.write(
                    "error",
                    None,
                    &[&format!("mod_wsgi (grupo '{}'): {msg}. {hint}", args.group)],
                );
                return 1;
            }
        },
        None => None,
    };
    let settings = InterpreterSettings {
        venv,
        python_path: args.python_path.clone(),
        log: args.log.clone().map(|p| ErrorLog::file(p).in_daemon()),
    };
    if let Err(e) = python::init_interpreter(&settings) {
        log.write(
            "error",
            None,
            &[
                &format!(
                    "mod_wsgi (grupo '{}'): no se pudo preparar Python:",
                    args.group
                ),
                &e,
            ],
        );
        return 1;
    }
    if let Some(dir) = args.socket.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(&args.socket);
    let listener = match UnixListener::bind(&args.socket) {
        Ok(l) => l,
        Err(e) => {
            log.write(
                "error",
                None,
                &[&format!(
                    "mod_wsgi: no se pudo escuchar en {}: {e}",
                    args.socket.display()
                )],
            );
            return 1;
        }
    };
    let state = Arc::new(State {
        accepted: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
        stopping: AtomicBool::new(false),
    });
    let scripts = Arc::new(Scripts::new());
    let threads = args.threads.max(1);
    let multiprocess = args.multiprocess;
    for i in 0..threads {
        let Ok(listener) = listener.try_clone() else {
            return 1;
        };
        let (state, scripts, group) =
            (Arc::clone(&state), Arc::clone(&scripts), args.group.clone());
        let max = args.maximum_requests;
        let spawned = std::thread::Builder::new()
            .name(format!("wsgi-{i}"))
            .spawn(move || accept_loop(&listener, &state, &scripts, &group, max, multiprocess));
        if spawned.is_err() {
            log.write(
                "error",
                None,
                &["mod_wsgi: no se pudieron crear los hilos del proceso"],
            );
            return 1;
        }
    }
    // Connections the lab hands over (the fast path): served here over HTTP directly.
    let handed = start_handoff(&args, &state, &scripts, &log);
    wait_for_stop(&args, &state);
    state.stopping.store(true, Ordering::SeqCst);
    // Both runtime threads finish the connections still open, and none is blocked when
    // the runtime is dropped.
    super::inline::close_reserve();
    let handed = handed.map(|h| {
        // No new packets once the path is gone; the receiver takes those already queued
        // (passing them back to the lab) and ends.
        let _ = std::fs::remove_file(&h.path);
        h.stop.store(true, Ordering::SeqCst);
        let _ = h.receiver.join();
        h.http.stop();
        (h.http, h.rt)
    });
    // Wake every thread blocked in accept(), then stop taking connections.
    let wakers: Vec<UnixStream> = (0..threads)
        .filter_map(|_| UnixStream::connect(&args.socket).ok())
        .collect();
    let _ = std::fs::remove_file(&args.socket);
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = || handed.as_ref().map_or(0, |(h, _)| h.open());
    while (state.active.load(Ordering::SeqCst) > 0 || held() > 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(wakers);
    0
}

/// The worker's side of connection hand-off: a socket beside the FastCGI one where the lab
/// passes client connections, a runtime that serves them over HTTP, and Python threads of
/// their own for the group's requests.
fn start_handoff(
    args: &WorkerArgs,
    state: &Arc<State>,
    scripts: &Arc<Scripts>,
    log: &ErrorLog,
) -> Option<Handoff> {
    let path = args.socket.with_extension("hand");
    let _ = std::fs::remove_file(&path);
    let fail = |what: String| {
        log.write(
            "error",
            None,
            &[&format!(
                "mod_wsgi: {what}; las peticiones de este proceso irán por FastCGI"
            )],
        );
    };
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            fail(format!("no se pudo escuchar en {}: {e}", path.display()));
            return None;
        }
    };
    // With `threads=` of two or more, one request at a time runs on a runtime thread itself
    // (when no other thread is in Python, see [`super::inline`]) and the pool has one thread
    // less, so that at most `threads` are in the application at once. Two runtime threads:
    // one goes on with the connections while the other is in Python (more would only cost
    // scheduling, as the runtime does no Python beyond that one request); while no request
    // is stuck there, one of the two is held and the other serves alone (the reserve).
    let inline_on =
        args.threads > 1 && std::env::var_os("LAB_WSGI_INLINE").is_none_or(|v| v != "0");
    // `LAB_WSGI_HTTP_THREADS=1` (to compare): one runtime thread. Measured on the hello app
    // it used the same CPU per request as two and served fewer requests per second (nobody
    // goes on with the connections while the one thread is in Python).
    let http_threads = std::env::var("LAB_WSGI_HTTP_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(http_threads)
        .thread_name("wsgi-http")
        .on_thread_start(super::inline::keep_thread_state)
        .on_thread_park(crate::http::log::on_park)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            fail(format!("no se pudo crear el runtime: {e}"));
            return None;
        }
    };
    // One of the two threads held while the other keeps up (see [`super::inline`]);
    // `LAB_WSGI_RESERVE=0` (to compare): both serve all the time.
    let reserve =
        http_threads >= 2 && std::env::var_os("LAB_WSGI_RESERVE").is_none_or(|v| v != "0");
    if let Err(e) = super::inline::watch(rt.handle().clone(), || true, reserve) {
        fail(format!("no se pudo crear el hilo de vigilancia: {e}"));
        return None;
    }
    let pool_threads = args.threads.max(1) - usize::from(inline_on);
    let pool = match PythonPool::start_with("wsgi-h", pool_threads, Arc::clone(scripts)) {
        Ok(p) => Arc::new(Mutex::new(p)),
        Err(e) => {
            fail(format!("no se pudieron crear los hilos de Python: {e}"));
            return None;
        }
    };
    let group: Arc<str> = Arc::from(args.group.as_str());
    let max = args.maximum_requests;
    let multiprocess = args.multiprocess;
    let multithread = args.threads > 1;
    let idle_timeout = args.inactivity_timeout.is_some();
    let st = Arc::clone(state);
    let loaded = Arc::clone(scripts);
    let make = move |cfg: &crate::config::ServerConfig, back: &std::path::Path| {
        let (a, b, c) = (Arc::clone(&st), Arc::clone(&st), Arc::clone(&st));
        let side = WorkerSide {
            group: Arc::clone(&group),
            scripts: Arc::clone(&loaded),
            // `LAB_WSGI_INLINE=0`: every request goes to the pool's threads, as before
            // requests ran on the connection's thread (to compare the two).
            inline: inline_on,
            pool: Arc::clone(&pool),
            back: back.to_path_buf(),
            multiprocess,
            multithread,
            // Counts requests as the FastCGI threads do (`maximum-requests`).
            started: Arc::new(move || {
                let n = a.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                if max > 0 && n >= max {
                    a.stopping.store(true, Ordering::SeqCst);
                }
                a.active.fetch_add(1, Ordering::SeqCst);
            }),
            ended: Arc::new(move || {
                // Only `inactivity-timeout` reads when the last request ended.
                if idle_timeout {
                    if let Ok(mut last) = b.last.lock() {
                        *last = Instant::now();
                    }
                }
                b.active.fetch_sub(1, Ordering::SeqCst);
            }),
            stopping: Arc::new(move || c.stopping.load(Ordering::SeqCst)),
        };
        Arc::new(WsgiHost::for_worker(cfg, side))
    };
    let http = Arc::new(WorkerHttp::new(Box::new(make)));
    let stop = Arc::new(AtomicBool::new(false));
    let handle = rt.handle().clone();
    let receiver_http = Arc::clone(&http);
    let receiver_log = log.clone();
    let receiver_state = Arc::clone(state);
    let spawned = handoff::spawn_receiver(
        "wsgi-hand",
        listener,
        Arc::clone(&stop),
        move |stream, packet| {
            // A connection that reaches a stopping worker goes straight back to the lab
            // (which hands it to the group's next process), request head and all.
            if receiver_state.stopping.load(Ordering::SeqCst) {
                pass_back(stream, packet, &receiver_log);
                return;
            }
            let http = Arc::clone(&receiver_http);
            let log = receiver_log.clone();
            // Counted until `accept` has counted it as open (the stop waits for both).
            let st = Arc::clone(&receiver_state);
            st.active.fetch_add(1, Ordering::SeqCst);
            handle.spawn(async move {
                // An empty error: a refusal already logged for this configuration.
                let accepted = http
                    .accept(stream, packet)
                    .or_else(|e| if e.is_empty() { Ok(()) } else { Err(e) });
                st.active.fetch_sub(1, Ordering::SeqCst);
                if let Err(e) = accepted {
                    log.write("warn", None, &[&format!("mod_wsgi: este proceso no puede atender conexiones traspasadas ({e}); el laboratorio las atiende por FastCGI")]);
                }
            });
        },
    );
    let receiver = match spawned {
        Ok(r) => r,
        Err(e) => {
            fail(format!("no se pudo crear el hilo de traspaso: {e}"));
            return None;
        }
    };
    Some(Handoff {
        http,
        rt,
        stop,
        receiver,
        path,
    })
}

/// The running hand-off side of a worker.
struct Handoff {
    http: Arc<WorkerHttp>,
    /// Runs the handed connections; dropped last.
    rt: tokio::runtime::Runtime,
    stop: Arc<AtomicBool>,
    receiver: std::thread::JoinHandle<()>,
    path: std::path::PathBuf,
}

/// Returns a connection this worker will not serve to the lab as it came.
fn pass_back(stream: std::net::TcpStream, packet: handoff::Packet, log: &ErrorLog) {
    use std::os::fd::AsRawFd;
    let sent = UnixStream::connect(&packet.handback)
        .and_then(|to| handoff::send(&to, stream.as_raw_fd(), &packet));
    if let Err(e) = sent {
        log.write(
            "error",
            None,
            &[&format!(
                "mod_wsgi: no se pudo devolver una conexión al laboratorio al detenerse: {e}; se cierra"
            )],
        );
    }
}

/// Blocks until SIGTERM, `maximum-requests` or `inactivity-timeout`.
fn wait_for_stop(args: &WorkerArgs, state: &State) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = tick.tick() => {
                    if state.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Some(t) = args.inactivity_timeout {
                        let idle = state.last.lock().map(|l| l.elapsed()).unwrap_or_default();
                        if state.accepted.load(Ordering::SeqCst) > 0
                            && state.active.load(Ordering::SeqCst) == 0
                            && idle >= Duration::from_secs(t)
                        {
                            return;
                        }
                    }
                }
            }
        }
    });
}

/// One thread of the worker. It stays attached to the interpreter for its whole life (its
/// thread state is made once) and releases the lock once per request: to write the previous
/// response, read what is left of its body, and accept and read the next request.
fn accept_loop(
    listener: &UnixListener,
    state: &State,
    scripts: &Scripts,
    group: &str,
    max: u64,
    multiprocess: bool,
) {
    // Counts one request at a time (a kept-alive connection carries several).
    let started = |state: &State| {
        let n = state.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        if max > 0 && n >= max {
            state.stopping.store(true, Ordering::SeqCst);
        }
        state.active.fetch_add(1, Ordering::SeqCst);
    };
    Python::attach(|py| {
        let mut current: Option<Connection> = None;
        loop {
            let next = py.detach(|| {
                if let Some(conn) = current.take() {
                    let kept = conn.finish();
                    if let Ok(mut last) = state.last.lock() {
                        *last = Instant::now();
                    }
                    state.active.fetch_sub(1, Ordering::SeqCst);
                    if let Some(conn) = kept.filter(|_| !state.stopping.load(Ordering::SeqCst)) {
                        if let Some(req) = conn.read_request() {
                            started(state);
                            return Some(req);
                        }
                    }
                }
                loop {
                    let Ok((stream, _)) = listener.accept() else {
                        continue;
                    };
                    if state.stopping.load(Ordering::SeqCst) {
                        return None;
                    }
                    if let Some(req) = Connection::new(stream).and_then(Connection::read_request) {
                        started(state);
                        return Some(req);
                    }
                }
            });
            let Some((conn, job)) = next else { return };
            let job = job.into_job(group, multiprocess);
            python::run(py, scripts, job);
            current = Some(conn);
        }
    })
}

/// A connection from the web server and the request being served on it.
struct Connection {
    stream: UnixStream,
    reader: Arc<Mutex<record::BlockingReader<UnixStream>>>,
    id: u16,
    keep: bool,
    stdin_done: Arc<AtomicBool>,
    completed: Arc<AtomicBool>,
    pending: Arc<Mutex<BytesMut>>,
}

/// A request read off the wire, before it becomes a [`PyJob`].
struct RawRequest {
    environ: python::Environ,
    extra: std::collections::HashMap<String, String>,
    input: Stdin,
    output: Stdout,
}

impl RawRequest {
    fn into_job(self, group: &str, multiprocess: bool) -> PyJob {
        let get = |k: &str| self.extra.get(k).cloned().unwrap_or_default();
        let script: Arc<std::path::Path> = Arc::from(
            self.environ
                .get("SCRIPT_FILENAME")
                .map(PathBuf::from)
                .unwrap_or_default(),
        );
        let log_path = get("LAB_ERROR_LOG");
        PyJob {
            script,
            callable: Arc::from(
                Some(get("LAB_CALLABLE"))
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "application".into()),
            ),
            application_group: get("LAB_APPLICATION_GROUP"),
            process_group: Some(Arc::from(group)),
            reloading: get("LAB_RELOADING") == "1",
            multiprocess: match get("LAB_MULTIPROCESS").as_str() {
                "1" => true,
                "0" => false,
                _ => multiprocess,
            },
            multithread: get("LAB_MULTITHREAD") != "0",
            daemon: true,
            log: if log_path.is_empty() {
                ErrorLog::stderr().in_daemon()
            } else {
                ErrorLog::file(log_path).in_daemon()
            },
            client: python::Peer::Text(get("LAB_CLIENT")),
            stamp: None,
            environ: self.environ,
            input: Box::new(self.input),
            output: Box::new(self.output),
        }
    }
}

impl Connection {
    fn new(stream: UnixStream) -> Option<Connection> {
        let read_half = stream.try_clone().ok()?;
        Some(Connection {
            stream,
            reader: Arc::new(Mutex::new(record::BlockingReader::new(read_half))),
            id: 0,
            keep: false,
            stdin_done: Arc::new(AtomicBool::new(false)),
            completed: Arc::new(AtomicBool::new(false)),
            pending: Arc::new(Mutex::new(BytesMut::with_capacity(8192))),
        })
    }

    /// Reads the next request (blocking, without the interpreter lock).
    fn read_request(mut self) -> Option<(Connection, RawRequest)> {
        let (id, keep, raw) = read_request_head(&self.reader, &self.stream)?;
        let pairs = record::decode_pairs(&raw)?;
        let mut environ = python::Environ::with_capacity(pairs.len(), 512);
        let mut extra = std::collections::HashMap::new();
        for (k, v) in pairs {
            let k = String::from_utf8_lossy(&k).into_owned();
            if k.starts_with("LAB_") {
                extra.insert(k, String::from_utf8_lossy(&v).into_owned());
            } else {
                environ.push_with(k, |t| latin1_into(t, &v));
            }
        }
        self.id = id;
        self.keep = keep;
        self.stdin_done = Arc::new(AtomicBool::new(false));
        self.completed = Arc::new(AtomicBool::new(false));
        let write_half = self.stream.try_clone().ok()?;
        let req = RawRequest {
            environ,
            extra,
            input: Stdin {
                reader: Arc::clone(&self.reader),
                id,
                done: Arc::clone(&self.stdin_done),
            },
            output: Stdout {
                stream: write_half,
                id,
                buf: Arc::clone(&self.pending),
                completed: Arc::clone(&self.completed),
            },
        };
        Some((self, req))
    }

    /// After the application ran: writes what is buffered, reads the rest of the body.
    /// Returns the connection when it can carry another request.
    fn finish(mut self) -> Option<Connection> {
        let pending = self
            .pending
            .lock()
            .ok()
            .map(|mut b| b.split())
            .unwrap_or_default();
        if !pending.is_empty() && self.stream.write_all(&pending).is_err() {
            return None;
        }
        if !self.completed.load(Ordering::SeqCst) {
            // Cut short after the head: the web server must see the truncation.
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            return None;
        }
        let mut rest = Stdin {
            reader: Arc::clone(&self.reader),
            id: self.id,
            done: Arc::clone(&self.stdin_done),
        };
        while let Some(Ok(_)) = rest.next() {}
        self.keep.then_some(self)
    }
}

/// The request body as STDIN records, read on demand from the connection.
struct Stdin {
    reader: Arc<Mutex<record::BlockingReader<UnixStream>>>,
    id: u16,
    /// Shared with the connection loop: the empty STDIN record was read.
    done: Arc<AtomicBool>,
}

impl Stdin {
    fn next(&mut self) -> Option<Result<Bytes, String>> {
        if self.done.load(Ordering::SeqCst) {
            return None;
        }
        let Ok(mut r) = self.reader.lock() else {
            return None;
        };
        loop {
            match r.next_record() {
                Ok(Some(rec)) => match rec.record_type() {
                    Some(RecordType::Stdin) if rec.request_id == self.id => {
                        if rec.content.is_empty() {
                            self.done.store(true, Ordering::SeqCst);
                            return None;
                        }
                        return Some(Ok(rec.content));
                    }
                    Some(RecordType::AbortRequest) => {
                        self.done.store(true, Ordering::SeqCst);
                        return Some(Err("la petición se abortó".into()));
                    }
                    _ => continue,
                },
                Ok(None) => {
                    self.done.store(true, Ordering::SeqCst);
                    return Some(Err("el servidor web cerró la conexión".into()));
                }
                Err(e) => {
                    self.done.store(true, Ordering::SeqCst);
                    return Some(Err(e.to_string()));
                }
            }
        }
    }
}

impl BodySource for Stdin {
    fn next_chunk(&mut self) -> Option<Result<Bytes, String>> {
        self.next()
    }
}

/// The response as STDOUT records. The head waits to go out with the first body bytes; a
/// complete response (`Whole`, `End`, `Failed`) is only buffered, and the thread writes it
/// after the application returns, in the same lock release that accepts the next request.
struct Stdout {
    stream: UnixStream,
    id: u16,
    buf: Arc<Mutex<BytesMut>>,
    /// Shared with the connection: the response is complete (END_REQUEST buffered).
    completed: Arc<AtomicBool>,
}

impl ResponseSink for Stdout {
    fn blocks(&self, out: &Out) -> bool {
        matches!(out, Out::Body(_))
    }

    fn send(&mut self, out: Out) -> bool {
        let id = self.id;
        let Ok(mut buf) = self.buf.lock() else {
            return false;
        };
        match out {
            Out::Head(h) => {
                let head = cgi::encode_head(h.status, &h.reason, &h.headers);
                record::encode_stream(&mut buf, RecordType::Stdout, id, &head);
                true
            }
            Out::Body(b) => {
                record::encode_stream(&mut buf, RecordType::Stdout, id, &b);
                let ok = self.stream.write_all(&buf).is_ok();
                buf.clear();
                ok
            }
            Out::End => {
                end(&mut buf, id);
                self.completed.store(true, Ordering::SeqCst);
                true
            }
            Out::Whole(h, b) => {
                let head = cgi::encode_head(h.status, &h.reason, &h.headers);
                record::encode_stream(&mut buf, RecordType::Stdout, id, &head);
                record::encode_stream(&mut buf, RecordType::Stdout, id, &b);
                end(&mut buf, id);
                self.completed.store(true, Ordering::SeqCst);
                true
            }
            Out::Failed(status) => {
                let html = error_html(status);
                let reason = http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                let head = cgi::encode_head(
                    status,
                    reason,
                    &[
                        (
                            "Content-Type".into(),
                            Bytes::from_static(b"text/html; charset=utf-8"),
                        ),
                        ("Content-Length".into(), Bytes::from(html.len().to_string())),
                    ],
                );
                record::encode_stream(&mut buf, RecordType::Stdout, id, &head);
                record::encode_stream(&mut buf, RecordType::Stdout, id, html.as_bytes());
                end(&mut buf, id);
                self.completed.store(true, Ordering::SeqCst);
                true
            }
        }
    }
}

/// BEGIN_REQUEST and PARAMS (answering GET_VALUES on the way): `(id, keep_conn, params)`.
fn read_request_head(
    reader: &Mutex<record::BlockingReader<UnixStream>>,
    stream: &UnixStream,
) -> Option<(u16, bool, Vec<u8>)> {
    let mut r = reader.lock().ok()?;
    let (id, keep) = loop {
        let rec = r.next_record().ok()??;
        match rec.record_type() {
            Some(RecordType::BeginRequest) => {
                let (_, flags) = record::parse_begin_request(&rec.content).unwrap_or((1, 0));
                break (rec.request_id, flags & record::KEEP_CONN != 0);
            }
            Some(RecordType::GetValues) => {
                let answer = record::encode_pairs([
                    (&b"FCGI_MAX_CONNS"[..], &b"100"[..]),
                    (&b"FCGI_MAX_REQS"[..], &b"100"[..]),
                    (&b"FCGI_MPXS_CONNS"[..], &b"0"[..]),
                ]);
                let mut buf = BytesMut::new();
                record::encode(&mut buf, RecordType::GetValuesResult, 0, &answer);
                let mut w = stream;
                w.write_all(&buf).ok()?;
            }
            _ => {}
        }
    };
    let mut raw = Vec::new();
    loop {
        let rec = r.next_record().ok()??;
        if rec.record_type() == Some(RecordType::Params) && rec.request_id == id {
            if rec.content.is_empty() {
                break;
            }
            raw.extend_from_slice(&rec.content);
        }
    }
    Some((id, keep, raw))
}

fn end(buf: &mut BytesMut, id: u16) {
    record::encode(buf, RecordType::Stdout, id, b"");
    record::encode(
        buf,
        RecordType::EndRequest,
        id,
        &record::end_request_body(0, record::REQUEST_COMPLETE),
    );
}
