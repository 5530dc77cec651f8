#![no_main]
//! See `lab_server::fuzzing` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lab_server::fuzzing::run_in_process("htaccess", data);
});
