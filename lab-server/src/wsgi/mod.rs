//! WSGI hosting (mod_wsgi's job): Python applications run by an embedded CPython.
//!
//! - [`venv`]: checks a `python-home` (exists, is a venv, same Python version).
//! - [`mapping`]: `WSGIScriptAlias` matching (SCRIPT_NAME / PATH_INFO split) and the
//!   per-directory WSGI settings that apply to a script.
//! - [`python`]: the interpreter side: loading scripts, `environ`, `wsgi.input`,
//!   `start_response`, iterating the result, error reporting (PEP 3333).
//! - [`scriptstat`]: the per-request look at a script (exists, modification time), kept
//!   in memory while the kernel reports no change on its path.
//! - [`pool`]: dedicated threads that run Python requests (embedded mode and workers).
//! - [`inline`]: requests run on the thread that holds their connection.
//! - [`embedded`]: requests served inside the lab process.
//! - [`daemon`]: `WSGIDaemonProcess` groups: worker processes, supervision, recycling.
//! - [`worker`]: the hidden `lab __wsgi-worker` command: it embeds Python and serves the
//!   client connections the lab hands it ([`crate::http::handoff`]) over HTTP directly, and
//!   FastCGI requests for what cannot move (internal redirects, chunked bodies).
//! - [`host`]: [`WsgiHost`], the entry point the HTTP role uses.

pub mod daemon;
pub mod embedded;
pub mod errorlog;
pub mod host;
pub mod inline;
pub mod mapping;
pub mod pool;
pub mod python;
pub mod scriptstat;
pub mod venv;
pub mod worker;

pub use host::{WsgiContext, WsgiHost, WsgiPlace};
pub use mapping::{match_script_alias, ScriptMatch};

/// The response body type of the HTTP role.
pub type Body = http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>;

/// The `(major, minor)` of the CPython the lab embeds (initializes the interpreter once).
pub fn embedded_version() -> (u8, u8) {
    static VERSION: std::sync::OnceLock<(u8, u8)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        pyo3::Python::attach(|py| {
            let v = py.version_info();
            (v.major, v.minor)
        })
    })
}

/// A line for `lab start`: which Python the lab embeds and where its library lives.
pub fn embedded_description() -> String {
    use pyo3::types::PyAnyMethods;
    pyo3::Python::attach(|py| {
        let version = py
            .version()
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let prefix = py
            .import("sys")
            .and_then(|sys| sys.getattr("base_prefix"))
            .and_then(|p| p.extract::<String>())
            .unwrap_or_default();
        format!("Python {version} ({prefix})")
    })
}
