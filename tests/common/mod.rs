//! Test harness: runs the real `lab` binary against a temporary workspace.
//!
//! - [`TestLab`]: `lab init` in a temp dir, port 80 mapped to a free loopback port, `start()`
//!   waits for the `Listo.` line, `Drop` stops the server (SIGTERM, then kill).
//! - [`Response`] and the raw HTTP client: bytes go on the wire exactly as given, so
//!   traversal paths reach the server un-normalised.
//! - [`run_lab`]: run `lab <args>` and capture (code, stdout, stderr).

#![allow(dead_code)] // every test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `start()` waits for the `Listo.` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Read timeout of the HTTP client.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `Drop`/`stop` wait for the server to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub mod pyenv;

/// Whether `tool` is on the `PATH` (tests that need a system program skip, saying so, without it).
pub fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The `lab` binary under test.
pub fn lab_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lab"))
}

/// Exit code and captured output of one `lab` run.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout and stderr together, for assertions that do not care which one.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "código de salida inesperado\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `lab <args>` in `cwd` without `LAB_WORKSPACE` from the environment.
pub fn run_lab(args: &[&str], cwd: &Path) -> Output {
    run_lab_env(args, cwd, &[])
}

/// Runs `lab <args>` in `cwd` with extra environment variables; panics after
/// [`COMMAND_TIMEOUT`].
pub fn run_lab_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    match run_lab_timeout(args, cwd, env, COMMAND_TIMEOUT) {
        Ok(out) => out,
        Err(partial) => panic!(
            "`lab {}` no terminó en {COMMAND_TIMEOUT:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            args.join(" "),
            partial.stdout,
            partial.stderr
        ),
    }
}

/// How long a one-shot `lab` command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `lab <args>`; `Err(partial output)` (after killing it) if it runs longer than `limit`.
pub fn run_lab_timeout(
    args: &[&str],
    cwd: &Path,
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<Output, Output> {
    let mut cmd = Command::new(lab_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("LAB_WORKSPACE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("no se pudo ejecutar {}: {e}", lab_bin().display()));
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers = [
        drain(child.stdout.take().expect("stdout"), Arc::clone(&stdout)),
        drain(child.stderr.take().expect("stderr"), Arc::clone(&stderr)),
    ];
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => break None,
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    for r in readers {
        let _ = r.join();
    }
    let text =
        |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().expect("lock")).into_owned();
    let out = Output {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: text(&stdout),
        stderr: text(&stderr),
    };
    if status.is_some() {
        Ok(out)
    } else {
        Err(out)
    }
}

fn drain(
    mut pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    })
}

/// A loopback port that was free a moment ago, below the kernel's ephemeral range (32768 and
/// up on Linux): a port the kernel hands out for `bind(0)` (the console with
/// `console_port = 0`, another test's listener) or for an outgoing connection can then never
/// be the one chosen here.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    for _ in 0..10_000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        let p = 20_000 + (h.finish() % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no hay ningún puerto libre entre 20000 y 32000");
}

/// A free port `p` with `p >= min`, so that `p - min` is a valid offset.
fn free_port_at_least(min: u16) -> u16 {
    loop {
        let p = free_port();
        if p >= min {
            return p;
        }
    }
}

/// A temporary workspace and, once started, the running `lab start`.
pub struct TestLab {
    dir: tempfile::TempDir,
    /// Workspace root.
    pub root: PathBuf,
    /// The loopback port `Listen 80` binds.
    pub port: u16,
    /// `privileged_port_offset` written to lab.toml.
    pub offset: u16,
    child: Option<Child>,
    output: Arc<Mutex<String>>,
    /// Extra environment for `lab start` (`TZ`...).
    env: Vec<(String, String)>,
}

impl TestLab {
    /// `lab init` in a fresh temp dir, with port 80 mapped to a free loopback port.
    pub fn new() -> TestLab {
        let dir = tempfile::Builder::new()
            .prefix("lab-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("ws");
        run_lab(&["init", root.to_str().expect("utf-8 path")], dir.path()).assert_code(0);
        let port = free_port_at_least(1024 + 80);
        let offset = port - 80;
        let mut lab = TestLab {
            dir,
            root,
            port,
            offset,
            child: None,
            output: Arc::new(Mutex::new(String::new())),
            env: Vec::new(),
        };
        lab.set_setting("privileged_port_offset", &offset.to_string());
        lab.set_setting("map_privileged_ports", "\"always\"");
        // Port 0: the console takes a port the system picks when it binds, so it can never
        // collide with the one chosen above for `Listen 80` (nor with a parallel test).
        lab.set_setting("console_port", "0");
        lab
    }

    /// Sets an environment variable for the next `start()`.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The temp dir that holds the workspace (`root` is `<tmp>/ws`).
    pub fn tmp(&self) -> &Path {
        self.dir.path()
    }

    /// Sets (or adds) a top-level `key = value` in lab.toml; `value` is TOML text.
    pub fn set_setting(&mut self, key: &str, value: &str) {
        let file = self.root.join("lab.toml");
        let text = std::fs::read_to_string(&file).expect("read lab.toml");
        let mut done = false;
        let mut out = String::new();
        let mut in_table = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('[') {
                if !done {
                    out.push_str(&format!("{key} = {value}\n"));
                    done = true;
                }
                in_table = true;
            }
            let is_key = !in_table
                && trimmed
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='));
            if is_key {
                if !done {
                    out.push_str(&format!("{key} = {value}\n"));
                    done = true;
                }
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !done {
            out = format!("{key} = {value}\n{out}");
        }
        std::fs::write(&file, out).expect("write lab.toml");
    }

    /// Absolute path of `rel` inside the workspace.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes `rel` (creating parent directories).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create_dir_all");
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Reads `rel` as text (empty when missing).
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    /// Creates directory `rel`.
    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).expect("create_dir_all");
    }

    /// Replaces `from` by `to` in file `rel`; panics if `from` is absent.
    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} no contiene {from:?}:\n{text}");
        self.write(rel, text.replacen(from, to, 1));
    }

    /// Writes `sites-available/NAME.conf` and enables it with a relative symlink.
    pub fn add_site(&self, name: &str, conf: &str) {
        self.write(&format!("etc/apache2/sites-available/{name}.conf"), conf);
        self.symlink(
            format!("../sites-available/{name}.conf"),
            &format!("etc/apache2/sites-enabled/{name}.conf"),
        );
    }

    /// Creates symlink `link` (workspace-relative) pointing to `target` (as written).
    pub fn symlink(&self, target: impl AsRef<Path>, link: &str) {
        let l = self.path(link);
        if let Some(parent) = l.parent() {
            std::fs::create_dir_all(parent).expect("create_dir_all");
        }
        let _ = std::fs::remove_file(&l);
        std::os::unix::fs::symlink(target.as_ref(), &l)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", l.display()));
    }

    /// Runs `lab --workspace ROOT <args>` from the temp dir.
    pub fn lab(&self, args: &[&str]) -> Output {
        let mut all = vec!["--workspace", self.root.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run_lab(&all, self.dir.path())
    }

    /// Runs `lab --workspace ROOT <args>`; `Err(partial output)` if it runs longer than `limit`.
    pub fn lab_timeout(&self, args: &[&str], limit: Duration) -> Result<Output, Output> {
        let mut all = vec!["--workspace", self.root.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run_lab_timeout(&all, self.dir.path(), &[], limit)
    }

    /// Runs `lab <args>` with `LAB_WORKSPACE` pointing at this workspace.
    pub fn lab_env(&self, args: &[&str]) -> Output {
        run_lab_env(
            args,
            self.dir.path(),
            &[("LAB_WORKSPACE", self.root.to_str().expect("utf-8 path"))],
        )
    }

    /// `lab configtest`, with the workspace path redacted to `[WS]` in both streams.
    pub fn configtest(&self) -> Output {
        let out = self.lab(&["configtest"]);
        Output {
            code: out.code,
            stdout: self.redact(&out.stdout),
            stderr: self.redact(&out.stderr),
        }
    }

    /// Replaces the temp paths in `text` by `[WS]` / `[TMP]` so snapshots are stable.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.replace(self.root.to_str().expect("utf-8"), "[WS]");
        out = out.replace(self.dir.path().to_str().expect("utf-8"), "[TMP]");
        if let Ok(canon) = self.root.canonicalize() {
            out = out.replace(canon.to_str().expect("utf-8"), "[WS]");
        }
        out.replace(&self.port.to_string(), "[PORT]")
    }

    /// Starts `lab start` and waits for the `Listo.` line; panics with the output on failure.
    pub fn start(&mut self) {
        if let Err(msg) = self.try_start() {
            panic!("{msg}");
        }
    }

    /// Starts `lab start`; `Err` with the captured output when no `Listo.` line came in time.
    pub fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "el laboratorio ya está arrancado");
        self.output.lock().expect("lock").clear();
        let mut child = Command::new(lab_bin())
            .args(["start", "--workspace", self.root.to_str().expect("utf-8")])
            .current_dir(self.dir.path())
            .env_remove("LAB_WORKSPACE")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lab start");
        let (ready_tx, ready_rx) = mpsc::channel::<bool>();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let out = Arc::clone(&self.output);
        std::thread::spawn(move || {
            let mut signalled = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                out.lock().expect("lock").push_str(&format!("{line}\n"));
                if !signalled && line.trim_start().starts_with("Listo.") {
                    signalled = true;
                    let _ = ready_tx.send(true);
                }
            }
            if !signalled {
                let _ = ready_tx.send(false);
            }
        });
        let err = Arc::clone(&self.output);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                err.lock()
                    .expect("lock")
                    .push_str(&format!("[stderr] {line}\n"));
            }
        });
        self.child = Some(child);
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(true) => Ok(()),
            Ok(false) => {
                let status = self.wait_exit(Duration::from_secs(2));
                Err(format!(
                    "`lab start` terminó sin imprimir `Listo.` (estado {status:?})\n--- salida ---\n{}",
                    self.output()
                ))
            }
            Err(_) => {
                let output = self.output();
                self.kill();
                Err(format!(
                    "`lab start` no imprimió `Listo.` en {START_TIMEOUT:?}\n--- salida ---\n{output}"
                ))
            }
        }
    }

    /// Everything `lab start` printed so far (stderr lines prefixed with `[stderr]`).
    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    /// Pid of the running `lab start`.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code (None if killed/timeout).
    pub fn stop_with_sigterm(&mut self) -> Option<i32> {
        let pid = self.pid().expect("lab no arrancado");
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let status = self.wait_exit(STOP_TIMEOUT);
        if status.is_none() {
            self.kill();
        }
        status.flatten()
    }

    /// Waits up to `limit` for `lab start` to exit. `Some(code)` when it exited.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Option<i32>> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + limit;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    // Let the reader threads drain the pipes.
                    std::thread::sleep(Duration::from_millis(50));
                    return Some(status.code());
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return None,
            }
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Address `Listen 80` binds.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `GET path` with `Host: localhost`.
    pub fn get(&self, path: &str) -> Response {
        self.get_host(path, "localhost")
    }

    /// `GET path` with the given Host.
    pub fn get_host(&self, path: &str, host: &str) -> Response {
        self.request("GET", path, host, &[])
    }

    /// A request with extra headers; always `Connection: close`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        host: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        self.raw(req.as_bytes(), method == "HEAD")
            .unwrap_or_else(|e| {
                panic!(
                    "{method} {path}: {e}\n--- salida del lab ---\n{}",
                    self.output()
                )
            })
    }

    /// Sends `bytes` as they are and parses the response.
    pub fn raw(&self, bytes: &[u8], head: bool) -> std::io::Result<Response> {
        raw_request(self.addr(), bytes, head)
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if self.wait_exit(STOP_TIMEOUT).is_none() {
                self.kill();
            }
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}", self.status, self.reason)?;
        for (k, v) in &self.headers {
            writeln!(f, "{k}: {v}")?;
        }
        let text = self.text();
        let shown: String = text.chars().take(2000).collect();
        write!(f, "\n{shown}")
    }
}

/// Connects to `addr`, writes `bytes` exactly, reads one response. `head`: the request was
/// HEAD, so there is no body whatever the headers say.
pub fn raw_request(addr: SocketAddr, bytes: &[u8], head: bool) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    // The server may answer (and close) before reading everything, e.g. 431; a write error
    // then is fine as long as a response can be read.
    let write_result = stream.write_all(bytes);
    let resp = read_response(&mut stream, head);
    match (resp, write_result) {
        (Ok(r), _) => Ok(r),
        (Err(e), Ok(())) => Err(e),
        (Err(_), Err(w)) => Err(w),
    }
}

/// Reads one response from `stream`.
pub fn read_response(stream: &mut TcpStream, head: bool) -> std::io::Result<Response> {
    use std::io::{Error, ErrorKind};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::UnexpectedEof,
                format!(
                    "conexión cerrada antes de la cabecera de la respuesta ({} bytes: {:?})",
                    buf.len(),
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_text = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("línea de estado no válida: {status_line:?}"),
        ));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, format!("estado: {status_line:?}")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = buf[header_end + 4..].to_vec();
    let mut resp = Response {
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(resp);
    }
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        resp.body = read_chunked(stream, rest)?;
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| Error::new(ErrorKind::InvalidData, "Content-Length no numérico"))?;
        while rest.len() < len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(Error::new(ErrorKind::UnexpectedEof, "cuerpo incompleto"));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        resp.body = rest;
    } else {
        stream.read_to_end(&mut rest)?;
        resp.body = rest;
    }
    Ok(resp)
}

fn read_chunked(stream: &mut TcpStream, mut buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut fill = |buf: &mut Vec<u8>| -> std::io::Result<()> {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "chunked incompleto"));
        }
        buf.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    loop {
        let line_end = loop {
            if let Some(p) = find(&buf, b"\r\n") {
                break p;
            }
            fill(&mut buf)?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error::new(ErrorKind::InvalidData, format!("chunk: {size_text:?}")))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers end with an empty line; tolerate a peer that closes right away.
            while find(&buf, b"\r\n").is_none() {
                if fill(&mut buf).is_err() {
                    break;
                }
            }
            return Ok(body);
        }
        while buf.len() < size + 2 {
            fill(&mut buf)?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Polls `cond` every 20 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The HTTP application server of the mod_proxy_http tests (`tests/transcripts/http_backend.py`,
/// run by python3) on a free port, with another free port nobody listens on; stopped on drop.
#[allow(dead_code)]
pub struct HttpBackend {
    child: Child,
    pub port: u16,
    pub dead: u16,
}

#[allow(dead_code)]
impl HttpBackend {
    pub fn start() -> HttpBackend {
        let port = free_port();
        let dead = free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/http_backend.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .spawn()
            .expect("python3 for the HTTP backend");
        let backend = HttpBackend { child, port, dead };
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "the HTTP backend did not start"
        );
        backend
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// The live processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                let mut rest = s[s.rfind(')').map_or(0, |i| i + 1)..].split_whitespace();
                rest.next().is_some_and(|state| state != "Z")
                    && rest.next().and_then(|pp| pp.parse::<u32>().ok()) == Some(pid)
            })
        })
        .collect()
}
