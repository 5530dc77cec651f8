//! The VCL interpreter: runs one subroutine over a request's state ([`Ctx`]).

use std::net::IpAddr;
use std::sync::Arc;

use super::parser::{ArithOp, AssignOp, CmpOp, Expr, Func, Program, Stmt};
use super::{acl_match, Field, HttpObj, SubKind, Var};

/// An HTTP message as VCL sees it: request line or status line, and headers in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Msg {
    pub method: String,
    pub url: String,
    pub proto: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

impl Msg {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    pub fn unset(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.unset(name);
        self.headers.push((name.to_string(), value.into()));
    }

    pub fn add(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_string(), value.into()));
    }
}

/// A backend as a VCL value: a plain backend or a director (resolved at fetch time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendRef {
    Backend(usize),
    Director(usize),
}

/// What the interpreter asks of the proxy: backend health, directors, bans.
pub trait Host {
    fn healthy(&self, b: BackendRef) -> bool;
    fn director_add(&self, director: usize, backend: usize, weight: f64);
    fn ban(&self, expr: &str) -> Result<(), String>;
    fn backend_name(&self, b: BackendRef) -> String;
}

/// A VCL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An absent header or string.
    Null,
    Str(String),
    Bool(bool),
    Int(i64),
    Real(f64),
    Dur(f64),
    Time(f64),
    Bytes(f64),
    Ip(IpAddr),
    Backend(Option<BackendRef>),
}

impl Value {
    pub fn to_str(&self, host: &dyn Host) -> String {
        match self {
            Value::Null => String::new(),
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Real(r) | Value::Dur(r) | Value::Bytes(r) => format!("{r:.3}"),
            Value::Time(t) => http_date(*t),
            Value::Ip(ip) => ip.to_string(),
            Value::Backend(Some(b)) => host.backend_name(*b),
            Value::Backend(None) => String::new(),
        }
    }

    fn truthy(&self, host: &dyn Host) -> bool {
        match self {
            Value::Null => false,
            Value::Str(_) => true,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Real(r) | Value::Dur(r) | Value::Bytes(r) | Value::Time(r) => *r != 0.0,
            Value::Ip(_) => true,
            Value::Backend(b) => b.is_some_and(|b| host.healthy(b)),
        }
    }

    fn num(&self) -> f64 {
        match self {
            Value::Int(i) => *i as f64,
            Value::Real(r) | Value::Dur(r) | Value::Bytes(r) | Value::Time(r) => *r,
            Value::Bool(b) => f64::from(u8::from(*b)),
            _ => 0.0,
        }
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) for a time in seconds since the epoch.
pub fn http_date(t: f64) -> String {
    let t = if t.is_finite() && t > 0.0 { t } else { 0.0 };
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t))
}

/// What a subroutine returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Hash,
    Pass,
    Pipe,
    Purge,
    Synth(u16, Option<String>),
    Restart,
    Lookup,
    Deliver,
    Fetch,
    Abandon,
    Retry,
    Error(u16, Option<String>),
    /// `return (pass(DURATION))` in vcl_backend_response: hit-for-pass.
    PassFor(f64),
    Ok,
    /// VCL failure (`return (fail)` or a runtime error): a 503.
    Fail(String),
}

impl Action {
    /// The action as `VCL_return` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Hash => "hash",
            Action::Pass | Action::PassFor(_) => "pass",
            Action::Pipe => "pipe",
            Action::Purge => "purge",
            Action::Synth(..) => "synth",
            Action::Restart => "restart",
            Action::Lookup => "lookup",
            Action::Deliver => "deliver",
            Action::Fetch => "fetch",
            Action::Abandon => "abandon",
            Action::Retry => "retry",
            Action::Error(..) => "error",
            Action::Ok => "ok",
            Action::Fail(_) => "fail",
        }
    }
}

/// The state of one request (client side) or one fetch (backend side) as VCL sees it.
#[derive(Debug, Default)]
pub struct Ctx {
    pub req: Msg,
    pub bereq: Msg,
    pub beresp: Msg,
    pub resp: Msg,
    /// The cached object's head, on a hit.
    pub obj: Option<Arc<Msg>>,
    pub obj_hits: i64,
    pub obj_ttl: f64,
    pub obj_grace: f64,
    pub obj_keep: f64,
    pub obj_age: f64,
    pub obj_uncacheable: bool,
    pub xid: u64,
    pub bereq_xid: u64,
    pub restarts: i64,
    pub retries: i64,
    pub client_ip: Option<IpAddr>,
    pub server_ip: Option<IpAddr>,
    pub client_identity: Option<String>,
    pub backend_hint: Option<BackendRef>,
    pub bereq_backend: Option<BackendRef>,
    pub req_ttl: Option<f64>,
    pub req_grace: Option<f64>,
    pub hash_always_miss: bool,
    pub hash_ignore_busy: bool,
    pub can_gzip: bool,
    pub is_hitmiss: bool,
    pub is_hitpass: bool,
    pub bereq_uncacheable: bool,
    pub ttl: f64,
    pub grace: f64,
    pub keep: f64,
    pub beresp_uncacheable: bool,
    pub do_gzip: bool,
    pub do_gunzip: bool,
    pub do_stream: bool,
    pub was_304: bool,
    pub beresp_age: f64,
    pub beresp_backend: String,
    pub bereq_body_unset: bool,
    /// `resp.body` / `beresp.body` / `synthetic()`.
    pub body: Option<String>,
    /// `hash_data()` inputs.
    pub hash: Vec<String>,
    /// `std.log()` lines.
    pub log: Vec<String>,
    pub now: f64,
    pub hostname: String,
    /// Where the last `return` was (file:line), for `lab explain`.
    pub decided_at: Option<crate::config::diagnostic::Span>,
}

enum Flow {
    Next,
    Return(Action),
}

/// Runs the built-in subroutine `kind` (the user's code then builtin.vcl's).
pub fn run(prog: &Program, kind: SubKind, ctx: &mut Ctx, host: &dyn Host) -> Action {
    let Some(&i) = prog.entry.get(&kind) else {
        return Action::Fail(format!("no existe {}", kind.name()));
    };
    let mut depth = 0;
    match run_sub(prog, i, ctx, host, &mut depth) {
        Ok(Flow::Return(a)) => a,
        Ok(Flow::Next) => Action::Fail(format!("{} terminó sin `return`", kind.name())),
        Err(e) => Action::Fail(e),
    }
}

fn run_sub(
    prog: &Program,
    i: usize,
    ctx: &mut Ctx,
    host: &dyn Host,
    depth: &mut u32,
) -> Result<Flow, String> {
    *depth += 1;
    if *depth > 64 {
        return Err("demasiadas llamadas anidadas".into());
    }
    let r = run_stmts(prog, &prog.subs[i].body, ctx, host, depth);
    *depth -= 1;
    r
}

fn run_stmts(
    prog: &Program,
    stmts: &[Stmt],
    ctx: &mut Ctx,
    host: &dyn Host,
    depth: &mut u32,
) -> Result<Flow, String> {
    for st in stmts {
        match st {
            Stmt::Set { var, op, value, .. } => {
                let v = eval(prog, value, ctx, host)?;
                let v = if *op == AssignOp::Set {
                    v
                } else {
                    let cur = get_var(var, ctx);
                    combine(*op, cur, v, host)
                };
                set_var(var, v, ctx, host);
            }
            Stmt::Unset { var, .. } => unset_var(var, ctx),
            Stmt::If {
                branches,
                otherwise,
            } => {
                let mut taken = false;
                for (cond, body) in branches {
                    if truthy(prog, cond, ctx, host)? {
                        taken = true;
                        if let Flow::Return(a) = run_stmts(prog, body, ctx, host, depth)? {
                            return Ok(Flow::Return(a));
                        }
                        break;
                    }
                }
                if !taken {
                    if let Flow::Return(a) = run_stmts(prog, otherwise, ctx, host, depth)? {
                        return Ok(Flow::Return(a));
                    }
                }
            }
            Stmt::Return { action, args, span } => {
                ctx.decided_at = Some(span.clone());
                let mut vals = Vec::new();
                for a in args {
                    vals.push(eval(prog, a, ctx, host)?);
                }
                let code = vals.first().map(|v| v.num() as i64).unwrap_or(0);
                let reason = vals.get(1).map(|v| v.to_str(host));
                let a = match action.as_str() {
                    "hash" => Action::Hash,
                    "pass" if !vals.is_empty() => Action::PassFor(vals[0].num()),
                    "pass" => Action::Pass,
                    "pipe" => Action::Pipe,
                    "purge" => Action::Purge,
                    "synth" => Action::Synth(code.clamp(100, 999) as u16, reason),
                    "error" => Action::Error(code.clamp(100, 999) as u16, reason),
                    "restart" => Action::Restart,
                    "lookup" => Action::Lookup,
                    "deliver" => Action::Deliver,
                    "fetch" => Action::Fetch,
                    "abandon" => Action::Abandon,
                    "retry" => Action::Retry,
                    "ok" => Action::Ok,
                    _ => Action::Fail("return (fail)".into()),
                };
                return Ok(Flow::Return(a));
            }
            Stmt::Call { sub, .. } => {
                if let Flow::Return(a) = run_sub(prog, *sub, ctx, host, depth)? {
                    return Ok(Flow::Return(a));
                }
            }
            Stmt::Do(e, _) => {
                eval(prog, e, ctx, host)?;
            }
            Stmt::New { .. } => {}
        }
    }
    Ok(Flow::Next)
}

fn combine(op: AssignOp, cur: Value, v: Value, host: &dyn Host) -> Value {
    match (cur, op) {
        (Value::Str(s), AssignOp::Add) => Value::Str(s + &v.to_str(host)),
        (Value::Null, AssignOp::Add) => Value::Str(v.to_str(host)),
        (Value::Int(a), _) => {
            let b = v.num() as i64;
            Value::Int(match op {
                AssignOp::Add => a.wrapping_add(b),
                AssignOp::Sub => a.wrapping_sub(b),
                AssignOp::Mul => a.wrapping_mul(b),
                AssignOp::Div if b != 0 => a / b,
                _ => a,
            })
        }
        (Value::Dur(a), _) | (Value::Real(a), _) => {
            let b = v.num();
            Value::Dur(match op {
                AssignOp::Add => a + b,
                AssignOp::Sub => a - b,
                AssignOp::Mul => a * b,
                AssignOp::Div if b != 0.0 => a / b,
                _ => a,
            })
        }
        (other, _) => other,
    }
}

fn msg(ctx: &Ctx, o: HttpObj) -> Option<&Msg> {
    match o {
        HttpObj::Req => Some(&ctx.req),
        HttpObj::Bereq => Some(&ctx.bereq),
        HttpObj::Beresp => Some(&ctx.beresp),
        HttpObj::Resp => Some(&ctx.resp),
        HttpObj::Obj => ctx.obj.as_deref(),
    }
}

fn msg_mut(ctx: &mut Ctx, o: HttpObj) -> Option<&mut Msg> {
    match o {
        HttpObj::Req => Some(&mut ctx.req),
        HttpObj::Bereq => Some(&mut ctx.bereq),
        HttpObj::Beresp => Some(&mut ctx.beresp),
        HttpObj::Resp => Some(&mut ctx.resp),
        HttpObj::Obj => None,
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn ip(v: Option<IpAddr>) -> Value {
    Value::Ip(v.unwrap_or(IpAddr::from([127, 0, 0, 1])))
}

pub fn get_var(var: &Var, ctx: &Ctx) -> Value {
    let f = match var {
        Var::Http(o, name) => {
            return match msg(ctx, *o).and_then(|m| m.get(name)) {
                Some(v) => s(v),
                None => Value::Null,
            }
        }
        Var::Field(f) => *f,
    };
    let obj = ctx.obj.as_deref();
    match f {
        Field::ReqUrl => s(&ctx.req.url),
        Field::ReqMethod => s(&ctx.req.method),
        Field::ReqProto => s(&ctx.req.proto),
        Field::ReqXid => Value::Str(ctx.xid.to_string()),
        Field::ReqRestarts => Value::Int(ctx.restarts),
        Field::ReqBackendHint => Value::Backend(ctx.backend_hint),
        Field::ReqTtl => Value::Dur(ctx.req_ttl.unwrap_or(-1.0)),
        Field::ReqGrace => Value::Dur(ctx.req_grace.unwrap_or(-1.0)),
        Field::ReqHashAlwaysMiss => Value::Bool(ctx.hash_always_miss),
        Field::ReqHashIgnoreBusy => Value::Bool(ctx.hash_ignore_busy),
        Field::ReqCanGzip => Value::Bool(ctx.can_gzip),
        Field::ReqEsiLevel => Value::Int(0),
        Field::ReqIsHitmiss => Value::Bool(ctx.is_hitmiss),
        Field::ReqIsHitpass => Value::Bool(ctx.is_hitpass),
        Field::BereqUrl => s(&ctx.bereq.url),
        Field::BereqMethod => s(&ctx.bereq.method),
        Field::BereqProto => s(&ctx.bereq.proto),
        Field::BereqXid => Value::Str(ctx.bereq_xid.to_string()),
        Field::BereqUncacheable => Value::Bool(ctx.bereq_uncacheable),
        Field::BereqBackend => Value::Backend(ctx.bereq_backend),
        Field::BereqRetries => Value::Int(ctx.retries),
        Field::BereqBody | Field::BerespBody | Field::RespBody => Value::Null,
        Field::BerespStatus => Value::Int(i64::from(ctx.beresp.status)),
        Field::BerespReason => s(&ctx.beresp.reason),
        Field::BerespProto => s(&ctx.beresp.proto),
        Field::BerespTtl => Value::Dur(ctx.ttl),
        Field::BerespGrace => Value::Dur(ctx.grace),
        Field::BerespKeep => Value::Dur(ctx.keep),
        Field::BerespUncacheable => Value::Bool(ctx.beresp_uncacheable),
        Field::BerespDoGzip => Value::Bool(ctx.do_gzip),
        Field::BerespDoGunzip => Value::Bool(ctx.do_gunzip),
        Field::BerespDoStream => Value::Bool(ctx.do_stream),
        Field::BerespWas304 => Value::Bool(ctx.was_304),
        Field::BerespAge => Value::Dur(ctx.beresp_age),
        Field::BerespBackendName => s(&ctx.beresp_backend),
        Field::ObjHits => Value::Int(ctx.obj_hits),
        Field::ObjTtl => Value::Dur(ctx.obj_ttl),
        Field::ObjGrace => Value::Dur(ctx.obj_grace),
        Field::ObjKeep => Value::Dur(ctx.obj_keep),
        Field::ObjAge => Value::Dur(ctx.obj_age),
        Field::ObjStatus => Value::Int(obj.map_or(0, |o| i64::from(o.status))),
        Field::ObjReason => s(obj.map_or("", |o| o.reason.as_str())),
        Field::ObjProto => s(obj.map_or("", |o| o.proto.as_str())),
        Field::ObjUncacheable => Value::Bool(ctx.obj_uncacheable),
        Field::RespStatus => Value::Int(i64::from(ctx.resp.status)),
        Field::RespReason => s(&ctx.resp.reason),
        Field::RespProto => s(&ctx.resp.proto),
        Field::RespIsStreaming => Value::Bool(false),
        Field::ClientIp | Field::RemoteIp => ip(ctx.client_ip),
        Field::ClientIdentity => Value::Str(
            ctx.client_identity
                .clone()
                .unwrap_or_else(|| ctx.client_ip.map(|i| i.to_string()).unwrap_or_default()),
        ),
        Field::ServerIp | Field::LocalIp => ip(ctx.server_ip),
        Field::ServerHostname => s(&ctx.hostname),
        Field::ServerIdentity => s(&ctx.hostname),
        Field::Now => Value::Time(ctx.now),
    }
}

fn set_var(var: &Var, v: Value, ctx: &mut Ctx, host: &dyn Host) {
    let f = match var {
        Var::Http(o, name) => {
            // Setting a header to an absent value removes it? No: Varnish sets it empty.
            let text = v.to_str(host);
            if let Some(m) = msg_mut(ctx, *o) {
                m.set(name, text);
            }
            return;
        }
        Var::Field(f) => *f,
    };
    let num = v.num();
    let b = matches!(v, Value::Bool(true));
    match f {
        Field::ReqUrl => ctx.req.url = v.to_str(host),
        Field::ReqMethod => ctx.req.method = v.to_str(host),
        Field::ReqProto => ctx.req.proto = v.to_str(host),
        Field::ReqBackendHint => {
            if let Value::Backend(b) = v {
                ctx.backend_hint = b;
            }
        }
        Field::ReqTtl => ctx.req_ttl = Some(num),
        Field::ReqGrace => ctx.req_grace = Some(num),
        Field::ReqHashAlwaysMiss => ctx.hash_always_miss = b,
        Field::ReqHashIgnoreBusy => ctx.hash_ignore_busy = b,
        Field::BereqUrl => ctx.bereq.url = v.to_str(host),
        Field::BereqMethod => ctx.bereq.method = v.to_str(host),
        Field::BereqProto => ctx.bereq.proto = v.to_str(host),
        Field::BereqBackend => {
            if let Value::Backend(b) = v {
                ctx.bereq_backend = b;
            }
        }
        Field::BerespStatus => ctx.beresp.status = num.clamp(100.0, 999.0) as u16,
        Field::BerespReason => ctx.beresp.reason = v.to_str(host),
        Field::BerespProto => ctx.beresp.proto = v.to_str(host),
        Field::BerespTtl => ctx.ttl = num,
        Field::BerespGrace => ctx.grace = num,
        Field::BerespKeep => ctx.keep = num,
        Field::BerespUncacheable => {
            // Once uncacheable, always uncacheable (Varnish ignores `= false`).
            ctx.beresp_uncacheable |= b;
        }
        Field::BerespDoGzip => ctx.do_gzip = b,
        Field::BerespDoGunzip => ctx.do_gunzip = b,
        Field::BerespDoStream => ctx.do_stream = b,
        Field::BerespBody | Field::RespBody => ctx.body = Some(v.to_str(host)),
        Field::RespStatus => ctx.resp.status = num.clamp(100.0, 999.0) as u16,
        Field::RespReason => ctx.resp.reason = v.to_str(host),
        Field::RespProto => ctx.resp.proto = v.to_str(host),
        Field::ClientIdentity => ctx.client_identity = Some(v.to_str(host)),
        _ => {}
    }
}

fn unset_var(var: &Var, ctx: &mut Ctx) {
    match var {
        Var::Http(o, name) => {
            if let Some(m) = msg_mut(ctx, *o) {
                m.unset(name);
            }
        }
        Var::Field(Field::BereqBody) => ctx.bereq_body_unset = true,
        Var::Field(Field::ReqTtl) => ctx.req_ttl = None,
        Var::Field(Field::ReqGrace) => ctx.req_grace = None,
        Var::Field(_) => {}
    }
}

/// Expands Varnish's replacement syntax (`\0`..`\9`) for one match.
fn expand(caps: &regex::Captures<'_>, repl: &str, out: &mut String) {
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                if let Some(m) = caps.get(d as usize) {
                    out.push_str(m.as_str());
                }
                continue;
            }
        }
        out.push(c);
    }
}

/// A string expression readable in place: `Some(None)` for an absent header, `None` when
/// `e` is not such an expression.
fn borrowed<'c>(e: &'c Expr, ctx: &'c Ctx) -> Option<Option<&'c str>> {
    match e {
        Expr::Str(s) => Some(Some(s)),
        Expr::Var(Var::Http(o, name), _) => Some(msg(ctx, *o).and_then(|m| m.get(name))),
        Expr::Var(Var::Field(f), _) => match f {
            Field::ReqUrl => Some(Some(&ctx.req.url)),
            Field::ReqMethod => Some(Some(&ctx.req.method)),
            Field::ReqProto => Some(Some(&ctx.req.proto)),
            Field::BereqUrl => Some(Some(&ctx.bereq.url)),
            Field::BereqMethod => Some(Some(&ctx.bereq.method)),
            _ => None,
        },
        _ => None,
    }
}

/// `e` as a condition, without copying a header only to see whether it is there.
fn truthy(prog: &Program, e: &Expr, ctx: &mut Ctx, host: &dyn Host) -> Result<bool, String> {
    match e {
        Expr::Var(Var::Http(o, name), _) => Ok(msg(ctx, *o).is_some_and(|m| m.has(name))),
        _ => Ok(eval(prog, e, ctx, host)?.truthy(host)),
    }
}

fn eval(prog: &Program, e: &Expr, ctx: &mut Ctx, host: &dyn Host) -> Result<Value, String> {
    Ok(match e {
        Expr::Str(v) => Value::Str(v.to_string()),
        Expr::Int(i) => Value::Int(*i),
        Expr::Real(r) => Value::Real(*r),
        Expr::Dur(d) => Value::Dur(*d),
        Expr::Bytes(b) => Value::Bytes(*b),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Var(v, _) => get_var(v, ctx),
        Expr::Backend(i) => Value::Backend(Some(BackendRef::Backend(*i))),
        Expr::Not(a) => Value::Bool(!truthy(prog, a, ctx, host)?),
        Expr::Neg(a) => match eval(prog, a, ctx, host)? {
            Value::Int(i) => Value::Int(-i),
            Value::Real(r) => Value::Real(-r),
            Value::Dur(d) => Value::Dur(-d),
            other => other,
        },
        Expr::And(a, b) => Value::Bool(truthy(prog, a, ctx, host)? && truthy(prog, b, ctx, host)?),
        Expr::Or(a, b) => Value::Bool(truthy(prog, a, ctx, host)? || truthy(prog, b, ctx, host)?),
        Expr::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), a, b)
            if borrowed(a, ctx).is_some() && borrowed(b, ctx).is_some() =>
        {
            // Strings compared in place, without copying them (the common case in
            // builtin.vcl: `req.method != "GET"`).
            let eq = borrowed(a, ctx) == borrowed(b, ctx);
            Value::Bool(eq == (*op == CmpOp::Eq))
        }
        Expr::Regex { neg, lhs, re } if borrowed(lhs, ctx).is_some() => {
            let m = match borrowed(lhs, ctx) {
                Some(Some(v)) => re.is_match(v),
                _ => false,
            };
            Value::Bool(m != *neg)
        }
        Expr::Cmp(op, a, b) => {
            let l = eval(prog, a, ctx, host)?;
            let r = eval(prog, b, ctx, host)?;
            let ord = match (&l, &r) {
                (Value::Str(_) | Value::Null, Value::Str(_) | Value::Null) => {
                    // A missing header compares unequal to any string.
                    match (&l, &r) {
                        (Value::Str(x), Value::Str(y)) => x.as_str().partial_cmp(y.as_str()),
                        (Value::Null, Value::Null) => Some(std::cmp::Ordering::Equal),
                        _ => None,
                    }
                }
                (Value::Ip(x), Value::Ip(y)) => x.partial_cmp(y),
                (Value::Backend(x), Value::Backend(y)) => {
                    if x == y {
                        Some(std::cmp::Ordering::Equal)
                    } else {
                        None
                    }
                }
                _ => l.num().partial_cmp(&r.num()),
            };
            use std::cmp::Ordering::*;
            Value::Bool(match op {
                CmpOp::Eq => ord == Some(Equal),
                CmpOp::Ne => ord != Some(Equal),
                CmpOp::Lt => ord == Some(Less),
                CmpOp::Gt => ord == Some(Greater),
                CmpOp::Le => matches!(ord, Some(Less | Equal)),
                CmpOp::Ge => matches!(ord, Some(Greater | Equal)),
            })
        }
        Expr::Regex { neg, lhs, re } => {
            let v = eval(prog, lhs, ctx, host)?;
            // An absent header does not match (and `!~` is then true).
            let m = match &v {
                Value::Null => false,
                other => re.is_match(&other.to_str(host)),
            };
            Value::Bool(m != *neg)
        }
        Expr::Acl { neg, lhs, acl } => {
            let m = match eval(prog, lhs, ctx, host)? {
                Value::Ip(ip) => acl_match(&prog.acls[*acl], ip),
                _ => false,
            };
            Value::Bool(m != *neg)
        }
        Expr::Arith(op, a, b) => {
            let l = eval(prog, a, ctx, host)?;
            let r = eval(prog, b, ctx, host)?;
            match (&l, &r) {
                (Value::Int(x), Value::Int(y)) => Value::Int(match op {
                    ArithOp::Add => x.wrapping_add(*y),
                    ArithOp::Sub => x.wrapping_sub(*y),
                    ArithOp::Mul => x.wrapping_mul(*y),
                    ArithOp::Div => {
                        if *y == 0 {
                            return Err("división entre cero".into());
                        }
                        x / y
                    }
                }),
                _ => {
                    let (x, y) = (l.num(), r.num());
                    let n = match op {
                        ArithOp::Add => x + y,
                        ArithOp::Sub => x - y,
                        ArithOp::Mul => x * y,
                        ArithOp::Div => {
                            if y == 0.0 {
                                return Err("división entre cero".into());
                            }
                            x / y
                        }
                    };
                    match (&l, &r, op) {
                        (Value::Time(_), Value::Time(_), _) => Value::Dur(n),
                        (Value::Time(_), _, _) => Value::Time(n),
                        (Value::Dur(_), _, _) | (_, Value::Dur(_), _) => Value::Dur(n),
                        (Value::Bytes(_), _, _) => Value::Bytes(n),
                        _ => Value::Real(n),
                    }
                }
            }
        }
        Expr::Concat(parts) => {
            let mut out = String::new();
            for p in parts {
                out.push_str(&eval(prog, p, ctx, host)?.to_str(host));
            }
            Value::Str(out)
        }
        Expr::Call(f, args) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(prog, a, ctx, host)?);
            }
            call(f, vals, ctx, host)?
        }
    })
}

fn call(f: &Func, vals: Vec<Value>, ctx: &mut Ctx, host: &dyn Host) -> Result<Value, String> {
    let arg = |i: usize| vals.get(i).map(|v| v.to_str(host)).unwrap_or_default();
    Ok(match f {
        Func::Regsub { re, all } => {
            let subject = arg(0);
            let repl = arg(1);
            let mut out = String::new();
            let mut last = 0;
            for caps in re.captures_iter(&subject) {
                let m = caps.get(0).expect("group 0");
                out.push_str(&subject[last..m.start()]);
                expand(&caps, &repl, &mut out);
                last = m.end();
                if !*all {
                    break;
                }
            }
            out.push_str(&subject[last..]);
            Value::Str(out)
        }
        Func::HashData => {
            ctx.hash.push(arg(0));
            Value::Null
        }
        Func::Ban => {
            if let Err(e) = host.ban(&arg(0)) {
                ctx.log.push(format!("ban(): {e}"));
            }
            Value::Null
        }
        Func::Synthetic => {
            ctx.body = Some(ctx.body.take().unwrap_or_default() + &arg(0));
            Value::Null
        }
        Func::StdLog | Func::StdSyslog => {
            ctx.log.push(arg(vals.len().saturating_sub(1)));
            Value::Null
        }
        Func::StdTolower | Func::Lower => Value::Str(arg(0).to_lowercase()),
        Func::StdToupper | Func::Upper => Value::Str(arg(0).to_uppercase()),
        Func::StdInteger => match arg(0).trim().parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => vals.get(1).cloned().unwrap_or(Value::Int(0)),
        },
        Func::StdReal => match arg(0).trim().parse::<f64>() {
            Ok(r) => Value::Real(r),
            Err(_) => Value::Real(vals.get(1).map_or(0.0, |v| v.num())),
        },
        Func::StdDuration => match parse_duration(&arg(0)) {
            Some(d) => Value::Dur(d),
            None => vals.get(1).cloned().unwrap_or(Value::Dur(0.0)),
        },
        Func::StdIp => match arg(0).trim().parse::<IpAddr>() {
            Ok(ip) => Value::Ip(ip),
            Err(_) => match arg(1).parse::<IpAddr>() {
                Ok(ip) => Value::Ip(ip),
                Err(_) => Value::Ip(IpAddr::from([0, 0, 0, 0])),
            },
        },
        Func::StdHealthy => match vals.first() {
            Some(Value::Backend(Some(b))) => Value::Bool(host.healthy(*b)),
            _ => Value::Bool(false),
        },
        Func::StdStrstr => {
            let (a, b) = (arg(0), arg(1));
            match a.find(&b) {
                Some(i) => Value::Str(a[i..].to_string()),
                None => Value::Null,
            }
        }
        Func::StdRandom => {
            let lo = vals.first().map_or(0.0, |v| v.num());
            let hi = vals.get(1).map_or(1.0, |v| v.num());
            Value::Real(lo + (hi - lo) * crate::proxy::random_unit())
        }
        Func::StdPort => Value::Int(0),
        Func::StdCollect(var) => {
            if let Var::Http(o, name) = var {
                if let Some(m) = msg_mut(ctx, *o) {
                    let values: Vec<String> = m
                        .headers
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                        .collect();
                    if values.len() > 1 {
                        let sep = if name.eq_ignore_ascii_case("cookie") {
                            "; "
                        } else {
                            ", "
                        };
                        m.set(name, values.join(sep));
                    }
                }
            }
            Value::Null
        }
        Func::StdNoop => Value::Null,
        Func::DirectorBackend(i) => Value::Backend(Some(BackendRef::Director(*i))),
        Func::DirectorAdd(i) => {
            if let Some(Value::Backend(Some(BackendRef::Backend(b)))) = vals.first() {
                host.director_add(*i, *b, vals.get(1).map_or(1.0, |v| v.num()));
            }
            Value::Null
        }
    })
}

/// `10s`, `1.5h`, `500ms` -> seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let mul = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 604800.0,
        "y" => 31536000.0,
        _ => return None,
    };
    Some(n * mul)
}
