//! The live picture of the stack: what is configured and running (proxy → web server →
//! WSGI groups / CGI / FastCGI backends → memcached), each box with its requests per
//! second, errors, busy workers and, for caches, hit ratio. `GET /pila` draws it once on
//! the server; `GET /pila/eventos` sends a new picture every second (server-sent events)
//! that the page's small script applies; `GET /pila.json` is one picture for tools.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use lab_server::supervisor::StatusData;
use lab_server::workspace::Workspace;
use serde::Serialize;

use super::pages::layout;
use super::{blocking, AppError, Shared};
use crate::render::escape;

/// One box of the picture.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StackBox {
    /// Stable id (`varnish`, `apache2`, `wsgi:flask`, `memcached`...).
    pub key: String,
    pub title: String,
    /// 0 proxy, 1 web server, 2 what serves the requests, 3 caches behind the apps.
    pub column: u8,
    /// `running`, `down` (enabled but not running), `error` (configuration invalid).
    pub state: String,
    /// Spanish, for people.
    pub state_text: String,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    pub busy: u64,
    /// Hits / (hits + misses), for caches that have seen any lookup.
    pub hit_ratio: Option<f64>,
    /// Where to read about its problems (`/registro/apache2`).
    pub log: Option<String>,
    pub detail: String,
}

/// The whole picture.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Picture {
    /// False when the lab does not answer (then `boxes` is empty and `message` says why).
    pub running: bool,
    pub message: Option<String>,
    pub boxes: Vec<StackBox>,
}

/// Totals from the previous picture, to turn counters into rates.
#[derive(Debug, Default, Clone)]
pub struct Previous {
    at: Option<Instant>,
    requests: BTreeMap<String, u64>,
}

/// Error logs the console shows, by service.
const LOGS: &[(&str, &str)] = &[
    ("apache2", "var/log/apache2/error.log"),
    ("varnish", "var/log/varnish/varnish.log"),
    ("php8.2-fpm", "var/log/php8.2-fpm.log"),
    ("memcached", "var/log/memcached.log"),
];

fn part_title(key: &str) -> (String, &'static str) {
    match key.split_once(':') {
        None if key == "static" => ("Ficheros estáticos".into(), "DocumentRoot, Alias"),
        None if key == "cgi" => ("CGI".into(), "un proceso por petición (mod_cgid)"),
        Some(("wsgi", "")) => ("WSGI embebido".into(), "dentro de los procesos de Apache"),
        Some(("wsgi", g)) => (format!("WSGI daemon «{g}»"), "WSGIDaemonProcess"),
        Some(("php", _)) => ("mod_php".into(), "PHP dentro de Apache"),
        Some(("fcgi", t)) if t.contains("php") => (format!("php-fpm ({t})"), "FastCGI"),
        Some(("fcgi", t)) => (format!("FastCGI {t}"), "mod_proxy_fcgi"),
        _ => (key.to_string(), ""),
    }
}

/// Builds the picture from the running lab's status and the configuration on disk.
pub fn picture(ws: &Workspace, status: Result<StatusData, String>, prev: &mut Previous) -> Picture {
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            *prev = Previous::default();
            return Picture {
                running: false,
                message: Some(format!(
                    "El laboratorio no responde ({e}). Arráncalo con `lab start`."
                )),
                boxes: Vec::new(),
            };
        }
    };
    let now = Instant::now();
    let dt = prev.at.map(|t| now.duration_since(t).as_secs_f64());
    let config = lab_server::config::load(ws);
    let mut boxes = Vec::new();
    let service = |name: &str| status.services.iter().find(|s| s.name == name);
    let log_of = |name: &str| {
        LOGS.iter()
            .any(|(n, _)| *n == name)
            .then(|| format!("/registro/{name}"))
    };
    let state_of = |svc: &lab_server::supervisor::ServiceStatus| {
        if svc.running {
            ("running", "en marcha".to_string())
        } else {
            ("down", "parado: mira su registro de errores".to_string())
        }
    };
    let mut add = |key: &str,
                   title: String,
                   column: u8,
                   (state, state_text): (&str, String),
                   requests: u64,
                   errors: u64,
                   busy: u64,
                   cache: Option<(u64, u64)>,
                   log: Option<String>,
                   detail: String| {
        boxes.push(StackBox {
            key: key.to_string(),
            title,
            column,
            state: state.to_string(),
            state_text,
            requests,
            rps: 0.0,
            errors,
            busy,
            hit_ratio: cache.and_then(|(h, m)| (h + m > 0).then(|| h as f64 / (h + m) as f64)),
            log,
            detail,
        });
    };

    // The proxy, when enabled or running.
    if let Some(v) = service("varnish").filter(|s| s.enabled || s.running) {
        let c = v.counters.unwrap_or_default();
        add(
            "varnish",
            "varnish (caché HTTP)".into(),
            0,
            state_of(v),
            c.requests,
            c.errors,
            c.busy_workers,
            c.hits.zip(c.misses),
            log_of("varnish"),
            v.urls.first().cloned().unwrap_or_default(),
        );
    }

    // The web server.
    let apache = service("apache2");
    let mut parts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    if let Some(a) = apache {
        for p in &a.parts {
            parts.insert(p.key.clone(), (p.requests, p.errors, p.busy));
        }
        let c = a.counters.unwrap_or_default();
        let state = match &config {
            Err(diags) => (
                "error",
                format!(
                    "configuración con errores: {}",
                    diags
                        .first()
                        .map(|d| match &d.span {
                            Some(sp) => format!("{} ({})", d.message, sp.location(Some(&ws.root))),
                            None => d.message.clone(),
                        })
                        .unwrap_or_default()
                ),
            ),
            Ok(_) => state_of(a),
        };
        add(
            "apache2",
            "Apache (servidor web)".into(),
            1,
            state,
            c.requests,
            c.errors,
            c.busy_workers,
            None,
            log_of("apache2"),
            a.urls.first().cloned().unwrap_or_default(),
        );
    }

    // What serves the requests: configured parts, and any part that served something.
    if let Ok(loaded) = &config {
        let cfg = &loaded.config;
        parts.entry("static".into()).or_default();
        for d in &cfg.wsgi.daemons {
            parts.entry(format!("wsgi:{}", d.name)).or_default();
        }
        if cfg.has_module("cgid") || cfg.has_module("cgi") {
            parts.entry("cgi".into()).or_default();
        }
    }
    let fpm = service("php8.2-fpm").filter(|s| s.enabled || s.running);
    if fpm.is_some()
        && !parts
            .keys()
            .any(|k| k.starts_with("fcgi:") && k.contains("php"))
    {
        parts.entry("fcgi:php-fpm".into()).or_default();
    }
    let apache_state = apache.map(state_of);
    for (key, (requests, errors, busy)) in &parts {
        let (title, detail) = part_title(key);
        let (state, log) = if key.starts_with("fcgi:") && key.contains("php") {
            match fpm {
                Some(f) => (state_of(f), log_of("php8.2-fpm")),
                None => (
                    (
                        "down",
                        "php8.2-fpm no está activado (`lab service php8.2-fpm enable`)".to_string(),
                    ),
                    log_of("php8.2-fpm"),
                ),
            }
        } else {
            (
                apache_state
                    .clone()
                    .unwrap_or(("down", "Apache parado".to_string())),
                log_of("apache2"),
            )
        };
        add(
            key,
            title,
            2,
            state,
            *requests,
            *errors,
            *busy,
            None,
            log,
            detail.to_string(),
        );
    }

    // Caches behind the applications.
    if let Some(m) = service("memcached").filter(|s| s.enabled || s.running) {
        let c = m.counters.unwrap_or_default();
        add(
            "memcached",
            "memcached".into(),
            3,
            state_of(m),
            c.requests,
            c.errors,
            c.busy_workers,
            c.hits.zip(c.misses),
            log_of("memcached"),
            m.urls.first().cloned().unwrap_or_default(),
        );
    }

    // Rates against the previous picture.
    let mut next = Previous {
        at: Some(now),
        requests: BTreeMap::new(),
    };
    for b in &mut boxes {
        if let (Some(dt), Some(before)) = (dt, prev.requests.get(&b.key)) {
            if dt > 0.0 && b.requests >= *before {
                b.rps = (b.requests - before) as f64 / dt;
            }
        }
        next.requests.insert(b.key.clone(), b.requests);
    }
    *prev = next;
    Picture {
        running: true,
        message: None,
        boxes,
    }
}

fn status_of(c: &super::Console) -> Result<StatusData, String> {
    (c.status)(&c.ws)
}

/// `GET /pila.json`.
pub async fn json(State(c): State<Shared>) -> Result<Response, AppError> {
    let pic = blocking(move || {
        let mut prev = Previous::default();
        picture(&c.ws, status_of(&c), &mut prev)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&pic).unwrap_or_default(),
    )
        .into_response())
}

/// `GET /pila/eventos`: a picture a second, as server-sent events.
pub async fn events(State(c): State<Shared>) -> impl IntoResponse {
    let state = (c, Previous::default(), true);
    let stream = futures_util::stream::unfold(state, |(c, prev, first)| async move {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let c2 = Arc::clone(&c);
        let mut p = prev;
        let (pic, p) = tokio::task::spawn_blocking(move || {
            let pic = picture(&c2.ws, status_of(&c2), &mut p);
            (pic, p)
        })
        .await
        .ok()?;
        let data = serde_json::to_string(&pic).ok()?;
        Some((
            Ok::<Event, Infallible>(Event::default().event("pila").data(data)),
            (c, p, false),
        ))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn box_html(b: &StackBox) -> String {
    let ratio = b
        .hit_ratio
        .map(|r| format!("{:.0} %", r * 100.0))
        .unwrap_or_else(|| "—".into());
    let log = b
        .log
        .as_deref()
        .map(|l| format!(" · <a href=\"{}\">registro</a>", escape(l)))
        .unwrap_or_default();
    format!(
        "<div class=\"caja\" id=\"caja-{key}\" data-clave=\"{key}\" data-estado=\"{state}\">\
         <strong>{title}</strong><br><small class=\"estado\">{state_text}</small>{log}\
         <dl><dt>pet/s</dt><dd class=\"rps\">{rps:.1}</dd>\
         <dt>peticiones</dt><dd class=\"peticiones\">{req}</dd>\
         <dt>errores</dt><dd class=\"errores\">{err}</dd>\
         <dt>ocupados</dt><dd class=\"ocupados\">{busy}</dd>\
         <dt>aciertos</dt><dd class=\"aciertos\">{ratio}</dd></dl>\
         <small class=\"detalle\">{detail}</small></div>",
        key = escape(&b.key),
        state = escape(&b.state),
        title = escape(&b.title),
        state_text = escape(&b.state_text),
        rps = b.rps,
        req = b.requests,
        err = b.errors,
        busy = b.busy,
        detail = escape(&b.detail),
    )
}

/// The picture's boxes in their columns, with arrows between columns.
pub fn picture_html(p: &Picture) -> String {
    if !p.running {
        return format!(
            "<p class=\"aviso\" id=\"pila-aviso\">{}</p>",
            escape(p.message.as_deref().unwrap_or(""))
        );
    }
    let names = ["Proxy", "Servidor web", "Aplicaciones", "Cachés"];
    let mut out = String::from("<div class=\"pila\" id=\"pila\">");
    let mut first = true;
    for (col, name) in names.iter().enumerate() {
        let boxes: Vec<&StackBox> = p
            .boxes
            .iter()
            .filter(|b| usize::from(b.column) == col)
            .collect();
        if boxes.is_empty() {
            continue;
        }
        if !first {
            out.push_str("<div class=\"flecha\">→</div>");
        }
        first = false;
        let _ = write!(out, "<div class=\"columna\"><h3>{name}</h3>");
        for b in boxes {
            out.push_str(&box_html(b));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

/// Applies each new picture to the boxes; a box that appears or disappears reloads the page.
const SCRIPT: &str = r#"<script>
(function () {
  if (!window.EventSource) return;
  var es = new EventSource('/pila/eventos');
  var keys = Array.prototype.map.call(document.querySelectorAll('.caja'), function (e) { return e.dataset.clave; }).join(',');
  es.addEventListener('pila', function (ev) {
    var p = JSON.parse(ev.data);
    var now = p.boxes.map(function (b) { return b.key; }).join(',');
    if (!p.running || now !== keys) { es.close(); location.reload(); return; }
    p.boxes.forEach(function (b) {
      var e = document.getElementById('caja-' + b.key);
      if (!e) return;
      e.dataset.estado = b.state;
      e.querySelector('.estado').textContent = b.state_text;
      e.querySelector('.rps').textContent = b.rps.toFixed(1);
      e.querySelector('.peticiones').textContent = b.requests;
      e.querySelector('.errores').textContent = b.errors;
      e.querySelector('.ocupados').textContent = b.busy;
      e.querySelector('.aciertos').textContent = b.hit_ratio === null ? '—' : Math.round(b.hit_ratio * 100) + ' %';
    });
    document.body.dataset.actualizado = String(Date.now());
  });
})();
</script>"#;

/// `GET /pila`.
pub async fn page(State(c): State<Shared>) -> Result<Html<String>, AppError> {
    let pic = blocking(move || {
        let mut prev = Previous::default();
        picture(&c.ws, status_of(&c), &mut prev)
    })
    .await?;
    let body = format!(
        "<h1>La pila en marcha</h1>\n<p>Lo configurado y en marcha, de la entrada (izquierda) al fondo \
         (derecha). Los números se actualizan cada segundo; lanza <code>lab bench</code> en otra \
         terminal y verás moverse las peticiones por segundo.</p>\n{}\n{SCRIPT}",
        picture_html(&pic)
    );
    Ok(Html(layout("La pila", &body)))
}

/// `GET /registro/{service}`: the last lines of a service's error log.
pub async fn log(
    State(c): State<Shared>,
    Path(name): Path<String>,
) -> Result<Html<String>, AppError> {
    const LINES: usize = 60;
    let Some((_, rel)) = LOGS.iter().find(|(n, _)| *n == name) else {
        return Err(AppError(
            axum::http::StatusCode::NOT_FOUND,
            format!("No hay registro de «{name}»."),
        ));
    };
    let path = c.ws.root.join(rel);
    let text = blocking(move || std::fs::read(&path).ok()).await?;
    let body = match text {
        Some(data) => {
            let text = String::from_utf8_lossy(&data);
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LINES)..];
            format!("<pre class=\"registro\">{}</pre>", escape(&tail.join("\n")))
        }
        None => "<p><em>(todavía no existe)</em></p>".to_string(),
    };
    Ok(Html(layout(
        "Registro",
        &format!(
            "<h1>Registro de {}</h1><p><code>{}</code>, últimas {LINES} líneas.</p>{body}<p><a href=\"/pila\">Volver a la pila</a></p>",
            escape(&name),
            escape(rel)
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_server::supervisor::{Counters, PartCounters, ServiceStatus};

    fn svc(name: &str, running: bool, requests: u64) -> ServiceStatus {
        ServiceStatus {
            name: name.into(),
            enabled: true,
            running,
            urls: vec![],
            mappings: vec![],
            counters: running.then_some(Counters {
                requests,
                hits: (name != "apache2").then_some(3),
                misses: (name != "apache2").then_some(1),
                ..Counters::default()
            }),
            parts: if name == "apache2" {
                vec![PartCounters {
                    key: "wsgi:flask".into(),
                    requests,
                    errors: 1,
                    busy: 2,
                }]
            } else {
                vec![]
            },
        }
    }

    fn status(requests: u64) -> StatusData {
        StatusData {
            workspace: String::new(),
            pid: 1,
            uptime_secs: 1,
            services: vec![
                svc("apache2", true, requests),
                svc("varnish", true, requests * 2),
                svc("memcached", false, 0),
            ],
            vhosts: String::new(),
            console: None,
        }
    }

    #[test]
    fn boxes_follow_the_stack_and_rates_come_from_two_pictures() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), None).unwrap();
        let mut prev = Previous::default();
        let first = picture(&ws, Ok(status(10)), &mut prev);
        let keys: Vec<(&str, u8)> = first
            .boxes
            .iter()
            .map(|b| (b.key.as_str(), b.column))
            .collect();
        assert_eq!(
            keys,
            [
                ("varnish", 0),
                ("apache2", 1),
                ("static", 2),
                ("wsgi:flask", 2),
                ("memcached", 3)
            ]
        );
        assert!(first.boxes.iter().all(|b| b.rps == 0.0));
        let varnish = &first.boxes[0];
        assert_eq!(varnish.hit_ratio, Some(0.75));
        let memcached = &first.boxes[4];
        assert_eq!(memcached.state, "down");
        assert_eq!(memcached.log.as_deref(), Some("/registro/memcached"));
        std::thread::sleep(Duration::from_millis(50));
        let second = picture(&ws, Ok(status(30)), &mut prev);
        let apache = second.boxes.iter().find(|b| b.key == "apache2").unwrap();
        assert!(apache.rps > 0.0, "{apache:?}");
        let flask = second.boxes.iter().find(|b| b.key == "wsgi:flask").unwrap();
        assert_eq!((flask.errors, flask.busy), (1, 2));
        let html = picture_html(&second);
        assert!(html.contains("id=\"caja-wsgi:flask\""), "{html}");
        assert!(html.contains("data-estado=\"down\""), "{html}");
    }

    #[test]
    fn a_broken_configuration_marks_the_web_server() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), None).unwrap();
        std::fs::write(
            ws.root.join("etc/apache2/conf-enabled/roto.conf"),
            "DocumentRot /x\n",
        )
        .unwrap();
        let pic = picture(&ws, Ok(status(1)), &mut Previous::default());
        let apache = pic.boxes.iter().find(|b| b.key == "apache2").unwrap();
        assert_eq!(apache.state, "error", "{apache:?}");
        assert!(apache.state_text.contains("errores"), "{apache:?}");
    }

    #[test]
    fn a_lab_that_does_not_answer_is_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), None).unwrap();
        let pic = picture(&ws, Err("no hay socket".into()), &mut Previous::default());
        assert!(!pic.running);
        assert!(picture_html(&pic).contains("lab start"));
    }
}
