//! The console: a small web app on 127.0.0.1 that `lab start` serves next to the stack.
//! Plain server-rendered HTML (no scripts needed), so it works offline and in any browser.
//!
//! - `GET /`: chapter list with progress, services with their URLs, tail of the error log.
//! - `GET /leccion/{id}`: a lesson page with its exercises, their status and a «Comprobar»
//!   button each.
//! - `GET /ejercicio/{id}`: one exercise alone (also for exercises whose page is not written).
//! - `POST /ejercicio/{id}/comprobar`: runs the checker, records the attempt, redirects back.
//! - `POST /ejercicio/{id}/preparar`: copies the exercise's starter files (never overwriting).
//! - `GET /mediciones`, `/mediciones.svg`: the stored `lab bench` runs and their plot.
//! - `GET /explicar`: `lab explain` as a form (`formato=json` for the JSON answer).
//! - `GET /pila`, `/pila.json`, `/pila/eventos`: the live picture of the stack (the page
//!   updates itself from server-sent events; the only script of the console).
//! - `GET /registro/{service}`: the tail of a service's error log.
//!
//! Checking lives in the `checker` crate, which depends on this one, so the app receives it
//! as an [`ExerciseChecker`]. Service status comes from the running supervisor through its
//! control socket (or from a function given in tests).

mod live;
mod measure;
mod pages;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use lab_server::supervisor::{self, Request, StatusData};
use lab_server::workspace::Workspace;

use crate::exercise::Tree;
use crate::params::Params;
use crate::progress::Progress;
use crate::Course;

/// The result of checking one exercise, as the console shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckView {
    pub steps: Vec<StepView>,
    /// Points earned (partial credit by step) and the exercise's points.
    pub score: f64,
    pub points: u32,
    /// A note for the student (HTTP checks went to the running lab...).
    pub note: Option<String>,
}

impl CheckView {
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepView {
    pub title: String,
    pub passed: bool,
    /// For a failed step: what was expected and what was found, in Spanish.
    pub expected: Option<String>,
    pub found: Option<String>,
    pub hints: Vec<String>,
}

/// Runs an exercise's checks against a workspace and records the attempt.
pub trait ExerciseChecker: Send + Sync + 'static {
    fn check(&self, ws: &Workspace, course: &Course, exercise: &str) -> Result<CheckView, String>;
}

/// Where the console gets the services' status.
pub type StatusSource = Arc<dyn Fn(&Workspace) -> Result<StatusData, String> + Send + Sync>;

/// The running lab's status through the control socket.
pub fn supervisor_status() -> StatusSource {
    Arc::new(|ws: &Workspace| {
        let resp = supervisor::request(ws, &Request::Status).map_err(|e| e.to_string())?;
        resp.status.ok_or(resp.message)
    })
}

/// What the app needs.
pub struct Console {
    pub ws: Workspace,
    pub course: Arc<Course>,
    pub checker: Arc<dyn ExerciseChecker>,
    pub status: StatusSource,
    /// The last result of each exercise checked from this console (details of failures).
    last: Mutex<BTreeMap<String, CheckView>>,
    /// A one-time message per exercise (the result of «Preparar»).
    notices: Mutex<BTreeMap<String, String>>,
    /// Where the web server answers, asked of the running lab at most once a second.
    web: Mutex<Option<(std::time::Instant, String, String)>>,
}

impl Console {
    pub fn new(
        ws: Workspace,
        course: Arc<Course>,
        checker: Arc<dyn ExerciseChecker>,
        status: StatusSource,
    ) -> Console {
        Console {
            ws,
            course,
            checker,
            status,
            last: Mutex::new(BTreeMap::new()),
            notices: Mutex::new(BTreeMap::new()),
            web: Mutex::new(None),
        }
    }

    fn params(&self, exercise: &crate::Exercise) -> Params {
        let (web, proxy) = self.addresses();
        Params::derive(&self.ws.settings.student, &exercise.id, &exercise.params)
            .with_web(web)
            .with_proxy(proxy)
    }

    /// `ip:port` of the web server's `Listen 80`, as the running lab reports it.
    fn web(&self) -> String {
        self.addresses().0
    }

    /// The web server's and varnish's port-80 addresses (`{{web}}`, `{{proxy}}`), asked of
    /// the running lab at most once a second.
    fn addresses(&self) -> (String, String) {
        let fresh = |(at, _, _): &(std::time::Instant, String, String)| at.elapsed().as_secs() < 1;
        if let Ok(cached) = self.web.lock() {
            if let Some(hit) = cached.as_ref().filter(|c| fresh(c)) {
                return (hit.1.clone(), hit.2.clone());
            }
        }
        let status = (self.status)(&self.ws).ok();
        let web = crate::params::web_address(&self.ws, status.as_ref());
        let proxy = crate::params::proxy_address(&self.ws, status.as_ref());
        if let Ok(mut cached) = self.web.lock() {
            *cached = Some((std::time::Instant::now(), web.clone(), proxy.clone()));
        }
        (web, proxy)
    }

    fn last(&self, id: &str) -> Option<CheckView> {
        self.last.lock().ok().and_then(|m| m.get(id).cloned())
    }

    fn take_notice(&self, id: &str) -> Option<String> {
        self.notices.lock().ok().and_then(|mut m| m.remove(id))
    }
}

type Shared = Arc<Console>;

/// The console's routes.
pub fn app(console: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/estilo.css", get(css))
        .route("/leccion/{*id}", get(lesson))
        .route("/ejercicio/{id}", get(exercise_page))
        .route("/ejercicio/{id}/comprobar", post(check))
        .route("/ejercicio/{id}/preparar", post(prepare))
        .route("/mediciones", get(measure::page))
        .route("/mediciones.svg", get(measure::svg))
        .route("/explicar", get(measure::explain))
        .route("/pila", get(live::page))
        .route("/pila.json", get(live::json))
        .route("/pila/eventos", get(live::events))
        .route("/registro/{name}", get(live::log))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(local_host_only))
        .with_state(console)
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    console: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(console))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An error page in Spanish.
struct AppError(StatusCode, String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = pages::layout(
            "Error",
            &format!(
                "<h1>{}</h1><p>{}</p><p><a href=\"/\">Volver al índice</a></p>",
                self.0.as_u16(),
                crate::render::escape(&self.1)
            ),
        );
        (self.0, Html(body)).into_response()
    }
}

async fn not_found() -> AppError {
    AppError(StatusCode::NOT_FOUND, "Esa página no existe.".into())
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::CSS,
    )
}

/// Runs blocking work (SQLite, the checker, the control socket) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        AppError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("tarea interrumpida: {e}"),
        )
    })
}

async fn index(State(c): State<Shared>) -> Result<Html<String>, AppError> {
    let page = blocking(move || pages::index(&c)).await?;
    Ok(Html(page))
}

async fn lesson(State(c): State<Shared>, Path(id): Path<String>) -> Result<Html<String>, AppError> {
    let id = id.trim_end_matches(".md").trim_end_matches('/').to_string();
    let page = blocking(move || pages::lesson(&c, &id)).await?;
    page.map(Html).ok_or_else(|| {
        AppError(
            StatusCode::NOT_FOUND,
            "No hay ninguna lección con ese nombre.".into(),
        )
    })
}

async fn exercise_page(
    State(c): State<Shared>,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let page = blocking(move || pages::exercise(&c, &id)).await?;
    page.map(Html).ok_or_else(|| {
        AppError(
            StatusCode::NOT_FOUND,
            "No hay ningún ejercicio con ese nombre.".into(),
        )
    })
}

/// Where to go back after a form: the exercise inside its lesson, or its own page.
fn back_to(c: &Console, id: &str) -> String {
    match c.course.exercise(id) {
        Some(e) if c.course.pages.contains_key(&e.chapter) => format!(
            "/leccion/{}#ejercicio-{id}",
            e.chapter.trim_end_matches(".md")
        ),
        _ => format!("/ejercicio/{id}#ejercicio-{id}"),
    }
}

/// Refuses a form posted from another site (a page on the Internet cannot make the
/// student's console run checks or copy files): the browser's `Origin`, when sent, must be
/// the console itself.
fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    if !host.is_empty() && origin.strip_prefix("http://") == Some(host) {
        Ok(())
    } else {
        Err(AppError(
            StatusCode::FORBIDDEN,
            "Este formulario solo se puede enviar desde la propia consola.".into(),
        ))
    }
}

async fn check(
    State(c): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Redirect, AppError> {
    same_origin(&headers)?;
    if c.course.exercise(&id).is_none() {
        return Err(AppError(
            StatusCode::NOT_FOUND,
            format!("No existe el ejercicio `{id}`."),
        ));
    }
    let c2 = Arc::clone(&c);
    let id2 = id.clone();
    let result = blocking(move || c2.checker.check(&c2.ws, &c2.course, &id2)).await?;
    match result {
        Ok(view) => {
            if let Ok(mut m) = c.last.lock() {
                m.insert(id.clone(), view);
            }
        }
        Err(e) => {
            if let Ok(mut m) = c.notices.lock() {
                m.insert(id.clone(), format!("No se pudo comprobar: {e}"));
            }
        }
    }
    Ok(Redirect::to(&back_to(&c, &id)))
}

async fn prepare(
    State(c): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Redirect, AppError> {
    same_origin(&headers)?;
    let Some(e) = c.course.exercise(&id).cloned() else {
        return Err(AppError(
            StatusCode::NOT_FOUND,
            format!("No existe el ejercicio `{id}`."),
        ));
    };
    let c2 = Arc::clone(&c);
    let msg = blocking(move || {
        let params = c2.params(&e);
        match e.apply_tree(Tree::Starter, &c2.ws.root, &params, false) {
            Ok(a) => {
                let mut m = format!("Ficheros de partida copiados: {}.", a.written.len());
                if !a.kept.is_empty() {
                    m.push_str(&format!(
                        " Se dejaron como estaban {} que ya existían.",
                        a.kept.len()
                    ));
                }
                if let Ok(mut p) = Progress::open_workspace(&c2.ws.root) {
                    let _ = p.mark_prepared(&e.id);
                }
                m
            }
            Err(err) => format!("No se pudo preparar: {err}"),
        }
    })
    .await?;
    if let Ok(mut m) = c.notices.lock() {
        m.insert(id.clone(), msg);
    }
    Ok(Redirect::to(&back_to(&c, &id)))
}

/// Refuses every request whose `Host` is a name other than `localhost` or `*.localhost`
/// (DNS rebinding: a site on the Internet whose name is made to resolve to 127.0.0.1 would
/// otherwise reach the console from the student's browser, with its own name in `Host` and
/// in `Origin`). IP literals are fine: no DNS answer can rebind them; so is no `Host` at all
/// (HTTP/1.0 from curl or a script, never a browser).
async fn local_host_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{0}"));
    match host {
        Some(h) if !is_local_host(h) => AppError(
            StatusCode::FORBIDDEN,
            format!(
                "La consola solo responde a http://127.0.0.1 o http://localhost, no a «{h}»: otro nombre que apunte a esta máquina podría ser una página ajena intentando usarla (DNS rebinding)."
            ),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// `localhost`, `*.localhost` or an IP literal, with or without a port.
fn is_local_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:7070`
        return rest.split_once(']').is_some_and(|(ip, port)| {
            ip.parse::<std::net::Ipv6Addr>().is_ok() && valid_port(port)
        });
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if valid_port(&format!(":{port}")) => name,
            _ => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn valid_port(p: &str) -> bool {
    p.is_empty()
        || p.strip_prefix(':')
            .is_some_and(|n| n.parse::<u16>().is_ok())
}

#[cfg(test)]
mod host_tests {
    use super::is_local_host;

    #[test]
    fn only_loopback_names_and_ip_literals_are_local() {
        for ok in [
            "127.0.0.1:7070",
            "localhost:7070",
            "localhost",
            "LOCALHOST.:7070",
            "consola.localhost:7070",
            "[::1]:7070",
            "[::1]",
            "192.168.1.10:7070",
        ] {
            assert!(is_local_host(ok), "{ok}");
        }
        for bad in [
            "malo.example:7070",
            "malo.example",
            "localhost.malo.example:7070",
            "127.0.0.1.nip.io:7070",
            "[::1]x:7070",
            "",
            "\u{0}",
        ] {
            assert!(!is_local_host(bad), "{bad}");
        }
    }
}
