//! The Debian-shaped tree written by `lab init` (being written).
use super::{Workspace, WorkspaceError};
use std::path::Path;

/// Creates a new workspace in `dir` (which must not exist or be empty).
pub fn init(dir: &Path, student: Option<&str>) -> Result<Workspace, WorkspaceError> {
    let _ = (dir, student);
    Err(WorkspaceError::NotFound(String::new()))
}
