//! Debian's `a2ensite`, `a2dissite`, `a2enmod`, `a2dismod`, `a2enconf` and `a2disconf`, with
//! the same behaviour and Spanish messages.
//!
//! Enabling creates a relative symlink `KIND-enabled/FILE -> ../KIND-available/FILE`;
//! disabling removes it. Modules have a `.load` file and maybe a `.conf` (both are linked).
//! A module's `.load` may declare `# Depends: a b` (enabled first, recursively) and
//! `# Conflicts: c d` (enabling is refused while one of them is enabled); disabling a module
//! that an enabled module depends on is refused.
//!
//! The functions return an [`A2Outcome`] (lines and exit code) instead of printing, so the CLI
//! prints and tests assert.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::diagnostic::suggest;

/// What `a2*` acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Site,
    Module,
    Conf,
}

impl Kind {
    /// `sites`, `mods` or `conf`: the prefix of the `-available`/`-enabled` directories.
    fn dir(self) -> &'static str {
        match self {
            Kind::Site => "sites",
            Kind::Module => "mods",
            Kind::Conf => "conf",
        }
    }

    /// Spanish noun with article-free form: "el sitio", "el módulo", "la configuración".
    fn noun(self) -> &'static str {
        match self {
            Kind::Site => "el sitio",
            Kind::Module => "el módulo",
            Kind::Conf => "la configuración",
        }
    }

    fn capital_noun(self) -> &'static str {
        match self {
            Kind::Site => "El sitio",
            Kind::Module => "El módulo",
            Kind::Conf => "La configuración",
        }
    }

    /// Adjective agreement: "activado" / "activada".
    fn enabled_word(self) -> &'static str {
        match self {
            Kind::Conf => "activada",
            _ => "activado",
        }
    }

    fn disabled_word(self) -> &'static str {
        match self {
            Kind::Conf => "desactivada",
            _ => "desactivado",
        }
    }

    fn command(self, enable: bool) -> &'static str {
        match (self, enable) {
            (Kind::Site, true) => "a2ensite",
            (Kind::Site, false) => "a2dissite",
            (Kind::Module, true) => "a2enmod",
            (Kind::Module, false) => "a2dismod",
            (Kind::Conf, true) => "a2enconf",
            (Kind::Conf, false) => "a2disconf",
        }
    }

    /// The files that make up one item: `NAME.conf`, or `NAME.load` + `NAME.conf`.
    fn files(self, name: &str) -> Vec<String> {
        match self {
            Kind::Module => vec![format!("{name}.load"), format!("{name}.conf")],
            _ => vec![format!("{name}.conf")],
        }
    }

    /// The file whose presence means "this item exists / is enabled".
    fn main_file(self, name: &str) -> String {
        match self {
            Kind::Module => format!("{name}.load"),
            _ => format!("{name}.conf"),
        }
    }

    /// Strips what users commonly add to a name: `.conf`, `.load`, `mod_`.
    fn normalize(self, name: &str) -> String {
        let name = name.trim().trim_end_matches('/');
        let name = name.rsplit('/').next().unwrap_or(name);
        match self {
            Kind::Module => {
                let n = name
                    .strip_suffix(".load")
                    .or_else(|| name.strip_suffix(".conf"))
                    .unwrap_or(name);
                n.strip_prefix("mod_").unwrap_or(n).to_string()
            }
            _ => name.strip_suffix(".conf").unwrap_or(name).to_string(),
        }
    }
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// True for lines meant for stderr.
    pub error: bool,
    pub text: String,
}

/// The result of one `a2*` command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct A2Outcome {
    pub lines: Vec<Line>,
    /// 0 when every name was handled, 1 otherwise.
    pub exit_code: i32,
}

impl A2Outcome {
    fn info(&mut self, text: impl Into<String>) {
        self.lines.push(Line {
            error: false,
            text: text.into(),
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.lines.push(Line {
            error: true,
            text: text.into(),
        });
    }

    /// All lines joined, for tests and simple printing.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{}\n", l.text)).collect()
    }
}

/// The hint printed after any successful change. Debian's `a2enmod`/`a2dismod` ask for a
/// restart (a module is loaded by Apache's main process), the site and conf commands for a
/// reload; the lab applies both with `lab reload`, and says what Debian would ask.
pub fn reload_hint(kind: Kind) -> String {
    let debian = match kind {
        Kind::Module => "restart",
        Kind::Site | Kind::Conf => "reload",
    };
    format!(
        "Para activar la nueva configuración, ejecuta: lab reload\n\
         (en Debian: systemctl {debian} apache2)"
    )
}

/// `a2ensite`/`a2enmod`/`a2enconf NAME...` on the Apache directory `apache_dir`
/// (the workspace's `etc/apache2`).
pub fn enable(apache_dir: &Path, kind: Kind, names: &[String]) -> A2Outcome {
    run(apache_dir, kind, names, true)
}

/// `a2dissite`/`a2dismod`/`a2disconf NAME...`.
pub fn disable(apache_dir: &Path, kind: Kind, names: &[String]) -> A2Outcome {
    run(apache_dir, kind, names, false)
}

fn run(apache_dir: &Path, kind: Kind, names: &[String], enable: bool) -> A2Outcome {
    let mut tool = Tool {
        apache_dir: apache_dir.to_path_buf(),
        kind,
        out: A2Outcome::default(),
        changed: false,
    };
    if names.is_empty() {
        tool.out.error(format!(
            "ERROR: indica qué quieres {}: lab {} NOMBRE",
            if enable { "activar" } else { "desactivar" },
            kind.command(enable)
        ));
        tool.out.exit_code = 1;
        return tool.out;
    }
    let mut failed = false;
    for raw in names {
        let name = kind.normalize(raw);
        let ok = if enable {
            tool.enable(&name, &mut BTreeSet::new())
        } else {
            tool.disable(&name)
        };
        failed |= !ok;
    }
    if tool.changed {
        tool.out.info(reload_hint(kind));
    }
    tool.out.exit_code = i32::from(failed);
    tool.out
}

struct Tool {
    apache_dir: PathBuf,
    kind: Kind,
    out: A2Outcome,
    changed: bool,
}

impl Tool {
    fn available(&self) -> PathBuf {
        self.apache_dir
            .join(format!("{}-available", self.kind.dir()))
    }

    fn enabled_dir(&self) -> PathBuf {
        self.apache_dir.join(format!("{}-enabled", self.kind.dir()))
    }

    fn exists(&self, name: &str) -> bool {
        self.available().join(self.kind.main_file(name)).is_file()
    }

    fn is_enabled(&self, name: &str) -> bool {
        self.enabled_dir()
            .join(self.kind.main_file(name))
            .symlink_metadata()
            .is_ok()
    }

    /// Names in `KIND-available`, for suggestions and reverse dependencies.
    fn available_names(&self) -> Vec<String> {
        let ext = match self.kind {
            Kind::Module => ".load",
            _ => ".conf",
        };
        let mut names: Vec<String> = std::fs::read_dir(self.available())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(ext))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names
    }

    /// `# Depends:` or `# Conflicts:` of a module's `.load` file.
    fn header_list(&self, name: &str, key: &str) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.available().join(format!("{name}.load")))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix('#') else {
                continue;
            };
            if let Some(list) = rest.trim_start().strip_prefix(key) {
                out.extend(
                    list.split(|c: char| c.is_whitespace() || c == ',')
                        .filter(|s| !s.is_empty())
                        .map(|s| Kind::Module.normalize(s)),
                );
            }
        }
        out
    }

    fn does_not_exist(&mut self, name: &str) {
        let kind = self.kind;
        let mut msg = format!("ERROR: {} {name} no existe", kind.noun());
        let names = self.available_names();
        if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
            msg.push_str(&format!(". ¿Quisiste decir {s}?"));
        } else if names.is_empty() {
            msg.push('.');
        } else {
            msg.push_str(&format!(". Disponibles: {}", names.join(", ")));
        }
        self.out.error(msg);
    }

    /// A module the lab implements whose `.load` is missing from `mods-available/` (a
    /// workspace made by an older `lab init`, or a file deleted by hand) gets its Debian files
    /// back, as installing the package that ships them would. Nothing is overwritten.
    fn restore_module(&mut self, name: &str) -> bool {
        let Some(m) = crate::workspace::template::loadable_modules().find(|m| m.name == name)
        else {
            return false;
        };
        let dir = self.available();
        if dir.join(format!("{name}.load")).symlink_metadata().is_ok() {
            // Something that is not a file is there: not ours to replace.
            return false;
        }
        let mut files = vec![(
            format!("{name}.load"),
            crate::workspace::template::load_text(m),
        )];
        if let Some(conf) = crate::workspace::template::module_conf(name) {
            files.push((format!("{name}.conf"), conf.to_string()));
        }
        let mut made = Vec::new();
        for (file, text) in files {
            let at = dir.join(&file);
            if at.symlink_metadata().is_ok() {
                continue;
            }
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&at, text)) {
                self.out.error(format!(
                    "ERROR: no se pudo crear {}: {e}",
                    rel(&self.apache_dir, &at)
                ));
                return false;
            }
            made.push(rel(&self.apache_dir, &at));
        }
        self.out.info(format!(
            "Faltaba {} (este espacio de trabajo es de una versión anterior del lab, o se \
             borró a mano); lo he creado como lo instala Debian.",
            made.join(" y ")
        ));
        true
    }

    fn enable(&mut self, name: &str, visiting: &mut BTreeSet<String>) -> bool {
        let kind = self.kind;
        let found = self.exists(name) || (kind == Kind::Module && self.restore_module(name));
        if !found {
            self.does_not_exist(name);
            return false;
        }
        if !visiting.insert(name.to_string()) {
            // A dependency cycle: the first visit handles it.
            return true;
        }
        if kind == Kind::Module {
            for conflict in self.header_list(name, "Conflicts:") {
                if self.is_enabled(&conflict) {
                    self.out.info(format!(
                        "Comprobando el conflicto de {name} con {conflict}:"
                    ));
                    self.out.error(format!(
                        "ERROR: el módulo {conflict} está activado; no se puede continuar por \
                         conflictos. Desactívalo primero: lab a2dismod {conflict}"
                    ));
                    return false;
                }
            }
            for dep in self.header_list(name, "Depends:") {
                self.out
                    .info(format!("Comprobando la dependencia {dep} de {name}:"));
                if !self.enable(&dep, visiting) {
                    self.out.error(format!(
                        "ERROR: no se pudo activar la dependencia {dep} de {name}; se cancela."
                    ));
                    return false;
                }
            }
        }
        let mut created = false;
        for file in kind.files(name) {
            if !self.available().join(&file).is_file() {
                continue;
            }
            let at = self.enabled_dir().join(&file);
            match at.symlink_metadata() {
                Ok(meta) if meta.file_type().is_symlink() => {
                    // Already linked (perhaps somewhere else: Debian leaves it alone too).
                }
                Ok(_) => {
                    self.out.error(format!(
                        "ERROR: {} existe y no es un enlace simbólico; no se toca. \
                         Bórralo o muévelo y vuelve a intentarlo.",
                        rel(&self.apache_dir, &at)
                    ));
                    return false;
                }
                Err(_) => {
                    if let Err(e) = std::fs::create_dir_all(self.enabled_dir()) {
                        self.out.error(format!(
                            "ERROR: no se pudo crear {}: {e}",
                            rel(&self.apache_dir, &self.enabled_dir())
                        ));
                        return false;
                    }
                    let target = format!("../{}-available/{file}", kind.dir());
                    if let Err(e) = std::os::unix::fs::symlink(&target, &at) {
                        self.out.error(format!(
                            "ERROR: no se pudo crear el enlace {}: {e}",
                            rel(&self.apache_dir, &at)
                        ));
                        return false;
                    }
                    created = true;
                }
            }
        }
        if created {
            self.out.info(format!("Activando {} {name}.", kind.noun()));
            self.changed = true;
        } else {
            self.out.info(format!(
                "{} {name} ya está {}",
                kind.capital_noun(),
                kind.enabled_word()
            ));
        }
        true
    }

    fn disable(&mut self, name: &str) -> bool {
        let kind = self.kind;
        if !self.is_enabled(name) {
            if self.exists(name) {
                self.out.info(format!(
                    "{} {name} ya está {}",
                    kind.capital_noun(),
                    kind.disabled_word()
                ));
                return true;
            }
            self.does_not_exist(name);
            return false;
        }
        if kind == Kind::Module {
            let dependents: Vec<String> = self
                .available_names()
                .into_iter()
                .filter(|other| other != name && self.is_enabled(other))
                .filter(|other| {
                    self.header_list(other, "Depends:")
                        .iter()
                        .any(|d| d == name)
                })
                .collect();
            if !dependents.is_empty() {
                self.out.error(format!(
                    "ERROR: estos módulos dependen de {name} y hay que desactivarlos antes: {}. \
                     Prueba: lab a2dismod {} {name}",
                    dependents.join(" "),
                    dependents.join(" ")
                ));
                return false;
            }
        }
        for file in kind.files(name) {
            let at = self.enabled_dir().join(&file);
            match at.symlink_metadata() {
                Ok(meta) if meta.file_type().is_symlink() => {
                    if let Err(e) = std::fs::remove_file(&at) {
                        self.out.error(format!(
                            "ERROR: no se pudo borrar {}: {e}",
                            rel(&self.apache_dir, &at)
                        ));
                        return false;
                    }
                }
                Ok(_) => {
                    self.out.error(format!(
                        "ERROR: {} no es un enlace simbólico; no se toca.",
                        rel(&self.apache_dir, &at)
                    ));
                    return false;
                }
                Err(_) => {}
            }
        }
        self.out.info(format!(
            "{} {name} queda {}.",
            kind.capital_noun(),
            kind.disabled_word()
        ));
        self.changed = true;
        true
    }
}

fn rel(base: &Path, path: &Path) -> String {
    let shown = path.strip_prefix(base).unwrap_or(path);
    format!("etc/apache2/{}", shown.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::{init, Workspace};

    fn fresh() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = init(&tmp.path().join("ws"), None).expect("init");
        (tmp, ws)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ensite_creates_a_relative_link_and_dissite_removes_it() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        std::fs::write(
            apache.join("sites-available/flask.conf"),
            "<VirtualHost *:80>\n</VirtualHost>\n",
        )
        .unwrap();
        let out = enable(&apache, Kind::Site, &names(&["flask.conf"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        assert_eq!(
            out.text(),
            format!("Activando el sitio flask.\n{}\n", reload_hint(Kind::Site))
        );
        let link = apache.join("sites-enabled/flask.conf");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../sites-available/flask.conf")
        );
        assert!(link.is_file());

        let out = disable(&apache, Kind::Site, &names(&["flask"]));
        assert_eq!(out.exit_code, 0);
        assert_eq!(
            out.text(),
            format!(
                "El sitio flask queda desactivado.\n{}\n",
                reload_hint(Kind::Site)
            )
        );
        assert!(link.symlink_metadata().is_err());

        let out = disable(&apache, Kind::Site, &names(&["flask"]));
        assert_eq!(out.text(), "El sitio flask ya está desactivado\n");
    }

    #[test]
    fn enmod_links_load_and_conf() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        let out = enable(&apache, Kind::Module, &names(&["headers"]));
        assert_eq!(out.exit_code, 0);
        assert!(apache.join("mods-enabled/headers.load").is_file());
        let out = disable(&apache, Kind::Module, &names(&["status"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        assert!(apache
            .join("mods-enabled/status.load")
            .symlink_metadata()
            .is_err());
        assert!(apache
            .join("mods-enabled/status.conf")
            .symlink_metadata()
            .is_err());
        let out = enable(&apache, Kind::Module, &names(&["mod_status"]));
        assert_eq!(out.exit_code, 0);
        assert_eq!(
            std::fs::read_link(apache.join("mods-enabled/status.conf")).unwrap(),
            Path::new("../mods-available/status.conf")
        );
    }

    #[test]
    fn enmod_enables_dependencies_first() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        let out = disable(&apache, Kind::Module, &names(&["authz_host", "authz_core"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        let out = enable(&apache, Kind::Module, &names(&["authz_host"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        // Debian's a2enmod asks for a restart, never a reload, after a module change.
        assert_eq!(
            out.text(),
            "Comprobando la dependencia authz_core de authz_host:\n\
             Activando el módulo authz_core.\n\
             Activando el módulo authz_host.\n\
             Para activar la nueva configuración, ejecuta: lab reload\n\
             (en Debian: systemctl restart apache2)\n"
        );
        assert!(apache.join("mods-enabled/authz_core.load").is_file());
    }

    #[test]
    fn enmod_refuses_a_conflicting_mpm() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        let out = enable(&apache, Kind::Module, &names(&["mpm_prefork"]));
        assert_eq!(out.exit_code, 1);
        assert!(out.text().contains(
            "ERROR: el módulo mpm_event está activado; no se puede continuar por conflictos. \
             Desactívalo primero: lab a2dismod mpm_event"
        ));
        assert!(!out.text().contains("lab reload"));
        assert!(!apache.join("mods-enabled/mpm_prefork.load").exists());

        let out = disable(&apache, Kind::Module, &names(&["mpm_event"]));
        assert_eq!(out.exit_code, 0);
        let out = enable(&apache, Kind::Module, &names(&["mpm_prefork"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        assert!(apache.join("mods-enabled/mpm_prefork.conf").is_file());
    }

    #[test]
    fn dismod_refuses_a_module_others_depend_on() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        let out = disable(&apache, Kind::Module, &names(&["authz_core"]));
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.text(),
            "ERROR: estos módulos dependen de authz_core y hay que desactivarlos antes: \
             authz_host. Prueba: lab a2dismod authz_host authz_core\n"
        );
        assert!(out.lines[0].error);
        assert!(apache.join("mods-enabled/authz_core.load").exists());
    }

    #[test]
    fn already_enabled_is_not_an_error() {
        let (_tmp, ws) = fresh();
        let out = enable(&ws.apache_dir(), Kind::Module, &names(&["alias"]));
        assert_eq!(out.exit_code, 0);
        assert_eq!(out.text(), "El módulo alias ya está activado\n");
        let out = enable(&ws.apache_dir(), Kind::Conf, &names(&["security"]));
        assert_eq!(out.text(), "La configuración security ya está activada\n");
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let (_tmp, ws) = fresh();
        let out = enable(&ws.apache_dir(), Kind::Module, &names(&["headrs"]));
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.text(),
            "ERROR: el módulo headrs no existe. ¿Quisiste decir headers?\n"
        );
        let out = enable(&ws.apache_dir(), Kind::Site, &names(&["000-defualt"]));
        assert!(out.text().contains("¿Quisiste decir 000-default?"));
    }

    #[test]
    fn one_failure_among_several_names_fails_the_command() {
        let (_tmp, ws) = fresh();
        let out = enable(&ws.apache_dir(), Kind::Module, &names(&["headers", "nada"]));
        assert_eq!(out.exit_code, 1);
        assert!(ws.apache_dir().join("mods-enabled/headers.load").exists());
        assert!(out
            .text()
            .ends_with("ejecuta: lab reload\n(en Debian: systemctl restart apache2)\n"));
    }

    #[test]
    fn a_module_missing_from_an_older_workspace_is_restored_then_enabled() {
        let (_tmp, ws) = fresh();
        let apache = ws.apache_dir();
        // A workspace from before mod_remoteip: no files for it.
        std::fs::remove_file(apache.join("mods-available/remoteip.load")).unwrap();
        let out = enable(&apache, Kind::Module, &names(&["remoteip"]));
        assert_eq!(out.exit_code, 0, "{}", out.text());
        assert!(out.text().starts_with(
            "Faltaba etc/apache2/mods-available/remoteip.load (este espacio de trabajo es de una versión \
             anterior del lab, o se borró a mano); lo he creado como lo instala Debian.\n"
        ), "{}", out.text());
        let load = std::fs::read_to_string(apache.join("mods-available/remoteip.load")).unwrap();
        assert!(load.contains("LoadModule remoteip_module"), "{load}");
        assert!(apache.join("mods-enabled/remoteip.load").exists());

        // A module with a .conf gets both files; a name the lab does not know still fails.
        std::fs::remove_file(apache.join("mods-available/status.load")).unwrap();
        std::fs::remove_file(apache.join("mods-available/status.conf")).unwrap();
        std::fs::remove_file(apache.join("mods-enabled/status.load")).ok();
        std::fs::remove_file(apache.join("mods-enabled/status.conf")).ok();
        let out = enable(&apache, Kind::Module, &names(&["status"]));
        assert!(
            out.text()
                .starts_with("Faltaba etc/apache2/mods-available/status.load y etc/apache2/mods-available/status.conf"),
            "{}",
            out.text()
        );
        assert!(apache.join("mods-enabled/status.conf").exists());
        let out = enable(&apache, Kind::Module, &names(&["remoteipx"]));
        assert_eq!(out.exit_code, 1);
    }
}
