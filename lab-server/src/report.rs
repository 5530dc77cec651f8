//! Human-readable reports of a loaded configuration, in Spanish: the virtual host table of
//! `apache2ctl -S` and the port mappings that `lab start` and `lab status` print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use crate::config::diagnostic::display_path;
use crate::config::model::{Listen, ResolvedPath, ServerConfig, VhostAddr, VirtualHost};

/// Name shown for a vhost without `ServerName` when the main server has none either.
const FALLBACK_NAME: &str = "localhost";

/// The table `apache2ctl -S` prints, in Spanish:
///
/// ```text
/// Configuración de VirtualHost:
/// *:80                   es un NameVirtualHost
///          servidor por defecto localhost (etc/apache2/sites-enabled/000-default.conf:1)
///          puerto 80 namevhost localhost (etc/apache2/sites-enabled/000-default.conf:1)
///          puerto 80 namevhost flask.localhost (etc/apache2/sites-enabled/flask.conf:1)
///                  alias www.flask.localhost
/// ServerRoot: "/etc/apache2"
/// DocumentRoot principal: "/var/www/html"
/// ErrorLog principal: "/var/log/apache2/error.log"
/// ```
///
/// Paths are shown relative to the workspace.
pub fn vhost_table(config: &ServerConfig) -> String {
    let base = Some(config.workspace.as_path());
    let main_name = config
        .main
        .server_name
        .clone()
        .unwrap_or_else(|| FALLBACK_NAME.to_string());

    // Group the vhosts by address, in order of first appearance (Apache's order).
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<(&VirtualHost, Option<u16>)>> = BTreeMap::new();
    for vhost in &config.vhosts {
        for addr in &vhost.addrs {
            let key = addr_label(addr);
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            groups.entry(key).or_default().push((vhost, addr.port));
        }
    }

    let mut out = String::from("Configuración de VirtualHost:\n");
    if order.is_empty() {
        out.push_str(
            "(ningún <VirtualHost>: todas las peticiones las atiende el servidor principal)\n",
        );
    }
    for key in &order {
        let hosts = &groups[key];
        let name_of = |v: &VirtualHost| v.host.server_name.clone().unwrap_or(main_name.clone());
        let place = |v: &VirtualHost| format!("({})", location(v, base));
        if let [(vhost, _)] = hosts.as_slice() {
            let _ = writeln!(out, "{key:<22} {} {}", name_of(vhost), place(vhost));
            write_aliases(&mut out, vhost);
            continue;
        }
        let _ = writeln!(out, "{key:<22} es un NameVirtualHost");
        let (first, _) = hosts[0];
        let _ = writeln!(
            out,
            "         servidor por defecto {} {}",
            name_of(first),
            place(first)
        );
        for (vhost, port) in hosts {
            let port = port.map_or("*".to_string(), |p| p.to_string());
            let _ = writeln!(
                out,
                "         puerto {port} namevhost {} {}",
                name_of(vhost),
                place(vhost)
            );
            write_aliases(&mut out, vhost);
        }
    }
    let _ = writeln!(
        out,
        "ServerRoot: \"{}\"",
        display_path(&config.server_root, base)
    );
    let _ = writeln!(
        out,
        "DocumentRoot principal: {}",
        resolved(config.main.document_root.as_ref(), base)
    );
    let _ = writeln!(
        out,
        "ErrorLog principal: {}",
        resolved(config.main.error_log.as_ref(), base)
    );
    out
}

fn write_aliases(out: &mut String, vhost: &VirtualHost) {
    for alias in &vhost.host.server_aliases {
        let _ = writeln!(out, "                 alias {alias}");
    }
}

fn location(vhost: &VirtualHost, base: Option<&Path>) -> String {
    format!(
        "{}:{}",
        display_path(&vhost.span.file, base),
        vhost.span.line
    )
}

/// `"/var/www/html"`, plus where the lab finds it when that differs from what was written.
fn resolved(path: Option<&ResolvedPath>, base: Option<&Path>) -> String {
    match path {
        None => "(sin definir)".to_string(),
        Some(p) => {
            let used = display_path(&p.path, base);
            if used.trim_start_matches('/') == p.written.trim_start_matches('/') {
                format!("\"{}\"", p.written)
            } else {
                format!("\"{}\" (en el laboratorio: {used})", p.written)
            }
        }
    }
}

/// `*:80`, `127.0.0.1:8080`, `[::1]:*`.
fn addr_label(addr: &VhostAddr) -> String {
    let host = match addr.ip {
        None => "*".to_string(),
        Some(IpAddr::V6(ip)) => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
    };
    let port = addr.port.map_or("*".to_string(), |p| p.to_string());
    format!("{host}:{port}")
}

/// `Listen 80` or `Listen 127.0.0.1:8080`, as written.
pub fn listen_label(listen: &Listen) -> String {
    match listen.addr {
        None => format!("Listen {}", listen.port),
        Some(IpAddr::V6(ip)) => format!("Listen [{ip}]:{}", listen.port),
        Some(ip) => format!("Listen {ip}:{}", listen.port),
    }
}

/// The URL a browser on this machine uses to reach `addr`.
pub fn url_for(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    match ip {
        IpAddr::V6(ip) => format!("http://[{ip}]:{}/", addr.port()),
        ip => format!("http://{ip}:{}/", addr.port()),
    }
}

/// `Listen 80 -> 127.0.0.1:10080`.
pub fn mapping(listen: &Listen, bound: SocketAddr) -> String {
    format!("{} -> {bound}", listen_label(listen))
}

/// One line per `Listen` with where the lab actually listens, and why when the port moved:
///
/// ```text
///   Listen 80 -> 127.0.0.1:10080  (puerto privilegiado: se suma privileged_port_offset de lab.toml)
/// ```
pub fn listen_table(bound: &[(Listen, SocketAddr)]) -> String {
    let mut out = String::new();
    let width = bound
        .iter()
        .map(|(l, _)| listen_label(l).len())
        .max()
        .unwrap_or(0);
    for (listen, addr) in bound {
        let _ = write!(out, "  {:<width$} -> {addr}", listen_label(listen));
        if addr.port() != listen.port {
            out.push_str("  (puerto privilegiado: se suma privileged_port_offset de lab.toml)");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::Span;
    use crate::config::model::*;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    fn span(file: &str, line: u32) -> Span {
        Span::new(Arc::new(PathBuf::from(file)), line, 1, 1)
    }

    fn vhost(file: &str, name: Option<&str>, aliases: &[&str], port: u16) -> VirtualHost {
        VirtualHost {
            addrs: vec![VhostAddr {
                ip: None,
                port: Some(port),
            }],
            host: HostConfig {
                server_name: name.map(str::to_string),
                server_aliases: aliases.iter().map(|s| s.to_string()).collect(),
                ..HostConfig::default()
            },
            span: span(file, 1),
        }
    }

    fn config(vhosts: Vec<VirtualHost>) -> ServerConfig {
        ServerConfig {
            workspace: PathBuf::from("/ws"),
            server_root: PathBuf::from("/ws/etc/apache2"),
            modules: Default::default(),
            defines: Default::default(),
            mpm: MpmSettings {
                kind: MpmKind::Event,
                start_servers: 2,
                min_spare: 25,
                max_spare: 75,
                threads_per_child: 25,
                max_request_workers: 150,
                max_connections_per_child: 0,
            },
            listens: Vec::new(),
            request_read: Default::default(),
            main: HostConfig {
                document_root: Some(ResolvedPath {
                    written: "/var/www/html".into(),
                    path: PathBuf::from("/ws/var/www/html"),
                }),
                error_log: Some(ResolvedPath {
                    written: "/var/log/apache2/error.log".into(),
                    path: PathBuf::from("/ws/var/log/apache2/error.log"),
                }),
                ..HostConfig::default()
            },
            vhosts,
            log_formats: Default::default(),
            limits: RequestLimits::default(),
            keep_alive: KeepAliveSettings {
                enabled: true,
                timeout: Duration::from_secs(5),
                max_requests: 100,
            },
            timeout: Duration::from_secs(300),
            server_tokens: "Apache".into(),
            buffered_logs: false,
            types_config: None,
            wsgi: Default::default(),
            scriptcache: Default::default(),
            merge_cache: Default::default(),
        }
    }

    #[test]
    fn vhost_table_lists_name_based_vhosts_like_apache2ctl() {
        let cfg = config(vec![
            vhost(
                "/ws/etc/apache2/sites-enabled/000-default.conf",
                None,
                &[],
                80,
            ),
            vhost(
                "/ws/etc/apache2/sites-enabled/flask.conf",
                Some("flask.localhost"),
                &["www.flask.localhost"],
                80,
            ),
            vhost(
                "/ws/etc/apache2/sites-enabled/api.conf",
                Some("api.localhost"),
                &[],
                8080,
            ),
        ]);
        let expected = "\
Configuración de VirtualHost:
*:80                   es un NameVirtualHost
         servidor por defecto localhost (etc/apache2/sites-enabled/000-default.conf:1)
         puerto 80 namevhost localhost (etc/apache2/sites-enabled/000-default.conf:1)
         puerto 80 namevhost flask.localhost (etc/apache2/sites-enabled/flask.conf:1)
                 alias www.flask.localhost
*:8080                 api.localhost (etc/apache2/sites-enabled/api.conf:1)
ServerRoot: \"etc/apache2\"
DocumentRoot principal: \"/var/www/html\"
ErrorLog principal: \"/var/log/apache2/error.log\"
";
        assert_eq!(vhost_table(&cfg), expected);
    }

    #[test]
    fn vhost_table_without_vhosts_says_so() {
        let cfg = config(Vec::new());
        assert!(vhost_table(&cfg).contains("ningún <VirtualHost>"));
    }

    #[test]
    fn listen_table_explains_mapped_ports() {
        let listen = |addr: Option<IpAddr>, port: u16, bind: &str| Listen {
            addr,
            port,
            bind: bind.parse().unwrap(),
            span: span("/ws/etc/apache2/ports.conf", 1),
        };
        let rows = vec![
            (
                listen(None, 80, "127.0.0.1:10080"),
                "127.0.0.1:10080".parse().unwrap(),
            ),
            (
                listen(Some("127.0.0.1".parse().unwrap()), 8080, "127.0.0.1:8080"),
                "127.0.0.1:8080".parse().unwrap(),
            ),
        ];
        assert_eq!(
            listen_table(&rows),
            "  Listen 80             -> 127.0.0.1:10080  (puerto privilegiado: se suma \
             privileged_port_offset de lab.toml)\n  Listen 127.0.0.1:8080 -> 127.0.0.1:8080\n"
        );
        assert_eq!(
            mapping(&rows[0].0, rows[0].1),
            "Listen 80 -> 127.0.0.1:10080"
        );
    }

    #[test]
    fn urls_point_at_loopback_for_wildcard_binds() {
        assert_eq!(
            url_for("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(url_for("[::]:80".parse().unwrap()), "http://[::1]:80/");
        assert_eq!(
            url_for("127.0.0.1:10080".parse().unwrap()),
            "http://127.0.0.1:10080/"
        );
    }
}
