//! mod_status (`SetHandler server-status`): an HTML page in Spanish, and the
//! machine-readable `?auto` form with Apache's field names, which monitoring tools parse.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::http::errors::html_escape;
use crate::http::site::Site;

/// The numbers both forms show.
struct Numbers {
    uptime: u64,
    accesses: u64,
    kbytes: u64,
    busy: u64,
    idle: u64,
    conns: u64,
}

fn numbers(site: &Site) -> Numbers {
    let s = &site.stats;
    let busy = s.busy.load(Ordering::Relaxed);
    let max = u64::from(site.config.mpm.max_request_workers);
    Numbers {
        uptime: s.started.elapsed().as_secs(),
        accesses: s.requests.load(Ordering::Relaxed),
        kbytes: s.bytes.load(Ordering::Relaxed) / 1024,
        busy,
        idle: max.saturating_sub(busy),
        conns: s.connections.load(Ordering::Relaxed),
    }
}

fn per_sec(n: u64, secs: u64) -> f64 {
    n as f64 / secs.max(1) as f64
}

/// `GET /server-status?auto`.
pub fn auto(site: &Site, server_name: &str) -> String {
    let n = numbers(site);
    let mpm = site.config.mpm.kind.module().trim_start_matches("mpm_");
    let mut out = String::new();
    let _ = writeln!(out, "{server_name}");
    let _ = writeln!(out, "ServerVersion: {}", site.config.server_tokens);
    let _ = writeln!(out, "ServerMPM: {mpm}");
    let _ = writeln!(
        out,
        "ParentServerConfigGeneration: {}",
        site.stats.generation.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "ServerUptimeSeconds: {}", n.uptime);
    let _ = writeln!(out, "Total Accesses: {}", n.accesses);
    let _ = writeln!(out, "Total kBytes: {}", n.kbytes);
    let _ = writeln!(out, "Uptime: {}", n.uptime);
    let _ = writeln!(out, "ReqPerSec: {:.6}", per_sec(n.accesses, n.uptime));
    let _ = writeln!(
        out,
        "BytesPerSec: {:.6}",
        per_sec(n.kbytes * 1024, n.uptime)
    );
    let _ = writeln!(out, "BusyWorkers: {}", n.busy);
    let _ = writeln!(out, "IdleWorkers: {}", n.idle);
    let _ = writeln!(out, "ConnsTotal: {}", n.conns);
    let board: String = std::iter::repeat_n('W', n.busy.min(256) as usize)
        .chain(std::iter::repeat_n('_', n.idle.min(256) as usize))
        .collect();
    let _ = writeln!(out, "Scoreboard: {board}");
    out
}

/// `GET /server-status`.
pub fn html(site: &Site, server_name: &str, signature: &str) -> String {
    let n = numbers(site);
    let c = &site.config;
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(
            rows,
            "<tr><th align=\"left\">{k}</th><td>{}</td></tr>",
            html_escape(&v)
        );
    };
    row("Versión del servidor", c.server_tokens.clone());
    row("MPM", c.mpm.kind.module().to_string());
    row(
        "Arrancado",
        crate::http::log::error_time(site.stats.started_at).to_string(),
    );
    row("Tiempo en marcha", format!("{} s", n.uptime));
    row("Peticiones atendidas", n.accesses.to_string());
    row("Tráfico total", format!("{} kB", n.kbytes));
    row(
        "Peticiones por segundo",
        format!("{:.2}", per_sec(n.accesses, n.uptime)),
    );
    row("Trabajadores ocupados", n.busy.to_string());
    row(
        "Trabajadores libres",
        format!(
            "{} (MaxRequestWorkers {})",
            n.idle, c.mpm.max_request_workers
        ),
    );
    row("Conexiones aceptadas", n.conns.to_string());
    row("Sitios virtuales", c.vhosts.len().to_string());
    format!(
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">\n\
         <title>Estado del servidor Apache</title></head><body>\n\
         <h1>Estado del servidor Apache para {}</h1>\n<table>\n{rows}</table>\n\
         <p>Versión para programas: <a href=\"?auto\">?auto</a></p>\n<hr>\n{signature}\n</body></html>\n",
        html_escape(server_name)
    )
}

/// The handler: the HTML page, or `?auto`.
pub fn serve<'a>(call: super::Call<'a, '_>) -> super::Outcome<'a> {
    let site = call.site;
    let name = site.server_name(call.ctx.host);
    let query = call.parts.uri.query();
    let (body, ctype) = if query.is_some_and(|q| q.split('&').any(|p| p == "auto")) {
        (auto(site, name), "text/plain; charset=utf-8")
    } else {
        (
            html(
                site,
                name,
                &super::signature(site, call.ctx.host, call.conn),
            ),
            "text/html; charset=utf-8",
        )
    };
    Ok((
        super::text_response(http::StatusCode::OK, ctype, body, call.parts),
        Some(call.eff),
    ))
}
