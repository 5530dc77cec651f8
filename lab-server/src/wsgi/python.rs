//! The interpreter side of a WSGI request (PEP 3333): loads the script as a module, builds
//! `environ`, provides `wsgi.input`, `wsgi.errors`, `start_response`, `write()` and
//! `wsgi.file_wrapper`, iterates the result (calling `close()` always) and turns every
//! failure into a logged traceback and a 500.
//!
//! A request runs on one of the pool's threads ([`super::pool`]); it holds the interpreter
//! only while Python runs and releases it (`py.detach`) while waiting for request body
//! chunks or for room to send response chunks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use pyo3::exceptions::{PyIOError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyString, PyTuple};
use tokio::sync::mpsc;

use super::errorlog::ErrorLog;
use super::venv::Venv;

/// Request body chunks, fed by the HTTP side (embedded mode).
pub type InputRx = mpsc::Receiver<Result<Bytes, String>>;
/// What the application produced, in order: a head, body chunks, then `End` (embedded mode).
pub type OutputTx = mpsc::Sender<Out>;

/// Where `wsgi.input` pulls the request body from. Called without the interpreter lock.
pub trait BodySource: Send + Sync {
    /// The next chunk; `None` at the end of the body.
    fn next_chunk(&mut self) -> Option<Result<Bytes, String>>;
}

/// Where the response goes. Called without the interpreter lock; false when the client is
/// gone.
pub trait ResponseSink: Send + Sync {
    fn send(&mut self, out: Out) -> bool;
    /// False when `send(out)` only buffers (so it needs no release of the interpreter lock).
    fn blocks(&self, _out: &Out) -> bool {
        true
    }
}

impl BodySource for InputRx {
    fn next_chunk(&mut self) -> Option<Result<Bytes, String>> {
        self.blocking_recv()
    }
}

impl ResponseSink for OutputTx {
    fn send(&mut self, out: Out) -> bool {
        match self.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(out)) => self.blocking_send(out).is_ok(),
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// A message that fits in the channel goes in at once: no need to release the
    /// interpreter lock for it (the HTTP side is the only reader, the thread the only
    /// writer, so the room seen here is still there when it sends).
    fn blocks(&self, _out: &Out) -> bool {
        self.capacity() == 0
    }
}

/// The response head the application gave to `start_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    /// Header values as bytes (PEP 3333: latin-1 strings).
    pub headers: Vec<(String, Bytes)>,
}

/// One message from the application to the server.
#[derive(Debug)]
pub enum Out {
    Head(Head),
    Body(Bytes),
    /// The response is complete.
    End,
    /// The application failed before sending its head: answer with this status (500 or 404)
    /// and the Spanish page.
    Failed(u16),
    /// Head and the whole body at once (a one-element list): the response is complete.
    Whole(Head, Bytes),
}

/// The CGI part of `environ`: names (most of them constant) and latin-1 decoded values.
#[derive(Debug, Clone, Default)]
pub struct Environ {
    /// The keys in order, each with where its value is in `text`.
    entries: Vec<(std::borrow::Cow<'static, str>, std::ops::Range<usize>)>,
    /// Every value, one after another (one allocation for all of them).
    text: String,
}

impl Environ {
    pub fn with_capacity(entries: usize, text: usize) -> Environ {
        Environ {
            entries: Vec::with_capacity(entries),
            text: String::with_capacity(text),
        }
    }

    /// Adds `key` with the value `write` puts at the end of the text.
    pub fn push_with(
        &mut self,
        key: impl Into<std::borrow::Cow<'static, str>>,
        write: impl FnOnce(&mut String),
    ) {
        let start = self.text.len();
        write(&mut self.text);
        self.entries.push((key.into(), start..self.text.len()));
    }

    pub fn push(&mut self, key: impl Into<std::borrow::Cow<'static, str>>, value: &str) {
        self.push_with(key, |t| t.push_str(value));
    }

    /// Adds more to the value of the `i`th entry (it moves to the end of the text).
    pub fn extend_at(&mut self, i: usize, write: impl FnOnce(&mut String)) {
        let Some((_, range)) = self.entries.get(i) else {
            return;
        };
        let range = range.clone();
        let end = self.text.len();
        // The last value grows where it is; another one is copied to the end first.
        let new_start = if range.end == end {
            range.start
        } else {
            self.text.extend_from_within(range);
            end
        };
        write(&mut self.text);
        self.entries[i].1 = new_start..self.text.len();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|(k, r)| (k.as_ref(), &self.text[r.clone()]))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether both have the same keys in the same order (a key written in the code is
    /// known by its address, without comparing its text).
    fn same_keys(&self, other: &Environ) -> bool {
        use std::borrow::Cow;
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, _), (b, _))| match (a, b) {
                    (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y) => true,
                    _ => a == b,
                })
    }

    /// Whether two with the same keys have the same values too.
    fn same_values(&self, other: &Environ) -> bool {
        self.text == other.text
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((_, r), (_, s))| r == s)
    }
}

/// The client of a request as log lines name it (`ip:port`), formatted only when a line is
/// written (most requests write none).
#[derive(Debug, Clone)]
pub enum Peer {
    Addr(std::net::SocketAddr),
    /// As the web server passed it on (FastCGI).
    Text(String),
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Addr(a) => a.fmt(f),
            Peer::Text(t) => f.write_str(t),
        }
    }
}

/// Everything one request needs on the Python side.
pub struct PyJob {
    /// CGI variables and HTTP_* headers, values already decoded as latin-1.
    pub environ: Environ,
    pub script: Arc<Path>,
    pub callable: Arc<str>,
    pub application_group: String,
    /// `None` in embedded mode.
    pub process_group: Option<Arc<str>>,
    pub reloading: bool,
    /// `wsgi.multiprocess` and `wsgi.multithread` as mod_wsgi sets them for this mode.
    pub multiprocess: bool,
    pub multithread: bool,
    /// Daemon mode: a failure after the head was sent ends the response normally (the web
    /// server side sees the worker's output end); embedded mode cuts it short instead.
    pub daemon: bool,
    pub log: ErrorLog,
    /// The client, for log lines.
    pub client: Peer,
    /// The script's modification time when the server already looked (else looked up here).
    pub stamp: Option<f64>,
    pub input: Box<dyn BodySource>,
    pub output: Box<dyn ResponseSink>,
}

/// Interpreter-wide settings: the venv and extra import paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpreterSettings {
    pub venv: Option<Venv>,
    pub python_path: Vec<PathBuf>,
    /// Where `sys.stdout` and `sys.stderr` go (`print`, `logging`), as mod_wsgi sends them
    /// to Apache's main error log.
    pub log: Option<ErrorLog>,
}

/// Prepares the process's interpreter: initializes it, activates the venv (its
/// site-packages first on `sys.path`, without the system's site-packages, as a venv does)
/// and adds `python_path`. Safe to call more than once: later calls only add paths.
pub fn init_interpreter(settings: &InterpreterSettings) -> Result<(), String> {
    Python::initialize();
    Python::attach(|py| -> PyResult<()> {
        let sys = py.import("sys")?;
        // `import apcu`: the lab's user cache (shared by the process group).
        crate::scriptcache::apcu::register(py)?;
        if sys.getattr("argv").is_err() {
            sys.setattr("argv", vec!["mod_wsgi"])?;
        }
        let path = sys.getattr("path")?.cast_into::<PyList>()?;
        if let Some(venv) = &settings.venv {
            let home = venv.home.to_string_lossy().into_owned();
            let base_prefix: String = sys.getattr("base_prefix")?.extract()?;
            // Like a venv without system-site-packages: drop the system's site directories.
            let keep: Vec<String> = path
                .iter()
                .filter_map(|p| p.extract::<String>().ok())
                .filter(|p| {
                    !(p.ends_with("site-packages") || p.ends_with("dist-packages"))
                        || !(p.starts_with(&base_prefix) || p.starts_with("/usr/local/lib"))
                })
                .collect();
            path.call_method0("clear")?;
            for p in &keep {
                path.append(p)?;
            }
            sys.setattr("prefix", &home)?;
            sys.setattr("exec_prefix", &home)?;
            sys.setattr(
                "executable",
                venv.home.join("bin/python").to_string_lossy().into_owned(),
            )?;
            let before = path.len();
            py.import("site")?.call_method1(
                "addsitedir",
                (venv.site_packages.to_string_lossy().into_owned(),),
            )?;
            // addsitedir appends: move what it added to the front.
            let added: Vec<Bound<'_, PyAny>> = path.iter().skip(before).collect();
            for (i, p) in added.iter().enumerate() {
                path.call_method1("remove", (p,))?;
                path.insert(i, p)?;
            }
        }
        if let Some(log) = &settings.log {
            for name in ["stdout", "stderr"] {
                let stream = Bound::new(
                    py,
                    Errors {
                        log: log.clone(),
                        client: None,
                        pending: String::new(),
                    },
                )?;
                sys.setattr(name, stream)?;
            }
        }
        for (i, p) in settings.python_path.iter().enumerate() {
            let p = p.to_string_lossy().into_owned();
            if !path.contains(&p)? {
                path.insert(i, p)?;
            }
        }
        Ok(())
    })
    .map_err(|e| Python::attach(|py| format_exception(py, &e).join("\n")))
}

/// Scripts loaded so far: application group -> path -> `(module, mtime)`. The map is a Rust
/// one, looked up without building Python objects for the key; its mutex is only held for
/// the lookup or the insertion itself, never while Python code runs (so it cannot deadlock
/// with the interpreter lock). Loading a script is serialized by a Python `RLock`.
pub struct Scripts {
    /// By group, then by the script's path as written (its bytes are hashed; a `Path`'s
    /// hash walks its components).
    modules: Mutex<crate::util::FxMap<String, crate::util::FxMap<std::ffi::OsString, Loaded>>>,
    lock: Py<PyAny>,
}

/// A loaded script: its module and the modification time it was loaded at.
struct Loaded {
    module: Py<PyAny>,
    stamp: f64,
}

impl Scripts {
    pub fn new() -> Scripts {
        Python::attach(|py| Scripts {
            modules: Mutex::new(Default::default()),
            lock: py
                .import("threading")
                .and_then(|t| t.call_method0("RLock"))
                .map(Bound::unbind)
                .unwrap_or_else(|_| py.None()),
        })
    }

    /// The module loaded for `(group, path)` when it is still current (`now`: the script's
    /// modification time with reloading on).
    fn cached<'py>(
        &self,
        py: Python<'py>,
        group: &str,
        path: &Path,
        now: Option<f64>,
    ) -> Option<Bound<'py, PyAny>> {
        let modules = self.modules.lock().ok()?;
        let loaded = modules.get(group)?.get(path.as_os_str())?;
        now.is_none_or(|t| t == loaded.stamp)
            .then(|| loaded.module.bind(py).clone())
    }

    fn store(&self, group: &str, path: &Path, loaded: Loaded) {
        // The module it replaces is dropped after the map's mutex is released (dropping a
        // module may run Python code).
        let old = self.modules.lock().ok().and_then(|mut m| {
            m.entry(group.to_string())
                .or_default()
                .insert(path.as_os_str().to_owned(), loaded)
        });
        drop(old);
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

fn mtime(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| mtime_of(&m)).unwrap_or(0.0)
}

/// A file's modification time in seconds since the epoch (0 when unknown).
pub fn mtime_of(meta: &std::fs::Metadata) -> f64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The module name mod_wsgi gives a script: `_mod_wsgi_` and the MD5 of its path.
fn module_name(py: Python<'_>, path: &Path) -> PyResult<String> {
    let digest = py
        .import("hashlib")?
        .call_method1(
            "md5",
            (PyBytes::new(py, path.as_os_str().as_encoded_bytes()),),
        )?
        .call_method0("hexdigest")?
        .extract::<String>()?;
    Ok(format!("_mod_wsgi_{digest}"))
}

enum LoadError {
    Missing,
    Python(PyErr),
}

impl Scripts {
    /// The script's module, loading it (again, when `reloading` and its file changed).
    fn module<'py>(
        &self,
        py: Python<'py>,
        group: &str,
        path: &Path,
        reloading: bool,
        stamp: Option<f64>,
    ) -> Result<Bound<'py, PyAny>, LoadError> {
        let now = match (reloading, stamp) {
            (false, _) => None,
            (true, Some(t)) => Some(t),
            (true, None) => Some(mtime(path)),
        };
        if let Some(m) = self.cached(py, group, path, now) {
            return Ok(m);
        }
        let lock = self.lock.bind(py);
        let _ = lock.call_method0("acquire");
        let result = (|| {
            if let Some(m) = self.cached(py, group, path, now) {
                return Ok(m);
            }
            let source = std::fs::read(path).map_err(|_| LoadError::Missing)?;
            let stamp = mtime(path);
            let m = load_module(py, path, &source).map_err(LoadError::Python)?;
            self.store(
                group,
                path,
                Loaded {
                    module: m.clone().unbind(),
                    stamp,
                },
            );
            Ok(m)
        })();
        let _ = lock.call_method0("release");
        result
    }
}

fn load_module<'py>(py: Python<'py>, path: &Path, source: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let name = module_name(py, path)?;
    let file = path.to_string_lossy().into_owned();
    let module = py
        .import("types")?
        .getattr("ModuleType")?
        .call1((name.as_str(),))?;
    module.setattr("__file__", &file)?;
    let builtins = py.import("builtins")?;
    let code = builtins
        .getattr("compile")?
        .call1((PyBytes::new(py, source), &file, "exec"))?;
    let sys_modules = py.import("sys")?.getattr("modules")?;
    sys_modules.set_item(&name, &module)?;
    let globals = module.getattr("__dict__")?;
    if let Err(e) = builtins.getattr("exec")?.call1((code, globals)) {
        let _ = sys_modules.del_item(&name);
        return Err(e);
    }
    Ok(module)
}

/// The traceback of `err` as lines, like Python prints it.
pub fn format_exception(py: Python<'_>, err: &PyErr) -> Vec<String> {
    let formatted = py.import("traceback").and_then(|tb| {
        tb.call_method1(
            "format_exception",
            (err.get_type(py), err.value(py), err.traceback(py)),
        )?
        .extract::<Vec<String>>()
    });
    match formatted {
        Ok(parts) => parts.concat().lines().map(str::to_string).collect(),
        Err(_) => vec![err.to_string()],
    }
}

// ---------------------------------------------------------------------------------------------
// wsgi.input

/// `wsgi.input`: the request body as a stream. Reads pull chunks on demand, so a large body
/// is never held in memory whole.
#[pyclass(module = "mod_wsgi")]
pub struct Input {
    rx: Box<dyn BodySource>,
    buf: BytesMut,
    eof: bool,
}

impl Input {
    /// Pulls one more chunk; false at the end of the body.
    fn fill(&mut self, py: Python<'_>) -> PyResult<bool> {
        if self.eof {
            return Ok(false);
        }
        let rx = &mut self.rx;
        match py.detach(|| rx.next_chunk()) {
            Some(Ok(chunk)) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Some(Err(e)) => {
                self.eof = true;
                Err(PyIOError::new_err(format!(
                    "no se pudo leer el cuerpo de la petición: {e}"
                )))
            }
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let n = n.min(self.buf.len());
        let out = PyBytes::new(py, &self.buf[..n]);
        self.buf.advance(n);
        out
    }

    fn line<'py>(
        &mut self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + pos + 1;
                return Ok(self.take(py, limit.map_or(end, |l| l.min(end))));
            }
            scanned = self.buf.len();
            if let Some(l) = limit {
                if self.buf.len() >= l {
                    return Ok(self.take(py, l));
                }
            }
            if !self.fill(py)? {
                let n = self.buf.len();
                return Ok(self.take(py, n));
            }
        }
    }
}

fn size_arg(size: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    match size {
        None => Ok(None),
        Some(s) if s.is_none() => Ok(None),
        Some(s) => {
            let n: i64 = s.extract().map_err(|_| {
                PyTypeError::new_err("PEP 3333: el tamaño de wsgi.input.read() debe ser un entero")
            })?;
            Ok((n >= 0).then_some(n as usize))
        }
    }
}

#[pymethods]
impl Input {
    #[pyo3(signature = (size=None))]
    fn read<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        match size_arg(size)? {
            None => {
                while self.fill(py)? {}
                let n = self.buf.len();
                Ok(self.take(py, n))
            }
            Some(n) => {
                while self.buf.len() < n && self.fill(py)? {}
                Ok(self.take(py, n))
            }
        }
    }

    #[pyo3(signature = (size=None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let limit = size_arg(size)?;
        self.line(py, limit)
    }

    #[pyo3(signature = (hint=None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = size_arg(hint)?;
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.line(py, None)?;
            let n = line.as_bytes().len();
            if n == 0 {
                break;
            }
            total += n;
            lines.push(line);
            if hint.is_some_and(|h| h > 0 && total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }
}

// ---------------------------------------------------------------------------------------------
// wsgi.errors

/// `wsgi.errors`: text written here goes to the virtual host's error log, one log line per
/// line of text.
#[pyclass(module = "mod_wsgi")]
pub struct Errors {
    log: ErrorLog,
    client: Option<Peer>,
    pending: String,
}

impl Errors {
    fn emit_complete_lines(&mut self) {
        if let Some(pos) = self.pending.rfind('\n') {
            let rest = self.pending.split_off(pos + 1);
            let text = std::mem::replace(&mut self.pending, rest);
            let lines: Vec<&str> = text.lines().collect();
            let client = self.client.as_ref().map(Peer::to_string);
            self.log.write("error", client.as_deref(), &lines);
        }
    }
}

#[pymethods]
impl Errors {
    fn write(&mut self, text: &Bound<'_, PyAny>) -> PyResult<()> {
        let s = text.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err("PEP 3333: wsgi.errors.write() recibe str, no bytes")
        })?;
        self.pending.push_str(&s.to_cow()?);
        self.emit_complete_lines();
        Ok(())
    }

    fn writelines(&mut self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?)?;
        }
        Ok(())
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.pending.push('\n');
            self.emit_complete_lines();
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        self.flush();
    }
}

// ---------------------------------------------------------------------------------------------
// wsgi.file_wrapper

/// `wsgi.file_wrapper(filelike, blksize=8192)`: iterates a file in blocks.
#[pyclass(module = "mod_wsgi")]
pub struct FileWrapper {
    filelike: Py<PyAny>,
    blksize: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize=8192))]
    fn new(filelike: Py<PyAny>, blksize: usize) -> FileWrapper {
        FileWrapper {
            filelike,
            blksize: blksize.max(1),
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let block = self
            .filelike
            .bind(py)
            .call_method1("read", (self.blksize,))?;
        Ok((block.len().unwrap_or(0) > 0).then_some(block))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let f = self.filelike.bind(py);
        if f.hasattr("close")? {
            f.call_method0("close")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// start_response and write()

/// `start_response(status, response_headers, exc_info=None)`, which keeps the response state
/// the way mod_wsgi's adapter does: a head set by `start_response` may be replaced until the
/// first body bytes (or the end of the response) send it; `Content-Length` is checked then
/// and bounds what is sent.
#[pyclass(module = "mod_wsgi")]
pub struct StartResponse {
    head: Option<Head>,
    sent: bool,
    out: Box<dyn ResponseSink>,
    /// Set when the client went away: stop producing.
    gone: bool,
    /// The response was completed (`Whole` or `End` sent).
    done: bool,
    /// The application's `Content-Length`, once the head was sent.
    content_length: Option<u64>,
    /// Body bytes the application produced (sent or not).
    output: u64,
}

/// The `RuntimeError`, `TypeError` and `ValueError` texts are mod_wsgi 4.9's own, so the
/// error log reads like a real server's.
fn runtime_error(msg: &str) -> PyErr {
    PyRuntimeError::new_err(msg.to_string())
}

/// mod_wsgi converts the status and each header name and value to latin-1 bytes.
fn native_string(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let s = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected unicode object, value of type {} found",
            type_name(value)
        ))
    })?;
    let text = s.to_cow()?;
    if text.is_ascii() {
        return Ok(text.as_bytes().to_vec());
    }
    latin1(&text)
        .ok_or_else(|| PyValueError::new_err("unicode object contains non latin-1 characters"))
}

/// Latin-1 bytes as a `String` of the same characters (no copy when they are ASCII).
fn latin1_string(bytes: Vec<u8>) -> String {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8: no error is possible here.
        return String::from_utf8(bytes).unwrap_or_default();
    }
    bytes.iter().map(|&b| b as char).collect()
}

fn parse_status(status: &Bound<'_, PyAny>) -> PyResult<(u16, String)> {
    let bytes = native_string(status)?;
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits != 3 {
        return Err(PyValueError::new_err(
            "status code is not a 3 digit integer",
        ));
    }
    if bytes.get(3) != Some(&b' ') {
        return Err(PyValueError::new_err("no space following status code"));
    }
    if bytes[4..].iter().any(|b| b.is_ascii_control()) {
        return Err(PyValueError::new_err(
            "control character present in reason phrase",
        ));
    }
    let code = u16::from(bytes[0] - b'0') * 100
        + u16::from(bytes[1] - b'0') * 10
        + u16::from(bytes[2] - b'0');
    let mut bytes = bytes;
    bytes.drain(..4);
    Ok((code, latin1_string(bytes)))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

fn parse_headers(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Bytes)>> {
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected list object for headers, value of type {} found",
            type_name(headers)
        ))
    })?;
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tuple = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "list of tuple values expected for headers, value of type {} found",
                type_name(&item)
            ))
        })?;
        if tuple.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "tuple of length 2 expected for header, length is {}",
                tuple.len()
            )));
        }
        let name = native_string(&tuple.get_item(0)?)?;
        if name.is_empty() {
            return Err(PyValueError::new_err("header name is empty"));
        }
        if name.iter().any(|b| b.is_ascii_control()) {
            return Err(PyValueError::new_err(
                "control character present in header name",
            ));
        }
        if name.contains(&b' ') {
            return Err(PyValueError::new_err(
                "space character present in header name",
            ));
        }
        let value = native_string(&tuple.get_item(1)?)?;
        if value.iter().any(|&b| b == b'\r' || b == b'\n') {
            return Err(PyValueError::new_err(
                "carriage return/line feed character present in header value",
            ));
        }
        out.push((latin1_string(name), Bytes::from(value)));
    }
    Ok(out)
}

/// A `Content-Length` as mod_wsgi accepts it: digits only, not negative.
fn content_length_of(head: &Head) -> PyResult<Option<u64>> {
    let mut found = None;
    for (k, v) in &head.headers {
        if k.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(v)
                .ok()
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u64>().ok())
                .ok_or_else(|| PyValueError::new_err("invalid content length"))?;
            found = Some(n);
        }
    }
    Ok(found)
}

impl StartResponse {
    fn new(out: Box<dyn ResponseSink>) -> StartResponse {
        StartResponse {
            head: None,
            sent: false,
            out,
            gone: false,
            done: false,
            content_length: None,
            output: 0,
        }
    }

    fn send(&mut self, py: Python<'_>, msg: Out) -> PyResult<()> {
        if self.gone {
            return Err(PyIOError::new_err(
                "Apache/mod_wsgi client connection closed.",
            ));
        }
        let out = &mut self.out;
        let sent = if out.blocks(&msg) {
            py.detach(|| out.send(msg))
        } else {
            out.send(msg)
        };
        if !sent {
            self.gone = true;
            return Err(PyIOError::new_err(
                "Apache/mod_wsgi client connection closed.",
            ));
        }
        Ok(())
    }

    /// The head and all the body its `Content-Length` announced were sent.
    fn all_sent(&self) -> bool {
        self.sent && self.content_length.is_some_and(|n| self.output >= n)
    }

    /// The head to send now (its `Content-Length` checked); `None` once sent.
    fn take_head(&mut self) -> PyResult<Option<Head>> {
        if self.sent {
            return Ok(None);
        }
        let Some(head) = self.head.as_ref() else {
            return Err(runtime_error("response has not been started"));
        };
        self.content_length = content_length_of(head)?;
        self.sent = true;
        Ok(self.head.take())
    }

    /// The part of `data` that fits in the application's `Content-Length` (mod_wsgi never
    /// sends more than it announced).
    fn clip<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let before = self.output;
        self.output += data.len() as u64;
        match self.content_length {
            Some(max) if before >= max => &[],
            Some(max) => &data[..(max - before).min(data.len() as u64) as usize],
            None => data,
        }
    }

    /// The whole response at once (head not sent yet): one message, one write.
    fn send_whole(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        match self.take_head()? {
            Some(head) => {
                let data = Bytes::copy_from_slice(self.clip(data));
                self.done = true;
                if self.content_length.is_some_and(|n| self.output < n) {
                    // Shorter than its Content-Length: sent without an end, so it is cut.
                    self.send(py, Out::Head(head))?;
                    return self.send(py, Out::Body(data));
                }
                self.send(py, Out::Whole(head, data))
            }
            None => {
                self.send_body(py, data)?;
                self.finish(py)
            }
        }
    }

    /// Ends the response (sending the head first if the body was empty).
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.done {
            return Ok(());
        }
        if let Some(head) = self.take_head()? {
            self.done = true;
            return self.send(py, Out::Whole(head, Bytes::new()));
        }
        self.done = true;
        // Less body than the application's Content-Length: Apache sends what it has and the
        // client sees the response cut short.
        if self.content_length.is_some_and(|n| self.output < n) {
            return Ok(());
        }
        self.send(py, Out::End)
    }

    fn send_body(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        if let Some(head) = self.take_head()? {
            self.send(py, Out::Head(head))?;
        }
        let data = self.clip(data);
        if data.is_empty() {
            return Ok(());
        }
        self.send(py, Out::Body(Bytes::copy_from_slice(data)))
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn __call__(
        slf: &Bound<'_, Self>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Write> {
        let mut this = slf.borrow_mut();
        match exc_info.filter(|e| !e.is_none()) {
            Some(exc) if !exc.is_instance_of::<PyTuple>() => {
                return Err(runtime_error("exception info must be a tuple"));
            }
            Some(exc) if this.sent => {
                // PEP 3333: too late to change the status; re-raise the application's error.
                let value = exc.get_item(1)?;
                let tb = exc.get_item(2)?;
                let value = value.call_method1("with_traceback", (tb,))?;
                return Err(PyErr::from_value(value));
            }
            Some(_) => {}
            None if this.sent => return Err(runtime_error("headers have already been sent")),
            // mod_wsgi lets a second call replace a head that was not sent yet.
            None => {}
        }
        let (status, reason) = parse_status(status)?;
        let headers = parse_headers(headers)?;
        this.head = Some(Head {
            status,
            reason,
            headers,
        });
        Ok(Write {
            response: slf.clone().unbind(),
        })
    }
}

/// The `write(data)` callable `start_response` returns (the old imperative API).
#[pyclass(module = "mod_wsgi")]
pub struct Write {
    response: Py<StartResponse>,
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "byte string value expected, value of type {} found",
                type_name(data)
            ))
        })?;
        self.response
            .bind(py)
            .borrow_mut()
            .send_body(py, bytes.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// Running a request

/// A line in Spanish after mod_wsgi's own message, naming the PEP 3333 rule broken (the lab
/// is a course: the real server's text stays as it is, the explanation comes after it).
fn rule_hint(err: &PyErr, py: Python<'_>) -> Option<&'static str> {
    let text = err.value(py).to_string();
    let hints: &[(&str, &str)] = &[
        ("sequence of byte string values expected", "PEP 3333: cada elemento del cuerpo de la respuesta debe ser bytes, no str; codifícalo con texto.encode('utf-8')"),
        ("byte string value expected", "PEP 3333: write() recibe bytes, no str; codifícalo con texto.encode('utf-8')"),
        ("response has not been started", "PEP 3333: la aplicación devolvió el cuerpo sin haber llamado antes a start_response()"),
        ("headers have already been sent", "PEP 3333: start_response() ya se había llamado y las cabeceras ya se enviaron; otra llamada solo se permite con exc_info"),
        ("status code is not", "PEP 3333: el estado debe tener la forma 'NNN Motivo', por ejemplo '200 OK'"),
        ("no space following status code", "PEP 3333: el estado debe tener la forma 'NNN Motivo', por ejemplo '200 OK'"),
        ("carriage return/line feed", "PEP 3333: el valor de una cabecera no puede contener saltos de línea"),
        ("invalid content length", "Content-Length debe ser un número entero no negativo, escrito como str"),
        ("expected unicode object", "PEP 3333: el estado y las cabeceras son str (cadenas nativas), no bytes"),
        ("expected list object for headers", "PEP 3333: las cabeceras son una list de tuplas (nombre, valor)"),
        ("list of tuple values expected", "PEP 3333: las cabeceras son una list de tuplas (nombre, valor)"),
    ];
    hints
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, hint)| *hint)
}

/// Runs one request to completion. Never panics; every outcome ends with `Out::End`,
/// `Out::Failed` or (after the head was sent) the channel closing early.
pub fn run(py: Python<'_>, scripts: &Scripts, job: PyJob) {
    if let Some(rest) = begin(py, scripts, job) {
        let _ = rest.drive(py, None);
    }
}

/// What is left of a request once the application returned: iterating its result (sending
/// each chunk), ending the response and calling `close()`. It can be driven a few chunks at
/// a time, by whichever thread holds the response (see [`Rest::drive`]).
pub struct Rest {
    result: Py<PyAny>,
    iter: Option<Py<PyIterator>>,
    start: Py<StartResponse>,
    script: Arc<Path>,
    log: ErrorLog,
    client: Peer,
    daemon: bool,
}

/// The first part of [`run`]: loads the script, builds `environ` and calls the application.
/// `None` when the request is already answered (a failure before the application returned).
pub fn begin(py: Python<'_>, scripts: &Scripts, job: PyJob) -> Option<Rest> {
    let PyJob {
        environ,
        script,
        callable,
        application_group,
        process_group,
        reloading,
        multiprocess,
        multithread,
        daemon,
        log,
        client,
        stamp,
        input,
        output,
    } = job;
    let report = |lines: &[String]| {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        log.write("error", Some(&client.to_string()), &refs);
    };
    // Looked up only for a log line (a system call otherwise paid on every request).
    let pid = std::process::id;
    let Ok(start) = Bound::new(py, StartResponse::new(output)) else {
        return None;
    };
    let fail = |status: u16| {
        let _ = start.borrow_mut().send(py, Out::Failed(status));
    };

    let module = match scripts.module(py, &application_group, &script, reloading, stamp) {
        Ok(m) => m,
        Err(LoadError::Missing) => {
            report(&[format!(
                "Target WSGI script not found or unable to stat: {}",
                script.display()
            )]);
            fail(404);
            return None;
        }
        Err(LoadError::Python(e)) => {
            let mut lines = vec![
                format!(
                    "mod_wsgi (pid={}): Failed to exec Python script file '{}'.",
                    pid(),
                    script.display()
                ),
                format!(
                    "mod_wsgi (pid={}): Exception occurred processing WSGI script '{}'.",
                    pid(),
                    script.display()
                ),
            ];
            lines.extend(format_exception(py, &e));
            report(&lines);
            fail(500);
            return None;
        }
    };
    let name = if &*callable == "application" {
        pyo3::intern!(py, "application").clone()
    } else {
        PyString::new(py, &callable)
    };
    let app = match module.getattr(name) {
        Ok(app) if app.is_callable() => app,
        _ => {
            report(&[format!(
                "mod_wsgi (pid={}): Target WSGI script '{}' does not contain WSGI application '{callable}'.",
                pid(),
                script.display()
            )]);
            fail(500);
            return None;
        }
    };

    let environ = match build_environ(
        py,
        environ,
        input,
        Errors {
            log: log.clone(),
            client: Some(client.clone()),
            pending: String::new(),
        },
        &[
            (
                "mod_wsgi.process_group",
                process_group.as_deref().unwrap_or(""),
            ),
            ("mod_wsgi.application_group", application_group.as_str()),
            ("mod_wsgi.callable_object", &*callable),
            (
                "mod_wsgi.script_reloading",
                if reloading { "1" } else { "0" },
            ),
        ],
        (multiprocess, multithread),
    ) {
        Ok(e) => e,
        Err(e) => {
            report(&format_exception(py, &e));
            fail(500);
            return None;
        }
    };

    let traceback = |e: &PyErr| {
        let mut lines = vec![format!(
            "mod_wsgi (pid={}): Exception occurred processing WSGI script '{}'.",
            pid(),
            script.display()
        )];
        lines.extend(format_exception(py, e));
        if let Some(hint) = rule_hint(e, py) {
            lines.push(format!("(laboratorio) {hint}"));
        }
        report(&lines);
    };

    let result = match app.call1((environ, start.clone())) {
        Ok(r) => r,
        Err(e) => {
            traceback(&e);
            // The head may already be out (write() then a re-raised exc_info): Apache then
            // appends its error page to what was sent.
            finish_failed(py, &start, if daemon { After::End } else { After::Page });
            return None;
        }
    };
    Some(Rest {
        result: result.unbind(),
        iter: None,
        start: start.unbind(),
        script,
        log,
        client,
        daemon,
    })
}

impl Rest {
    /// Iterates the result. With `chunks`, stops once that many body chunks were sent and
    /// returns what is left (the caller sends them before asking for more, so a slow
    /// generator's first parts reach the client); `None` once the response ended and
    /// `close()` was called.
    pub fn drive(mut self, py: Python<'_>, chunks: Option<usize>) -> Option<Rest> {
        let result = self.result.bind(py).clone();
        let start = self.start.bind(py).clone();
        let outcome = (|| -> PyResult<bool> {
            if self.iter.is_none() {
                if iterate_whole(py, &result, &start)? {
                    return Ok(true);
                }
                self.iter = Some(result.try_iter()?.unbind());
            }
            let Some(iter) = self.iter.as_ref() else {
                return Ok(true);
            };
            let mut iter = iter.bind(py).clone();
            let mut sent = 0;
            loop {
                // Once the application's Content-Length is all sent, nothing more can go
                // out: what is left is only the end of the iteration.
                if chunks.is_some_and(|n| sent >= n) && !start.borrow().all_sent() {
                    return Ok(false);
                }
                let Some(item) = iter.next() else { break };
                let item = item?;
                let bytes = body_bytes(&item)?;
                if bytes.as_bytes().is_empty() {
                    continue;
                }
                start.borrow_mut().send_body(py, bytes.as_bytes())?;
                sent += 1;
            }
            start.borrow_mut().finish(py)?;
            Ok(true)
        })();
        match outcome {
            Ok(false) => return Some(self),
            Ok(true) => {}
            Err(e) => {
                if start.borrow().gone {
                    self.log.write(
                        "info",
                        Some(&self.client.to_string()),
                        &[&format!(
                            "mod_wsgi (pid={}): el cliente cerró la conexión antes de recibir toda la respuesta de '{}'.",
                            std::process::id(),
                            self.script.display()
                        )],
                    );
                } else {
                    self.traceback(py, &e);
                    finish_failed(
                        py,
                        &start,
                        if self.daemon { After::End } else { After::Cut },
                    );
                }
            }
        }
        self.close(py);
        None
    }

    /// The client went away before the response ended: `close()` all the same (PEP 3333).
    pub fn abandon(self, py: Python<'_>) {
        self.start.bind(py).borrow_mut().gone = true;
        self.close(py);
    }

    /// PEP 3333: close() is called whatever happened; an error there is only logged (the
    /// response was already complete).
    fn close(&self, py: Python<'_>) {
        let result = self.result.bind(py);
        // A list or tuple has no close() (and looking it up would raise and format an
        // AttributeError for every request).
        if result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>() {
            return;
        }
        if let Ok(close) = result.getattr("close") {
            if let Err(e) = close.call0() {
                self.traceback(py, &e);
            }
        }
    }

    fn traceback(&self, py: Python<'_>, e: &PyErr) {
        let mut lines = vec![format!(
            "mod_wsgi (pid={}): Exception occurred processing WSGI script '{}'.",
            std::process::id(),
            self.script.display()
        )];
        lines.extend(format_exception(py, e));
        if let Some(hint) = rule_hint(e, py) {
            lines.push(format!("(laboratorio) {hint}"));
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.log
            .write("error", Some(&self.client.to_string()), &refs);
    }
}

/// How a response whose head was already sent ends after an error.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Cut short: the client sees a truncated response (embedded mode, error in the body).
    Cut,
    /// Apache's error page appended, then the normal end (embedded, error in the call).
    Page,
    /// The normal end (daemon mode: the worker's output just stops).
    End,
}

/// After an error: a 500 when nothing was sent yet; otherwise as `after` says.
fn finish_failed(py: Python<'_>, start: &Bound<'_, StartResponse>, after: After) {
    let mut s = start.borrow_mut();
    if s.done {
        return;
    }
    if !s.sent {
        s.sent = true;
        s.done = true;
        let _ = s.send(py, Out::Failed(500));
        return;
    }
    match after {
        After::Cut => {}
        After::Page => {
            let page = super::host::error_html(500);
            let _ = s.send(py, Out::Body(Bytes::from(page)));
            s.done = true;
            let _ = s.send(py, Out::End);
        }
        After::End => {
            s.done = true;
            let _ = s.send(py, Out::End);
        }
    }
}

/// For `wsgi.file_wrapper` over a real file, the bytes left from its position: mod_wsgi
/// sends those with a `Content-Length` when the application set none.
fn file_size_left(py: Python<'_>, result: &Bound<'_, PyAny>) -> Option<u64> {
    let wrapper = result.cast::<FileWrapper>().ok()?;
    let file = wrapper.borrow().filelike.clone_ref(py);
    let file = file.bind(py);
    let fd = file.call_method0("fileno").ok()?;
    let size: u64 = py
        .import("os")
        .ok()?
        .call_method1("fstat", (fd,))
        .ok()?
        .getattr("st_size")
        .ok()?
        .extract()
        .ok()?;
    let pos: u64 = file.call_method0("tell").ok()?.extract().ok()?;
    Some(size.saturating_sub(pos))
}

/// What can be sent before iterating: `wsgi.file_wrapper`'s size as `Content-Length`, and a
/// one-element list or tuple as the whole response in one message (true: sent, done).
fn iterate_whole(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    start: &Bound<'_, StartResponse>,
) -> PyResult<bool> {
    if let Some(n) = file_size_left(py, result) {
        let mut s = start.borrow_mut();
        let sent = s.sent;
        if let Some(head) = s.head.as_mut().filter(|_| !sent) {
            if !head
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                head.headers
                    .push(("Content-Length".into(), Bytes::from(n.to_string())));
            }
        }
    }
    // A one-element list or tuple: the whole body is known, send it in one message.
    if let Ok(seq) = result
        .cast::<PyList>()
        .map(|l| l.as_sequence().clone())
        .or_else(|_| result.cast::<PyTuple>().map(|t| t.as_sequence().clone()))
    {
        if seq.len()? == 1 {
            let item = seq.get_item(0)?;
            let bytes = body_bytes(&item)?;
            start.borrow_mut().send_whole(py, bytes.as_bytes())?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn body_bytes<'a, 'py>(item: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyBytes>> {
    item.cast::<PyBytes>().map_err(|_| {
        PyTypeError::new_err(format!(
            "sequence of byte string values expected, value of type {} found",
            type_name(item)
        ))
    })
}

/// The keys every request's `environ` has, in the order they are set: the template dict
/// holds them all (with `None`) so a request's dict is a copy of it, already the size it
/// needs, whose keys are interned strings with their hashes computed once.
const ALWAYS: &[&str] = &[
    "GATEWAY_INTERFACE",
    "SERVER_SOFTWARE",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_ADDR",
    "SERVER_PROTOCOL",
    "REQUEST_SCHEME",
    "REQUEST_METHOD",
    "REQUEST_URI",
    "SCRIPT_NAME",
    "mod_wsgi.script_name",
    "PATH_INFO",
    "mod_wsgi.path_info",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SCRIPT_FILENAME",
    "mod_wsgi.process_group",
    "mod_wsgi.application_group",
    "mod_wsgi.callable_object",
    "mod_wsgi.script_reloading",
    "wsgi.url_scheme",
    "wsgi.input",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
];

/// Other keys frequent enough to keep interned (the rest are made per request).
const FREQUENT: &[&str] = &[
    "DOCUMENT_ROOT",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "HTTPS",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_CONNECTION",
    "HTTP_COOKIE",
    "HTTP_REFERER",
    "HTTP_CACHE_CONTROL",
    "HTTP_PRAGMA",
    "HTTP_ORIGIN",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_UPGRADE_INSECURE_REQUESTS",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_SEC_FETCH_DEST",
    "HTTP_SEC_FETCH_MODE",
    "HTTP_SEC_FETCH_SITE",
    "HTTP_SEC_FETCH_USER",
];

/// Values that are the same on most requests, kept interned.
const COMMON_VALUES: &[&str] = &[
    "CGI/1.1", "HTTP/1.1", "HTTP/1.0", "http", "GET", "POST", "HEAD", "", "0", "1",
];

/// The constant part of every `environ`, built once per process.
struct EnvironTemplate {
    /// `ALWAYS` (set to `None`) then the constant `wsgi.*` and `mod_wsgi.version` entries.
    dict: Py<PyDict>,
    always: Vec<Py<PyString>>,
    frequent: Vec<Py<PyString>>,
    values: Vec<Py<PyString>>,
}

static TEMPLATE: pyo3::sync::PyOnceLock<EnvironTemplate> = pyo3::sync::PyOnceLock::new();

impl EnvironTemplate {
    fn get(py: Python<'_>) -> PyResult<&EnvironTemplate> {
        TEMPLATE.get_or_try_init(py, || {
            let intern = |names: &[&str]| -> Vec<Py<PyString>> {
                names
                    .iter()
                    .map(|k| PyString::intern(py, k).unbind())
                    .collect()
            };
            let always = intern(ALWAYS);
            let d = PyDict::new(py);
            for k in &always {
                d.set_item(k.bind(py), py.None())?;
            }
            d.set_item(pyo3::intern!(py, "wsgi.version"), (1, 0))?;
            d.set_item(pyo3::intern!(py, "wsgi.input_terminated"), true)?;
            d.set_item(pyo3::intern!(py, "wsgi.run_once"), false)?;
            d.set_item(
                pyo3::intern!(py, "wsgi.file_wrapper"),
                py.get_type::<FileWrapper>(),
            )?;
            // The version of Debian 12's libapache2-mod-wsgi-py3.
            d.set_item(pyo3::intern!(py, "mod_wsgi.version"), (4, 9, 4))?;
            Ok(EnvironTemplate {
                dict: d.unbind(),
                always,
                frequent: intern(FREQUENT),
                values: intern(COMMON_VALUES),
            })
        })
    }

    fn key<'py>(&self, py: Python<'py>, k: &str) -> Bound<'py, PyString> {
        FREQUENT
            .iter()
            .position(|f| *f == k)
            .map(|i| self.frequent[i].bind(py).clone())
            .unwrap_or_else(|| PyString::new(py, k))
    }

    fn value<'py>(&self, py: Python<'py>, v: &str) -> Bound<'py, PyString> {
        if v.len() <= 8 {
            if let Some(i) = COMMON_VALUES.iter().position(|c| *c == v) {
                return self.values[i].bind(py).clone();
            }
        }
        PyString::new(py, v)
    }
}

/// Where a key of `ALWAYS` is: `hint` first (the CGI variables come in that order), and
/// never for a header (`HTTP_*`, none of them is there).
fn always_index(k: &str, hint: usize) -> Option<usize> {
    if ALWAYS.get(hint) == Some(&k) {
        return Some(hint);
    }
    if k.starts_with("HTTP_") {
        return None;
    }
    ALWAYS.iter().position(|a| *a == k)
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of `name` in `ALWAYS` (checked when compiling).
const fn at(name: &str) -> usize {
    let mut i = 0;
    while i < ALWAYS.len() {
        if same(ALWAYS[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a key of ALWAYS")
}

/// Where mod_wsgi repeats a CGI variable in `environ` (`mod_wsgi.script_name`,
/// `mod_wsgi.path_info`), as an index of `ALWAYS`.
fn mirror(key: &str) -> Option<usize> {
    match key {
        "SCRIPT_NAME" => Some(const { at("mod_wsgi.script_name") }),
        "PATH_INFO" => Some(const { at("mod_wsgi.path_info") }),
        _ => None,
    }
}

/// The `environ` of a recent request served on this thread, as it was before its own
/// objects (`wsgi.input`, `wsgi.errors`) went in. A request with the same keys starts from a
/// copy of it and sets only the values that differ: from one request to the next on a
/// keep-alive connection usually none, from another connection `REMOTE_PORT`. Strings are
/// immutable, so the copies share them safely; each request still gets a dict of its own.
struct Recent {
    /// The variables of the request it was made for.
    vars: Environ,
    /// The values of the `extra` entries passed with them.
    extra: Vec<String>,
    flags: (bool, bool),
    dict: Py<PyDict>,
}

/// How many differently shaped `environ`s a thread keeps (one per application it serves,
/// usually).
const RECENT_KEPT: usize = 4;

thread_local! {
    static RECENT: std::cell::RefCell<Vec<Recent>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Recent {
    fn fits(&self, vars: &Environ, extra: &[(&str, &str)], flags: (bool, bool)) -> bool {
        self.flags == flags && self.extra.len() == extra.len() && self.vars.same_keys(vars)
    }

    /// Brings the kept dict up to this request's values (its keys are the same), and keeps
    /// `vars` for the next comparison.
    fn update(
        &mut self,
        py: Python<'_>,
        t: &EnvironTemplate,
        vars: Environ,
        extra: &[(&str, &str)],
    ) -> PyResult<()> {
        let dict = self.dict.bind(py);
        let set = |key: &str, new: &str| -> PyResult<()> {
            let value = t.value(py, new).into_any();
            match always_index(key, 0) {
                Some(at) => dict.set_item(t.always[at].bind(py), &value)?,
                None => dict.set_item(t.key(py, key), &value)?,
            }
            match mirror(key) {
                Some(at) => dict.set_item(t.always[at].bind(py), &value),
                None => Ok(()),
            }
        };
        if !self.vars.same_values(&vars) {
            for ((key, old), (_, new)) in self.vars.iter().zip(vars.iter()) {
                if old != new {
                    set(key, new)?;
                }
            }
            self.vars = vars;
        }
        for (old, (key, new)) in self.extra.iter_mut().zip(extra) {
            if old != new {
                set(key, new)?;
                old.clear();
                old.push_str(new);
            }
        }
        Ok(())
    }
}

fn build_environ<'py>(
    py: Python<'py>,
    vars: Environ,
    input: Box<dyn BodySource>,
    errors: Errors,
    extra: &[(&str, &str)],
    flags: (bool, bool),
) -> PyResult<Bound<'py, PyDict>> {
    let t = EnvironTemplate::get(py)?;
    let d = RECENT.with(|recent| -> PyResult<Bound<'py, PyDict>> {
        let mut recent = recent.borrow_mut();
        if let Some(i) = recent.iter().position(|r| r.fits(&vars, extra, flags)) {
            // Most recently used first.
            recent[..=i].rotate_right(1);
            let r = &mut recent[0];
            r.update(py, t, vars, extra)?;
            return r.dict.bind(py).copy();
        }
        let kept = first_environ(py, t, &vars, extra, flags)?;
        let d = kept.copy()?;
        if recent.len() >= RECENT_KEPT {
            recent.pop();
        }
        recent.insert(
            0,
            Recent {
                vars,
                extra: extra.iter().map(|(_, v)| v.to_string()).collect(),
                flags,
                dict: kept.unbind(),
            },
        );
        Ok(d)
    })?;
    d.set_item(
        t.always[const { at("wsgi.input") }].bind(py),
        Bound::new(
            py,
            Input {
                rx: input,
                buf: BytesMut::new(),
                eof: false,
            },
        )?,
    )?;
    d.set_item(
        t.always[const { at("wsgi.errors") }].bind(py),
        Bound::new(py, errors)?,
    )?;
    Ok(d)
}

/// An `environ` made from the template: every variable of the request, `wsgi.input` and
/// `wsgi.errors` left as `None` for the caller.
fn first_environ<'py>(
    py: Python<'py>,
    t: &EnvironTemplate,
    vars: &Environ,
    extra: &[(&str, &str)],
    (multiprocess, multithread): (bool, bool),
) -> PyResult<Bound<'py, PyDict>> {
    let d = t.dict.bind(py).copy()?;
    // Which keys of the template this request set (any left are removed at the end).
    let mut set = (1u64 << const { at("wsgi.input") }) | (1u64 << const { at("wsgi.errors") });
    let mut put_at = |d: &Bound<'py, PyDict>, i: usize, v: Bound<'py, PyAny>| -> PyResult<()> {
        set |= 1 << i;
        d.set_item(t.always[i].bind(py), v)
    };
    let mut https = false;
    let mut hint = 0;
    for (k, v) in vars.iter() {
        let value = t.value(py, v).into_any();
        match always_index(k, hint) {
            Some(i) => {
                hint = i + 1;
                put_at(&d, i, value.clone())?;
            }
            None => d.set_item(t.key(py, k), &value)?,
        }
        if let Some(at) = mirror(k) {
            put_at(&d, at, value)?;
        }
        https |= k == "HTTPS";
    }
    let mut hint = const { at("mod_wsgi.process_group") };
    for (k, v) in extra {
        let value = t.value(py, v).into_any();
        match always_index(k, hint) {
            Some(i) => {
                hint = i + 1;
                put_at(&d, i, value)?;
            }
            None => d.set_item(t.key(py, k), value)?,
        }
    }
    let scheme = if https {
        PyString::new(py, "https")
    } else {
        t.value(py, "http")
    };
    put_at(&d, const { at("wsgi.url_scheme") }, scheme.into_any())?;
    put_at(
        &d,
        const { at("wsgi.multithread") },
        pyo3::types::PyBool::new(py, multithread)
            .to_owned()
            .into_any(),
    )?;
    put_at(
        &d,
        const { at("wsgi.multiprocess") },
        pyo3::types::PyBool::new(py, multiprocess)
            .to_owned()
            .into_any(),
    )?;
    let all = (1u64 << ALWAYS.len()) - 1;
    if set != all {
        // A request without one of the usual variables: no `None` left in its place.
        for (i, k) in t.always.iter().enumerate() {
            if set & (1 << i) == 0 {
                d.del_item(k.bind(py))?;
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::Environ;

    #[test]
    fn environ_values_share_one_text_and_grow_where_they_are() {
        let mut e = Environ::with_capacity(4, 16);
        e.push("HTTP_X_A", "uno");
        e.push_with("HTTP_X_B", |t| t.push_str("dos"));
        e.push("HTTP_X_C", "tres");
        // Not the last value: copied to the end, then extended.
        e.extend_at(0, |t| t.push_str(", cuatro"));
        // The last value: extended where it is.
        e.extend_at(0, |t| t.push_str(", cinco"));
        e.extend_at(9, |t| t.push_str("nunca"));
        let all: Vec<(&str, &str)> = e.iter().collect();
        assert_eq!(
            all,
            [
                ("HTTP_X_A", "uno, cuatro, cinco"),
                ("HTTP_X_B", "dos"),
                ("HTTP_X_C", "tres"),
            ]
        );
        assert_eq!(e.get("HTTP_X_C"), Some("tres"));
        assert_eq!(e.get("HTTP_X_D"), None);
        let mut same = Environ::default();
        for (k, v) in &all {
            same.push(k.to_string(), v);
        }
        assert!(same.same_keys(&e));
        // The same values laid out otherwise: the quick check says no, and the caller then
        // compares value by value.
        assert!(!same.same_values(&e));
        assert!(same.same_values(&same.clone()));
        same.push("HTTP_X_D", "");
        assert!(!same.same_keys(&e));
    }
}
