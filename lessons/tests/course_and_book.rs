//! The sample course in `tests/fixtures/curso`: loading, author errors, and `lab book`'s
//! mdBook build (offline, with its search index).

use std::path::{Path, PathBuf};

use lessons::Course;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/curso")
}

/// A copy of the fixture that a test may break.
fn copy_fixture() -> tempfile::TempDir {
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
    let tmp = tempfile::tempdir().unwrap();
    copy(&fixture(), tmp.path());
    tmp
}

#[test]
fn the_sample_course_loads_with_a_warning_for_the_missing_page() {
    let c = Course::from_dir(&fixture()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.chapters.len(), 3);
    assert_eq!(
        c.exercises_in("apache/sitios.md"),
        vec!["demo-pagina".to_string()]
    );
    assert!(c.exercise("demo-huerfano").is_some());
    let warnings = c.warnings.join("\n");
    assert!(
        warnings.contains("`pendiente.md` todavía no existe"),
        "{warnings}"
    );
    assert!(
        warnings.contains("1 páginas todavía no existen: pendiente.md"),
        "{warnings}"
    );
}

#[test]
fn a_marker_for_an_unknown_exercise_is_a_warning_with_its_line() {
    let tmp = copy_fixture();
    let page = tmp.path().join("book/src/apache/sitios.md");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &page,
        text.replace("{{#exercise demo-pagina}}", "{{#exercise demo-pagin}}"),
    )
    .unwrap();
    // The course still loads (the student gets the rest): a marker of an exercise not
    // written yet is a warning; the exercise missing from its page is a problem for dev check.
    let course = Course::from_dir(tmp.path()).unwrap();
    let warnings = course.warnings.join("\n");
    assert!(
        warnings.contains("book/src/apache/sitios.md:5:1: el marcador nombra un ejercicio que todavía no existe: `demo-pagin`"),
        "{warnings}"
    );
    let err: Vec<String> = course.problems.iter().map(|p| p.to_string()).collect();
    let err = err.join("\n");
    assert!(
        err.contains("exercises/demo-pagina/exercise.toml:1:1: la página `apache/sitios.md` no contiene el marcador"),
        "{err}"
    );
    // And the exercise whose marker vanished is reported too.
    assert!(
        err.contains("no contiene el marcador {{#exercise demo-pagina}}"),
        "{err}"
    );
}

#[test]
fn a_bad_exercise_toml_is_reported_at_file_line_column() {
    let tmp = copy_fixture();
    let toml = tmp.path().join("exercises/demo-pagina/exercise.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("points = 4", "puntos = 4")).unwrap();
    let err = Course::from_dir(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("exercises/demo-pagina/exercise.toml:4:1:"),
        "{err}"
    );
    assert!(err.contains("campo desconocido `puntos`"), "{err}");
}

fn files_named(dir: &Path, prefix: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_named(&p, prefix, out);
        } else if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(p);
        }
    }
}

#[test]
fn the_book_builds_offline_with_search_index_and_exercise_boxes() {
    let course = Course::from_dir(&fixture()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let built = lessons::book::build(&course, dest.path(), Some("ana")).unwrap();
    assert!(built.index.is_file(), "no index.html");
    assert_eq!(built.missing_pages, vec!["pendiente.md".to_string()]);

    let mut index_files = Vec::new();
    files_named(dest.path(), "searchindex", &mut index_files);
    assert!(
        !index_files.is_empty(),
        "no search index in {}",
        dest.path().display()
    );
    let index_text: String = index_files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        index_text.contains("murciélago") || index_text.contains("murci\\u00e9lago"),
        "the index lacks a word of the book"
    );

    let page = std::fs::read_to_string(dest.path().join("apache/sitios.html")).unwrap();
    assert!(
        page.contains("id=\"ejercicio-demo-pagina\""),
        "marker not expanded"
    );
    assert!(!page.contains("{{#exercise"), "marker left in the page");
    // The statement carries Ana's own parameter, not the placeholder.
    let params = lessons::params::Params::derive(
        "ana",
        "demo-pagina",
        &course.exercise("demo-pagina").unwrap().params,
    );
    assert!(
        page.contains(&params.values["pagina"]),
        "student parameter missing"
    );
    assert!(page.contains("lab check demo-pagina"));
}

#[test]
fn without_a_student_the_book_shows_parameter_placeholders() {
    let course = Course::from_dir(&fixture()).unwrap();
    let md =
        lessons::book::expand_markers("Antes\n{{#exercise demo-pagina}}\nDespués\n", &course, None);
    assert!(md.contains("var/www/html/⟨pagina⟩.html"), "{md}");
    assert!(
        md.contains("1. La página existe\n2. La página saluda"),
        "{md}"
    );
    assert!(md.starts_with("Antes\n") && md.trim_end().ends_with("Después"));
}

#[test]
fn the_varnish_exercises_name_the_proxy_address_not_a_fixed_port() {
    let course = Course::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .unwrap_or_else(|e| panic!("{e}"));
    for id in ["varnish-puerto80", "varnish-cookies", "varnish-purga"] {
        let e = course.exercise(id).unwrap_or_else(|| panic!("no {id}"));
        assert!(e.statement.contains("{{proxy}}"), "{id}: {}", e.statement);
        assert!(!e.statement.contains("10080"), "{id} hard-codes 10080");
        // The offline book shows the usual mapped address.
        let md = lessons::book::expand_markers(&format!("{{{{#exercise {id}}}}}\n"), &course, None);
        assert!(md.contains("http://127.0.0.1:10080/"), "{md}");
        assert!(!md.contains("{{proxy"), "{md}");
        // A student whose lab serves varnish elsewhere reads that address.
        let p = lessons::params::Params::derive("ana", id, &e.params).with_proxy("127.0.0.1:80");
        assert!(p.apply(&e.statement).contains("http://127.0.0.1:80/"));
    }
}
