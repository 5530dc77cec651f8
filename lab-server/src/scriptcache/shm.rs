//! A key-value store in a shared memory file, used by the `apcu` Python module: every
//! process that maps the same file (the workers of one WSGI daemon group) sees the same
//! entries, and every operation runs under one lock in the mapping, so `inc` is exact under
//! any mix of processes and threads.
//!
//! Layout: a 4 KiB header (lock, counters), an open-addressing table of fixed-size slots,
//! then an arena where keys and values are appended. Deleting or replacing leaves garbage
//! in the arena; when it is full the live entries are compacted, and when they do not fit
//! the expired ones and then the least recently used ones are evicted (counted).
//!
//! This is the only module of the lab with raw memory access; every access goes through
//! the bounds-checked helpers of [`Shm`].

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MAGIC: u64 = 0x6c61_625f_6170_6375; // "lab_apcu"
const HEADER: usize = 4096;
const SLOT: usize = 48;

// Header offsets.
const H_MAGIC: usize = 0;
const H_LOCK: usize = 8;
const H_NSLOTS: usize = 16;
const H_ARENA_OFF: usize = 24;
const H_ARENA_SIZE: usize = 32;
const H_ARENA_USED: usize = 40;
const H_LIVE: usize = 48;
const H_ENTRIES: usize = 56;
const H_HITS: usize = 64;
const H_MISSES: usize = 72;
const H_INSERTS: usize = 80;
const H_EVICTIONS: usize = 88;
const H_EXPUNGES: usize = 96;
const H_START: usize = 104;
const H_CLOCK: usize = 112;
const H_TOMBS: usize = 120;
const H_OWNER: usize = 128;

// Slot fields.
const S_HASH: usize = 0;
const S_KOFF: usize = 8;
const S_KLEN: usize = 12;
const S_VOFF: usize = 16;
const S_VLEN: usize = 20;
const S_EXPIRES: usize = 24;
const S_ATIME: usize = 32;
const S_STATE: usize = 40;
const S_VTYPE: usize = 41;

const EMPTY: u8 = 0;
const USED: u8 = 1;
const TOMB: u8 = 2;

/// The type of a stored value.
pub const T_INT: u8 = 1;
pub const T_STR: u8 = 2;
pub const T_BYTES: u8 = 3;
pub const T_PICKLE: u8 = 4;
pub const T_FLOAT: u8 = 5;
pub const T_BOOL: u8 = 6;
pub const T_NONE: u8 = 7;

/// A mapped store.
pub struct Shm {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is shared memory guarded by the lock in its header; the pointer is
// valid for the whole life of the value (unmapped in Drop).
#[allow(unsafe_code)]
unsafe impl Send for Shm {}
#[allow(unsafe_code)]
unsafe impl Sync for Shm {}

/// Counters, as `apcu_cache_info()` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub num_slots: u64,
    pub num_entries: u64,
    pub num_hits: u64,
    pub num_misses: u64,
    pub num_inserts: u64,
    pub evictions: u64,
    pub expunges: u64,
    pub mem_size: u64,
    pub mem_used: u64,
    pub start_time: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hash(key: &[u8]) -> u64 {
    // FNV-1a: stable across processes (no random seed).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h | 1
}

impl Shm {
    /// Creates (or empties) the file and formats a store of `size` bytes.
    pub fn create(path: &Path, size: u64) -> std::io::Result<Shm> {
        let size = size.max(256 * 1024);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        f.set_len(size)?;
        let shm = Shm::map(&f, size as usize)?;
        let nslots = ((size as usize / 1024).next_power_of_two()).clamp(1024, 1 << 20);
        let arena_off = HEADER + nslots * SLOT;
        if arena_off + 4096 > size as usize {
            return Err(std::io::Error::other(
                "memoria compartida demasiado pequeña",
            ));
        }
        shm.put64(H_NSLOTS, nslots as u64);
        shm.put64(H_ARENA_OFF, arena_off as u64);
        shm.put64(H_ARENA_SIZE, (size as usize - arena_off) as u64);
        shm.put64(H_START, now_secs());
        shm.put64(H_MAGIC, MAGIC);
        Ok(shm)
    }

    /// Maps a store another process created.
    pub fn open(path: &Path) -> std::io::Result<Shm> {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        let len = f.metadata()?.len() as usize;
        if len < HEADER {
            return Err(std::io::Error::other(
                "fichero de memoria compartida no válido",
            ));
        }
        let shm = Shm::map(&f, len)?;
        if shm.get64(H_MAGIC) != MAGIC {
            return Err(std::io::Error::other(
                "fichero de memoria compartida no válido",
            ));
        }
        Ok(shm)
    }

    #[allow(unsafe_code)]
    fn map(f: &std::fs::File, len: usize) -> std::io::Result<Shm> {
        use std::os::unix::io::AsRawFd;
        // SAFETY: a fresh shared mapping of a regular file of `len` bytes.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shm {
            ptr: ptr.cast(),
            len,
        })
    }

    #[allow(unsafe_code)]
    fn get64(&self, off: usize) -> u64 {
        assert!(off + 8 <= self.len);
        // SAFETY: in bounds (checked above) of a live mapping.
        unsafe { std::ptr::read_unaligned(self.ptr.add(off).cast::<u64>()) }
    }

    #[allow(unsafe_code)]
    fn put64(&self, off: usize, v: u64) {
        assert!(off + 8 <= self.len);
        // SAFETY: in bounds of a live, writable mapping.
        unsafe { std::ptr::write_unaligned(self.ptr.add(off).cast::<u64>(), v) }
    }

    fn get32(&self, off: usize) -> u32 {
        (self.get64_at32(off)) as u32
    }

    #[allow(unsafe_code)]
    fn get64_at32(&self, off: usize) -> u64 {
        assert!(off + 4 <= self.len);
        // SAFETY: in bounds of a live mapping.
        u64::from(unsafe { std::ptr::read_unaligned(self.ptr.add(off).cast::<u32>()) })
    }

    #[allow(unsafe_code)]
    fn put32(&self, off: usize, v: u32) {
        assert!(off + 4 <= self.len);
        // SAFETY: in bounds of a live, writable mapping.
        unsafe { std::ptr::write_unaligned(self.ptr.add(off).cast::<u32>(), v) }
    }

    #[allow(unsafe_code)]
    fn get8(&self, off: usize) -> u8 {
        assert!(off < self.len);
        // SAFETY: in bounds of a live mapping.
        unsafe { *self.ptr.add(off) }
    }

    #[allow(unsafe_code)]
    fn put8(&self, off: usize, v: u8) {
        assert!(off < self.len);
        // SAFETY: in bounds of a live, writable mapping.
        unsafe { *self.ptr.add(off) = v }
    }

    #[allow(unsafe_code)]
    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= self.len);
        // SAFETY: in bounds; callers hold the lock, so nobody writes these bytes meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.add(off), len) }
    }

    #[allow(unsafe_code)]
    fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.len);
        // SAFETY: in bounds of a live, writable mapping; the lock is held.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(off), data.len()) }
    }

    #[allow(unsafe_code)]
    fn lock_word(&self) -> &AtomicU32 {
        // SAFETY: 4-byte aligned (page-aligned mapping + 8) and in bounds; AtomicU32 has the
        // layout of u32, and every process uses it only atomically.
        unsafe { &*self.ptr.add(H_LOCK).cast::<AtomicU32>() }
    }

    /// Runs `f` under the store's lock. A holder that died (its pid is gone) is replaced.
    pub fn locked<R>(&self, f: impl FnOnce(&mut Table<'_>) -> R) -> R {
        let me = std::process::id().max(1);
        let word = self.lock_word();
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            match word.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(owner) => {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                    if start.elapsed() > Duration::from_secs(2) && owner != 0 && !alive(owner) {
                        let _ =
                            word.compare_exchange(owner, me, Ordering::Acquire, Ordering::Relaxed);
                        if word.load(Ordering::Relaxed) == me {
                            break;
                        }
                    }
                }
            }
        }
        self.put32(H_OWNER, me);
        let mut table = Table { shm: self };
        let out = f(&mut table);
        word.store(0, Ordering::Release);
        out
    }
}

#[allow(unsafe_code)]
fn alive(pid: u32) -> bool {
    // Threads of this process share its pid: the lock is then held by a live thread.
    if pid == std::process::id() {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

impl Drop for Shm {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// The store while its lock is held.
pub struct Table<'a> {
    shm: &'a Shm,
}

/// A value read out of the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub vtype: u8,
    pub data: Vec<u8>,
}

impl Table<'_> {
    fn nslots(&self) -> usize {
        self.shm.get64(H_NSLOTS) as usize
    }

    fn slot(&self, i: usize) -> usize {
        HEADER + i * SLOT
    }

    fn tick(&self) -> u64 {
        let c = self.shm.get64(H_CLOCK) + 1;
        self.shm.put64(H_CLOCK, c);
        c
    }

    fn bump(&self, field: usize, by: u64) {
        self.shm
            .put64(field, self.shm.get64(field).wrapping_add(by));
    }

    /// The slot of a live entry for `key` (expired entries are removed on the way).
    fn find(&self, key: &[u8]) -> Option<usize> {
        let h = hash(key);
        let n = self.nslots();
        let mut i = (h as usize) & (n - 1);
        for _ in 0..n {
            let s = self.slot(i);
            match self.shm.get8(s + S_STATE) {
                EMPTY => return None,
                USED if self.shm.get64(s + S_HASH) == h => {
                    let koff = self.shm.get32(s + S_KOFF) as usize;
                    let klen = self.shm.get32(s + S_KLEN) as usize;
                    if self.shm.bytes(koff, klen) == key {
                        let exp = self.shm.get64(s + S_EXPIRES);
                        if exp != 0 && now_secs() >= exp {
                            self.remove_slot(s);
                            return None;
                        }
                        return Some(s);
                    }
                }
                _ => {}
            }
            i = (i + 1) & (n - 1);
        }
        None
    }

    fn remove_slot(&self, s: usize) {
        let len = u64::from(self.shm.get32(s + S_KLEN)) + u64::from(self.shm.get32(s + S_VLEN));
        self.shm.put8(s + S_STATE, TOMB);
        self.shm
            .put64(H_LIVE, self.shm.get64(H_LIVE).saturating_sub(len));
        self.shm
            .put64(H_ENTRIES, self.shm.get64(H_ENTRIES).saturating_sub(1));
        self.bump(H_TOMBS, 1);
    }

    /// Reads `key`, counting a hit or a miss.
    pub fn fetch(&mut self, key: &[u8]) -> Option<Value> {
        match self.find(key) {
            Some(s) => {
                self.bump(H_HITS, 1);
                let t = self.tick();
                self.shm.put64(s + S_ATIME, t);
                Some(self.value_at(s))
            }
            None => {
                self.bump(H_MISSES, 1);
                None
            }
        }
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    fn value_at(&self, s: usize) -> Value {
        let voff = self.shm.get32(s + S_VOFF) as usize;
        let vlen = self.shm.get32(s + S_VLEN) as usize;
        Value {
            vtype: self.shm.get8(s + S_VTYPE),
            data: self.shm.bytes(voff, vlen).to_vec(),
        }
    }

    pub fn delete(&mut self, key: &[u8]) -> bool {
        match self.find(key) {
            Some(s) => {
                self.remove_slot(s);
                true
            }
            None => false,
        }
    }

    /// Stores `key`; `only_new`: fail when it exists (`add`). False when it cannot fit.
    pub fn store(&mut self, key: &[u8], vtype: u8, data: &[u8], ttl: u64, only_new: bool) -> bool {
        if let Some(s) = self.find(key) {
            if only_new {
                return false;
            }
            self.remove_slot(s);
        }
        let need = key.len() + data.len();
        let arena = self.shm.get64(H_ARENA_SIZE) as usize;
        if need > arena / 2 {
            return false;
        }
        if !self.make_room(need) {
            return false;
        }
        let off = self.shm.get64(H_ARENA_OFF) as usize + self.shm.get64(H_ARENA_USED) as usize;
        self.shm.write(off, key);
        self.shm.write(off + key.len(), data);
        self.shm
            .put64(H_ARENA_USED, self.shm.get64(H_ARENA_USED) + need as u64);
        let h = hash(key);
        let n = self.nslots();
        let mut i = (h as usize) & (n - 1);
        loop {
            let s = self.slot(i);
            let st = self.shm.get8(s + S_STATE);
            if st != USED {
                if st == TOMB {
                    self.shm
                        .put64(H_TOMBS, self.shm.get64(H_TOMBS).saturating_sub(1));
                }
                self.shm.put64(s + S_HASH, h);
                self.shm.put32(s + S_KOFF, off as u32);
                self.shm.put32(s + S_KLEN, key.len() as u32);
                self.shm.put32(s + S_VOFF, (off + key.len()) as u32);
                self.shm.put32(s + S_VLEN, data.len() as u32);
                self.shm
                    .put64(s + S_EXPIRES, if ttl == 0 { 0 } else { now_secs() + ttl });
                let t = self.tick();
                self.shm.put64(s + S_ATIME, t);
                self.shm.put8(s + S_VTYPE, vtype);
                self.shm.put8(s + S_STATE, USED);
                break;
            }
            i = (i + 1) & (n - 1);
        }
        self.bump(H_LIVE, need as u64);
        self.bump(H_ENTRIES, 1);
        self.bump(H_INSERTS, 1);
        true
    }

    /// Adds `step` to an integer entry (created with `step` when missing); `None` when the
    /// entry is not an integer.
    pub fn add_int(&mut self, key: &[u8], step: i64, ttl: u64) -> Option<i64> {
        match self.find(key) {
            Some(s) if self.shm.get8(s + S_VTYPE) == T_INT => {
                let voff = self.shm.get32(s + S_VOFF) as usize;
                let old = i64::from_le_bytes(self.shm.bytes(voff, 8).try_into().ok()?);
                let new = old.wrapping_add(step);
                self.shm.write(voff, &new.to_le_bytes());
                let t = self.tick();
                self.shm.put64(s + S_ATIME, t);
                Some(new)
            }
            Some(_) => None,
            None => self
                .store(key, T_INT, &step.to_le_bytes(), ttl, true)
                .then_some(step),
        }
    }

    /// Compare-and-swap on an integer entry.
    pub fn cas(&mut self, key: &[u8], old: i64, new: i64) -> bool {
        match self.find(key) {
            Some(s) if self.shm.get8(s + S_VTYPE) == T_INT => {
                let voff = self.shm.get32(s + S_VOFF) as usize;
                let cur = self.shm.bytes(voff, 8);
                if cur == old.to_le_bytes() {
                    self.shm.write(voff, &new.to_le_bytes());
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    pub fn clear(&mut self) {
        for i in 0..self.nslots() {
            self.shm.put8(self.slot(i) + S_STATE, EMPTY);
        }
        for f in [H_ARENA_USED, H_LIVE, H_ENTRIES, H_TOMBS] {
            self.shm.put64(f, 0);
        }
        self.bump(H_EXPUNGES, 1);
    }

    pub fn info(&self) -> Info {
        Info {
            num_slots: self.shm.get64(H_NSLOTS),
            num_entries: self.shm.get64(H_ENTRIES),
            num_hits: self.shm.get64(H_HITS),
            num_misses: self.shm.get64(H_MISSES),
            num_inserts: self.shm.get64(H_INSERTS),
            evictions: self.shm.get64(H_EVICTIONS),
            expunges: self.shm.get64(H_EXPUNGES),
            mem_size: self.shm.get64(H_ARENA_SIZE),
            mem_used: self.shm.get64(H_LIVE),
            start_time: self.shm.get64(H_START),
        }
    }

    /// Space for `need` more bytes and one more slot: compaction, then expired entries,
    /// then the least recently used ones.
    fn make_room(&mut self, need: usize) -> bool {
        let arena = self.shm.get64(H_ARENA_SIZE) as usize;
        let n = self.nslots();
        let slots_full =
            || (self.shm.get64(H_ENTRIES) + self.shm.get64(H_TOMBS)) as usize + 1 > n * 3 / 4;
        let arena_full = |t: &Table<'_>| t.shm.get64(H_ARENA_USED) as usize + need > arena;
        if !arena_full(self) && !slots_full() {
            return true;
        }
        // Drop what expired.
        let now = now_secs();
        for i in 0..n {
            let s = self.slot(i);
            if self.shm.get8(s + S_STATE) == USED {
                let exp = self.shm.get64(s + S_EXPIRES);
                if exp != 0 && now >= exp {
                    self.remove_slot(s);
                }
            }
        }
        // Evict the least recently used until the live data and the entries fit.
        while self.shm.get64(H_LIVE) as usize + need > arena * 9 / 10
            || self.shm.get64(H_ENTRIES) as usize + 1 > n * 5 / 8
        {
            let mut oldest: Option<(u64, usize)> = None;
            for i in 0..n {
                let s = self.slot(i);
                if self.shm.get8(s + S_STATE) == USED {
                    let a = self.shm.get64(s + S_ATIME);
                    if oldest.is_none_or(|(o, _)| a < o) {
                        oldest = Some((a, s));
                    }
                }
            }
            let Some((_, s)) = oldest else { break };
            self.remove_slot(s);
            self.bump(H_EVICTIONS, 1);
        }
        self.compact();
        !arena_full(self)
    }

    /// Rewrites the live entries at the start of the arena and rebuilds the slot table
    /// without tombstones.
    fn compact(&mut self) {
        let n = self.nslots();
        // (hash, key, value, expires, atime, type) of every live entry.
        type Live = (u64, Vec<u8>, Vec<u8>, u64, u64, u8);
        let mut live: Vec<Live> = Vec::new();
        for i in 0..n {
            let s = self.slot(i);
            if self.shm.get8(s + S_STATE) == USED {
                let koff = self.shm.get32(s + S_KOFF) as usize;
                let klen = self.shm.get32(s + S_KLEN) as usize;
                let v = self.value_at(s);
                live.push((
                    self.shm.get64(s + S_HASH),
                    self.shm.bytes(koff, klen).to_vec(),
                    v.data,
                    self.shm.get64(s + S_EXPIRES),
                    self.shm.get64(s + S_ATIME),
                    v.vtype,
                ));
            }
            self.shm.put8(s + S_STATE, EMPTY);
        }
        let base = self.shm.get64(H_ARENA_OFF) as usize;
        let mut used = 0usize;
        for (h, key, data, exp, atime, vtype) in &live {
            let off = base + used;
            self.shm.write(off, key);
            self.shm.write(off + key.len(), data);
            used += key.len() + data.len();
            let mut i = (*h as usize) & (n - 1);
            while self.shm.get8(self.slot(i) + S_STATE) == USED {
                i = (i + 1) & (n - 1);
            }
            let s = self.slot(i);
            self.shm.put64(s + S_HASH, *h);
            self.shm.put32(s + S_KOFF, off as u32);
            self.shm.put32(s + S_KLEN, key.len() as u32);
            self.shm.put32(s + S_VOFF, (off + key.len()) as u32);
            self.shm.put32(s + S_VLEN, data.len() as u32);
            self.shm.put64(s + S_EXPIRES, *exp);
            self.shm.put64(s + S_ATIME, *atime);
            self.shm.put8(s + S_VTYPE, *vtype);
            self.shm.put8(s + S_STATE, USED);
        }
        self.shm.put64(H_ARENA_USED, used as u64);
        self.shm.put64(H_LIVE, used as u64);
        self.shm.put64(H_ENTRIES, live.len() as u64);
        self.shm.put64(H_TOMBS, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_fetch_delete_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let shm = Shm::create(&dir.path().join("a.shm"), 1 << 20).unwrap();
        shm.locked(|t| {
            assert!(t.store(b"k", T_STR, b"hola", 0, false));
            assert!(!t.store(b"k", T_STR, b"otra", 0, true));
            assert_eq!(t.fetch(b"k").unwrap().data, b"hola");
            assert_eq!(t.fetch(b"nada"), None);
            assert!(t.delete(b"k"));
            assert!(!t.exists(b"k"));
            let i = t.info();
            assert_eq!((i.num_hits, i.num_misses, i.num_entries), (1, 1, 0));
        });
    }

    #[test]
    fn inc_and_cas_on_integers_across_two_mappings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.shm");
        let a = Shm::create(&path, 1 << 20).unwrap();
        let b = Shm::open(&path).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || {
                    let m = Shm::open(&p).unwrap();
                    for _ in 0..500 {
                        m.locked(|t| t.add_int(b"n", 1, 0));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.locked(|t| t.add_int(b"n", 0, 0)), Some(2000));
        assert!(a.locked(|t| t.cas(b"n", 2000, 5)));
        assert!(!a.locked(|t| t.cas(b"n", 2000, 6)));
        assert_eq!(a.locked(|t| t.add_int(b"n", -1, 0)), Some(4));
    }

    #[test]
    fn a_full_store_evicts_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let shm = Shm::create(&dir.path().join("c.shm"), 256 * 1024).unwrap();
        let big = vec![7u8; 4000];
        shm.locked(|t| {
            for i in 0..200 {
                let key = format!("k{i}");
                assert!(t.store(key.as_bytes(), T_BYTES, &big, 0, false), "{i}");
                // k0 stays in use.
                assert!(t.fetch(b"k0").is_some(), "{i}");
            }
            let info = t.info();
            assert!(info.evictions > 0);
            assert!(info.mem_used <= info.mem_size);
            assert!(t.exists(b"k199"));
            assert!(t.exists(b"k0"));
        });
    }
}
