//! The memcached role through the real `lab` binary: `lab service memcached`, configtest of
//! etc/memcached.conf, Debian's fixture, real clients (libmemcached's memccapable,
//! pymemcache with HashClient over two lab instances), `-vv` logging and `-m` eviction.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{free_port, have, wait_until, TestLab};

/// A workspace with apache2 off and memcached on, `-p` on a free port plus `extra` lines.
fn memcached_lab(extra: &str) -> (TestLab, u16) {
    let lab = TestLab::new();
    lab.lab(&["service", "apache2", "disable"]).assert_code(0);
    lab.lab(&["service", "memcached", "enable"]).assert_code(0);
    let port = free_port();
    let conf = lab
        .read("etc/memcached.conf")
        .replace("-p 11211", &format!("-p {port}"));
    lab.write("etc/memcached.conf", format!("{conf}{extra}"));
    (lab, port)
}

/// Sends `cmd` and reads until the reply ends with `end`.
fn ask(port: u16, cmd: &[u8], end: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to memcached");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(cmd).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while !buf.ends_with(end) {
        let n = s.read(&mut chunk).expect("read reply");
        assert!(
            n > 0,
            "connection closed; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn stat(port: u16, name: &str) -> u64 {
    let out = ask(port, b"stats\r\n", b"END\r\n");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no STAT {name} in {out}"))
}

#[test]
fn lab_start_runs_memcached_as_configured() {
    let (mut lab, port) = memcached_lab("-m 128\n-t 2\n");
    lab.start();
    let out = lab.output();
    assert!(out.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert_eq!(
        ask(port, b"set k 0 0 5\r\nhola!\r\nget k\r\n", b"END\r\n"),
        "STORED\r\nVALUE k 0 5\r\nhola!\r\nEND\r\n"
    );
    let settings = ask(port, b"stats settings\r\n", b"END\r\n");
    assert!(
        settings.contains("STAT maxbytes 134217728\r\n"),
        "{settings}"
    );
    assert!(settings.contains("STAT inter 127.0.0.1\r\n"), "{settings}");
    assert!(settings.contains("STAT num_threads 2\r\n"), "{settings}");
    let status = lab.lab(&["status"]);
    status.assert_code(0);
    assert!(
        status.stdout.contains("memcached en marcha"),
        "{}",
        status.stdout
    );
}

#[test]
fn service_memcached_starts_and_stops_in_a_running_lab() {
    let (mut lab, port) = memcached_lab("");
    lab.lab(&["service", "memcached", "disable"]).assert_code(0);
    lab.start();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "disabled yet listening"
    );
    let out = lab.lab(&["service", "memcached", "start"]);
    out.assert_code(0);
    assert!(out.stdout.contains("memcached arrancado"), "{}", out.stdout);
    assert!(ask(port, b"version\r\n", b"\r\n").starts_with("VERSION 1.6"));
    lab.lab(&["service", "memcached", "stop"]).assert_code(0);
    assert!(
        wait_until(Duration::from_secs(5), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_err()),
        "still listening after stop"
    );
    // Restart re-reads the file.
    let conf = lab.read("etc/memcached.conf");
    lab.write("etc/memcached.conf", format!("{conf}-m 32\n"));
    lab.lab(&["service", "memcached", "restart"]).assert_code(0);
    assert_eq!(stat(port, "limit_maxbytes"), 32 * 1024 * 1024);
}

#[test]
fn configtest_reports_memcached_conf_errors_with_file_and_line() {
    let (lab, _) = memcached_lab("--memory-limt=64\n-p abc\n");
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", out.all());
    let all = out.all();
    let lines = lab.read("etc/memcached.conf").lines().count();
    assert!(
        all.contains(&format!("etc/memcached.conf:{}:1", lines - 1)),
        "{all}"
    );
    assert!(all.contains("¿Quisiste decir `--memory-limit`?"), "{all}");
    assert!(
        all.contains(&format!("etc/memcached.conf:{lines}:4")),
        "{all}"
    );
    assert!(!all.contains("Sintaxis correcta"), "{all}");
    // And lab start refuses to run with it.
    let mut lab = lab;
    assert!(lab.try_start().is_err());
}

#[test]
fn debians_memcached_conf_fixture_parses() {
    let lab = TestLab::new();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/memcached/memcached.conf");
    lab.write("etc/memcached.conf", std::fs::read(fixture).unwrap());
    let out = lab.configtest();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("Sintaxis correcta"));
}

#[test]
fn very_verbose_logs_client_commands() {
    let (mut lab, port) = memcached_lab("-vv\n");
    lab.start();
    ask(port, b"set visto 0 0 1\r\nx\r\n", b"STORED\r\n");
    let logged = wait_until(Duration::from_secs(5), || {
        let log = lab.read("var/log/memcached.log");
        log.contains(" set visto 0 0 1") && log.contains(" STORED")
    });
    assert!(logged, "log: {}", lab.read("var/log/memcached.log"));
}

#[test]
fn eviction_keeps_memory_within_the_m_limit() {
    let (mut lab, port) = memcached_lab("-m 1\n-I 64k\n");
    lab.start();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let value = vec![b'v'; 10_000];
    let mut batch = Vec::new();
    for i in 0..300 {
        batch.extend_from_slice(format!("set k{i} 0 0 {} noreply\r\n", value.len()).as_bytes());
        batch.extend_from_slice(&value);
        batch.extend_from_slice(b"\r\n");
    }
    s.write_all(&batch).unwrap();
    drop(s);
    // 3 MB went into a 1 MB store.
    assert!(wait_until(Duration::from_secs(10), || stat(
        port,
        "total_items"
    ) == 300));
    let limit = stat(port, "limit_maxbytes");
    assert_eq!(limit, 1024 * 1024);
    assert!(stat(port, "bytes") <= limit);
    assert!(stat(port, "evictions") > 150);
    assert!(ask(port, b"get k299\r\n", b"END\r\n").starts_with("VALUE k299"));
}

#[test]
fn memccapable_passes_every_ascii_test() {
    if !have("memccapable") {
        eprintln!("SKIP: falta memccapable (apt-get install libmemcached-tools)");
        return;
    }
    let (mut lab, port) = memcached_lab("");
    lab.start();
    let out = Command::new("memccapable")
        .args(["-a", "-h", "127.0.0.1", "-p", &port.to_string()])
        .output()
        .expect("run memccapable");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("All tests passed"),
        "{text}"
    );
    assert!(!text.contains("[FAIL]"), "{text}");
}

/// A venv with pymemcache, made once per test run in a temp dir.
fn pymemcache_python(dir: &Path) -> Option<std::path::PathBuf> {
    let venv = dir.join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIP: `python3 -m venv` no funciona (apt-get install python3-venv)");
        return None;
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "pymemcache",
        ])
        .status();
    assert!(
        pip.is_ok_and(|s| s.success()),
        "pip install pymemcache falló"
    );
    Some(venv.join("bin/python"))
}

#[test]
fn pymemcache_client_and_hash_client_over_two_lab_instances() {
    let (mut a, port_a) = memcached_lab("");
    let (mut b, port_b) = memcached_lab("");
    a.start();
    b.start();
    let Some(python) = pymemcache_python(a.tmp()) else {
        return;
    };
    let script = r#"
import sys
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient

a, b = int(sys.argv[1]), int(sys.argv[2])
c = Client(("127.0.0.1", a))
assert c.version().startswith(b"1.6"), c.version()
assert c.set("clave", b"valor", expire=60)
assert c.get("clave") == b"valor"
assert c.add("clave", b"otro", noreply=False) is False
assert c.replace("clave", b"nuevo", noreply=False) is True
assert c.append("clave", b"!", noreply=False) and c.prepend("clave", b"<", noreply=False)
assert c.get("clave") == b"<nuevo!"
value, cas = c.gets("clave")
assert c.cas("clave", b"cas1", cas, noreply=False) is True
assert c.cas("clave", b"cas2", cas, noreply=False) is False
c.set("n", b"10")
assert c.incr("n", 5) == 15 and c.decr("n", 20) == 0
assert c.incr("nada", 1) is None
assert c.touch("clave", 100, noreply=False) is True
assert c.get_many(["clave", "n", "falta"]) == {"clave": b"cas1", "n": b"0 "}
assert c.delete("clave", noreply=False) is True and c.get("clave") is None
stats = c.stats()
assert stats[b"get_hits"] >= 3 and stats[b"curr_items"] == 1, stats
c.flush_all(noreply=False)
assert c.get("n") is None

h = HashClient([("127.0.0.1", a), ("127.0.0.1", b)], use_pooling=False)
for i in range(200):
    h.set("k%d" % i, str(i).encode())
for i in range(200):
    assert h.get("k%d" % i) == str(i).encode(), i
ca = Client(("127.0.0.1", a)).stats()[b"curr_items"]
cb = Client(("127.0.0.1", b)).stats()[b"curr_items"]
assert ca + cb == 200 and ca > 40 and cb > 40, (ca, cb)
print("ok", ca, cb)
"#;
    let path = a.tmp().join("clients.py");
    std::fs::write(&path, script).unwrap();
    let out = Command::new(&python)
        .arg(&path)
        .args([port_a.to_string(), port_b.to_string()])
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.starts_with("ok "), "{text}");
}

#[test]
fn connections_over_the_c_limit_are_refused_with_memcacheds_error() {
    let (mut lab, port) = memcached_lab("-c 2\n");
    lab.start();
    // Two clients that the server has certainly accepted (each got an answer).
    let open = |_| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"version\r\n").unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"VERSION "));
        s
    };
    let kept: Vec<TcpStream> = (0..2).map(open).collect();
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reply = String::new();
    let _ = third.read_to_string(&mut reply);
    assert_eq!(reply, "ERROR Too many open connections\r\n");
    drop(kept);
    // The server sees the two closes a little later: until then a new connection is refused
    // too, so the check retries instead of failing on the refused one.
    let rejected = || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"stats\r\n").ok()?;
        let mut out = Vec::new();
        let mut chunk = [0u8; 8192];
        while !out.ends_with(b"END\r\n") {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("STAT rejected_connections "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    // At least the third client; a stats connection refused during the race counts too.
    assert!(wait_until(Duration::from_secs(5), || rejected()
        .is_some_and(|n| n >= 1)));
}

#[test]
fn reload_keeps_memcached_and_asks_for_a_restart_when_its_file_changed() {
    let (mut lab, port) = memcached_lab("");
    lab.start();
    ask(port, b"set k 0 0 1\r\nx\r\n", b"STORED\r\n");
    lab.lab(&["reload"]).assert_code(0);
    let conf = lab.read("etc/memcached.conf");
    lab.write("etc/memcached.conf", format!("{conf}-m 32\n"));
    // Apache reloads, so the reload succeeded; memcached keeps running as it was, and the
    // answer says what waits for a restart.
    let out = lab.lab(&["reload"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("Configuración recargada."),
        "{}",
        out.all()
    );
    assert!(
        out.all().contains("solo lo lee al arrancar")
            && out.all().contains("lab service memcached restart"),
        "{}",
        out.all()
    );
    // Still serving, with its data.
    assert!(ask(port, b"get k\r\n", b"END\r\n").starts_with("VALUE k 0 1"));
    // Asking memcached itself to reload is what systemd refuses.
    let out = lab.lab(&["service", "memcached", "reload"]);
    assert_eq!(out.code, 1, "{}", out.all());
    // After the restart nothing is pending any more.
    lab.lab(&["service", "memcached", "restart"]).assert_code(0);
    let out = lab.lab(&["reload"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !out.all().contains("solo lo lee al arrancar"),
        "{}",
        out.all()
    );
}

#[test]
fn a_broken_memcached_conf_does_not_stop_the_lab_while_memcached_is_disabled() {
    let (mut lab, _port) = memcached_lab("-m muchos\n");
    let lines = lab.read("etc/memcached.conf").lines().count();
    lab.lab(&["service", "memcached", "disable"]).assert_code(0);
    lab.lab(&["service", "apache2", "enable"]).assert_code(0);
    lab.start();
    let started = lab.output();
    assert!(
        started.contains("memcached.conf") && started.contains("desactivado"),
        "{started}"
    );
    assert_eq!(lab.get("/").status, 200);
    // Starting it by hand shows the error with its file and line, and changes nothing.
    let out = lab.lab(&["service", "memcached", "start"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.all().contains(&format!("etc/memcached.conf:{lines}")),
        "{}",
        out.all()
    );
    assert_eq!(lab.get("/").status, 200);
    // Enabled, the same file stops `lab start` as before.
    assert_eq!(lab.stop_with_sigterm(), Some(0));
    lab.lab(&["service", "memcached", "enable"]).assert_code(0);
    let out = lab.lab(&["configtest"]);
    assert_eq!(out.code, 1, "{}", out.all());
}
