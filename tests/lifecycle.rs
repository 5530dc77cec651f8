//! `lab start` / `lab stop` / `lab status`: foreground run, clean shutdown, runtime files.

mod common;

use std::time::Duration;

use common::{wait_until, TestLab};

/// Files under `run/` (recursively) other than directories.
fn runtime_files(lab: &TestLab) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&lab.path("run"), &mut out);
    out
}

#[test]
fn start_serves_the_spanish_page_and_sigterm_stops_cleanly() {
    let mut lab = TestLab::new();
    lab.start();
    assert!(
        lab.path("run/lab.sock").exists(),
        "sin socket de control run/lab.sock\n{}",
        lab.output()
    );
    let resp = lab.get("/");
    assert_eq!(resp.status, 200, "{resp}");
    assert!(resp.text().contains("Funciona"), "{resp}");
    assert!(
        resp.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{resp}"
    );

    let code = lab.stop_with_sigterm();
    assert_eq!(code, Some(0), "salida tras SIGTERM\n{}", lab.output());
    assert!(
        lab.output().contains("Laboratorio parado."),
        "{}",
        lab.output()
    );
    assert!(
        runtime_files(&lab).is_empty(),
        "quedan ficheros en run/: {:?}",
        runtime_files(&lab)
    );
    assert!(
        std::net::TcpStream::connect(lab.addr()).is_err(),
        "el puerto sigue abierto tras parar"
    );
}

#[test]
fn start_prints_the_port_mapping() {
    let mut lab = TestLab::new();
    lab.start();
    let out = lab.output();
    assert!(
        out.contains(&format!("127.0.0.1:{}", lab.port)),
        "la salida de `lab start` no muestra 127.0.0.1:{}\n{out}",
        lab.port
    );
}

#[test]
fn lab_stop_stops_the_running_instance() {
    let mut lab = TestLab::new();
    lab.start();
    let status = lab.lab(&["status"]);
    status.assert_code(0);
    assert!(
        status.all().contains(&lab.port.to_string()),
        "`lab status` debería mostrar el puerto {}:\n{}",
        lab.port,
        status.all()
    );

    lab.lab(&["stop"]).assert_code(0);
    let exited = lab.wait_exit(Duration::from_secs(10));
    assert_eq!(
        exited,
        Some(Some(0)),
        "`lab start` no terminó tras `lab stop`"
    );
    assert!(
        wait_until(Duration::from_secs(2), || runtime_files(&lab).is_empty()),
        "quedan ficheros en run/: {:?}",
        runtime_files(&lab)
    );
    assert!(std::net::TcpStream::connect(lab.addr()).is_err());
}

#[test]
fn commands_without_a_running_instance_fail_in_spanish() {
    let lab = TestLab::new();
    for cmd in ["stop", "reload"] {
        let out = lab.lab(&[cmd]);
        assert_eq!(out.code, 1, "`lab {cmd}` sin servidor:\n{}", out.all());
        assert!(
            !out.stderr.trim().is_empty(),
            "`lab {cmd}` no explica el error"
        );
    }
}

#[test]
fn workspace_can_come_from_lab_workspace_variable() {
    let lab = TestLab::new();
    let out = lab.lab_env(&["configtest"]);
    out.assert_code(0);
    assert!(out.all().contains("Sintaxis correcta"), "{}", out.all());
}

#[test]
fn a_second_start_on_the_same_workspace_is_refused() {
    let mut lab = TestLab::new();
    lab.start();
    let second = lab
        .lab_timeout(&["start"], Duration::from_secs(10))
        .unwrap_or_else(|o| panic!("un segundo `lab start` siguió arrancado:\n{}", o.all()));
    assert_eq!(second.code, 1, "{}", second.all());
    // The first one keeps serving.
    assert_eq!(lab.get("/").status, 200);
}
