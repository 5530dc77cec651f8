//! `lab dev check`: the repository's course is sound (run by `cargo test`, so CI runs it),
//! and a broken course is reported in Spanish.

mod common;

use std::path::{Path, PathBuf};

use common::run_lab;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The exercises whose solutions can be checked in a fresh workspace: the Apache chapters and
/// the WSGI ones that need no venv. The others (venvs with pip packages, memcached state)
/// join when dev check can prepare those.
const CHECKED: &[&str] = &[
    "apache-sitio",
    "apache-a2",
    "apache-require",
    "apache-configtest",
    "wsgi-hola",
    "wsgi-modos",
    "wsgi-traceback",
];

#[test]
fn the_repository_course_loads_and_its_exercises_pass_dev_check() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo();
    let mut args = vec!["dev", "check", "--course", repo.to_str().unwrap()];
    args.extend_from_slice(CHECKED);
    let out = run_lab(&args, tmp.path());
    // Exit 0 also means every exercise of the course loads and every check parses: those
    // author errors are reported for the whole course whatever is selected.
    out.assert_code(0);
    for id in CHECKED {
        assert!(out.stdout.contains(&format!("✔ {id}\n")), "{}", out.stdout);
    }
    assert!(out.stdout.contains("Curso correcto:"), "{}", out.stdout);
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_solution_that_fails_and_a_starter_that_passes_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let course = tmp.path().join("curso");
    copy(&repo().join("lessons/tests/fixtures/curso"), &course);
    let ex = course.join("exercises");
    // demo-pagina's solution loses its file; demo-huerfano's starter already has it.
    std::fs::remove_dir_all(ex.join("demo-pagina/solution")).unwrap();
    copy(
        &ex.join("demo-huerfano/solution"),
        &ex.join("demo-huerfano/starter"),
    );

    let out = run_lab(
        &["dev", "check", "--course", course.to_str().unwrap()],
        tmp.path(),
    );
    out.assert_code(1);
    let text = out.stderr;
    assert!(text.contains("✘ demo-pagina"), "{text}");
    assert!(
        text.contains(
            "la solución no supera el paso 1 «La página existe»: el fichero `var/www/html/pagina-"
        ),
        "{text}"
    );
    assert!(text.contains("✘ demo-huerfano"), "{text}");
    assert!(
        text.contains("el punto de partida ya supera todos los pasos: el ejercicio no pide nada"),
        "{text}"
    );
    assert!(text.contains("El curso tiene problemas"), "{text}");
}

#[test]
fn a_check_with_a_bad_field_is_an_author_error_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let course = tmp.path().join("curso");
    copy(&repo().join("lessons/tests/fixtures/curso"), &course);
    let toml = course.join("exercises/demo-pagina/exercise.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("contains = \"hola\"", "contiene = \"hola\""),
    )
    .unwrap();
    let out = run_lab(
        &["dev", "check", "--course", course.to_str().unwrap()],
        tmp.path(),
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("exercises/demo-pagina/exercise.toml:22:1: campo desconocido `contiene`; los válidos son: `path`, `exists`"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_exercise_whose_checks_ignore_its_parameters_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let course = tmp.path().join("curso");
    copy(&repo().join("lessons/tests/fixtures/curso"), &course);
    let ex = course.join("exercises/demo-pagina");
    // Checks and solution use a fixed name: any classmate's solution would pass.
    let toml = ex.join("exercise.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace(
            "var/www/html/{{param.pagina}}.html",
            "var/www/html/fija.html",
        ),
    )
    .unwrap();
    std::fs::remove_dir_all(ex.join("solution")).unwrap();
    std::fs::create_dir_all(ex.join("solution/var/www/html")).unwrap();
    std::fs::write(ex.join("solution/var/www/html/fija.html"), "hola").unwrap();

    let out = run_lab(
        &["dev", "check", "--course", course.to_str().unwrap()],
        tmp.path(),
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("la solución de otro estudiante (companero) también supera todos los pasos: las comprobaciones no dependen de los parámetros"),
        "{}",
        out.stderr
    );
}
