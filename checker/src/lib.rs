//! The exercise checker.
//!
//! - [`checks`]: the check kinds (`file`, `apache`, `http`, `command`, `process`), one file
//!   each, typed from the exercise's TOML and validated when the course loads.
//! - [`target`]: where HTTP checks go: the student's running lab or an isolated instance.
//! - [`run`]: runs an exercise's steps against a workspace (partial credit by step).
//! - [`report`]: the `lab check` table.
//! - [`console`]: the console's «Comprobar» button.
//! - [`dev`]: `lab dev check`: every starter fails, every solution passes.
//! - [`grade`]: `lab grade`: whole classes, in parallel, with reports.
//! - [`isolate`]: checking a copy of a workspace with its own lab, set-up and limits.

pub mod checks;
pub mod console;
pub mod dev;
#[doc(hidden)]
pub mod fuzzing;
pub mod grade;
pub mod isolate;
pub mod report;
pub mod run;
pub mod target;
