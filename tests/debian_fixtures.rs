//! Debian 12's default Apache configuration (recreated in tests/fixtures/debian) is
//! accepted by `lab configtest` when laid into a workspace with Debian's default links.

mod common;

use std::path::Path;

use common::TestLab;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/debian");

/// `mods-enabled` of a fresh Debian install, restricted to the fixtures we ship.
const ENABLED_MODS: &[&str] = &[
    "alias.conf",
    "alias.load",
    "authz_core.load",
    "authz_host.load",
    "autoindex.conf",
    "autoindex.load",
    "dir.conf",
    "dir.load",
    "env.load",
    "mime.conf",
    "mime.load",
    "mpm_event.conf",
    "mpm_event.load",
    "reqtimeout.conf",
    "reqtimeout.load",
    "setenvif.conf",
    "setenvif.load",
    "status.conf",
    "status.load",
];

const ENABLED_CONFS: &[&str] = &[
    "charset.conf",
    "localized-error-pages.conf",
    "other-vhosts-access-log.conf",
    "security.conf",
    "serve-cgi-bin.conf",
];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create_dir_all");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file_type").is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// A workspace whose `etc/apache2` is exactly the Debian fixtures plus Debian's links.
fn debian_workspace() -> TestLab {
    let lab = TestLab::new();
    let apache = lab.path("etc/apache2");
    std::fs::remove_dir_all(&apache).expect("rm etc/apache2");
    copy_tree(Path::new(FIXTURES), &apache);
    for m in ENABLED_MODS {
        lab.symlink(
            format!("../mods-available/{m}"),
            &format!("etc/apache2/mods-enabled/{m}"),
        );
    }
    for c in ENABLED_CONFS {
        lab.symlink(
            format!("../conf-available/{c}"),
            &format!("etc/apache2/conf-enabled/{c}"),
        );
    }
    lab.symlink(
        "../sites-available/000-default.conf",
        "etc/apache2/sites-enabled/000-default.conf",
    );
    lab
}

#[test]
fn fixtures_cover_the_files_debian_enables() {
    for m in ENABLED_MODS {
        let p = Path::new(FIXTURES).join("mods-available").join(m);
        assert!(p.is_file(), "falta el fixture {}", p.display());
    }
    for f in [
        "apache2.conf",
        "ports.conf",
        "envvars",
        "sites-available/000-default.conf",
    ] {
        assert!(
            Path::new(FIXTURES).join(f).is_file(),
            "falta el fixture {f}"
        );
    }
}

#[test]
fn debian_default_configuration_passes_configtest() {
    let lab = debian_workspace();
    let out = lab.configtest();
    assert_eq!(
        out.code, 0,
        "la configuración por defecto de Debian debería ser válida\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    assert!(out.all().contains("Sintaxis correcta"), "{}", out.all());
}

#[test]
fn debian_default_configuration_serves_the_default_page() {
    let mut lab = debian_workspace();
    lab.start();
    let resp = lab.get("/");
    assert_eq!(resp.status, 200, "{resp}");
    assert!(resp.text().contains("Funciona"), "{resp}");
}

#[test]
fn every_mpm_fixture_alone_passes_configtest() {
    for mpm in ["mpm_prefork", "mpm_worker"] {
        let lab = debian_workspace();
        for ext in ["load", "conf"] {
            std::fs::remove_file(lab.path(&format!("etc/apache2/mods-enabled/mpm_event.{ext}")))
                .expect("rm");
            lab.symlink(
                format!("../mods-available/{mpm}.{ext}"),
                &format!("etc/apache2/mods-enabled/{mpm}.{ext}"),
            );
        }
        let out = lab.configtest();
        assert_eq!(out.code, 0, "{mpm}:\n{}", out.all());
    }
}

#[test]
fn optional_module_fixtures_pass_configtest_when_enabled() {
    let lab = debian_workspace();
    for m in ["headers.load", "expires.load"] {
        lab.symlink(
            format!("../mods-available/{m}"),
            &format!("etc/apache2/mods-enabled/{m}"),
        );
    }
    let out = lab.configtest();
    assert_eq!(out.code, 0, "{}", out.all());
}
