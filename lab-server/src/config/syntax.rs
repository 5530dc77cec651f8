//! Apache configuration text -> tree of [`Node`]s, each with its file, line and column.
//!
//! Follows Apache 2.4's reader: a trailing backslash joins the next line, a line whose first
//! non-blank character is `#` is a comment, words are split on blanks, `"..."` and `'...'`
//! quote a word (a backslash before the quote character escapes it), `<Name args>` opens a
//! section that `</Name>` closes.

use std::path::PathBuf;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, Span};

/// One argument of a directive or section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

/// A directive (`children` empty, `is_section` false) or a section with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub args: Vec<Arg>,
    /// Position of the name (after `<` for sections).
    pub span: Span,
    pub is_section: bool,
    pub children: Vec<Node>,
}

impl Node {
    /// Lowercased name, for case-insensitive comparisons (Apache directive names are).
    pub fn key(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// Span covering the name and every argument on the same line.
    pub fn line_span(&self) -> Span {
        let mut span = self.span.clone();
        if let Some(last) = self.args.last() {
            if last.span.line == span.line && last.span.column >= span.column {
                span.len = last.span.column + last.span.len - span.column;
            }
        }
        span
    }
}

/// A logical line: its text and, for every byte, where it came from.
struct LogicalLine {
    text: String,
    /// (line, column) of each byte of `text`.
    pos: Vec<(u32, u32)>,
}

impl LogicalLine {
    fn at(&self, byte: usize) -> (u32, u32) {
        self.pos
            .get(byte)
            .or(self.pos.last())
            .copied()
            .unwrap_or((1, 1))
    }
}

fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut cur = LogicalLine {
        text: String::new(),
        pos: Vec::new(),
    };
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx as u32 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, continued) = match raw.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        let mut col = 1u32;
        for ch in body.chars() {
            let start = cur.text.len();
            cur.text.push(ch);
            for _ in start..cur.text.len() {
                cur.pos.push((line_no, col));
            }
            col += 1;
        }
        if !continued {
            // Remember where the line ended for errors pointing past the last character.
            cur.pos.push((line_no, col));
            let done = std::mem::replace(
                &mut cur,
                LogicalLine {
                    text: String::new(),
                    pos: Vec::new(),
                },
            );
            out.push(done);
        }
    }
    if !cur.text.is_empty() {
        out.push(cur);
    }
    out
}

/// Splits `text[start..end]` into words with Apache's quoting rules.
fn words(
    line: &LogicalLine,
    start: usize,
    end: usize,
    file: &Arc<PathBuf>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Arg> {
    let bytes = line.text.as_bytes();
    let mut out = Vec::new();
    let mut i = start;
    let span_of = |from: usize, to: usize| {
        let (l, c) = line.at(from);
        let (l2, c2) = line.at(to.saturating_sub(1).max(from));
        let len = if l2 == l { c2 + 1 - c } else { 1 };
        Span::new(file.clone(), l, c, len)
    };
    while i < end {
        let b = bytes[i];
        if b == b' ' || b == b'\t' {
            i += 1;
            continue;
        }
        if b == b'"' || b == b'\'' {
            let quote = b;
            let open = i;
            let mut text = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < end {
                let c = bytes[j];
                if c == b'\\' && j + 1 < end && bytes[j + 1] == quote {
                    text.push(quote as char);
                    j += 2;
                    continue;
                }
                if c == quote {
                    closed = true;
                    break;
                }
                // Copy one whole UTF-8 character.
                let ch_len = utf8_len(c);
                text.push_str(&line.text[j..(j + ch_len).min(end)]);
                j += ch_len;
            }
            if !closed {
                errors.push(
                    Diagnostic::error(
                        Some(span_of(open, open + 1)),
                        format!("comillas sin cerrar: falta la `{}` final", quote as char),
                    )
                    .with_hint("cierra las comillas en la misma línea (o usa `\\` al final de la línea para continuarla)"),
                );
            }
            let stop = if closed { j + 1 } else { end };
            out.push(Arg {
                text,
                quoted: true,
                span: span_of(open, stop),
            });
            i = stop;
            continue;
        }
        let from = i;
        while i < end && bytes[i] != b' ' && bytes[i] != b'\t' {
            i += 1;
        }
        out.push(Arg {
            text: line.text[from..i].to_string(),
            quoted: false,
            span: span_of(from, i),
        });
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Parses one file's text. Returns the nodes and every syntax error found (parsing goes on
/// after an error so several can be reported at once).
pub fn parse(text: &str, file: Arc<PathBuf>) -> (Vec<Node>, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    // Stack of open sections; the bottom is the file itself.
    let mut stack: Vec<Node> = vec![Node {
        name: String::new(),
        args: Vec::new(),
        span: Span::new(file.clone(), 1, 1, 1),
        is_section: true,
        children: Vec::new(),
    }];
    for line in logical_lines(text) {
        let t = line.text.as_str();
        let start = t.len() - t.trim_start().len();
        let end = t.trim_end().len();
        if start >= end || t[start..].starts_with('#') {
            continue;
        }
        let (l, c) = line.at(start);
        if t[start..].starts_with("</") {
            let inner_end = if t[..end].ends_with('>') {
                end - 1
            } else {
                end
            };
            let name = t[start + 2..inner_end].trim();
            let span = Span::new(file.clone(), l, c, (end - start) as u32);
            if stack.len() == 1 {
                errors.push(
                    Diagnostic::error(
                        Some(span),
                        format!("`</{name}>` cierra una sección que no está abierta"),
                    )
                    .with_hint("borra esta línea o añade la línea de apertura que le corresponde"),
                );
                continue;
            }
            let open_name = stack.last().map(|n| n.name.clone()).unwrap_or_default();
            if !open_name.eq_ignore_ascii_case(name) {
                let open_span = stack.last().map(|n| n.span.clone());
                errors.push(
                    Diagnostic::error(
                        Some(span),
                        format!("se esperaba `</{open_name}>` pero aparece `</{name}>`"),
                    )
                    .with_hint(format!(
                        "la sección `<{open_name}>` abierta en la línea {} no se ha cerrado antes",
                        open_span.map(|s| s.line).unwrap_or(0)
                    )),
                );
                // Close the mismatched section only if the name matches something open,
                // so one mistake does not cascade.
                if let Some(pos) = stack
                    .iter()
                    .skip(1)
                    .rposition(|n| n.name.eq_ignore_ascii_case(name))
                {
                    while stack.len() > pos + 1 {
                        close_top(&mut stack);
                    }
                }
                continue;
            }
            if !t[..end].ends_with('>') {
                errors.push(Diagnostic::error(
                    Some(Span::new(file.clone(), l, c, (end - start) as u32)),
                    format!("falta `>` al final de `</{name}`"),
                ));
            }
            close_top(&mut stack);
            continue;
        }
        if t[start..].starts_with('<') {
            let closed = t[..end].ends_with('>');
            if !closed {
                let (el, ec) = line.at(end);
                errors.push(
                    Diagnostic::error(
                        Some(Span::new(file.clone(), el, ec, 1)),
                        "falta `>` al final de la línea que abre la sección",
                    )
                    .with_hint("una sección se escribe `<Nombre argumentos>` en una sola línea"),
                );
            }
            let inner_end = if closed { end - 1 } else { end };
            let mut ws = words(&line, start + 1, inner_end, &file, &mut errors);
            if ws.is_empty() {
                errors.push(Diagnostic::error(
                    Some(Span::new(file.clone(), l, c, 1)),
                    "sección sin nombre: `<>`",
                ));
                continue;
            }
            let head = ws.remove(0);
            stack.push(Node {
                name: head.text,
                args: ws,
                span: head.span,
                is_section: true,
                children: Vec::new(),
            });
            continue;
        }
        let mut ws = words(&line, start, end, &file, &mut errors);
        if ws.is_empty() {
            continue;
        }
        let head = ws.remove(0);
        if let Some(top) = stack.last_mut() {
            top.children.push(Node {
                name: head.text,
                args: ws,
                span: head.span,
                is_section: false,
                children: Vec::new(),
            });
        }
    }
    while stack.len() > 1 {
        if let Some(open) = stack.last() {
            errors.push(
                Diagnostic::error(
                    Some(open.span.clone()),
                    format!("la sección `<{}>` no se cierra", open.name),
                )
                .with_hint(format!("añade `</{}>` donde termine la sección", open.name)),
            );
        }
        close_top(&mut stack);
    }
    let root = stack.pop().map(|n| n.children).unwrap_or_default();
    (root, errors)
}

fn close_top(stack: &mut Vec<Node>) {
    if stack.len() > 1 {
        if let Some(done) = stack.pop() {
            if let Some(parent) = stack.last_mut() {
                parent.children.push(done);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(text: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        parse(text, Arc::new(PathBuf::from("t.conf")))
    }

    #[test]
    fn parses_directives_sections_and_positions() {
        let (nodes, errs) = p("# comment\nListen 80\n<Directory \"/var/www/\">\n  Options Indexes FollowSymLinks\n</Directory>\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "Listen");
        assert_eq!(nodes[0].span.line, 2);
        assert_eq!(nodes[1].args[0].text, "/var/www/");
        assert!(nodes[1].args[0].quoted);
        let opt = &nodes[1].children[0];
        assert_eq!((opt.span.line, opt.span.column), (4, 3));
        assert_eq!(opt.args[1].span.column, 19);
    }

    #[test]
    fn joins_continuation_lines_and_unescapes_quotes() {
        let (nodes, errs) = p("LogFormat \"%h \\\"%r\\\" %>s\" \\\n   combined\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(nodes[0].args[0].text, "%h \"%r\" %>s");
        assert_eq!(nodes[0].args[1].text, "combined");
        assert_eq!(nodes[0].args[1].span.line, 2);
    }

    #[test]
    fn reports_unclosed_and_mismatched_sections() {
        let (_, errs) = p("<VirtualHost *:80>\n<Directory />\n</VirtualHost>\n");
        assert!(errs[0].message.contains("</Directory>"), "{errs:?}");
        let (_, errs) = p("<Location /x>\nRequire all granted\n");
        assert!(errs[0].message.contains("no se cierra"));
        assert_eq!(errs[0].span.as_ref().map(|s| s.line), Some(1));
        let (_, errs) = p("</Files>\n");
        assert!(errs[0].message.contains("no está abierta"));
    }

    #[test]
    fn reports_unterminated_quote() {
        let (_, errs) = p("DocumentRoot \"/var/www\n");
        assert!(errs[0].message.contains("comillas"));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_input(s in "\\PC*") {
            let _ = p(&s);
        }

        #[test]
        fn never_panics_on_config_like_input(s in "([<>/\"'\\\\# \t\na-zA-Z0-9*.:]{0,12}){0,30}") {
            let _ = p(&s);
        }
    }
}
