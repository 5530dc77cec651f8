//! The exercise format: `exercises/<id>/exercise.toml` plus `starter/` and `solution/`
//! (trees laid out relative to the workspace root and copied over it).
//!
//! ```toml
//! id = "apache-sitio"                 # = the folder name
//! chapter = "apache/sitios.md"        # the page (under book/src) with its marker
//! title = "Un sitio virtual nuevo"
//! points = 10
//! statement = """Crea el sitio `{{param.sitio}}`..."""   # Spanish Markdown
//! starter_commands = []               # a2* commands after copying starter/
//! solution_commands = ["a2ensite {{param.sitio}}"]       # the same after solution/
//!
//! [params]
//! sitio = { kind = "name", suffix = ".localhost" }
//!
//! [[steps]]                           # in order; partial credit by step
//! title = "El sitio está activado"
//! hints = ["Usa `lab a2ensite {{param.sitio}}`"]
//!
//! [[steps.checks]]                    # kinds: checker/src/checks/mod.rs
//! kind = "apache"
//! site_enabled = "{{param.sitio}}"
//! ```
//!
//! ## `[setup]`: what the checks need besides the student's files
//!
//! `lab check` runs against the student's own running lab. `lab dev check` and `lab grade`
//! check in an isolated copy of the workspace instead, with its own `lab start` (in a private
//! network namespace when the system allows it), and prepare there what an exercise declares:
//!
//! ```toml
//! [setup]
//! # Virtual environments rebuilt in the copy from the workspace's requirements file, when
//! # that file exists (a venv is never handed in). Built once per requirements list in a
//! # shared cache (~/.cache/lab/venvs) and copied in: the tenth workspace downloads nothing.
//! venvs = [{ path = "var/www/flask/venv", requirements = "var/www/flask/requirements.txt" }]
//! services = ["memcached"]          # enabled in the copy's lab.toml before `lab start`
//! memcached = [11212]               # extra memcached servers (another workspace) on these ports
//! memcached_load = ["sesion.txt"]   # files of the workspace replayed to its memcached, if present
//! commands = ["var/www/flask/venv/bin/python reparto.py"]  # `sh -c` in the copy, last
//! ```
//!
//! Every field is optional. A lab is started for an exercise when it has `http`, `process` or
//! `memcached` checks, or any `services`, `memcached`, `memcached_load` or `commands`.
//!
//! Checks are kept as TOML tables with their position here; the checker turns each into a
//! typed check and reports a bad one at `exercise.toml:line:column`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::params::ParamSpec;

/// A file of a starter or solution tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path relative to the workspace root.
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// A check as written: its TOML table and where it starts.
#[derive(Debug, Clone)]
pub struct RawCheck {
    pub table: toml::Table,
    pub line: u32,
    pub column: u32,
}

impl RawCheck {
    /// The `kind` field (`file`, `apache`, `http`, ...).
    pub fn kind(&self) -> Option<&str> {
        self.table.get("kind").and_then(|v| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub title: String,
    pub hints: Vec<String>,
    pub checks: Vec<RawCheck>,
}

/// One exercise of the course.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub id: String,
    /// The book page (path under `book/src`) where its marker appears.
    pub chapter: String,
    pub title: String,
    /// Spanish Markdown, may use `{{param.x}}` and `{{student}}`.
    pub statement: String,
    pub points: u32,
    pub params: BTreeMap<String, ParamSpec>,
    pub steps: Vec<Step>,
    /// Files copied over the workspace to start.
    pub starter: Vec<TreeFile>,
    /// Files that make every step pass.
    pub solution: Vec<TreeFile>,
    /// `lab` commands run after copying the starter (only the `a2*` family:
    /// `a2ensite {{param.sitio}}`), since a tree cannot carry Debian's symlinks.
    pub starter_commands: Vec<String>,
    /// The same, after copying the solution.
    pub solution_commands: Vec<String>,
    /// What the isolated checks prepare first (`[setup]`).
    pub setup: Setup,
    /// `[[solution_runs]]`: `lab bench` runs measured with the reference solution, stored
    /// in the fresh workspace by `lab dev check` so that `bench` checks can be validated
    /// (a student's workspace gets none: its runs are the student's own).
    pub solution_runs: Vec<crate::runs::Run>,
    /// `exercises/<id>/exercise.toml`, for messages.
    pub source: PathBuf,
}

/// The `[setup]` table (module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Setup {
    pub venvs: Vec<VenvSetup>,
    pub services: Vec<String>,
    pub memcached: Vec<u16>,
    pub memcached_load: Vec<String>,
    pub commands: Vec<String>,
}

/// A virtual environment of `[setup]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct VenvSetup {
    /// Where the venv goes, relative to the workspace root.
    pub path: String,
    /// The workspace's requirements file (relative to the root).
    pub requirements: String,
}

impl Setup {
    /// True when something must run in a started lab (not just venvs).
    pub fn needs_lab(&self) -> bool {
        !self.services.is_empty()
            || !self.memcached.is_empty()
            || !self.memcached_load.is_empty()
            || !self.commands.is_empty()
    }

    fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let relative = |p: &str| {
            let path = Path::new(p);
            !p.is_empty()
                && !path.is_absolute()
                && !path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
        };
        for v in &self.venvs {
            for p in [&v.path, &v.requirements] {
                if !relative(p) {
                    errors.push(format!(
                        "[setup]: la ruta `{p}` debe ser relativa al espacio de trabajo y sin `..`"
                    ));
                }
            }
        }
        for p in &self.memcached_load {
            if !relative(p) {
                errors.push(format!(
                    "[setup]: la ruta `{p}` debe ser relativa al espacio de trabajo y sin `..`"
                ));
            }
        }
        for s in &self.services {
            if !["apache2", "memcached"].contains(&s.as_str()) {
                errors.push(format!(
                    "[setup]: servicio desconocido `{s}`; servicios: apache2, memcached"
                ));
            }
        }
        for p in &self.memcached {
            if *p == 0 {
                errors.push("[setup]: el puerto 0 no vale para un memcached adicional".into());
            }
        }
        errors
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseToml {
    id: String,
    chapter: String,
    title: String,
    statement: String,
    points: u32,
    #[serde(default)]
    params: BTreeMap<String, ParamSpec>,
    steps: Vec<StepToml>,
    #[serde(default)]
    starter_commands: Vec<String>,
    #[serde(default)]
    solution_commands: Vec<String>,
    #[serde(default)]
    setup: Setup,
    #[serde(default)]
    solution_runs: Vec<crate::runs::Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepToml {
    title: String,
    #[serde(default)]
    hints: Vec<String>,
    checks: Vec<toml::Spanned<toml::Table>>,
}

/// A problem in an exercise definition, for the course author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorError {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for AuthorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// serde's messages (English) in Spanish, for the course author.
pub fn spanish_serde(msg: &str) -> String {
    let msg = msg.trim();
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let (field, expected) = rest.split_once(", expected one of ").unwrap_or((rest, ""));
        let expected = expected.strip_prefix("one of ").unwrap_or(expected);
        let mut out = format!("campo desconocido {field}");
        if !expected.is_empty() {
            out.push_str(&format!("; los válidos son: {expected}"));
        } else if let Some((f, e)) = rest.split_once(", expected ") {
            out = format!("campo desconocido {f}; se esperaba {e}");
        }
        return out;
    }
    if let Some(field) = msg.strip_prefix("missing field ") {
        return format!("falta el campo {field}");
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        return match rest.split_once(", expected ") {
            Some((got, want)) => format!("tipo no válido: hay {got} y se esperaba {want}"),
            None => format!("tipo no válido: {rest}"),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((got, want)) => format!(
                "valor desconocido {got}; se esperaba {}",
                want.trim_start_matches("one of ")
            ),
            None => format!("valor desconocido {rest}"),
        };
    }
    msg.to_string()
}

/// Line and column (from 1) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0) as u32
        + 1;
    (line, col)
}

/// Parses `exercise.toml` text. `dir_name` is the exercise's folder name, which must equal
/// its `id`.
pub fn parse(
    text: &str,
    source: &Path,
    dir_name: &str,
    starter: Vec<TreeFile>,
    solution: Vec<TreeFile>,
) -> Result<Exercise, Vec<AuthorError>> {
    let err_at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        AuthorError {
            file: source.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let raw: ExerciseToml = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        vec![err_at(offset, spanish_serde(e.message()))]
    })?;
    let mut errors = Vec::new();
    if raw.id != dir_name {
        errors.push(err_at(
            text.find("id").unwrap_or(0),
            format!(
                "el id `{}` no coincide con el nombre de la carpeta `{dir_name}`",
                raw.id
            ),
        ));
    }
    if raw.steps.is_empty() {
        errors.push(err_at(0, "el ejercicio no tiene ningún paso".into()));
    }
    let mut steps = Vec::new();
    for s in raw.steps {
        if s.checks.is_empty() {
            errors.push(err_at(
                text.find(&s.title).unwrap_or(0),
                format!("el paso «{}» no tiene ninguna comprobación", s.title),
            ));
        }
        let checks = s
            .checks
            .into_iter()
            .map(|c| {
                let (line, column) = line_col(text, c.span().start);
                let table = c.into_inner();
                if !table.get("kind").is_some_and(|k| k.is_str()) {
                    errors.push(AuthorError {
                        file: source.to_path_buf(),
                        line,
                        column,
                        message: "a la comprobación le falta `kind`".into(),
                    });
                }
                RawCheck {
                    table,
                    line,
                    column,
                }
            })
            .collect();
        steps.push(Step {
            title: s.title,
            hints: s.hints,
            checks,
        });
    }
    for cmd in raw.starter_commands.iter().chain(&raw.solution_commands) {
        if let Err(msg) = parse_command(cmd) {
            errors.push(err_at(text.find(cmd.as_str()).unwrap_or(0), msg));
        }
    }
    for (name, spec) in &raw.params {
        if let Err(msg) = spec.validate() {
            errors.push(err_at(
                text.find(name.as_str()).unwrap_or(0),
                format!("parámetro `{name}`: {msg}"),
            ));
        }
    }
    for msg in raw.setup.validate() {
        errors.push(err_at(text.find("[setup]").unwrap_or(0), msg));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Exercise {
        id: raw.id,
        chapter: raw.chapter,
        title: raw.title,
        statement: raw.statement,
        points: raw.points,
        params: raw.params,
        steps,
        starter,
        solution,
        starter_commands: raw.starter_commands,
        solution_commands: raw.solution_commands,
        setup: raw.setup,
        solution_runs: raw.solution_runs,
        source: source.to_path_buf(),
    })
}

/// Which tree of an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Starter,
    Solution,
}

/// What copying a tree did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Files written (absolute paths).
    pub written: Vec<PathBuf>,
    /// Files left alone because they existed and `overwrite` was false.
    pub kept: Vec<PathBuf>,
    /// Output of the `a2*` commands run.
    pub messages: Vec<String>,
}

/// A command of a starter or solution, parsed.
enum TreeCommand {
    /// `a2ensite NAME...` and the rest of the `a2*` family.
    A2(bool, lab_server::a2::Kind, Vec<String>),
    /// `service NAME enable|disable`: what `lab service` writes in lab.toml.
    Service(String, bool),
}

fn parse_command(cmd: &str) -> Result<TreeCommand, String> {
    use lab_server::a2::Kind;
    let mut words = cmd.split_whitespace();
    let verb = words.next().unwrap_or("");
    let names: Vec<String> = words.map(str::to_string).collect();
    if verb == "service" {
        return match names.as_slice() {
            [name, action] if action == "enable" || action == "disable" => {
                lab_server::supervisor::find_service(name).map_err(|e| e.to_string())?;
                Ok(TreeCommand::Service(name.clone(), action == "enable"))
            }
            _ => Err(format!(
                "`{cmd}`: se espera `service NOMBRE enable` o `service NOMBRE disable`"
            )),
        };
    }
    let (enable, kind) = match verb {
        "a2ensite" => (true, Kind::Site),
        "a2dissite" => (false, Kind::Site),
        "a2enmod" => (true, Kind::Module),
        "a2dismod" => (false, Kind::Module),
        "a2enconf" => (true, Kind::Conf),
        "a2disconf" => (false, Kind::Conf),
        other => {
            return Err(format!(
                "orden no admitida `{other}`: solo a2ensite, a2dissite, a2enmod, a2dismod, a2enconf, a2disconf y service NOMBRE enable|disable"
            ))
        }
    };
    if names.is_empty() {
        return Err(format!("a `{cmd}` le falta el nombre"));
    }
    Ok(TreeCommand::A2(enable, kind, names))
}

impl Exercise {
    /// Copies the starter or solution tree over the workspace at `root`, with the student's
    /// parameters applied to paths and to text contents, then runs that tree's `a2*`
    /// commands. Existing files are kept unless `overwrite`.
    pub fn apply_tree(
        &self,
        which: Tree,
        root: &Path,
        params: &crate::params::Params,
        overwrite: bool,
    ) -> Result<Applied, String> {
        let (files, commands) = match which {
            Tree::Starter => (&self.starter, &self.starter_commands),
            Tree::Solution => (&self.solution, &self.solution_commands),
        };
        let mut applied = Applied::default();
        for f in files {
            let rel = params.apply(&f.path.to_string_lossy());
            let rel = Path::new(&rel);
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(format!(
                    "ruta no permitida en el ejercicio: {}",
                    rel.display()
                ));
            }
            let dest = root.join(rel);
            if !overwrite && dest.symlink_metadata().is_ok() {
                applied.kept.push(dest);
                continue;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("no se pudo crear {}: {e}", parent.display()))?;
            }
            let data = match std::str::from_utf8(&f.contents) {
                Ok(text) => params.apply(text).into_bytes(),
                Err(_) => f.contents.clone(),
            };
            let script = data.starts_with(b"#!");
            std::fs::write(&dest, data)
                .map_err(|e| format!("no se pudo escribir {}: {e}", dest.display()))?;
            // A file that starts with `#!` is a program (a CGI script): executable, as
            // `chmod +x` would leave it.
            if script {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("no se pudo hacer ejecutable {}: {e}", dest.display()))?;
            }
            applied.written.push(dest);
        }
        let apache = root.join("etc/apache2");
        for cmd in commands {
            let cmd = params.apply(cmd);
            let (enable, kind, names) = match parse_command(&cmd)? {
                TreeCommand::A2(enable, kind, names) => (enable, kind, names),
                TreeCommand::Service(name, enabled) => {
                    let mut ws = lab_server::workspace::Workspace::open(root)
                        .map_err(|e| format!("`lab {cmd}` falló: {e}"))?;
                    let msg = lab_server::supervisor::set_service_enabled(&mut ws, &name, enabled)
                        .map_err(|e| format!("`lab {cmd}` falló: {e}"))?;
                    applied.messages.push(msg);
                    continue;
                }
            };
            let out = if enable {
                lab_server::a2::enable(&apache, kind, &names)
            } else {
                lab_server::a2::disable(&apache, kind, &names)
            };
            if out.exit_code != 0 {
                return Err(format!("`lab {cmd}` falló: {}", out.text()));
            }
            applied.messages.push(out.text());
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "demo"
chapter = "apache/sitios.md"
title = "Demo"
points = 5
statement = "Haz algo en {{param.sitio}}"

[params]
sitio = { kind = "name", suffix = ".localhost" }

[[steps]]
title = "Paso uno"
hints = ["pista"]

[[steps.checks]]
kind = "file"
path = "var/www/html/index.html"
"#;

    #[test]
    fn parses_a_valid_exercise_with_check_positions() {
        let e = parse(
            GOOD,
            Path::new("demo/exercise.toml"),
            "demo",
            vec![],
            vec![],
        )
        .unwrap();
        assert_eq!(e.steps.len(), 1);
        let c = &e.steps[0].checks[0];
        assert_eq!(c.kind(), Some("file"));
        // The span starts at the `[[steps.checks]]` header.
        assert_eq!(c.line, 15);
    }

    #[test]
    fn reports_author_errors_with_line_and_column() {
        let bad = GOOD.replace("points = 5", "points = \"cinco\"");
        let errs = parse(
            &bad,
            Path::new("demo/exercise.toml"),
            "demo",
            vec![],
            vec![],
        )
        .unwrap_err();
        assert_eq!(errs[0].line, 5, "{errs:?}");
        let bad = GOOD.replace("kind = \"file\"\n", "");
        let errs = parse(
            &bad,
            Path::new("demo/exercise.toml"),
            "demo",
            vec![],
            vec![],
        )
        .unwrap_err();
        assert!(errs[0].message.contains("kind"));
        let errs = parse(GOOD, Path::new("x/exercise.toml"), "x", vec![], vec![]).unwrap_err();
        assert!(errs[0].message.contains("carpeta"));
    }
}
