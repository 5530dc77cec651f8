//! Storage commands: `set|add|replace|append|prepend <key> <flags> <exptime> <bytes>
//! [noreply]` and `cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]`, each
//! followed by a data block of `<bytes>` bytes and `\r\n`.

use bytes::Bytes;

use super::{key, noreply, parse_i32, parse_u64, Env, ProtoError};
use crate::memcached::slabs;
use crate::memcached::store::{Access, StoreError};

/// Which storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas,
}

impl Mode {
    pub fn from_name(name: &[u8]) -> Option<Mode> {
        Some(match name {
            b"set" => Mode::Set,
            b"add" => Mode::Add,
            b"replace" => Mode::Replace,
            b"append" => Mode::Append,
            b"prepend" => Mode::Prepend,
            b"cas" => Mode::Cas,
            _ => return None,
        })
    }
}

/// A parsed storage command line, waiting for its data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub mode: Mode,
    pub key: Vec<u8>,
    pub flags: u32,
    pub exptime: i64,
    pub bytes: usize,
    pub cas: u64,
    pub noreply: bool,
}

/// The result of a storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    NotStored,
    Exists,
    NotFound,
    TooLarge,
    NoMemory,
}

/// Parses the command line (`tokens[0]` is the command name).
///
/// memcached 1.6.18 answers a refused line at once and reads what follows as commands: the
/// data block of a refused `set` is not swallowed (its lines get `ERROR`).
pub fn parse(mode: Mode, tokens: &[&[u8]]) -> Result<Storage, ProtoError> {
    let n = tokens.len();
    let ok_count = if mode == Mode::Cas {
        n == 6 || n == 7
    } else {
        n == 5 || n == 6
    };
    if !ok_count {
        return Err(ProtoError::Error);
    }
    let bad = ProtoError::bad_format;
    let key = key(tokens[1])?;
    // Flags, exptime and length are read as memcached reads them: flags with strtoul kept
    // modulo 2^32, exptime and length with strtol truncated to 32 bits.
    let flags = parse_u64(tokens[2]).ok_or_else(bad)? as u32;
    let exptime = parse_i32(tokens[3]).ok_or_else(bad)?;
    let length = parse_i32(tokens[4]).ok_or_else(bad)?;
    let cas = if mode == Mode::Cas {
        parse_u64(tokens[5]).ok_or_else(bad)?
    } else {
        0
    };
    if !(0..=i64::from(i32::MAX) - 2).contains(&length) {
        return Err(bad());
    }
    let bytes = length as usize;
    Ok(Storage {
        mode,
        key: key.to_vec(),
        flags,
        exptime,
        bytes,
        cas,
        noreply: noreply(tokens),
    })
}

/// Checked before the data arrives: an item over `-I` is refused at once (and, for `set`,
/// the old value goes, so no stale data survives a failed set).
pub fn precheck(cmd: &Storage, env: &Env<'_>) -> Option<ProtoError> {
    let fits = env.store.with(&cmd.key, |g| {
        if g.fits(&cmd.key, cmd.flags, cmd.bytes) {
            return true;
        }
        // No item was allocated, so memcached counts no `cmd_set` (only `store_too_large`).
        g.counters().store_too_large += 1;
        if cmd.mode == Mode::Set {
            g.remove(&cmd.key);
        }
        false
    });
    (!fits).then_some(ProtoError::Server("object too large for cache"))
}

/// Stores `data` as the command says.
pub fn apply(cmd: &Storage, data: &[u8], env: &Env<'_>) -> Outcome {
    let exptime = env.store.clock.expiry(cmd.exptime);
    env.store.with(&cmd.key, |g| {
        g.counters().cmd_set += 1;
        // memcached counts the set in the class of the item the data was read into.
        g.slab_of(slabs::ntotal(cmd.key.len(), cmd.flags, cmd.bytes))
            .cmd_set += 1;
        let key = &cmd.key[..];
        let existing = g
            .lookup(key, Access::Other)
            .map(|it| (it.cas, it.flags, it.exptime, it.value.clone()));
        // cas hits and bad values count in the class of the item they compare against.
        let old_size = existing
            .as_ref()
            .map(|(_, f, _, v)| slabs::ntotal(key.len(), *f, v.len()))
            .unwrap_or(0);
        let value = match (cmd.mode, &existing) {
            (Mode::Add, Some(_)) => return Outcome::NotStored,
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => return Outcome::NotStored,
            (Mode::Cas, None) => {
                g.counters().cas_misses += 1;
                return Outcome::NotFound;
            }
            (Mode::Cas, Some((cas, ..))) if *cas != cmd.cas => {
                g.counters().cas_badval += 1;
                g.slab_of(old_size).cas_badval += 1;
                return Outcome::Exists;
            }
            (Mode::Append, Some((_, _, _, old))) => {
                let mut v = Vec::with_capacity(old.len() + data.len());
                v.extend_from_slice(old);
                v.extend_from_slice(data);
                Bytes::from(v)
            }
            (Mode::Prepend, Some((_, _, _, old))) => {
                let mut v = Vec::with_capacity(old.len() + data.len());
                v.extend_from_slice(data);
                v.extend_from_slice(old);
                Bytes::from(v)
            }
            _ => Bytes::copy_from_slice(data),
        };
        if cmd.mode == Mode::Cas {
            g.counters().cas_hits += 1;
            g.slab_of(old_size).cas_hits += 1;
        }
        // append/prepend keep the item's flags and expiry.
        let (flags, exptime) = match (cmd.mode, &existing) {
            (Mode::Append | Mode::Prepend, Some((_, f, e, _))) => (*f, *e),
            _ => (cmd.flags, exptime),
        };
        let item = g.new_item(value, flags, exptime);
        match g.put(key, item) {
            Ok(()) => Outcome::Stored,
            Err(StoreError::TooLarge) => Outcome::TooLarge,
            Err(StoreError::NoMemory) => Outcome::NoMemory,
        }
    })
}

/// The reply line (nothing with `noreply`, except errors).
pub fn encode(outcome: Outcome, noreply: bool, out: &mut Vec<u8>) {
    let line: &[u8] = match outcome {
        _ if noreply => return,
        Outcome::TooLarge => return ProtoError::Server("object too large for cache").encode(out),
        Outcome::NoMemory => return ProtoError::Server("out of memory storing object").encode(out),
        Outcome::Stored => b"STORED\r\n",
        Outcome::NotStored => b"NOT_STORED\r\n",
        Outcome::Exists => b"EXISTS\r\n",
        Outcome::NotFound => b"NOT_FOUND\r\n",
    };
    out.extend_from_slice(line);
}
