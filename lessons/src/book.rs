//! `lab book`: builds the course's mdBook offline, with mdBook used as a library. The
//! `{{#exercise id}}` markers are expanded by [`ExercisePreprocessor`] into boxed
//! statements; the search index is mdBook's own (`searchindex.js`), built at the same time.
//!
//! The book is built from a copy of `book/` in a temporary directory (the course may be the
//! copy embedded in the binary), straight into `dest`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mdbook_driver::book::{Book, BookItem};
use mdbook_driver::MDBook;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::params::Params;
use crate::render::{self, marker_id};
use crate::Course;

/// Problems building the book, in Spanish.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("no se pudo {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("mdBook no pudo construir el libro: {0}")]
    Build(String),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BookError {
    let path = path.display().to_string();
    move |source| BookError::Io {
        action,
        path,
        source,
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The book's `index.html`.
    pub index: PathBuf,
    /// Pages listed in `SUMMARY.md` that do not exist yet (mdBook built them empty).
    pub missing_pages: Vec<String>,
}

/// Style of the exercise boxes, added to mdBook's theme.
const EXERCISE_CSS: &str = "\
.ejercicio { border: 2px solid #2b6cb0; border-radius: 6px; padding: 0 1em; margin: 1.5em 0;\n\
  background: rgba(43, 108, 176, 0.06); }\n\
.ejercicio-titulo { font-weight: bold; }\n\
.ejercicio-comprobar { font-size: 0.9em; opacity: 0.85; }\n";

const CSS_FILE: &str = "lab-ejercicios.css";

/// The Markdown box of one exercise, for the book. `student` gives the values of the
/// per-student parameters; without it they show as `⟨nombre⟩`.
pub fn exercise_box(course: &Course, id: &str, student: Option<&str>) -> String {
    let Some(e) = course.exercise(id) else {
        return format!(
            "\n> El ejercicio `{id}` todavía no está disponible en esta versión del laboratorio.\n"
        );
    };
    let params = match student {
        Some(s) => Params::derive(s, &e.id, &e.params),
        None => Params {
            student: "⟨estudiante⟩".into(),
            values: e
                .params
                .keys()
                .map(|k| (k.clone(), format!("⟨{k}⟩")))
                .collect(),
            web: String::new(),
            proxy: String::new(),
        },
    };
    let mut md = format!(
        "\n<div class=\"ejercicio\" id=\"ejercicio-{id}\">\n\n\
         <p class=\"ejercicio-titulo\">Ejercicio <code>{id}</code>: {} ({} puntos)</p>\n\n{}\n\n",
        render::escape(&params.apply(&e.title)),
        e.points,
        params.apply(e.statement.trim())
    );
    md.push_str("Pasos que se comprueban:\n\n");
    for (i, step) in e.steps.iter().enumerate() {
        md.push_str(&format!("{}. {}\n", i + 1, params.apply(&step.title)));
    }
    md.push_str(&format!(
        "\n<p class=\"ejercicio-comprobar\">Prepara sus ficheros con <code>lab prepare {id}</code> \
         y compruébalo con <code>lab check {id}</code> o con el botón «Comprobar» de la consola.</p>\n\n\
         </div>\n\n"
    ));
    md
}

/// Replaces every marker line of `md` with the exercise's box.
pub fn expand_markers(md: &str, course: &Course, student: Option<&str>) -> String {
    let mut out = String::with_capacity(md.len());
    for line in md.lines() {
        match marker_id(line) {
            Some(id) => out.push_str(&exercise_box(course, id, student)),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The mdBook preprocessor that expands `{{#exercise id}}`.
pub struct ExercisePreprocessor {
    /// The box of every exercise, rendered once.
    boxes: BTreeMap<String, String>,
}

impl ExercisePreprocessor {
    pub fn new(course: &Course, student: Option<&str>) -> ExercisePreprocessor {
        let boxes = course
            .exercises
            .keys()
            .map(|id| (id.clone(), exercise_box(course, id, student)))
            .collect();
        ExercisePreprocessor { boxes }
    }

    fn expand(&self, md: &str) -> String {
        let mut out = String::with_capacity(md.len());
        for line in md.lines() {
            match marker_id(line) {
                Some(id) => match self.boxes.get(id) {
                    Some(b) => out.push_str(b),
                    None => out.push_str(&format!("\n> El ejercicio `{id}` todavía no está disponible en esta versión del laboratorio.\n\n")),
                },
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

impl Preprocessor for ExercisePreprocessor {
    fn name(&self) -> &str {
        "lab-ejercicios"
    }

    fn run(
        &self,
        _ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        book.for_each_mut(|item| {
            if let BookItem::Chapter(ch) = item {
                ch.content = self.expand(&ch.content);
            }
        });
        Ok(book)
    }
}

/// Builds the book of `course` into `dest` (created if needed). `student` personalises
/// the exercise statements.
pub fn build(course: &Course, dest: &Path, student: Option<&str>) -> Result<Built, BookError> {
    let tmp = tempdir()?;
    let root = tmp.path.clone();
    let src = root.join("src");
    for (rel, data) in course.book_files() {
        let path = src.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("crear", parent))?;
        }
        std::fs::write(&path, data).map_err(io("escribir", &path))?;
    }
    // `additional-css` paths are relative to the book root.
    let css = root.join(CSS_FILE);
    std::fs::write(&css, EXERCISE_CSS).map_err(io("escribir", &css))?;
    let book_toml = root.join("book.toml");
    let toml_text = if course.book_toml.trim().is_empty() {
        "[book]\ntitle = \"Curso\"\nlanguage = \"es\"\nsrc = \"src\"\n".to_string()
    } else {
        course.book_toml.clone()
    };
    std::fs::write(&book_toml, toml_text).map_err(io("escribir", &book_toml))?;

    let missing_pages: Vec<String> = course
        .chapters
        .iter()
        .filter_map(|c| c.path.clone())
        .filter(|p| !course.pages.contains_key(p))
        .collect();

    std::fs::create_dir_all(dest).map_err(io("crear", dest))?;
    let dest = std::path::absolute(dest).map_err(io("resolver", dest))?;
    let build_err = |e: mdbook_driver::errors::Error| BookError::Build(format!("{e:#}"));
    let mut config: mdbook_driver::config::Config =
        toml_text_of(&book_toml)?.parse().map_err(build_err)?;
    config.build.build_dir = dest.clone();
    config.build.create_missing = true;
    config
        .set("output.html.additional-css", vec![CSS_FILE])
        .map_err(build_err)?;
    // Nothing may be fetched while building: the theme and search scripts are mdBook's
    // embedded copies, and no online playground is wired.
    config
        .set("output.html.playground.runnable", false)
        .map_err(build_err)?;
    let mut book = MDBook::load_with_config(&root, config).map_err(build_err)?;
    book.with_preprocessor(ExercisePreprocessor::new(course, student));
    book.build().map_err(build_err)?;
    Ok(Built {
        index: dest.join("index.html"),
        missing_pages,
    })
}

fn toml_text_of(path: &Path) -> Result<String, BookError> {
    std::fs::read_to_string(path).map_err(io("leer", path))
}

/// A temporary directory removed on drop.
struct TempDir {
    path: PathBuf,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn tempdir() -> Result<TempDir, BookError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!("lab-libro-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&path).map_err(io("crear", &path))?;
    Ok(TempDir { path })
}
