//! PHP-FPM through the real `lab` binary and Debian's real `php-fpm8.2`: the
//! `php8.2-fpm` service, Debian's `php8.2-fpm.conf` (SetHandler over the unix socket) and
//! `ProxyPassMatch` over TCP, compared with transcripts of the real Apache + php-fpm
//! (tests/fixtures/php), errors to the log, php-fpm stopped or killed.
//!
//! Without `php-fpm8.2` (package php8.2-fpm, installed by .ci/run) the tests print why they
//! skip.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{free_port, wait_until, TestLab};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/php");

fn have_fpm() -> bool {
    let found = ["/usr/sbin/php-fpm8.2", "/usr/bin/php-fpm8.2"]
        .iter()
        .any(|p| Path::new(p).is_file());
    if !found {
        eprintln!("SALTADO: php-fpm8.2 no está instalado (paquete php8.2-fpm; .ci/run lo instala)");
    }
    found
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).expect("fixture")
}

/// A workspace with php8.2-fpm on, proxy_fcgi + Debian's php8.2-fpm.conf enabled, the test
/// scripts in var/www/html and `DirectoryIndex index.php index.html` in the default site.
fn php_lab() -> TestLab {
    let lab = TestLab::new();
    lab.lab(&["service", "php8.2-fpm", "enable"]).assert_code(0);
    lab.lab(&["a2enmod", "proxy_fcgi", "setenvif"])
        .assert_code(0);
    lab.lab(&["a2enconf", "php8.2-fpm"]).assert_code(0);
    for f in [
        "env.php",
        "hello.php",
        "fatal.php",
        "loc.php",
        "etag.php",
        "cookies.php",
        "length.php",
    ] {
        lab.write(&format!("var/www/html/{f}"), fixture(f));
    }
    lab.mkdir("var/www/html/sub");
    lab.write("var/www/html/sub/index.php", fixture("env.php"));
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\tDirectoryIndex index.php index.html",
    );
    lab
}

/// `KEY=value` lines of an env.php dump, without what depends on the client or the port.
fn vars(text: &str, root: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            !matches!(
                *k,
                "HTTP_HOST"
                    | "HTTP_USER_AGENT"
                    | "HTTP_ACCEPT"
                    | "HTTP_CONNECTION"
                    | "SERVER_PORT"
                    | "SERVER_NAME"
            )
        })
        .map(|(k, v)| (k.to_string(), v.replace("@ROOT@/www", root)))
        .collect()
}

/// Status line, content type and variables of a fixture transcript.
fn expected(name: &str, root: &str) -> (u16, String, BTreeMap<String, String>) {
    let text = fixture(name);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_string();
    (status, ctype, vars(body, root))
}

fn check(
    lab: &TestLab,
    fixture_name: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) {
    let root = lab.root.join("var/www/html").display().to_string();
    let resp = match body {
        None => lab.request(method, path, "127.0.0.1", headers),
        Some(b) => {
            let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (k, v) in headers {
                req.push_str(&format!("{k}: {v}\r\n"));
            }
            req.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{b}",
                b.len()
            ));
            lab.raw(req.as_bytes(), false).expect("request")
        }
    };
    let (status, ctype, want) = expected(fixture_name, &root);
    assert_eq!(resp.status, status, "{fixture_name}: {resp}");
    assert_eq!(
        resp.header("content-type").unwrap_or(""),
        ctype,
        "{fixture_name}: {resp}"
    );
    let got = vars(&resp.text(), &root);
    assert_eq!(
        got, want,
        "{fixture_name}: las variables difieren de Apache + php-fpm reales"
    );
}

#[test]
fn debian_php_fpm_conf_matches_the_real_server() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.start();
    check(
        &lab,
        "sethandler-env-query.txt",
        "GET",
        "/env.php?x=1&y=%41",
        &[
            ("X-Demo", "a"),
            ("Proxy", "http://evil:1/"),
            ("Authorization", "Basic YTpi"),
        ],
        None,
    );
    check(&lab, "sethandler-dir-index.txt", "GET", "/sub/", &[], None);
    // Debian's SetHandler form: Apache splits the path on disk and php-fpm gets PATH_INFO.
    check(
        &lab,
        "sethandler-env-pathinfo.txt",
        "GET",
        "/env.php/extra/p%20ath?q=2",
        &[],
        None,
    );
    check(
        &lab,
        "sethandler-post.txt",
        "POST",
        "/env.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("a=1&b=2"),
    );
    check(
        &lab,
        "sethandler-missing.txt",
        "GET",
        "/missing.php",
        &[],
        None,
    );
    let hello = lab.get("/hello.php");
    assert_eq!(hello.text(), "hola desde PHP\n");

    // Location without Status: 302; several Set-Cookie; a custom reason phrase.
    let loc = lab.get("/loc.php");
    assert_eq!(
        (loc.status, loc.header("location")),
        (302, Some("/otra")),
        "{loc}"
    );
    let c = lab.get("/cookies.php");
    assert_eq!((c.status, c.reason.as_str()), (299, "Muy Bien"), "{c}");
    let cookies: Vec<&str> = c
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, vec!["a=1", "b=2"]);

    // php-fpm reads `.user.ini` next to the script.
    lab.mkdir("var/www/html/userini");
    lab.write("var/www/html/userini/.user.ini", "memory_limit = 55M\n");
    lab.write(
        "var/www/html/userini/ini.php",
        "<?php echo ini_get('memory_limit'), \"\\n\";\n",
    );
    assert_eq!(lab.get("/userini/ini.php").text(), "55M\n");

    // Validators sent by PHP: Apache answers 304 and 412 itself (sethandler-etag.txt).
    let r = lab.request(
        "GET",
        "/etag.php",
        "localhost",
        &[("If-None-Match", "\"v1\"")],
    );
    assert_eq!(
        (r.status, r.header("etag"), r.body.len()),
        (304, Some("\"v1\""), 0),
        "{r}"
    );
    let r = lab.request("GET", "/etag.php", "localhost", &[("If-Match", "\"v2\"")]);
    assert_eq!(
        (r.status, r.header("content-length")),
        (412, Some("0")),
        "{r}"
    );
    assert_eq!(lab.get("/etag.php").text(), "contenido\n");

    // A multipart upload streamed to php-fpm's STDIN, and a large answer written with flush().
    lab.write(
        "var/www/html/upload.php",
        "<?php $f = $_FILES['fichero']; echo $f['name'], ' ', $f['size'], ' ', md5_file($f['tmp_name']), ' ', $_POST['campo'], \"\\n\";\n",
    );
    lab.write(
        "var/www/html/big.php",
        "<?php for ($i = 0; $i < 2000; $i++) { echo str_repeat(chr(97 + $i % 26), 999), \"\\n\"; if ($i % 100 == 0) { flush(); } }\n",
    );
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let boundary = "----limite";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"campo\"\r\n\r\nvalor\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"fichero\"; filename=\"datos.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut req = format!(
        "POST /upload.php HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let up = lab.raw(&req, false).expect("upload");
    let md5 = String::from_utf8(
        std::process::Command::new("md5sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&data)?;
                c.wait_with_output()
            })
            .expect("md5sum")
            .stdout,
    )
    .unwrap();
    let md5 = md5.split_whitespace().next().unwrap();
    assert_eq!(up.text(), format!("datos.bin 300000 {md5} valor\n"), "{up}");
    let big = lab.get("/big.php");
    assert_eq!(
        (big.status, big.body.len()),
        (200, 2000 * 1000),
        "{}",
        big.status
    );
    assert!(big.text().lines().all(|l| l.len() == 999));

    // A fatal error: 500 with what was already written, and the messages in the vhost's log
    // in mod_proxy_fcgi's shape.
    let f = lab.get("/fatal.php");
    assert_eq!((f.status, f.text().as_str()), (500, "antes\n"), "{f}");
    let want = fixture("sethandler-fatal-error-log.txt");
    let want = want
        .split("] AH01071")
        .nth(1)
        .expect("fixture line")
        .trim()
        .replace(
            "@ROOT@/www",
            &lab.root.join("var/www/html").display().to_string(),
        );
    let log_path = lab.root.join("var/log/apache2/error.log");
    assert!(
        wait_until(Duration::from_secs(5), || std::fs::read_to_string(
            &log_path
        )
        .unwrap_or_default()
        .contains(&format!("AH01071{want}"))),
        "falta AH01071{want} en\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
}

#[test]
fn proxy_pass_match_over_tcp_matches_the_real_server() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    let port = free_port();
    lab.write(
        "etc/php/8.2/fpm/pool.d/tcp.conf",
        format!("[tcp]\nlisten = 127.0.0.1:{port}\npm = static\npm.max_children = 2\n"),
    );
    lab.lab(&["a2disconf", "php8.2-fpm"]).assert_code(0);
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        &format!("DocumentRoot /var/www/html\n\tProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:{port}/var/www/html/$1"),
    );
    lab.configtest().assert_code(0);
    let explain = lab.lab(&["explain", "http://localhost/env.php/x"]).all();
    assert!(
        explain.contains("ProxyPassMatch ^/(.*\\.php(/.*)?)$")
            && explain.contains(&format!("127.0.0.1:{port} (pool [tcp] de php-fpm")),
        "{explain}"
    );
    lab.start();
    check(
        &lab,
        "proxypassmatch-env-query.txt",
        "GET",
        "/env.php?x=1&y=%41",
        &[
            ("X-Demo", "a"),
            ("Proxy", "http://evil:1/"),
            ("Authorization", "Basic YTpi"),
        ],
        None,
    );
    check(
        &lab,
        "proxypassmatch-env-pathinfo.txt",
        "GET",
        "/env.php/extra/p%20ath?q=2",
        &[],
        None,
    );
    check(
        &lab,
        "proxypassmatch-dir-index.txt",
        "GET",
        "/sub/",
        &[],
        None,
    );
    check(
        &lab,
        "proxypassmatch-dir-index-file.txt",
        "GET",
        "/sub/index.php/x",
        &[],
        None,
    );
    check(
        &lab,
        "proxypassmatch-missing.txt",
        "GET",
        "/missing.php",
        &[],
        None,
    );
    check(
        &lab,
        "proxypassmatch-missing-dir.txt",
        "GET",
        "/no/such/x.php",
        &[],
        None,
    );
    check(
        &lab,
        "proxypassmatch-post.txt",
        "POST",
        "/env.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("a=1&b=2"),
    );
}

#[test]
fn php_fpm_stopped_gives_503_and_killed_is_restarted() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.start();
    assert_eq!(lab.get("/hello.php").status, 200);

    // Killed: the lab starts it again and the next requests work.
    let pid: u32 = lab
        .read("run/php/php8.2-fpm.pid")
        .trim()
        .parse()
        .expect("pid file");
    let workers = common::children_of(pid);
    assert!(!workers.is_empty(), "php-fpm sin hijos");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || {
            lab.read("run/php/php8.2-fpm.pid")
                .trim()
                .parse::<u32>()
                .is_ok_and(|p| p != pid)
                && lab.get("/hello.php").status == 200
        }),
        "php-fpm no volvió: {}",
        lab.read("var/log/php8.2-fpm.log")
    );
    // The killed master's workers do not outlive it (as under systemd's control group).
    assert!(
        wait_until(Duration::from_secs(5), || workers
            .iter()
            .all(|w| !common::process_alive(*w))),
        "hijos del php-fpm muerto siguen vivos: {workers:?}"
    );

    // Stopped: 503 with the Spanish page and a log line naming the socket.
    lab.lab(&["service", "php8.2-fpm", "stop"]).assert_code(0);
    let r = lab.get("/hello.php");
    assert_eq!(r.status, 503, "{r}");
    let ok = wait_until(Duration::from_secs(5), || {
        lab.read("var/log/apache2/error.log").contains("AH01079")
    });
    let log = lab.read("var/log/apache2/error.log");
    assert!(ok, "{log}");
    assert!(
        log.contains("AH02454: FCGI: attempt to connect to Unix domain socket")
            && log.contains("run/php/php8.2-fpm.sock"),
        "{log}"
    );
    assert!(
        log.contains("AH01079: failed to make connection to backend: localhost"),
        "{log}"
    );
    lab.lab(&["service", "php8.2-fpm", "start"]).assert_code(0);
    assert_eq!(lab.get("/hello.php").status, 200);
}

#[test]
fn pool_errors_are_configtest_errors_and_status_shows_the_pool() {
    let mut lab = php_lab();
    lab.replace(
        "etc/php/8.2/fpm/pool.d/www.conf",
        "pm.max_spare_servers = 3",
        "pm.max_spare_servers = 9",
    );
    let out = lab.configtest();
    out.assert_code(1);
    let text = out.all();
    assert!(text.contains("etc/php/8.2/fpm/pool.d/www.conf:"), "{text}");
    assert!(
        text.contains("pm.max_spare_servers (9) no puede ser mayor que pm.max_children (5)"),
        "{text}"
    );
    lab.replace(
        "etc/php/8.2/fpm/pool.d/www.conf",
        "pm.max_spare_servers = 9",
        "pm.max_spare_servers = 3",
    );
    lab.configtest().assert_code(0);
    if !have_fpm() {
        return;
    }
    lab.start();
    let status = lab.lab(&["status"]);
    let text = status.all();
    assert!(
        text.contains("pool [www] en unix:") && text.contains("pm dynamic, máx. 5 procesos"),
        "{text}"
    );
    let explain = lab.lab(&["explain", "http://localhost/hello.php"]).all();
    assert!(
        explain.contains("mod_proxy_fcgi") && explain.contains("pool [www] de php-fpm"),
        "{explain}"
    );

    // A new pool, applied with reload: same master, new socket answering.
    let pid = lab.read("run/php/php8.2-fpm.pid");
    let port = free_port();
    lab.write(
        "etc/php/8.2/fpm/pool.d/extra.conf",
        format!("[extra]\nlisten = 127.0.0.1:{port}\npm = static\npm.max_children = 1\n"),
    );
    lab.lab(&["service", "php8.2-fpm", "reload"]).assert_code(0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert_eq!(lab.read("run/php/php8.2-fpm.pid"), pid);
    let status = lab.lab(&["status"]).all();
    assert!(
        status.contains(&format!("pool [extra] en 127.0.0.1:{port}")),
        "{status}"
    );
    assert_eq!(lab.get("/hello.php").status, 200);
}

#[test]
fn mod_php_is_refused_under_event_and_serves_under_prefork() {
    let mut lab = TestLab::new();
    let out = lab.lab(&["a2enmod", "php8.2"]);
    out.assert_code(1);
    let text = out.all();
    assert!(
        text.contains("Comprobando la dependencia mpm_prefork de php8.2"),
        "{text}"
    );
    assert!(
        text.contains("ERROR: el módulo mpm_event está activado"),
        "{text}"
    );
    assert!(!lab
        .root
        .join("etc/apache2/mods-enabled/php8.2.load")
        .exists());

    // Linked by hand under event: Apache would refuse to start (AH00013).
    lab.symlink(
        "../mods-available/php8.2.load",
        "etc/apache2/mods-enabled/php8.2.load",
    );
    let out = lab.configtest();
    out.assert_code(1);
    assert!(out.all().contains("AH00013"), "{}", out.all());
    std::fs::remove_file(lab.root.join("etc/apache2/mods-enabled/php8.2.load")).unwrap();

    lab.lab(&["a2dismod", "mpm_event"]).assert_code(0);
    lab.lab(&["a2enmod", "mpm_prefork", "php8.2"])
        .assert_code(0);
    lab.mkdir("var/www/html/sub");
    let page = "<?php echo ini_get('memory_limit'), ' ', ini_get('display_errors'), \"\\n\";\n";
    lab.write("var/www/html/ini.php", page);
    lab.write("var/www/html/sub/ini.php", page);
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\t<Directory /var/www/html/sub>\n\t\tphp_value memory_limit 77M\n\t\tphp_admin_flag display_errors on\n\t</Directory>",
    );
    lab.configtest().assert_code(0);
    if !have_fpm() {
        return;
    }
    lab.start();
    // The settings apply to their directory only, however many times each is asked for
    // (php-fpm children would otherwise keep them for the next request).
    for _ in 0..4 {
        assert_eq!(lab.get("/sub/ini.php").text(), "77M 1\n");
        assert_eq!(lab.get("/ini.php").text(), "128M \n");
    }
    // mod_php does not read `.user.ini` (php-fpm does: see the SetHandler test).
    lab.mkdir("var/www/html/userini");
    lab.write("var/www/html/userini/.user.ini", "memory_limit = 55M\n");
    lab.write("var/www/html/userini/ini.php", page);
    assert_eq!(lab.get("/userini/ini.php").text(), "128M \n");
    // A missing script is Apache's own 404 under mod_php, not php-fpm's "File not found.".
    let r = lab.get("/nada.php");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("File not found."), "{r}");
    let status = lab.lab(&["status"]).all();
    assert!(
        status.contains("mod_php: procesos PHP como hijos prefork"),
        "{status}"
    );
    let explain = lab.lab(&["explain", "http://localhost/ini.php"]).all();
    assert!(explain.contains("mod_php"), "{explain}");
}

#[test]
fn php_exercises_pass_dev_check() {
    if !have_fpm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = env!("CARGO_MANIFEST_DIR");
    let ids = [
        "php-modulo",
        "php-valor-directorio",
        "fpm-socket",
        "fpm-tcp",
        "fpm-ondemand",
        "opcache-estado",
        "apcu-contador",
    ];
    let mut args = vec!["dev", "check", "--course", repo];
    args.extend_from_slice(&ids);
    let out = common::run_lab(&args, tmp.path());
    out.assert_code(0);
    for id in ids {
        assert!(out.stdout.contains(&format!("✔ {id}\n")), "{}", out.stdout);
    }
}

/// A FastCGI responder on a TCP port that records the PARAMS of each request and answers
/// `ok`: what Apache sends, seen from the application's side.
fn params_recorder() -> (u16, std::sync::mpsc::Receiver<Vec<(String, String)>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut params = Vec::new();
            loop {
                let mut h = [0u8; 8];
                if s.read_exact(&mut h).is_err() {
                    break;
                }
                let len = u16::from_be_bytes([h[4], h[5]]) as usize;
                let mut body = vec![0u8; len + h[6] as usize];
                if s.read_exact(&mut body).is_err() {
                    break;
                }
                body.truncate(len);
                match h[1] {
                    4 => params.extend_from_slice(&body),
                    5 if len == 0 => break,
                    _ => {}
                }
            }
            let mut pairs = Vec::new();
            let mut i = 0;
            let len_at = |i: &mut usize| -> usize {
                if params[*i] < 128 {
                    *i += 1;
                    params[*i - 1] as usize
                } else {
                    let v = u32::from_be_bytes([
                        params[*i] & 0x7f,
                        params[*i + 1],
                        params[*i + 2],
                        params[*i + 3],
                    ]);
                    *i += 4;
                    v as usize
                }
            };
            while i < params.len() {
                let n = len_at(&mut i);
                let v = len_at(&mut i);
                let name = String::from_utf8_lossy(&params[i..i + n]).into_owned();
                let value = String::from_utf8_lossy(&params[i + n..i + n + v]).into_owned();
                i += n + v;
                pairs.push((name, value));
            }
            let _ = tx.send(pairs);
            let out = b"Content-Type: text/plain\r\n\r\nok";
            let mut resp = vec![1u8, 6, 0, 1, 0, out.len() as u8, 0, 0];
            resp.extend_from_slice(out);
            resp.extend_from_slice(&[
                1, 6, 0, 1, 0, 0, 0, 0, 1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ]);
            let _ = s.write_all(&resp);
        }
    });
    (port, rx)
}

/// `KEY=value` lines of a recorded PARAMS fixture block, without what depends on the client,
/// the machine or the port.
fn fixture_params(text: &str, block: usize, root: &str, port: u16) -> Vec<(String, String)> {
    text.split("--\n")
        .nth(block)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            !matches!(
                *k,
                "BEGIN flags"
                    | "SERVER_SIGNATURE"
                    | "PATH"
                    | "REMOTE_PORT"
                    | "SERVER_PORT"
                    | "HTTP_HOST"
                    | "HTTP_USER_AGENT"
                    | "HTTP_ACCEPT"
                    | "SERVER_SOFTWARE"
                    | "SERVER_ADMIN"
                    | "SERVER_NAME"
            )
        })
        .map(|(k, v)| {
            let v = v
                .replace("@ROOT@/www", root)
                .replace("19401", &port.to_string());
            (k.to_string(), v)
        })
        .collect()
}

fn comparable(got: Vec<(String, String)>) -> Vec<(String, String)> {
    got.into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "SERVER_SIGNATURE"
                    | "PATH"
                    | "REMOTE_PORT"
                    | "SERVER_PORT"
                    | "HTTP_HOST"
                    | "HTTP_CONNECTION"
                    | "HTTP_USER_AGENT"
                    | "HTTP_ACCEPT"
                    | "SERVER_SOFTWARE"
                    | "SERVER_ADMIN"
                    | "SERVER_NAME"
            )
        })
        .collect()
}

#[test]
fn fastcgi_params_match_what_apache_sends_per_form() {
    let (port, rx) = params_recorder();
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "proxy_fcgi"]).assert_code(0);
    lab.write("var/www/html/env.php", "<?php\n");
    lab.add_site(
        "formas",
        &format!(
            "<VirtualHost *:80>\n\tServerName fpm.localhost\n\tDocumentRoot /var/www/html\n\tProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:{port}/var/www/html/$1\n</VirtualHost>\n\
             <VirtualHost *:80>\n\tServerName generic.localhost\n\tDocumentRoot /var/www/html\n\tProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:{port}/var/www/html/$1\n\tProxyFCGIBackendType GENERIC\n</VirtualHost>\n\
             <VirtualHost *:80>\n\tServerName handler.localhost\n\tDocumentRoot /var/www/html\n\t<FilesMatch \"\\.php$\">\n\t\tSetHandler \"proxy:fcgi://127.0.0.1:{port}\"\n\t</FilesMatch>\n</VirtualHost>\n"
        ),
    );
    lab.configtest().assert_code(0);
    lab.start();
    let root = lab.root.join("var/www/html").display().to_string();
    let raw = fixture("params-raw.txt");
    let generic = fixture("params-generic.txt");

    // ProxyPassMatch (FPM type): the second block of params-raw.txt.
    let r = lab.get_host("/env.php", "fpm.localhost");
    assert_eq!(r.text(), "ok");
    let got = comparable(rx.recv_timeout(Duration::from_secs(5)).unwrap());
    let mut want = fixture_params(&raw, 1, &root, port);
    want.retain(|(k, _)| k != "HTTP_AUTHORIZATION");
    assert_eq!(got, want);

    // GENERIC: Apache strips proxy:fcgi://host:port itself.
    lab.get_host("/env.php/extra/p%20ath?q=2", "generic.localhost");
    let got = comparable(rx.recv_timeout(Duration::from_secs(5)).unwrap());
    assert_eq!(got, fixture_params(&generic, 0, &root, port));

    // SetHandler to a TCP backend: proxy-nokeepalive first, PATH_INFO split on the disk.
    lab.get_host("/env.php?q=2", "handler.localhost");
    let got = comparable(rx.recv_timeout(Duration::from_secs(5)).unwrap());
    let mut want = fixture_params(&raw, 0, &root, port);
    // The fixture request had path info (/a) and Proxy/Authorization headers; this one not.
    want.retain(|(k, _)| !matches!(k.as_str(), "PATH_INFO" | "PATH_TRANSLATED"));
    for (k, v) in want.iter_mut() {
        if k == "REQUEST_URI" {
            *v = "/env.php?q=2".into();
        }
    }
    assert_eq!(got, want);
}

/// Without Debian's `php-fpm8.2` (here: the lab looks for programs only in an empty
/// directory), the service says which package to install and the rest of the lab keeps
/// serving. Needs no PHP at all.
#[test]
fn a_missing_php_fpm_binary_names_the_package_and_the_lab_keeps_running() {
    let mut lab = TestLab::new();
    lab.lab(&["service", "php8.2-fpm", "enable"]).assert_code(0);
    let empty = lab.tmp().join("sin-programas");
    std::fs::create_dir_all(&empty).expect("mkdir");
    lab.set_env("LAB_PROGRAM_DIRS", empty.to_str().expect("utf-8 path"));
    lab.write("var/www/html/a.txt", "sigo aquí\n");
    lab.start();
    let r = lab.get("/a.txt");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.body, "sigo aquí\n".as_bytes());
    let out = lab.lab(&["service", "php8.2-fpm", "start"]);
    let text = out.all();
    assert_ne!(out.code, 0, "{text}");
    assert!(
        text.contains("no está instalado php-fpm8.2 (paquete php8.2-fpm)")
            && text.contains("sudo apt-get install php8.2-fpm"),
        "{text}"
    );
    // Still serving after the failed start.
    assert_eq!(lab.get("/a.txt").status, 200);
}

/// `Authorization` reaches php-fpm only through Debian's `SetEnvIfNoCase` or `CGIPassAuth
/// On`: without mod_setenvif it is dropped, and `CGIPassAuth On` in a `<Directory>` passes it
/// (sethandler-nosetenvif-auth.txt, sethandler-cgipassauth.txt). A script that writes
/// nothing gets `Content-Length: 0`, and no length at all for HEAD (sethandler-empty*.txt).
#[test]
fn cgi_pass_auth_and_an_empty_body_match_the_real_server() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.lab(&["a2dismod", "setenvif"]).assert_code(0);
    lab.mkdir("var/www/html/pass");
    lab.write("var/www/html/pass/env.php", fixture("env.php"));
    lab.write("var/www/html/empty.php", "<?php\n");
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\t<Directory /var/www/html/pass>\n\t\tCGIPassAuth On\n\t</Directory>",
    );
    lab.start();
    let auth = [("X-Demo", "a"), ("Authorization", "Basic YTpi")];
    check(
        &lab,
        "sethandler-nosetenvif-auth.txt",
        "GET",
        "/env.php?x=1&y=%41",
        &auth,
        None,
    );
    let root = lab.root.join("var/www/html").display().to_string();
    let (_, _, want) = expected("sethandler-cgipassauth.txt", &root);
    let r = lab.request("GET", "/pass/env.php?x=1&y=%41", "127.0.0.1", &auth);
    let mut got = vars(&r.text(), &root);
    // The fixture's directory is `pass/` under the same root.
    assert_eq!(
        got.remove("HTTP_AUTHORIZATION").as_deref(),
        Some("Basic YTpi")
    );
    let mut want = want;
    want.remove("HTTP_AUTHORIZATION");
    assert_eq!(got, want, "{r}");

    // The head as the real server wrote it, Date and Server aside.
    let head = |text: &str| -> Vec<String> {
        text.split("\n\n")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.starts_with("Server: ") && !l.starts_with("Date: "))
            .map(str::to_string)
            .collect()
    };
    for (method, name) in [
        ("GET", "sethandler-empty.txt"),
        ("HEAD", "sethandler-empty-head.txt"),
    ] {
        let raw =
            format!("{method} /empty.php HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let mut data = Vec::new();
        {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(lab.addr()).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            s.write_all(raw.as_bytes()).expect("write");
            let _ = s.read_to_end(&mut data);
        }
        let text = String::from_utf8_lossy(&data).replace("\r\n", "\n");
        let mut got = head(&text);
        // The lab answers `Connection: close` to a client that asked for it, as Apache does;
        // curl did not ask.
        got.retain(|l| l != "Connection: close");
        assert_eq!(got, head(&fixture(name)), "{method}: {text}");
    }
}

/// `ProxyFCGISetEnvIf` (mod_proxy_fcgi 2.4.26+): conditions on the variables being sent and
/// on request headers, `$1` from the condition's regex, `%{VAR}` in the value, `!NAME` to
/// remove one, no value for an empty one; the headers read go to `Vary`
/// (sethandler-fcgisetenvif-*.txt, recorded with the same five lines).
#[test]
fn proxy_fcgi_set_env_if_matches_the_real_server() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\
         \tProxyFCGISetEnvIf \"reqenv('PATH_INFO') =~ m#/foo(\\d+)\\.php$#\" HTTP_X_NUMERO \"$1\"\n\
         \tProxyFCGISetEnvIf \"%{QUERY_STRING} =~ /borra/\" !QUERY_STRING\n\
         \tProxyFCGISetEnvIf \"true\" HTTP_X_HOST \"host=%{HTTP_HOST} uri=%{REQUEST_URI}\"\n\
         \tProxyFCGISetEnvIf \"-n req('X-Demo')\" HTTP_X_VACIA\n\
         \tProxyFCGISetEnvIf \"reqenv('REQUEST_METHOD') == 'POST' && %{HTTP:X-Demo} == 'a'\" HTTP_X_POST \"si-$0\"",
    );
    lab.start();
    check(
        &lab,
        "sethandler-fcgisetenvif-get.txt",
        "GET",
        "/env.php/a/foo42.php?x=1",
        &[("X-Demo", "a")],
        None,
    );
    check(
        &lab,
        "sethandler-fcgisetenvif-post.txt",
        "POST",
        "/env.php?borra=1",
        &[
            ("X-Demo", "a"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("a=1"),
    );
    let r = lab.request("GET", "/env.php", "127.0.0.1", &[("X-Demo", "a")]);
    assert_eq!(r.header("vary"), Some("X-Demo"), "{r}");
    // A rule that does not parse is a configtest error naming the line.
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "HTTP_X_VACIA",
        "HTTP_X_VACIA\n\tProxyFCGISetEnvIf \"%{A} =~ m#sin-cerrar\" X",
    );
    let out = lab.lab(&["configtest"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("000-default.conf")
            && out.all().contains("expresión regular sin cerrar"),
        "{}",
        out.all()
    );
}

/// `php_value`/`php_flag` in `.htaccess` under mod_php (AllowOverride Options), and
/// `php_admin_value` refused there with Apache's log line (modphp-htaccess-*.txt).
#[test]
fn mod_php_reads_php_value_from_htaccess_like_the_real_server() {
    let mut lab = TestLab::new();
    lab.lab(&["a2dismod", "mpm_event"]).assert_code(0);
    lab.lab(&["a2enmod", "mpm_prefork", "php8.2"])
        .assert_code(0);
    let page = "<?php echo ini_get(\"memory_limit\"), \" \", ini_get(\"display_errors\"), \" \", ini_get(\"max_execution_time\"), \"\\n\";\n";
    for d in ["", "dir/", "fi/"] {
        lab.write(&format!("var/www/html/{d}ini.php"), page);
    }
    lab.write(
        "var/www/html/dir/.htaccess",
        "php_value memory_limit 77M\nphp_flag display_errors on\n",
    );
    lab.write(
        "var/www/html/fi/.htaccess",
        "php_admin_value max_execution_time 5\n",
    );
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\t<Directory /var/www/html>\n\t\tAllowOverride Options\n\t</Directory>\n\t<Directory /var/www/html/fi>\n\t\tAllowOverride FileInfo\n\t</Directory>",
    );
    lab.configtest().assert_code(0);
    if !have_fpm() {
        return;
    }
    lab.start();
    let body = |name: &str| -> (u16, String) {
        let text = fixture(name);
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, body.to_string())
    };
    for _ in 0..3 {
        let r = lab.get("/ini.php");
        assert_eq!((r.status, r.text()), body("modphp-htaccess-ini.txt"), "{r}");
        let r = lab.get("/dir/ini.php");
        assert_eq!((r.status, r.text()), body("modphp-htaccess-dir.txt"), "{r}");
    }
    let r = lab.get("/fi/ini.php");
    assert_eq!(r.status, body("modphp-htaccess-fi.txt").0, "{r}");
    let want = fixture("modphp-htaccess-fi-error-log.txt").trim().replace(
        "@ROOT@/www",
        &lab.root.join("var/www/html").display().to_string(),
    );
    let want = want.split("] ").last().unwrap_or("").to_string();
    let log_path = lab.root.join("var/log/apache2/error.log");
    assert!(
        wait_until(Duration::from_secs(5), || std::fs::read_to_string(
            &log_path
        )
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("[core:alert]") && l.ends_with(&want))),
        "falta «{want}» en\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    // `lab explain` names the .htaccess files that applied.
    let explain = lab.lab(&["explain", "http://localhost/dir/ini.php"]).all();
    assert!(explain.contains("dir/.htaccess"), "{explain}");
}

/// `LimitRequestBody` does not apply to requests Apache passes to php-fpm, with a declared
/// length or chunked (limit-request-body.txt, measured on Debian's Apache with mod_proxy_fcgi).
#[test]
fn limit_request_body_does_not_apply_to_php_fpm_as_in_apache() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.write(
        "var/www/html/body.php",
        "<?php $d = file_get_contents(\"php://input\");\necho \"recibidos \" . strlen($d) . \" CL=\" . ($_SERVER[\"CONTENT_LENGTH\"] ?? \"-\") . \"\\n\";\n",
    );
    let conf = lab.read("etc/apache2/apache2.conf");
    lab.write(
        "etc/apache2/apache2.conf",
        format!("{conf}\nLimitRequestBody 1000\n"),
    );
    lab.start();
    let want: Vec<String> = fixture("limit-request-body.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let chunk = format!("190\r\n{}\r\n", "y".repeat(400));
    let mut got = Vec::new();
    for body in [
        format!("Content-Length: 1200\r\n\r\n{}", "x".repeat(1200)),
        format!(
            "Transfer-Encoding: chunked\r\n\r\n{}0\r\n\r\n",
            chunk.repeat(3)
        ),
    ] {
        let req =
            format!("POST /body.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{body}");
        let r = lab.raw(req.as_bytes(), false).expect("answer");
        got.push(format!("HTTP/1.1 {} {}", r.status, reason(r.status)));
        got.push(r.text().trim_end().to_string());
    }
    assert_eq!(got, want);
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// A path with Spanish letters reaches php-fpm in the bytes the URL decoded to (UTF-8 for
/// `%C3%B3`), as Apache passes them (Apache 2.4.71 with this GENERIC form sent SCRIPT_NAME
/// `/env.php/canci\xc3\xb3n`); before, they were sent one byte per character.
#[test]
fn fastcgi_path_params_keep_the_decoded_bytes() {
    let (port, rx) = params_recorder();
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "proxy_fcgi"]).assert_code(0);
    lab.write("var/www/html/env.php", "<?php\n");
    lab.add_site(
        "acentos",
        &format!(
            "<VirtualHost *:80>\n\tServerName generic.localhost\n\tDocumentRoot /var/www/html\n\tProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:{port}/var/www/html/$1\n\tProxyFCGIBackendType GENERIC\n</VirtualHost>\n"
        ),
    );
    lab.configtest().assert_code(0);
    lab.start();
    let r = lab.get_host("/env.php/canci%C3%B3n", "generic.localhost");
    assert_eq!(r.text(), "ok");
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    // GENERIC: no PATH_INFO (php-fpm splits it); SCRIPT_NAME is the whole decoded path.
    let name = got
        .iter()
        .find(|(k, _)| k == "SCRIPT_NAME")
        .map(|(_, v)| v.as_str());
    assert_eq!(name, Some("/env.php/canción"), "{got:?}");
}

/// The head as Apache writes it for php-fpm's answers: a body of unknown length to an
/// HTTP/1.1 client is chunked with `Transfer-Encoding` before `Content-Type` (Apache adds the
/// type last), an HTTP/1.0 client gets no chunking and `Connection: close`
/// (sethandler-hello.txt, -cookies.txt, -fatal.txt, -hello-http10.txt).
#[test]
fn response_heads_have_apaches_header_order() {
    if !have_fpm() {
        return;
    }
    let mut lab = php_lab();
    lab.start();
    for (name, path, version) in [
        ("sethandler-hello.txt", "/hello.php", "1.1"),
        ("sethandler-cookies.txt", "/cookies.php", "1.1"),
        ("sethandler-fatal.txt", "/fatal.php", "1.1"),
        ("sethandler-hello-http10.txt", "/hello.php", "1.0"),
        ("sethandler-length.txt", "/length.php", "1.1"),
    ] {
        check_head(&lab, name, path, version);
    }
}

/// Under mod_php, Apache keeps the script's `Content-Length`, and computes one for an answer
/// of up to 8000 bytes (what `ap_rwrite` holds before passing PHP's output on); a longer one
/// is chunked (modphp-hello.txt, -length.txt, -size-7999.txt, -size-8000.txt: the script
/// adds a newline to the n bytes asked for).
#[test]
fn mod_php_heads_have_apaches_content_length() {
    if !Path::new("/usr/bin/php-cgi8.2").is_file() {
        eprintln!("SALTADO: php-cgi8.2 no está instalado (paquete php8.2-cgi; .ci/run lo instala)");
        return;
    }
    let mut lab = TestLab::new();
    lab.lab(&["a2dismod", "mpm_event"]).assert_code(0);
    lab.lab(&["a2enmod", "mpm_prefork", "php8.2"])
        .assert_code(0);
    for f in ["hello.php", "length.php", "size.php"] {
        lab.write(&format!("var/www/html/{f}"), fixture(f));
    }
    lab.start();
    for (name, path) in [
        ("modphp-hello.txt", "/hello.php"),
        ("modphp-length.txt", "/length.php"),
        ("modphp-size-7999.txt", "/size.php?n=7999"),
        ("modphp-size-8000.txt", "/size.php?n=8000"),
    ] {
        check_head(&lab, name, path, "1.1");
    }
}

/// Sends `GET path` as curl did when the fixture was recorded and compares the status line,
/// the headers in order (without `Date`) and the body.
fn check_head(lab: &TestLab, name: &str, path: &str, version: &str) {
    let text = fixture(name);
    let (head, body) = text.split_once("\n\n").expect("head and body");
    let want: Vec<String> = head
        .lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("header line");
            format!("{}: {v}", k.to_ascii_lowercase())
        })
        .collect();
    // As curl sent them: no `Connection` header (1.1 keeps the connection, 1.0 does not).
    let req = format!("GET {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n\r\n");
    let resp = lab.raw(req.as_bytes(), false).expect("answer");
    let got: Vec<String> = resp
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let status_line = head.lines().next().unwrap_or("");
    assert_eq!(
        format!("HTTP/1.1 {} {}", resp.status, resp.reason),
        status_line,
        "{name}"
    );
    assert_eq!(got, want, "{name}: {resp}");
    assert_eq!(resp.text().trim_end(), body.trim_end(), "{name}");
}

#[test]
fn serving_threads_share_out_the_pool_and_keep_answering() {
    if !have_fpm() {
        return;
    }
    // `LAB_CORES=1`: each connection on one serving thread, php-fpm's children shared out
    // between the threads (lanes). Many clients at once, more than children, every one of
    // them answered, static files on the same connections too.
    let mut lab = php_lab();
    lab.set_env("LAB_CORES", "1");
    lab.set_env("LAB_WORKER_THREADS", "2");
    lab.write("var/www/html/estatico.txt", "fichero\n");
    lab.start();
    let addr = lab.addr();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                use std::io::{BufRead, BufReader, Read, Write};
                let s = std::net::TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let mut bodies = Vec::new();
                for i in 0..20 {
                    let path = if i % 5 == 4 {
                        "/estatico.txt"
                    } else {
                        "/hello.php"
                    };
                    write!(w, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
                    let mut status = String::new();
                    r.read_line(&mut status).unwrap();
                    let mut length = None;
                    let mut chunked = false;
                    loop {
                        let mut line = String::new();
                        r.read_line(&mut line).unwrap();
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length: ") {
                            length = v.parse::<usize>().ok();
                        }
                        chunked |= l == "transfer-encoding: chunked";
                    }
                    let mut body = Vec::new();
                    if chunked {
                        loop {
                            let mut size = String::new();
                            r.read_line(&mut size).unwrap();
                            let n = usize::from_str_radix(size.trim(), 16).unwrap();
                            let mut piece = vec![0; n + 2];
                            r.read_exact(&mut piece).unwrap();
                            if n == 0 {
                                break;
                            }
                            body.extend_from_slice(&piece[..n]);
                        }
                    } else {
                        let mut piece = vec![0; length.expect("length")];
                        r.read_exact(&mut piece).unwrap();
                        body = piece;
                    }
                    bodies.push((status, path, String::from_utf8(body).unwrap()));
                }
                bodies
            })
        })
        .collect();
    let hello = lab.get("/hello.php").text();
    assert!(!hello.is_empty());
    for c in clients {
        for (status, path, body) in c.join().expect("client") {
            assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
            if path == "/estatico.txt" {
                assert_eq!(body, "fichero\n");
            } else {
                assert_eq!(body, hello, "{path}");
            }
        }
    }
}
