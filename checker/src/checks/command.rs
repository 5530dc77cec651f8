//! `kind = "command"`: runs a command in the workspace (optionally inside a Python virtual
//! environment) and checks its exit code and output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{excerpt, regex, CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    /// Shell command line, run with `sh -c` in the workspace root.
    pub run: String,
    /// A virtual environment (path relative to the workspace or absolute): its `bin/` goes
    /// first in `PATH` and `VIRTUAL_ENV` is set, as `source venv/bin/activate` does.
    pub venv: Option<String>,
    #[serde(default)]
    pub expect_exit: i32,
    pub expect_stdout: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    30
}

impl CheckKind for CommandCheck {
    fn describe(&self) -> String {
        let mut s = format!("`{}` termina con código {}", self.run, self.expect_exit);
        if let Some(v) = &self.venv {
            s = format!("en el entorno virtual `{v}`, {s}");
        }
        if let Some(o) = &self.expect_stdout {
            s.push_str(&format!(" y su salida encaja con /{o}/"));
        }
        s
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(o) = &self.expect_stdout {
            regex(o)?;
        }
        Ok(())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expect = self.describe();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.run)
            .current_dir(&cx.ws.root)
            .env("LAB_WORKSPACE", &cx.ws.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(v) = &self.venv {
            let venv = cx.ws.root.join(v);
            if !venv.join("bin/python").exists() && !venv.join("bin/python3").exists() {
                return Outcome::fail(expect, format!("`{v}` no es un entorno virtual (falta bin/python); créalo con `python3 -m venv {v}`"));
            }
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", venv.join("bin").display()))
                .env("VIRTUAL_ENV", &venv);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Outcome::fail(expect, format!("no se pudo ejecutar: {e}")),
        };
        let deadline = Instant::now() + Duration::from_secs(self.timeout_secs);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Outcome::fail(expect, format!("no terminó en {} s", self.timeout_secs));
                }
            }
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        let code = status.code().unwrap_or(-1);
        if code != self.expect_exit {
            let detail = if err.trim().is_empty() { &out } else { &err };
            return Outcome::fail(expect, format!("terminó con código {code}: «{}»", excerpt(detail.trim(), 120)));
        }
        if let Some(o) = &self.expect_stdout {
            match regex(o) {
                Ok(re) if re.is_match(&out) => {}
                Ok(_) => return Outcome::fail(expect, format!("la salida fue «{}»", excerpt(out.trim(), 120))),
                Err(e) => return Outcome::fail(expect, e),
            }
        }
        Outcome::pass(expect, format!("código {code}"))
    }
}
