//! `kind = "memcached"`: talks to the student's memcached (the one `etc/memcached.conf`
//! configures, or another `server`): sends commands and matches the reply, and checks
//! relations over `stats` and `stats settings`.
//!
//! ```toml
//! [[steps.checks]]
//! kind = "memcached"
//! send = "get saludo\n"              # a bare \n is sent as \r\n
//! expect = "VALUE saludo 0 4\r\nhola\r\nEND"
//! stats = ["get_hits >= 1", "hit_ratio >= 0.5", "get_hits > get_misses"]
//! settings = ["maxbytes == 134217728", "inter == 127.0.0.1"]
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;

use super::{excerpt, regex, CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemcachedCheck {
    /// Commands sent on one connection, in order.
    pub send: Option<String>,
    /// Regex the whole reply to `send` must match.
    pub expect: Option<String>,
    /// Relations over `stats`: `NAME OP VALUE|NAME`; `hit_ratio` is
    /// get_hits / (get_hits + get_misses).
    #[serde(default)]
    pub stats: Vec<String>,
    /// Relations over `stats settings` (`inter == 127.0.0.1` compares text).
    #[serde(default)]
    pub settings: Vec<String>,
    /// `host:port` of another server (a second instance); default: the workspace's.
    pub server: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    5
}

/// `get_hits >= 1`: a stat, an operator and a number, text or another stat.
#[derive(Debug, Clone, PartialEq)]
struct Relation {
    left: String,
    op: &'static str,
    right: String,
}

const OPS: &[&str] = &[">=", "<=", "==", "!=", ">", "<"];

fn parse_relation(text: &str) -> Result<Relation, String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [left, op, right] = parts[..] else {
        return Err(format!(
            "relación no válida `{text}`: se espera `NOMBRE OPERADOR VALOR`, como `get_hits >= 1`"
        ));
    };
    let Some(op) = OPS.iter().find(|o| **o == op) else {
        return Err(format!(
            "operador desconocido `{op}` en `{text}`; operadores: {}",
            OPS.join(" ")
        ));
    };
    Ok(Relation {
        left: left.to_string(),
        op,
        right: right.to_string(),
    })
}

impl Relation {
    /// Evaluates against `stats` pairs; `Err` explains what was found.
    fn holds(&self, stats: &[(String, String)]) -> Result<String, String> {
        let value = |name: &str| -> Option<String> {
            if name == "hit_ratio" {
                let get = |n: &str| {
                    stats
                        .iter()
                        .find(|(k, _)| k == n)
                        .and_then(|(_, v)| v.parse::<f64>().ok())
                };
                let (h, m) = (get("get_hits")?, get("get_misses")?);
                return Some(if h + m == 0.0 {
                    "0".into()
                } else {
                    format!("{:.3}", h / (h + m))
                });
            }
            stats
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some(l) = value(&self.left) else {
            return Err(format!("el servidor no da la estadística `{}`", self.left));
        };
        let r = value(&self.right).unwrap_or_else(|| self.right.clone());
        let ok = match (l.parse::<f64>(), r.parse::<f64>()) {
            (Ok(a), Ok(b)) => match self.op {
                ">=" => a >= b,
                "<=" => a <= b,
                "==" => a == b,
                "!=" => a != b,
                ">" => a > b,
                _ => a < b,
            },
            _ => match self.op {
                "==" => l == r,
                "!=" => l != r,
                _ => return Err(format!("`{}` vale «{l}», que no es un número", self.left)),
            },
        };
        let shown = if value(&self.right).is_some() {
            format!("{} = {l}, {} = {r}", self.left, self.right)
        } else {
            format!("{} = {l}", self.left)
        };
        if ok {
            Ok(shown)
        } else {
            Err(shown)
        }
    }
}

impl MemcachedCheck {
    fn target(&self) -> String {
        self.server
            .clone()
            .map(|s| format!("el memcached de {s}"))
            .unwrap_or_else(|| "tu memcached".into())
    }

    /// Where to connect: `server`, or the first address of etc/memcached.conf.
    fn address(&self, cx: &Context<'_>) -> Result<SocketAddr, String> {
        if let Some(s) = &self.server {
            return s
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| format!("`{s}` no es una dirección `host:puerto`"));
        }
        let loaded = lab_server::memcached::config::load(cx.ws).map_err(|diags| {
            let first = lab_server::config::diagnostic::first_error(&diags);
            format!("etc/memcached.conf tiene errores ({first}); `lab configtest` los muestra")
        })?;
        let addr = *loaded
            .config
            .binds
            .first()
            .ok_or("etc/memcached.conf no indica dónde escuchar")?;
        Ok(if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        })
    }

    /// Sends `bytes` and reads until the reply ends with `end` (or the server closes).
    fn exchange(&self, addr: SocketAddr, bytes: &[u8], end: &[u8]) -> Result<Vec<u8>, String> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            format!(
                "no se pudo conectar con {addr}: {e}; ¿está en marcha? (`lab service memcached start`{})",
                if self.server.is_some() { ", o el segundo servidor" } else { "" }
            )
        })?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(bytes)
            .map_err(|e| format!("no se pudo enviar: {e}"))?;
        let mut reply = Vec::new();
        let mut chunk = [0u8; 16384];
        while !reply.ends_with(end) {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => reply.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    return Err(format!(
                        "el servidor dejó de responder ({e}); respuesta hasta ahora: «{}»",
                        excerpt(&String::from_utf8_lossy(&reply), 120)
                    ))
                }
            }
        }
        Ok(reply)
    }

    fn stats_of(&self, addr: SocketAddr, command: &str) -> Result<Vec<(String, String)>, String> {
        let reply = self.exchange(addr, command.as_bytes(), b"END\r\n")?;
        Ok(String::from_utf8_lossy(&reply)
            .lines()
            .filter_map(|l| l.strip_prefix("STAT "))
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect())
    }
}

/// `\n` not preceded by `\r` becomes `\r\n`, as a terminal would send with telnet.
fn wire(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    let mut prev = 0u8;
    for &b in text.as_bytes() {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl CheckKind for MemcachedCheck {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.send {
            let shown = excerpt(&s.trim_end().replace("\r\n", "\n"), 60);
            match &self.expect {
                Some(e) => parts.push(format!(
                    "a «{shown}» responde algo que encaja con /{}/",
                    excerpt(&e.replace("\r\n", "\\r\\n"), 60)
                )),
                None => parts.push(format!("acepta «{shown}»")),
            }
        }
        if !self.stats.is_empty() {
            parts.push(format!("en `stats`: {}", self.stats.join(", ")));
        }
        if !self.settings.is_empty() {
            parts.push(format!("en `stats settings`: {}", self.settings.join(", ")));
        }
        format!("{} {}", self.target(), parts.join("; "))
    }

    fn validate(&self) -> Result<(), String> {
        if self.send.is_none() && self.stats.is_empty() && self.settings.is_empty() {
            return Err("la comprobación memcached necesita `send`, `stats` o `settings`".into());
        }
        if self.expect.is_some() && self.send.is_none() {
            return Err("`expect` necesita `send`".into());
        }
        if let Some(e) = &self.expect {
            regex(e)?;
        }
        for r in self.stats.iter().chain(&self.settings) {
            parse_relation(r)?;
        }
        Ok(())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expect = self.describe();
        let addr = match self.address(cx) {
            Ok(a) => a,
            Err(e) => return Outcome::fail(expect, e),
        };
        let mut found = Vec::new();
        if let Some(send) = &self.send {
            // `mn` answers `MN` once everything before it has been answered.
            let mut bytes = wire(send);
            bytes.extend_from_slice(b"mn\r\n");
            let reply = match self.exchange(addr, &bytes, b"MN\r\n") {
                Ok(r) => r,
                Err(e) => return Outcome::fail(expect, e),
            };
            let text = String::from_utf8_lossy(&reply);
            let text = text.strip_suffix("MN\r\n").unwrap_or(&text).to_string();
            if let Some(e) = &self.expect {
                match regex(e) {
                    Ok(re) if re.is_match(&text) => {}
                    Ok(_) => {
                        let shown = text.replace("\r\n", "⏎");
                        return Outcome::fail(
                            expect,
                            format!("respondió «{}»", excerpt(&shown, 160)),
                        );
                    }
                    Err(e) => return Outcome::fail(expect, e),
                }
            }
            found.push(format!(
                "respondió «{}»",
                excerpt(&text.trim_end().replace("\r\n", "⏎"), 80)
            ));
        }
        for (command, relations) in [
            ("stats\r\n", &self.stats),
            ("stats settings\r\n", &self.settings),
        ] {
            if relations.is_empty() {
                continue;
            }
            let stats = match self.stats_of(addr, command) {
                Ok(s) => s,
                Err(e) => return Outcome::fail(expect, e),
            };
            for r in relations {
                let rel = match parse_relation(r) {
                    Ok(rel) => rel,
                    Err(e) => return Outcome::fail(expect, e),
                };
                match rel.holds(&stats) {
                    Ok(shown) => found.push(shown),
                    Err(shown) => {
                        return Outcome::fail(expect, format!("no se cumple `{r}`: {shown}"))
                    }
                }
            }
        }
        Outcome::pass(expect, found.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn relations_compare_numbers_stats_and_text() {
        let s = stats(&[
            ("get_hits", "3"),
            ("get_misses", "1"),
            ("inter", "127.0.0.1"),
        ]);
        assert!(parse_relation("get_hits >= 3").unwrap().holds(&s).is_ok());
        assert!(parse_relation("get_hits > get_misses")
            .unwrap()
            .holds(&s)
            .is_ok());
        assert!(parse_relation("hit_ratio >= 0.75")
            .unwrap()
            .holds(&s)
            .is_ok());
        assert!(parse_relation("hit_ratio > 0.8")
            .unwrap()
            .holds(&s)
            .is_err());
        assert!(parse_relation("inter == 127.0.0.1")
            .unwrap()
            .holds(&s)
            .is_ok());
        assert!(parse_relation("inter == 0.0.0.0")
            .unwrap()
            .holds(&s)
            .is_err());
        assert!(parse_relation("nope >= 1").unwrap().holds(&s).is_err());
        assert!(parse_relation("get_hits ~ 1").is_err());
        assert!(parse_relation("get_hits").is_err());
    }

    #[test]
    fn bare_newlines_go_out_as_crlf() {
        assert_eq!(wire("get a\nget b"), b"get a\r\nget b\r\n");
        assert_eq!(wire("set a 0 0 1\r\nx\r\n"), b"set a 0 0 1\r\nx\r\n");
    }
}
