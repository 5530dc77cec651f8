//! Reads a workspace's Apache configuration the way Apache does at start-up: `envvars`
//! first, then `apache2.conf`, following `Include`/`IncludeOptional` (globs sorted like
//! Apache), evaluating `<IfModule>`, `<IfDefine>`, `<IfFile>`, `<IfVersion>`, `Define` and
//! `${VAR}` in order, and recording `LoadModule`. The result is a tree with only the
//! directives that take effect.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostic::{display_path, suggest, Diagnostic, Span};
use super::modules;
use super::syntax::{self, Arg, Node};
use crate::workspace::Workspace;

/// The Apache version the lab presents itself as (for `<IfVersion>`).
pub const APACHE_VERSION: (u32, u32, u32) = (2, 4, 71);

/// What the loader produces.
#[derive(Debug, Default)]
pub struct Tree {
    /// Directives and sections that take effect, includes expanded, conditionals resolved.
    pub nodes: Vec<Node>,
    /// Loaded modules (short names) and where they were loaded (`None` for built-ins).
    pub modules: BTreeMap<String, Option<Span>>,
    /// `Define`d variables.
    pub defines: HashMap<String, String>,
    /// Variables from `envvars`.
    pub env: HashMap<String, String>,
    /// Every configuration file read, in order.
    pub files: Vec<PathBuf>,
    /// Errors and warnings found so far.
    pub diagnostics: Vec<Diagnostic>,
}

const MAX_INCLUDE_DEPTH: usize = 32;

/// Loads `etc/apache2/apache2.conf` of `ws`.
pub fn load(ws: &Workspace) -> Tree {
    let mut tree = Tree::default();
    for m in modules::MODULES.iter().filter(|m| m.builtin) {
        tree.modules.insert(m.name.to_string(), None);
    }
    let server_root = ws.apache_dir();
    tree.env = read_envvars(&server_root.join("envvars"));
    let main = server_root.join("apache2.conf");
    let mut loader = Loader {
        ws,
        server_root: server_root.clone(),
        tree,
        stack: Vec::new(),
    };
    match std::fs::read_to_string(&main) {
        Ok(text) => {
            let nodes = loader.parse_file(&main, &text);
            let out = loader.expand(nodes);
            loader.tree.nodes = out;
        }
        Err(e) => loader.tree.diagnostics.push(
            Diagnostic::error(
                None,
                format!(
                    "no se puede leer el fichero principal {}: {e}",
                    display_path(&main, Some(&ws.root))
                ),
            )
            .with_hint("si lo borraste, crea un espacio de trabajo nuevo con `lab init` y copia desde él `etc/apache2/apache2.conf`"),
        ),
    }
    loader.tree
}

struct Loader<'a> {
    ws: &'a Workspace,
    server_root: PathBuf,
    tree: Tree,
    /// Files being included, to detect cycles.
    stack: Vec<PathBuf>,
}

impl Loader<'_> {
    fn parse_file(&mut self, path: &Path, text: &str) -> Vec<Node> {
        self.tree.files.push(path.to_path_buf());
        let (nodes, errors) = syntax::parse(text, Arc::new(path.to_path_buf()));
        self.tree.diagnostics.extend(errors);
        nodes
    }

    fn error(&mut self, d: Diagnostic) {
        self.tree.diagnostics.push(d);
    }

    fn expand(&mut self, nodes: Vec<Node>) -> Vec<Node> {
        let mut out = Vec::new();
        for mut node in nodes {
            self.substitute(&mut node);
            match node.key().as_str() {
                "include" | "includeoptional" if !node.is_section => {
                    let optional = node.key() == "includeoptional";
                    out.extend(self.include(&node, optional));
                }
                "define" if !node.is_section => {
                    if let Some(name) = node.args.first() {
                        let value = node.args.get(1).map(|a| a.text.clone()).unwrap_or_default();
                        if name.text.contains(':') {
                            self.error(Diagnostic::error(
                                Some(name.span.clone()),
                                format!(
                                    "el nombre de variable `{}` no puede contener `:`",
                                    name.text
                                ),
                            ));
                        }
                        self.tree.defines.insert(name.text.clone(), value);
                    } else {
                        self.error(
                            Diagnostic::error(
                                Some(node.span.clone()),
                                "`Define` necesita un nombre de variable",
                            )
                            .with_hint("por ejemplo: `Define MI_SITIO /var/www/misitio`"),
                        );
                    }
                }
                "undefine" if !node.is_section => {
                    if let Some(name) = node.args.first() {
                        self.tree.defines.remove(&name.text);
                    }
                }
                "loadmodule" if !node.is_section => self.load_module(&node),
                "servermodule" => {}
                "ifmodule" | "ifdefine" | "iffile" | "ifversion" if node.is_section => {
                    if self.condition(&node) {
                        let children = std::mem::take(&mut node.children);
                        out.extend(self.expand(children));
                    }
                }
                _ => {
                    if node.is_section {
                        let children = std::mem::take(&mut node.children);
                        node.children = self.expand(children);
                    }
                    out.push(node);
                }
            }
        }
        out
    }

    /// Replaces `${VAR}` in every argument with `Define`d variables or `envvars`.
    fn substitute(&mut self, node: &mut Node) {
        let mut errors = Vec::new();
        for arg in &mut node.args {
            if !arg.text.contains("${") {
                continue;
            }
            let mut out = String::new();
            let mut rest = arg.text.as_str();
            let mut offset = 0usize;
            while let Some(pos) = rest.find("${") {
                out.push_str(&rest[..pos]);
                let after = &rest[pos + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[pos..]);
                    rest = "";
                    break;
                };
                let name = &after[..end];
                let value = self
                    .tree
                    .defines
                    .get(name)
                    .or_else(|| self.tree.env.get(name))
                    .cloned()
                    .or_else(|| std::env::var(name).ok());
                match value {
                    Some(v) => out.push_str(&v),
                    None => {
                        let mut span = arg.span.clone();
                        span.column += (offset + pos) as u32 + u32::from(arg.quoted);
                        span.len = name.len() as u32 + 3;
                        let known: Vec<&str> = self
                            .tree
                            .defines
                            .keys()
                            .chain(self.tree.env.keys())
                            .map(String::as_str)
                            .collect();
                        let mut d = Diagnostic::error(
                            Some(span),
                            format!("la variable `${{{name}}}` no está definida"),
                        );
                        d = match suggest(name, known.iter().copied()) {
                            Some(s) => d.with_hint(format!("¿Quisiste decir `${{{s}}}`?")),
                            None => d.with_hint(format!(
                                "defínela antes con `Define {name} valor`, o en etc/apache2/envvars con `export {name}=valor`"
                            )),
                        };
                        errors.push(d);
                        out.push_str(&rest[pos..pos + 3 + end]);
                    }
                }
                offset += pos + 3 + end;
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            arg.text = out;
        }
        self.tree.diagnostics.extend(errors);
    }

    fn include(&mut self, node: &Node, optional: bool) -> Vec<Node> {
        let Some(arg) = node.args.first() else {
            self.error(Diagnostic::error(
                Some(node.span.clone()),
                format!("`{}` necesita una ruta", node.name),
            ));
            return Vec::new();
        };
        let pattern = if Path::new(&arg.text).is_absolute() {
            self.ws.resolve(&arg.text, &self.server_root).path
        } else {
            self.server_root.join(&arg.text)
        };
        let files = match expand_glob(&pattern) {
            Ok(files) => files,
            Err(e) => {
                self.error(Diagnostic::error(
                    Some(arg.span.clone()),
                    format!("no se puede leer {}: {e}", arg.text),
                ));
                return Vec::new();
            }
        };
        if files.is_empty() {
            if !optional {
                let wildcard = has_wildcard(&arg.text);
                let msg = if wildcard {
                    format!(
                        "`Include {}`: ningún fichero coincide con el patrón",
                        arg.text
                    )
                } else {
                    format!(
                        "`Include {}`: el fichero no existe (se buscó en {})",
                        arg.text,
                        display_path(&pattern, Some(&self.ws.root))
                    )
                };
                self.error(Diagnostic::error(Some(arg.span.clone()), msg).with_hint(
                    "comprueba la ruta; si el fichero puede faltar, usa `IncludeOptional`",
                ));
            }
            return Vec::new();
        }
        let mut out = Vec::new();
        for file in files {
            if self.stack.len() >= MAX_INCLUDE_DEPTH || self.stack.contains(&file) {
                self.error(
                    Diagnostic::error(
                        Some(arg.span.clone()),
                        format!(
                            "inclusión circular: {} ya se está leyendo",
                            display_path(&file, Some(&self.ws.root))
                        ),
                    )
                    .with_hint(
                        "un fichero no puede incluirse a sí mismo, ni directa ni indirectamente",
                    ),
                );
                continue;
            }
            let text = match std::fs::read(&file) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                },
                Err(e) => {
                    self.error(Diagnostic::error(
                        Some(arg.span.clone()),
                        format!(
                            "no se puede leer {}: {e}",
                            display_path(&file, Some(&self.ws.root))
                        ),
                    ));
                    continue;
                }
            };
            let nodes = self.parse_file(&file, &text);
            self.stack.push(file);
            out.extend(self.expand(nodes));
            self.stack.pop();
        }
        out
    }

    fn load_module(&mut self, node: &Node) {
        let Some(id) = node.args.first() else {
            self.error(Diagnostic::error(
                Some(node.span.clone()),
                "`LoadModule` necesita el identificador del módulo y la ruta del fichero .so",
            ));
            return;
        };
        if node.args.len() != 2 {
            self.error(
                Diagnostic::error(
                    Some(node.line_span()),
                    "`LoadModule` lleva dos argumentos: identificador y fichero .so",
                )
                .with_hint(
                    "por ejemplo: `LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so`",
                ),
            );
        }
        let from_mods_enabled = node
            .span
            .file
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "mods-enabled");
        match modules::find(&id.text) {
            Some(m) if id.text == m.identifier() => {
                if let Some(Some(prev)) = self.tree.modules.get(m.name) {
                    let prev_loc = prev.location(Some(&self.ws.root));
                    self.tree.diagnostics.push(Diagnostic::warning(
                        Some(id.span.clone()),
                        format!("el módulo `{}` ya estaba cargado (en {prev_loc}); se ignora esta línea", m.identifier()),
                    ));
                } else if !m.builtin {
                    self.tree
                        .modules
                        .insert(m.name.to_string(), Some(id.span.clone()));
                }
            }
            _ => {
                if let Some(short) = modules::not_implemented(&id.text) {
                    let hint = if from_mods_enabled {
                        format!("desactívalo con `lab a2dismod {short}`")
                    } else {
                        "quita esta línea o ponla dentro de un `<IfModule>`".to_string()
                    };
                    self.error(
                        Diagnostic::error(
                            Some(id.span.clone()),
                            format!(
                                "el módulo `{short}` existe en Apache, pero el laboratorio no lo implementa"
                            ),
                        )
                        .with_hint(hint),
                    );
                } else {
                    let ids: Vec<String> =
                        modules::MODULES.iter().map(|m| m.identifier()).collect();
                    let mut d = Diagnostic::error(
                        Some(id.span.clone()),
                        format!("módulo desconocido `{}`", id.text),
                    );
                    d = match suggest(&id.text, ids.iter().map(String::as_str)) {
                        Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
                        None => d.with_hint(
                            "el identificador tiene la forma `nombre_module`, por ejemplo `alias_module`",
                        ),
                    };
                    self.error(d);
                }
            }
        }
    }

    fn condition(&mut self, node: &Node) -> bool {
        let Some(arg) = node.args.first() else {
            self.error(Diagnostic::error(
                Some(node.span.clone()),
                format!("`<{}>` necesita un argumento", node.name),
            ));
            return false;
        };
        let (negated, name) = match arg.text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, arg.text.as_str()),
        };
        let value = match node.key().as_str() {
            "ifmodule" => self.module_loaded(name, arg),
            "ifdefine" => self.tree.defines.contains_key(name),
            "iffile" => {
                let p = if Path::new(name).is_absolute() {
                    self.ws.resolve(name, &self.server_root).path
                } else {
                    self.server_root.join(name)
                };
                p.exists()
            }
            _ => return self.version_condition(node),
        };
        value != negated
    }

    fn module_loaded(&mut self, name: &str, arg: &Arg) -> bool {
        match modules::find(name) {
            Some(m) => self.tree.modules.contains_key(m.name),
            None => {
                if modules::not_implemented(name).is_none() {
                    let mut names: Vec<String> = Vec::new();
                    for m in modules::MODULES {
                        names.push(m.identifier());
                        names.push(m.source());
                    }
                    let mut d = Diagnostic::warning(
                        Some(arg.span.clone()),
                        format!("ningún módulo se llama `{name}`: el bloque `<IfModule>` nunca se aplicará"),
                    );
                    if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
                        d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                    }
                    self.tree.diagnostics.push(d);
                }
                false
            }
        }
    }

    fn version_condition(&mut self, node: &Node) -> bool {
        let (op, ver) = match node.args.as_slice() {
            [v] => ("=", v),
            [op, v] => (op.text.as_str(), v),
            _ => {
                self.error(Diagnostic::error(
                    Some(node.line_span()),
                    "`<IfVersion>` lleva un operador y una versión, por ejemplo `<IfVersion >= 2.4>`",
                ));
                return false;
            }
        };
        match version_matches(op, &ver.text) {
            Ok(v) => v,
            Err(VersionError::Version) => {
                self.error(Diagnostic::error(
                    Some(ver.span.clone()),
                    format!(
                        "versión no válida `{}`: se espera algo como `2.4` o `2.4.71`",
                        ver.text
                    ),
                ));
                false
            }
            Err(VersionError::Operator) => {
                self.error(
                    Diagnostic::error(
                        Some(node.args[0].span.clone()),
                        format!("operador `{op}` no admitido en `<IfVersion>`"),
                    )
                    .with_hint("usa =, !=, <, <=, > o >="),
                );
                false
            }
        }
    }
}

/// What `<IfVersion>` could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionError {
    Operator,
    Version,
}

/// `<IfVersion op version>` against the Apache version the lab stands for: `2.4` compares
/// the first two numbers, `2.4.71` all three.
pub fn version_matches(op: &str, version: &str) -> Result<bool, VersionError> {
    let parts: Vec<Option<u32>> = version.split('.').map(|p| p.parse().ok()).collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(Option::is_none) {
        return Err(VersionError::Version);
    }
    let want: Vec<u32> = parts.into_iter().flatten().collect();
    let have = [APACHE_VERSION.0, APACHE_VERSION.1, APACHE_VERSION.2];
    let ord = have[..want.len()].cmp(&want[..]);
    use std::cmp::Ordering::*;
    Ok(match op {
        "=" | "==" => ord == Equal,
        "!=" => ord != Equal,
        ">" => ord == Greater,
        ">=" => ord != Less,
        "<" => ord == Less,
        "<=" => ord != Greater,
        _ => return Err(VersionError::Operator),
    })
}

/// Reads `export NAME=value` lines of Debian's `envvars` (a shell script). Lines inside
/// `if ... fi` are skipped, which is what Debian's default file amounts to.
pub fn read_envvars(path: &Path) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return vars;
    };
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("if ") || line == "if" {
            depth += 1;
            continue;
        }
        if line == "fi" || line.starts_with("fi ") || line.starts_with("fi;") {
            depth = depth.saturating_sub(1);
            continue;
        }
        if depth > 0 || line.starts_with('#') {
            continue;
        }
        let assignment = line.strip_prefix("export ").unwrap_or(line).trim();
        let Some((name, value)) = assignment.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        let expanded = expand_shell(value, &vars);
        vars.insert(name.to_string(), expanded);
    }
    vars
}

fn expand_shell(value: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut name = String::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
                name.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
        }
        if let Some(v) = vars.get(&name) {
            out.push_str(v);
        }
    }
    out
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a path with shell wildcards in any component, the way Apache's `Include` does:
/// sorted by name, hidden files only when the pattern asks for them; a directory includes
/// every file below it.
fn expand_glob(pattern: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut current = vec![PathBuf::from("/")];
    let comps: Vec<String> = pattern
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for comp in &comps {
        let mut next = Vec::new();
        for base in &current {
            if has_wildcard(comp) {
                let Ok(entries) = std::fs::read_dir(base) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| fnmatch(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                let p = base.join(comp);
                if p.exists() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    let mut files = Vec::new();
    for p in current {
        if p.is_dir() {
            collect_dir(&p, &mut files)?;
        } else if p.is_file() {
            files.push(p);
        }
    }
    Ok(files)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Shell wildcard matching of one path component (`*`, `?`, `[a-z]`, `[!x]`); a leading dot
/// must be matched literally (FNM_PERIOD, as Apache uses).
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(c) = n.first() else { return false };
                let Some(close) = p.iter().skip(2).position(|&x| x == ']').map(|i| i + 2) else {
                    return *c == '[' && rec(&p[1..], &n[1..]);
                };
                let mut set = &p[1..close];
                let negate = matches!(set.first(), Some('!') | Some('^'));
                if negate {
                    set = &set[1..];
                }
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        if set[i] <= *c && *c <= set[i + 2] {
                            hit = true;
                        }
                        i += 3;
                    } else {
                        if set[i] == *c {
                            hit = true;
                        }
                        i += 1;
                    }
                }
                hit != negate && rec(&p[close + 1..], &n[1..])
            }
            Some(x) => n.first() == Some(x) && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_shell_rules() {
        assert!(fnmatch("*.conf", "000-default.conf"));
        assert!(!fnmatch("*.conf", "000-default.conf.bak"));
        assert!(!fnmatch("*.conf", ".hidden.conf"));
        assert!(fnmatch("mpm_[ew]*.load", "mpm_event.load"));
        assert!(!fnmatch("mpm_[!ew]*.load", "mpm_event.load"));
        assert!(fnmatch("a?c", "abc"));
    }

    #[test]
    fn envvars_exports_are_read_and_expanded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("envvars");
        std::fs::write(
            &p,
            "unset HOME\nif [ x != y ] ; then\n SUFFIX=\"-x\"\nelse\n SUFFIX=\nfi\nexport APACHE_RUN_DIR=/var/run/apache2$SUFFIX\nexport APACHE_LOG_DIR=/var/log/apache2$SUFFIX\nexport LANG=C\n",
        )
        .unwrap();
        let vars = read_envvars(&p);
        assert_eq!(vars["APACHE_LOG_DIR"], "/var/log/apache2");
        assert_eq!(vars["APACHE_RUN_DIR"], "/var/run/apache2");
        assert_eq!(vars["LANG"], "C");
    }
}
