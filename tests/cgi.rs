//! CGI (mod_cgid): Debian's `serve-cgi-bin.conf`, the meta-variables, the body on stdin,
//! heads, redirects, NPH, errors with Apache's log lines, timeouts, traversal under
//! `/cgi-bin/`. The scripts are in tests/fixtures/cgi/cgi-bin; what Debian's Apache answered
//! to the same requests is in tests/fixtures/cgi/apache (recorded by record.sh there).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Response, TestLab};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgi")
}

/// The transcript Apache gave for `name`: (status, headers lower-cased, body, log lines).
struct Transcript {
    status: u16,
    /// Header names lower-cased, in Apache's order.
    headers: Vec<(String, String)>,
    body: String,
    log: Vec<String>,
}

fn transcript(name: &str) -> Transcript {
    let text = std::fs::read_to_string(fixtures().join(format!("apache/{name}.txt")))
        .unwrap_or_else(|e| panic!("transcripción {name}: {e}"))
        .replace("\r\n", "\n");
    let (http, log) = text.split_once("--- error.log\n").unwrap_or((&text, ""));
    let (head, body) = http.split_once("\n\n").unwrap_or((http, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    Transcript {
        status,
        headers,
        body: body.to_string(),
        log: log.lines().map(str::to_string).collect(),
    }
}

/// A workspace with mod_cgid enabled and the fixture scripts in `/usr/lib/cgi-bin`.
fn cgi_lab(extra_conf: &str) -> TestLab {
    let lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    for entry in std::fs::read_dir(fixtures().join("cgi-bin")).expect("fixtures") {
        let entry = entry.expect("entry");
        let to = lab.path(&format!(
            "usr/lib/cgi-bin/{}",
            entry.file_name().to_string_lossy()
        ));
        std::fs::copy(entry.path(), &to).expect("copy script");
    }
    if !extra_conf.is_empty() {
        lab.write("etc/apache2/conf-available/pruebas.conf", extra_conf);
        lab.symlink(
            "../conf-available/pruebas.conf",
            "etc/apache2/conf-enabled/pruebas.conf",
        );
    }
    lab
}

/// The script's headers in Apache's answer (not the server's own: Date, Server, framing) are
/// in the lab's answer with the same values.
#[track_caller]
fn assert_script_headers(resp: &Response, apache: &Transcript) {
    for (k, v) in &apache.headers {
        if [
            "date",
            "server",
            "transfer-encoding",
            "content-length",
            "connection",
        ]
        .contains(&k.as_str())
        {
            continue;
        }
        assert_eq!(resp.header(k), Some(v.as_str()), "{k}:\n{resp}");
    }
}

fn started(extra_conf: &str) -> TestLab {
    let mut lab = cgi_lab(extra_conf);
    lab.start();
    lab
}

fn env_of(resp: &Response) -> BTreeMap<String, String> {
    resp.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The error log lines written since `before` bytes, without the time/pid/client prefixes.
fn log_since(lab: &TestLab, before: usize) -> Vec<String> {
    // The log is written by a background task; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let text = lab.read("var/log/apache2/error.log");
        let new = text.get(before..).unwrap_or("").to_string();
        if !new.is_empty() || Instant::now() > deadline {
            return new.lines().map(strip_prefixes).collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_len(lab: &TestLab) -> usize {
    lab.read("var/log/apache2/error.log").len()
}

/// `[time] [cgid:error] [pid N:tid N] [client a:p] msg` -> `[cgid:error] msg`.
fn strip_prefixes(line: &str) -> String {
    if !line.starts_with('[') {
        return line.to_string();
    }
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(r) = rest.strip_prefix('[') {
        let Some((inner, tail)) = r.split_once("] ") else {
            break;
        };
        parts.push(inner.to_string());
        rest = tail;
    }
    let module = parts.iter().find(|p| {
        p.contains(':') && !p.starts_with("pid") && !p.starts_with("client") && !p.contains(' ')
    });
    format!("[{}] {rest}", module.cloned().unwrap_or_default())
}

/// The message of a transcript log line with the workspace paths made comparable.
fn same_message(lab_line: &str, apache_line: &str, lab: &TestLab) -> bool {
    let lab_line = lab_line.replace(
        &lab.root.join("usr/lib/cgi-bin").display().to_string(),
        "<root>/cgi-bin",
    );
    lab_line == apache_line
}

#[test]
fn debian_serve_cgi_bin_runs_scripts_with_apache_meta_variables() {
    let lab = started("");
    let resp = lab.request(
        "GET",
        "/cgi-bin/env.py/uno/dos%20tres?a=1&b=%41",
        "localhost",
        &[
            ("X-Uno", "1"),
            ("X-Uno", "2"),
            ("X_Raro", "no"),
            ("Proxy", "http://evil.example/"),
            ("Authorization", "Basic YTpi"),
            ("Accept", "*/*"),
            ("User-Agent", "curl/7.88.1"),
        ],
    );
    assert_eq!(resp.status, 200, "{resp}");
    let env = env_of(&resp);
    let apache = transcript("env");
    let apache_env: BTreeMap<String, String> = apache
        .body
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Every variable Apache gives (but those its test config adds with SetEnv/PassEnv, and
    // the signature's continuation line) is here, and nothing else but Python's LC_CTYPE.
    for name in apache_env.keys() {
        if ["CURSO", "LANG", ""].contains(&name.as_str()) || name.starts_with('<') {
            continue;
        }
        assert!(env.contains_key(name), "falta {name}:\n{resp}");
    }
    for name in env.keys() {
        assert!(
            // Python's locale coercion, and the test client's `Connection: close`.
            apache_env.contains_key(name) || name == "LC_CTYPE" || name == "HTTP_CONNECTION",
            "{name} no lo da Apache:\n{resp}"
        );
    }
    let cgi_bin = lab.root.join("usr/lib/cgi-bin");
    let expect = [
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        ("REQUEST_METHOD", "GET".into()),
        ("QUERY_STRING", "a=1&b=%41".into()),
        (
            "REQUEST_URI",
            "/cgi-bin/env.py/uno/dos%20tres?a=1&b=%41".into(),
        ),
        ("SCRIPT_NAME", "/cgi-bin/env.py".into()),
        ("PATH_INFO", "/uno/dos tres".into()),
        (
            "PATH_TRANSLATED",
            format!("{}/uno/dos tres", lab.root.join("var/www/html").display()),
        ),
        ("SCRIPT_FILENAME", format!("{}/env.py", cgi_bin.display())),
        ("CONTEXT_PREFIX", "/cgi-bin/".into()),
        ("CONTEXT_DOCUMENT_ROOT", format!("{}/", cgi_bin.display())),
        (
            "DOCUMENT_ROOT",
            lab.root.join("var/www/html").display().to_string(),
        ),
        ("HTTP_X_UNO", "1, 2".into()),
        ("HTTP_HOST", "localhost".into()),
        ("SERVER_NAME", "localhost".into()),
        ("SERVER_PORT", "80".into()),
        ("SERVER_ADDR", "127.0.0.1".into()),
        ("REMOTE_ADDR", "127.0.0.1".into()),
        ("REQUEST_SCHEME", "http".into()),
        ("SERVER_PROTOCOL", "HTTP/1.1".into()),
        ("SERVER_ADMIN", "webmaster@localhost".into()),
    ];
    for (k, v) in expect {
        assert_eq!(env.get(k), Some(&v), "{k}:\n{resp}");
    }
    assert!(env["REMOTE_PORT"].parse::<u16>().is_ok());
    assert!(env["SERVER_SOFTWARE"].starts_with("Apache/2.4"));
    // Debian's security.conf says `ServerSignature On`: Apache's English line, with the name
    // and port of the request (its continuation line is the newline at the end).
    assert_eq!(
        env["SERVER_SIGNATURE"],
        format!(
            "<address>{} Server at localhost Port 80</address>",
            env["SERVER_SOFTWARE"]
        ),
        "{resp}"
    );
    // httpoxy, odd header names and Authorization (no CGIPassAuth): never passed.
    assert!(!env.contains_key("HTTP_PROXY"), "{resp}");
    assert!(!env.contains_key("HTTP_AUTHORIZATION"), "{resp}");
    assert!(!env.keys().any(|k| k.contains("RARO")), "{resp}");
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn post_bodies_reach_stdin_plain_and_chunked() {
    let lab = started("");
    for (name, headers) in [
        (
            "post",
            vec![
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", "20"),
            ],
        ),
        ("chunked", vec![("Transfer-Encoding", "chunked")]),
    ] {
        let apache = transcript(name);
        let body: &[u8] = if name == "post" {
            b"nombre=Ana&curso=cgi"
        } else {
            b"9\r\ntrozos=si\r\n0\r\n\r\n"
        };
        let mut req = "POST /cgi-bin/form.py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            .to_string();
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let resp = lab.raw(&bytes, false).expect("respuesta");
        assert_eq!(resp.status, apache.status, "{resp}");
        assert_eq!(resp.text(), apache.body, "{name}: {resp}");
    }
}

/// The lab's peak resident memory (VmHWM), in kB.
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_10_mb_body_streams_through_with_bounded_memory() {
    let lab = started("");
    let pid = lab.pid().expect("pid del lab");
    // Warm up (first CGI request, thread pools).
    assert_eq!(lab.get("/cgi-bin/hola.py").status, 200);
    let before = peak_kb(pid);
    let total: usize = 10 * 1024 * 1024;
    let mut stream = TcpStream::connect(lab.addr()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    write!(
        stream,
        "POST /cgi-bin/form.py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .expect("head");
    let piece = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        write!(stream, "{:x}\r\n", piece.len()).expect("chunk size");
        stream.write_all(&piece).expect("chunk");
        stream.write_all(b"\r\n").expect("crlf");
        sent += piece.len();
    }
    stream.write_all(b"0\r\n\r\n").expect("last chunk");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("response");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(&format!("read={total}")), "{text}");
    let grown = peak_kb(pid).saturating_sub(before);
    assert!(
        grown < 6 * 1024,
        "el pico de memoria creció {grown} kB con un cuerpo de 10 MB: ¿se guarda entero?"
    );
}

#[test]
fn status_location_and_nph_heads() {
    let lab = started("");
    // Status: 404 with the script's own body and headers.
    let resp = lab.get("/cgi-bin/status.py");
    let apache = transcript("status");
    assert_eq!(resp.status, apache.status);
    assert_eq!(resp.text(), apache.body);
    assert_script_headers(&resp, &apache);

    // A local Location: served as a GET by the server, status 200, REDIRECT_* variables.
    let resp = lab.get("/cgi-bin/local-redirect.py");
    assert_eq!(resp.status, transcript("local-redirect").status, "{resp}");
    let env = env_of(&resp);
    assert_eq!(
        env.get("SCRIPT_NAME").map(String::as_str),
        Some("/cgi-bin/env.py")
    );
    assert_eq!(
        env.get("QUERY_STRING").map(String::as_str),
        Some("desde=redirect")
    );
    assert_eq!(env.get("REDIRECT_STATUS").map(String::as_str), Some("200"));
    assert_eq!(
        env.get("REDIRECT_URL").map(String::as_str),
        Some("/cgi-bin/local-redirect.py")
    );
    assert_eq!(
        env.get("REQUEST_URI").map(String::as_str),
        Some("/cgi-bin/local-redirect.py")
    );
    assert_eq!(
        env.get("REDIRECT_SCRIPT_NAME").map(String::as_str),
        Some("/cgi-bin/local-redirect.py")
    );

    // An absolute Location: 302 to the client.
    let resp = lab.get("/cgi-bin/client-redirect.py");
    let apache = transcript("client-redirect");
    assert_eq!(resp.status, apache.status);
    assert_eq!(resp.header("location"), Some("http://example.com/otra"));

    // NPH: the script's own status line and headers.
    let resp = lab.get("/cgi-bin/nph-hola.py");
    let apache = transcript("nph");
    assert_eq!(resp.status, apache.status);
    assert_script_headers(&resp, &apache);
    assert_eq!(resp.text(), apache.body);
}

#[test]
fn stdout_is_streamed_as_the_script_writes_it() {
    let lab = started("");
    let mut stream = TcpStream::connect(lab.addr()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    stream
        .write_all(
            b"GET /cgi-bin/stream.py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .expect("request");
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // The first piece arrives long before the script ends (0.9 s).
    while !String::from_utf8_lossy(&buf).contains("trozo 0") {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "cerrada antes del primer trozo");
        buf.extend_from_slice(&chunk[..n]);
    }
    let first = t0.elapsed();
    assert!(
        !String::from_utf8_lossy(&buf).contains("trozo 2"),
        "llegó todo junto: la salida no se está enviando según se escribe"
    );
    stream.read_to_end(&mut buf).expect("rest");
    assert!(String::from_utf8_lossy(&buf).contains("trozo 2"));
    assert!(t0.elapsed() > first);
}

#[test]
fn failures_answer_like_apache_with_its_log_lines() {
    let lab = started("");
    for (name, url) in [
        ("malformed", "/cgi-bin/malformed.py"),
        ("nohead", "/cgi-bin/nohead.py"),
        ("noexec", "/cgi-bin/noexec.py"),
        ("badinterp", "/cgi-bin/badinterp.py"),
        ("missing", "/cgi-bin/nada.py"),
        ("directory", "/cgi-bin/"),
        ("stderr", "/cgi-bin/stderr.py"),
    ] {
        let before = log_len(&lab);
        let resp = lab.get(url);
        let apache = transcript(name);
        assert_eq!(resp.status, apache.status, "{name}: {resp}");
        let lines = log_since(&lab, before);
        for want in &apache.log {
            // Apache's lines without the errno prefix its format leaves out; ours keep it.
            assert!(
                lines.iter().any(|l| {
                    same_message(l, want, &lab) || same_message(&drop_errno(l), want, &lab)
                }),
                "{name}: falta «{want}» en el registro:\n{}",
                lines.join("\n")
            );
        }
    }
}

/// `[cgid:error] (13)Permission denied: AH01241: ...` -> `[cgid:error] AH01241: ...`.
fn drop_errno(line: &str) -> String {
    match line.split_once("] (") {
        Some((module, rest)) => match rest.split_once(": ") {
            Some((_, msg)) => format!("{module}] {msg}"),
            None => line.to_string(),
        },
        None => line.to_string(),
    }
}

#[test]
fn scripts_outside_exec_cgi_are_forbidden_and_inside_they_run() {
    let lab = cgi_lab(
        "<Directory /var/www/html/exec>\n\
         \tOptions +ExecCGI\n\
         \tAddHandler cgi-script .py\n\
         </Directory>\n\
         <Directory /var/www/html/sinexec>\n\
         \tAddHandler cgi-script .py\n\
         </Directory>\n",
    );
    let script = std::fs::read(fixtures().join("cgi-bin/env.py")).expect("env.py");
    for dir in ["exec", "sinexec"] {
        let p = lab.path(&format!("var/www/html/{dir}/env.py"));
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(&p, &script).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut lab = lab;
    lab.start();
    let resp = lab.get("/exec/env.py");
    assert_eq!(resp.status, transcript("exec-dir").status, "{resp}");
    let env = env_of(&resp);
    assert_eq!(env.get("CONTEXT_PREFIX").map(String::as_str), Some(""));
    assert_eq!(
        env.get("SCRIPT_NAME").map(String::as_str),
        Some("/exec/env.py")
    );
    let before = log_len(&lab);
    let resp = lab.get("/sinexec/env.py");
    let apache = transcript("no-execcgi");
    assert_eq!(resp.status, apache.status, "{resp}");
    let html = lab.root.join("var/www/html").display().to_string();
    let log: Vec<String> = log_since(&lab, before)
        .iter()
        .map(|l| l.replace(&html, "<root>/html"))
        .collect();
    for want in &apache.log {
        assert!(log.contains(want), "falta «{want}»:\n{}", log.join("\n"));
    }
}

#[test]
fn a_hanging_script_is_killed_with_its_whole_process_group() {
    let lab = cgi_lab("CGIDScriptTimeout 1\n");
    lab.write(
        "usr/lib/cgi-bin/cuelga.sh",
        "#!/bin/sh\n# A child in the same group, then silence.\nsleep 300 &\necho $! > \"$PIDS\"\necho $$ >> \"$PIDS\"\nsleep 300\n",
    );
    let pids = lab.tmp().join("pids.txt");
    lab.write(
        "etc/apache2/conf-available/pids.conf",
        format!(
            "<Directory /usr/lib/cgi-bin>\n\tSetEnv PIDS {}\n</Directory>\n",
            pids.display()
        ),
    );
    lab.symlink(
        "../conf-available/pids.conf",
        "etc/apache2/conf-enabled/pids.conf",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("usr/lib/cgi-bin/cuelga.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let mut lab = lab;
    lab.start();
    let before = log_len(&lab);
    let t0 = Instant::now();
    let resp = lab.get("/cgi-bin/cuelga.sh");
    assert_eq!(resp.status, transcript("timeout").status, "{resp}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    let log = log_since(&lab, before).join("\n");
    assert!(
        log.contains("Script timed out before returning headers: cuelga.sh"),
        "{log}"
    );
    let text = std::fs::read_to_string(&pids).expect("el script escribió sus pids");
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in text.split_whitespace() {
        // Gone, or at least not left as a zombie or a sleeper.
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "el proceso {pid} sigue ahí tras el timeout: {stat}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn mod_env_pass_auth_action_and_accept_path_info() {
    let mut lab = cgi_lab(
        "<Directory /usr/lib/cgi-bin>\n\
         \tSetEnv CURSO cgi\n\
         \tSetEnv BORRAR si\n\
         \tUnsetEnv BORRAR\n\
         \tPassEnv HOME\n\
         \tCGIPassAuth On\n\
         </Directory>\n\
         <Directory /var/www/html/informes>\n\
         \tAddHandler informe .txt\n\
         \tAction informe /cgi-bin/env.py\n\
         </Directory>\n\
         <Location /cgi-bin/hola.py>\n\
         \tAcceptPathInfo Off\n\
         </Location>\n",
    );
    lab.lab(&["a2enmod", "actions"]).assert_code(0);
    lab.write("var/www/html/informes/ventas.txt", "ventas\n");
    lab.start();
    let resp = lab.request(
        "GET",
        "/cgi-bin/env.py",
        "localhost",
        &[("Authorization", "Basic YTpi")],
    );
    let env = env_of(&resp);
    assert_eq!(env.get("CURSO").map(String::as_str), Some("cgi"), "{resp}");
    assert!(!env.contains_key("BORRAR"), "{resp}");
    assert_eq!(
        env.get("HOME"),
        std::env::var("HOME").ok().as_ref(),
        "{resp}"
    );
    assert_eq!(
        env.get("HTTP_AUTHORIZATION").map(String::as_str),
        Some("Basic YTpi"),
        "{resp}"
    );

    let resp = lab.get("/informes/ventas.txt?mes=1");
    assert_eq!(resp.status, 200, "{resp}");
    let env = env_of(&resp);
    assert_eq!(
        env.get("PATH_INFO").map(String::as_str),
        Some("/informes/ventas.txt"),
        "{resp}"
    );
    assert_eq!(
        env.get("PATH_TRANSLATED").cloned(),
        Some(
            lab.root
                .join("var/www/html/informes/ventas.txt")
                .display()
                .to_string()
        )
    );
    assert_eq!(env.get("QUERY_STRING").map(String::as_str), Some("mes=1"));

    assert_eq!(lab.get("/cgi-bin/hola.py/extra").status, 404);
    assert_eq!(lab.get("/cgi-bin/hola.py").status, 200);
}

const SECRET: &str = "SECRETO-NO-DEBE-SALIR";

#[test]
fn traversal_under_cgi_bin_never_runs_anything_outside() {
    let lab = cgi_lab("<Directory />\n\tRequire all granted\n\tOptions +ExecCGI\n</Directory>\n");
    lab.write(
        "bin/sh",
        format!("#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho {SECRET}\n"),
    );
    lab.write(
        "etc/passwd",
        format!("root:x:0:0:{SECRET}:/root:/bin/bash\n"),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(lab.path("bin/sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let mut lab = lab;
    lab.start();
    for target in [
        "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
        "/cgi-bin/.%2e/%2e%2e/%2e%2e/%2e%2e/bin/sh",
        "/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/bin/sh",
        "/cgi-bin/../../../../bin/sh",
        "/cgi-bin/..%2f..%2f..%2f..%2fbin/sh",
        "/cgi-bin/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/cgi-bin/..%5c..%5c..%5cbin/sh",
        "/cgi-bin/env.py/../../../bin/sh",
        "/cgi-bin//../../../../bin/sh",
    ] {
        for method in ["GET", "POST"] {
            let req = format!(
                "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\nConnection: close\r\n\r\necho;id"
            );
            if let Ok(resp) = lab.raw(req.as_bytes(), false) {
                assert!(!resp.text().contains(SECRET), "{method} {target}:\n{resp}");
                assert!(!resp.text().contains("uid="), "{method} {target}:\n{resp}");
                assert!(resp.status >= 400, "{method} {target}:\n{resp}");
            }
        }
    }
    assert_eq!(lab.get("/cgi-bin/hola.py").status, 200);
}

#[test]
fn explain_names_the_script_its_interpreter_and_the_reason_for_errors() {
    let lab = cgi_lab("");
    let out = lab.lab(&["explain", "/cgi-bin/env.py/extra"]);
    let text = out.all();
    assert!(text.contains("CGI (mod_cgid)"), "{text}");
    assert!(text.contains("/usr/bin/python3"), "{text}");
    assert!(text.contains("PATH_INFO: /extra"), "{text}");
    let text = lab.lab(&["explain", "/cgi-bin/noexec.py"]).all();
    assert!(text.contains("chmod +x"), "{text}");
    let text = lab.lab(&["explain", "/cgi-bin/badinterp.py"]).all();
    assert!(text.contains("NO existe"), "{text}");
}

#[test]
fn a_head_beyond_the_limit_is_a_500_and_the_lab_keeps_serving() {
    let lab = cgi_lab("");
    lab.write(
        "usr/lib/cgi-bin/cabecera.py",
        "#!/usr/bin/python3\nimport sys\nsys.stdout.write('X-Larga: ' + 'a' * 100000 + '\\r\\n\\r\\nfin\\n')\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        lab.path("usr/lib/cgi-bin/cabecera.py"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let mut lab = lab;
    lab.start();
    let before = log_len(&lab);
    let resp = lab.get("/cgi-bin/cabecera.py");
    assert_eq!(resp.status, 500, "una cabecera de 100 kB debería dar 500");
    let log = log_since(&lab, before).join("\n");
    assert!(
        log.contains("malformed header from script 'cabecera.py'"),
        "{log}"
    );
    assert_eq!(lab.get("/cgi-bin/hola.py").status, 200);
}

/// `UseCanonicalName On`: a script sees `ServerName` and port 80 whatever `Host` says, as
/// Debian's Apache with mod_cgid answered (`SERVER_NAME=www.ejemplo.test`, `SERVER_PORT=80`
/// for `Host: otro.test:8080`).
#[test]
fn use_canonical_name_on_gives_scripts_the_server_name() {
    let lab = started("ServerName www.ejemplo.test\nUseCanonicalName On\n");
    let resp = lab.get_host("/cgi-bin/env.py", "otro.test:8080");
    assert_eq!(resp.status, 200, "{resp}");
    let env = env_of(&resp);
    assert_eq!(
        env.get("SERVER_NAME").map(String::as_str),
        Some("www.ejemplo.test"),
        "{resp}"
    );
    assert_eq!(
        env.get("SERVER_PORT").map(String::as_str),
        Some("80"),
        "{resp}"
    );
    // Off (the default): the name and port the client asked for.
    let lab = started("ServerName www.ejemplo.test\n");
    let env = env_of(&lab.get_host("/cgi-bin/env.py", "otro.test:8080"));
    assert_eq!(
        env.get("SERVER_NAME").map(String::as_str),
        Some("otro.test")
    );
    assert_eq!(env.get("SERVER_PORT").map(String::as_str), Some("8080"));
}

/// `/caf%E9` decodes to the latin-1 byte 0xE9: the script gets that byte in `PATH_INFO` and
/// `PATH_TRANSLATED`, as Apache with mod_cgid passes it, not a UTF-8 stand-in (Apache 2.4.71
/// answered this same script `2f636166e9 636166e9`).
#[test]
fn path_info_keeps_bytes_that_are_not_utf8() {
    let mut lab = cgi_lab("");
    lab.write(
        "usr/lib/cgi-bin/bytes.py",
        "#!/usr/bin/python3\nimport os, sys\nsys.stdout.write('Content-Type: text/plain\\n\\n')\n\
         sys.stdout.write(os.environb[b'PATH_INFO'].hex() + ' ' + os.environb[b'PATH_TRANSLATED'][-4:].hex() + '\\n')\n",
    );
    let script = lab.path("usr/lib/cgi-bin/bytes.py");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    lab.start();
    let resp = lab.get("/cgi-bin/bytes.py/caf%E9");
    assert_eq!(resp.status, 200, "{resp}");
    // "/caf\xe9" and the last four bytes of the translated path, "caf\xe9".
    assert_eq!(resp.text(), "2f636166e9 636166e9\n", "{resp}");
}

/// The whole head in Apache's order: the script's headers, its `Set-Cookie` lines after the
/// others, then `Transfer-Encoding` (the body is chunked for an HTTP/1.1 client), then
/// `Content-Type`, which Apache adds last.
#[test]
fn heads_have_apaches_header_order() {
    let lab = started("");
    for (name, path) in [
        ("hola", "/cgi-bin/hola.py"),
        ("status", "/cgi-bin/status.py"),
        ("cookies", "/cgi-bin/cookies.py"),
    ] {
        let apache = transcript(name);
        // As record.sh's curl asked: HTTP/1.1 without `Connection`.
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let resp = lab.raw(req.as_bytes(), false).expect("answer");
        let want: Vec<&(String, String)> =
            apache.headers.iter().filter(|(k, _)| k != "date").collect();
        let got: Vec<&(String, String)> =
            resp.headers.iter().filter(|(k, _)| k != "date").collect();
        assert_eq!(got, want, "{name}: {resp}");
        assert_eq!(resp.text(), apache.body, "{name}");
    }
}

/// mod_setenvif's rules in a row, as Debian's setenvif.conf writes them: several
/// `BrowserMatch` on one `User-Agent`, a rule that unsets what an earlier one set, `$1` from
/// the match, `Remote_Addr`, a header named in another case, and a header that is absent.
#[test]
fn setenvif_rules_in_a_row_read_each_attribute() {
    let mut lab = cgi_lab(
        "BrowserMatch \"^Curso/1\" NAVEGADOR=viejo MARCA\n\
         BrowserMatchNoCase \"curso/(\\d+)\" VERSION=v$1\n\
         BrowserMatch \"^Curso/1\\.5\" !MARCA\n\
         SetEnvIf x-PRUEBA \"^(a+)$\" AES=$1\n\
         SetEnvIf Remote_Addr \"^127\\.\" LOCAL\n\
         SetEnvIf Referer \".\" CON_REFERER\n\
         SetEnvIfNoCase ^X-Otra$ \"(.*)\" OTRA=$1\n",
    );
    lab.start();
    let resp = lab.request(
        "GET",
        "/cgi-bin/env.py",
        "localhost",
        &[
            ("User-Agent", "Curso/1.5 (pruebas)"),
            ("X-Prueba", "aaa"),
            ("x-otra", "dos"),
        ],
    );
    assert_eq!(resp.status, 200, "{resp}");
    let env = env_of(&resp);
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("NAVEGADOR"), Some("viejo"), "{resp}");
    assert_eq!(get("VERSION"), Some("v1"), "{resp}");
    assert_eq!(get("MARCA"), None, "{resp}");
    assert_eq!(get("AES"), Some("aaa"), "{resp}");
    assert_eq!(get("LOCAL"), Some("1"), "{resp}");
    assert_eq!(get("CON_REFERER"), None, "{resp}");
    assert_eq!(get("OTRA"), Some("dos"), "{resp}");

    // Another agent: the first rule does not match, so nothing of it is set, and the
    // third (which only unsets) changes nothing.
    let resp = lab.request(
        "GET",
        "/cgi-bin/env.py",
        "localhost",
        &[("User-Agent", "curso/22"), ("Referer", "http://x/")],
    );
    let env = env_of(&resp);
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("NAVEGADOR"), None, "{resp}");
    assert_eq!(get("MARCA"), None, "{resp}");
    assert_eq!(get("VERSION"), Some("v22"), "{resp}");
    assert_eq!(get("CON_REFERER"), Some("1"), "{resp}");
}
