//! Plain cache hits without the interpreter.
//!
//! When the client-side subroutines a hit runs are builtin.vcl's alone
//! ([`super::vcl::Vcl::client_builtin`]), a `GET` that vcl_recv would send to the cache
//! (HTTP/1.1, a lower-case `Host`, no `Cookie` or `Authorization`) and that finds a fresh
//! object with nothing to decide at delivery (no conditional or range, no `Connection`
//! header, no gunzip) always takes the same path: `hash`, `lookup`, a hit, `deliver`,
//! `deliver`. Its answer is the object's prepared head with two holes, the request's
//! `X-Varnish` and the `Age`, and the stored body. That head is made once per object by
//! the same code the full path uses ([`server::object_resp`], [`server::prepare`],
//! [`client::encode_head`]), and the request's log record is written (with the same
//! records the full path writes) only when somebody reads the log; the counters move as on
//! the full path. Anything else goes the full way.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use bytes::Bytes;

use super::body::ProxyBody;
use super::cache::Object;
use super::client::{encode_head, Framing};
use super::server::{self, Layout};
use super::stats::{Trace, Tx};
use super::vcl::Msg;
use super::Proxy;

/// Bodies up to this size are copied behind the head and go out in one `write`.
const COPY_BODY: usize = 16 * 1024;

/// Placeholders for the two values that change from one hit to the next.
const XV_HOLE: &str = "lab-fast-hole-x-varnish";
const AGE_HOLE: &str = "lab-fast-hole-age";

/// A plain hit's answer on one object: head bytes up to the request's xid, from there up to
/// the age, the rest of the head, and the body.
#[derive(Debug)]
pub struct Template {
    before_xid: Vec<u8>,
    before_age: Vec<u8>,
    after_age: Vec<u8>,
    body: Bytes,
    /// What the answer adds to `s_resp_bodybytes`.
    body_bytes: Option<u64>,
}

/// The answer to `obj` as [`server::respond`] and [`client::encode_head`] write it to an
/// HTTP/1.1 `GET` without conditionals or `Connection`, when it can be told apart in holes.
/// `obj`'s body must be complete.
fn template(obj: &Object) -> Option<Box<Template>> {
    let whole = obj.body.whole()?;
    let resp = server::object_resp(&obj.head, XV_HOLE.into(), AGE_HOLE.into(), false);
    let status =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    let no_body = status == http::StatusCode::NOT_MODIFIED
        || status.is_informational()
        || status == http::StatusCode::NO_CONTENT;
    let len = whole.len() as u64;
    let prepared = server::prepare(
        status,
        resp,
        if no_body {
            ProxyBody::Empty
        } else {
            ProxyBody::full(whole.clone())
        },
        Some(len),
        Layout {
            synthetic: false,
            len_last: false,
            length_before: obj.length_before.clone(),
            length_name: obj.length_name.clone(),
            keep_alive: true,
        },
    );
    // Without a stored Date the writer adds the time of each answer.
    if !prepared
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("date"))
    {
        return None;
    }
    let mut head = Vec::with_capacity(512);
    let enc = encode_head(&prepared, false, false, &mut head);
    if enc.last {
        return None;
    }
    let body = match enc.framing {
        Framing::Length(0) if no_body => Bytes::new(),
        Framing::Length(n) if n == len && !no_body => whole,
        _ => return None,
    };
    let text = std::str::from_utf8(&head).ok()?;
    let [x] = text
        .match_indices(XV_HOLE)
        .map(|(i, _)| i)
        .collect::<Vec<_>>()[..]
    else {
        return None;
    };
    let [a] = text
        .match_indices(AGE_HOLE)
        .map(|(i, _)| i)
        .collect::<Vec<_>>()[..]
    else {
        return None;
    };
    if a < x {
        return None;
    }
    let mut before_age = format!(" {}", obj.xid).into_bytes();
    before_age.extend_from_slice(&head[x + XV_HOLE.len()..a]);
    Some(Box::new(Template {
        before_xid: head[..x].to_vec(),
        before_age,
        after_age: head[a + AGE_HOLE.len()..].to_vec(),
        body,
        body_bytes: (!no_body).then_some(len),
    }))
}

/// What the log keeps of a plain hit; [`HitRecord::trace`] writes its records.
pub struct HitRecord {
    xid: u64,
    client: SocketAddr,
    /// The request head as the client sent it.
    raw: Box<[u8]>,
    obj_xid: u64,
    ttl: i64,
    grace: i64,
    keep: i64,
    age: i64,
    head: Arc<Msg>,
}

impl HitRecord {
    /// The records the full path writes for the same request.
    pub fn trace(&self) -> Trace {
        let mut t = Trace::default();
        let mut headers = [httparse::EMPTY_HEADER; super::client::MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let _ = req.parse(&self.raw);
        server::begin_trace(
            &mut t,
            self.xid,
            self.client,
            req.method.unwrap_or("GET"),
            req.path.unwrap_or("/"),
            false,
        );
        for h in req.headers.iter() {
            t.header("ReqHeader", h.name, &String::from_utf8_lossy(h.value));
        }
        t.add("VCL_call", "RECV");
        t.add("VCL_return", "hash");
        t.add("VCL_call", "HASH");
        t.add("VCL_return", "lookup");
        t.add_fmt(
            "Hit",
            format_args!("{} {} {} {}", self.obj_xid, self.ttl, self.grace, self.keep),
        );
        t.add("VCL_call", "HIT");
        t.add("VCL_return", "deliver");
        t.add("VCL_call", "DELIVER");
        t.add("VCL_return", "deliver");
        let resp = server::object_resp(
            &self.head,
            format!("{} {}", self.xid, self.obj_xid),
            self.age.to_string(),
            false,
        );
        let status = http::StatusCode::from_u16(resp.status)
            .unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
        t.add("RespStatus", status.as_str());
        t.add("RespReason", &resp.reason);
        t.add_pairs("RespHeader", &resp.headers);
        t.add("End", "");
        t
    }
}

/// Serves `req` (whose head is `raw`) as a plain hit when it is one: its answer's head goes
/// to `out` (with the body behind it when small) and the body still to send is returned
/// (empty when it is in `out`). `None`: the request takes the full path, nothing changed.
pub(crate) fn try_hit(
    proxy: &Proxy,
    req: &httparse::Request<'_, '_>,
    raw: &[u8],
    client: SocketAddr,
    out: &mut Vec<u8>,
    key: &mut Vec<u8>,
) -> Option<Bytes> {
    if req.method != Some("GET") || req.version != Some(1) || !proxy.fast_hits.load(Relaxed) {
        return None;
    }
    let url = req.path?;
    let loaded = proxy.loaded.load();
    if !loaded.vcl.client_builtin {
        return None;
    }
    let mut host: Option<&str> = None;
    let mut gzip: Option<bool> = None;
    for h in req.headers.iter() {
        let n = h.name;
        if n.eq_ignore_ascii_case("host") {
            if host.is_none() {
                host = Some(std::str::from_utf8(h.value).ok()?);
            }
        } else if n.eq_ignore_ascii_case("accept-encoding") {
            if gzip.is_none() {
                gzip = Some(server::accepts_gzip(&String::from_utf8_lossy(h.value)));
            }
        } else if n.eq_ignore_ascii_case("cookie")
            || n.eq_ignore_ascii_case("authorization")
            || n.eq_ignore_ascii_case("connection")
            || n.eq_ignore_ascii_case("if-none-match")
            || n.eq_ignore_ascii_case("if-modified-since")
            || n.eq_ignore_ascii_case("range")
        {
            return None;
        }
    }
    // vcl_req_host lower-cases a Host with capitals (and the hash would see that).
    let host = host.filter(|h| !h.bytes().any(|b| b.is_ascii_uppercase()))?;
    let gzip = gzip.unwrap_or(false);
    // vcl_builtin_hash: hash_data(req.url); hash_data(req.http.host).
    key.clear();
    key.extend_from_slice(url.as_bytes());
    key.push(0);
    key.extend_from_slice(host.as_bytes());
    key.push(0);
    let now = proxy.clock.now();
    let (xid, record, body) = proxy.store.fast_hit(key, now, |obj| {
        if obj.gzip && !gzip && proxy.params.http_gzip_support {
            return None;
        }
        let t = match obj.fast.get() {
            Some(t) => t.as_deref()?,
            None if obj.body.is_complete() => obj.fast.get_or_init(|| template(obj)).as_deref()?,
            None => return None,
        };
        let xid = proxy.next_xid();
        let age = obj.age(now) as i64;
        out.clear();
        out.extend_from_slice(&t.before_xid);
        push_int(out, xid as i64);
        out.extend_from_slice(&t.before_age);
        push_int(out, age);
        out.extend_from_slice(&t.after_age);
        let body = if t.body.len() <= COPY_BODY {
            out.extend_from_slice(&t.body);
            Bytes::new()
        } else {
            t.body.clone()
        };
        proxy.stats.client_req.fetch_add(1, Relaxed);
        proxy.stats.cache_hit.fetch_add(1, Relaxed);
        obj.hits.fetch_add(1, Relaxed);
        if let Some(l) = t.body_bytes {
            proxy.stats.s_resp_bodybytes.fetch_add(l, Relaxed);
        }
        let record = HitRecord {
            xid,
            client,
            raw: raw.into(),
            obj_xid: obj.xid,
            ttl: obj.remaining_ttl(now) as i64,
            grace: obj.grace as i64,
            keep: obj.keep as i64,
            age,
            head: Arc::clone(&obj.head),
        };
        Some((xid, record, body))
    })?;
    proxy.log.push_tx("Request", xid, Tx::Hit(Box::new(record)));
    Some(body)
}

/// Writes `n` in decimal.
fn push_int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let (digits, start) = crate::util::decimal(n.unsigned_abs());
    out.extend_from_slice(&digits[start..]);
}
