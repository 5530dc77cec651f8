//! The object store: objects by hash, their Vary variants, busy fetches (the waiting list),
//! bans, and the LRU bound of `-s malloc,SIZE`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use regex::Regex;
use tokio::sync::watch;

use super::stats::Stats;
use super::vcl::Msg;

/// What kind of object: a normal one, or a marker that makes lookups miss (hit-for-miss)
/// or pass (hit-for-pass) for its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    Normal,
    HitMiss,
    HitPass,
}

/// A body being fetched or complete: readers stream it as chunks arrive.
pub struct BodyBuf {
    chunks: Mutex<Vec<Bytes>>,
    /// (chunks available, 0 = fetching / 1 = complete / 2 = failed).
    progress: watch::Sender<(usize, u8)>,
}

impl std::fmt::Debug for BodyBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BodyBuf({:?})", *self.progress.borrow())
    }
}

impl BodyBuf {
    pub fn new() -> Arc<BodyBuf> {
        Arc::new(BodyBuf {
            chunks: Mutex::new(Vec::new()),
            progress: watch::channel((0, 0)).0,
        })
    }

    pub fn complete(data: Bytes) -> Arc<BodyBuf> {
        let n = usize::from(!data.is_empty());
        Arc::new(BodyBuf {
            chunks: Mutex::new(if data.is_empty() {
                Vec::new()
            } else {
                vec![data]
            }),
            progress: watch::channel((n, 1)).0,
        })
    }

    pub fn push(&self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        let n = {
            let mut c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
            c.push(data);
            c.len()
        };
        self.progress.send_modify(|p| p.0 = n);
    }

    pub fn finish(&self, ok: bool) {
        self.progress.send_modify(|p| p.1 = if ok { 1 } else { 2 });
    }

    pub fn is_complete(&self) -> bool {
        self.progress.borrow().1 == 1
    }

    pub fn is_done(&self) -> bool {
        self.progress.borrow().1 != 0
    }

    /// The whole body, when complete.
    pub fn whole(&self) -> Option<Bytes> {
        if !self.is_complete() {
            return None;
        }
        let c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        Some(match c.len() {
            0 => Bytes::new(),
            1 => c[0].clone(),
            _ => {
                let mut v = Vec::with_capacity(c.iter().map(|b| b.len()).sum());
                for b in c.iter() {
                    v.extend_from_slice(b);
                }
                Bytes::from(v)
            }
        })
    }

    /// The last `N` bytes of a complete body, read across its chunks without joining them.
    pub fn last_bytes<const N: usize>(&self) -> Option<[u8; N]> {
        if !self.is_complete() {
            return None;
        }
        let c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = [0u8; N];
        let mut need = N;
        for b in c.iter().rev() {
            let take = need.min(b.len());
            out[need - take..need].copy_from_slice(&b[b.len() - take..]);
            need -= take;
            if need == 0 {
                return Some(out);
            }
        }
        None
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.chunks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|b| b.len())
            .sum()
    }

    /// Chunks from `from` on, waiting for more while the fetch runs. `None` at the end;
    /// `Some(Err)` when the fetch failed.
    pub async fn read_from(&self, from: usize) -> Option<Result<Vec<Bytes>, ()>> {
        let mut rx = self.progress.subscribe();
        loop {
            let (n, state) = *rx.borrow_and_update();
            if from < n {
                let c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
                return Some(Ok(c[from..n.min(c.len())].to_vec()));
            }
            match state {
                1 => return None,
                2 => return Some(Err(())),
                _ => {}
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    }
}

/// A cached object.
#[derive(Debug)]
pub struct Object {
    /// The id of the backend request that fetched it (the second number of `X-Varnish`).
    pub xid: u64,
    /// Status line and headers, without Content-Length (added at delivery).
    pub head: Arc<Msg>,
    pub body: Arc<BodyBuf>,
    /// When the object was born (fetch time minus the backend's `Age`).
    pub t_origin: f64,
    /// When it entered the cache (bans apply to older objects).
    pub t_inserted: f64,
    pub ttl: f64,
    pub grace: f64,
    pub keep: f64,
    pub kind: ObjKind,
    /// The request headers named by `Vary`, with their values at fetch time.
    pub vary: Option<Vec<(String, Option<String>)>>,
    pub hits: AtomicI64,
    pub last_used: AtomicU64,
    /// Stored gzipped (Content-Encoding: gzip).
    pub gzip: bool,
    pub size: usize,
    /// The body's length when the backend announced it (a streamed miss sends it too).
    pub length: Option<u64>,
    /// Body bytes counted in the store's total (set when the body is complete).
    pub accounted: AtomicU64,
    /// Removed from the store (a late body must not be counted).
    pub gone: std::sync::atomic::AtomicBool,
    /// The header that followed Content-Length in the backend's answer: delivery writes the
    /// length back in front of it, where Varnish keeps it.
    pub length_before: Option<String>,
    /// The backend's Content-Length header name as it spelled it.
    pub length_name: Option<String>,
    /// The answer to a plain hit, written once the body is complete (`proxy::fast`).
    pub fast: std::sync::OnceLock<Option<Box<super::fast::Template>>>,
}

impl Object {
    pub fn age(&self, now: f64) -> f64 {
        (now - self.t_origin).max(0.0)
    }

    pub fn remaining_ttl(&self, now: f64) -> f64 {
        self.t_origin + self.ttl - now
    }

    pub fn is_fresh(&self, now: f64) -> bool {
        self.remaining_ttl(now) > 0.0
    }

    pub fn in_grace(&self, now: f64, req_grace: Option<f64>) -> bool {
        let grace = match req_grace {
            Some(g) if g >= 0.0 => self.grace.min(g),
            _ => self.grace,
        };
        self.t_origin + self.ttl + grace > now
    }

    pub fn alive(&self, now: f64) -> bool {
        self.t_origin + self.ttl + self.grace + self.keep > now
    }

    pub fn vary_matches(&self, req: &Msg) -> bool {
        match &self.vary {
            None => true,
            // Accept-Encoding is ignored at lookup (http_gzip_support): a gzipped object is
            // gunzipped on delivery for clients that do not take gzip.
            Some(list) => list.iter().all(|(name, value)| {
                name == "accept-encoding"
                    || req.get(name).map(normalize_vary) == value.as_deref().map(normalize_vary)
            }),
        }
    }
}

fn normalize_vary(v: &str) -> String {
    v.trim().to_string()
}

/// The request headers a response `Vary`s on, with the request's values. `None` when the
/// response has no Vary.
pub fn vary_key(vary: Option<&str>, req: &Msg) -> Option<Vec<(String, Option<String>)>> {
    let vary = vary?;
    let list: Vec<(String, Option<String>)> = vary
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|name| {
            (
                name.to_ascii_lowercase(),
                req.get(name).map(|s| s.to_string()),
            )
        })
        .collect();
    if list.is_empty() {
        None
    } else {
        Some(list)
    }
}

/// The result of a lookup.
pub enum Lookup {
    Hit(Arc<Object>),
    /// A stale object served in grace; `bgfetch` tells whether this request must start
    /// the background refresh (nobody else is fetching it).
    Grace {
        obj: Arc<Object>,
        bgfetch: bool,
        busy: Option<Arc<Busy>>,
    },
    HitMiss(Arc<Object>),
    HitPass(Arc<Object>),
    /// Not found: this request fetches it. `stale` is an expired object kept for a
    /// conditional request; `busy` is the marker others wait on.
    Miss {
        stale: Option<Arc<Object>>,
        busy: Option<Arc<Busy>>,
    },
    /// Somebody is fetching it: wait, then look up again.
    Wait(watch::Receiver<bool>),
}

/// A fetch in progress for one hash: waiting requests watch `done`.
#[derive(Debug)]
pub struct Busy {
    done: watch::Sender<bool>,
}

impl Busy {
    fn new() -> Arc<Busy> {
        Arc::new(Busy {
            done: watch::channel(false).0,
        })
    }
}

#[derive(Default)]
struct Head {
    objs: Vec<Arc<Object>>,
    busy: Option<Arc<Busy>>,
}

/// One ban: a list of conditions, all of which must hold.
#[derive(Debug, Clone)]
pub struct Ban {
    pub time: f64,
    pub text: String,
    pub conds: Vec<BanCond>,
}

#[derive(Debug, Clone)]
pub struct BanCond {
    pub field: BanField,
    pub op: BanOp,
    pub arg: String,
    pub re: Option<Regex>,
}

#[derive(Debug, Clone)]
pub enum BanField {
    ReqUrl,
    ReqHttp(String),
    ObjHttp(String),
    ObjStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanOp {
    Eq,
    Ne,
    Match,
    NoMatch,
}

/// Parses a ban expression as `varnishadm ban` and VCL's `ban()` take it:
/// `req.url ~ "^/img/" && obj.http.Content-Type ~ "png"`.
pub fn parse_ban(text: &str) -> Result<Vec<BanCond>, String> {
    let mut conds = Vec::new();
    for part in text.split("&&") {
        let part = part.trim();
        let mut it = part.splitn(3, char::is_whitespace);
        let (Some(field), Some(op), Some(arg)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("condición incompleta `{part}`: se espera CAMPO OPERADOR VALOR, por ejemplo req.url ~ \"^/img/\""));
        };
        let field = match field {
            "req.url" | "obj.url" => BanField::ReqUrl,
            "obj.status" => BanField::ObjStatus,
            f => {
                if let Some(h) = f.strip_prefix("req.http.") {
                    BanField::ReqHttp(h.to_string())
                } else if let Some(h) = f.strip_prefix("obj.http.") {
                    BanField::ObjHttp(h.to_string())
                } else {
                    return Err(format!("campo de ban desconocido `{f}`: usa req.url, req.http.X, obj.http.X u obj.status"));
                }
            }
        };
        let op = match op {
            "==" => BanOp::Eq,
            "!=" => BanOp::Ne,
            "~" => BanOp::Match,
            "!~" => BanOp::NoMatch,
            o => {
                return Err(format!(
                    "operador de ban desconocido `{o}`: usa ==, !=, ~ o !~"
                ))
            }
        };
        let arg = arg.trim();
        let arg = arg
            .strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .unwrap_or(arg)
            .to_string();
        let re = match op {
            BanOp::Match | BanOp::NoMatch => Some(
                Regex::new(&arg)
                    .map_err(|e| format!("expresión regular no válida `{arg}`: {e}"))?,
            ),
            _ => None,
        };
        conds.push(BanCond { field, op, arg, re });
    }
    Ok(conds)
}

impl Ban {
    fn matches(&self, obj: &Object, url: &str, req: &Msg) -> bool {
        self.conds.iter().all(|c| {
            let value: Option<String> = match &c.field {
                BanField::ReqUrl => Some(url.to_string()),
                BanField::ReqHttp(h) => req.get(h).map(|s| s.to_string()),
                BanField::ObjHttp(h) => obj.head.get(h).map(|s| s.to_string()),
                BanField::ObjStatus => Some(obj.head.status.to_string()),
            };
            let v = value.unwrap_or_default();
            match c.op {
                BanOp::Eq => v == c.arg,
                BanOp::Ne => v != c.arg,
                BanOp::Match => c.re.as_ref().is_some_and(|r| r.is_match(&v)),
                BanOp::NoMatch => !c.re.as_ref().is_some_and(|r| r.is_match(&v)),
            }
        })
    }
}

/// The cache.
pub struct Store {
    heads: Mutex<HashMap<Vec<u8>, Head>>,
    /// The URL and request each object was stored for (bans match on them).
    urls: Mutex<HashMap<usize, (String, Msg)>>,
    bans: Mutex<Vec<Ban>>,
    /// How many bans are kept (read without the lock by [`Store::fast_hit`]).
    ban_count: AtomicUsize,
    bytes: AtomicU64,
    limit: u64,
    tick: AtomicU64,
    stats: Arc<Stats>,
}

/// The key of a lookup: `hash_data()` inputs joined.
pub fn hash_key(parts: &[String]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        k.extend_from_slice(p.as_bytes());
        k.push(0);
    }
    k
}

impl Store {
    pub fn new(limit: u64, stats: Arc<Stats>) -> Store {
        Store {
            heads: Mutex::new(HashMap::new()),
            urls: Mutex::new(HashMap::new()),
            bans: Mutex::new(Vec::new()),
            ban_count: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            limit,
            tick: AtomicU64::new(0),
            stats,
        }
    }

    fn heads(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Head>> {
        self.heads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks `key` up for `req` at `now`. Creates the busy marker on a miss (unless
    /// `ignore_busy` or `always_miss` say otherwise).
    pub fn lookup(
        &self,
        key: &[u8],
        req: &Msg,
        now: f64,
        req_grace: Option<f64>,
        always_miss: bool,
        ignore_busy: bool,
    ) -> Lookup {
        let bans = {
            let b = self.bans.lock().unwrap_or_else(|p| p.into_inner());
            if b.is_empty() {
                Vec::new()
            } else {
                b.clone()
            }
        };
        let mut heads = self.heads();
        if !heads.contains_key(key) {
            heads.insert(key.to_vec(), Head::default());
        }
        let head = heads.get_mut(key).expect("just inserted");
        let mut stale: Option<Arc<Object>> = None;
        let mut grace: Option<Arc<Object>> = None;
        let mut removed = Vec::new();
        let mut found = None;
        head.objs.retain(|o| {
            if !o.alive(now) {
                removed.push(Arc::clone(o));
                return false;
            }
            if !bans.is_empty() && self.banned(o, &bans) {
                removed.push(Arc::clone(o));
                return false;
            }
            true
        });
        if !always_miss {
            for o in &head.objs {
                if !o.vary_matches(req) {
                    continue;
                }
                if o.kind != ObjKind::Normal {
                    if o.is_fresh(now) {
                        found = Some(Arc::clone(o));
                        break;
                    }
                    continue;
                }
                if o.is_fresh(now) {
                    found = Some(Arc::clone(o));
                    break;
                }
                if grace.is_none() && o.in_grace(now, req_grace) {
                    grace = Some(Arc::clone(o));
                }
                if stale.is_none() {
                    stale = Some(Arc::clone(o));
                }
            }
        }
        let busy_now = head.busy.clone();
        let result = match found {
            Some(o) => {
                o.last_used.store(self.tick.fetch_add(1, Relaxed), Relaxed);
                match o.kind {
                    ObjKind::Normal => Lookup::Hit(o),
                    ObjKind::HitMiss => Lookup::HitMiss(o),
                    ObjKind::HitPass => Lookup::HitPass(o),
                }
            }
            None => match (grace, busy_now) {
                (Some(obj), Some(_)) => Lookup::Grace {
                    obj,
                    bgfetch: false,
                    busy: None,
                },
                (Some(obj), None) => {
                    let b = Busy::new();
                    head.busy = Some(Arc::clone(&b));
                    Lookup::Grace {
                        obj,
                        bgfetch: true,
                        busy: Some(b),
                    }
                }
                (None, Some(b)) if !ignore_busy && !always_miss => Lookup::Wait(b.done.subscribe()),
                (None, _) => {
                    let busy = if always_miss || ignore_busy {
                        None
                    } else {
                        let b = Busy::new();
                        head.busy = Some(Arc::clone(&b));
                        Some(b)
                    };
                    Lookup::Miss { stale, busy }
                }
            },
        };
        if head.objs.is_empty() && head.busy.is_none() {
            heads.remove(key);
        }
        drop(heads);
        for o in removed {
            self.forget(&o);
            self.stats.n_expired.fetch_add(1, Relaxed);
        }
        result
    }

    /// What [`Store::lookup`] finds when the answer is a plain hit on `key`'s first object
    /// (fresh, not a hit-for-miss/pass marker, varying on nothing but Accept-Encoding, no
    /// ban to test and nothing expired to remove): `f` runs on it under the store's lock and
    /// the object counts as used when `f` returns something. `None` when the lookup would be
    /// anything else (or `f` says no): [`Store::lookup`] then decides, as always.
    pub fn fast_hit<R>(
        &self,
        key: &[u8],
        now: f64,
        f: impl FnOnce(&Arc<Object>) -> Option<R>,
    ) -> Option<R> {
        if self.ban_count.load(std::sync::atomic::Ordering::Acquire) != 0 {
            return None;
        }
        let heads = self.heads();
        let head = heads.get(key)?;
        let o = head.objs.first()?;
        let plain_vary = o
            .vary
            .as_ref()
            .is_none_or(|v| v.iter().all(|(n, _)| n == "accept-encoding"));
        if o.kind != ObjKind::Normal
            || !plain_vary
            || !o.is_fresh(now)
            || head.objs.iter().any(|x| !x.alive(now))
        {
            return None;
        }
        let r = f(o)?;
        o.last_used.store(self.tick.fetch_add(1, Relaxed), Relaxed);
        Some(r)
    }

    fn banned(&self, o: &Object, bans: &[Ban]) -> bool {
        let newer: Vec<&Ban> = bans.iter().filter(|b| b.time > o.t_inserted).collect();
        if newer.is_empty() {
            return false;
        }
        let urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        let Some((url, req)) = urls.get(&(Arc::as_ptr(&o.head) as usize)) else {
            return false;
        };
        newer.iter().any(|b| b.matches(o, url, req))
    }

    fn forget(&self, o: &Object) {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(Arc::as_ptr(&o.head) as usize));
        o.gone.store(true, Relaxed);
        let total = o.size as u64 + o.accounted.swap(0, Relaxed);
        let _ = self
            .bytes
            .fetch_update(Relaxed, Relaxed, |b| Some(b.saturating_sub(total)));
        self.stats.n_object.fetch_sub(1, Relaxed);
    }

    /// Inserts `obj` for `key` (replacing objects with the same Vary variant and clearing
    /// the busy marker `busy`), then evicts least recently used objects over the limit.
    pub fn insert(
        &self,
        key: &[u8],
        obj: Arc<Object>,
        url: &str,
        req: &Msg,
        busy: Option<&Arc<Busy>>,
    ) {
        obj.last_used
            .store(self.tick.fetch_add(1, Relaxed), Relaxed);
        let mut gone = Vec::new();
        {
            let mut heads = self.heads();
            let head = heads.entry(key.to_vec()).or_default();
            head.objs.retain(|o| {
                let same = o.vary == obj.vary || (o.kind != ObjKind::Normal && o.vary_matches(req));
                if same {
                    gone.push(Arc::clone(o));
                }
                !same
            });
            head.objs.insert(0, Arc::clone(&obj));
            if let Some(b) = busy {
                if head.busy.as_ref().is_some_and(|h| Arc::ptr_eq(h, b)) {
                    head.busy = None;
                }
            }
        }
        self.urls.lock().unwrap_or_else(|p| p.into_inner()).insert(
            Arc::as_ptr(&obj.head) as usize,
            (url.to_string(), req.clone()),
        );
        self.bytes.fetch_add(obj.size as u64, Relaxed);
        self.stats.n_object.fetch_add(1, Relaxed);
        for o in gone {
            self.forget(&o);
        }
        if let Some(b) = busy {
            let _ = b.done.send(true);
        }
        self.evict();
    }

    /// Ends a busy fetch that stored nothing, waking the waiting list.
    pub fn unbusy(&self, key: &[u8], busy: &Arc<Busy>) {
        {
            let mut heads = self.heads();
            if let Some(head) = heads.get_mut(key) {
                if head.busy.as_ref().is_some_and(|h| Arc::ptr_eq(h, busy)) {
                    head.busy = None;
                }
                if head.objs.is_empty() && head.busy.is_none() {
                    heads.remove(key);
                }
            }
        }
        let _ = busy.done.send(true);
    }

    /// Grows the accounted size of `obj` once its body is complete.
    pub fn account(&self, obj: &Object, extra: u64) {
        if obj.gone.load(Relaxed) {
            return;
        }
        obj.accounted.store(extra, Relaxed);
        self.bytes.fetch_add(extra, Relaxed);
        self.evict();
    }

    fn evict(&self) {
        while self.bytes.load(Relaxed) > self.limit {
            let mut heads = self.heads();
            let victim = heads
                .iter()
                .flat_map(|(k, h)| h.objs.iter().map(move |o| (k.clone(), Arc::clone(o))))
                .min_by_key(|(_, o)| o.last_used.load(Relaxed));
            let Some((k, o)) = victim else { break };
            if let Some(h) = heads.get_mut(&k) {
                h.objs.retain(|x| !Arc::ptr_eq(x, &o));
                if h.objs.is_empty() && h.busy.is_none() {
                    heads.remove(&k);
                }
            }
            drop(heads);
            self.forget(&o);
            self.stats.n_lru_nuked.fetch_add(1, Relaxed);
        }
    }

    /// Removes every variant stored under `key` (PURGE). Returns how many.
    pub fn purge(&self, key: &[u8]) -> usize {
        let objs = {
            let mut heads = self.heads();
            match heads.get_mut(key) {
                Some(h) => std::mem::take(&mut h.objs),
                None => Vec::new(),
            }
        };
        for o in &objs {
            self.forget(o);
        }
        objs.len()
    }

    /// Adds a ban; objects already stored that match it are gone for every later lookup.
    pub fn ban(&self, text: &str, now: f64) -> Result<(), String> {
        let conds = parse_ban(text)?;
        let mut bans = self.bans.lock().unwrap_or_else(|p| p.into_inner());
        bans.push(Ban {
            time: now,
            text: text.to_string(),
            conds,
        });
        // Bans older than every object can go.
        let oldest = self.oldest_insert();
        bans.retain(|b| oldest.is_some_and(|t| b.time > t));
        self.ban_count
            .store(bans.len(), std::sync::atomic::Ordering::Release);
        self.stats.bans_added.fetch_add(1, Relaxed);
        Ok(())
    }

    fn oldest_insert(&self) -> Option<f64> {
        self.heads()
            .values()
            .flat_map(|h| h.objs.iter().map(|o| o.t_inserted))
            .reduce(f64::min)
    }

    pub fn bans(&self) -> Vec<Ban> {
        self.bans.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }

    /// Whether a lookup would find something, without touching anything (`lab explain`).
    pub fn peek(&self, key: &[u8], req: &Msg, now: f64) -> Option<Arc<Object>> {
        let heads = self.heads();
        heads
            .get(key)?
            .objs
            .iter()
            .find(|o| o.vary_matches(req) && o.alive(now))
            .cloned()
    }
}

#[cfg(test)]
mod body_tests {
    use super::BodyBuf;
    use bytes::Bytes;

    #[test]
    fn the_last_bytes_are_read_across_chunks_once_complete() {
        let b = BodyBuf::new();
        for part in ["abcdef", "g", "hi"] {
            b.push(Bytes::from(part));
        }
        assert_eq!(b.last_bytes::<4>(), None, "still being fetched");
        b.finish(true);
        assert_eq!(&b.last_bytes::<4>().unwrap(), b"fghi");
        assert_eq!(&b.last_bytes::<2>().unwrap(), b"hi");
        assert_eq!(b.last_bytes::<10>(), None, "shorter than asked");
    }
}
