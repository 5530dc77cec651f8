//! Each check kind against a real workspace made by `lab init`, and the HTTP check against a
//! small real server on a loopback port.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use checker::checks::{Check, Context, Outcome};
use checker::target::Target;
use lab_server::workspace::{self, Workspace};
use lessons::exercise::RawCheck;
use lessons::params::Params;

fn ws() -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace::init(&tmp.path().join("ws"), Some("ana")).unwrap();
    (tmp, ws)
}

fn raw(toml_text: &str) -> RawCheck {
    RawCheck {
        table: toml::from_str(toml_text).unwrap(),
        line: 1,
        column: 1,
    }
}

fn params() -> Params {
    let mut p = Params {
        student: "ana".into(),
        ..Params::default()
    };
    p.values.insert("sitio".into(), "roble07.localhost".into());
    p
}

fn run_on(ws: &Workspace, target: &Target, toml_text: &str) -> Outcome {
    let check = Check::parse(&raw(toml_text), &params()).unwrap_or_else(|e| panic!("{e}"));
    check.run(&Context { ws, target })
}

fn run(ws: &Workspace, toml_text: &str) -> Outcome {
    run_on(ws, &Target::None, toml_text)
}

#[test]
fn file_checks_exists_contains_matches_and_symlinks() {
    let (_t, ws) = ws();
    let ok = run(
        &ws,
        "kind = 'file'\npath = 'var/www/html/index.html'\ncontains = 'Funciona'",
    );
    assert!(ok.passed, "{ok:?}");
    let missing = run(
        &ws,
        "kind = 'file'\npath = 'var/www/{{param.sitio}}/index.html'",
    );
    assert!(!missing.passed);
    assert_eq!(
        missing.found,
        "no existe `var/www/roble07.localhost/index.html`"
    );
    let absent = run(&ws, "kind = 'file'\npath = 'var/www/nada'\nexists = false");
    assert!(absent.passed);
    let no_match = run(
        &ws,
        "kind = 'file'\npath = 'var/www/html/index.html'\nmatches = '(?m)^ServerName'",
    );
    assert!(!no_match.passed);
    assert_eq!(no_match.found, "ninguna parte del fichero encaja");
    let still = run(
        &ws,
        "kind = 'file'\npath = 'var/www/html/index.html'\nnot_contains = 'Funciona'",
    );
    assert!(!still.passed);
    assert_eq!(still.found, "todavía contiene «Funciona»");
    assert_eq!(
        still.expected,
        "el fichero `var/www/html/index.html` existe y no contiene «Funciona»"
    );
    let link = run(
        &ws,
        "kind = 'file'\npath = 'etc/apache2/sites-enabled/000-default.conf'\nsymlink = true",
    );
    assert!(link.passed, "{link:?}");
    let not_link = run(
        &ws,
        "kind = 'file'\npath = 'etc/apache2/sites-available/000-default.conf'\nsymlink = true",
    );
    assert!(!not_link.passed);
    assert!(
        not_link.found.contains("no un enlace simbólico"),
        "{not_link:?}"
    );
}

#[test]
fn apache_checks_query_the_active_configuration() {
    let (_t, ws) = ws();
    assert!(run(&ws, "kind = 'apache'\nconfigtest = true").passed);
    assert!(run(&ws, "kind = 'apache'\nsite_enabled = '000-default'").passed);
    assert!(run(&ws, "kind = 'apache'\nmodule_disabled = 'headers'").passed);
    let m = run(&ws, "kind = 'apache'\nmodule_enabled = 'headers'");
    assert!(!m.passed);
    assert_eq!(m.expected, "el módulo `headers` está activado");
    assert_eq!(m.found, "no está en mods-enabled");

    let conf = "<VirtualHost *:80>\n\tServerName roble07.localhost\n\tDocumentRoot /var/www/roble\n\t<Directory /var/www/roble/privado>\n\t\tRequire all denied\n\t</Directory>\n</VirtualHost>\n";
    std::fs::write(ws.apache_dir().join("sites-available/roble.conf"), conf).unwrap();
    // Not enabled yet: the vhost is not in the active configuration.
    let v = run(
        &ws,
        "kind = 'apache'\nvhost = '{{param.sitio}}'\ndirective = 'DocumentRoot'\nargs = ['/var/www/roble']",
    );
    assert!(!v.passed);
    assert!(
        v.found
            .contains("no hay ningún VirtualHost con ServerName `roble07.localhost`"),
        "{v:?}"
    );
    std::os::unix::fs::symlink(
        "../sites-available/roble.conf",
        ws.apache_dir().join("sites-enabled/roble.conf"),
    )
    .unwrap();
    assert!(
        run(
            &ws,
            "kind = 'apache'\nvhost = '{{param.sitio}}'\ndirective = 'DocumentRoot'\nargs = ['/var/www/roble/']"
        )
        .passed
    );
    let wrong = run(
        &ws,
        "kind = 'apache'\nvhost = '{{param.sitio}}'\ndirective = 'DocumentRoot'\nargs = ['/var/www/otro']",
    );
    assert_eq!(wrong.found, "aparece `DocumentRoot /var/www/roble`");
    assert!(
        run(
            &ws,
            "kind = 'apache'\ndirectory = '/var/www/roble/privado'\ndirective = 'Require'\nargs = ['all', 'denied']"
        )
        .passed
    );
    let g = run(
        &ws,
        "kind = 'apache'\ndirectory = '/var/www/roble/privado'\ndirective = 'Require'\nargs = ['all', 'granted']",
    );
    assert!(!g.passed);
    assert_eq!(g.found, "aparece `Require all denied`");
}

#[test]
fn a_broken_configuration_fails_configtest_with_file_and_line() {
    let (_t, ws) = ws();
    let site = ws.apache_dir().join("sites-available/000-default.conf");
    let text = std::fs::read_to_string(&site).unwrap();
    std::fs::write(&site, text.replace("DocumentRoot", "DocumentRot")).unwrap();
    let o = run(&ws, "kind = 'apache'\nconfigtest = true");
    assert!(!o.passed);
    assert!(
        o.found
            .starts_with("`lab configtest` falla: directiva desconocida `DocumentRot`"),
        "{o:?}"
    );
    assert!(
        o.found.contains("sites-enabled/000-default.conf:9:"),
        "{o:?}"
    );
}

#[test]
fn command_checks_exit_code_output_timeout_and_venv() {
    let (_t, ws) = ws();
    assert!(
        run(
            &ws,
            "kind = 'command'\nrun = 'test -f lab.toml && echo hay-lab'\nexpect_stdout = 'hay-lab'"
        )
        .passed
    );
    let code = run(&ws, "kind = 'command'\nrun = 'echo fallo >&2; exit 3'");
    assert!(!code.passed);
    assert_eq!(code.found, "terminó con código 3: «fallo»");
    // More output than a pipe holds, read while the command runs.
    let big = run(
        &ws,
        "kind = 'command'\nrun = 'seq 1 100000; echo fin'\nexpect_stdout = '(?m)^100000\\nfin$'",
    );
    assert!(big.passed, "{big:?}");
    // A background process that keeps stdout open does not hang the check.
    let bg = run(
        &ws,
        "kind = 'command'\nrun = 'sleep 3 & echo lanzado'\nexpect_stdout = 'lanzado'",
    );
    assert!(bg.passed, "{bg:?}");
    // A timeout stops the whole process group: the marker file is never written.
    let slow = run(
        &ws,
        "kind = 'command'\nrun = '(sleep 2; touch tarde) & sleep 5'\ntimeout_secs = 1",
    );
    assert_eq!(slow.found, "no terminó en 1 s");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        !ws.root.join("tarde").exists(),
        "the background job survived the timeout"
    );
    let venv = run(
        &ws,
        "kind = 'command'\nrun = 'python --version'\nvenv = 'venv'",
    );
    assert!(!venv.passed);
    assert!(venv.found.contains("no es un entorno virtual"), "{venv:?}");
}

#[test]
fn process_checks_say_the_lab_is_not_running() {
    let (_t, ws) = ws();
    let o = run(&ws, "kind = 'process'\nservice = 'apache2'");
    assert!(!o.passed);
    assert!(o.found.contains("arráncalo con `lab start`"), "{o:?}");
    assert!(
        run(
            &ws,
            "kind = 'process'\nservice = 'apache2'\nrunning = false"
        )
        .passed
    );
}

#[test]
fn bad_checks_are_rejected_with_spanish_reasons() {
    let p = params();
    let err = |t: &str| Check::parse(&raw(t), &p).expect_err("must be rejected");
    assert!(err("kind = 'ftp'").starts_with("tipo de comprobación desconocido `ftp`; tipos: "));
    assert!(
        err("kind = 'file'\npath = 'x'\nmatches = '(('").contains("expresión regular no válida")
    );
    assert!(err("kind = 'file'\npath = '../fuera'").contains("sin `..`"));
    assert!(err("kind = 'file'\npath = 'x'\ncontiene = 'y'")
        .starts_with("campo desconocido `contiene`; los válidos son: `path`"));
    assert!(
        err("kind = 'file'\npath = 'x'\nexists = false\ncontains = 'y'")
            .contains("no se puede combinar")
    );
    assert!(err("kind = 'apache'").contains("no pregunta nada"));
    assert!(
        err("kind = 'apache'\nconfigtest = true\nsite_enabled = 'x'").contains("una sola pregunta")
    );
    assert!(err("kind = 'http'\npath = 'sin-barra'").contains("debe empezar por `/`"));
    assert!(err("kind = 'process'\nservice = 'apache'").contains("¿Quisiste decir `apache2`?"));
}

/// A server that answers each connection with the next canned response and returns the
/// request heads it got.
fn canned_server(responses: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for resp in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            seen.push(head);
            stream.write_all(resp.as_bytes()).unwrap();
        }
        seen
    });
    (port, handle)
}

fn running(port: u16) -> Target {
    Target::Running(vec![(80, format!("127.0.0.1:{port}").parse().unwrap())])
}

#[test]
fn http_checks_compare_status_headers_body_and_a_conditional_second_request() {
    let (_t, ws) = ws();
    let body = "Hola roble07.localhost";
    let (port, server) = canned_server(vec![
        format!(
            "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n".to_string(),
    ]);
    let o = run_on(
        &ws,
        &running(port),
        "kind = 'http'\nhost = '{{param.sitio}}'\nexpect_status = 200\nexpect_body = 'Hola {{param.sitio}}'\n[expect_headers]\ncontent-type = '^text/html'\n[then]\nconditional = true\nexpect_status = 304",
    );
    assert!(o.passed, "{o:?}");
    assert_eq!(o.found, "respondió 200 y luego 304");
    let seen = server.join().unwrap();
    assert!(
        seen[0].starts_with("GET / HTTP/1.1\r\nHost: roble07.localhost\r\n"),
        "{seen:?}"
    );
    assert!(seen[1].contains("If-None-Match: \"abc\""), "{seen:?}");
}

#[test]
fn http_checks_explain_a_wrong_status_and_a_missing_listener() {
    let (_t, ws) = ws();
    let (port, server) = canned_server(vec![
        "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno existe".to_string(),
    ]);
    let target = running(port);
    let o = run_on(
        &ws,
        &target,
        "kind = 'http'\npath = '/x'\nexpect_status = 200",
    );
    assert!(!o.passed);
    assert_eq!(o.found, "respondió 404 Not Found (cuerpo: «no existe»)");
    assert_eq!(o.expected, "`GET http://localhost/x` responde 200");
    server.join().unwrap();
    let o = run_on(
        &ws,
        &target,
        "kind = 'http'\nport = 8080\nexpect_status = 200",
    );
    assert_eq!(
        o.found,
        "ningún `Listen` usa el puerto 8080 (se escucha en: 80)"
    );
}

#[test]
fn http_checks_against_an_isolated_instance_see_a_304_on_the_second_request() {
    let (_t, ws) = ws();
    let config = lab_server::config::load(&ws).unwrap().config;
    let target = Target::isolated(config);
    assert!(
        matches!(target, Target::Isolated(_)),
        "the instance did not start"
    );
    let o = run_on(
        &ws,
        &target,
        "kind = 'http'\nexpect_status = 200\nexpect_body = 'Funciona'\n[then]\nconditional = true\nexpect_status = 304",
    );
    assert!(o.passed, "{o:?}");
    assert_eq!(o.found, "respondió 200 y luego 304");
    let o = run_on(
        &ws,
        &target,
        "kind = 'http'\npath = '/no-existe'\nexpect_status = 200",
    );
    assert!(o.found.starts_with("respondió 404"), "{o:?}");
}
