//! `kind = "vcl"`: runs a subroutine of the workspace's VCL (the file the varnish unit
//! names with `-f`, with builtin.vcl after it, as the proxy runs it) over a request made up
//! by the check, and looks at what it did: the `return` action, the TTL it set, the
//! headers it left. It can also look at the VCL's structure: how many backends, a director,
//! a probe's URL.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lab_server::proxy::config;
use lab_server::proxy::fetch::rfc_ttl;
use lab_server::proxy::vcl::interp::{self, parse_duration, Action, BackendRef, Ctx, Host, Msg};
use lab_server::proxy::vcl::parser::DirectorKind;
use lab_server::proxy::vcl::SubKind;
use serde::Deserialize;

use super::{regex, CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VclCheck {
    /// Built-in subroutine to run (`vcl_recv`, `vcl_backend_response`...).
    pub sub: Option<String>,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default = "slash")]
    pub url: String,
    /// Request headers (`Host` defaults to `localhost`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "loopback")]
    pub client_ip: String,
    /// For backend subroutines: the backend's answer.
    #[serde(default = "ok")]
    pub beresp_status: u16,
    #[serde(default)]
    pub beresp_headers: BTreeMap<String, String>,
    /// `hash`, `pass`, `purge`, `synth`, `deliver`...
    pub expect_action: Option<String>,
    /// For `synth`/`error`: the status code.
    pub expect_status: Option<u16>,
    /// `beresp.ttl` after the subroutine (`2h`, `3600s`).
    pub expect_ttl: Option<String>,
    pub expect_uncacheable: Option<bool>,
    /// Request headers after the subroutine: name -> regex (`"!"` = absent).
    #[serde(default)]
    pub expect_req_headers: BTreeMap<String, String>,
    /// At least this many backends.
    pub backends_min: Option<usize>,
    /// A director of this kind is created in vcl_init (`round_robin`, `random`, `fallback`).
    pub director: Option<String>,
    /// Every backend has a probe with this URL.
    pub probe_url: Option<String>,
}

fn get() -> String {
    "GET".into()
}
fn slash() -> String {
    "/".into()
}
fn loopback() -> String {
    "127.0.0.1".into()
}
fn ok() -> u16 {
    200
}

struct CheckHost;

impl Host for CheckHost {
    fn healthy(&self, _: BackendRef) -> bool {
        true
    }
    fn director_add(&self, _: usize, _: usize, _: f64) {}
    fn ban(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn backend_name(&self, _: BackendRef) -> String {
        String::new()
    }
}

fn action_text(a: &Action) -> String {
    match a {
        Action::Synth(c, r) | Action::Error(c, r) => match r {
            Some(r) => format!("{}({c}, \"{r}\")", a.name()),
            None => format!("{}({c})", a.name()),
        },
        Action::Fail(e) => format!("fail ({e})"),
        other => other.name().to_string(),
    }
}

impl CheckKind for VclCheck {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(sub) = &self.sub {
            let mut p = format!("{sub} con `{} {}`", self.method, self.url);
            if !self.headers.is_empty() {
                let h: Vec<String> = self.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                p.push_str(&format!(" ({})", h.join(", ")));
            }
            if self.client_ip != "127.0.0.1" {
                p.push_str(&format!(" desde {}", self.client_ip));
            }
            if let Some(a) = &self.expect_action {
                p.push_str(&format!(" hace `return ({a}{})`", self.expect_status.map(|s| format!("({s})")).unwrap_or_default()));
            }
            if let Some(t) = &self.expect_ttl {
                p.push_str(&format!(", con beresp.ttl = {t}"));
            }
            if let Some(u) = self.expect_uncacheable {
                p.push_str(if u { ", sin guardar (uncacheable)" } else { ", guardable" });
            }
            for (h, v) in &self.expect_req_headers {
                if v == "!" {
                    p.push_str(&format!(", quitando `{h}`"));
                } else {
                    p.push_str(&format!(", con `{h}` /{v}/"));
                }
            }
            parts.push(p);
        }
        if let Some(n) = self.backends_min {
            parts.push(format!("el VCL define al menos {n} backends"));
        }
        if let Some(d) = &self.director {
            parts.push(format!("vcl_init crea un director `directors.{d}()`"));
        }
        if let Some(u) = &self.probe_url {
            parts.push(format!("cada backend tiene una sonda (probe) con `.url = \"{u}\"`"));
        }
        format!("el VCL: {}", parts.join("; "))
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(sub) = &self.sub {
            if SubKind::from_name(sub).is_none() {
                return Err(format!("`sub = \"{sub}\"` no es una subrutina de Varnish"));
            }
        }
        for re in self.expect_req_headers.values().filter(|v| *v != "!") {
            regex(re)?;
        }
        if let Some(d) = &self.director {
            if !["round_robin", "random", "fallback"].contains(&d.as_str()) {
                return Err(format!("director desconocido `{d}`"));
            }
        }
        Ok(())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expect = self.describe();
        let loaded = match config::load(cx.ws) {
            Ok(l) => l.config,
            Err(diags) => {
                let first = diags
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| {
                        let at = d.span.as_ref().map(|s| format!(" ({})", s.location(Some(&cx.ws.root)))).unwrap_or_default();
                        format!("{}{at}", d.message)
                    })
                    .unwrap_or_default();
                return Outcome::fail(expect, format!("el VCL no compila: {first}; `lab configtest` lo muestra entero"));
            }
        };
        let prog = &loaded.vcl.program;
        if let Some(n) = self.backends_min {
            if prog.backends.len() < n {
                return Outcome::fail(expect, format!("hay {} backend(s)", prog.backends.len()));
            }
        }
        if let Some(d) = &self.director {
            let kind = match d.as_str() {
                "round_robin" => DirectorKind::RoundRobin,
                "random" => DirectorKind::Random,
                _ => DirectorKind::Fallback,
            };
            if !prog.objects.iter().any(|o| o.kind == kind) {
                return Outcome::fail(expect, format!("vcl_init no crea ningún `directors.{d}()`"));
            }
        }
        if let Some(u) = &self.probe_url {
            for b in &prog.backends {
                match &b.probe {
                    Some(p) if p.url == *u => {}
                    Some(p) => return Outcome::fail(expect, format!("la sonda del backend `{}` pide `{}`", b.name, p.url)),
                    None => return Outcome::fail(expect, format!("el backend `{}` no tiene sonda (`.probe`)", b.name)),
                }
            }
        }
        let Some(sub) = self.sub.as_deref().and_then(SubKind::from_name) else {
            return Outcome::pass(expect, "el VCL compila y tiene esa estructura");
        };
        let mut req = Msg {
            method: self.method.clone(),
            url: self.url.clone(),
            proto: "HTTP/1.1".into(),
            ..Msg::default()
        };
        if !self.headers.keys().any(|k| k.eq_ignore_ascii_case("host")) {
            req.set("Host", "localhost");
        }
        for (k, v) in &self.headers {
            req.set(k, v.clone());
        }
        let ip: IpAddr = self.client_ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let mut ctx = Ctx {
            req: req.clone(),
            bereq: req,
            client_ip: Some(ip),
            server_ip: Some(IpAddr::from([127, 0, 0, 1])),
            ..Ctx::default()
        };
        if matches!(sub, SubKind::BackendResponse | SubKind::BackendError) {
            ctx.beresp.status = self.beresp_status;
            ctx.beresp.reason = "OK".into();
            for (k, v) in &self.beresp_headers {
                ctx.beresp.set(k, v.clone());
            }
            let p = &loaded.params;
            let (ttl, grace, keep, _) = rfc_ttl(&ctx.beresp, 0.0, p.default_ttl, p.default_grace, p.default_keep);
            ctx.ttl = ttl;
            ctx.grace = grace;
            ctx.keep = keep;
        }
        let action = interp::run(prog, sub, &mut ctx, &CheckHost);
        let mut found = format!("{} hace `return ({})`", sub.name(), action_text(&action));
        if matches!(sub, SubKind::BackendResponse | SubKind::BackendError) {
            found.push_str(&format!(", beresp.ttl = {:.0}s{}", ctx.ttl, if ctx.beresp_uncacheable { ", uncacheable" } else { "" }));
        }
        if let Some(a) = &self.expect_action {
            if action.name() != a {
                return Outcome::fail(expect, found);
            }
        }
        if let Some(s) = self.expect_status {
            match &action {
                Action::Synth(c, _) | Action::Error(c, _) if *c == s => {}
                _ => return Outcome::fail(expect, found),
            }
        }
        if let Some(t) = &self.expect_ttl {
            let want = parse_duration(t).unwrap_or(-1.0);
            if (ctx.ttl - want).abs() > 0.5 {
                return Outcome::fail(expect, found);
            }
        }
        if let Some(u) = self.expect_uncacheable {
            if ctx.beresp_uncacheable != u {
                return Outcome::fail(expect, found);
            }
        }
        for (h, want) in &self.expect_req_headers {
            let got = ctx.req.get(h);
            let ok = match (want.as_str(), got) {
                ("!", None) => true,
                ("!", Some(_)) => false,
                (re, Some(v)) => regex(re).is_ok_and(|r| r.is_match(v)),
                (_, None) => false,
            };
            if !ok {
                return Outcome::fail(
                    expect,
                    format!("{found}; tras ella, `{h}` {}", got.map(|v| format!("vale «{v}»")).unwrap_or_else(|| "no está".into())),
                );
            }
        }
        Outcome::pass(expect, found)
    }
}
