//! VCL parser: tokens -> a syntax tree whose variables, functions, backends and acls are
//! already resolved and typed. Errors carry file:line:column and a Spanish message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use super::lexer::{lex, Tok, Token};
use super::{lookup_var, span_at, SubKind, Ty, Var, VARS};
use crate::config::diagnostic::{suggest, Diagnostic, Span};

#[derive(Debug, Default)]
pub struct Program {
    pub backends: Vec<BackendDef>,
    pub probes: Vec<ProbeDef>,
    pub acls: Vec<AclDef>,
    pub subs: Vec<SubDef>,
    /// Objects created with `new` in `vcl_init` (directors).
    pub objects: Vec<ObjDef>,
    pub imports: Vec<String>,
    /// Index of each built-in subroutine in `subs`.
    pub entry: HashMap<SubKind, usize>,
}

impl Program {
    pub fn sub(&self, kind: SubKind) -> Option<&SubDef> {
        self.entry.get(&kind).map(|&i| &self.subs[i])
    }
}

#[derive(Debug, Clone)]
pub struct BackendDef {
    pub name: String,
    pub span: Span,
    pub host: String,
    pub port: u16,
    pub host_header: Option<String>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    pub probe: Option<ProbeDef>,
    /// Span of `.port` (for the "nobody listens there" warning).
    pub port_span: Span,
}

#[derive(Debug, Clone)]
pub struct ProbeDef {
    pub name: String,
    pub url: String,
    pub request: Option<Vec<String>>,
    pub expected_response: u16,
    pub timeout: Duration,
    pub interval: Duration,
    pub window: u32,
    pub threshold: u32,
    pub initial: Option<u32>,
}

impl ProbeDef {
    fn new(name: &str) -> ProbeDef {
        ProbeDef {
            name: name.to_string(),
            url: "/".into(),
            request: None,
            expected_response: 200,
            timeout: Duration::from_secs(2),
            interval: Duration::from_secs(5),
            window: 8,
            threshold: 3,
            initial: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AclEntry {
    pub negated: bool,
    pub addr: IpAddr,
    pub prefix: u8,
}

#[derive(Debug, Clone)]
pub struct AclDef {
    pub name: String,
    pub span: Span,
    pub entries: Vec<AclEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectorKind {
    RoundRobin,
    Random,
    Fallback,
}

#[derive(Debug, Clone)]
pub struct ObjDef {
    pub name: String,
    pub kind: DirectorKind,
    pub span: Span,
}

#[derive(Debug)]
pub struct SubDef {
    pub name: String,
    pub span: Span,
    pub body: Vec<Stmt>,
    /// Defined only in builtin.vcl.
    pub builtin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug)]
pub enum Stmt {
    Set {
        var: Var,
        op: AssignOp,
        value: Expr,
        span: Span,
    },
    Unset {
        var: Var,
        span: Span,
    },
    If {
        branches: Vec<(Expr, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    Return {
        action: String,
        args: Vec<Expr>,
        span: Span,
    },
    Call {
        name: String,
        sub: usize,
        span: Span,
    },
    Do(Expr, Span),
    New {
        obj: usize,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone)]
pub enum Func {
    Regsub { re: Arc<Regex>, all: bool },
    HashData,
    Ban,
    Synthetic,
    StdLog,
    StdSyslog,
    StdTolower,
    StdToupper,
    StdInteger,
    StdReal,
    StdDuration,
    StdIp,
    StdHealthy,
    StdStrstr,
    StdRandom,
    StdPort,
    StdCollect(Var),
    StdNoop,
    Lower,
    Upper,
    DirectorBackend(usize),
    DirectorAdd(usize),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Str(Arc<str>),
    Int(i64),
    Real(f64),
    Dur(f64),
    Bytes(f64),
    Bool(bool),
    Var(Var, Span),
    Backend(usize),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Regex {
        neg: bool,
        lhs: Box<Expr>,
        re: Arc<Regex>,
    },
    Acl {
        neg: bool,
        lhs: Box<Expr>,
        acl: usize,
    },
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// String concatenation (`+` with a string on either side).
    Concat(Vec<Expr>),
    Call(Func, Vec<Expr>),
}

/// Names declared at the top level, found before parsing bodies so they can be used before
/// their definition (as in Varnish).
#[derive(Default)]
struct Names {
    backends: Vec<String>,
    acls: Vec<String>,
    probes: Vec<String>,
    objects: Vec<(String, DirectorKind)>,
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    file: Arc<PathBuf>,
    names: Names,
    prog: Program,
    builtin: bool,
}

type PResult<T> = Result<T, Diagnostic>;

/// Parses one VCL file.
pub fn parse(text: &str, file: &Arc<PathBuf>, builtin: bool) -> Result<Program, Vec<Diagnostic>> {
    let toks = lex(text, file).map_err(|d| vec![d])?;
    let mut names = Names::default();
    for w in toks.windows(5) {
        if let (Tok::Ident(kw), Tok::Ident(name)) = (&w[0].tok, &w[1].tok) {
            match kw.as_str() {
                "backend" => names.backends.push(name.clone()),
                "acl" => names.acls.push(name.clone()),
                "probe" => names.probes.push(name.clone()),
                "new" => {
                    if let Tok::Ident(ctor) = &w[3].tok {
                        let kind = match ctor.as_str() {
                            "directors.round_robin" => Some(DirectorKind::RoundRobin),
                            "directors.random" => Some(DirectorKind::Random),
                            "directors.fallback" => Some(DirectorKind::Fallback),
                            _ => None,
                        };
                        if let Some(kind) = kind {
                            names.objects.push((name.clone(), kind));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        file: Arc::clone(file),
        names,
        prog: Program::default(),
        builtin,
    };
    match p.program() {
        Ok(()) => Ok(p.prog),
        Err(d) => Err(vec![d]),
    }
}

impl Parser<'_> {
    fn span_of(&self, t: &Token) -> Span {
        span_at(&self.file, t.line, t.column, t.len)
    }

    fn here(&self) -> Span {
        match self.toks.get(self.pos).or(self.toks.last()) {
            Some(t) => self.span_of(t),
            None => span_at(&self.file, 1, 1, 1),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    fn next(&mut self) -> PResult<&Token> {
        let t = self.toks.get(self.pos).ok_or_else(|| {
            Diagnostic::error(Some(self.here()), "el fichero VCL termina a medias")
                .with_hint("¿falta una llave `}` o un `;`?")
        })?;
        self.pos += 1;
        Ok(t)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str) -> PResult<()> {
        if self.eat_punct(p) {
            return Ok(());
        }
        let found = self.describe();
        // A missing `;` is reported just after the previous token, where it belongs.
        let span = match (p, self.pos.checked_sub(1).and_then(|i| self.toks.get(i))) {
            (";", Some(prev)) => span_at(&self.file, prev.line, prev.column + prev.len, 1),
            _ => self.here(),
        };
        Err(
            Diagnostic::error(Some(span), format!("se esperaba `{p}` y hay {found}")).with_hint(
                if p == ";" {
                    "en VCL cada sentencia termina en `;`".to_string()
                } else {
                    format!("añade `{p}`")
                },
            ),
        )
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "el final del fichero".into(),
            Some(Tok::Ident(s)) => format!("`{s}`"),
            Some(Tok::Str(s)) => format!("la cadena \"{s}\""),
            Some(Tok::Punct(p)) => format!("`{p}`"),
            Some(Tok::Num(n, _)) => format!("el número {n}"),
            Some(Tok::Duration(d)) => format!("la duración {d}s"),
            Some(Tok::Bytes(b)) => format!("el tamaño {b}B"),
        }
    }

    fn ident(&mut self, what: &str) -> PResult<(String, Span)> {
        let span = self.here();
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok((s, span))
            }
            _ => Err(Diagnostic::error(
                Some(span),
                format!("se esperaba {what} y hay {}", self.describe()),
            )),
        }
    }

    fn string(&mut self, what: &str) -> PResult<(String, Span)> {
        let span = self.here();
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok((s, span))
            }
            _ => Err(Diagnostic::error(
                Some(span),
                format!(
                    "se esperaba {what} (una cadena entre comillas) y hay {}",
                    self.describe()
                ),
            )),
        }
    }

    fn program(&mut self) -> PResult<()> {
        // `vcl 4.1;` first.
        match (self.peek().cloned(), self.peek_at(1).cloned()) {
            (Some(Tok::Ident(k)), Some(Tok::Num(v, _))) if k == "vcl" => {
                let span = self.toks[self.pos + 1].clone();
                self.pos += 2;
                if v != 4.0 && v != 4.1 {
                    return Err(Diagnostic::error(
                        Some(self.span_of(&span)),
                        format!("versión de VCL no soportada: {v}"),
                    )
                    .with_hint("Varnish 7.1 acepta `vcl 4.0;` y `vcl 4.1;`"));
                }
                self.expect_punct(";")?;
            }
            _ => {
                return Err(Diagnostic::error(
                    Some(self.here()),
                    "falta la declaración de versión al principio del fichero VCL",
                )
                .with_hint("la primera línea debe ser `vcl 4.1;`"));
            }
        }
        while self.pos < self.toks.len() {
            let (kw, span) = self.ident("una definición (backend, acl, probe, sub, import)")?;
            match kw.as_str() {
                "import" => {
                    let (m, mspan) = self.ident("el nombre de un módulo")?;
                    if m != "std" && m != "directors" {
                        return Err(Diagnostic::error(
                            Some(mspan),
                            format!("el laboratorio no tiene el módulo VMOD `{m}`"),
                        )
                        .with_hint("están disponibles `std` y `directors`"));
                    }
                    self.prog.imports.push(m);
                    self.expect_punct(";")?;
                }
                "backend" => self.backend()?,
                "probe" => {
                    let (name, _) = self.ident("el nombre de la sonda")?;
                    let probe = self.probe_body(&name)?;
                    self.prog.probes.push(probe);
                }
                "acl" => self.acl()?,
                "sub" => self.sub()?,
                "include" => {
                    return Err(Diagnostic::error(
                        Some(span),
                        "el laboratorio no admite `include` en VCL",
                    )
                    .with_hint("pon todo el VCL en un solo fichero"));
                }
                other => {
                    let cands = ["backend", "acl", "probe", "sub", "import", "vcl"];
                    let mut d = Diagnostic::error(
                        Some(span),
                        format!("`{other}` no es una definición de VCL"),
                    );
                    d = match suggest(other, cands) {
                        Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
                        None => d.with_hint(
                            "al nivel superior solo puede haber backend, acl, probe, sub e import",
                        ),
                    };
                    return Err(d);
                }
            }
        }
        Ok(())
    }

    fn duration_value(&mut self, field: &str) -> PResult<Duration> {
        let span = self.here();
        match self.peek().cloned() {
            Some(Tok::Duration(d)) if d >= 0.0 => {
                self.pos += 1;
                Ok(Duration::from_secs_f64(d))
            }
            _ => Err(Diagnostic::error(
                Some(span),
                format!("`.{field}` necesita una duración y hay {}", self.describe()),
            )
            .with_hint("por ejemplo `5s` o `500ms`")),
        }
    }

    fn int_value(&mut self, field: &str) -> PResult<u32> {
        let span = self.here();
        match self.peek().cloned() {
            Some(Tok::Num(n, true)) if n <= u32::MAX as f64 => {
                self.pos += 1;
                Ok(n as u32)
            }
            _ => Err(Diagnostic::error(
                Some(span),
                format!(
                    "`.{field}` necesita un número entero y hay {}",
                    self.describe()
                ),
            )),
        }
    }

    fn backend(&mut self) -> PResult<()> {
        let (name, span) = self.ident("el nombre del backend")?;
        if self.prog.backends.iter().any(|b| b.name == name) {
            return Err(Diagnostic::error(
                Some(span),
                format!("el backend `{name}` está definido dos veces"),
            ));
        }
        self.expect_punct("{")?;
        let mut host: Option<String> = None;
        let mut port: u16 = 80;
        let mut port_span = span.clone();
        let mut b = BackendDef {
            name: name.clone(),
            span: span.clone(),
            host: String::new(),
            port: 80,
            host_header: None,
            connect_timeout: Duration::from_millis(3500),
            first_byte_timeout: Duration::from_secs(60),
            between_bytes_timeout: Duration::from_secs(60),
            probe: None,
            port_span: span.clone(),
        };
        while !self.eat_punct("}") {
            self.expect_punct(".")?;
            let (field, fspan) = self.ident("un campo del backend")?;
            self.expect_punct("=")?;
            match field.as_str() {
                "host" => {
                    let (h, _) = self.string("el host del backend")?;
                    host = Some(h);
                }
                "port" => {
                    let pspan = self.here();
                    let text = match self.peek().cloned() {
                        Some(Tok::Str(s)) => s,
                        Some(Tok::Num(n, true)) => (n as u64).to_string(),
                        _ => {
                            return Err(Diagnostic::error(
                                Some(pspan),
                                format!("`.port` necesita un puerto y hay {}", self.describe()),
                            )
                            .with_hint("por ejemplo `.port = \"8080\";`"))
                        }
                    };
                    self.pos += 1;
                    port = match text.parse::<u16>() {
                        Ok(p) if p > 0 => p,
                        _ if text == "http" => 80,
                        _ => {
                            return Err(Diagnostic::error(
                                Some(pspan),
                                format!("puerto de backend no válido: `{text}`"),
                            )
                            .with_hint("un número entre 1 y 65535"))
                        }
                    };
                    port_span = pspan;
                }
                "host_header" => b.host_header = Some(self.string("la cabecera Host")?.0),
                "connect_timeout" => b.connect_timeout = self.duration_value(&field)?,
                "first_byte_timeout" => b.first_byte_timeout = self.duration_value(&field)?,
                "between_bytes_timeout" => b.between_bytes_timeout = self.duration_value(&field)?,
                "max_connections" => {
                    self.int_value(&field)?;
                }
                "probe" => {
                    if self.is_punct("{") {
                        b.probe = Some(self.probe_body("")?);
                    } else {
                        let (pname, pspan) = self.ident("el nombre de una sonda")?;
                        match self.prog.probes.iter().find(|p| p.name == pname) {
                            Some(p) => b.probe = Some(p.clone()),
                            None => {
                                return Err(Diagnostic::error(
                                    Some(pspan),
                                    format!("no hay ninguna sonda (`probe`) llamada `{pname}` definida antes"),
                                )
                                .with_hint("define `probe NOMBRE { ... }` antes del backend"))
                            }
                        }
                    }
                    self.eat_punct(";");
                    continue;
                }
                other => {
                    let cands = [
                        "host",
                        "port",
                        "host_header",
                        "connect_timeout",
                        "first_byte_timeout",
                        "between_bytes_timeout",
                        "max_connections",
                        "probe",
                    ];
                    let mut d = Diagnostic::error(
                        Some(fspan),
                        format!("campo de backend desconocido `.{other}`"),
                    );
                    if let Some(s) = suggest(other, cands) {
                        d = d.with_hint(format!("¿Quisiste decir `.{s}`?"));
                    }
                    return Err(d);
                }
            }
            self.expect_punct(";")?;
        }
        let Some(host) = host else {
            return Err(Diagnostic::error(
                Some(span),
                format!("al backend `{name}` le falta `.host`"),
            )
            .with_hint("por ejemplo `.host = \"127.0.0.1\";`"));
        };
        b.host = host;
        b.port = port;
        b.port_span = port_span;
        self.prog.backends.push(b);
        Ok(())
    }

    fn probe_body(&mut self, name: &str) -> PResult<ProbeDef> {
        self.expect_punct("{")?;
        let mut p = ProbeDef::new(name);
        while !self.eat_punct("}") {
            self.expect_punct(".")?;
            let (field, fspan) = self.ident("un campo de la sonda")?;
            self.expect_punct("=")?;
            match field.as_str() {
                "url" => p.url = self.string("la URL de la sonda")?.0,
                "request" => {
                    let mut lines = Vec::new();
                    while let Some(Tok::Str(s)) = self.peek().cloned() {
                        self.pos += 1;
                        lines.push(s);
                    }
                    p.request = Some(lines);
                }
                "expected_response" => p.expected_response = self.int_value(&field)? as u16,
                "timeout" => p.timeout = self.duration_value(&field)?,
                "interval" => p.interval = self.duration_value(&field)?,
                "window" => p.window = self.int_value(&field)?.clamp(1, 64),
                "threshold" => p.threshold = self.int_value(&field)?,
                "initial" => p.initial = Some(self.int_value(&field)?),
                other => {
                    let cands = [
                        "url",
                        "request",
                        "expected_response",
                        "timeout",
                        "interval",
                        "window",
                        "threshold",
                        "initial",
                    ];
                    let mut d = Diagnostic::error(
                        Some(fspan),
                        format!("campo de sonda desconocido `.{other}`"),
                    );
                    if let Some(s) = suggest(other, cands) {
                        d = d.with_hint(format!("¿Quisiste decir `.{s}`?"));
                    }
                    return Err(d);
                }
            }
            self.expect_punct(";")?;
        }
        if p.threshold > p.window {
            return Err(Diagnostic::error(
                Some(self.here()),
                format!(
                    "sonda: `.threshold` ({}) no puede ser mayor que `.window` ({})",
                    p.threshold, p.window
                ),
            ));
        }
        Ok(p)
    }

    fn acl(&mut self) -> PResult<()> {
        let (name, span) = self.ident("el nombre de la acl")?;
        self.expect_punct("{")?;
        let mut entries = Vec::new();
        while !self.eat_punct("}") {
            let negated = self.eat_punct("!");
            let (addr, aspan) = self.string("una dirección")?;
            let prefix = if self.eat_punct("/") {
                match self.next()?.tok {
                    Tok::Num(n, true) => Some(n as u32),
                    _ => {
                        return Err(Diagnostic::error(
                            Some(aspan),
                            "tras `/` va la longitud del prefijo, por ejemplo `/24`",
                        ))
                    }
                }
            } else {
                None
            };
            self.expect_punct(";")?;
            let ips: Vec<IpAddr> =
                if let Ok(ip) = addr.parse::<IpAddr>() {
                    vec![ip]
                } else if addr == "localhost" {
                    vec![
                        IpAddr::from([127, 0, 0, 1]),
                        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                    ]
                } else {
                    use std::net::ToSocketAddrs;
                    match (addr.as_str(), 0).to_socket_addrs() {
                        Ok(a) => a.map(|s| s.ip()).collect(),
                        Err(_) => return Err(Diagnostic::error(
                            Some(aspan),
                            format!("no se puede resolver `{addr}` en la acl `{name}`"),
                        )
                        .with_hint(
                            "usa una dirección IP, una red (\"192.168.0.0\"/24) o \"localhost\"",
                        )),
                    }
                };
            for ip in ips {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let pfx = prefix.unwrap_or(max);
                if pfx > max {
                    return Err(Diagnostic::error(
                        Some(aspan),
                        format!("prefijo /{pfx} demasiado largo para {ip}"),
                    ));
                }
                entries.push(AclEntry {
                    negated,
                    addr: ip,
                    prefix: pfx as u8,
                });
            }
        }
        self.prog.acls.push(AclDef {
            name,
            span,
            entries,
        });
        Ok(())
    }

    fn sub(&mut self) -> PResult<()> {
        let (name, span) = self.ident("el nombre de la subrutina")?;
        let body = self.block()?;
        if !name.starts_with("vcl_") && self.prog.subs.iter().any(|s| s.name == name) {
            return Err(Diagnostic::error(
                Some(span),
                format!("la subrutina `{name}` está definida dos veces"),
            ));
        }
        self.prog.subs.push(SubDef {
            name,
            span,
            body,
            builtin: self.builtin,
        });
        Ok(())
    }

    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.expect_punct("{")?;
        let mut stmts = Vec::new();
        while !self.eat_punct("}") {
            if self.pos >= self.toks.len() {
                return Err(Diagnostic::error(
                    Some(self.here()),
                    "falta la llave `}` que cierra el bloque",
                ));
            }
            if self.eat_punct(";") {
                continue;
            }
            stmts.push(self.stmt()?);
        }
        Ok(stmts)
    }

    fn var(&mut self, name: &str, span: &Span) -> PResult<Var> {
        lookup_var(name).ok_or_else(|| unknown_var(name, span))
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let (kw, span) = self.ident("una sentencia")?;
        match kw.as_str() {
            "set" => {
                let (name, vspan) = self.ident("una variable")?;
                let var = self.var(&name, &vspan)?;
                let op = match self.next()?.tok {
                    Tok::Punct("=") => AssignOp::Set,
                    Tok::Punct("+=") => AssignOp::Add,
                    Tok::Punct("-=") => AssignOp::Sub,
                    Tok::Punct("*=") => AssignOp::Mul,
                    Tok::Punct("/=") => AssignOp::Div,
                    _ => {
                        self.pos -= 1;
                        return Err(Diagnostic::error(
                            Some(self.here()),
                            format!(
                                "se esperaba `=` tras `set {name}` y hay {}",
                                self.describe()
                            ),
                        ));
                    }
                };
                let espan = self.here();
                let (value, ty) = self.expr()?;
                let value = coerce_assign(&var, op, value, ty, &espan)?;
                self.expect_punct(";")?;
                Ok(Stmt::Set {
                    var,
                    op,
                    value,
                    span: vspan,
                })
            }
            "unset" | "remove" => {
                let (name, vspan) = self.ident("una variable")?;
                let var = self.var(&name, &vspan)?;
                self.expect_punct(";")?;
                Ok(Stmt::Unset { var, span: vspan })
            }
            "if" => {
                let mut branches = Vec::new();
                let cond = self.cond()?;
                let body = self.block()?;
                branches.push((cond, body));
                let mut otherwise = Vec::new();
                loop {
                    match self.peek().cloned() {
                        Some(Tok::Ident(k)) if k == "elsif" || k == "elseif" => {
                            self.pos += 1;
                            let c = self.cond()?;
                            let b = self.block()?;
                            branches.push((c, b));
                        }
                        Some(Tok::Ident(k)) if k == "else" => {
                            self.pos += 1;
                            if matches!(self.peek(), Some(Tok::Ident(k)) if k == "if") {
                                self.pos += 1;
                                let c = self.cond()?;
                                let b = self.block()?;
                                branches.push((c, b));
                            } else {
                                otherwise = self.block()?;
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                Ok(Stmt::If {
                    branches,
                    otherwise,
                })
            }
            "return" => {
                self.expect_punct("(")?;
                let (action, aspan) = self.ident("una acción (hash, pass, deliver...)")?;
                let mut args = Vec::new();
                if self.eat_punct("(") && !self.eat_punct(")") {
                    loop {
                        args.push(self.expr()?.0);
                        if self.eat_punct(")") {
                            break;
                        }
                        self.expect_punct(",")?;
                    }
                }
                self.expect_punct(")")?;
                self.expect_punct(";")?;
                match action.as_str() {
                    "synth" | "error" if args.is_empty() || args.len() > 2 => {
                        return Err(Diagnostic::error(
                            Some(aspan),
                            format!("`return ({action}(...))` necesita un código de estado y, opcionalmente, un motivo"),
                        )
                        .with_hint(format!("por ejemplo `return ({action}(404, \"No encontrado\"));`")))
                    }
                    _ => {}
                }
                Ok(Stmt::Return {
                    action,
                    args,
                    span: aspan,
                })
            }
            "call" => {
                let (name, nspan) = self.ident("el nombre de una subrutina")?;
                self.expect_punct(";")?;
                Ok(Stmt::Call {
                    name,
                    sub: usize::MAX,
                    span: nspan,
                })
            }
            "new" => {
                let (name, nspan) = self.ident("el nombre del objeto")?;
                self.expect_punct("=")?;
                let (ctor, cspan) = self.ident("un constructor (directors.round_robin()...)")?;
                let Some(obj) = self.names.objects.iter().position(|(n, _)| *n == name) else {
                    return Err(Diagnostic::error(
                        Some(cspan),
                        format!("constructor desconocido `{ctor}`"),
                    )
                    .with_hint("el laboratorio tiene directors.round_robin(), directors.random() y directors.fallback()"));
                };
                if !self.prog.imports.iter().any(|m| m == "directors") {
                    return Err(Diagnostic::error(
                        Some(cspan),
                        "`directors` se usa sin importarlo",
                    )
                    .with_hint("añade `import directors;` tras `vcl 4.1;`"));
                }
                self.expect_punct("(")?;
                while !self.eat_punct(")") {
                    self.next()?;
                }
                self.expect_punct(";")?;
                let kind = self.names.objects[obj].1;
                self.prog.objects.push(ObjDef {
                    name,
                    kind,
                    span: nspan.clone(),
                });
                Ok(Stmt::New {
                    obj: self.prog.objects.len() - 1,
                    span: nspan,
                })
            }
            _ => {
                // A function call used as a statement: hash_data(), ban(), std.log()...
                if self.is_punct("(") {
                    self.pos -= 1;
                    let (e, _) = self.primary()?;
                    self.expect_punct(";")?;
                    return Ok(Stmt::Do(e, span));
                }
                let cands = [
                    "set",
                    "unset",
                    "if",
                    "return",
                    "call",
                    "new",
                    "hash_data",
                    "ban",
                    "synthetic",
                ];
                let mut d = Diagnostic::error(Some(span), format!("sentencia desconocida `{kw}`"));
                d = match suggest(&kw, cands) {
                    Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
                    None if lookup_var(&kw).is_some() => d.with_hint(format!("para asignar escribe `set {kw} = ...;`")),
                    None => d.with_hint("las sentencias son set, unset, if, return, call, new y llamadas como hash_data(...)"),
                };
                Err(d)
            }
        }
    }

    fn cond(&mut self) -> PResult<Expr> {
        self.expect_punct("(")?;
        let span = self.here();
        let (e, ty) = self.expr()?;
        self.expect_punct(")")?;
        to_bool(e, ty, &span)
    }

    fn expr(&mut self) -> PResult<(Expr, Ty)> {
        let span = self.here();
        let (mut lhs, mut lty) = self.and()?;
        while self.eat_punct("||") {
            let rspan = self.here();
            let (rhs, rty) = self.and()?;
            let l = to_bool(lhs, lty, &span)?;
            let r = to_bool(rhs, rty, &rspan)?;
            lhs = Expr::Or(Box::new(l), Box::new(r));
            lty = Ty::Bool;
        }
        Ok((lhs, lty))
    }

    fn and(&mut self) -> PResult<(Expr, Ty)> {
        let span = self.here();
        let (mut lhs, mut lty) = self.not()?;
        while self.eat_punct("&&") {
            let rspan = self.here();
            let (rhs, rty) = self.not()?;
            let l = to_bool(lhs, lty, &span)?;
            let r = to_bool(rhs, rty, &rspan)?;
            lhs = Expr::And(Box::new(l), Box::new(r));
            lty = Ty::Bool;
        }
        Ok((lhs, lty))
    }

    fn not(&mut self) -> PResult<(Expr, Ty)> {
        if self.eat_punct("!") {
            let span = self.here();
            let (e, ty) = self.not()?;
            return Ok((Expr::Not(Box::new(to_bool(e, ty, &span)?)), Ty::Bool));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> PResult<(Expr, Ty)> {
        let lspan = self.here();
        let (lhs, lty) = self.sum()?;
        let op = match self.peek() {
            Some(Tok::Punct(p)) => *p,
            _ => return Ok((lhs, lty)),
        };
        match op {
            "~" | "!~" => {
                self.pos += 1;
                let neg = op == "!~";
                let rspan = self.here();
                match self.peek().cloned() {
                    Some(Tok::Str(re)) => {
                        self.pos += 1;
                        if lty != Ty::Str {
                            return Err(type_error(&lspan, "el operador `~` con una expresión regular", Ty::Str, lty));
                        }
                        let re = compile_regex(&re, &rspan)?;
                        Ok((Expr::Regex { neg, lhs: Box::new(lhs), re }, Ty::Bool))
                    }
                    Some(Tok::Ident(name)) => {
                        self.pos += 1;
                        let Some(acl) = self.names.acls.iter().position(|a| *a == name) else {
                            let mut d = Diagnostic::error(Some(rspan), format!("no hay ninguna acl llamada `{name}`"));
                            if let Some(s) = suggest(&name, self.names.acls.iter().map(|s| s.as_str())) {
                                d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                            } else {
                                d = d.with_hint("tras `~` va una expresión regular entre comillas o el nombre de una acl");
                            }
                            return Err(d);
                        };
                        if lty != Ty::Ip {
                            return Err(type_error(&lspan, "comparar con una acl", Ty::Ip, lty));
                        }
                        Ok((Expr::Acl { neg, lhs: Box::new(lhs), acl }, Ty::Bool))
                    }
                    _ => Err(Diagnostic::error(
                        Some(rspan),
                        format!("tras `{op}` va una expresión regular entre comillas o una acl, y hay {}", self.describe()),
                    )),
                }
            }
            "==" | "!=" | "<" | ">" | "<=" | ">=" => {
                self.pos += 1;
                let rspan = self.here();
                let (rhs, rty) = self.sum()?;
                let cop = match op {
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    ">" => CmpOp::Gt,
                    "<=" => CmpOp::Le,
                    _ => CmpOp::Ge,
                };
                let numeric = |t: Ty| matches!(t, Ty::Int | Ty::Real);
                let ok = lty == rty
                    || (numeric(lty) && numeric(rty))
                    || (lty == Ty::Str
                        && rty != Ty::Void
                        && matches!(cop, CmpOp::Eq | CmpOp::Ne)
                        && rty == Ty::Str);
                if !ok {
                    return Err(Diagnostic::error(
                        Some(rspan),
                        format!("no se puede comparar {} con {}", lty.name(), rty.name()),
                    )
                    .with_hint(if lty == Ty::Dur {
                        "las duraciones se escriben con unidad: `0s`, `120s`, `1h`"
                    } else {
                        "compara valores del mismo tipo"
                    }));
                }
                if matches!(lty, Ty::Bool | Ty::Backend | Ty::Ip)
                    && !matches!(cop, CmpOp::Eq | CmpOp::Ne)
                {
                    return Err(Diagnostic::error(
                        Some(rspan),
                        format!("{} solo admite == y !=", lty.name()),
                    ));
                }
                Ok((Expr::Cmp(cop, Box::new(lhs), Box::new(rhs)), Ty::Bool))
            }
            _ => Ok((lhs, lty)),
        }
    }

    fn sum(&mut self) -> PResult<(Expr, Ty)> {
        let lspan = self.here();
        let (mut lhs, mut lty) = self.product()?;
        loop {
            let op = if self.is_punct("+") {
                ArithOp::Add
            } else if self.is_punct("-") {
                ArithOp::Sub
            } else {
                break;
            };
            self.pos += 1;
            let rspan = self.here();
            let (rhs, rty) = self.product()?;
            if op == ArithOp::Add && (lty == Ty::Str || rty == Ty::Str) {
                let mut parts = match lhs {
                    Expr::Concat(p) => p,
                    other => vec![other],
                };
                parts.push(rhs);
                lhs = Expr::Concat(parts);
                lty = Ty::Str;
                continue;
            }
            lty = arith_type(op, lty, rty, &lspan, &rspan)?;
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, lty))
    }

    fn product(&mut self) -> PResult<(Expr, Ty)> {
        let lspan = self.here();
        let (mut lhs, mut lty) = self.unary()?;
        loop {
            let op = if self.is_punct("*") {
                ArithOp::Mul
            } else if self.is_punct("/") {
                ArithOp::Div
            } else {
                break;
            };
            self.pos += 1;
            let rspan = self.here();
            let (rhs, rty) = self.unary()?;
            lty = arith_type(op, lty, rty, &lspan, &rspan)?;
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, lty))
    }

    fn unary(&mut self) -> PResult<(Expr, Ty)> {
        if self.eat_punct("-") {
            let span = self.here();
            let (e, ty) = self.unary()?;
            return match ty {
                Ty::Int | Ty::Real | Ty::Dur => Ok((Expr::Neg(Box::new(e)), ty)),
                other => Err(Diagnostic::error(
                    Some(span),
                    format!("no se puede negar un valor {}", other.name()),
                )),
            };
        }
        self.primary()
    }

    fn args(&mut self) -> PResult<Vec<(Expr, Ty, Span)>> {
        self.expect_punct("(")?;
        let mut args = Vec::new();
        if self.eat_punct(")") {
            return Ok(args);
        }
        loop {
            let span = self.here();
            let (e, t) = self.expr()?;
            args.push((e, t, span));
            if self.eat_punct(")") {
                return Ok(args);
            }
            self.expect_punct(",")?;
        }
    }

    fn primary(&mut self) -> PResult<(Expr, Ty)> {
        let span = self.here();
        let tok = self.next()?.tok.clone();
        match tok {
            Tok::Str(s) => Ok((Expr::Str(Arc::from(s)), Ty::Str)),
            Tok::Num(n, true) => Ok((Expr::Int(n as i64), Ty::Int)),
            Tok::Num(n, false) => Ok((Expr::Real(n), Ty::Real)),
            Tok::Duration(d) => Ok((Expr::Dur(d), Ty::Dur)),
            Tok::Bytes(b) => Ok((Expr::Bytes(b), Ty::Bytes)),
            Tok::Punct("(") => {
                let r = self.expr()?;
                self.expect_punct(")")?;
                Ok(r)
            }
            Tok::Ident(name) => {
                if self.is_punct("(") {
                    return self.call(&name, &span);
                }
                match name.as_str() {
                    "true" => return Ok((Expr::Bool(true), Ty::Bool)),
                    "false" => return Ok((Expr::Bool(false), Ty::Bool)),
                    _ => {}
                }
                if let Some(i) = self.names.backends.iter().position(|b| *b == name) {
                    return Ok((Expr::Backend(i), Ty::Backend));
                }
                if self.names.acls.contains(&name) {
                    return Err(Diagnostic::error(
                        Some(span),
                        format!("la acl `{name}` solo se usa tras `~`"),
                    )
                    .with_hint(format!("por ejemplo `client.ip ~ {name}`")));
                }
                let var = self.var(&name, &span)?;
                let ty = var.ty();
                if ty == Ty::Body {
                    return Err(Diagnostic::error(
                        Some(span),
                        format!("`{name}` no se puede leer"),
                    ));
                }
                Ok((Expr::Var(var, span), ty))
            }
            _ => {
                self.pos -= 1;
                Err(Diagnostic::error(
                    Some(span),
                    format!("se esperaba un valor y hay {}", self.describe()),
                ))
            }
        }
    }

    fn need_import(&self, module: &str, span: &Span) -> PResult<()> {
        if self.builtin || self.prog.imports.iter().any(|m| m == module) {
            Ok(())
        } else {
            Err(Diagnostic::error(
                Some(span.clone()),
                format!("`{module}` se usa sin importarlo"),
            )
            .with_hint(format!("añade `import {module};` tras `vcl 4.1;`")))
        }
    }

    fn call(&mut self, name: &str, span: &Span) -> PResult<(Expr, Ty)> {
        // STRING methods on a variable: req.http.host.lower()
        for (suffix, f) in [(".lower", Func::Lower), (".upper", Func::Upper)] {
            if let Some(base) = name.strip_suffix(suffix) {
                if let Some(var) = lookup_var(base) {
                    let args = self.args()?;
                    if !args.is_empty() {
                        return Err(Diagnostic::error(
                            Some(span.clone()),
                            format!("`{suffix}()` no lleva argumentos"),
                        ));
                    }
                    return Ok((Expr::Call(f, vec![Expr::Var(var, span.clone())]), Ty::Str));
                }
            }
        }
        if let Some((obj, method)) = name.rsplit_once('.') {
            if let Some(i) = self.names.objects.iter().position(|(n, _)| n == obj) {
                let args = self.args()?;
                return match method {
                    "backend" => Ok((Expr::Call(Func::DirectorBackend(i), vec![]), Ty::Backend)),
                    "add_backend" => {
                        if args.is_empty() || args[0].1 != Ty::Backend {
                            return Err(Diagnostic::error(
                                Some(span.clone()),
                                format!("`{name}` necesita un backend como primer argumento"),
                            ));
                        }
                        Ok((
                            Expr::Call(
                                Func::DirectorAdd(i),
                                args.into_iter().map(|a| a.0).collect(),
                            ),
                            Ty::Void,
                        ))
                    }
                    _ => Err(Diagnostic::error(
                        Some(span.clone()),
                        format!("el director `{obj}` no tiene el método `{method}`"),
                    )
                    .with_hint("los directores tienen .add_backend(b) y .backend()")),
                };
            }
        }
        let (func, params, ret): (Func, &[Ty], Ty) = match name {
            "regsub" | "regsuball" => {
                self.expect_punct("(")?;
                let (subject, sty) = self.expr()?;
                let _ = sty;
                self.expect_punct(",")?;
                let rspan = self.here();
                let (re, _) = self.string("una expresión regular constante")?;
                let re = compile_regex(&re, &rspan)?;
                self.expect_punct(",")?;
                let (repl, _) = self.expr()?;
                self.expect_punct(")")?;
                return Ok((
                    Expr::Call(
                        Func::Regsub {
                            re,
                            all: name == "regsuball",
                        },
                        vec![subject, repl],
                    ),
                    Ty::Str,
                ));
            }
            "hash_data" => (Func::HashData, &[Ty::Str], Ty::Void),
            "ban" => (Func::Ban, &[Ty::Str], Ty::Void),
            "synthetic" => (Func::Synthetic, &[Ty::Str], Ty::Void),
            "std.log" => (Func::StdLog, &[Ty::Str], Ty::Void),
            "std.syslog" => (Func::StdSyslog, &[Ty::Int, Ty::Str], Ty::Void),
            "std.tolower" => (Func::StdTolower, &[Ty::Str], Ty::Str),
            "std.toupper" => (Func::StdToupper, &[Ty::Str], Ty::Str),
            "std.integer" => (Func::StdInteger, &[Ty::Str, Ty::Int], Ty::Int),
            "std.real" => (Func::StdReal, &[Ty::Str, Ty::Real], Ty::Real),
            "std.duration" => (Func::StdDuration, &[Ty::Str, Ty::Dur], Ty::Dur),
            "std.ip" => (Func::StdIp, &[Ty::Str, Ty::Str], Ty::Ip),
            "std.healthy" => (Func::StdHealthy, &[Ty::Backend], Ty::Bool),
            "std.strstr" => (Func::StdStrstr, &[Ty::Str, Ty::Str], Ty::Str),
            "std.random" => (Func::StdRandom, &[Ty::Real, Ty::Real], Ty::Real),
            "std.port" => (Func::StdPort, &[Ty::Ip], Ty::Int),
            "std.timestamp" | "std.set_ip_tos" | "std.cache_req_body" | "std.rollback" => {
                self.need_import("std", span)?;
                let args = self.args()?;
                return Ok((
                    Expr::Call(Func::StdNoop, args.into_iter().map(|a| a.0).collect()),
                    Ty::Void,
                ));
            }
            "std.collect" => {
                self.need_import("std", span)?;
                self.expect_punct("(")?;
                let (vname, vspan) = self.ident("una cabecera")?;
                let var = self.var(&vname, &vspan)?;
                while !self.eat_punct(")") {
                    self.next()?;
                }
                return Ok((Expr::Call(Func::StdCollect(var), vec![]), Ty::Void));
            }
            _ => {
                let known = [
                    "regsub",
                    "regsuball",
                    "hash_data",
                    "ban",
                    "synthetic",
                    "std.log",
                    "std.tolower",
                    "std.toupper",
                    "std.integer",
                    "std.real",
                    "std.duration",
                    "std.ip",
                    "std.healthy",
                    "std.strstr",
                    "std.random",
                    "std.port",
                    "std.collect",
                    "std.syslog",
                ];
                let mut d =
                    Diagnostic::error(Some(span.clone()), format!("función desconocida `{name}`"));
                if let Some(s) = suggest(name, known) {
                    d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                }
                return Err(d);
            }
        };
        if name.starts_with("std.") {
            self.need_import("std", span)?;
        }
        let args = self.args()?;
        if args.len() != params.len() {
            return Err(Diagnostic::error(
                Some(span.clone()),
                format!(
                    "`{name}` necesita {} argumento(s) y tiene {}",
                    params.len(),
                    args.len()
                ),
            ));
        }
        let mut out = Vec::new();
        for ((e, t, aspan), want) in args.into_iter().zip(params) {
            let ok = *want == t || *want == Ty::Str || (*want == Ty::Real && t == Ty::Int);
            if !ok {
                return Err(type_error(
                    &aspan,
                    &format!("el argumento de `{name}`"),
                    *want,
                    t,
                ));
            }
            out.push(e);
        }
        Ok((Expr::Call(func, out), ret))
    }
}

fn type_error(span: &Span, what: &str, want: Ty, got: Ty) -> Diagnostic {
    Diagnostic::error(
        Some(span.clone()),
        format!("{what} necesita {} y recibe {}", want.name(), got.name()),
    )
}

fn arith_type(op: ArithOp, l: Ty, r: Ty, lspan: &Span, rspan: &Span) -> PResult<Ty> {
    use Ty::*;
    let t = match (op, l, r) {
        (_, Int, Int) => Int,
        (_, Real | Int, Real | Int) => Real,
        (ArithOp::Add | ArithOp::Sub, Dur, Dur) => Dur,
        (ArithOp::Mul | ArithOp::Div, Dur, Int | Real) => Dur,
        (ArithOp::Mul, Int | Real, Dur) => Dur,
        (ArithOp::Add | ArithOp::Sub, Time, Dur) => Time,
        (ArithOp::Sub, Time, Time) => Dur,
        (ArithOp::Add | ArithOp::Sub, Bytes, Bytes) => Bytes,
        _ => {
            let _ = lspan;
            return Err(Diagnostic::error(
                Some(rspan.clone()),
                format!("no se puede operar {} con {}", l.name(), r.name()),
            ));
        }
    };
    Ok(t)
}

fn to_bool(e: Expr, ty: Ty, span: &Span) -> PResult<Expr> {
    match ty {
        Ty::Bool | Ty::Str | Ty::Int | Ty::Real | Ty::Dur | Ty::Backend => Ok(e),
        other => Err(Diagnostic::error(
            Some(span.clone()),
            format!("un valor {} no sirve como condición", other.name()),
        )),
    }
}

fn coerce_assign(var: &Var, op: AssignOp, value: Expr, ty: Ty, span: &Span) -> PResult<Expr> {
    let want = var.ty();
    let ok = match (want, ty) {
        (Ty::Str | Ty::Body, _) => ty != Ty::Void,
        (Ty::Real, Ty::Int) => true,
        (w, t) => w == t,
    };
    if !ok {
        let hint = match want {
            Ty::Dur => "las duraciones llevan unidad: `120s`, `5m`, `1h`, `1d`",
            Ty::Bool => "usa `true` o `false`",
            _ => "el valor debe ser del tipo de la variable",
        };
        return Err(Diagnostic::error(
            Some(span.clone()),
            format!(
                "`{}` es {} y el valor es {}",
                var.name(),
                want.name(),
                ty.name()
            ),
        )
        .with_hint(hint));
    }
    if op != AssignOp::Set && !matches!(want, Ty::Str | Ty::Int | Ty::Real | Ty::Dur) {
        return Err(Diagnostic::error(
            Some(span.clone()),
            format!(
                "`{}` no admite operadores de asignación compuestos",
                var.name()
            ),
        ));
    }
    Ok(value)
}

fn unknown_var(name: &str, span: &Span) -> Diagnostic {
    let mut d = Diagnostic::error(Some(span.clone()), format!("variable desconocida `{name}`"));
    if let Some(s) = suggest(name, VARS.iter().map(|v| v.name)) {
        d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
    } else if let Some((obj, rest)) = name.split_once('.') {
        if ["req", "bereq", "beresp", "resp", "obj"].contains(&obj) && !rest.starts_with("http.") {
            d = d.with_hint(format!("las cabeceras se escriben `{obj}.http.NOMBRE`"));
        }
    }
    d
}

/// Compiles a VCL regular expression (PCRE2 in Varnish, the `regex` crate here: no
/// look-around and no back-references).
/// PCRE2 constructs that Varnish accepts and the lab's regex engine does not: what to call
/// it and how to write the same without it.
fn pcre_only(re: &str) -> Option<(&'static str, &'static str)> {
    let has_backref = re
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\\' && (b'1'..=b'9').contains(&w[1]));
    if re.contains("(?=") || re.contains("(?!") {
        Some((
            "una búsqueda hacia delante (look-ahead `(?=` / `(?!`)",
            "divide la condición en dos: `req.url ~ \"^/\" && req.url !~ \"^/admin\"` en lugar de `\"^/(?!admin)\"`",
        ))
    } else if re.contains("(?<=") || re.contains("(?<!") {
        Some((
            "una búsqueda hacia atrás (look-behind `(?<=` / `(?<!`)",
            "incluye lo que buscabas detrás en la propia expresión, o usa dos condiciones con `~` y `!~`",
        ))
    } else if has_backref {
        Some((
            "una referencia hacia atrás (`\\1`...) dentro del patrón",
            "en el patrón no se puede repetir un grupo; en el texto de sustitución de regsub sí vale `\\1`",
        ))
    } else if re.contains("(?>") {
        Some((
            "un grupo atómico `(?>...)`",
            "usa un grupo normal `(?:...)`: sin vuelta atrás el resultado es el mismo en casi todos los casos",
        ))
    } else if has_possessive(re) {
        Some((
            "un cuantificador posesivo (`*+`, `++`, `?+`)",
            "quita el `+` final del cuantificador",
        ))
    } else if re.contains("\\Z") {
        Some(("el ancla `\\Z`", "usa `$` (o `\\z`)"))
    } else {
        None
    }
}

/// A quantifier (`*`, `+`, `?`, `{n}`) followed by `+`, outside classes and escapes. The
/// regex crate reads `a++` as a repeated repetition and would match differently, so it is
/// refused like the constructs it rejects.
fn has_possessive(re: &str) -> bool {
    let b = re.as_bytes();
    let mut i = 0;
    let mut class = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !class => class = true,
            b']' if class => class = false,
            // `(?+1)`-like group syntax is not a quantifier.
            b'*' | b'+' | b'?' | b'}'
                if !class
                    && b.get(i + 1) == Some(&b'+')
                    && !(b[i] == b'?' && i > 0 && b[i - 1] == b'(') =>
            {
                return true;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

pub fn compile_regex(re: &str, span: &Span) -> PResult<Arc<Regex>> {
    if has_possessive(re) {
        let (what, hint) = pcre_only(re).unwrap_or(("un cuantificador posesivo", ""));
        return Err(Diagnostic::error(
            Some(span.clone()),
            format!(
                "la expresión regular \"{re}\" usa {what}: Varnish (PCRE2) la acepta, pero el laboratorio no"
            ),
        )
        .with_hint(hint));
    }
    Regex::new(re).map(Arc::new).map_err(|e| {
        if let Some((what, hint)) = pcre_only(re) {
            return Diagnostic::error(
                Some(span.clone()),
                format!(
                    "la expresión regular \"{re}\" usa {what}: Varnish (PCRE2) la acepta, pero el laboratorio no"
                ),
            )
            .with_hint(hint);
        }
        let mut msg = e.to_string();
        if let Some(last) = msg.lines().last() {
            msg = last.trim().trim_start_matches("error:").trim().to_string();
        }
        Diagnostic::error(
            Some(span.clone()),
            format!("expresión regular no válida \"{re}\": {msg}"),
        )
        .with_hint("el laboratorio usa expresiones regulares sin referencias hacia atrás ni búsquedas alrededor (look-around)")
    })
}

/// Whether `ip` is inside `net/prefix`.
pub fn net_contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => return false,
        },
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Joins the user's program with builtin.vcl: same-named `vcl_*` subroutines are
/// concatenated, the user's code first; calls are resolved.
pub fn merge(mut user: Program, builtin: Program) -> Result<Program, Vec<Diagnostic>> {
    let mut subs: Vec<SubDef> = Vec::new();
    for s in user.subs.drain(..) {
        if let Some(prev) = subs.iter_mut().find(|p| p.name == s.name) {
            prev.body.extend(s.body);
        } else {
            subs.push(s);
        }
    }
    for s in builtin.subs {
        if let Some(prev) = subs.iter_mut().find(|p| p.name == s.name) {
            prev.body.extend(s.body);
        } else {
            subs.push(s);
        }
    }
    let mut errors = Vec::new();
    let names: Vec<String> = subs.iter().map(|s| s.name.clone()).collect();
    for s in &subs {
        if s.name.starts_with("vcl_")
            && !s.builtin
            && SubKind::from_name(&s.name).is_none()
            && !names_in_builtin(&s.name)
        {
            let mut d = Diagnostic::error(
                Some(s.span.clone()),
                format!(
                    "`{}`: los nombres que empiezan por `vcl_` están reservados a Varnish",
                    s.name
                ),
            );
            if let Some(sug) = suggest(&s.name, super::ALL_SUBS.iter().map(|k| k.name())) {
                d = d.with_hint(format!("¿Quisiste decir `{sug}`?"));
            }
            errors.push(d);
        }
    }
    for s in subs.iter_mut() {
        resolve_calls(&mut s.body, &names, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    user.subs = subs;
    for (i, s) in user.subs.iter().enumerate() {
        if let Some(k) = SubKind::from_name(&s.name) {
            user.entry.insert(k, i);
        }
    }
    Ok(user)
}

fn names_in_builtin(name: &str) -> bool {
    super::BUILTIN_VCL.contains(&format!("sub {name} "))
}

fn resolve_calls(stmts: &mut [Stmt], names: &[String], errors: &mut Vec<Diagnostic>) {
    for st in stmts {
        match st {
            Stmt::Call { name, sub, span } => match names.iter().position(|n| n == name) {
                Some(i) => *sub = i,
                None => {
                    let mut d = Diagnostic::error(
                        Some(span.clone()),
                        format!("no existe la subrutina `{name}`"),
                    );
                    if let Some(s) = suggest(name, names.iter().map(|s| s.as_str())) {
                        d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                    }
                    errors.push(d);
                }
            },
            Stmt::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches.iter_mut() {
                    resolve_calls(b, names, errors);
                }
                resolve_calls(otherwise, names, errors);
            }
            _ => {}
        }
    }
}
