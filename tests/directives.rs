//! Directives of the Apache role beyond plain files: ErrorDocument, Redirect, Header,
//! Expires, AddType/ForceType, the merge order of sections, KeepAlive Off, MaxRequestWorkers.

mod common;

use common::TestLab;

const SITE: &str = "etc/apache2/sites-available/000-default.conf";

fn in_default_vhost(lab: &TestLab, text: &str) {
    lab.replace(SITE, "</VirtualHost>", &format!("{text}\n</VirtualHost>"));
}

#[test]
fn local_error_document_is_served_with_the_error_status() {
    let mut lab = TestLab::new();
    lab.write(
        "var/www/html/errores/404.html",
        "<h1>Aquí no hay nada</h1>\n",
    );
    in_default_vhost(&lab, "\tErrorDocument 404 /errores/404.html");
    lab.start();
    let resp = lab.get("/no-existe");
    assert_eq!(resp.status, 404, "{resp}");
    assert_eq!(resp.text(), "<h1>Aquí no hay nada</h1>\n");
}

#[test]
fn text_and_remote_error_documents() {
    let mut lab = TestLab::new();
    in_default_vhost(
        &lab,
        "\tErrorDocument 404 \"Lo siento, no existe\"\n\tErrorDocument 403 http://otro.localhost/prohibido",
    );
    lab.write(
        "etc/apache2/conf-available/cerrado.conf",
        "<Directory /var/www/html/cerrado>\n\tRequire all denied\n</Directory>\n",
    );
    lab.symlink(
        "../conf-available/cerrado.conf",
        "etc/apache2/conf-enabled/cerrado.conf",
    );
    lab.write("var/www/html/cerrado/x", "x");
    lab.start();
    let missing = lab.get("/falta");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(), "Lo siento, no existe");
    let denied = lab.get("/cerrado/x");
    assert_eq!(denied.status, 302, "{denied}");
    assert_eq!(
        denied.header("location"),
        Some("http://otro.localhost/prohibido")
    );
}

#[test]
fn default_error_pages_are_in_spanish() {
    let mut lab = TestLab::new();
    lab.start();
    let resp = lab.get("/no-existe");
    assert_eq!(resp.status, 404);
    assert!(resp.text().contains("No encontrado"), "{resp}");
    assert!(resp.text().contains("puerto 80"), "{resp}");
}

#[test]
fn redirect_keeps_the_rest_of_the_path_and_the_query() {
    let mut lab = TestLab::new();
    in_default_vhost(
        &lab,
        "\tRedirect permanent /viejo http://nuevo.localhost/nuevo\n\tRedirect gone /retirado",
    );
    lab.start();
    let resp = lab.get("/viejo/página.html?a=1");
    assert_eq!(resp.status, 301, "{resp}");
    assert_eq!(
        resp.header("location"),
        // Apache escapes in lower-case hexadecimal (ap_escape_uri).
        Some("http://nuevo.localhost/nuevo/p%c3%a1gina.html?a=1")
    );
    // Only at a segment boundary.
    assert_eq!(lab.get("/viejotexto").status, 404);
    assert_eq!(lab.get("/retirado/x").status, 410);
}

#[test]
fn header_and_expires_change_the_response() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "headers"]).assert_code(0);
    lab.lab(&["a2enmod", "expires"]).assert_code(0);
    lab.write("var/www/html/estilo.css", "body {}\n");
    lab.write("var/www/html/datos.txt", "datos\n");
    in_default_vhost(
        &lab,
        "\tHeader set X-Curso \"apache\"\n\
         \tHeader always set X-Siempre si\n\
         \tHeader unset ETag\n\
         \tExpiresActive On\n\
         \tExpiresByType text/css \"access plus 1 hour\"",
    );
    lab.start();
    let css = lab.get("/estilo.css");
    assert_eq!(css.status, 200, "{css}");
    assert_eq!(css.header("x-curso"), Some("apache"), "{css}");
    assert_eq!(css.header("etag"), None, "{css}");
    assert_eq!(css.header("cache-control"), Some("max-age=3600"), "{css}");
    assert!(css.header("expires").is_some(), "{css}");
    let txt = lab.get("/datos.txt");
    assert_eq!(txt.header("cache-control"), None, "{txt}");
    // `onsuccess` headers are not added to errors; `always` ones are.
    let missing = lab.get("/no-existe");
    assert_eq!(missing.header("x-curso"), None, "{missing}");
    assert_eq!(missing.header("x-siempre"), Some("si"), "{missing}");
}

#[test]
fn add_type_and_force_type_choose_the_content_type() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/notas.apuntes", "texto\n");
    lab.write("var/www/html/crudo/pagina.html", "<p>hola</p>\n");
    in_default_vhost(
        &lab,
        "\tAddType text/markdown .apuntes\n\t<Directory /var/www/html/crudo>\n\t\tForceType text/plain\n\t</Directory>",
    );
    lab.start();
    assert_eq!(
        lab.get("/notas.apuntes").header("content-type"),
        Some("text/markdown")
    );
    assert_eq!(
        lab.get("/crudo/pagina.html").header("content-type"),
        Some("text/plain")
    );
    assert!(lab
        .get("/index.html")
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
}

/// mod_mime's answer for a file is kept per merge: the same file reached through a URL whose
/// `<Location>` forces another type gets that type whichever comes first, and an `.htaccess`
/// that changes between two requests is read anew each time.
#[test]
fn a_files_type_follows_its_location_and_a_changed_htaccess() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/notas.apuntes", "texto\n");
    lab.write("var/www/html/abierto/nota.apuntes", "texto\n");
    lab.write(
        "var/www/html/abierto/.htaccess",
        "AddType text/x-uno .apuntes\n",
    );
    in_default_vhost(
        &lab,
        "\tAddType text/markdown .apuntes\n\tAlias /texto /var/www/html\n\
         \t<Location /texto>\n\t\tForceType text/plain\n\t</Location>\n\
         \t<Directory /var/www/html/abierto>\n\t\tAllowOverride FileInfo\n\t</Directory>",
    );
    lab.start();
    for _ in 0..2 {
        assert_eq!(
            lab.get("/notas.apuntes").header("content-type"),
            Some("text/markdown")
        );
        assert_eq!(
            lab.get("/texto/notas.apuntes").header("content-type"),
            Some("text/plain")
        );
    }
    assert_eq!(
        lab.get("/abierto/nota.apuntes").header("content-type"),
        Some("text/x-uno")
    );
    lab.write(
        "var/www/html/abierto/.htaccess",
        "AddType text/x-dos .apuntes\n",
    );
    assert_eq!(
        lab.get("/abierto/nota.apuntes").header("content-type"),
        Some("text/x-dos")
    );
}

#[test]
fn files_sections_apply_after_directory_and_location_last() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/zona/publico.txt", "publico\n");
    lab.write("var/www/html/zona/secreto.key", "clave\n");
    lab.write("var/www/html/zona/abierto/x.key", "abierto\n");
    in_default_vhost(
        &lab,
        "\t<Directory /var/www/html/zona>\n\t\tRequire all granted\n\t</Directory>\n\
         \t<FilesMatch \"\\.key$\">\n\t\tRequire all denied\n\t</FilesMatch>\n\
         \t<Location /zona/abierto>\n\t\tRequire all granted\n\t</Location>",
    );
    lab.start();
    assert_eq!(lab.get("/zona/publico.txt").status, 200);
    assert_eq!(lab.get("/zona/secreto.key").status, 403);
    // <Location> is merged last and wins over <FilesMatch>.
    assert_eq!(lab.get("/zona/abierto/x.key").status, 200);
}

#[test]
fn keep_alive_off_closes_after_each_response() {
    let mut lab = TestLab::new();
    lab.replace("etc/apache2/apache2.conf", "KeepAlive On", "KeepAlive Off");
    lab.start();
    let resp = lab
        .raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
        .expect("respuesta");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"), "{resp}");
}

/// Reads one answer with a `Content-Length` from `stream` (head and body), as text.
fn read_answer(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).expect("lectura"),
            1,
            "cerrada: {got:?}"
        );
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .trim()
        .parse()
        .expect("número");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("cuerpo");
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn an_idle_keep_alive_connection_lives_keep_alive_timeout_from_its_last_answer() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let mut lab = TestLab::new();
    lab.replace(
        "etc/apache2/apache2.conf",
        "KeepAliveTimeout 5",
        "KeepAliveTimeout 2",
    );
    lab.start();
    let mut stream = std::net::TcpStream::connect(lab.addr()).expect("conexión");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    // Requests 1.5 s apart: each wait is shorter than the timeout, their sum is not, so the
    // connection only lives on if every answer starts the idle time again.
    for _ in 0..3 {
        stream.write_all(get).unwrap();
        assert!(read_answer(&mut stream).starts_with("HTTP/1.1 200 OK\r\n"));
        std::thread::sleep(Duration::from_millis(1500));
    }
    stream.write_all(get).unwrap();
    assert!(read_answer(&mut stream).starts_with("HTTP/1.1 200 OK\r\n"));
    // Then idle: closed (read returns 0) about 2 s after that last answer, not before.
    let idle = Instant::now();
    let mut rest = [0u8; 16];
    assert_eq!(stream.read(&mut rest).expect("cierre"), 0);
    let after = idle.elapsed();
    assert!(
        after >= Duration::from_millis(1800) && after < Duration::from_secs(6),
        "cerrada a los {after:?}"
    );
}

#[test]
fn server_status_reports_the_configured_worker_limit() {
    let mut lab = TestLab::new();
    lab.replace(
        "etc/apache2/mods-available/mpm_event.conf",
        "MaxRequestWorkers        150",
        "MaxRequestWorkers        7",
    );
    lab.start();
    let text = lab.get("/server-status?auto").text();
    let busy: u64 = field(&text, "BusyWorkers:");
    let idle: u64 = field(&text, "IdleWorkers:");
    assert_eq!(busy + idle, 7, "{text}");
    assert!(text.contains("ServerMPM: event"), "{text}");
}

fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("sin {name}:\n{text}"))
        .trim()
        .parse()
        .expect("número")
}
