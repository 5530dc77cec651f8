//! Markdown -> HTML (console) and terminal text (`lab lesson`), with exercise markers
//! (`{{#exercise id}}` alone on a line) expanded by the caller.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

const MARKER_OPEN: &str = "{{#exercise ";

/// The exercise id of a marker line, if the line is one.
pub fn marker_id(line: &str) -> Option<&str> {
    let t = line.trim();
    let id = t.strip_prefix(MARKER_OPEN)?.strip_suffix("}}")?.trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then_some(id)
}

/// Ids of every exercise marker in `md`, in order.
pub fn markers(md: &str) -> Vec<String> {
    md.lines()
        .filter_map(marker_id)
        .map(str::to_string)
        .collect()
}

/// A page cut at its markers.
enum Piece<'a> {
    Markdown(String),
    Exercise(&'a str),
}

fn pieces(md: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in md.lines() {
        match marker_id(line) {
            Some(id) => {
                out.push(Piece::Markdown(std::mem::take(&mut cur)));
                out.push(Piece::Exercise(id));
            }
            None => {
                cur.push_str(line);
                cur.push('\n');
            }
        }
    }
    out.push(Piece::Markdown(cur));
    out
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Renders a page to HTML. `page` is its path under `book/src` (to resolve relative links
/// to other pages, which become `link_prefix` + page id); `exercise` renders a marker.
pub fn to_html(
    md: &str,
    page: &str,
    link_prefix: &str,
    mut exercise: impl FnMut(&str) -> String,
) -> String {
    let mut html = String::new();
    for piece in pieces(md) {
        match piece {
            Piece::Markdown(text) => {
                let events = Parser::new_ext(&text, options()).map(|ev| match ev {
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }) => Event::Start(Tag::Link {
                        link_type,
                        dest_url: rewrite_link(&dest_url, page, link_prefix),
                        title,
                        id,
                    }),
                    other => other,
                });
                pulldown_cmark::html::push_html(&mut html, events);
            }
            Piece::Exercise(id) => html.push_str(&exercise(id)),
        }
    }
    html
}

/// `sitios.md#x` on page `apache/index.md` -> `/leccion/apache/sitios#x`.
fn rewrite_link<'a>(dest: &CowStr<'a>, page: &str, prefix: &str) -> CowStr<'a> {
    if dest.contains("://") || dest.starts_with('#') || dest.starts_with('/') {
        return dest.clone();
    }
    let (path, anchor) = match dest.split_once('#') {
        Some((p, a)) => (p, format!("#{a}")),
        None => (dest.as_ref(), String::new()),
    };
    let Some(stem) = path.strip_suffix(".md") else {
        return dest.clone();
    };
    let base = page.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in stem.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    CowStr::from(format!("{prefix}{}{anchor}", parts.join("/")))
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown (a statement, a hint) to an HTML fragment.
pub fn fragment_html(md: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(md, options()));
    html
}

/// Terminal styles (ANSI), or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

/// Renders a page for the terminal.
pub fn to_terminal(md: &str, style: Style, mut exercise: impl FnMut(&str) -> String) -> String {
    let mut out = String::new();
    for piece in pieces(md) {
        match piece {
            Piece::Markdown(text) => out.push_str(&markdown_to_terminal(&text, style)),
            Piece::Exercise(id) => out.push_str(&exercise(id)),
        }
    }
    out
}

/// Markdown to terminal text: headings underlined, code in colour, lists with bullets.
pub fn markdown_to_terminal(md: &str, style: Style) -> String {
    let mut out = String::new();
    let mut heading: Option<HeadingLevel> = None;
    let mut heading_text = String::new();
    let mut in_code = false;
    let mut list_depth = 0usize;
    let mut link_dest: Vec<String> = Vec::new();
    let mut quote = 0usize;
    // A table is collected whole (rows of plain-text cells), then laid out in columns.
    let mut table: Option<Vec<Vec<String>>> = None;
    for ev in Parser::new_ext(md, options()) {
        if let Some(rows) = table.as_mut() {
            match ev {
                Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => rows.push(Vec::new()),
                Event::Start(Tag::TableCell) => {
                    if let Some(row) = rows.last_mut() {
                        row.push(String::new());
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                        cell.push_str(&t);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                        cell.push(' ');
                    }
                }
                Event::End(TagEnd::Table) => {
                    out.push_str(&table_text(&rows.clone(), style));
                    table = None;
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(Tag::Table(_)) => table = Some(Vec::new()),
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some(level);
                heading_text.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                let level = heading.take();
                let underline = if level == Some(HeadingLevel::H1) {
                    '='
                } else {
                    '-'
                };
                out.push('\n');
                out.push_str(&style.bold(&heading_text));
                out.push('\n');
                out.push_str(&underline.to_string().repeat(heading_text.chars().count()));
                out.push_str("\n\n");
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code = true;
                if let CodeBlockKind::Fenced(lang) = kind {
                    if !lang.is_empty() {
                        out.push_str(&style.dim(&format!("    [{lang}]\n")));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                out.push('\n');
            }
            Event::Start(Tag::List(_)) => list_depth += 1,
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(list_depth));
                out.push_str("• ");
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Start(Tag::BlockQuote(_)) => quote += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote = quote.saturating_sub(1),
            Event::Start(Tag::Paragraph) if quote > 0 => out.push_str(&style.dim("│ ")),
            Event::End(TagEnd::Paragraph) => {
                out.push_str(if list_depth > 0 { "\n" } else { "\n\n" });
            }
            Event::Start(Tag::Link { dest_url, .. }) => link_dest.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(d) = link_dest.pop() {
                    if d.contains("://") {
                        out.push_str(&style.dim(&format!(" ({d})")));
                    }
                }
            }
            Event::Text(t) => {
                if heading.is_some() {
                    heading_text.push_str(&t);
                } else if in_code {
                    for line in t.lines() {
                        out.push_str("    ");
                        out.push_str(&style.cyan(line));
                        out.push('\n');
                    }
                } else {
                    out.push_str(&t);
                }
            }
            Event::Code(t) => {
                if heading.is_some() {
                    heading_text.push_str(&t);
                } else {
                    out.push_str(&style.cyan(&t));
                }
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => out.push_str("────────────────────────────────────────\n\n"),
            Event::Html(h) | Event::InlineHtml(h) => out.push_str(&h),
            _ => {}
        }
    }
    out
}

/// Rows of cells in aligned columns; the first row is the header.
fn table_text(rows: &[Vec<String>], style: Style) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..cols)
            .map(|c| {
                let text = row.get(c).map(String::as_str).unwrap_or("");
                let pad = widths[c] - text.chars().count();
                format!("{text}{}", " ".repeat(pad))
            })
            .collect();
        let line = format!("  {}", cells.join(" │ "));
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push_str(&style.dim(&format!("  {}", rule.join("─┼─"))));
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_laid_out_in_columns() {
        let md = "Antes.\n\n| Quiero | Orden |\n|---|---|\n| ver el estado | `lab status` |\n| parar | `lab stop` |\n\nDespués.\n";
        let t = markdown_to_terminal(md, Style { color: false });
        assert_eq!(
            t,
            "Antes.\n\n  Quiero        │ Orden\n  ──────────────┼───────────\n  ver el estado │ lab status\n  parar         │ lab stop\n\nDespués.\n\n"
        );
    }

    #[test]
    fn markers_are_found_and_expanded_in_place() {
        let md = "# Título\n\nTexto con [enlace](sitios.md#a).\n\n{{#exercise uno}}\n\nMás.\n";
        assert_eq!(markers(md), vec!["uno".to_string()]);
        let html = to_html(md, "apache/index.md", "/leccion/", |id| {
            format!("<div id=\"ej-{id}\"></div>")
        });
        assert!(html.contains("<h1>Título</h1>"));
        assert!(html.contains("href=\"/leccion/apache/sitios#a\""), "{html}");
        let pos_ex = html.find("ej-uno").unwrap();
        assert!(pos_ex > html.find("enlace").unwrap() && pos_ex < html.find("Más").unwrap());
    }

    #[test]
    fn terminal_rendering_keeps_structure_without_colour() {
        let md =
            "# Sitios\n\nUsa `a2ensite`.\n\n```console\n$ lab a2ensite x\n```\n\n- uno\n- dos\n";
        let t = markdown_to_terminal(md, Style { color: false });
        assert!(t.contains("Sitios\n======"));
        assert!(t.contains("    $ lab a2ensite x"));
        assert!(t.contains("• uno\n"));
        assert!(!t.contains('\x1b'));
    }
}
