//! Static files: content type, validators (ETag, Last-Modified), conditional requests,
//! ranges and HEAD.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{TestLab, READ_TIMEOUT};

const BODY: &str = "0123456789abcdefghijklmnopqrstuvwxyz\n";

fn lab_with_file() -> TestLab {
    let mut lab = TestLab::new();
    lab.write("var/www/html/datos.txt", BODY);
    lab.start();
    lab
}

#[test]
fn serves_a_file_with_type_length_and_validators() {
    let lab = lab_with_file();
    let resp = lab.get("/datos.txt");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), BODY);
    assert!(
        resp.header("content-type")
            .is_some_and(|v| v.starts_with("text/plain")),
        "{resp}"
    );
    assert_eq!(resp.header("content-length"), Some("37"), "{resp}");
    assert!(resp.header("etag").is_some(), "sin ETag: {resp}");
    assert!(
        resp.header("last-modified").is_some(),
        "sin Last-Modified: {resp}"
    );
    assert!(resp.header("date").is_some(), "sin Date: {resp}");
    assert_eq!(resp.header("accept-ranges"), Some("bytes"), "{resp}");
}

#[test]
fn missing_file_is_404() {
    let lab = lab_with_file();
    let resp = lab.get("/no-existe.txt");
    assert_eq!(resp.status, 404, "{resp}");
}

#[test]
fn directory_without_trailing_slash_redirects() {
    let lab = lab_with_file();
    lab.mkdir("var/www/html/docs");
    lab.write("var/www/html/docs/index.html", "docs");
    let resp = lab.get("/docs");
    assert_eq!(resp.status, 301, "{resp}");
    assert!(
        resp.header("location")
            .is_some_and(|l| l.ends_with("/docs/")),
        "{resp}"
    );
    let resp = lab.get("/docs/");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "docs");
}

#[test]
fn if_none_match_with_the_etag_gives_304() {
    let lab = lab_with_file();
    let first = lab.get("/datos.txt");
    let etag = first.header("etag").expect("ETag").to_string();
    let again = lab.request(
        "GET",
        "/datos.txt",
        "localhost",
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304, "{again}");
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()), "{again}");

    let other = lab.request(
        "GET",
        "/datos.txt",
        "localhost",
        &[("If-None-Match", "\"otra-cosa\"")],
    );
    assert_eq!(other.status, 200, "{other}");
    assert_eq!(other.text(), BODY);
}

#[test]
fn if_modified_since_gives_304_when_unchanged_and_200_when_older() {
    let lab = lab_with_file();
    let first = lab.get("/datos.txt");
    let lm = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    let same = lab.request(
        "GET",
        "/datos.txt",
        "localhost",
        &[("If-Modified-Since", &lm)],
    );
    assert_eq!(same.status, 304, "{same}");
    assert!(same.body.is_empty());

    let old = lab.request(
        "GET",
        "/datos.txt",
        "localhost",
        &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
    );
    assert_eq!(old.status, 200, "{old}");
    assert_eq!(old.text(), BODY);
}

#[test]
fn range_requests_give_206_with_content_range() {
    let lab = lab_with_file();
    let resp = lab.request("GET", "/datos.txt", "localhost", &[("Range", "bytes=0-4")]);
    assert_eq!(resp.status, 206, "{resp}");
    assert_eq!(resp.text(), "01234");
    assert_eq!(resp.header("content-range"), Some("bytes 0-4/37"), "{resp}");
    assert_eq!(resp.header("content-length"), Some("5"), "{resp}");

    let suffix = lab.request("GET", "/datos.txt", "localhost", &[("Range", "bytes=-4")]);
    assert_eq!(suffix.status, 206, "{suffix}");
    assert_eq!(suffix.text(), "xyz\n");
    assert_eq!(suffix.header("content-range"), Some("bytes 33-36/37"));

    let open = lab.request("GET", "/datos.txt", "localhost", &[("Range", "bytes=30-")]);
    assert_eq!(open.status, 206, "{open}");
    assert_eq!(open.text(), "uvwxyz\n");
}

#[test]
fn unsatisfiable_range_gives_416() {
    let lab = lab_with_file();
    let resp = lab.request(
        "GET",
        "/datos.txt",
        "localhost",
        &[("Range", "bytes=1000-2000")],
    );
    assert_eq!(resp.status, 416, "{resp}");
    // Apache 2.4 sends its 416 error page, which drops the `Content-Range: bytes */37` the
    // byte-range filter had set (measured on Debian 12's apache2).
    assert_eq!(resp.header("content-range"), None, "{resp}");
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    let lab = lab_with_file();
    let get = lab.get("/datos.txt");
    let head = lab.request("HEAD", "/datos.txt", "localhost", &[]);
    assert_eq!(head.status, 200, "{head}");
    for h in ["content-type", "content-length", "etag", "last-modified"] {
        assert_eq!(
            head.header(h),
            get.header(h),
            "cabecera {h} distinta en HEAD"
        );
    }

    // Nothing may follow the header block on the wire.
    let mut s = TcpStream::connect(lab.addr()).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    s.write_all(b"HEAD /datos.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read");
    let text = String::from_utf8_lossy(&all);
    let (_, after) = text.split_once("\r\n\r\n").expect("fin de cabecera");
    assert_eq!(after, "", "HEAD envió cuerpo: {text}");
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let lab = lab_with_file();
    let mut s = TcpStream::connect(lab.addr()).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    for _ in 0..2 {
        s.write_all(b"GET /datos.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("write");
        let resp = common::read_response(&mut s, false).expect("respuesta");
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(resp.text(), BODY);
    }
}

#[test]
fn a_latin1_file_name_is_found_through_its_percent_encoded_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let mut lab = TestLab::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(lab.path("var/www/html").join(name), "latin-1\n").unwrap();
    lab.start();
    let resp = lab.get("/caf%E9.txt");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "latin-1\n");
    // The same name in UTF-8 is another file, as on Apache.
    let resp = lab.get("/caf%C3%A9.txt");
    assert_eq!(resp.status, 404, "{resp}");
}
