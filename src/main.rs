//! `lab`: the command-line entry. Parsing lives in [`cli`], the work in [`commands`] and the
//! `lab-server` crate.

mod bench;
mod cli;
mod commands;
mod grading;
mod teaching;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse() {
        Ok(cli) => commands::run(cli),
        Err(code) => code,
    }
}
