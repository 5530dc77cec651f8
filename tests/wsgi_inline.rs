//! Daemon-mode workers run a request without a body on the thread that holds its
//! connection (no hand-off to another thread). What mod_wsgi's daemon threads guarantee must
//! hold all the same: `threads=N` requests in the application at once, a generator's chunks
//! sent as they come, `close()` called when the client leaves, the script reloaded when it
//! changes, and a request body still read through `wsgi.input`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{read_response, wait_until, Response, TestLab, READ_TIMEOUT};

/// The first request waits (up to 10 s) until a second one is inside the application too;
/// it answers `juntos` when both were in at once, `solo` otherwise.
const MEET: &str = "import threading\nseen = threading.Event()\nfirst = threading.Lock()\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    if first.acquire(blocking=False):\n        met = seen.wait(10)\n        return [b'juntos' if met else b'solo']\n    seen.set()\n    return [b'segundo']\n";

/// Yields a chunk every 20 ms for 5 s; `close()` leaves a file beside the script.
const TICKS: &str = "import os, time\nclass Ticks:\n    def __init__(self):\n        self.n = 0\n    def __iter__(self):\n        return self\n    def __next__(self):\n        if self.n >= 250:\n            raise StopIteration\n        if self.n:\n            time.sleep(0.02)\n        self.n += 1\n        return b'tic\\n'\n    def close(self):\n        p = os.path.join(os.path.dirname(__file__), 'cerrado')\n        with open(p + '.tmp', 'w') as f:\n            f.write('%d' % self.n)\n        os.rename(p + '.tmp', p)\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return Ticks()\n";

/// A generator: each chunk its own piece of the body.
const PIECES: &str = "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    yield b'uno '\n    yield b''\n    yield b'dos '\n    yield b'tres'\n";

/// The body it was sent, and the method.
const ECHO: &str = "def application(environ, start_response):\n    body = environ['wsgi.input'].read()\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [environ['REQUEST_METHOD'].encode() + b' ' + body]\n";

/// Every `environ` entry but the per-request objects, one `key=repr(value)` per line; then
/// it changes its `environ` (which must not reach any later request).
const DUMP: &str = "def application(environ, start_response):\n    skip = ('wsgi.input', 'wsgi.errors', 'wsgi.file_wrapper')\n    text = '\\n'.join('%s=%r' % (k, environ[k]) for k in sorted(environ) if k not in skip)\n    environ['PATH_INFO'] = 'cambiado'\n    environ['x.propia'] = 'de la app'\n    del environ['QUERY_STRING']\n    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])\n    return [text.encode('utf-8')]\n";

fn lab(threads: u32) -> TestLab {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write("var/www/app/meet.wsgi", MEET);
    lab.write("var/www/app/ticks.wsgi", TICKS);
    lab.write("var/www/app/pieces.wsgi", PIECES);
    lab.write("var/www/app/echo.wsgi", ECHO);
    lab.write("var/www/app/dump.wsgi", DUMP);
    lab.write(
        "var/www/app/version.wsgi",
        "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 1']\n",
    );
    lab.lab(&["a2dissite", "000-default"]).assert_code(0);
    lab.add_site(
        "app",
        &format!("<VirtualHost *:80>\n    ServerName localhost\n    WSGIDaemonProcess g processes=1 threads={threads}\n    WSGIProcessGroup g\n    WSGIScriptAlias /meet /var/www/app/meet.wsgi\n    WSGIScriptAlias /ticks /var/www/app/ticks.wsgi\n    WSGIScriptAlias /pieces /var/www/app/pieces.wsgi\n    WSGIScriptAlias /echo /var/www/app/echo.wsgi\n    WSGIScriptAlias /dump /var/www/app/dump.wsgi\n    WSGIScriptAlias /otro /var/www/app/dump.wsgi\n    WSGIScriptAlias /version /var/www/app/version.wsgi\n    WSGIScriptAlias /e/meet /var/www/app/meet.wsgi process-group=%{{GLOBAL}}\n    WSGIScriptAlias /e/ticks /var/www/app/ticks.wsgi process-group=%{{GLOBAL}}\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"),
    );
    lab.start();
    lab
}

fn connect(lab: &TestLab) -> TcpStream {
    let s = TcpStream::connect(lab.addr()).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s
}

fn get(stream: &mut TcpStream, path: &str) -> Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    read_response(stream, false).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn error_log(lab: &TestLab) -> String {
    lab.read("var/log/apache2/error.log")
}

#[test]
fn threads_two_has_two_requests_in_the_application_at_once() {
    let lab = lab(2);
    // Both connections first reach the worker with a request of their own.
    let mut a = connect(&lab);
    let mut b = connect(&lab);
    assert_eq!(get(&mut a, "/version").text(), "version 1");
    assert_eq!(get(&mut b, "/version").text(), "version 1");
    a.write_all(b"GET /meet HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let second = get(&mut b, "/meet");
    assert_eq!(second.text(), "segundo", "{second}\n{}", error_log(&lab));
    let first = read_response(&mut a, false).unwrap();
    assert_eq!(first.text(), "juntos", "{first}\n{}", error_log(&lab));
}

#[test]
fn embedded_mode_has_two_requests_in_the_application_at_once() {
    let lab = lab(1);
    let mut a = connect(&lab);
    let mut b = connect(&lab);
    a.write_all(b"GET /e/meet HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let second = get(&mut b, "/e/meet");
    assert_eq!(second.text(), "segundo", "{second}\n{}", error_log(&lab));
    let first = read_response(&mut a, false).unwrap();
    assert_eq!(first.text(), "juntos", "{first}\n{}", error_log(&lab));
    // The same connection goes on to the daemon group.
    let r = get(&mut b, "/version");
    assert_eq!(r.status, 200, "{r}");
}

/// Embedded mode runs a bodiless request on the lab's own thread that read it: the lab must
/// go on serving its other connections (a file, another script) while that request is still
/// in the application. The first `/e/meet` waits there until a second one comes, so it only
/// answers `juntos` if the file was served meanwhile, not after it gave up.
#[test]
fn embedded_mode_serves_other_connections_while_a_request_is_in_the_application() {
    let lab = lab(2);
    let mut a = connect(&lab);
    a.write_all(b"GET /e/meet HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..4 {
        let mut c = connect(&lab);
        let r = get(&mut c, "/");
        assert_eq!(r.status, 200, "{r}");
    }
    let mut b = connect(&lab);
    let second = get(&mut b, "/e/meet");
    assert_eq!(second.text(), "segundo", "{second}\n{}", error_log(&lab));
    let first = read_response(&mut a, false).unwrap();
    assert_eq!(first.text(), "juntos", "{first}\n{}", error_log(&lab));
}

#[test]
fn a_generator_streams_chunk_by_chunk_and_close_runs_when_the_client_leaves() {
    for path in ["/ticks", "/e/ticks"] {
        generator_and_close(path);
    }
}

fn generator_and_close(ticks: &str) {
    let lab = lab(2);
    let mut c = connect(&lab);
    let r = get(&mut c, "/pieces");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    assert_eq!(r.text(), "uno dos tres");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{r}");

    let mut t = connect(&lab);
    t.write_all(format!("GET {ticks} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .unwrap();
    // The first chunks arrive long before the 5 s the whole body takes.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("tic\n\r\n") {
        let n = t.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(!lab.path("var/www/app/cerrado").exists());
    drop(t);
    assert!(
        wait_until(Duration::from_secs(8), || lab
            .path("var/www/app/cerrado")
            .exists()),
        "close() no se llamó al irse el cliente\n{}",
        error_log(&lab)
    );
    let ticks: u32 = lab.read("var/www/app/cerrado").trim().parse().unwrap();
    assert!(ticks < 250, "el generador siguió hasta el final: {ticks}");
    // The connection that stayed is still served.
    assert_eq!(get(&mut c, "/version").text(), "version 1");
}

#[test]
fn a_changed_script_is_reloaded_on_the_same_connection() {
    let lab = lab(2);
    let mut c = connect(&lab);
    assert_eq!(get(&mut c, "/version").text(), "version 1");
    assert_eq!(get(&mut c, "/version").text(), "version 1");
    std::thread::sleep(Duration::from_millis(20));
    lab.write(
        "var/www/app/version.wsgi",
        "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 2']\n",
    );
    assert_eq!(get(&mut c, "/version").text(), "version 2");
}

#[test]
fn requests_with_and_without_a_body_share_one_connection() {
    let lab = lab(1);
    let mut c = connect(&lab);
    for i in 0..3 {
        let r = get(&mut c, "/echo");
        assert_eq!(r.text(), "GET ", "{r}\n{}", error_log(&lab));
        let body = format!("cuerpo {i}");
        let req = format!(
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        c.write_all(req.as_bytes()).unwrap();
        let r = read_response(&mut c, false).unwrap();
        assert_eq!(r.text(), format!("POST {body}"), "{r}\n{}", error_log(&lab));
    }
}

/// `environ` as a map from the lines [`DUMP`] answers.
fn environ_of(r: &Response) -> std::collections::BTreeMap<String, String> {
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One thread serves every request here, so each `environ` is built right after another
/// one: each must still say exactly what its own request was, whatever the one before had
/// or the application changed in it.
#[test]
fn each_request_gets_an_environ_of_its_own() {
    let lab = lab(1);
    let mut c = connect(&lab);
    let dump = |c: &mut TcpStream, target: &str, extra: &str| {
        let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n");
        c.write_all(req.as_bytes()).unwrap();
        let r = read_response(c, false).unwrap();
        assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
        environ_of(&r)
    };
    let port = |c: &TcpStream| format!("'{}'", c.local_addr().unwrap().port());
    // `None`: the key must be absent (the application's own `x.propia` always is).
    let expect = |e: &std::collections::BTreeMap<String, String>, want: &[(&str, Option<&str>)]| {
        assert!(!e.contains_key("x.propia"), "{e:?}");
        for (k, v) in want {
            assert_eq!(e.get(*k).map(String::as_str), *v, "{k} en {e:?}");
        }
    };
    let first = dump(&mut c, "/dump/a?x=1", "X-Uno: 1\r\n");
    expect(
        &first,
        &[
            ("PATH_INFO", Some("'/a'")),
            ("mod_wsgi.path_info", Some("'/a'")),
            ("QUERY_STRING", Some("'x=1'")),
            ("HTTP_X_UNO", Some("'1'")),
            ("SCRIPT_NAME", Some("'/dump'")),
            ("mod_wsgi.script_name", Some("'/dump'")),
            ("REMOTE_PORT", Some(&port(&c))),
        ],
    );

    // The same keys, other values; then a header less; then the other alias.
    let second = dump(&mut c, "/dump/b?x=2", "X-Uno: 2\r\n");
    expect(
        &second,
        &[
            ("PATH_INFO", Some("'/b'")),
            ("mod_wsgi.path_info", Some("'/b'")),
            ("QUERY_STRING", Some("'x=2'")),
            ("REQUEST_URI", Some("'/dump/b?x=2'")),
            ("HTTP_X_UNO", Some("'2'")),
        ],
    );
    let third = dump(&mut c, "/dump/b?x=2", "");
    expect(
        &third,
        &[("HTTP_X_UNO", None), ("QUERY_STRING", Some("'x=2'"))],
    );
    let other = dump(&mut c, "/otro/c", "X-Uno: 1\r\n");
    expect(
        &other,
        &[
            ("SCRIPT_NAME", Some("'/otro'")),
            ("mod_wsgi.script_name", Some("'/otro'")),
            ("PATH_INFO", Some("'/c'")),
            ("QUERY_STRING", Some("''")),
        ],
    );

    // The first request again, from another connection: the same environ but its port.
    let mut d = connect(&lab);
    let again = dump(&mut d, "/dump/a?x=1", "X-Uno: 1\r\n");
    assert_eq!(again["REMOTE_PORT"], port(&d));
    let without_port = |e: &std::collections::BTreeMap<String, String>| {
        let mut e = e.clone();
        e.remove("REMOTE_PORT");
        e
    };
    assert_eq!(without_port(&again), without_port(&first));
}
