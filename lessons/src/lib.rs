//! The lesson engine: the course as data, rendered for people.
//!
//! - [`course`]: loads the book (`book/src`, chapters from `SUMMARY.md`) and the exercises
//!   (`exercises/<id>/`), embedded in the binary or from a directory (`LAB_COURSE_DIR`).
//! - [`exercise`]: the exercise format (`exercise.toml`, `starter/`, `solution/`), validated
//!   on load with file:line errors for the author.
//! - [`params`]: per-student values derived from the student id (`{{param.name}}`).
//! - [`render`]: Markdown -> HTML and terminal text, with `{{#exercise id}}` markers expanded.
//! - [`book`]: `lab book`: the mdBook built offline, markers expanded by a preprocessor.
//! - [`console`]: the web console (axum) that `lab start` serves.
//! - [`runs`]: `lab bench` runs stored next to the progress, and their SVG plots.
//! - [`progress`]: attempts and passed steps in `.lab/progress.db` (SQLite, WAL, migrations).

pub mod book;
pub mod console;
pub mod course;
pub mod exercise;
pub mod params;
pub mod progress;
pub mod render;
pub mod runs;

pub use course::{Course, CourseError};
pub use exercise::Exercise;
