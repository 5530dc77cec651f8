//! `lab init`: the Debian-shaped workspace tree.

mod common;

use std::path::Path;

use common::{run_lab, TestLab};

/// Every entry of `dir` is a relative symlink to `../<kind>-available/<same name>`.
fn assert_enabled_links(root: &Path, kind: &str) -> usize {
    let enabled = root.join(format!("etc/apache2/{kind}-enabled"));
    let mut count = 0;
    for entry in std::fs::read_dir(&enabled).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("symlink_metadata");
        assert!(
            meta.file_type().is_symlink(),
            "{} debería ser un enlace simbólico",
            path.display()
        );
        let target = std::fs::read_link(&path).expect("read_link");
        let name = entry.file_name();
        let expected = Path::new("..")
            .join(format!("{kind}-available"))
            .join(&name);
        assert_eq!(
            target,
            expected,
            "{} debe apuntar (con ruta relativa) a {}",
            path.display(),
            expected.display()
        );
        assert!(path.is_file(), "{} está roto", path.display());
        count += 1;
    }
    count
}

#[test]
fn init_creates_the_debian_tree() {
    let lab = TestLab::new();
    for file in [
        "lab.toml",
        "etc/apache2/apache2.conf",
        "etc/apache2/ports.conf",
        "etc/apache2/envvars",
        "etc/apache2/sites-available/000-default.conf",
        "etc/apache2/mods-available/mpm_event.load",
        "etc/apache2/mods-available/mpm_prefork.load",
        "etc/apache2/mods-available/autoindex.load",
        "etc/apache2/conf-available/security.conf",
        "var/www/html/index.html",
    ] {
        assert!(lab.path(file).is_file(), "falta {file}");
    }
    for dir in ["var/log/apache2", "run", "etc/apache2/conf-enabled"] {
        assert!(lab.path(dir).is_dir(), "falta el directorio {dir}");
    }
    let apache2 = lab.read("etc/apache2/apache2.conf");
    for needle in [
        "IncludeOptional mods-enabled/*.load",
        "Include ports.conf",
        "IncludeOptional sites-enabled/*.conf",
    ] {
        assert!(apache2.contains(needle), "apache2.conf sin {needle:?}");
    }
    assert!(lab.read("etc/apache2/ports.conf").contains("Listen 80"));
    let site = lab.read("etc/apache2/sites-available/000-default.conf");
    assert!(site.contains("<VirtualHost *:80>"));
    assert!(site.contains("DocumentRoot /var/www/html"));
}

#[test]
fn enabled_entries_are_relative_symlinks_into_available() {
    let lab = TestLab::new();
    assert_eq!(assert_enabled_links(&lab.root, "sites"), 1);
    assert!(assert_enabled_links(&lab.root, "mods") >= 10);
    assert!(assert_enabled_links(&lab.root, "conf") >= 3);
    let mods = lab.path("etc/apache2/mods-enabled");
    assert!(
        mods.join("mpm_event.load").is_file(),
        "mpm_event activado por defecto"
    );
    assert!(!mods.join("mpm_prefork.load").exists());
    assert!(!mods.join("mpm_worker.load").exists());
    assert!(mods.join("autoindex.load").is_file());
    assert!(mods.join("status.conf").is_file());
}

#[test]
fn index_page_is_in_spanish() {
    let lab = TestLab::new();
    let index = lab.read("var/www/html/index.html");
    assert!(index.contains("lang=\"es\""), "index.html sin lang=\"es\"");
    assert!(
        index.contains("Funciona"),
        "index.html sin «Funciona»:\n{index}"
    );
}

#[test]
fn init_records_the_student_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = tmp.path().join("alumno");
    run_lab(
        &["init", ws.to_str().expect("utf-8"), "--student", "ana-42"],
        tmp.path(),
    )
    .assert_code(0);
    let toml = std::fs::read_to_string(ws.join("lab.toml")).expect("lab.toml");
    assert!(
        toml.contains("student = \"ana-42\""),
        "lab.toml sin el id:\n{toml}"
    );
}

#[test]
fn init_refuses_a_non_empty_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("notas.txt"), "mío").expect("write");
    let out = run_lab(&["init", tmp.path().to_str().expect("utf-8")], tmp.path());
    out.assert_code(1);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notas.txt")).expect("read"),
        "mío"
    );
    assert!(!tmp.path().join("lab.toml").exists());
}

#[test]
fn an_unknown_option_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    run_lab(&["init", "--no-existe", "x"], tmp.path()).assert_code(2);
}

/// The directive lines of an Apache file: comments and blank lines dropped, runs of blanks
/// made one space.
fn directives(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn conf_enabled_holds_the_five_confs_debian_enables() {
    let lab = TestLab::new();
    let mut names: Vec<String> = std::fs::read_dir(lab.path("etc/apache2/conf-enabled"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "charset.conf",
            "localized-error-pages.conf",
            "other-vhosts-access-log.conf",
            "security.conf",
            "serve-cgi-bin.conf",
        ]
    );
    // On a machine with Debian's apache2 installed, the same list as the package's.
    let real = Path::new("/etc/apache2/conf-enabled");
    if real.is_dir() {
        let mut debian: Vec<String> = std::fs::read_dir(real)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("php"))
            .collect();
        debian.sort();
        assert_eq!(names, debian);
    } else {
        eprintln!("sin /etc/apache2 en esta máquina: solo se compara con la lista escrita");
    }
}

#[test]
fn module_and_conf_files_have_debians_shape_and_directives() {
    let lab = TestLab::new();
    let real = Path::new("/etc/apache2");
    let mut compared = 0;
    for kind in ["mods-available", "conf-available"] {
        for entry in std::fs::read_dir(lab.path(&format!("etc/apache2/{kind}"))).expect("read_dir")
        {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".conf") {
                continue;
            }
            let ours = directives(&std::fs::read_to_string(&path).expect("read"));
            // Debian 12 wraps none of these files in an <IfModule> of their own module
            // (mods-available/wsgi.conf, from libapache2-mod-wsgi-py3, is the exception).
            if name != "wsgi.conf" && kind == "mods-available" {
                let wrapped = ours.first().is_some_and(|l| l.starts_with("<IfModule"))
                    && ours.last().is_some_and(|l| l == "</IfModule>");
                assert!(
                    !wrapped,
                    "{kind}/{name} no lleva <IfModule> alrededor en Debian"
                );
            }
            // The course trims autoindex's icons and mime's languages to what the lab ships.
            if name == "autoindex.conf" || name == "mime.conf" {
                continue;
            }
            let theirs = real.join(kind).join(&name);
            if let Ok(text) = std::fs::read_to_string(&theirs) {
                assert_eq!(ours, directives(&text), "{kind}/{name} difiere de Debian");
                compared += 1;
            }
        }
    }
    if compared == 0 {
        eprintln!("sin /etc/apache2 en esta máquina: no se comparan las directivas con Debian");
    }
}
