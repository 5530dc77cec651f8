#![no_main]
//! See `lab_server::fuzzing` for what this target checks.

use std::sync::OnceLock;

use lab_server::fuzzing::Targets;
use libfuzzer_sys::fuzz_target;

static TARGETS: OnceLock<Targets> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let targets = TARGETS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lab-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Targets::new(&dir).expect("the fuzz workspace")
    });
    targets.run("htaccess", data);
});
