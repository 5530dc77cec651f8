//! The backend side of a request: builds `bereq`, runs vcl_backend_fetch, talks to the
//! backend, computes the TTL as Varnish does (RFC 9111 plus its own rules), runs
//! vcl_backend_response (or vcl_backend_error) and makes the object.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;

use super::body::ProxyBody;
use super::cache::{vary_key, BodyBuf, Busy, ObjKind, Object};
use super::stats::Trace;
use super::vcl::interp::{run, Action, BackendRef, Ctx, Msg};
use super::vcl::SubKind;
use super::{Loaded, Proxy, VclHost};

/// Headers that belong to one connection and never cross the proxy.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// `content-type` as `Content-Type`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = true;
    for c in name.chars() {
        out.push(if up { c.to_ascii_uppercase() } else { c });
        up = c == '-';
    }
    out
}

pub fn strip_hop_by_hop(m: &mut Msg) {
    let listed: Vec<String> = m
        .get("connection")
        .map(|c| {
            c.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    // Compared without lowering each name: this runs on every request.
    m.headers.retain(|(n, _)| {
        !HOP_BY_HOP.iter().any(|h| n.eq_ignore_ascii_case(h))
            && !listed.iter().any(|l| n.eq_ignore_ascii_case(l))
    });
}

/// What a fetch gives the request that started it.
pub struct Fetched {
    pub obj: Arc<Object>,
    /// The object came from vcl_backend_error.
    pub error: bool,
}

/// Everything a cache fetch needs, taken from the client request.
pub struct FetchJob {
    pub key: Vec<u8>,
    pub req: Msg,
    pub client: Ctx,
    pub stale: Option<Arc<Object>>,
    pub busy: Option<Arc<Busy>>,
    pub background: bool,
    pub hitmiss: bool,
}

/// TTL, grace and keep as Varnish 7.1 derives them from the response (RFC2616_Ttl).
pub fn rfc_ttl(
    beresp: &Msg,
    now: f64,
    default_ttl: f64,
    default_grace: f64,
    default_keep: f64,
) -> (f64, f64, f64, f64) {
    let age = beresp
        .get("age")
        .and_then(|a| a.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        .max(0.0);
    let mut ttl = match beresp.status {
        200 | 203 | 204 | 300 | 301 | 304 | 404 | 410 | 414 => default_ttl,
        // Cached only with explicit freshness.
        302 | 307 => -1.0,
        _ => return (-1.0, default_grace, default_keep, age),
    };
    let cc = beresp.get("cache-control").unwrap_or("").to_string();
    let field = |name: &str| -> Option<Option<f64>> {
        cc.split(',').find_map(|d| {
            let d = d.trim();
            let (k, v) = d.split_once('=').unwrap_or((d, ""));
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').parse::<f64>().ok())
        })
    };
    let mut grace = default_grace;
    if let Some(Some(swr)) = field("stale-while-revalidate") {
        grace = swr;
    }
    if let Some(v) = field("s-maxage").or_else(|| field("max-age")) {
        // An unparsable value counts as 0, as strtoul gives Varnish.
        let max_age = v.unwrap_or(0.0);
        ttl = if age > max_age { 0.0 } else { max_age - age };
    } else if let Some(exp) = beresp.get("expires") {
        let date = beresp.get("date").and_then(parse_http_date).unwrap_or(now);
        match parse_http_date(exp) {
            Some(e) if e > date => ttl = (e - date - age).max(0.0),
            _ => ttl = 0.0,
        }
    }
    (ttl, grace, default_keep, age)
}

pub fn parse_http_date(s: &str) -> Option<f64> {
    httpdate::parse_http_date(s.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

impl Proxy {
    /// Builds bereq from the client's request the way Varnish does for a cache fetch
    /// (`pass` false) or a pass.
    pub fn make_bereq(&self, req: &Msg, pass: bool, stale: Option<&Object>, xid: u64) -> Msg {
        let mut b = req.clone();
        strip_hop_by_hop(&mut b);
        if !pass {
            if b.method == "HEAD" {
                b.method = "GET".into();
            }
            for h in [
                "range",
                "if-range",
                "if-none-match",
                "if-modified-since",
                "if-match",
                "if-unmodified-since",
            ] {
                b.unset(h);
            }
            if let Some(s) = stale {
                if let Some(etag) = s.head.get("etag") {
                    b.set("If-None-Match", etag);
                }
                if let Some(lm) = s.head.get("last-modified") {
                    b.set("If-Modified-Since", lm);
                }
            }
        }
        if !pass && self.params.http_gzip_support {
            // Every cache fetch asks for gzip: one object serves both kinds of clients.
            b.set("Accept-Encoding", "gzip");
        }
        b.proto = "HTTP/1.1".into();
        b.set("X-Varnish", xid.to_string());
        b
    }

    /// Sends bereq to the backend VCL chose; returns the response head and body.
    async fn send_bereq(
        &self,
        loaded: &Loaded,
        ctx: &Ctx,
        body: ProxyBody,
        trace: &mut Trace,
    ) -> Result<(Msg, hyper::body::Incoming), String> {
        let target = ctx.bereq_backend.or(ctx.backend_hint);
        let Some(backend) = loaded.backends.resolve(target) else {
            let name = loaded
                .backends
                .name(target.unwrap_or(BackendRef::Backend(0)));
            return Err(format!(
                "el backend `{name}` está enfermo (sick) o no tiene miembros sanos"
            ));
        };
        trace.add(
            "BackendOpen",
            format!(
                "{} {}:{}",
                backend.def.name, backend.def.host, backend.def.port
            ),
        );
        let mut builder = http::Request::builder()
            .method(ctx.bereq.method.as_str())
            .uri(ctx.bereq.url.as_str());
        let mut has_host = false;
        for (n, v) in &ctx.bereq.headers {
            has_host |= n.eq_ignore_ascii_case("host");
            builder = builder.header(n.as_str(), v.as_str());
        }
        if !has_host {
            // Like Varnish: the backend's host_header, else its .host.
            let h = backend
                .def
                .host_header
                .as_deref()
                .unwrap_or(&backend.def.host);
            builder = builder.header("Host", h);
        }
        let req = builder
            .body(body)
            .map_err(|e| format!("petición al backend no válida: {e}"))?;
        let resp = loaded.backends.send(&backend, req).await?;
        let (parts, incoming) = resp.into_parts();
        let mut m = Msg {
            proto: format!("{:?}", parts.version),
            status: parts.status.as_u16(),
            reason: parts
                .extensions
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| String::from_utf8_lossy(r.as_bytes()).to_string())
                .unwrap_or_else(|| parts.status.canonical_reason().unwrap_or("").to_string()),
            ..Msg::default()
        };
        let mut parts = parts;
        match parts.extensions.remove::<super::backend::BackendHead>() {
            // As the backend spelled and ordered them, as Varnish keeps them.
            Some(super::backend::BackendHead(list)) => m.headers = list,
            None => {
                for (n, v) in &parts.headers {
                    m.headers.push((
                        title_case(n.as_str()),
                        String::from_utf8_lossy(v.as_bytes()).to_string(),
                    ));
                }
            }
        }
        strip_hop_by_hop(&mut m);
        Ok((m, incoming))
    }

    /// A cache fetch (miss, hit-for-miss or background refresh): runs in its own task so
    /// waiting requests and the client stream the body while it arrives.
    pub async fn fetch(self: &Arc<Self>, loaded: Arc<Loaded>, job: FetchJob) -> Fetched {
        let xid = self.next_xid();
        let mut trace = Trace::default();
        trace.add(
            "Begin",
            format!(
                "bereq {} {}",
                job.client.xid,
                if job.background { "bgfetch" } else { "fetch" }
            ),
        );
        let mut ctx = Ctx {
            bereq: self.make_bereq(&job.req, false, job.stale.as_deref(), xid),
            bereq_xid: xid,
            xid: job.client.xid,
            client_ip: job.client.client_ip,
            server_ip: job.client.server_ip,
            backend_hint: job.client.backend_hint,
            bereq_backend: job.client.backend_hint,
            now: self.clock.now(),
            hostname: self.hostname.clone(),
            ..Ctx::default()
        };
        let host = VclHost {
            proxy: self,
            loaded: &loaded,
        };
        let result = loop {
            ctx.now = self.clock.now();
            let a = run(&loaded.vcl.program, SubKind::BackendFetch, &mut ctx, &host);
            trace.add("VCL_call", "BACKEND_FETCH");
            trace.add("VCL_return", a.name());
            match a {
                Action::Fetch => {}
                Action::Abandon => break None,
                Action::Error(c, r) => {
                    break Some(self.backend_error(&loaded, &mut ctx, c, r, &mut trace))
                }
                _ => break Some(self.backend_error(&loaded, &mut ctx, 503, None, &mut trace)),
            }
            for (n, v) in &ctx.bereq.headers {
                trace.header("BereqHeader", n, v);
            }
            self.stats.s_fetch.fetch_add(1, Relaxed);
            let (beresp, incoming) = match self
                .send_bereq(&loaded, &ctx, ProxyBody::Empty, &mut trace)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    trace.add("FetchError", e);
                    self.stats.fetch_failed.fetch_add(1, Relaxed);
                    break Some(self.backend_error(&loaded, &mut ctx, 503, None, &mut trace));
                }
            };
            trace.add("BerespStatus", beresp.status.to_string());
            let now = self.clock.now();
            let p = &self.params;
            let (ttl, grace, keep, age) =
                rfc_ttl(&beresp, now, p.default_ttl, p.default_grace, p.default_keep);
            ctx.beresp = beresp;
            ctx.ttl = ttl;
            ctx.grace = grace;
            ctx.keep = keep;
            ctx.beresp_age = age;
            ctx.do_stream = true;
            ctx.beresp_backend = loaded
                .backends
                .name(ctx.bereq_backend.unwrap_or(BackendRef::Backend(0)));
            let mut stale_body = None;
            if ctx.beresp.status == 304 {
                if let Some(stale) = &job.stale {
                    // Merge: the stored headers, updated by the 304's.
                    let mut merged = (*stale.head).clone();
                    for (n, v) in &ctx.beresp.headers {
                        if n.eq_ignore_ascii_case("content-length")
                            || n.eq_ignore_ascii_case("content-encoding")
                        {
                            continue;
                        }
                        merged.set(n, v.clone());
                    }
                    merged.proto = ctx.beresp.proto.clone();
                    ctx.beresp = merged;
                    ctx.was_304 = true;
                    let (ttl, grace, keep, age) = rfc_ttl(
                        &ctx.beresp,
                        now,
                        p.default_ttl,
                        p.default_grace,
                        p.default_keep,
                    );
                    ctx.ttl = ttl;
                    ctx.grace = grace;
                    ctx.keep = keep;
                    ctx.beresp_age = age;
                    stale_body = Some(Arc::clone(&stale.body));
                    trace.add("Fetch_Body", "304 fusionado con el objeto guardado");
                }
            }
            ctx.bereq_uncacheable = false;
            let a = run(
                &loaded.vcl.program,
                SubKind::BackendResponse,
                &mut ctx,
                &host,
            );
            trace.add("VCL_call", "BACKEND_RESPONSE");
            trace.add(
                "TTL",
                format!(
                    "VCL {:.0} {:.0} {:.0} {:.0}",
                    ctx.ttl, ctx.grace, ctx.keep, now
                ),
            );
            trace.add("VCL_return", a.name());
            match a {
                Action::Deliver | Action::PassFor(_) => {
                    let kind = match a {
                        Action::PassFor(d) => {
                            ctx.ttl = d;
                            ObjKind::HitPass
                        }
                        _ if ctx.beresp_uncacheable => ObjKind::HitMiss,
                        _ => ObjKind::Normal,
                    };
                    break Some(self.make_object(
                        &loaded, &job, &mut ctx, kind, incoming, stale_body, now, &mut trace,
                    ));
                }
                Action::Retry if ctx.retries < 4 => {
                    ctx.retries += 1;
                    continue;
                }
                Action::Abandon => break None,
                Action::Error(c, r) => {
                    break Some(self.backend_error(&loaded, &mut ctx, c, r, &mut trace))
                }
                _ => break Some(self.backend_error(&loaded, &mut ctx, 503, None, &mut trace)),
            }
        };
        trace.add("End", "");
        self.log.push("BeReq", xid, std::mem::take(&mut trace));
        match result {
            Some(f) => f,
            None => {
                if let Some(b) = &job.busy {
                    self.store.unbusy(&job.key, b);
                }
                let obj = self.synthetic_object(503, "Service Unavailable", String::new(), xid);
                Fetched { obj, error: true }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn make_object(
        self: &Arc<Self>,
        _loaded: &Loaded,
        job: &FetchJob,
        ctx: &mut Ctx,
        kind: ObjKind,
        incoming: hyper::body::Incoming,
        stale_body: Option<Arc<BodyBuf>>,
        now: f64,
        trace: &mut Trace,
    ) -> Fetched {
        let mut head = std::mem::take(&mut ctx.beresp);
        let length = head
            .get("content-length")
            .and_then(|l| l.trim().parse::<u64>().ok());
        let body_length = length;
        let length_at = head
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        let length_before = length_at
            .and_then(|i| head.headers.get(i + 1))
            .map(|(n, _)| n.clone());
        let length_name = length_at.map(|i| head.headers[i].0.clone());
        head.unset("content-length");
        let mut gzip = head
            .get("content-encoding")
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
        // beresp.do_gzip / do_gunzip: the body is (un)compressed while it is fetched.
        let transform = if ctx.do_gunzip && gzip {
            gzip = false;
            head.unset("content-encoding");
            Transform::Gunzip
        } else if ctx.do_gzip && !gzip && !head.has("content-encoding") {
            gzip = true;
            head.set("Content-Encoding", "gzip");
            match head.get("vary").map(str::to_string) {
                Some(v) if !v.to_ascii_lowercase().contains("accept-encoding") => {
                    head.set("Vary", format!("{v}, Accept-Encoding"))
                }
                Some(_) => {}
                None => head.set("Vary", "Accept-Encoding"),
            }
            Transform::Gzip
        } else {
            Transform::None
        };
        if transform != Transform::None {
            if let Some(etag) = head.get("etag").map(str::to_string) {
                if !etag.starts_with("W/") {
                    head.set("ETag", format!("W/{etag}"));
                }
            }
        }
        let length = if transform == Transform::None {
            length
        } else {
            None
        };
        let vary = vary_key(head.get("vary"), &job.req);
        let mut body_owner = None;
        let body_known = stale_body.is_none();
        let body = match stale_body {
            Some(b) => {
                // Drain the (empty) 304 body so the connection can be reused.
                tokio::spawn(async move {
                    let _ = incoming.collect().await;
                });
                b
            }
            None => {
                let buf = BodyBuf::new();
                let writer = Arc::clone(&buf);
                let proxy = Arc::clone(self);
                let (obj_tx, obj_rx) = tokio::sync::oneshot::channel::<Arc<Object>>();
                body_owner = Some(obj_tx);
                tokio::spawn(async move {
                    let mut incoming = incoming;
                    let mut total = 0u64;
                    let mut received = 0u64;
                    let mut ok = true;
                    let mut coder = Coder::new(transform);
                    while let Some(frame) = incoming.frame().await {
                        match frame {
                            Ok(f) => {
                                if let Ok(data) = f.into_data() {
                                    received += data.len() as u64;
                                    match coder.feed(data) {
                                        Some(out) => {
                                            total += out.len() as u64;
                                            writer.push(out);
                                        }
                                        None => {
                                            ok = false;
                                            break;
                                        }
                                    }
                                }
                            }
                            Err(_) => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    match coder.finish() {
                        Some(rest) => {
                            total += rest.len() as u64;
                            writer.push(rest);
                        }
                        None => ok = false,
                    }
                    if let Some(l) = body_length {
                        ok &= received == l;
                    }
                    if !ok {
                        proxy.stats.fetch_failed.fetch_add(1, Relaxed);
                    }
                    writer.finish(ok);
                    if kind == ObjKind::Normal {
                        if let Ok(obj) = obj_rx.await {
                            proxy.store.account(&obj, total);
                        }
                    }
                });
                buf
            }
        };
        let obj = Arc::new(Object {
            xid: ctx.bereq_xid,
            head: Arc::new(head),
            body,
            t_origin: now - ctx.beresp_age,
            t_inserted: now,
            ttl: ctx.ttl,
            grace: if kind == ObjKind::Normal {
                ctx.grace
            } else {
                0.0
            },
            keep: if kind == ObjKind::Normal {
                ctx.keep
            } else {
                0.0
            },
            kind,
            vary,
            hits: AtomicI64::new(0),
            last_used: AtomicU64::new(0),
            gzip,
            size: 512,
            length: if body_known { length } else { None },
            accounted: AtomicU64::new(0),
            gone: Default::default(),
            fast: Default::default(),
            length_before: if transform == Transform::None {
                length_before
            } else {
                None
            },
            length_name: if transform == Transform::None {
                length_name
            } else {
                None
            },
        });
        if let Some(tx) = body_owner {
            let _ = tx.send(Arc::clone(&obj));
        }
        let url = job.req.url.clone();
        match kind {
            ObjKind::Normal => {
                trace.add("Storage", "malloc s0");
                self.store.insert(
                    &job.key,
                    Arc::clone(&obj),
                    &url,
                    &job.req,
                    job.busy.as_ref(),
                );
            }
            _ => {
                // The marker is stored without a body; this request gets the body privately.
                let marker = Arc::new(Object {
                    xid: obj.xid,
                    head: Arc::clone(&obj.head),
                    body: BodyBuf::complete(Bytes::new()),
                    t_origin: obj.t_origin,
                    t_inserted: now,
                    ttl: obj.ttl,
                    grace: 0.0,
                    keep: 0.0,
                    kind,
                    vary: obj.vary.clone(),
                    hits: AtomicI64::new(0),
                    last_used: AtomicU64::new(0),
                    gzip,
                    size: 256,
                    length: None,
                    accounted: AtomicU64::new(0),
                    gone: Default::default(),
                    fast: Default::default(),
                    length_before: None,
                    length_name: None,
                });
                if obj.ttl > 0.0 {
                    self.store
                        .insert(&job.key, marker, &url, &job.req, job.busy.as_ref());
                } else if let Some(b) = &job.busy {
                    self.store.unbusy(&job.key, b);
                }
            }
        }
        Fetched { obj, error: false }
    }

    /// Runs vcl_backend_error and returns its page as a private object.
    fn backend_error(
        &self,
        loaded: &Loaded,
        ctx: &mut Ctx,
        status: u16,
        reason: Option<String>,
        trace: &mut Trace,
    ) -> Fetched {
        ctx.beresp = Msg {
            proto: "HTTP/1.1".into(),
            status,
            reason: reason.unwrap_or_else(|| {
                if status == 503 {
                    "Backend fetch failed".into()
                } else {
                    canonical_reason(status).into()
                }
            }),
            headers: vec![
                (
                    "Date".into(),
                    super::vcl::interp::http_date(self.clock.now()),
                ),
                ("Server".into(), "Varnish".into()),
            ],
            ..Msg::default()
        };
        ctx.ttl = 0.0;
        ctx.grace = 0.0;
        ctx.body = None;
        let host = VclHost {
            proxy: self,
            loaded,
        };
        let a = run(&loaded.vcl.program, SubKind::BackendError, ctx, &host);
        trace.add("VCL_call", "BACKEND_ERROR");
        trace.add("VCL_return", a.name());
        let body = ctx.body.take().unwrap_or_default();
        let mut head = std::mem::take(&mut ctx.beresp);
        head.unset("content-length");
        let obj = Arc::new(Object {
            xid: ctx.bereq_xid,
            head: Arc::new(head),
            body: BodyBuf::complete(Bytes::from(body)),
            t_origin: self.clock.now(),
            t_inserted: self.clock.now(),
            ttl: 0.0,
            grace: 0.0,
            keep: 0.0,
            kind: ObjKind::HitMiss,
            vary: None,
            hits: AtomicI64::new(0),
            last_used: AtomicU64::new(0),
            gzip: false,
            size: 0,
            length: None,
            accounted: AtomicU64::new(0),
            gone: Default::default(),
            fast: Default::default(),
            length_before: None,
            length_name: None,
        });
        Fetched { obj, error: true }
    }

    pub fn synthetic_object(
        &self,
        status: u16,
        reason: &str,
        body: String,
        xid: u64,
    ) -> Arc<Object> {
        Arc::new(Object {
            xid,
            head: Arc::new(Msg {
                proto: "HTTP/1.1".into(),
                status,
                reason: reason.into(),
                ..Msg::default()
            }),
            body: BodyBuf::complete(Bytes::from(body)),
            t_origin: self.clock.now(),
            t_inserted: self.clock.now(),
            ttl: 0.0,
            grace: 0.0,
            keep: 0.0,
            kind: ObjKind::HitMiss,
            vary: None,
            hits: AtomicI64::new(0),
            last_used: AtomicU64::new(0),
            gzip: false,
            size: 0,
            length: None,
            accounted: AtomicU64::new(0),
            gone: Default::default(),
            fast: Default::default(),
            length_before: None,
            length_name: None,
        })
    }

    /// A pass: the backend's body goes straight to the client, never buffered whole.
    pub async fn fetch_pass(
        self: &Arc<Self>,
        loaded: &Arc<Loaded>,
        client: &Ctx,
        body: ProxyBody,
        trace_parent: &mut Trace,
    ) -> Result<(Msg, ProxyBody, u64), (Fetched, u64)> {
        let xid = self.next_xid();
        let mut trace = Trace::default();
        trace.add_fmt("Begin", format_args!("bereq {} pass", client.xid));
        let mut ctx = Ctx {
            bereq: self.make_bereq(&client.req, true, None, xid),
            bereq_xid: xid,
            xid: client.xid,
            client_ip: client.client_ip,
            server_ip: client.server_ip,
            backend_hint: client.backend_hint,
            bereq_backend: client.backend_hint,
            bereq_uncacheable: true,
            now: self.clock.now(),
            hostname: self.hostname.clone(),
            ..Ctx::default()
        };
        let host = VclHost {
            proxy: self,
            loaded,
        };
        let a = run(&loaded.vcl.program, SubKind::BackendFetch, &mut ctx, &host);
        trace.add("VCL_call", "BACKEND_FETCH");
        trace.add("VCL_return", a.name());
        let outcome = match a {
            Action::Fetch => {
                let body = if ctx.bereq_body_unset {
                    ProxyBody::Empty
                } else {
                    body
                };
                for (n, v) in &ctx.bereq.headers {
                    trace.header("BereqHeader", n, v);
                }
                self.stats.s_fetch.fetch_add(1, Relaxed);
                match self.send_bereq(loaded, &ctx, body, &mut trace).await {
                    Ok((beresp, incoming)) => {
                        trace.add("BerespStatus", beresp.status.to_string());
                        ctx.beresp = beresp;
                        ctx.ttl = -1.0;
                        let a = run(
                            &loaded.vcl.program,
                            SubKind::BackendResponse,
                            &mut ctx,
                            &host,
                        );
                        trace.add("VCL_call", "BACKEND_RESPONSE");
                        trace.add("VCL_return", a.name());
                        match a {
                            Action::Deliver | Action::PassFor(_) => {
                                // Content-Length stays where the backend put it (the
                                // delivery writes the parsed length there).
                                let head = std::mem::take(&mut ctx.beresp);
                                Ok((head, ProxyBody::Incoming(incoming), xid))
                            }
                            Action::Error(c, r) => {
                                Err(self.backend_error(loaded, &mut ctx, c, r, &mut trace))
                            }
                            _ => Err(self.backend_error(loaded, &mut ctx, 503, None, &mut trace)),
                        }
                    }
                    Err(e) => {
                        trace.add("FetchError", e);
                        self.stats.fetch_failed.fetch_add(1, Relaxed);
                        Err(self.backend_error(loaded, &mut ctx, 503, None, &mut trace))
                    }
                }
            }
            Action::Error(c, r) => Err(self.backend_error(loaded, &mut ctx, c, r, &mut trace)),
            _ => Err(self.backend_error(loaded, &mut ctx, 503, None, &mut trace)),
        };
        trace.add("End", "");
        self.log.push("BeReq", xid, std::mem::take(&mut trace));
        trace_parent.add("Link", format!("bereq {xid} pass"));
        outcome.map_err(|f| (f, xid))
    }
}

/// What happens to a body while it is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    None,
    Gzip,
    Gunzip,
}

/// Compresses or decompresses chunk by chunk.
enum Coder {
    None,
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Gunzip(flate2::write::GzDecoder<Vec<u8>>),
}

impl Coder {
    fn new(t: Transform) -> Coder {
        match t {
            Transform::None => Coder::None,
            Transform::Gzip => Coder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
            Transform::Gunzip => Coder::Gunzip(flate2::write::GzDecoder::new(Vec::new())),
        }
    }

    /// Output for one input chunk (possibly empty); `None` on a broken gzip stream.
    fn feed(&mut self, data: Bytes) -> Option<Bytes> {
        use std::io::Write as _;
        match self {
            Coder::None => Some(data),
            Coder::Gzip(e) => {
                e.write_all(&data).ok()?;
                Some(Bytes::from(std::mem::take(e.get_mut())))
            }
            Coder::Gunzip(d) => {
                d.write_all(&data).ok()?;
                Some(Bytes::from(std::mem::take(d.get_mut())))
            }
        }
    }

    fn finish(self) -> Option<Bytes> {
        match self {
            Coder::None => Some(Bytes::new()),
            Coder::Gzip(e) => e.finish().ok().map(Bytes::from),
            Coder::Gunzip(d) => d.finish().ok().map(Bytes::from),
        }
    }
}

pub fn canonical_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}
