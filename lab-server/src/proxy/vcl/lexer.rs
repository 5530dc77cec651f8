//! VCL tokens. Every token keeps its line and column for diagnostics.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::diagnostic::{Diagnostic, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `req.http.host`, `vcl_recv`, `std.log`: letters, digits, `_`, `-` and `.`.
    Ident(String),
    /// `"..."`, `{"..."}` or `"""..."""`, already without quotes.
    Str(String),
    /// `120`, `0.5`.
    Num(f64, bool),
    /// `120s`, `1.5h`: seconds.
    Duration(f64),
    /// `256KB`: bytes.
    Bytes(f64),
    /// Operators and punctuation: `==`, `!~`, `{`, `;`...
    Punct(&'static str),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

const PUNCTS: &[&str] = &[
    "==", "!=", "!~", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "=", "~", "<", ">", "!", "+",
    "-", "*", "/", "(", ")", "{", "}", ";", ",", ".",
];

/// Splits VCL text into tokens; comments (`#`, `//`, `/* */`) are skipped.
pub fn lex(text: &str, file: &Arc<PathBuf>) -> Result<Vec<Token>, Diagnostic> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let err = |line: u32, col: u32, len: u32, msg: String| {
        Diagnostic::error(Some(Span::new(Arc::clone(file), line, col, len)), msg)
    };
    macro_rules! bump {
        () => {{
            if chars[i] == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            i += 1;
        }};
    }
    while i < chars.len() {
        let c = chars[i];
        let (sl, sc) = (line, col);
        if c.is_whitespace() {
            bump!();
            continue;
        }
        if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            while i < chars.len() && chars[i] != '\n' {
                bump!();
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            bump!();
            bump!();
            loop {
                if i >= chars.len() {
                    return Err(err(sl, sc, 2, "comentario `/*` sin cerrar".into()));
                }
                if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    bump!();
                    bump!();
                    break;
                }
                bump!();
            }
            continue;
        }
        if c == 'C' && chars.get(i + 1) == Some(&'{') {
            return Err(err(
                sl,
                sc,
                2,
                "el laboratorio no ejecuta código C en línea (`C{ }C`)".into(),
            )
            .with_hint("escribe la lógica en VCL"));
        }
        // Long strings: {"..."} and """...""".
        let long = if c == '{' && chars.get(i + 1) == Some(&'"') {
            Some(("{\"", "\"}"))
        } else if c == '"' && chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') {
            Some(("\"\"\"", "\"\"\""))
        } else {
            None
        };
        if let Some((open, close)) = long {
            for _ in 0..open.len() {
                bump!();
            }
            let close: Vec<char> = close.chars().collect();
            let mut s = String::new();
            loop {
                if i >= chars.len() {
                    return Err(err(sl, sc, 2, "cadena larga sin cerrar".into()).with_hint(
                        format!("ciérrala con `{}`", close.iter().collect::<String>()),
                    ));
                }
                if chars[i..].starts_with(&close) {
                    for _ in 0..close.len() {
                        bump!();
                    }
                    break;
                }
                s.push(chars[i]);
                bump!();
            }
            out.push(Token {
                tok: Tok::Str(s),
                line: sl,
                column: sc,
                len: 2,
            });
            continue;
        }
        if c == '"' {
            bump!();
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None | Some('\n') => {
                        return Err(err(sl, sc, 1, "cadena sin cerrar: falta la comilla `\"` final".into())
                            .with_hint("en VCL una cadena \"...\" no puede ocupar varias líneas; usa {\"...\"} para textos largos"));
                    }
                    Some('"') => {
                        bump!();
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        bump!();
                    }
                }
            }
            let len = (col - sc).max(1);
            out.push(Token {
                tok: Tok::Str(s),
                line: sl,
                column: sc,
                len,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                bump!();
            }
            let num: String = chars[start..i].iter().collect();
            let is_int = !num.contains('.');
            let Ok(value) = num.parse::<f64>() else {
                return Err(err(
                    sl,
                    sc,
                    num.len() as u32,
                    format!("número no válido `{num}`"),
                ));
            };
            let ustart = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                bump!();
            }
            let unit: String = chars[ustart..i].iter().collect();
            let len = (i - start) as u32;
            let tok = match unit.as_str() {
                "" => Tok::Num(value, is_int),
                "ms" => Tok::Duration(value / 1000.0),
                "s" => Tok::Duration(value),
                "m" => Tok::Duration(value * 60.0),
                "h" => Tok::Duration(value * 3600.0),
                "d" => Tok::Duration(value * 86400.0),
                "w" => Tok::Duration(value * 7.0 * 86400.0),
                "y" => Tok::Duration(value * 365.0 * 86400.0),
                "B" => Tok::Bytes(value),
                "KB" => Tok::Bytes(value * 1024.0),
                "MB" => Tok::Bytes(value * 1048576.0),
                "GB" => Tok::Bytes(value * 1073741824.0),
                "TB" => Tok::Bytes(value * 1099511627776.0),
                other => {
                    return Err(err(sl, sc, len, format!("unidad desconocida `{other}` en `{num}{other}`"))
                        .with_hint("las duraciones usan ms, s, m, h, d, w, y (por ejemplo `120s`, `1h`); los tamaños B, KB, MB, GB"));
                }
            };
            out.push(Token {
                tok,
                line: sl,
                column: sc,
                len,
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.'))
            {
                // A `-` followed by a digit or a space is an operator (`ttl-1s` is rare; a
                // header name like `X-Forwarded-For` is common).
                if chars[i] == '-' && !chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
                    break;
                }
                if chars[i] == '.'
                    && !chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                {
                    break;
                }
                bump!();
            }
            let word: String = chars[start..i].iter().collect();
            let len = word.chars().count() as u32;
            out.push(Token {
                tok: Tok::Ident(word),
                line: sl,
                column: sc,
                len,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            for _ in 0..p.len() {
                bump!();
            }
            out.push(Token {
                tok: Tok::Punct(p),
                line: sl,
                column: sc,
                len: p.len() as u32,
            });
            continue;
        }
        return Err(err(sl, sc, 1, format!("carácter inesperado `{c}`")));
    }
    Ok(out)
}
