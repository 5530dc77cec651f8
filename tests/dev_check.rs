//! `lab dev check`: the repository's course is sound (run by `cargo test`, so CI runs it),
//! and a broken course is reported in Spanish.

mod common;

use std::path::{Path, PathBuf};

use common::run_lab;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_exercise_of_the_repository_passes_dev_check() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo();
    // No list: every exercise, including those whose `[setup]` builds venvs (from PyPI, once,
    // in the shared cache) and starts memcached.
    let cache = shared_cache();
    let out = common::run_lab_timeout(
        &["dev", "check", "--course", repo.to_str().unwrap()],
        tmp.path(),
        &[("LAB_CACHE_DIR", cache.to_str().unwrap())],
        std::time::Duration::from_secs(900),
    )
    .unwrap_or_else(|partial| panic!("dev check no terminó: {}", partial.stdout));
    // Exit 0 also means every exercise of the course loads and every check parses.
    out.assert_code(0);
    let ids: Vec<String> = std::fs::read_dir(repo.join("exercises"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("exercise.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(ids.len() >= 15, "{ids:?}");
    for id in &ids {
        assert!(
            out.stdout.contains(&format!("✔ {id}\n")),
            "{id}: {}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains(&format!("Curso correcto: {} ejercicios", ids.len())),
        "{}",
        out.stdout
    );
}

/// The venv cache of the tests, kept under target/ so runs after the first download nothing.
fn shared_cache() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lab"));
    bin.parent()
        .and_then(Path::parent)
        .map(|t| t.join("lab-cache"))
        .unwrap_or_else(|| std::env::temp_dir().join("lab-cache"))
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
