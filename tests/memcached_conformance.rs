//! memcached conformance: byte exchanges recorded from Debian 12's real memcached 1.6.18,
//! replayed against the lab's memcached role. Each case of
//! `tests/conformance/memcached/cases.txt` opens a connection, sends its chunks (with a
//! pause between them, so the server sees each one alone) and reads until the server closes
//! the connection or stays quiet. `cases.recorded.txt` holds what the real server answered
//! and whether it closed; the lab must answer the same bytes and close (or not) the same way.
//! `stats.txt` does the same for `stats`, `stats items` and `stats slabs`, comparing the
//! figures that depend only on the commands sent (see [`steady_stats`]).
//!
//! To record again against a fresh real memcached (started by hand on a free port, for
//! example `memcached -p 41211 -l 127.0.0.1 -U 0`; one fresh server per file):
//!
//! ```text
//! MEMCACHED_RECORD=127.0.0.1:41211 MEMCACHED_RECORD_ONLY=stats \
//!     cargo test --test memcached_conformance -- --nocapture
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab_server::memcached::config::MemcachedConfig;
use lab_server::memcached::MemcachedRole;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/memcached");

/// Pause between the chunks of one case.
const BETWEEN_CHUNKS: Duration = Duration::from_millis(150);

/// One case: a name and the chunks it sends.
struct Case {
    name: String,
    chunks: Vec<Vec<u8>>,
}

/// What the server did: the bytes it sent and whether it closed the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    bytes: Vec<u8>,
    closed: bool,
}

/// Decodes the escapes of the case and transcript files: `\r`, `\n`, `\t`, `\\`, `\xNN`,
/// `{{N*text}}` for `text` repeated N times and `{{N@text}}` for N copies with `@` numbered.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            let end = s[i..].find("}}").map(|e| i + e).expect("`{{` sin `}}`");
            let inner = &s[i + 2..end];
            // {{N*text}}: text N times; {{N@text}}: N times with `@` replaced by 0..N.
            let (n, numbered, text) = match inner.split_once('*') {
                Some((n, t)) => (n, false, t),
                None => {
                    let (n, t) = inner.split_once('@').expect("{{N*texto}} o {{N@texto}}");
                    (n, true, t)
                }
            };
            let n: usize = n.parse().expect("número de repeticiones");
            for k in 0..n {
                let unit = if numbered {
                    text.replace('@', &k.to_string())
                } else {
                    text.to_string()
                };
                out.extend_from_slice(&unescape(&unit));
            }
            i = end + 2;
            continue;
        }
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'{') => out.push(b'{'),
            Some(b'x') => {
                let hex = &s[i + 2..i + 4];
                out.push(u8::from_str_radix(hex, 16).expect("\\xNN"));
                i += 2;
            }
            other => panic!("escape desconocido {other:?} en {s:?}"),
        }
        i += 2;
    }
    out
}

fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &c in bytes {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'{' => s.push_str("\\{"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// `## name` starts a case; each `> chunk` line is one send.
fn read_cases(stem: &str) -> Vec<Case> {
    let text =
        std::fs::read_to_string(Path::new(DIR).join(format!("{stem}.txt"))).expect("cases file");
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            cases.push(Case {
                name: name.trim().to_string(),
                chunks: Vec::new(),
            });
        } else if let Some(chunk) = line.strip_prefix("> ") {
            cases
                .last_mut()
                .expect("`>` antes de ningún `##`")
                .chunks
                .push(unescape(chunk));
        }
    }
    cases
}

/// `## name`, then `< bytes` and `= cerrada|abierta`.
fn read_recorded(stem: &str) -> Vec<(String, Answer)> {
    let text = std::fs::read_to_string(Path::new(DIR).join(format!("{stem}.recorded.txt")))
        .expect("recorded file");
    let mut out: Vec<(String, Answer)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            out.push((
                name.trim().to_string(),
                Answer {
                    bytes: Vec::new(),
                    closed: false,
                },
            ));
        } else if let Some(bytes) = line.strip_prefix("< ") {
            out.last_mut().expect("`<` sin caso").1.bytes = unescape(bytes);
        } else if line == "<" {
            out.last_mut().expect("`<` sin caso").1.bytes.clear();
        } else if let Some(state) = line.strip_prefix("= ") {
            out.last_mut().expect("`=` sin caso").1.closed = state.trim() == "cerrada";
        }
    }
    out
}

/// Sends the chunks and reads. With `expected`, reads until those bytes are in (or the
/// connection ends), then makes sure nothing else comes and, when the expected answer
/// leaves the connection open, that it stays open. Without it (recording), reads until
/// the server closes or stays quiet for a while.
fn exchange(addr: SocketAddr, case: &Case, expected: Option<&Answer>) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    let mut bytes = Vec::new();
    let mut closed = false;
    let mut buf = vec![0u8; 1 << 16];
    for (i, chunk) in case.chunks.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(BETWEEN_CHUNKS);
        }
        if s.write_all(chunk).is_err() {
            closed = true;
            break;
        }
    }
    let quiet = Duration::from_millis(if expected.is_some() { 200 } else { 700 });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !closed && Instant::now() < deadline {
        let want_more = expected.is_some_and(|e| bytes.len() < e.bytes.len() || e.closed);
        let wait = if want_more {
            deadline.saturating_duration_since(Instant::now())
        } else {
            quiet
        };
        s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => closed = true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if !want_more {
                    break;
                }
            }
            // A reset is memcached closing with unread input (an HTTP request's headers).
            Err(_) => closed = true,
        }
    }
    Answer { bytes, closed }
}

fn start_lab() -> (tokio::runtime::Runtime, MemcachedRole) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tmp = std::env::temp_dir().join(format!("lab-mc-conf-{}", std::process::id()));
    let mut config = MemcachedConfig::defaults(PathBuf::from(&tmp).join("memcached.log"));
    config.binds = vec!["127.0.0.1:0".parse().unwrap()];
    config.threads = 2;
    let role = {
        let _guard = rt.enter();
        MemcachedRole::start(config).expect("start the lab's memcached")
    };
    (rt, role)
}

/// The `STAT` lines whose value depends only on the commands sent (not on time, the
/// process or memcached's background threads), for the stats cases.
fn steady_stats(bytes: &[u8]) -> Vec<u8> {
    const KEEP: &[&str] = &[
        "bytes",
        "curr_items",
        "total_items",
        "cmd_get",
        "cmd_set",
        "cmd_touch",
        "get_hits",
        "get_misses",
        "delete_hits",
        "delete_misses",
        "incr_hits",
        "incr_misses",
        "decr_hits",
        "decr_misses",
        "cas_hits",
        "cas_misses",
        "cas_badval",
        "touch_hits",
        "touch_misses",
        "store_too_large",
        "store_no_memory",
        "evictions",
        "expired_unfetched",
        "evicted_unfetched",
        "number",
        "mem_requested",
        "evicted",
        "evicted_nonzero",
        "outofmemory",
        "chunk_size",
        "chunks_per_page",
        "total_pages",
        "total_chunks",
        "used_chunks",
        "free_chunks",
        "active_slabs",
        "total_malloced",
    ];
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let keep = match text.strip_prefix("STAT ") {
            Some(rest) => {
                let name = rest.split(' ').next().unwrap_or("");
                KEEP.contains(&name.rsplit(':').next().unwrap_or(""))
            }
            None => true,
        };
        if keep {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Replays `stem.txt` against the lab (or records it from `MEMCACHED_RECORD`, which must be
/// a fresh memcached for the stats cases).
fn conformance(stem: &str, filter: fn(&[u8]) -> Vec<u8>) {
    let cases = read_cases(stem);
    if let Ok(real) = std::env::var("MEMCACHED_RECORD") {
        if std::env::var("MEMCACHED_RECORD_ONLY").is_ok_and(|only| only != stem) {
            return;
        }
        let addr: SocketAddr = real.parse().expect("MEMCACHED_RECORD=ip:puerto");
        let mut text = String::from(
            "# Recorded from Debian 12's memcached 1.6.18 (memcached -U 0), one exchange per\n\
             # case. `<` is what it sent, `=` whether it closed the connection.\n",
        );
        for case in &cases {
            let a = exchange(addr, case, None);
            text.push_str(&format!(
                "\n## {}\n< {}\n= {}\n",
                case.name,
                escape(&filter(&a.bytes)),
                if a.closed { "cerrada" } else { "abierta" }
            ));
        }
        std::fs::write(Path::new(DIR).join(format!("{stem}.recorded.txt")), text)
            .expect("write the recording");
        eprintln!("grabados {} casos de {real}", cases.len());
        return;
    }
    let recorded = read_recorded(stem);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let rec: Vec<&str> = recorded.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names, rec,
        "{stem}: los casos y la grabación deben coincidir"
    );
    let (rt, role) = start_lab();
    let addr = role.bound()[0];
    let mut failures = Vec::new();
    for (case, (name, want)) in cases.iter().zip(&recorded) {
        let mut got = exchange(addr, case, Some(want));
        got.bytes = filter(&got.bytes);
        if &got != want {
            failures.push(format!(
                "{name}:\n  memcached: {} ({})\n  lab:       {} ({})",
                escape(&want.bytes),
                if want.closed { "cerrada" } else { "abierta" },
                escape(&got.bytes),
                if got.closed { "cerrada" } else { "abierta" },
            ));
        }
    }
    rt.block_on(role.shutdown());
    assert!(
        failures.is_empty(),
        "{} de {} casos difieren:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_recordings_cover_both_outcomes() {
    if std::env::var_os("MEMCACHED_RECORD").is_some() {
        return;
    }
    let recorded = read_recorded("cases");
    assert!(recorded.len() >= 20, "pocos casos: {}", recorded.len());
    assert!(recorded.iter().any(|(_, a)| a.closed));
    assert!(recorded.iter().any(|(_, a)| !a.closed));
    let stats = read_recorded("stats");
    assert!(stats
        .iter()
        .any(|(_, a)| String::from_utf8_lossy(&a.bytes).contains(":mem_requested ")));
}

#[test]
fn the_lab_answers_and_closes_like_memcached_1_6_18() {
    conformance("cases", |b| b.to_vec());
}

#[test]
fn the_lab_counts_stats_items_and_slabs_like_memcached_1_6_18() {
    conformance("stats", steady_stats);
}
