//! The proxy end to end: a real backend (a small HTTP server counting requests), the proxy
//! on a free port, and a raw HTTP/1.1 client. Time-dependent tests run with tokio's clock
//! paused, which the proxy's clock follows.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::config::Params;
use super::vcl::compile;
use super::ProxyRole;
use crate::config::diagnostic::Span;
use crate::config::model::Listen;

/// What the backend answers for a path: (status, headers, body, delay).
type Route = (u16, Vec<(&'static str, String)>, Bytes, Duration);

type Headers = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Backend {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
    /// Request headers of the last request per path.
    seen: Arc<Mutex<HashMap<String, Headers>>>,
    routes: Arc<Mutex<HashMap<String, Route>>>,
}

impl Backend {
    fn route(&self, path: &str, status: u16, headers: &[(&'static str, &str)], body: &str) {
        self.routes.lock().unwrap().insert(
            path.into(),
            (
                status,
                headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
                Bytes::from(body.to_string()),
                Duration::ZERO,
            ),
        );
    }

    fn route_bytes(&self, path: &str, headers: &[(&'static str, &str)], body: Vec<u8>) {
        self.routes.lock().unwrap().insert(
            path.into(),
            (
                200,
                headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
                Bytes::from(body),
                Duration::ZERO,
            ),
        );
    }

    fn slow(&self, path: &str, delay: Duration) {
        if let Some(r) = self.routes.lock().unwrap().get_mut(path) {
            r.3 = delay;
        }
    }

    fn count(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn seen(&self, path: &str, header: &str) -> Option<String> {
        self.seen.lock().unwrap().get(path).and_then(|h| {
            h.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(header))
                .map(|(_, v)| v.clone())
        })
    }

    async fn start(&self) -> SocketAddr {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = tcp.accept().await else {
                    return;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let me = me.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            me.total.fetch_add(1, SeqCst);
                            *me.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                            me.seen.lock().unwrap().insert(
                                path.clone(),
                                req.headers()
                                    .iter()
                                    .map(|(n, v)| {
                                        (n.to_string(), v.to_str().unwrap_or("").to_string())
                                    })
                                    .collect(),
                            );
                            let route = me.routes.lock().unwrap().get(&path).cloned();
                            let (status, headers, body, delay) = route.unwrap_or((
                                200,
                                vec![],
                                Bytes::from(format!("body of {path} #{}", me.count(&path))),
                                Duration::ZERO,
                            ));
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            let inm = req
                                .headers()
                                .get("if-none-match")
                                .map(|v| v.to_str().unwrap_or("").to_string());
                            let etag = headers
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case("etag"))
                                .map(|(_, v)| v.clone());
                            let mut b = http::Response::builder();
                            let (status, body) = if inm.is_some() && inm == etag {
                                (304, Bytes::new())
                            } else {
                                (status, body)
                            };
                            b = b.status(status);
                            for (n, v) in &headers {
                                b = b.header(*n, v.as_str());
                            }
                            if status == 304 {
                                b = b.header("X-Revalidated", "yes");
                            }
                            Ok::<_, Infallible>(b.body(Full::new(body)).unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        addr
    }
}

async fn proxy_with(vcl_body: &str, backend: SocketAddr, params: Params) -> ProxyRole {
    let text = format!(
        "vcl 4.1;\nbackend default {{ .host = \"127.0.0.1\"; .port = \"{}\"; }}\n{vcl_body}",
        backend.port()
    );
    let (vcl, _) =
        compile(&text, std::path::Path::new("test.vcl")).unwrap_or_else(|d| panic!("{d:?}"));
    let cfg = super::config::ProxyConfig {
        listens: vec![Listen {
            addr: None,
            port: 0,
            bind: "127.0.0.1:0".parse().unwrap(),
            span: Span::new(Arc::new("x".into()), 1, 1, 1),
        }],
        vcl_written: "test.vcl".into(),
        vcl_path: "test.vcl".into(),
        storage: 64 * 1024 * 1024,
        params,
        vcl: Arc::new(vcl),
        unit_files: vec![],
        exec_span: None,
    };
    ProxyRole::start(&cfg).await.unwrap()
}

async fn setup(vcl_body: &str) -> (Backend, ProxyRole, SocketAddr) {
    let be = Backend::default();
    let addr = be.start().await;
    let role = proxy_with(vcl_body, addr, Params::default()).await;
    let at = role.bound()[0].1;
    (be, role, at)
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    raw: Vec<u8>,
}

impl Resp {
    fn h(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a new connection, with hyper's client.
async fn get(at: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let s = tokio::net::TcpStream::connect(at).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Host", "test.localhost");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let resp = send
        .send_request(b.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let raw = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let body = String::from_utf8_lossy(&raw).to_string();
    Resp {
        status,
        headers,
        body,
        raw,
    }
}

#[tokio::test]
async fn miss_then_hit_with_varnish_headers() {
    let (be, _role, at) = setup("").await;
    let a = get(at, "GET", "/a", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, "body of /a #1");
    let xid1: Vec<&str> = a.h("x-varnish").unwrap().split(' ').collect();
    assert_eq!(xid1.len(), 1, "a miss has one id");
    assert_eq!(a.h("age"), Some("0"));
    assert_eq!(a.h("via"), Some("1.1 varnish (Varnish/7.1)"));
    assert_eq!(a.h("accept-ranges"), Some("bytes"));
    let b = get(at, "GET", "/a", &[]).await;
    assert_eq!(b.body, "body of /a #1");
    let xid2: Vec<&str> = b.h("x-varnish").unwrap().split(' ').collect();
    assert_eq!(xid2.len(), 2, "a hit has two ids");
    assert_eq!(be.count("/a"), 1);
    // The backend saw what Varnish sends on a cache fetch.
    assert_eq!(
        be.seen("/a", "x-forwarded-for").as_deref(),
        Some("127.0.0.1")
    );
    assert!(be.seen("/a", "x-varnish").is_some());
    // The object's X-Varnish id (the fetch) is the second number of the hit.
    assert_eq!(xid2[1], be.seen("/a", "x-varnish").unwrap());
}

#[tokio::test]
async fn cookie_and_post_pass() {
    let (be, _role, at) = setup("").await;
    get(at, "GET", "/c", &[("Cookie", "a=1")]).await;
    let r = get(at, "GET", "/c", &[("Cookie", "a=1")]).await;
    assert_eq!(be.count("/c"), 2);
    assert_eq!(r.h("x-varnish").unwrap().split(' ').count(), 1);
    assert_eq!(r.h("accept-ranges"), None, "no Accept-Ranges on a pass");
    get(at, "POST", "/p", &[]).await;
    get(at, "POST", "/p", &[]).await;
    assert_eq!(be.count("/p"), 2);
}

#[tokio::test]
async fn set_cookie_makes_hit_for_miss_then_cacheable_answer_is_stored() {
    let (be, role, at) = setup("").await;
    be.route("/s", 200, &[("Set-Cookie", "x=1")], "one");
    get(at, "GET", "/s", &[]).await;
    get(at, "GET", "/s", &[]).await;
    assert_eq!(be.count("/s"), 2);
    let st = &role.proxy.stats;
    assert_eq!(st.cache_hitmiss.load(SeqCst), 1);
    // The backend stops sending Set-Cookie: hit-for-miss is a miss, so this is stored.
    be.route("/s", 200, &[], "two");
    get(at, "GET", "/s", &[]).await;
    let r = get(at, "GET", "/s", &[]).await;
    assert_eq!(r.body, "two");
    assert_eq!(be.count("/s"), 3);
    assert_eq!(r.h("x-varnish").unwrap().split(' ').count(), 2);
}

#[tokio::test]
async fn hit_for_pass_from_vcl() {
    let (be, role, at) = setup("sub vcl_backend_response {\n  return (pass(60s));\n}\n").await;
    get(at, "GET", "/hp", &[]).await;
    get(at, "GET", "/hp", &[]).await;
    assert_eq!(be.count("/hp"), 2);
    assert_eq!(role.proxy.stats.cache_hitpass.load(SeqCst), 1);
}

#[tokio::test]
async fn statuses_and_max_age() {
    let (be, _role, at) = setup("").await;
    be.route("/404", 404, &[], "nope");
    be.route("/500", 500, &[], "err");
    be.route("/302", 302, &[("Location", "/x")], "");
    be.route(
        "/302m",
        302,
        &[("Location", "/x"), ("Cache-Control", "max-age=60")],
        "",
    );
    be.route("/bad", 200, &[("Cache-Control", "max-age=abc")], "b");
    be.route("/priv", 200, &[("Cache-Control", "private")], "p");
    be.route("/vary", 200, &[("Vary", "*")], "v");
    be.route("/sc", 200, &[("Surrogate-Control", "no-store")], "s");
    for p in [
        "/404", "/500", "/302", "/302m", "/bad", "/priv", "/vary", "/sc",
    ] {
        get(at, "GET", p, &[]).await;
        get(at, "GET", p, &[]).await;
    }
    assert_eq!(be.count("/404"), 1, "404 gets default_ttl");
    assert_eq!(be.count("/500"), 2, "500 is never cached");
    assert_eq!(be.count("/302"), 2, "302 only with explicit freshness");
    assert_eq!(be.count("/302m"), 1);
    assert_eq!(be.count("/bad"), 2, "unparsable max-age is 0");
    assert_eq!(be.count("/priv"), 2);
    assert_eq!(be.count("/vary"), 2);
    assert_eq!(be.count("/sc"), 2);
}

#[tokio::test]
async fn coalescing_100_concurrent_misses_make_one_backend_request() {
    let (be, role, at) = setup("").await;
    be.route("/slow", 200, &[("Cache-Control", "max-age=60")], "shared");
    be.slow("/slow", Duration::from_millis(300));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        tasks.push(tokio::spawn(get(at, "GET", "/slow", &[])));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.body, "shared");
    }
    assert_eq!(be.count("/slow"), 1);
    assert!(role.proxy.stats.busy_sleep.load(SeqCst) >= 1);
}

#[tokio::test]
async fn coalesced_uncacheable_answer_sends_waiters_to_the_backend() {
    let (be, _role, at) = setup("").await;
    be.route("/u", 200, &[("Cache-Control", "private")], "mine");
    be.slow("/u", Duration::from_millis(200));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        tasks.push(tokio::spawn(get(at, "GET", "/u", &[])));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().body, "mine");
    }
    assert_eq!(be.count("/u"), 5, "hit-for-miss: every waiter fetches");
}

#[tokio::test]
async fn vary_keeps_variants() {
    let (be, _role, at) = setup("").await;
    be.route("/v", 200, &[("Vary", "Accept-Language")], "v");
    get(at, "GET", "/v", &[("Accept-Language", "es")]).await;
    get(at, "GET", "/v", &[("Accept-Language", "en")]).await;
    get(at, "GET", "/v", &[("Accept-Language", "es")]).await;
    let r = get(at, "GET", "/v", &[("Accept-Language", "en")]).await;
    assert_eq!(be.count("/v"), 2);
    assert_eq!(r.h("x-varnish").unwrap().split(' ').count(), 2);
}

const PURGE_VCL: &str = "acl purgers { \"127.0.0.1\"; }\nsub vcl_recv {\n  if (req.method == \"PURGE\") {\n    if (!client.ip ~ purgers) { return (synth(405, \"Not allowed\")); }\n    return (purge);\n  }\n  if (req.method == \"BAN\") {\n    ban(\"req.url ~ \" + req.url);\n    return (synth(200, \"Ban added\"));\n  }\n}\n";

#[tokio::test]
async fn purge_removes_every_variant() {
    let (be, role, at) = setup(PURGE_VCL).await;
    be.route("/v", 200, &[("Vary", "Accept-Language")], "v");
    get(at, "GET", "/v", &[("Accept-Language", "es")]).await;
    get(at, "GET", "/v", &[("Accept-Language", "en")]).await;
    let p = get(at, "PURGE", "/v", &[]).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Purged"));
    assert_eq!(role.proxy.stats.n_obj_purged.load(SeqCst), 2);
    // Purging what is not cached answers 200 too.
    assert_eq!(get(at, "PURGE", "/nothing", &[]).await.status, 200);
    get(at, "GET", "/v", &[("Accept-Language", "es")]).await;
    assert_eq!(be.count("/v"), 3);
}

#[tokio::test]
async fn purge_without_vcl_is_piped() {
    let (be, _role, at) = setup("").await;
    let r = get(at, "PURGE", "/x", &[]).await;
    assert_eq!(be.count("/x"), 1, "piped to the backend");
    assert_eq!(r.h("x-varnish"), None, "pipe adds no X-Varnish");
}

#[tokio::test]
async fn ban_from_vcl_and_from_the_tool() {
    let (be, role, at) = setup(PURGE_VCL).await;
    for p in ["/img/a.png", "/img/b.png", "/css/c.css"] {
        get(at, "GET", p, &[]).await;
    }
    assert_eq!(get(at, "BAN", "/img/", &[]).await.status, 200);
    for p in ["/img/a.png", "/img/b.png", "/css/c.css"] {
        get(at, "GET", p, &[]).await;
    }
    assert_eq!(be.count("/img/a.png"), 2);
    assert_eq!(be.count("/img/b.png"), 2);
    assert_eq!(be.count("/css/c.css"), 1);
    role.proxy.ban("req.url ~ \\.css$").unwrap();
    get(at, "GET", "/css/c.css", &[]).await;
    assert_eq!(be.count("/css/c.css"), 2);
    assert!(role.proxy.ban("frobnicate").is_err());
}

#[tokio::test(start_paused = true)]
async fn ttl_then_grace_with_one_background_fetch() {
    let (be, _role, at) = setup("").await;
    be.route("/g", 200, &[("Cache-Control", "max-age=10")], "old");
    get(at, "GET", "/g", &[]).await;
    tokio::time::advance(Duration::from_secs(5)).await;
    let r = get(at, "GET", "/g", &[]).await;
    assert_eq!(r.h("age"), Some("5"));
    assert_eq!(be.count("/g"), 1);
    // Past the TTL, inside the default 10 s grace: stale answer, one refresh.
    be.route("/g", 200, &[("Cache-Control", "max-age=10")], "new");
    be.slow("/g", Duration::from_secs(1));
    tokio::time::advance(Duration::from_secs(7)).await;
    let r = get(at, "GET", "/g", &[]).await;
    assert_eq!(r.body, "old");
    assert_eq!(
        r.h("age"),
        Some("12"),
        "Age keeps growing past the TTL in grace"
    );
    let r = get(at, "GET", "/g", &[]).await;
    assert_eq!(r.body, "old");
    tokio::time::advance(Duration::from_secs(2)).await;
    tokio::task::yield_now().await;
    let r = get(at, "GET", "/g", &[]).await;
    assert_eq!(r.body, "new");
    assert_eq!(be.count("/g"), 2, "one background fetch");
    // Past ttl + grace: a plain miss.
    tokio::time::advance(Duration::from_secs(30)).await;
    be.slow("/g", Duration::ZERO);
    get(at, "GET", "/g", &[]).await;
    assert_eq!(be.count("/g"), 3);
}

#[tokio::test(start_paused = true)]
async fn keep_revalidates_with_304_merged() {
    let be = Backend::default();
    let addr = be.start().await;
    let params = Params {
        default_grace: 0.0,
        default_keep: 3600.0,
        ..Params::default()
    };
    let role = proxy_with("", addr, params).await;
    let at = role.bound()[0].1;
    be.route(
        "/k",
        200,
        &[
            ("Cache-Control", "max-age=5"),
            ("ETag", "\"v1\""),
            ("X-Old", "1"),
        ],
        "kept body",
    );
    get(at, "GET", "/k", &[]).await;
    tokio::time::advance(Duration::from_secs(10)).await;
    let r = get(at, "GET", "/k", &[]).await;
    assert_eq!(be.count("/k"), 2);
    assert_eq!(be.seen("/k", "if-none-match").as_deref(), Some("\"v1\""));
    assert_eq!(
        r.status, 200,
        "the client gets the stored body, not the 304"
    );
    assert_eq!(r.body, "kept body");
    assert_eq!(
        r.h("x-revalidated"),
        Some("yes"),
        "304 headers are merged in"
    );
    assert_eq!(r.h("x-old"), Some("1"));
    let r = get(at, "GET", "/k", &[]).await;
    assert_eq!(be.count("/k"), 2, "refreshed object is fresh again");
    assert_eq!(r.body, "kept body");
}

#[tokio::test]
async fn conditional_and_range_from_cache() {
    let (be, _role, at) = setup("").await;
    be.route("/r", 200, &[("ETag", "\"e1\"")], "0123456789");
    get(at, "GET", "/r", &[]).await;
    let r = get(at, "GET", "/r", &[("If-None-Match", "\"x\", \"e1\"")]).await;
    assert_eq!(r.status, 304);
    let r = get(at, "GET", "/r", &[("If-None-Match", "*")]).await;
    assert_eq!(r.status, 304);
    let r = get(at, "GET", "/r", &[("Range", "bytes=2-4")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, "234");
    assert_eq!(r.h("content-range"), Some("bytes 2-4/10"));
    let r = get(at, "GET", "/r", &[("Range", "bytes=20-")]).await;
    assert_eq!(r.status, 416);
    let r = get(at, "HEAD", "/r", &[]).await;
    assert_eq!(r.body, "");
    assert_eq!(r.h("content-length"), Some("10"));
    assert_eq!(be.count("/r"), 1);
}

#[tokio::test]
async fn backend_down_gives_guru_meditation_503() {
    let (_be, role, at) = setup("").await;
    drop(role);
    let be = Backend::default();
    let _ = be;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let role = proxy_with("", dead, Params::default()).await;
    let at2 = role.bound()[0].1;
    let r = get(at2, "GET", "/", &[]).await;
    assert_eq!(r.status, 503);
    assert!(r.body.contains("Backend fetch failed"), "{}", r.body);
    assert!(r.body.contains("Guru Meditation"));
    assert_eq!(r.h("via"), Some("1.1 varnish (Varnish/7.1)"));
    assert_eq!(role.proxy.stats.backend_fail.load(SeqCst), 1);
    let _ = at;
}

#[tokio::test]
async fn synth_has_no_via_and_one_xid() {
    let (_be, _role, at) = setup(
        "sub vcl_recv {\n  if (req.url == \"/teapot\") { return (synth(418, \"Tetera\")); }\n}\n",
    )
    .await;
    let r = get(at, "GET", "/teapot", &[]).await;
    assert_eq!(r.status, 418);
    assert_eq!(r.h("via"), None);
    assert_eq!(r.h("server"), Some("Varnish"));
    assert!(r.body.contains("<title>418 Tetera</title>"));
    assert_eq!(r.h("x-varnish").unwrap().split(' ').count(), 1);
}

#[tokio::test]
async fn http10_without_host_is_hashed_by_server_ip() {
    let (be, _role, at) = setup("").await;
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    s.write_all(b"GET /old HTTP/1.0\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    // Varnish answers an HTTP/1.0 client with an HTTP/1.1 status line, and closes.
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
    assert!(
        be.seen("/old", "host").as_deref() == Some("127.0.0.1"),
        "Varnish adds the backend's host"
    );
    assert_eq!(be.count("/old"), 1);
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    s.write_all(b"GET /old HTTP/1.1\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let out = String::from_utf8_lossy(&buf[..n]);
    assert!(
        out.starts_with("HTTP/1.1 400"),
        "HTTP/1.1 needs Host: {out}"
    );
}

#[tokio::test]
async fn lru_evicts_over_the_storage_limit() {
    let be = Backend::default();
    let addr = be.start().await;
    let text = format!(
        "vcl 4.1;\nbackend default {{ .host = \"127.0.0.1\"; .port = \"{}\"; }}\n",
        addr.port()
    );
    let (vcl, _) = compile(&text, std::path::Path::new("t.vcl")).unwrap();
    let cfg = super::config::ProxyConfig {
        listens: vec![Listen {
            addr: None,
            port: 0,
            bind: "127.0.0.1:0".parse().unwrap(),
            span: Span::new(Arc::new("x".into()), 1, 1, 1),
        }],
        vcl_written: "t.vcl".into(),
        vcl_path: "t.vcl".into(),
        storage: 8 * 1024,
        params: Params::default(),
        vcl: Arc::new(vcl),
        unit_files: vec![],
        exec_span: None,
    };
    let role = ProxyRole::start(&cfg).await.unwrap();
    let at = role.bound()[0].1;
    let big = "x".repeat(3000);
    for i in 0..6 {
        be.route(&format!("/big{i}"), 200, &[], &big);
        get(at, "GET", &format!("/big{i}"), &[]).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(role.proxy.stats.n_lru_nuked.load(SeqCst) >= 2);
    assert!(role.proxy.store.bytes() <= 8 * 1024);
    get(at, "GET", "/big0", &[]).await;
    assert_eq!(be.count("/big0"), 2, "the oldest was evicted");
}

#[tokio::test(start_paused = true)]
async fn director_with_probe_going_sick_and_back() {
    let good = Backend::default();
    let a1 = good.start().await;
    let other = Backend::default();
    let a2 = other.start().await;
    good.route("/health", 200, &[], "ok");
    other.route("/health", 200, &[], "ok");
    let text = format!(
        "vcl 4.1;\nimport directors;\nprobe p {{ .url = \"/health\"; .interval = 1s; .timeout = 1s; .window = 3; .threshold = 2; .initial = 3; }}\n\
         backend one {{ .host = \"127.0.0.1\"; .port = \"{}\"; .probe = p; }}\n\
         backend two {{ .host = \"127.0.0.1\"; .port = \"{}\"; .probe = p; }}\n\
         sub vcl_init {{\n  new rr = directors.round_robin();\n  rr.add_backend(one);\n  rr.add_backend(two);\n}}\n\
         sub vcl_recv {{\n  set req.backend_hint = rr.backend();\n  return (pass);\n}}\n",
        a1.port(),
        a2.port()
    );
    let (vcl, _) =
        compile(&text, std::path::Path::new("d.vcl")).unwrap_or_else(|d| panic!("{d:?}"));
    let cfg = super::config::ProxyConfig {
        listens: vec![Listen {
            addr: None,
            port: 0,
            bind: "127.0.0.1:0".parse().unwrap(),
            span: Span::new(Arc::new("x".into()), 1, 1, 1),
        }],
        vcl_written: "d.vcl".into(),
        vcl_path: "d.vcl".into(),
        storage: 1 << 20,
        params: Params::default(),
        vcl: Arc::new(vcl),
        unit_files: vec![],
        exec_span: None,
    };
    let role = ProxyRole::start(&cfg).await.unwrap();
    let at = role.bound()[0].1;
    for _ in 0..4 {
        get(at, "GET", "/x", &[]).await;
    }
    assert_eq!(good.count("/x"), 2);
    assert_eq!(other.count("/x"), 2);
    // `two` starts failing its probe: after two bad probes it leaves the rotation.
    other.route("/health", 500, &[], "bad");
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    for _ in 0..4 {
        get(at, "GET", "/x", &[]).await;
    }
    assert_eq!(good.count("/x"), 6);
    assert_eq!(other.count("/x"), 2);
    assert!(role.proxy.stat_text().contains("enfermo"));
    // And comes back.
    other.route("/health", 200, &[], "ok");
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    for _ in 0..4 {
        get(at, "GET", "/x", &[]).await;
    }
    assert_eq!(other.count("/x"), 4);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn one_gzipped_object_serves_both_kinds_of_client() {
    let (be, _role, at) = setup("").await;
    let text = "hola ".repeat(200);
    be.route_bytes(
        "/gz",
        &[
            ("Content-Encoding", "gzip"),
            ("Vary", "Accept-Encoding"),
            ("ETag", "\"z1\""),
        ],
        gzip(text.as_bytes()),
    );
    // A client without gzip: the cache fetch still asks the backend for gzip.
    let plain = get(at, "GET", "/gz", &[]).await;
    assert_eq!(be.seen("/gz", "accept-encoding").as_deref(), Some("gzip"));
    assert_eq!(plain.body, text);
    assert_eq!(plain.h("content-encoding"), None);
    // On the miss the length is there only if the object was complete when delivery began
    // (with Varnish too, it depends on timing); on a hit it is the gunzipped length.
    if let Some(l) = plain.h("content-length") {
        assert_eq!(l, text.len().to_string());
    }
    assert_eq!(
        plain.h("etag"),
        Some("W/\"z1\""),
        "the ETag is weak after gunzip"
    );
    // A gzip client gets the stored bytes, with their length; same object (a hit).
    let gz = get(at, "GET", "/gz", &[("Accept-Encoding", "gzip, deflate")]).await;
    assert_eq!(gz.h("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.raw), text.as_bytes());
    assert_eq!(
        gz.h("content-length").map(|l| l.parse::<usize>().unwrap()),
        Some(gz.raw.len())
    );
    assert_eq!(gz.h("x-varnish").unwrap().split(' ').count(), 2);
    let again = get(at, "GET", "/gz", &[("Accept-Encoding", "identity")]).await;
    assert_eq!(again.body, text);
    assert_eq!(
        again.h("content-length"),
        Some(text.len().to_string()).as_deref()
    );
    assert_eq!(be.count("/gz"), 1);
}

#[tokio::test]
async fn do_gzip_compresses_while_fetching() {
    let (be, _role, at) =
        setup("sub vcl_backend_response {\n  set beresp.do_gzip = true;\n}\n").await;
    let text = "texto ".repeat(300);
    be.route("/t", 200, &[("Content-Type", "text/plain")], &text);
    let gz = get(at, "GET", "/t", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(gz.h("content-encoding"), Some("gzip"));
    assert!(gz.h("vary").unwrap().contains("Accept-Encoding"));
    assert_eq!(gunzip(&gz.raw), text.as_bytes());
    let plain = get(at, "GET", "/t", &[]).await;
    assert_eq!(plain.body, text);
    assert_eq!(be.count("/t"), 1);
}

#[tokio::test]
async fn pass_keeps_the_clients_accept_encoding() {
    let (be, _role, at) = setup("").await;
    get(at, "POST", "/p", &[("Accept-Encoding", "br")]).await;
    assert_eq!(be.seen("/p", "accept-encoding").as_deref(), Some("br"));
}

/// The headers Varnish adds or rewrites, in order, with the count of ids in X-Varnish.
fn varnish_tail(headers: &[(String, String)]) -> Vec<String> {
    const NAMES: &[&str] = &[
        "content-length",
        "x-varnish",
        "age",
        "via",
        "accept-ranges",
        "connection",
    ];
    headers
        .iter()
        .filter(|(n, _)| NAMES.contains(&n.to_ascii_lowercase().as_str()))
        .map(|(n, v)| {
            let n = n.to_ascii_lowercase();
            match n.as_str() {
                "x-varnish" => format!("x-varnish:{}", v.split(' ').count()),
                "content-length" => n,
                _ => format!("{n}:{v}"),
            }
        })
        .collect()
}

/// Sections of a recorded transcript: (title, status, headers).
fn transcript(text: &str) -> Vec<(String, u16, Headers)> {
    let mut out = Vec::new();
    for section in text.split("=== ").skip(1) {
        let mut lines = section.lines();
        let title = lines.next().unwrap_or("").to_string();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.trim().to_string()))
            .collect();
        out.push((title, status, headers));
    }
    out
}

#[tokio::test]
async fn headers_match_the_recorded_varnish_transcript() {
    let recorded = transcript(include_str!("../../../tests/transcripts/varnish/basic.txt"));
    assert_eq!(recorded.len(), 7);
    let (be, _role, at) = setup("").await;
    be.route(
        "/cookie2",
        200,
        &[("Content-Type", "text/plain"), ("Set-Cookie", "a=b")],
        "c",
    );
    be.route("/404b", 404, &[("Content-Type", "text/plain")], "nope");
    let ours = vec![
        get(at, "GET", "/b1", &[]).await,
        get(at, "GET", "/b1", &[]).await,
        get(at, "GET", "/cookie2", &[]).await,
        get(at, "GET", "/cookie2", &[]).await,
        get(at, "GET", "/404b", &[]).await,
        get(at, "HEAD", "/h2", &[]).await,
        get(at, "GET", "/c3", &[("Cookie", "x=1")]).await,
    ];
    for ((title, status, headers), r) in recorded.iter().zip(&ours) {
        assert_eq!(r.status, *status, "{title}");
        assert_eq!(varnish_tail(&r.headers), varnish_tail(headers), "{title}");
    }
}

#[tokio::test]
async fn repeated_headers_survive_delivery() {
    let (be, _role, at) = setup("").await;
    be.route(
        "/two",
        200,
        &[
            ("X-Multi", "uno"),
            ("X-Multi", "dos"),
            ("Cache-Control", "max-age=60"),
        ],
        "x",
    );
    for _ in 0..2 {
        let r = get(at, "GET", "/two", &[]).await;
        let values: Vec<&str> = r
            .headers
            .iter()
            .filter(|(n, _)| n == "x-multi")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values, ["uno", "dos"]);
    }
}

/// A backend like the one the pipe transcript was recorded with: it answers every request
/// head it reads on a connection (`respuesta N`), ignores `Connection: close` and never
/// closes first. Returns its address and the heads it read, per connection.
async fn raw_backend() -> (SocketAddr, Arc<Mutex<Vec<Vec<String>>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let s = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let conn = {
                    let mut v = s.lock().unwrap();
                    v.push(Vec::new());
                    v.len() - 1
                };
                let mut buf = Vec::new();
                let mut n = 0;
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(r) = c.read(&mut chunk).await else {
                        return;
                    };
                    if r == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..r]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        n += 1;
                        s.lock().unwrap()[conn].push(head);
                        let body = format!("respuesta {n}\n");
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Req: {n}\r\n\r\n{body}",
                            body.len()
                        );
                        if c.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (at, seen)
}

/// The blocks of `pipe.txt`: what the client writes (`>`), reads (`<`), and the heads the
/// backend reads (`backend N:`), with `\r\n` spelled out.
/// One exchange of `pipe.txt`: the client's writes and reads, and the backend's heads.
type PipeBlock = (Vec<(char, String)>, Vec<String>);

fn pipe_transcript() -> Vec<PipeBlock> {
    let text = include_str!("../../../tests/transcripts/varnish/pipe.txt");
    let unescape = |s: &str| s.replace("\\r", "\r").replace("\\n", "\n");
    let mut out = Vec::new();
    for block in text.split("=== ").skip(1) {
        let mut io = Vec::new();
        let mut heads = Vec::new();
        for line in block.lines().skip(1) {
            if let Some(x) = line.strip_prefix("> ") {
                io.push(('>', unescape(x)));
            } else if let Some(x) = line.strip_prefix("< ") {
                io.push(('<', unescape(x)));
            } else if let Some((_, h)) = line
                .split_once(": ")
                .filter(|_| line.starts_with("backend "))
            {
                heads.push(unescape(h));
            }
        }
        out.push((io, heads));
    }
    out
}

/// The X-Varnish id differs between runs.
fn without_xid(head: &str) -> String {
    head.lines()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("x-varnish:") {
                "X-Varnish: N".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn pipe_is_a_tunnel_as_in_the_recorded_varnish_transcript() {
    let blocks = pipe_transcript();
    assert_eq!(blocks.len(), 2, "both recorded exchanges");
    for (io, heads) in blocks {
        let (be, seen) = raw_backend().await;
        let role = proxy_with(
            "sub vcl_recv { if (req.url ~ \"^/tunel\") { return (pipe); } }",
            be,
            Params::default(),
        )
        .await;
        let at = role.bound()[0].1;
        let mut c = tokio::net::TcpStream::connect(at).await.unwrap();
        for (dir, data) in &io {
            if *dir == '>' {
                c.write_all(data.as_bytes()).await.unwrap();
                continue;
            }
            let mut got = Vec::new();
            let mut chunk = [0u8; 4096];
            while got.len() < data.len() {
                let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut chunk))
                    .await
                    .expect("the tunnel stalled")
                    .unwrap();
                assert!(
                    n > 0,
                    "closed early; got {:?}",
                    String::from_utf8_lossy(&got)
                );
                got.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(String::from_utf8_lossy(&got), *data);
        }
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "one backend connection: {seen:?}");
        let got: Vec<String> = seen[0].iter().map(|h| without_xid(h)).collect();
        let want: Vec<String> = heads.iter().map(|h| without_xid(h)).collect();
        assert_eq!(got, want);
        // Nothing of the tunnelled requests reached VCL: only the first is logged.
        assert_eq!(role.proxy.stats.s_pipe.load(SeqCst), 1);
        role.stop();
    }
}

#[tokio::test]
async fn vcl_pipe_sees_upgrade_and_the_tunnel_ends_when_both_sides_close() {
    let (be, seen) = raw_backend().await;
    let role = proxy_with(
        "sub vcl_recv { if (req.http.upgrade ~ \"(?i)websocket\") { return (pipe); } }\n\
         sub vcl_pipe { if (req.http.upgrade) { set bereq.http.upgrade = req.http.upgrade; set bereq.http.connection = req.http.connection; } }",
        be,
        Params::default(),
    )
    .await;
    let at = role.bound()[0].1;
    let mut c = tokio::net::TcpStream::connect(at).await.unwrap();
    c.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .await
    .unwrap();
    // The client ends its side; the tunnel passes that on, the backend answers and closes,
    // and the client sees the answer and the end.
    c.shutdown().await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut got))
        .await
        .expect("the tunnel did not end with the backend")
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 "), "{text}");
    assert!(!text.to_ascii_lowercase().contains("x-varnish"), "{text}");
    assert!(text.ends_with("respuesta 1\n"), "{text}");
    // As recorded from Varnish: the headers vcl_pipe copied back, with their VCL spelling
    // in Varnish and Title-Case in the lab.
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let head = heads[0][0].to_ascii_lowercase();
    assert!(head.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(head.ends_with("\r\nconnection: upgrade"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    role.stop();
}

/// The backend of `range.txt` and `length_on_hits.txt` (as `backend_chunked.py`): 120 bytes (`NN-abcdefgh\n` ten times), max-age=60, with a
/// Content-Length on `/len*` and chunked on `/chunked*`; the second half of the body comes
/// 100 ms after the first, so a miss is answered while the object is still being fetched.
/// `/empty*` answers at once with `Content-Length: 0`, `/gz*` with `body.gz` (that body
/// gzipped), an ETag and `Vary: Accept-Encoding`.
async fn range_backend() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            tokio::spawn(async move {
                let body: String = (0..10).map(|i| format!("{i:02}-abcdefgh\n")).collect();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(r) = c.read(&mut chunk).await else {
                        return;
                    };
                    if r == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..r]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        if head.lines().next().unwrap_or("").contains(" /gz") {
                            let gz: &[u8] =
                                include_bytes!("../../../tests/transcripts/varnish/body.gz");
                            let mut out = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nETag: \"g1\"\r\nVary: Accept-Encoding\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                                gz.len()
                            )
                            .into_bytes();
                            out.extend_from_slice(gz);
                            if c.write_all(&out).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        if head.lines().next().unwrap_or("").contains(" /empty") {
                            let empty = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nContent-Length: 0\r\n\r\n";
                            if c.write_all(empty.as_bytes()).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        let chunked = head.contains(" /chunked");
                        let (a, b) = body.split_at(60);
                        let mut out = String::from(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\n",
                        );
                        let part = |s: &str| {
                            if chunked {
                                format!("{:x}\r\n{s}\r\n", s.len())
                            } else {
                                s.to_string()
                            }
                        };
                        if chunked {
                            out.push_str("Transfer-Encoding: chunked\r\n\r\n");
                        } else {
                            out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                        }
                        out.push_str(&part(a));
                        if c.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let mut rest = part(b);
                        if chunked {
                            rest.push_str("0\r\n\r\n");
                        }
                        if c.write_all(rest.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    at
}

/// The headers Varnish places itself, with the values that do not vary between runs.
fn range_tail(headers: &[(String, String)]) -> Vec<String> {
    const NAMES: &[&str] = &[
        "content-length",
        "x-varnish",
        "age",
        "via",
        "accept-ranges",
        "content-range",
        "connection",
        "transfer-encoding",
    ];
    headers
        .iter()
        .filter(|(n, _)| NAMES.contains(&n.to_ascii_lowercase().as_str()))
        .map(|(n, v)| {
            let n = n.to_ascii_lowercase();
            match n.as_str() {
                "x-varnish" => format!("x-varnish:{}", v.split(' ').count()),
                _ => format!("{n}:{v}"),
            }
        })
        .collect()
}

/// Replays a transcript recorded in front of `backend_chunked.py` against the lab's proxy in
/// front of [`range_backend`], which answers alike. Each title is `METHOD PATH` with at most
/// one header (`Name: value`); compares the status, what `view` keeps of the headers and the
/// body (but a gzipped one, written as a placeholder).
async fn replay_recorded(text: &str, count: usize, view: fn(&[(String, String)]) -> Vec<String>) {
    let recorded = transcript(text);
    let bodies: Vec<&str> = text
        .split("=== ")
        .skip(1)
        .map(|s| s.split_once("\n\n").map_or("", |(_, b)| b))
        .collect();
    assert_eq!(recorded.len(), count);
    let be = range_backend().await;
    let role = proxy_with("", be, Params::default()).await;
    let at = role.bound()[0].1;
    for ((title, status, headers), body) in recorded.iter().zip(bodies) {
        // "GET /len1 Range: bytes=0-9"
        let mut words = title.splitn(3, ' ');
        let (method, path) = (words.next().unwrap(), words.next().unwrap());
        let header = words.next().and_then(|h| h.split_once(": "));
        let r = get(at, method, path, header.as_slice()).await;
        assert_eq!(r.status, *status, "{title}");
        assert_eq!(view(&r.headers), view(headers), "{title}");
        if !body.starts_with("<gzip") {
            assert_eq!(r.body.trim_end(), body.trim_end(), "{title}");
        }
    }
    role.stop();
}

/// Every header but `Date`, in order, `X-Varnish` by its number of ids.
fn all_but_date(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("x-varnish") {
                format!("x-varnish:{}", v.split(' ').count())
            } else {
                format!("{}:{v}", n.to_ascii_lowercase())
            }
        })
        .collect()
}

#[tokio::test]
async fn ranges_on_misses_and_hits_match_the_recorded_varnish() {
    let text = include_str!("../../../tests/transcripts/varnish/range.txt");
    replay_recorded(text, 9, range_tail).await;
}

/// Where `Content-Length` goes on hits: in the backend's place on an object it sent with a
/// length, after `Accept-Ranges` on one it sent chunked (Varnish adds the stored length when
/// it delivers it), as recorded in `length_on_hits.txt`.
#[tokio::test]
async fn content_length_on_hits_matches_the_recorded_varnish() {
    let text = include_str!("../../../tests/transcripts/varnish/length_on_hits.txt");
    replay_recorded(text, 6, range_tail).await;
}

/// An empty body with `Content-Length: 0` keeps the length in the backend's place on a miss,
/// a hit, a HEAD hit and passes, as recorded in `empty_bodies.txt`.
#[tokio::test]
async fn empty_bodies_keep_their_length_in_place_as_recorded() {
    let text = include_str!("../../../tests/transcripts/varnish/empty_bodies.txt");
    replay_recorded(text, 5, range_tail).await;
}

/// A gzipped object: as stored to a client that accepts gzip; gunzipped for one that does
/// not, with a weak ETag before `Accept-Ranges` and the gunzipped length last; a Range of
/// the gunzipped body (206 and 416), as recorded in `gunzip.txt`. Every header but `Date`
/// is compared, in order (`X-Varnish` by its number of ids).
#[tokio::test]
async fn gunzipped_delivery_matches_the_recorded_varnish() {
    let text = include_str!("../../../tests/transcripts/varnish/gunzip.txt");
    replay_recorded(text, 6, all_but_date).await;
}

#[test]
fn range_header_parsing_follows_varnish() {
    use super::server::parse_range;
    // As recorded from Varnish 7.1 against a 120-byte object.
    for (h, want) in [
        ("bytes=0-9", Ok((0, 9))),
        ("bytes=110-", Ok((110, 119))),
        ("bytes=-5", Ok((115, 119))),
        ("bytes=0-", Ok((0, 119))),
        ("bytes=-200", Ok((0, 119))),
        ("bytes=119-119", Ok((119, 119))),
        ("bytes=100-500", Ok((100, 119))),
        ("bytes=120-", Err(())),
        ("bytes=-0", Err(())),
        ("bytes=5-2", Err(())),
        ("bytes=abc", Err(())),
        ("items=0-5", Err(())),
        ("bytes=0-1,5-6", Err(())),
        ("bytes= 3-4", Err(())),
    ] {
        assert_eq!(parse_range(h, 120), want, "{h}");
    }
}

#[tokio::test]
async fn log_queries_see_request_and_response_headers() {
    use super::query::{Grouping, Query};
    let (_be, role, at) = setup("").await;
    get(at, "GET", "/q1", &[("X-Alumno", "ana")]).await;
    get(at, "GET", "/q1", &[]).await;
    let log = &role.proxy.log;
    let count = |q: &str, g| {
        let q = Query::parse(q).unwrap();
        log.since_query(0, Some(&q), g).0.len()
    };
    assert_eq!(count("ReqHeader:X-Alumno eq ana", Grouping::Vxid), 1);
    assert_eq!(count("RespHeader:Via ~ varnish", Grouping::Vxid), 2);
    assert_eq!(
        count("RespHeader:X-Varnish ~ \" \"", Grouping::Vxid),
        1,
        "the hit"
    );
    // The miss with its backend request, selected by a record of the backend side.
    let q = Query::parse("BereqHeader:X-Varnish").unwrap();
    let (grouped, _) = log.since_query(0, Some(&q), Grouping::Request);
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    assert!(grouped[0].contains("**  << BeReq"), "{}", grouped[0]);
    role.stop();
}

/// Sends `request` on a new connection and reads until the proxy closes it.
async fn raw_exchange(at: SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the proxy closes after `Connection: close`")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// A response with the values that change from one request to the next blanked out.
fn stable(resp: &str) -> String {
    let out = resp
        .split("\r\n")
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("x-varnish:") {
                format!("X-Varnish: {} ids", l.split(' ').count() - 1)
            } else if lower.starts_with("date:") || lower.starts_with("age:") {
                l.split(':').next().unwrap_or("").to_string()
            } else if let Some(rest) = l.strip_prefix("HTTP/1.0 ") {
                format!("HTTP/1.1 {rest}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    regex::Regex::new(r"XID: [0-9]+")
        .unwrap()
        .replace_all(&out, "XID: N")
        .into_owned()
}

/// The proxy's own connection loop (requests without a body) and hyper (which serves a
/// connection once a request has a body framing header) write the same answers, byte for
/// byte but for ids, dates and the HTTP/1.0 status line.
#[tokio::test]
async fn own_loop_and_hyper_write_the_same_answers() {
    let (be, _role, at) = setup(
        r#"
sub vcl_recv {
    if (req.url == "/teapot") { return (synth(418, "Tetera")); }
}
sub vcl_deliver {
    set resp.http.X-Deliver = "yes";
    if (req.url == "/two") { set resp.http.Connection = "keep-alive"; }
}
"#,
    )
    .await;
    be.route(
        "/page",
        200,
        &[
            ("Cache-Control", "max-age=60"),
            ("ETag", "\"v1\""),
            ("Set-Cookie2", "a"),
            ("X-Multi", "1"),
            ("Set-Cookie2", "b"),
        ],
        "0123456789",
    );
    be.route("/missing", 404, &[("Cache-Control", "max-age=60")], "no");
    be.route("/empty", 204, &[("Cache-Control", "max-age=60")], "");
    // Warm the cache through both paths alike.
    for p in ["/page", "/missing", "/empty", "/two"] {
        let _ = get(at, "GET", p, &[]).await;
    }
    let cases: &[(&str, &str, &str)] = &[
        ("GET", "/page", ""),
        ("HEAD", "/page", ""),
        ("GET", "/page", "If-None-Match: \"v1\"\r\n"),
        ("GET", "/page", "Range: bytes=2-4\r\n"),
        ("GET", "/page", "Range: bytes=20-\r\n"),
        ("GET", "/page", "Cookie: a=1\r\n"),
        ("GET", "/missing", ""),
        ("GET", "/empty", ""),
        ("GET", "/teapot", ""),
        ("HEAD", "/teapot", ""),
        ("GET", "/two", ""),
        ("POST", "/page", ""),
    ];
    for (method, path, extra) in cases {
        for version in ["HTTP/1.1", "HTTP/1.0"] {
            let base = format!(
                "{method} {path} {version}\r\nHost: test.localhost\r\n{extra}Connection: close\r\n"
            );
            let own = raw_exchange(at, &format!("{base}\r\n")).await;
            let hyper = raw_exchange(at, &format!("{base}Content-Length: 0\r\n\r\n")).await;
            assert!(own.starts_with("HTTP/1.1 "), "{own}");
            assert_eq!(
                stable(&own),
                stable(&hyper),
                "{method} {path} {version} {extra}"
            );
        }
    }
}

/// What the proxy's own loop leaves to hyper still works on the same connection: a request
/// with a body after requests without one, pipelined requests, and a bad head.
#[tokio::test]
async fn own_loop_hands_over_to_hyper_mid_connection() {
    let (be, _role, at) = setup("").await;
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    s.write_all(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 4, "{out}");
    assert_eq!(out.matches("body of /a #1").count(), 3, "{out}");
    assert_eq!(be.count("/a"), 1);
    assert_eq!(be.count("/p"), 1);
    // A head hyper refuses gets hyper's 400, as before.
    let bad = raw_exchange(at, "GET /a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n").await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
}

/// A piped request reaches the backend with its header names spelled as the client sent
/// them, as Varnish sends them.
#[tokio::test]
async fn pipe_keeps_the_clients_header_spelling() {
    let (be, seen) = raw_backend().await;
    let role = proxy_with("sub vcl_recv { return (pipe); }", be, Params::default()).await;
    let at = role.bound()[0].1;
    let mut c = tokio::net::TcpStream::connect(at).await.unwrap();
    c.write_all(b"GET /t HTTP/1.1\r\nhost: x\r\nx-lower: 1\r\nX-MiXeD: 2\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let head = seen.lock().unwrap()[0][0].clone();
    assert!(
        head.starts_with("GET /t HTTP/1.1\r\nhost: x\r\nx-lower: 1\r\nX-MiXeD: 2\r\n"),
        "{head}"
    );
    role.stop();
}

/// Content-Length stays where the backend put it on a miss, a hit and a pass, as Varnish 7.1
/// delivers it (in front of Apache, whose Content-Length comes before Content-Type).
#[tokio::test]
async fn content_length_keeps_the_backends_place() {
    let (_be, _role, at) = setup("").await;
    _be.route(
        "/cl",
        200,
        &[
            ("Content-Length", "10"),
            ("Content-Type", "text/plain"),
            ("Cache-Control", "max-age=60"),
        ],
        "0123456789",
    );
    for extra in [&[][..], &[][..], &[("Cookie", "a=1")][..]] {
        let r = get(at, "GET", "/cl", extra).await;
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(
            pos("content-length") < pos("content-type"),
            "{:?} {names:?}",
            r.h("x-varnish")
        );
        assert_eq!(r.body, "0123456789");
    }
}

/// Reads one answer on a keep-alive connection: the head, then `Content-Length` bytes (or
/// the chunks up to the last one).
async fn read_answer(s: &mut tokio::net::TcpStream, head_only: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
    let done = |out: &[u8]| match head
        .lines()
        .filter(|_| !head_only)
        .find_map(|l| l.strip_prefix("content-length: "))
    {
        Some(l) => out.len() >= head_end + l.trim().parse::<usize>().unwrap(),
        None if !head_only && head.contains("transfer-encoding: chunked") => {
            out.ends_with(b"0\r\n\r\n")
        }
        None => true,
    };
    while !done(&out) {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A plain hit answered without the interpreter (builtin.vcl's client side) and the same
/// hit through the full path give the same bytes, the same counters and the same
/// `lab proxy log` records; what the short way does not take goes the full way.
#[tokio::test]
async fn plain_hits_answer_as_the_full_path() {
    let (be, role, at) = setup("\nsub vcl_recv {\n  # nada\n}\nsub vcl_deliver {\n}\n").await;
    let proxy = Arc::clone(&role.proxy);
    assert!(proxy.loaded.load().vcl.client_builtin);
    be.route(
        "/page",
        200,
        &[
            ("Cache-Control", "max-age=60"),
            ("ETag", "\"v1\""),
            ("Set-Cookie2", "a"),
            ("X-Multi", "1"),
            ("Via", "1.0 antes"),
            ("Set-Cookie2", "b"),
        ],
        "0123456789",
    );
    be.route("/missing", 404, &[("Cache-Control", "max-age=60")], "no");
    be.route("/empty", 204, &[("Cache-Control", "max-age=60")], "");
    be.route(
        "/big",
        200,
        &[("Cache-Control", "max-age=60")],
        &"b".repeat(40_000),
    );
    be.route_bytes(
        "/gz",
        &[
            ("Content-Encoding", "gzip"),
            ("Vary", "Accept-Encoding"),
            ("Cache-Control", "max-age=60"),
        ],
        gzip("hola ".repeat(100).as_bytes()),
    );
    // (request head, whether the short way takes it once the object is stored)
    let cases: &[(&str, bool)] = &[
        ("GET /page HTTP/1.1\r\nHost: test.localhost\r\n\r\n", true),
        (
            "GET /page HTTP/1.1\r\nhost: test.localhost\r\nuser-agent: x/1\r\nX-Forwarded-For: 10.0.0.1\r\nAccept-Encoding: br\r\n\r\n",
            true,
        ),
        ("GET /missing HTTP/1.1\r\nHost: test.localhost\r\n\r\n", true),
        ("GET /empty HTTP/1.1\r\nHost: test.localhost\r\n\r\n", true),
        ("GET /big HTTP/1.1\r\nHost: test.localhost\r\n\r\n", true),
        (
            "GET /gz HTTP/1.1\r\nHost: test.localhost\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
            true,
        ),
        // Gunzipped for this client, capitals in Host, conditionals, ranges, Connection,
        // HEAD, HTTP/1.0: the full way.
        ("GET /gz HTTP/1.1\r\nHost: test.localhost\r\n\r\n", false),
        ("GET /page HTTP/1.1\r\nHost: Test.Localhost\r\n\r\n", false),
        (
            "GET /page HTTP/1.1\r\nHost: test.localhost\r\nIf-None-Match: \"v1\"\r\n\r\n",
            false,
        ),
        (
            "GET /page HTTP/1.1\r\nHost: test.localhost\r\nRange: bytes=1-2\r\n\r\n",
            false,
        ),
        (
            "GET /page HTTP/1.1\r\nHost: test.localhost\r\nConnection: keep-alive\r\n\r\n",
            false,
        ),
        ("HEAD /page HTTP/1.1\r\nHost: test.localhost\r\n\r\n", false),
        ("GET /page HTTP/1.0\r\nHost: test.localhost\r\n\r\n", false),
    ];
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    // Store every object first.
    for (req, _) in cases {
        s.write_all(req.as_bytes()).await.unwrap();
        let _ = read_answer(&mut s, req.starts_with("HEAD")).await;
        if req.contains("HTTP/1.0") {
            s = tokio::net::TcpStream::connect(at).await.unwrap();
        }
    }
    for (req, short) in cases {
        if req.contains("HTTP/1.0") {
            s = tokio::net::TcpStream::connect(at).await.unwrap();
        }
        let lazy = proxy.log.lazy_hits();
        proxy.fast_hits.store(true, SeqCst);
        let fast = ask(&proxy, &mut s, req).await;
        assert_eq!(proxy.log.lazy_hits() > lazy, *short, "{req}");
        proxy.fast_hits.store(false, SeqCst);
        if req.contains("HTTP/1.0") {
            s = tokio::net::TcpStream::connect(at).await.unwrap();
        }
        let full = ask(&proxy, &mut s, req).await;
        assert_eq!(fast.0, full.0, "{req}");
        assert_eq!(fast.1, full.1, "{req}");
        assert_eq!(fast.2, full.2, "{req}");
        assert!(fast.1.contains("VCL_return     deliver"), "{}", fast.1);
    }
    // A VCL with client-side code of its own never takes the short way.
    let (_be2, role2, _) = setup("sub vcl_deliver { set resp.http.X-Mine = \"1\"; }").await;
    assert!(!role2.proxy.loaded.load().vcl.client_builtin);
    let (_be3, role3, _) = setup("sub vcl_req_cookie { unset req.http.cookie; }").await;
    assert!(!role3.proxy.loaded.load().vcl.client_builtin);
    let (_be4, role4, _) = setup("sub vcl_backend_response { set beresp.ttl = 1h; }").await;
    assert!(role4.proxy.loaded.load().vcl.client_builtin);
}

/// One answer on `s`, its log record and what the counters moved, with the values that
/// change from one request to the next blanked out.
async fn ask(
    proxy: &super::Proxy,
    s: &mut tokio::net::TcpStream,
    req: &str,
) -> (String, String, Vec<(&'static str, u64)>) {
    let port = s.local_addr().unwrap().port().to_string();
    let before = proxy.stats.snapshot();
    let (_, seq) = proxy.log.since(u64::MAX);
    s.write_all(req.as_bytes()).await.unwrap();
    let raw = read_answer(s, req.starts_with("HEAD")).await;
    let after = proxy.stats.snapshot();
    let moved: Vec<(&str, u64)> = before
        .iter()
        .zip(&after)
        // (a new connection is counted when its task starts, maybe during this request)
        .filter(|(a, b)| a.1 != b.1 && a.0 != "sess_conn")
        .map(|(a, b)| (a.0, b.1 - a.1))
        .collect();
    let (log, _) = proxy.log.since(seq);
    assert_eq!(log.len(), 1, "{log:?}");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let xid = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Varnish: "))
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let blank = |t: &str| {
        let t = regex::Regex::new(&format!(r"(X-Varnish: |req |>> ){xid}\b"))
            .unwrap()
            .replace_all(t, "${1}XID")
            .replace(&port, "PORT");
        let t = regex::Regex::new(r"(?m)^(Age:|-   RespHeader     Age:) [0-9]+")
            .unwrap()
            .replace_all(&t, "$1 N");
        regex::Regex::new(r"(?m)^(-   Hit            [0-9]+) -?[0-9]+")
            .unwrap()
            .replace_all(&t, "$1 TTL")
            .into_owned()
    };
    (blank(&text), blank(&log[0]), moved)
}

/// A backend that answers every request on a connection with the head and body
/// `backend.py` sends for `/case` (names spelled and ordered as some backends do).
async fn case_backend() -> SocketAddr {
    answering_backend(|| {
        format!(
            "HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.7\r\nDate: {}\r\n\
ETag: \"c1\"\r\nx-lower: uno\r\nX-UPPER-CASE: dos\r\nCache-Control: max-age=60\r\n\
x-lower: tres\r\ncontent-type: text/plain\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\
Content-Length: 5\r\n\r\ncaso\n",
            httpdate::fmt_http_date(std::time::SystemTime::now())
        )
    })
    .await
}

/// A backend that answers every request head on a connection with `answer()`.
async fn answering_backend(answer: fn() -> String) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..i + 4);
                        if s.write_all(answer().as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// Header names keep the backend's spelling and VCL's on a miss, a hit, a pass and a
/// vcl_synth answer, as the recorded Varnish 7.1 writes them; through hyper's path (a
/// request with a body) too. Varnish also keeps a repeated name where the backend put it;
/// the lab writes its values together where the name first appears (hyper's header map, on
/// the path for requests with a body, can do nothing else, and both paths write the same), so
/// the order is compared with repeated names grouped that way.
#[tokio::test]
async fn header_spelling_matches_the_recorded_varnish_transcript() {
    let recorded = transcript(include_str!(
        "../../../tests/transcripts/varnish/spelling.txt"
    ));
    assert_eq!(recorded.len(), 4);
    let be = case_backend().await;
    let role = proxy_with(
        r#"
sub vcl_recv {
    if (req.url == "/synth") {
        return (synth(404, "Nada"));
    }
}
sub vcl_synth {
    set resp.http.x-Synth-Case = "si";
}
"#,
        be,
        Params::default(),
    )
    .await;
    let at = role.bound()[0].1;
    let requests = [
        "GET /case HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n",
        "GET /case HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n",
        "GET /case-pass HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nCookie: a=1\r\n",
        "GET /synth HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n",
    ];
    let grouped = |headers: &[(String, String)]| {
        let mut out: Vec<(String, String)> = Vec::new();
        for (n, v) in headers {
            let v = match n.as_str() {
                "Date" | "Age" => String::new(),
                "X-Varnish" => format!("{} ids", v.split(' ').count()),
                // The synthetic page holds the xid.
                "Content-Length" if v.len() > 2 => String::new(),
                _ => v.clone(),
            };
            match out.iter().rposition(|(m, _)| m.eq_ignore_ascii_case(n)) {
                Some(i) => out.insert(i + 1, (n.clone(), v)),
                None => out.push((n.clone(), v)),
            }
        }
        out
    };
    let parse = |text: &str| -> (u16, Vec<(String, String)>) {
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        (status, headers)
    };
    for (body_framing, label) in [("", "own loop"), ("Content-Length: 0\r\n", "hyper")] {
        let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
        for ((title, status, headers), req) in recorded.iter().zip(requests) {
            // Other URLs for the second round, so that the first request is a miss again.
            let req = req.replace("/case", &format!("/case-{}", label.len()));
            s.write_all(format!("{req}{body_framing}\r\n").as_bytes())
                .await
                .unwrap();
            let raw = read_answer(&mut s, false).await;
            let (ours_status, ours) = parse(&String::from_utf8_lossy(&raw));
            assert_eq!(ours_status, *status, "{label}: {title}");
            assert_eq!(grouped(&ours), grouped(headers), "{label}: {title}");
        }
    }
    role.stop();
}

/// A backend that writes every name in lower case, `content-length` too: Varnish keeps them
/// so, on a miss, a hit and a pass (the recorded transcript), and so does the lab.
#[tokio::test]
async fn lower_case_content_length_stays_as_the_backend_wrote_it() {
    let recorded = transcript(include_str!(
        "../../../tests/transcripts/varnish/spelling_lower.txt"
    ));
    assert_eq!(recorded.len(), 3);
    let be = answering_backend(|| {
        "HTTP/1.1 200 OK\r\ndate: Mon, 07 Dec 2026 00:00:00 GMT\r\ncontent-length: 3\r\n\
cache-control: max-age=60\r\nx-a: 1\r\n\r\nabc"
            .to_string()
    })
    .await;
    let role = proxy_with("", be, Params::default()).await;
    let at = role.bound()[0].1;
    let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
    let requests = [
        "GET /low HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /low HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /low-pass HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\n\r\n",
    ];
    for ((title, _, headers), req) in recorded.iter().zip(requests) {
        s.write_all(req.as_bytes()).await.unwrap();
        let raw = String::from_utf8_lossy(&read_answer(&mut s, false).await).into_owned();
        let ours: Vec<(String, String)> = raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let blank = |h: &[(String, String)]| -> Vec<(String, String)> {
            h.iter()
                .map(|(n, v)| match n.as_str() {
                    "X-Varnish" => (n.clone(), v.split(' ').count().to_string()),
                    "Age" => (n.clone(), String::new()),
                    _ => (n.clone(), v.clone()),
                })
                .collect()
        };
        assert_eq!(blank(&ours), blank(headers), "{title}");
    }
    role.stop();
}
