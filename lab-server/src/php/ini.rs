//! The INI syntax of `php.ini`, `php-fpm.conf` and `pool.d/*.conf`: `[section]`,
//! `key = value`, `;` comments, values optionally in double quotes. Every entry keeps its
//! file, line and column for diagnostics.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::diagnostic::{Diagnostic, Span};

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The `[section]` it is in (empty before the first one).
    pub section: String,
    pub key: String,
    pub value: String,
    /// Where the key starts.
    pub key_span: Span,
    /// Where the value starts.
    pub value_span: Span,
}

/// A parsed file: its entries and the sections in order (with their spans).
#[derive(Debug, Clone, Default)]
pub struct IniFile {
    pub entries: Vec<Entry>,
    pub sections: Vec<(String, Span)>,
}

/// Parses INI text. Syntax errors are returned as diagnostics; the lines around them are
/// still parsed, so one run reports every error.
pub fn parse(file: &Arc<PathBuf>, text: &str) -> (IniFile, Vec<Diagnostic>) {
    let mut out = IniFile::default();
    let mut errors = Vec::new();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let col = indent as u32 + 1;
        if let Some(rest) = line.strip_prefix('[') {
            match rest.split_once(']') {
                Some((name, tail)) if !name.trim().is_empty() && is_comment(tail) => {
                    section = name.trim().to_string();
                    out.sections.push((
                        section.clone(),
                        Span::new(Arc::clone(file), line_no, col, line.len() as u32),
                    ));
                }
                _ => errors.push(
                    Diagnostic::error(
                        Some(Span::new(Arc::clone(file), line_no, col, line.len() as u32)),
                        format!("sección mal escrita: `{line}`"),
                    )
                    .with_hint("una sección se escribe `[nombre]`, sola en su línea"),
                ),
            }
            continue;
        }
        let Some(eq) = line.find('=') else {
            errors.push(
                Diagnostic::error(
                    Some(Span::new(Arc::clone(file), line_no, col, line.len() as u32)),
                    format!("falta `=` en `{line}`"),
                )
                .with_hint("cada línea es `clave = valor` (o un comentario que empieza por `;`)"),
            );
            continue;
        };
        let key = line[..eq].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            errors.push(Diagnostic::error(
                Some(Span::new(Arc::clone(file), line_no, col, eq.max(1) as u32)),
                format!("clave no válida antes de `=`: `{key}`"),
            ));
            continue;
        }
        let after = &line[eq + 1..];
        let value_off = eq + 1 + (after.len() - after.trim_start().len());
        let value_col = col + value_off as u32;
        let value = match unquote(after.trim()) {
            Ok(v) => v,
            Err(msg) => {
                errors.push(Diagnostic::error(
                    Some(Span::new(
                        Arc::clone(file),
                        line_no,
                        value_col,
                        after.trim().len() as u32,
                    )),
                    msg,
                ));
                continue;
            }
        };
        out.entries.push(Entry {
            section: section.clone(),
            key: key.to_string(),
            value,
            key_span: Span::new(Arc::clone(file), line_no, col, key.len() as u32),
            value_span: Span::new(
                Arc::clone(file),
                line_no,
                value_col,
                after.trim().len() as u32,
            ),
        });
    }
    (out, errors)
}

fn is_comment(tail: &str) -> bool {
    let t = tail.trim();
    t.is_empty() || t.starts_with(';')
}

/// A value: `"quoted"` (up to the closing quote), or bare up to a `;` comment.
fn unquote(v: &str) -> Result<String, String> {
    if let Some(rest) = v.strip_prefix('"') {
        return match rest.find('"') {
            Some(end) if is_comment(&rest[end + 1..]) => Ok(rest[..end].to_string()),
            Some(_) => Err(format!("texto detrás de las comillas de cierre en `{v}`")),
            None => Err(format!("faltan las comillas de cierre en `{v}`")),
        };
    }
    let bare = match v.find(';') {
        Some(i) => &v[..i],
        None => v,
    };
    Ok(bare.trim().to_string())
}

/// `On`/`Off`, `yes`/`no`, `true`/`false`, `1`/`0`, as PHP reads flags.
pub fn flag(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" | "none" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file() -> Arc<PathBuf> {
        Arc::new(PathBuf::from("etc/php/8.2/fpm/pool.d/www.conf"))
    }

    #[test]
    fn sections_keys_values_and_positions() {
        let text = "; comentario\n[www]\n  pm = dynamic ; dinámico\nlisten = \"/run/php/a b.sock\"\nenv[PATH] = /usr/bin\n";
        let (ini, errs) = parse(&file(), text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(ini.sections[0].0, "www");
        let pm = &ini.entries[0];
        assert_eq!(
            (pm.section.as_str(), pm.key.as_str(), pm.value.as_str()),
            ("www", "pm", "dynamic")
        );
        assert_eq!((pm.key_span.line, pm.key_span.column), (3, 3));
        assert_eq!(pm.value_span.column, 8);
        assert_eq!(ini.entries[1].value, "/run/php/a b.sock");
        assert_eq!(ini.entries[2].key, "env[PATH]");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let (_, errs) = parse(&file(), "[www\npm dynamic\nlisten = \"abc\n");
        let lines: Vec<u32> = errs.iter().map(|e| e.span.as_ref().unwrap().line).collect();
        assert_eq!(lines, vec![1, 2, 3]);
        assert!(errs[1].message.contains("falta `=`"));
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in "\\PC{0,200}") {
            let _ = parse(&file(), &text);
        }
    }
}
