//! The Debian-shaped tree written by `lab init`: `etc/apache2` as a fresh `apt install apache2`
//! leaves it (restricted to the modules the lab implements), the "It works" page, empty logs
//! and the runtime directories.
//!
//! The texts live in `files/` and are embedded at build time; `.load` files and icons are
//! generated from the lab's module table ([`crate::config::modules::MODULES`]) and a small
//! icon list.

use std::path::{Path, PathBuf};

use crate::config::modules::{ModuleInfo, MODULES};

use super::{settings_text, Settings, Workspace, WorkspaceError, SETTINGS_FILE};

/// `mods-available/NAME.conf` for the modules where Debian ships one.
const MODULE_CONFS: &[(&str, &str)] = &[
    ("alias", include_str!("files/mods/alias.conf")),
    ("actions", include_str!("files/mods/actions.conf")),
    ("autoindex", include_str!("files/mods/autoindex.conf")),
    ("cgid", include_str!("files/mods/cgid.conf")),
    ("dir", include_str!("files/mods/dir.conf")),
    ("mime", include_str!("files/mods/mime.conf")),
    ("mpm_event", include_str!("files/mods/mpm_event.conf")),
    ("mpm_prefork", include_str!("files/mods/mpm_prefork.conf")),
    ("mpm_worker", include_str!("files/mods/mpm_worker.conf")),
    ("php8.2", include_str!("files/mods/php8.2.conf")),
    ("proxy", include_str!("files/mods/proxy.conf")),
    ("actions", include_str!("files/mods/actions.conf")),
    ("reqtimeout", include_str!("files/mods/reqtimeout.conf")),
    ("setenvif", include_str!("files/mods/setenvif.conf")),
    ("scriptcache", include_str!("files/mods/scriptcache.conf")),
    ("status", include_str!("files/mods/status.conf")),
    ("wsgi", include_str!("files/mods/wsgi.conf")),
];

/// The text of `mods-available/NAME.conf`, when the module has one.
pub fn module_conf(name: &str) -> Option<&'static str> {
    MODULE_CONFS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The modules that get files in `mods-available/`: every module the lab implements except
/// those built into Debian's `apache2` binary (core, so, log_config...).
pub fn loadable_modules() -> impl Iterator<Item = &'static ModuleInfo> {
    MODULES.iter().filter(|m| !m.builtin)
}

/// `conf-available/` files: name, text, enabled by default.
const CONFS: &[(&str, &str, bool)] = &[
    ("charset", include_str!("files/conf/charset.conf"), true),
    (
        "localized-error-pages",
        include_str!("files/conf/localized-error-pages.conf"),
        true,
    ),
    (
        "other-vhosts-access-log",
        include_str!("files/conf/other-vhosts-access-log.conf"),
        true,
    ),
    ("security", include_str!("files/conf/security.conf"), true),
    (
        "serve-cgi-bin",
        include_str!("files/conf/serve-cgi-bin.conf"),
        true,
    ),
    (
        "php8.2-fpm",
        include_str!("files/conf/php8.2-fpm.conf"),
        false,
    ),
];

/// Plain files written as they are (path relative to the workspace root).
const FILES: &[(&str, &str)] = &[
    (
        "etc/apache2/apache2.conf",
        include_str!("files/apache2.conf"),
    ),
    ("etc/apache2/envvars", include_str!("files/envvars")),
    ("etc/apache2/ports.conf", include_str!("files/ports.conf")),
    (
        "etc/apache2/sites-available/000-default.conf",
        include_str!("files/000-default.conf"),
    ),
    ("etc/mime.types", include_str!("files/mime.types")),
    ("etc/memcached.conf", include_str!("files/memcached.conf")),
    (
        "etc/php/8.2/fpm/php-fpm.conf",
        include_str!("files/php/php-fpm.conf"),
    ),
    (
        "etc/php/8.2/fpm/pool.d/www.conf",
        include_str!("files/php/www.conf"),
    ),
    ("etc/php/8.2/fpm/php.ini", include_str!("files/php/php.ini")),
    (
        "etc/php/8.2/apache2/php.ini",
        include_str!("files/php/php.ini"),
    ),
    ("etc/php/8.2/cgi/php.ini", include_str!("files/php/php.ini")),
    ("var/log/php8.2-fpm.log", ""),
    ("var/www/html/index.html", include_str!("files/index.html")),
    ("var/log/apache2/access.log", ""),
    ("var/log/apache2/error.log", ""),
    ("var/log/memcached.log", ""),
    (
        crate::proxy::config::UNIT_LIB,
        crate::proxy::config::DEBIAN_UNIT,
    ),
    (
        crate::proxy::config::VCL_PATH,
        crate::proxy::config::DEFAULT_VCL,
    ),
];

/// Empty directories of the tree.
const DIRS: &[&str] = &[
    "etc/apache2/sites-enabled",
    "etc/apache2/mods-enabled",
    "etc/apache2/conf-enabled",
    "run/apache2",
    "run/php",
    "var/lock/apache2",
    "run/apache2/socks",
    "usr/lib/cgi-bin",
    "var/log/varnish",
    "etc/systemd/system",
    ".lab",
];

/// Icons for directory listings (`/icons/` in alias.conf): file name, label, colour.
const ICONS: &[(&str, &str, &str)] = &[
    ("back", "..", "#6b7280"),
    ("binary", "BIN", "#374151"),
    ("blank", "", "#ffffff"),
    ("compressed", "ZIP", "#b45309"),
    ("folder", "DIR", "#d97706"),
    ("image", "IMG", "#059669"),
    ("layout", "HTM", "#2563eb"),
    ("movie", "VID", "#7c3aed"),
    ("script", "SCR", "#0f766e"),
    ("sound", "SND", "#db2777"),
    ("text", "TXT", "#4b5563"),
    ("unknown", "?", "#9ca3af"),
];

/// The `.load` text of a module, with Debian's `# Depends:`/`# Conflicts:` header lines.
pub fn load_text(m: &ModuleInfo) -> String {
    if m.name == crate::config::modules::PHP {
        // Debian's own file: Conflicts before Depends, and the library's real name.
        return include_str!("files/mods/php8.2.load").to_string();
    }
    let mut out = String::new();
    if !m.depends.is_empty() {
        out.push_str(&format!("# Depends: {}\n", m.depends.join(" ")));
    }
    if !m.conflicts.is_empty() {
        out.push_str(&format!("# Conflicts: {}\n", m.conflicts.join(" ")));
    }
    out.push_str(&format!(
        "LoadModule {0}_module /usr/lib/apache2/modules/mod_{0}.so\n",
        m.name
    ));
    out
}

fn icon_svg(label: &str, colour: &str) -> String {
    let text = if label.is_empty() {
        String::new()
    } else {
        format!(
            "<text x=\"10\" y=\"14\" font-family=\"sans-serif\" font-size=\"7\" \
             text-anchor=\"middle\" fill=\"#fff\">{label}</text>"
        )
    };
    let fill = if label.is_empty() { "none" } else { colour };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"20\" height=\"22\" viewBox=\"0 0 20 22\">\
         <rect x=\"1\" y=\"1\" width=\"18\" height=\"20\" rx=\"2\" fill=\"{fill}\"/>{text}</svg>\n"
    )
}

/// Creates a new workspace in `dir` (created when missing; it must be empty if it exists).
/// `student` goes to `lab.toml`.
pub fn init(dir: &Path, student: Option<&str>) -> Result<Workspace, WorkspaceError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(WorkspaceError::NotEmpty {
                    path: dir.display().to_string(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| WorkspaceError::io("crear el directorio", dir, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(WorkspaceError::NotEmpty {
                path: dir.display().to_string(),
            });
        }
        Err(e) => return Err(WorkspaceError::io("leer el directorio", dir, e)),
    }

    let settings = Settings {
        student: student.unwrap_or_default().to_string(),
        ..Settings::default()
    };
    write(dir, SETTINGS_FILE, &settings_text(&settings))?;
    for (path, text) in FILES {
        write(dir, path, text)?;
    }
    for d in DIRS {
        mkdir(&dir.join(d))?;
    }

    let apache = "etc/apache2";
    for m in loadable_modules() {
        write(
            dir,
            &format!("{apache}/mods-available/{}.load", m.name),
            &load_text(m),
        )?;
        let conf = module_conf(m.name);
        if let Some(conf) = conf {
            write(
                dir,
                &format!("{apache}/mods-available/{}.conf", m.name),
                conf,
            )?;
        }
        if m.default_enabled {
            link(dir, apache, "mods", &format!("{}.load", m.name))?;
            if conf.is_some() {
                link(dir, apache, "mods", &format!("{}.conf", m.name))?;
            }
        }
    }
    for (name, text, enabled) in CONFS {
        write(dir, &format!("{apache}/conf-available/{name}.conf"), text)?;
        if *enabled {
            link(dir, apache, "conf", &format!("{name}.conf"))?;
        }
    }
    link(dir, apache, "sites", "000-default.conf")?;

    for (name, label, colour) in ICONS {
        write(
            dir,
            &format!("usr/share/apache2/icons/{name}.svg"),
            &icon_svg(label, colour),
        )?;
    }

    Workspace::open(dir)
}

fn mkdir(path: &Path) -> Result<(), WorkspaceError> {
    std::fs::create_dir_all(path).map_err(|e| WorkspaceError::io("crear el directorio", path, e))
}

fn write(root: &Path, rel: &str, text: &str) -> Result<(), WorkspaceError> {
    let path: PathBuf = root.join(rel);
    if let Some(parent) = path.parent() {
        mkdir(parent)?;
    }
    std::fs::write(&path, text).map_err(|e| WorkspaceError::io("escribir", &path, e))
}

/// `KIND-enabled/FILE -> ../KIND-available/FILE`, relative like Debian's links.
fn link(root: &Path, apache: &str, kind: &str, file: &str) -> Result<(), WorkspaceError> {
    let enabled = root.join(format!("{apache}/{kind}-enabled"));
    mkdir(&enabled)?;
    let at = enabled.join(file);
    std::os::unix::fs::symlink(format!("../{kind}-available/{file}"), &at)
        .map_err(|e| WorkspaceError::io("crear el enlace", &at, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = init(&tmp.path().join("ws"), Some("alu0042")).expect("init");
        (tmp, ws)
    }

    #[test]
    fn init_writes_the_debian_tree() {
        let (_tmp, ws) = fresh();
        assert_eq!(ws.settings.student, "alu0042");
        for f in [
            "lab.toml",
            "etc/apache2/apache2.conf",
            "etc/apache2/envvars",
            "etc/apache2/ports.conf",
            "etc/apache2/sites-available/000-default.conf",
            "etc/apache2/mods-available/mpm_event.load",
            "etc/apache2/mods-available/mpm_event.conf",
            "etc/apache2/mods-available/headers.load",
            "etc/apache2/conf-available/security.conf",
            "etc/mime.types",
            "var/www/html/index.html",
            "var/log/apache2/access.log",
            "var/log/apache2/error.log",
            "usr/share/apache2/icons/folder.svg",
        ] {
            assert!(ws.root.join(f).is_file(), "falta {f}");
        }
        for d in ["run", ".lab", "etc/apache2/sites-enabled"] {
            assert!(ws.root.join(d).is_dir(), "falta {d}");
        }
        let index = std::fs::read_to_string(ws.root.join("var/www/html/index.html")).unwrap();
        assert!(index.contains("¡Funciona!"));
    }

    #[test]
    fn enabled_entries_are_valid_relative_symlinks() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        let site = apache.join("sites-enabled/000-default.conf");
        assert_eq!(
            std::fs::read_link(&site).unwrap(),
            Path::new("../sites-available/000-default.conf")
        );
        let mut count = 0;
        for kind in ["mods", "conf", "sites"] {
            for entry in std::fs::read_dir(apache.join(format!("{kind}-enabled"))).unwrap() {
                let path = entry.unwrap().path();
                let target = std::fs::read_link(&path).unwrap();
                assert!(target.is_relative(), "{} no es relativo", path.display());
                assert!(path.is_file(), "{} apunta a la nada", path.display());
                count += 1;
            }
        }
        let modules: Vec<_> = loadable_modules().filter(|m| m.default_enabled).collect();
        let with_conf = modules
            .iter()
            .filter(|m| module_conf(m.name).is_some())
            .count();
        let enabled_confs = CONFS.iter().filter(|(_, _, on)| *on).count();
        let expected = modules.len() + with_conf + enabled_confs + 1;
        assert_eq!(count, expected);
        assert!(apache.join("mods-enabled/status.conf").is_file());
        assert!(apache.join("mods-enabled/authz_host.load").is_file());
        assert!(!apache.join("mods-enabled/mpm_prefork.load").exists());
    }

    #[test]
    fn load_files_declare_depends_and_conflicts() {
        let (_tmp, ws) = fresh();
        let read = |n: &str| {
            std::fs::read_to_string(ws.apache_dir().join("mods-available").join(n)).unwrap()
        };
        assert_eq!(
            read("mpm_prefork.load"),
            "# Conflicts: mpm_event mpm_worker\n\
             LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n"
        );
        assert!(read("authz_host.load").starts_with("# Depends: authz_core\n"));
    }

    #[test]
    fn init_refuses_a_non_empty_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notas.txt"), "hola").unwrap();
        let err = init(tmp.path(), None).unwrap_err();
        assert!(matches!(err, WorkspaceError::NotEmpty { .. }));
        assert!(err.to_string().contains("no está vacío"));
    }

    #[test]
    fn init_accepts_an_existing_empty_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = init(tmp.path(), None).unwrap();
        assert!(ws.root.join("lab.toml").is_file());
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn a_fresh_workspace_loads_without_diagnostics() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = init(&tmp.path().join("ws"), None).expect("init");
        match crate::config::load(&ws) {
            Ok(loaded) => {
                // mod_gnutls is a real module the lab does not implement; until the module
                // table lists it, its `<IfModule>` in ports.conf may draw a warning.
                let warnings: Vec<_> = loaded
                    .warnings
                    .into_iter()
                    .filter(|w| !w.message.contains("gnutls"))
                    .collect();
                let text = crate::config::diagnostic::render(&warnings, Some(&ws.root));
                assert!(warnings.is_empty(), "{text}");
                assert_eq!(loaded.config.vhosts.len(), 1);
            }
            Err(errs) => panic!(
                "{}",
                crate::config::diagnostic::render(&errs, Some(&ws.root))
            ),
        }
    }
}
