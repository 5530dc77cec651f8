//! `lab reload`: a valid configuration takes over, an invalid one is refused and the old
//! one keeps serving.

mod common;

use common::TestLab;

const SITE: &str = "etc/apache2/sites-available/000-default.conf";

#[test]
fn rejected_reload_keeps_serving_the_old_configuration() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/index.html", "versión vieja\n");
    lab.start();
    assert_eq!(lab.get("/").text(), "versión vieja\n");

    lab.replace(
        SITE,
        "DocumentRoot /var/www/html",
        "DocumentRot /var/www/html",
    );
    let out = lab.lab(&["reload"]);
    assert_eq!(
        out.code,
        1,
        "reload inválido debería fallar:\n{}",
        out.all()
    );
    let all = out.all();
    assert!(all.contains("DocumentRot"), "{all}");
    assert!(all.contains("sites-enabled/000-default.conf:"), "{all}");

    let resp = lab.get("/");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "versión vieja\n");
    // The server is still alive and still answers `lab status`.
    lab.lab(&["status"]).assert_code(0);
}

#[test]
fn valid_reload_serves_the_new_document_root() {
    let mut lab = TestLab::new();
    lab.write("var/www/nuevo/index.html", "raíz nueva\n");
    lab.start();
    assert!(lab.get("/").text().contains("Funciona"));

    lab.replace(
        SITE,
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/nuevo",
    );
    let out = lab.lab(&["reload"]);
    out.assert_code(0);
    let resp = lab.get("/");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "raíz nueva\n");
}

#[test]
fn reload_after_a_rejected_one_applies_the_fixed_configuration() {
    let mut lab = TestLab::new();
    lab.write("var/www/nuevo/index.html", "arreglado\n");
    lab.start();
    lab.replace(
        SITE,
        "DocumentRoot /var/www/html",
        "DocumentRot /var/www/nuevo",
    );
    assert_eq!(lab.lab(&["reload"]).code, 1);
    lab.replace(SITE, "DocumentRot", "DocumentRoot");
    lab.lab(&["reload"]).assert_code(0);
    assert_eq!(lab.get("/").text(), "arreglado\n");
}

#[test]
fn reload_can_add_a_listener() {
    let mut lab = TestLab::new();
    lab.start();
    let extra = common::free_port();
    let ports = lab.read("etc/apache2/ports.conf");
    lab.write(
        "etc/apache2/ports.conf",
        format!("{ports}\nListen 127.0.0.1:{extra}\n"),
    );
    lab.write("var/www/extra/index.html", "extra\n");
    lab.add_site(
        "extra",
        &format!(
            "<VirtualHost 127.0.0.1:{extra}>\n\tDocumentRoot /var/www/extra\n</VirtualHost>\n"
        ),
    );
    lab.lab(&["reload"]).assert_code(0);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], extra));
    let resp = common::raw_request(
        addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .expect("el nuevo Listen no responde");
    assert_eq!(resp.text(), "extra\n", "{resp}");
    // Port 80 keeps the default site.
    assert!(lab.get("/").text().contains("Funciona"));
}

/// A request in flight when `lab reload` swaps the configuration finishes on the old one.
#[test]
fn a_request_in_flight_during_reload_completes() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write(
        "var/www/lento/lento.wsgi",
        "import time\n\
         def application(environ, start_response):\n    \
             time.sleep(2)\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [b'termine']\n",
    );
    lab.add_site(
        "lento",
        "<VirtualHost *:80>\n\tServerName lento.localhost\n\
         \tWSGIScriptAlias /lento /var/www/lento/lento.wsgi\n\
         \t<Directory /var/www/lento>\n\t\tRequire all granted\n\t</Directory>\n</VirtualHost>\n",
    );
    lab.write("var/www/nuevo/index.html", "raíz nueva\n");
    lab.start();
    let addr = lab.addr();
    let slow = std::thread::spawn(move || {
        common::raw_request(
            addr,
            b"GET /lento HTTP/1.1\r\nHost: lento.localhost\r\nConnection: close\r\n\r\n",
            false,
        )
    });
    // Reload only once the slow request is being served (the status request is the other).
    let busy = common::wait_until(std::time::Duration::from_secs(5), || {
        lab.get("/server-status?auto")
            .text()
            .lines()
            .any(|l| l.trim() == "BusyWorkers: 2")
    });
    assert!(busy, "la petición lenta no llegó a estar en curso");
    lab.replace(
        SITE,
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/nuevo",
    );
    lab.lab(&["reload"]).assert_code(0);
    assert_eq!(lab.get("/").text(), "raíz nueva\n");
    let resp = slow.join().expect("hilo").expect("respuesta");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "termine");
}
