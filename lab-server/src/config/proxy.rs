//! mod_proxy and mod_proxy_fcgi directives -> the typed model: `ProxyPass`,
//! `ProxyPassMatch`, `ProxyTimeout`, `ProxyFCGIBackendType`, `<Proxy URL key=value...>` and
//! `ProxySet`, plus the `proxy:` handlers of `SetHandler` (`proxy:unix:/path|fcgi://host/`,
//! `proxy:fcgi://host:port/`).
//!
//! FastCGI backends (mod_proxy_fcgi) and plain HTTP ones (mod_proxy_http: `ProxyPass /app/
//! http://127.0.0.1:8000/`, `ProxyPassReverse`, `ProxyPreserveHost`); `https://` backends are
//! an error that says so.

use std::path::PathBuf;
use std::time::Duration;

use super::diagnostic::{Diagnostic, Span};
use super::model::HostConfig;
use super::perdir::Diags;
use super::syntax::Node;
use crate::fastcgi::pool::Backend;
use crate::workspace::Workspace;

/// Where requests go: the socket or address, and the `fcgi://host[:port]` URL Apache names
/// the worker with (it prefixes `SCRIPT_FILENAME` with `proxy:` + that URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcgiTarget {
    pub backend: Backend,
    /// `fcgi://localhost` or `fcgi://127.0.0.1:9000` (no trailing path).
    pub authority_url: String,
    /// The path part of the URL after the authority (`/var/www/html/$1`, `/`, or empty).
    pub path: String,
    /// The socket path as written, for messages (`/run/php/php8.2-fpm.sock`).
    pub written: String,
}

/// Parses `unix:/path|fcgi://host/path` or `fcgi://host:port/path`. `Err`: what is wrong.
pub fn parse_target(
    ws: &Workspace,
    text: &str,
    base: &std::path::Path,
) -> Result<FcgiTarget, String> {
    let (socket, url) = match text.split_once('|') {
        Some((u, rest)) if u.to_ascii_lowercase().starts_with("unix:") => (Some(&u[5..]), rest),
        Some(_) => {
            return Err(format!(
                "`{text}`: antes de `|` tiene que ir `unix:/ruta/del.sock`"
            ))
        }
        None => (None, text),
    };
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("fcgi://").map(|_| &url[7..]) else {
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(format!(
                "`{url}`: el laboratorio solo hace de proxy hacia FastCGI (`fcgi://`); mod_proxy_http no está"
            ));
        }
        return Err(format!(
            "`{url}` no es una URL fcgi:// (por ejemplo fcgi://127.0.0.1:9000/)"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(format!(
            "`{url}` no dice el servidor (fcgi://servidor:puerto/)"
        ));
    }
    let authority_url = format!("fcgi://{authority}");
    let backend = match socket {
        Some(s) => {
            if !s.starts_with('/') {
                return Err(format!("la ruta del socket `{s}` tiene que ser absoluta"));
            }
            Backend::Unix(ws.resolve(s, base).path)
        }
        None => {
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => match p.parse::<u16>() {
                    Ok(p) => (h.to_string(), p),
                    Err(_) => return Err(format!("puerto no válido en `{url}`")),
                },
                // mod_proxy_fcgi's default port.
                None => (authority.to_string(), 8000),
            };
            Backend::Tcp(host, port)
        }
    };
    Ok(FcgiTarget {
        backend,
        authority_url,
        path: path.to_string(),
        written: socket.unwrap_or(authority).to_string(),
    })
}

/// The path of a backend URL is a file system path for php-fpm (`/var/www/html/$1`): its
/// fixed directory part is resolved inside the workspace like every absolute path of the
/// configuration. `/` alone (an application such as flup takes any path) stays as written.
fn resolve_script_path(ws: &Workspace, path: &str) -> String {
    let fixed_end = path.find('$').unwrap_or(path.len());
    let Some(dir_end) = path[..fixed_end].rfind('/') else {
        return path.to_string();
    };
    if dir_end == 0 {
        return path.to_string();
    }
    let dir = &path[..dir_end];
    let resolved = ws.resolve(dir, std::path::Path::new("/")).path;
    format!("{}{}", resolved.display(), &path[dir_end..])
}

/// `ProxyPass` / `ProxyPassMatch`.
#[derive(Debug, Clone)]
pub struct ProxyRule {
    /// The URL prefix (`ProxyPass`) or the regex (`ProxyPassMatch`) as written.
    pub pattern: String,
    pub regex: Option<regex::Regex>,
    /// `None` (and no `http`): `ProxyPass /path !` (not proxied).
    pub target: Option<FcgiTarget>,
    /// An `http://` backend (mod_proxy_http).
    pub http: Option<HttpTarget>,
    /// The URL after `unix:...|` (with `$1` for the Match form).
    pub url: String,
    pub params: WorkerParams,
    pub span: Span,
}

/// An `http://host[:port]/path` backend of mod_proxy_http.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    pub host: String,
    pub port: u16,
    /// `host[:port]` as written: the `Host` header the backend gets.
    pub authority: String,
}

/// Parses `http://host[:port]/path` (the path stays in the rule's `url`).
pub fn parse_http_target(url: &str) -> Result<HttpTarget, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "`{url}`: el laboratorio no habla TLS con los backends (mod_ssl y `SSLProxyEngine` no están); usa http://"
        ));
    }
    let rest = &url[7..];
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!(
            "`{url}` no dice el servidor (http://servidor:puerto/)"
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || p.is_empty() => match p.parse::<u16>() {
            Ok(p) if p > 0 => (h, p),
            _ => return Err(format!("puerto no válido en `{url}`")),
        },
        _ => (authority, 80),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok(HttpTarget {
        host,
        port,
        authority: authority.to_string(),
    })
}

/// Worker parameters (`key=value` after the URL, or in `<Proxy>`/`ProxySet`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerParams {
    pub enablereuse: Option<bool>,
    pub max: Option<usize>,
    pub timeout: Option<Duration>,
}

/// A `<Proxy URL>` section's worker parameters.
#[derive(Debug, Clone)]
pub struct ProxyWorker {
    pub url: String,
    pub params: WorkerParams,
}

/// The proxy settings of a server or virtual host.
#[derive(Debug, Clone, Default)]
pub struct HostProxy {
    pub rules: Vec<ProxyRule>,
    /// `ProxyTimeout` (else `Timeout`).
    pub timeout: Option<Duration>,
    /// `ProxyFCGIBackendType GENERIC` (default FPM).
    pub generic: bool,
    pub workers: Vec<ProxyWorker>,
    /// `ProxyPreserveHost` (default Off: the backend gets its own host as `Host`).
    pub preserve_host: Option<bool>,
    /// `ProxyPassReverse path url`: backend URLs in `Location` (and `Content-Location`,
    /// `URI`) turned back into this server's.
    pub reverse: Vec<(String, String)>,
}

impl HostProxy {
    /// The parameters of the worker `url` from `<Proxy>` sections.
    pub fn worker_params(&self, url: &str) -> WorkerParams {
        let norm = |u: &str| u.trim_end_matches('/').to_ascii_lowercase();
        self.workers
            .iter()
            .rev()
            .find(|w| norm(&w.url) == norm(url))
            .map(|w| w.params.clone())
            .unwrap_or_default()
    }
}

fn parse_params(args: &[super::syntax::Arg], diags: &mut Diags) -> WorkerParams {
    let mut p = WorkerParams::default();
    for a in args {
        let Some((k, v)) = a.text.split_once('=') else {
            diags.push(Diagnostic::error(
                Some(a.span.clone()),
                format!(
                    "parámetro de proxy mal escrito: `{}` (se espera clave=valor)",
                    a.text
                ),
            ));
            continue;
        };
        match k.to_ascii_lowercase().as_str() {
            "enablereuse" | "disablereuse" => {
                let on = v.eq_ignore_ascii_case("on");
                if !on && !v.eq_ignore_ascii_case("off") {
                    diags.push(Diagnostic::error(
                        Some(a.span.clone()),
                        format!("`{k}` espera On u Off"),
                    ));
                }
                p.enablereuse = Some(if k.eq_ignore_ascii_case("enablereuse") {
                    on
                } else {
                    !on
                });
            }
            "max" => match v.parse() {
                Ok(n) if n > 0 => p.max = Some(n),
                _ => diags.push(Diagnostic::error(
                    Some(a.span.clone()),
                    "`max` espera un número mayor que 0",
                )),
            },
            "timeout" | "connectiontimeout" => match v.parse::<u64>() {
                Ok(n) => {
                    if k.eq_ignore_ascii_case("timeout") {
                        p.timeout = Some(Duration::from_secs(n))
                    }
                }
                Err(_) => diags.push(Diagnostic::error(
                    Some(a.span.clone()),
                    format!("`{k}` espera segundos"),
                )),
            },
            // Accepted and without effect in the lab (pooling is per backend).
            "min" | "smax" | "ttl" | "flushpackets" | "flushwait" | "keepalive" | "retry"
            | "acquire" => {}
            other => diags.push(Diagnostic::warning(
                Some(a.span.clone()),
                format!("el laboratorio ignora el parámetro de proxy `{other}`"),
            )),
        }
    }
    p
}

/// Applies one proxy directive of a server or vhost. `false`: not a proxy directive.
pub fn host_directive(
    ws: &Workspace,
    base: &std::path::Path,
    node: &Node,
    host: &mut HostConfig,
    diags: &mut Diags,
) -> bool {
    let a = &node.args;
    match node.key().as_str() {
        "proxypass" | "proxypassmatch" => {
            let is_match = node.key() == "proxypassmatch";
            if a.len() < 2 {
                diags.push(Diagnostic::error(
                    Some(node.line_span()),
                    format!("`{}` necesita la URL local y el destino", node.name),
                ).with_hint("por ejemplo `ProxyPass \"/app/\" \"unix:/run/app.sock|fcgi://localhost/\"`"));
                return true;
            }
            let regex = if is_match {
                match regex::Regex::new(&a[0].text) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        diags.push(Diagnostic::error(
                            Some(a[0].span.clone()),
                            format!("expresión regular no válida: {e}"),
                        ));
                        return true;
                    }
                }
            } else {
                None
            };
            let lower = a[1].text.to_ascii_lowercase();
            let (target, url, http) = if a[1].text == "!" {
                (None, String::new(), None)
            } else if lower.starts_with("http://") || lower.starts_with("https://") {
                match parse_http_target(&a[1].text) {
                    Ok(t) => (None, a[1].text.clone(), Some(t)),
                    Err(msg) => {
                        diags.push(Diagnostic::error(Some(a[1].span.clone()), msg));
                        return true;
                    }
                }
            } else {
                // For the Match form the `$1` stays in the path until the request.
                match parse_target(ws, &a[1].text, base) {
                    Ok(mut t) => {
                        t.path = resolve_script_path(ws, &t.path);
                        let url = format!("{}{}", t.authority_url, t.path);
                        (Some(t), url, None)
                    }
                    Err(msg) => {
                        diags.push(Diagnostic::error(Some(a[1].span.clone()), msg));
                        return true;
                    }
                }
            };
            let params = parse_params(&a[2..], diags);
            host.proxy.rules.push(ProxyRule {
                pattern: a[0].text.clone(),
                regex,
                target,
                http,
                url,
                params,
                span: node.span.clone(),
            });
            true
        }
        "proxytimeout" => {
            match a[0].text.parse::<u64>() {
                Ok(n) => host.proxy.timeout = Some(Duration::from_secs(n)),
                Err(_) => diags.push(Diagnostic::error(
                    Some(a[0].span.clone()),
                    "`ProxyTimeout` espera segundos",
                )),
            }
            true
        }
        "proxyfcgibackendtype" => {
            match a[0].text.to_ascii_uppercase().as_str() {
                "FPM" => host.proxy.generic = false,
                "GENERIC" => host.proxy.generic = true,
                _ => diags.push(Diagnostic::error(
                    Some(a[0].span.clone()),
                    "`ProxyFCGIBackendType` es FPM o GENERIC",
                )),
            }
            true
        }
        "proxypreservehost" => {
            match a[0].text.to_ascii_lowercase().as_str() {
                "on" => host.proxy.preserve_host = Some(true),
                "off" => host.proxy.preserve_host = Some(false),
                _ => diags.push(Diagnostic::error(
                    Some(a[0].span.clone()),
                    "`ProxyPreserveHost` espera On u Off",
                )),
            }
            true
        }
        "proxypassreverse" => {
            if a.len() != 2 {
                diags.push(
                    Diagnostic::error(
                        Some(node.line_span()),
                        "`ProxyPassReverse` necesita la ruta local y la URL del backend",
                    )
                    .with_hint("por ejemplo `ProxyPassReverse /app/ http://127.0.0.1:8000/`"),
                );
                return true;
            }
            host.proxy
                .reverse
                .push((a[0].text.clone(), a[1].text.clone()));
            true
        }
        // Accepted as Apache does; the lab has no balancer for mod_status to show.
        "proxyrequests" | "proxystatus" => true,
        "proxy" if node.is_section => {
            let Some(url) = a.first() else {
                diags.push(Diagnostic::error(
                    Some(node.line_span()),
                    "`<Proxy>` necesita la URL del backend",
                ));
                return true;
            };
            let mut params = parse_params(&a[1..], diags);
            for child in &node.children {
                if child.key() == "proxyset" {
                    let more = parse_params(&child.args, diags);
                    params.enablereuse = more.enablereuse.or(params.enablereuse);
                    params.max = more.max.or(params.max);
                    params.timeout = more.timeout.or(params.timeout);
                }
            }
            host.proxy.workers.push(ProxyWorker {
                url: url.text.trim_start_matches("unix:").to_string(),
                params,
            });
            true
        }
        _ => false,
    }
}

/// The match of a request URL against the host's `ProxyPass`/`ProxyPassMatch` rules: the
/// target and the URL after substitution (`fcgi://127.0.0.1:9000/var/www/html/info.php`).
pub struct ProxyMatch<'a> {
    pub rule: &'a ProxyRule,
    pub target: &'a FcgiTarget,
    /// The backend URL with the rest of the request path (encoded as Apache re-encodes it).
    pub url: String,
}

/// The first rule that takes `url` (decoded path) and the backend URL it makes of it (before
/// re-encoding): the first rule that matches decides, whatever its kind.
fn first_rule<'a>(rules: &'a [ProxyRule], url: &str) -> Option<(&'a ProxyRule, String)> {
    rules.iter().find_map(|rule| match &rule.regex {
        Some(re) => re.captures(url).map(|caps| {
            let mut out = String::new();
            caps.expand(&rule.url, &mut out);
            (rule, out)
        }),
        None => url.strip_prefix(rule.pattern.as_str()).map(|rest| {
            let base = &rule.url;
            if base.ends_with('/') || rest.is_empty() || rest.starts_with('/') {
                (rule, format!("{base}{rest}"))
            } else {
                (rule, format!("{base}/{rest}"))
            }
        }),
    })
}

/// The FastCGI rule for `url`; `ProxyPass /x !` and `http://` rules stop the search.
pub fn match_rules<'a>(rules: &'a [ProxyRule], url: &str) -> Option<ProxyMatch<'a>> {
    let (rule, full) = first_rule(rules, url)?;
    let target = rule.target.as_ref()?;
    Some(ProxyMatch {
        rule,
        target,
        url: encode_path(&full),
    })
}

/// A request URL taken by an `http://` rule: the rule and the backend path (encoded, without
/// the query string).
pub struct HttpMatch<'a> {
    pub rule: &'a ProxyRule,
    pub target: &'a HttpTarget,
    /// The path to request from the backend (`/base/rest`).
    pub path: String,
}

/// The first rule for `url` when it is an `http://` one (`ProxyPass /x !` and FastCGI rules
/// stop the search, as the first matching rule decides).
pub fn match_http<'a>(rules: &'a [ProxyRule], url: &str) -> Option<HttpMatch<'a>> {
    let (rule, full) = first_rule(rules, url)?;
    let target = rule.http.as_ref()?;
    let encoded = encode_path(&full);
    let path = encoded
        .find("://")
        .and_then(|i| encoded[i + 3..].find('/').map(|j| &encoded[i + 3 + j..]))
        .unwrap_or("/")
        .to_string();
    Some(HttpMatch { rule, target, path })
}

/// `ProxyPassReverse`: a backend URL in a `Location` header rewritten to this server's
/// `scheme://host` + the local path; `None` when no rule covers it.
pub fn reverse_map(rules: &[(String, String)], value: &str, origin: &str) -> Option<String> {
    rules.iter().find_map(|(local, backend)| {
        value
            .strip_prefix(backend.as_str())
            .map(|rest| format!("{origin}{local}{rest}"))
    })
}

/// Percent-encodes what mod_proxy's canonicaliser encodes in a path (spaces and the like),
/// leaving the scheme and authority alone.
fn encode_path(url: &str) -> String {
    let (head, path) = match url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
    {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let mut out = String::from(head);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `SetHandler "proxy:..."` value, parsed.
pub fn handler_target(
    ws_root: &std::path::Path,
    handler: &str,
) -> Option<Result<FcgiTarget, String>> {
    let rest = handler.strip_prefix("proxy:").or_else(|| {
        handler
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("proxy:"))
            .map(|_| &handler[6..])
    })?;
    // The handler string is the same on every request of a site: a target that resolved
    // inside the workspace is kept (the resolution stats the host and workspace paths).
    type Cache = std::sync::RwLock<std::collections::HashMap<(PathBuf, String), FcgiTarget>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (ws_root.to_path_buf(), rest.to_string());
    if let Some(t) = cache.read().ok().and_then(|c| c.get(&key).cloned()) {
        return Some(Ok(t));
    }
    let ws = Workspace {
        root: ws_root.to_path_buf(),
        settings: Default::default(),
    };
    let target = parse_target(&ws, rest, &PathBuf::from("/"));
    if let Ok(t) = &target {
        let inside = match &t.backend {
            Backend::Unix(p) => p.starts_with(ws_root),
            Backend::Tcp(..) => true,
        };
        if inside {
            if let Ok(mut c) = cache.write() {
                if c.len() < 256 {
                    c.insert(key, t.clone());
                }
            }
        }
    }
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace {
            root: PathBuf::from("/nonexistent-ws"),
            settings: Default::default(),
        }
    }

    #[test]
    fn unix_and_tcp_targets() {
        let t = parse_target(
            &ws(),
            "unix:/run/php/php8.2-fpm.sock|fcgi://localhost",
            std::path::Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            t.backend,
            Backend::Unix(PathBuf::from("/nonexistent-ws/run/php/php8.2-fpm.sock"))
        );
        assert_eq!(
            (t.authority_url.as_str(), t.path.as_str()),
            ("fcgi://localhost", "")
        );
        let t = parse_target(
            &ws(),
            "fcgi://127.0.0.1:9000/var/www/html/$1",
            std::path::Path::new("/"),
        )
        .unwrap();
        assert_eq!(t.backend, Backend::Tcp("127.0.0.1".into(), 9000));
        assert_eq!(t.path, "/var/www/html/$1");
        assert!(
            parse_target(&ws(), "http://127.0.0.1:8000/", std::path::Path::new("/"))
                .unwrap_err()
                .contains("FastCGI")
        );
    }

    fn rule(pattern: &str, regex: bool, url: &str) -> ProxyRule {
        let t = parse_target(&ws(), url, std::path::Path::new("/")).unwrap();
        ProxyRule {
            pattern: pattern.into(),
            regex: regex.then(|| regex::Regex::new(pattern).unwrap()),
            url: format!("{}{}", t.authority_url, t.path),
            target: Some(t),
            http: None,
            params: WorkerParams::default(),
            span: Span::new(std::sync::Arc::new(PathBuf::from("x.conf")), 1, 1, 1),
        }
    }

    #[test]
    fn proxy_pass_match_substitutes_and_reencodes() {
        let rules = vec![rule(
            r"^/(.*\.php(/.*)?)$",
            true,
            "fcgi://127.0.0.1:9000/var/www/html/$1",
        )];
        let m = match_rules(&rules, "/env.php/extra/p ath").unwrap();
        assert_eq!(
            m.url,
            "fcgi://127.0.0.1:9000/var/www/html/env.php/extra/p%20ath"
        );
        assert!(match_rules(&rules, "/index.html").is_none());
    }

    #[test]
    fn proxy_pass_prefixes() {
        let rules = vec![rule("/app/", false, "unix:/run/app.sock|fcgi://localhost/")];
        assert_eq!(
            match_rules(&rules, "/app/hola/x y").unwrap().url,
            "fcgi://localhost/hola/x%20y"
        );
        assert_eq!(
            match_rules(&rules, "/app/").unwrap().url,
            "fcgi://localhost/"
        );
        assert!(match_rules(&rules, "/other").is_none());
    }
}
