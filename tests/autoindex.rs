//! Directory listings (mod_autoindex) and `Options -Indexes`.

mod common;

use common::TestLab;

fn lab_with_listing_dir() -> TestLab {
    let lab = TestLab::new();
    lab.write("var/www/html/archivos/notas.txt", "notas\n");
    lab.write("var/www/html/archivos/programa.py", "print('hola')\n");
    lab.mkdir("var/www/html/archivos/subdir");
    lab.write("var/www/html/archivos/.oculto", "no se lista\n");
    lab
}

#[test]
fn directory_without_index_is_listed_in_spanish() {
    let mut lab = lab_with_listing_dir();
    lab.start();
    let resp = lab.get("/archivos/");
    assert_eq!(resp.status, 200, "{resp}");
    assert!(
        resp.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{resp}"
    );
    let html = resp.text();
    assert!(html.contains("Índice de /archivos"), "{html}");
    for name in ["notas.txt", "programa.py", "subdir/"] {
        assert!(
            html.contains(&format!("href=\"{name}\"")),
            "sin enlace a {name}:\n{html}"
        );
    }
    // Link to the parent directory.
    assert!(
        html.contains("href=\"/\""),
        "sin enlace al directorio padre:\n{html}"
    );
    // IndexIgnore .??* hides dot files.
    assert!(!html.contains(".oculto"), "{html}");
}

#[test]
fn listing_escapes_file_names() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/raro/<b>negrita.txt", "x");
    lab.start();
    let html = lab.get("/raro/").text();
    assert!(!html.contains("<b>negrita"), "nombre sin escapar:\n{html}");
    assert!(html.contains("&lt;b&gt;negrita"), "{html}");
}

#[test]
fn without_indexes_a_directory_without_index_is_403() {
    let mut lab = lab_with_listing_dir();
    lab.write(
        "etc/apache2/conf-available/sin-listados.conf",
        "<Directory /var/www/html/archivos>\n\tOptions -Indexes\n</Directory>\n",
    );
    lab.symlink(
        "../conf-available/sin-listados.conf",
        "etc/apache2/conf-enabled/sin-listados.conf",
    );
    lab.start();
    let resp = lab.get("/archivos/");
    assert_eq!(resp.status, 403, "{resp}");
    assert!(!resp.text().contains("notas.txt"));
    // Files inside are still served.
    assert_eq!(lab.get("/archivos/notas.txt").status, 200);
}

#[test]
fn index_html_wins_over_the_listing() {
    let mut lab = lab_with_listing_dir();
    lab.write("var/www/html/archivos/index.html", "portada\n");
    lab.start();
    assert_eq!(lab.get("/archivos/").text(), "portada\n");
}
