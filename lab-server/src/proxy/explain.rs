//! `lab explain URL` through the proxy: the VCL path (subroutine -> return, and the line of
//! the user's VCL or of builtin.vcl that decided), the hash, and whether the request would
//! hit, miss, pass or hit-for-miss, and why.

use std::net::IpAddr;

use super::cache::{hash_key, ObjKind};
use super::vcl::interp::{run, Action, BackendRef, Ctx, Host, Msg};
use super::vcl::{SubKind, Vcl, BUILTIN_VCL};
use super::Proxy;

/// Health from the running proxy when there is one; no side effects (a `ban()` in the VCL
/// is not applied by an explanation).
struct QuietHost<'a>(Option<&'a Proxy>);

impl Host for QuietHost<'_> {
    fn healthy(&self, b: BackendRef) -> bool {
        self.0.is_none_or(|p| p.loaded.load().backends.healthy(b))
    }
    fn director_add(&self, _: usize, _: usize, _: f64) {}
    fn ban(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn backend_name(&self, b: BackendRef) -> String {
        self.0
            .map(|p| p.loaded.load().backends.name(b))
            .unwrap_or_default()
    }
}

fn where_decided(ctx: &Ctx, base: Option<&std::path::Path>) -> String {
    let Some(span) = &ctx.decided_at else {
        return String::new();
    };
    let line = if span.file.as_os_str() == "builtin.vcl" {
        BUILTIN_VCL
            .lines()
            .nth(span.line.saturating_sub(1) as usize)
            .map(|l| l.trim().to_string())
    } else {
        std::fs::read_to_string(&*span.file).ok().and_then(|t| {
            t.lines()
                .nth(span.line.saturating_sub(1) as usize)
                .map(|l| l.trim().to_string())
        })
    };
    format!(
        " (decidido en {}{})",
        span.location(base),
        line.map(|l| format!(": `{l}`")).unwrap_or_default()
    )
}

fn why_builtin_recv(req: &Msg, action: &Action) -> Option<&'static str> {
    match action {
        Action::Pass if req.method != "GET" && req.method != "HEAD" => {
            Some("builtin.vcl solo usa la caché con GET y HEAD")
        }
        Action::Pass if req.has("authorization") => {
            Some("la petición lleva `Authorization`: builtin.vcl no usa la caché")
        }
        Action::Pass if req.has("cookie") => Some(
            "la petición lleva `Cookie`: builtin.vcl no usa la caché (quita la cookie en vcl_recv si la respuesta es igual para todos)",
        ),
        Action::Pipe => Some("método desconocido para builtin.vcl: la conexión pasa tal cual al backend (pipe)"),
        _ => None,
    }
}

/// Explains what the proxy would do with `method url` for `Host: host` and `headers`.
pub fn explain(
    vcl: &Vcl,
    proxy: Option<&Proxy>,
    method: &str,
    url: &str,
    host: &str,
    headers: &[(String, String)],
    base: Option<&std::path::Path>,
) -> String {
    let mut req = Msg {
        method: method.to_string(),
        url: url.to_string(),
        proto: "HTTP/1.1".into(),
        ..Msg::default()
    };
    req.set("Host", host);
    for (n, v) in headers {
        req.set(n, v.clone());
    }
    req.set("X-Forwarded-For", "127.0.0.1");
    let mut ctx = Ctx {
        req,
        client_ip: Some(IpAddr::from([127, 0, 0, 1])),
        server_ip: Some(IpAddr::from([127, 0, 0, 1])),
        ..Ctx::default()
    };
    let host_impl = QuietHost(proxy);
    let prog = &vcl.program;
    let mut out = format!(
        "Varnish ({} + builtin.vcl), `{method} {url}` con Host: {host}\n",
        crate::config::diagnostic::display_path(&vcl.file, base)
    );
    let original = ctx.req.clone();
    let a = run(prog, SubKind::Recv, &mut ctx, &host_impl);
    out.push_str(&format!(
        "  vcl_recv  -> {}{}\n",
        a.name(),
        where_decided(&ctx, base)
    ));
    let from_builtin = ctx
        .decided_at
        .as_ref()
        .is_some_and(|s| s.file.as_os_str() == "builtin.vcl");
    if from_builtin {
        if let Some(why) = why_builtin_recv(&ctx.req, &a) {
            out.push_str(&format!("            {why}\n"));
        }
    }
    if original.has("cookie") && !ctx.req.has("cookie") {
        out.push_str("            tu VCL quitó la cabecera Cookie\n");
    }
    match a {
        Action::Hash | Action::Purge => {
            ctx.hash.clear();
            ctx.decided_at = None;
            run(prog, SubKind::Hash, &mut ctx, &host_impl);
            out.push_str(&format!(
                "  vcl_hash  -> lookup, hash = {}\n",
                ctx.hash
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ));
            if a == Action::Purge {
                out.push_str("  Resultado: PURGE: se borrarían todas las variantes de ese hash\n");
                return out;
            }
            let key = hash_key(&ctx.hash);
            let Some(p) = proxy else {
                out.push_str("  Resultado: se buscaría en la caché (acierto si ya está guardada y no ha caducado; el laboratorio no está en marcha, así que no se sabe)\n");
                return out;
            };
            let now = p.clock.now();
            match p.store.peek(&key, &ctx.req, now) {
                Some(o) if o.kind == ObjKind::HitMiss && o.is_fresh(now) => out.push_str(&format!(
                    "  Resultado: hit-for-miss: la última respuesta no se podía guardar (Set-Cookie, Cache-Control private/no-cache/no-store, Vary: * o TTL 0); se pedirá al backend durante {:.0} s más, y se guardará si la respuesta cambia\n",
                    o.remaining_ttl(now)
                )),
                Some(o) if o.kind == ObjKind::HitPass && o.is_fresh(now) => out.push_str(&format!(
                    "  Resultado: hit-for-pass (return (pass(...)) en vcl_backend_response): pasa al backend durante {:.0} s más\n",
                    o.remaining_ttl(now)
                )),
                Some(o) if o.is_fresh(now) => out.push_str(&format!(
                    "  Resultado: ACIERTO (hit): objeto {} con Age {:.0} s, le quedan {:.0} s de TTL, servido {} veces\n",
                    o.xid,
                    o.age(now),
                    o.remaining_ttl(now),
                    o.hits.load(std::sync::atomic::Ordering::Relaxed)
                )),
                Some(o) if o.in_grace(now, None) => out.push_str(&format!(
                    "  Resultado: acierto en periodo de gracia: se serviría la copia caducada (Age {:.0} s) mientras se renueva en segundo plano\n",
                    o.age(now)
                )),
                Some(_) => out.push_str("  Resultado: FALLO (miss) con revalidación: hay una copia caducada guardada (keep); se preguntaría al backend con If-None-Match/If-Modified-Since\n"),
                None => out.push_str("  Resultado: FALLO (miss): no está en la caché; se pediría al backend y se guardaría si la respuesta lo permite\n"),
            }
        }
        Action::Pass => {
            out.push_str("  Resultado: PASS: se pide al backend sin mirar ni guardar en la caché\n")
        }
        Action::Pipe => {
            out.push_str("  Resultado: PIPE: la conexión se pasa tal cual al backend\n")
        }
        Action::Synth(c, r) => out.push_str(&format!(
            "  Resultado: respuesta sintética {c} {}\n",
            r.unwrap_or_default()
        )),
        other => out.push_str(&format!("  Resultado: {}\n", other.name())),
    }
    out
}
