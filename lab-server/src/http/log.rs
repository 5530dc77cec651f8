//! Logs written like Apache's: access logs in a `LogFormat` (Debian's `combined` by
//! default) and the error log with Apache 2.4's line shape
//! (`[Tue Dec 01 07:37:09.123456 2026] [core:info] [pid 12:tid 34] [client 127.0.0.1:5] ...`).
//!
//! As in Apache, a line reaches the file when its request ends (`curl ... && tail -1
//! access.log` shows it), and the error log is never held back. An access log line is
//! written before the thread that served its request next waits for the network, together
//! with the lines of the other requests that thread finished meanwhile: one `write` for all
//! of them under load, microseconds after the answer went out when idle, and always before
//! the server closes the connection. Only with `BufferedLogs On` do access log lines wait in
//! an in-memory buffer per file until it fills or a flusher task runs (every
//! [`FLUSH_EVERY`]). Times are local, with the server's offset, like Apache's.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IoSlice, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// How often buffered log lines are written out.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
const FLUSH_AT: usize = 64 * 1024;

/// One log file, opened in append mode, shared by every snapshot that names it.
#[derive(Debug)]
pub struct LogFile {
    /// Each line goes out in one `write` of its own, which `O_APPEND` keeps whole and in
    /// one piece beside the other threads' lines: no lock is held across the system call.
    file: std::fs::File,
    /// Lines held back (`BufferedLogs On`).
    buf: Mutex<Vec<u8>>,
    /// Lines to write before the runtime next waits ([`LogFile::line_soon`]).
    soon: Mutex<Vec<u8>>,
    /// Held while `soon`'s lines are taken and written, so they reach the file in order.
    writing: Mutex<()>,
    /// In [`SOON_FILES`] already.
    registered: std::sync::atomic::AtomicBool,
}

/// How many files have lines waiting for soon ([`LogFile::line_soon`]).
static WAITING_FILES: AtomicUsize = AtomicUsize::new(0);
/// Every file that had lines for soon.
static SOON_FILES: Mutex<Vec<std::sync::Weak<LogFile>>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread runs [`on_park`] before it waits for events: its lines for soon need no
    /// task of their own.
    static PARK_WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Lines for soon held past this many bytes are written at once (a thread that never runs
/// out of work does not hold them for long).
const SOON_MAX: usize = 32 * 1024;

/// For `tokio::runtime::Builder::on_thread_park`: a thread of a serving runtime that has no
/// task left to run writes every line waiting for soon before it waits for events. The
/// lines of the requests it finished in the meantime go out in one `write`, and no task is
/// spawned (or another thread woken) for them.
pub fn on_park() {
    PARK_WRITES.with(|p| p.set(true));
    flush_waiting();
}

/// Writes every line waiting for soon, in every file: before the server closes a
/// connection, and from the watcher of the threads that run Python applications when one
/// stays in an application (it would keep the lines of the requests it answered before
/// waiting). A single load when nothing waits.
pub fn flush_waiting() {
    if WAITING_FILES.load(Ordering::SeqCst) == 0 {
        return;
    }
    let files: Vec<Arc<LogFile>> = SOON_FILES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(std::sync::Weak::upgrade)
        .collect();
    for f in files {
        f.flush_soon();
    }
}

impl LogFile {
    fn open(path: &Path) -> std::io::Result<LogFile> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(LogFile {
            file,
            buf: Mutex::new(Vec::new()),
            soon: Mutex::new(Vec::new()),
            writing: Mutex::new(()),
            registered: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.buf.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one line (a newline is added).
    pub fn line(&self, text: &str) {
        let mut buf = self.held();
        if buf.capacity() == 0 {
            buf.reserve(FLUSH_AT);
        }
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            self.write_out(&mut buf);
        }
    }

    /// Appends one line and writes it out at once, after anything buffered before it.
    pub fn line_now(&self, text: &str) {
        {
            let mut buf = self.held();
            if !buf.is_empty() {
                buf.extend_from_slice(text.as_bytes());
                buf.push(b'\n');
                self.write_out(&mut buf);
                return;
            }
        }
        let mut f = &self.file;
        let line = [IoSlice::new(text.as_bytes()), IoSlice::new(b"\n")];
        // A failing disk must not take the server down; the line is dropped.
        match f.write_vectored(&line) {
            Ok(n) if n > text.len() => {}
            Ok(n) => {
                let _ = f.write_all(&text.as_bytes()[n..]);
                let _ = f.write_all(b"\n");
            }
            Err(_) => {}
        }
    }

    /// Appends one line to be written once the tasks ready on this runtime thread have run
    /// (`BufferedLogs Off`): the lines of the requests that end meanwhile go out in the same
    /// `write`. On a thread with [`on_park`], when it next runs out of tasks; on another
    /// runtime's thread, from a task queued behind the ready ones; outside a runtime, at once.
    pub fn line_soon(self: &Arc<Self>, text: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.line_now(text);
        };
        let (first, full) = {
            let mut soon = self.soon.lock().unwrap_or_else(|p| p.into_inner());
            let first = soon.is_empty();
            if first {
                WAITING_FILES.fetch_add(1, Ordering::SeqCst);
            }
            soon.extend_from_slice(text.as_bytes());
            soon.push(b'\n');
            (first, soon.len() >= SOON_MAX)
        };
        if full {
            self.flush_soon();
            return;
        }
        if first {
            self.register();
            if PARK_WRITES.with(std::cell::Cell::get) {
                return;
            }
            // Dropped unrun (the runtime shutting down) it still writes the lines.
            let guard = SoonFlush(Arc::clone(self));
            runtime.spawn(async move {
                // Behind every task already woken on this thread.
                tokio::task::yield_now().await;
                drop(guard);
            });
        }
    }

    fn flush_soon(&self) {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = {
            let mut soon = self.soon.lock().unwrap_or_else(|p| p.into_inner());
            if !soon.is_empty() {
                WAITING_FILES.fetch_sub(1, Ordering::SeqCst);
            }
            std::mem::take(&mut *soon)
        };
        self.write_out(&mut lines);
    }

    /// Known to [`flush_waiting`] from its first line for soon on.
    fn register(self: &Arc<Self>) {
        if self.registered.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut all = SOON_FILES.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|f| f.strong_count() > 0);
        all.push(Arc::downgrade(self));
    }

    pub fn flush(&self) {
        self.flush_soon();
        let mut buf = self.held();
        self.write_out(&mut buf);
    }

    fn write_out(&self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        // A failing disk must not take the server down; the lines are dropped.
        let _ = (&self.file).write_all(buf);
        buf.clear();
    }
}

/// Writes a file's [`LogFile::line_soon`] lines when dropped.
struct SoonFlush(Arc<LogFile>);

impl Drop for SoonFlush {
    fn drop(&mut self) {
        self.0.flush_soon();
    }
}

/// Every log file open by the HTTP role, by path, kept across reloads so two snapshots never
/// write the same file through two handles.
#[derive(Debug, Default)]
pub struct LogFiles {
    files: Mutex<HashMap<PathBuf, Arc<LogFile>>>,
}

impl LogFiles {
    /// The log at `path`, opened the first time.
    pub fn get(&self, path: &Path) -> std::io::Result<Arc<LogFile>> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.get(path) {
            return Ok(Arc::clone(f));
        }
        let f = Arc::new(LogFile::open(path)?);
        files.insert(path.to_path_buf(), Arc::clone(&f));
        Ok(f)
    }

    pub fn flush_all(&self) {
        let files: Vec<Arc<LogFile>> = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for f in files {
            f.flush();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Access log formats

/// A compiled `LogFormat` string.
#[derive(Debug, Clone)]
pub struct AccessFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    /// `%x` or `%{arg}x`; `final_status` for `%>s`.
    Field {
        code: char,
        arg: Option<String>,
        /// The header `%{Name}i` or `%{Name}o` prints, parsed once.
        header: Option<http::HeaderName>,
    },
}

/// Everything a format can print about a finished request.
pub struct Entry<'a> {
    /// The client (`%a`): the connection's peer, or the address mod_remoteip found.
    pub client: SocketAddr,
    /// The connection's peer (`%{c}a`).
    pub peer: SocketAddr,
    /// The client's name from a `host` access rule's double lookup (`%h` prefers it).
    pub remote_host: Option<&'a str>,
    pub local: SocketAddr,
    /// Port as written in `Listen` (`%p`).
    pub port: u16,
    pub started: SystemTime,
    pub duration: Duration,
    pub method: &'a str,
    /// The target as received (`/x?y`).
    pub target: &'a str,
    /// `HTTP/1.1`; empty for an HTTP/0.9 request.
    pub protocol: &'a str,
    /// The request line as received when it could not be parsed (`%r` shows it).
    pub request_line: Option<&'a str>,
    pub status: u16,
    pub body_bytes: u64,
    pub header_bytes: u64,
    pub request_bytes: u64,
    pub request_headers: &'a HeaderMap,
    pub response_headers: &'a HeaderMap,
    pub server_name: &'a str,
    pub host_header: Option<&'a str>,
    pub url_path: &'a str,
    pub file: Option<&'a Path>,
    pub env: &'a HashMap<String, String>,
    pub keepalive_requests: u64,
}

impl AccessFormat {
    pub fn compile(format: &str) -> AccessFormat {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            // Modifiers: status conditions (`!200,304`), `<` and `>`.
            let mut arg = None;
            while let Some(&m) = chars.peek() {
                if m == '!' || m == ',' || m == '<' || m == '>' || m.is_ascii_digit() {
                    chars.next();
                } else {
                    break;
                }
            }
            if chars.peek() == Some(&'{') {
                chars.next();
                let mut a = String::new();
                for ch in chars.by_ref() {
                    if ch == '}' {
                        break;
                    }
                    a.push(ch);
                }
                arg = Some(a);
            }
            match chars.next() {
                Some('%') => text.push('%'),
                Some(code) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    let header = match code {
                        'i' | 'o' => arg
                            .as_deref()
                            .and_then(|a| http::HeaderName::from_bytes(a.as_bytes()).ok()),
                        _ => None,
                    };
                    pieces.push(Piece::Field { code, arg, header });
                }
                None => text.push('%'),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        AccessFormat { pieces }
    }

    pub fn render(&self, e: &Entry<'_>) -> String {
        let mut out = String::with_capacity(160);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { code, arg, header } => {
                    field(&mut out, *code, arg.as_deref(), header.as_ref(), e)
                }
            }
        }
        out
    }

    /// The line for an answer whose body is still going out: everything but the byte counts
    /// and the time taken (`%b %B %O %I %S %D %T`), which Apache logs once the last byte is
    /// sent and which [`Pending::finish`] fills in then.
    pub fn render_pending(&self, e: &Entry<'_>) -> Pending {
        let mut parts = Vec::new();
        let mut text = String::with_capacity(160);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => text.push_str(t),
                Piece::Field { code, arg, .. } if is_late(*code) => {
                    parts.push(Piece::Text(std::mem::take(&mut text)));
                    parts.push(Piece::Field {
                        code: *code,
                        arg: arg.clone(),
                        header: None,
                    });
                }
                Piece::Field { code, arg, header } => {
                    field(&mut text, *code, arg.as_deref(), header.as_ref(), e)
                }
            }
        }
        parts.push(Piece::Text(text));
        Pending { parts }
    }
}

/// The directives known only when the answer has gone out.
fn is_late(code: char) -> bool {
    matches!(code, 'b' | 'B' | 'O' | 'I' | 'S' | 'D' | 'T')
}

/// What an access log line needs from the end of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    /// The body as the handler produced it (`%B`).
    pub body_bytes: u64,
    /// Everything written to the connection for the answer (`%O`).
    pub out_bytes: u64,
    /// Everything read from the connection for the request (`%I`).
    pub in_bytes: u64,
    pub duration: Duration,
}

/// A line rendered but for its [late](is_late) directives.
#[derive(Debug)]
pub struct Pending {
    parts: Vec<Piece>,
}

impl Pending {
    pub fn finish(&self, sent: &Sent) -> String {
        let mut out = String::with_capacity(160);
        for p in &self.parts {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { code, arg, .. } => {
                    late_field(&mut out, *code, arg.as_deref(), sent);
                }
            }
        }
        out
    }
}

fn late_field(out: &mut String, code: char, arg: Option<&str>, s: &Sent) {
    match code {
        'b' => {
            if s.body_bytes == 0 {
                out.push('-');
            } else {
                push_u64(out, s.body_bytes);
            }
        }
        'B' => push_u64(out, s.body_bytes),
        'O' => push_u64(out, s.out_bytes),
        'I' => push_u64(out, s.in_bytes),
        'S' => push_u64(out, s.in_bytes + s.out_bytes),
        'D' => push_u64(out, s.duration.as_micros() as u64),
        'T' => push_u64(
            out,
            match arg {
                Some("ms") => s.duration.as_millis() as u64,
                Some("us") => s.duration.as_micros() as u64,
                _ => s.duration.as_secs(),
            },
        ),
        _ => out.push('-'),
    }
}

fn dash_or(out: &mut String, v: Option<&str>) {
    match v {
        Some(v) if !v.is_empty() => escape_into(out, v),
        _ => out.push('-'),
    }
}

/// Apache escapes quotes, backslashes and control characters in logged strings.
/// Apache's `ap_escape_logitem`: quotes and backslashes escaped, the usual control
/// characters as `\n`, `\t`..., every other byte that is not printable ASCII as `\xhh`.
fn escape_into(out: &mut String, v: &str) {
    // Most logged strings need no escape at all.
    if v.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
}

/// Appends `n` in decimal, as `write!(out, "{n}")` does, without the formatting machinery.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    let (buf, i) = crate::util::decimal(n);
    push_ascii(out, &buf[i..]);
}

/// Appends digits and dots: checked as ASCII (a short loop) instead of validated as UTF-8,
/// which costs more than the formatting for a few bytes.
#[allow(unsafe_code)]
fn push_ascii(out: &mut String, bytes: &[u8]) {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8 on their own, so the string stays valid UTF-8.
        unsafe { out.as_mut_vec().extend_from_slice(bytes) }
    } else {
        out.push_str(&String::from_utf8_lossy(bytes));
    }
}

/// Appends an address as its `Display` writes it (an IPv4 one without the formatting
/// machinery).
pub(crate) fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    buf[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    buf[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + octet % 10;
                n += 1;
            }
            push_ascii(out, &buf[..n]);
        }
        std::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn field(
    out: &mut String,
    code: char,
    arg: Option<&str>,
    header: Option<&http::HeaderName>,
    e: &Entry<'_>,
) {
    match code {
        // `%{c}a`, `%{c}h`: the connection's peer, not the client mod_remoteip found.
        'h' | 'a' if arg == Some("c") => {
            let _ = write!(out, "{}", e.peer.ip().to_canonical());
        }
        'h' if e.remote_host.is_some_and(|n| !n.is_empty()) => {
            out.push_str(e.remote_host.unwrap_or_default());
        }
        'h' | 'a' => push_ip(out, e.client.ip().to_canonical()),
        'A' => push_ip(out, e.local.ip().to_canonical()),
        'l' | 'u' => out.push('-'),
        't' => {
            out.push('[');
            clf_time_cached(out, e.started);
            out.push(']');
        }
        'r' => match e.request_line {
            Some(raw) => escape_into(out, raw),
            None => {
                escape_into(out, e.method);
                out.push(' ');
                escape_into(out, e.target);
                if !e.protocol.is_empty() {
                    out.push(' ');
                    escape_into(out, e.protocol);
                }
            }
        },
        's' => push_u64(out, u64::from(e.status)),
        'b' | 'B' | 'O' | 'I' | 'S' | 'D' | 'T' => late_field(
            out,
            code,
            arg,
            &Sent {
                body_bytes: e.body_bytes,
                out_bytes: e.body_bytes + e.header_bytes,
                in_bytes: e.request_bytes,
                duration: e.duration,
            },
        ),
        'i' => dash_or(
            out,
            header
                .and_then(|h| e.request_headers.get(h))
                .and_then(|v| v.to_str().ok()),
        ),
        'o' => dash_or(
            out,
            header
                .and_then(|h| e.response_headers.get(h))
                .and_then(|v| v.to_str().ok()),
        ),
        'e' => dash_or(out, arg.and_then(|k| e.env.get(k)).map(String::as_str)),
        'v' => out.push_str(e.server_name),
        'V' => out.push_str(
            &e.host_header
                .map(super::vhost::host_name)
                .unwrap_or_else(|| e.server_name.to_string()),
        ),
        'U' => escape_into(out, e.url_path),
        'q' => {
            if let Some((_, q)) = e.target.split_once('?') {
                out.push('?');
                escape_into(out, q);
            }
        }
        'm' => out.push_str(e.method),
        'H' => out.push_str(e.protocol),
        // `%{remote}p` is the client's port; `%p`, `%{canonical}p` and `%{local}p` the port
        // the student wrote in `Listen` (the lab may really listen on a mapped one).
        'p' => {
            let port = match arg {
                Some(a) if a.eq_ignore_ascii_case("remote") => e.client.port(),
                _ => e.port,
            };
            push_u64(out, u64::from(port));
        }
        'P' => push_u64(out, u64::from(std::process::id())),
        'f' => dash_or(out, e.file.and_then(|f| f.to_str())),
        'k' => push_u64(out, e.keepalive_requests),
        'X' => out.push('+'),
        'L' => out.push('-'),
        _ => out.push('-'),
    }
}

// ---------------------------------------------------------------------------------------------
// Time formats: local time with the server's offset (`TZ`, else /etc/localtime), as Apache

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

struct Parts {
    y: i64,
    mon: &'static str,
    d: u32,
    wday: &'static str,
    h: u32,
    min: u32,
    s: u32,
    micros: u32,
    /// Seconds east of UTC.
    offset: i64,
}

/// `localtime_r(3)`: the broken-down local time and its UTC offset (`tm_gmtoff`). A zeroed
/// `tm` (day 0) when the time cannot be converted.
#[allow(unsafe_code)]
fn local_tm(secs: libc::time_t) -> libc::tm {
    // SAFETY: `tm` is plain data, so all zeroes is a valid value; `localtime_r` reads `secs`
    // and writes only the `tm` it is given, and is thread-safe.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return std::mem::zeroed();
        }
        tm
    }
}

fn parts(t: SystemTime) -> Parts {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as libc::time_t;
    let mut tm = local_tm(secs);
    if tm.tm_mday == 0 {
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    Parts {
        y: i64::from(tm.tm_year) + 1900,
        mon: MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        d: tm.tm_mday.max(1) as u32,
        wday: DAYS[tm.tm_wday.clamp(0, 6) as usize],
        h: tm.tm_hour.max(0) as u32,
        min: tm.tm_min.max(0) as u32,
        s: tm.tm_sec.max(0) as u32,
        micros: since.subsec_micros(),
        offset: tm.tm_gmtoff,
    }
}

/// `01/Dec/2026:07:37:09 +0000`, the `%t` of access logs.
pub fn clf_time(t: SystemTime) -> String {
    let p = parts(t);
    let sign = if p.offset < 0 { '-' } else { '+' };
    let off = p.offset.abs() / 60;
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} {sign}{:02}{:02}",
        p.d,
        p.mon,
        p.y,
        p.h,
        p.min,
        p.s,
        off / 60,
        off % 60
    )
}

/// [`clf_time`] appended to `out`, formatted once per second and thread: `%t` has no
/// finer resolution, and every request of that second writes the same text.
fn clf_time_cached(out: &mut String, t: SystemTime) {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> = const {
            std::cell::RefCell::new((u64::MAX, String::new()))
        };
    }
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LAST.with(|last| match last.try_borrow_mut() {
        Ok(mut last) => {
            if last.0 != secs {
                *last = (secs, clf_time(t));
            }
            out.push_str(&last.1);
        }
        Err(_) => out.push_str(&clf_time(t)),
    });
}

/// `Tue Dec 01 07:37:09.123456 2026`, the time of error log lines.
pub fn error_time(t: SystemTime) -> String {
    let p = parts(t);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:06} {}",
        p.wday, p.mon, p.d, p.h, p.min, p.s, p.micros, p.y
    )
}

// ---------------------------------------------------------------------------------------------
// Error log

/// Apache's log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The level of a `LogLevel` value (`warn`, `info ssl:warn`, `trace3`...): its first word.
    pub fn parse(text: &str) -> Level {
        let first = text.split_whitespace().next().unwrap_or("warn");
        let first = first.rsplit(':').next().unwrap_or(first);
        match first.to_ascii_lowercase().as_str() {
            "emerg" => Level::Emerg,
            "alert" => Level::Alert,
            "crit" => Level::Crit,
            "error" => Level::Error,
            "notice" => Level::Notice,
            "info" => Level::Info,
            l if l == "debug" || l.starts_with("trace") => Level::Debug,
            _ => Level::Warn,
        }
    }
}

/// An error log with its `LogLevel`.
#[derive(Debug, Clone)]
pub struct ErrorLog {
    pub file: Arc<LogFile>,
    pub level: Level,
}

impl ErrorLog {
    /// Writes `[time] [module:level] [pid N:tid N] [client ip:port] message` when `level` is
    /// enabled. `notice` is always written, as in Apache.
    pub fn log(&self, module: &str, level: Level, client: Option<SocketAddr>, message: &str) {
        if level > self.level && level != Level::Notice {
            return;
        }
        let mut line = format!(
            "[{}] [{module}:{}] [pid {}:tid {}]",
            error_time(SystemTime::now()),
            level.name(),
            std::process::id(),
            thread_number()
        );
        if let Some(c) = client {
            let _ = write!(line, " [client {}:{}]", c.ip().to_canonical(), c.port());
        }
        line.push(' ');
        line.push_str(message);
        self.file.line_now(&line);
    }
}

fn thread_number() -> u64 {
    // Stable per thread and readable; not the kernel's tid.
    thread_local!(static ID: u64 = {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    });
    ID.with(|id| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_log(name: &str) -> (PathBuf, Arc<LogFile>) {
        let dir = std::env::temp_dir().join(format!("lab-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("access.log");
        let file = Arc::new(LogFile::open(&path).expect("log"));
        (path, file)
    }

    #[test]
    fn lines_for_soon_reach_the_file_in_order_once_the_ready_tasks_ran() {
        let (path, file) = scratch_log("soon");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            file.line_soon("uno");
            file.line_soon("dos");
            // The other lines of this tick wait with them.
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
            file.line_now("tres (error log, at once)");
            file.line_soon("cuatro");
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        });
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "tres (error log, at once)\nuno\ndos\ncuatro\n"
        );
        // A runtime that stops before the writing task ran still writes its lines.
        rt.block_on(async { file.line_soon("cinco") });
        drop(rt);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("cuatro\ncinco\n"));
        // A thread about to run something long writes them first.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            file.line_soon("cinco y medio");
            flush_waiting();
            assert!(std::fs::read_to_string(&path)
                .unwrap()
                .ends_with("cinco\ncinco y medio\n"));
        });
        drop(rt);
        // Outside a runtime: at once.
        file.line_soon("seis");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("cinco y medio\nseis\n"));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_thread_that_writes_on_park_sends_its_lines_when_it_runs_out_of_work() {
        let (path, file) = scratch_log("park");
        let rt = tokio::runtime::Builder::new_current_thread()
            .on_thread_park(on_park)
            .enable_time()
            .build()
            .expect("runtime");
        let read = || std::fs::read_to_string(&path).unwrap();
        rt.block_on(async {
            // Once it has waited for events, the thread writes its lines then.
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(PARK_WRITES.with(std::cell::Cell::get));
            file.line_soon("uno");
            tokio::task::yield_now().await;
            file.line_soon("dos");
            assert_eq!(read(), "", "no task writes them");
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert_eq!(read(), "uno\ndos\n");
            // Past the limit, at once.
            let long = "x".repeat(SOON_MAX);
            file.line_soon(&long);
            assert_eq!(read().len(), "uno\ndos\n".len() + long.len() + 1);
            file.line_soon("tres");
        });
        // A runtime that stops with lines waiting: the file's own flush writes them.
        drop(rt);
        file.flush();
        assert!(read().ends_with("x\ntres\n"));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn addresses_and_numbers_print_as_display_does() {
        for a in [0u8, 1, 9, 10, 42, 99, 100, 101, 199, 200, 255] {
            for b in [0u8, 7, 10, 100, 255] {
                let ip = std::net::IpAddr::from([a, b, 255 - b, a / 2]);
                let mut out = String::from("x");
                push_ip(&mut out, ip);
                assert_eq!(out, format!("x{ip}"));
            }
        }
        let v6: std::net::IpAddr = "2001:db8::1".parse().expect("v6");
        let mut out = String::new();
        push_ip(&mut out, v6);
        assert_eq!(out, "2001:db8::1");
        for n in [0u64, 9, 10, 12_345, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    /// What the local offset of `secs` prints as (`+0100`).
    fn offset_text(secs: u64) -> String {
        let off = local_tm(secs as libc::time_t).tm_gmtoff;
        let sign = if off < 0 { '-' } else { '+' };
        format!("{sign}{:02}{:02}", off.abs() / 3600, off.abs() / 60 % 60)
    }

    #[test]
    fn times_have_apache_shapes_in_local_time() {
        let secs = 20_788 * 86_400 + 7 * 3600 + 37 * 60 + 9;
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let clf = clf_time(t);
        let shape = regex::Regex::new(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$")
            .expect("regex");
        assert!(shape.is_match(&clf), "{clf}");
        assert!(clf.ends_with(&offset_text(secs)), "{clf}");
        let err = error_time(t);
        let shape =
            regex::Regex::new(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.000000 \d{4}$")
                .expect("regex");
        assert!(shape.is_match(&err), "{err}");
        if offset_text(secs) == "+0000" {
            assert_eq!(clf, "01/Dec/2026:07:37:09 +0000");
            assert_eq!(err, "Tue Dec 01 07:37:09.000000 2026");
        }
    }

    #[test]
    fn combined_format_renders_like_apache() {
        let f = AccessFormat::compile(crate::config::build::COMBINED);
        let mut req = HeaderMap::new();
        req.insert("user-agent", "curl/8 \"raro\"".parse().unwrap());
        let resp = HeaderMap::new();
        let env = HashMap::new();
        let e = Entry {
            client: "127.0.0.1:5000".parse().unwrap(),
            peer: "127.0.0.1:5000".parse().unwrap(),
            remote_host: None,
            local: "127.0.0.1:80".parse().unwrap(),
            port: 80,
            started: UNIX_EPOCH,
            duration: Duration::from_millis(3),
            method: "GET",
            target: "/a?b=1",
            protocol: "HTTP/1.1",
            request_line: None,
            status: 200,
            body_bytes: 10,
            header_bytes: 100,
            request_bytes: 50,
            request_headers: &req,
            response_headers: &resp,
            server_name: "localhost",
            host_header: Some("localhost"),
            url_path: "/a",
            file: None,
            env: &env,
            keepalive_requests: 0,
        };
        assert_eq!(
            f.render(&e),
            format!(
                "127.0.0.1 - - [{}] \"GET /a?b=1 HTTP/1.1\" 200 110 \"-\" \"curl/8 \\\"raro\\\"\"",
                clf_time(UNIX_EPOCH)
            )
        );
        assert_eq!(
            AccessFormat::compile("%>s %D %q %%").render(&e),
            "200 3000 ?b=1 %"
        );
        assert_eq!(
            AccessFormat::compile("%p %{remote}p %{local}p %{canonical}p").render(&e),
            "80 5000 80 80"
        );
    }
}
