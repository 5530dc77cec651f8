//! `lab configtest`: Spanish diagnostics with file:line:column, source line, caret and a
//! hint, for mistakes real Apache also rejects. Output is snapshotted (insta) with the
//! workspace path redacted.

mod common;

use common::{Output, TestLab};

/// What gets snapshotted: exit code and both streams.
fn report(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    )
}

/// Asserts a failed configtest that points at `location` and mentions every `needle`.
#[track_caller]
fn assert_rejected(out: &Output, location: &str, needles: &[&str]) {
    assert_eq!(out.code, 1, "configtest debería fallar:\n{}", report(out));
    let all = out.all();
    assert!(all.contains("error"), "sin «error»:\n{all}");
    assert!(
        all.contains(location),
        "el diagnóstico no señala {location}:\n{all}"
    );
    for n in needles {
        assert!(all.contains(n), "el diagnóstico no menciona {n:?}:\n{all}");
    }
    assert!(
        !all.contains("Sintaxis correcta"),
        "dice «Sintaxis correcta» y falla:\n{all}"
    );
}

fn site_x(body: &str) -> TestLab {
    let lab = TestLab::new();
    lab.add_site("x", body);
    lab
}

#[test]
fn fresh_workspace_is_valid() {
    let lab = TestLab::new();
    let out = lab.configtest();
    out.assert_code(0);
    assert!(out.all().contains("Sintaxis correcta"), "{}", report(&out));
    insta::assert_snapshot!("fresh_workspace", report(&out));
}

#[test]
fn misspelled_directive_suggests_the_right_one() {
    let lab = site_x(
        "<VirtualHost *:80>\n    ServerName x.localhost\n    DocumentRot /var/www/html\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(
        &out,
        "etc/apache2/sites-enabled/x.conf:3:5",
        &["DocumentRot", "DocumentRoot", "ayuda"],
    );
    // The source line and a caret under the directive.
    assert!(
        out.all().contains("    DocumentRot /var/www/html"),
        "{}",
        report(&out)
    );
    assert!(out.all().contains('^'), "{}", report(&out));
    insta::assert_snapshot!("misspelled_directive", report(&out));
}

#[test]
fn unclosed_section_is_reported_where_it_opens() {
    let lab = site_x(
        "<VirtualHost *:80>\n    ServerName x.localhost\n    <Directory /var/www/html>\n        Require all granted\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:", &["<Directory"]);
    insta::assert_snapshot!("unclosed_directory", report(&out));
}

#[test]
fn listen_inside_virtualhost_is_not_allowed() {
    let lab =
        site_x("<VirtualHost *:80>\n    ServerName x.localhost\n    Listen 8080\n</VirtualHost>\n");
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:3:5", &["Listen"]);
    insta::assert_snapshot!("listen_in_virtualhost", report(&out));
}

#[test]
fn document_root_inside_directory_is_not_allowed() {
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        DocumentRoot /var/www/html\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(
        &out,
        "sites-enabled/x.conf:3:9",
        &["DocumentRoot", "<Directory>"],
    );
    insta::assert_snapshot!("document_root_in_directory", report(&out));
}

#[test]
fn missing_include_file_is_an_error() {
    let lab = TestLab::new();
    let conf = "etc/apache2/apache2.conf";
    let text = lab.read(conf);
    lab.write(
        conf,
        format!("{text}\nInclude conf-available/no-existe.conf\n"),
    );
    let line = text.lines().count() + 2;
    let out = lab.configtest();
    assert_rejected(
        &out,
        &format!("etc/apache2/apache2.conf:{line}:9"),
        &["no-existe.conf"],
    );
    insta::assert_snapshot!("missing_include", report(&out));
}

#[test]
fn include_optional_of_a_missing_file_is_fine() {
    let lab = TestLab::new();
    let conf = "etc/apache2/apache2.conf";
    let text = lab.read(conf);
    lab.write(
        conf,
        format!("{text}\nIncludeOptional conf-available/no-existe.conf\n"),
    );
    lab.configtest().assert_code(0);
}

#[test]
fn bad_require_provider_is_an_error() {
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        Require alll granted\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:3:", &["alll"]);
    insta::assert_snapshot!("bad_require", report(&out));
}

#[test]
fn bad_require_ip_is_an_error() {
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        Require ip 10.0.0.0/99\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:3:", &["10.0.0.0/99"]);
    insta::assert_snapshot!("bad_require_ip", report(&out));
}

#[test]
fn apache22_access_rules_are_checked_like_apache() {
    // Accepted as Debian's Apache accepts them (mod_access_compat is enabled by default).
    let good = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        Order deny,allow\n        Deny from all\n        Allow from 10.1 192.168.0.0/255.255.0.0 ::1 env=interno ejemplo.org\n        Satisfy Any\n    </Directory>\n</VirtualHost>\n",
    );
    good.configtest().assert_code(0);
    // What Apache refuses ("unknown order", "order takes one argument", "The specified IP
    // address is invalid", "Satisfy either 'any' or 'all'"), each at its line.
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        Order alow,deny\n        Order allow, deny\n        Deny from 300.1.1.1\n        Allow 127.0.0.1\n        Allow to 127.0.0.1\n        Satisfy some\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    for line in 3..=8 {
        assert_rejected(&out, &format!("sites-enabled/x.conf:{line}:"), &[]);
    }
    assert_rejected(
        &out,
        "sites-enabled/x.conf:3:",
        &["alow,deny", "allow,deny"],
    );
    assert_rejected(&out, "sites-enabled/x.conf:5:", &["300.1.1.1"]);
    assert_rejected(&out, "sites-enabled/x.conf:7:", &["from"]);
    insta::assert_snapshot!("bad_access_compat", report(&out));
}

#[test]
fn limit_blocks_warn_about_what_does_not_depend_on_the_method() {
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        <Limit post>\n            Require all denied\n        </Limit>\n        <LimitExcept GET>\n            Options -Indexes\n        </LimitExcept>\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    out.assert_code(0);
    let all = out.all();
    assert!(all.contains("x.conf:3:"), "{all}");
    assert!(all.contains("`post` no coincidirá"), "{all}");
    assert!(all.contains("escribe `POST`"), "{all}");
    assert!(all.contains("x.conf:7:"), "{all}");
    assert!(
        all.contains("`Options` dentro de `<LimitExcept>` se aplica a todos los métodos"),
        "{all}"
    );
    // Outside a directory section, as in Apache: only in <Directory>, <Location>, <Files>.
    let lab = site_x("<VirtualHost *:80>\n    <Limit GET>\n        Require all denied\n    </Limit>\n</VirtualHost>\n");
    assert_rejected(&lab.configtest(), "sites-enabled/x.conf:2:", &["Limit"]);
}

#[test]
fn negative_rules_that_cannot_grant_are_errors_as_in_apache() {
    // Apache 2.4.71 refuses each of these at startup.
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html/a>\n        Require not ip 10.0.0.1\n    </Directory>\n    <Directory /var/www/html/b>\n        <RequireNone>\n            Require ip 10.0.0.1\n        </RequireNone>\n    </Directory>\n    <Directory /var/www/html/c>\n        <RequireAll>\n            Require not ip 10.0.0.1\n        </RequireAll>\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(
        &out,
        "sites-enabled/x.conf:3:",
        &["Require not", "<RequireAll>"],
    );
    assert_rejected(&out, "sites-enabled/x.conf:6:", &["<RequireNone>"]);
    assert_rejected(
        &out,
        "sites-enabled/x.conf:11:",
        &["solo contiene reglas negativas"],
    );
    // The form the course teaches is fine.
    let good = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        <RequireAll>\n            Require ip 192.168.10.0/24\n            Require not ip 192.168.10.66\n        </RequireAll>\n    </Directory>\n</VirtualHost>\n",
    );
    good.configtest().assert_code(0);
}

#[test]
fn options_mixing_signed_and_unsigned_is_an_error() {
    let lab = site_x(
        "<VirtualHost *:80>\n    <Directory /var/www/html>\n        Options +Indexes FollowSymLinks\n    </Directory>\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:3:", &["FollowSymLinks"]);
    insta::assert_snapshot!("options_mixed", report(&out));
}

#[test]
fn two_mpms_enabled_is_an_error() {
    let lab = TestLab::new();
    lab.symlink(
        "../mods-available/mpm_prefork.load",
        "etc/apache2/mods-enabled/mpm_prefork.load",
    );
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", report(&out));
    let all = out.all();
    assert!(
        all.contains("mpm_event") && all.contains("mpm_prefork"),
        "{all}"
    );
    assert!(
        all.contains("a2dismod"),
        "la ayuda debería proponer a2dismod:\n{all}"
    );
    insta::assert_snapshot!("two_mpms", report(&out));
}

#[test]
fn no_mpm_enabled_is_an_error() {
    let lab = TestLab::new();
    std::fs::remove_file(lab.path("etc/apache2/mods-enabled/mpm_event.load")).expect("rm");
    let _ = std::fs::remove_file(lab.path("etc/apache2/mods-enabled/mpm_event.conf"));
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", report(&out));
    assert!(out.all().contains("MPM"), "{}", report(&out));
}

#[test]
fn undefined_variable_is_an_error() {
    let lab = site_x("<VirtualHost *:80>\n    DocumentRoot ${NO_DEFINIDA}/html\n</VirtualHost>\n");
    let out = lab.configtest();
    assert_rejected(&out, "sites-enabled/x.conf:2:", &["NO_DEFINIDA"]);
    insta::assert_snapshot!("undefined_variable", report(&out));
}

#[test]
fn define_makes_a_variable_available() {
    let lab = site_x(
        "Define SITIO /var/www/html\n<VirtualHost *:80>\n    DocumentRoot ${SITIO}\n</VirtualHost>\n",
    );
    lab.configtest().assert_code(0);
}

#[test]
fn several_errors_are_all_reported() {
    let lab = site_x(
        "<VirtualHost *:80>\n    DocumentRot /var/www/html\n    ServerNme x.localhost\n</VirtualHost>\n",
    );
    let out = lab.configtest();
    assert_rejected(
        &out,
        "sites-enabled/x.conf:2:5",
        &["sites-enabled/x.conf:3:5", "ServerName"],
    );
}
