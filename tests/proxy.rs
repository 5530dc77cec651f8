//! The varnish role through the real `lab` binary, with the lab's own Apache role as the
//! backend: the course's move of the proxy to port 80 (mapped) with Apache behind it,
//! `lab service varnish`, configtest warnings, reload with a broken VCL, `lab proxy log`,
//! `lab proxy stat` and `lab ban`.

mod common;

use common::{free_port, TestLab};

/// A workspace where varnish takes port 80 (mapped like every privileged port) through a
/// systemd drop-in, and Apache moves to a free port that the VCL backend points at.
fn port80_lab(vcl_extra: &str) -> (TestLab, u16) {
    let lab = TestLab::new();
    lab.lab(&["service", "varnish", "enable"]).assert_code(0);
    let apache = free_port();
    lab.replace(
        "etc/apache2/ports.conf",
        "Listen 80\n",
        &format!("Listen {apache}\n"),
    );
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "<VirtualHost *:80>",
        &format!("<VirtualHost *:{apache}>"),
    );
    lab.write(
        "etc/systemd/system/varnish.service.d/override.conf",
        "[Service]\nExecStart=\nExecStart=/usr/sbin/varnishd -a :80 -f /etc/varnish/default.vcl -s malloc,64m\n",
    );
    let vcl = lab
        .read("etc/varnish/default.vcl")
        .replace("\"8080\"", &format!("\"{apache}\""));
    lab.write("etc/varnish/default.vcl", format!("{vcl}{vcl_extra}"));
    lab.write("var/www/html/estatico.txt", "hola desde Apache\n");
    (lab, apache)
}

#[test]
fn port_80_scenario_end_to_end() {
    let (mut lab, apache) = port80_lab("");
    let ct = lab.configtest();
    assert_eq!(ct.code, 0, "{}", ct.all());
    assert!(!ct.stderr.contains("aviso"), "{}", ct.all());
    lab.start();
    let out = lab.output();
    assert!(
        out.contains(&format!(
            "varnish    http://127.0.0.1:{}/  (-a :80 -> 127.0.0.1:{})",
            lab.port, lab.port
        )),
        "{out}"
    );
    let status = lab.lab(&["status"]);
    assert!(
        status.stdout.contains("-a :80 -> 127.0.0.1:"),
        "{}",
        status.all()
    );

    let first = lab.get("/estatico.txt");
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), "hola desde Apache\n");
    assert_eq!(first.header("via"), Some("1.1 varnish (Varnish/7.1)"));
    assert_eq!(
        first.header("x-varnish").map(|x| x.split(' ').count()),
        Some(1)
    );
    let second = lab.get("/estatico.txt");
    assert_eq!(
        second.header("x-varnish").map(|x| x.split(' ').count()),
        Some(2),
        "a hit"
    );
    assert_eq!(second.text(), "hola desde Apache\n");
    // Apache saw one request: the second came from the cache.
    let log = lab.read("var/log/apache2/access.log");
    let seen = log.lines().filter(|l| l.contains("/estatico.txt")).count();
    assert!(seen <= 1, "{log}");

    let ex = lab.lab(&["explain", "http://localhost/estatico.txt"]);
    assert!(ex.stdout.contains("vcl_recv  -> hash"), "{}", ex.stdout);
    assert!(
        ex.stdout
            .contains("hash = \"/estatico.txt\" + \"localhost\""),
        "{}",
        ex.stdout
    );
    assert!(ex.stdout.contains("ACIERTO (hit)"), "{}", ex.stdout);
    let ex = lab.lab(&[
        "explain",
        "--metodo",
        "POST",
        "http://localhost/estatico.txt",
    ]);
    assert!(
        ex.stdout.contains("solo usa la caché con GET y HEAD"),
        "{}",
        ex.stdout
    );

    let stat = lab.lab(&["proxy", "stat"]);
    assert_eq!(stat.code, 0, "{}", stat.all());
    assert!(stat.stdout.contains("MAIN.cache_hit "), "{}", stat.stdout);
    let hits: u64 = stat
        .stdout
        .lines()
        .find(|l| l.starts_with("MAIN.cache_hit "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(hits, 1);
    let log = lab.lab(&["proxy", "log"]);
    assert!(log.stdout.contains("VCL_call       RECV"), "{}", log.stdout);
    assert!(log.stdout.contains("VCL_return     hash"), "{}", log.stdout);
    assert!(log.stdout.contains("BereqHeader"), "{}", log.stdout);
    // varnishlog's query language: only the hit (a `Hit` record) ...
    let hits_only = lab.lab(&["proxy", "log", "-q", "Hit and ReqURL ~ \"^/estatico\""]);
    assert_eq!(hits_only.code, 0, "{}", hits_only.all());
    assert_eq!(
        hits_only.stdout.matches("<< Request  >>").count(),
        1,
        "{}",
        hits_only.stdout
    );
    assert!(
        !hits_only.stdout.contains("<< BeReq"),
        "{}",
        hits_only.stdout
    );
    // ... the miss with its backend request nested (-g request) ...
    let grouped = lab.lab(&[
        "proxy",
        "log",
        "-g",
        "request",
        "-q",
        "not Hit and RespStatus == 200",
    ]);
    assert_eq!(
        grouped.stdout.matches("<< Request  >>").count(),
        1,
        "{}",
        grouped.stdout
    );
    assert!(
        grouped.stdout.contains("**  << BeReq    >>"),
        "{}",
        grouped.stdout
    );
    assert!(
        grouped.stdout.contains("--  BereqHeader"),
        "{}",
        grouped.stdout
    );
    // ... nothing for a query no request satisfies, and Spanish errors for the rest.
    let none = lab.lab(&["proxy", "log", "-q", "RespStatus >= 500"]);
    assert_eq!(none.code, 0, "{}", none.all());
    assert!(!none.stdout.contains("<< Request"), "{}", none.stdout);
    let bad = lab.lab(&["proxy", "log", "-q", "ReqUrls ~ x"]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(
        bad.stderr.contains("etiqueta desconocida `ReqUrls`"),
        "{}",
        bad.all()
    );
    assert!(bad.stderr.contains("ReqURL"), "{}", bad.all());
    let bad = lab.lab(&["proxy", "log", "-g", "session"]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(
        bad.stderr.contains("no agrupa con `-g session`"),
        "{}",
        bad.all()
    );

    lab.lab(&["ban", "req.url", "~", "^/estatico"])
        .assert_code(0);
    let third = lab.get("/estatico.txt");
    assert_eq!(
        third.header("x-varnish").map(|x| x.split(' ').count()),
        Some(1),
        "banned: a miss"
    );
    let bad = lab.lab(&["ban", "frobnicate"]);
    assert_eq!(bad.code, 1, "{}", bad.all());

    // Apache still answers directly on its own port.
    let direct = common::raw_request(
        std::net::SocketAddr::from(([127, 0, 0, 1], apache)),
        b"GET /estatico.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .unwrap();
    assert_eq!(direct.status, 200);
    assert_eq!(direct.header("via"), None);
}

#[test]
fn configtest_warns_about_ports() {
    let lab = TestLab::new();
    lab.lab(&["service", "varnish", "enable"]).assert_code(0);
    // Default VCL: backend 8080, where nobody listens in a fresh workspace.
    let ct = lab.configtest();
    assert_eq!(ct.code, 0, "{}", ct.all());
    assert!(
        ct.stderr
            .contains("el backend `default` apunta a 127.0.0.1:8080"),
        "{}",
        ct.all()
    );
    // varnish on :80 while Apache still has Listen 80.
    lab.write(
        "etc/systemd/system/varnish.service.d/override.conf",
        "[Service]\nExecStart=\nExecStart=/usr/sbin/varnishd -a :80 -f /etc/varnish/default.vcl -s malloc,256m\n",
    );
    let ct = lab.configtest();
    assert!(
        ct.stderr.contains("quieren el mismo puerto"),
        "{}",
        ct.all()
    );
    // Two ExecStart= without the empty reset line is an error, as in systemd.
    lab.write(
        "etc/systemd/system/varnish.service.d/override.conf",
        "[Service]\nExecStart=/usr/sbin/varnishd -a :80 -f /etc/varnish/default.vcl\n",
    );
    let ct = lab.configtest();
    assert_eq!(ct.code, 1, "{}", ct.all());
    assert!(ct.stderr.contains("ExecStart="), "{}", ct.all());
}

#[test]
fn configtest_reports_vcl_errors_with_location() {
    let lab = TestLab::new();
    lab.write(
        "etc/varnish/default.vcl",
        "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8080\"; }\nsub vcl_recv {\n  set req.ulr = \"/\";\n}\n",
    );
    let ct = lab.configtest();
    assert_eq!(ct.code, 1, "{}", ct.all());
    assert!(
        ct.stderr.contains("variable desconocida `req.ulr`"),
        "{}",
        ct.all()
    );
    assert!(
        ct.stderr.contains("etc/varnish/default.vcl:4:7"),
        "{}",
        ct.all()
    );
    assert!(
        ct.stderr.contains("¿Quisiste decir `req.url`?"),
        "{}",
        ct.all()
    );
}

#[test]
fn reload_with_a_broken_vcl_keeps_the_running_one() {
    let (mut lab, _) = port80_lab("");
    lab.start();
    assert_eq!(lab.get("/estatico.txt").status, 200);
    let good = lab.read("etc/varnish/default.vcl");
    lab.write(
        "etc/varnish/default.vcl",
        good.replace(
            "sub vcl_deliver {",
            "sub vcl_deliver {\n    set resp.http.X-Nuevo = \"si\"\n",
        ),
    );
    let r = lab.lab(&["reload"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("se esperaba `;`"), "{}", r.all());
    let resp = lab.get("/estatico.txt");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-nuevo"), None);
    lab.write(
        "etc/varnish/default.vcl",
        good.replace(
            "sub vcl_deliver {",
            "sub vcl_deliver {\n    set resp.http.X-Nuevo = \"si\";\n",
        ),
    );
    lab.lab(&["reload"]).assert_code(0);
    assert_eq!(lab.get("/estatico.txt").header("x-nuevo"), Some("si"));
}

#[test]
fn service_varnish_stop_and_start() {
    let (mut lab, _) = port80_lab("");
    lab.start();
    lab.lab(&["service", "varnish", "stop"]).assert_code(0);
    assert!(lab
        .raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
        .is_err());
    let st = lab.lab(&["proxy", "stat"]);
    assert_eq!(st.code, 1);
    assert!(
        st.stderr.contains("varnish no está en marcha"),
        "{}",
        st.all()
    );
    lab.lab(&["service", "varnish", "start"]).assert_code(0);
    assert_eq!(lab.get("/estatico.txt").status, 200);
}
