//! `stats`, `stats settings`, `stats items`, `stats slabs`, `stats sizes`, `stats reset`.
//! Replies are `STAT <name> <value>` lines and `END`. The lab has no slab allocator: items
//! and slabs report one class (1) holding every item.

use super::{Env, ProtoError};
use crate::memcached::cmd::admin::VERSION;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    General,
    Settings,
    Items,
    Slabs,
    Sizes,
    Reset,
}

/// What the server (not the store) knows.
#[derive(Debug, Clone, Default)]
pub struct ServerSnapshot {
    pub pid: u32,
    pub uptime: u64,
    pub time: u64,
    pub max_connections: u64,
    pub curr_connections: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
    pub cmd_flush: u64,
    pub cmd_meta: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub threads: u64,
}

/// Configuration values for `stats settings`.
#[derive(Debug, Clone, Default)]
pub struct SettingsSnapshot {
    pub maxbytes: u64,
    pub maxconns: u64,
    pub tcpport: u16,
    pub inter: String,
    pub verbosity: u32,
    pub evictions: bool,
    pub num_threads: u64,
    pub item_size_max: u64,
}

pub fn parse(tokens: &[&[u8]]) -> Result<Stats, ProtoError> {
    match tokens.get(1).copied() {
        None => Ok(Stats::General),
        Some(_) if tokens.len() > 2 => Err(ProtoError::Error),
        Some(b"settings") => Ok(Stats::Settings),
        Some(b"items") => Ok(Stats::Items),
        Some(b"slabs") => Ok(Stats::Slabs),
        Some(b"sizes") => Ok(Stats::Sizes),
        Some(b"reset") => Ok(Stats::Reset),
        // Includes `stats noreply`: stats always answers.
        Some(_) => Err(ProtoError::Error),
    }
}

/// The `STAT` pairs of a stats command (empty for `reset`, which resets).
pub fn apply(cmd: Stats, env: &Env<'_>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, val: String| v.push((k.to_string(), val));
    match cmd {
        Stats::General => {
            let s = env.server.snapshot();
            let t = env.store.totals();
            let c = t.counters;
            put("pid", s.pid.to_string());
            put("uptime", s.uptime.to_string());
            put("time", s.time.to_string());
            put("version", VERSION.to_string());
            put("pointer_size", (usize::BITS).to_string());
            put("max_connections", s.max_connections.to_string());
            put("curr_connections", s.curr_connections.to_string());
            put("total_connections", s.total_connections.to_string());
            put("rejected_connections", s.rejected_connections.to_string());
            put("cmd_get", c.cmd_get.to_string());
            put("cmd_set", c.cmd_set.to_string());
            put("cmd_flush", s.cmd_flush.to_string());
            put("cmd_touch", c.cmd_touch.to_string());
            put("cmd_meta", s.cmd_meta.to_string());
            put("get_hits", c.get_hits.to_string());
            put("get_misses", c.get_misses.to_string());
            put("get_expired", c.get_expired.to_string());
            put("get_flushed", c.get_flushed.to_string());
            put("delete_misses", c.delete_misses.to_string());
            put("delete_hits", c.delete_hits.to_string());
            put("incr_misses", c.incr_misses.to_string());
            put("incr_hits", c.incr_hits.to_string());
            put("decr_misses", c.decr_misses.to_string());
            put("decr_hits", c.decr_hits.to_string());
            put("cas_misses", c.cas_misses.to_string());
            put("cas_hits", c.cas_hits.to_string());
            put("cas_badval", c.cas_badval.to_string());
            put("touch_hits", c.touch_hits.to_string());
            put("touch_misses", c.touch_misses.to_string());
            put("store_too_large", c.store_too_large.to_string());
            put("store_no_memory", c.store_no_memory.to_string());
            put("bytes_read", s.bytes_read.to_string());
            put("bytes_written", s.bytes_written.to_string());
            put(
                "limit_maxbytes",
                env.store.settings().memory_limit.to_string(),
            );
            put("accepting_conns", "1".to_string());
            put("threads", s.threads.to_string());
            put("bytes", t.bytes.to_string());
            put("curr_items", t.curr_items.to_string());
            put("total_items", c.total_items.to_string());
            put("expired_unfetched", c.expired_unfetched.to_string());
            put("evicted_unfetched", c.evicted_unfetched.to_string());
            put("evictions", c.evictions.to_string());
            put("reclaimed", c.reclaimed.to_string());
        }
        Stats::Settings => {
            let s = env.server.settings();
            put("maxbytes", s.maxbytes.to_string());
            put("maxconns", s.maxconns.to_string());
            put("tcpport", s.tcpport.to_string());
            put("udpport", "0".to_string());
            put("inter", s.inter);
            put("verbosity", s.verbosity.to_string());
            put("oldest", "0".to_string());
            put(
                "evictions",
                if s.evictions { "on" } else { "off" }.to_string(),
            );
            put("domain_socket", "NULL".to_string());
            put("growth_factor", "1.25".to_string());
            put("chunk_size", "48".to_string());
            put("num_threads", s.num_threads.to_string());
            put("cas_enabled", "yes".to_string());
            put("binding_protocol", "ascii".to_string());
            put("item_size_max", s.item_size_max.to_string());
            put("flush_enabled", "yes".to_string());
            put("hash_algorithm", "fxhash".to_string());
            put("lru_crawler", "yes".to_string());
        }
        Stats::Items => {
            let t = env.store.totals();
            let c = t.counters;
            if t.curr_items > 0 {
                put("items:1:number", t.curr_items.to_string());
                put("items:1:age", "0".to_string());
                put("items:1:mem_requested", t.bytes.to_string());
                put("items:1:evicted", c.evictions.to_string());
                put("items:1:evicted_nonzero", c.evicted_nonzero.to_string());
                put("items:1:outofmemory", c.store_no_memory.to_string());
                put("items:1:reclaimed", c.reclaimed.to_string());
                put("items:1:expired_unfetched", c.expired_unfetched.to_string());
                put("items:1:evicted_unfetched", c.evicted_unfetched.to_string());
            }
        }
        Stats::Slabs => {
            let t = env.store.totals();
            let c = t.counters;
            if t.curr_items > 0 {
                put(
                    "1:chunk_size",
                    env.store.settings().item_size_max.to_string(),
                );
                put("1:used_chunks", t.curr_items.to_string());
                put("1:get_hits", c.get_hits.to_string());
                put("1:cmd_set", c.cmd_set.to_string());
                put("1:delete_hits", c.delete_hits.to_string());
                put("1:incr_hits", c.incr_hits.to_string());
                put("1:decr_hits", c.decr_hits.to_string());
                put("1:cas_hits", c.cas_hits.to_string());
                put("1:cas_badval", c.cas_badval.to_string());
                put("1:touch_hits", c.touch_hits.to_string());
            }
            put("active_slabs", u64::from(t.curr_items > 0).to_string());
            put("total_malloced", t.bytes.to_string());
        }
        Stats::Sizes => put("sizes_status", "disabled".to_string()),
        Stats::Reset => env.store.reset_counters(),
    }
    v
}

pub fn encode(cmd: Stats, pairs: &[(String, String)], out: &mut Vec<u8>) {
    if cmd == Stats::Reset {
        out.extend_from_slice(b"RESET\r\n");
        return;
    }
    for (k, v) in pairs {
        out.extend_from_slice(b"STAT ");
        out.extend_from_slice(k.as_bytes());
        out.push(b' ');
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"END\r\n");
}
