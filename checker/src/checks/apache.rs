//! `kind = "apache"`: a question about the student's Apache configuration: it passes
//! configtest, a site/module/conf is enabled, or a virtual host (or `<Directory>`,
//! `<Location>`) has a directive with given arguments.

use lab_server::config::loader;
use lab_server::config::syntax::Node;
use serde::Deserialize;

use super::{CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApacheCheck {
    /// `true`: the configuration loads without errors.
    pub configtest: Option<bool>,
    pub site_enabled: Option<String>,
    pub site_disabled: Option<String>,
    pub module_enabled: Option<String>,
    pub module_disabled: Option<String>,
    pub conf_enabled: Option<String>,
    /// A virtual host, by `ServerName` or `ServerAlias`.
    pub vhost: Option<String>,
    /// A `<Directory>` (inside `vhost` when given, anywhere otherwise).
    pub directory: Option<String>,
    /// A `<Location>` (inside `vhost` when given, anywhere otherwise).
    pub location: Option<String>,
    /// A directive that must be in that scope.
    pub directive: Option<String>,
    /// Its arguments (compared case-insensitively, a trailing `/` ignored).
    pub args: Option<Vec<String>>,
}

fn same(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim_matches('"');
        let s = if s.len() > 1 { s.trim_end_matches('/') } else { s };
        s.to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

fn enabled(dir: &std::path::Path, name: &str, ext: &str) -> bool {
    let name = name.strip_suffix(ext).unwrap_or(name);
    dir.join(format!("{name}{ext}")).exists()
}

impl ApacheCheck {
    fn scope_text(&self) -> String {
        let mut s = String::new();
        if let Some(v) = &self.vhost {
            s.push_str(&format!("el VirtualHost `{v}`"));
        }
        if let Some(d) = &self.directory {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("el bloque <Directory {d}>"));
        }
        if let Some(l) = &self.location {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("el bloque <Location {l}>"));
        }
        s
    }

    fn query(&self, nodes: &[Node]) -> Result<(), String> {
        // Each scope is the list of nodes inside a section (or the whole configuration).
        let mut scopes: Vec<&[Node]> = vec![nodes];
        if let Some(name) = &self.vhost {
            scopes = all_sections(nodes, "virtualhost")
                .into_iter()
                .filter(|v| {
                    v.children
                        .iter()
                        .filter(|c| matches!(c.key().as_str(), "servername" | "serveralias"))
                        .flat_map(|c| c.args.iter())
                        .any(|a| same(a.text.split(':').next().unwrap_or(&a.text), name))
                })
                .map(|v| v.children.as_slice())
                .collect();
            if scopes.is_empty() {
                return Err(format!("no hay ningún VirtualHost con ServerName `{name}` en la configuración activa (¿activaste el sitio con `lab a2ensite`?)"));
            }
        }
        for (key, title, want) in [
            ("directory", "Directory", &self.directory),
            ("location", "Location", &self.location),
        ] {
            let Some(want) = want else { continue };
            let inner: Vec<&[Node]> = scopes
                .iter()
                .flat_map(|scope| all_sections(scope, key))
                .filter(|s| s.args.last().is_some_and(|a| same(&a.text, want)))
                .map(|s| s.children.as_slice())
                .collect();
            if inner.is_empty() {
                return Err(format!("no se encuentra el bloque <{title} {want}>"));
            }
            scopes = inner;
        }
        let Some(directive) = &self.directive else {
            return Ok(());
        };
        let mut found_args: Vec<String> = Vec::new();
        for scope in &scopes {
            for d in all_directives(scope, directive) {
                let args: Vec<&str> = d.args.iter().map(|a| a.text.as_str()).collect();
                let Some(want) = &self.args else {
                    return Ok(());
                };
                if want.len() == args.len() && want.iter().zip(&args).all(|(w, a)| same(w, a)) {
                    return Ok(());
                }
                found_args.push(format!("`{} {}`", d.name, args.join(" ")));
            }
        }
        if found_args.is_empty() {
            Err(format!("no hay ninguna directiva `{directive}` ahí"))
        } else {
            Err(format!("aparece {}", found_args.join(", ")))
        }
    }
}

/// Sections named `key` at any depth.
fn all_sections<'a>(nodes: &'a [Node], key: &str) -> Vec<&'a Node> {
    let mut out = Vec::new();
    for n in nodes {
        if n.is_section {
            if n.key() == key {
                out.push(n);
            }
            out.extend(all_sections(&n.children, key));
        }
    }
    out
}

/// Directives named `name` directly in `nodes` or in `<Require*>` blocks below them.
fn all_directives<'a>(nodes: &'a [Node], name: &str) -> Vec<&'a Node> {
    let mut out = Vec::new();
    for n in nodes {
        if !n.is_section && n.name.eq_ignore_ascii_case(name) {
            out.push(n);
        } else if n.is_section && n.key().starts_with("require") {
            out.extend(all_directives(&n.children, name));
        }
    }
    out
}

impl CheckKind for ApacheCheck {
    fn describe(&self) -> String {
        if self.configtest == Some(true) {
            return "la configuración de Apache pasa `lab configtest`".into();
        }
        if let Some(s) = &self.site_enabled {
            return format!("el sitio `{s}` está activado");
        }
        if let Some(s) = &self.site_disabled {
            return format!("el sitio `{s}` está desactivado");
        }
        if let Some(m) = &self.module_enabled {
            return format!("el módulo `{m}` está activado");
        }
        if let Some(m) = &self.module_disabled {
            return format!("el módulo `{m}` está desactivado");
        }
        if let Some(c) = &self.conf_enabled {
            return format!("la configuración `{c}` está activada");
        }
        let scope = self.scope_text();
        match (&self.directive, &self.args) {
            (Some(d), Some(a)) => format!("{scope} contiene `{d} {}`", a.join(" ")),
            (Some(d), None) => format!("{scope} contiene la directiva `{d}`"),
            _ => format!("existe {scope}"),
        }
    }

    fn validate(&self) -> Result<(), String> {
        let selectors = [
            self.configtest.is_some(),
            self.site_enabled.is_some(),
            self.site_disabled.is_some(),
            self.module_enabled.is_some(),
            self.module_disabled.is_some(),
            self.conf_enabled.is_some(),
            self.vhost.is_some() || self.directory.is_some() || self.location.is_some() || self.directive.is_some(),
        ];
        match selectors.iter().filter(|s| **s).count() {
            1 => Ok(()),
            0 => Err("la comprobación `apache` no pregunta nada: usa configtest, site_enabled, module_enabled, conf_enabled o vhost/directory/location + directive".into()),
            _ => Err("una comprobación `apache` hace una sola pregunta; sepárala en varias".into()),
        }
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let apache = cx.ws.apache_dir();
        let expect = self.describe();
        let bool_outcome = |ok: bool, yes: &str, no: &str| {
            if ok {
                Outcome::pass(expect.clone(), yes.to_string())
            } else {
                Outcome::fail(expect.clone(), no.to_string())
            }
        };
        if self.configtest == Some(true) {
            return match lab_server::config::load(cx.ws) {
                Ok(_) => Outcome::pass(expect, "sintaxis correcta"),
                Err(diags) => {
                    let first = diags.iter().find(|d| d.is_error());
                    let found = first
                        .map(|d| {
                            let at = d.span.as_ref().map(|s| format!(" ({})", s.location(Some(&cx.ws.root)))).unwrap_or_default();
                            format!("{}{at}", d.message)
                        })
                        .unwrap_or_default();
                    Outcome::fail(expect, format!("`lab configtest` falla: {found}"))
                }
            };
        }
        if let Some(s) = &self.site_enabled {
            return bool_outcome(enabled(&apache.join("sites-enabled"), s, ".conf"), "activado", "no está en sites-enabled");
        }
        if let Some(s) = &self.site_disabled {
            return bool_outcome(!enabled(&apache.join("sites-enabled"), s, ".conf"), "desactivado", "sigue en sites-enabled");
        }
        if let Some(m) = &self.module_enabled {
            return bool_outcome(enabled(&apache.join("mods-enabled"), m, ".load"), "activado", "no está en mods-enabled");
        }
        if let Some(m) = &self.module_disabled {
            return bool_outcome(!enabled(&apache.join("mods-enabled"), m, ".load"), "desactivado", "sigue en mods-enabled");
        }
        if let Some(c) = &self.conf_enabled {
            return bool_outcome(enabled(&apache.join("conf-enabled"), c, ".conf"), "activada", "no está en conf-enabled");
        }
        let tree = loader::load(cx.ws);
        match self.query(&tree.nodes) {
            Ok(()) => Outcome::pass(expect, "encontrado"),
            Err(found) => Outcome::fail(expect, found),
        }
    }
}
