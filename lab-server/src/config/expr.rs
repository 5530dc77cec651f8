//! The part of Apache's expression syntax (`ap_expr`) that `ProxyFCGISetEnvIf` uses: a
//! condition such as `reqenv('PATH_INFO') =~ m#/foo(\d+)\.php$#` and a string value such as
//! `"$1"` or `"%{HTTP_HOST}-x"`, where `$1`..`$9` are the groups of the last regular
//! expression the condition matched.
//!
//! Conditions: `true`, `false`, `!`, `&&`, `||`, parentheses, `-n`/`-z` word, `==`, `!=`,
//! `<`, `<=`, `>`, `>=`, `-eq`/`-ne`/`-lt`/`-le`/`-gt`/`-ge`, `=~`/`!~` with `/re/` or
//! `m#re#` (flag `i`), `in {'a', 'b'}`. Words: `'text'`, `"text with %{VAR}"`, numbers,
//! `%{VAR}`, `%{HTTP:Header}`, `$N`, and the functions `reqenv`, `osenv`, `env`, `req`,
//! `http`, `resp`, `tolower`, `toupper`, `escape`, `unescape`.

use regex::Regex;

/// What an expression can read while a request is served.
pub trait Lookup {
    /// `%{NAME}`: a server variable (`REQUEST_URI`, `HTTP_HOST`, `QUERY_STRING`...).
    fn var(&self, name: &str) -> Option<String>;
    /// `reqenv('NAME')`: the request's environment (the CGI variables being built).
    fn reqenv(&self, name: &str) -> Option<String>;
    /// `req('Name')` / `%{HTTP:Name}`: a request header.
    fn header(&self, name: &str) -> Option<String>;
}

/// A parsed condition.
#[derive(Debug, Clone)]
pub enum Expr {
    Bool(bool),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Unary(String, Word),
    Compare(Word, String, Word),
    Match(Word, Regex, bool),
    In(Word, Vec<Word>),
}

/// A word: a string built from parts.
#[derive(Debug, Clone)]
pub enum Word {
    Text(StrExpr),
    Func(String, Box<Word>),
}

/// A string expression: literal text, variables and back-references.
#[derive(Debug, Clone, Default)]
pub struct StrExpr(Vec<Part>);

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Var(String),
    BackRef(usize),
}

/// Parses a condition; `Err` with Apache's reason in Spanish.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let e = p.or()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(format!(
            "sobra texto en la expresión a partir de `{}`",
            &text[p.i..]
        ));
    }
    Ok(e)
}

/// Parses a string expression (the value of `ProxyFCGISetEnvIf`).
pub fn parse_string(text: &str) -> Result<StrExpr, String> {
    string_parts(text, None)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(tok.as_bytes()) {
            self.i += tok.len();
            true
        } else {
            false
        }
    }

    fn rest(&self) -> &'a str {
        std::str::from_utf8(&self.s[self.i..]).unwrap_or("")
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.ws();
        if self.s[self.i..].starts_with(b"!") && !self.s[self.i..].starts_with(b"!=") {
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err("falta `)` en la expresión".into());
            }
            return Ok(e);
        }
        for (kw, v) in [("true", true), ("false", false)] {
            if self.rest().starts_with(kw)
                && !self.s[self.i + kw.len()..]
                    .first()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                self.i += kw.len();
                return Ok(Expr::Bool(v));
            }
        }
        if self.rest().starts_with('-') {
            let op: String = self.rest()[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if ["n", "z", "f", "d", "e", "s"].contains(&op.as_str()) {
                self.i += 1 + op.len();
                let w = self.word()?;
                return Ok(Expr::Unary(op, w));
            }
        }
        let left = self.word()?;
        self.ws();
        for op in ["=~", "!~"] {
            if self.eat(op) {
                let re = self.regex()?;
                return Ok(Expr::Match(left, re, op == "!~"));
            }
        }
        for op in [
            "==", "!=", "<=", ">=", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge",
        ] {
            if self.eat(op) {
                let right = self.word()?;
                return Ok(Expr::Compare(left, op.to_string(), right));
            }
        }
        if self.eat("in") {
            if !self.eat("{") {
                return Err("tras `in` se espera una lista `{'a', 'b'}`".into());
            }
            let mut items = vec![self.word()?];
            while self.eat(",") {
                items.push(self.word()?);
            }
            if !self.eat("}") {
                return Err("falta `}` al final de la lista".into());
            }
            return Ok(Expr::In(left, items));
        }
        Err(format!(
            "se esperaba un operador (`==`, `=~`, `-n`...) en `{}`",
            self.rest()
        ))
    }

    fn regex(&mut self) -> Result<Regex, String> {
        self.ws();
        let (open, close) = match self.s.get(self.i) {
            Some(b'/') => (1, b'/'),
            Some(b'm') => match self.s.get(self.i + 1) {
                Some(&c) if !c.is_ascii_alphanumeric() && !c.is_ascii_whitespace() => (2, c),
                _ => return Err("expresión regular mal escrita: usa /.../ o m#...#".into()),
            },
            _ => return Err("tras `=~` se espera una expresión regular /.../ o m#...#".into()),
        };
        let start = self.i + open;
        let mut j = start;
        while j < self.s.len() && self.s[j] != close {
            if self.s[j] == b'\\' && close != b'\\' {
                j += 1;
            }
            j += 1;
        }
        if j >= self.s.len() {
            return Err("expresión regular sin cerrar".into());
        }
        let pattern = std::str::from_utf8(&self.s[start..j]).unwrap_or("");
        self.i = j + 1;
        let mut nocase = false;
        while self.s.get(self.i) == Some(&b'i') {
            nocase = true;
            self.i += 1;
        }
        regex::RegexBuilder::new(pattern)
            .case_insensitive(nocase)
            .build()
            .map_err(|e| format!("expresión regular no válida: {e}"))
    }

    fn word(&mut self) -> Result<Word, String> {
        self.ws();
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Err("la expresión termina donde se esperaba un valor".into());
        };
        if c == '\'' || c == '"' {
            let end = rest[1..]
                .find(c)
                .ok_or_else(|| format!("falta la comilla {c} de cierre"))?;
            let inner = &rest[1..1 + end];
            self.i += end + 2;
            // Single quotes are literal in the expressions Apache parses the same as double.
            return Ok(Word::Text(string_parts(inner, None)?));
        }
        if c == '%' || c == '$' {
            let len = word_len(rest);
            let text = &rest[..len];
            self.i += len;
            return Ok(Word::Text(string_parts(text, None)?));
        }
        if c.is_ascii_digit() {
            let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            self.i += n.len();
            return Ok(Word::Text(StrExpr(vec![Part::Lit(n)])));
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with('(') {
            let func = name.to_ascii_lowercase();
            if !FUNCS.contains(&func.as_str()) {
                return Err(format!("función desconocida `{name}`"));
            }
            self.i += name.len() + 1;
            let arg = self.word()?;
            if !self.eat(")") {
                return Err(format!("falta `)` tras el argumento de `{name}`"));
            }
            return Ok(Word::Func(func, Box::new(arg)));
        }
        Err(format!("valor no reconocido en `{rest}`"))
    }
}

const FUNCS: &[&str] = &[
    "reqenv", "osenv", "env", "req", "http", "resp", "tolower", "toupper", "escape", "unescape",
];

/// Length of a bare `%{...}` or `$N` word.
fn word_len(s: &str) -> usize {
    if s.starts_with("%{") {
        s.find('}').map_or(s.len(), |e| e + 1)
    } else {
        1 + s[1..].chars().take_while(|c| c.is_ascii_digit()).count()
    }
}

fn string_parts(text: &str, _: Option<()>) -> Result<StrExpr, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    lit.push(n);
                }
            }
            '%' if text[i..].starts_with("%{") => {
                let end = text[i..]
                    .find('}')
                    .ok_or_else(|| format!("falta `}}` en `{}`", &text[i..]))?;
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(text[i + 2..i + end].to_string()));
                while chars.peek().is_some_and(|(j, _)| *j <= i + end) {
                    chars.next();
                }
            }
            '$' if chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                let (_, d) = chars.next().unwrap_or((0, '0'));
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::BackRef(d as usize - '0' as usize));
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(StrExpr(parts))
}

/// The groups of the last regular expression that matched.
pub type Captures = Vec<Option<String>>;

impl StrExpr {
    pub fn eval(&self, env: &dyn Lookup, caps: &Captures) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => out.push_str(&var(env, v).unwrap_or_default()),
                Part::BackRef(n) => {
                    if let Some(Some(s)) = caps.get(*n) {
                        out.push_str(s);
                    }
                }
            }
        }
        out
    }
}

fn var(env: &dyn Lookup, name: &str) -> Option<String> {
    match name.split_once(':') {
        Some((kind, arg)) => match kind.to_ascii_lowercase().as_str() {
            "http" | "req" => env.header(arg),
            "env" | "reqenv" => env.reqenv(arg),
            "osenv" => std::env::var(arg).ok(),
            _ => None,
        },
        None => env.var(name),
    }
}

impl Word {
    fn eval(&self, env: &dyn Lookup, caps: &Captures) -> String {
        match self {
            Word::Text(s) => s.eval(env, caps),
            Word::Func(f, arg) => {
                let a = arg.eval(env, caps);
                match f.as_str() {
                    "reqenv" | "env" => env.reqenv(&a).unwrap_or_default(),
                    "osenv" => std::env::var(&a).unwrap_or_default(),
                    "req" | "http" => env.header(&a).unwrap_or_default(),
                    "tolower" => a.to_lowercase(),
                    "toupper" => a.to_uppercase(),
                    "escape" => crate::http::urlpath::encode(&a),
                    "unescape" => unescape(&a),
                    _ => String::new(),
                }
            }
        }
    }
}

/// `%XX` decoded (invalid escapes kept as written).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Expr {
    /// Evaluates the condition; the groups of the last regex that matched go to `caps`.
    pub fn eval(&self, env: &dyn Lookup, caps: &mut Captures) -> bool {
        match self {
            Expr::Bool(b) => *b,
            Expr::Not(e) => !e.eval(env, caps),
            Expr::And(a, b) => a.eval(env, caps) && b.eval(env, caps),
            Expr::Or(a, b) => a.eval(env, caps) || b.eval(env, caps),
            Expr::Unary(op, w) => {
                let v = w.eval(env, caps);
                match op.as_str() {
                    "n" => !v.is_empty(),
                    "z" => v.is_empty(),
                    "f" => std::path::Path::new(&v).is_file(),
                    "d" => std::path::Path::new(&v).is_dir(),
                    "e" => std::path::Path::new(&v).exists(),
                    "s" => std::fs::metadata(&v).is_ok_and(|m| m.len() > 0),
                    _ => false,
                }
            }
            Expr::Compare(a, op, b) => {
                let (a, b) = (a.eval(env, caps), b.eval(env, caps));
                if op.starts_with('-') {
                    let (Ok(x), Ok(y)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
                        return false;
                    };
                    match op.as_str() {
                        "-eq" => x == y,
                        "-ne" => x != y,
                        "-lt" => x < y,
                        "-le" => x <= y,
                        "-gt" => x > y,
                        _ => x >= y,
                    }
                } else {
                    match op.as_str() {
                        "==" => a == b,
                        "!=" => a != b,
                        "<" => a < b,
                        "<=" => a <= b,
                        ">" => a > b,
                        _ => a >= b,
                    }
                }
            }
            Expr::Match(w, re, negated) => {
                let v = w.eval(env, caps);
                match re.captures(&v) {
                    Some(c) => {
                        if !negated {
                            *caps = c
                                .iter()
                                .map(|m| m.map(|m| m.as_str().to_string()))
                                .collect();
                        }
                        !negated
                    }
                    None => *negated,
                }
            }
            Expr::In(w, items) => {
                let v = w.eval(env, caps);
                items.iter().any(|i| i.eval(env, caps) == v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl Lookup for Env {
        fn var(&self, name: &str) -> Option<String> {
            (name == "HTTP_HOST").then(|| "ejemplo.test".into())
        }
        fn reqenv(&self, name: &str) -> Option<String> {
            (name == "PATH_INFO").then(|| "/x/foo42.php".into())
        }
        fn header(&self, name: &str) -> Option<String> {
            name.eq_ignore_ascii_case("x-demo").then(|| "Sí".into())
        }
    }

    fn check(cond: &str, value: &str) -> Option<String> {
        let e = parse(cond).unwrap();
        let v = parse_string(value).unwrap();
        let mut caps = Vec::new();
        e.eval(&Env, &mut caps).then(|| v.eval(&Env, &caps))
    }

    #[test]
    fn conditions_and_back_references() {
        assert_eq!(
            check(r"reqenv('PATH_INFO') =~ m#/foo(\d+)\.php$#", "$1"),
            Some("42".into())
        );
        assert_eq!(
            check(r"reqenv('PATH_INFO') =~ m#(/.*foo)(\d+)(.*)#", "$1$3"),
            Some("/x/foo.php".into())
        );
        assert_eq!(check("%{HTTP_HOST} == 'otro'", "x"), None);
        assert_eq!(
            check(
                "%{HTTP_HOST} != 'otro' && -n req('X-Demo')",
                "%{HTTP_HOST}-%{HTTP:X-Demo}"
            ),
            Some("ejemplo.test-Sí".into())
        );
        assert_eq!(check("true", ""), Some(String::new()));
        assert_eq!(
            check("!(false || -z %{HTTP_HOST})", "ok"),
            Some("ok".into())
        );
        assert_eq!(
            check("tolower(req('x-demo')) in {'sí', 'no'}", "1"),
            Some("1".into())
        );
        assert_eq!(check("%{HTTP_HOST} =~ /EJEMPLO/i", "si"), Some("si".into()));
        assert_eq!(check("%{HTTP_HOST} !~ /ejemplo/", "x"), None);
        assert_eq!(check("10 -gt 9", "n"), Some("n".into()));
    }

    #[test]
    fn bad_expressions_say_why() {
        assert!(parse("%{A} =~ m#sin cerrar").is_err());
        assert!(parse("%{A} ==").is_err());
        assert!(parse("nofunc('x') == 'y'").is_err());
        assert!(parse("(true").is_err());
        assert!(parse("%{A} 'b'").is_err());
    }
}
