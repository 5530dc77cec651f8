//! The Apache role against transcripts recorded from Debian 12's real Apache 2.4.
//!
//! Each family in `tests/transcripts/apache/` is a spec (`NAME.toml`: files on disk, the
//! `<VirtualHost>` body, server-level lines, modules, raw requests) and what the real server
//! answered (`NAME.txt`, written by `tests/transcripts/record.py`). This test builds the same
//! tree in a lab workspace, sends the same bytes over fresh connections, normalises the answer
//! the way the recorder did (Date, Server, Expires relative to Date, the port, multipart
//! boundaries) and compares: the status line, every header as spelled and in order, the body
//! and the access log line.
//!
//! Pages Apache generates itself (error pages, redirects, listings) are in English and
//! ISO-8859-1 on the real server and in Spanish and UTF-8 in the lab, on purpose: for those
//! the body, `Content-Length` and the `Content-Type` value are not compared (the header names
//! and their order still are), and the byte count of the log line is not either.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TestLab, READ_TIMEOUT};

/// A request of a spec and the answer the real server gave.
struct Case {
    name: String,
    raw: String,
    head: Vec<String>,
    body: String,
    log: String,
    /// Error log lines (only for specs with `errors = true`), normalised.
    errors: Vec<String>,
}

fn transcripts() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/apache")
}

fn load(family: &str) -> (toml::Value, Vec<Case>) {
    let spec_text =
        std::fs::read_to_string(transcripts().join(format!("{family}.toml"))).expect("read spec");
    let spec: toml::Value = toml::from_str(&spec_text).expect("parse spec");
    let recorded = std::fs::read_to_string(transcripts().join(format!("{family}.txt")))
        .expect("read transcript");
    // Name, head, body, access log line, error log lines.
    type Answer = (String, Vec<String>, String, String, Vec<String>);
    let mut answers: Vec<Answer> = Vec::new();
    for block in recorded.split("=== ").skip(1) {
        let mut lines = block.lines();
        let name = lines.next().expect("name").trim().to_string();
        let mut head = Vec::new();
        let mut body = String::new();
        let mut log = String::new();
        let mut errors = Vec::new();
        for line in lines {
            if let Some(e) = line.strip_prefix("error: ") {
                errors.push(e.to_string());
            } else if let Some(b) = line.strip_prefix("body: ") {
                body = serde_json::from_str(b).expect("body is a JSON string");
            } else if let Some(l) = line.strip_prefix("log: ") {
                log = l.to_string();
            } else if !log.is_empty() && !line.is_empty() {
                // Pipelined requests write one log line each.
                log.push('\n');
                log.push_str(line);
            } else if !line.is_empty() {
                head.push(line.to_string());
            }
        }
        answers.push((name, head, body, log, errors));
    }
    let reqs = spec["req"].as_array().expect("[[req]]");
    assert_eq!(
        reqs.len(),
        answers.len(),
        "{family}: el .txt no corresponde al .toml; vuelve a grabarlo"
    );
    let cases = reqs
        .iter()
        .zip(answers)
        .map(|(r, (name, head, body, log, errors))| {
            assert_eq!(r["name"].as_str(), Some(name.as_str()), "{family}: orden");
            Case {
                name,
                raw: r["raw"].as_str().expect("raw").to_string(),
                head,
                body,
                log,
                errors,
            }
        })
        .collect();
    (spec, cases)
}

/// Builds the spec's tree and configuration in a fresh workspace and starts the lab.
fn lab_for(spec: &toml::Value) -> TestLab {
    let mut lab = TestLab::new();
    let mtime = |v: &toml::Value| {
        UNIX_EPOCH
            + Duration::from_secs(
                v.get("mtime")
                    .and_then(|m| m.as_integer())
                    .unwrap_or(1_700_000_000) as u64,
            )
    };
    // Apache's document root starts empty; `lab init` writes a welcome page there.
    let _ = std::fs::remove_file(lab.path("var/www/html/index.html"));
    for d in spec
        .get("dir")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        lab.mkdir(d["path"].as_str().expect("path"));
    }
    for f in spec
        .get("file")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        let rel = f["path"].as_str().expect("path");
        lab.write(rel, f["text"].as_str().expect("text"));
        let file = std::fs::File::options()
            .write(true)
            .open(lab.path(rel))
            .expect("open");
        file.set_modified(mtime(f)).expect("set mtime");
    }
    for l in spec
        .get("link")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        lab.symlink(
            l["target"].as_str().expect("target"),
            l["path"].as_str().expect("path"),
        );
    }
    let conf = spec.get("conf").and_then(|c| c.as_str()).unwrap_or("");
    lab.write(
        "etc/apache2/sites-available/000-default.conf",
        format!(
            "<VirtualHost *:80>\n\tServerAdmin webmaster@localhost\n\tDocumentRoot /var/www/html\n{conf}\n\
             \tErrorLog ${{APACHE_LOG_DIR}}/error.log\n\tCustomLog ${{APACHE_LOG_DIR}}/access.log combined\n</VirtualHost>\n"
        ),
    );
    if let Some(server) = spec.get("server").and_then(|s| s.as_str()) {
        let main = lab.read("etc/apache2/apache2.conf");
        lab.write("etc/apache2/apache2.conf", format!("{main}\n{server}\n"));
    }
    for m in spec
        .get("mods")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
    {
        lab.lab(&["a2enmod", m.as_str().expect("module")])
            .assert_code(0);
    }
    lab.start();
    lab
}

fn exchange(lab: &TestLab, raw: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(lab.addr()).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    let raw = raw.replace("@HOST@", &format!("127.0.0.1:{}", lab.port));
    s.write_all(raw.as_bytes()).expect("write");
    let mut data = Vec::new();
    let _ = s.read_to_end(&mut data);
    data
}

/// The head and body normalised like `record.py` does.
fn normalise(data: &[u8], port: u16) -> (Vec<String>, String) {
    let split = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(data.len());
    let head: String = data[..split].iter().map(|&b| b as char).collect();
    let body: String = data[(split + 4).min(data.len())..]
        .iter()
        .map(|&b| b as char)
        .collect();
    let mut date: Option<SystemTime> = None;
    let mut out = Vec::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if i == 0 {
            out.push(line.to_string());
            continue;
        }
        let (name, value) = line.split_once(": ").unwrap_or((line, ""));
        let value = match name.to_ascii_lowercase().as_str() {
            "date" => {
                date = httpdate::parse_http_date(value).ok();
                "<date>".to_string()
            }
            "server" => "<server>".to_string(),
            // Apache's order comes from a hash table and changes between starts.
            "allow" => {
                let mut m: Vec<&str> = value.split(',').filter(|m| !m.is_empty()).collect();
                m.sort_unstable();
                m.join(",")
            }
            "expires" => match (date, httpdate::parse_http_date(value)) {
                (Some(d), Ok(e)) => {
                    let delta = match e.duration_since(d) {
                        Ok(after) => after.as_secs() as i64,
                        Err(before) => -(before.duration().as_secs() as i64),
                    };
                    format!("<date{delta:+}>")
                }
                _ => value.to_string(),
            },
            _ => value.to_string(),
        };
        out.push(format!("{name}: {value}"));
    }
    let port_text = format!(":{port}");
    let mut text = out.join("\n").replace(&port_text, ":<port>");
    let mut body = body.replace(&port_text, ":<port>");
    // A second answer on the same connection (pipelining) is part of the body here.
    let date = regex::Regex::new(r"\r\nDate: [^\r]+").expect("regex");
    let server = regex::Regex::new(r"\r\nServer: [^\r]+").expect("regex");
    body = date.replace_all(&body, "\r\nDate: <date>").into_owned();
    body = server
        .replace_all(&body, "\r\nServer: <server>")
        .into_owned();
    let boundary = regex::Regex::new(r"boundary=(\w+)").expect("regex");
    if let Some(b) = boundary.captures(&text).map(|c| c[1].to_string()) {
        text = text.replace(&b, "<boundary>");
        body = body.replace(&b, "<boundary>");
    }
    (text.lines().map(str::to_string).collect(), body)
}

fn normalise_log(line: &str, port: u16) -> String {
    let time = regex::Regex::new(r"\[\d\d/\w\w\w/[^\]]+\]").expect("regex");
    time.replace_all(line, "[<time>]")
        .replace(&format!(":{port}"), ":<port>")
}

/// An error log line as `record.py` keeps it: without time, pid and tid, the client's port
/// and the workspace root (paths read as on a Debian server).
fn normalise_error(line: &str, root: &std::path::Path, port: u16) -> String {
    let time = regex::Regex::new(r"^\[[^\]]+\] ").expect("regex");
    let pid = regex::Regex::new(r" \[pid [^\]]+\]").expect("regex");
    let client = regex::Regex::new(r"\[client ([0-9.]+):\d+\]").expect("regex");
    let line = time.replace(line, "");
    let line = pid.replace(&line, "");
    let line = client.replace(&line, "[client $1]");
    line.replace(&root.display().to_string(), "")
        .replace(&format!(":{port}"), ":<port>")
}

/// Apache's own pages: compared by header names only (a listing keeps its exact type).
fn generated(head: &[String]) -> bool {
    head.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("content-type: text/html")
            && (l.contains("charset=iso-8859-1") || l.contains("html;charset="))
    })
}

fn listing(head: &[String]) -> bool {
    head.iter()
        .any(|l| l == "Content-Type: text/html;charset=UTF-8")
}

fn byte_count_free(log: &str) -> String {
    let re = regex::Regex::new(r#"" (\d{3}) \d+ ""#).expect("regex");
    re.replace(log, "\" $1 <bytes> \"").into_owned()
}

/// Starts `tests/transcripts/http_backend.py` when the spec asks for it and writes its
/// address (and that of a port nobody listens on) into the spec's configuration.
fn start_backend(spec: &mut toml::Value) -> Option<common::HttpBackend> {
    if !spec
        .get("backend")
        .and_then(|b| b.as_bool())
        .unwrap_or(false)
    {
        return None;
    }
    let backend = common::HttpBackend::start();
    let (port, dead) = (backend.port, backend.dead);
    for key in ["conf", "server"] {
        if let Some(text) = spec.get(key).and_then(|c| c.as_str()) {
            let text = text
                .replace("@BACKEND@", &format!("127.0.0.1:{port}"))
                .replace("@DEAD@", &format!("127.0.0.1:{dead}"));
            spec.as_table_mut()
                .expect("spec table")
                .insert(key.to_string(), toml::Value::String(text));
        }
    }
    Some(backend)
}

fn run(family: &str) {
    let (mut spec, cases) = load(family);
    let backend = start_backend(&mut spec);
    let ports = |text: &str| -> String {
        match &backend {
            Some(b) => text
                .replace(&format!(":{}", b.port), ":<backend>")
                .replace(&format!(":{}", b.dead), ":<dead>"),
            None => text.to_string(),
        }
    };
    let lab = lab_for(&spec);
    let access = lab.path("var/log/apache2/access.log");
    let error_log = lab.path("var/log/apache2/error.log");
    let compare_errors = spec
        .get("errors")
        .and_then(|e| e.as_bool())
        .unwrap_or(false);
    let mut failures = Vec::new();
    for case in &cases {
        let before = std::fs::metadata(&access).map(|m| m.len()).unwrap_or(0);
        let err_before = std::fs::metadata(&error_log).map(|m| m.len()).unwrap_or(0);
        let data = exchange(&lab, &case.raw);
        let (head, body) = normalise(&data, lab.port);
        let head: Vec<String> = head.iter().map(|l| ports(l)).collect();
        let body = ports(&body);
        let mut log = String::new();
        for _ in 0..100 {
            let all = std::fs::read(&access).unwrap_or_default();
            log = String::from_utf8_lossy(&all[(before as usize).min(all.len())..])
                .trim()
                .to_string();
            if !log.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = ports(&normalise_log(&log, lab.port));
        let mut diffs = Vec::new();
        if compare_errors {
            let all = std::fs::read(&error_log).unwrap_or_default();
            let text =
                String::from_utf8_lossy(&all[(err_before as usize).min(all.len())..]).to_string();
            let got: Vec<String> = text
                .lines()
                .filter(|l| l.contains("[client "))
                .map(|l| ports(&normalise_error(l, &lab.root, lab.port)))
                .collect();
            // The lab writes its own messages in Spanish; Apache's words are compared where
            // the lab keeps them (the .htaccess lines), the module and level always.
            let shape = |l: &str| -> String {
                if l.contains(".htaccess: ") {
                    l.to_string()
                } else {
                    l.split(" [client").next().unwrap_or("").to_string()
                }
            };
            let want: Vec<String> = case.errors.iter().map(|l| shape(l)).collect();
            let got_shape: Vec<String> = got.iter().map(|l| shape(l)).collect();
            if want != got_shape {
                diffs.push(format!(
                    "registro de errores: Apache {:?}\n                     lab    {:?}",
                    case.errors, got
                ));
            }
        }
        if generated(&case.head) {
            let names = |h: &[String]| -> Vec<String> {
                h.iter()
                    .skip(1)
                    .filter_map(|l| l.split_once(": ").map(|(n, _)| n.to_string()))
                    .filter(|n| !n.eq_ignore_ascii_case("content-length"))
                    .collect()
            };
            let values = |h: &[String]| -> Vec<String> {
                h.iter()
                    .skip(1)
                    .filter(|l| {
                        let l = l.to_ascii_lowercase();
                        !l.starts_with("content-length:") && !l.starts_with("content-type:")
                    })
                    .cloned()
                    .collect()
            };
            if head.first() != case.head.first() {
                diffs.push(format!(
                    "línea de estado: Apache {:?}, lab {:?}",
                    case.head.first(),
                    head.first()
                ));
            }
            if listing(&case.head) && !listing(&head) {
                diffs.push(format!(
                    "tipo del listado: Apache {:?}, lab {:?}",
                    case.head, head
                ));
            }
            if names(&head) != names(&case.head) {
                diffs.push(format!(
                    "cabeceras: Apache {:?}\n                 lab    {:?}",
                    names(&case.head),
                    names(&head)
                ));
            } else if values(&head) != values(&case.head) {
                diffs.push(format!(
                    "valores: Apache {:?}\n               lab    {:?}",
                    values(&case.head),
                    values(&head)
                ));
            }
            if byte_count_free(&log) != byte_count_free(&case.log) {
                diffs.push(format!(
                    "registro: Apache {:?}\n          lab    {:?}",
                    case.log, log
                ));
            }
        } else {
            if head != case.head {
                diffs.push(format!(
                    "cabecera:\n  Apache: {}\n  lab:    {}",
                    case.head.join("\n          "),
                    head.join("\n          ")
                ));
            }
            if body != case.body {
                diffs.push(format!("cuerpo: Apache {:?}, lab {:?}", case.body, body));
            }
            if log != case.log {
                diffs.push(format!(
                    "registro: Apache {:?}\n          lab    {:?}",
                    case.log, log
                ));
            }
        }
        if !diffs.is_empty() {
            failures.push(format!("--- {}\n{}", case.name, diffs.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{family}: {} de {} respuestas difieren de Apache:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn redirects() {
    run("redirects");
}

#[test]
fn methods() {
    run("methods");
}

#[test]
fn conditionals_and_ranges() {
    run("conditionals");
}

#[test]
fn headers_and_expires() {
    run("headers");
}

#[test]
fn types() {
    run("types");
}

#[test]
fn files_on_disk() {
    run("files");
}

/// HTTP/1.0 and 0.9 answers, malformed heads and the request limits (answered and logged as
/// Apache does), TRACE with `TraceEnable On`, `UseCanonicalName On`, URLs whose bytes are
/// not UTF-8, pipelined requests.
#[test]
fn protocol() {
    run("protocol");
}

/// Apache writes the access log line when the request ends (`BufferedLogs Off`, the default),
/// in local time with the server's offset: with `TZ=XYZ-3` (three hours east of UTC, no
/// summer time) Debian's apache2 writes `[06/Dec/2026:18:04:05 +0300]`, and the error log
/// the same clock.
#[test]
fn logs_are_written_when_the_request_ends_in_local_time() {
    let mut lab = TestLab::new();
    lab.set_env("TZ", "XYZ-3");
    lab.write("var/www/html/a.txt", "hola\n");
    lab.start();
    let access = lab.path("var/log/apache2/access.log");
    let local = regex::Regex::new(r"\[\d\d/\w{3}/\d{4}:(\d\d):\d\d:\d\d \+0300\]").expect("regex");
    for i in 0..5 {
        let before = std::fs::metadata(&access).map(|m| m.len()).unwrap_or(0);
        let data = exchange(
            &lab,
            &format!("GET /a.txt?n={i} HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n"),
        );
        assert!(
            data.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&data)
        );
        // No waiting: the line must already be there, as `curl ... && tail -1` expects.
        let all = std::fs::read_to_string(&access).expect("access.log");
        let line = all[before as usize..].trim();
        assert!(
            line.contains(&format!("\"GET /a.txt?n={i} HTTP/1.1\" 200")),
            "la línea no estaba en access.log al terminar la petición: {all:?}"
        );
        let utc_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            / 3600
            % 24;
        let caps = local
            .captures(line)
            .unwrap_or_else(|| panic!("sin hora local +0300: {line}"));
        let hour: u64 = caps[1].parse().expect("hour");
        // The hour may have turned between the request and this check.
        assert!(
            hour == (utc_hour + 3) % 24 || hour == (utc_hour + 2) % 24,
            "hora {hour}, UTC {utc_hour}: {line}"
        );
    }
    // The error log keeps the same clock: a 404 is logged at once.
    let data = exchange(
        &lab,
        "GET /nada HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n",
    );
    assert!(data.starts_with(b"HTTP/1.1 404"));
    let errors = lab.read("var/log/apache2/error.log");
    let utc_hour = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 3600
        % 24;
    let stamp =
        regex::Regex::new(r"\[\w{3} \w{3} \d\d (\d\d):\d\d:\d\d\.\d{6} \d{4}\]").expect("regex");
    let last = errors.lines().last().unwrap_or("");
    let hour: u64 = stamp
        .captures(last)
        .unwrap_or_else(|| panic!("línea de error sin fecha: {errors}"))[1]
        .parse()
        .expect("hour");
    assert!(
        hour == (utc_hour + 3) % 24 || hour == (utc_hour + 2) % 24,
        "hora {hour}, UTC {utc_hour}: {last}"
    );
}

/// `BufferedLogs On` keeps lines in memory for a while; they still reach the file.
#[test]
fn buffered_logs_on_still_reaches_the_file() {
    let mut lab = TestLab::new();
    let main = lab.read("etc/apache2/apache2.conf");
    lab.write(
        "etc/apache2/apache2.conf",
        format!("{main}\nBufferedLogs On\n"),
    );
    lab.write("var/www/html/a.txt", "hola\n");
    lab.start();
    let data = exchange(
        &lab,
        "GET /a.txt?buffered HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n",
    );
    assert!(data.starts_with(b"HTTP/1.1 200"));
    let mut found = false;
    for _ in 0..100 {
        if lab
            .read("var/log/apache2/access.log")
            .contains("GET /a.txt?buffered")
        {
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(found, "{}", lab.read("var/log/apache2/access.log"));
}

/// `.htaccess` files: the overrides, the common directives, and the 500 with Apache's own
/// error log line for an invalid one.
#[test]
fn htaccess_files() {
    run("htaccess");
}

#[test]
fn htaccess_conditional_blocks() {
    run("htaccess_blocks");
}

#[test]
fn proxy_to_an_http_application_server() {
    run("proxy_http");
}

#[test]
fn limit_blocks() {
    run("limit");
}

#[test]
fn access_compat_rules() {
    run("access_compat");
}

#[test]
fn what_a_student_sees_first() {
    run("common");
}

/// Debian's Apache with mod_wsgi writes an application's header names as the application
/// wrote them, except `Content-Type` and `Content-Length`, which go through the core:
///
/// ```text
/// start_response('200 OK', [('content-type', 'text/plain'), ('X-mi-Cabecera', '1'),
///                           ('x-lower', '2'), ('ETAG', '"a"'), ('content-length', '2')])
/// HTTP/1.1 200 OK / Date / Server / X-mi-Cabecera: 1 / x-lower: 2 / ETAG: "a" /
/// Content-Length: 2 / Content-Type: text/plain
/// ```
#[test]
fn application_header_names_keep_their_spelling() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write(
        "var/www/app/app.wsgi",
        "def application(environ, start_response):\n    start_response('200 OK', [('content-type', 'text/plain'), ('X-mi-Cabecera', '1'), ('x-lower', '2'), ('ETAG', '\"a\"'), ('content-length', '2')])\n    return [b'ok']\n",
    );
    lab.add_site(
        "app",
        "<VirtualHost *:80>\n    ServerName app.localhost\n    WSGIScriptAlias /app /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n",
    );
    lab.start();
    let data = exchange(
        &lab,
        "GET /app HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = normalise(&data, lab.port);
    assert_eq!(body, "ok");
    assert_eq!(
        head,
        [
            "HTTP/1.1 200 OK",
            "Date: <date>",
            "Server: <server>",
            "X-mi-Cabecera: 1",
            "x-lower: 2",
            "ETAG: \"a\"",
            "Content-Length: 2",
            "Connection: close",
            "Content-Type: text/plain",
        ]
    );
}

#[test]
fn remoteip_behind_trusted_proxies() {
    run("remoteip");
}

#[test]
fn remoteip_without_a_proxy_list() {
    run("remoteip_open");
}
