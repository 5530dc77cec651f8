//! Where HTTP checks send their requests: the student's running lab (what they really see,
//! so a forgotten `lab reload` shows), or an instance started for the check on free ports.

mod isolated;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use lab_server::supervisor::{self, Request};
use lab_server::workspace::Workspace;

/// A request as a check describes it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where the lab answers.
pub enum Target {
    /// The student's `lab start`: (written port, address) of each `Listen`.
    Running(Vec<(u16, SocketAddr)>),
    /// An instance started for the checks, stopped on drop.
    Isolated(Box<isolated::Instance>),
    /// HTTP checks cannot run, and why (in Spanish).
    Unavailable(String),
    /// No HTTP check needs the lab.
    None,
}

impl Target {
    /// The running lab when there is one, else an isolated instance (only when `need_http`).
    pub fn for_workspace(ws: &Workspace, need_http: bool) -> Target {
        if !need_http {
            return Target::None;
        }
        let loaded = match lab_server::config::load(ws) {
            Ok(l) => l,
            Err(diags) => {
                let first = lab_server::config::diagnostic::first_error(&diags);
                return Target::Unavailable(format!(
                    "la configuración de Apache tiene errores ({first}); `lab configtest` los muestra"
                ));
            }
        };
        let status = supervisor::request(ws, &Request::Status)
            .ok()
            .filter(|r| r.ok)
            .and_then(|r| r.status);
        if let Some(status) = status {
            let apache = status
                .services
                .iter()
                .find(|s| s.name == "apache2" && s.running);
            let Some(apache) = apache else {
                return Target::Unavailable(
                    "el laboratorio está en marcha pero el servicio apache2 está parado; \
                     arráncalo con `lab service apache2 start`"
                        .into(),
                );
            };
            // Where the running lab really listens (its configuration may be older than the
            // files on disk when the student has not reloaded).
            let mut binds: Vec<(u16, SocketAddr)> = apache
                .mappings
                .iter()
                .filter_map(|m| parse_mapping(m))
                .collect();
            // A running varnish answers on its `-a` ports (port 80 when it sits in front).
            if let Some(v) = status
                .services
                .iter()
                .find(|s| s.name == "varnish" && s.running)
            {
                let mut front: Vec<(u16, SocketAddr)> =
                    v.mappings.iter().filter_map(|m| parse_mapping(m)).collect();
                front.append(&mut binds);
                binds = front;
            }
            if !binds.is_empty() {
                return Target::Running(binds);
            }
            return Target::Running(
                loaded
                    .config
                    .listens
                    .iter()
                    .map(|l| (l.port, l.bind))
                    .collect(),
            );
        }
        Target::isolated_with_varnish(ws, loaded.config)
    }

    /// An instance on free ports of Apache's `config` and, when the workspace enables it,
    /// varnish in front (as `lab start` would run them).
    pub fn isolated_with_varnish(
        ws: &Workspace,
        config: lab_server::config::ServerConfig,
    ) -> Target {
        let varnish = if ws.settings.services.varnish {
            match lab_server::proxy::config::load(ws) {
                Ok(v) => Some(v.config),
                Err(diags) => {
                    let first = lab_server::config::diagnostic::first_error(&diags);
                    return Target::Unavailable(format!(
                        "la configuración de varnish tiene errores ({first}); `lab configtest` los muestra"
                    ));
                }
            }
        } else {
            None
        };
        match isolated::start(config, varnish) {
            Ok(instance) => Target::Isolated(Box::new(instance)),
            Err(e) => Target::Unavailable(e),
        }
    }

    /// Starts the Apache role of `config` on free loopback ports.
    pub fn isolated(config: lab_server::config::ServerConfig) -> Target {
        match isolated::start(config, None) {
            Ok(instance) => Target::Isolated(Box::new(instance)),
            Err(e) => Target::Unavailable(e),
        }
    }

    /// `ip:port` of the student's running `Listen 80`, for hints (`None` when the checks do
    /// not run against the student's lab).
    pub fn web_address(&self) -> Option<String> {
        let Target::Running(binds) = self else {
            return None;
        };
        let (_, addr) = binds.iter().find(|(p, _)| *p == 80)?;
        Some(if addr.ip().is_unspecified() {
            format!("127.0.0.1:{}", addr.port())
        } else {
            addr.to_string()
        })
    }

    /// True when checks talk to the student's running lab.
    pub fn is_running_lab(&self) -> bool {
        matches!(self, Target::Running(_))
    }

    /// The listeners of the lab checked against: (written port, address), loopback for an
    /// unspecified address.
    pub fn listeners(&self) -> Vec<(u16, SocketAddr)> {
        let binds: &[(u16, SocketAddr)] = match self {
            Target::Running(b) => b,
            Target::Isolated(i) => &i.binds,
            _ => &[],
        };
        binds
            .iter()
            .map(|(p, a)| {
                let a = if a.ip().is_unspecified() {
                    SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), a.port())
                } else {
                    *a
                };
                (*p, a)
            })
            .collect()
    }

    /// Sends `req` to the listener whose written port is `port`.
    pub fn send(&self, port: u16, req: &HttpRequest) -> Result<HttpResponse, String> {
        let binds = match self {
            Target::Running(b) => b,
            Target::Isolated(i) => &i.binds,
            Target::Unavailable(why) => return Err(why.clone()),
            Target::None => return Err("no hay laboratorio al que preguntar".into()),
        };
        let Some((_, addr)) = binds.iter().find(|(p, _)| *p == port) else {
            let ports: Vec<String> = binds.iter().map(|(p, _)| p.to_string()).collect();
            return Err(format!(
                "ningún `Listen` usa el puerto {port} (se escucha en: {})",
                ports.join(", ")
            ));
        };
        let addr = if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            *addr
        };
        fetch(addr, req).map_err(|e| {
            let mut msg = match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    format!("{addr} no respondió en 10 s")
                }
                _ => format!("no se pudo conectar con {addr}: {e}"),
            };
            // Under `lab grade` the lab is the grader's own, not the student's.
            if self.is_running_lab() && std::env::var_os("LAB_CONFINE").is_none() {
                msg.push_str(" (se comprobó contra tu `lab start`; ¿sigue en marcha?)");
            }
            msg
        })
    }
}

/// `Listen 127.0.0.1:80 -> 127.0.0.1:10080` -> (80, 127.0.0.1:10080).
fn parse_mapping(m: &str) -> Option<(u16, SocketAddr)> {
    let (label, bound) = m.split_once(" -> ")?;
    let port = label.rsplit([' ', ':']).next()?.parse().ok()?;
    Some((port, bound.trim().parse().ok()?))
}

/// One HTTP/1.1 exchange with `Connection: close`.
pub fn fetch(addr: SocketAddr, req: &HttpRequest) -> std::io::Result<HttpResponse> {
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lab-check\r\nConnection: close\r\n",
        req.method, req.path, req.host
    );
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !req.body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&req.body)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let _version = parts.next();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
        std::io::Error::other(format!("respuesta no HTTP: «{}»", line.trim_end()))
    })?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    let no_body =
        req.method.eq_ignore_ascii_case("HEAD") || status == 304 || status == 204 || status < 200;
    if !no_body {
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                    .map_err(|_| std::io::Error::other("trozo mal formado"))?;
                if size == 0 {
                    break;
                }
                let mut chunk = vec![0; size];
                reader.read_exact(&mut chunk)?;
                body.extend_from_slice(&chunk);
                line.clear();
                reader.read_line(&mut line)?;
            }
        } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(len, 0);
            reader.read_exact(&mut body)?;
        } else {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok(HttpResponse {
        status,
        reason,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_mapping;

    #[test]
    fn mappings_of_lab_status_give_written_port_and_address() {
        assert_eq!(
            parse_mapping("Listen 80 -> 127.0.0.1:10080"),
            Some((80, "127.0.0.1:10080".parse().unwrap()))
        );
        assert_eq!(
            parse_mapping("Listen [::1]:8080 -> [::1]:8080"),
            Some((8080, "[::1]:8080".parse().unwrap()))
        );
        assert_eq!(parse_mapping("algo raro"), None);
    }
}
