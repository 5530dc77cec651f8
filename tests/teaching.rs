//! The teaching commands on the real binary and the repository's course: `lab prepare`,
//! `lab check` (Spanish reasons, exit codes, progress), `lab lesson`, `lab book`, and the
//! console that `lab start` serves.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{raw_request, TestLab};
use lessons::params::Params;

/// The student of these tests (parameters derive from it, so snapshots are stable).
const STUDENT: &str = "ana";

fn lab() -> TestLab {
    let mut lab = TestLab::new();
    lab.set_setting("student", &format!("{STUDENT:?}"));
    lab
}

fn param(exercise: &str, name: &str) -> String {
    let course = lessons::Course::embedded().unwrap();
    let e = course.exercise(exercise).unwrap();
    Params::derive(STUDENT, &e.id, &e.params).values[name].clone()
}

#[test]
fn lab_check_on_a_starter_explains_every_failed_step_in_spanish() {
    let lab = lab();
    lab.lab(&["prepare", "apache-configtest"]).assert_code(0);
    let out = lab.lab(&["check", "apache-configtest"]);
    out.assert_code(1);
    insta::assert_snapshot!("check_configtest_starter", lab.redact(&out.stdout));
    let p = lessons::progress::Progress::open_workspace(&lab.root).unwrap();
    assert_eq!(p.attempts("apache-configtest").unwrap(), 1);
    assert!(p.is_prepared("apache-configtest").unwrap());
}

#[test]
fn lab_check_passes_once_the_a2_commands_are_run() {
    let lab = lab();
    lab.lab(&["prepare", "apache-a2"]).assert_code(0);
    let sitio = param("apache-a2", "sitio");
    let out = lab.lab(&["check", "apache-a2"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("(0/4 pasos, 0.0/10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("se encontró: no está en mods-enabled"),
        "{}",
        out.stdout
    );

    // Enabling the site first breaks configtest: `Header` needs mod_headers.
    lab.lab(&["a2ensite", &sitio]).assert_code(0);
    let out = lab.lab(&["check", "apache-a2"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("(1/4 pasos, 2.5/10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("`lab configtest` falla"),
        "{}",
        out.stdout
    );

    lab.lab(&["a2enmod", "headers"]).assert_code(0);
    let out = lab.lab(&["check", "apache-a2"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("(4/4 pasos, 10.0/10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains('✘'), "{}", out.stdout);
    let p = lessons::progress::Progress::open_workspace(&lab.root).unwrap();
    assert_eq!(p.attempts("apache-a2").unwrap(), 3);
    assert_eq!(p.status("apache-a2").unwrap().passed_steps(), 4);
}

#[test]
fn prepare_never_overwrites_without_force_and_unknown_ids_get_a_suggestion() {
    let lab = lab();
    lab.lab(&["prepare", "apache-require"]).assert_code(0);
    let carpeta = param("apache-require", "carpeta");
    let notes = format!("var/www/html/{carpeta}/notas.txt");
    lab.write(&notes, "mías");
    let out = lab.lab(&["prepare", "apache-require"]);
    out.assert_code(0);
    assert!(out.stdout.contains("sin tocar"), "{}", out.stdout);
    assert_eq!(lab.read(&notes), "mías");
    lab.lab(&["prepare", "apache-require", "--force"])
        .assert_code(0);
    assert!(lab.read(&notes).contains("Notas internas"));

    let out = lab.lab(&["check", "apache-requir"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("no existe el ejercicio `apache-requir`. ¿Quisiste decir `apache-require`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn lab_lesson_lists_the_course_and_renders_an_exercise_for_the_student() {
    let lab = lab();
    let out = lab.lab(&["lesson"]);
    out.assert_code(0);
    assert!(
        out.stdout.starts_with("Lecciones del curso"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Introducción  introduccion"),
        "{}",
        out.stdout
    );

    let sitio = param("apache-sitio", "sitio");
    let out = lab.lab(&["lesson", "apache-sitio"]);
    out.assert_code(0);
    assert!(
        out.stdout
            .contains("Ejercicio apache-sitio: Un sitio virtual nuevo (10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("ServerName {sitio}")),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );

    let out = lab.lab(&["lesson", "introducion"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("¿Quisiste decir `introduccion`?"),
        "{}",
        out.stderr
    );
}

fn search_index_text(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            text.push_str(&search_index_text(&p));
        } else if e.file_name().to_string_lossy().starts_with("searchindex") {
            text.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    text
}

#[test]
fn lab_book_builds_the_course_offline_with_a_search_index() {
    let lab = lab();
    let dest = lab.tmp().join("libro");
    let out = lab.lab(&["book", "--dest", dest.to_str().unwrap()]);
    out.assert_code(0);
    assert!(out.stdout.contains("Libro construido en"), "{}", out.stdout);
    assert!(dest.join("index.html").is_file());
    assert!(dest.join("introduccion.html").is_file());
    let index = search_index_text(&dest);
    assert!(!index.is_empty(), "no searchindex file");
    assert!(
        index.contains("laboratorio"),
        "the index lacks a word of the book"
    );
}

/// The console's address from the `lab start` output.
fn console_addr(output: &str) -> std::net::SocketAddr {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with("consola"))
        .unwrap_or_else(|| panic!("no console line in:\n{output}"));
    let url = line.split_whitespace().nth(1).unwrap();
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

fn get(addr: std::net::SocketAddr, path: &str) -> common::Response {
    raw_request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        false,
    )
    .unwrap()
}

#[test]
fn lab_start_serves_the_console_on_the_port_from_lab_toml() {
    let mut lab = lab();
    // Only the console: this test does not need the web server.
    lab.replace("lab.toml", "apache2 = true", "apache2 = false");
    let port = common::free_port();
    lab.set_setting("console_port", &port.to_string());
    lab.start();
    let addr = console_addr(&lab.output());
    assert_eq!(addr.port(), port);
    let index = get(addr, "/");
    assert_eq!(index.status, 200, "{index}");
    let html = index.text();
    assert!(html.contains("<h1>Curso</h1>"), "{html}");
    assert!(
        html.contains("<a href=\"/leccion/introduccion\">Introducción</a>"),
        "{html}"
    );
    // The services table comes from the running supervisor.
    assert!(
        html.contains("<td>apache2</td><td>desactivado en lab.toml</td>"),
        "{html}"
    );
    let status = lab.lab(&["status"]);
    status.assert_code(0);
    assert!(
        status
            .stdout
            .contains(&format!("  consola   http://127.0.0.1:{port}/")),
        "{}",
        status.stdout
    );
    assert_eq!(lab.stop_with_sigterm(), Some(0), "{}", lab.output());
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "the console still answers after the lab stopped"
    );
}

#[test]
fn console_port_zero_picks_a_free_port() {
    let mut lab = lab();
    lab.replace("lab.toml", "apache2 = true", "apache2 = false");
    lab.set_setting("console_port", "0");
    lab.start();
    let addr = console_addr(&lab.output());
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/estilo.css").status, 200);
}

#[test]
fn lab_check_asks_the_running_lab_and_hints_at_a_forgotten_reload() {
    let mut lab = lab();
    lab.start();
    let sitio = param("apache-sitio", "sitio");
    lab.write(
        &format!("var/www/{sitio}/index.html"),
        format!("<h1>Hola desde {sitio}</h1>"),
    );
    lab.write(
        &format!("etc/apache2/sites-available/{sitio}.conf"),
        format!("<VirtualHost *:80>\n\tServerName {sitio}\n\tDocumentRoot /var/www/{sitio}\n</VirtualHost>\n"),
    );
    lab.lab(&["a2ensite", &sitio]).assert_code(0);
    // Not reloaded: the running lab still sends that name to the default site.
    let out = lab.lab(&["check", "apache-sitio"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("✔ 3. El sitio está activado"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("✘ 4. El sitio responde con su página"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("el cuerpo no encaja"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("si cambiaste la configuración, ejecuta `lab reload`"),
        "{}",
        out.stdout
    );
    lab.lab(&["reload"]).assert_code(0);
    let out = lab.lab(&["check", "apache-sitio"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("(4/4 pasos, 10.0/10 puntos)"),
        "{}",
        out.stdout
    );
}

#[test]
fn without_a_running_lab_http_steps_use_an_isolated_instance() {
    let lab = lab();
    lab.lab(&["prepare", "apache-require"]).assert_code(0);
    let carpeta = param("apache-require", "carpeta");
    let out = lab.lab(&["check", "apache-require"]);
    out.assert_code(1);
    assert!(out.stdout.contains("respondió 200 OK"), "{}", out.stdout);
    assert!(
        out.stdout.contains("(1/3 pasos, 3.3/10 puntos)"),
        "{}",
        out.stdout
    );
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "\tDocumentRoot /var/www/html\n",
        &format!("\tDocumentRoot /var/www/html\n\t<Directory /var/www/html/{carpeta}>\n\t\tRequire all denied\n\t</Directory>\n"),
    );
    let out = lab.lab(&["check", "apache-require"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("(3/3 pasos, 10.0/10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("lab reload"), "{}", out.stdout);
}

#[test]
fn process_checks_look_at_the_running_services_and_their_ports() {
    use checker::checks::{Check, Context};
    use checker::target::Target;
    let mut lab = lab();
    lab.start();
    let ws = lab_server::workspace::Workspace::open(&lab.root).unwrap();
    let run = |toml_text: &str| {
        let raw = lessons::exercise::RawCheck {
            table: toml::from_str(toml_text).unwrap(),
            line: 1,
            column: 1,
        };
        Check::parse(&raw, &Params::default())
            .unwrap()
            .run(&Context {
                ws: &ws,
                target: &Target::None,
            })
    };
    let o = run("kind = 'process'\nservice = 'apache2'\nlisten = 80");
    assert!(o.passed, "{o:?}");
    let o = run("kind = 'process'\nservice = 'apache2'\nlisten = 8080");
    assert!(!o.passed);
    assert_eq!(
        o.found,
        "escucha en: 80 (¿falta `Listen 8080` en ports.conf, o `lab reload`?)"
    );
    lab.lab(&["service", "apache2", "stop"]).assert_code(0);
    let o = run("kind = 'process'\nservice = 'apache2'");
    assert!(!o.passed);
    assert_eq!(
        o.found,
        "está parado; arráncalo con `lab service apache2 start`"
    );
    // HTTP steps say why they cannot run instead of trying a closed port.
    let out = lab.lab(&["check", "apache-sitio"]);
    out.assert_code(1);
    assert!(
        out.stdout
            .contains("el laboratorio está en marcha pero el servicio apache2 está parado"),
        "{}",
        out.stdout
    );
}

#[test]
fn lab_check_without_an_id_checks_every_exercise_and_sums_up() {
    let lab = lab();
    let out = lab.lab(&["check"]);
    out.assert_code(1);
    let course = lessons::Course::embedded().unwrap();
    for id in course.exercises.keys() {
        assert!(
            out.stdout.contains(&format!("\n  ✘ {id} "))
                || out.stdout.contains(&format!("\n  ✔ {id} ")),
            "{id} missing from the summary:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("\nResumen\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  Total: "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("no los has preparado: `lab prepare apache-a2`"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_busy_console_port_is_a_warning_and_the_lab_runs_on() {
    let mut lab = lab();
    lab.replace("lab.toml", "apache2 = true", "apache2 = false");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    lab.set_setting("console_port", &port.to_string());
    lab.start();
    let output = lab.output();
    assert!(
        output.contains(&format!(
            "[stderr] aviso: no se pudo abrir la consola en 127.0.0.1:{port}"
        )),
        "{output}"
    );
    assert!(
        output.contains("cambia `console_port` en lab.toml (0 elige uno libre)"),
        "{output}"
    );
    lab.lab(&["status"]).assert_code(0);
}

#[test]
fn a_lesson_in_the_terminal_shows_its_exercise_with_the_student_values() {
    let lab = lab();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/tests/fixtures/curso");
    let out = common::run_lab_env(
        &[
            "--workspace",
            lab.root.to_str().unwrap(),
            "lesson",
            "apache/sitios",
        ],
        lab.tmp(),
        &[("LAB_COURSE_DIR", fixture.to_str().unwrap())],
    );
    out.assert_code(0);
    insta::assert_snapshot!("lesson_terminal", out.stdout);
}

#[test]
fn a_damaged_progress_database_does_not_hide_the_result() {
    let lab = lab();
    lab.write(
        ".lab/progress.db",
        "esto no es una base de datos SQLite, es texto",
    );
    let out = lab.lab(&["check", "apache-sitio"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("(0/4 pasos, 0.0/10 puntos)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("aviso: el resultado no se ha guardado en tu progreso: no se puede abrir la base de datos de progreso"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("muévela a otro sitio"),
        "{}",
        out.stderr
    );
}
