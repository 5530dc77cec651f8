//! Configuration diagnostics: a span (file, line, column), a Spanish message and a hint,
//! rendered in one place so every configuration language reads the same.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a configuration file. Lines and columns start at 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub column: u32,
    /// Length of the offending text, for the caret line (at least 1).
    pub len: u32,
}

impl Span {
    pub fn new(file: Arc<PathBuf>, line: u32, column: u32, len: u32) -> Span {
        Span {
            file,
            line,
            column,
            len: len.max(1),
        }
    }

    /// `file:line:column`, the path shown relative to `base` when it is inside it.
    pub fn location(&self, base: Option<&Path>) -> String {
        format!(
            "{}:{}:{}",
            display_path(&self.file, base),
            self.line,
            self.column
        )
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Option<Span>,
    /// What is wrong, in Spanish.
    pub message: String,
    /// What to try, in Spanish.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Shows `path` relative to `base` when it lies inside it, as written otherwise.
pub fn display_path(path: &Path, base: Option<&Path>) -> String {
    if let Some(base) = base {
        if let Ok(rel) = path.strip_prefix(base) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// The message of the first error among `diagnostics` (empty when there is none), for the
/// one-line summaries that point to `lab configtest` for the rest.
pub fn first_error(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| d.message.clone())
        .unwrap_or_default()
}

/// Renders diagnostics the way the lab always shows them:
///
/// ```text
/// error: directiva desconocida `DocumentRot`
///   --> etc/apache2/sites-enabled/000-default.conf:3:5
///    |
///  3 |     DocumentRot /var/www/html
///    |     ^^^^^^^^^^^
///    = ayuda: ¿Quisiste decir `DocumentRoot`?
/// ```
///
/// Paths are shown relative to `base` (the workspace) when they are inside it.
pub fn render(diagnostics: &[Diagnostic], base: Option<&Path>) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "aviso",
        };
        let _ = writeln!(out, "{label}: {}", d.message);
        if let Some(span) = &d.span {
            let _ = writeln!(out, "  --> {}", span.location(base));
            if let Some(line) = source_line(&span.file, span.line) {
                let num = span.line.to_string();
                let pad = " ".repeat(num.len());
                let _ = writeln!(out, " {pad} |");
                let _ = writeln!(out, " {num} | {line}");
                let caret_pad: String = line
                    .chars()
                    .take(span.column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(
                    out,
                    " {pad} | {caret_pad}{}",
                    "^".repeat(span.len.max(1) as usize)
                );
            }
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "   = ayuda: {hint}");
        }
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        let _ = writeln!(
            out,
            "{} {} en la configuración{}",
            errors,
            if errors == 1 { "error" } else { "errores" },
            if warnings > 0 {
                format!(" ({warnings} {})", plural_aviso(warnings))
            } else {
                String::new()
            }
        );
    }
    out
}

fn plural_aviso(n: usize) -> &'static str {
    if n == 1 {
        "aviso"
    } else {
        "avisos"
    }
}

fn source_line(file: &Path, line: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .nth(line.checked_sub(1)? as usize)
        .map(|l| l.trim_end().to_string())
}

/// The closest candidate to `word` (case-insensitive edit distance), when it is close enough
/// to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&w, &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (word.chars().count() / 3).clamp(1, 3);
    (d <= limit).then_some(c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_directive_names() {
        let names = ["DocumentRoot", "DirectoryIndex", "ServerName"];
        assert_eq!(suggest("DocumentRot", names), Some("DocumentRoot"));
        assert_eq!(suggest("servername", names), Some("ServerName"));
        assert_eq!(suggest("Frobnicate", names), None);
    }
}
