//! `Alias` to a directory outside the DocumentRoot, with its own `<Directory>` grant.

mod common;

use common::TestLab;

fn alias_conf(grant: &str) -> String {
    format!(
        "Alias /descargas /srv/descargas\n\
         <Directory /srv/descargas>\n\
         \tOptions None\n\
         \t{grant}\n\
         </Directory>\n"
    )
}

fn lab_with_alias(grant: &str) -> TestLab {
    let lab = TestLab::new();
    lab.write("srv/descargas/manual.txt", "manual del curso\n");
    lab.write(
        "etc/apache2/conf-available/descargas.conf",
        alias_conf(grant),
    );
    lab.symlink(
        "../conf-available/descargas.conf",
        "etc/apache2/conf-enabled/descargas.conf",
    );
    lab
}

#[test]
fn alias_serves_a_directory_outside_the_document_root() {
    let mut lab = lab_with_alias("Require all granted");
    lab.start();
    let resp = lab.get("/descargas/manual.txt");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "manual del curso\n");
    // The DocumentRoot still serves the rest.
    assert!(lab.get("/").text().contains("Funciona"));
}

#[test]
fn alias_without_a_grant_is_denied_by_directory_root() {
    let mut lab = lab_with_alias("AllowOverride None");
    lab.start();
    let resp = lab.get("/descargas/manual.txt");
    assert_eq!(resp.status, 403, "{resp}");
    assert!(!resp.text().contains("manual del curso"));
}

#[test]
fn alias_missing_file_is_404() {
    let mut lab = lab_with_alias("Require all granted");
    lab.start();
    assert_eq!(lab.get("/descargas/otro.txt").status, 404);
}

#[test]
fn alias_dir_without_index_and_options_none_is_403() {
    let mut lab = lab_with_alias("Require all granted");
    lab.start();
    // Options None: no Indexes, so no listing.
    let resp = lab.get("/descargas/");
    assert_eq!(resp.status, 403, "{resp}");
}
