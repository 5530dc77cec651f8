//! `flush_all [delay] [noreply]`, `version`, `verbosity <level> [noreply]`, `quit`.

use super::{noreply, parse_i32, parse_u64, Env, ProtoError};

/// The version string memcached clients see (the lab speaks memcached 1.6's protocol).
pub const VERSION: &str = "1.6.18-lab";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admin {
    FlushAll {
        delay: i64,
        noreply: bool,
    },
    Version,
    Verbosity {
        level: u32,
        noreply: bool,
    },
    Quit,
    /// `slabs automove N` (accepted; the lab has no slab rebalancer) and `slabs reassign
    /// SRC DST` (the lab never has a spare page to move).
    Slabs {
        reply: &'static str,
    },
}

pub fn parse(name: &[u8], tokens: &[&[u8]]) -> Result<Admin, ProtoError> {
    let n = tokens.len();
    match name {
        b"flush_all" => {
            if n > 3 {
                return Err(ProtoError::Error);
            }
            let nr = noreply(tokens);
            let delay = if n == 1 || (n == 2 && nr) {
                0
            } else {
                parse_i32(tokens[1]).ok_or(ProtoError::Client("invalid exptime argument"))?
            };
            Ok(Admin::FlushAll { delay, noreply: nr })
        }
        b"version" => Ok(Admin::Version),
        b"slabs" => match (n, tokens.get(1).copied()) {
            (4, Some(b"reassign")) => {
                let valid =
                    |t: &[u8]| parse_i32(t).is_some_and(|c| c == -1 || (1..=40).contains(&c));
                let reply = if !valid(tokens[2]) || !valid(tokens[3]) {
                    "BADCLASS invalid src or dst class id"
                } else if tokens[2] == tokens[3] {
                    "SAME src and dst class are identical"
                } else {
                    "NOSPARE source class has no spare pages"
                };
                Ok(Admin::Slabs { reply })
            }
            (3.., Some(b"automove")) => {
                let level = parse_u64(tokens[2]).ok_or_else(ProtoError::bad_format)?;
                Ok(Admin::Slabs {
                    reply: if level <= 2 { "OK" } else { "ERROR" },
                })
            }
            _ => Err(ProtoError::Error),
        },
        b"quit" => Ok(Admin::Quit),
        b"verbosity" => {
            if !(n == 2 || n == 3) {
                return Err(ProtoError::Error);
            }
            let level = parse_u64(tokens[1]).ok_or_else(ProtoError::bad_format)?;
            Ok(Admin::Verbosity {
                level: level.min(u64::from(u32::MAX)) as u32,
                noreply: noreply(tokens),
            })
        }
        _ => Err(ProtoError::Error),
    }
}

/// Runs the command and writes its reply. Returns false for `quit`.
pub fn apply_and_encode(cmd: &Admin, env: &Env<'_>, out: &mut Vec<u8>) -> bool {
    match cmd {
        Admin::FlushAll { delay, noreply } => {
            env.store.flush(*delay);
            env.server.count_flush();
            if !noreply {
                out.extend_from_slice(b"OK\r\n");
            }
        }
        Admin::Version => {
            out.extend_from_slice(b"VERSION ");
            out.extend_from_slice(VERSION.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Admin::Verbosity { level, noreply } => {
            env.server.set_verbosity((*level).min(3));
            if !noreply {
                out.extend_from_slice(b"OK\r\n");
            }
        }
        Admin::Quit => return false,
        Admin::Slabs { reply } => {
            out.extend_from_slice(reply.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    true
}
