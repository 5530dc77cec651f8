//! `lab bench` against a running lab: exact request counts (checked against the server's own
//! access log), non-2xx and failed requests counted, the run stored with what served it, the
//! plot written; and `lab explain --json` saying what the terminal says.

mod common;

use common::TestLab;

/// The number after `label` in `lab bench`'s report.
fn number(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` in:\n{out}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in `{line}`"))
}

#[test]
fn a_run_sends_exactly_n_requests_and_is_stored_with_its_label() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/prueba.txt", "x".repeat(1000));
    lab.start();
    let url = format!("http://127.0.0.1:{}/prueba.txt", lab.port);
    let out = lab.lab(&["bench", &url, "-c", "3", "-n", "400", "--label", "estatico"]);
    out.assert_code(0);
    let text = &out.stdout;
    assert_eq!(number(text, "Peticiones completas:"), 400.0, "{text}");
    assert_eq!(number(text, "Peticiones fallidas:"), 0.0, "{text}");
    assert_eq!(number(text, "Respuestas no 2xx:"), 0.0, "{text}");
    assert_eq!(number(text, "Tamaño del documento:"), 1000.0, "{text}");
    assert_eq!(number(text, "Conexiones simultáneas:"), 3.0, "{text}");
    assert!(
        text.contains("Servidor:                       Apache/2.4"),
        "{text}"
    );
    // Rates that fit the time: 400 requests over the test's duration.
    let secs = number(text, "Tiempo de la prueba:");
    let rps = number(text, "Peticiones por segundo:");
    // (the time is printed to the millisecond, so allow for its rounding).
    assert!(
        secs > 0.0 && (rps * secs - 400.0).abs() < 400.0 * 0.01,
        "{rps} × {secs}"
    );
    // Each request got a body of 1000 bytes plus a head.
    assert!(number(text, "Bytes recibidos:") > 400.0 * 1000.0, "{text}");
    // The server saw exactly those requests, all on keep-alive connections.
    let log = lab.read("var/log/apache2/access.log");
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("/prueba.txt")).collect();
    assert_eq!(lines.len(), 400, "{log}");
    assert!(lines.iter().all(|l| l.contains("\" 200 ")), "{log}");

    // A missing page: every response complete, every one non-2xx.
    let missing = format!("http://127.0.0.1:{}/no-existe", lab.port);
    let out = lab.lab(&["bench", &missing, "-c", "2", "-n", "50", "--label", "falta"]);
    out.assert_code(0);
    assert_eq!(number(&out.stdout, "Peticiones completas:"), 50.0);
    assert_eq!(number(&out.stdout, "Respuestas no 2xx:"), 50.0);
    assert!(out.stdout.contains("(404: 50)"), "{}", out.stdout);

    // Stored: the list and the database have both runs, with what served them.
    let list = lab.lab(&["bench", "--lista"]);
    list.assert_code(0);
    assert!(list.stdout.contains("estatico"), "{}", list.stdout);
    assert!(list.stdout.contains("falta"), "{}", list.stdout);
    let p = lessons::progress::Progress::open_workspace(&lab.root).unwrap();
    let run = p.last_run("estatico").unwrap().expect("stored run");
    assert_eq!((run.completed, run.failed, run.connections), (400, 0, 3));
    assert!(run.config.contains("Atiende el puerto"), "{}", run.config);
    assert!(run.config.contains(": apache2"), "{}", run.config);
    assert!(
        run.config.contains("Manejador: fichero estático"),
        "{}",
        run.config
    );

    // The plot, as a file.
    let svg = lab.path("informe.svg");
    let out = lab.lab(&["bench", "--plot", svg.to_str().unwrap()]);
    out.assert_code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{text}");
    assert!(
        text.contains("estatico") && text.contains("falta"),
        "{text}"
    );
}

#[test]
fn refused_connections_and_bad_arguments_are_clear() {
    let lab = TestLab::new();
    // Nothing listens on the lab's port: the run is refused before it starts.
    let url = format!("http://127.0.0.1:{}/", common::free_port());
    let out = lab.lab(&["bench", &url, "-n", "5"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no se pudo conectar"), "{}", out.stderr);
    let out = lab.lab(&["bench", "https://localhost/"]);
    out.assert_code(1);
    assert!(out.stderr.contains("HTTPS"), "{}", out.stderr);
    let out = lab.lab(&["bench", &url, "--label", "con espacios"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no vale"), "{}", out.stderr);
    let out = lab.lab(&["bench", &url, "-H", "sin dos puntos"]);
    out.assert_code(1);
    assert!(out.stderr.contains("Nombre: valor"), "{}", out.stderr);
    let out = lab.lab(&["bench", &url, "-n", "5", "-d", "3"]);
    out.assert_code(2);
}

#[test]
fn explain_json_says_what_the_terminal_says() {
    let lab = TestLab::new();
    let text = lab.lab(&["explain", "/index.html"]);
    text.assert_code(0);
    let json = lab.lab(&["explain", "/index.html", "--json"]);
    json.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["request"]["method"], "GET");
    assert_eq!(v["request"]["path"], "/index.html");
    // The terminal prints Apache's part, then the proxy's.
    let apache = v["apache"]["text"].as_str().unwrap().trim_end();
    let proxy = v["proxy"]["text"].as_str().unwrap().trim_end();
    assert_eq!(text.stdout.trim_end(), format!("{apache}\n\n{proxy}"));
    assert!(proxy.contains("varnish está desactivado"), "{proxy}");
    let handler = v["apache"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "Manejador")
        .expect("a Manejador field");
    assert!(
        handler["value"]
            .as_str()
            .unwrap()
            .starts_with("fichero estático"),
        "{handler}"
    );
    assert!(v["error"].is_null());
}
