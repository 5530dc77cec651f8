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

/// The most output kept from a command.
const MAX_OUTPUT: usize = 1 << 20;

/// A pipe read on its own thread.
struct Drained {
    data: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Drained {
    /// What was read: waits until the pipe closes or `until`, whichever comes first.
    fn take(self, until: Instant) -> String {
        let _ = self
            .done
            .recv_timeout(until.saturating_duration_since(Instant::now()));
        let data = self.data.lock().map(|d| d.clone()).unwrap_or_default();
        String::from_utf8_lossy(&data).into_owned()
    }
}

/// Reads a pipe to its end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Drained {
    let data = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, done) = std::sync::mpsc::channel();
    let shared = std::sync::Arc::clone(&data);
    std::thread::spawn(move || {
        if let Some(mut p) = pipe {
            let mut buf = [0u8; 8192];
            while let Ok(n) = p.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut d) = shared.lock() {
                    if d.len() < MAX_OUTPUT {
                        d.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
        let _ = tx.send(());
    });
    Drained { data, done }
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
        // Its own process group, so a timeout stops what it started too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.arg("-c")
            .arg(&self.run)
            .current_dir(&cx.ws.root)
            .env("LAB_WORKSPACE", &cx.ws.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // `LAB_HTTP_80=127.0.0.1:10080`: where each `Listen` of the lab is, for commands
        // that talk HTTP themselves.
        for (port, addr) in cx.target.listeners() {
            cmd.env(format!("LAB_HTTP_{port}"), addr.to_string());
        }
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
        // Both pipes are drained while the command runs (a command that prints more than a
        // pipe holds would otherwise block), each by a thread that hands over what it read
        // when the pipe closes.
        let (out_rx, err_rx) = (
            drain(child.stdout.take()),
            drain(child.stderr.take()),
        );
        let deadline = Instant::now() + Duration::from_secs(self.timeout_secs);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = Command::new("kill")
                        .args(["-s", "KILL", "--"])
                        .arg(format!("-{}", child.id()))
                        .stderr(Stdio::null())
                        .status();
                    let _ = child.kill();
                    let _ = child.wait();
                    return Outcome::fail(
                        expect,
                        format!("no terminó en {} s", self.timeout_secs),
                    );
                }
            }
        };
        // A background process left by the command may keep a pipe open: wait a little,
        // then take what there is.
        let until = Instant::now() + Duration::from_millis(500);
        let out = out_rx.take(until);
        let err = err_rx.take(until);
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
