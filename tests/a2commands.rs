//! a2ensite/a2dissite/a2enmod/a2dismod/a2enconf/a2disconf behave like Debian's scripts,
//! and `lab reload` applies the result.

mod common;

use common::TestLab;

const SITE: &str = "<VirtualHost *:80>\n\tServerName blog.localhost\n\tDocumentRoot /var/www/blog\n</VirtualHost>\n";

fn lab_with_blog_available() -> TestLab {
    let lab = TestLab::new();
    lab.write("var/www/blog/index.html", "el blog\n");
    lab.write("etc/apache2/sites-available/blog.conf", SITE);
    lab
}

#[test]
fn a2ensite_creates_the_relative_symlink_and_reload_serves_the_site() {
    let mut lab = lab_with_blog_available();
    lab.start();
    assert!(lab
        .get_host("/", "blog.localhost")
        .text()
        .contains("Funciona"));

    let out = lab.lab(&["a2ensite", "blog"]);
    out.assert_code(0);
    assert!(out.all().contains("lab reload"), "{}", out.all());
    let link = lab.path("etc/apache2/sites-enabled/blog.conf");
    assert_eq!(
        std::fs::read_link(&link).expect("enlace"),
        std::path::Path::new("../sites-available/blog.conf")
    );

    lab.lab(&["reload"]).assert_code(0);
    assert_eq!(lab.get_host("/", "blog.localhost").text(), "el blog\n");

    let out = lab.lab(&["a2dissite", "blog.conf"]);
    out.assert_code(0);
    assert!(!link.exists() && std::fs::symlink_metadata(&link).is_err());
    lab.lab(&["reload"]).assert_code(0);
    assert!(lab
        .get_host("/", "blog.localhost")
        .text()
        .contains("Funciona"));
}

#[test]
fn a2ensite_twice_says_already_enabled() {
    let lab = lab_with_blog_available();
    lab.lab(&["a2ensite", "blog"]).assert_code(0);
    let again = lab.lab(&["a2ensite", "blog"]);
    again.assert_code(0);
    assert!(again.all().contains("blog"), "{}", again.all());
}

#[test]
fn a2ensite_of_an_unknown_site_fails() {
    let lab = TestLab::new();
    let out = lab.lab(&["a2ensite", "no-existe"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("no-existe"), "{}", out.all());
}

#[test]
fn a2enmod_mpm_prefork_is_refused_while_mpm_event_is_enabled() {
    let lab = TestLab::new();
    let out = lab.lab(&["a2enmod", "mpm_prefork"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("mpm_event"), "{}", out.all());
    assert!(!lab
        .path("etc/apache2/mods-enabled/mpm_prefork.load")
        .exists());
    lab.configtest().assert_code(0);
}

#[test]
fn switching_mpm_with_a2dismod_then_a2enmod_gives_a_valid_configuration() {
    let lab = TestLab::new();
    lab.lab(&["a2dismod", "mpm_event"]).assert_code(0);
    assert!(!lab.path("etc/apache2/mods-enabled/mpm_event.load").exists());
    assert!(!lab.path("etc/apache2/mods-enabled/mpm_event.conf").exists());
    lab.lab(&["a2enmod", "mpm_prefork"]).assert_code(0);
    assert!(lab
        .path("etc/apache2/mods-enabled/mpm_prefork.load")
        .is_file());
    assert!(lab
        .path("etc/apache2/mods-enabled/mpm_prefork.conf")
        .is_file());
    let out = lab.configtest();
    out.assert_code(0);
    assert!(out.all().contains("Sintaxis correcta"));
}

#[test]
fn a2enmod_enables_dependencies() {
    let lab = TestLab::new();
    for link in ["authz_core.load", "authz_host.load"] {
        std::fs::remove_file(lab.path(&format!("etc/apache2/mods-enabled/{link}"))).expect("rm");
    }
    lab.lab(&["a2enmod", "authz_host"]).assert_code(0);
    assert!(lab
        .path("etc/apache2/mods-enabled/authz_core.load")
        .is_file());
    assert!(lab
        .path("etc/apache2/mods-enabled/authz_host.load")
        .is_file());
}

#[test]
fn a2dismod_autoindex_turns_listings_into_403_after_reload() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/lista/a.txt", "a\n");
    lab.start();
    assert_eq!(lab.get("/lista/").status, 200);

    lab.lab(&["a2dismod", "autoindex"]).assert_code(0);
    // Before the reload nothing changes.
    assert_eq!(lab.get("/lista/").status, 200);
    lab.lab(&["reload"]).assert_code(0);
    let resp = lab.get("/lista/");
    assert_eq!(resp.status, 403, "{resp}");
}

#[test]
fn a2disconf_and_a2enconf_toggle_a_conf_snippet() {
    let lab = TestLab::new();
    let link = lab.path("etc/apache2/conf-enabled/security.conf");
    assert!(link.is_file());
    lab.lab(&["a2disconf", "security"]).assert_code(0);
    assert!(std::fs::symlink_metadata(&link).is_err());
    lab.lab(&["a2enconf", "security"]).assert_code(0);
    assert_eq!(
        std::fs::read_link(&link).expect("enlace"),
        std::path::Path::new("../conf-available/security.conf")
    );
}
