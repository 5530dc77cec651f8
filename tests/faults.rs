//! Faults: the lab killed in the middle of its work loses nothing and leaves nothing behind.
//!
//! - `lab check` killed with SIGKILL while it records progress, again and again: the progress
//!   database stays intact (`PRAGMA integrity_check`) and keeps working.
//! - No process the lab started (WSGI daemon workers, a CGI script in the middle of a
//!   request and the children it started, even one in a session of its own, php-fpm and its
//!   workers) outlives `lab stop`, nor a `kill -9` of the lab.
//!
//! (A WSGI daemon worker killed mid-response is in the WSGI daemon's own tests.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{lab_bin, wait_until, TestLab};

/// `(pid, parent pid, command name)` of every process, from /proc.
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("");
        if state == "Z" {
            continue;
        }
        if let Some(ppid) = rest.next().and_then(|p| p.parse().ok()) {
            out.push((pid, ppid, comm));
        }
    }
    out
}

/// Every live descendant of `root`, with its name.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let all = processes();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid, comm) in &all {
            if *ppid == p {
                found.push((*pid, comm.clone()));
                frontier.push(*pid);
            }
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    common::process_alive(pid)
}

fn have_fpm() -> bool {
    let found = ["/usr/sbin/php-fpm8.2", "/usr/bin/php-fpm8.2"]
        .iter()
        .any(|p| Path::new(p).is_file());
    if !found {
        eprintln!("SALTADO (solo la parte de php-fpm): php-fpm8.2 no está instalado (paquete php8.2-fpm; .ci/run lo instala)");
    }
    found
}

/// A CGI script that starts two children of its own before it answers (one stays in its
/// process group, one leaves it with a session of its own) and then takes two minutes.
const SLOW_CGI: &str = "#!/usr/bin/python3\nimport subprocess, sys, time\nquiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nsubprocess.Popen(['sleep', '121'], **quiet)\nsubprocess.Popen(['sleep', '122'], start_new_session=True, **quiet)\nsys.stdout.write('Content-Type: text/plain\\r\\n\\r\\nempiezo\\n')\nsys.stdout.flush()\ntime.sleep(120)\n";

const APP: &str = "import os\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [str(os.getpid()).encode()]\n";

/// A lab with a WSGI daemon group of two processes, a CGI script that takes two minutes and,
/// when php-fpm is installed, php-fpm with its pool; started, with the CGI script running.
/// Returns the lab, the open CGI connection, and the processes below the lab.
fn busy_lab() -> (TestLab, TcpStream, Vec<(u32, String)>) {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    let fpm = have_fpm();
    if fpm {
        lab.lab(&["service", "php8.2-fpm", "enable"]).assert_code(0);
    }
    lab.write("var/www/app/app.wsgi", APP);
    lab.write("usr/lib/cgi-bin/lento.py", SLOW_CGI);
    let script = lab.path("usr/lib/cgi-bin/lento.py");
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    lab.add_site(
        "app",
        "<VirtualHost *:80>\n    ServerName app.localhost\n    WSGIDaemonProcess app processes=2 threads=2\n    WSGIProcessGroup app\n    WSGIScriptAlias / /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n",
    );
    lab.start();
    assert_eq!(lab.get_host("/", "app.localhost").status, 200);

    let mut cgi = TcpStream::connect(lab.addr()).unwrap();
    cgi.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    cgi.write_all(b"GET /cgi-bin/lento.py HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("empiezo") {
        let n = cgi.read(&mut buf).expect("the CGI script answers");
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }

    let pid = lab.pid().unwrap();
    // The script's own children (`sleep`) run below it.
    wait_until(Duration::from_secs(10), || {
        descendants(pid)
            .iter()
            .filter(|(_, c)| c == "sleep")
            .count()
            == 2
    });
    let below = descendants(pid);
    let names: Vec<&str> = below.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "sleep").count(),
        2,
        "the CGI script's two children run: {names:?}"
    );
    assert!(
        below.len() >= 3,
        "the WSGI workers and the CGI script run below the lab: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("python") || n.contains("lento")),
        "the CGI script runs: {names:?}"
    );
    if fpm {
        assert!(
            names.iter().filter(|n| n.starts_with("php-fpm")).count() >= 2,
            "php-fpm's master and a worker run: {names:?}"
        );
    }
    (lab, cgi, below)
}

#[track_caller]
fn assert_all_gone(below: &[(u32, String)], how: &str) {
    let gone = wait_until(Duration::from_secs(10), || {
        below.iter().all(|(p, _)| !alive(*p))
    });
    let left: Vec<_> = below.iter().filter(|(p, _)| alive(*p)).collect();
    assert!(gone, "processes left after {how}: {left:?}");
}

#[test]
fn no_process_outlives_lab_stop() {
    let (lab, _cgi, below) = busy_lab();
    lab.lab(&["stop"]).assert_code(0);
    assert_all_gone(&below, "lab stop");
}

#[test]
fn no_process_outlives_a_killed_lab() {
    let (mut lab, _cgi, below) = busy_lab();
    let pid = lab.pid().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(lab.wait_exit(Duration::from_secs(10)).is_some());
    assert_all_gone(&below, "kill -9 of the lab");
}

#[test]
fn progress_survives_lab_check_killed_again_and_again() {
    let lab = TestLab::new();
    // A first full run: every exercise gets its row.
    let first = lab.lab(&["check"]);
    assert!(first.code == 0 || first.code == 1, "{}", first.all());
    let db = lab.path(".lab/progress.db");
    assert!(db.is_file());
    let attempts = |db: &Path| -> i64 {
        let conn = rusqlite::Connection::open(db).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "integrity_check");
        conn.query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .unwrap()
    };
    let before = attempts(&db);
    assert!(before > 0);
    // Kill `lab check` at many points of its run, from its first milliseconds on.
    for i in 0..12u64 {
        let mut child = Command::new(lab_bin())
            .args(["check", "--workspace", lab.root.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + i * 17));
        let _ = child.kill();
        let _ = child.wait();
        let n = attempts(&db);
        assert!(n >= before, "attempts went from {before} to {n}");
    }
    // The database still takes new attempts, and `lab check` still reads it.
    let start = Instant::now();
    let again = lab.lab(&["check"]);
    assert!(again.code == 0 || again.code == 1, "{}", again.all());
    assert!(attempts(&db) > before, "after {:?}", start.elapsed());
    let p = lessons::progress::Progress::open_workspace(&lab.root).unwrap();
    assert!(p.is_intact().unwrap());
}
