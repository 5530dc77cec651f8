//! The access log in Debian's `combined` format.

mod common;

use std::time::Duration;

use common::{wait_until, TestLab};

#[test]
fn requests_are_logged_in_combined_format() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/x", "hola\n");
    lab.start();
    let resp = lab.request(
        "GET",
        "/x",
        "localhost",
        &[("User-Agent", "agente-de-prueba/1.0")],
    );
    assert_eq!(resp.status, 200, "{resp}");
    let missing = lab.request(
        "GET",
        "/falta",
        "localhost",
        &[
            ("User-Agent", "agente-de-prueba/1.0"),
            ("Referer", "http://ref.localhost/"),
        ],
    );
    assert_eq!(missing.status, 404);

    let line_ok = regex::Regex::new(
        r#"(?m)^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /x HTTP/1\.1" 200 (\d+) "-" "agente-de-prueba/1\.0"$"#,
    )
    .expect("regex");
    let line_404 = regex::Regex::new(
        r#"(?m)^127\.0\.0\.1 - - \[[^\]]+\] "GET /falta HTTP/1\.1" 404 \d+ "http://ref\.localhost/" "agente-de-prueba/1\.0"$"#,
    )
    .expect("regex");
    let logged = wait_until(Duration::from_secs(5), || {
        let log = lab.read("var/log/apache2/access.log");
        line_ok.is_match(&log) && line_404.is_match(&log)
    });
    let log = lab.read("var/log/apache2/access.log");
    assert!(logged, "access.log sin las líneas esperadas:\n{log}");
    // %O counts the bytes sent, headers included: more than the 5-byte body.
    let sent: u64 = line_ok.captures(&log).expect("línea")[1]
        .parse()
        .expect("número");
    assert!(sent > 5, "%O = {sent}, debería incluir las cabeceras");
}

#[test]
fn errors_go_to_the_error_log_not_the_terminal_only() {
    let mut lab = TestLab::new();
    lab.start();
    let _ = lab.get("/no-existe");
    // The access log gets the 404 line; the error log exists (Debian's ErrorLog).
    assert!(lab.path("var/log/apache2/error.log").exists());
    assert!(wait_until(Duration::from_secs(5), || lab
        .read("var/log/apache2/access.log")
        .contains("\"GET /no-existe HTTP/1.1\" 404")));
}
