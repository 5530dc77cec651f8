//! Load and limits through the real `lab` binary (shortened versions of bench/reload.sh and
//! bench/slowloris.sh, which run the long ones with wrk):
//!
//! - `lab reload` over and over while clients keep keep-alive connections busy on a static
//!   file, an embedded WSGI application, a WSGI daemon group and memcached: not one request
//!   fails; an invalid configuration at reload changes nothing.
//! - Hundreds of slow clients (slowloris) holding connections open with a header that never
//!   ends: a normal client is still served, and the slow ones are dropped after
//!   `RequestReadTimeout`'s header time.
//! - Every service binds 127.0.0.1 unless the configuration says otherwise.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, read_response, TestLab};

const APP: &str = "import os\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'wsgi ' + environ['mod_wsgi.process_group'].encode() + b'\\n']\n";

fn site(generation: u32) -> String {
    format!(
        "# generation {generation}\n<VirtualHost *:80>\n    ServerName emb.localhost\n    WSGIScriptAlias / /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n<VirtualHost *:80>\n    ServerName dmn.localhost\n    WSGIDaemonProcess dmn processes=2 threads=4\n    WSGIProcessGroup dmn\n    WSGIScriptAlias / /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
    )
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// One keep-alive HTTP client: requests `path` on `host` until `stop`, counting answers
/// with the expected body as good and anything else (an error status, a wrong body, a
/// connection reset or closed without an answer) as failed. A connection the server closes
/// after a complete answer (`Connection: close`) is simply opened again.
fn http_client(
    addr: SocketAddr,
    host: &'static str,
    path: &'static str,
    expect: &'static str,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
) {
    let mut conn: Option<TcpStream> = None;
    while !stop.load(Ordering::Relaxed) {
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect(addr) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    conn.insert(s)
                }
                Err(e) => {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    errors.lock().unwrap().push(format!("connect: {e}"));
                    continue;
                }
            },
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let result = stream
            .write_all(req.as_bytes())
            .and_then(|()| read_response(stream, false));
        match result {
            Ok(resp) if resp.status == 200 && resp.text().contains(expect) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                if resp
                    .header("connection")
                    .is_some_and(|c| c.eq_ignore_ascii_case("close"))
                {
                    conn = None;
                }
            }
            Ok(resp) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                errors.lock().unwrap().push(format!(
                    "{host}{path}: {} {}",
                    resp.status,
                    resp.text()
                ));
                conn = None;
            }
            Err(e) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                errors.lock().unwrap().push(format!("{host}{path}: {e}"));
                conn = None;
            }
        }
    }
}

/// One memcached client: `set` then `get` of its own key until `stop`.
fn memcached_client(
    port: u16,
    id: usize,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let value = format!("{id}-{n}");
        let cmd = format!("set k{id} 0 0 {}\r\n{value}\r\nget k{id}\r\n", value.len());
        let expect = format!(
            "STORED\r\nVALUE k{id} 0 {}\r\n{value}\r\nEND\r\n",
            value.len()
        );
        let mut got = Vec::new();
        let ok = s.write_all(cmd.as_bytes()).is_ok() && {
            let mut buf = [0u8; 256];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break false,
                    Ok(k) => {
                        got.extend_from_slice(&buf[..k]);
                        if got.ends_with(b"END\r\n") {
                            break got == expect.as_bytes();
                        }
                    }
                }
            }
        };
        if ok {
            tally.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            errors
                .lock()
                .unwrap()
                .push(format!("memcached: {:?}", String::from_utf8_lossy(&got)));
            return;
        }
    }
}

#[test]
fn reload_every_half_second_under_load_fails_no_request() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.lab(&["service", "memcached", "enable"]).assert_code(0);
    let mc_port = free_port();
    let conf = lab
        .read("etc/memcached.conf")
        .replace("-p 11211", &format!("-p {mc_port}"));
    lab.write("etc/memcached.conf", &conf);
    lab.write("var/www/html/estatico.txt", "estático\n");
    lab.write("var/www/app/app.wsgi", APP);
    lab.add_site("app", &site(0));
    lab.start();
    let addr = lab.addr();

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    let targets: [(&'static str, &'static str, &'static str); 3] = [
        ("localhost", "/estatico.txt", "estático"),
        ("emb.localhost", "/", "wsgi \n"),
        ("dmn.localhost", "/", "wsgi dmn"),
    ];
    // More clients than the daemon group has threads (2 x 4), so requests are always
    // waiting for it when a reload replaces its processes.
    for (host, path, expect) in targets {
        let clients = if host == "dmn.localhost" { 16 } else { 4 };
        for _ in 0..clients {
            let (stop, tally, errors) = (stop.clone(), tally.clone(), errors.clone());
            threads.push(std::thread::spawn(move || {
                http_client(addr, host, path, expect, stop, tally, errors)
            }));
        }
    }
    for id in 0..4 {
        let (stop, tally, errors) = (stop.clone(), tally.clone(), errors.clone());
        threads.push(std::thread::spawn(move || {
            memcached_client(mc_port, id, stop, tally, errors)
        }));
    }

    let started = Instant::now();
    let mut reloads = 0;
    let mut generation = 0;
    // At least 8 s, and on a busy machine (where each `lab reload` is slow) longer, up to
    // 30 s, until 10 reloads have run under load.
    while started.elapsed() < Duration::from_secs(8)
        || (reloads < 10 && started.elapsed() < Duration::from_secs(30))
    {
        std::thread::sleep(Duration::from_millis(500));
        generation += 1;
        if generation == 5 {
            // An invalid configuration: refused, and nothing changes for the clients.
            lab.add_site("app", &format!("{}<VirtualHost\n", site(generation)));
            let out = lab.lab(&["reload"]);
            assert_eq!(out.code, 1, "{}", out.all());
            assert!(
                out.all().contains("se sigue sirviendo la anterior"),
                "{}",
                out.all()
            );
            continue;
        }
        // Every other reload also changes the daemon group, which restarts its processes.
        let mut text = site(generation);
        if generation % 2 == 0 {
            text = text.replace("threads=4", "threads=3");
        }
        lab.add_site("app", &text);
        let out = lab.lab(&["reload"]);
        assert_eq!(out.code, 0, "{}", out.all());
        reloads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let ok = tally.ok.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    let errors = errors.lock().unwrap();
    eprintln!("{reloads} recargas, {ok} peticiones correctas, {failed} fallidas");
    assert!(reloads >= 10, "{reloads} reloads");
    assert!(ok > 100, "only {ok} requests were answered");
    assert_eq!(
        failed,
        0,
        "failed requests: {:?}",
        &errors[..errors.len().min(10)]
    );
}

/// Reads what the server sends until it closes the connection (or `limit` passes); `true`
/// when it closed.
fn closed_within(s: &mut TcpStream, limit: Duration) -> (bool, String) {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, String::from_utf8_lossy(&got).into_owned());
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (true, String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, String::from_utf8_lossy(&got).into_owned())
            }
            Err(_) => return (false, String::from_utf8_lossy(&got).into_owned()),
        }
    }
}

#[test]
fn a_thousand_slow_clients_do_not_stop_service_and_are_dropped_after_request_read_timeout() {
    lab_server::util::raise_fd_limit();
    let mut lab = TestLab::new();
    let conf = lab.read("etc/apache2/apache2.conf");
    lab.write(
        "etc/apache2/apache2.conf",
        format!("{conf}\nRequestReadTimeout header=3-6,MinRate=500\n"),
    );
    lab.start();
    let addr = lab.addr();

    // Slowloris: a request head that never ends, one more header line now and then.
    let mut slow: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let mut s = TcpStream::connect(addr)
                .unwrap_or_else(|e| panic!("slow client {i} could not connect: {e}"));
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
                .unwrap();
            s
        })
        .collect();
    // A normal client is served at once, on new connections, while they hang on.
    for _ in 0..10 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut s, false).expect("served while slow clients wait");
        assert_eq!(resp.status, 200);
        for s in slow.iter_mut().take(50) {
            let _ = s.write_all(b"X-Lento: 1\r\n");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Three seconds for the headers: every slow client is dropped (after a 408) well
    // before `Timeout` (300 s in Debian's apache2.conf).
    let mut closed = 0;
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for s in slow.iter_mut() {
        let (done, text) = closed_within(s, Duration::from_secs(8));
        if done {
            closed += 1;
        }
        let status = text.lines().next().unwrap_or("").to_string();
        *answers.entry(status).or_default() += 1;
    }
    assert_eq!(closed, 1000, "answers: {answers:?}");
    assert!(
        answers.keys().all(|s| s.is_empty() || s.contains(" 408 ")),
        "{answers:?}"
    );
    assert_eq!(lab.get("/").status, 200);
}

#[test]
fn every_service_binds_loopback_by_default() {
    let mut lab = TestLab::new();
    lab.lab(&["service", "memcached", "enable"]).assert_code(0);
    let mc_port = free_port();
    let conf = lab
        .read("etc/memcached.conf")
        .replace("-p 11211", &format!("-p {mc_port}"));
    lab.write("etc/memcached.conf", &conf);
    lab.start();
    let out = lab.output();
    // Every address the lab prints for a service or the console is a loopback one.
    let addrs: Vec<&str> = out
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '/')
        .filter(|w| {
            w.parse::<SocketAddr>().is_ok()
                || w.rsplit_once(':').is_some_and(|(h, p)| {
                    h.parse::<std::net::IpAddr>().is_ok() && p.parse::<u16>().is_ok()
                })
        })
        .collect();
    assert!(addrs.len() >= 3, "{out}");
    for a in &addrs {
        let sa: SocketAddr = a.parse().unwrap();
        assert!(sa.ip().is_loopback(), "{a} is not loopback in:\n{out}");
    }
    // And the kernel agrees: nothing of this lab listens on another address.
    let pid = lab.pid().unwrap();
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            l.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_string)
        })
        .collect();
    let mut listening = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A = LISTEN, inode.
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                listening += 1;
                let ip = f[1].split(':').next().unwrap();
                assert!(
                    ip == "0100007F" || ip == "00000000000000000000000001000000",
                    "a socket of the lab listens on {} ({table})",
                    f[1]
                );
            }
        }
    }
    assert!(
        listening >= 3,
        "web, memcached and console listen: {listening}"
    );
}

#[test]
fn limit_request_body_refuses_large_bodies_for_cgi_before_running_it() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    lab.write(
        "usr/lib/cgi-bin/eco.py",
        "#!/usr/bin/python3\nimport sys\ndata = sys.stdin.buffer.read()\nsys.stdout.write('Content-Type: text/plain\\r\\n\\r\\n%d bytes\\n' % len(data))\n",
    );
    let script = lab.path("usr/lib/cgi-bin/eco.py");
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    let conf = lab.read("etc/apache2/apache2.conf");
    lab.write(
        "etc/apache2/apache2.conf",
        format!("{conf}\n<Directory /usr/lib/cgi-bin>\n    LimitRequestBody 100\n</Directory>\n"),
    );
    lab.start();
    let post = |n: usize| {
        let body = "x".repeat(n);
        let req = format!(
            "POST /cgi-bin/eco.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{body}"
        );
        lab.raw(req.as_bytes(), false).unwrap()
    };
    let small = post(100);
    assert_eq!(small.status, 200, "{}", small.text());
    assert_eq!(small.text(), "100 bytes\n");
    let large = post(101);
    assert_eq!(large.status, 413, "{}", large.text());
    // The script never ran for it (its answer would be 200 with a count).
    assert!(!large.text().contains("bytes"), "{}", large.text());
}
