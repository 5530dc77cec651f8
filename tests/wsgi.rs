//! mod_wsgi through the real `lab start`: embedded and daemon mode, a real venv with Flask,
//! Bottle and Django from PyPI, errors, supervision and reloading.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{pyenv, wait_until, TestLab};

const HELLO: &str = "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])\n    return [('Hola desde %s%s' % (environ['SCRIPT_NAME'], environ['PATH_INFO'])).encode('utf-8')]\n";

fn wsgi_lab(site: &str, files: &[(&str, &str)]) -> TestLab {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    for (path, text) in files {
        lab.write(path, text);
    }
    lab.add_site("app", site);
    lab.start();
    lab
}

fn vhost(name: &str, body: &str) -> String {
    format!(
        "<VirtualHost *:80>\n    ServerName {name}\n{body}\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
    )
}

fn error_log(lab: &TestLab) -> String {
    lab.read("var/log/apache2/error.log")
}

#[test]
fn embedded_hello_through_the_http_role() {
    let lab = wsgi_lab(
        &vhost(
            "app.localhost",
            "    WSGIScriptAlias /hola /var/www/app/hola.wsgi",
        ),
        &[("var/www/app/hola.wsgi", HELLO)],
    );
    assert!(
        lab.output().contains("mod_wsgi  Python 3."),
        "{}",
        lab.output()
    );
    let r = lab.get_host("/hola/mundo", "app.localhost");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    assert_eq!(r.text(), "Hola desde /hola/mundo");
    // mod_wsgi streams what the application returns: chunked, no Content-Length invented.
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    // Not under the alias: the static files of the default site.
    assert_eq!(lab.get_host("/holanda", "app.localhost").status, 404);
}

#[test]
fn the_scripts_directory_must_grant_access() {
    let lab = wsgi_lab(
        "<VirtualHost *:80>\n    ServerName app.localhost\n    WSGIScriptAlias / /srv/app/hola.wsgi\n</VirtualHost>\n",
        &[("srv/app/hola.wsgi", HELLO)],
    );
    let r = lab.get_host("/", "app.localhost");
    assert_eq!(r.status, 403, "{r}");
    // The line mod_authz_core writes on Debian, word for word.
    assert!(
        wait_until(Duration::from_secs(5), || error_log(&lab)
            .contains("[authz_core:error] [pid ")
            && error_log(&lab)
                .contains("AH01630: client denied by server configuration: ")
            && error_log(&lab).contains("srv/app/hola.wsgi")),
        "{}",
        error_log(&lab)
    );
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_ten_megabyte_post_streams_with_bounded_memory() {
    let app = "def application(environ, start_response):\n    inp = environ['wsgi.input']\n    total = 0\n    for line in inp:\n        total += len(line)\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [str(total).encode()]\n";
    let lab = wsgi_lab(
        &vhost(
            "app.localhost",
            "    WSGIScriptAlias /subir /var/www/app/subir.wsgi",
        ),
        &[("var/www/app/subir.wsgi", app)],
    );
    let pid = lab.pid().unwrap();
    // Warm up (the interpreter and the script load), then measure the peak.
    assert_eq!(lab.get_host("/subir", "app.localhost").status, 200);
    let before = vm_hwm_kib(pid);
    let total = 10 * 1024 * 1024;
    let mut s = TcpStream::connect(lab.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /subir HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: {total}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let line = vec![b'x'; 1023]
        .into_iter()
        .chain([b'\n'])
        .collect::<Vec<u8>>();
    for _ in 0..total / 1024 {
        s.write_all(&line).unwrap();
    }
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "{resp}\n{}",
        error_log(&lab)
    );
    // One chunk with the total, then the last chunk.
    assert!(
        resp.ends_with(&format!(
            "\r\n\r\n{:x}\r\n{total}\r\n0\r\n\r\n",
            total.to_string().len()
        )),
        "{resp}"
    );
    let grew = vm_hwm_kib(pid).saturating_sub(before);
    assert!(
        grew < 6 * 1024,
        "el pico de memoria creció {grew} KiB con un cuerpo de 10 MiB: el cuerpo no se lee en streaming"
    );
}

#[test]
fn an_exception_gives_500_and_the_traceback_with_file_and_line() {
    let app = "def total(items):\n    return sum(items) / len(items)\n\ndef application(environ, start_response):\n    media = total([])\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [str(media).encode()]\n";
    let lab = wsgi_lab(
        &vhost(
            "app.localhost",
            "    WSGIScriptAlias / /var/www/app/media.wsgi",
        ),
        &[("var/www/app/media.wsgi", app)],
    );
    let r = lab.get_host("/", "app.localhost");
    assert_eq!(r.status, 500);
    assert!(r.text().contains("Error interno del servidor"), "{r}");
    let log = error_log(&lab);
    assert!(
        log.contains("[wsgi:error]") && log.contains("Exception occurred processing WSGI script"),
        "{log}"
    );
    assert!(
        log.contains("media.wsgi\", line 5, in application"),
        "{log}"
    );
    assert!(log.contains("media.wsgi\", line 2, in total"), "{log}");
    assert!(log.contains("ZeroDivisionError: division by zero"), "{log}");
}

fn daemon_site(venv: &Path, name: &str, group: &str, script: &str, extra: &str) -> String {
    vhost(
        name,
        &format!(
            "    WSGIDaemonProcess {group} processes=2 threads=4 python-home={} display-name=(wsgi:{group})\n    WSGIProcessGroup {group}\n    WSGIScriptAlias / /var/www/app/{script}\n{extra}",
            venv.display()
        ),
    )
}

const FLASK: &str = "from flask import Flask, request\nimport os\napp = Flask(__name__)\n\n@app.route('/')\ndef index():\n    return 'Flask en el proceso %d' % os.getpid()\n\n@app.route('/eco', methods=['POST'])\ndef eco():\n    return request.get_data()\n\napplication = app\n";

#[test]
fn flask_in_daemon_mode_survives_a_killed_worker_and_reloads_a_touched_script() {
    let venv = pyenv::test_venv();
    let lab = wsgi_lab(
        &daemon_site(&venv, "flask.localhost", "flask", "flask.wsgi", ""),
        &[("var/www/app/flask.wsgi", FLASK)],
    );
    let r = lab.get_host("/", "flask.localhost");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    let pid: u32 = r.text().rsplit(' ').next().unwrap().parse().unwrap();
    assert_ne!(
        pid,
        lab.pid().unwrap(),
        "daemon mode runs outside the lab process"
    );

    let body = "a=1&b=2";
    let r = lab.raw(
        format!("POST /eco HTTP/1.1\r\nHost: flask.localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(),
        false,
    ).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, body));

    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || error_log(&lab).contains(
            &format!("el proceso {pid} del grupo 'flask' terminó inesperadamente")
        )),
        "{}",
        error_log(&lab)
    );
    for _ in 0..6 {
        let r = lab.get_host("/", "flask.localhost");
        assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
        assert!(!r.text().ends_with(&format!(" {pid}")));
    }

    std::thread::sleep(Duration::from_millis(20));
    lab.write(
        "var/www/app/flask.wsgi",
        FLASK.replace("Flask en el proceso", "Flask nuevo en el proceso"),
    );
    let r = lab.get_host("/", "flask.localhost");
    assert!(
        r.text().starts_with("Flask nuevo en el proceso"),
        "{r}\n{}",
        error_log(&lab)
    );
}

#[test]
fn bottle_app_from_the_venv() {
    let venv = pyenv::test_venv();
    let app = "import bottle\n\n@bottle.route('/hola/<nombre>')\ndef hola(nombre):\n    return bottle.template('<b>Hola {{n}}</b>', n=nombre)\n\napplication = bottle.default_app()\n";
    let lab = wsgi_lab(
        &daemon_site(&venv, "bottle.localhost", "bottle", "bottle.wsgi", ""),
        &[("var/www/app/bottle.wsgi", app)],
    );
    let r = lab.get_host("/hola/Ana", "bottle.localhost");
    assert_eq!(r.status, 200, "{r}\n{}", error_log(&lab));
    assert_eq!(r.text(), "<b>Hola Ana</b>");
    assert_eq!(lab.get_host("/nada", "bottle.localhost").status, 404);
}

#[test]
fn django_project_with_static_files() {
    let venv = pyenv::test_venv();
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    let project = lab.path("var/www/app");
    std::fs::create_dir_all(&project).unwrap();
    let ok = Command::new(venv.join("bin/django-admin"))
        .args(["startproject", "mysite"])
        .arg(&project)
        .status()
        .unwrap();
    assert!(ok.success());
    let settings = project.join("mysite/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap();
    let text = text.replace("ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['django.localhost']")
        + "\nSTATIC_ROOT = BASE_DIR / 'static'\n";
    std::fs::write(&settings, text).unwrap();
    let ok = Command::new(venv.join("bin/python"))
        .arg(project.join("manage.py"))
        .args(["collectstatic", "--noinput", "-v", "0"])
        .status()
        .unwrap();
    assert!(ok.success());
    lab.add_site(
        "app",
        &vhost(
            "django.localhost",
            &format!(
                "    Alias /static/ /var/www/app/static/\n    WSGIDaemonProcess django python-home={} python-path=/var/www/app\n    WSGIProcessGroup django\n    WSGIScriptAlias / /var/www/app/mysite/wsgi.py",
                venv.display()
            ),
        ),
    );
    lab.start();
    let r = lab.get_host("/admin/login/", "django.localhost");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), error_log(&lab));
    assert!(r.text().contains("Django"), "{r}");
    let css = lab.get_host("/static/admin/css/base.css", "django.localhost");
    assert_eq!(css.status, 200, "{css}");
    assert!(css
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/css"));
    // A host not in ALLOWED_HOSTS: Django itself answers 400.
    let r = lab.get_host("/admin/login/", "otro.localhost");
    assert_ne!(r.status, 200);
}

#[test]
fn lab_start_refuses_a_venv_of_another_python_naming_both_versions() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    let venv = lab.tmp().join("venv312");
    std::fs::create_dir_all(venv.join("lib/python3.12/site-packages")).unwrap();
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/local/bin\nversion = 3.12.1\n",
    )
    .unwrap();
    lab.write("var/www/app/hola.wsgi", HELLO);
    lab.add_site(
        "app",
        &vhost(
            "app.localhost",
            &format!(
                "    WSGIPythonHome {}\n    WSGIScriptAlias / /var/www/app/hola.wsgi",
                venv.display()
            ),
        ),
    );
    // WSGIPythonHome is server-wide only: inside a VirtualHost it is an error with file:line.
    let out = lab.configtest();
    assert_eq!(out.code, 1);
    assert!(
        out.all()
            .contains("`WSGIPythonHome` no está permitida dentro de <VirtualHost>"),
        "{}",
        out.all()
    );
    lab.add_site(
        "app",
        &vhost(
            "app.localhost",
            "    WSGIScriptAlias / /var/www/app/hola.wsgi",
        ),
    );
    lab.write(
        "etc/apache2/conf-enabled/wsgi-home.conf",
        format!("WSGIPythonHome {}\n", venv.display()),
    );
    let err = lab.try_start().unwrap_err();
    assert!(
        err.contains("Python 3.12") && err.contains("Python 3.11"),
        "{err}"
    );
    assert!(err.contains("wsgi-home.conf:1"), "{err}");
    assert!(err.contains("-m venv"), "{err}");
}

#[test]
fn reload_restarts_only_groups_whose_settings_changed() {
    let app = "import os\ndef application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [str(os.getpid()).encode()]\n";
    let site = |threads_b: u32| {
        format!(
            "<VirtualHost *:80>\n    ServerName app.localhost\n    WSGIDaemonProcess a processes=1 threads=2\n    WSGIDaemonProcess b processes=1 threads={threads_b}\n    WSGIScriptAlias /a /var/www/app/p.wsgi process-group=a\n    WSGIScriptAlias /b /var/www/app/p.wsgi process-group=b\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
        )
    };
    let lab = wsgi_lab(&site(2), &[("var/www/app/p.wsgi", app)]);
    let a1 = lab.get_host("/a", "app.localhost").text();
    let b1 = lab.get_host("/b", "app.localhost").text();
    assert_ne!(a1, b1);
    lab.add_site("app", &site(3));
    lab.lab(&["reload"]).assert_code(0);
    let a2 = lab.get_host("/a", "app.localhost").text();
    let b2 = lab.get_host("/b", "app.localhost").text();
    assert_eq!(a1, a2, "el grupo a no cambió y sigue con el mismo proceso");
    assert_ne!(b1, b2, "el grupo b cambió (threads) y se reinició");
}

#[test]
fn the_books_site_with_files_inside_directory_and_print_to_the_error_log() {
    let app = "import logging\n\ndef application(environ, start_response):\n    print('print desde la aplicación')\n    logging.warning('aviso de logging')\n    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])\n    return ['¡Hola desde WSGI!\\n'.encode('utf-8')]\n";
    let lab = wsgi_lab(
        "<VirtualHost *:80>\n\tServerName wsgi.localhost\n\n\tWSGIScriptAlias / /var/www/wsgi/hola.wsgi\n\n\t<Directory /var/www/wsgi>\n\t\t<Files hola.wsgi>\n\t\t\tRequire all granted\n\t\t</Files>\n\t</Directory>\n\n\tErrorLog ${APACHE_LOG_DIR}/wsgi-error.log\n\tCustomLog ${APACHE_LOG_DIR}/wsgi-access.log combined\n</VirtualHost>\n",
        &[("var/www/wsgi/hola.wsgi", app), ("var/www/wsgi/secreto.txt", "no")],
    );
    let r = lab.get_host("/cualquier/otra/ruta", "wsgi.localhost");
    assert_eq!(
        r.status,
        200,
        "{r}\n{}",
        lab.read("var/log/apache2/wsgi-error.log")
    );
    assert_eq!(r.text(), "¡Hola desde WSGI!\n");
    // print() and logging go to the main error log, as with mod_wsgi.
    assert!(
        wait_until(Duration::from_secs(5), || {
            let log = error_log(&lab);
            log.contains("print desde la aplicación") && log.contains("aviso de logging")
        }),
        "{}",
        error_log(&lab)
    );
}
