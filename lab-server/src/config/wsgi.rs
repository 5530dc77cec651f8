//! mod_wsgi's directives -> the typed WSGI configuration: `WSGIScriptAlias`,
//! `WSGIDaemonProcess`, `WSGIProcessGroup`, `WSGIApplicationGroup`, `WSGIPythonHome`,
//! `WSGIPythonPath`, `WSGIScriptReloading`, `WSGICallableObject`, `WSGIChunkedRequest`,
//! `WSGIPassAuthorization`. Every other directive and option of mod_wsgi 4.9 is accepted
//! with a warning that names it (a site written for the real mod_wsgi must start), while a
//! name mod_wsgi itself would refuse stays an error.
//!
//! Kept apart from `build` so the WSGI host owns its part of the model; `build` calls
//! [`host_directive`], `perdir` calls [`apply_dir`] and the final checks are in [`validate`].

use std::path::Path;
use std::time::Duration;

use super::diagnostic::{suggest, Diagnostic, Span};
use super::model::{HostConfig, ResolvedPath, ServerConfig};
use super::perdir::{on_off, Diags};
use super::syntax::Node;
use crate::workspace::Workspace;

/// Server-wide WSGI settings (embedded mode's interpreter and the daemon groups).
#[derive(Debug, Clone, Default)]
pub struct WsgiServer {
    /// `WSGIPythonHome`: the venv of the embedded interpreter.
    pub python_home: Option<(ResolvedPath, Span)>,
    /// `WSGIPythonPath`: extra import directories of the embedded interpreter.
    pub python_path: Vec<ResolvedPath>,
    /// Every `WSGIDaemonProcess`, in configuration order.
    pub daemons: Vec<WsgiDaemon>,
}

/// `WSGIDaemonProcess NAME option=value...`.
#[derive(Debug, Clone, PartialEq)]
pub struct WsgiDaemon {
    pub name: String,
    pub processes: u32,
    /// `wsgi.multiprocess`: true as soon as `processes=` is written, even `processes=1`
    /// (mod_wsgi 4.9 sets it from the option's presence, not from the count).
    pub multiprocess: bool,
    pub threads: u32,
    pub python_home: Option<ResolvedPath>,
    pub python_path: Vec<ResolvedPath>,
    pub display_name: Option<String>,
    /// 0 = never recycle.
    pub maximum_requests: u64,
    pub inactivity_timeout: Option<Duration>,
    /// `home=`: the working directory of the processes.
    pub home: Option<ResolvedPath>,
    /// `lang=` and `locale=`: `LANG` and `LC_ALL` of the processes.
    pub lang: Option<String>,
    pub locale: Option<String>,
    pub span: Span,
}

impl WsgiDaemon {
    /// The settings that need a restart of the group when they change (spans excluded).
    pub fn same_settings(&self, other: &WsgiDaemon) -> bool {
        self.name == other.name
            && self.processes == other.processes
            && self.multiprocess == other.multiprocess
            && self.threads == other.threads
            && self.python_home == other.python_home
            && self.python_path == other.python_path
            && self.display_name == other.display_name
            && self.maximum_requests == other.maximum_requests
            && self.inactivity_timeout == other.inactivity_timeout
            && self.home == other.home
            && self.lang == other.lang
            && self.locale == other.locale
    }
}

/// `WSGIScriptAlias /url /path/app.wsgi [process-group=G] [application-group=A]
/// [callable-object=C] [pass-authorization=On|Off]`.
#[derive(Debug, Clone)]
pub struct WsgiScriptAlias {
    /// URL prefix as written, without a trailing slash (`/` stays `/`).
    pub url: String,
    pub script: ResolvedPath,
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
    pub span: Span,
}

/// WSGI directives that may appear per directory (and as server/vhost defaults).
#[derive(Debug, Clone, Default)]
pub struct WsgiDirConfig {
    /// With the span of the directive, for the "no such group" error.
    pub process_group: Option<(String, Span)>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
    pub script_reloading: Option<bool>,
    /// `WSGIChunkedRequest` (default Off: a chunked request body gets 411).
    pub chunked_request: Option<bool>,
    /// `WSGIPassAuthorization` (default Off: `Authorization` is not in `environ`).
    pub pass_authorization: Option<bool>,
}

/// mod_wsgi 4.9 directives the lab accepts and ignores, with a warning.
const IGNORED_DIRECTIVES: &[&str] = &[
    "wsgiscriptaliasmatch",
    "wsgisocketprefix",
    "wsgisocketrotation",
    "wsgiacceptmutex",
    "wsgilazyinitialization",
    "wsgiverbosedebugging",
    "wsgidontwritebytecode",
    "wsgipythonwarnings",
    "wsgipythonoptimize",
    "wsgipythoneggs",
    "wsgipythonhashseed",
    "wsgidestroyinterpreter",
    "wsgirestrictembedded",
    "wsgirestrictstdin",
    "wsgirestrictstdout",
    "wsgirestrictsignal",
    "wsgicasesensitivity",
    "wsgirestrictprocess",
    "wsgiimportscript",
    "wsgidispatchscript",
    "wsgipassapacherequest",
    "wsgierroroverride",
    "wsgimapheadtoget",
    "wsgiignoreactivity",
    "wsgitrustedproxyheaders",
    "wsgitrustedproxies",
    "wsgienablesendfile",
    "wsgiaccessscript",
    "wsgiauthuserscript",
    "wsgiauthgroupscript",
    "wsgiuserauthoritative",
    "wsgigroupauthoritative",
    "wsgihandlerscript",
    "wsgiservermetrics",
    "wsginewrelicconfigfile",
    "wsginewrelicenvironment",
];

/// The warning for a real mod_wsgi directive or option the lab does not apply.
fn ignored(diags: &mut Diags, span: &Span, what: String) {
    diags.push(
        Diagnostic::warning(
            Some(span.clone()),
            format!("{what} existe en mod_wsgi 4.9, pero el laboratorio no lo aplica: se ignora"),
        )
        .with_hint("el resto del sitio funciona; si el comportamiento que pide te importa, pruébalo en un Apache real"),
    );
}

/// A per-directory (or server-wide) mod_wsgi directive the lab ignores. True when handled.
fn ignored_directive(node: &Node, diags: &mut Diags) -> bool {
    let key = node.key();
    if !IGNORED_DIRECTIVES.contains(&key.as_str()) {
        return false;
    }
    ignored(diags, &node.span, format!("La directiva `{}`", node.name));
    true
}

fn error(diags: &mut Diags, span: &Span, msg: impl Into<String>, hint: impl Into<String>) {
    diags.push(Diagnostic::error(Some(span.clone()), msg).with_hint(hint));
}

/// Applies a per-directory WSGI directive. Returns false for any other directive.
pub(crate) fn apply_dir(node: &Node, conf: &mut WsgiDirConfig, diags: &mut Diags) -> bool {
    let a = &node.args;
    match node.key().as_str() {
        "wsgiprocessgroup" => conf.process_group = Some((a[0].text.clone(), node.span.clone())),
        "wsgiapplicationgroup" => conf.application_group = Some(a[0].text.clone()),
        "wsgicallableobject" => {
            let name = &a[0].text;
            if !is_identifier(name) {
                error(
                    diags,
                    &a[0].span,
                    format!("`{name}` no es un nombre válido de objeto Python"),
                    "escribe el nombre de la función o variable del script, por ejemplo `app`",
                );
            } else {
                conf.callable_object = Some(name.clone());
            }
        }
        "wsgiscriptreloading" => conf.script_reloading = on_off(&a[0], diags),
        "wsgichunkedrequest" => conf.chunked_request = on_off(&a[0], diags),
        "wsgipassauthorization" => conf.pass_authorization = on_off(&a[0], diags),
        _ => return ignored_directive(node, diags),
    }
    true
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The context `host_directive` needs from the builder.
pub(crate) struct Ctx<'a> {
    pub ws: &'a Workspace,
    pub server_root: &'a Path,
    pub diags: &'a mut Diags,
}

impl Ctx<'_> {
    fn resolve(&self, written: &str) -> ResolvedPath {
        self.ws.resolve(written, self.server_root)
    }
}

const DAEMON_OPTIONS: &[&str] = &[
    "processes",
    "threads",
    "python-home",
    "python-path",
    "display-name",
    "maximum-requests",
    "inactivity-timeout",
    "user",
    "group",
    "home",
    "lang",
    "locale",
];

/// `WSGIDaemonProcess` options of mod_wsgi 4.9 that the lab accepts and ignores (warning).
const IGNORED_DAEMON_OPTIONS: &[&str] = &[
    "supplementary-groups",
    "umask",
    "chroot",
    "python-eggs",
    "stack-size",
    "startup-timeout",
    "shutdown-timeout",
    "deadlock-timeout",
    "request-timeout",
    "graceful-timeout",
    "eviction-timeout",
    "restart-interval",
    "connect-timeout",
    "socket-timeout",
    "queue-timeout",
    "listen-backlog",
    "send-buffer-size",
    "receive-buffer-size",
    "header-buffer-size",
    "response-buffer-size",
    "response-socket-timeout",
    "socket-user",
    "script-user",
    "script-group",
    "cpu-time-limit",
    "cpu-priority",
    "memory-limit",
    "virtual-memory-limit",
    "server-metrics",
    "newrelic-config-file",
    "newrelic-environment",
];

/// Server/vhost-level WSGI directives. Returns false for any other directive.
pub(crate) fn host_directive(
    node: &Node,
    host: &mut HostConfig,
    server: &mut WsgiServer,
    cx: Ctx<'_>,
) -> bool {
    let a = &node.args;
    match node.key().as_str() {
        "wsgiscriptalias" => {
            let url = a[0].text.clone();
            if !url.starts_with('/') {
                error(
                    cx.diags,
                    &a[0].span,
                    format!("la URL de WSGIScriptAlias `{url}` debe empezar por `/`"),
                    format!("escribe `/{url}`"),
                );
                return true;
            }
            let mut alias = WsgiScriptAlias {
                url: if url.len() > 1 {
                    url.trim_end_matches('/').to_string()
                } else {
                    url
                },
                script: cx.resolve(&a[1].text),
                process_group: None,
                application_group: None,
                callable_object: None,
                pass_authorization: None,
                span: node.span.clone(),
            };
            for opt in &a[2..] {
                match opt.text.split_once('=') {
                    Some(("process-group", v)) if !v.is_empty() => {
                        alias.process_group = Some(v.to_string())
                    }
                    Some(("application-group", v)) if !v.is_empty() => {
                        alias.application_group = Some(v.to_string())
                    }
                    Some(("callable-object", v)) if is_identifier(v) => {
                        alias.callable_object = Some(v.to_string())
                    }
                    Some(("pass-authorization", v))
                        if v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("off") =>
                    {
                        alias.pass_authorization = Some(v.eq_ignore_ascii_case("on"))
                    }
                    // mod_wsgi refuses anything else ("Invalid option to WSGI script alias
                    // definition"), so the lab does too.
                    _ => error(
                        cx.diags,
                        &opt.span,
                        format!("opción no válida de WSGIScriptAlias: `{}`", opt.text),
                        "las opciones son `process-group=NOMBRE`, `application-group=NOMBRE` (por ejemplo `application-group=%{GLOBAL}`), `callable-object=NOMBRE` y `pass-authorization=On|Off`",
                    ),
                }
            }
            host.wsgi_aliases.push(alias);
        }
        "wsgidaemonprocess" => {
            if let Some(d) = daemon(node, cx) {
                server.daemons.push(d);
            }
        }
        "wsgipythonhome" => {
            server.python_home = Some((cx.resolve(&a[0].text), a[0].span.clone()));
        }
        "wsgipythonpath" => {
            server.python_path = a[0]
                .text
                .split(':')
                .filter(|p| !p.is_empty())
                .map(|p| cx.resolve(p))
                .collect();
        }
        _ => return ignored_directive(node, cx.diags),
    }
    true
}

fn daemon(node: &Node, cx: Ctx<'_>) -> Option<WsgiDaemon> {
    let a = &node.args;
    let name = a[0].text.clone();
    if name.contains('=') || name.contains('/') || name.is_empty() {
        error(
            cx.diags,
            &a[0].span,
            format!("`{name}` no es un nombre válido para WSGIDaemonProcess"),
            "el primer argumento es el nombre del grupo, por ejemplo `WSGIDaemonProcess flask processes=2 threads=15`",
        );
        return None;
    }
    let mut d = WsgiDaemon {
        name,
        processes: 1,
        multiprocess: false,
        threads: 15,
        python_home: None,
        python_path: Vec::new(),
        display_name: None,
        maximum_requests: 0,
        inactivity_timeout: None,
        home: None,
        lang: None,
        locale: None,
        span: node.span.clone(),
    };
    for opt in &a[1..] {
        let Some((key, value)) = opt.text.split_once('=') else {
            error(
                cx.diags,
                &opt.span,
                format!("`{}` no tiene la forma `opción=valor`", opt.text),
                "por ejemplo `processes=2`, `threads=15`, `python-home=/home/usuario/venv`",
            );
            continue;
        };
        let mut number = |max: u64| -> Option<u64> {
            match value.parse::<u64>() {
                Ok(n) if n <= max => Some(n),
                _ => {
                    error(
                        cx.diags,
                        &opt.span,
                        format!("`{key}` necesita un número entre 0 y {max}, no `{value}`"),
                        format!("por ejemplo `{key}=2`"),
                    );
                    None
                }
            }
        };
        match key {
            "processes" => match number(64) {
                Some(0) => error(
                    cx.diags,
                    &opt.span,
                    "`processes=0`: el grupo no tendría ningún proceso",
                    "usa al menos `processes=1`",
                ),
                Some(n) => {
                    d.processes = n as u32;
                    d.multiprocess = true;
                }
                None => {}
            },
            "threads" => match number(512) {
                Some(0) => error(
                    cx.diags,
                    &opt.span,
                    "`threads=0`: los procesos no podrían atender peticiones",
                    "usa al menos `threads=1`",
                ),
                Some(n) => d.threads = n as u32,
                None => {}
            },
            "maximum-requests" => {
                if let Some(n) = number(u64::from(u32::MAX)) {
                    d.maximum_requests = n;
                }
            }
            "inactivity-timeout" => {
                if let Some(n) = number(86_400) {
                    d.inactivity_timeout = (n > 0).then(|| Duration::from_secs(n));
                }
            }
            "python-home" => d.python_home = Some(cx.resolve(value)),
            "python-path" => {
                d.python_path = value
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(|p| cx.resolve(p))
                    .collect()
            }
            "display-name" => d.display_name = Some(value.to_string()),
            "home" => d.home = Some(cx.resolve(value)),
            "lang" => d.lang = Some(value.to_string()),
            "locale" => d.locale = Some(value.to_string()),
            // Accepted as Debian tutorials write them; the lab runs everything as the student.
            "user" | "group" => {}
            other if IGNORED_DAEMON_OPTIONS.contains(&other) => ignored(
                cx.diags,
                &opt.span,
                format!("La opción `{other}=` de WSGIDaemonProcess"),
            ),
            other => {
                let hint = match suggest(other, DAEMON_OPTIONS.iter().copied()) {
                    Some(s) => format!("¿Quisiste decir `{s}`?"),
                    None => format!(
                        "opciones que entiende el laboratorio: {}",
                        DAEMON_OPTIONS.join(", ")
                    ),
                };
                error(
                    cx.diags,
                    &opt.span,
                    format!("opción desconocida de WSGIDaemonProcess: `{other}`"),
                    hint,
                );
            }
        }
    }
    Some(d)
}

/// Whole-configuration checks: process groups that exist, unique daemon names, usable venvs.
pub(crate) fn validate(cfg: &ServerConfig, ws: &Workspace, diags: &mut Diags) {
    let w = &cfg.wsgi;
    for (i, d) in w.daemons.iter().enumerate() {
        if let Some(prev) = w.daemons[..i].iter().find(|p| p.name == d.name) {
            diags.push(
                Diagnostic::error(
                    Some(d.span.clone()),
                    format!(
                        "ya hay un WSGIDaemonProcess llamado `{}` (en {})",
                        d.name,
                        prev.span.location(Some(&ws.root))
                    ),
                )
                .with_hint("cada grupo de procesos necesita un nombre distinto"),
            );
        }
    }
    let names: Vec<&str> = w.daemons.iter().map(|d| d.name.as_str()).collect();
    let check_group = |group: &str, span: &Span, diags: &mut Diags| {
        if group == "%{GLOBAL}" || group.is_empty() || names.contains(&group) {
            return;
        }
        let hint = match suggest(group, names.iter().copied()) {
            Some(s) => format!("¿Quisiste decir `{s}`?"),
            None => format!("defínelo antes con `WSGIDaemonProcess {group} processes=2 threads=15`, o quita la línea para usar el modo embebido"),
        };
        diags.push(
            Diagnostic::error(
                Some(span.clone()),
                format!("no hay ningún WSGIDaemonProcess llamado `{group}`"),
            )
            .with_hint(hint),
        );
    };
    for host in std::iter::once(&cfg.main).chain(cfg.vhosts.iter().map(|v| &v.host)) {
        for alias in &host.wsgi_aliases {
            if let Some(g) = &alias.process_group {
                check_group(g, &alias.span, diags);
            }
            if !alias.script.path.is_file() {
                diags.push(
                    Diagnostic::warning(
                        Some(alias.span.clone()),
                        format!(
                            "el script WSGI {} no existe (ruta usada: {})",
                            alias.script.written,
                            alias.script.path.display()
                        ),
                    )
                    .with_hint("las peticiones a esta URL darán 404 hasta que lo crees"),
                );
            }
        }
        let dirs = std::iter::once(&host.defaults).chain(host.sections.iter().map(|s| &s.config));
        for conf in dirs {
            if let Some((g, span)) = &conf.wsgi.process_group {
                check_group(g, span, diags);
            }
        }
    }
    let homes = w.python_home.iter().map(|(p, s)| (p, s.clone())).chain(
        w.daemons
            .iter()
            .filter_map(|d| d.python_home.as_ref().map(|p| (p, d.span.clone()))),
    );
    let mut homes = homes.peekable();
    if homes.peek().is_none() {
        return;
    }
    let embedded = crate::wsgi::embedded_version();
    for (home, span) in homes {
        if let Err(problem) = crate::wsgi::venv::inspect(&home.path, embedded) {
            let (msg, hint) =
                crate::wsgi::venv::describe(&problem, &home.written, &home.path, embedded);
            diags.push(Diagnostic::error(Some(span), msg).with_hint(hint));
        }
    }
}
