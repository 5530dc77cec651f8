//! mod_proxy_http beyond the transcripts (tests/transcripts/apache/proxy_http.toml): a request
//! body too large to spool goes to the backend chunked, a large answer is relayed whole,
//! connections to the backend are reused, and the module must be enabled.

mod common;

use common::{HttpBackend, TestLab};

fn lab_in_front(port: u16, enable: bool) -> TestLab {
    let mut lab = TestLab::new();
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        &format!("DocumentRoot /var/www/html\n\tProxyPass /app/ http://127.0.0.1:{port}/"),
    );
    if enable {
        lab.lab(&["a2enmod", "proxy_http"]).assert_code(0);
    } else {
        lab.lab(&["a2enmod", "proxy"]).assert_code(0);
    }
    lab.start();
    lab
}

#[test]
fn a_large_chunked_body_is_streamed_chunked_and_a_large_answer_relayed() {
    let b = HttpBackend::start();
    let lab = lab_in_front(b.port, true);
    let body = "y".repeat(20_000);
    let mut raw = String::from(
        "POST /app/subir HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for piece in body.as_bytes().chunks(5000) {
        raw.push_str(&format!("{:x}\r\n", piece.len()));
        raw.push_str(std::str::from_utf8(piece).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("0\r\n\r\n");
    let resp = lab.raw(raw.as_bytes(), false).expect("answer");
    assert_eq!(resp.status, 200, "{resp}");
    let seen: serde_json::Value = serde_json::from_str(&resp.text()).expect("json");
    let headers = seen["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "Transfer-Encoding" && h[1] == "chunked"),
        "more than 16 KiB goes chunked, as Apache streams it: {seen}"
    );
    assert!(!headers.iter().any(|h| h[0] == "Content-Length"), "{seen}");
    assert_eq!(seen["body"].as_str().unwrap().len(), 20_000);

    let big = lab.get("/app/grande");
    assert_eq!(big.status, 200);
    let text = big.text();
    assert_eq!(text.len(), 64 * 1024, "the whole answer");
    assert!(text.starts_with("0000x"), "the first piece came first");
    assert!(
        text.contains("\n0063x") && text.ends_with("x\n"),
        "the last piece arrived"
    );
}

#[test]
fn connections_to_the_backend_are_reused() {
    let b = HttpBackend::start();
    let lab = lab_in_front(b.port, true);
    let first = lab.get("/app/puerto").text();
    let second = lab.get("/app/puerto").text();
    assert!(!first.trim().is_empty());
    assert_eq!(
        first, second,
        "the second request went on the same backend connection"
    );
}

#[test]
fn without_mod_proxy_http_the_request_fails_as_in_apache() {
    let b = HttpBackend::start();
    let lab = lab_in_front(b.port, false);
    let resp = lab.get("/app/x");
    assert_eq!(resp.status, 500, "{resp}");
    let log = lab.read("var/log/apache2/error.log");
    assert!(
        log.contains("AH01144: No protocol handler was valid for the URL /app/x"),
        "{log}"
    );
    assert!(log.contains("lab a2enmod proxy_http"), "{log}");
    let out = lab.lab(&["explain", &format!("http://localhost:{}/app/x", lab.port)]);
    assert!(
        out.stdout.contains("que no está activado"),
        "{}",
        out.stdout
    );
}
