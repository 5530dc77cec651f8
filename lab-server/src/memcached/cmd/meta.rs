//! The meta protocol: `mg` (get), `ms` (set), `md` (delete), `ma` (arithmetic), `mn`
//! (no-op, ends a pipeline) and `me` (debug). Every command takes a key and one-letter
//! flags, some with a token (`T30`, `Oabc`); return flags come back in request order.
//!
//! Replies: `VA <len> <flags>` + data, `HD`, `EN` (miss), `NF` (not found), `NS` (not
//! stored), `EX` (cas mismatch), `MN`, `ME ...`. `q` hides the uninteresting reply (EN for
//! mg, HD for ms/md/ma). `b`: the key is base64. Stale items (`md ... I`) and
//! vivified misses (`mg ... N30`) hand one client a win token (`W`); others see `Z`.

use bytes::Bytes;

use super::{arith, parse_i32, parse_u64, push_num, push_signed, Env, ProtoError, KEY_MAX};
use crate::memcached::store::{Access, StoreError};

/// A flag and its token (empty when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag<'a> {
    pub name: u8,
    pub token: &'a [u8],
}

/// A parsed meta command (not `ms`, whose data block comes later: see [`MetaSet`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta<'a> {
    pub key: Vec<u8>,
    /// The key as written (base64 with `b`), for the `k` return flag.
    pub key_token: &'a [u8],
    pub flags: Vec<Flag<'a>>,
}

/// `ms <key> <datalen> <flags>*`, waiting for its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSet {
    pub key: Vec<u8>,
    pub key_token: Vec<u8>,
    pub flags: Vec<(u8, Vec<u8>)>,
    pub bytes: usize,
    /// An error found in the line: replied once the data block has been read.
    pub error: Option<ProtoError>,
}

const INVALID_FLAG: ProtoError = ProtoError::Client("invalid flag");
const BAD_TOKEN: ProtoError = ProtoError::Client("bad token in command line format");

impl<'a> Meta<'a> {
    fn has(&self, f: u8) -> bool {
        self.flags.iter().any(|x| x.name == f)
    }

    fn token(&self, f: u8) -> Option<&'a [u8]> {
        self.flags.iter().find(|x| x.name == f).map(|x| x.token)
    }

    fn number(&self, f: u8) -> Result<Option<u64>, ProtoError> {
        self.token(f)
            .map(|t| parse_u64(t).ok_or(BAD_TOKEN))
            .transpose()
    }

    fn ttl(&self, f: u8) -> Result<Option<i64>, ProtoError> {
        self.token(f)
            .map(|t| parse_i32(t).ok_or(BAD_TOKEN))
            .transpose()
    }
}

/// Parses `<cmd> <key> <flags>*` for mg, md, ma, me; `allowed` lists the valid flags.
pub fn parse<'a>(tokens: &[&'a [u8]], allowed: &[u8]) -> Result<Meta<'a>, ProtoError> {
    if tokens.len() < 2 {
        return Err(ProtoError::Error);
    }
    let mut flags = Vec::with_capacity(tokens.len() - 2);
    for t in &tokens[2..] {
        if !allowed.contains(&t[0]) {
            return Err(INVALID_FLAG);
        }
        flags.push(Flag {
            name: t[0],
            token: &t[1..],
        });
    }
    let key = decode_key(tokens[1], flags.iter().any(|f| f.name == b'b'))?;
    Ok(Meta {
        key,
        key_token: tokens[1],
        flags,
    })
}

fn decode_key(token: &[u8], base64: bool) -> Result<Vec<u8>, ProtoError> {
    let key = if base64 {
        base64_decode(token).ok_or(ProtoError::Client("error decoding key"))?
    } else {
        token.to_vec()
    };
    if key.len() > KEY_MAX || key.is_empty() {
        return Err(ProtoError::bad_format());
    }
    Ok(key)
}

pub const MG_FLAGS: &[u8] = b"bcfhklOqstuvENRT";
pub const MS_FLAGS: &[u8] = b"bcCEFIkOqsTM";
pub const MD_FLAGS: &[u8] = b"bCEIkOqT";
pub const MA_FLAGS: &[u8] = b"bCENJDTMqOtcvk";

/// Parses an `ms` line. `Err` when the data length itself is unreadable (nothing to
/// swallow); other problems are kept in [`MetaSet::error`].
pub fn parse_set(tokens: &[&[u8]]) -> Result<MetaSet, ProtoError> {
    if tokens.len() < 2 {
        return Err(ProtoError::Error);
    }
    let bytes = tokens
        .get(2)
        .and_then(|t| parse_i32(t))
        .filter(|&n| n >= 0)
        .ok_or_else(ProtoError::bad_format)? as usize;
    let mut error = None;
    let mut flags = Vec::new();
    for t in &tokens[3..] {
        if !MS_FLAGS.contains(&t[0]) {
            error.get_or_insert(INVALID_FLAG);
        }
        flags.push((t[0], t[1..].to_vec()));
    }
    let b = flags.iter().any(|(f, _)| *f == b'b');
    let key = match decode_key(tokens[1], b) {
        Ok(k) => k,
        Err(e) => {
            error.get_or_insert(e);
            Vec::new()
        }
    };
    if let Some((_, m)) = flags.iter().find(|(f, _)| *f == b'M') {
        if !matches!(
            m.first(),
            Some(b'E' | b'A' | b'P' | b'R' | b'S' | b'e' | b'a' | b'p' | b'r' | b's')
        ) {
            error.get_or_insert(ProtoError::Client("invalid mode for ms M token"));
        }
    }
    Ok(MetaSet {
        key,
        key_token: tokens[1].to_vec(),
        flags,
        bytes,
        error,
    })
}

/// Appends the return flags the request asked for (`O`, `k`, `b` and, given an item,
/// `c`, `f`, `s`, `t`, ...).
fn ret_flags(out: &mut Vec<u8>, flags: &[Flag<'_>], key_token: &[u8], item: Option<&ItemView>) {
    for f in flags {
        match (f.name, item) {
            (b'O', _) => {
                out.extend_from_slice(b" O");
                out.extend_from_slice(f.token);
            }
            (b'k', _) => {
                out.extend_from_slice(b" k");
                out.extend_from_slice(key_token);
            }
            (b'b', _) if flags.iter().any(|x| x.name == b'k') => out.extend_from_slice(b" b"),
            (b'c', Some(it)) => {
                out.extend_from_slice(b" c");
                push_num(out, it.cas);
            }
            (b'f', Some(it)) => {
                out.extend_from_slice(b" f");
                push_num(out, u64::from(it.flags));
            }
            (b's', Some(it)) => {
                out.extend_from_slice(b" s");
                push_num(out, it.size as u64);
            }
            (b't', Some(it)) => {
                out.extend_from_slice(b" t");
                push_signed(out, it.ttl);
            }
            (b'h', Some(it)) => out.extend_from_slice(if it.was_fetched { b" h1" } else { b" h0" }),
            (b'l', Some(it)) => {
                out.extend_from_slice(b" l");
                push_num(out, u64::from(it.idle));
            }
            _ => {}
        }
    }
}

/// What a reply may say about an item.
struct ItemView {
    cas: u64,
    flags: u32,
    size: usize,
    ttl: i64,
    was_fetched: bool,
    idle: u32,
    value: Bytes,
    win: bool,
    stale: bool,
    token_sent: bool,
}

fn ttl_of(exptime: u32, now: u32) -> i64 {
    if exptime == 0 {
        -1
    } else {
        i64::from(exptime) - i64::from(now)
    }
}

/// `mg`: writes the reply.
pub fn get(m: &Meta<'_>, env: &Env<'_>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let touch = m.ttl(b'T')?.map(|t| env.store.clock.expiry(t));
    let vivify = m.ttl(b'N')?.map(|t| env.store.clock.expiry(t));
    let recache = m.number(b'R')?;
    let view = env.store.with(&m.key, |g| {
        let now = g.now;
        let no_update = m.has(b'u');
        let bump = if no_update {
            Access::Other
        } else {
            Access::Fetch
        };
        let mut size = 0;
        let mut view = g.lookup(&m.key, bump).map(|it| {
            size = it.ntotal();
            let v = ItemView {
                cas: it.cas,
                flags: it.flags,
                size: it.value.len(),
                ttl: 0,
                was_fetched: it.fetched,
                idle: 0,
                value: it.value.clone(),
                win: false,
                stale: it.stale,
                token_sent: it.win_sent,
            };
            // `u`: no update, so the item is not marked as fetched either.
            if !no_update {
                it.fetched = true;
            }
            if let Some(t) = touch {
                it.exptime = t;
            }
            let mut v = v;
            v.ttl = ttl_of(it.exptime, now);
            v.idle = now.saturating_sub(it.accessed);
            if (it.stale || recache.is_some_and(|r| v.ttl >= 0 && (v.ttl as u64) < r))
                && !it.win_sent
            {
                it.win_sent = true;
                v.win = true;
            }
            v
        });
        let c = g.counters();
        c.cmd_get += 1;
        if view.is_some() {
            c.get_hits += 1;
            g.slab_of(size).get_hits += 1;
        } else {
            c.get_misses += 1
        }
        if view.is_none() {
            if let Some(exp) = vivify {
                let mut item = g.new_item(Bytes::new(), 0, exp);
                item.win_sent = true;
                let v = ItemView {
                    cas: item.cas,
                    flags: 0,
                    size: 0,
                    ttl: ttl_of(exp, now),
                    was_fetched: false,
                    idle: 0,
                    value: Bytes::new(),
                    win: true,
                    stale: false,
                    token_sent: false,
                };
                if g.put(&m.key, item).is_ok() {
                    view = Some(v);
                }
            }
        }
        view
    });
    let Some(v) = view else {
        if !m.has(b'q') {
            out.extend_from_slice(b"EN\r\n");
        }
        return Ok(());
    };
    let with_value = m.has(b'v');
    if with_value {
        out.extend_from_slice(b"VA ");
        push_num(out, v.size as u64);
    } else {
        out.extend_from_slice(b"HD");
    }
    ret_flags(out, &m.flags, m.key_token, Some(&v));
    if v.token_sent && !v.win {
        out.extend_from_slice(b" Z");
    }
    if v.stale {
        out.extend_from_slice(b" X");
    }
    if v.win {
        out.extend_from_slice(b" W");
    }
    out.extend_from_slice(b"\r\n");
    if with_value {
        out.extend_from_slice(&v.value);
        out.extend_from_slice(b"\r\n");
    }
    Ok(())
}

/// `ms` once its data block arrived: writes the reply.
/// Checked before the data block arrives, like memcached's `process_mset_command`: an error
/// in the command line, or a value over `-I`, is refused at once (the old value goes, so nothing stale survives) and its data
/// block is swallowed rather than buffered.
pub fn precheck_set(ms: &MetaSet, env: &Env<'_>) -> Option<ProtoError> {
    // A bad flag is answered at once too, and its block swallowed.
    if let Some(e) = &ms.error {
        return Some(e.clone());
    }
    let client_flags = ms
        .flags
        .iter()
        .find(|(n, _)| *n == b'F')
        .and_then(|(_, t)| std::str::from_utf8(t).ok()?.parse::<u32>().ok())
        .unwrap_or(0);
    let fits = env.store.with(&ms.key, |g| {
        if g.fits(&ms.key, client_flags, ms.bytes) {
            return true;
        }
        g.counters().store_too_large += 1;
        g.remove(&ms.key);
        false
    });
    (!fits).then_some(ProtoError::Server("object too large for cache"))
}

pub fn set(ms: &MetaSet, data: &[u8], env: &Env<'_>, out: &mut Vec<u8>) {
    if let Some(e) = &ms.error {
        return e.encode(out);
    }
    let flags: Vec<Flag<'_>> = ms
        .flags
        .iter()
        .map(|(n, t)| Flag { name: *n, token: t })
        .collect();
    let m = Meta {
        key: ms.key.clone(),
        key_token: &ms.key_token,
        flags,
    };
    let parsed = (|| -> Result<_, ProtoError> {
        Ok((
            m.number(b'F')?.unwrap_or(0) as u32,
            m.ttl(b'T')?.unwrap_or(0),
            m.number(b'C')?,
            m.number(b'E')?,
        ))
    })();
    let (client_flags, ttl, compare, explicit_cas) = match parsed {
        Ok(v) => v,
        Err(e) => return e.encode(out),
    };
    let mode = m
        .token(b'M')
        .and_then(|t| t.first())
        .map_or(b'S', u8::to_ascii_uppercase);
    let exptime = env.store.clock.expiry(ttl);
    let invalidate = m.has(b'I');
    let (code, cas) = env.store.with(&m.key, |g| {
        g.counters().cmd_set += 1;
        let key = &m.key[..];
        let existing = g
            .lookup(key, Access::Other)
            .map(|it| (it.cas, it.value.clone(), it.flags, it.exptime, it.win_sent));
        let old_size = existing
            .as_ref()
            .map(|(_, v, f, ..)| crate::memcached::slabs::ntotal(key.len(), *f, v.len()))
            .unwrap_or(0);
        // `I` with a cas lower than the item's: memcached stores the value as stale, keeping
        // the old item's TTL and whether its win token went out (items.c, do_store).
        let mut stale_over: Option<(u32, bool)> = None;
        if let Some(c) = compare {
            match &existing {
                None => return ("NF", 0),
                Some((cas, _, _, old_exp, old_win)) if *cas != c => {
                    if invalidate && c < *cas {
                        stale_over = Some((*old_exp, *old_win));
                        g.counters().cas_hits += 1;
                        g.slab_of(old_size).cas_hits += 1;
                    } else {
                        g.counters().cas_badval += 1;
                        g.slab_of(old_size).cas_badval += 1;
                        return ("EX", 0);
                    }
                }
                Some(_) => {
                    g.counters().cas_hits += 1;
                    g.slab_of(old_size).cas_hits += 1;
                }
            }
        }
        let (value, f, e) = match (mode, &existing) {
            (b'E', Some(_)) => return ("NS", 0),
            (b'A' | b'P' | b'R', None) => return ("NS", 0),
            (b'A', Some((_, old, f, e, _))) => ([&old[..], data].concat().into(), *f, *e),
            (b'P', Some((_, old, f, e, _))) => ([data, &old[..]].concat().into(), *f, *e),
            _ => (Bytes::copy_from_slice(data), client_flags, exptime),
        };
        let mut item = g.new_item(value, f, e);
        if let Some((old_exp, old_win)) = stale_over {
            item.exptime = old_exp;
            item.stale = true;
            item.win_sent = old_win;
        }
        if let Some(c) = explicit_cas {
            item.cas = c;
        }
        let cas = item.cas;
        g.slab_of(item.ntotal() + key.len() as u64).cmd_set += 1;
        match g.put(key, item) {
            Ok(()) => ("HD", cas),
            Err(StoreError::TooLarge) => ("TL", 0),
            Err(StoreError::NoMemory) => ("OM", 0),
        }
    });
    match code {
        "TL" => return ProtoError::Server("object too large for cache").encode(out),
        "OM" => return ProtoError::Server("out of memory storing object").encode(out),
        "HD" if m.has(b'q') => return,
        _ => {}
    }
    out.extend_from_slice(code.as_bytes());
    let view = ItemView {
        cas,
        flags: client_flags,
        size: data.len(),
        ttl: 0,
        was_fetched: false,
        idle: 0,
        value: Bytes::new(),
        win: false,
        stale: false,
        token_sent: false,
    };
    let only: Vec<Flag<'_>> = m
        .flags
        .iter()
        .copied()
        // memcached returns the cas flag whatever the outcome: 0 when nothing was stored.
        .filter(|f| matches!(f.name, b'O' | b'k' | b'b' | b'c'))
        .collect();
    ret_flags(out, &only, m.key_token, Some(&view));
    out.extend_from_slice(b"\r\n");
}

/// `md`: writes the reply.
pub fn delete(m: &Meta<'_>, env: &Env<'_>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let compare = m.number(b'C')?;
    let ttl = m.ttl(b'T')?.map(|t| env.store.clock.expiry(t));
    let invalidate = m.has(b'I');
    let code = env.store.with(&m.key, |g| {
        let Some(it) = g.lookup(&m.key, Access::Other) else {
            g.counters().delete_misses += 1;
            return "NF";
        };
        let size = it.ntotal();
        if compare.is_some_and(|c| c != it.cas) {
            return "EX";
        }
        if invalidate {
            it.stale = true;
            it.win_sent = false;
            if let Some(t) = ttl {
                it.exptime = t;
            }
        } else {
            g.remove(&m.key);
        }
        g.counters().delete_hits += 1;
        g.slab_of(size).delete_hits += 1;
        "HD"
    });
    if code == "HD" && m.has(b'q') {
        return Ok(());
    }
    out.extend_from_slice(code.as_bytes());
    ret_flags(out, &m.flags, m.key_token, None);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// `ma`: writes the reply.
pub fn arithmetic(m: &Meta<'_>, env: &Env<'_>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let incr = match m.token(b'M').and_then(|t| t.first()) {
        None | Some(b'I' | b'i' | b'+') => true,
        Some(b'D' | b'd' | b'-') => false,
        Some(_) => return Err(ProtoError::Client("invalid mode for ma M token")),
    };
    let delta = m.number(b'D')?.unwrap_or(1);
    let initial = m.number(b'J')?.unwrap_or(0);
    let vivify = m.ttl(b'N')?.map(|t| (initial, env.store.clock.expiry(t)));
    let compare = m.number(b'C')?;
    let touch = m.ttl(b'T')?.map(|t| env.store.clock.expiry(t));
    let (outcome, cas, mismatch) = arith::change(env, &m.key, incr, delta, vivify, compare);
    let (value, ttl) = match outcome {
        arith::Outcome::Value(v) => {
            let now = env.store.clock.now();
            let ttl = env.store.with(&m.key, |g| {
                g.lookup(&m.key, Access::Other).map(|it| {
                    if let Some(t) = touch {
                        it.exptime = t;
                    }
                    ttl_of(it.exptime, now)
                })
            });
            (v, ttl.unwrap_or(-1))
        }
        arith::Outcome::NotFound if mismatch => {
            out.extend_from_slice(b"EX");
            ret_flags(out, &m.flags, m.key_token, None);
            out.extend_from_slice(b"\r\n");
            return Ok(());
        }
        arith::Outcome::NotFound => {
            out.extend_from_slice(b"NF");
            ret_flags(out, &m.flags, m.key_token, None);
            out.extend_from_slice(b"\r\n");
            return Ok(());
        }
        arith::Outcome::NonNumeric => {
            return Err(ProtoError::Client(
                "cannot increment or decrement non-numeric value",
            ))
        }
        arith::Outcome::NoMemory => return Err(ProtoError::Server("out of memory")),
    };
    let mut text = Vec::new();
    push_num(&mut text, value);
    let view = ItemView {
        cas,
        flags: 0,
        size: text.len(),
        ttl,
        was_fetched: false,
        idle: 0,
        value: Bytes::new(),
        win: false,
        stale: false,
        token_sent: false,
    };
    let with_value = m.has(b'v');
    if !with_value && m.has(b'q') {
        return Ok(());
    }
    if with_value {
        out.extend_from_slice(b"VA ");
        push_num(out, text.len() as u64);
    } else {
        out.extend_from_slice(b"HD");
    }
    ret_flags(out, &m.flags, m.key_token, Some(&view));
    out.extend_from_slice(b"\r\n");
    if with_value {
        out.extend_from_slice(&text);
        out.extend_from_slice(b"\r\n");
    }
    Ok(())
}

/// `me <key>`: one line about the item.
pub fn debug(m: &Meta<'_>, env: &Env<'_>, out: &mut Vec<u8>) {
    let line = env.store.with(&m.key, |g| {
        let now = g.now;
        g.lookup(&m.key, Access::Other).map(|it| {
            format!(
                "ME {} exp={} la={} cas={} fetch={} cls={} size={}\r\n",
                String::from_utf8_lossy(m.key_token),
                ttl_of(it.exptime, now),
                now.saturating_sub(it.accessed),
                it.cas,
                if it.fetched { "yes" } else { "no" },
                crate::memcached::slabs::class_of(it.ntotal()),
                it.ntotal()
            )
        })
    });
    out.extend_from_slice(line.as_deref().unwrap_or("EN\r\n").as_bytes());
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding; `None` when malformed.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) || s.is_empty() {
        return None;
    }
    let val = |c: u8| B64.iter().position(|&b| b == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, chunk) in s.chunks(4).enumerate() {
        let last = i == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_keys_decode() {
        assert_eq!(base64_decode(b"YQ==").unwrap(), b"a");
        assert_eq!(base64_decode(b"Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode(b"Zm9vYg==").unwrap(), b"foob");
        assert!(base64_decode(b"a").is_none());
        assert!(base64_decode(b"Y===").is_none());
    }
}
