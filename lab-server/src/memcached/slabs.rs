//! memcached's slab classes, for `stats`, `stats items` and `stats slabs`: the memory an
//! item costs (`ITEM_ntotal`), the class it lands in and the pages a class has taken.
//!
//! The lab does not allocate memory in slabs; it accounts for items as memcached 1.6.18
//! does with its defaults (`-n 48`, `-f 1.25`, 1 MB pages), so the figures a student reads
//! are the real server's: `bytes`, `items:N:number`, `N:chunk_size`, `total_malloced`...
//! What is not modelled: the segmented LRU (hot/warm/cold moves) and per-class eviction
//! (the lab evicts by least recent use across all classes).

use std::sync::OnceLock;

/// `sizeof(item)` on 64-bit memcached 1.6.
pub const ITEM_HEADER: u64 = 48;
/// The cas value stored with every item (`-C` is off).
pub const CAS_BYTES: u64 = 8;
/// A slab page (`-I 1m` gives 1 MB pages).
pub const PAGE: u64 = 1024 * 1024;
/// `-n`: the smallest chunk's space for key, suffix and data.
const CHUNK_SIZE: u64 = 48;
/// `-f`.
const FACTOR: f64 = 1.25;
/// Chunks are aligned to 8 bytes.
const ALIGN: u64 = 8;

/// Memory an item costs in memcached (`ITEM_ntotal`): the header, the key and its NUL, the
/// flags when they are not 0, the data with its `\r\n`, and the cas.
pub fn ntotal(key_len: usize, flags: u32, value_len: usize) -> u64 {
    ITEM_HEADER
        + key_len as u64
        + 1
        + if flags == 0 { 0 } else { 4 }
        + value_len as u64
        + 2
        + CAS_BYTES
}

/// Chunk size of every class, index 0 = class 1 (`slabs_init` with the defaults).
pub fn sizes() -> &'static [u64] {
    static SIZES: OnceLock<Vec<u64>> = OnceLock::new();
    SIZES.get_or_init(|| {
        let max = PAGE / 2;
        let mut out = Vec::new();
        let mut size = ITEM_HEADER + CHUNK_SIZE;
        loop {
            if size as f64 >= max as f64 / FACTOR {
                break;
            }
            if !size.is_multiple_of(ALIGN) {
                size += ALIGN - size % ALIGN;
            }
            out.push(size);
            size = (size as f64 * FACTOR) as u64;
        }
        out.push(max);
        out
    })
}

/// Number of classes.
pub fn count() -> usize {
    sizes().len()
}

/// The class (1-based) of an item of `ntotal` bytes. Items bigger than the largest chunk
/// are stored by memcached as chunked items; the lab counts them in the largest class.
pub fn class_of(ntotal: u64) -> usize {
    let s = sizes();
    s.partition_point(|&c| c < ntotal).min(s.len() - 1) + 1
}

/// Chunk size of class `id`.
pub fn chunk_size(id: usize) -> u64 {
    sizes()[id - 1]
}

/// Chunks in one page of class `id`.
pub fn per_page(id: usize) -> u64 {
    PAGE / chunk_size(id)
}

/// Pages class `id` needs to hold `chunks` items at once.
pub fn pages_for(id: usize, chunks: u64) -> u64 {
    chunks.div_ceil(per_page(id))
}

/// Counters memcached keeps per class, bumped under a shard's lock and summed for stats.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassCounters {
    pub get_hits: u64,
    pub cmd_set: u64,
    pub delete_hits: u64,
    pub incr_hits: u64,
    pub decr_hits: u64,
    pub cas_hits: u64,
    pub cas_badval: u64,
    pub touch_hits: u64,
    pub evicted: u64,
    pub evicted_nonzero: u64,
    /// Seconds since the last access of the last item evicted.
    pub evicted_time: u32,
    pub outofmemory: u64,
    pub reclaimed: u64,
    pub expired_unfetched: u64,
    pub evicted_unfetched: u64,
}

impl ClassCounters {
    pub fn add(&mut self, o: &ClassCounters) {
        self.get_hits += o.get_hits;
        self.cmd_set += o.cmd_set;
        self.delete_hits += o.delete_hits;
        self.incr_hits += o.incr_hits;
        self.decr_hits += o.decr_hits;
        self.cas_hits += o.cas_hits;
        self.cas_badval += o.cas_badval;
        self.touch_hits += o.touch_hits;
        self.evicted += o.evicted;
        self.evicted_nonzero += o.evicted_nonzero;
        self.evicted_time = self.evicted_time.max(o.evicted_time);
        self.outofmemory += o.outofmemory;
        self.reclaimed += o.reclaimed;
        self.expired_unfetched += o.expired_unfetched;
        self.evicted_unfetched += o.evicted_unfetched;
    }
}

/// One class as `stats items` and `stats slabs` show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassStats {
    pub id: usize,
    /// Items held now (memcached's `number` and `used_chunks`).
    pub number: u64,
    /// Sum of their `ntotal` (`mem_requested`).
    pub requested: u64,
    /// Pages the class has taken (never given back).
    pub pages: u64,
    /// Seconds since the least recently used item of the class was last accessed.
    pub age: u32,
    pub counters: ClassCounters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_memcacheds_defaults() {
        // From `stats slabs` of memcached 1.6.18 with Debian's defaults.
        assert_eq!(chunk_size(1), 96);
        assert_eq!(chunk_size(4), 192);
        assert_eq!(chunk_size(19), 5680);
        assert_eq!(per_page(1), 10922);
        assert_eq!(per_page(19), 184);
        assert_eq!(count(), 39);
        assert_eq!(chunk_size(39), 524_288);
    }

    #[test]
    fn items_cost_what_memcached_charges() {
        // `set a 0 0 4` is 64 bytes in `stats`, with flags 5 it is 68.
        assert_eq!(ntotal(1, 0, 4), 64);
        assert_eq!(ntotal(1, 5, 4), 68);
        assert_eq!(class_of(64), 1);
        assert_eq!(class_of(96), 1);
        assert_eq!(class_of(97), 2);
        assert_eq!(class_of(ntotal(2, 0, 100)), 4);
        assert_eq!(class_of(ntotal(3, 0, 5000)), 19);
        assert_eq!(class_of(900_000), 39);
        assert_eq!(pages_for(1, 10922), 1);
        assert_eq!(pages_for(1, 10923), 2);
    }
}
