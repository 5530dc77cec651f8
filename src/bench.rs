//! `lab bench`: measures a URL with the built-in load generator (`lab_server::bench`),
//! prints what `ab` prints that students look for, stores the run with its label and the
//! configuration that served it (`lessons::runs`), and draws the stored runs as SVG.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab_server::bench::{self, Live, Plan, Report, Stop, Target};
use lab_server::supervisor::{self, Request, StatusData};
use lab_server::workspace::Workspace;
use lessons::progress::Progress;
use lessons::runs::{self, Run};

use crate::commands::{err, out, Failure};

/// Arguments of `lab bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// URL a medir (`http://localhost:10080/ruta`), o solo `/ruta` para el servidor web del
    /// laboratorio en marcha.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Conexiones simultáneas; cada una manda una petición tras otra (keep-alive).
    #[arg(short = 'c', value_name = "N", default_value_t = 10)]
    pub connections: usize,
    /// Número exacto de peticiones.
    #[arg(short = 'n', value_name = "N", conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Duración en segundos (5 si no se da ni -n ni -d).
    #[arg(short = 'd', value_name = "SEGUNDOS")]
    pub duration: Option<f64>,
    /// Cabecera extra, como `-H 'Cookie: sesion=1'` (se puede repetir).
    #[arg(short = 'H', value_name = "CABECERA")]
    pub headers: Vec<String>,
    /// Nombre de la medición: la consola, las gráficas y `lab check` comparan por nombre.
    #[arg(long, alias = "etiqueta", value_name = "NOMBRE")]
    pub label: Option<String>,
    /// Escribe en un SVG la gráfica de las mediciones guardadas (la última de cada nombre).
    #[arg(long, value_name = "FICHERO.svg")]
    pub plot: Option<PathBuf>,
    /// Lista las mediciones guardadas.
    #[arg(long)]
    pub lista: bool,
    /// Tiempo máximo de cada petición, en segundos.
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub timeout: u64,
    /// No guarda la medición en el espacio de trabajo.
    #[arg(long)]
    pub no_guardar: bool,
}

/// Longest label accepted.
const MAX_LABEL: usize = 40;

fn check_label(l: &str) -> Result<(), String> {
    let ok = |c: char| c.is_alphanumeric() || "-_.+".contains(c);
    if l.is_empty() || l.chars().count() > MAX_LABEL || !l.chars().all(ok) {
        return Err(format!(
            "el nombre `{l}` no vale: usa hasta {MAX_LABEL} letras, cifras, `-`, `_`, `.` o `+` (por ejemplo `con-proxy`)"
        ));
    }
    Ok(())
}

pub fn bench(explicit: Option<&Path>, a: BenchArgs) -> Result<ExitCode, Failure> {
    let ws = Workspace::discover(explicit).ok();
    if let Some(l) = &a.label {
        check_label(l)?;
    }
    let Some(url) = a.url.clone() else {
        if a.plot.is_none() && !a.lista {
            err("error: falta la URL a medir, por ejemplo: lab bench http://localhost:10080/ -c 10 -d 5 --label sin-proxy\n  (o --lista para ver las mediciones guardadas, --plot F.svg para dibujarlas)");
            return Ok(ExitCode::from(2));
        }
        let ws = ws.ok_or(
            "hace falta un espacio de trabajo para ver sus mediciones (`--workspace DIR`)",
        )?;
        let progress = Progress::open_workspace(&ws.root)?;
        let all = progress.runs()?;
        if a.lista {
            out(&list_text(&all));
        }
        if let Some(f) = &a.plot {
            write_plot(f, &all)?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let status = ws
        .as_ref()
        .and_then(|w| supervisor::request(w, &Request::Status).ok())
        .and_then(|r| r.status);
    let url = if url.starts_with('/') {
        let Some(w) = &ws else {
            return Err("una ruta sola (`/x`) necesita un espacio de trabajo: escribe la URL entera, http://máquina:puerto/x".into());
        };
        format!("http://localhost:{}{url}", web_port(w, status.as_ref()))
    } else {
        url
    };
    let target = Target::parse(&url)?;
    let headers = a
        .headers
        .iter()
        .map(|h| bench::parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let stop = match (a.requests, a.duration) {
        (Some(n), _) => Stop::Requests(n),
        (None, Some(d)) if d.is_finite() && d > 0.0 && d <= 3600.0 => {
            Stop::Duration(Duration::from_secs_f64(d))
        }
        (None, Some(d)) => {
            return Err(format!("-d {d}: la duración va de 0 a 3600 segundos").into())
        }
        (None, None) => Stop::Duration(Duration::from_secs(5)),
    };
    if a.connections == 0 || a.connections > 10_000 {
        return Err("-c: entre 1 y 10000 conexiones".into());
    }
    let plan = Plan {
        target: target.clone(),
        connections: a.connections,
        stop,
        headers: headers.clone(),
        timeout: Duration::from_secs(a.timeout.max(1)),
    };
    // One load thread per core, as `wrk -t`; a small runtime of its own draws the progress
    // line and listens for Ctrl-C.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(a.connections);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("no se pudo crear el planificador de tareas: {e}"))?;
    let what = match stop {
        Stop::Requests(n) => format!("{n} peticiones"),
        Stop::Duration(d) => format!("{} s", d.as_secs_f64()),
    };
    out(&format!(
        "Midiendo {} con {} conexiones, {what}{}...",
        target.url(),
        a.connections,
        a.label
            .as_deref()
            .map(|l| format!(" (medición «{l}»)"))
            .unwrap_or_default()
    ));
    let live = Arc::new(Live::default());
    let report = runtime.block_on(async {
        let ticker = tokio::spawn(progress_line(Arc::clone(&live), stop));
        let l2 = Arc::clone(&live);
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                l2.cancel.store(true, Relaxed);
            }
        });
        let l3 = Arc::clone(&live);
        let r = tokio::task::spawn_blocking(move || bench::run_threads(plan, l3, threads))
            .await
            .unwrap_or_else(|e| Err(format!("la medición terminó mal: {e}")));
        ticker.abort();
        ctrl_c.abort();
        r
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    let report = report?;
    out(&report_text(&report, &target));
    if live.cancel.load(Relaxed) {
        err("Medición interrumpida con Ctrl-C: no se guarda.");
        return Ok(ExitCode::FAILURE);
    }
    if a.no_guardar {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(ws) = ws else {
        err("No se guarda: no hay espacio de trabajo (usa --workspace DIR para guardarla).");
        return Ok(ExitCode::SUCCESS);
    };
    let config = served_by(&ws, status.as_ref(), &target, &headers);
    let run = to_run(&report, a.label.as_deref().unwrap_or(""), config);
    let mut progress = Progress::open_workspace(&ws.root)?;
    let id = progress.record_run(&run)?;
    out(&format!(
        "\nGuardada como medición #{id}{}. Compárala en la consola (Mediciones) o con `lab bench --lista`.",
        a.label
            .as_deref()
            .map(|l| format!(" «{l}»"))
            .unwrap_or_default()
    ));
    if let Some(f) = &a.plot {
        write_plot(f, &progress.runs()?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The port of the web server's `Listen 80` (as the running lab reports it, or mapped).
fn web_port(ws: &Workspace, status: Option<&StatusData>) -> u16 {
    lessons::params::web_address(ws, status)
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| ws.map_port(80))
}

fn write_plot(file: &Path, all: &[Run]) -> Result<(), Failure> {
    let svg = runs::svg(&runs::latest_per_label(all))?;
    std::fs::write(file, svg)
        .map_err(|e| format!("no se pudo escribir {}: {e}", file.display()))?;
    out(&format!("Gráfica escrita en {}", file.display()));
    Ok(())
}

/// Redraws the progress line on stderr (only on a terminal) until aborted.
async fn progress_line(live: Arc<Live>, stop: Stop) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let t = start.elapsed().as_secs_f64();
        let done = live.completed.load(Relaxed);
        let goal = match stop {
            Stop::Requests(n) => format!("{done}/{n} peticiones"),
            Stop::Duration(d) => format!("{t:.1}/{:.0} s, {done} peticiones", d.as_secs_f64()),
        };
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[K  {goal}  {:.0} pet/s  {} fallidas  {} no 2xx",
            done as f64 / t.max(0.001),
            live.failed.load(Relaxed),
            live.non_2xx.load(Relaxed)
        );
        let _ = e.flush();
    }
}

fn to_run(r: &Report, label: &str, config: String) -> Run {
    Run {
        id: 0,
        label: label.to_string(),
        url: r.url.clone(),
        at: 0,
        connections: u32::try_from(r.connections).unwrap_or(u32::MAX),
        seconds: r.elapsed.as_secs_f64(),
        completed: r.completed,
        failed: r.failed,
        non_2xx: r.non_2xx,
        bytes: r.bytes,
        rps: r.requests_per_second(),
        kb_per_second: r.transfer_kb_per_second(),
        mean_ms: r.mean_ms(),
        p50_ms: r.percentile_ms(50.0),
        p75_ms: r.percentile_ms(75.0),
        p90_ms: r.percentile_ms(90.0),
        p99_ms: r.percentile_ms(99.0),
        max_ms: r.max_ms(),
        config,
    }
}

/// What served the URL: the service listening on its port, the services running, the
/// Apache modules enabled, and `lab explain`'s summary for the URL.
fn served_by(
    ws: &Workspace,
    status: Option<&StatusData>,
    target: &Target,
    headers: &[(String, String)],
) -> String {
    let mut lines = Vec::new();
    match status {
        Some(s) => {
            let owner = s.services.iter().find(|svc| {
                svc.running
                    && svc.mappings.iter().any(|m| {
                        m.rsplit(':')
                            .next()
                            .and_then(|p| p.trim().parse::<u16>().ok())
                            == Some(target.port)
                    })
            });
            lines.push(match owner {
                Some(svc) => format!("Atiende el puerto {}: {}", target.port, svc.name),
                None => format!(
                    "Atiende el puerto {}: ningún servicio de este laboratorio",
                    target.port
                ),
            });
            let running: Vec<&str> = s
                .services
                .iter()
                .filter(|svc| svc.running)
                .map(|svc| svc.name.as_str())
                .collect();
            lines.push(format!("Servicios en marcha: {}", running.join(", ")));
        }
        None => lines.push("El laboratorio no estaba en marcha (o no respondía)".to_string()),
    }
    if let Ok(loaded) = lab_server::config::load(ws) {
        let mut mods: Vec<&str> = loaded.config.modules.iter().map(String::as_str).collect();
        mods.sort_unstable();
        lines.push(format!("Módulos de Apache: {}", mods.join(" ")));
    }
    let host = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| target.host_header());
    let url = format!("http://{host}{}", target.path);
    if let Ok(q) = lab_server::http::explain::Question::parse(&url, "GET") {
        let answer = lab_server::explainer::answer(ws, &q, headers);
        lines.push(answer.summary());
    }
    lines.join("\n")
}

/// What `ab` prints that students look for, in Spanish.
pub fn report_text(r: &Report, target: &Target) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<32}{v}\n"));
    line(
        "Servidor:",
        r.server
            .clone()
            .unwrap_or_else(|| "(sin cabecera Server)".into()),
    );
    line("URL:", target.url());
    if let Some(n) = r.document_length {
        line("Tamaño del documento:", format!("{n} bytes"));
    }
    line("Conexiones simultáneas:", r.connections.to_string());
    line(
        "Tiempo de la prueba:",
        format!("{:.3} s", r.elapsed.as_secs_f64()),
    );
    line("Peticiones completas:", r.completed.to_string());
    let mut failed = r.failed.to_string();
    if !r.errors.is_empty() {
        let why: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        failed.push_str(&format!(" ({})", why.join(", ")));
    }
    line("Peticiones fallidas:", failed);
    let mut non = r.non_2xx.to_string();
    let others: Vec<String> = r
        .statuses
        .iter()
        .filter(|(k, _)| !(200..300).contains(*k))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if !others.is_empty() {
        non.push_str(&format!(" ({})", others.join(", ")));
    }
    line("Respuestas no 2xx:", non);
    line("Bytes recibidos:", r.bytes.to_string());
    line(
        "Peticiones por segundo:",
        format!("{:.2} [#/s] (media)", r.requests_per_second()),
    );
    line(
        "Tiempo por petición:",
        format!("{:.3} ms (media)", r.mean_ms()),
    );
    if r.completed > 0 && r.elapsed.as_secs_f64() > 0.0 {
        line(
            "",
            format!(
                "{:.3} ms (media entre todas las conexiones)",
                r.elapsed.as_secs_f64() * 1000.0 / r.completed as f64
            ),
        );
    }
    line(
        "Velocidad de transferencia:",
        format!("{:.2} KB/s recibidos", r.transfer_kb_per_second()),
    );
    if r.completed > 0 {
        s.push_str("\nPorcentaje de peticiones atendidas en un tiempo dado (ms)\n");
        for p in [50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0] {
            s.push_str(&format!("  {p:>3.0}%  {:>10.3}\n", r.percentile_ms(p)));
        }
        s.push_str(&format!("  100%  {:>10.3} (la más lenta)\n", r.max_ms()));
    }
    s
}

/// `lab bench --lista`.
fn list_text(all: &[Run]) -> String {
    if all.is_empty() {
        return "Todavía no hay mediciones. Haz una: lab bench http://localhost:10080/ --label sin-proxy".into();
    }
    let mut s = format!(
        "{:>4}  {:<20} {:>10} {:>9} {:>9} {:>8} {:>7}  URL\n",
        "#", "nombre", "pet/s", "p50 ms", "p99 ms", "fallidas", "no 2xx"
    );
    for r in all {
        s.push_str(&format!(
            "{:>4}  {:<20} {:>10.1} {:>9.3} {:>9.3} {:>8} {:>7}  {}\n",
            r.id,
            if r.label.is_empty() { "-" } else { &r.label },
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.failed,
            r.non_2xx,
            r.url
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_words() {
        assert!(check_label("con-proxy").is_ok());
        assert!(check_label("sin_caché.2").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label("con espacio").is_err());
        assert!(check_label(&"x".repeat(41)).is_err());
    }
}
