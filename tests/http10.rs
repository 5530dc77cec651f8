//! HTTP/1.0 clients on every path of the Apache role: the status line always says `HTTP/1.1`
//! (Apache sends its own version), and a keep-alive 1.0 request whose answer has no
//! `Content-Length` (a WSGI app that sets none, php-fpm's output) is answered with
//! `Connection: close` and the connection closes after the body, as 1.0 has no chunks; a HEAD
//! keeps the connection. Compared with what Debian 12's Apache 2.4 (mod_wsgi 4.9.4, php-fpm
//! 8.2 through proxy_fcgi) answered to the same bytes (tests/fixtures/http10).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::TestLab;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/http10");

const NO_LENGTH: &str = "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'sin longitud\\n']\n";
const GENERATOR: &str = "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    yield b'uno\\n'\n    yield b'dos\\n'\n";

/// The request of a fixture (its first line, escaped) and the answer Apache gave.
fn fixture(name: &str) -> (Vec<u8>, String) {
    let text =
        std::fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.txt"))).expect("fixture");
    let (first, answer) = text.split_once('\n').expect("request line");
    let raw = first
        .trim_start_matches("# ")
        .replace("\\r", "\r")
        .replace("\\n", "\n");
    (raw.into_bytes(), answer.to_string())
}

/// What the server sent on a fresh connection until it closed it (or `OPEN` after a
/// second of silence), with `Date` and `Server` normalised and line ends as `\n`.
fn exchange(lab: &TestLab, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(lab.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    stream.write_all(raw).expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut open = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                open = true;
                break;
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got).replace("\r\n", "\n");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("Date: ") {
            out.push_str("Date: @DATE@\n");
        } else if line.starts_with("Server: ") {
            out.push_str("Server: @SERVER@\n");
        } else {
            out.push_str(line);
        }
    }
    if open {
        out.push_str("OPEN");
    }
    out
}

fn check(lab: &TestLab, fixture_name: &str, path: &str) {
    let (raw, mut want) = fixture(fixture_name);
    let raw = String::from_utf8(raw).expect("ascii").replacen(
        &format!(" {} ", fixture_path(fixture_name)),
        &format!(" {path} "),
        1,
    );
    if want.ends_with("\n\n") && raw.starts_with("HEAD") {
        // Apache kept the connection open after the head.
        want.push_str("OPEN");
    }
    let got = exchange(lab, raw.as_bytes());
    assert_eq!(got, want, "{fixture_name} en {path}");
}

/// The path the fixture's request asked for.
fn fixture_path(name: &str) -> String {
    let (raw, _) = fixture(name);
    String::from_utf8(raw)
        .expect("ascii")
        .split(' ')
        .nth(1)
        .expect("target")
        .to_string()
}

#[test]
fn wsgi_answers_without_length_close_a_keep_alive_http10_connection() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write("var/www/app/nolen.wsgi", NO_LENGTH);
    lab.write("var/www/app/gen.wsgi", GENERATOR);
    lab.write("var/www/html/a.txt", "hola\n");
    lab.lab(&["a2dissite", "000-default"]).assert_code(0);
    lab.add_site(
        "app",
        "<VirtualHost *:80>\n    ServerName localhost\n    DocumentRoot /var/www/html\n    WSGIDaemonProcess d processes=1 threads=2\n    WSGIScriptAlias /nolen /var/www/app/nolen.wsgi\n    WSGIScriptAlias /gen /var/www/app/gen.wsgi\n    WSGIScriptAlias /d/nolen /var/www/app/nolen.wsgi process-group=d\n    WSGIScriptAlias /d/gen /var/www/app/gen.wsgi process-group=d\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n",
    );
    lab.start();
    // Embedded, then daemon mode (the connection passes to the group's worker).
    check(&lab, "wsgi-no-length", "/nolen");
    check(&lab, "wsgi-generator", "/gen");
    check(&lab, "wsgi-no-length", "/d/nolen");
    check(&lab, "wsgi-generator", "/d/gen");
    // A file has a length: the 1.0 connection stays open for the next request.
    let two = exchange(
        &lab,
        b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n",
    );
    assert_eq!(two.matches("HTTP/1.1 200 OK\n").count(), 2, "{two}");
    assert_eq!(two.matches("Connection: Keep-Alive\n").count(), 1, "{two}");
    assert!(two.contains("Connection: close\n"), "{two}");
    assert!(!two.ends_with("OPEN"), "{two}");
}

#[test]
fn php_fpm_answers_close_a_keep_alive_http10_connection_and_head_keeps_it() {
    let found = ["/usr/sbin/php-fpm8.2", "/usr/bin/php-fpm8.2"]
        .iter()
        .any(|p| Path::new(p).is_file());
    if !found {
        eprintln!("SALTADO: php-fpm8.2 no está instalado (paquete php8.2-fpm; .ci/run lo instala)");
        return;
    }
    let mut lab = TestLab::new();
    lab.lab(&["service", "php8.2-fpm", "enable"]).assert_code(0);
    lab.lab(&["a2enmod", "proxy_fcgi", "setenvif"])
        .assert_code(0);
    lab.lab(&["a2enconf", "php8.2-fpm"]).assert_code(0);
    lab.write(
        "var/www/html/hello.php",
        "<?php\necho \"Hola desde PHP\\n\";\n",
    );
    lab.start();
    check(&lab, "php-get", "/hello.php");
    check(&lab, "php-head", "/hello.php");
}
