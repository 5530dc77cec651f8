//! Check kinds. Each kind is one file with a `Deserialize` struct (its TOML fields, with
//! `#[serde(deny_unknown_fields)]`) that implements [`CheckKind`].
//!
//! ## Adding a kind (`memcached`, `php`, `wsgi`...)
//!
//! 1. Write `checks/<kind>.rs`: the struct, `describe` (one Spanish line: what is expected),
//!    `run` (an [`Outcome`] whose `found` says, in Spanish, what was there instead),
//!    `validate` for anything serde cannot check (regexes, ranges), and `needs_http` when it
//!    sends requests through the lab's listeners.
//! 2. Add one line to the `kinds!` list below: `Variant(module::Struct) = "kind"`.
//!
//! That line declares the module, the enum variant, the name accepted in `kind = "..."`
//! and the dispatch; nothing else changes. `lab dev check` then parses every check of the
//! new kind (a bad field is reported at `exercise.toml:line:column`, in Spanish) and runs it
//! against each starter and solution.
//!
//! A kind reaches the lab through [`Context`]: the workspace (`ws`, its `lab.toml` and
//! files) and where HTTP requests go (`target`). A kind that talks to another service of
//! the running lab (memcached...) can ask the supervisor for its status
//! (`lab_server::supervisor::request(ws, &Request::Status)`), as `process` does.
//!
//! `lab dev check` and `lab grade` run every check in an isolated copy of the workspace
//! ([`crate::isolate`]); a kind other than `file`, `apache` and `command` gets a real
//! `lab start` there. What an exercise needs besides its files (a venv, a service, data)
//! goes in its `[setup]` table (`lessons/src/exercise.rs`).

use lab_server::workspace::Workspace;
use lessons::exercise::RawCheck;
use lessons::params::Params;
use serde::de::DeserializeOwned;

use crate::target::Target;

/// What a check runs against.
pub struct Context<'a> {
    pub ws: &'a Workspace,
    pub target: &'a Target,
}

/// The result of one check, explained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub passed: bool,
    /// What was expected, in Spanish.
    pub expected: String,
    /// What was found, in Spanish.
    pub found: String,
}

impl Outcome {
    pub fn pass(expected: impl Into<String>, found: impl Into<String>) -> Outcome {
        Outcome {
            passed: true,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn fail(expected: impl Into<String>, found: impl Into<String>) -> Outcome {
        Outcome {
            passed: false,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Behaviour every check kind provides.
pub trait CheckKind: DeserializeOwned {
    /// One line, in Spanish, saying what is checked.
    fn describe(&self) -> String;
    /// Runs the check.
    fn run(&self, cx: &Context<'_>) -> Outcome;
    /// Extra validation when the course loads (regexes compile, values in range).
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    /// True when the check sends requests through the lab's listeners (so an isolated
    /// instance is started when no lab is running).
    fn needs_http(&self) -> bool {
        false
    }
}

/// Declares the check kinds: modules, the [`Check`] enum, [`KINDS`] and the dispatch.
macro_rules! kinds {
    ($($variant:ident($module:ident::$ty:ident) = $name:literal,)+) => {
        $(mod $module;)+

        /// A typed check.
        #[derive(Debug, Clone)]
        pub enum Check {
            $($variant($module::$ty),)+
        }

        /// The kinds, as written in `kind = "..."`.
        pub const KINDS: &[&str] = &[$($name),+];

        impl Check {
            fn typed(kind: &str, value: toml::Value) -> Result<Check, String> {
                match kind {
                    $($name => Ok(Check::$variant(typed(value)?)),)+
                    other => Err(format!(
                        "tipo de comprobación desconocido `{other}`; tipos: {}",
                        KINDS.join(", ")
                    )),
                }
            }

            /// One line, in Spanish, saying what is checked.
            pub fn describe(&self) -> String {
                match self {
                    $(Check::$variant(c) => c.describe(),)+
                }
            }

            /// Runs the check.
            pub fn run(&self, cx: &Context<'_>) -> Outcome {
                match self {
                    $(Check::$variant(c) => c.run(cx),)+
                }
            }

            /// True when the check sends requests through the lab's listeners.
            pub fn needs_http(&self) -> bool {
                match self {
                    $(Check::$variant(c) => c.needs_http(),)+
                }
            }
        }
    };
}

kinds! {
    File(file::FileCheck) = "file",
    Apache(apache::ApacheCheck) = "apache",
    Http(http::HttpCheck) = "http",
    Command(command::CommandCheck) = "command",
    Process(process::ProcessCheck) = "process",
    Memcached(memcached::MemcachedCheck) = "memcached",
    Vcl(vcl::VclCheck) = "vcl",
    Bench(bench::BenchCheck) = "bench",
}

pub(crate) use bench::copy_runs as copy_bench_runs;

fn typed<T: CheckKind>(v: toml::Value) -> Result<T, String> {
    let t: T = v
        .try_into()
        .map_err(|e: toml::de::Error| lessons::exercise::spanish_serde(e.message()))?;
    t.validate()?;
    Ok(t)
}

impl Check {
    /// Builds the typed check from its TOML table, with the student's parameters applied to
    /// every string.
    pub fn parse(raw: &RawCheck, params: &Params) -> Result<Check, String> {
        let mut table = raw.table.clone();
        let kind = table
            .remove("kind")
            .and_then(|k| k.as_str().map(str::to_string))
            .ok_or("a la comprobación le falta `kind`")?;
        Check::typed(&kind, substitute(toml::Value::Table(table), params))
    }
}

fn substitute(v: toml::Value, params: &Params) -> toml::Value {
    match v {
        toml::Value::String(s) => toml::Value::String(params.apply(&s)),
        toml::Value::Array(a) => {
            toml::Value::Array(a.into_iter().map(|x| substitute(x, params)).collect())
        }
        toml::Value::Table(t) => toml::Value::Table(
            t.into_iter()
                .map(|(k, x)| (k, substitute(x, params)))
                .collect(),
        ),
        other => other,
    }
}

/// Compiles a regex from an exercise, with a Spanish error.
pub(crate) fn regex(src: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(src).map_err(|e| format!("expresión regular no válida `{src}`: {e}"))
}

/// Shortens text for messages.
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', "⏎");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}
