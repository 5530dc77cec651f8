//! The text protocol, one file per command family. Each family has three parts kept
//! apart, as in mini-redis: `parse` (tokens of a command line -> a typed command or the
//! exact error memcached answers), `apply` (the command against the [`Store`] -> an
//! outcome) and `encode` (the outcome -> reply bytes).
//!
//! - [`storage`]: set, add, replace, append, prepend, cas (the line, then a data block).
//! - [`retrieval`]: get, gets, gat, gats.
//! - [`keys`]: delete, touch.
//! - [`arith`]: incr, decr (64-bit: incr wraps, decr stops at 0).
//! - [`admin`]: flush_all, version, verbosity, quit.
//! - [`stats`]: stats and its `settings`, `items`, `slabs`, `sizes`, `reset` forms.
//! - [`meta`]: the meta protocol: mg, ms, md, ma, mn, me and their flags.

pub mod admin;
pub mod arith;
pub mod keys;
pub mod meta;
pub mod retrieval;
pub mod stats;
pub mod storage;

use super::store::Store;

/// Longest key memcached accepts.
pub const KEY_MAX: usize = 250;

/// The generic error reply (unknown command, wrong number of tokens).
pub const ERROR: &[u8] = b"ERROR\r\n";
pub const BAD_FORMAT: &str = "bad command line format";

/// An error reply: `ERROR`, `CLIENT_ERROR <msg>` or `SERVER_ERROR <msg>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoError {
    Error,
    Client(&'static str),
    Server(&'static str),
}

impl ProtoError {
    pub fn bad_format() -> ProtoError {
        ProtoError::Client(BAD_FORMAT)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ProtoError::Error => out.extend_from_slice(ERROR),
            ProtoError::Client(m) => {
                out.extend_from_slice(b"CLIENT_ERROR ");
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            ProtoError::Server(m) => {
                out.extend_from_slice(b"SERVER_ERROR ");
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// Splits a command line on spaces (runs of spaces count as one, as in memcached).
pub fn tokenize(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .collect()
}

/// A key token, or `CLIENT_ERROR bad command line format` when longer than 250 bytes.
pub fn key(token: &[u8]) -> Result<&[u8], ProtoError> {
    if token.len() > KEY_MAX {
        Err(ProtoError::bad_format())
    } else {
        Ok(token)
    }
}

/// Whether the last token is `noreply`.
pub fn noreply(tokens: &[&[u8]]) -> bool {
    tokens.last().is_some_and(|t| *t == b"noreply")
}

/// Parses an unsigned decimal (no sign, no spaces), like memcached's `safe_strtoull`.
pub fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Parses a signed decimal that fits in 32 bits, like memcached's `safe_strtol`.
pub fn parse_i32(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = parse_u64(digits)? as i64;
    let n = if neg { -n } else { n };
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&n)
        .then_some(n)
}

/// Appends the decimal form of `n`.
pub fn push_num(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a signed decimal.
pub fn push_signed(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_num(out, n.unsigned_abs());
}

/// What the server knows besides the store, for `stats` and `verbosity`.
pub trait ServerInfo {
    /// Connection, traffic and process figures for `stats`.
    fn snapshot(&self) -> stats::ServerSnapshot;
    /// The `stats settings` values that come from the configuration.
    fn settings(&self) -> stats::SettingsSnapshot;
    /// `verbosity N`.
    fn set_verbosity(&self, level: u32);
    /// Counts a `flush_all` (`cmd_flush`).
    fn count_flush(&self);
}

/// The store and server a command runs against.
pub struct Env<'a> {
    pub store: &'a Store,
    pub server: &'a dyn ServerInfo,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_like_memcached() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_i32(b"-1"), Some(-1));
        assert_eq!(parse_i32(b"2147483648"), None);
        let mut out = Vec::new();
        push_num(&mut out, 0);
        out.push(b' ');
        push_num(&mut out, 1234567890);
        assert_eq!(out, b"0 1234567890");
    }

    #[test]
    fn tokens_split_on_runs_of_spaces() {
        assert_eq!(tokenize(b"  get  a b "), vec![&b"get"[..], b"a", b"b"]);
    }
}
