//! The expanded tree -> [`ServerConfig`]: checks every directive (known, module loaded,
//! allowed here, right number of arguments), converts arguments and validates the whole.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::diagnostic::{suggest, Diagnostic, Span};
use super::directives::{self, Contexts, DirectiveInfo};
use super::loader::{Tree, APACHE_VERSION};
use super::model::*;
use super::modules;
use super::perdir::{self, Diags};
use super::syntax::{Arg, Node};
use super::Loaded;
use crate::workspace::Workspace;

/// Debian's `combined` format, used when `CustomLog` names no known format.
pub const COMBINED: &str = "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"";

/// Builds and validates the typed configuration.
pub fn build(ws: &Workspace, mut tree: Tree) -> Result<Loaded, Vec<Diagnostic>> {
    let modules: crate::util::FxSet<String> = tree.modules.keys().cloned().collect();
    let mpm_kind = loaded_mpm(&tree, &modules);
    let mut b = Builder {
        ws,
        modules,
        diags: std::mem::take(&mut tree.diagnostics),
        cfg: ServerConfig {
            workspace: ws.root.clone(),
            server_root: ws.apache_dir(),
            modules: Default::default(),
            defines: tree.defines.keys().cloned().collect(),
            mpm: mpm_defaults(mpm_kind.unwrap_or(MpmKind::Event)),
            listens: Vec::new(),
            main: HostConfig::default(),
            vhosts: Vec::new(),
            log_formats: HashMap::new(),
            limits: RequestLimits::default(),
            keep_alive: KeepAliveSettings {
                enabled: true,
                timeout: Duration::from_secs(5),
                max_requests: 100,
            },
            timeout: Duration::from_secs(60),
            request_read: Default::default(),
            server_tokens: server_tokens("full"),
            buffered_logs: false,
            types_config: None,
            wsgi: Default::default(),
            scriptcache: Default::default(),
            merge_cache: Default::default(),
        },
    };
    b.cfg.log_formats.insert("combined".into(), COMBINED.into());
    b.cfg
        .log_formats
        .insert("common".into(), "%h %l %u %t \"%r\" %>s %b".into());
    // mod_php is not thread-safe: Apache refuses to start it under a threaded MPM.
    if let Some(span) = tree.modules.get(super::modules::PHP) {
        if mpm_kind.is_some_and(|k| k != MpmKind::Prefork) {
            let mpm = mpm_kind.map(|k| k.module()).unwrap_or("mpm_event");
            b.diags.push(
                Diagnostic::error(
                    span.clone(),
                    format!(
                        "AH00013: Apache usa un MPM con hilos ({mpm}), pero el módulo de PHP \
                         (php8.2) no es seguro con hilos: Apache no arrancaría"
                    ),
                )
                .with_hint(format!(
                    "cambia de MPM: `lab a2dismod {mpm}` y `lab a2enmod mpm_prefork`, o usa PHP-FPM \
                     (`lab a2dismod php8.2`, `lab a2enmod proxy_fcgi setenvif`, `lab a2enconf php8.2-fpm`)"
                )),
            );
        }
    }
    let mut main = HostConfig::default();
    b.host_level(&tree.nodes, &mut main, false);
    b.cfg.main = main;
    b.finish(&tree);
    let Builder { cfg, diags, .. } = b;
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(Loaded {
        config: cfg,
        warnings: diags,
    })
}

fn loaded_mpm(tree: &Tree, modules: &crate::util::FxSet<String>) -> Option<MpmKind> {
    let _ = tree;
    [MpmKind::Event, MpmKind::Worker, MpmKind::Prefork]
        .into_iter()
        .find(|k| modules.contains(k.module()))
}

fn mpm_defaults(kind: MpmKind) -> MpmSettings {
    match kind {
        MpmKind::Prefork => MpmSettings {
            kind,
            start_servers: 5,
            min_spare: 5,
            max_spare: 10,
            threads_per_child: 1,
            max_request_workers: 256,
            max_connections_per_child: 0,
        },
        _ => MpmSettings {
            kind,
            start_servers: 3,
            min_spare: 75,
            max_spare: 250,
            threads_per_child: 25,
            max_request_workers: 400,
            max_connections_per_child: 0,
        },
    }
}

fn server_tokens(value: &str) -> String {
    let (a, b, c) = APACHE_VERSION;
    match value.to_ascii_lowercase().as_str() {
        "prod" | "productonly" => "Apache".to_string(),
        "major" => format!("Apache/{a}"),
        "minor" => format!("Apache/{a}.{b}"),
        "min" | "minimal" => format!("Apache/{a}.{b}.{c}"),
        "os" => format!("Apache/{a}.{b}.{c} (Debian)"),
        _ => format!(
            "Apache/{a}.{b}.{c} (Debian) lab/{}",
            env!("CARGO_PKG_VERSION")
        ),
    }
}

struct Builder<'a> {
    ws: &'a Workspace,
    modules: crate::util::FxSet<String>,
    diags: Diags,
    cfg: ServerConfig,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Where {
    Server,
    Vhost,
    Section(SectionKind),
}

impl Where {
    fn contexts(self) -> Contexts {
        match self {
            Where::Server => Contexts::SERVER,
            Where::Vhost => Contexts::VHOST,
            Where::Section(_) => Contexts::DIR,
        }
    }

    fn describe(self) -> String {
        match self {
            Where::Server => "la configuración global".to_string(),
            Where::Vhost => "<VirtualHost>".to_string(),
            Where::Section(k) => format!("<{}>", k.name()),
        }
    }
}

impl Builder<'_> {
    fn error(&mut self, span: &Span, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(Some(span.clone()), msg).with_hint(hint));
    }

    fn warn(&mut self, span: &Span, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(Some(span.clone()), msg).with_hint(hint));
    }

    /// Checks a directive is known, its module loaded, allowed in `at`, with a valid number
    /// of arguments. Returns its registry entry when it may be applied.
    fn check(&mut self, node: &Node, at: Where) -> Option<&'static DirectiveInfo> {
        let Some(info) = directives::find(&node.name) else {
            self.unknown(node);
            return None;
        };
        if info.section != node.is_section {
            let (shape, hint) = if info.section {
                (
                    "una sección",
                    format!("escríbela como `<{0} ...>` ... `</{0}>`", info.name),
                )
            } else {
                (
                    "una directiva de una línea",
                    format!("escríbela como `{} argumentos`, sin `<` ni `>`", info.name),
                )
            };
            self.error(&node.span, format!("`{}` es {shape}", info.name), hint);
            return None;
        }
        let loaded = match info.module {
            "mpm" => modules::mpms().iter().any(|m| self.modules.contains(*m)),
            // mod_cgid takes mod_cgi's directives too.
            "cgi" => self.modules.contains("cgi") || self.modules.contains("cgid"),
            m => self.modules.contains(m),
        };
        if !loaded {
            let module = if info.module == "mpm" {
                "mpm_event"
            } else {
                info.module
            };
            self.error(
                &node.span,
                format!(
                    "`{}` pertenece al módulo `{}`, que no está cargado",
                    info.name, module
                ),
                format!("actívalo con `lab a2enmod {module}` y luego `lab reload`, o pon la directiva dentro de `<IfModule mod_{module}.c>`"),
            );
            return None;
        }
        if !info.contexts.allows(at.contexts()) {
            self.error(
                &node.span,
                format!(
                    "`{}` no está permitida dentro de {}",
                    info.name,
                    at.describe()
                ),
                format!(
                    "`{}` solo puede ir en {}",
                    info.name,
                    info.contexts.describe()
                ),
            );
            return None;
        }
        let n = node.args.len();
        if n < info.min_args as usize || (info.max_args != u8::MAX && n > info.max_args as usize) {
            let expected = match (info.min_args, info.max_args) {
                (a, b) if a == b => format!("{a}"),
                (a, u8::MAX) => format!("al menos {a}"),
                (a, b) => format!("entre {a} y {b}"),
            };
            let span = if n > info.max_args as usize && info.max_args != u8::MAX {
                node.args[info.max_args as usize].span.clone()
            } else {
                node.line_span()
            };
            self.error(
                &span,
                format!(
                    "`{}` lleva {expected} argumento(s) y aquí tiene {n}",
                    info.name
                ),
                "si un argumento contiene espacios, ponlo entre comillas dobles",
            );
            return None;
        }
        Some(info)
    }

    fn unknown(&mut self, node: &Node) {
        if let Some(module) = directives::not_implemented(&node.name) {
            self.error(
                &node.span,
                format!(
                    "`{}` es una directiva real de Apache (módulo {module}), pero el laboratorio no la implementa",
                    node.name
                ),
                format!("quítala, o ponla dentro de `<IfModule mod_{module}.c>` para que se ignore"),
            );
            return;
        }
        let names = directives::DIRECTIVES.iter().map(|d| d.name);
        let hint = match suggest(&node.name, names) {
            Some(s) => format!("¿Quisiste decir `{s}`?"),
            None => "comprueba cómo se escribe; el capítulo de Apache del curso lista las directivas que entiende el laboratorio".to_string(),
        };
        self.error(
            &node.span,
            format!("directiva desconocida `{}`", node.name),
            hint,
        );
    }

    fn resolve(&self, written: &str) -> ResolvedPath {
        self.ws.resolve(written, &self.cfg.server_root)
    }

    /// Directives at server level (`in_vhost` false) or inside a `<VirtualHost>`.
    fn host_level(&mut self, nodes: &[Node], host: &mut HostConfig, in_vhost: bool) {
        let at = if in_vhost {
            Where::Vhost
        } else {
            Where::Server
        };
        // `ProxyPass` rules written inside `<Location>` sections come first.
        let mut located = 0;
        for node in nodes {
            let Some(info) = self.check(node, at) else {
                continue;
            };
            if info.section {
                match node.key().as_str() {
                    "virtualhost" => self.virtual_host(node),
                    "proxy" => {
                        let base = self.cfg.server_root.clone();
                        super::proxy::host_directive(self.ws, &base, node, host, &mut self.diags);
                    }
                    _ => {
                        if node.key() == "location" {
                            located = self.location_proxy(node, host, located);
                        }
                        if let Some(section) = self.section(node) {
                            host.sections.push(section);
                        }
                    }
                }
                continue;
            }
            // Also accepted in <Directory>, where the lab ignores it; at host level it
            // decides self-referential URLs.
            // `LogLevel` too (per directory it changes nothing the lab logs); at host level
            // it sets the error log's level.
            if node.key() == "usecanonicalname" || node.key() == "loglevel" {
                self.host_directive(node, host, in_vhost);
                continue;
            }
            if perdir::apply(node, &mut host.defaults, &mut self.diags) {
                continue;
            }
            self.host_directive(node, host, in_vhost);
        }
    }

    fn host_directive(&mut self, node: &Node, host: &mut HostConfig, in_vhost: bool) {
        let a = &node.args;
        match node.key().as_str() {
            "servername" => {
                let name = a[0]
                    .text
                    .trim_start_matches("http://")
                    .trim_start_matches("https://");
                host.server_port = name.split_once(':').and_then(|(_, p)| p.parse().ok());
                let name = name.split(':').next().unwrap_or(name).to_ascii_lowercase();
                if name.is_empty() || name.contains('/') {
                    self.error(
                        &a[0].span,
                        format!("`{}` no es un nombre de servidor válido", a[0].text),
                        "por ejemplo `ServerName flask.localhost`",
                    );
                    return;
                }
                host.server_name = Some(name);
                host.span.get_or_insert(node.span.clone());
            }
            "accessfilename" => {
                host.access_file_names = Some(a.iter().map(|x| x.text.clone()).collect())
            }
            "serveralias" => host
                .server_aliases
                .extend(a.iter().map(|x| x.text.to_ascii_lowercase())),
            "serveradmin" => host.server_admin = Some(a[0].text.clone()),
            "documentroot" => {
                let p = self.resolve(&a[0].text);
                if !p.path.is_dir() {
                    let shown = if p.path.starts_with(&self.ws.root) {
                        format!(
                            "{} (en el laboratorio: {})",
                            p.written,
                            p.path
                                .strip_prefix(&self.ws.root)
                                .map(|r| r.display().to_string())
                                .unwrap_or_default()
                        )
                    } else {
                        p.written.clone()
                    };
                    self.warn(
                        &a[0].span,
                        format!("el DocumentRoot {shown} no existe o no es un directorio"),
                        format!(
                            "créalo con `mkdir -p` dentro del espacio de trabajo ({})",
                            p.path.display()
                        ),
                    );
                }
                host.document_root = Some(p);
                host.document_root_span = Some(node.span.clone());
            }
            "alias" | "aliasmatch" | "scriptalias" | "scriptaliasmatch" => {
                let key = node.key();
                let kind = if key.starts_with("script") {
                    AliasKind::Script
                } else {
                    AliasKind::Alias
                };
                let regex = if key.ends_with("match") {
                    match regex::Regex::new(&a[0].text) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            self.error(
                                &a[0].span,
                                format!("expresión regular no válida: {e}"),
                                "revisa paréntesis y caracteres especiales",
                            );
                            return;
                        }
                    }
                } else {
                    if !a[0].text.starts_with('/') {
                        self.warn(
                            &a[0].span,
                            format!(
                                "la URL del alias `{}` no empieza por `/` y nunca coincidirá",
                                a[0].text
                            ),
                            format!("escribe `/{}`", a[0].text),
                        );
                    }
                    None
                };
                host.aliases.push(Alias {
                    kind,
                    url: a[0].text.clone(),
                    regex,
                    target: self.resolve(&a[1].text),
                    span: node.span.clone(),
                });
            }
            "redirect" | "redirectmatch" | "redirectpermanent" | "redirecttemp" => {
                if let Some(r) = perdir::parse_redirect(node, false, &mut self.diags) {
                    host.redirects.push(r);
                }
            }
            "errorlog" => {
                let t = &a[0].text;
                if t.starts_with('|') || t.starts_with("syslog") {
                    self.error(
                        &a[0].span,
                        "el laboratorio solo escribe el registro de errores en un fichero",
                        "usa una ruta, por ejemplo `ErrorLog ${APACHE_LOG_DIR}/error.log`",
                    );
                    return;
                }
                host.error_log = Some(self.resolve(t));
            }
            "customlog" | "transferlog" => {
                let t = &a[0].text;
                if t.starts_with('|') {
                    self.error(
                        &a[0].span,
                        "el laboratorio no admite registros a través de tuberías (`|programa`)",
                        "usa una ruta de fichero",
                    );
                    return;
                }
                let format = a
                    .get(1)
                    .map(|f| f.text.clone())
                    .unwrap_or_else(|| "combined".into());
                host.custom_logs.push(CustomLog {
                    path: self.resolve(t),
                    format,
                    span: node.span.clone(),
                });
            }
            "loglevel" => {
                host.log_level = Some(
                    a.iter()
                        .map(|x| x.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }
            "logformat" => {
                let name = a
                    .get(1)
                    .map(|n| n.text.clone())
                    .unwrap_or_else(|| "default".into());
                self.cfg.log_formats.insert(name, a[0].text.clone());
            }
            k if k.starts_with("proxy") => {
                let base = self.cfg.server_root.clone();
                super::proxy::host_directive(self.ws, &base, node, host, &mut self.diags);
            }
            k if k.starts_with("remoteip") => {
                let base = self.cfg.server_root.clone();
                super::remoteip::host_directive(self.ws, &base, node, host, &mut self.diags);
            }
            "usecanonicalname" => match a[0].text.to_ascii_lowercase().as_str() {
                "on" => host.use_canonical_name = Some(true),
                "off" => host.use_canonical_name = Some(false),
                "dns" => {
                    self.warn(
                        &a[0].span,
                        "el laboratorio no hace búsquedas DNS inversas: `UseCanonicalName DNS` se trata como On",
                        "usa On u Off",
                    );
                    host.use_canonical_name = Some(true);
                }
                _ => self.error(
                    &a[0].span,
                    format!("`{}` no es un valor de UseCanonicalName", a[0].text),
                    "escribe On, Off o DNS",
                ),
            },
            "traceenable" => match a[0].text.to_ascii_lowercase().as_str() {
                "on" => host.trace_enable = Some(TraceEnable::On),
                "off" => host.trace_enable = Some(TraceEnable::Off),
                "extended" => host.trace_enable = Some(TraceEnable::Extended),
                _ => self.error(
                    &a[0].span,
                    format!("`{}` no es un valor de TraceEnable", a[0].text),
                    "escribe On, Off o extended",
                ),
            },
            "allowencodedslashes" => {
                host.allow_encoded_slashes = match a[0].text.to_ascii_lowercase().as_str() {
                    "off" => Some(EncodedSlashes::Off),
                    "on" => Some(EncodedSlashes::On),
                    "nodecode" => Some(EncodedSlashes::NoDecode),
                    _ => {
                        self.error(
                            &a[0].span,
                            format!("`{}` no es un valor de AllowEncodedSlashes", a[0].text),
                            "escribe On, Off o NoDecode",
                        );
                        None
                    }
                }
            }
            "wsgiapcushmsize" => self.server_only(node),
            k if k.starts_with("wsgi") => {
                let cx = super::wsgi::Ctx {
                    ws: self.ws,
                    server_root: &self.cfg.server_root,
                    diags: &mut self.diags,
                };
                super::wsgi::host_directive(node, host, &mut self.cfg.wsgi, cx);
            }
            _ if in_vhost => self.server_or_vhost_only(node),
            _ => self.server_only(node),
        }
    }

    /// Directives allowed in the server and in vhosts that the lab applies globally.
    fn server_or_vhost_only(&mut self, node: &Node) {
        match node.key().as_str() {
            "timeout"
            | "keepalive"
            | "keepalivetimeout"
            | "maxkeepaliverequests"
            | "limitrequestline"
            | "limitrequestfieldsize"
            | "limitrequestfields" => {
                self.warn(
                    &node.span,
                    format!(
                        "el laboratorio aplica `{}` a todo el servidor, no por VirtualHost",
                        node.name
                    ),
                    "muévela a apache2.conf para que quede claro",
                );
                self.server_only(node);
            }
            _ => {}
        }
    }

    fn number(&mut self, arg: &Arg, min: u64, max: u64) -> Option<u64> {
        match arg.text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    &arg.span,
                    format!(
                        "se esperaba un número entre {min} y {max} y aparece `{}`",
                        arg.text
                    ),
                    "escribe solo cifras",
                );
                None
            }
        }
    }

    fn server_only(&mut self, node: &Node) {
        let a = &node.args;
        let key = node.key();
        match key.as_str() {
            "listen" => self.listen(node),
            "scriptcache" => {
                if let Some(v) = perdir::on_off(&a[0], &mut self.diags) {
                    self.cfg.scriptcache.on = v;
                }
            }
            "scriptcachevalidatetimestamps" => {
                if let Some(v) = perdir::on_off(&a[0], &mut self.diags) {
                    self.cfg.scriptcache.validate_timestamps = v;
                }
            }
            "scriptcacherevalidatefreq" => {
                if let Some(n) = self.number(&a[0], 0, 86400) {
                    self.cfg.scriptcache.revalidate_freq = Duration::from_secs(n);
                }
            }
            "scriptcachemaxfiles" => {
                if let Some(n) = self.number(&a[0], 1, 1_000_000) {
                    self.cfg.scriptcache.max_files = n as usize;
                }
            }
            "wsgiapcushmsize" => {
                let t = a[0].text.to_ascii_uppercase();
                let (num, mult) = match t.strip_suffix('M') {
                    Some(n) => (n, 1024 * 1024),
                    None => match t.strip_suffix('K') {
                        Some(n) => (n, 1024),
                        None => (t.as_str(), 1024 * 1024),
                    },
                };
                match num.parse::<u64>() {
                    Ok(n) if n > 0 && n * mult >= 256 * 1024 && n * mult <= 4 << 30 => {
                        self.cfg.scriptcache.apcu_shm_size = n * mult;
                    }
                    _ => self.error(
                        &a[0].span,
                        format!("tamaño no válido para WSGIApcuShmSize: `{}`", a[0].text),
                        "escribe megas (`32M`) o kilobytes (`512K`), al menos 256K",
                    ),
                }
            }
            "scriptcachememory" => {
                if let Some(n) = self.number(&a[0], 1, 65536) {
                    self.cfg.scriptcache.memory = n * 1024 * 1024;
                }
            }
            "timeout" => {
                if let Some(n) = self.number(&a[0], 1, 86400) {
                    self.cfg.timeout = Duration::from_secs(n);
                }
            }
            "requestreadtimeout" => {
                for arg in a {
                    match request_read_timeout(&arg.text) {
                        Ok((stage, value)) => {
                            let r = &mut self.cfg.request_read;
                            match stage {
                                Stage::Handshake => r.handshake = Some(value),
                                Stage::Header => r.header = Some(value),
                                Stage::Body => r.body = Some(value),
                            }
                        }
                        Err(why) => self.error(
                            &arg.span,
                            format!("RequestReadTimeout: `{}`: {why}", arg.text),
                            "escribe, por ejemplo, `RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500`",
                        ),
                    }
                }
            }
            "keepalive" => {
                if let Some(v) = perdir::on_off(&a[0], &mut self.diags) {
                    self.cfg.keep_alive.enabled = v;
                }
            }
            "keepalivetimeout" => {
                let (text, ms) = match a[0].text.strip_suffix("ms") {
                    Some(t) => (t, true),
                    None => (a[0].text.as_str(), false),
                };
                match text.parse::<u64>() {
                    Ok(n) => self.cfg.keep_alive.timeout = if ms { Duration::from_millis(n) } else { Duration::from_secs(n) },
                    Err(_) => self.error(&a[0].span, format!("tiempo no válido `{}`", a[0].text), "segundos (`5`) o milisegundos (`500ms`)"),
                }
            }
            "maxkeepaliverequests" => {
                if let Some(n) = self.number(&a[0], 0, u64::from(u32::MAX)) {
                    self.cfg.keep_alive.max_requests = n as u32;
                }
            }
            "limitrequestline" => {
                if let Some(n) = self.number(&a[0], 1, 65536) {
                    self.cfg.limits.request_line = n as usize;
                }
            }
            "limitrequestfieldsize" => {
                if let Some(n) = self.number(&a[0], 1, 65536) {
                    self.cfg.limits.field_size = n as usize;
                }
            }
            "limitrequestfields" => {
                if let Some(n) = self.number(&a[0], 1, 32767) {
                    self.cfg.limits.fields = n as usize;
                }
            }
            "bufferedlogs" => {
                if let Some(v) = perdir::on_off(&a[0], &mut self.diags) {
                    self.cfg.buffered_logs = v;
                }
            }
            "servertokens" => {
                const VALUES: &[&str] = &["Full", "OS", "Minimal", "Minor", "Major", "Prod", "ProductOnly", "Min"];
                if VALUES.iter().any(|v| v.eq_ignore_ascii_case(&a[0].text)) {
                    self.cfg.server_tokens = server_tokens(&a[0].text);
                } else {
                    self.error(&a[0].span, format!("valor no válido para ServerTokens: `{}`", a[0].text), "usa Full, OS, Minimal, Minor, Major o Prod");
                }
            }
            "startservers" | "minspareservers" | "maxspareservers" | "minsparethreads"
            | "maxsparethreads" | "threadsperchild" | "maxrequestworkers" | "maxclients"
            | "maxconnectionsperchild" | "maxrequestsperchild" | "threadlimit" | "serverlimit" => {
                let Some(n) = self.number(&a[0], 0, 100_000) else { return };
                let n = n as u32;
                let m = &mut self.cfg.mpm;
                match key.as_str() {
                    "startservers" => m.start_servers = n,
                    "minspareservers" | "minsparethreads" => m.min_spare = n,
                    "maxspareservers" | "maxsparethreads" => m.max_spare = n,
                    "threadsperchild" => m.threads_per_child = n,
                    "maxrequestworkers" | "maxclients" => {
                        if n == 0 {
                            self.error(&a[0].span, "MaxRequestWorkers no puede ser 0: el servidor no atendería ninguna petición", "usa un valor como 150");
                        } else {
                            m.max_request_workers = n;
                        }
                    }
                    "maxconnectionsperchild" | "maxrequestsperchild" => m.max_connections_per_child = n,
                    _ => {}
                }
            }
            "typesconfig" => {
                let rp = self.resolve(&a[0].text);
                if !rp.path.is_file() {
                    self.error(
                        &a[0].span,
                        format!(
                            "TypesConfig `{}` no existe (se buscó en {})",
                            rp.written,
                            rp.path.display()
                        ),
                        "Debian usa `TypesConfig /etc/mime.types`; `lab init` crea etc/mime.types",
                    );
                } else {
                    self.cfg.types_config = Some(rp);
                }
            }
            "serverroot" => self.warn(&node.span, "el laboratorio usa siempre etc/apache2 del espacio de trabajo como ServerRoot; esta línea no cambia nada", "puedes borrarla"),
            // Accepted as in Debian's files; they change nothing in the lab.
            _ => {}
        }
    }

    fn listen(&mut self, node: &Node) {
        let arg = &node.args[0];
        let text = arg.text.as_str();
        let parsed: Option<(Option<IpAddr>, &str)> = if let Some(rest) = text.strip_prefix('[') {
            rest.split_once("]:")
                .and_then(|(ip, port)| Some((Some(ip.parse().ok()?), port)))
        } else if let Some((ip, port)) = text.rsplit_once(':') {
            ip.parse().ok().map(|ip| (Some(ip), port))
        } else {
            Some((None, text))
        };
        let Some((addr, port_text)) = parsed else {
            self.error(
                &arg.span,
                format!("dirección no válida en Listen: `{text}`"),
                "formas válidas: `Listen 80`, `Listen 127.0.0.1:8080`, `Listen [::1]:8080`",
            );
            return;
        };
        let port = match port_text.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.error(
                    &arg.span,
                    format!("puerto no válido en Listen: `{port_text}`"),
                    "un puerto va de 1 a 65535",
                );
                return;
            }
        };
        if let Some(proto) = node.args.get(1) {
            if !proto.text.eq_ignore_ascii_case("http") {
                self.error(
                    &proto.span,
                    format!("el laboratorio solo habla `http`, no `{}`", proto.text),
                    "quita el protocolo o pon `http`",
                );
                return;
            }
        }
        let bind_ip = addr.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let bind = SocketAddr::new(bind_ip, self.ws.map_port(port));
        if let Some(prev) = self
            .cfg
            .listens
            .iter()
            .find(|l| l.bind == bind || (l.addr == addr && l.port == port))
        {
            let loc = prev.span.location(Some(&self.ws.root));
            self.error(
                &arg.span,
                format!("`Listen {text}` repite una dirección que ya se escucha (en {loc})"),
                "Apache no puede abrir dos veces el mismo puerto: borra una de las dos líneas",
            );
            return;
        }
        self.cfg.listens.push(Listen {
            addr,
            port,
            bind,
            span: node.span.clone(),
        });
    }

    fn virtual_host(&mut self, node: &Node) {
        let mut addrs = Vec::new();
        for arg in &node.args {
            match parse_vhost_addr(&arg.text) {
                Some(a) => addrs.push(a),
                None => self.error(
                    &arg.span,
                    format!("dirección no válida en <VirtualHost>: `{}`", arg.text),
                    "formas válidas: `*:80`, `127.0.0.1:8080`, `[::1]:80`, `_default_:80`",
                ),
            }
        }
        let mut host = HostConfig {
            span: Some(node.span.clone()),
            ..HostConfig::default()
        };
        self.host_level(&node.children, &mut host, true);
        self.cfg.vhosts.push(VirtualHost {
            addrs,
            host,
            span: node.span.clone(),
        });
    }

    fn section(&mut self, node: &Node) -> Option<Section> {
        let key = node.key();
        let (kind, regex_arg) = match (key.as_str(), node.args.as_slice()) {
            ("directory", [t, r]) if t.text == "~" => (SectionKind::DirectoryMatch, Some(r)),
            ("files", [t, r]) if t.text == "~" => (SectionKind::FilesMatch, Some(r)),
            ("location", [t, r]) if t.text == "~" => (SectionKind::LocationMatch, Some(r)),
            ("directorymatch", [r]) => (SectionKind::DirectoryMatch, Some(r)),
            ("filesmatch", [r]) => (SectionKind::FilesMatch, Some(r)),
            ("locationmatch", [r]) => (SectionKind::LocationMatch, Some(r)),
            ("directory", [_]) => (SectionKind::Directory, None),
            ("files", [_]) => (SectionKind::Files, None),
            ("location", [_]) => (SectionKind::Location, None),
            _ => {
                self.error(
                    &node.line_span(),
                    format!("`<{}>` tiene argumentos incorrectos", node.name),
                    format!(
                        "forma: `<{} ruta>` o `<{} ~ \"expresión\">`",
                        node.name, node.name
                    ),
                );
                return None;
            }
        };
        let pattern = if let Some(r) = regex_arg {
            match regex::Regex::new(&r.text) {
                Ok(re) => SectionPattern::Regex(re),
                Err(e) => {
                    self.error(
                        &r.span,
                        format!("expresión regular no válida: {e}"),
                        "revisa paréntesis, corchetes y barras invertidas",
                    );
                    return None;
                }
            }
        } else {
            let text = node.args[0].text.as_str();
            match kind {
                SectionKind::Directory if text == "/" => SectionPattern::Root,
                SectionKind::Directory => {
                    let rp = self.resolve(text);
                    if text.contains(['*', '?', '[']) {
                        SectionPattern::Wildcard(rp)
                    } else {
                        SectionPattern::Path(rp)
                    }
                }
                _ => {
                    let rp = ResolvedPath {
                        written: text.to_string(),
                        path: text.into(),
                    };
                    if text.contains(['*', '?', '[']) {
                        SectionPattern::Wildcard(rp)
                    } else {
                        SectionPattern::Path(rp)
                    }
                }
            }
        };
        let mut config = DirConfig::default();
        let at = Where::Section(kind);
        for child in &node.children {
            if child.is_section {
                match child.key().as_str() {
                    "requireall" | "requireany" | "requirenone" => {
                        if self.check(child, at).is_some() {
                            if let Some(e) = perdir::parse_require_section(child, &mut self.diags) {
                                perdir::add_require_checked(
                                    &mut config,
                                    e,
                                    &child.span,
                                    &mut self.diags,
                                );
                            }
                        }
                    }
                    "limit" | "limitexcept" => {
                        if self.check(child, at).is_some() {
                            self.limit_block(child, at, &mut config);
                        }
                    }
                    // `<Files>` inside `<Directory>`: applies to those files of that directory.
                    "files" | "filesmatch"
                        if matches!(kind, SectionKind::Directory | SectionKind::DirectoryMatch) =>
                    {
                        if self.check(child, at).is_some() {
                            if let Some(inner) = self.section(child) {
                                config.files.push(inner);
                            }
                        }
                    }
                    _ => {
                        if self.check(child, at).is_some() {
                            self.error(
                                &child.span,
                                format!(
                                    "el laboratorio no admite `<{}>` dentro de `<{}>`",
                                    child.name, node.name
                                ),
                                format!(
                                    "escribe `<{}>` fuera, al nivel del VirtualHost o del servidor",
                                    child.name
                                ),
                            );
                        }
                    }
                }
                continue;
            }
            if kind == SectionKind::Location
                && matches!(child.key().as_str(), "proxypass" | "proxypassreverse")
            {
                // Taken as host rules by `location_proxy`.
                continue;
            }
            let Some(_) = self.check(child, at) else {
                continue;
            };
            if child.key() == "allowoverride" && kind != SectionKind::Directory {
                self.error(
                    &child.span,
                    format!(
                        "`AllowOverride` solo se permite en `<Directory>`, no en `<{}>`",
                        kind.name()
                    ),
                    "muévela a un bloque <Directory>",
                );
                continue;
            }
            if !perdir::apply(child, &mut config, &mut self.diags) {
                self.error(
                    &child.span,
                    format!(
                        "`{}` no está permitida dentro de <{}>",
                        child.name,
                        kind.name()
                    ),
                    "ponla al nivel del VirtualHost o de la configuración global",
                );
            }
        }
        Some(Section {
            kind,
            pattern,
            config,
            span: node.span.clone(),
        })
    }

    /// `ProxyPass URL` and `ProxyPassReverse URL` inside `<Location PATH>`: rules for `PATH`,
    /// checked before the host's other rules as mod_proxy checks the per-location ones
    /// first. Returns how many rules came from `<Location>` sections so far.
    fn location_proxy(&mut self, node: &Node, host: &mut HostConfig, mut located: usize) -> usize {
        let Some(path) = node.args.first() else {
            return located;
        };
        for child in &node.children {
            let key = child.key();
            if child.is_section || !matches!(key.as_str(), "proxypass" | "proxypassreverse") {
                continue;
            }
            if self.check(child, Where::Vhost).is_none() {
                continue;
            }
            if child.args.first().is_some_and(|a| a.text.starts_with('/')) {
                self.error(
                    &child.span,
                    format!(
                        "dentro de `<Location>`, `{}` lleva solo la URL del backend",
                        child.name
                    ),
                    format!(
                        "la ruta es la de la sección: `{} http://127.0.0.1:8000/`",
                        child.name
                    ),
                );
                continue;
            }
            let mut rule = child.clone();
            rule.args.insert(0, path.clone());
            let before = host.proxy.rules.len();
            let base = self.cfg.server_root.clone();
            super::proxy::host_directive(self.ws, &base, &rule, host, &mut self.diags);
            if host.proxy.rules.len() > before {
                let added = host.proxy.rules.remove(before);
                host.proxy.rules.insert(located, added);
                located += 1;
            }
        }
        located
    }

    /// A `<Limit>`/`<LimitExcept>` block of a section: its access rules apply to its methods.
    fn limit_block(&mut self, node: &Node, at: Where, config: &mut DirConfig) {
        let Some(filter) = perdir::parse_limit(node, &mut self.diags) else {
            return;
        };
        for child in &node.children {
            let key = child.key();
            if self.check(child, at).is_none() {
                continue;
            }
            if child.is_section {
                match key.as_str() {
                    "requireall" | "requireany" | "requirenone" => {
                        if let Some(e) = perdir::parse_require_section(child, &mut self.diags) {
                            perdir::add_require_checked(
                                config,
                                perdir::limited(e, Some(&filter)),
                                &child.span,
                                &mut self.diags,
                            );
                        }
                    }
                    _ => self.error(
                        &child.span,
                        format!("`<{}>` no puede ir dentro de `<{}>`", child.name, node.name),
                        format!(
                            "dentro de `<{}>` van reglas de acceso: Require, Order, Allow, Deny, Satisfy",
                            node.name
                        ),
                    ),
                }
                continue;
            }
            if !perdir::is_access_directive(&key) {
                self.diags.push(
                    Diagnostic::warning(
                        Some(child.span.clone()),
                        format!(
                            "`{}` dentro de `<{}>` se aplica a todos los métodos",
                            child.name, node.name
                        ),
                        )
                    .with_hint("solo Require, Order, Allow, Deny y Satisfy dependen del método; saca esta directiva del bloque"),
                );
            }
            if !perdir::apply_in(child, config, &mut self.diags, Some(&filter)) {
                self.error(
                    &child.span,
                    format!(
                        "`{}` no está permitida dentro de <{}>",
                        child.name, node.name
                    ),
                    "ponla al nivel del VirtualHost o de la configuración global",
                );
            }
        }
    }

    fn finish(&mut self, tree: &Tree) {
        // Exactly one MPM.
        let mpms: Vec<(&String, &Option<Span>)> = tree
            .modules
            .iter()
            .filter(|(n, _)| n.starts_with("mpm_"))
            .collect();
        match mpms.len() {
            0 => self.diags.push(
                Diagnostic::error(
                    None,
                    "no hay ningún MPM cargado: Apache necesita exactamente uno",
                )
                .with_hint("activa el de Debian por defecto con `lab a2enmod mpm_event`"),
            ),
            1 => {}
            _ => {
                let names: Vec<&str> = mpms.iter().map(|(n, _)| n.as_str()).collect();
                let span = mpms.get(1).and_then(|(_, s)| (*s).clone());
                let first = mpms[0]
                    .1
                    .as_ref()
                    .map(|s| s.location(Some(&self.ws.root)))
                    .unwrap_or_default();
                self.diags.push(
                    Diagnostic::error(span, format!("hay {} MPM cargados ({}); solo puede haber uno", names.len(), names.join(", ")))
                        .with_hint(format!("el primero se carga en {first}; desactiva los que sobren, por ejemplo `lab a2dismod {}`", names[1])),
                );
            }
        }
        self.cfg.modules = self.modules.clone();
        if self.cfg.listens.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    None,
                    "no hay ninguna directiva `Listen`: el servidor no escucharía en ningún puerto",
                )
                .with_hint("añade `Listen 80` en etc/apache2/ports.conf"),
            );
        }
        // Defaults Debian compiles in.
        if self.cfg.main.document_root.is_none() {
            self.cfg.main.document_root = Some(self.resolve("/var/www/html"));
        }
        if self.cfg.main.error_log.is_none() {
            self.cfg.main.error_log = Some(self.resolve("/var/log/apache2/error.log"));
        }
        // Log format nicknames.
        let formats = self.cfg.log_formats.clone();
        let mut warnings = Vec::new();
        for host in std::iter::once(&mut self.cfg.main)
            .chain(self.cfg.vhosts.iter_mut().map(|v| &mut v.host))
        {
            for log in &mut host.custom_logs {
                if let Some(f) = formats.get(&log.format) {
                    log.format = f.clone();
                } else if !log.format.contains('%') {
                    let hint = match suggest(&log.format, formats.keys().map(String::as_str)) {
                        Some(s) => format!("¿Quisiste decir `{s}`?"),
                        None => {
                            "define el formato antes con `LogFormat \"...\" nombre`".to_string()
                        }
                    };
                    warnings.push(Diagnostic::warning(Some(log.span.clone()), format!("no hay ningún LogFormat llamado `{}`: Apache escribiría ese texto tal cual en cada línea del registro", log.format)).with_hint(hint));
                }
            }
        }
        self.diags.extend(warnings);
        // Virtual hosts that no Listen serves.
        let ports: Vec<u16> = self.cfg.listens.iter().map(|l| l.port).collect();
        let mut seen: HashMap<(String, Option<u16>), Span> = HashMap::new();
        let mut extra = Vec::new();
        for v in &self.cfg.vhosts {
            for a in &v.addrs {
                if let Some(p) = a.port {
                    if !ports.is_empty() && !ports.contains(&p) {
                        extra.push(Diagnostic::warning(Some(v.span.clone()), format!("ningún `Listen` usa el puerto {p}: este VirtualHost no recibirá peticiones")).with_hint(format!("añade `Listen {p}` en etc/apache2/ports.conf o cambia el puerto del VirtualHost")));
                    }
                }
            }
            if let Some(name) = &v.host.server_name {
                let port = v.addrs.first().and_then(|a| a.port);
                if let Some(prev) = seen.get(&(name.clone(), port)) {
                    extra.push(Diagnostic::warning(v.host.span.clone().or(Some(v.span.clone())), format!("el ServerName `{name}` ya lo usa otro VirtualHost del mismo puerto (en {}); este nunca se elegirá", prev.location(Some(&self.ws.root)))).with_hint("cambia el ServerName o desactiva uno de los dos sitios"));
                } else {
                    seen.insert(
                        (name.clone(), port),
                        v.host.span.clone().unwrap_or(v.span.clone()),
                    );
                }
            }
        }
        self.diags.extend(extra);
        super::wsgi::validate(&self.cfg, self.ws, &mut self.diags);
    }
}

fn parse_vhost_addr(text: &str) -> Option<VhostAddr> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        (ip, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let ip = match host {
        "*" | "_default_" => None,
        h => Some(h.parse::<IpAddr>().ok()?),
    };
    let port = match port {
        None | Some("*") => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
    };
    Some(VhostAddr { ip, port })
}

enum Stage {
    Handshake,
    Header,
    Body,
}

/// One argument of `RequestReadTimeout` (`header=20-40,MinRate=500`, `body=10`,
/// `handshake=0`), checked as mod_reqtimeout's `set_reqtimeout_param` does; the reasons are
/// its own, in Spanish.
fn request_read_timeout(arg: &str) -> Result<(Stage, ReadStage), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err("cada parámetro se escribe `clave=valor` (header=, body= o handshake=)".into());
    };
    let stage = match key.to_ascii_lowercase().as_str() {
        "handshake" => Stage::Handshake,
        "header" => Stage::Header,
        "body" => Stage::Body,
        _ => {
            return Err(format!(
                "parámetro desconocido `{key}` (se admiten header, body y handshake)"
            ))
        }
    };
    // strtol's reading: digits, and nothing after them.
    let number = |text: &str| -> Result<u32, String> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(if text.starts_with('-') {
                "el valor no puede ser negativo".to_string()
            } else {
                format!("`{text}` no es un número de segundos")
            });
        }
        text.parse::<u32>()
            .map_err(|_| format!("`{text}` es demasiado grande"))
    };
    let lower = value.to_ascii_lowercase();
    let mut out = ReadStage::default();
    if let Some(at) = lower.find(",minrate=") {
        let rate = &value[at + ",minrate=".len()..];
        out.min_rate = number(rate)?;
        if out.min_rate == 0 {
            return Err("MinRate debe ser mayor que 0".into());
        }
        let times = &value[..at];
        match times.split_once('-') {
            Some((first, max)) => {
                out.max = number(max)?;
                out.timeout = number(first)?;
            }
            None => out.timeout = number(times)?,
        }
    } else {
        if value.contains('-') {
            return Err(
                "un intervalo de tiempos (`20-40`) necesita MinRate (`,MinRate=500`)".into(),
            );
        }
        out.timeout = number(value)?;
    }
    if out.max > 0 && out.timeout >= out.max {
        return Err("el tiempo máximo debe ser mayor que el inicial".into());
    }
    Ok((stage, out))
}
