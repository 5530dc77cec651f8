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

/// C's `isspace` in the "C" locale.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What C's `strtol`/`strtoull` read from a whole token, as memcached's `safe_strto*` accept
/// it: leading white space, an optional sign, at least one digit, and nothing after the
/// digits but white space. Returns the sign and the magnitude (saturated above 2^64).
fn c_number(t: &[u8]) -> Option<(bool, u128)> {
    let mut i = t.iter().take_while(|&&b| c_space(b)).count();
    let neg = match t.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: u128 = 0;
    while let Some(&b) = t.get(i).filter(|b| b.is_ascii_digit()) {
        v = (v * 10 + u128::from(b - b'0')).min(u128::from(u64::MAX) + 2);
        i += 1;
    }
    if i == start || t.get(i).is_some_and(|&b| !c_space(b)) {
        return None;
    }
    Some((neg, v))
}

/// memcached's `safe_strtoull`: C's `strtoull` (so `-5` is 2^64-5), refused when it overflows
/// or when a `-` gives a number above 2^63.
pub fn parse_u64(t: &[u8]) -> Option<u64> {
    let (neg, v) = c_number(t)?;
    if v > u128::from(u64::MAX) {
        return None;
    }
    let v = v as u64;
    let v = if neg { v.wrapping_neg() } else { v };
    if (v as i64) < 0 && neg {
        return None;
    }
    Some(v)
}

/// memcached's `safe_strtol` into an `int32_t`: C's `strtol` (64-bit `long`, refused only when
/// it overflows that), then **truncated** to 32 bits as memcached stores it. So `2147483648`
/// reads as -2147483648 and `4294967296` as 0, exactly as memcached 1.6.18 on amd64 does.
pub fn parse_i32(t: &[u8]) -> Option<i64> {
    let (neg, v) = c_number(t)?;
    let l: i64 = if neg {
        if v > 1u128 << 63 {
            return None;
        }
        (v as i128).wrapping_neg() as i64
    } else {
        i64::try_from(v).ok()?
    };
    Some(i64::from(l as i32))
}

/// Appends the decimal form of `n`.
pub fn push_num(out: &mut Vec<u8>, n: u64) {
    let (buf, i) = crate::util::decimal(n);
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
        assert_eq!(parse_u64(b"-0"), Some(0));
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12x"), None);
        assert_eq!(parse_u64(b"12\t"), Some(12));
        assert_eq!(parse_i32(b"-1"), Some(-1));
        // Truncated to 32 bits like memcached's int32_t.
        assert_eq!(parse_i32(b"2147483648"), Some(-2147483648));
        assert_eq!(parse_i32(b"4294967296"), Some(0));
        assert_eq!(parse_i32(b"-2147483649"), Some(2147483647));
        assert_eq!(parse_i32(b"9223372036854775808"), None);
        assert_eq!(parse_i32(b"abc"), None);
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
