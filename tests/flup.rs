//! Python over FastCGI: a real flup `WSGIServer` on a unix socket in the workspace's `run/`,
//! behind `ProxyPass "/app/" "unix:/run/app.sock|fcgi://localhost/"`, compared with what
//! Debian's Apache gives the same app (tests/fixtures/php/flup-*.txt).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{pyenv, wait_until, TestLab};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/php");

struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn body_of(transcript: &str) -> String {
    transcript
        .split_once("\n\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[test]
fn a_flup_app_behind_proxy_pass_answers_like_behind_apache() {
    let venv = pyenv::test_venv();
    let python = venv.join("bin/python");
    let has_flup = Command::new(&python)
        .args(["-c", "import flup.server.fcgi"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_flup {
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "flup"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "no se pudo instalar flup en el venv de pruebas");
    }
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "proxy_fcgi"]).assert_code(0);
    lab.add_site(
        "flup",
        "<VirtualHost *:80>\n\tServerName flup.localhost\n\tProxyPass \"/app/\" \"unix:/run/app.sock|fcgi://localhost/\"\n</VirtualHost>\n",
    );
    lab.configtest().assert_code(0);
    lab.start();

    // Nobody on the socket yet: 503 and the log names it.
    let r = lab.get_host("/app/hola", "flup.localhost");
    assert_eq!(r.status, 503, "{r}");

    let app = App(Command::new(&python)
        .arg(format!("{FIXTURES}/flupapp.py"))
        .arg(lab.root.join("run/app.sock"))
        .current_dir(&lab.root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("arrancar la aplicación flup"));
    assert!(wait_until(Duration::from_secs(10), || lab
        .root
        .join("run/app.sock")
        .exists()));

    let want = std::fs::read_to_string(format!("{FIXTURES}/flup-get.txt")).unwrap();
    let r = lab.get_host("/app/hola/x%20y?q=1", "flup.localhost");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(
        r.text(),
        body_of(&want),
        "las variables que ve flup difieren de Apache"
    );
    let cookies: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, vec!["a=1", "b=2"]);

    let want = std::fs::read_to_string(format!("{FIXTURES}/flup-post.txt")).unwrap();
    let req = "POST /app/ HTTP/1.1\r\nHost: flup.localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\nx=1";
    let r = lab.raw(req.as_bytes(), false).unwrap();
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.text(), body_of(&want));
    drop(app);
}
