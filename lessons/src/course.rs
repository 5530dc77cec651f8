//! Loading the course: chapters from `book/src/SUMMARY.md`, pages, and exercises. The course
//! is embedded in the binary (so an installed `lab` works anywhere); `LAB_COURSE_DIR` points
//! to a checkout to read it from disk instead (for authors).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::exercise::{self, AuthorError, Exercise, TreeFile};

static BOOK_SRC: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../book/src");
static EXERCISES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../exercises");
static BOOK_TOML: &str = include_str!("../../book/book.toml");

/// Problems loading the course.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    #[error("no se puede leer {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("el curso tiene errores:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Author(Vec<AuthorError>),
}

/// An entry of `SUMMARY.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    pub title: String,
    /// Page path under `book/src` (`apache/sitios.md`); `None` for a draft entry.
    pub path: Option<String>,
    /// 0 for top-level entries.
    pub depth: usize,
}

impl Chapter {
    /// The lesson id used by `lab lesson ID` and the console: the path without `.md`.
    pub fn id(&self) -> Option<String> {
        self.path
            .as_ref()
            .map(|p| p.strip_suffix(".md").unwrap_or(p).to_string())
    }
}

/// The whole course.
#[derive(Debug, Clone, Default)]
pub struct Course {
    pub chapters: Vec<Chapter>,
    /// Markdown of every page, by path under `book/src`.
    pub pages: BTreeMap<String, String>,
    pub exercises: BTreeMap<String, Exercise>,
    /// Where it was read from (`None`: embedded in the binary).
    pub dir: Option<PathBuf>,
    /// `book/book.toml`.
    pub book_toml: String,
    /// Problems that do not stop the course from loading (a chapter page not written yet).
    pub warnings: Vec<String>,
    /// Author errors that do not stop the course from loading but fail `lab dev check`: an
    /// exercise whose chapter page exists but lacks its marker.
    pub problems: Vec<AuthorError>,
}

/// A source of files: the embedded copy or a directory.
trait Source {
    fn read(&self, rel: &str) -> Option<Vec<u8>>;
    /// Files under `rel`, recursively, as paths relative to `rel`.
    fn files_under(&self, rel: &str) -> Vec<String>;
    /// Direct subdirectories of `rel`.
    fn subdirs(&self, rel: &str) -> Vec<String>;
}

struct Embedded;

impl Source for Embedded {
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let (root, rest) = split_root(rel)?;
        root.get_file(rest).map(|f| f.contents().to_vec())
    }

    fn files_under(&self, rel: &str) -> Vec<String> {
        let Some((root, rest)) = split_root(rel) else {
            return Vec::new();
        };
        let Some(dir) = (if rest.is_empty() {
            Some(root)
        } else {
            root.get_dir(rest)
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        collect_embedded(dir, Path::new(rest), &mut out);
        out.sort();
        out
    }

    fn subdirs(&self, rel: &str) -> Vec<String> {
        let Some((root, rest)) = split_root(rel) else {
            return Vec::new();
        };
        let dir = if rest.is_empty() {
            Some(root)
        } else {
            root.get_dir(rest)
        };
        let mut out: Vec<String> = dir
            .map(|d| {
                d.dirs()
                    .filter_map(|s| s.path().file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

fn split_root(rel: &str) -> Option<(&'static Dir<'static>, &str)> {
    if let Some(rest) = rel.strip_prefix("book/src") {
        Some((&BOOK_SRC, rest.trim_start_matches('/')))
    } else {
        rel.strip_prefix("exercises")
            .map(|rest| (&EXERCISES, rest.trim_start_matches('/')))
    }
}

fn collect_embedded(dir: &Dir<'static>, base: &Path, out: &mut Vec<String>) {
    for f in dir.files() {
        if let Ok(rel) = f.path().strip_prefix(base) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, base, out);
    }
}

struct OnDisk(PathBuf);

impl Source for OnDisk {
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.0.join(rel)).ok()
    }

    fn files_under(&self, rel: &str) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else if let Ok(r) = p.strip_prefix(base) {
                    out.push(r.to_string_lossy().into_owned());
                }
            }
        }
        let base = self.0.join(rel);
        let mut out = Vec::new();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }

    fn subdirs(&self, rel: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.0.join(rel))
            .map(|it| {
                it.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Course {
    /// The course from `LAB_COURSE_DIR` when set, else the copy embedded in the binary.
    pub fn load() -> Result<Course, CourseError> {
        match std::env::var_os("LAB_COURSE_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => Course::from_dir(Path::new(&dir)),
            None => Course::embedded(),
        }
    }

    /// The course embedded in the binary at build time.
    pub fn embedded() -> Result<Course, CourseError> {
        let mut c = load_from(&Embedded)?;
        c.dir = None;
        c.book_toml = BOOK_TOML.to_string();
        Ok(c)
    }

    /// The course of a checkout: `dir/book/src` and `dir/exercises`.
    pub fn from_dir(dir: &Path) -> Result<Course, CourseError> {
        if !dir.join("book/src/SUMMARY.md").is_file() {
            return Err(CourseError::Io {
                path: dir.join("book/src/SUMMARY.md").display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no existe"),
            });
        }
        let mut c = load_from(&OnDisk(dir.to_path_buf()))?;
        c.dir = Some(dir.to_path_buf());
        c.book_toml = std::fs::read_to_string(dir.join("book/book.toml")).unwrap_or_default();
        Ok(c)
    }

    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises.get(id)
    }

    /// The chapter whose id (path without `.md`) is `id`.
    pub fn chapter(&self, id: &str) -> Option<&Chapter> {
        self.chapters.iter().find(|c| c.id().as_deref() == Some(id))
    }

    /// Ids of the exercises whose markers appear in `page`, in order.
    pub fn exercises_in(&self, page: &str) -> Vec<String> {
        self.pages
            .get(page)
            .map(|md| crate::render::markers(md))
            .unwrap_or_default()
    }

    /// Every file of the book (`book/src`), for building it with mdBook.
    pub fn book_files(&self) -> Vec<(String, Vec<u8>)> {
        let files = match &self.dir {
            Some(d) => OnDisk(d.clone()).files_under("book/src"),
            None => Embedded.files_under("book/src"),
        };
        files
            .into_iter()
            .filter_map(|rel| {
                let full = format!("book/src/{rel}");
                let data = match &self.dir {
                    Some(d) => OnDisk(d.clone()).read(&full),
                    None => Embedded.read(&full),
                }?;
                Some((rel, data))
            })
            .collect()
    }
}

fn load_from(src: &dyn Source) -> Result<Course, CourseError> {
    let mut errors = Vec::new();
    let summary = src
        .read("book/src/SUMMARY.md")
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let chapters = parse_summary(&summary);
    let mut pages = BTreeMap::new();
    for rel in src.files_under("book/src") {
        if rel.ends_with(".md") {
            if let Some(data) = src.read(&format!("book/src/{rel}")) {
                pages.insert(rel, String::from_utf8_lossy(&data).into_owned());
            }
        }
    }
    let mut exercises = BTreeMap::new();
    for id in src.subdirs("exercises") {
        let toml_path = format!("exercises/{id}/exercise.toml");
        let Some(data) = src.read(&toml_path) else {
            errors.push(AuthorError {
                file: PathBuf::from(&toml_path),
                line: 1,
                column: 1,
                message: "falta exercise.toml".into(),
            });
            continue;
        };
        let tree = |which: &str| -> Vec<TreeFile> {
            let base = format!("exercises/{id}/{which}");
            src.files_under(&base)
                .into_iter()
                .filter_map(|rel| {
                    src.read(&format!("{base}/{rel}")).map(|contents| TreeFile {
                        path: PathBuf::from(rel),
                        contents,
                    })
                })
                .collect()
        };
        let text = String::from_utf8_lossy(&data);
        match exercise::parse(
            &text,
            Path::new(&toml_path),
            &id,
            tree("starter"),
            tree("solution"),
        ) {
            Ok(e) => {
                exercises.insert(id, e);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    // Every exercise must appear in its chapter, and every marker must name an exercise. A
    // chapter page that is not written yet is only a warning: the exercise still works with
    // `lab check`, and the console lists it apart.
    // Markers are only problems for `lab dev check`, not for loading: the student still gets
    // the rest of the course.
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    for e in exercises.values() {
        let Some(md) = pages.get(&e.chapter) else {
            warnings.push(format!(
                "{}: la página `{}` todavía no existe; el ejercicio `{}` no aparecerá en el libro",
                e.source.display(),
                e.chapter,
                e.id
            ));
            continue;
        };
        if !crate::render::markers(md).contains(&e.id) {
            let elsewhere = pages
                .iter()
                .find(|(_, md)| crate::render::markers(md).contains(&e.id))
                .map(|(p, _)| format!(" (el marcador está en `{p}`: corrige `chapter`)"))
                .unwrap_or_default();
            problems.push(AuthorError {
                file: e.source.clone(),
                line: 1,
                column: 1,
                message: format!(
                    "la página `{}` no contiene el marcador {{{{#exercise {}}}}}{elsewhere}",
                    e.chapter, e.id
                ),
            });
        }
    }
    // A page may be written before its exercise (chapters and exercises come from different
    // hands): the box says the exercise is not available yet, and dev check warns.
    for (page, md) in &pages {
        for id in crate::render::markers(md) {
            if !exercises.contains_key(&id) {
                let line = md
                    .lines()
                    .position(|l| crate::render::marker_id(l) == Some(id.as_str()))
                    .map(|n| n + 1)
                    .unwrap_or(1);
                warnings.push(format!(
                    "book/src/{page}:{line}:1: el marcador nombra un ejercicio que todavía no existe: `{id}`"
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(CourseError::Author(errors));
    }
    let missing: Vec<&str> = chapters
        .iter()
        .filter_map(|c| c.path.as_deref())
        .filter(|p| !pages.contains_key(*p))
        .collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "book/src/SUMMARY.md: {} páginas todavía no existen: {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    Ok(Course {
        chapters,
        pages,
        exercises,
        dir: None,
        book_toml: String::new(),
        warnings,
        problems,
    })
}

/// Parses mdBook's `SUMMARY.md`: `- [Title](path.md)` items (indented for depth) and
/// `[Title](path.md)` prefix/suffix chapters.
pub fn parse_summary(text: &str) -> Vec<Chapter> {
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start();
        let t = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .unwrap_or(t);
        let Some(rest) = t.strip_prefix('[') else {
            continue;
        };
        let Some((title, after)) = rest.split_once("](") else {
            continue;
        };
        let path = after.split(')').next().unwrap_or("").trim();
        out.push(Chapter {
            title: title.to_string(),
            path: (!path.is_empty()).then(|| path.trim_start_matches("./").to_string()),
            depth: indent / 2,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_entries_keep_titles_paths_and_depth() {
        let s = "# Resumen\n\n[Introducción](introduccion.md)\n\n- [Apache](apache/index.md)\n  - [Sitios](apache/sitios.md)\n- [Borrador]()\n";
        let c = parse_summary(s);
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].path.as_deref(), Some("introduccion.md"));
        assert_eq!(c[2].depth, 1);
        assert_eq!(c[2].id().as_deref(), Some("apache/sitios"));
        assert_eq!(c[3].path, None);
    }

    #[test]
    fn the_embedded_course_loads_without_author_errors() {
        let c = Course::embedded().unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.chapters.is_empty(), "SUMMARY.md has chapters");
    }
}
