//! mod_status: `/server-status` for local clients, machine-readable with `?auto`.

mod common;

use common::TestLab;

#[test]
fn server_status_answers_local_clients() {
    let mut lab = TestLab::new();
    lab.start();
    let _ = lab.get("/");
    let resp = lab.get("/server-status");
    assert_eq!(resp.status, 200, "{resp}");
    assert!(
        resp.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{resp}"
    );
}

#[test]
fn server_status_auto_is_machine_readable() {
    let mut lab = TestLab::new();
    lab.start();
    for _ in 0..3 {
        assert_eq!(lab.get("/").status, 200);
    }
    let resp = lab.get("/server-status?auto");
    assert_eq!(resp.status, 200, "{resp}");
    let text = resp.text();
    let accesses: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Total Accesses:"))
        .unwrap_or_else(|| panic!("sin «Total Accesses:»:\n{text}"))
        .trim()
        .parse()
        .expect("número");
    assert!(accesses >= 3, "Total Accesses = {accesses}\n{text}");
    assert!(text.contains("Uptime:"), "{text}");
}

#[test]
fn server_status_is_denied_when_require_local_is_replaced() {
    let mut lab = TestLab::new();
    lab.replace(
        "etc/apache2/mods-available/status.conf",
        "Require local",
        "Require ip 192.0.2.0/24",
    );
    lab.start();
    assert_eq!(lab.get("/server-status").status, 403);
}

/// `Total kBytes` counts what the requests brought and what their answers took, as Debian's
/// Apache (mod_logio built in) does: measured there with `ab -n 1000` on a 1000-byte file,
/// 1000 × (87 bytes read + 1250 written) = 1305.7 kB, shown as 1307 with the status
/// requests; with a 1000-byte header more per request, 2296 kB more. Here the client counts
/// the bytes it sent and received, for a static file, a request with a body, and a streamed
/// answer (a CGI script).
#[test]
fn total_kbytes_counts_bytes_in_and_out_like_apache_with_mod_logio() {
    use std::io::{Read, Write};
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    lab.write("var/www/html/k.txt", "a".repeat(1000));
    lab.mkdir("usr/lib/cgi-bin");
    lab.write(
        "usr/lib/cgi-bin/eco.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\ncat\n",
    );
    std::fs::set_permissions(
        lab.path("usr/lib/cgi-bin/eco.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    lab.start();
    let big = "b".repeat(1000);
    let body = "c".repeat(3000);
    let mut total = 0usize;
    for i in 0..300 {
        let req = match i % 3 {
            0 => format!("GET /k.txt HTTP/1.1\r\nHost: localhost\r\nX-Grande: {big}\r\nConnection: close\r\n\r\n"),
            1 => format!(
                "POST /cgi-bin/eco.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
            _ => "GET /k.txt HTTP/1.0\r\n\r\n".to_string(),
        };
        let mut s = std::net::TcpStream::connect(lab.addr()).expect("connect");
        s.write_all(req.as_bytes()).expect("write");
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        assert!(
            got.starts_with(b"HTTP/1.1 200 "),
            "{}",
            String::from_utf8_lossy(&got)
        );
        total += req.len() + got.len();
    }
    let text = lab.get("/server-status?auto").text();
    let kbytes: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Total kBytes:"))
        .unwrap_or_else(|| panic!("sin «Total kBytes:»:\n{text}"))
        .trim()
        .parse()
        .expect("número");
    assert_eq!(kbytes, total / 1024, "{total} bytes\n{text}");
}
