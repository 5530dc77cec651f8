//! The hidden `lab __wsgi-worker` command: one process of a `WSGIDaemonProcess` group. It
//! embeds CPython with the group's venv and python-path, listens on its unix socket and
//! serves FastCGI requests (one per connection) on `threads` Python threads.
//!
//! It exits cleanly after `maximum-requests` connections, after `inactivity-timeout` idle
//! seconds, on SIGTERM (finishing what it is serving), and at once when its standard input
//! closes (the lab that started it is gone).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::errorlog::ErrorLog;
use super::host::{error_html, latin1};
use super::pool::PythonPool;
use super::python::{self, InterpreterSettings, Out, PyJob};
use super::venv;
use crate::fastcgi::cgi;
use crate::fastcgi::record::{self, RecordType};

/// The worker's command line (parsed by the CLI).
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    pub socket: PathBuf,
    pub group: String,
    pub processes: u32,
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
}

/// Runs the worker; returns the process exit code.
pub fn run(args: WorkerArgs) -> i32 {
    let log = args
        .log
        .clone()
        .map(ErrorLog::file)
        .unwrap_or_else(ErrorLog::stderr);
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
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
        log: args.log.clone().map(ErrorLog::file),
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
    let pool = match PythonPool::start("wsgi-daemon", args.threads) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            log.write(
                "error",
                None,
                &[&format!("mod_wsgi: no se pudieron crear los hilos: {e}")],
            );
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log.write(
                "error",
                None,
                &[&format!("mod_wsgi: no se pudo crear el runtime: {e}")],
            );
            return 1;
        }
    };
    rt.block_on(serve(args, pool, log))
}

async fn serve(args: WorkerArgs, pool: Arc<PythonPool>, log: ErrorLog) -> i32 {
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
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return 1;
    };
    let state = Arc::new(State {
        accepted: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let multiprocess = args.processes > 1;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let n = state.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                state.active.fetch_add(1, Ordering::SeqCst);
                let (pool, state2, group) = (Arc::clone(&pool), Arc::clone(&state), args.group.clone());
                tokio::spawn(async move {
                    serve_connection(stream, &pool, &group, multiprocess).await;
                    if let Ok(mut last) = state2.last.lock() {
                        *last = Instant::now();
                    }
                    state2.active.fetch_sub(1, Ordering::SeqCst);
                });
                if args.maximum_requests > 0 && n >= args.maximum_requests {
                    break;
                }
            }
            _ = term.recv() => break,
            _ = tick.tick() => {
                if let Some(t) = args.inactivity_timeout {
                    let idle = state.last.lock().map(|l| l.elapsed()).unwrap_or_default();
                    if state.accepted.load(Ordering::SeqCst) > 0
                        && state.active.load(Ordering::SeqCst) == 0
                        && idle >= Duration::from_secs(t)
                    {
                        break;
                    }
                }
            }
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&args.socket);
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    0
}

/// One FastCGI connection: requests one after another while the client keeps it open.
async fn serve_connection(stream: UnixStream, pool: &PythonPool, group: &str, multiprocess: bool) {
    let (mut rd, wr) = stream.into_split();
    let mut wr = Some(wr);
    loop {
        // BEGIN_REQUEST (answering management records on the way).
        let (id, keep) = loop {
            let Ok(Some(rec)) = record::read_record(&mut rd).await else {
                return;
            };
            match rec.record_type() {
                Some(RecordType::BeginRequest) => {
                    let (_, flags) = record::parse_begin_request(&rec.content).unwrap_or((1, 0));
                    break (rec.request_id, flags & record::KEEP_CONN != 0);
                }
                Some(RecordType::GetValues) => {
                    if let Some(w) = wr.as_mut() {
                        let answer = record::encode_pairs([
                            (&b"FCGI_MAX_CONNS"[..], &b"100"[..]),
                            (&b"FCGI_MAX_REQS"[..], &b"100"[..]),
                            (&b"FCGI_MPXS_CONNS"[..], &b"0"[..]),
                        ]);
                        let mut buf = BytesMut::new();
                        record::encode(&mut buf, RecordType::GetValuesResult, 0, &answer);
                        let _ = w.write_all(&buf).await;
                    }
                }
                _ => {}
            }
        };
        let mut raw = Vec::new();
        loop {
            let Ok(Some(rec)) = record::read_record(&mut rd).await else {
                return;
            };
            if rec.record_type() == Some(RecordType::Params) && rec.request_id == id {
                if rec.content.is_empty() {
                    break;
                }
                raw.extend_from_slice(&rec.content);
            }
        }
        let Some(pairs) = record::decode_pairs(&raw) else {
            return;
        };
        let mut environ = Vec::with_capacity(pairs.len());
        let mut extra = std::collections::HashMap::new();
        for (k, v) in pairs {
            let k = String::from_utf8_lossy(&k).into_owned();
            if k.starts_with("LAB_") {
                extra.insert(k, String::from_utf8_lossy(&v).into_owned());
            } else {
                environ.push((k, latin1(&v)));
            }
        }
        let get = |k: &str| extra.get(k).cloned().unwrap_or_default();
        let script = environ
            .iter()
            .find(|(k, _)| k == "SCRIPT_FILENAME")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_default();
        let log_path = get("LAB_ERROR_LOG");
        let (in_tx, in_rx) = mpsc::channel(4);
        let (out_tx, out_rx) = mpsc::channel(8);
        let job = PyJob {
            environ,
            script,
            callable: Some(get("LAB_CALLABLE"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "application".into()),
            application_group: get("LAB_APPLICATION_GROUP"),
            process_group: group.to_string(),
            reloading: get("LAB_RELOADING") == "1",
            multiprocess,
            log: if log_path.is_empty() {
                ErrorLog::stderr()
            } else {
                ErrorLog::file(log_path)
            },
            client: get("LAB_CLIENT"),
            input: in_rx,
            output: out_tx,
        };
        if !pool.submit(job) {
            return;
        }
        let Some(w) = wr.take() else { return };
        let writer = tokio::spawn(write_response(w, id, out_rx));
        // STDIN until its empty record; chunks the application no longer wants are dropped.
        let mut in_tx = Some(in_tx);
        loop {
            let Ok(Some(rec)) = record::read_record(&mut rd).await else {
                // The web server went away: dropping the channels ends the request.
                writer.abort();
                return;
            };
            match rec.record_type() {
                Some(RecordType::Stdin) if rec.request_id == id => {
                    if rec.content.is_empty() {
                        break;
                    }
                    if let Some(tx) = &in_tx {
                        if tx.send(Ok(rec.content)).await.is_err() {
                            in_tx = None;
                        }
                    }
                }
                Some(RecordType::AbortRequest) => {
                    if let Some(tx) = in_tx.take() {
                        let _ = tx.send(Err("la petición se abortó".into())).await;
                    }
                    break;
                }
                _ => {}
            }
        }
        drop(in_tx);
        match writer.await {
            Ok(Some(w)) if keep => wr = Some(w),
            _ => return,
        }
    }
}

/// Writes the application's output as STDOUT records, then END_REQUEST. Returns the write
/// half for the next request, or `None` when the response had to be cut short.
async fn write_response(
    mut w: OwnedWriteHalf,
    id: u16,
    mut rx: mpsc::Receiver<Out>,
) -> Option<OwnedWriteHalf> {
    let mut buf = BytesMut::with_capacity(8192);
    while let Some(msg) = rx.recv().await {
        buf.clear();
        let last = match msg {
            Out::Head(h) => {
                let head = cgi::encode_head(h.status, &h.reason, &h.headers);
                record::encode_stream(&mut buf, RecordType::Stdout, id, &head);
                // Small responses go out in one write with their body and end.
                while let Ok(next) = rx.try_recv() {
                    match next {
                        Out::Body(b) => record::encode_stream(&mut buf, RecordType::Stdout, id, &b),
                        Out::End => {
                            end(&mut buf, id);
                            w.write_all(&buf).await.ok()?;
                            return Some(w);
                        }
                        _ => {}
                    }
                }
                false
            }
            Out::Body(b) => {
                record::encode_stream(&mut buf, RecordType::Stdout, id, &b);
                false
            }
            Out::End => {
                end(&mut buf, id);
                true
            }
            Out::Failed(status) => {
                let html = error_html(status);
                let head = cgi::encode_head(
                    status,
                    http::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Error"),
                    &[
                        (
                            "Content-Type".into(),
                            bytes::Bytes::from_static(b"text/html; charset=utf-8"),
                        ),
                        (
                            "Content-Length".into(),
                            bytes::Bytes::from(html.len().to_string()),
                        ),
                    ],
                );
                record::encode_stream(&mut buf, RecordType::Stdout, id, &head);
                record::encode_stream(&mut buf, RecordType::Stdout, id, html.as_bytes());
                end(&mut buf, id);
                true
            }
        };
        w.write_all(&buf).await.ok()?;
        if last {
            return Some(w);
        }
    }
    None
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
