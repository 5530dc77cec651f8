//! One shard's items: a hash map from key to slot and an intrusive doubly linked list of
//! slots in least-recently-used order (front = most recent), so lookup, bump, insert and
//! eviction are all O(1).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::util::FxHasher;

use bytes::Bytes;

const NIL: u32 = u32::MAX;

/// A stored value and its metadata.
#[derive(Debug, Clone)]
pub struct Item {
    /// Length of the key it is stored under (for memory accounting).
    pub key_len: u32,
    pub value: Bytes,
    pub flags: u32,
    /// Rel time of expiry; 0 = never.
    pub exptime: u32,
    pub cas: u64,
    /// Rel time of the last store (for delayed `flush_all`).
    pub stored: u32,
    /// Rel time of the last access.
    pub accessed: u32,
    /// Fetched at least once since stored.
    pub fetched: bool,
    /// Marked stale by `md ... I` (meta invalidation).
    pub stale: bool,
    /// A client already got the "win" token for a stale or vivified item.
    pub win_sent: bool,
    /// The store's flush count when it was stored: a later `flush_all` makes it dead.
    pub epoch: u32,
}

impl Item {
    /// Memory memcached charges for this item once stored (`ITEM_ntotal`).
    pub fn ntotal(&self) -> u64 {
        super::slabs::ntotal(self.key_len as usize, self.flags, self.value.len())
    }
}

struct Node {
    key: Box<[u8]>,
    item: Item,
    prev: u32,
    next: u32,
}

/// The hash used both to pick a shard and inside each shard's map.
pub fn hash_key(key: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(key);
    // Spread the high bits down: shard selection uses the low ones.
    let x = h.finish();
    x ^ (x >> 29) ^ (x >> 47)
}

/// Items of one shard in LRU order.
#[derive(Default)]
pub struct Lru {
    map: HashMap<Box<[u8]>, u32, BuildHasherDefault<FxHasher>>,
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    /// Scan position of the periodic reclaim.
    cursor: usize,
}

impl Lru {
    pub fn new() -> Lru {
        Lru {
            head: NIL,
            tail: NIL,
            ..Lru::default()
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn node(&mut self, slot: u32) -> &mut Node {
        self.nodes[slot as usize]
            .as_mut()
            .expect("linked slot holds a node")
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let n = self.node(slot);
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node(next).prev = prev;
        }
    }

    fn push_front(&mut self, slot: u32) {
        let head = self.head;
        {
            let n = self.node(slot);
            n.prev = NIL;
            n.next = head;
        }
        if head == NIL {
            self.tail = slot;
        } else {
            self.node(head).prev = slot;
        }
        self.head = slot;
    }

    /// The item under `key`, moved to the front when `bump`.
    pub fn get_mut(&mut self, key: &[u8], bump: bool) -> Option<&mut Item> {
        let slot = *self.map.get(key)?;
        if bump && self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
        Some(&mut self.node(slot).item)
    }

    /// Inserts or replaces; returns the replaced item.
    pub fn insert(&mut self, key: &[u8], item: Item) -> Option<Item> {
        if let Some(&slot) = self.map.get(key) {
            self.unlink(slot);
            self.push_front(slot);
            return Some(std::mem::replace(&mut self.node(slot).item, item));
        }
        let node = Node {
            key: key.into(),
            item,
            prev: NIL,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.nodes[s as usize] = Some(node);
                s
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        self.map.insert(key.into(), slot);
        self.push_front(slot);
        None
    }

    /// Removes the item under `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<Item> {
        let slot = self.map.remove(key)?;
        Some(self.take_slot(slot).1)
    }

    fn take_slot(&mut self, slot: u32) -> (Box<[u8]>, Item) {
        self.unlink(slot);
        let node = self.nodes[slot as usize].take().expect("slot holds a node");
        self.free.push(slot);
        (node.key, node.item)
    }

    /// Every item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.nodes.iter().flatten().map(|n| &n.item)
    }

    /// Every key and item, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &Item)> {
        self.nodes.iter().flatten().map(|n| (&*n.key, &n.item))
    }

    /// Removes and returns the least recently used item.
    pub fn pop_lru(&mut self) -> Option<(Box<[u8]>, Item)> {
        if self.tail == NIL {
            return None;
        }
        let slot = self.tail;
        let (key, item) = self.take_slot(slot);
        self.map.remove(&key);
        Some((key, item))
    }

    /// The key at the LRU end, if any.
    pub fn lru_key(&self) -> Option<&[u8]> {
        if self.tail == NIL {
            return None;
        }
        self.nodes[self.tail as usize].as_ref().map(|n| &*n.key)
    }

    /// Removes every item for which `dead` holds, scanning at most `budget` slots from
    /// where the last call stopped. Returns the removed items.
    pub fn sweep(
        &mut self,
        budget: usize,
        mut dead: impl FnMut(&Item) -> bool,
    ) -> Vec<(Box<[u8]>, Item)> {
        let mut removed = Vec::new();
        if self.nodes.is_empty() {
            return removed;
        }
        for _ in 0..budget.min(self.nodes.len()) {
            if self.cursor >= self.nodes.len() {
                self.cursor = 0;
            }
            let slot = self.cursor as u32;
            self.cursor += 1;
            let is_dead = self.nodes[slot as usize]
                .as_ref()
                .is_some_and(|n| dead(&n.item));
            if is_dead {
                let (key, item) = self.take_slot(slot);
                self.map.remove(&key);
                removed.push((key, item));
            }
        }
        removed
    }

    /// Removes everything.
    pub fn clear(&mut self) -> Vec<Item> {
        let items = self.nodes.drain(..).flatten().map(|n| n.item).collect();
        self.map.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
        self.cursor = 0;
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: &str) -> Item {
        Item {
            key_len: 1,
            value: Bytes::copy_from_slice(v.as_bytes()),
            flags: 0,
            exptime: 0,
            cas: 1,
            stored: 2,
            accessed: 2,
            fetched: false,
            stale: false,
            win_sent: false,
            epoch: 0,
        }
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let mut lru = Lru::new();
        lru.insert(b"a", item("1"));
        lru.insert(b"b", item("2"));
        lru.insert(b"c", item("3"));
        // Touching `a` makes `b` the oldest.
        assert!(lru.get_mut(b"a", true).is_some());
        assert_eq!(&*lru.pop_lru().unwrap().0, b"b");
        assert_eq!(&*lru.pop_lru().unwrap().0, b"c");
        assert_eq!(&*lru.pop_lru().unwrap().0, b"a");
        assert!(lru.pop_lru().is_none());
        assert!(lru.is_empty());
    }

    #[test]
    fn slots_are_reused_and_removal_keeps_the_list_linked() {
        let mut lru = Lru::new();
        for k in ["a", "b", "c", "d"] {
            lru.insert(k.as_bytes(), item(k));
        }
        assert!(lru.remove(b"b").is_some());
        assert!(lru.remove(b"d").is_some());
        lru.insert(b"e", item("e"));
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.lru_key(), Some(&b"a"[..]));
        let order: Vec<_> = std::iter::from_fn(|| lru.pop_lru().map(|(k, _)| k)).collect();
        assert_eq!(
            order,
            vec![
                b"a".to_vec().into_boxed_slice(),
                b"c".to_vec().into(),
                b"e".to_vec().into()
            ]
        );
    }

    #[test]
    fn sweep_removes_only_dead_items() {
        let mut lru = Lru::new();
        for (k, exp) in [("a", 5), ("b", 0), ("c", 3)] {
            let mut it = item(k);
            it.exptime = exp;
            lru.insert(k.as_bytes(), it);
        }
        let gone = lru.sweep(10, |it| it.exptime != 0 && it.exptime <= 4);
        assert_eq!(gone.len(), 1);
        assert_eq!(&*gone[0].0, b"c");
        assert_eq!(lru.len(), 2);
    }
}
