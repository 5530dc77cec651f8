//! Counters named as varnishstat names them, and the varnishlog-like transaction log.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use super::query::{Grouping, Query};

/// Slots per counter: each thread adds to its own, so the threads serving requests do not
/// keep taking one cache line from each other (as Varnish's per-worker counters).
const SLOTS: usize = 8;

#[derive(Debug, Default)]
#[repr(align(64))]
struct Slot(AtomicU64);

/// A counter (or a gauge: additions and subtractions wrap, and their sum is the value)
/// with the atomics' interface.
#[derive(Debug, Default)]
pub struct Counter {
    slots: [Slot; SLOTS],
}

fn slot() -> usize {
    use std::cell::Cell;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SLOT.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Relaxed) as usize % SLOTS);
        }
        s.get()
    })
}

impl Counter {
    /// Adds `n`; returns nothing useful (the slot's previous value), like a sum's part.
    pub fn fetch_add(&self, n: u64, order: std::sync::atomic::Ordering) -> u64 {
        self.slots[slot()].0.fetch_add(n, order)
    }

    pub fn fetch_sub(&self, n: u64, order: std::sync::atomic::Ordering) -> u64 {
        self.slots[slot()].0.fetch_sub(n, order)
    }

    pub fn load(&self, order: std::sync::atomic::Ordering) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(order)))
    }
}

macro_rules! counters {
    ($($name:ident : $desc:literal),* $(,)?) => {
        /// `MAIN.*` counters.
        #[derive(Debug, Default)]
        pub struct Stats {
            $(pub $name: Counter,)*
        }

        impl Stats {
            /// (name, value, description), in varnishstat's order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64, &'static str)> {
                vec![$((stringify!($name), self.$name.load(Relaxed), $desc),)*]
            }
        }
    };
}

counters! {
    sess_conn: "Sesiones (conexiones) aceptadas",
    client_req: "Peticiones de clientes recibidas",
    cache_hit: "Aciertos de caché",
    cache_hit_grace: "Aciertos con objetos caducados en periodo de gracia",
    cache_hitpass: "Aciertos de hit-for-pass (la petición pasa al backend)",
    cache_hitmiss: "Aciertos de hit-for-miss (la petición va al backend)",
    cache_miss: "Fallos de caché",
    backend_conn: "Conexiones nuevas al backend",
    backend_reuse: "Conexiones al backend reutilizadas",
    backend_fail: "Fallos al conectar con el backend",
    backend_req: "Peticiones enviadas al backend",
    fetch_failed: "Descargas del backend fallidas",
    n_object: "Objetos en caché",
    n_expired: "Objetos caducados",
    n_lru_nuked: "Objetos expulsados por falta de memoria (LRU)",
    n_purges: "Purgas ejecutadas",
    n_obj_purged: "Objetos purgados",
    bans_added: "Bans añadidos",
    s_pass: "Peticiones pasadas al backend (pass)",
    s_pipe: "Peticiones en modo pipe",
    s_synth: "Respuestas sintéticas",
    s_fetch: "Descargas del backend",
    busy_sleep: "Peticiones puestas en la lista de espera",
    busy_wakeup: "Peticiones despertadas de la lista de espera",
    bgfetch: "Descargas en segundo plano (gracia)",
    s_resp_bodybytes: "Bytes de cuerpo enviados a los clientes",
}

/// The last transactions, as varnishlog would show them.
pub struct TxLog {
    entries: Mutex<VecDeque<(u64, Entry)>>,
    seq: AtomicU64,
    cap: usize,
}

impl TxLog {
    pub fn new(cap: usize) -> TxLog {
        TxLog {
            entries: Mutex::new(VecDeque::with_capacity(cap)),
            seq: AtomicU64::new(0),
            cap,
        }
    }

    /// Keeps one transaction (rendered only when somebody reads the log).
    pub fn push(&self, kind: &'static str, xid: u64, trace: Trace) {
        self.push_tx(kind, xid, Tx::Trace(trace));
    }

    /// Keeps one transaction, whose records may be written only when the log is read.
    pub fn push_tx(&self, kind: &'static str, xid: u64, tx: Tx) {
        let n = self.seq.fetch_add(1, Relaxed) + 1;
        let old = {
            let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let old = if e.len() == self.cap {
                e.pop_front()
            } else {
                None
            };
            e.push_back((n, Entry { kind, xid, tx }));
            old
        };
        // Freed outside the lock.
        drop(old);
    }

    /// How many kept transactions are plain hits whose records are written on reading.
    #[cfg(test)]
    pub fn lazy_hits(&self) -> usize {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.iter().filter(|(_, t)| matches!(t.tx, Tx::Hit(_))).count()
    }

    /// Entries after sequence number `after`, and the last number.
    pub fn since(&self, after: u64) -> (Vec<String>, u64) {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let out = e
            .iter()
            .filter(|(n, _)| *n > after)
            .map(|(_, t)| t.tx.trace().render(t.kind, t.xid))
            .collect();
        (out, self.seq.load(Relaxed))
    }
}

/// `lab proxy log -q QUERY -g GROUPING`.
impl TxLog {
    /// Like [`TxLog::since`], keeping only what `query` selects. With
    /// [`Grouping::Request`], each client request comes with the backend requests it started
    /// (their `Begin` names it), and the query sees the records of all of them.
    pub fn since_query(
        &self,
        after: u64,
        query: Option<&Query>,
        grouping: Grouping,
    ) -> (Vec<String>, u64) {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (n, t) in e.iter().filter(|(n, _)| *n > after) {
            let trace = t.tx.trace();
            match grouping {
                Grouping::Vxid => {
                    if query.is_none_or(|q| q.matches(&as_pairs(&trace.records()))) {
                        out.push(trace.render(t.kind, t.xid));
                    }
                }
                Grouping::Request => {
                    if t.kind != "Request" {
                        continue;
                    }
                    let parent = t.xid.to_string();
                    let children: Vec<&Entry> = e
                        .iter()
                        .filter(|(m, c)| {
                            m != n
                                && c.kind == "BeReq"
                                && c.tx
                                    .trace()
                                    .first("Begin")
                                    .is_some_and(|text| text.split(' ').nth(1) == Some(&parent))
                        })
                        .map(|(_, c)| c)
                        .collect();
                    let children: Vec<(&Entry, Cow<'_, Trace>)> =
                        children.into_iter().map(|c| (c, c.tx.trace())).collect();
                    let mut records = trace.records();
                    for (_, c) in &children {
                        records.extend(c.records());
                    }
                    if query.is_none_or(|q| q.matches(&as_pairs(&records))) {
                        let mut text = trace.render(t.kind, t.xid);
                        for (c, ct) in &children {
                            text.push_str(&ct.render_nested(c.kind, c.xid));
                        }
                        out.push(text);
                    }
                }
            }
        }
        (out, self.seq.load(Relaxed))
    }
}

fn as_pairs<'a>(records: &'a [(&'static str, Cow<'_, str>)]) -> Vec<(&'a str, &'a str)> {
    records.iter().map(|(t, x)| (*t, x.as_ref())).collect()
}

struct Entry {
    kind: &'static str,
    xid: u64,
    tx: Tx,
}

/// A transaction's records: written as it ran, or a plain cache hit served by
/// [`super::fast`], whose records (the same ones) are written when the log is read.
pub enum Tx {
    Trace(Trace),
    Hit(Box<super::fast::HitRecord>),
}

impl Tx {
    fn trace(&self) -> Cow<'_, Trace> {
        match self {
            Tx::Trace(t) => Cow::Borrowed(t),
            Tx::Hit(h) => Cow::Owned(h.trace()),
        }
    }
}

/// Builds one transaction's lines: `-   VCL_call       RECV`.
///
/// Every record's text goes into one buffer (`text`), and `recs` keeps each record's tag and
/// where its text ends: a request writes about twenty records, and keeping them as two
/// allocations instead of one per record (and per header) matters on the cache-hit path,
/// where a log record is written for every request and dropped, later and possibly on
/// another thread, when the log is full.
#[derive(Default, Clone)]
pub struct Trace {
    text: String,
    recs: Vec<(&'static str, u32)>,
}

impl Trace {
    fn close(&mut self, tag: &'static str) {
        if self.recs.capacity() == 0 {
            // A hit writes about thirty records: one allocation instead of regrowths.
            self.recs.reserve(48);
        }
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.recs.push((tag, end));
    }

    fn reserve_text(&mut self, n: usize) {
        if self.text.capacity() == 0 {
            self.text.reserve(n.max(2048));
        }
    }

    pub fn add(&mut self, tag: &'static str, text: impl AsRef<str>) {
        let text = text.as_ref();
        self.reserve_text(text.len());
        self.text.push_str(text);
        self.close(tag);
    }

    /// A formatted record written in place: `trace.add_fmt("Hit", format_args!(...))`.
    pub fn add_fmt(&mut self, tag: &'static str, args: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        self.reserve_text(64);
        let _ = self.text.write_fmt(args);
        self.close(tag);
    }

    /// One `tag` record per header (`name: value`).
    pub fn add_headers(&mut self, tag: &'static str, headers: &http::HeaderMap) {
        for (n, v) in headers {
            self.header(tag, n.as_str(), &String::from_utf8_lossy(v.as_bytes()));
        }
    }

    /// One `tag` record per (name, value).
    pub fn add_pairs(&mut self, tag: &'static str, pairs: &[(String, String)]) {
        for (n, v) in pairs {
            self.header(tag, n, v);
        }
    }

    /// One `tag` record `name: value`.
    pub fn header(&mut self, tag: &'static str, name: &str, value: &str) {
        self.reserve_text(name.len() + value.len() + 2);
        self.text.push_str(name);
        self.text.push_str(": ");
        self.text.push_str(value);
        self.close(tag);
    }

    fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let mut at = 0usize;
        self.recs.iter().map(move |&(tag, end)| {
            let end = (end as usize).min(self.text.len());
            let s = self.text.get(at..end).unwrap_or("");
            at = end;
            (tag, s)
        })
    }

    /// The text of the first record, when it is `tag`.
    fn first(&self, tag: &str) -> Option<&str> {
        match self.iter().next() {
            Some((t, s)) if t == tag => Some(s),
            _ => None,
        }
    }

    /// The records as (tag, text), for queries and rendering.
    pub fn records(&self) -> Vec<(&'static str, Cow<'_, str>)> {
        self.iter().map(|(t, s)| (t, Cow::Borrowed(s))).collect()
    }

    /// As varnishlog shows a backend request inside its client request (`-g request`).
    pub fn render_nested(&self, kind: &str, xid: u64) -> String {
        let mut out = format!("**  << {kind:<8} >> {xid}\n");
        for (tag, text) in self.records() {
            out.push_str(&format!("--  {tag:<14} {text}\n"));
        }
        out
    }

    pub fn render(&self, kind: &str, xid: u64) -> String {
        let mut out = format!("*   << {kind:<8} >> {xid}\n");
        for (tag, text) in self.records() {
            out.push_str(&format!("-   {tag:<14} {text}\n"));
        }
        out
    }
}
