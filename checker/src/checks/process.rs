//! `kind = "process"`: a service of the student's running lab is (or is not) running, and
//! optionally listens on a port as written in its configuration (`Listen 8080`).

use lab_server::supervisor::{self, Request};
use serde::Deserialize;

use super::{CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessCheck {
    /// Service name as `lab service` takes it (`apache2`).
    pub service: String,
    #[serde(default = "yes")]
    pub running: bool,
    /// A port, as written in the configuration, the running service must listen on.
    pub listen: Option<u16>,
}

/// The written port of a mapping line (`Listen 127.0.0.1:8080 -> 127.0.0.1:8080` -> 8080).
fn written_port(mapping: &str) -> Option<u16> {
    let label = mapping.split(" -> ").next()?;
    label.rsplit([' ', ':']).next()?.parse().ok()
}

fn yes() -> bool {
    true
}

impl CheckKind for ProcessCheck {
    fn describe(&self) -> String {
        if self.running {
            let mut s = format!("el servicio `{}` está en marcha en el laboratorio", self.service);
            if let Some(p) = self.listen {
                s.push_str(&format!(" y escucha en el puerto {p} (`Listen {p}`)"));
            }
            s
        } else {
            format!("el servicio `{}` está parado", self.service)
        }
    }

    fn validate(&self) -> Result<(), String> {
        supervisor::find_service(&self.service)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expect = self.describe();
        let resp = match supervisor::request(cx.ws, &Request::Status) {
            Ok(r) => r,
            Err(_) if !self.running => return Outcome::pass(expect, "el laboratorio no está en marcha"),
            Err(_) => return Outcome::fail(expect, "el laboratorio no está en marcha: arráncalo con `lab start`"),
        };
        let service = resp
            .status
            .as_ref()
            .and_then(|s| s.services.iter().find(|x| x.name == self.service));
        let running = service.is_some_and(|s| s.running);
        if let (Some(port), Some(svc), true) = (self.listen, service, running) {
            let ports: Vec<u16> = svc.mappings.iter().filter_map(|m| written_port(m)).collect();
            if !ports.contains(&port) {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                return Outcome::fail(
                    expect,
                    format!(
                        "escucha en: {} (¿falta `Listen {port}` en ports.conf, o `lab reload`?)",
                        if list.is_empty() { "ningún puerto".to_string() } else { list.join(", ") }
                    ),
                );
            }
        }
        if running == self.running {
            Outcome::pass(expect, if running { "en marcha" } else { "parado" })
        } else if running {
            Outcome::fail(expect, "está en marcha")
        } else {
            Outcome::fail(expect, format!("está parado; arráncalo con `lab service {} start`", self.service))
        }
    }
}
