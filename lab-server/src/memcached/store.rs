//! The item store: shards (each a [`Lru`] behind its own lock, so `-t` worker threads rarely
//! wait for each other), memory accounted per item against `-m` with LRU eviction, the
//! `-I` item size limit, lazy expiry on access plus a periodic reclaim, `flush_all` with
//! and without delay, cas unique values and the storage counters of `stats`.
//!
//! Commands work on one key at a time through [`Store::with`], which hands them the
//! key's shard ([`ShardGuard`]) and evicts afterwards if the store went over its limit.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

use super::clock::Clock;
use super::lru::{hash_key, Item, Lru};
use super::slabs::{self, ClassCounters, ClassStats};

/// Seconds between two refreshes of an item's access time.
const ITEM_UPDATE_INTERVAL: u32 = 60;

/// Limits of a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreSettings {
    pub memory_limit: u64,
    pub item_size_max: u64,
    /// `false` with `-M`: refuse to store instead of evicting.
    pub evictions: bool,
    /// Number of shards (rounded up to a power of two).
    pub shards: usize,
}

impl StoreSettings {
    /// Shards for `threads` workers: enough that two threads seldom meet on one lock.
    pub fn shards_for(threads: usize) -> usize {
        (threads * 16).clamp(16, 1024).next_power_of_two()
    }
}

/// Counters kept per shard (under its lock) and summed for `stats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub cmd_get: u64,
    pub cmd_set: u64,
    pub cmd_touch: u64,
    pub get_hits: u64,
    pub get_misses: u64,
    pub get_expired: u64,
    pub get_flushed: u64,
    pub delete_hits: u64,
    pub delete_misses: u64,
    pub incr_hits: u64,
    pub incr_misses: u64,
    pub decr_hits: u64,
    pub decr_misses: u64,
    pub cas_hits: u64,
    pub cas_misses: u64,
    pub cas_badval: u64,
    pub touch_hits: u64,
    pub touch_misses: u64,
    pub store_too_large: u64,
    pub store_no_memory: u64,
    pub evictions: u64,
    pub evicted_nonzero: u64,
    pub evicted_unfetched: u64,
    pub reclaimed: u64,
    pub expired_unfetched: u64,
    pub total_items: u64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        sum!(
            cmd_get,
            cmd_set,
            cmd_touch,
            get_hits,
            get_misses,
            get_expired,
            get_flushed,
            delete_hits,
            delete_misses,
            incr_hits,
            incr_misses,
            decr_hits,
            decr_misses,
            cas_hits,
            cas_misses,
            cas_badval,
            touch_hits,
            touch_misses,
            store_too_large,
            store_no_memory,
            evictions,
            evicted_nonzero,
            evicted_unfetched,
            reclaimed,
            expired_unfetched,
            total_items
        );
    }
}

/// Why a store was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Bigger than `-I`.
    TooLarge,
    /// `-M` and no room.
    NoMemory,
}

/// How an item is looked up: retrievals count expired and flushed misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `get` and friends: bump in the LRU, count `get_expired`/`get_flushed`.
    Fetch,
    /// Any other command.
    Other,
}

/// One shard: its items and counters.
pub struct Shard {
    lru: Lru,
    pub counters: Counters,
    /// Per slab class (index = class id; 0 unused).
    slab: Vec<ClassCounters>,
}

/// A totals snapshot for `stats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub counters: Counters,
    pub curr_items: u64,
    pub bytes: u64,
}

/// The store shared by every connection.
pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
    bytes: AtomicU64,
    /// Per slab class (index = class id): items held, their `ntotal`, pages taken.
    classes: Box<[ClassLive]>,
    settings: StoreSettings,
    pub clock: Clock,
    /// Delayed `flush_all`: items stored at or before this rel time are dead once it has
    /// passed (0 = none).
    oldest_live: AtomicU32,
    /// Immediate `flush_all`s so far: items stored before the last one are dead (memcached
    /// does the same with the cas value at the time of the flush), and go when next looked
    /// at or by the periodic reclaim, counted as `get_flushed` and `reclaimed` like there.
    flush_epoch: AtomicU32,
    evict_cursor: AtomicUsize,
    /// The last cas unique given: one counter for the whole store, as memcached's
    /// `get_cas_id`, so a student sees them count up from 1, one per store.
    cas: AtomicU64,
}

/// What a slab class holds now, kept with atomics so its page high-water mark is global.
#[derive(Default)]
struct ClassLive {
    number: AtomicU64,
    requested: AtomicU64,
    pages: AtomicU64,
}

/// A locked shard, with the store's limits at hand.
pub struct ShardGuard<'a> {
    shard: MutexGuard<'a, Shard>,
    store: &'a Store,
    /// The rel time of this operation.
    pub now: u32,
}

impl Store {
    pub fn new(settings: StoreSettings, clock: Clock) -> Store {
        let n = settings.shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                Mutex::new(Shard {
                    lru: Lru::new(),
                    counters: Counters::default(),
                    slab: vec![ClassCounters::default(); slabs::count() + 1],
                })
            })
            .collect();
        Store {
            shards,
            mask: n as u64 - 1,
            bytes: AtomicU64::new(0),
            classes: (0..=slabs::count()).map(|_| ClassLive::default()).collect(),
            settings: StoreSettings {
                shards: n,
                ..settings
            },
            clock,
            oldest_live: AtomicU32::new(0),
            flush_epoch: AtomicU32::new(0),
            evict_cursor: AtomicUsize::new(0),
            cas: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> StoreSettings {
        self.settings
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding a shard lock cannot leave an item half-written (every
        // mutation is a single map/list operation), so a poisoned lock is still usable.
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        (hash_key(key) & self.mask) as usize
    }

    /// Runs `f` on the shard of `key`, then evicts if memory went over `-m`.
    pub fn with<R>(&self, key: &[u8], f: impl FnOnce(&mut ShardGuard<'_>) -> R) -> R {
        let index = self.shard_of(key);
        let mut guard = ShardGuard {
            shard: self.lock(index),
            store: self,
            now: self.clock.now(),
        };
        let result = f(&mut guard);
        if self.over_limit() {
            // Our own shard first (we hold its lock), keeping the item just written.
            guard.evict_while_over(1);
            drop(guard);
            self.evict_elsewhere(index);
        }
        result
    }

    fn over_limit(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) > self.settings.memory_limit
    }

    /// Evicts from the other shards, one lock at a time, until under the limit.
    fn evict_elsewhere(&self, own: usize) {
        let n = self.shards.len();
        let mut empty_rounds = 0;
        while self.over_limit() && empty_rounds < 2 {
            let mut evicted_any = false;
            for _ in 0..n {
                let i = self.evict_cursor.fetch_add(1, Ordering::Relaxed) % n;
                let keep = usize::from(i == own);
                let mut g = ShardGuard {
                    shard: self.lock(i),
                    store: self,
                    now: self.clock.now(),
                };
                evicted_any |= g.evict_while_over(keep);
                if !self.over_limit() {
                    return;
                }
            }
            if !evicted_any {
                empty_rounds += 1;
            }
        }
        // Only the newest item is left somewhere and it alone is over the limit: let it go.
        if self.over_limit() {
            let mut g = ShardGuard {
                shard: self.lock(own),
                store: self,
                now: self.clock.now(),
            };
            g.evict_while_over(0);
        }
    }

    /// `flush_all [delay]`: with no delay every item goes now; with a delay, items stored
    /// up to then die when it comes.
    pub fn flush(&self, delay: i64) {
        if delay > 0 {
            let at = self.clock.expiry(delay).saturating_sub(1).max(1);
            self.oldest_live.store(at, Ordering::Relaxed);
            return;
        }
        self.oldest_live.store(0, Ordering::Relaxed);
        self.flush_epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Charges a stored item: `bytes`, its class's count and size, and the class's pages.
    fn account_add(&self, it: &Item) {
        let size = it.ntotal();
        let id = slabs::class_of(size);
        let c = &self.classes[id];
        self.bytes.fetch_add(size, Ordering::Relaxed);
        c.requested.fetch_add(size, Ordering::Relaxed);
        let number = c.number.fetch_add(1, Ordering::Relaxed) + 1;
        c.pages
            .fetch_max(slabs::pages_for(id, number), Ordering::Relaxed);
    }

    /// Releases what [`Store::account_add`] charged.
    fn account_sub(&self, it: &Item) {
        let size = it.ntotal();
        let c = &self.classes[slabs::class_of(size)];
        self.bytes.fetch_sub(size, Ordering::Relaxed);
        c.requested.fetch_sub(size, Ordering::Relaxed);
        c.number.fetch_sub(1, Ordering::Relaxed);
    }

    /// Every class that holds items or has taken pages, as `stats items`/`stats slabs`
    /// show them.
    pub fn class_stats(&self) -> Vec<ClassStats> {
        let n = slabs::count();
        let mut out: Vec<ClassStats> = (0..=n)
            .map(|id| {
                let c = &self.classes[id];
                ClassStats {
                    id,
                    number: c.number.load(Ordering::Relaxed),
                    requested: c.requested.load(Ordering::Relaxed),
                    pages: c.pages.load(Ordering::Relaxed),
                    ..ClassStats::default()
                }
            })
            .collect();
        let mut oldest = vec![u32::MAX; n + 1];
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            for (id, c) in s.slab.iter().enumerate() {
                out[id].counters.add(c);
            }
            for it in s.lru.items() {
                let id = slabs::class_of(it.ntotal());
                oldest[id] = oldest[id].min(it.accessed);
            }
        }
        let now = self.clock.now();
        for (stat, &o) in out.iter_mut().zip(&oldest) {
            if o != u32::MAX {
                stat.age = now.saturating_sub(o);
            }
        }
        out.retain(|c| c.id > 0 && (c.number > 0 || c.pages > 0));
        out
    }

    /// `stats cachedump CLASS LIMIT`: up to `limit` (0 = all) items of a class, as key, data
    /// length and absolute expiry (0 = never).
    pub fn dump_class(&self, class: usize, limit: u64) -> Vec<(Vec<u8>, usize, u64)> {
        let now = self.clock.now();
        let start = self.clock.unix_now().saturating_sub(u64::from(now));
        let mut out = Vec::new();
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            for (key, it) in s.lru.entries() {
                if limit != 0 && out.len() as u64 >= limit {
                    return out;
                }
                if slabs::class_of(it.ntotal()) == class {
                    let exp = if it.exptime == 0 {
                        0
                    } else {
                        start + u64::from(it.exptime)
                    };
                    out.push((key.to_vec(), it.value.len(), exp));
                }
            }
        }
        out
    }

    /// `total_malloced`: the pages every class has taken.
    pub fn malloced(&self) -> u64 {
        self.classes
            .iter()
            .map(|c| c.pages.load(Ordering::Relaxed))
            .sum::<u64>()
            * slabs::PAGE
    }

    fn is_dead(&self, it: &Item, now: u32) -> Option<Dead> {
        if it.exptime != 0 && it.exptime <= now {
            return Some(Dead::Expired);
        }
        if it.epoch < self.flush_epoch.load(Ordering::Relaxed) {
            return Some(Dead::Flushed);
        }
        let oldest = self.oldest_live.load(Ordering::Relaxed);
        if oldest != 0 && oldest <= now && it.stored <= oldest {
            return Some(Dead::Flushed);
        }
        None
    }

    /// Removes expired and flushed items, scanning up to `budget` slots of each shard.
    /// Run periodically; returns how many items went.
    pub fn reclaim(&self, budget: usize) -> usize {
        let mut count = 0;
        for i in 0..self.shards.len() {
            let now = self.clock.now();
            let mut s = self.lock(i);
            let gone = s.lru.sweep(budget, |it| self.is_dead(it, now).is_some());
            for (_, it) in &gone {
                s.count_reclaimed(it);
            }
            drop(s);
            for (_, it) in &gone {
                self.account_sub(it);
            }
            count += gone.len();
        }
        count
    }

    /// Sums the counters of every shard.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            t.counters.add(&s.counters);
            t.curr_items += s.lru.len() as u64;
        }
        t.bytes = self.bytes.load(Ordering::Relaxed);
        t
    }

    /// `stats reset`: zeroes the counters (items stay).
    pub fn reset_counters(&self) {
        for i in 0..self.shards.len() {
            let mut s = self.lock(i);
            s.counters = Counters::default();
            s.slab.fill(ClassCounters::default());
        }
    }

    /// Bytes charged for the items stored now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

enum Dead {
    Expired,
    Flushed,
}

impl Shard {
    /// An expired or flushed item removed: `reclaimed`, and `expired_unfetched` when nobody
    /// read it, in the totals and in its class.
    fn count_reclaimed(&mut self, it: &Item) {
        let class = &mut self.slab[slabs::class_of(it.ntotal())];
        self.counters.reclaimed += 1;
        class.reclaimed += 1;
        if !it.fetched {
            self.counters.expired_unfetched += 1;
            class.expired_unfetched += 1;
        }
    }
}

impl ShardGuard<'_> {
    pub fn counters(&mut self) -> &mut Counters {
        &mut self.shard.counters
    }

    /// The per-class counters of the class `item` is stored in.
    pub fn slab(&mut self, item: &Item) -> &mut ClassCounters {
        self.slab_of(item.ntotal())
    }

    /// The per-class counters of the class an item of `ntotal` bytes lands in.
    pub fn slab_of(&mut self, ntotal: u64) -> &mut ClassCounters {
        &mut self.shard.slab[slabs::class_of(ntotal)]
    }

    /// The live item under `key`; an expired or flushed one is removed on the way.
    pub fn lookup(&mut self, key: &[u8], access: Access) -> Option<&mut Item> {
        let now = self.now;
        let store = self.store;
        let dead = {
            let it = self.shard.lru.get_mut(key, access == Access::Fetch)?;
            store.is_dead(it, now)
        };
        if let Some(why) = dead {
            if let Some(it) = self.shard.lru.remove(key) {
                store.account_sub(&it);
                self.shard.count_reclaimed(&it);
                let c = &mut self.shard.counters;
                if access == Access::Fetch {
                    match why {
                        Dead::Expired => c.get_expired += 1,
                        Dead::Flushed => c.get_flushed += 1,
                    }
                }
            }
            return None;
        }
        let it = self.shard.lru.get_mut(key, false)?;
        // memcached refreshes an item's access time at most once a minute
        // (ITEM_UPDATE_INTERVAL), so `la`, `age` and `evicted_time` move in such steps.
        if now.saturating_sub(it.accessed) >= ITEM_UPDATE_INTERVAL {
            it.accessed = now;
        }
        Some(it)
    }

    /// A fresh cas unique.
    pub fn next_cas(&mut self) -> u64 {
        self.store.cas.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A new item (fresh cas, stored now) ready for [`ShardGuard::put`].
    pub fn new_item(&mut self, value: Bytes, flags: u32, exptime: u32) -> Item {
        Item {
            key_len: 0,
            value,
            flags,
            exptime,
            cas: self.next_cas(),
            stored: self.now,
            accessed: self.now,
            fetched: false,
            stale: false,
            win_sent: false,
            epoch: self.store.flush_epoch.load(Ordering::Relaxed),
        }
    }

    /// Whether an item with this key, flags and value length fits in `-I` (memcached
    /// compares the item's whole `ntotal`).
    pub fn fits(&self, key: &[u8], flags: u32, value_len: usize) -> bool {
        slabs::ntotal(key.len(), flags, value_len) <= self.store.settings.item_size_max
    }

    /// Stores `item` under `key` (replacing what was there), charging its memory.
    pub fn put(&mut self, key: &[u8], mut item: Item) -> Result<(), StoreError> {
        item.key_len = key.len() as u32;
        let size = item.ntotal();
        if size > self.store.settings.item_size_max {
            self.shard.counters.store_too_large += 1;
            return Err(StoreError::TooLarge);
        }
        let old_size = self
            .shard
            .lru
            .get_mut(key, false)
            .map(|it| it.ntotal())
            .unwrap_or(0);
        if !self.store.settings.evictions
            && self.store.bytes() + size > self.store.settings.memory_limit + old_size
            && !self.evict_expired_for(size)
        {
            self.shard.counters.store_no_memory += 1;
            self.slab_of(size).outofmemory += 1;
            return Err(StoreError::NoMemory);
        }
        self.store.account_add(&item);
        if let Some(old) = self.shard.lru.insert(key, item) {
            self.store.account_sub(&old);
        }
        self.shard.counters.total_items += 1;
        Ok(())
    }

    /// With `-M`: only expired items may make room.
    fn evict_expired_for(&mut self, size: u64) -> bool {
        let now = self.now;
        let store = self.store;
        let gone = self
            .shard
            .lru
            .sweep(usize::MAX, |it| store.is_dead(it, now).is_some());
        for (_, it) in &gone {
            store.account_sub(it);
            self.shard.count_reclaimed(it);
        }
        store.bytes() + size <= store.settings.memory_limit
    }

    /// Removes the item under `key` (live or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Item> {
        let it = self.shard.lru.remove(key)?;
        self.store.account_sub(&it);
        Some(it)
    }

    /// Evicts from the LRU end while the store is over its limit and more than `keep`
    /// items remain here. Returns whether anything went.
    fn evict_while_over(&mut self, keep: usize) -> bool {
        if !self.store.settings.evictions {
            return false;
        }
        let mut any = false;
        while self.store.over_limit() && self.shard.lru.len() > keep {
            let Some((_, it)) = self.shard.lru.pop_lru() else {
                break;
            };
            any = true;
            self.store.account_sub(&it);
            if self.store.is_dead(&it, self.now).is_some() {
                self.shard.count_reclaimed(&it);
                continue;
            }
            let now = self.now;
            let shard = &mut *self.shard;
            let c = &mut shard.counters;
            let class = &mut shard.slab[slabs::class_of(it.ntotal())];
            c.evictions += 1;
            class.evicted += 1;
            class.evicted_time = now.saturating_sub(it.accessed);
            if it.exptime != 0 {
                c.evicted_nonzero += 1;
                class.evicted_nonzero += 1;
            }
            if !it.fetched {
                c.evicted_unfetched += 1;
                class.evicted_unfetched += 1;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store(limit: u64) -> Store {
        Store::new(
            StoreSettings {
                memory_limit: limit,
                item_size_max: 1024 * 1024,
                evictions: true,
                shards: 4,
            },
            Clock::new(),
        )
    }

    fn set(s: &Store, key: &str, value: &[u8], exptime: i64) -> Result<(), StoreError> {
        let exp = s.clock.expiry(exptime);
        s.with(key.as_bytes(), |g| {
            let it = g.new_item(Bytes::copy_from_slice(value), 0, exp);
            g.put(key.as_bytes(), it)
        })
    }

    fn get(s: &Store, key: &str) -> Option<Bytes> {
        s.with(key.as_bytes(), |g| {
            g.lookup(key.as_bytes(), Access::Fetch)
                .map(|it| it.value.clone())
        })
    }

    #[tokio::test(start_paused = true)]
    async fn items_expire_lazily_after_their_exptime() {
        let s = store(1 << 20);
        set(&s, "a", b"1", 2).unwrap();
        set(&s, "b", b"2", 0).unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(get(&s, "a").is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(get(&s, "a").is_none(), "expired after 2 s");
        assert!(get(&s, "b").is_some(), "0 never expires");
        let t = s.totals();
        assert_eq!(t.counters.get_expired, 1);
        assert_eq!(t.curr_items, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_periodic_reclaim_frees_expired_items_nobody_asks_for() {
        let s = store(1 << 20);
        for i in 0..50 {
            set(&s, &format!("k{i}"), b"xxxx", 5).unwrap();
        }
        let before = s.bytes();
        assert!(before > 0);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(s.reclaim(usize::MAX), 50);
        assert_eq!(s.bytes(), 0);
        assert_eq!(s.totals().counters.expired_unfetched, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn negative_exptime_is_already_expired() {
        let s = store(1 << 20);
        set(&s, "a", b"1", -1).unwrap();
        assert!(get(&s, "a").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn absolute_exptime_beyond_thirty_days_is_a_unix_time() {
        let s = store(1 << 20);
        let at = s.clock.unix_now() as i64 + 3;
        set(&s, "a", b"1", at).unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(get(&s, "a").is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(get(&s, "a").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_flush_kills_items_stored_before_the_deadline() {
        let s = store(1 << 20);
        set(&s, "old", b"1", 0).unwrap();
        s.flush(3);
        assert!(get(&s, "old").is_some(), "not yet");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(get(&s, "old").is_none());
        set(&s, "new", b"1", 0).unwrap();
        assert!(get(&s, "new").is_some(), "stored after the flush time");
        assert_eq!(s.totals().counters.get_flushed, 1);
    }

    #[tokio::test]
    async fn memory_stays_within_the_limit_by_evicting_lru_items() {
        let limit = 64 * 1024;
        let s = store(limit);
        let value = vec![b'x'; 1000];
        for i in 0..500 {
            set(&s, &format!("key{i}"), &value, 0).unwrap();
            assert!(
                s.bytes() <= limit,
                "over the limit after {i}: {}",
                s.bytes()
            );
        }
        let t = s.totals();
        assert!(t.counters.evictions > 0);
        assert_eq!(t.counters.evictions + t.curr_items, 500);
        // The newest survives, the oldest went.
        assert!(get(&s, "key499").is_some());
        assert!(get(&s, "key0").is_none());
    }

    #[tokio::test]
    async fn items_over_the_size_limit_are_refused() {
        let s = Store::new(
            StoreSettings {
                memory_limit: 1 << 20,
                item_size_max: 1024,
                evictions: true,
                shards: 1,
            },
            Clock::new(),
        );
        assert_eq!(set(&s, "a", &[0; 2000], 0), Err(StoreError::TooLarge));
        assert!(set(&s, "a", &[0; 500], 0).is_ok());
    }

    #[tokio::test]
    async fn without_evictions_a_full_store_refuses() {
        let s = Store::new(
            StoreSettings {
                memory_limit: 4096,
                item_size_max: 1024,
                evictions: false,
                shards: 1,
            },
            Clock::new(),
        );
        let mut refused = false;
        for i in 0..10 {
            refused |= set(&s, &format!("k{i}"), &[0; 800], 0) == Err(StoreError::NoMemory);
        }
        assert!(refused);
        assert!(s.bytes() <= 4096);
        assert_eq!(s.totals().counters.evictions, 0);
    }

    #[tokio::test]
    async fn cas_uniques_differ_across_shards() {
        let s = store(1 << 20);
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            let key = format!("k{i}");
            let cas = s.with(key.as_bytes(), |g| g.next_cas());
            assert!(seen.insert(cas), "duplicate cas {cas}");
        }
    }
}
