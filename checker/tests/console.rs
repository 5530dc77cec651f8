//! The console app with the real checker, driven with `tower::ServiceExt::oneshot` (no
//! socket), over the sample course in `lessons/tests/fixtures/curso`.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lab_server::workspace::{self, Workspace};
use lessons::console::{self, Console};
use lessons::progress::Progress;
use lessons::Course;
use tower::ServiceExt;

fn setup() -> (tempfile::TempDir, Arc<Console>) {
    let tmp = tempfile::tempdir().unwrap();
    let ws: Workspace = workspace::init(&tmp.path().join("ws"), Some("ana")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons/tests/fixtures/curso");
    let course = Arc::new(Course::from_dir(&fixture).unwrap());
    let app = Console::new(
        ws,
        course,
        Arc::new(checker::console::ConsoleChecker),
        console::supervisor_status(),
    );
    (tmp, Arc::new(app))
}

async fn send(c: &Arc<Console>, method: &str, uri: &str) -> (StatusCode, String, String) {
    let resp = console::app(Arc::clone(c))
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

fn page_file(c: &Console) -> std::path::PathBuf {
    let e = c.course.exercise("demo-pagina").unwrap();
    let p = lessons::params::Params::derive("ana", &e.id, &e.params);
    c.ws.root
        .join(format!("var/www/html/{}.html", p.values["pagina"]))
}

#[tokio::test]
async fn the_index_lists_chapters_services_and_the_error_log_tail() {
    let (_t, c) = setup();
    let log = c.ws.root.join("var/log/apache2/error.log");
    let lines: Vec<String> = (1..=30).map(|i| format!("[error] línea {i:02}")).collect();
    std::fs::write(&log, lines.join("\n")).unwrap();
    let (status, _, body) = send(&c, "GET", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<a href=\"/leccion/apache/sitios\">Sitios</a> <span class=\"progreso\">0/1 ejercicios</span>"), "{body}");
    assert!(
        body.contains("Pendiente <em>(todavía no escrita)</em>"),
        "{body}"
    );
    assert!(
        body.contains("<a href=\"/ejercicio/demo-huerfano\">demo-huerfano</a>"),
        "{body}"
    );
    assert!(
        body.contains("no hay ningún laboratorio en marcha"),
        "{body}"
    );
    assert!(body.contains("[error] línea 30"));
    assert!(body.contains("[error] línea 11"));
    assert!(!body.contains("[error] línea 10"), "only the last 20 lines");
}

#[tokio::test]
async fn a_lesson_renders_with_its_exercise_box() {
    let (_t, c) = setup();
    let (status, _, body) = send(&c, "GET", "/leccion/apache/sitios").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_snapshot!("lesson_html", body);
}

#[tokio::test]
async fn comprobar_runs_the_checker_records_and_shows_the_result() {
    let (_t, c) = setup();
    let (status, location, _) = send(&c, "POST", "/ejercicio/demo-pagina/comprobar").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/leccion/apache/sitios#ejercicio-demo-pagina");
    let (_, _, body) = send(&c, "GET", "/leccion/apache/sitios").await;
    assert!(body.contains("data-estado=\"pendiente\""), "{body}");
    assert!(
        body.contains("<strong>0 de 2 pasos superados</strong>"),
        "{body}"
    );
    assert!(
        body.contains("<div>Se encontró: no existe <code>var/www/html/pagina-"),
        "{body}"
    );
    assert!(
        body.contains("class=\"pista\">Pista: Crea <code>var/www/html/pagina-"),
        "{body}"
    );
    let p = Progress::open_workspace(&c.ws.root).unwrap();
    assert_eq!(p.attempts("demo-pagina").unwrap(), 1);
    drop(p);

    std::fs::write(page_file(&c), "<p>hola</p>").unwrap();
    send(&c, "POST", "/ejercicio/demo-pagina/comprobar").await;
    let (_, _, body) = send(&c, "GET", "/leccion/apache/sitios").await;
    assert!(body.contains("data-estado=\"superado\""), "{body}");
    assert!(body.contains("superado ✔ (2/2 pasos)"), "{body}");
    let (_, _, index) = send(&c, "GET", "/").await;
    assert!(index.contains("1/1 ejercicios"), "{index}");
}

#[tokio::test]
async fn preparar_copies_the_starter_without_overwriting() {
    let (_t, c) = setup();
    let (status, location, _) = send(&c, "POST", "/ejercicio/demo-huerfano/preparar").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Its page is not written: back to the exercise's own page.
    assert_eq!(location, "/ejercicio/demo-huerfano#ejercicio-demo-huerfano");
    let (_, _, body) = send(&c, "GET", &location).await;
    assert!(body.contains("Ficheros de partida copiados: 0."), "{body}");
    assert!(Progress::open_workspace(&c.ws.root)
        .unwrap()
        .is_prepared("demo-huerfano")
        .unwrap());
}

#[tokio::test]
async fn unknown_pages_and_exercises_are_spanish_404s() {
    let (_t, c) = setup();
    for uri in ["/nada", "/leccion/no-existe", "/ejercicio/no-existe"] {
        let (status, _, body) = send(&c, "GET", uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body.contains("<html lang=\"es\">"), "{uri}");
        assert!(
            body.contains("no existe") || body.contains("No hay"),
            "{uri}: {body}"
        );
    }
    let (status, _, _) = send(&c, "POST", "/ejercicio/no-existe/comprobar").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused() {
    let (_t, c) = setup();
    let post = |origin: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/ejercicio/demo-pagina/comprobar")
            .header("host", "127.0.0.1:7070")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let resp = console::app(Arc::clone(&c))
        .oneshot(post("http://malo.example"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        Progress::open_workspace(&c.ws.root)
            .unwrap()
            .attempts("demo-pagina")
            .unwrap(),
        0
    );
    let resp = console::app(Arc::clone(&c))
        .oneshot(post("http://127.0.0.1:7070"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        Progress::open_workspace(&c.ws.root)
            .unwrap()
            .attempts("demo-pagina")
            .unwrap(),
        1
    );
}

/// DNS rebinding: a page of `malo.example` whose name now resolves to 127.0.0.1 posts with
/// its own name as `Host` and `Origin`; the console refuses it (and any page under that
/// name), and keeps answering its own names.
#[tokio::test]
async fn requests_for_a_name_that_is_not_local_are_refused() {
    let (_t, c) = setup();
    let req = |method: &str, uri: &str, host: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .header("origin", format!("http://{host}"))
            .body(Body::empty())
            .unwrap()
    };
    for (method, uri) in [("GET", "/"), ("POST", "/ejercicio/demo-pagina/comprobar")] {
        let resp = console::app(Arc::clone(&c))
            .oneshot(req(method, uri, "malo.example:7070"))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method} {uri}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("DNS rebinding"));
    }
    assert_eq!(
        Progress::open_workspace(&c.ws.root)
            .unwrap()
            .attempts("demo-pagina")
            .unwrap(),
        0
    );
    for host in ["127.0.0.1:7070", "localhost:7070", "[::1]:7070"] {
        let resp = console::app(Arc::clone(&c))
            .oneshot(req("GET", "/", host))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{host}");
    }
}
