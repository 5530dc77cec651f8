//! `incr|decr <key> <delta> [noreply]`: the value must be a decimal unsigned 64-bit
//! number; incr wraps around at 2^64, decr stops at 0. As in memcached, a result shorter
//! than the stored text is padded with spaces (the item is rewritten in place).

use bytes::Bytes;

use super::{key, noreply, parse_u64, push_num, Env, ProtoError};
use crate::memcached::store::{Access, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arith<'a> {
    pub incr: bool,
    pub key: &'a [u8],
    pub delta: u64,
    pub noreply: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Value(u64),
    NotFound,
    NonNumeric,
    NoMemory,
}

pub fn parse<'a>(incr: bool, tokens: &[&'a [u8]]) -> Result<Arith<'a>, ProtoError> {
    if !(tokens.len() == 3 || tokens.len() == 4) {
        return Err(ProtoError::Error);
    }
    let key = key(tokens[1])?;
    let delta = parse_u64(tokens[2]).ok_or(ProtoError::Client("invalid numeric delta argument"))?;
    Ok(Arith {
        incr,
        key,
        delta,
        noreply: noreply(tokens),
    })
}

/// Reads a stored value as memcached's `safe_strtoull` does: leading spaces, digits, then
/// the end or a space (the padding of an earlier in-place result).
pub fn numeric_value(v: &[u8]) -> Option<u64> {
    let start = v.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &v[start..];
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    if end == 0 || (end < rest.len() && !rest[end].is_ascii_whitespace()) {
        return None;
    }
    parse_u64(&rest[..end])
}

/// Applies the delta to the item under `key`. `vivify`: (initial value, rel expiry) to
/// create a missing item (meta `ma ... N`). Returns the outcome and the new cas.
pub fn change(
    env: &Env<'_>,
    key: &[u8],
    incr: bool,
    delta: u64,
    vivify: Option<(u64, u32)>,
    compare_cas: Option<u64>,
) -> (Outcome, u64, bool) {
    env.store.with(key, |g| {
        let current = g
            .lookup(key, Access::Other)
            .map(|it| (it.value.clone(), it.flags, it.exptime, it.cas));
        let Some((value, flags, exptime, cas)) = current else {
            let c = g.counters();
            if incr {
                c.incr_misses += 1
            } else {
                c.decr_misses += 1
            }
            if let Some((initial, exp)) = vivify {
                let mut text = Vec::new();
                push_num(&mut text, initial);
                let item = g.new_item(Bytes::from(text), 0, exp);
                let cas = item.cas;
                return match g.put(key, item) {
                    Ok(()) => (Outcome::Value(initial), cas, false),
                    Err(_) => (Outcome::NoMemory, 0, false),
                };
            }
            return (Outcome::NotFound, 0, false);
        };
        if compare_cas.is_some_and(|c| c != cas) {
            return (Outcome::NotFound, cas, true);
        }
        let Some(n) = numeric_value(&value) else {
            return (Outcome::NonNumeric, 0, false);
        };
        let result = if incr {
            n.wrapping_add(delta)
        } else {
            n.saturating_sub(delta)
        };
        let c = g.counters();
        if incr {
            c.incr_hits += 1
        } else {
            c.decr_hits += 1
        }
        let class = g.slab_of(crate::memcached::slabs::ntotal(
            key.len(),
            flags,
            value.len(),
        ));
        if incr {
            class.incr_hits += 1
        } else {
            class.decr_hits += 1
        }
        let mut text = Vec::with_capacity(20);
        push_num(&mut text, result);
        if text.len() < value.len() {
            text.resize(value.len(), b' ');
        }
        // A result no longer than the old value is written in place, as memcached does
        // (no new item, so `total_items` does not move); a longer one is a new item.
        if text.len() == value.len() {
            let new_cas = g.next_cas();
            if let Some(it) = g.lookup(key, Access::Other) {
                it.value = Bytes::from(text);
                it.cas = new_cas;
                return (Outcome::Value(result), new_cas, false);
            }
        }
        let item = g.new_item(Bytes::from(text), flags, exptime);
        let new_cas = item.cas;
        match g.put(key, item) {
            Ok(()) => (Outcome::Value(result), new_cas, false),
            Err(StoreError::TooLarge | StoreError::NoMemory) => (Outcome::NoMemory, 0, false),
        }
    })
}

pub fn apply(cmd: &Arith<'_>, env: &Env<'_>) -> Outcome {
    change(env, cmd.key, cmd.incr, cmd.delta, None, None).0
}

pub fn encode(outcome: &Outcome, noreply: bool, out: &mut Vec<u8>) {
    match outcome {
        _ if noreply => {}
        Outcome::NonNumeric => {
            ProtoError::Client("cannot increment or decrement non-numeric value").encode(out)
        }
        Outcome::NoMemory => ProtoError::Server("out of memory").encode(out),
        Outcome::Value(v) => {
            push_num(out, *v);
            out.extend_from_slice(b"\r\n");
        }
        Outcome::NotFound => out.extend_from_slice(b"NOT_FOUND\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_strtoull() {
        assert_eq!(numeric_value(b"10"), Some(10));
        assert_eq!(numeric_value(b"0   "), Some(0));
        assert_eq!(numeric_value(b" 7"), Some(7));
        assert_eq!(numeric_value(b"x"), None);
        assert_eq!(numeric_value(b"1x"), None);
        assert_eq!(numeric_value(b""), None);
        assert_eq!(numeric_value(b"18446744073709551616"), None);
    }
}
