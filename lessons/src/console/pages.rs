//! The console's HTML pages, rendered on the server.

use std::fmt::Write as _;

use super::{CheckView, Console};
use crate::progress::{ExerciseStatus, Progress};
use crate::render::{escape, fragment_html, to_html};
use crate::Exercise;

pub const CSS: &str = "\
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 0 auto; padding: 1em 1.5em;\n\
  line-height: 1.5; color: #1f2933; }\n\
header { display: flex; gap: 1em; align-items: baseline; border-bottom: 1px solid #cbd2d9; }\n\
header a { color: inherit; text-decoration: none; font-weight: bold; }\n\
pre { background: #f0f4f8; padding: 0.6em; overflow-x: auto; }\n\
code { background: #f0f4f8; padding: 0 0.2em; }\n\
.ejercicio { border: 2px solid #2b6cb0; border-radius: 6px; padding: 0.5em 1em; margin: 1.5em 0; }\n\
.ejercicio[data-estado=superado] { border-color: #2f855a; }\n\
.pasos li.ok::marker { color: #2f855a; }\n\
.pasos li.ko::marker { color: #c53030; }\n\
.marca-ok { color: #2f855a; font-weight: bold; }\n\
.marca-ko { color: #c53030; font-weight: bold; }\n\
.detalle { font-size: 0.92em; margin: 0.2em 0 0.6em; }\n\
.aviso { background: #fefcbf; padding: 0.3em 0.6em; }\n\
.acciones { display: flex; gap: 0.6em; }\n\
button { font-size: 1em; padding: 0.3em 1em; cursor: pointer; }\n\
table { border-collapse: collapse; }\n\
td, th { border: 1px solid #cbd2d9; padding: 0.2em 0.6em; text-align: left; }\n\
.registro { max-height: 20em; white-space: pre-wrap; }\n\
.capitulos li.sub { margin-left: 1.5em; }\n\
header nav { margin-left: auto; }\n\
header nav a { font-weight: normal; text-decoration: underline; }\n\
.pila { display: flex; gap: 0.8em; align-items: center; }\n\
.columna { display: flex; flex-direction: column; gap: 0.6em; }\n\
.columna h3 { margin: 0; font-size: 0.9em; color: #52606d; }\n\
.flecha { font-size: 2em; color: #7b8794; }\n\
.caja { border: 2px solid #2f855a; border-radius: 6px; padding: 0.4em 0.7em; min-width: 11em; }\n\
.caja[data-estado=down] { border-color: #c53030; border-style: dashed; background: #fff5f5; }\n\
.caja[data-estado=error] { border-color: #c53030; background: #fed7d7; }\n\
.caja dl { display: grid; grid-template-columns: auto auto; gap: 0 0.8em; margin: 0.3em 0; }\n\
.caja dt { color: #52606d; } .caja dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }\n\
.muestra { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: middle; }\n";

/// The page around `body`.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · Laboratorio</title>\n<link rel=\"stylesheet\" href=\"/estilo.css\">\n</head>\n<body>\n\
         <header><a href=\"/\">Laboratorio de Apache</a><span>Ejecución de aplicaciones web Python en Apache2</span>\
         <nav><a href=\"/pila\">Pila</a> · <a href=\"/mediciones\">Mediciones</a> · <a href=\"/explicar\">Explicar</a></nav></header>\n\
         <main>\n{body}\n</main>\n</body>\n</html>\n",
        escape(title)
    )
}

fn statuses(
    c: &Console,
) -> (
    std::collections::BTreeMap<String, ExerciseStatus>,
    Option<String>,
) {
    match Progress::open_workspace(&c.ws.root).and_then(|p| p.all()) {
        Ok(all) => (all, None),
        Err(e) => (Default::default(), Some(e.to_string())),
    }
}

fn status_label(e: &Exercise, s: Option<&ExerciseStatus>) -> (&'static str, String) {
    match s {
        None => ("sin-intentos", "sin intentos".to_string()),
        Some(s) if s.attempts == 0 => ("sin-intentos", "sin intentos".to_string()),
        Some(s) => {
            let passed = s.passed_steps();
            if passed == e.steps.len() {
                (
                    "superado",
                    format!("superado ✔ ({passed}/{} pasos)", e.steps.len()),
                )
            } else {
                (
                    "pendiente",
                    format!(
                        "{passed} de {} pasos superados ({} {})",
                        e.steps.len(),
                        s.attempts,
                        if s.attempts == 1 {
                            "intento"
                        } else {
                            "intentos"
                        }
                    ),
                )
            }
        }
    }
}

/// The chapter list with progress, the services and the error log.
pub fn index(c: &Console) -> String {
    let (status, db_error) = statuses(c);
    let mut body = String::from("<h1>Curso</h1>\n");
    if let Some(e) = db_error {
        let _ = writeln!(body, "<p class=\"aviso\">{}</p>", escape(&e));
    }
    body.push_str("<nav><ul class=\"capitulos\">\n");
    for ch in &c.course.chapters {
        let indent = if ch.depth > 0 { " class=\"sub\"" } else { "" };
        let Some(path) = &ch.path else {
            let _ = writeln!(
                body,
                "<li{indent}>{} <em>(borrador)</em></li>",
                escape(&ch.title)
            );
            continue;
        };
        if !c.course.pages.contains_key(path) {
            let _ = writeln!(
                body,
                "<li{indent}>{} <em>(todavía no escrita)</em></li>",
                escape(&ch.title)
            );
            continue;
        }
        let ids = c.course.exercises_in(path);
        let done = ids
            .iter()
            .filter(|id| {
                let e = c.course.exercise(id);
                e.is_some_and(|e| status_label(e, status.get(*id)).0 == "superado")
            })
            .count();
        let progress = if ids.is_empty() {
            String::new()
        } else {
            format!(
                " <span class=\"progreso\">{done}/{} ejercicios</span>",
                ids.len()
            )
        };
        let _ = writeln!(
            body,
            "<li{indent}><a href=\"/leccion/{}\">{}</a>{progress}</li>",
            escape(path.trim_end_matches(".md")),
            escape(&ch.title)
        );
    }
    body.push_str("</ul></nav>\n");
    // Exercises whose page is not written yet are still reachable.
    let orphans: Vec<&Exercise> = c
        .course
        .exercises
        .values()
        .filter(|e| !c.course.pages.contains_key(&e.chapter))
        .collect();
    if !orphans.is_empty() {
        body.push_str("<h2>Ejercicios sin lección todavía</h2>\n<ul>\n");
        for e in orphans {
            let (_, label) = status_label(e, status.get(&e.id));
            let _ = writeln!(
                body,
                "<li><a href=\"/ejercicio/{0}\">{0}</a>: {1} — {2}</li>",
                escape(&e.id),
                escape(&c.params(e).apply(&e.title)),
                escape(&label)
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str(&services(c));
    body.push_str(&error_log(c));
    layout("Curso", &body)
}

/// The services' status with their URLs.
fn services(c: &Console) -> String {
    let mut out = String::from("<h2>Servicios</h2>\n");
    match (c.status)(&c.ws) {
        Ok(s) => {
            out.push_str("<table class=\"servicios\"><tr><th>Servicio</th><th>Estado</th><th>Dirección</th></tr>\n");
            for svc in &s.services {
                let state = match (svc.running, svc.enabled) {
                    (true, _) => "en marcha",
                    (false, true) => "parado",
                    (false, false) => "desactivado en lab.toml",
                };
                let urls: Vec<String> = svc
                    .urls
                    .iter()
                    .zip(svc.mappings.iter().map(Some).chain(std::iter::repeat(None)))
                    .map(|(u, m)| {
                        format!(
                            "<a href=\"{0}\">{0}</a>{1}",
                            escape(u),
                            m.map(|m| format!(" <small>({})</small>", escape(m)))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{state}</td><td>{}</td></tr>",
                    escape(&svc.name),
                    urls.join("<br>")
                );
            }
            out.push_str("</table>\n");
        }
        Err(e) => {
            let _ = writeln!(out, "<p class=\"aviso\">{}</p>", escape(&e));
        }
    }
    out
}

/// The last lines of the workspace's Apache error log.
fn error_log(c: &Console) -> String {
    const LINES: usize = 20;
    let path = c.ws.root.join("var/log/apache2/error.log");
    let mut out = String::from("<h2>Registro de errores</h2>\n");
    let _ = writeln!(
        out,
        "<p><code>var/log/apache2/error.log</code>, últimas {LINES} líneas:</p>"
    );
    match std::fs::read(&path) {
        Ok(data) => {
            let text = String::from_utf8_lossy(&data);
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LINES)..];
            if tail.is_empty() {
                out.push_str("<p><em>(vacío)</em></p>\n");
            } else {
                let _ = writeln!(
                    out,
                    "<pre class=\"registro\">{}</pre>",
                    escape(&tail.join("\n"))
                );
            }
        }
        Err(_) => out.push_str("<p><em>(todavía no existe)</em></p>\n"),
    }
    out
}

/// One exercise's box: statement, status, steps, buttons.
fn exercise_box(c: &Console, e: &Exercise, status: Option<&ExerciseStatus>) -> String {
    let params = c.params(e);
    let last: Option<CheckView> = c.last(&e.id);
    let (state, label) = match &last {
        Some(v) if v.passed() => (
            "superado",
            format!("superado ✔ ({0}/{0} pasos)", v.steps.len()),
        ),
        Some(v) => (
            "pendiente",
            format!(
                "{} de {} pasos superados",
                v.steps.iter().filter(|s| s.passed).count(),
                v.steps.len()
            ),
        ),
        None => status_label(e, status),
    };
    let mut out = format!(
        "<section class=\"ejercicio\" id=\"ejercicio-{id}\" data-estado=\"{state}\">\n\
         <h3>Ejercicio <code>{id}</code>: {title} <small>({points} puntos)</small></h3>\n\
         <div class=\"enunciado\">{statement}</div>\n\
         <p class=\"estado\">Estado: <strong>{label}</strong></p>\n",
        id = escape(&e.id),
        title = escape(&params.apply(&e.title)),
        points = e.points,
        statement = fragment_html(&params.apply(&e.statement)),
        label = escape(&label),
    );
    if let Some(n) = c.take_notice(&e.id) {
        let _ = writeln!(out, "<p class=\"aviso\">{}</p>", escape(&n));
    }
    out.push_str("<ol class=\"pasos\">\n");
    for (i, step) in e.steps.iter().enumerate() {
        let from_last = last.as_ref().and_then(|v| v.steps.get(i));
        let passed = from_last
            .map(|s| Some(s.passed))
            .unwrap_or_else(|| status.and_then(|s| s.steps.get(&(i as u32)).copied()));
        let (class, mark) = match passed {
            Some(true) => ("ok", "<span class=\"marca-ok\">✔</span> "),
            Some(false) => ("ko", "<span class=\"marca-ko\">✘</span> "),
            None => ("nd", ""),
        };
        let _ = write!(
            out,
            "<li class=\"{class}\">{mark}{}",
            escape(&params.apply(&step.title))
        );
        if let Some(s) = from_last.filter(|s| !s.passed) {
            out.push_str("<div class=\"detalle\">");
            if let Some(x) = &s.expected {
                let _ = write!(out, "<div>Se esperaba: {}</div>", code_spans(x));
            }
            if let Some(x) = &s.found {
                let _ = write!(out, "<div>Se encontró: {}</div>", code_spans(x));
            }
            for h in &s.hints {
                let _ = write!(out, "<div class=\"pista\">Pista: {}</div>", inline_md(h));
            }
            out.push_str("</div>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
    if let Some(note) = last.as_ref().and_then(|v| v.note.as_ref()) {
        let _ = writeln!(out, "<p><small>{}</small></p>", escape(note));
    }
    let _ = writeln!(
        out,
        "<div class=\"acciones\">\
         <form method=\"post\" action=\"/ejercicio/{id}/comprobar\">\
         <button type=\"submit\" class=\"comprobar\">Comprobar</button></form>\
         <form method=\"post\" action=\"/ejercicio/{id}/preparar\">\
         <button type=\"submit\" class=\"preparar\">Preparar ficheros de partida</button></form>\
         </div>\n</section>",
        id = escape(&e.id)
    );
    out
}

/// Checker text, escaped, with its `code` spans shown as code.
fn code_spans(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    // An odd number of backticks: keep the text as it was.
    if escaped.matches('`').count() % 2 == 1 {
        return escaped;
    }
    out
}

/// A hint: Markdown without the surrounding paragraph.
fn inline_md(md: &str) -> String {
    let html = fragment_html(md);
    let t = html.trim();
    t.strip_prefix("<p>")
        .and_then(|t| t.strip_suffix("</p>"))
        .unwrap_or(t)
        .to_string()
}

/// A lesson page, by id (`apache/sitios`).
pub fn lesson(c: &Console, id: &str) -> Option<String> {
    let page = format!("{id}.md");
    let md = c.course.pages.get(&page)?;
    let (status, _) = statuses(c);
    let title = c
        .course
        .chapters
        .iter()
        .find(|ch| ch.path.as_deref() == Some(page.as_str()))
        .map(|ch| ch.title.clone())
        .unwrap_or_else(|| id.to_string());
    // The book says 127.0.0.1:10080; show where this lab really answers.
    let md = crate::params::localize(md, &c.web());
    let body = to_html(&md, &page, "/leccion/", |ex_id| {
        match c.course.exercise(ex_id) {
            Some(e) => exercise_box(c, e, status.get(ex_id)),
            None => format!(
                "<p class=\"aviso\">El ejercicio <code>{}</code> todavía no está disponible en esta versión del laboratorio.</p>",
                escape(ex_id)
            ),
        }
    });
    let mut body = body;
    body.push_str(&neighbours(c, &page));
    Some(layout(&title, &body))
}

/// Links to the previous and next written lessons of `SUMMARY.md`.
fn neighbours(c: &Console, page: &str) -> String {
    let written: Vec<(&str, &str)> = c
        .course
        .chapters
        .iter()
        .filter_map(|ch| Some((ch.path.as_deref()?, ch.title.as_str())))
        .filter(|(p, _)| c.course.pages.contains_key(*p))
        .collect();
    let Some(i) = written.iter().position(|(p, _)| *p == page) else {
        return String::new();
    };
    let link = |(p, t): (&str, &str), label: &str| {
        format!(
            "<a href=\"/leccion/{}\">{label}: {}</a>",
            escape(p.trim_end_matches(".md")),
            escape(t)
        )
    };
    let mut parts = Vec::new();
    if i > 0 {
        parts.push(link(written[i - 1], "Anterior"));
    }
    if let Some(next) = written.get(i + 1) {
        parts.push(link(*next, "Siguiente"));
    }
    format!("<nav class=\"vecinas\">{}</nav>\n", parts.join(" · "))
}

/// An exercise alone.
pub fn exercise(c: &Console, id: &str) -> Option<String> {
    let e = c.course.exercise(id)?;
    let (status, _) = statuses(c);
    let mut body = exercise_box(c, e, status.get(id));
    if c.course.pages.contains_key(&e.chapter) {
        let _ = write!(
            body,
            "<p><a href=\"/leccion/{}#ejercicio-{}\">Ver en su lección</a></p>",
            escape(e.chapter.trim_end_matches(".md")),
            escape(id)
        );
    }
    Some(layout(&e.title, &body))
}
