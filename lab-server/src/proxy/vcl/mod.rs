//! VCL: the configuration language of Varnish, as far as the course and real sites use it.
//!
//! - `lexer.rs`: tokens with line and column.
//! - `parser.rs`: syntax tree, resolved against the variable table below while parsing, so
//!   an unknown variable, a type mismatch or a bad regex is a load-time error.
//! - `check.rs`: the call graph: which variables and `return` actions each subroutine may
//!   use, given every built-in subroutine that reaches it.
//! - `interp.rs`: runs a subroutine over a request's state.
//! - `builtin.vcl`: Varnish 7.1's own `builtin.vcl`, appended after the user's code exactly
//!   as Varnish does, so a subroutine that does not `return` falls through to it.

pub mod check;
pub mod interp;
pub mod lexer;
pub mod parser;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::diagnostic::{Diagnostic, Span};

pub use interp::{Action, Ctx, Msg};
pub use parser::{AclDef, BackendDef, ProbeDef, Program};

/// Varnish 7.1's `builtin.vcl` (`varnishd -x builtin`).
pub const BUILTIN_VCL: &str = include_str!("builtin.vcl");

/// The value types of VCL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Bool,
    Int,
    Real,
    Dur,
    Time,
    Ip,
    Backend,
    Bytes,
    /// `resp.body`, `beresp.body`: set only.
    Body,
    Void,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "STRING",
            Ty::Bool => "BOOL",
            Ty::Int => "INT",
            Ty::Real => "REAL",
            Ty::Dur => "DURATION",
            Ty::Time => "TIME",
            Ty::Ip => "IP",
            Ty::Backend => "BACKEND",
            Ty::Bytes => "BYTES",
            Ty::Body => "BODY",
            Ty::Void => "VOID",
        }
    }
}

/// The built-in subroutines, each one a context with its own variables and actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubKind {
    Recv,
    Pipe,
    Pass,
    Hash,
    Purge,
    Hit,
    Miss,
    Deliver,
    Synth,
    BackendFetch,
    BackendResponse,
    BackendError,
    Init,
    Fini,
}

pub const ALL_SUBS: [SubKind; 14] = [
    SubKind::Recv,
    SubKind::Pipe,
    SubKind::Pass,
    SubKind::Hash,
    SubKind::Purge,
    SubKind::Hit,
    SubKind::Miss,
    SubKind::Deliver,
    SubKind::Synth,
    SubKind::BackendFetch,
    SubKind::BackendResponse,
    SubKind::BackendError,
    SubKind::Init,
    SubKind::Fini,
];

impl SubKind {
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    pub fn name(self) -> &'static str {
        match self {
            SubKind::Recv => "vcl_recv",
            SubKind::Pipe => "vcl_pipe",
            SubKind::Pass => "vcl_pass",
            SubKind::Hash => "vcl_hash",
            SubKind::Purge => "vcl_purge",
            SubKind::Hit => "vcl_hit",
            SubKind::Miss => "vcl_miss",
            SubKind::Deliver => "vcl_deliver",
            SubKind::Synth => "vcl_synth",
            SubKind::BackendFetch => "vcl_backend_fetch",
            SubKind::BackendResponse => "vcl_backend_response",
            SubKind::BackendError => "vcl_backend_error",
            SubKind::Init => "vcl_init",
            SubKind::Fini => "vcl_fini",
        }
    }

    pub fn from_name(name: &str) -> Option<SubKind> {
        ALL_SUBS.iter().copied().find(|s| s.name() == name)
    }

    /// The `return` actions Varnish 7.1 accepts here.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            SubKind::Recv => &["fail", "synth", "restart", "pass", "pipe", "hash", "purge"],
            SubKind::Pipe => &["fail", "synth", "pipe"],
            SubKind::Pass => &["fail", "synth", "restart", "fetch"],
            SubKind::Hash => &["fail", "lookup"],
            SubKind::Purge => &["fail", "synth", "restart"],
            SubKind::Hit => &["fail", "synth", "restart", "pass", "deliver"],
            SubKind::Miss => &["fail", "synth", "restart", "pass", "fetch"],
            SubKind::Deliver => &["fail", "synth", "restart", "deliver"],
            SubKind::Synth => &["fail", "restart", "deliver"],
            SubKind::BackendFetch => &["fail", "abandon", "fetch", "error"],
            SubKind::BackendResponse => &["fail", "abandon", "deliver", "retry", "pass", "error"],
            SubKind::BackendError => &["fail", "deliver", "retry"],
            SubKind::Init => &["ok", "fail"],
            SubKind::Fini => &["ok"],
        }
    }
}

/// Names of the subroutines in a context mask, for messages.
pub fn mask_names(mask: u16) -> String {
    let names: Vec<&str> = ALL_SUBS
        .iter()
        .filter(|s| mask & s.bit() != 0)
        .map(|s| s.name())
        .collect();
    if names.is_empty() {
        "ninguna subrutina".to_string()
    } else {
        names.join(", ")
    }
}

const fn bits(subs: &[SubKind]) -> u16 {
    let mut m = 0u16;
    let mut i = 0;
    while i < subs.len() {
        m |= 1 << (subs[i] as u16);
        i += 1;
    }
    m
}

use SubKind as S;
pub const CLIENT: u16 = bits(&[
    S::Recv,
    S::Pipe,
    S::Pass,
    S::Hash,
    S::Purge,
    S::Hit,
    S::Miss,
    S::Deliver,
    S::Synth,
]);
pub const BACKEND: u16 = bits(&[S::BackendFetch, S::BackendResponse, S::BackendError]);
pub const ALL: u16 = CLIENT | BACKEND | bits(&[S::Init, S::Fini]);
const BERESP: u16 = bits(&[S::BackendResponse, S::BackendError]);
const RESP: u16 = bits(&[S::Deliver, S::Synth]);
const PIPE_BACKEND: u16 = BACKEND | bits(&[S::Pipe]);

/// The HTTP messages a VCL subroutine can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpObj {
    Req,
    Bereq,
    Beresp,
    Obj,
    Resp,
}

impl HttpObj {
    pub fn name(self) -> &'static str {
        match self {
            HttpObj::Req => "req",
            HttpObj::Bereq => "bereq",
            HttpObj::Beresp => "beresp",
            HttpObj::Obj => "obj",
            HttpObj::Resp => "resp",
        }
    }

    /// (readable, writable) contexts of `X.http.*`.
    fn http_masks(self) -> (u16, u16) {
        match self {
            HttpObj::Req => (CLIENT, CLIENT),
            HttpObj::Bereq => (PIPE_BACKEND, PIPE_BACKEND),
            HttpObj::Beresp => (BERESP, BERESP),
            HttpObj::Obj => (bits(&[S::Hit]), 0),
            HttpObj::Resp => (RESP, RESP),
        }
    }
}

/// A VCL variable other than a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ReqUrl,
    ReqMethod,
    ReqProto,
    ReqXid,
    ReqRestarts,
    ReqBackendHint,
    ReqTtl,
    ReqGrace,
    ReqHashAlwaysMiss,
    ReqHashIgnoreBusy,
    ReqCanGzip,
    ReqEsiLevel,
    ReqIsHitmiss,
    ReqIsHitpass,
    BereqUrl,
    BereqMethod,
    BereqProto,
    BereqXid,
    BereqUncacheable,
    BereqBackend,
    BereqRetries,
    BereqBody,
    BerespStatus,
    BerespReason,
    BerespProto,
    BerespTtl,
    BerespGrace,
    BerespKeep,
    BerespUncacheable,
    BerespDoGzip,
    BerespDoGunzip,
    BerespDoStream,
    BerespBody,
    BerespWas304,
    BerespAge,
    BerespBackendName,
    ObjHits,
    ObjTtl,
    ObjGrace,
    ObjKeep,
    ObjAge,
    ObjStatus,
    ObjReason,
    ObjProto,
    ObjUncacheable,
    RespStatus,
    RespReason,
    RespProto,
    RespBody,
    RespIsStreaming,
    ClientIp,
    ClientIdentity,
    ServerIp,
    ServerHostname,
    ServerIdentity,
    LocalIp,
    RemoteIp,
    Now,
}

/// One row of the variable table: name, field, type, readable, writable, unsettable.
pub struct VarInfo {
    pub name: &'static str,
    pub field: Field,
    pub ty: Ty,
    pub read: u16,
    pub write: u16,
    pub unset: u16,
}

const fn v(name: &'static str, field: Field, ty: Ty, read: u16, write: u16, unset: u16) -> VarInfo {
    VarInfo {
        name,
        field,
        ty,
        read,
        write,
        unset,
    }
}

const DELIVER: u16 = bits(&[S::Deliver]);
const HIT: u16 = bits(&[S::Hit]);
const RECV: u16 = bits(&[S::Recv]);
const BFETCH: u16 = bits(&[S::BackendFetch]);
const BERR: u16 = bits(&[S::BackendError]);
const BRESP: u16 = bits(&[S::BackendResponse]);
const SYNTH: u16 = bits(&[S::Synth]);

/// Varnish 7.1's variables (vcl-var(7)), with where each may be read, set and unset.
pub const VARS: &[VarInfo] = &[
    v("req.url", Field::ReqUrl, Ty::Str, CLIENT, CLIENT, 0),
    v("req.method", Field::ReqMethod, Ty::Str, CLIENT, CLIENT, 0),
    v("req.proto", Field::ReqProto, Ty::Str, CLIENT, CLIENT, 0),
    v("req.xid", Field::ReqXid, Ty::Str, CLIENT, 0, 0),
    v("req.restarts", Field::ReqRestarts, Ty::Int, CLIENT, 0, 0),
    v(
        "req.backend_hint",
        Field::ReqBackendHint,
        Ty::Backend,
        CLIENT,
        CLIENT,
        0,
    ),
    v("req.ttl", Field::ReqTtl, Ty::Dur, CLIENT, CLIENT, CLIENT),
    v(
        "req.grace",
        Field::ReqGrace,
        Ty::Dur,
        CLIENT,
        CLIENT,
        CLIENT,
    ),
    v(
        "req.hash_always_miss",
        Field::ReqHashAlwaysMiss,
        Ty::Bool,
        RECV,
        RECV,
        0,
    ),
    v(
        "req.hash_ignore_busy",
        Field::ReqHashIgnoreBusy,
        Ty::Bool,
        RECV,
        RECV,
        0,
    ),
    v("req.can_gzip", Field::ReqCanGzip, Ty::Bool, CLIENT, 0, 0),
    v("req.esi_level", Field::ReqEsiLevel, Ty::Int, CLIENT, 0, 0),
    v(
        "req.is_hitmiss",
        Field::ReqIsHitmiss,
        Ty::Bool,
        CLIENT,
        0,
        0,
    ),
    v(
        "req.is_hitpass",
        Field::ReqIsHitpass,
        Ty::Bool,
        CLIENT,
        0,
        0,
    ),
    v(
        "bereq.url",
        Field::BereqUrl,
        Ty::Str,
        PIPE_BACKEND,
        PIPE_BACKEND,
        0,
    ),
    v(
        "bereq.method",
        Field::BereqMethod,
        Ty::Str,
        PIPE_BACKEND,
        PIPE_BACKEND,
        0,
    ),
    v(
        "bereq.proto",
        Field::BereqProto,
        Ty::Str,
        PIPE_BACKEND,
        PIPE_BACKEND,
        0,
    ),
    v("bereq.xid", Field::BereqXid, Ty::Str, BACKEND, 0, 0),
    v(
        "bereq.uncacheable",
        Field::BereqUncacheable,
        Ty::Bool,
        BACKEND,
        0,
        0,
    ),
    v(
        "bereq.backend",
        Field::BereqBackend,
        Ty::Backend,
        PIPE_BACKEND,
        PIPE_BACKEND,
        0,
    ),
    v("bereq.retries", Field::BereqRetries, Ty::Int, BACKEND, 0, 0),
    v("bereq.body", Field::BereqBody, Ty::Body, 0, 0, BFETCH),
    v(
        "beresp.status",
        Field::BerespStatus,
        Ty::Int,
        BERESP,
        BERESP,
        0,
    ),
    v(
        "beresp.reason",
        Field::BerespReason,
        Ty::Str,
        BERESP,
        BERESP,
        0,
    ),
    v(
        "beresp.proto",
        Field::BerespProto,
        Ty::Str,
        BERESP,
        BERESP,
        0,
    ),
    v("beresp.ttl", Field::BerespTtl, Ty::Dur, BERESP, BERESP, 0),
    v(
        "beresp.grace",
        Field::BerespGrace,
        Ty::Dur,
        BERESP,
        BERESP,
        0,
    ),
    v("beresp.keep", Field::BerespKeep, Ty::Dur, BERESP, BERESP, 0),
    v(
        "beresp.uncacheable",
        Field::BerespUncacheable,
        Ty::Bool,
        BERESP,
        BERESP,
        0,
    ),
    v(
        "beresp.do_gzip",
        Field::BerespDoGzip,
        Ty::Bool,
        BRESP,
        BRESP,
        0,
    ),
    v(
        "beresp.do_gunzip",
        Field::BerespDoGunzip,
        Ty::Bool,
        BRESP,
        BRESP,
        0,
    ),
    v(
        "beresp.do_stream",
        Field::BerespDoStream,
        Ty::Bool,
        BRESP,
        BRESP,
        0,
    ),
    v("beresp.body", Field::BerespBody, Ty::Body, 0, BERR, 0),
    v("beresp.was_304", Field::BerespWas304, Ty::Bool, BRESP, 0, 0),
    v("beresp.age", Field::BerespAge, Ty::Dur, BERESP, 0, 0),
    v(
        "beresp.backend.name",
        Field::BerespBackendName,
        Ty::Str,
        BERESP,
        0,
        0,
    ),
    v(
        "obj.hits",
        Field::ObjHits,
        Ty::Int,
        bits(&[S::Hit, S::Deliver]),
        0,
        0,
    ),
    v("obj.ttl", Field::ObjTtl, Ty::Dur, HIT, 0, 0),
    v("obj.grace", Field::ObjGrace, Ty::Dur, HIT, 0, 0),
    v("obj.keep", Field::ObjKeep, Ty::Dur, HIT, 0, 0),
    v("obj.age", Field::ObjAge, Ty::Dur, HIT, 0, 0),
    v("obj.status", Field::ObjStatus, Ty::Int, HIT, 0, 0),
    v("obj.reason", Field::ObjReason, Ty::Str, HIT, 0, 0),
    v("obj.proto", Field::ObjProto, Ty::Str, HIT, 0, 0),
    v(
        "obj.uncacheable",
        Field::ObjUncacheable,
        Ty::Bool,
        DELIVER,
        0,
        0,
    ),
    v("resp.status", Field::RespStatus, Ty::Int, RESP, RESP, 0),
    v("resp.reason", Field::RespReason, Ty::Str, RESP, RESP, 0),
    v("resp.proto", Field::RespProto, Ty::Str, RESP, RESP, 0),
    v("resp.body", Field::RespBody, Ty::Body, 0, SYNTH, 0),
    v(
        "resp.is_streaming",
        Field::RespIsStreaming,
        Ty::Bool,
        RESP,
        0,
        0,
    ),
    v("client.ip", Field::ClientIp, Ty::Ip, CLIENT | BACKEND, 0, 0),
    v(
        "client.identity",
        Field::ClientIdentity,
        Ty::Str,
        CLIENT | BACKEND,
        CLIENT,
        0,
    ),
    v("server.ip", Field::ServerIp, Ty::Ip, CLIENT | BACKEND, 0, 0),
    v("server.hostname", Field::ServerHostname, Ty::Str, ALL, 0, 0),
    v("server.identity", Field::ServerIdentity, Ty::Str, ALL, 0, 0),
    v("local.ip", Field::LocalIp, Ty::Ip, CLIENT | BACKEND, 0, 0),
    v("remote.ip", Field::RemoteIp, Ty::Ip, CLIENT | BACKEND, 0, 0),
    v("now", Field::Now, Ty::Time, ALL, 0, 0),
];

pub fn var_info(field: Field) -> &'static VarInfo {
    VARS.iter()
        .find(|v| v.field == field)
        .expect("every field is in VARS")
}

/// A variable as used in VCL: a field or a header of one of the HTTP messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Field(Field),
    /// `req.http.X-Forwarded-For`: the message and the header name as written.
    Http(HttpObj, Arc<str>),
}

impl Var {
    pub fn name(&self) -> String {
        match self {
            Var::Field(f) => var_info(*f).name.to_string(),
            Var::Http(o, h) => format!("{}.http.{h}", o.name()),
        }
    }

    pub fn ty(&self) -> Ty {
        match self {
            Var::Field(f) => var_info(*f).ty,
            Var::Http(..) => Ty::Str,
        }
    }

    /// (readable, writable, unsettable) masks.
    pub fn masks(&self) -> (u16, u16, u16) {
        match self {
            Var::Field(f) => {
                let i = var_info(*f);
                (i.read, i.write, i.unset)
            }
            Var::Http(o, _) => {
                let (r, w) = o.http_masks();
                (r, w, w)
            }
        }
    }
}

/// Looks a variable name up: `req.url`, `beresp.http.Cache-Control`...
pub fn lookup_var(name: &str) -> Option<Var> {
    for obj in [
        HttpObj::Req,
        HttpObj::Bereq,
        HttpObj::Beresp,
        HttpObj::Obj,
        HttpObj::Resp,
    ] {
        let prefix = format!("{}.http.", obj.name());
        if let Some(h) = name.strip_prefix(&prefix) {
            if !h.is_empty() {
                return Some(Var::Http(obj, Arc::from(h)));
            }
        }
    }
    VARS.iter()
        .find(|v| v.name == name)
        .map(|v| Var::Field(v.field))
}

/// A loaded, checked VCL program ready to run.
#[derive(Debug)]
pub struct Vcl {
    pub program: Program,
    pub file: PathBuf,
    /// The client-side subroutines a cache hit runs (vcl_recv, vcl_hash, vcl_hit,
    /// vcl_deliver and what they call) are builtin.vcl's alone: the user's VCL adds no
    /// statement to any of them, so a plain hit can skip the interpreter (see
    /// `proxy::fast`).
    pub client_builtin: bool,
}

/// Parses and checks `text` (the user's VCL, from `file`) together with `builtin.vcl`.
pub fn compile(text: &str, file: &Path) -> Result<(Vcl, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = Arc::new(file.to_path_buf());
    let user = parser::parse(text, &file, false)?;
    let builtin_file = Arc::new(PathBuf::from("builtin.vcl"));
    let builtin = parser::parse(BUILTIN_VCL, &builtin_file, true).map_err(|mut d| {
        d.insert(
            0,
            Diagnostic::error(None, "builtin.vcl del laboratorio no compila"),
        );
        d
    })?;
    let user_code: Vec<String> = user
        .subs
        .iter()
        .filter(|s| !s.body.is_empty())
        .map(|s| s.name.clone())
        .collect();
    let program = parser::merge(user, builtin)?;
    let warnings = check::check(&program)?;
    let client_builtin = hit_path_subs(&program)
        .iter()
        .all(|&i| !user_code.contains(&program.subs[i].name));
    Ok((
        Vcl {
            program,
            file: file.to_path_buf(),
            client_builtin,
        },
        warnings,
    ))
}

/// The subroutines a cache hit may run: vcl_recv, vcl_hash, vcl_hit and vcl_deliver, and
/// every subroutine they call.
fn hit_path_subs(prog: &Program) -> Vec<usize> {
    fn calls(stmts: &[parser::Stmt], out: &mut Vec<usize>) {
        for st in stmts {
            match st {
                parser::Stmt::Call { sub, .. } => out.push(*sub),
                parser::Stmt::If {
                    branches,
                    otherwise,
                } => {
                    for (_, b) in branches {
                        calls(b, out);
                    }
                    calls(otherwise, out);
                }
                _ => {}
            }
        }
    }
    let mut seen: Vec<usize> = [SubKind::Recv, SubKind::Hash, SubKind::Hit, SubKind::Deliver]
        .iter()
        .filter_map(|k| prog.entry.get(k).copied())
        .collect();
    let mut at = 0;
    while at < seen.len() {
        let mut next = Vec::new();
        calls(&prog.subs[seen[at]].body, &mut next);
        for i in next {
            if i < prog.subs.len() && !seen.contains(&i) {
                seen.push(i);
            }
        }
        at += 1;
    }
    seen
}

/// Loads the VCL file at `path`.
pub fn load_file(path: &Path, shown: &Path) -> Result<(Vcl, Vec<Diagnostic>), Vec<Diagnostic>> {
    match std::fs::read_to_string(path) {
        Ok(text) => compile(&text, path),
        Err(e) => Err(vec![Diagnostic::error(
            None,
            format!("no se pudo leer el fichero VCL {}: {e}", shown.display()),
        )
        .with_hint("comprueba la opción -f de varnishd en la unidad de systemd")]),
    }
}

/// Whether `ip` matches an acl entry list (the last matching entry decides, like Varnish's
/// most specific match: entries are sorted by prefix length).
pub fn acl_match(acl: &AclDef, ip: IpAddr) -> bool {
    let mut best: Option<(u8, bool)> = None;
    for e in &acl.entries {
        if parser::net_contains(e.addr, e.prefix, ip) && best.is_none_or(|(p, _)| e.prefix >= p) {
            best = Some((e.prefix, !e.negated));
        }
    }
    best.is_some_and(|(_, ok)| ok)
}

/// A span at `tok`.
pub(crate) fn span_at(file: &Arc<PathBuf>, line: u32, column: u32, len: u32) -> Span {
    Span::new(Arc::clone(file), line, column, len)
}
