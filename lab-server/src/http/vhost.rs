//! Apache's virtual host selection. First by the address the connection arrived on: the
//! `<VirtualHost>` blocks naming that IP and port exactly, or else those with `*` (or
//! `_default_`) for that port. Then by name among those: the first whose `ServerName` or a
//! `ServerAlias` (wildcards allowed) matches `Host`; with no match, the first of them is the
//! default. When no block matches the address at all, the main server answers.
//!
//! The port compared is the one written in `Listen` (80), not the one the lab had to bind
//! (10080), so configurations read exactly as on a Debian server.

use std::net::IpAddr;

use crate::config::loader::fnmatch;
use crate::config::model::ServerConfig;

/// Precomputed names of every vhost, lowercased.
#[derive(Debug, Clone)]
pub struct VhostIndex {
    names: Vec<Vec<Name>>,
}

#[derive(Debug, Clone)]
enum Name {
    Exact(String),
    Wildcard(String),
}

impl Name {
    fn new(s: &str) -> Name {
        let s = s.to_ascii_lowercase();
        if s.contains(['*', '?', '[']) {
            Name::Wildcard(s)
        } else {
            Name::Exact(s)
        }
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            Name::Exact(n) => n == host,
            Name::Wildcard(p) => fnmatch(p, host),
        }
    }
}

/// What answers a request: a `<VirtualHost>` (index into `ServerConfig::vhosts`) or the main
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    Vhost(usize),
    Main,
}

impl VhostIndex {
    pub fn new(config: &ServerConfig) -> VhostIndex {
        let main_name = config.main.server_name.as_deref().unwrap_or("localhost");
        let names = config
            .vhosts
            .iter()
            .map(|v| {
                let mut names = vec![Name::new(
                    v.host.server_name.as_deref().unwrap_or(main_name),
                )];
                names.extend(v.host.server_aliases.iter().map(|a| Name::new(a)));
                names
            })
            .collect();
        VhostIndex { names }
    }

    /// Chooses the server for a request that arrived on `local_ip` through a `Listen` whose
    /// written port is `port`, with `host` the `Host` header (if any).
    pub fn choose(
        &self,
        config: &ServerConfig,
        local_ip: IpAddr,
        port: u16,
        host: Option<&str>,
    ) -> Chosen {
        let port_ok = |p: Option<u16>| p.is_none_or(|p| p == port);
        let same_ip = |a: IpAddr| a == local_ip || a.to_canonical() == local_ip.to_canonical();
        let exactly = |v: &crate::config::model::VirtualHost| {
            v.addrs
                .iter()
                .any(|a| a.ip.is_some_and(same_ip) && port_ok(a.port))
        };
        // The blocks naming the address exactly, else those with `*` for the port.
        let exact = config.vhosts.iter().any(exactly);
        let candidate = |v: &crate::config::model::VirtualHost| {
            if exact {
                exactly(v)
            } else {
                v.addrs.iter().any(|a| a.ip.is_none() && port_ok(a.port))
            }
        };
        let mut candidates = config
            .vhosts
            .iter()
            .enumerate()
            .filter(|(_, v)| candidate(v))
            .map(|(i, _)| i);
        let Some(first) = candidates.next() else {
            return Chosen::Main;
        };
        if let Some(host) = host {
            let by_name = with_host_name(host, |host| {
                std::iter::once(first)
                    .chain(candidates)
                    .find(|&i| self.names[i].iter().any(|n| n.matches(host)))
            });
            if let Some(i) = by_name {
                return Chosen::Vhost(i);
            }
        }
        Chosen::Vhost(first)
    }
}

/// Calls `f` with [`host_name`] of `host`, written on the stack when it is short (a request
/// has no need of a string of its own for it).
fn with_host_name<R>(host: &str, f: impl FnOnce(&str) -> R) -> R {
    let bare = bare_host(host);
    let mut buf = [0u8; 128];
    match buf.get_mut(..bare.len()) {
        Some(out) => {
            for (o, b) in out.iter_mut().zip(bare.bytes()) {
                *o = b.to_ascii_lowercase();
            }
            // Lowercasing ASCII letters keeps any UTF-8 valid.
            match std::str::from_utf8(out) {
                Ok(name) => f(name),
                Err(_) => f(&bare.to_ascii_lowercase()),
            }
        }
        None => f(&bare.to_ascii_lowercase()),
    }
}

/// The host part of a `Host` header, without port or trailing dot (case unchanged).
fn bare_host(host: &str) -> &str {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    without_port.trim_end_matches('.')
}

/// The host part of a `Host` header, lowercased, without port or trailing dot.
pub fn host_name(host: &str) -> String {
    bare_host(host).to_ascii_lowercase()
}

/// True when a `Host` header value is acceptable (RFC 9110 host [":" port]): no spaces, no
/// path, no control characters.
pub fn host_is_valid(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_port_case_and_trailing_dot() {
        assert_eq!(host_name("A.Localhost:8080"), "a.localhost");
        assert_eq!(host_name("a.localhost."), "a.localhost");
        assert_eq!(host_name("[::1]:80"), "::1");
        // The same name, without a string of its own (and a long one, with one).
        assert_eq!(
            with_host_name("A.Localhost.:8080", str::to_string),
            "a.localhost"
        );
        let long = format!("{}.Test", "X".repeat(200));
        assert_eq!(
            with_host_name(&long, str::to_string),
            long.to_ascii_lowercase()
        );
    }

    #[test]
    fn invalid_hosts_are_detected() {
        assert!(host_is_valid("flask.localhost:10080"));
        assert!(!host_is_valid("a b"));
        assert!(!host_is_valid("a/b"));
        assert!(!host_is_valid(""));
    }

    #[test]
    fn wildcard_aliases_match() {
        assert!(Name::new("*.ejemplo.localhost").matches("www.ejemplo.localhost"));
        assert!(!Name::new("*.ejemplo.localhost").matches("ejemplo.localhost"));
    }
}
