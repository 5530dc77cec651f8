#![no_main]
//! `exercise.toml` through the loader `lab dev check` and the course use.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    checker::fuzzing::exercise_toml(data);
});
