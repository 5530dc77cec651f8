//! Two console pages about what the stack does with a request:
//!
//! - `GET /mediciones`: the `lab bench` runs stored in the workspace, as a table and as the
//!   plot (`GET /mediciones.svg`, the same SVG `lab bench --plot` writes).
//! - `GET /explicar?url=...&metodo=...&cabeceras=...`: `lab explain` as a form; with
//!   `formato=json`, the same JSON as `lab explain --json`.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::pages::layout;
use super::{blocking, AppError, Shared};
use crate::progress::Progress;
use crate::render::escape;
use crate::runs::{self, Run};

fn stored_runs(c: &super::Console) -> Result<Vec<Run>, String> {
    Progress::open_workspace(&c.ws.root)
        .and_then(|p| p.runs())
        .map_err(|e| e.to_string())
}

fn when(at: i64) -> String {
    // UTC, like the logs' timestamps would need a time zone database otherwise.
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Days since 1970-01-01 -> (year, month, day) (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `GET /mediciones`.
pub async fn page(State(c): State<Shared>) -> Result<Html<String>, AppError> {
    let all = blocking(move || stored_runs(&c)).await?;
    let mut body = String::from("<h1>Mediciones</h1>\n");
    match all {
        Err(e) => {
            let _ = writeln!(body, "<p class=\"aviso\">{}</p>", escape(&e));
        }
        Ok(all) if all.is_empty() => body.push_str(
            "<p id=\"sin-mediciones\">Todavía no hay mediciones. Haz una en la terminal, con un nombre:</p>\n\
             <pre>lab bench http://localhost:10080/ -c 10 -d 5 --label sin-proxy</pre>\n",
        ),
        Ok(all) => {
            let plotted = runs::latest_per_label(&all);
            body.push_str(
                "<p>La gráfica compara la última medición de cada nombre; guárdala con \
                 <code>lab bench --plot informe.svg</code>.</p>\n\
                 <p><img id=\"grafica\" src=\"/mediciones.svg\" alt=\"Peticiones por segundo y latencias de las mediciones\" width=\"960\" height=\"420\"></p>\n",
            );
            body.push_str(
                "<table id=\"mediciones\"><tr><th>#</th><th>Nombre</th><th>URL</th><th>Cuándo</th>\
                 <th>Conexiones</th><th>Peticiones</th><th>Fallidas</th><th>No 2xx</th><th>pet/s</th>\
                 <th>p50 ms</th><th>p99 ms</th><th>Qué la atendió</th></tr>\n",
            );
            for r in all.iter().rev() {
                let colour = plotted
                    .iter()
                    .position(|p| p.id == r.id)
                    .map(|i| {
                        format!(
                            "<span class=\"muestra\" style=\"background:{}\"></span> ",
                            runs::colour_css(i)
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    body,
                    "<tr data-nombre=\"{label}\"><td>{id}</td><td>{colour}{name}</td><td><code>{url}</code></td>\
                     <td>{at}</td><td>{conn}</td><td>{done}</td><td>{failed}</td><td>{non}</td>\
                     <td class=\"rps\">{rps:.1}</td><td>{p50:.3}</td><td>{p99:.3}</td>\
                     <td><details><summary>ver</summary><pre>{config}</pre></details></td></tr>",
                    label = escape(&r.label),
                    id = r.id,
                    name = escape(&r.name()),
                    url = escape(&r.url),
                    at = when(r.at),
                    conn = r.connections,
                    done = r.completed,
                    failed = r.failed,
                    non = r.non_2xx,
                    rps = r.rps,
                    p50 = r.p50_ms,
                    p99 = r.p99_ms,
                    config = escape(&r.config),
                );
            }
            body.push_str("</table>\n");
        }
    }
    Ok(Html(layout("Mediciones", &body)))
}

/// `GET /mediciones.svg`.
pub async fn svg(State(c): State<Shared>) -> Result<Response, AppError> {
    let svg =
        blocking(move || stored_runs(&c).and_then(|all| runs::svg(&runs::latest_per_label(&all))))
            .await?
            .map_err(|e| AppError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

/// The form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ExplainForm {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub metodo: String,
    /// One `Name: value` per line.
    #[serde(default)]
    pub cabeceras: String,
    /// `json` for the JSON answer.
    #[serde(default)]
    pub formato: String,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PURGE", "BAN",
];

/// `GET /explicar`.
pub async fn explain(
    State(c): State<Shared>,
    Query(form): Query<ExplainForm>,
) -> Result<Response, AppError> {
    let method = if form.metodo.trim().is_empty() {
        "GET".to_string()
    } else {
        form.metodo.trim().to_ascii_uppercase()
    };
    let mut problems = Vec::new();
    let mut headers = Vec::new();
    for line in form.cabeceras.lines().filter(|l| !l.trim().is_empty()) {
        match lab_server::bench::parse_header(line) {
            Ok(h) => headers.push(h),
            Err(e) => problems.push(e),
        }
    }
    if !METHODS.contains(&method.as_str()) {
        problems.push(format!("método desconocido `{method}`"));
    }
    let url = form.url.trim().to_string();
    let question = if url.is_empty() {
        None
    } else {
        match lab_server::http::explain::Question::parse(&url, &method) {
            Ok(q) => Some(q),
            Err(e) => {
                problems.push(e);
                None
            }
        }
    };
    let json = form.formato == "json";
    let answer = match (question, problems.is_empty()) {
        (Some(q), true) => {
            let c2 = std::sync::Arc::clone(&c);
            let h = headers.clone();
            Some(blocking(move || lab_server::explainer::answer(&c2.ws, &q, &h)).await?)
        }
        _ => None,
    };
    if json {
        return Ok(match answer {
            Some(a) => (
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_string_pretty(&a).unwrap_or_default(),
            )
                .into_response(),
            None => (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({ "error": if problems.is_empty() { "falta url".to_string() } else { problems.join("; ") } })
                    .to_string(),
            )
                .into_response(),
        });
    }
    let mut body = String::from(
        "<h1>¿Qué atendería esta petición?</h1>\n<p>Lo mismo que <code>lab explain URL</code>: \
         el sitio virtual, las directivas (fichero:línea), el manejador y, con varnish, si la \
         caché acertaría.</p>\n",
    );
    let options: String = METHODS
        .iter()
        .map(|m| {
            format!(
                "<option{}>{m}</option>",
                if *m == method { " selected" } else { "" }
            )
        })
        .collect();
    let _ = writeln!(
        body,
        "<form id=\"explicar\" method=\"get\" action=\"/explicar\">\
         <p><label>URL <input name=\"url\" size=\"50\" value=\"{url}\" placeholder=\"http://localhost:10080/\"></label> \
         <label>Método <select name=\"metodo\">{options}</select></label></p>\
         <p><label>Cabeceras (una por línea, <code>Nombre: valor</code>)<br>\
         <textarea name=\"cabeceras\" rows=\"3\" cols=\"60\">{headers}</textarea></label></p>\
         <p><button type=\"submit\">Explicar</button></p></form>",
        url = escape(&url),
        headers = escape(&form.cabeceras),
    );
    for p in &problems {
        let _ = writeln!(body, "<p class=\"aviso\">{}</p>", escape(p));
    }
    if let Some(a) = &answer {
        let _ = writeln!(
            body,
            "<h2>Respuesta</h2>\n<pre id=\"respuesta\">{}</pre>",
            escape(a.text().trim_end())
        );
        let q: String = url_query(&url, &method, &form.cabeceras);
        let _ = writeln!(
            body,
            "<p><a href=\"/explicar?{q}&amp;formato=json\">La misma respuesta en JSON</a> (como <code>lab explain --json</code>).</p>"
        );
    }
    Ok(Html(layout("Explicar", &body)).into_response())
}

fn url_query(url: &str, method: &str, headers: &str) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
        out
    };
    format!(
        "url={}&amp;metodo={}&amp;cabeceras={}",
        enc(url),
        enc(method),
        enc(headers)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_are_dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00 UTC");
    }
}
