//! The fuzz target for `exercise.toml` (`fuzz/fuzz_targets/exercise_toml.rs`, and the
//! property test in `tests/fuzz_targets.rs`): the text goes through the loader the course
//! and `lab dev check` use, the student's parameters are derived, and every check is typed
//! and described as `lab check` would. Errors are rendered; nothing may panic.

use std::path::Path;

use lessons::exercise::parse;
use lessons::params::Params;

use crate::checks::Check;

/// Runs the exercise loader on `data`.
pub fn exercise_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(&data[..data.len().min(64 * 1024)]);
    let source = Path::new("exercises/fuzz/exercise.toml");
    match parse(&text, source, "fuzz", Vec::new(), Vec::new()) {
        Ok(exercise) => {
            let params = Params::derive("fuzz-1", &exercise.id, &exercise.params);
            let _ = params.apply(&exercise.statement);
            for step in &exercise.steps {
                for raw in &step.checks {
                    if let Ok(check) = Check::parse(raw, &params) {
                        let _ = check.describe();
                    }
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refused exercise says why");
            for e in errors {
                assert!(e.line >= 1, "errors point at a line: {e}");
                let _ = e.to_string();
            }
        }
    }
}
