//! The head of a response as Apache writes it: the order of its header lines and the
//! spelling of their names.
//!
//! HTTP does not care about either, but a student compares `curl -i` against the lab with a
//! real server and with the book. Apache writes `Date` and `Server` first, then the headers of
//! `Header always` (its `err_headers_out` table), then the rest in the order the modules set
//! them (`Last-Modified`, `ETag`, `Accept-Ranges`, `Content-Length` for a file; `mod_expires`;
//! `Header`), then what its protocol filters add last: the `Content-Length` of pages it
//! generates, `Content-Range`, `Keep-Alive`, `Connection`, `Content-Type` and
//! `Content-Language`.
//!
//! hyper keeps names in lower case and writes them title-cased when asked to; the names
//! whose usual spelling is not title case (`ETag`, `WWW-Authenticate`), and the names an
//! application wrote ([`Spelling`]), travel in a case map that only hyper's parser can build,
//! so one is parsed from a small synthetic request and cached.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::SystemTime;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Extensions, Response};

use super::Body;

/// Marks a page the server generates itself (error pages, redirects, listings, `OPTIONS`):
/// Apache adds its `Content-Length` late, after `Header` and `mod_expires`.
#[derive(Debug, Clone, Copy)]
pub struct Generated;

/// Marks one of Apache's own error pages or redirects: its head starts again from the
/// `Header always` table, so plain `Header` does not apply to it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorPage;

/// Marks an answer mod_proxy_http relayed: its `Date` and `Server` are the backend's, and its
/// `Content-Type` stays where the backend wrote it (it is in Apache's header table, not added
/// by the protocol filter).
#[derive(Debug, Clone, Copy)]
pub struct Proxied;

/// The header names of a response as its author (a WSGI application, a backend) wrote them,
/// one entry per header line, for the names whose spelling is not plain title case.
#[derive(Debug, Clone, Default)]
pub struct Spelling(pub Vec<String>);

/// An empty body that hyper still treats as a body of known length 0, so the
/// `Content-Length: 0` the handler wrote stays where it is in the head (for a body that is
/// already finished hyper drops that header and writes its own after all the others).
pub fn zero_length() -> Body {
    use http_body_util::BodyExt;
    ZeroLength.boxed()
}

struct ZeroLength;

impl http_body::Body for ZeroLength {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(0)
    }
}

/// The spellings in the case map [`spell`] gives an answer, in the map's order (per name,
/// the first goes with the name's first line, and so on; lines past them are title-cased).
/// hyper's map cannot be read outside hyper; the lean loop writes names from this.
#[derive(Debug, Clone)]
pub struct CaseNames(pub std::sync::Arc<[String]>);

/// Names Apache itself writes in a spelling that is not title case.
const APACHE_SPELLINGS: &[&str] = &["ETag", "WWW-Authenticate", "Content-MD5"];

/// Where a header goes in the head (stable within a rank).
fn rank(name: &HeaderName, always: &[HeaderName], late_length: bool, proxied: bool) -> u8 {
    if name == header::DATE {
        0
    } else if name == header::SERVER {
        1
    } else if always.contains(name) {
        2
    } else if name == header::CONTENT_LENGTH && late_length {
        4
    } else if name == header::CONTENT_RANGE {
        5
    } else if name.as_str() == "keep-alive" {
        6
    } else if name == header::CONNECTION {
        7
    } else if name == header::TRANSFER_ENCODING {
        8
    } else if name == header::CONTENT_TYPE && !proxied {
        9
    } else if name == header::CONTENT_LANGUAGE {
        10
    } else {
        3
    }
}

/// Reorders `headers` the way Apache writes them; `always` are the names `Header always`
/// set.
pub fn order(headers: &mut HeaderMap, always: &[HeaderName], late_length: bool, proxied: bool) {
    let rank_of = |name: &HeaderName| rank(name, always, late_length, proxied);
    let mut last = 0;
    let in_order = headers.keys().all(|name| {
        let r = rank_of(name);
        let ok = r >= last;
        last = r;
        ok
    });
    if in_order {
        return;
    }
    // Every line moved out once and sorted by rank; the sort is stable, so a name's values
    // stay together in their order, and names of equal rank keep theirs.
    let mut lines = ranked_lines(headers, &rank_of, &[]);
    lines.sort_by_key(|(r, _, _)| *r);
    headers.reserve(lines.len());
    for (_, name, value) in lines {
        headers.append(name, value);
    }
}

/// The lines of `old` with each name's rank, in their order, leaving out the names in `skip`.
fn ranked_lines(
    old: &mut HeaderMap,
    rank_of: &impl Fn(&HeaderName) -> u8,
    skip: &[(HeaderName, HeaderValue)],
) -> Vec<(u8, HeaderName, HeaderValue)> {
    let mut lines = Vec::with_capacity(old.len() + skip.len());
    let mut current: Option<(u8, HeaderName)> = None;
    // Drained, not consumed: the map keeps its memory for the lines to come back in.
    for (name, value) in old.drain() {
        let (r, name) = match name {
            Some(name) => {
                if skip.iter().any(|(n, _)| *n == name) {
                    current = None;
                    continue;
                }
                let r = rank_of(&name);
                current = Some((r, name.clone()));
                (r, name)
            }
            None => match &current {
                Some((r, name)) => (*r, name.clone()),
                None => continue,
            },
        };
        lines.push((r, name, value));
    }
    lines
}

/// Builds `headers` anew in Apache's order: `first` (`Date` and `Server`) at the top, then the
/// handler's lines with `set` in place of any lines of the same names. One new map, where
/// [`order`] after inserting would build it twice.
pub fn rebuild(
    headers: &mut HeaderMap,
    first: [(HeaderName, HeaderValue); 2],
    set: Vec<(HeaderName, HeaderValue)>,
    always: &[HeaderName],
    late_length: bool,
    proxied: bool,
) {
    let rank_of = |name: &HeaderName| rank(name, always, late_length, proxied);
    let mut lines = ranked_lines(headers, &rank_of, &set);
    lines.extend(set.into_iter().map(|(n, v)| (rank_of(&n), n, v)));
    // Stable: a name's lines, and names of equal rank, keep the order they came in.
    if lines.windows(2).any(|w| w[0].0 > w[1].0) {
        lines.sort_by_key(|(r, _, _)| *r);
    }
    headers.reserve(lines.len() + first.len());
    for (name, value) in first {
        headers.insert(name, value);
    }
    for (_, name, value) in lines {
        headers.append(name, value);
    }
}

/// The `Date` header, formatted once per second by each thread (a lock and a value shared
/// by the threads would move between their cores on every answer).
pub fn date_now() -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((s, v)) = last.as_ref() {
            if *s == secs {
                return v.clone();
            }
        }
        let v = HeaderValue::from_str(&httpdate::fmt_http_date(now))
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        *last = Some((secs, v.clone()));
        v
    })
}

/// Whether an author's spelling of a header name must be kept: not `Content-Type` nor
/// `Content-Length` (Apache's own, whatever case was used), and not plain title case (what is
/// written anyway).
pub fn needs_spelling(name: &str) -> bool {
    if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("content-length") {
        return false;
    }
    let mut up = true;
    for b in name.bytes() {
        let wanted = if up {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        };
        if b != wanted {
            return true;
        }
        up = b == b'-';
    }
    false
}

/// Extensions that make hyper spell `names` (and Apache's own odd names) as written, from a
/// cache keyed by the names.
async fn case_map(extra: &[String]) -> Option<Extensions> {
    type Cache = Mutex<HashMap<Vec<String>, Extensions>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    // Apache's own names alone (every file answer has an `ETag`): no key to build or look up.
    static PLAIN: std::sync::OnceLock<Extensions> = std::sync::OnceLock::new();
    if extra.is_empty() {
        if let Some(e) = PLAIN.get() {
            return Some(e.clone());
        }
        let ext = parse_case_map(APACHE_SPELLINGS).await?;
        return Some(PLAIN.get_or_init(|| ext).clone());
    }
    let cache = CACHE.get_or_init(Default::default);
    let key: Vec<String> = extra.to_vec();
    if let Some(e) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Some(e.clone());
    }
    // The first spelling of a name is the one written: the author's before Apache's.
    let mut names: Vec<&str> = extra.iter().map(String::as_str).collect();
    names.extend(APACHE_SPELLINGS.iter().copied());
    let ext = parse_case_map(&names).await?;
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    // Applications with ever-changing names must not grow it without bound.
    if cache.len() > 256 {
        cache.clear();
    }
    cache.insert(key, ext.clone());
    Some(ext)
}

/// Lets hyper's own parser read a request whose header lines are `names`, with
/// `preserve_header_case`, and keeps the case map it attaches to the request.
async fn parse_case_map(names: &[&str]) -> Option<Extensions> {
    use hyper::body::Incoming;
    use tokio::io::AsyncWriteExt;
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let (tx, rx) = tokio::sync::oneshot::channel::<Extensions>();
    let tx = Mutex::new(Some(tx));
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        if let Some(tx) = tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(req.extensions().clone());
        }
        async { Ok::<_, Infallible>(Response::new(super::empty())) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(hyper_util::rt::TokioIo::new(server), service);
    let task = tokio::spawn(conn);
    let mut raw = String::from("GET / HTTP/1.1\r\n");
    for n in names {
        raw.push_str(n);
        raw.push_str(": x\r\n");
    }
    raw.push_str("Connection: close\r\n\r\n");
    let sent = client.write_all(raw.as_bytes()).await;
    let ext = match sent {
        Ok(()) => rx.await.ok(),
        Err(_) => None,
    };
    task.abort();
    ext
}

/// Gives `resp` the case map for Apache's odd names and the names of its [`Spelling`].
pub async fn spell(resp: &mut Response<Body>) {
    // A relayed answer already carries the backend's case map: its names go out as the
    // backend wrote them, as mod_proxy_http passes them.
    if resp.extensions().get::<Proxied>().is_some() {
        return;
    }
    // Content-Type and Content-Length are Apache's own (mod_wsgi hands them to the core),
    // whatever case the application used.
    let extra: Vec<String> = resp
        .extensions_mut()
        .remove::<Spelling>()
        .map(|s| s.0.into_iter().filter(|n| needs_spelling(n)).collect())
        .unwrap_or_default();
    let needed = !extra.is_empty()
        || resp.headers().keys().any(|k| {
            APACHE_SPELLINGS
                .iter()
                .any(|a| a.eq_ignore_ascii_case(k.as_str()))
        });
    if !needed {
        return;
    }
    // The same names, in the same order, as the map is parsed from.
    static PLAIN_NAMES: std::sync::OnceLock<std::sync::Arc<[String]>> = std::sync::OnceLock::new();
    let names = if extra.is_empty() {
        PLAIN_NAMES
            .get_or_init(|| APACHE_SPELLINGS.iter().map(|n| n.to_string()).collect())
            .clone()
    } else {
        extra
            .iter()
            .cloned()
            .chain(APACHE_SPELLINGS.iter().map(|n| n.to_string()))
            .collect()
    };
    if let Some(ext) = case_map(&extra).await {
        resp.extensions_mut().extend(ext);
        resp.extensions_mut().insert(CaseNames(names));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &HeaderMap) -> Vec<&str> {
        h.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn a_file_answer_comes_out_in_apache_order() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        h.insert(header::LAST_MODIFIED, HeaderValue::from_static("x"));
        h.insert(header::ETAG, HeaderValue::from_static("\"1\""));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        h.insert(header::SERVER, HeaderValue::from_static("Apache"));
        h.insert("x-siempre", HeaderValue::from_static("1"));
        h.append("x-lista", HeaderValue::from_static("a"));
        h.append("x-lista", HeaderValue::from_static("b"));
        h.insert(header::DATE, HeaderValue::from_static("d"));
        order(
            &mut h,
            &[HeaderName::from_static("x-siempre")],
            false,
            false,
        );
        assert_eq!(
            names(&h),
            [
                "date",
                "server",
                "x-siempre",
                "last-modified",
                "etag",
                "accept-ranges",
                "content-length",
                "x-lista",
                "connection",
                "content-type"
            ]
        );
        assert_eq!(h.get_all("x-lista").iter().count(), 2);
    }

    #[test]
    fn generated_pages_get_their_length_late() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("9"));
        h.insert(header::LOCATION, HeaderValue::from_static("/x"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=1"));
        order(&mut h, &[], true, false);
        assert_eq!(
            names(&h),
            [
                "location",
                "cache-control",
                "content-length",
                "content-type"
            ]
        );
    }

    /// Every line of `h` as (name, value), in order.
    fn lines(h: &HeaderMap) -> Vec<(String, String)> {
        h.iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_string()))
            .collect()
    }

    #[test]
    fn rebuilding_gives_the_head_that_inserting_then_ordering_gives() {
        let v = HeaderValue::from_static;
        let handler_heads: Vec<Vec<(&str, &str)>> = vec![
            vec![("content-type", "text/plain"), ("content-length", "12")],
            vec![],
            vec![
                ("x-a", "1"),
                ("connection", "upgrade"),
                ("set-cookie", "a=1"),
                ("transfer-encoding", "chunked"),
                ("set-cookie", "b=2"),
                ("content-type", "text/html"),
                ("content-language", "es"),
                ("x-siempre", "s"),
                ("keep-alive", "timeout=1"),
                ("content-range", "bytes 0-1/2"),
                ("content-length", "2"),
            ],
        ];
        let sets: Vec<Vec<(HeaderName, HeaderValue)>> = vec![
            vec![],
            vec![(header::CONNECTION, v("close"))],
            vec![
                (
                    HeaderName::from_static("keep-alive"),
                    v("timeout=5, max=99"),
                ),
                (header::CONNECTION, v("Keep-Alive")),
            ],
        ];
        let always = [HeaderName::from_static("x-siempre")];
        for head in &handler_heads {
            for set in &sets {
                for (late, proxied) in [(false, false), (true, false), (false, true)] {
                    let mut given = HeaderMap::new();
                    for (n, val) in head {
                        given.append(HeaderName::from_static(n), v(val));
                    }
                    let mut expected = HeaderMap::new();
                    expected.insert(header::DATE, v("d"));
                    expected.insert(header::SERVER, v("s"));
                    for (n, val) in &given {
                        expected.append(n.clone(), val.clone());
                    }
                    for (n, val) in set {
                        expected.insert(n.clone(), val.clone());
                    }
                    order(&mut expected, &always, late, proxied);
                    let mut got = given.clone();
                    rebuild(
                        &mut got,
                        [(header::DATE, v("d")), (header::SERVER, v("s"))],
                        set.clone(),
                        &always,
                        late,
                        proxied,
                    );
                    assert_eq!(
                        lines(&got),
                        lines(&expected),
                        "{head:?} {set:?} {late} {proxied}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_names_hyper_would_write_otherwise_need_their_spelling() {
        // Plain title case is what hyper writes without a map.
        for plain in ["Etag", "X-My-Header", "Server", "X-1-A"] {
            assert!(!needs_spelling(plain), "{plain}");
        }
        for kept in ["ETag", "x-my-header", "X-MY-Header", "SERVER", "x"] {
            assert!(needs_spelling(kept), "{kept}");
        }
        // Apache writes its own two in its own case, whatever the application used.
        for apache in ["content-type", "CONTENT-LENGTH", "Content-Type"] {
            assert!(!needs_spelling(apache), "{apache}");
        }
    }

    #[tokio::test]
    async fn the_case_map_spells_etag_and_application_names() {
        let ext = parse_case_map(&["ETag", "X-mi-Cabecera"]).await;
        assert!(ext.is_some_and(|e| !e.is_empty()));
    }
}
