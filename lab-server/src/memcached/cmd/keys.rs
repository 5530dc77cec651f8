//! `delete <key> [0] [noreply]` and `touch <key> <exptime> [noreply]`.

use super::{key, noreply, parse_i32, Env, ProtoError};
use crate::memcached::store::Access;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete<'a> {
    pub key: &'a [u8],
    pub noreply: bool,
}

pub fn parse_delete<'a>(tokens: &[&'a [u8]]) -> Result<Delete<'a>, ProtoError> {
    let n = tokens.len();
    if !(2..=4).contains(&n) {
        return Err(ProtoError::Error);
    }
    let key = key(tokens[1])?;
    let nr = noreply(tokens);
    if n > 2 {
        // Only the legacy hold time `0` is allowed besides noreply.
        let zero = tokens[2] == b"0";
        let valid = (n == 3 && (zero || nr)) || (n == 4 && zero && nr);
        if !valid {
            return Err(ProtoError::Client(
                "bad command line format.  Usage: delete <key> [noreply]",
            ));
        }
    }
    Ok(Delete { key, noreply: nr })
}

/// True when something was deleted.
pub fn apply_delete(cmd: &Delete<'_>, env: &Env<'_>) -> bool {
    env.store.with(cmd.key, |g| {
        let live = g.lookup(cmd.key, Access::Other).is_some();
        if live {
            if let Some(it) = g.remove(cmd.key) {
                g.slab(&it).delete_hits += 1;
            }
            g.counters().delete_hits += 1;
        } else {
            g.counters().delete_misses += 1;
        }
        live
    })
}

pub fn encode_delete(deleted: bool, noreply: bool, out: &mut Vec<u8>) {
    if !noreply {
        out.extend_from_slice(if deleted {
            b"DELETED\r\n"
        } else {
            b"NOT_FOUND\r\n"
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch<'a> {
    pub key: &'a [u8],
    pub exptime: i64,
    pub noreply: bool,
}

pub fn parse_touch<'a>(tokens: &[&'a [u8]]) -> Result<Touch<'a>, ProtoError> {
    if !(tokens.len() == 3 || tokens.len() == 4) {
        return Err(ProtoError::Error);
    }
    let key = key(tokens[1])?;
    let exptime = parse_i32(tokens[2]).ok_or(ProtoError::Client("invalid exptime argument"))?;
    Ok(Touch {
        key,
        exptime,
        noreply: noreply(tokens),
    })
}

/// True when the item existed.
pub fn apply_touch(cmd: &Touch<'_>, env: &Env<'_>) -> bool {
    let exptime = env.store.clock.expiry(cmd.exptime);
    env.store.with(cmd.key, |g| {
        let found = match g.lookup(cmd.key, Access::Fetch) {
            Some(it) => {
                it.exptime = exptime;
                Some(it.ntotal())
            }
            None => None,
        };
        if let Some(size) = found {
            g.slab_of(size).touch_hits += 1;
        }
        let found = found.is_some();
        let c = g.counters();
        c.cmd_touch += 1;
        if found {
            c.touch_hits += 1
        } else {
            c.touch_misses += 1
        }
        found
    })
}

pub fn encode_touch(found: bool, noreply: bool, out: &mut Vec<u8>) {
    if !noreply {
        out.extend_from_slice(if found {
            b"TOUCHED\r\n"
        } else {
            b"NOT_FOUND\r\n"
        });
    }
}
