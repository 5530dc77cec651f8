//! The test virtualenv: a real `python3 -m venv` with Flask, Bottle, Django and flup from PyPI,
//! created once under the target directory (`target/test-venv`) and reused by every test
//! run. A lock directory keeps parallel tests from creating it twice.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// Packages the WSGI tests use.
pub const PACKAGES: &[&str] = &["flask", "bottle", "django", "flup"];

/// Debian's interpreter (the one the lab is built against), or `python3` from PATH.
pub fn system_python() -> PathBuf {
    let debian = Path::new("/usr/bin/python3");
    if debian.exists() {
        debian.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

fn target_dir() -> PathBuf {
    // target/debug/lab -> target
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lab"));
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// The shared test venv, created on first use. Panics with the installer's output when it
/// cannot be made (no network to PyPI, no python3-venv).
pub fn test_venv() -> PathBuf {
    let venv = target_dir().join("test-venv");
    let ready = venv.join(".lab-ready");
    if ready.exists() {
        return venv;
    }
    let lock = target_dir().join("test-venv.lock");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if ready.exists() {
            return venv;
        }
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(_) => {
                // A lock left by a killed run is stale after 15 minutes.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > Duration::from_secs(900));
                if stale {
                    let _ = std::fs::remove_dir(&lock);
                }
                assert!(
                    Instant::now() < deadline,
                    "el venv de pruebas no se terminó de crear"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    let result = std::panic::catch_unwind(|| create(&venv));
    let _ = std::fs::remove_dir(&lock);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    venv
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("no se pudo ejecutar {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} falló\n--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn create(venv: &Path) {
    // Under the lock: a half-made venv from a killed run (no ready mark) is made again.
    let _ = std::fs::remove_dir_all(venv);
    run(Command::new(system_python()).args(["-m", "venv"]).arg(venv));
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PACKAGES));
    std::fs::write(venv.join(".lab-ready"), "ok\n").expect("marcar el venv como listo");
}
