//! Per-student parameters: values derived from the student id, so that a workspace copied
//! from a classmate fails the checks. Used as `{{param.name}}` (and `{{student}}`) in
//! statements, hints, checks and starter/solution files.
//!
//! `{{web}}` (`127.0.0.1:10080`) and `{{web.puerto}}` (`10080`) are where the student's lab
//! serves `Listen 80`: the mapped port when the lab may not bind 80, port 80 itself when it
//! may (as root, or with `map_privileged_ports = "never"`).
//!
//! `{{proxy}}` and `{{proxy.puerto}}` are the same for Varnish's `-a :80` (the course puts the
//! proxy on port 80 and Apache on 8080): where the running varnish serves it, else where
//! `lab start` would bind port 80.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How a parameter is derived.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ParamSpec {
    /// A DNS-safe name: `prefix` + a word + two digits + `suffix` (`alamo42.localhost`).
    Name {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    },
    /// A port in `min..=max`.
    Port { min: u16, max: u16 },
    /// A number in `min..=max` (an octet of a network, a count...).
    Number { min: u32, max: u32 },
    /// Lowercase hexadecimal characters.
    Token {
        #[serde(default = "default_token_len")]
        len: usize,
    },
}

fn default_token_len() -> usize {
    8
}

impl ParamSpec {
    /// Checks the specification makes sense.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ParamSpec::Port { min, max } if min > max || *min < 1024 => Err(format!(
                "el rango de puertos {min}..{max} no es válido (mínimo 1024)"
            )),
            ParamSpec::Number { min, max } if min > max => {
                Err(format!("el rango {min}..{max} no es válido"))
            }
            ParamSpec::Token { len } if *len == 0 || *len > 32 => {
                Err("la longitud debe estar entre 1 y 32".into())
            }
            ParamSpec::Name { prefix, suffix }
                if !(prefix.chars().chain(suffix.chars()))
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
            {
                Err("prefijo y sufijo solo pueden llevar letras, cifras, `-` y `.`".into())
            }
            _ => Ok(()),
        }
    }

    fn derive(&self, seed: u64) -> String {
        match self {
            ParamSpec::Name { prefix, suffix } => {
                let word = WORDS[(seed % WORDS.len() as u64) as usize];
                let n = (seed >> 16) % 100;
                format!("{prefix}{word}{n:02}{suffix}")
            }
            ParamSpec::Port { min, max } => {
                let span = u64::from(*max - *min) + 1;
                (u64::from(*min) + seed % span).to_string()
            }
            ParamSpec::Number { min, max } => {
                let span = u64::from(*max - *min) + 1;
                (u64::from(*min) + seed % span).to_string()
            }
            ParamSpec::Token { len } => {
                let mut out = String::new();
                let mut s = seed;
                while out.len() < *len {
                    out.push_str(&format!("{s:016x}"));
                    s = fnv1a(&s.to_le_bytes());
                }
                out.truncate(*len);
                out
            }
        }
    }
}

/// Tree names: short, easy to type, distinct.
const WORDS: &[&str] = &[
    "alamo", "abeto", "acacia", "almendro", "arce", "avellano", "boj", "brezo", "castano", "cedro",
    "cerezo", "cipres", "encina", "enebro", "fresno", "haya", "higuera", "laurel", "limonero",
    "madrono", "manzano", "naranjo", "nogal", "olivo", "olmo", "peral", "pino", "roble", "sabina",
    "sauce", "serbal", "tejo", "tilo", "chopo", "aliso", "majuelo",
];

/// FNV-1a: a small stable hash (the values must never change between versions).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The values of one exercise's parameters for one student.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub student: String,
    pub values: BTreeMap<String, String>,
    /// `ip:port` of the web server's `Listen 80` (empty: the usual `127.0.0.1:10080`).
    pub web: String,
    /// `ip:port` of varnish's `-a :80` (empty: the usual `127.0.0.1:10080`).
    pub proxy: String,
}

/// The address shown when nothing better is known: port 80 mapped with the default offset.
pub const DEFAULT_WEB: &str = "127.0.0.1:10080";

/// Lesson text with the book's usual address (`127.0.0.1:10080`, `sitio.localhost:10080`)
/// replaced by `web` when the student's lab serves port 80 elsewhere (as root, or with
/// `map_privileged_ports = "never"`).
pub fn localize<'a>(text: &'a str, web: &str) -> std::borrow::Cow<'a, str> {
    if web.is_empty() || web == DEFAULT_WEB || !text.contains(":10080") {
        return std::borrow::Cow::Borrowed(text);
    }
    let port = web.rsplit(':').next().unwrap_or("80");
    std::borrow::Cow::Owned(
        text.replace(DEFAULT_WEB, web)
            .replace(":10080", &format!(":{port}")),
    )
}

/// Where a client reaches varnish's `-a :80` in `ws`: what the running lab reports, else
/// where port 80 would be bound.
pub fn proxy_address(
    ws: &lab_server::workspace::Workspace,
    status: Option<&lab_server::supervisor::StatusData>,
) -> String {
    let running = status.and_then(|s| {
        s.services
            .iter()
            .filter(|svc| svc.name == "varnish" && svc.running)
            .flat_map(|svc| svc.mappings.iter())
            .find_map(|m| {
                // `-a :80 -> 127.0.0.1:10080`
                let (label, bound) = m.split_once(" -> ")?;
                let port: u16 = label.rsplit(':').next()?.trim().parse().ok()?;
                let addr: std::net::SocketAddr = bound.trim().parse().ok()?;
                (port == 80).then_some(addr)
            })
    });
    match running {
        Some(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
        Some(a) => a.to_string(),
        None => format!("127.0.0.1:{}", ws.map_port(80)),
    }
}

/// Where a browser reaches the web server's `Listen 80` in `ws`: what the running lab reports
/// (`status`) when it runs, else where `lab start` would bind it.
pub fn web_address(
    ws: &lab_server::workspace::Workspace,
    status: Option<&lab_server::supervisor::StatusData>,
) -> String {
    let running = status.and_then(|s| {
        s.services
            .iter()
            .filter(|svc| svc.name == "apache2" && svc.running)
            .flat_map(|svc| svc.mappings.iter())
            .find_map(|m| {
                let (label, bound) = m.split_once(" -> ")?;
                let port: u16 = label.rsplit([' ', ':']).next()?.parse().ok()?;
                let addr: std::net::SocketAddr = bound.trim().parse().ok()?;
                (port == 80).then_some(addr)
            })
    });
    match running {
        // A wildcard bind is reached through loopback.
        Some(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
        Some(a) => a.to_string(),
        None => format!("127.0.0.1:{}", ws.map_port(80)),
    }
}

impl Params {
    /// Derives every parameter of `exercise_id` for `student`.
    pub fn derive(student: &str, exercise_id: &str, specs: &BTreeMap<String, ParamSpec>) -> Params {
        let values = specs
            .iter()
            .map(|(name, spec)| {
                let seed = fnv1a(format!("{student}\u{0}{exercise_id}\u{0}{name}").as_bytes());
                (name.clone(), spec.derive(seed))
            })
            .collect();
        Params {
            student: student.to_string(),
            values,
            web: String::new(),
            proxy: String::new(),
        }
    }

    /// The same parameters, with `{{web}}` set to `addr` (`ip:port`).
    pub fn with_web(mut self, addr: impl Into<String>) -> Params {
        self.web = addr.into();
        self
    }

    /// The same parameters, with `{{proxy}}` set to `addr` (`ip:port`).
    pub fn with_proxy(mut self, addr: impl Into<String>) -> Params {
        self.proxy = addr.into();
        self
    }

    /// Replaces `{{param.name}}` and `{{student}}`. Unknown names are left as written, so an
    /// author sees them.
    pub fn apply(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_string();
        }
        let web = if self.web.is_empty() {
            DEFAULT_WEB
        } else {
            &self.web
        };
        let port = web.rsplit(':').next().unwrap_or("80");
        let proxy = if self.proxy.is_empty() {
            DEFAULT_WEB
        } else {
            &self.proxy
        };
        let proxy_port = proxy.rsplit(':').next().unwrap_or("80");
        let mut out = text
            .replace("{{student}}", &self.student)
            .replace("{{web.puerto}}", port)
            .replace("{{web}}", web)
            .replace("{{proxy.puerto}}", proxy_port)
            .replace("{{proxy}}", proxy);
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{{param.{k}}}}}"), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> BTreeMap<String, ParamSpec> {
        let mut m = BTreeMap::new();
        m.insert(
            "sitio".to_string(),
            ParamSpec::Name {
                prefix: String::new(),
                suffix: ".localhost".into(),
            },
        );
        m.insert(
            "puerto".to_string(),
            ParamSpec::Port {
                min: 8000,
                max: 8999,
            },
        );
        m
    }

    #[test]
    fn values_are_stable_and_differ_between_students() {
        let a = Params::derive("ana", "ej", &specs());
        let a2 = Params::derive("ana", "ej", &specs());
        let b = Params::derive("bruno", "ej", &specs());
        assert_eq!(a, a2);
        assert_ne!(a.values, b.values);
        assert!(a.values["sitio"].ends_with(".localhost"));
        let port: u16 = a.values["puerto"].parse().unwrap();
        assert!((8000..=8999).contains(&port));
        assert_eq!(
            a.apply("http://{{param.sitio}}:{{param.puerto}}/ {{student}}"),
            format!("http://{}:{}/ ana", a.values["sitio"], a.values["puerto"])
        );
    }

    #[test]
    fn web_is_the_address_the_lab_serves_port_80_on() {
        let p = Params::derive("ana", "ej", &specs());
        let hint = "curl http://{{web}}/ o http://sitio.localhost:{{web.puerto}}/";
        assert_eq!(
            p.apply(hint),
            "curl http://127.0.0.1:10080/ o http://sitio.localhost:10080/"
        );
        let root = p.clone().with_web("127.0.0.1:80");
        assert_eq!(
            root.apply(hint),
            "curl http://127.0.0.1:80/ o http://sitio.localhost:80/"
        );
    }

    #[test]
    fn proxy_is_where_varnish_serves_port_80() {
        let p = Params::derive("ana", "ej", &specs());
        let text = "curl -X PURGE http://{{proxy}}/ o http://blog.localhost:{{proxy.puerto}}/";
        assert_eq!(
            p.apply(text),
            "curl -X PURGE http://127.0.0.1:10080/ o http://blog.localhost:10080/"
        );
        let moved = p
            .clone()
            .with_web("127.0.0.1:18080")
            .with_proxy("127.0.0.1:80");
        assert_eq!(
            moved.apply(text),
            "curl -X PURGE http://127.0.0.1:80/ o http://blog.localhost:80/"
        );
        assert_eq!(moved.apply("{{web.puerto}}"), "18080");
    }

    #[test]
    fn proxy_address_reads_the_running_varnish() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), Some("ana")).unwrap();
        let offline = proxy_address(&ws, None);
        assert_eq!(offline, format!("127.0.0.1:{}", ws.map_port(80)));
        let status: lab_server::supervisor::StatusData =
            serde_json::from_value(serde_json::json!({
                "workspace": "w", "pid": 1, "uptime_secs": 1, "vhosts": "",
                "services": [
                    {"name": "apache2", "enabled": true, "running": true, "urls": [],
                     "mappings": ["Listen 8080 -> 127.0.0.1:8080"]},
                    {"name": "varnish", "enabled": true, "running": true, "urls": [],
                     "mappings": ["-a :80 -> 0.0.0.0:28080"]}
                ]
            }))
            .unwrap();
        assert_eq!(proxy_address(&ws, Some(&status)), "127.0.0.1:28080");
    }

    #[test]
    fn lesson_text_follows_the_labs_address() {
        let text = "curl http://127.0.0.1:10080/ y http://blog.localhost:10080/x";
        assert_eq!(localize(text, DEFAULT_WEB), text);
        assert_eq!(
            localize(text, "127.0.0.1:80"),
            "curl http://127.0.0.1:80/ y http://blog.localhost:80/x"
        );
    }

    #[test]
    fn web_address_follows_the_running_lab_then_the_port_mapping() {
        use lab_server::supervisor::{ServiceStatus, StatusData};
        use lab_server::workspace::PortMapping;
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = lab_server::workspace::init(&tmp.path().join("ws"), Some("ana")).unwrap();
        ws.settings.map_privileged_ports = PortMapping::Never;
        assert_eq!(web_address(&ws, None), "127.0.0.1:80");
        ws.settings.map_privileged_ports = PortMapping::Always;
        assert_eq!(web_address(&ws, None), "127.0.0.1:10080");
        let status = StatusData {
            workspace: String::new(),
            pid: 1,
            uptime_secs: 0,
            services: vec![ServiceStatus {
                name: "apache2".into(),
                enabled: true,
                running: true,
                urls: vec![],
                mappings: vec![
                    "Listen 8080 -> 127.0.0.1:8080".into(),
                    "Listen 80 -> 0.0.0.0:80".into(),
                ],
                counters: None,
                parts: Vec::new(),
            }],
            vhosts: String::new(),
            console: None,
        };
        assert_eq!(web_address(&ws, Some(&status)), "127.0.0.1:80");
    }
}
