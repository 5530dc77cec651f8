//! Retrieval: `get|gets <key>*` and `gat|gats <exptime> <key>*` (get and touch).
//! Replies `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` per hit, then `END`.

use bytes::Bytes;

use super::{key, parse_i32, push_num, Env, ProtoError};
use crate::memcached::store::Access;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get<'a> {
    pub keys: Vec<&'a [u8]>,
    /// `gets`/`gats`: include the cas unique.
    pub with_cas: bool,
    /// `gat`/`gats`: the new exptime.
    pub touch: Option<i64>,
}

/// One hit.
pub struct Hit<'a> {
    pub key: &'a [u8],
    pub flags: u32,
    pub cas: u64,
    pub value: Bytes,
}

pub fn parse<'a>(name: &[u8], tokens: &[&'a [u8]]) -> Result<Get<'a>, ProtoError> {
    let is_gat = name.starts_with(b"gat");
    let with_cas = name.ends_with(b"s");
    if tokens.len() < 2 {
        return Err(ProtoError::Error);
    }
    let (touch, first) = if is_gat {
        let e = parse_i32(tokens[1]).ok_or(ProtoError::Client("invalid exptime argument"))?;
        (Some(e), 2)
    } else {
        (None, 1)
    };
    let keys = tokens[first..]
        .iter()
        .map(|t| key(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Get {
        keys,
        with_cas,
        touch,
    })
}

pub fn apply<'a>(cmd: &Get<'a>, env: &Env<'_>) -> Vec<Hit<'a>> {
    let exptime = cmd.touch.map(|e| env.store.clock.expiry(e));
    let mut hits = Vec::with_capacity(cmd.keys.len());
    for &k in &cmd.keys {
        let hit = env.store.with(k, |g| {
            let found = g.lookup(k, Access::Fetch).map(|it| {
                it.fetched = true;
                if let Some(e) = exptime {
                    it.exptime = e;
                }
                (
                    it.ntotal(),
                    Hit {
                        key: k,
                        flags: it.flags,
                        cas: it.cas,
                        value: it.value.clone(),
                    },
                )
            });
            let c = g.counters();
            c.cmd_get += 1;
            if exptime.is_some() {
                c.cmd_touch += 1;
                if found.is_some() {
                    c.touch_hits += 1
                } else {
                    c.touch_misses += 1
                }
            }
            if found.is_some() {
                c.get_hits += 1
            } else {
                c.get_misses += 1
            }
            found.map(|(size, hit)| {
                let class = g.slab_of(size);
                class.get_hits += 1;
                if exptime.is_some() {
                    class.touch_hits += 1;
                }
                hit
            })
        });
        hits.extend(hit);
    }
    hits
}

pub fn encode(hits: &[Hit<'_>], with_cas: bool, out: &mut Vec<u8>) {
    for h in hits {
        out.extend_from_slice(b"VALUE ");
        out.extend_from_slice(h.key);
        out.push(b' ');
        push_num(out, u64::from(h.flags));
        out.push(b' ');
        push_num(out, h.value.len() as u64);
        if with_cas {
            out.push(b' ');
            push_num(out, h.cas);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"END\r\n");
}
