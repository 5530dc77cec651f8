//! The training run of `scripts/build-pgo.sh`, which the README's install command runs between
//! its two builds: on this tree's lab it must start every service it trains and finish every
//! load with no failed request (the script stops at the first failure), or the install fails.

mod common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_training_of_the_optimized_build_runs_on_this_lab_without_failures() {
    for tool in ["curl", "python3", "pgrep"] {
        if !common::have(tool) {
            eprintln!("omitida: falta `{tool}`, que usa el entrenamiento de scripts/build-pgo.sh");
            return;
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/build-pgo.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("LAB_PGO_GEN", common::lab_bin())
        .env("LAB_PGO_TRAIN_ONLY", "1")
        .env("LAB_PGO_VERBOSE", "1")
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("== entrenamiento completo"), "{stdout}");
    // Every `lab bench` load of the training reported its counts, and none failed.
    let loads = stdout
        .lines()
        .filter(|l| l.starts_with("Peticiones completas:"))
        .count();
    assert!(loads >= 10, "{stdout}");
    let clean = stdout
        .lines()
        .filter(|l| l.starts_with("Peticiones fallidas:"))
        .filter(|l| l.split_whitespace().last() == Some("0"))
        .count();
    assert_eq!(clean, loads, "{stdout}");
}
