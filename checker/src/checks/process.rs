//! `kind = "process"`: a service of the student's running lab is (or is not) running.

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
}

fn yes() -> bool {
    true
}

impl CheckKind for ProcessCheck {
    fn describe(&self) -> String {
        if self.running {
            format!("el servicio `{}` está en marcha en el laboratorio", self.service)
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
        let running = resp
            .status
            .as_ref()
            .and_then(|s| s.services.iter().find(|x| x.name == self.service))
            .is_some_and(|s| s.running);
        if running == self.running {
            Outcome::pass(expect, if running { "en marcha" } else { "parado" })
        } else if running {
            Outcome::fail(expect, "está en marcha")
        } else {
            Outcome::fail(expect, format!("está parado; arráncalo con `lab service {} start`", self.service))
        }
    }
}
