//! Apache 2.4 configuration, in three stages like every configuration language of the lab:
//!
//! - [`syntax`]: text -> tree of directives and sections, each with file, line and column.
//! - [`loader`]: reads `apache2.conf` and `envvars`, follows `Include`/`IncludeOptional`,
//!   evaluates `<IfModule>`, `<IfDefine>`, `Define` and `${VAR}`, records `LoadModule`.
//! - [`directives`]: the registry of directives: module, allowed contexts, arguments.
//! - [`modules`]: the modules the lab implements and the real Apache ones it does not.
//! - [`build`]: the expanded tree -> the typed [`model`], with validation (per-directory
//!   directives in `perdir`).
//! - [`wsgi`]: mod_wsgi's directives (script aliases, daemon groups, venvs).
//! - [`diagnostic`]: spans, Spanish messages, hints and the one renderer.

pub mod build;
pub mod diagnostic;
pub mod directives;
pub mod expr;
pub mod loader;
pub mod model;
pub mod modules;
pub(crate) mod perdir;
pub mod proxy;
pub mod remoteip;
pub mod syntax;
pub mod wsgi;

pub use diagnostic::{Diagnostic, Severity, Span};
pub use model::ServerConfig;

use crate::workspace::Workspace;

/// A configuration that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: ServerConfig,
    pub warnings: Vec<Diagnostic>,
}

/// Loads and validates the Apache configuration of a workspace, starting at
/// `etc/apache2/apache2.conf`. Returns every diagnostic found (errors and warnings) when
/// there is at least one error.
pub fn load(ws: &Workspace) -> Result<Loaded, Vec<Diagnostic>> {
    let tree = loader::load(ws);
    build::build(ws, tree)
}

#[cfg(test)]
mod tests;
