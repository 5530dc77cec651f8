//! The client side: listeners, the request state machine (vcl_recv -> hash -> lookup ->
//! hit/miss/pass/pipe/purge/synth -> vcl_deliver) and delivery with Varnish's headers.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use super::body::ProxyBody;
use super::cache::{hash_key, Lookup, Object};
use super::fetch::{canonical_reason, strip_hop_by_hop, FetchJob, Fetched};
use super::stats::Trace;
use super::tunnel::{ClientIo, Tunnel};
use super::vcl::interp::{run, Action, Ctx, Msg};
use super::vcl::SubKind;
use super::{Loaded, Proxy, VclHost};

pub const VIA: &str = "1.1 varnish (Varnish/7.1)";

/// How the answer was produced, for headers and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hit,
    Miss,
    Pass,
}

/// Serves a connection with hyper: requests with a body and whatever the proxy's own loop
/// ([`super::client`]) leaves to it. `prefix` is what that loop had already read.
pub async fn serve_hyper(
    proxy: Arc<Proxy>,
    stream: tokio::net::TcpStream,
    prefix: Bytes,
    client: SocketAddr,
    local: SocketAddr,
) {
    let tunnel = Arc::new(Tunnel::default());
    let service = {
        let proxy = Arc::clone(&proxy);
        let tunnel = Arc::clone(&tunnel);
        service_fn(move |req| {
            let proxy = Arc::clone(&proxy);
            let tunnel = Arc::clone(&tunnel);
            async move { Ok::<_, Infallible>(handle(proxy, req, client, local, &tunnel).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(60))
        .keep_alive(true)
        // A client that ends its side after a request still gets the answer (and a piped
        // request its tunnel), as with Varnish.
        .half_close(true)
        .title_case_headers(true)
        .max_buf_size(256 * 1024);
    let io = ClientIo {
        inner: stream,
        tunnel: Arc::clone(&tunnel),
        prefix,
    };
    let Ok(parts) = builder
        .serve_connection(TokioIo::new(io), service)
        .without_shutdown()
        .await
    else {
        return;
    };
    let io = parts.io.into_inner();
    let mut client_stream = io.inner;
    match tunnel.take() {
        // `return (pipe)`: what the client sent after the piped request goes on to the
        // backend, then bytes flow both ways.
        Some(backend) => {
            let early = if io.prefix.is_empty() {
                parts.read_buf
            } else {
                let mut b = parts.read_buf.to_vec();
                b.extend_from_slice(&io.prefix);
                Bytes::from(b)
            };
            super::tunnel::join(client_stream, backend, early).await
        }
        None => {
            use tokio::io::AsyncWriteExt as _;
            let _ = client_stream.shutdown().await;
        }
    }
}

/// A client request's head as VCL's `req` starts: from hyper (requests with a body and odd
/// cases) or from the proxy's own connection loop ([`super::client`]).
pub(crate) struct ReqHead {
    pub method: String,
    pub url: String,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
}

fn request_head(parts: &http::request::Parts) -> ReqHead {
    let mut headers = Vec::with_capacity(parts.headers.len() + 2);
    for (n, v) in &parts.headers {
        // hyper lowers the client's spelling: Title-Case is the likelier one (what a piped
        // backend and the log see; the proxy's own loop keeps the client's).
        let mut name = String::with_capacity(n.as_str().len());
        let mut up = true;
        for c in n.as_str().chars() {
            name.push(if up { c.to_ascii_uppercase() } else { c });
            up = c == '-';
        }
        headers.push((name, String::from_utf8_lossy(v.as_bytes()).into_owned()));
    }
    ReqHead {
        method: parts.method.as_str().to_string(),
        url: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        http10: parts.version == http::Version::HTTP_10,
        headers,
    }
}

/// The first records of a client request's log entry, up to its headers.
pub(crate) fn begin_trace(
    trace: &mut Trace,
    xid: u64,
    client: SocketAddr,
    method: &str,
    url: &str,
    http10: bool,
) {
    trace.add_fmt("Begin", format_args!("req {} rxreq", xid));
    trace.add_fmt(
        "ReqStart",
        format_args!("{} {}", client.ip(), client.port()),
    );
    trace.add("ReqMethod", method);
    trace.add("ReqURL", url);
    trace.add("ReqProtocol", if http10 { "HTTP/1.0" } else { "HTTP/1.1" });
}

/// One client request (through hyper), from vcl_recv to the response.
pub async fn handle(
    proxy: Arc<Proxy>,
    req: http::Request<hyper::body::Incoming>,
    client: SocketAddr,
    local: SocketAddr,
    tunnel: &Tunnel,
) -> http::Response<ProxyBody> {
    let xid = proxy.next_xid();
    proxy.stats.client_req.fetch_add(1, Relaxed);
    let (parts, incoming) = req.into_parts();
    let mut trace = Trace::default();
    let head = request_head(&parts);
    begin_trace(
        &mut trace,
        xid,
        client,
        &head.method,
        &parts.uri.to_string(),
        head.http10,
    );
    // The client's headers, for `lab proxy log -q 'ReqHeader:Host eq ...'`.
    trace.add_headers("ReqHeader", &parts.headers);
    let answer = process(
        proxy,
        xid,
        head,
        ProxyBody::Incoming(incoming),
        client,
        local,
        tunnel,
        trace,
    )
    .await;
    let spelled = match &answer {
        Answer::Head(p) => spelled_names(&p.headers).await,
        Answer::Raw(_) => None,
    };
    let mut resp = answer.into_hyper();
    if let Some(ext) = spelled {
        resp.extensions_mut().extend(ext);
    }
    resp
}

/// Whether `name` is already what hyper's `title_case_headers` writes.
fn title_cased(name: &str) -> bool {
    let mut prev = b'-';
    name.bytes().all(|c| {
        let ok = if prev == b'-' {
            !c.is_ascii_lowercase()
        } else {
            !c.is_ascii_uppercase()
        };
        prev = c;
        ok
    })
}

/// hyper writes a response's header names as the private header-case map in the response's
/// extensions says (Title-Case without one), and only hyper's parser makes such a map: these
/// names are written into an answer head that hyper's client, with `preserve_header_case`,
/// reads back in memory; its extensions (that map) then go with the response, so hyper's
/// path spells the names as the proxy's own loop does ([`super::client`]). `None` when every
/// name is Title-Case already (or the round trip fails: Title-Case then).
async fn spelled_names(headers: &[Field]) -> Option<http::Extensions> {
    use tokio::io::AsyncWriteExt as _;
    if headers.iter().all(|(n, _)| title_cased(n)) {
        return None;
    }
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for (n, _) in headers {
        // A chunked head would want chunks (hyper spells that one itself); a length is 0.
        if n.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        head.extend_from_slice(n.as_bytes());
        if n.eq_ignore_ascii_case("content-length") {
            head.extend_from_slice(b": 0\r\n");
        } else {
            head.extend_from_slice(b": x\r\n");
        }
    }
    head.extend_from_slice(b"\r\n");
    let (near, mut far) = tokio::io::duplex(head.len() + 4096);
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake::<_, http_body_util::Empty<Bytes>>(TokioIo::new(near))
        .await
        .ok()?;
    let req = http::Request::get("/")
        .body(http_body_util::Empty::new())
        .ok()?;
    // The head goes back once hyper has written its request (an answer before a request
    // would end its connection).
    let answer = async move {
        use tokio::io::AsyncReadExt as _;
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match far.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        far.write_all(&head).await.ok()?;
        Some(far)
    };
    let (resp, _far) = tokio::select! {
        both = async { tokio::join!(sender.send_request(req), answer) } => both,
        _ = conn => return None,
    };
    Some(resp.ok()?.into_parts().0.extensions)
}

/// One client request, from vcl_recv to the response; `trace` holds its first records.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn process(
    proxy: Arc<Proxy>,
    xid: u64,
    head: ReqHead,
    body: ProxyBody,
    client: SocketAddr,
    local: SocketAddr,
    tunnel: &Tunnel,
    mut trace: Trace,
) -> Answer {
    let loaded = proxy.loaded.load_full();
    let mut ctx = Ctx {
        req: Msg {
            method: head.method,
            url: head.url,
            proto: if head.http10 { "HTTP/1.0" } else { "HTTP/1.1" }.into(),
            headers: head.headers,
            ..Msg::default()
        },
        xid,
        client_ip: Some(client.ip()),
        server_ip: Some(local.ip()),
        now: proxy.clock.now(),
        hostname: proxy.hostname.clone(),
        ..Ctx::default()
    };
    let keep_alive = !matches!(ctx.req.get("connection"), Some(c) if c.eq_ignore_ascii_case("close"))
        && (ctx.req.proto == "HTTP/1.1"
            || ctx
                .req
                .get("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("keep-alive")));
    let method_head = ctx.req.method == "HEAD";
    let client_conds = (
        ctx.req.get("if-none-match").map(str::to_string),
        ctx.req.get("if-modified-since").map(str::to_string),
        ctx.req.get("range").map(str::to_string),
    );
    // Hop-by-hop headers (Connection, Upgrade...) stay in req, as in Varnish, where VCL
    // reads them (the websocket recipe pipes on `req.http.upgrade`); they are filtered
    // out of every bereq.
    // Varnish adds the client to X-Forwarded-For before vcl_recv.
    let ip = client.ip().to_canonical().to_string();
    match ctx.req.get("x-forwarded-for").map(str::to_string) {
        Some(prev) => ctx.req.set("X-Forwarded-For", format!("{prev}, {ip}")),
        None => ctx.req.set("X-Forwarded-For", ip),
    }
    let mut body = Some(body);
    let host = VclHost {
        proxy: &proxy,
        loaded: &loaded,
    };
    let prog = &loaded.vcl.program;

    'restart: loop {
        ctx.now = proxy.clock.now();
        let a = call(prog, SubKind::Recv, &mut ctx, &host, &mut trace);
        // After vcl_recv Varnish normalizes Accept-Encoding for cache lookups.
        if matches!(a, Action::Hash | Action::Purge) {
            let gz = ctx.req.get("accept-encoding").is_some_and(accepts_gzip);
            ctx.can_gzip = gz;
            if gz {
                ctx.req.set("Accept-Encoding", "gzip");
            } else {
                ctx.req.unset("accept-encoding");
            }
        }
        let outcome = match a {
            Action::Hash | Action::Purge => {
                ctx.hash.clear();
                let h = call(prog, SubKind::Hash, &mut ctx, &host, &mut trace);
                if h != Action::Lookup {
                    Outcome::Synth(503, Some("VCL failed".into()))
                } else {
                    let key = hash_key(&ctx.hash);
                    if a == Action::Purge {
                        let n = proxy.store.purge(&key);
                        proxy.stats.n_purges.fetch_add(1, Relaxed);
                        proxy.stats.n_obj_purged.fetch_add(n as u64, Relaxed);
                        trace.add_fmt("VCL_Log", format_args!("purgados {n} objetos"));
                        match call(prog, SubKind::Purge, &mut ctx, &host, &mut trace) {
                            Action::Synth(c, r) => Outcome::Synth(c, r),
                            Action::Restart => {
                                if restart(&mut ctx) {
                                    continue 'restart;
                                }
                                Outcome::Synth(503, Some("Too many restarts".into()))
                            }
                            _ => Outcome::Synth(503, Some("VCL failed".into())),
                        }
                    } else {
                        match lookup(&proxy, &loaded, &mut ctx, &key, &mut body, &mut trace).await {
                            Outcome::Restart => {
                                if restart(&mut ctx) {
                                    continue 'restart;
                                }
                                Outcome::Synth(503, Some("Too many restarts".into()))
                            }
                            o => o,
                        }
                    }
                }
            }
            Action::Pass => pass(&proxy, &loaded, &mut ctx, &mut body, &mut trace).await,
            Action::Pipe => {
                proxy.stats.s_pipe.fetch_add(1, Relaxed);
                // As cnt_pipe: the request's headers, X-Varnish with a new id and
                // `Connection: close`, which vcl_pipe may undo.
                let bxid = proxy.next_xid();
                ctx.bereq = ctx.req.clone();
                strip_hop_by_hop(&mut ctx.bereq);
                ctx.bereq_xid = bxid;
                ctx.bereq.set("X-Varnish", bxid.to_string());
                ctx.bereq.set("Connection", "close");
                let a = call(prog, SubKind::Pipe, &mut ctx, &host, &mut trace);
                match a {
                    Action::Pipe => {
                        pipe(&loaded, &mut ctx, &mut body, &mut trace, tunnel, bxid).await
                    }
                    Action::Synth(c, r) => Outcome::Synth(c, r),
                    _ => Outcome::Synth(503, Some("VCL failed".into())),
                }
            }
            Action::Synth(c, r) => Outcome::Synth(c, r),
            Action::Restart => {
                if restart(&mut ctx) {
                    continue 'restart;
                }
                Outcome::Synth(503, Some("Too many restarts".into()))
            }
            _ => Outcome::Synth(503, Some("VCL failed".into())),
        };
        // vcl_deliver / vcl_synth may restart too.
        match finish(&proxy, &loaded, &mut ctx, outcome, &mut trace) {
            Finished::Restart => {
                if restart(&mut ctx) {
                    continue 'restart;
                }
                // Out of restarts: vcl_synth cannot restart again, so this is final.
                let r = match synth(
                    &proxy,
                    &loaded,
                    &mut ctx,
                    503,
                    Some("Too many restarts".into()),
                    &mut trace,
                ) {
                    Finished::Done(r) => r,
                    Finished::Restart => Reply::Synth {
                        resp: Msg {
                            status: 503,
                            reason: "Too many restarts".into(),
                            ..Msg::default()
                        },
                        body: String::new(),
                    },
                };
                return respond(
                    &proxy,
                    r,
                    method_head,
                    &client_conds,
                    keep_alive,
                    ctx.can_gzip,
                    &mut trace,
                    xid,
                );
            }
            Finished::Done(r) => {
                return respond(
                    &proxy,
                    r,
                    method_head,
                    &client_conds,
                    keep_alive,
                    ctx.can_gzip,
                    &mut trace,
                    xid,
                )
            }
        }
    }
}

fn restart(ctx: &mut Ctx) -> bool {
    ctx.restarts += 1;
    ctx.hash.clear();
    ctx.obj = None;
    ctx.restarts <= 4
}

pub(crate) fn accepts_gzip(ae: &str) -> bool {
    ae.split(',').any(|p| {
        let mut it = p.split(';');
        let name = it.next().unwrap_or("").trim();
        let q = it
            .find_map(|x| x.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        name.eq_ignore_ascii_case("gzip") && q > 0.0
    })
}

/// The subroutine as varnishlog writes it after `VCL_call`.
fn call_name(kind: SubKind) -> &'static str {
    match kind {
        SubKind::Recv => "RECV",
        SubKind::Pipe => "PIPE",
        SubKind::Pass => "PASS",
        SubKind::Hash => "HASH",
        SubKind::Purge => "PURGE",
        SubKind::Hit => "HIT",
        SubKind::Miss => "MISS",
        SubKind::Deliver => "DELIVER",
        SubKind::Synth => "SYNTH",
        SubKind::BackendFetch => "BACKEND_FETCH",
        SubKind::BackendResponse => "BACKEND_RESPONSE",
        SubKind::BackendError => "BACKEND_ERROR",
        SubKind::Init => "INIT",
        SubKind::Fini => "FINI",
    }
}

fn call(
    prog: &super::vcl::Program,
    kind: SubKind,
    ctx: &mut Ctx,
    host: &VclHost<'_>,
    trace: &mut Trace,
) -> Action {
    let a = run(prog, kind, ctx, host);
    trace.add("VCL_call", call_name(kind));
    for l in ctx.log.drain(..) {
        trace.add("VCL_Log", l);
    }
    match &a {
        Action::Fail(e) => {
            trace.add("VCL_Error", e.clone());
            trace.add("VCL_return", "fail");
        }
        other => trace.add("VCL_return", other.name()),
    }
    a
}

/// Where a request ended before vcl_deliver / vcl_synth.
enum Outcome {
    Deliver {
        obj: Arc<Object>,
        kind: Kind,
    },
    /// A pass: the backend's head and body (not stored).
    Stream {
        head: Msg,
        body: ProxyBody,
    },
    Synth(u16, Option<String>),
    Restart,
    /// Pipe: the backend's answer as is.
    Raw(http::Response<ProxyBody>),
}

enum Finished {
    Done(Reply),
    Restart,
}

enum Reply {
    Obj { resp: Msg, obj: Arc<Object> },
    Stream { resp: Msg, body: ProxyBody },
    Synth { resp: Msg, body: String },
    Raw(http::Response<ProxyBody>),
}

async fn lookup(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    key: &[u8],
    body: &mut Option<ProxyBody>,
    trace: &mut Trace,
) -> Outcome {
    let mut waited = 0;
    loop {
        let now = proxy.clock.now();
        ctx.now = now;
        let found = proxy.store.lookup(
            key,
            &ctx.req,
            now,
            ctx.req_grace,
            ctx.hash_always_miss,
            ctx.hash_ignore_busy,
        );
        match found {
            Lookup::Wait(mut rx) => {
                proxy.stats.busy_sleep.fetch_add(1, Relaxed);
                trace.add(
                    "Debug",
                    "en la lista de espera (otra petición está descargando el objeto)",
                );
                waited += 1;
                if waited > 100 {
                    return Outcome::Synth(503, Some("Service Unavailable".into()));
                }
                let _ = tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|d| *d)).await;
                proxy.stats.busy_wakeup.fetch_add(1, Relaxed);
                continue;
            }
            Lookup::Hit(obj) => return hit(proxy, loaded, ctx, key, obj, None, body, trace).await,
            Lookup::Grace { obj, bgfetch, busy } => {
                proxy.stats.cache_hit_grace.fetch_add(1, Relaxed);
                let bg = if bgfetch { busy } else { None };
                return hit(proxy, loaded, ctx, key, obj, bg, body, trace).await;
            }
            Lookup::HitPass(obj) => {
                proxy.stats.cache_hitpass.fetch_add(1, Relaxed);
                trace.add(
                    "HitPass",
                    format!("{} {:.6}", obj.xid, obj.remaining_ttl(now)),
                );
                ctx.is_hitpass = true;
                return pass(proxy, loaded, ctx, body, trace).await;
            }
            Lookup::HitMiss(obj) => {
                proxy.stats.cache_hitmiss.fetch_add(1, Relaxed);
                trace.add(
                    "HitMiss",
                    format!("{} {:.6}", obj.xid, obj.remaining_ttl(now)),
                );
                ctx.is_hitmiss = true;
                return miss(proxy, loaded, ctx, key, None, None, body, trace).await;
            }
            Lookup::Miss { stale, busy } => {
                proxy.stats.cache_miss.fetch_add(1, Relaxed);
                return miss(proxy, loaded, ctx, key, stale, busy, body, trace).await;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn hit(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    key: &[u8],
    obj: Arc<Object>,
    bgfetch: Option<Arc<super::cache::Busy>>,
    body: &mut Option<ProxyBody>,
    trace: &mut Trace,
) -> Outcome {
    let host = VclHost { proxy, loaded };
    proxy.stats.cache_hit.fetch_add(1, Relaxed);
    let hits = obj.hits.fetch_add(1, Relaxed) + 1;
    let now = ctx.now;
    trace.add_fmt(
        "Hit",
        format_args!(
            "{} {} {} {}",
            obj.xid,
            obj.remaining_ttl(now) as i64,
            obj.grace as i64,
            obj.keep as i64
        ),
    );
    ctx.obj = Some(Arc::clone(&obj.head));
    ctx.obj_hits = hits;
    ctx.obj_ttl = obj.remaining_ttl(now);
    ctx.obj_grace = obj.grace;
    ctx.obj_keep = obj.keep;
    ctx.obj_age = obj.age(now);
    let a = call(&loaded.vcl.program, SubKind::Hit, ctx, &host, trace);
    ctx.obj = None;
    if let Some(busy) = bgfetch {
        if a == Action::Deliver {
            proxy.stats.bgfetch.fetch_add(1, Relaxed);
            let job = FetchJob {
                key: key.to_vec(),
                req: ctx.req.clone(),
                client: clone_client(ctx),
                stale: Some(Arc::clone(&obj)),
                busy: Some(busy),
                background: true,
                hitmiss: false,
            };
            let p = Arc::clone(proxy);
            let l = Arc::clone(loaded);
            tokio::spawn(async move {
                p.fetch(l, job).await;
            });
        } else {
            proxy.store.unbusy(key, &busy);
        }
    }
    match a {
        Action::Deliver => Outcome::Deliver {
            obj,
            kind: Kind::Hit,
        },
        Action::Pass => pass(proxy, loaded, ctx, body, trace).await,
        Action::Synth(c, r) => Outcome::Synth(c, r),
        Action::Restart => Outcome::Restart,
        _ => Outcome::Synth(503, Some("VCL failed".into())),
    }
}

fn clone_client(ctx: &Ctx) -> Ctx {
    Ctx {
        xid: ctx.xid,
        client_ip: ctx.client_ip,
        server_ip: ctx.server_ip,
        backend_hint: ctx.backend_hint,
        ..Ctx::default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn miss(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    key: &[u8],
    stale: Option<Arc<Object>>,
    busy: Option<Arc<super::cache::Busy>>,
    body: &mut Option<ProxyBody>,
    trace: &mut Trace,
) -> Outcome {
    let host = VclHost { proxy, loaded };
    let a = call(&loaded.vcl.program, SubKind::Miss, ctx, &host, trace);
    if a != Action::Fetch {
        if let Some(b) = &busy {
            proxy.store.unbusy(key, b);
        }
    }
    match a {
        Action::Fetch => {
            let job = FetchJob {
                key: key.to_vec(),
                req: ctx.req.clone(),
                client: clone_client(ctx),
                stale,
                busy,
                background: false,
                hitmiss: ctx.is_hitmiss,
            };
            let p = Arc::clone(proxy);
            let l = Arc::clone(loaded);
            // The fetch runs on its own: if this client goes away, waiting ones still get it.
            let fetched = tokio::spawn(async move { p.fetch(l, job).await }).await;
            match fetched {
                Ok(Fetched { obj, .. }) => {
                    trace.add_fmt("Link", format_args!("bereq {} fetch", obj.xid));
                    Outcome::Deliver {
                        obj,
                        kind: Kind::Miss,
                    }
                }
                Err(_) => Outcome::Synth(503, Some("Backend fetch failed".into())),
            }
        }
        Action::Pass => pass(proxy, loaded, ctx, body, trace).await,
        Action::Synth(c, r) => Outcome::Synth(c, r),
        Action::Restart => Outcome::Restart,
        _ => Outcome::Synth(503, Some("VCL failed".into())),
    }
}

async fn pass(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    body: &mut Option<ProxyBody>,
    trace: &mut Trace,
) -> Outcome {
    let host = VclHost { proxy, loaded };
    proxy.stats.s_pass.fetch_add(1, Relaxed);
    match call(&loaded.vcl.program, SubKind::Pass, ctx, &host, trace) {
        Action::Fetch => {
            let b = body.take().unwrap_or(ProxyBody::Empty);
            match proxy.fetch_pass(loaded, ctx, b, trace).await {
                Ok((head, body, _)) => Outcome::Stream { head, body },
                Err((f, _)) => Outcome::Deliver {
                    obj: f.obj,
                    kind: Kind::Pass,
                },
            }
        }
        Action::Synth(c, r) => Outcome::Synth(c, r),
        Action::Restart => Outcome::Restart,
        _ => Outcome::Synth(503, Some("VCL failed".into())),
    }
}

/// Pipe: the request goes to the backend (with `Connection: close` unless vcl_pipe removed
/// it), and from then on the connection is a tunnel: the backend's answer and whatever either
/// side sends next pass untouched (no X-Varnish, Age or Via).
async fn pipe(
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    body: &mut Option<ProxyBody>,
    trace: &mut Trace,
    tunnel: &Tunnel,
    xid: u64,
) -> Outcome {
    let Some(backend) = loaded.backends.resolve(ctx.backend_hint) else {
        return Outcome::Synth(503, Some("Backend fetch failed".into()));
    };
    let addr = format!("{}:{}", backend.def.host, backend.def.port);
    trace.add_fmt("Link", format_args!("bereq {xid} pipe"));
    let bereq = std::mem::take(&mut ctx.bereq);
    let b = body.take().unwrap_or(ProxyBody::Empty);
    match super::tunnel::send(&addr, backend.def.connect_timeout, bereq, b).await {
        Ok(stream) => {
            tunnel.open(stream);
            trace.add(
                "PipeAcct",
                "túnel abierto hasta que cierre una de las partes",
            );
            // hyper writes this nowhere (the IO swallows it) and lets go of the socket.
            let mut r = http::Response::new(ProxyBody::Empty);
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            Outcome::Raw(r)
        }
        Err(e) => {
            trace.add("FetchError", e);
            Outcome::Synth(503, Some("Backend fetch failed".into()))
        }
    }
}

/// vcl_deliver or vcl_synth.
fn finish(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    outcome: Outcome,
    trace: &mut Trace,
) -> Finished {
    let host = VclHost { proxy, loaded };
    let prog = &loaded.vcl.program;
    let now = proxy.clock.now();
    ctx.now = now;
    let (mut resp, obj, stream) = match outcome {
        Outcome::Restart => return Finished::Restart,
        Outcome::Raw(r) => return Finished::Done(Reply::Raw(r)),
        Outcome::Synth(code, reason) => return synth(proxy, loaded, ctx, code, reason, trace),
        Outcome::Deliver { obj, kind } => {
            let xv = if kind == Kind::Hit {
                format!("{} {}", ctx.xid, obj.xid)
            } else {
                ctx.xid.to_string()
            };
            let resp = object_resp(
                &obj.head,
                xv,
                (obj.age(now) as i64).to_string(),
                kind == Kind::Pass,
            );
            ctx.obj_hits = obj.hits.load(Relaxed);
            ctx.obj_uncacheable = obj.kind != super::cache::ObjKind::Normal;
            (resp, Some(obj), None)
        }
        Outcome::Stream { head, body, .. } => {
            let mut resp = head;
            resp.proto = "HTTP/1.1".into();
            resp.headers.push(("X-Varnish".into(), ctx.xid.to_string()));
            resp.headers.push(("Age".into(), "0".into()));
            add_via(&mut resp);
            ctx.obj_hits = 0;
            ctx.obj_uncacheable = true;
            (resp, None, Some(body))
        }
    };
    std::mem::swap(&mut ctx.resp, &mut resp);
    let a = call(prog, SubKind::Deliver, ctx, &host, trace);
    let resp = std::mem::take(&mut ctx.resp);
    match a {
        Action::Deliver => Finished::Done(match (obj, stream) {
            (_, Some(body)) => Reply::Stream { resp, body },
            (Some(obj), None) => Reply::Obj { resp, obj },
            (None, None) => Reply::Synth {
                resp,
                body: String::new(),
            },
        }),
        Action::Restart => Finished::Restart,
        Action::Synth(c, r) => synth(proxy, loaded, ctx, c, r, trace),
        _ => synth(proxy, loaded, ctx, 503, Some("VCL failed".into()), trace),
    }
}

/// The response vcl_deliver starts from for a stored object: its head with `X-Varnish`,
/// `Age`, `Via` and (but on a pass) `Accept-Ranges` on a 200.
pub(crate) fn object_resp(head: &Msg, xv: String, age: String, pass: bool) -> Msg {
    let mut resp = head.clone();
    resp.proto = "HTTP/1.1".into();
    resp.headers.push(("X-Varnish".into(), xv));
    resp.headers.push(("Age".into(), age));
    add_via(&mut resp);
    if resp.status == 200 && !pass {
        resp.set("Accept-Ranges", "bytes");
    }
    resp
}

fn add_via(resp: &mut Msg) {
    match resp.get("via").map(str::to_string) {
        Some(prev) => resp.set("Via", format!("{prev}, {VIA}")),
        None => resp.headers.push(("Via".into(), VIA.into())),
    }
}

fn synth(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    ctx: &mut Ctx,
    code: u16,
    reason: Option<String>,
    trace: &mut Trace,
) -> Finished {
    let host = VclHost { proxy, loaded };
    proxy.stats.s_synth.fetch_add(1, Relaxed);
    ctx.resp = Msg {
        proto: "HTTP/1.1".into(),
        status: code,
        reason: reason.unwrap_or_else(|| canonical_reason(code).to_string()),
        headers: vec![
            (
                "Date".into(),
                super::vcl::interp::http_date(proxy.clock.now()),
            ),
            ("Server".into(), "Varnish".into()),
            ("X-Varnish".into(), ctx.xid.to_string()),
        ],
        ..Msg::default()
    };
    ctx.body = None;
    let a = call(&loaded.vcl.program, SubKind::Synth, ctx, &host, trace);
    match a {
        Action::Deliver => {
            let body = ctx.body.take().unwrap_or_default();
            Finished::Done(Reply::Synth {
                resp: std::mem::take(&mut ctx.resp),
                body,
            })
        }
        Action::Restart if ctx.restarts < 4 => Finished::Restart,
        _ => Finished::Done(Reply::Synth {
            resp: Msg {
                proto: "HTTP/1.1".into(),
                status: 503,
                reason: "VCL failed".into(),
                headers: vec![("X-Varnish".into(), ctx.xid.to_string())],
                ..Msg::default()
            },
            body: String::new(),
        }),
    }
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    list.split(',')
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

#[allow(clippy::too_many_arguments)]
/// Builds the hyper response: headers as Varnish writes them, conditional requests and
/// ranges answered from a stored object, HEAD without a body.
fn respond(
    proxy: &Arc<Proxy>,
    reply: Reply,
    head_only: bool,
    conds: &(Option<String>, Option<String>, Option<String>),
    keep_alive: bool,
    can_gzip: bool,
    trace: &mut Trace,
    xid: u64,
) -> Answer {
    let synthetic = matches!(reply, Reply::Synth { .. });
    let (length_before, length_name) = match &reply {
        Reply::Obj { obj, .. } => (obj.length_before.clone(), obj.length_name.clone()),
        _ => (None, None),
    };
    let mut len_last = false;
    let (resp, body, len): (Msg, ProxyBody, Option<u64>) = match reply {
        Reply::Raw(r) => {
            trace.add("End", "");
            proxy.log.push("Request", xid, std::mem::take(trace));
            return Answer::Raw(r);
        }
        Reply::Synth { resp, body } => {
            let len = body.len() as u64;
            (resp, ProxyBody::full(body), Some(len))
        }
        Reply::Stream { resp, body } => {
            let len = resp.get("content-length").and_then(|l| l.parse().ok());
            (resp, body, len)
        }
        Reply::Obj { mut resp, obj } if obj.gzip && !can_gzip && proxy.params.http_gzip_support => {
            // A gzipped object for a client that does not take gzip: gunzipped on the way
            // out, with a weak ETag (Varnish weakens it when it sets up the gunzip, after
            // its own headers and before `Accept-Ranges`). A complete object's length is
            // known (Varnish keeps it from the gzip stream; here the gzip trailer's ISIZE)
            // and goes last; one still being fetched goes chunked.
            resp.unset("content-encoding");
            if let Some(etag) = resp.get("etag").map(str::to_string) {
                if !etag.starts_with("W/") {
                    resp.unset("etag");
                    let at = resp
                        .headers
                        .iter()
                        .position(|(n, _)| n.eq_ignore_ascii_case("accept-ranges"))
                        .unwrap_or(resp.headers.len());
                    resp.headers
                        .insert(at, ("ETag".into(), format!("W/{etag}")));
                }
            }
            trace.add("Gzip", "U D - gunzip al entregar");
            let len = gunzipped_len(&obj.body);
            len_last = len.is_some();
            let range = match (&conds.2, resp.status, len) {
                (Some(r), 200, Some(total)) if proxy.params.http_range_support => {
                    Some((parse_range(r, total), total))
                }
                _ => None,
            };
            if let Some((parsed, total)) = range {
                // The range is of the gunzipped body, as Varnish serves it.
                let plain = gunzip_all(&obj.body.whole().unwrap_or_default());
                let (body, len, _) = range_answer(&mut resp, parsed, total, |a, b| {
                    // Within what gunzipped, should the trailer have lied.
                    let end = (b as usize + 1).min(plain.len());
                    ProxyBody::full(plain.slice((a as usize).min(end)..end))
                });
                (resp, body, len)
            } else if head_only {
                (resp, ProxyBody::Empty, len)
            } else {
                (resp, gunzip_stream(Arc::clone(&obj.body)), len)
            }
        }
        Reply::Obj { mut resp, obj } => {
            let mut status304 = false;
            if resp.status == 200 {
                if let Some(inm) = &conds.0 {
                    if let Some(etag) = resp.get("etag") {
                        status304 = etag_matches(inm, etag);
                    }
                } else if let (Some(ims), Some(lm)) = (&conds.1, resp.get("last-modified")) {
                    if let (Some(ims), Some(lm)) = (
                        super::fetch::parse_http_date(ims),
                        super::fetch::parse_http_date(lm),
                    ) {
                        status304 = lm <= ims && ims <= proxy.clock.now();
                    }
                }
            }
            if status304 {
                resp.status = 304;
                resp.reason = "Not Modified".into();
                resp.unset("content-length");
                (resp, ProxyBody::Empty, None)
            } else {
                // Range (http_range_support) on a 200 whose length is known: a complete
                // object or one still being fetched with a Content-Length. Without a
                // known length Varnish ignores the Range and sends everything.
                let whole = obj.body.whole();
                let total = whole.as_ref().map(|w| w.len() as u64).or(obj.length);
                let range = match (&conds.2, resp.status, total) {
                    (Some(r), 200, Some(total)) if proxy.params.http_range_support => {
                        Some((parse_range(r, total), total))
                    }
                    _ => None,
                };
                match range {
                    Some((parsed, total)) => {
                        let (body, len, last) =
                            range_answer(&mut resp, parsed, total, |a, b| match whole {
                                Some(w) => ProxyBody::full(w.slice(a as usize..=b as usize)),
                                None => stream_body(
                                    Arc::clone(&obj.body),
                                    Some((a, b)),
                                    Some(b - a + 1),
                                ),
                            });
                        len_last = last;
                        (resp, body, len)
                    }
                    None => match whole {
                        Some(w) => {
                            let l = w.len() as u64;
                            (resp, ProxyBody::full(w), Some(l))
                        }
                        // Still being fetched: stream what arrives.
                        None => (
                            resp,
                            stream_body(Arc::clone(&obj.body), None, obj.length),
                            obj.length,
                        ),
                    },
                }
            }
        }
    };
    let status =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    let no_body = head_only
        || status == http::StatusCode::NOT_MODIFIED
        || status.is_informational()
        || status == http::StatusCode::NO_CONTENT;
    if let Some(l) = len {
        if !no_body {
            proxy.stats.s_resp_bodybytes.fetch_add(l, Relaxed);
        }
    }
    trace.add("RespStatus", status.as_str());
    trace.add("RespReason", &resp.reason);
    trace.add_pairs("RespHeader", &resp.headers);
    trace.add("End", "");
    proxy.log.push("Request", xid, std::mem::take(trace));
    let body = if no_body { ProxyBody::Empty } else { body };
    Answer::Head(prepare(
        status,
        resp,
        body,
        len,
        Layout {
            synthetic,
            len_last,
            length_before,
            length_name,
            keep_alive,
        },
    ))
}

/// A `Range` on an answer of `total` bytes: a 206 with `Content-Range` and the part `part`
/// gives, or a 416. Returns the body, its length and whether the length goes last (after
/// `Content-Range`: when the range changed it).
fn range_answer(
    resp: &mut Msg,
    parsed: Result<(u64, u64), ()>,
    total: u64,
    part: impl FnOnce(u64, u64) -> ProxyBody,
) -> (ProxyBody, Option<u64>, bool) {
    match parsed {
        Ok((a, b)) => {
            resp.status = 206;
            resp.reason = "Partial Content".into();
            resp.set("Content-Range", format!("bytes {a}-{b}/{total}"));
            let l = b - a + 1;
            (part(a, b), Some(l), l != total)
        }
        Err(()) => {
            resp.status = 416;
            resp.reason = "Requested Range Not Satisfiable".into();
            resp.set("Content-Range", format!("bytes */{total}"));
            // Not `Empty`: hyper would move an empty body's Content-Length after Connection.
            (ProxyBody::Full(Some(Bytes::new())), Some(0), true)
        }
    }
}

/// A complete gzip body gunzipped (what a bad stream yields up to its error).
fn gunzip_all(gz: &[u8]) -> Bytes {
    use std::io::Read as _;
    let mut out = Vec::new();
    let _ = flate2::read::GzDecoder::new(gz).read_to_end(&mut out);
    Bytes::from(out)
}

/// The length of a complete gzip body once gunzipped: its trailer's ISIZE (the length
/// modulo 2^32, exact for one member under 4 GiB); `None` while it is fetched, or for an
/// empty or short stream.
fn gunzipped_len(gz: &super::cache::BodyBuf) -> Option<u64> {
    let n = u32::from_le_bytes(gz.last_bytes::<4>()?);
    (gz.len() >= 18 && n > 0).then_some(u64::from(n))
}

/// Where [`prepare`] puts `Content-Length` and what `Connection` says.
pub(crate) struct Layout {
    /// A synthetic answer: the length goes last.
    pub synthetic: bool,
    /// A range changed the length: it goes last.
    pub len_last: bool,
    /// The header that followed Content-Length in the backend's answer.
    pub length_before: Option<String>,
    /// How the backend spelled the stored object's Content-Length.
    pub length_name: Option<String>,
    pub keep_alive: bool,
}

/// The answer's head as it goes out: `Content-Length` where Varnish writes it, headers
/// hyper's header map would refuse left out, `Connection`.
pub(crate) fn prepare(
    status: http::StatusCode,
    resp: Msg,
    body: ProxyBody,
    len: Option<u64>,
    layout: Layout,
) -> Prepared {
    let Layout {
        synthetic,
        len_last,
        length_before,
        length_name,
        keep_alive,
    } = layout;
    let Msg {
        reason,
        headers: resp_headers,
        ..
    } = resp;
    // An empty body whose length the head carries (a pass or an object of zero bytes): Varnish
    // writes `Content-Length: 0` in its place, where hyper, and the encoder that follows it,
    // would move an `Empty` body's length after `Connection`.
    let body = if len == Some(0)
        && !synthetic
        && !len_last
        && status != http::StatusCode::NOT_MODIFIED
        && status != http::StatusCode::NO_CONTENT
        && !status.is_informational()
        && http_body::Body::is_end_stream(&body)
    {
        ProxyBody::Full(Some(Bytes::new()))
    } else {
        body
    };
    // Content-Length goes where Varnish writes it: where the backend had it on objects and
    // passes (right before X-Varnish when it was the backend's last header), at the end on
    // synthetic answers, when a range changed the length, and on objects the backend sent
    // without one (chunked: Varnish adds the length it stored when it delivers them).
    let had_length = length_name.is_some()
        || resp_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    let mut length = len.filter(|_| {
        status != http::StatusCode::NOT_MODIFIED && status != http::StatusCode::NO_CONTENT
    });
    // Spelled as the backend did on objects and passes (Varnish keeps its header), as
    // Varnish writes its own on synthetic answers and ranges.
    let length_field: Cow<'static, str> = if synthetic || len_last {
        "Content-Length".into()
    } else {
        resp_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(n, _)| n.clone())
            .or(length_name)
            .map_or("Content-Length".into(), Cow::Owned)
    };
    let mut headers: Vec<Field> = Vec::with_capacity(resp_headers.len() + 2);
    for (n, v) in resp_headers {
        if n.eq_ignore_ascii_case("content-length") {
            if !synthetic && !len_last {
                if let Some(l) = length.take() {
                    push_grouped(&mut headers, length_field.clone(), l.to_string().into());
                }
            }
            continue;
        }
        if !synthetic
            && !len_last
            && ((had_length && n.eq_ignore_ascii_case("x-varnish"))
                || length_before
                    .as_deref()
                    .is_some_and(|b| n.eq_ignore_ascii_case(b)))
        {
            if let Some(l) = length.take() {
                push_grouped(&mut headers, length_field.clone(), l.to_string().into());
            }
        }
        // What hyper's header map would refuse is left out.
        if valid_name(&n) && valid_value(&v) {
            push_grouped(&mut headers, n.into(), v.into());
        }
    }
    if let Some(l) = length {
        push_grouped(&mut headers, length_field, l.to_string().into());
    }
    // As the header map's `insert`: in place of the first Connection, the others removed.
    let connection: Field = (
        "Connection".into(),
        if keep_alive { "keep-alive" } else { "close" }.into(),
    );
    match headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        Some(i) => {
            headers[i] = connection;
            let mut k = 0;
            headers.retain(|(n, _)| {
                k += 1;
                k - 1 <= i || !n.eq_ignore_ascii_case("connection")
            });
        }
        None => headers.push(connection),
    }
    Prepared {
        status,
        reason,
        headers,
        body,
    }
}

/// A response header: (name, value).
pub(crate) type Field = (Cow<'static, str>, Cow<'static, str>);

/// An answer ready to be written: the status, the reason as VCL left it, the headers in the
/// order they go out (as hyper's header map keeps them: every value of a name where that
/// name first appeared) and the body.
pub(crate) struct Prepared {
    pub status: http::StatusCode,
    pub reason: String,
    pub headers: Vec<Field>,
    pub body: ProxyBody,
}

impl Prepared {
    /// The reason phrase as written: VCL's unless it cannot go in a status line.
    pub fn reason(&self) -> &str {
        if self.reason != self.status.canonical_reason().unwrap_or("") && valid_reason(&self.reason)
        {
            &self.reason
        } else {
            self.status.canonical_reason().unwrap_or("<none>")
        }
    }
}

/// What a client request ends in.
pub(crate) enum Answer {
    Head(Prepared),
    /// Pipe: the placeholder hyper is given once the connection is a tunnel.
    Raw(http::Response<ProxyBody>),
}

impl Answer {
    /// The answer as hyper's response.
    pub fn into_hyper(self) -> http::Response<ProxyBody> {
        let p = match self {
            Answer::Raw(r) => return r,
            Answer::Head(p) => p,
        };
        let mut builder = http::Response::builder().status(p.status);
        let reason = p.reason();
        if reason != p.status.canonical_reason().unwrap_or("<none>") {
            if let Ok(r) = hyper::ext::ReasonPhrase::try_from(Bytes::from(reason.to_string())) {
                builder = builder.extension(r);
            }
        }
        if let Some(headers) = builder.headers_mut() {
            headers.reserve(p.headers.len());
            for (n, v) in &p.headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(n.as_bytes()),
                    http::HeaderValue::from_bytes(v.as_bytes()),
                ) {
                    headers.append(n, v);
                }
            }
        }
        builder.body(p.body).unwrap_or_else(|_| {
            let mut r = http::Response::new(ProxyBody::Empty);
            *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            r
        })
    }
}

/// Appends a header after the last one of the same name, if any (the order hyper's header
/// map gives).
fn push_grouped(headers: &mut Vec<Field>, name: Cow<'static, str>, value: Cow<'static, str>) {
    match headers
        .iter()
        .rposition(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        Some(i) if i + 1 < headers.len() => headers.insert(i + 1, (name, value)),
        _ => headers.push((name, value)),
    }
}

/// A header name `http::HeaderName` takes: a token (RFC 9110 `tchar`s).
pub(crate) fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() < 1 << 16
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value `http::HeaderValue` takes: no control characters but tab.
pub(crate) fn valid_value(v: &str) -> bool {
    v.bytes().all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// A reason phrase hyper writes: tab, space, visible characters and obs-text.
fn valid_reason(r: &str) -> bool {
    r.bytes()
        .all(|b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
}

/// Streams a gzipped body gunzipped.
fn gunzip_stream(buf: Arc<super::cache::BodyBuf>) -> ProxyBody {
    use std::io::Write as _;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        let mut dec = flate2::write::GzDecoder::new(Vec::new());
        let mut at = 0;
        loop {
            match buf.read_from(at).await {
                Some(Ok(chunks)) => {
                    at += chunks.len();
                    for c in chunks {
                        if dec.write_all(&c).is_err() {
                            let _ = tx.send(Err("cuerpo gzip no válido".into())).await;
                            return;
                        }
                        let out = std::mem::take(dec.get_mut());
                        if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Err(())) => {
                    let _ = tx.send(Err("la descarga del backend falló".into())).await;
                    return;
                }
                None => break,
            }
        }
        match dec.finish() {
            Ok(rest) if !rest.is_empty() => {
                let _ = tx.send(Ok(Bytes::from(rest))).await;
            }
            Ok(_) => {}
            Err(_) => {
                let _ = tx.send(Err("cuerpo gzip no válido".into())).await;
            }
        }
    });
    ProxyBody::Channel { rx, len: None }
}

/// Streams a stored body while it is fetched, optionally only bytes `a..=b`.
fn stream_body(
    buf: Arc<super::cache::BodyBuf>,
    range: Option<(u64, u64)>,
    len: Option<u64>,
) -> ProxyBody {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        let mut at = 0;
        // Offset in the body of the next chunk's first byte.
        let mut pos: u64 = 0;
        loop {
            match buf.read_from(at).await {
                Some(Ok(chunks)) => {
                    at += chunks.len();
                    for c in chunks {
                        let start = pos;
                        pos += c.len() as u64;
                        let c = match range {
                            None => c,
                            Some((a, b)) => {
                                if pos <= a || start > b {
                                    if start > b {
                                        return;
                                    }
                                    continue;
                                }
                                let from = a.saturating_sub(start) as usize;
                                let to = ((b + 1).min(pos) - start) as usize;
                                c.slice(from..to)
                            }
                        };
                        if tx.send(Ok(c)).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Err(())) => {
                    let _ = tx.send(Err("la descarga del backend falló".into())).await;
                    return;
                }
                None => return,
            }
        }
    });
    ProxyBody::Channel { rx, len }
}

/// A `Range` header as Varnish 7.1's `http_range_support` reads it (cache_range.c): one
/// `bytes=` range; anything else (several ranges, other units, spaces, an inverted range,
/// a start past the end, `-0`) is answered 416. `Ok((first, last))` otherwise.
pub(crate) fn parse_range(h: &str, total: u64) -> Result<(u64, u64), ()> {
    let r = h.strip_prefix("bytes=").ok_or(())?;
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(r);
    let has_low = n > 0;
    let low: u64 = if has_low {
        r[..n].parse().map_err(|_| ())?
    } else {
        0
    };
    let r = r[n..].strip_prefix('-').ok_or(())?;
    let m = digits(r);
    let high: Option<u64> = if m > 0 {
        Some(r[..m].parse().map_err(|_| ())?)
    } else {
        None
    };
    if m != r.len() {
        return Err(());
    }
    let (low, high) = match high {
        Some(h) if !has_low => (total.saturating_sub(h), total.saturating_sub(1)),
        Some(h) if h >= total => (low, total.saturating_sub(1)),
        None => (low, total.saturating_sub(1)),
        Some(h) if h < low => return Err(()),
        Some(h) => (low, h),
    };
    if low >= total {
        return Err(());
    }
    Ok((low, high))
}
