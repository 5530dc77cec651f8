//! The console in a real browser: headless Chromium (Debian's `chromium`) driven through
//! chromedriver's WebDriver HTTP API with a small client written here. The test loads the
//! console, checks the chapter list, the services and an exercise's status, presses
//! «Comprobar», fixes the workspace and presses it again.
//!
//! Without chromium/chromedriver the test prints why and passes locally; under CI (`CI`
//! set) their absence is a failure.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestLab;
use serde_json::{json, Value};

const STUDENT: &str = "ana";

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// chromedriver, stopped on drop.
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver command: an HTTP/1.1 request with a JSON body; returns `value`.
fn wd(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("chromedriver: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = resp.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("chromedriver cerró la conexión".into());
        }
        resp.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&resp[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("sin Content-Length: {head}"))?;
    while resp.len() < head_end + len {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&resp[head_end..]).into_owned();
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if let Some(err) = v["value"]["error"].as_str() {
        return Err(format!("{err}: {}", v["value"]["message"]));
    }
    Ok(v["value"].clone())
}

struct Browser {
    driver: Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = common::free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let driver = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let ready = common::wait_until(Duration::from_secs(20), || {
            wd(driver.addr, "GET", "/status", None)
                .is_ok_and(|v| v["ready"].as_bool() == Some(true))
        });
        assert!(ready, "chromedriver did not become ready");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium.to_str().unwrap(),
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let v = wd(driver.addr, "POST", "/session", Some(caps)).expect("new session");
        let session = v["sessionId"].as_str().expect("sessionId").to_string();
        Browser {
            driver,
            session,
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        wd(
            self.driver.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .expect("navigate");
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .map(|v| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_object()?.values().next()?.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    fn text(&self, css: &str) -> Option<String> {
        let id = self.find_all(css).into_iter().next()?;
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .ok()?
            .as_str()
            .map(String::from)
    }

    fn click(&self, css: &str) {
        let id = self
            .find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"));
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .expect("click");
    }

    /// Waits until the text of `css` satisfies `cond`; returns it (or panics with the last).
    fn wait_text(&self, css: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = self.text(css).unwrap_or_default();
            if cond(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never matched; last text: {t:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.cmd("DELETE", "", None);
    }
}

fn console_url(output: &str) -> String {
    output
        .lines()
        .find(|l| l.trim_start().starts_with("consola"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no console line in:\n{output}"))
        .to_string()
}

#[test]
fn the_console_works_in_headless_chromium() {
    let chromium = find_binary(&["chromium", "chromium-browser"]);
    let chromedriver = find_binary(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        assert!(
            !ci,
            "chromium y chromium-driver deben estar instalados en CI (.ci/run los instala)"
        );
        println!("SKIP the_console_works_in_headless_chromium: chromium/chromedriver not installed (apt-get install chromium chromium-driver)");
        return;
    };

    let mut lab = TestLab::new();
    lab.set_setting("student", &format!("{STUDENT:?}"));
    lab.lab(&["prepare", "apache-a2"]).assert_code(0);
    lab.start();
    let url = console_url(&lab.output());
    let browser = Browser::start(&chromium, &chromedriver);

    // The index: chapter list and the services with their URLs.
    browser.go(&url);
    let chapters = browser.find_all("nav .capitulos li");
    assert!(chapters.len() >= 5, "chapter list: {chapters:?}");
    let nav = browser.wait_text("nav .capitulos", |t| !t.is_empty());
    assert!(nav.contains("Introducción"), "{nav}");
    assert!(nav.contains("Apache 2.4 en Debian"), "{nav}");
    let services = browser.wait_text("table.servicios", |t| t.contains("apache2"));
    assert!(services.contains("en marcha"), "{services}");
    assert!(
        services.contains(&format!("http://127.0.0.1:{}/", lab.port)),
        "{services}"
    );

    // The exercise inside its lesson (reached from the chapter list), not attempted yet.
    let sect = "#ejercicio-apache-a2";
    let course = lessons::Course::embedded().unwrap();
    let e = course.exercise("apache-a2").unwrap();
    if course.pages.contains_key(&e.chapter) {
        let link = format!(
            "nav a[href=\"/leccion/{}\"]",
            e.chapter.trim_end_matches(".md")
        );
        browser.click(&link);
        browser.wait_text("main h1", |t| !t.is_empty());
        assert!(
            browser.url().ends_with(&e.chapter.replace(".md", "")),
            "{}",
            browser.url()
        );
    } else {
        browser.go(&format!("{url}ejercicio/apache-a2"));
    }
    let state = browser.wait_text(&format!("{sect} .estado"), |t| !t.is_empty());
    assert!(state.contains("sin intentos"), "{state}");

    // «Comprobar» on the starter: every step fails, with the reasons.
    browser.click(&format!("{sect} button.comprobar"));
    let state = browser.wait_text(&format!("{sect} .estado"), |t| t.contains("pasos"));
    assert!(state.contains("0 de 4 pasos superados"), "{state}");
    let failed = browser.find_all(&format!("{sect} li.ko"));
    assert_eq!(failed.len(), 4, "failed steps");
    let detail = browser
        .text(&format!("{sect} li.ko .detalle"))
        .unwrap_or_default();
    assert!(
        detail.contains("Se esperaba: el módulo headers está activado"),
        "{detail}"
    );

    // Fix the workspace as the student would, and check again.
    let sitio = lessons::params::Params::derive(STUDENT, &e.id, &e.params).values["sitio"].clone();
    lab.lab(&["a2enmod", "headers"]).assert_code(0);
    lab.lab(&["a2ensite", &sitio]).assert_code(0);
    lab.lab(&["reload"]).assert_code(0);
    browser.click(&format!("{sect} button.comprobar"));
    // Not just "superado": the page before the new answer says "0 de 4 pasos superados".
    let state = browser.wait_text(&format!("{sect} .estado"), |t| t.contains("superado ✔"));
    // The form brought the student back to the exercise.
    assert!(
        browser.url().ends_with("#ejercicio-apache-a2"),
        "{}",
        browser.url()
    );
    assert!(state.contains("superado ✔ (4/4 pasos)"), "{state}");
    assert!(browser.find_all(&format!("{sect} li.ko")).is_empty());
    assert_eq!(browser.find_all(&format!("{sect} li.ok")).len(), 4);

    // The index shows the progress recorded by the console.
    let p = lessons::progress::Progress::open_workspace(&lab.root).unwrap();
    assert_eq!(p.attempts("apache-a2").unwrap(), 2);
}

/// The live picture, the stored runs and the explain form, in a real browser: the picture's
/// numbers move while `lab bench` runs, the run then shows in the table and the plot, and
/// the explain form answers what `lab explain` answers.
#[test]
fn the_live_picture_moves_while_a_bench_runs() {
    let chromium = find_binary(&["chromium", "chromium-browser"]);
    let chromedriver = find_binary(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        assert!(
            !ci,
            "chromium y chromium-driver deben estar instalados en CI (.ci/run los instala)"
        );
        println!("SKIP the_live_picture_moves_while_a_bench_runs: chromium/chromedriver not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let mut lab = TestLab::new();
    lab.start();
    let url = console_url(&lab.output());
    let browser = Browser::start(&chromium, &chromedriver);

    // The picture before any load: the web server and its static files, at rest.
    browser.go(&format!("{url}pila"));
    let rps = browser.wait_text("#caja-apache2 .rps", |t| !t.is_empty());
    assert_eq!(rps, "0.0");
    let state = browser.text("#caja-apache2 .estado").unwrap_or_default();
    assert!(state.contains("en marcha"), "{state}");
    assert!(!browser.find_all("#caja-static").is_empty());

    // A run in the background; the page, without reloading, shows the requests moving.
    let web = format!("http://127.0.0.1:{}/", lab.port);
    let root = lab.root.clone();
    let bench = std::thread::spawn(move || {
        common::run_lab(
            &[
                "--workspace",
                root.to_str().unwrap(),
                "bench",
                &web,
                "-c",
                "4",
                "-d",
                "6",
                "--label",
                "carga",
            ],
            root.parent().unwrap(),
        )
    });
    let moving = browser.wait_text("#caja-apache2 .rps", |t| {
        t.parse::<f64>().is_ok_and(|x| x > 10.0)
    });
    let static_requests = browser.wait_text("#caja-static .peticiones", |t| {
        t.parse::<u64>().is_ok_and(|n| n > 10)
    });
    let out = bench.join().unwrap();
    out.assert_code(0);
    assert!(
        out.stdout.contains("Peticiones fallidas:            0"),
        "{}",
        out.stdout
    );
    println!("picture showed {moving} req/s and {static_requests} static requests");
    // When the run is over, the rate falls back.
    browser.wait_text("#caja-apache2 .rps", |t| t == "0.0");

    // The stored run: a table row and the plot.
    browser.go(&format!("{url}mediciones"));
    let row = browser.wait_text("#mediciones tr[data-nombre=carga]", |t| !t.is_empty());
    assert!(row.contains(&format!("127.0.0.1:{}", lab.port)), "{row}");
    let loaded = browser
        .cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": "var i = document.getElementById('grafica'); return i.complete && i.naturalWidth;", "args": []})),
        )
        .expect("script");
    assert_eq!(
        loaded.as_u64(),
        Some(960),
        "the plot did not load: {loaded}"
    );

    // The explain form.
    browser.go(&format!("{url}explicar"));
    let field = browser
        .find_all("#explicar input[name=url]")
        .into_iter()
        .next()
        .expect("url field");
    browser
        .cmd(
            "POST",
            &format!("/element/{field}/value"),
            Some(json!({"text": "/index.html"})),
        )
        .expect("type the URL");
    browser.click("#explicar button");
    let answer = browser.wait_text("#respuesta", |t| !t.is_empty());
    let terminal = lab.lab(&["explain", "/index.html"]);
    assert_eq!(answer.trim(), terminal.stdout.trim());
    assert!(answer.contains("Manejador:"), "{answer}");
}
