//! Daemon mode's fast path: the lab passes the client's connection to a worker of the
//! group, which serves that connection's requests for its group directly and passes it back
//! for anything else. Everything a client and the logs see stays as with a hop per request.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{read_response, wait_until, Response, TestLab, READ_TIMEOUT};

/// Answers with who served it: `<group> <pid> <path>`.
const WHO: &str = "import os\ndef application(environ, start_response):\n    body = environ['wsgi.input'].read()\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [('%s %d %s %s' % (environ['mod_wsgi.process_group'] or '-', os.getpid(), environ['PATH_INFO'], body.decode())).encode()]\n";

fn site(extra_group: &str, extra: &str) -> String {
    format!(
        "<VirtualHost *:80>\n    ServerName localhost\n    DocumentRoot /var/www/html\n    WSGIDaemonProcess ga processes=2 threads=2{extra_group}\n    WSGIDaemonProcess gb processes=1 threads=2\n    WSGIScriptAlias /a /var/www/app/who.wsgi process-group=ga\n    WSGIScriptAlias /b /var/www/app/who.wsgi process-group=gb\n    WSGIScriptAlias /e /var/www/app/who.wsgi\n    LogFormat \"%h \\\"%r\\\" %>s %b %k\" conn\n    CustomLog ${{APACHE_LOG_DIR}}/conn.log conn\n{extra}    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
    )
}

fn lab_with(extra_group: &str, extra: &str) -> TestLab {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.lab(&["a2enmod", "headers"]).assert_code(0);
    lab.write("var/www/app/who.wsgi", WHO);
    lab.write("var/www/html/hola.txt", "hola estática\n");
    lab.lab(&["a2dissite", "000-default"]).assert_code(0);
    lab.add_site("app", &site(extra_group, extra));
    lab.start();
    lab
}

/// A keep-alive connection to the lab.
struct Client {
    stream: TcpStream,
}

impl Client {
    fn new(lab: &TestLab) -> Client {
        let stream = TcpStream::connect(lab.addr()).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Client { stream }
    }

    fn send(&mut self, method: &str, path: &str, body: &str) -> std::io::Result<Response> {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes())?;
        read_response(&mut self.stream, method == "HEAD")
    }

    fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, "")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

/// `(group, pid)` from a [`WHO`] answer.
fn who(r: &Response) -> (String, u32) {
    let text = r.text();
    let mut words = text.split(' ');
    let group = words.next().unwrap_or_default().to_string();
    let pid = words
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("respuesta inesperada: {r}"));
    (group, pid)
}

fn error_log(lab: &TestLab) -> String {
    lab.read("var/log/apache2/error.log")
}

#[test]
fn one_keep_alive_connection_alternates_static_two_groups_and_embedded() {
    let lab = lab_with("", "");
    let lab_pid = lab.pid().unwrap();
    let mut c = Client::new(&lab);
    let mut seen = Vec::new();
    for path in [
        "/a/1",
        "/a/2",
        "/hola.txt",
        "/b/3",
        "/e/4",
        "/a/5",
        "/b/6",
        "/hola.txt",
        "/e/7",
    ] {
        let r = c.get(path);
        assert_eq!(r.status, 200, "{path}: {r}\n{}", error_log(&lab));
        // Every answer but the last keeps the connection open.
        assert_eq!(r.header("connection"), Some("Keep-Alive"), "{path}: {r}");
        if path == "/hola.txt" {
            assert_eq!(r.text(), "hola estática\n");
            assert!(r.header("etag").is_some(), "{r}");
            continue;
        }
        let (group, pid) = who(&r);
        assert!(r.text().contains(&format!(" {} ", &path[2..])), "{r}");
        match &path[..2] {
            "/a" => assert_eq!(group, "ga", "{r}"),
            "/b" => assert_eq!(group, "gb", "{r}"),
            _ => {
                assert_eq!(group, "-", "{r}");
                assert_eq!(pid, lab_pid, "embedded mode runs in the lab's process");
            }
        }
        if group != "-" {
            assert_ne!(pid, lab_pid, "daemon mode runs outside the lab's process");
        }
        seen.push((path, group, pid));
    }
    // A request with a body that follows the connection to a worker keeps its body.
    let r = c.send("POST", "/b/eco", "x=1&y=2").unwrap();
    assert_eq!(r.status, 200, "{r}");
    assert!(r.text().ends_with("/eco x=1&y=2"), "{r}");
    let r = c.send("POST", "/a/eco", "abc").unwrap();
    assert!(r.text().ends_with("/eco abc"), "{r}");

    // The access log: one line per request, with the keep-alive count going up across
    // processes as it does in one Apache process.
    // Apache writes a request's line once its answer is out (so does the lab): a client
    // that reads the log at once may be there first.
    wait_until(Duration::from_secs(5), || {
        lab.read("var/log/apache2/conn.log").lines().count() >= 11
    });
    let log = lab.read("var/log/apache2/conn.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 11, "{log}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with("127.0.0.1 \""), "{line}");
        assert!(line.ends_with(&format!(" {i}")), "line {i}: {line}\n{log}");
    }
    assert!(lines[0].contains("\"GET /a/1 HTTP/1.1\" 200 "), "{log}");
    assert!(
        lines[2].contains("\"GET /hola.txt HTTP/1.1\" 200 15 "),
        "{log}"
    );
    assert!(lines[9].contains("\"POST /b/eco HTTP/1.1\" 200 "), "{log}");

    // server-status counts the requests the workers served.
    let r = lab.get("/server-status?auto");
    let accesses: u64 = r
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("Total Accesses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{r}"));
    assert!(accesses >= 11, "Total Accesses = {accesses}\n{r}");
}

#[test]
fn a_killed_worker_closes_its_connections_and_leaves_the_others_alone() {
    let lab = lab_with("", "");
    // Two connections held by the two different workers of `ga`.
    let mut clients: Vec<(Client, u32)> = Vec::new();
    for _ in 0..50 {
        let mut c = Client::new(&lab);
        let (_, pid) = who(&c.get("/a/x"));
        if clients.iter().all(|(_, p)| *p != pid) {
            clients.push((c, pid));
        }
        if clients.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(clients.len(), 2, "{}", error_log(&lab));
    let (mut victim, victim_pid) = clients.remove(0);
    let (mut other, other_pid) = clients.remove(0);
    Command::new("kill")
        .args(["-9", &victim_pid.to_string()])
        .status()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || error_log(&lab).contains(
            &format!("el proceso {victim_pid} del grupo 'ga' terminó inesperadamente")
        )),
        "{}",
        error_log(&lab)
    );
    // The killed worker's connection is closed: the client sees it end, not a hang.
    assert!(victim.send("GET", "/a/y", "").is_err());
    // The other worker's connection goes on, on the same process.
    for _ in 0..3 {
        let r = other.get("/a/z");
        assert_eq!(r.status, 200, "{r}");
        assert_eq!(who(&r).1, other_pid);
    }
    // New connections are served (by the survivor or the restarted worker).
    let mut fresh = Client::new(&lab);
    let r = fresh.get("/a/nuevo");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    assert_ne!(who(&r).1, victim_pid);
}

#[test]
fn reload_reaches_connections_held_by_workers() {
    let lab = lab_with("", "");
    // The two processes of `ga`.
    let mut ga = Vec::new();
    for _ in 0..50 {
        let (_, pid) = who(&Client::new(&lab).get("/a/x"));
        if !ga.contains(&pid) {
            ga.push(pid);
        }
        if ga.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ga.len(), 2, "{ga:?}");
    let mut c = Client::new(&lab);
    let r = c.get("/a/antes");
    assert_eq!(r.header("x-recargado"), None);

    // Same group settings: the workers stay, but the held connection's next request is
    // served with the new configuration.
    lab.replace(
        "etc/apache2/sites-available/app.conf",
        "    <Directory /var/www/app>",
        "    Header set X-Recargado si\n    <Directory /var/www/app>",
    );
    lab.lab(&["reload"]).assert_code(0);
    let r = c.get("/a/despues");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    assert_eq!(r.header("x-recargado"), Some("si"), "{r}");
    assert!(
        ga.contains(&who(&r).1),
        "the group was not restarted: {ga:?} {r}"
    );
    let r = c.get("/b/otro");
    assert_eq!(r.header("x-recargado"), Some("si"), "{r}");

    // New group settings: its workers restart and give the connection back; it goes on.
    let r = c.get("/a/otra-vez");
    let (_, old) = who(&r);
    lab.replace(
        "etc/apache2/sites-available/app.conf",
        "WSGIDaemonProcess ga processes=2 threads=2",
        "WSGIDaemonProcess ga processes=2 threads=3",
    );
    lab.lab(&["reload"]).assert_code(0);
    let mut pids = Vec::new();
    for _ in 0..4 {
        let r = c.get("/a/nuevo");
        assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
        pids.push(who(&r).1);
    }
    assert!(!pids.contains(&old), "{pids:?} {old}");
}

#[test]
fn maximum_requests_recycles_workers_under_handed_connections() {
    let lab = lab_with(" maximum-requests=3", "");
    let mut c = Client::new(&lab);
    let mut pids = Vec::new();
    for i in 0..9 {
        let r = c.get(&format!("/a/{i}"));
        assert_eq!(r.status, 200, "{i}: {r}\n{}", error_log(&lab));
        pids.push(who(&r).1);
    }
    // Two processes, three requests each before they recycle: nine requests on one
    // connection need at least three different processes, and no process serves more than
    // three.
    let mut distinct = pids.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{pids:?}");
    for p in &distinct {
        assert!(pids.iter().filter(|q| *q == p).count() <= 3, "{pids:?}");
    }
    assert!(
        wait_until(Duration::from_secs(10), || error_log(&lab)
            .contains("terminó tras maximum-requests")),
        "{}",
        error_log(&lab)
    );
}

#[test]
fn kill_9_of_a_daemon_worker_mid_response_cuts_that_response_only() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    // The first chunk goes out, then the application waits for a file that never comes.
    lab.write(
        "var/www/app/slow.wsgi",
        "import os, time\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    yield ('primera parte %d\\n' % os.getpid()).encode()\n    while not os.path.exists('/nonexistent-lab-test-file'):\n        time.sleep(0.05)\n    yield b'nunca'\n",
    );
    lab.write("var/www/app/who.wsgi", WHO);
    lab.lab(&["a2dissite", "000-default"]).assert_code(0);
    lab.add_site(
        "app",
        "<VirtualHost *:80>\n    ServerName localhost\n    WSGIDaemonProcess lento processes=2 threads=2\n    WSGIProcessGroup lento\n    WSGIScriptAlias /lento /var/www/app/slow.wsgi\n    WSGIScriptAlias /a /var/www/app/who.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n",
    );
    lab.start();

    let mut slow = TcpStream::connect(lab.addr()).unwrap();
    slow.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    slow.write_all(b"GET /lento HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // Read until the first chunk arrives, to learn which process is answering.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let pid: u32 = loop {
        let n = std::io::Read::read(&mut slow, &mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(rest) = text.split("primera parte ").nth(1) {
            if let Some(pid) = rest.split('\n').next().and_then(|p| p.trim().parse().ok()) {
                break pid;
            }
        }
    };
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200 OK\r\n"));

    // Another connection on the other process of the group.
    let mut other = None;
    for _ in 0..50 {
        let mut c = Client::new(&lab);
        let r = c.get("/a/x");
        let (_, p) = who(&r);
        if p != pid {
            other = Some((c, p));
            break;
        }
        // The other process may still be starting.
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut other, other_pid) = other.expect("the group's other process");

    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    // The cut response: the connection ends without the last chunk.
    let mut rest = Vec::new();
    loop {
        match std::io::Read::read(&mut slow, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
        }
    }
    got.extend_from_slice(&rest);
    let text = String::from_utf8_lossy(&got);
    assert!(!text.contains("nunca"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the response must look cut short: {text}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || error_log(&lab).contains(
            &format!("el proceso {pid} del grupo 'lento' terminó inesperadamente")
        )),
        "{}",
        error_log(&lab)
    );
    // The other connection is untouched.
    let r = other.get("/a/y");
    assert_eq!((r.status, who(&r).1), (200, other_pid), "{r}");
}

#[test]
fn a_worker_that_loads_another_configuration_leaves_the_connection_to_fastcgi() {
    let lab = lab_with("", "");
    let (_, pid) = who(&Client::new(&lab).get("/b/x"));
    // A change on disk the lab has not loaded (no `lab reload`), then a new worker, which
    // reads the files as they are now.
    lab.replace(
        "etc/apache2/sites-available/app.conf",
        "    <Directory /var/www/app>",
        "    Header set X-Sin-Recargar si\n    <Directory /var/www/app>",
    );
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || error_log(&lab).contains(
            &format!("el proceso {pid} del grupo 'gb' terminó inesperadamente")
        )),
        "{}",
        error_log(&lab)
    );
    let mut c = Client::new(&lab);
    let mut served = None;
    for _ in 0..50 {
        let r = c.get("/b/y");
        assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
        // The lab's configuration, not the one on disk.
        assert_eq!(r.header("x-sin-recargar"), None, "{r}");
        let (_, p) = who(&r);
        if p != pid {
            served = Some(p);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served.is_some(), "{}", error_log(&lab));
    assert!(
        error_log(&lab).contains("no puede atender conexiones traspasadas"),
        "{}",
        error_log(&lab)
    );
    // The same connection keeps working (over FastCGI now).
    let r = c.get("/b/z");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.header("x-sin-recargar"), None, "{r}");
}
