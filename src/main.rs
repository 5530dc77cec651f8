//! `lab`: the command-line entry. Parsing lives in [`cli`], the work in [`commands`] and the
//! `lab-server` crate.

mod bench;
mod cli;
mod commands;
mod grading;
mod teaching;

use std::process::ExitCode;

// mimalloc instead of glibc's malloc: the proxy's and the web server's request paths make
// many small short-lived allocations, and glibc's free lists (malloc_consolidate) were the
// largest cost on the cache-hit path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::parse() {
        Ok(cli) => commands::run(cli),
        Err(code) => code,
    }
}
