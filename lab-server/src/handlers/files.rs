//! Static files: `Content-Type`, `ETag` (Apache's `FileETag MTime Size`), `Last-Modified`,
//! conditional requests (RFC 9110 §13: `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since`), byte ranges (`Range`, `If-Range`, 206/416, multipart for several)
//! and HEAD.
//!
//! Small files are kept in memory, checked against the file's size, mtime and inode on
//! every request, so an edited file is served new at once; large files are streamed.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

use crate::http::{empty, full, Body};

/// Files up to this size are cached in memory.
const CACHE_FILE_MAX: u64 = 256 * 1024;
/// Total bytes the cache may hold before it starts over.
const CACHE_TOTAL_MAX: u64 = 64 * 1024 * 1024;
const SHARDS: usize = 16;

/// A file as the validators see it.
#[derive(Debug)]
pub struct FileEntity {
    pub len: u64,
    pub mtime: SystemTime,
    ino: u64,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// The contents, when small enough to keep.
    data: Option<Bytes>,
}

impl FileEntity {
    fn from_meta(meta: &Metadata) -> FileEntity {
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        let micros = mtime
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let etag = format!("\"{:x}-{:x}\"", meta.len(), micros);
        FileEntity {
            len: meta.len(),
            mtime,
            ino: meta.ino(),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(mtime))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            data: None,
        }
    }

    fn same_file(&self, meta: &Metadata) -> bool {
        self.len == meta.len() && self.ino == meta.ino() && meta.modified().ok() == Some(self.mtime)
    }
}

/// The in-memory cache of small files of one snapshot.
#[derive(Debug, Default)]
pub struct FileCache {
    shards: [Mutex<HashMap<PathBuf, Arc<FileEntity>>>; SHARDS],
    total: std::sync::atomic::AtomicU64,
}

impl FileCache {
    fn shard(&self, path: &Path) -> &Mutex<HashMap<PathBuf, Arc<FileEntity>>> {
        use std::hash::{Hash, Hasher};
        let mut fixed = std::hash::DefaultHasher::new();
        path.hash(&mut fixed);
        &self.shards[(fixed.finish() as usize) % SHARDS]
    }

    /// The entity for `path` whose metadata is `meta`: from the cache when unchanged, else
    /// read (small files) or described (large ones).
    pub fn entity(&self, path: &Path, meta: &Metadata) -> std::io::Result<Arc<FileEntity>> {
        use std::sync::atomic::Ordering;
        let shard = self.shard(path);
        if let Some(e) = shard.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
            if e.same_file(meta) {
                return Ok(Arc::clone(e));
            }
        }
        let mut entity = FileEntity::from_meta(meta);
        if meta.len() <= CACHE_FILE_MAX {
            let data = std::fs::read(path)?;
            if data.len() as u64 != meta.len() {
                // Changed while reading: serve what was read, do not cache it.
                entity.len = data.len() as u64;
                entity.data = Some(Bytes::from(data));
                return Ok(Arc::new(entity));
            }
            entity.data = Some(Bytes::from(data));
            let entity = Arc::new(entity);
            if self.total.fetch_add(meta.len(), Ordering::Relaxed) > CACHE_TOTAL_MAX {
                for s in &self.shards {
                    s.lock().unwrap_or_else(|p| p.into_inner()).clear();
                }
                self.total.store(meta.len(), Ordering::Relaxed);
            }
            shard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.to_path_buf(), Arc::clone(&entity));
            return Ok(entity);
        }
        Ok(Arc::new(entity))
    }
}

/// The media type of a file answer, kept as an extension so that `mod_expires` can apply
/// `ExpiresByType` to a 304, which carries no `Content-Type`.
#[derive(Debug, Clone)]
pub struct TypeOf(pub HeaderValue);

/// What the request asks about the representation.
pub struct Conditions<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
}

/// A byte range, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

/// Parses `Range: bytes=...` against a length. `None`: ignore the header (malformed or not
/// bytes); `Some(empty)`: unsatisfiable.
pub fn parse_range(value: &str, len: u64) -> Option<Vec<ByteRange>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let mut out: Vec<ByteRange> = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (a, b) = part.split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        let range = if a.is_empty() {
            let n: u64 = b.parse().ok()?;
            if n == 0 {
                // `bytes=-0` asks for nothing: Apache ignores the whole header.
                return None;
            }
            ByteRange {
                first: len.saturating_sub(n),
                last: len.checked_sub(1)?,
            }
        } else {
            let first: u64 = a.parse().ok()?;
            let last: u64 = if b.is_empty() {
                u64::MAX
            } else {
                b.parse().ok()?
            };
            if last < first {
                return None;
            }
            if first >= len {
                continue;
            }
            ByteRange {
                first,
                last: last.min(len - 1),
            }
        };
        // Like Apache's byterange filter: a range that overlaps or touches the one before
        // it is merged into it; any other starts a new part.
        match out.last_mut() {
            Some(prev)
                if range.first <= prev.last.saturating_add(1)
                    && range.last.saturating_add(1) >= prev.first =>
            {
                prev.first = prev.first.min(range.first);
                prev.last = prev.last.max(range.last);
            }
            _ => out.push(range),
        }
    }
    if out.len() > 64 {
        // A flood of tiny ranges is an attack, not a download manager: send everything.
        return None;
    }
    Some(out)
}

fn etag_matches(list: &str, etag: &str, weak: bool) -> bool {
    let strip = |t: &str| -> String {
        let t = t.trim();
        if weak {
            t.trim_start_matches("W/").to_string()
        } else {
            t.to_string()
        }
    };
    let mine = strip(etag);
    list.split(',').any(|t| {
        let t = t.trim();
        t == "*" || ((weak || !t.starts_with("W/")) && strip(t) == mine)
    })
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Whole seconds, as HTTP dates compare.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The outcome of evaluating preconditions (RFC 9110 §13.2.2).
#[derive(Debug, PartialEq, Eq)]
pub enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// Apache's `ap_meets_conditions`: `If-Match` (strong), then `If-Unmodified-Since` (even
/// when `If-Match` matched), then `If-None-Match` (weak for GET and HEAD, 304; any other
/// method 412), then `If-Modified-Since` (GET and HEAD, only without `If-None-Match`, and
/// ignored when the date is in the future). With `Range` and `If-Range` both present the
/// byte-range filter decides instead of a 304.
pub fn evaluate(entity: &FileEntity, c: &Conditions<'_>) -> Precondition {
    evaluate_validators(entity.etag.to_str().ok(), Some(entity.mtime), c)
}

/// [`evaluate`] for a response whose validators come from elsewhere (the `ETag` and
/// `Last-Modified` a FastCGI application sent), each possibly missing.
pub fn evaluate_validators(
    etag: Option<&str>,
    mtime: Option<SystemTime>,
    c: &Conditions<'_>,
) -> Precondition {
    let h = c.headers;
    // Most requests carry none of these headers: one pass over the few names there are
    // instead of a hash lookup for each of five headers.
    if !h
        .keys()
        .any(|k| k.as_str().starts_with("if-") || *k == header::RANGE)
    {
        return Precondition::Proceed;
    }
    if let Some(im) = header_str(h, header::IF_MATCH) {
        if !etag.is_some_and(|e| etag_matches(im, e, false)) {
            return Precondition::Failed;
        }
    }
    if let (Some(ius), Some(mtime)) = (header_str(h, header::IF_UNMODIFIED_SINCE), mtime) {
        if let Ok(date) = httpdate::parse_http_date(ius) {
            if secs(mtime) > secs(date) {
                return Precondition::Failed;
            }
        }
    }
    let get_or_head = c.method == Method::GET || c.method == Method::HEAD;
    let mut not_modified = false;
    if let Some(inm) = header_str(h, header::IF_NONE_MATCH) {
        if etag.is_some_and(|e| etag_matches(inm, e, get_or_head)) {
            if !get_or_head {
                return Precondition::Failed;
            }
            not_modified = true;
        }
    } else if get_or_head {
        if let (Some(ims), Some(mtime)) = (header_str(h, header::IF_MODIFIED_SINCE), mtime) {
            if let Ok(date) = httpdate::parse_http_date(ims) {
                let future = date > SystemTime::now();
                if !future && secs(mtime) <= secs(date) {
                    not_modified = true;
                }
            }
        }
    }
    if h.contains_key(header::RANGE) && h.contains_key(header::IF_RANGE) {
        return Precondition::Proceed;
    }
    if not_modified {
        Precondition::NotModified
    } else {
        Precondition::Proceed
    }
}

/// `If-Range`: true when the range may be honoured.
fn if_range_ok(entity: &FileEntity, h: &HeaderMap) -> bool {
    match header_str(h, header::IF_RANGE) {
        None => true,
        Some(v) if v.starts_with('"') => v == entity.etag.to_str().unwrap_or(""),
        Some(v) => httpdate::parse_http_date(v).is_ok_and(|d| secs(entity.mtime) == secs(d)),
    }
}

/// Builds the response for a regular file that passed access checks. `content_type` is
/// already chosen; `headers` receives the entity headers (also used for 304).
pub async fn respond(
    path: &Path,
    entity: &FileEntity,
    content_type: Option<&str>,
    c: &Conditions<'_>,
) -> std::io::Result<Response<Body>> {
    let mut builder = Response::builder()
        .header(header::LAST_MODIFIED, entity.last_modified.clone())
        .header(header::ETAG, entity.etag.clone())
        .header(header::ACCEPT_RANGES, "bytes");
    let head = c.method == Method::HEAD;
    let ct = content_type.and_then(|t| HeaderValue::from_str(t).ok());
    if let Some(t) = &ct {
        // mod_expires still knows the type of a 304, which has no Content-Type.
        builder = builder.extension(TypeOf(t.clone()));
    }
    match evaluate(entity, c) {
        Precondition::NotModified => {
            return Ok(builder
                .status(StatusCode::NOT_MODIFIED)
                .body(empty())
                .unwrap_or_default());
        }
        Precondition::Failed => {
            // The default handler's 412 keeps the file's headers and sends no body: the
            // length is 0, except for HEAD, which keeps the file's.
            if let Some(ct) = ct {
                builder = builder.header(header::CONTENT_TYPE, ct);
            }
            let len = if head { entity.len } else { 0 };
            return Ok(builder
                .status(StatusCode::PRECONDITION_FAILED)
                .header(header::CONTENT_LENGTH, len)
                .body(if head {
                    empty()
                } else {
                    super::head::zero_length()
                })
                .unwrap_or_default());
        }
        Precondition::Proceed => {}
    }
    let ranges = match header_str(c.headers, header::RANGE) {
        Some(r)
            if (c.method == Method::GET || head || c.method == Method::POST)
                && entity.len > 0
                && if_range_ok(entity, c.headers) =>
        {
            parse_range(r, entity.len)
        }
        _ => None,
    };
    match ranges {
        // The caller sends Apache's 416 error page (no Content-Range survives it).
        Some(r) if r.is_empty() => Ok(Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .body(empty())
            .unwrap_or_default()),
        Some(r) if r.len() == 1 => {
            let ByteRange { first, last } = r[0];
            let n = last - first + 1;
            if let Some(ct) = ct {
                builder = builder.header(header::CONTENT_TYPE, ct);
            }
            let body = if head {
                empty()
            } else {
                body_for(path, entity, first, n).await?
            };
            Ok(builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {first}-{last}/{}", entity.len),
                )
                .header(header::CONTENT_LENGTH, n)
                .body(body)
                .unwrap_or_default())
        }
        Some(r) => {
            let boundary = format!("{:016x}", secs(entity.mtime) ^ entity.len ^ 0x1ab_c0de);
            let mut out = BytesMut::new();
            for ByteRange { first, last } in &r {
                out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                if let Some(t) = content_type {
                    out.extend_from_slice(format!("Content-type: {t}\r\n").as_bytes());
                }
                out.extend_from_slice(
                    format!("Content-range: bytes {first}-{last}/{}\r\n\r\n", entity.len)
                        .as_bytes(),
                );
                let part = body_for(path, entity, *first, last - first + 1)
                    .await?
                    .collect()
                    .await?
                    .to_bytes();
                out.extend_from_slice(&part);
            }
            out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            Ok(builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/byteranges; boundary={boundary}"),
                )
                .header(header::CONTENT_LENGTH, out.len())
                .body(if head { empty() } else { full(out.freeze()) })
                .unwrap_or_default())
        }
        None => {
            if let Some(ct) = ct {
                builder = builder.header(header::CONTENT_TYPE, ct);
            }
            let body = if head {
                empty()
            } else {
                body_for(path, entity, 0, entity.len).await?
            };
            Ok(builder
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, entity.len)
                .body(body)
                .unwrap_or_default())
        }
    }
}

async fn body_for(path: &Path, entity: &FileEntity, first: u64, n: u64) -> std::io::Result<Body> {
    if n == 0 {
        return Ok(super::head::zero_length());
    }
    if let Some(data) = &entity.data {
        let end = (first + n).min(data.len() as u64) as usize;
        let start = (first as usize).min(end);
        return Ok(full(data.slice(start..end)));
    }
    let mut file = tokio::fs::File::open(path).await?;
    if first > 0 {
        file.seek(std::io::SeekFrom::Start(first)).await?;
    }
    Ok(BodyExt::boxed(FileBody {
        file,
        remaining: n,
        buf: vec![0; 64 * 1024],
    }))
}

/// Streams `remaining` bytes of an open file.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = (this.buf.len() as u64).min(this.remaining) as usize;
        let mut rb = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    // The file shrank: end here rather than hang.
                    this.remaining = 0;
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "el fichero se acortó mientras se enviaba",
                    ))));
                }
                this.remaining -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(
                    &this.buf[..n],
                )))))
            }
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// `Expires` and `Cache-Control: max-age` for mod_expires.
pub fn expires_headers(h: &mut HeaderMap, after: Duration) {
    // mod_expires merges its max-age into a Cache-Control that is already there.
    let max_age = format!("max-age={}", after.as_secs());
    let merged = match h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        Some(old) if !old.is_empty() => format!("{old}, {max_age}"),
        _ => max_age,
    };
    if let Ok(v) = HeaderValue::from_str(&merged) {
        h.insert(header::CACHE_CONTROL, v);
    }
    let at = SystemTime::now() + after;
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
        h.insert(header::EXPIRES, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_rfc_9110() {
        let r = |s| parse_range(s, 100);
        assert_eq!(r("bytes=0-9"), Some(vec![ByteRange { first: 0, last: 9 }]));
        assert_eq!(
            r("bytes=90-"),
            Some(vec![ByteRange {
                first: 90,
                last: 99
            }])
        );
        assert_eq!(
            r("bytes=-5"),
            Some(vec![ByteRange {
                first: 95,
                last: 99
            }])
        );
        assert_eq!(
            r("bytes=50-500"),
            Some(vec![ByteRange {
                first: 50,
                last: 99
            }])
        );
        assert_eq!(r("bytes=100-"), Some(vec![]));
        assert_eq!(r("bytes=9-0"), None);
        assert_eq!(r("items=0-1"), None);
        assert_eq!(r("bytes=0-1,5-6").map(|v| v.len()), Some(2));
    }

    #[test]
    fn ranges_merge_like_apache_byterange_filter() {
        let r = |s| parse_range(s, 100);
        // Overlapping and adjacent ranges become one; out of order ones stay apart.
        assert_eq!(
            r("bytes=0-5,3-8"),
            Some(vec![ByteRange { first: 0, last: 8 }])
        );
        assert_eq!(
            r("bytes=0-4,5-9"),
            Some(vec![ByteRange { first: 0, last: 9 }])
        );
        assert_eq!(r("bytes=10-12,0-1").map(|v| v.len()), Some(2));
        // `-0` makes Apache ignore the header.
        assert_eq!(r("bytes=-0"), None);
        // Unsatisfiable parts are dropped, the rest is served.
        assert_eq!(
            r("bytes=200-300,0-1"),
            Some(vec![ByteRange { first: 0, last: 1 }])
        );
    }

    #[test]
    fn etag_comparison_is_weak_for_if_none_match_and_strong_for_if_match() {
        assert!(etag_matches("W/\"a\"", "\"a\"", true));
        assert!(!etag_matches("W/\"a\"", "\"a\"", false));
        assert!(etag_matches("\"b\", \"a\"", "\"a\"", false));
        assert!(etag_matches("*", "\"a\"", false));
    }
}
