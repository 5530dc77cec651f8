//! `lab proxy log -q QUERY -g request`: the common subset of varnishlog's query language
//! (vsl-query(7)).
//!
//! - A test names records by tag (`ReqURL`), a list of tags (`ReqURL,BereqURL`) or a prefix
//!   (`Req*`); header tags take a header name (`ReqHeader:Host`); `[N]` picks the N-th
//!   whitespace-separated field (`Timestamp:Resp[2]` is not supported, `Hit[2]` is).
//! - Operators: `==` `!=` `<` `<=` `>` `>=` (numbers), `eq` `ne` (strings), `~` `!~`
//!   (regular expressions); without one, the test asks whether such a record exists.
//! - `not`, `and`, `or` (in that order of precedence) and parentheses.
//! - A transaction (or, with `-g request`, a request and its backend requests) is shown when
//!   any of its records makes the whole expression true, as varnishlog does.
//!
//! What varnishlog has and this does not (`{level}` prefixes, `-g session`/`raw`) is refused
//! with a Spanish message.

use regex::Regex;

/// The VSL tags a query may name (varnishd 7.1's list, the ones a student meets).
const TAGS: &[&str] = &[
    "Begin",
    "End",
    "Link",
    "ReqStart",
    "ReqMethod",
    "ReqURL",
    "ReqProtocol",
    "ReqHeader",
    "ReqUnset",
    "ReqAcct",
    "RespProtocol",
    "RespStatus",
    "RespReason",
    "RespHeader",
    "RespUnset",
    "BereqMethod",
    "BereqURL",
    "BereqProtocol",
    "BereqHeader",
    "BereqUnset",
    "BerespProtocol",
    "BerespStatus",
    "BerespReason",
    "BerespHeader",
    "BerespUnset",
    "BackendOpen",
    "BackendClose",
    "Backend_health",
    "VCL_call",
    "VCL_return",
    "VCL_Log",
    "VCL_Error",
    "VCL_acl",
    "VCL_use",
    "Hit",
    "HitMiss",
    "HitPass",
    "TTL",
    "Timestamp",
    "FetchError",
    "Fetch_Body",
    "Storage",
    "Gzip",
    "Length",
    "Debug",
    "Error",
    "PipeAcct",
    "ExpBan",
    "ExpKill",
];

/// Tags whose records are `Name: value`, so that `TAG:Name` selects them.
fn is_header_tag(tag: &str) -> bool {
    tag.ends_with("Header") || tag.ends_with("Unset")
}

/// How transactions are grouped (`-g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Each transaction on its own (varnishlog's default).
    Vxid,
    /// A client request with the backend requests it started.
    Request,
}

impl Grouping {
    pub fn parse(s: &str) -> Result<Grouping, String> {
        match s {
            "vxid" => Ok(Grouping::Vxid),
            "request" => Ok(Grouping::Request),
            "session" | "raw" => Err(format!(
                "el laboratorio no agrupa con `-g {s}`; usa `-g vxid` (cada transacción) o `-g request` (la petición con sus peticiones al backend)"
            )),
            other => Err(format!(
                "agrupación desconocida `-g {other}`: usa `vxid` o `request`"
            )),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Num(NumOp, f64),
    Eq(String),
    Ne(String),
    Match(Regex),
    NoMatch(Regex),
}

#[derive(Debug, Clone, Copy)]
enum NumOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
struct Test {
    /// Exact tags, or prefixes for `Req*`.
    tags: Vec<(String, bool)>,
    header: Option<String>,
    field: Option<usize>,
    op: Option<Op>,
}

#[derive(Debug, Clone)]
enum Expr {
    Test(Test),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' => i += 1,
            b'(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            b'"' | b'\'' => {
                let end = text[i + 1..]
                    .find(c as char)
                    .ok_or_else(|| format!("falta cerrar la cadena que empieza en la columna {}", i + 1))?;
                out.push(Tok::Str(text[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'{' => {
                return Err(
                    "el laboratorio no admite niveles `{N}` en las consultas; quita la parte entre llaves"
                        .into(),
                )
            }
            _ => {
                const OPS: &[&str] = &["==", "!=", "<=", ">=", "!~", "<", ">", "~"];
                if let Some(op) = OPS.iter().find(|o| text[i..].starts_with(**o)) {
                    out.push(Tok::Op(op));
                    i += op.len();
                    continue;
                }
                let start = i;
                while i < b.len() && !b" \t\n()\"'<>=!~".contains(&b[i]) {
                    i += 1;
                }
                if start == i {
                    return Err(format!(
                        "carácter inesperado `{}` en la columna {}",
                        c as char,
                        i + 1
                    ));
                }
                out.push(Tok::Word(text[start..i].to_string()));
            }
        }
    }
    Ok(out)
}

/// Deepest nesting of parentheses and `not` a query may have, and most tests it may join:
/// the parser and the matcher recurse that deep, and real queries are far smaller.
const MAX_DEPTH: usize = 64;
const MAX_TESTS: usize = 256;

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
    tests: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == k)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.keyword("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") || self.peek() == Some(&Tok::LParen) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!(
                    "la consulta anida más de {MAX_DEPTH} paréntesis o `not`; simplifícala"
                ));
            }
            let e = self.nested();
            self.depth -= 1;
            return e;
        }
        self.tests += 1;
        if self.tests > MAX_TESTS {
            return Err(format!(
                "la consulta tiene más de {MAX_TESTS} condiciones; simplifícala"
            ));
        }
        self.test().map(Expr::Test)
    }

    /// `not X` or `( X )`: the caller has seen one of them next.
    fn nested(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.at += 1;
        let e = self.or()?;
        if self.next() != Some(Tok::RParen) {
            return Err("falta cerrar un paréntesis `)`".into());
        }
        Ok(e)
    }

    fn test(&mut self) -> Result<Test, String> {
        let word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(Tok::Str(s)) => {
                return Err(format!(
                    "se esperaba una etiqueta (ReqURL, RespStatus...) y no la cadena \"{s}\""
                ))
            }
            Some(other) => {
                return Err(format!(
                    "se esperaba una etiqueta y no `{}`",
                    tok_text(&other)
                ))
            }
            None => {
                return Err(
                    "la consulta está incompleta: falta una etiqueta (ReqURL, RespStatus...)"
                        .into(),
                )
            }
        };
        // ReqURL,BereqURL:Host[2]
        let (spec, field) = match word.split_once('[') {
            Some((s, f)) => {
                let n = f
                    .strip_suffix(']')
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("`[{f}`: el número de campo va entre corchetes y empieza en 1, como `Hit[2]`"))?;
                (s.to_string(), Some(n))
            }
            None => (word.clone(), None),
        };
        let (list, header) = match spec.split_once(':') {
            Some((l, h)) if !h.is_empty() => (l.to_string(), Some(h.to_ascii_lowercase())),
            Some((l, _)) => (l.to_string(), None),
            None => (spec, None),
        };
        let mut tags = Vec::new();
        for t in list.split(',') {
            if let Some(prefix) = t.strip_suffix('*') {
                if !TAGS.iter().any(|k| {
                    k.to_ascii_lowercase()
                        .starts_with(&prefix.to_ascii_lowercase())
                }) {
                    return Err(format!("ninguna etiqueta empieza por `{prefix}`"));
                }
                tags.push((prefix.to_ascii_lowercase(), true));
            } else {
                let Some(k) = TAGS.iter().find(|k| k.eq_ignore_ascii_case(t)) else {
                    let mut msg = format!("etiqueta desconocida `{t}`");
                    if let Some(s) = crate::config::diagnostic::suggest(t, TAGS.iter().copied()) {
                        msg.push_str(&format!("; ¿quisiste decir `{s}`?"));
                    }
                    return Err(msg);
                };
                if header.is_some() && !is_header_tag(k) {
                    return Err(format!(
                        "`{k}:…`: solo las etiquetas de cabeceras (ReqHeader, RespHeader, BereqHeader, BerespHeader) llevan un nombre de cabecera"
                    ));
                }
                tags.push((k.to_ascii_lowercase(), false));
            }
        }
        let op = match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.at += 1;
                let value = match self.next() {
                    Some(Tok::Str(s)) | Some(Tok::Word(s)) => s,
                    _ => return Err(format!("falta el valor después de `{op}`")),
                };
                Some(match op {
                    "~" | "!~" => {
                        let re = Regex::new(&value)
                            .map_err(|e| format!("expresión regular no válida \"{value}\": {e}"))?;
                        if op == "~" {
                            Op::Match(re)
                        } else {
                            Op::NoMatch(re)
                        }
                    }
                    _ => {
                        let n: f64 = value.parse().map_err(|_| {
                            format!("`{op}` compara números y \"{value}\" no lo es; para textos usa `eq`, `ne` o `~`")
                        })?;
                        let o = match op {
                            "==" => NumOp::Eq,
                            "!=" => NumOp::Ne,
                            "<" => NumOp::Lt,
                            "<=" => NumOp::Le,
                            ">" => NumOp::Gt,
                            _ => NumOp::Ge,
                        };
                        Op::Num(o, n)
                    }
                })
            }
            Some(Tok::Word(w)) if w == "eq" || w == "ne" => {
                let is_eq = w == "eq";
                self.at += 1;
                let value = match self.next() {
                    Some(Tok::Str(s)) | Some(Tok::Word(s)) => s,
                    _ => {
                        return Err(format!(
                            "falta el valor después de `{}`",
                            if is_eq { "eq" } else { "ne" }
                        ))
                    }
                };
                Some(if is_eq { Op::Eq(value) } else { Op::Ne(value) })
            }
            _ => None,
        };
        Ok(Test {
            tags,
            header,
            field,
            op,
        })
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Word(w) => w.clone(),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Op(o) => o.to_string(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
    }
}

impl Query {
    /// Parses a query; errors are Spanish sentences.
    pub fn parse(text: &str) -> Result<Query, String> {
        let toks = lex(text)?;
        if toks.is_empty() {
            return Err("la consulta está vacía".into());
        }
        let mut p = Parser {
            toks,
            at: 0,
            depth: 0,
            tests: 0,
        };
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(format!(
                "sobra `{}` en la consulta (¿falta `and` u `or`?)",
                tok_text(t)
            ));
        }
        Ok(Query { expr })
    }

    /// Whether the records (tag, text) of a transaction or group satisfy the query.
    pub fn matches<'a>(&self, records: &[(&'a str, &'a str)]) -> bool {
        eval(&self.expr, records)
    }
}

fn eval(e: &Expr, records: &[(&str, &str)]) -> bool {
    match e {
        Expr::Not(x) => !eval(x, records),
        Expr::And(a, b) => eval(a, records) && eval(b, records),
        Expr::Or(a, b) => eval(a, records) || eval(b, records),
        Expr::Test(t) => records.iter().any(|(tag, text)| test_record(t, tag, text)),
    }
}

fn test_record(t: &Test, tag: &str, text: &str) -> bool {
    let tag_l = tag.to_ascii_lowercase();
    if !t.tags.iter().any(|(k, prefix)| {
        if *prefix {
            tag_l.starts_with(k.as_str())
        } else {
            tag_l == *k
        }
    }) {
        return false;
    }
    let mut value = text;
    if let Some(h) = &t.header {
        let Some((name, v)) = text.split_once(':') else {
            return false;
        };
        if !name.trim().eq_ignore_ascii_case(h) {
            return false;
        }
        value = v.trim();
    }
    if let Some(n) = t.field {
        match value.split_whitespace().nth(n - 1) {
            Some(f) => value = f,
            None => return false,
        }
    }
    match &t.op {
        None => true,
        Some(Op::Eq(s)) => value == s,
        Some(Op::Ne(s)) => value != s,
        Some(Op::Match(re)) => re.is_match(value),
        Some(Op::NoMatch(re)) => !re.is_match(value),
        Some(Op::Num(op, n)) => {
            let Ok(v) = value.trim().parse::<f64>() else {
                return false;
            };
            match op {
                NumOp::Eq => v == *n,
                NumOp::Ne => v != *n,
                NumOp::Lt => v < *n,
                NumOp::Le => v <= *n,
                NumOp::Gt => v > *n,
                NumOp::Ge => v >= *n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Begin", "req 5 rxreq"),
            ("ReqMethod", "GET"),
            ("ReqURL", "/api/users?x=1"),
            ("ReqHeader", "Host: blog.localhost"),
            ("ReqHeader", "User-Agent: curl/7.88.1"),
            ("VCL_call", "RECV"),
            ("VCL_return", "hash"),
            ("Hit", "3 117.9 10 0"),
            ("RespStatus", "503"),
            ("End", ""),
        ]
    }

    fn q(text: &str) -> bool {
        Query::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .matches(&req())
    }

    #[test]
    fn tests_operators_and_booleans() {
        assert!(q(r#"ReqURL ~ "^/api""#));
        assert!(!q(r#"ReqURL ~ "^/img""#));
        assert!(q(r#"ReqURL !~ "^/img""#));
        assert!(q("RespStatus >= 500"));
        assert!(!q("RespStatus < 500"));
        assert!(q("RespStatus == 503 and ReqMethod eq GET"));
        assert!(q("RespStatus == 200 or ReqMethod eq 'GET'"));
        assert!(!q("not ReqMethod eq GET"));
        assert!(q("not (RespStatus == 200 or ReqMethod ne GET)"));
        assert!(q("ReqHeader:host eq blog.localhost"));
        assert!(q(r#"ReqHeader:User-Agent ~ "curl""#));
        assert!(!q("ReqHeader:Cookie"));
        assert!(q("Hit"));
        assert!(!q("HitPass"));
        assert!(q("Hit[1] == 3"));
        assert!(q("Req* ~ rxreq or ReqURL,BereqURL ~ users"));
        assert!(q("VCL_return eq hash"));
        // A field that is not a number never satisfies a numeric test.
        assert!(!q("ReqURL > 1"));
    }

    #[test]
    fn errors_are_spanish_and_name_the_problem() {
        for (text, part) in [
            ("ReqUrl2 ~ x", "etiqueta desconocida `ReqUrl2`"),
            ("RespStatus >= quinientos", "compara números"),
            ("ReqURL ~ \"(\"", "expresión regular no válida"),
            ("{1}ReqURL ~ x", "niveles"),
            ("(ReqURL ~ x", "paréntesis"),
            ("ReqURL ~ x RespStatus", "sobra `RespStatus`"),
            ("ReqURL:Host eq x", "solo las etiquetas de cabeceras"),
            ("ReqURL ~ \"x", "falta cerrar la cadena"),
            ("", "vacía"),
            ("ReqURL ~", "falta el valor"),
        ] {
            let e = Query::parse(text).unwrap_err();
            assert!(e.contains(part), "{text}: {e}");
        }
        assert!(Grouping::parse("session")
            .unwrap_err()
            .contains("no agrupa"));
        assert_eq!(Grouping::parse("request"), Ok(Grouping::Request));
    }
}
