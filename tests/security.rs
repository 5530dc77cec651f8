//! Hostile requests against the running server: path traversal (CVE-2021-41773/42013
//! forms), hidden files, symlinks, oversized or endless headers.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Response, TestLab};

const SECRET: &str = "SECRETO-NO-DEBE-SALIR";

/// A workspace where escaping the DocumentRoot would be exploitable: like the CVE setups,
/// `<Directory />` grants everything, and secrets wait outside `var/www/html`.
fn hostile_lab() -> TestLab {
    let mut lab = TestLab::new();
    lab.write("secret.txt", format!("{SECRET} (secret.txt)\n"));
    lab.write(
        "etc/passwd",
        format!("root:x:0:0:{SECRET}:/root:/bin/bash\n"),
    );
    lab.write("bin/sh", format!("#!{SECRET}\n"));
    lab.write("var/www/secret.txt", format!("{SECRET} (var/www)\n"));
    lab.write(
        "var/www/html/.htaccess",
        format!("# {SECRET} (.htaccess)\n"),
    );
    lab.write("var/www/html/.htpasswd", format!("usuario:{SECRET}\n"));
    lab.mkdir("var/www/html/cgi-bin");
    lab.write(
        "etc/apache2/conf-available/peligroso.conf",
        "<Directory />\n\tRequire all granted\n</Directory>\n",
    );
    lab.symlink(
        "../conf-available/peligroso.conf",
        "etc/apache2/conf-enabled/peligroso.conf",
    );
    lab.start();
    lab
}

fn get_raw(lab: &TestLab, target: &str) -> std::io::Result<Response> {
    let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    lab.raw(req.as_bytes(), false)
}

/// Never 200, never a secret, never the host's /etc/passwd. A closed connection is fine.
#[track_caller]
fn assert_blocked(lab: &TestLab, target: &str) -> Option<u16> {
    match get_raw(lab, target) {
        Ok(resp) => {
            let text = resp.text();
            assert!(
                !text.contains(SECRET) && !text.contains("root:x:0:0"),
                "{target} filtró contenido secreto:\n{resp}"
            );
            assert_ne!(resp.status, 200, "{target} respondió 200:\n{resp}");
            assert!(
                resp.status >= 400,
                "{target} debería ser un error 4xx:\n{resp}"
            );
            Some(resp.status)
        }
        Err(_) => None,
    }
}

const TRAVERSALS: &[&str] = &[
    "/../etc/passwd",
    "/../../../etc/passwd",
    "/../../../secret.txt",
    "/../secret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/.%2e/.%2e/.%2e/etc/passwd",
    "/.%2e/.%2e/.%2e/secret.txt",
    "/.%2e/secret.txt",
    "/%%32%65%%32%65/etc/passwd",
    "/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/secret.txt",
    "/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/etc/passwd",
    "/%252e%252e/%252e%252e/%252e%252e/secret.txt",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd",
    "/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/bin/sh",
    "/..%2f..%2f..%2fetc/passwd",
    "/..%2F..%2F..%2Fsecret.txt",
    "/%2e%2e%5c%2e%2e%5cetc/passwd",
    "/..\\..\\..\\secret.txt",
    "/%2e%2e%5c%2e%2e%5c%2e%2e%5csecret.txt",
    "/index.html%00.txt",
    "/secret.txt%00.html",
    "/icons/../../../../etc/passwd",
    "/icons/../../../../secret.txt",
    "/icons/.%2e/.%2e/.%2e/.%2e/etc/passwd",
    "//../../../secret.txt",
    "/./.././.././../secret.txt",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
    "/.htaccess",
    "/.htpasswd",
    "/.HTACCESS",
    "/%2ehtaccess",
    "/.ht%61ccess",
    "http://localhost/../../../secret.txt",
];

#[test]
fn traversal_corpus_never_escapes_the_document_root() {
    let lab = hostile_lab();
    let mut seen = Vec::new();
    for target in TRAVERSALS {
        seen.push(format!("{target} -> {:?}", assert_blocked(&lab, target)));
    }
    // The server survived all of it.
    let resp = lab.get("/");
    assert_eq!(
        resp.status,
        200,
        "tras el corpus: {resp}\n{}",
        seen.join("\n")
    );
}

#[test]
fn htaccess_is_forbidden_not_missing() {
    let lab = hostile_lab();
    for target in ["/.htaccess", "/.htpasswd"] {
        let resp = get_raw(&lab, target).expect("respuesta");
        assert_eq!(resp.status, 403, "{target}: {resp}");
    }
}

#[test]
fn symlink_to_a_file_outside_is_refused_without_follow_symlinks() {
    let mut lab = TestLab::new();
    lab.write("secret.txt", format!("{SECRET}\n"));
    lab.symlink("../../../secret.txt", "var/www/html/enlace.txt");
    lab.write(
        "etc/apache2/conf-available/sin-enlaces.conf",
        "<Directory /var/www/html>\n\tOptions -FollowSymLinks\n</Directory>\n",
    );
    lab.symlink(
        "../conf-available/sin-enlaces.conf",
        "etc/apache2/conf-enabled/sin-enlaces.conf",
    );
    lab.start();
    let resp = lab.get("/enlace.txt");
    assert_eq!(resp.status, 403, "{resp}");
    assert!(!resp.text().contains(SECRET));
    // A regular file next to it is still served.
    assert_eq!(lab.get("/index.html").status, 200);
}

#[test]
fn nul_byte_in_path_is_rejected() {
    let lab = hostile_lab();
    let status = assert_blocked(&lab, "/index.html%00.txt");
    assert!(
        matches!(status, None | Some(400) | Some(403) | Some(404)),
        "{status:?}"
    );
}

/// Apache answers 400 (not 431) to a header line over `LimitRequestFieldSize`, and logs it.
#[test]
fn oversized_header_value_gives_400_and_is_logged() {
    let lab = hostile_lab();
    let big = "a".repeat(9000);
    let req = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Grande: {big}\r\nConnection: close\r\n\r\n"
    );
    let resp = lab.raw(req.as_bytes(), false).expect("respuesta");
    assert_eq!(resp.status, 400, "{resp}");
    let log = wait_for_log(&lab, "var/log/apache2/access.log", "\"GET / HTTP/1.1\" 400");
    assert!(log.contains("\"GET / HTTP/1.1\" 400"), "{log}");
    let errors = wait_for_log(&lab, "var/log/apache2/error.log", "AH00561");
    assert!(errors.contains("X-Grande"), "{errors}");
}

/// More than `LimitRequestFields` header lines: 400, as Apache.
#[test]
fn too_many_headers_gives_400() {
    let lab = hostile_lab();
    let mut req = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..101 {
        req.push_str(&format!("X-Cabecera-{i}: {i}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    let resp = lab.raw(req.as_bytes(), false).expect("respuesta");
    assert_eq!(resp.status, 400, "{resp}");
}

#[test]
fn a_hundred_headers_are_still_fine() {
    let lab = hostile_lab();
    let mut req = String::from("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..90 {
        req.push_str(&format!("X-Cabecera-{i}: {i}\r\n"));
    }
    req.push_str("\r\n");
    let resp = lab.raw(req.as_bytes(), false).expect("respuesta");
    assert_eq!(resp.status, 200, "{resp}");
}

#[test]
fn request_line_of_10000_bytes_gives_414() {
    let lab = hostile_lab();
    let path = format!("/{}", "a".repeat(10000));
    let resp = get_raw(&lab, &path).expect("respuesta");
    assert_eq!(resp.status, 414, "{resp}");
}

#[test]
fn http11_without_host_gives_400() {
    let lab = hostile_lab();
    let resp = lab
        .raw(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false)
        .expect("respuesta");
    assert_eq!(resp.status, 400, "{resp}");
}

#[test]
fn garbage_request_line_gives_400() {
    let lab = hostile_lab();
    let resp = lab
        .raw(b"ESTO NO ES HTTP\r\n\r\n", false)
        .expect("respuesta");
    assert_eq!(resp.status, 400, "{resp}");
}

#[test]
fn silent_client_is_disconnected_after_timeout() {
    let mut lab = TestLab::new();
    lab.replace("etc/apache2/apache2.conf", "Timeout 300", "Timeout 2");
    // mod_reqtimeout would give 20 s for the headers; leave only `Timeout` in charge.
    for f in ["reqtimeout.load", "reqtimeout.conf"] {
        let _ = std::fs::remove_file(lab.path(&format!("etc/apache2/mods-enabled/{f}")));
    }
    lab.start();

    let mut s = TcpStream::connect(lab.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(b"GET / HTTP/1.1\r\nHost: loc").expect("write");
    let began = Instant::now();
    let mut buf = Vec::new();
    // Either a clean EOF (possibly after a 408) or a reset; a read timeout means the server
    // kept the connection open.
    let outcome = s.read_to_end(&mut buf);
    let elapsed = began.elapsed();
    if let Err(e) = &outcome {
        assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "el servidor no cerró la conexión en 10 s"
        );
    }
    assert!(
        elapsed < Duration::from_secs(6),
        "cerró a los {elapsed:?}, con Timeout 2 debería ser ~2 s"
    );
    assert!(
        elapsed >= Duration::from_millis(1500),
        "cerró a los {elapsed:?}, antes de agotar Timeout 2"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "respuesta inesperada: {text}"
    );
    // Other clients are unaffected.
    assert_eq!(lab.get("/").status, 200);
}

/// Waits (up to 2 s) for `needle` in a log of the lab's workspace; returns the log.
fn wait_for_log(lab: &TestLab, rel: &str, needle: &str) -> String {
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(lab.path(rel)).unwrap_or_default();
        if text.contains(needle) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    text
}
