//! Check kinds. Each kind is one file with a `Deserialize` struct (its TOML fields) that
//! implements [`CheckKind`]; adding a kind is that file plus one line in [`Check`] and
//! [`KINDS`].

mod apache;
mod command;
mod file;
mod http;
mod memcached;
mod process;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A typed check.
#[derive(Debug, Clone)]
pub enum Check {
    File(file::FileCheck),
    Apache(apache::ApacheCheck),
    Http(http::HttpCheck),
    Command(command::CommandCheck),
    Process(process::ProcessCheck),
    Memcached(memcached::MemcachedCheck),
}

/// The kinds, as written in `kind = "..."`.
pub const KINDS: &[&str] = &["file", "apache", "http", "command", "process", "memcached"];

impl Check {
    /// Builds the typed check from its TOML table, with the student's parameters applied to
    /// every string.
    pub fn parse(raw: &RawCheck, params: &Params) -> Result<Check, String> {
        let mut table = raw.table.clone();
        let kind = table
            .remove("kind")
            .and_then(|k| k.as_str().map(str::to_string))
            .ok_or("a la comprobación le falta `kind`")?;
        let value = substitute(toml::Value::Table(table), params);
        fn typed<T: CheckKind>(v: toml::Value) -> Result<T, String> {
            let t: T = v.try_into().map_err(|e: toml::de::Error| e.message().to_string())?;
            t.validate()?;
            Ok(t)
        }
        Ok(match kind.as_str() {
            "file" => Check::File(typed(value)?),
            "apache" => Check::Apache(typed(value)?),
            "http" => Check::Http(typed(value)?),
            "command" => Check::Command(typed(value)?),
            "process" => Check::Process(typed(value)?),
            "memcached" => Check::Memcached(typed(value)?),
            other => {
                return Err(format!(
                    "tipo de comprobación desconocido `{other}`; tipos: {}",
                    KINDS.join(", ")
                ))
            }
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Check::File(c) => c.describe(),
            Check::Apache(c) => c.describe(),
            Check::Http(c) => c.describe(),
            Check::Command(c) => c.describe(),
            Check::Process(c) => c.describe(),
            Check::Memcached(c) => c.describe(),
        }
    }

    pub fn run(&self, cx: &Context<'_>) -> Outcome {
        match self {
            Check::File(c) => c.run(cx),
            Check::Apache(c) => c.run(cx),
            Check::Http(c) => c.run(cx),
            Check::Command(c) => c.run(cx),
            Check::Process(c) => c.run(cx),
            Check::Memcached(c) => c.run(cx),
        }
    }

    /// True when the check needs HTTP access to the lab.
    pub fn needs_http(&self) -> bool {
        matches!(self, Check::Http(_))
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
