//! The load generator behind `lab bench`: a fixed number of HTTP/1.1 keep-alive connections
//! on the caller's tokio runtime, each sending one request at a time (like `ab -k` and
//! `wrk`), with every latency recorded in an HDR histogram.
//!
//! The client is deliberately small: the request is serialized once, responses are framed
//! with `httparse` and `Content-Length` / chunked / close-delimited bodies, and nothing is
//! allocated per request. A load generator that spends more CPU than the server measures
//! itself, not the server (on a shared machine the two compete for the same cores).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head accepted (a longer one is a failed request).
const MAX_HEAD: usize = 64 * 1024;
/// Highest latency the histogram keeps exactly (longer ones are clamped): 10 minutes in µs.
const MAX_LATENCY_US: u64 = 600_000_000;

/// Where requests go, parsed from `http://host[:port]/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Path and query, as sent in the request line.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(
                "`lab bench` no habla HTTPS (el laboratorio tampoco lo sirve): usa una URL http://"
                    .into(),
            );
        } else {
            return Err(format!(
                "`{url}` no es una URL: escribe algo como http://localhost:10080/"
            ));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("`{url}` no tiene un nombre de máquina válido"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !h.ends_with(':') => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(format!("el puerto `{p}` de `{url}` no es válido")),
                Ok(p) => (h.to_string(), p),
            },
            _ => (authority.to_string(), 80),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "la ruta de `{url}` tiene espacios o caracteres de control: codifícalos (%20)"
            ));
        }
        Ok(Target { host, port, path })
    }

    /// The `Host` header a browser would send.
    pub fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.host_header(), self.path)
    }

    /// The address to connect to: names under `.localhost` are loopback (as in browsers),
    /// anything else goes through the system resolver once.
    pub async fn resolve(&self) -> Result<SocketAddr, String> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let lower = host.to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        tokio::net::lookup_host((host, self.port))
            .await
            .map_err(|e| format!("no se pudo resolver `{host}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{host}` no tiene ninguna dirección"))
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After exactly this many requests (`-n`).
    Requests(u64),
    /// After this long (`-d`); requests in flight then still finish and count.
    Duration(Duration),
}

/// What to send and how hard.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub connections: usize,
    pub stop: Stop,
    /// Extra headers (`-H 'Name: value'`); a `Host` here replaces the URL's.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout (a request slower than this fails and its connection is closed).
    pub timeout: Duration,
}

impl Plan {
    /// The request, serialized once.
    fn request_bytes(&self) -> Vec<u8> {
        let mut r = format!("GET {} HTTP/1.1\r\n", self.target.path);
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("host") {
            r.push_str(&format!("Host: {}\r\n", self.target.host_header()));
        }
        if !has("user-agent") {
            r.push_str(concat!(
                "User-Agent: lab-bench/",
                env!("CARGO_PKG_VERSION"),
                "\r\n"
            ));
        }
        if !has("accept") {
            r.push_str("Accept: */*\r\n");
        }
        for (n, v) in &self.headers {
            r.push_str(&format!("{n}: {v}\r\n"));
        }
        r.push_str("\r\n");
        r.into_bytes()
    }
}

/// Parses `-H 'Name: value'`.
pub fn parse_header(h: &str) -> Result<(String, String), String> {
    let Some((name, value)) = h.split_once(':') else {
        return Err(format!(
            "la cabecera `{h}` no tiene la forma `Nombre: valor`"
        ));
    };
    let name = name.trim();
    let value = value.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("`{name}` no es un nombre de cabecera válido"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "el valor de la cabecera `{name}` tiene saltos de línea"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Counters the progress line reads while the run goes on.
#[derive(Debug, Default)]
pub struct Live {
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub non_2xx: AtomicU64,
    pub bytes: AtomicU64,
    /// Set to end a run early (Ctrl-C): what finished so far is the result.
    pub cancel: AtomicBool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    pub url: String,
    pub connections: usize,
    pub elapsed: Duration,
    /// Requests answered with a complete response (any status).
    pub completed: u64,
    /// Requests that got no complete response (refused, reset, timeout, bad framing).
    pub failed: u64,
    /// Complete responses whose status is not 2xx.
    pub non_2xx: u64,
    /// Bytes received (heads and bodies).
    pub bytes: u64,
    /// Body length of the first 2xx response (`Document Length` in `ab`).
    pub document_length: Option<u64>,
    /// The first `Server` header seen.
    pub server: Option<String>,
    pub statuses: BTreeMap<u16, u64>,
    /// Why requests failed, with how many of each.
    pub errors: BTreeMap<String, u64>,
    /// Latency of complete responses, in microseconds.
    pub latency: Histogram<u64>,
}

impl Report {
    pub fn requests_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.completed as f64 / s
        } else {
            0.0
        }
    }

    /// Kilobytes (1024 bytes) received per second.
    pub fn transfer_kb_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.bytes as f64 / 1024.0 / s
        } else {
            0.0
        }
    }

    /// Latency at percentile `p` (0..=100), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            self.latency.value_at_quantile(p / 100.0) as f64 / 1000.0
        }
    }

    pub fn mean_ms(&self) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            self.latency.mean() / 1000.0
        }
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // 3 significant digits from 1 µs to 10 minutes: a few tens of kilobytes. The bounds are
    // constants that satisfy the crate's rules (low >= 1, high >= 2 * low, sigfig <= 5).
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant histogram bounds are valid")
}

/// What one connection saw.
struct Tally {
    completed: u64,
    failed: u64,
    non_2xx: u64,
    bytes: u64,
    document_length: Option<u64>,
    server: Option<String>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            completed: 0,
            failed: 0,
            non_2xx: 0,
            bytes: 0,
            document_length: None,
            server: None,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            latency: histogram(),
        }
    }

    fn fail(&mut self, live: &Live, why: &str) {
        self.failed += 1;
        live.failed.fetch_add(1, Relaxed);
        *self.errors.entry(why.to_string()).or_insert(0) += 1;
    }
}

/// Runs the plan to the end (or until `live.cancel`) on the current runtime.
pub async fn run(plan: Plan, live: Arc<Live>) -> Result<Report, String> {
    let addr = prepare(&plan).await?;
    let start = Instant::now();
    let conns = connections(&plan, addr, &live, start);
    let n = conns.len();
    let tasks: Vec<_> = conns.into_iter().map(|c| tokio::spawn(c.run())).collect();
    let mut tallies = Vec::with_capacity(n);
    for t in tasks {
        tallies.push(
            t.await
                .map_err(|e| format!("una conexión de la medición terminó mal: {e}"))?,
        );
    }
    merge(&plan, n, start.elapsed(), tallies)
}

/// Runs the plan on `threads` OS threads, each with its own single-threaded tokio runtime
/// and its share of the connections, as `wrk -t` does: a connection never moves between
/// threads and no wake-up crosses cores, which keeps the generator's own CPU low.
pub fn run_threads(plan: Plan, live: Arc<Live>, threads: usize) -> Result<Report, String> {
    let rt = |what: &str| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no se pudo crear el planificador de tareas ({what}): {e}"))
    };
    let addr = rt("preparación")?.block_on(prepare(&plan))?;
    let start = Instant::now();
    let conns = connections(&plan, addr, &live, start);
    let n = conns.len();
    let threads = threads.clamp(1, n.max(1));
    let mut shares: Vec<Vec<Connection>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, c) in conns.into_iter().enumerate() {
        shares[i % threads].push(c);
    }
    let results: Vec<Result<Vec<Tally>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || -> Result<Vec<Tally>, String> {
                    let rt = rt("hilo de carga")?;
                    rt.block_on(async move {
                        let tasks: Vec<_> =
                            share.into_iter().map(|c| tokio::spawn(c.run())).collect();
                        let mut out = Vec::with_capacity(tasks.len());
                        for t in tasks {
                            out.push(t.await.map_err(|e| {
                                format!("una conexión de la medición terminó mal: {e}")
                            })?);
                        }
                        Ok(out)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("un hilo de la medición terminó mal".to_string()))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut tallies = Vec::with_capacity(n);
    for r in results {
        tallies.extend(r?);
    }
    merge(&plan, n, elapsed, tallies)
}

/// Validates the plan, resolves its address and fails early and clearly when nothing
/// listens there.
async fn prepare(plan: &Plan) -> Result<SocketAddr, String> {
    if plan.connections == 0 {
        return Err("hace falta al menos una conexión (-c 1)".into());
    }
    if let Stop::Requests(0) = plan.stop {
        return Err("hace falta al menos una petición (-n 1)".into());
    }
    let addr = plan.target.resolve().await?;
    match tokio::time::timeout(plan.timeout, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(addr),
        Ok(Err(e)) => Err(format!(
            "no se pudo conectar con {addr} ({}): {e}\n  ayuda: ¿está el laboratorio en marcha (`lab start`) y es ese su puerto (`lab status`)?",
            plan.target.url()
        )),
        Err(_) => Err(format!("{addr} no acepta la conexión en {:?}", plan.timeout)),
    }
}

/// The connections of a run started at `start`.
fn connections(plan: &Plan, addr: SocketAddr, live: &Arc<Live>, start: Instant) -> Vec<Connection> {
    let request: Arc<[u8]> = plan.request_bytes().into();
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = match plan.stop {
        Stop::Duration(d) => Some(start + d),
        Stop::Requests(_) => None,
    };
    let limit = match plan.stop {
        Stop::Requests(n) => Some(n),
        Stop::Duration(_) => None,
    };
    // No more connections than requests: an idle one would only skew the numbers.
    let n = match limit {
        Some(l) => plan
            .connections
            .min(usize::try_from(l).unwrap_or(usize::MAX)),
        None => plan.connections,
    };
    (0..n)
        .map(|_| Connection {
            addr,
            request: Arc::clone(&request),
            issued: Arc::clone(&issued),
            limit,
            deadline,
            timeout: plan.timeout,
            live: Arc::clone(live),
        })
        .collect()
}

fn merge(
    plan: &Plan,
    connections: usize,
    elapsed: Duration,
    tallies: Vec<Tally>,
) -> Result<Report, String> {
    let mut total = Tally::new();
    for tally in tallies {
        total.completed += tally.completed;
        total.failed += tally.failed;
        total.non_2xx += tally.non_2xx;
        total.bytes += tally.bytes;
        total.document_length = total.document_length.or(tally.document_length);
        total.server = total.server.or(tally.server);
        for (k, v) in tally.statuses {
            *total.statuses.entry(k).or_insert(0) += v;
        }
        for (k, v) in tally.errors {
            *total.errors.entry(k).or_insert(0) += v;
        }
        total
            .latency
            .add(&tally.latency)
            .map_err(|e| format!("no se pudieron juntar las latencias: {e}"))?;
    }
    Ok(Report {
        url: plan.target.url(),
        connections,
        elapsed,
        completed: total.completed,
        failed: total.failed,
        non_2xx: total.non_2xx,
        bytes: total.bytes,
        document_length: total.document_length,
        server: total.server,
        statuses: total.statuses,
        errors: total.errors,
        latency: total.latency,
    })
}

/// One connection's loop: take a request number, send, read the whole response, repeat.
struct Connection {
    addr: SocketAddr,
    request: Arc<[u8]>,
    issued: Arc<AtomicU64>,
    limit: Option<u64>,
    deadline: Option<Instant>,
    timeout: Duration,
    live: Arc<Live>,
}

/// How one exchange ended.
enum Exchange {
    /// A complete response; `keep` is false when the server closes the connection.
    Done {
        status: u16,
        keep: bool,
    },
    Failed(&'static str),
}

impl Connection {
    /// Claims the next request, or None when the run is over.
    fn claim(&self) -> bool {
        if self.live.cancel.load(Relaxed) {
            return false;
        }
        if let Some(d) = self.deadline {
            return Instant::now() < d;
        }
        let n = self.issued.fetch_add(1, Relaxed);
        self.limit.is_none_or(|l| n < l)
    }

    async fn run(self) -> Tally {
        let mut tally = Tally::new();
        let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut stream: Option<TcpStream> = None;
        while self.claim() {
            if stream.is_none() {
                match tokio::time::timeout(self.timeout, TcpStream::connect(self.addr)).await {
                    Ok(Ok(s)) => {
                        let _ = s.set_nodelay(true);
                        stream = Some(s);
                    }
                    Ok(Err(_)) => {
                        tally.fail(&self.live, "conexión rechazada");
                        // Do not spin on a refused port while a duration runs out.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    Err(_) => {
                        tally.fail(&self.live, "tiempo agotado al conectar");
                        continue;
                    }
                }
                buf.clear();
            }
            let Some(s) = stream.as_mut() else { continue };
            let sent = Instant::now();
            let outcome = match tokio::time::timeout(
                self.timeout,
                exchange(s, &self.request, &mut buf, &mut tally),
            )
            .await
            {
                Ok(o) => o,
                Err(_) => Exchange::Failed("tiempo agotado esperando la respuesta"),
            };
            match outcome {
                Exchange::Done { status, keep } => {
                    let us = (sent.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_US);
                    let _ = tally.latency.record(us);
                    tally.completed += 1;
                    self.live.completed.fetch_add(1, Relaxed);
                    *tally.statuses.entry(status).or_insert(0) += 1;
                    if !(200..300).contains(&status) {
                        tally.non_2xx += 1;
                        self.live.non_2xx.fetch_add(1, Relaxed);
                    }
                    if !keep {
                        stream = None;
                    }
                }
                Exchange::Failed(why) => {
                    tally.fail(&self.live, why);
                    stream = None;
                }
            }
        }
        tally
    }
}

/// Sends the request and reads one whole response from `s`. Bytes past the response (none
/// without pipelining) are kept in `buf`.
async fn exchange(
    s: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
    tally: &mut Tally,
) -> Exchange {
    if s.write_all(request).await.is_err() {
        return Exchange::Failed("error al enviar la petición");
    }
    // The head.
    let mut scanned = 0;
    let head_end = loop {
        if let Some(i) = find_head_end(buf, scanned) {
            break i;
        }
        scanned = buf.len().saturating_sub(3);
        if buf.len() > MAX_HEAD {
            return Exchange::Failed("cabecera de respuesta demasiado larga");
        }
        match read_more(s, buf).await {
            Some(0) if buf.is_empty() => {
                return Exchange::Failed("el servidor cerró la conexión sin responder")
            }
            Some(0) => return Exchange::Failed("respuesta cortada"),
            Some(_) => {}
            None => return Exchange::Failed("error al leer la respuesta"),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let (status, framing, keep, server) = match resp.parse(&buf[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {
            let status = resp.code.unwrap_or(0);
            let http10 = resp.version == Some(0);
            let mut framing = Framing::Close;
            let mut keep = !http10;
            let mut server = None;
            for h in resp.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    match std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                    {
                        Some(n) if !matches!(framing, Framing::Chunked) => {
                            framing = Framing::Length(n)
                        }
                        Some(_) => {}
                        None => return Exchange::Failed("Content-Length no válido"),
                    }
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    if h.value.to_ascii_lowercase().ends_with(b"chunked") {
                        framing = Framing::Chunked;
                    }
                } else if h.name.eq_ignore_ascii_case("connection") {
                    let v = h.value.to_ascii_lowercase();
                    if v.windows(5).any(|w| w == b"close") {
                        keep = false;
                    } else if v.windows(10).any(|w| w == b"keep-alive") {
                        keep = true;
                    }
                } else if h.name.eq_ignore_ascii_case("server") && tally.server.is_none() {
                    server = Some(String::from_utf8_lossy(h.value).into_owned());
                }
            }
            if status == 204 || status == 304 || (100..200).contains(&status) {
                framing = Framing::Length(0);
            }
            (status, framing, keep, server)
        }
        _ => return Exchange::Failed("respuesta HTTP mal formada"),
    };
    if server.is_some() {
        tally.server = server;
    }
    let head_len = head_end as u64;
    buf.drain(..head_end);
    let body = match framing {
        Framing::Length(n) => {
            while (buf.len() as u64) < n {
                match read_more(s, buf).await {
                    Some(0) => return Exchange::Failed("cuerpo más corto que su Content-Length"),
                    Some(_) => {}
                    None => return Exchange::Failed("error al leer la respuesta"),
                }
            }
            let n_usize = n as usize;
            buf.drain(..n_usize);
            n
        }
        Framing::Chunked => match read_chunked(s, buf).await {
            Ok(n) => n,
            Err(why) => return Exchange::Failed(why),
        },
        Framing::Close => {
            loop {
                match read_more(s, buf).await {
                    Some(0) => break,
                    Some(_) => {}
                    None => return Exchange::Failed("error al leer la respuesta"),
                }
            }
            let n = buf.len() as u64;
            buf.clear();
            return finish(tally, status, head_len, n, false);
        }
    };
    finish(tally, status, head_len, body, keep)
}

fn finish(tally: &mut Tally, status: u16, head: u64, body: u64, keep: bool) -> Exchange {
    tally.bytes += head + body;
    if tally.document_length.is_none() && (200..300).contains(&status) {
        tally.document_length = Some(body);
    }
    Exchange::Done { status, keep }
}

enum Framing {
    Length(u64),
    Chunked,
    Close,
}

/// Index just past `\r\n\r\n`, searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| from + i + 4)
}

/// Reads more bytes into `buf`: Some(n read) or None on error.
async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(16 * 1024);
    }
    s.read_buf(buf).await.ok()
}

/// Reads a chunked body (and its trailers) from the front of `buf`; returns its data length.
async fn read_chunked(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u64, &'static str> {
    let mut total = 0u64;
    loop {
        // The size line.
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            if buf.len() > 4096 {
                return Err("tamaño de trozo (chunk) no válido");
            }
            match read_more(s, buf).await {
                Some(0) | None => return Err("cuerpo por trozos cortado"),
                Some(_) => {}
            }
        };
        let line = std::str::from_utf8(&buf[..line_end])
            .map_err(|_| "tamaño de trozo (chunk) no válido")?;
        let hex = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(hex, 16).map_err(|_| "tamaño de trozo (chunk) no válido")?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                if buf.starts_with(b"\r\n") {
                    buf.drain(..2);
                    return Ok(total);
                }
                if let Some(i) = find_head_end(buf, 0) {
                    buf.drain(..i);
                    return Ok(total);
                }
                match read_more(s, buf).await {
                    Some(0) | None => return Err("cuerpo por trozos cortado"),
                    Some(_) => {}
                }
            }
        }
        let need = size as usize + 2;
        while buf.len() < need {
            match read_more(s, buf).await {
                Some(0) | None => return Err("cuerpo por trozos cortado"),
                Some(_) => {}
            }
        }
        if &buf[need - 2..need] != b"\r\n" {
            return Err("trozo (chunk) sin CRLF final");
        }
        buf.drain(..need);
        total += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_host_port_and_path() {
        let t = Target::parse("http://flask.localhost:10080/a/b?x=1").unwrap();
        assert_eq!(t.host, "flask.localhost");
        assert_eq!(t.port, 10080);
        assert_eq!(t.path, "/a/b?x=1");
        assert_eq!(t.host_header(), "flask.localhost:10080");
        let t = Target::parse("http://localhost").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        assert_eq!(t.host_header(), "localhost");
        let t = Target::parse("http://localhost:8080?q").unwrap();
        assert_eq!(t.path, "/?q");
        assert!(Target::parse("https://x/").unwrap_err().contains("HTTPS"));
        assert!(Target::parse("localhost:80/").is_err());
        assert!(Target::parse("http://x:0/").is_err());
        assert!(Target::parse("http://x:99999/").is_err());
        assert!(Target::parse("http://x/a b").is_err());
    }

    #[test]
    fn headers_are_validated() {
        assert_eq!(
            parse_header("Cookie: a=1").unwrap(),
            ("Cookie".to_string(), "a=1".to_string())
        );
        assert!(parse_header("sin dos puntos").is_err());
        assert!(parse_header("Mal nombre: x").is_err());
    }

    #[test]
    fn a_host_header_replaces_the_urls() {
        let plan = Plan {
            target: Target::parse("http://127.0.0.1:8080/").unwrap(),
            connections: 1,
            stop: Stop::Requests(1),
            headers: vec![("Host".into(), "sitio.localhost".into())],
            timeout: Duration::from_secs(1),
        };
        let text = String::from_utf8(plan.request_bytes()).unwrap();
        assert!(text.starts_with("GET / HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("Host: sitio.localhost\r\n"), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
        assert!(text.ends_with("\r\n\r\n"));
    }

    /// A tiny server answering with the given responses in turn, keeping connections open
    /// unless the response says `Connection: close`.
    async fn server(responses: Vec<&'static [u8]>) -> SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        // One counter for the whole server: over N requests each response goes out N/len times.
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let responses = responses.clone();
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let mut got = Vec::new();
                        while find_head_end(&got, 0).is_none() {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        let r = responses[next.fetch_add(1, Relaxed) % responses.len()];
                        if s.write_all(r).await.is_err() {
                            return;
                        }
                        if r.windows(17).any(|w| w == b"Connection: close") {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn plan(addr: SocketAddr, c: usize, n: u64) -> Plan {
        Plan {
            target: Target::parse(&format!("http://{addr}/")).unwrap(),
            connections: c,
            stop: Stop::Requests(n),
            headers: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn counts_are_exact_for_every_framing() {
        let addr = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: prueba\r\n\r\nhola\n",
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhasta el cierre",
        ])
        .await;
        let report = run(plan(addr, 3, 90), Arc::new(Live::default()))
            .await
            .unwrap();
        assert_eq!(report.completed, 90);
        assert_eq!(report.failed, 0, "{:?}", report.errors);
        assert_eq!(
            report.statuses.get(&404),
            Some(&30),
            "{:?}",
            report.statuses
        );
        assert_eq!(report.non_2xx, 30);
        assert_eq!(report.latency.len(), 90);
        assert_eq!(report.server.as_deref(), Some("prueba"));
        assert!(report.requests_per_second() > 0.0);
    }

    #[test]
    fn threads_share_the_connections_and_the_exact_count() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let addr = rt.block_on(server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]));
        let live = Arc::new(Live::default());
        let report = run_threads(plan(addr, 5, 1001), Arc::clone(&live), 2).unwrap();
        assert_eq!(report.completed, 1001);
        assert_eq!(report.connections, 5);
        assert_eq!(live.completed.load(Relaxed), 1001);
        assert_eq!(report.latency.len(), 1001);
        drop(rt);
    }

    #[tokio::test]
    async fn a_short_body_is_a_failed_request() {
        let addr = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\ncorto",
        ])
        .await;
        let report = run(plan(addr, 2, 10), Arc::new(Live::default()))
            .await
            .unwrap();
        assert_eq!(report.completed, 0);
        assert_eq!(report.failed, 10);
        assert_eq!(
            report.errors.get("cuerpo más corto que su Content-Length"),
            Some(&10)
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_a_clear_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = run(plan(addr, 1, 1), Arc::new(Live::default()))
            .await
            .unwrap_err();
        assert!(e.contains("no se pudo conectar"), "{e}");
    }
}
