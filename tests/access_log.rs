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

const LOGIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logio");

/// mod_logio's `%I`, `%O`, `%S` and `%b`/`%B` for answers streamed from php-fpm, a CGI
/// script and mod_wsgi (chunked for HTTP/1.1, until close for 1.0, none for HEAD), a
/// request body with a length and a chunked one, and a static file: the lines must be
/// those Debian's Apache wrote for the same bytes (tests/fixtures/logio, record.py), which
/// logs a streamed request once its last byte is out.
#[test]
fn byte_counts_of_streamed_answers_are_apaches() {
    let fpm = ["/usr/sbin/php-fpm8.2", "/usr/bin/php-fpm8.2"]
        .iter()
        .any(|p| std::path::Path::new(p).is_file());
    if !fpm {
        eprintln!("SALTADO: php-fpm8.2 no está instalado (paquete php8.2-fpm; .ci/run lo instala)");
        return;
    }
    let fixture = |name: &str| std::fs::read(std::path::Path::new(LOGIO).join(name)).unwrap();
    let mut lab = TestLab::new();
    lab.lab(&["service", "php8.2-fpm", "enable"]).assert_code(0);
    lab.lab(&["a2enmod", "proxy_fcgi", "setenvif", "cgid", "wsgi"])
        .assert_code(0);
    lab.lab(&["a2enconf", "php8.2-fpm"]).assert_code(0);
    lab.write("var/www/html/hello.php", fixture("hello.php"));
    lab.write("var/www/html/app.wsgi", fixture("app.wsgi"));
    lab.write("var/www/html/x.txt", "hola\n");
    lab.mkdir("var/www/html/cgi-bin");
    lab.write("var/www/html/cgi-bin/hola.cgi", fixture("hola.cgi"));
    let cgi = lab.path("var/www/html/cgi-bin/hola.cgi");
    std::fs::set_permissions(&cgi, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    lab.write(
        "etc/apache2/sites-available/000-default.conf",
        "<VirtualHost *:80>\n\
         \tDocumentRoot /var/www/html\n\
         \tLogFormat \"%>s b=%b B=%B O=%O I=%I S=%S \\\"%r\\\"\" bytes\n\
         \tCustomLog ${APACHE_LOG_DIR}/access.log bytes\n\
         \tScriptAlias /cgi-bin/ /var/www/html/cgi-bin/\n\
         \tWSGIScriptAlias /wsgi /var/www/html/app.wsgi\n\
         </VirtualHost>\n",
    );
    lab.start();

    let requests: Vec<String> =
        serde_json::from_slice(&fixture("requests.json")).expect("requests.json");
    for raw in &requests {
        let head = raw.starts_with("HEAD ");
        let resp = lab.raw(raw.as_bytes(), head).expect("respuesta");
        assert_eq!(resp.status, 200, "{raw:?}: {resp}");
    }
    let want = String::from_utf8(fixture("apache-access.log")).unwrap();
    let done = wait_until(Duration::from_secs(5), || {
        lab.read("var/log/apache2/access.log").lines().count() >= requests.len()
    });
    let got = lab.read("var/log/apache2/access.log");
    assert!(done, "faltan líneas en access.log:\n{got}");
    for (want, got) in want.lines().zip(got.lines()) {
        assert_eq!(got, want, "\nlab:\n{got}\nApache:\n{want}");
    }
}
