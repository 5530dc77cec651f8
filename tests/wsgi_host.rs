//! The WSGI host called directly (no HTTP listener): a real workspace and configuration, the
//! embedded interpreter in this process and daemon workers that are the real `lab` binary.

mod common;

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::{pyenv, TestLab};
use http_body_util::{BodyExt, Full};
use lab_server::config::ServerConfig;
use lab_server::workspace::Workspace;
use lab_server::wsgi::{match_script_alias, WsgiContext, WsgiHost, WsgiPlace};

const HELLO: &str = r#"
def application(environ, start_response):
    keys = ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME',
            'SERVER_PORT', 'HTTP_X_PRUEBA', 'wsgi.url_scheme', 'mod_wsgi.process_group',
            'wsgi.multiprocess']
    body = '\n'.join('%s=%s' % (k, environ.get(k)) for k in keys).encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])
    return [body]
"#;

/// An app under wsgiref's validator with warnings turned into errors: any PEP 3333 slip of
/// the server (or the app) becomes a 500.
const VALIDATED: &str = r#"
import warnings
warnings.simplefilter('error')
from wsgiref.validate import validator

def app(environ, start_response):
    size = int(environ.get('CONTENT_LENGTH') or 0)
    inp = environ['wsgi.input']
    first = inp.readline()
    rest = inp.read(size - len(first))
    lines = [first] + rest.splitlines(True)
    environ['wsgi.errors'].write('validado: %d líneas\n' % len(lines))
    environ['wsgi.errors'].flush()
    start_response('201 Creado', [('Content-Type', 'text/plain'), ('X-Lineas', str(len(lines)))])
    def body():
        yield b'lineas='
        yield b''
        yield str(len(lines)).encode()
    return body()

application = validator(app)
"#;

const STREAM: &str = r#"
def application(environ, start_response):
    inp = environ['wsgi.input']
    total = 0
    checksum = 0
    biggest = 0
    while True:
        chunk = inp.read(65536)
        if not chunk:
            break
        biggest = max(biggest, len(chunk))
        total += len(chunk)
        checksum = (checksum + sum(chunk)) % (1 << 32)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%d %d %d' % (total, checksum, biggest)).encode()]
"#;

const BROKEN: &str = r#"
def helper(x):
    return 10 / x

def application(environ, start_response):
    if environ['PATH_INFO'] == '/str':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return ['texto, no bytes']
    if environ['PATH_INFO'] == '/cabecera':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Mal', 'a\r\nb')])
        return [b'x']
    if environ['PATH_INFO'] == '/dos-veces':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'ya enviado')
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'x']
    return [str(helper(0)).encode()]
"#;

const CLOSING: &str = r#"
import os
CLOSED = os.path.join(os.path.dirname(__file__), 'closed.txt')

class Body:
    def __init__(self):
        self.parts = [b'a', b'b']
    def __iter__(self):
        for p in self.parts:
            yield p
        raise RuntimeError('fallo a mitad del cuerpo')
    def close(self):
        with open(CLOSED, 'a') as f:
            f.write('cerrado\n')

def application(environ, start_response):
    if environ['PATH_INFO'] == '/fichero':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        f = open(__file__, 'rb')
        return environ['wsgi.file_wrapper'](f, 1024)
    if environ['PATH_INFO'] == '/write':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'escrito ')
        return [b'y devuelto']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return Body()
"#;

struct Lab {
    lab: TestLab,
    cfg: ServerConfig,
    ws: Workspace,
}

fn setup(site: &str, files: &[(&str, &str)]) -> Lab {
    let lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    for (path, text) in files {
        lab.write(path, text);
    }
    lab.add_site("app", site);
    let ws = Workspace::open(&lab.root).expect("workspace");
    let cfg = match lab_server::config::load(&ws) {
        Ok(l) => l.config,
        Err(d) => panic!("configuración no válida: {d:?}"),
    };
    Lab { lab, cfg, ws }
}

fn worker_env() {
    std::env::set_var("LAB_WSGI_WORKER_EXE", common::lab_bin());
}

async fn call<B>(
    l: &Lab,
    host: &WsgiHost,
    method: &str,
    uri: &str,
    body: B,
) -> (u16, http::HeaderMap, Bytes)
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let vhost = &l
        .cfg
        .vhosts
        .iter()
        .find(|v| v.host.server_name.as_deref() == Some("app.localhost"))
        .expect("vhost app.localhost")
        .host;
    let path = uri.split('?').next().unwrap_or(uri);
    let m = match_script_alias(&vhost.wsgi_aliases, path).expect("alias");
    let remote: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let place = std::sync::Arc::new(WsgiPlace::new(&l.cfg, vhost, m.alias));
    let ctx = WsgiContext::from_match(place, (m.script_name, m.path_info), 80, remote, local);
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Host", "app.localhost")
        .header("X-Prueba", "ñ")
        .body(body)
        .unwrap();
    let resp = host.handle(req, ctx).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = tokio::time::timeout(Duration::from_secs(30), resp.into_body().collect())
        .await
        .expect("el cuerpo llegó a tiempo")
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (status, headers, body)
}

fn get(_: ()) -> Full<Bytes> {
    Full::new(Bytes::new())
}

fn site(extra: &str, alias: &str) -> String {
    format!(
        "<VirtualHost *:80>\n    ServerName app.localhost\n    {extra}\n    {alias}\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
    )
}

fn error_log(l: &Lab) -> String {
    l.lab.read("var/log/apache2/error.log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_hello_shows_the_environ_split_at_the_alias() {
    let l = setup(
        &site("", "WSGIScriptAlias /hola /var/www/app/hola.wsgi"),
        &[("var/www/app/hola.wsgi", HELLO)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let (status, headers, body) = call(&l, &host, "GET", "/hola/a/b?x=1", get(())).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    for line in [
        "REQUEST_METHOD=GET",
        "SCRIPT_NAME=/hola",
        "PATH_INFO=/a/b",
        "QUERY_STRING=x=1",
        "SERVER_NAME=app.localhost",
        "SERVER_PORT=80",
        // The header's UTF-8 bytes, decoded as latin-1 (native string) then re-encoded.
        "HTTP_X_PRUEBA=Ã±",
        "wsgi.url_scheme=http",
        "mod_wsgi.process_group=",
        // Embedded mode under Apache's event MPM: several processes of several threads.
        "wsgi.multiprocess=True",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "falta {line:?} en:\n{text}"
        );
    }
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_accepts_the_server_and_wsgi_errors_reaches_the_log() {
    let l = setup(
        &site("", "WSGIScriptAlias / /var/www/app/v.wsgi"),
        &[("var/www/app/v.wsgi", VALIDATED)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let body = Full::new(Bytes::from_static(b"uno\ndos\ntres\n"));
    let (status, headers, body) = call(&l, &host, "POST", "/", body).await;
    assert_eq!(
        status,
        201,
        "{}\n{}",
        String::from_utf8_lossy(&body),
        error_log(&l)
    );
    assert_eq!(headers["x-lineas"], "3");
    assert_eq!(&body[..], b"lineas=3");
    assert!(
        error_log(&l).contains("validado: 3 líneas"),
        "{}",
        error_log(&l)
    );
    host.stop();
}

/// A request body that produces `total` bytes in 64 KiB pieces as it is polled.
struct Generated {
    sent: usize,
    total: usize,
}

impl http_body::Body for Generated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.sent >= self.total {
            return Poll::Ready(None);
        }
        let n = (self.total - self.sent).min(65536);
        let start = self.sent;
        let chunk: Vec<u8> = (start..start + n).map(|i| (i % 251) as u8).collect();
        self.sent += n;
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(chunk)))))
    }
}

fn expected_checksum(total: usize) -> u64 {
    (0..total).map(|i| (i % 251) as u64).sum::<u64>() % (1 << 32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_body_streams_through_wsgi_input() {
    let l = setup(
        &site("", "WSGIScriptAlias /subir /var/www/app/s.wsgi"),
        &[("var/www/app/s.wsgi", STREAM)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let total = 10 * 1024 * 1024;
    let (status, _, body) = call(&l, &host, "POST", "/subir", Generated { sent: 0, total }).await;
    assert_eq!(status, 200, "{}", error_log(&l));
    let text = String::from_utf8_lossy(&body).into_owned();
    let parts: Vec<u64> = text.split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts[0], total as u64);
    assert_eq!(parts[1], expected_checksum(total));
    assert!(parts[2] <= 65536);
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_give_500_and_the_log_names_the_line_or_the_pep_3333_rule() {
    let l = setup(
        &site("", "WSGIScriptAlias / /var/www/app/broken.wsgi"),
        &[("var/www/app/broken.wsgi", BROKEN)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let (status, headers, body) = call(&l, &host, "GET", "/", get(())).await;
    assert_eq!(status, 500);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&body).contains("Error interno del servidor"));
    let log = error_log(&l);
    assert!(
        log.contains("Exception occurred processing WSGI script"),
        "{log}"
    );
    assert!(log.contains("broken.wsgi\", line 3, in helper"), "{log}");
    assert!(log.contains("ZeroDivisionError"), "{log}");
    assert!(log.contains("[client 127.0.0.1:40000]"), "{log}");

    // mod_wsgi's own message, then the lab's line naming the PEP 3333 rule in Spanish.
    for (path, status, message, rule) in [
        (
            "/str",
            500,
            "TypeError: sequence of byte string values expected, value of type str found",
            "debe ser bytes",
        ),
        (
            "/cabecera",
            500,
            "ValueError: carriage return/line feed character present in header value",
            "no puede contener saltos de línea",
        ),
        // The head was already sent: the 200 stands, the response is cut short.
        (
            "/dos-veces",
            200,
            "RuntimeError: headers have already been sent",
            "start_response() ya se había llamado",
        ),
    ] {
        let (got, _, _) = call(&l, &host, "GET", path, get(())).await;
        assert_eq!(got, status, "{path}");
        let log = error_log(&l);
        assert!(log.contains(message), "{path}: {log}");
        assert!(
            log.contains("(laboratorio) PEP 3333") && log.contains(rule),
            "{path}: {log}"
        );
    }
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_always_called_and_file_wrapper_and_write_work() {
    let l = setup(
        &site("", "WSGIScriptAlias / /var/www/app/c.wsgi"),
        &[("var/www/app/c.wsgi", CLOSING)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let (status, _, body) = call(&l, &host, "GET", "/fichero", get(())).await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], CLOSING.as_bytes());
    let (status, _, body) = call(&l, &host, "GET", "/write", get(())).await;
    assert_eq!((status, &body[..]), (200, &b"escrito y devuelto"[..]));
    // The body fails after the head was sent: the response is cut, close() still runs.
    let (status, _, _) = call(&l, &host, "GET", "/", get(())).await;
    assert_eq!(status, 200);
    let closed = l.lab.read("var/www/app/closed.txt");
    assert_eq!(closed, "cerrado\n");
    assert!(error_log(&l).contains("fallo a mitad del cuerpo"));
    host.stop();
}

fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    common::wait_until(limit, &mut cond)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_mode_runs_flask_from_the_venv_and_survives_a_killed_worker() {
    worker_env();
    let venv = pyenv::test_venv();
    let flask_app = "from flask import Flask, request\napp = Flask(__name__)\n\n@app.route('/')\ndef index():\n    import flask, os\n    return 'flask %s pid %d %s' % (flask.__version__, os.getpid(), request.environ['mod_wsgi.process_group'])\n\napplication = app\n";
    let l = setup(
        &site(
            &format!(
                "WSGIDaemonProcess flask processes=2 threads=4 python-home={}",
                venv.display()
            ),
            "WSGIScriptAlias / /var/www/app/flask.wsgi process-group=flask",
        ),
        &[("var/www/app/flask.wsgi", flask_app)],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let (status, _, body) = call(&l, &host, "GET", "/", get(())).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{text}\n{}", error_log(&l));
    assert!(
        text.starts_with("flask ") && text.ends_with(" flask"),
        "{text}"
    );
    let pids = host.group_pids("flask");
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|p| *p > 0), "{pids:?}");
    let served_by: u32 = text.split(' ').nth(3).unwrap().parse().unwrap();
    assert!(pids.contains(&served_by));

    // Kill one worker: it is respawned and later requests succeed.
    let victim = pids[0];
    std::process::Command::new("kill")
        .arg("-9")
        .arg(victim.to_string())
        .status()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || {
            let now = host.group_pids("flask");
            now[0] != 0 && now[0] != victim
        }),
        "el proceso no se reinició"
    );
    for _ in 0..4 {
        let (status, _, _) = call(&l, &host, "GET", "/", get(())).await;
        assert_eq!(status, 200, "{}", error_log(&l));
    }
    let log = error_log(&l);
    assert!(
        log.contains(&format!(
            "el proceso {victim} del grupo 'flask' terminó inesperadamente"
        )),
        "{log}"
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touching_the_script_restarts_the_daemon_group_with_new_code() {
    worker_env();
    let l = setup(
        &site(
            "WSGIDaemonProcess g processes=1 threads=2\n    WSGIProcessGroup g",
            "WSGIScriptAlias / /var/www/app/v.wsgi",
        ),
        &[(
            "var/www/app/v.wsgi",
            "def application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 1']\n",
        )],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let (status, _, body) = call(&l, &host, "GET", "/", get(())).await;
    assert_eq!(
        (status, &body[..]),
        (200, &b"version 1"[..]),
        "{}",
        error_log(&l)
    );
    std::thread::sleep(Duration::from_millis(20));
    l.lab.write(
        "var/www/app/v.wsgi",
        "def application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 2']\n",
    );
    let (status, _, body) = call(&l, &host, "GET", "/", get(())).await;
    assert_eq!(
        (status, &body[..]),
        (200, &b"version 2"[..]),
        "{}",
        error_log(&l)
    );
    assert!(error_log(&l).contains("Force restart of process 'g'."));
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximum_requests_recycles_the_worker() {
    worker_env();
    let l = setup(
        &site(
            "WSGIDaemonProcess g processes=1 threads=1 maximum-requests=2\n    WSGIProcessGroup g",
            "WSGIScriptAlias / /var/www/app/p.wsgi",
        ),
        &[(
            "var/www/app/p.wsgi",
            "import os\ndef application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [str(os.getpid()).encode()]\n",
        )],
    );
    let host = WsgiHost::start(&l.cfg, &l.ws).expect("start");
    let mut pids = Vec::new();
    for _ in 0..5 {
        let (status, _, body) = call(&l, &host, "GET", "/", get(())).await;
        assert_eq!(status, 200, "{}", error_log(&l));
        pids.push(String::from_utf8_lossy(&body).into_owned());
    }
    assert_eq!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2]);
    assert_eq!(pids[2], pids[3]);
    assert_ne!(pids[3], pids[4]);
    host.stop();
}

#[test]
fn configtest_rejects_a_venv_of_another_python_naming_both_versions() {
    let lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    let venv = lab.tmp().join("venv39");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::create_dir_all(venv.join("lib/python3.9/site-packages")).unwrap();
    std::fs::write(venv.join("bin/python"), "").unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.9.2\n",
    )
    .unwrap();
    lab.write("var/www/app/a.wsgi", HELLO);
    lab.add_site(
        "app",
        &site(
            &format!("WSGIDaemonProcess viejo python-home={}", venv.display()),
            "WSGIScriptAlias / /var/www/app/a.wsgi process-group=viejo",
        ),
    );
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", out.all());
    let text = out.all();
    assert!(text.contains("app.conf:3"), "{text}");
    assert!(
        text.contains("Python 3.9") && text.contains("Python 3.11"),
        "{text}"
    );
    assert!(text.contains("python3.11 -m venv [TMP]/venv39"), "{text}");
}

#[test]
fn configtest_names_a_missing_process_group_and_a_bad_option() {
    let lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write("var/www/app/a.wsgi", HELLO);
    lab.add_site(
        "app",
        &site(
            "WSGIDaemonProcess flask procesess=2",
            "WSGIScriptAlias / /var/www/app/a.wsgi process-group=flaks",
        ),
    );
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", out.all());
    let text = out.all();
    assert!(
        text.contains("opción desconocida de WSGIDaemonProcess: `procesess`"),
        "{text}"
    );
    assert!(text.contains("¿Quisiste decir `processes`?"), "{text}");
    assert!(
        text.contains("no hay ningún WSGIDaemonProcess llamado `flaks`"),
        "{text}"
    );
    assert!(text.contains("app.conf:4"), "{text}");
    assert!(
        text.contains("defínelo antes con `WSGIDaemonProcess flaks"),
        "{text}"
    );
}
