//! `stats`, `stats settings`, `stats items`, `stats slabs`, `stats sizes`, `stats reset`.
//! Replies are `STAT <name> <value>` lines and `END`, with the names memcached 1.6.18 prints
//! in its order. Items are counted in memcached's slab classes ([`slabs`]).

use super::{Env, ProtoError};
use crate::memcached::cmd::admin::VERSION;
use crate::memcached::slabs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    General,
    Settings,
    Items,
    Slabs,
    Sizes,
    Reset,
    /// `stats cachedump CLASS LIMIT`.
    CacheDump {
        class: usize,
        limit: u64,
    },
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
        Some(b"cachedump") => {
            if tokens.len() < 4 {
                return Err(ProtoError::Client("bad command line"));
            }
            let (Some(class), Some(limit)) =
                (super::parse_u64(tokens[2]), super::parse_u64(tokens[3]))
            else {
                return Err(ProtoError::bad_format());
            };
            let (class, limit) = (u64::from(class as u32), u64::from(limit as u32));
            if class >= 64 {
                return Err(ProtoError::Client("Illegal slab id"));
            }
            Ok(Stats::CacheDump {
                class: class as usize,
                limit,
            })
        }
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
    let mut put_all = |prefix: String, pairs: &[(&str, u64)]| {
        for (name, val) in pairs {
            put(&format!("{prefix}{name}"), val.to_string());
        }
    };
    match cmd {
        Stats::General => {
            let s = env.server.snapshot();
            let t = env.store.totals();
            let c = t.counters;
            let (user, system) = rusage();
            // Every name memcached 1.6.18 (Debian 12's build) prints, in its order. What the
            // lab does not have (libevent, response objects, the LRU maintainer and crawler,
            // slab rebalancing, logging watchers) shows its idle value.
            let n = |v: u64| v.to_string();
            put("pid", n(u64::from(s.pid)));
            put("uptime", n(s.uptime));
            put("time", n(s.time));
            put("version", VERSION.to_string());
            put("libevent", "2.1.12-stable".to_string());
            put("pointer_size", (usize::BITS).to_string());
            put("rusage_user", user);
            put("rusage_system", system);
            put("max_connections", n(s.max_connections));
            put("curr_connections", n(s.curr_connections));
            put("total_connections", n(s.total_connections));
            put("rejected_connections", n(s.rejected_connections));
            put("connection_structures", n(s.curr_connections + 1));
            for k in [
                "response_obj_oom",
                "response_obj_count",
                "response_obj_bytes",
            ] {
                put(k, "0".to_string());
            }
            for k in [
                "read_buf_count",
                "read_buf_bytes",
                "read_buf_bytes_free",
                "read_buf_oom",
            ] {
                put(k, "0".to_string());
            }
            put("reserved_fds", "20".to_string());
            put("cmd_get", n(c.cmd_get));
            put("cmd_set", n(c.cmd_set));
            put("cmd_flush", n(s.cmd_flush));
            put("cmd_touch", n(c.cmd_touch));
            put("cmd_meta", n(s.cmd_meta));
            put("get_hits", n(c.get_hits));
            put("get_misses", n(c.get_misses));
            put("get_expired", n(c.get_expired));
            put("get_flushed", n(c.get_flushed));
            put("delete_misses", n(c.delete_misses));
            put("delete_hits", n(c.delete_hits));
            put("incr_misses", n(c.incr_misses));
            put("incr_hits", n(c.incr_hits));
            put("decr_misses", n(c.decr_misses));
            put("decr_hits", n(c.decr_hits));
            put("cas_misses", n(c.cas_misses));
            put("cas_hits", n(c.cas_hits));
            put("cas_badval", n(c.cas_badval));
            put("touch_hits", n(c.touch_hits));
            put("touch_misses", n(c.touch_misses));
            put("store_too_large", n(c.store_too_large));
            put("store_no_memory", n(c.store_no_memory));
            put("auth_cmds", "0".to_string());
            put("auth_errors", "0".to_string());
            put("bytes_read", n(s.bytes_read));
            put("bytes_written", n(s.bytes_written));
            put("limit_maxbytes", n(env.store.settings().memory_limit));
            put("accepting_conns", "1".to_string());
            put("listen_disabled_num", "0".to_string());
            put("time_in_listen_disabled_us", "0".to_string());
            put("threads", n(s.threads));
            put("conn_yields", "0".to_string());
            put("hash_power_level", "16".to_string());
            put("hash_bytes", "524288".to_string());
            put("hash_is_expanding", "0".to_string());
            for k in [
                "slab_reassign_rescues",
                "slab_reassign_chunk_rescues",
                "slab_reassign_evictions_nomem",
                "slab_reassign_inline_reclaim",
                "slab_reassign_busy_items",
                "slab_reassign_busy_deletes",
                "slab_reassign_running",
                "slabs_moved",
                "lru_crawler_running",
                "lru_crawler_starts",
                "lru_maintainer_juggles",
                "malloc_fails",
                "log_worker_dropped",
                "log_worker_written",
                "log_watcher_skipped",
                "log_watcher_sent",
                "log_watchers",
                "unexpected_napi_ids",
                "round_robin_fallback",
            ] {
                put(k, "0".to_string());
            }
            put("bytes", n(t.bytes));
            put("curr_items", n(t.curr_items));
            put("total_items", n(c.total_items));
            put("slab_global_page_pool", "0".to_string());
            put("expired_unfetched", n(c.expired_unfetched));
            put("evicted_unfetched", n(c.evicted_unfetched));
            put("evicted_active", "0".to_string());
            put("evictions", n(c.evictions));
            put("reclaimed", n(c.reclaimed));
            for k in [
                "crawler_reclaimed",
                "crawler_items_checked",
                "lrutail_reflocked",
                "moves_to_cold",
                "moves_to_warm",
                "moves_within_lru",
                "direct_reclaims",
                "lru_bumps_dropped",
            ] {
                put(k, "0".to_string());
            }
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
            put("umask", "700".to_string());
            put("shutdown_command", "no".to_string());
            put("growth_factor", "1.25".to_string());
            put("chunk_size", "48".to_string());
            put("num_threads", s.num_threads.to_string());
            put("num_threads_per_udp", s.num_threads.to_string());
            put("stat_key_prefix", ":".to_string());
            put("detail_enabled", "no".to_string());
            put("reqs_per_event", "20".to_string());
            put("cas_enabled", "yes".to_string());
            put("tcp_backlog", "1024".to_string());
            put("binding_protocol", "ascii".to_string());
            put("auth_enabled_sasl", "no".to_string());
            put("auth_enabled_ascii", "no".to_string());
            put("item_size_max", s.item_size_max.to_string());
            put("maxconns_fast", "yes".to_string());
            put("hashpower_init", "0".to_string());
            put("slab_reassign", "yes".to_string());
            put("slab_automove", "1".to_string());
            put("slab_chunk_max", (s.item_size_max / 2).to_string());
            put("lru_crawler", "no".to_string());
            put("flush_enabled", "yes".to_string());
            put("dump_enabled", "no".to_string());
            put("hash_algorithm", "fxhash".to_string());
            put("lru_maintainer_thread", "no".to_string());
            put("lru_segmented", "no".to_string());
            put("idle_timeout", "0".to_string());
        }
        Stats::Items => {
            // memcached prints a class only while it holds items.
            for cls in env.store.class_stats() {
                if cls.number == 0 {
                    continue;
                }
                let c = cls.counters;
                put_all(
                    format!("items:{}:", cls.id),
                    &[
                        ("number", cls.number),
                        ("number_hot", 0),
                        ("number_warm", 0),
                        ("number_cold", cls.number),
                        ("age_hot", 0),
                        ("age_warm", 0),
                        ("age", u64::from(cls.age)),
                        ("mem_requested", cls.requested),
                        ("evicted", c.evicted),
                        ("evicted_nonzero", c.evicted_nonzero),
                        ("evicted_time", u64::from(c.evicted_time)),
                        ("outofmemory", c.outofmemory),
                        ("tailrepairs", 0),
                        ("reclaimed", c.reclaimed),
                        ("expired_unfetched", c.expired_unfetched),
                        ("evicted_unfetched", c.evicted_unfetched),
                        ("evicted_active", 0),
                        ("crawler_reclaimed", 0),
                        ("crawler_items_checked", 0),
                        ("lrutail_reflocked", 0),
                        ("moves_to_cold", 0),
                        ("moves_to_warm", 0),
                        ("moves_within_lru", 0),
                        ("direct_reclaims", 0),
                        ("hits_to_hot", 0),
                        ("hits_to_warm", 0),
                        ("hits_to_cold", c.get_hits),
                        ("hits_to_temp", 0),
                    ],
                );
            }
        }
        Stats::Slabs => {
            // memcached prints a class once it has taken a page, and keeps it.
            let classes = env.store.class_stats();
            let mut active = 0;
            for cls in &classes {
                if cls.pages == 0 {
                    continue;
                }
                active += 1;
                let per_page = slabs::per_page(cls.id);
                let total = cls.pages * per_page;
                let c = cls.counters;
                put_all(
                    format!("{}:", cls.id),
                    &[
                        ("chunk_size", slabs::chunk_size(cls.id)),
                        ("chunks_per_page", per_page),
                        ("total_pages", cls.pages),
                        ("total_chunks", total),
                        ("used_chunks", cls.number),
                        ("free_chunks", total.saturating_sub(cls.number)),
                        ("free_chunks_end", 0),
                        ("get_hits", c.get_hits),
                        ("cmd_set", c.cmd_set),
                        ("delete_hits", c.delete_hits),
                        ("incr_hits", c.incr_hits),
                        ("decr_hits", c.decr_hits),
                        ("cas_hits", c.cas_hits),
                        ("cas_badval", c.cas_badval),
                        ("touch_hits", c.touch_hits),
                    ],
                );
            }
            put("active_slabs", active.to_string());
            put("total_malloced", env.store.malloced().to_string());
        }
        Stats::Sizes => put("sizes_status", "disabled".to_string()),
        Stats::Reset => env.store.reset_counters(),
        Stats::CacheDump { class, limit } => {
            for (key, len, exp) in env.store.dump_class(class, limit) {
                put(
                    &String::from_utf8_lossy(&key),
                    format!("[{len} b; {exp} s]"),
                );
            }
        }
    }
    v
}

pub fn encode(cmd: Stats, pairs: &[(String, String)], out: &mut Vec<u8>) {
    if cmd == Stats::Reset {
        out.extend_from_slice(b"RESET\r\n");
        return;
    }
    let prefix: &[u8] = match cmd {
        Stats::CacheDump { .. } => b"ITEM ",
        _ => b"STAT ",
    };
    for (k, v) in pairs {
        out.extend_from_slice(prefix);
        out.extend_from_slice(k.as_bytes());
        out.push(b' ');
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"END\r\n");
}

/// `rusage_user` and `rusage_system` of this process, as memcached prints them (from
/// `/proc/self/stat`, in clock ticks of 1/100 s).
fn rusage() -> (String, String) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let secs = |i: usize| {
        let ticks: u64 = fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0);
        format!("{}.{:06}", ticks / 100, (ticks % 100) * 10_000)
    };
    // utime and stime are fields 14 and 15, that is 11 and 12 after the state.
    (secs(11), secs(12))
}
