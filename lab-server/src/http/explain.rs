//! `lab explain URL`: which `Listen`, virtual host, mapping, sections, `Require` and handler
//! would serve a request, with the file and line of every directive involved. It runs the
//! same functions the server runs, on the configuration as it is on disk, without sending
//! anything.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::authz::{self, Subject};
use super::mapping::{self, Walk};
use super::perdir::{Effective, Target};
use super::urlpath;
use super::vhost::{host_name, Chosen, VhostIndex};
use crate::config::model::{OptionSet, Section, SectionPattern, ServerConfig};
use crate::handlers::{self, Handler};

/// A request as `lab explain` takes it.
#[derive(Debug, Clone)]
pub struct Question {
    pub method: String,
    pub host: String,
    /// Port in the URL (the mapped one the browser uses, or the one in `Listen`).
    pub port: Option<u16>,
    pub path: String,
    pub query: Option<String>,
}

impl Question {
    /// Parses `http://host[:port]/path?query` or a bare `/path` (Host `localhost`).
    pub fn parse(url: &str, method: &str) -> Result<Question, String> {
        let (host_port, rest) = if let Some(r) = url.strip_prefix("http://") {
            match r.find('/') {
                Some(i) => (&r[..i], &r[i..]),
                None => (r, "/"),
            }
        } else if url.starts_with("https://") {
            return Err("el laboratorio no sirve HTTPS: usa una URL http://".into());
        } else if url.starts_with('/') {
            ("localhost", url)
        } else {
            return Err(format!(
                "`{url}` no es una URL: escribe algo como http://localhost:10080/ o /ruta"
            ));
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
                Ok(p) => (h.to_string(), Some(p)),
                Err(_) => return Err(format!("el puerto `{p}` no es un número")),
            },
            _ => (host_port.to_string(), None),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (rest.to_string(), None),
        };
        Ok(Question {
            method: method.to_ascii_uppercase(),
            host,
            port,
            path,
            query,
        })
    }
}

fn options_text(o: OptionSet) -> String {
    let names = [
        (OptionSet::INDEXES, "Indexes"),
        (OptionSet::FOLLOW_SYMLINKS, "FollowSymLinks"),
        (OptionSet::SYMLINKS_IF_OWNER_MATCH, "SymLinksIfOwnerMatch"),
        (OptionSet::EXEC_CGI, "ExecCGI"),
        (OptionSet::MULTIVIEWS, "MultiViews"),
        (OptionSet::INCLUDES, "Includes"),
    ];
    let on: Vec<&str> = names
        .iter()
        .filter(|(f, _)| o.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    if on.is_empty() {
        "None".into()
    } else {
        on.join(" ")
    }
}

/// The `ProxyPass`/`ProxyPassMatch` line of a proxied URL.
fn proxy_rule_line(
    out: &mut String,
    config: &ServerConfig,
    rule: &crate::config::proxy::ProxyRule,
) {
    let _ = writeln!(
        out,
        "Correspondencia: {} {} ({}): mod_proxy la traduce sin mirar el disco",
        if rule.regex.is_some() {
            "ProxyPassMatch"
        } else {
            "ProxyPass"
        },
        rule.pattern,
        rule.span.location(Some(config.workspace.as_path()))
    );
}

fn section_label(s: &Section) -> String {
    let arg = match &s.pattern {
        SectionPattern::Root => "/".to_string(),
        SectionPattern::Path(p) | SectionPattern::Wildcard(p) => p.written.clone(),
        SectionPattern::Regex(re) => format!("\"{}\"", re.as_str()),
    };
    format!("<{} {arg}>", s.kind.name())
}

/// The explanation, in Spanish.
pub fn explain(config: &ServerConfig, q: &Question) -> String {
    let base = Some(config.workspace.as_path());
    let at = |span: &crate::config::Span| span.location(base);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Petición: {} {}{}  (Host: {})",
        q.method,
        q.path,
        q.query
            .as_deref()
            .map(|x| format!("?{x}"))
            .unwrap_or_default(),
        q.host
    );

    // Listen.
    let listen = match q.port {
        Some(p) => config
            .listens
            .iter()
            .find(|l| l.bind.port() == p)
            .or_else(|| config.listens.iter().find(|l| l.port == p)),
        None => config.listens.iter().find(|l| l.port == 80),
    };
    let Some(listen) = listen.or(config.listens.first()) else {
        out.push_str("No hay ningún `Listen`: el servidor no escucha en ningún puerto.\n");
        return out;
    };
    if q.port
        .is_some_and(|p| p != listen.bind.port() && p != listen.port)
    {
        let _ = writeln!(
            out,
            "Aviso: ningún `Listen` usa el puerto {}; se explica como si llegara por el primero.",
            q.port.unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "Entra por: {} ({})",
        crate::report::mapping(listen, listen.bind),
        at(&listen.span)
    );

    // Virtual host.
    let index = VhostIndex::new(config);
    let local = match listen.bind.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let chosen = index.choose(config, local, listen.port, Some(&q.host));
    let host = match chosen {
        Chosen::Vhost(i) => &config.vhosts[i].host,
        Chosen::Main => &config.main,
    };
    match chosen {
        Chosen::Vhost(i) => {
            let v = &config.vhosts[i];
            let wanted = host_name(&q.host);
            // A vhost without ServerName answers to the main server's name.
            let name = v
                .host
                .server_name
                .as_deref()
                .or(config.main.server_name.as_deref())
                .unwrap_or("localhost");
            let by_name = name.eq_ignore_ascii_case(&wanted);
            let by_alias = v
                .host
                .server_aliases
                .iter()
                .any(|a| crate::config::loader::fnmatch(&a.to_ascii_lowercase(), &wanted));
            let why = if by_name {
                format!("«{wanted}» coincide con su ServerName")
            } else if by_alias {
                format!("«{wanted}» coincide con un ServerAlias")
            } else {
                format!(
                    "ningún ServerName ni ServerAlias coincide con «{wanted}»: responde el primer \
                     <VirtualHost> de esa dirección, el sitio por defecto"
                )
            };
            let _ = writeln!(
                out,
                "Sitio virtual: {}{} ({})\n  motivo: {why}",
                name,
                if v.host.server_name.is_none() {
                    " (sin ServerName propio: usa el del servidor principal)"
                } else {
                    ""
                },
                at(&v.span)
            );
        }
        Chosen::Main => {
            out.push_str(
                "Sitio virtual: ninguno; ningún <VirtualHost> corresponde a esta dirección y responde el servidor principal\n",
            );
        }
    }

    // URL -> file.
    let url = match urlpath::clean(&q.path) {
        Ok(u) => u,
        Err(e) => {
            let _ = writeln!(
                out,
                "Ruta: rechazada con {} antes de buscar ningún fichero: {}",
                e.status(),
                e.reason()
            );
            return out;
        }
    };
    let _ = writeln!(out, "Ruta decodificada y normalizada: {url}");
    let is_main = std::ptr::eq(host, &config.main);
    let redirects = host
        .redirects
        .iter()
        .chain(config.main.redirects.iter().filter(|_| !is_main));
    if let Some((status, to)) = mapping::redirect(redirects, &url, q.query.as_deref()) {
        let _ = writeln!(
            out,
            "Redirect: responde {status} {}",
            to.map(|t| format!("hacia {t}"))
                .unwrap_or_else(|| "(gone: ya no existe)".into())
        );
        return out;
    }
    if let Some(m) = super::request::http_proxy_match(config, host, &url) {
        proxy_rule_line(&mut out, config, m.rule);
        let module = if config.has_module("proxy_http") {
            "mod_proxy_http"
        } else {
            "mod_proxy_http, que no está activado (500; `lab a2enmod proxy_http`)"
        };
        let _ = writeln!(
            out,
            "Manejador: HTTP por {module} hacia http://{}{}\n  el backend recibe Host: {}, X-Forwarded-For, X-Forwarded-Host y X-Forwarded-Server",
            m.target.authority,
            m.path,
            if host.proxy.preserve_host.or(config.main.proxy.preserve_host) == Some(true) {
                "el del cliente (ProxyPreserveHost On)".to_string()
            } else {
                m.target.authority.clone()
            }
        );
        return out;
    }
    if let Some(m) = super::request::proxy_match(config, host, &url) {
        proxy_rule_line(&mut out, config, m.rule);
        let _ = writeln!(
            out,
            "Manejador: FastCGI por mod_proxy_fcgi hacia {}{}\n  SCRIPT_FILENAME=proxy:{} SCRIPT_NAME={url:?}, sin PATH_INFO (lo calcula PHP-FPM con cgi.fix_pathinfo)",
            m.target.backend,
            php_pool_note(config, &m.target.backend),
            m.url
        );
        return out;
    }
    let mut mapped = mapping::map(config, host, &url);
    if mapped.alias.is_none() {
        if let Some(m) = super::request::wsgi_alias(config, host, &url) {
            explain_wsgi(&mut out, config, host, &m, &q.method, local);
            return out;
        }
    }
    match mapped.alias {
        Some(a) => {
            let _ = writeln!(
                out,
                "Correspondencia: {} {} -> {} ({})",
                if a.kind == crate::config::model::AliasKind::Script {
                    "ScriptAlias"
                } else {
                    "Alias"
                },
                a.url,
                a.target.written,
                at(&a.span)
            );
        }
        None => {
            let (dr, span) = if host.document_root.is_some() {
                (
                    host.document_root.as_ref(),
                    host.document_root_span.as_ref(),
                )
            } else {
                (
                    config.main.document_root.as_ref(),
                    config.main.document_root_span.as_ref(),
                )
            };
            let _ = writeln!(
                out,
                "Correspondencia: DocumentRoot {}{}",
                dr.map(|d| d.written.as_str())
                    .unwrap_or("/var/www/html (por defecto)"),
                span.map(|s| format!(" ({})", at(s))).unwrap_or_default()
            );
        }
    }
    let mut walk = mapping::walk(&mapped.root, &mapped.path);
    let path_info = super::request::split_path_info(config, host, &url, &mut mapped, &mut walk);
    if !path_info.is_empty() {
        let _ = writeln!(
            out,
            "PATH_INFO: {path_info} (lo que sigue al script en la URL)"
        );
    }
    let shown = crate::config::diagnostic::display_path(&mapped.path, base);
    let (dir, file_name) = match &walk {
        Walk::Found { meta, .. } if meta.is_dir() => {
            let _ = writeln!(out, "En disco: {shown} (directorio)");
            (mapped.path.clone(), None)
        }
        Walk::Found { meta, .. } => {
            let _ = writeln!(out, "En disco: {shown} (fichero de {} bytes)", meta.len());
            (
                mapped.path.parent().unwrap_or(&mapped.root).to_path_buf(),
                mapped.path.file_name().and_then(|n| n.to_str()),
            )
        }
        Walk::Missing { dir, .. } => {
            let _ = writeln!(out, "En disco: {shown} no existe");
            (
                dir.clone(),
                mapped.path.file_name().and_then(|n| n.to_str()),
            )
        }
    };

    // Sections, `.htaccess` files and access.
    let target = Target {
        dir: Some(&dir),
        file_name,
        url: &url,
    };
    let eff = match Effective::merge_walk(config, host, &target) {
        Ok(eff) => eff,
        Err(bad) => {
            let _ = writeln!(
                out,
                "Ficheros .htaccess: {} no es válido, así que la petición recibe un 500\n  (en error.log: {})",
                crate::config::diagnostic::display_path(&bad.file, base),
                bad.log_line()
            );
            return out;
        }
    };
    out.push_str("Secciones que se aplican, en el orden en que Apache las combina:\n");
    let mut any = false;
    for (n, s) in eff.sections().enumerate() {
        any = true;
        let _ = writeln!(out, "  {}. {:<40} {}", n + 1, section_label(s), at(&s.span));
    }
    if !any {
        out.push_str("  (ninguna)\n");
    }
    if eff.htaccess_files().is_empty() {
        out.push_str("Ficheros .htaccess: ninguno (AllowOverride None o no hay ficheros)\n");
    } else {
        out.push_str(
            "Ficheros .htaccess leídos, cada uno tras los <Directory> de su directorio:\n",
        );
        for f in eff.htaccess_files() {
            let _ = writeln!(
                out,
                "  - {}",
                crate::config::diagnostic::display_path(f, base)
            );
        }
    }
    let _ = writeln!(out, "Options resultantes: {}", options_text(eff.options));
    let env = std::collections::HashMap::new();
    let who = Subject {
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        local,
        method: &q.method,
        env: &env,
    };
    let access = authz::access(eff.access_compat(), eff.require(), &who);
    let granted = access.granted;
    let require = match (eff.require(), eff.require_source()) {
        (None, _) => "ningún Require se aplica (Apache 2.4 concede)".to_string(),
        (Some(_), Some(s)) => format!("decide {} en {}", section_label(s), at(&s.span)),
        (Some(_), None) => "decide un Require fuera de las secciones".to_string(),
    };
    let compat_at = match eff.access_compat_source() {
        Some(s) => format!("{} en {}", section_label(s), at(&s.span)),
        None => "un .htaccess".to_string(),
    };
    let source = match eff.access_compat() {
        None => require,
        Some(_) if access.host_refused && !granted => format!(
            "lo rechazan las reglas de Apache 2.2 (Order/Allow/Deny de {compat_at}); Require no llega a consultarse"
        ),
        Some(c) if c.satisfy_any(&q.method) && !access.host_refused => format!(
            "lo admiten Order/Allow/Deny de {compat_at} y `Satisfy Any` basta; Require no se consulta"
        ),
        Some(c) if c.satisfy_any(&q.method) => format!(
            "Order/Allow/Deny de {compat_at} lo rechazan, pero con `Satisfy Any` decide Require: {require}"
        ),
        Some(_) => format!("Order/Allow/Deny de {compat_at} lo admiten; después {require}"),
    };
    let hidden = file_name.is_some_and(|n| n.len() >= 3 && n[..3].eq_ignore_ascii_case(".ht"));
    if hidden {
        out.push_str("Acceso: denegado (403): los ficheros .ht* no se sirven nunca\n");
        return out;
    }
    let _ = writeln!(
        out,
        "Acceso desde 127.0.0.1: {} ({source})",
        if granted {
            "concedido"
        } else {
            "denegado, 403"
        }
    );
    if !granted {
        return out;
    }

    // Handler.
    let handler = handlers::choose(config, &eff, mapped.is_script(), None, file_name);
    let what = match handler {
        Handler::ServerStatus => "mod_status (SetHandler server-status)".to_string(),
        Handler::Cgi => explain_cgi(&eff, mapped.is_script(), &mapped.path, &walk),
        Handler::Wsgi(_) => "mod_wsgi (WSGIScriptAlias)".to_string(),
        Handler::ScriptCacheStatus => {
            "estado de la caché de scripts (SetHandler scriptcache-status; ?json para programas)"
                .to_string()
        }
        Handler::Action(program, _) => format!(
            "mod_actions (Action): redirección interna a {program} con la URL como PATH_INFO"
        ),
        Handler::ProxyFcgi => {
            let named = eff.set_handler().unwrap_or_default();
            match crate::config::proxy::handler_target(&config.workspace, named) {
                Some(Ok(t)) => format!(
                    "PHP/FastCGI por mod_proxy_fcgi (SetHandler \"{named}\"): {}{}",
                    t.backend,
                    php_pool_note(config, &t.backend)
                ),
                _ => format!("SetHandler \"{named}\" no es un destino proxy:fcgi válido: 500"),
            }
        }
        Handler::ModPhp => format!(
            "mod_php (SetHandler application/x-httpd-php de php8.2.conf, MPM prefork): PHP dentro \
             de los hijos de Apache; el laboratorio lo ejecuta en su grupo de procesos PHP \
             (StartServers {}, MaxSpareServers {}, MaxRequestWorkers {}) con etc/php/8.2/apache2/php.ini",
            config.mpm.start_servers, config.mpm.max_spare, config.mpm.max_request_workers
        ),
        Handler::Static if php_file(file_name) => format!(
            "ningún manejador de PHP se aplica a este fichero: se enviaría el código fuente como \
             fichero estático{}",
            if config.has_module("proxy_fcgi") {
                " (proxy_fcgi está cargado, pero falta `a2enconf php8.2-fpm` o un SetHandler/ProxyPassMatch)"
            } else {
                " (activa PHP-FPM: `lab a2enmod proxy_fcgi setenvif` y `lab a2enconf php8.2-fpm`)"
            }
        ),
        Handler::Static => match &walk {
            Walk::Missing {
                refused: Some((at, why)),
                ..
            } => format!(
                "Apache no puede recorrer {}: {why}; responde 403",
                crate::config::diagnostic::display_path(at, base)
            ),
            Walk::Missing { .. } => "fichero estático, pero no existe: 404".to_string(),
            Walk::Found { meta, .. } if meta.is_dir() => {
                if !url.ends_with('/') {
                    format!("directorio sin «/» final: 301 hacia {url}/")
                } else {
                    let default = ["index.html".to_string()];
                    let indexes = eff.directory_index().unwrap_or(&default);
                    match indexes.iter().find(|n| mapped.path.join(n).is_file()) {
                        Some(n) => format!("DirectoryIndex: sirve {n}"),
                        None if eff.options.contains(OptionSet::INDEXES) => {
                            "mod_autoindex: listado del directorio (Options Indexes)".into()
                        }
                        None => format!(
                            "ningún DirectoryIndex ({}) existe y Options no tiene Indexes: 403",
                            indexes.join(" ")
                        ),
                    }
                }
            }
            Walk::Found { .. } => {
                "fichero estático (200, o 304 si el navegador ya lo tiene)".into()
            }
        },
    };
    let _ = writeln!(out, "Manejador: {what}");
    out
}

/// A URL that a `WSGIScriptAlias` serves: the script, the sections around it, access, and the
/// mode (embedded or which daemon group).
fn explain_wsgi(
    out: &mut String,
    config: &ServerConfig,
    host: &crate::config::model::HostConfig,
    m: &crate::wsgi::ScriptMatch<'_>,
    method: &str,
    local: IpAddr,
) {
    let base = Some(config.workspace.as_path());
    let script = &m.alias.script;
    let _ = writeln!(
        out,
        "Correspondencia: WSGIScriptAlias {} -> {} ({})",
        m.alias.url,
        script.written,
        m.alias.span.location(base)
    );
    let _ = writeln!(
        out,
        "  SCRIPT_NAME={:?} PATH_INFO={:?}",
        m.script_name, m.path_info
    );
    let shown = crate::config::diagnostic::display_path(&script.path, base);
    if script.path.is_file() {
        let _ = writeln!(out, "En disco: {shown} (script WSGI)");
    } else {
        let _ = writeln!(out, "En disco: {shown} no existe: mod_wsgi respondería 404");
    }
    let dir = script
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let eff = Effective::merge(
        config,
        host,
        &Target {
            dir: Some(&dir),
            file_name: script.path.file_name().and_then(|n| n.to_str()),
            url: m.script_name,
        },
    );
    out.push_str("Secciones que se aplican, en el orden en que Apache las combina:\n");
    let mut any = false;
    for (n, s) in eff.sections().enumerate() {
        any = true;
        let _ = writeln!(
            out,
            "  {}. {:<40} {}",
            n + 1,
            section_label(s),
            s.span.location(base)
        );
    }
    if !any {
        out.push_str("  (ninguna)\n");
    }
    let env = std::collections::HashMap::new();
    let who = Subject {
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        local,
        method,
        env: &env,
    };
    if !authz::access(eff.access_compat(), eff.require(), &who).granted {
        out.push_str("Acceso desde 127.0.0.1: denegado, 403 (el script necesita `Require all granted` en su <Directory> o <Files>)\n");
        return;
    }
    out.push_str("Acceso desde 127.0.0.1: concedido\n");
    let settings = crate::wsgi::mapping::settings_for(config, host, m.alias);
    let mode = match settings.process_group.as_ref().map(|(g, _)| g.as_str()) {
        Some(g) if !g.is_empty() && g != "%{GLOBAL}" => {
            match config.wsgi.daemons.iter().find(|d| d.name == g) {
                Some(d) => format!(
                "mod_wsgi en modo demonio: grupo `{g}` ({} procesos, {} hilos{}), definido en {}",
                d.processes,
                d.threads,
                d.python_home
                    .as_ref()
                    .map(|h| format!(", python-home={}", h.written))
                    .unwrap_or_default(),
                d.span.location(base)
            ),
                None => format!(
                    "mod_wsgi en modo demonio, pero no hay ningún WSGIDaemonProcess `{g}`: 500"
                ),
            }
        }
        _ => "mod_wsgi en modo embebido (dentro del proceso del servidor)".to_string(),
    };
    let _ = writeln!(
        out,
        "Manejador: {mode}; llama a `{}` del script",
        settings.callable_object.as_deref().unwrap_or("application")
    );
}

/// The CGI handler's view of a script: which program runs it and why it would fail.
fn explain_cgi(
    eff: &Effective<'_>,
    script_alias: bool,
    path: &std::path::Path,
    walk: &Walk,
) -> String {
    let mut out = String::from("CGI (mod_cgid): ");
    out.push_str(if script_alias {
        "la URL cae en un ScriptAlias"
    } else {
        "SetHandler/AddHandler cgi-script"
    });
    if !script_alias && !eff.options.contains(OptionSet::EXEC_CGI) {
        out.push_str(
            "; pero Options no incluye ExecCGI en este directorio: respondería 403 \
             (AH01262). Añade `Options +ExecCGI` en su <Directory>",
        );
        return out;
    }
    match walk {
        Walk::Missing { .. } => {
            out.push_str("; el script no existe: 404 (AH01264)");
            return out;
        }
        Walk::Found { meta, .. } if meta.is_dir() => {
            out.push_str("; es un directorio, no un script: 403 (AH01265)");
            return out;
        }
        Walk::Found { .. } => {}
    }
    let facts = crate::handlers::cgi::describe_script(path);
    let _ = write!(out, "\n  Script: {}", path.display());
    match (&facts.interpreter, facts.interpreter_exists) {
        (Some(i), Some(true)) => {
            let _ = write!(out, "\n  Intérprete (línea #!): {i}");
        }
        (Some(i), _) => {
            let _ = write!(
                out,
                "\n  Intérprete (línea #!): {i}, que NO existe en esta máquina: respondería 500 \
                 (AH01241: exec failed, «End of script output before headers»)"
            );
        }
        (None, _) => out.push_str(
            "\n  Sin línea #!: el sistema no sabrá con qué programa ejecutarlo; respondería 500 \
             (AH01241: exec failed)",
        ),
    }
    if !facts.executable {
        out.push_str(
            "\n  No tiene permiso de ejecución: respondería 500 (AH01241, «Permission denied»). \
             Arréglalo con `chmod +x`",
        );
    }
    if facts.executable && facts.interpreter_exists == Some(true) {
        out.push_str("\n  Se ejecutaría: un proceso nuevo por petición");
    }
    out
}

/// A `.php`, `.phtml` or `.phar` name, as Debian's `FilesMatch` says.
fn php_file(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        let l = n.to_ascii_lowercase();
        l.len() > 4 && (l.ends_with(".php") || l.ends_with(".phtml") || l.ends_with(".phar"))
    })
}

/// Which php-fpm pool of the workspace listens on `backend`, if any.
fn php_pool_note(config: &ServerConfig, backend: &crate::fastcgi::pool::Backend) -> String {
    let ws = crate::workspace::Workspace {
        root: config.workspace.clone(),
        settings: Default::default(),
    };
    match crate::php::fpm::load(&ws) {
        Ok(Some(l)) => match l.config.pool_for(backend) {
            Some(p) => format!(
                " (pool [{}] de php-fpm, pm {}, máx. {} procesos; servicio `php8.2-fpm`)",
                p.name,
                p.pm.name(),
                p.max_children
            ),
            None => " (ningún pool de etc/php/8.2/fpm/pool.d escucha ahí: 503)".to_string(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config() -> (tempfile::TempDir, ServerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&dir.path().join("ws"), Some("prueba")).unwrap();
        std::fs::create_dir_all(ws.root.join("var/www/html/privado")).unwrap();
        std::fs::write(
            ws.apache_dir().join("conf-enabled/privado.conf"),
            "<Directory /var/www/html/privado>\n\tRequire all denied\n</Directory>\n",
        )
        .unwrap();
        let loaded = crate::config::load(&ws).unwrap();
        (dir, loaded.config)
    }

    #[test]
    fn a_wsgi_url_names_the_alias_the_split_and_the_daemon_group() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&dir.path().join("ws"), Some("prueba")).unwrap();
        let _ = crate::a2::enable(
            &ws.apache_dir(),
            crate::a2::Kind::Module,
            &["wsgi".to_string()],
        );
        std::fs::create_dir_all(ws.root.join("var/www/app")).unwrap();
        std::fs::write(ws.root.join("var/www/app/app.wsgi"), "").unwrap();
        std::fs::write(
            ws.apache_dir().join("sites-enabled/app.conf"),
            "<VirtualHost *:80>\n\tServerName app.localhost\n\tWSGIDaemonProcess app processes=2 threads=5\n\tWSGIProcessGroup app\n\tWSGIScriptAlias /api /var/www/app/app.wsgi\n\t<Directory /var/www/app>\n\t\t<Files app.wsgi>\n\t\t\tRequire all granted\n\t\t</Files>\n\t</Directory>\n</VirtualHost>\n",
        )
        .unwrap();
        let config = crate::config::load(&ws).unwrap().config;
        let text = explain(
            &config,
            &Question::parse("http://app.localhost/api/v1", "GET").unwrap(),
        );
        assert!(text.contains("WSGIScriptAlias /api -> /var/www/app/app.wsgi (etc/apache2/sites-enabled/app.conf:5"), "{text}");
        assert!(
            text.contains("SCRIPT_NAME=\"/api\" PATH_INFO=\"/v1\""),
            "{text}"
        );
        assert!(text.contains("<Files app.wsgi>"), "{text}");
        assert!(text.contains("Acceso desde 127.0.0.1: concedido"), "{text}");
        assert!(
            text.contains("modo demonio: grupo `app` (2 procesos, 5 hilos)"),
            "{text}"
        );
    }

    #[test]
    fn urls_parse_with_and_without_host() {
        let q = Question::parse("http://a.localhost:10080/x/y?z=1", "get").unwrap();
        assert_eq!(
            (q.method.as_str(), q.host.as_str(), q.port, q.path.as_str()),
            ("GET", "a.localhost", Some(10080), "/x/y")
        );
        assert_eq!(q.query.as_deref(), Some("z=1"));
        let bare = Question::parse("/solo", "GET").unwrap();
        assert_eq!((bare.host.as_str(), bare.port), ("localhost", None));
        assert!(Question::parse("https://x/", "GET").is_err());
        assert!(Question::parse("ftp:x", "GET").is_err());
    }

    #[test]
    fn the_default_page_is_explained_with_its_directives() {
        let (_dir, config) = default_config();
        let text = explain(&config, &Question::parse("/", "GET").unwrap());
        assert!(text.contains("sites-enabled/000-default.conf:"), "{text}");
        assert!(text.contains("DocumentRoot /var/www/html"), "{text}");
        assert!(text.contains("<Directory /var/www/>"), "{text}");
        assert!(text.contains("DirectoryIndex: sirve index.html"), "{text}");
        assert!(text.contains("Acceso desde 127.0.0.1: concedido"), "{text}");
    }

    #[test]
    fn a_denied_directory_names_the_section_that_denies() {
        let (_dir, config) = default_config();
        let text = explain(&config, &Question::parse("/privado/x", "GET").unwrap());
        assert!(text.contains("denegado, 403"), "{text}");
        assert!(text.contains("decide <Directory /var/www/html/privado> en etc/apache2/conf-enabled/privado.conf:1"), "{text}");
    }

    #[test]
    fn traversal_is_refused_before_any_file() {
        let (_dir, config) = default_config();
        let text = explain(&config, &Question::parse("/../etc/passwd", "GET").unwrap());
        assert!(text.contains("rechazada con 400"), "{text}");
    }
}
