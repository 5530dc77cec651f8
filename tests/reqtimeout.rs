//! mod_reqtimeout (`RequestReadTimeout`) and `LimitRequestBody` on chunked bodies, compared
//! with Debian's Apache.
//!
//! `tests/transcripts/reqtimeout/scenarios.py` sends slow and oversized requests, timed, and
//! notes what came back, when the connection closed, the access and error log lines and what
//! the CGI script received. `scenarios.py record` ran them against Apache 2.4 (mpm_event,
//! mod_cgid) and wrote `apache.json`; this test runs the same client against the lab with
//! the same configuration and compares.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestLab;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/reqtimeout")
}

const CONF: &str = "RequestReadTimeout header=2-4,MinRate=100 body=2,MinRate=100
LimitRequestBody 1000
KeepAliveTimeout 5
LogLevel info
";

#[test]
fn slow_and_oversized_requests_are_answered_and_logged_as_apache_does() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    lab.write("etc/apache2/conf-available/pruebas.conf", CONF);
    lab.symlink(
        "../conf-available/pruebas.conf",
        "etc/apache2/conf-enabled/pruebas.conf",
    );
    lab.write("var/www/html/hola.txt", "hola\n");
    let script = lab.path("usr/lib/cgi-bin/body.cgi");
    std::fs::copy(dir().join("body.cgi"), &script).expect("copy script");
    let got = lab.path("usr/lib/cgi-bin/cgi-got.txt");
    std::fs::write(&got, "").unwrap();
    lab.start();

    let out = Command::new("python3")
        .arg(dir().join("scenarios.py"))
        .arg("run")
        .arg(lab.addr().port().to_string())
        .arg(lab.path("var/log/apache2/access.log"))
        .arg(lab.path("var/log/apache2/error.log"))
        .arg(&got)
        .output()
        .expect("python3 runs the scenarios");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lab_runs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let apache: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("apache.json")).unwrap()).unwrap();
    let apache = apache["scenarios"].as_array().unwrap();
    let lab_runs = lab_runs.as_array().unwrap();
    assert_eq!(lab_runs.len(), apache.len());
    // Whether the script read the end of its stdin before its SIGTERM is a race in both
    // servers: only how much it got counts.
    let mut wrong = Vec::new();
    let cgi = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str())
                    .map(|l| l.replace("eof total", "read total"))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (a, l) in apache.iter().zip(lab_runs) {
        let name = a["name"].as_str().unwrap();
        if cgi(&a["cgi"]) != cgi(&l["cgi"]) {
            wrong.push(format!(
                "{name}: cgi: Apache {} / lab {}",
                a["cgi"], l["cgi"]
            ));
        }
        for key in ["first", "statuses", "access", "error"] {
            if a[key] != l[key] {
                wrong.push(format!("{name}: {key}: Apache {} / lab {}", a[key], l[key]));
            }
        }
        // When the server closed: both never, or within 0.9 s of each other (the client
        // itself runs on a busy machine).
        match (a["secs"].as_f64(), l["secs"].as_f64()) {
            (None, None) => {}
            (Some(x), Some(y)) if (x - y).abs() <= 0.9 => {}
            (x, y) => wrong.push(format!(
                "{name}: closed after {x:?} s in Apache, {y:?} s in the lab"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bad_request_read_timeout_values_are_configtest_errors_with_file_and_line() {
    let lab = TestLab::new();
    for (value, part) in [
        (
            "header=20-10,MinRate=500",
            "el tiempo máximo debe ser mayor que el inicial",
        ),
        ("header=20-40", "necesita MinRate"),
        ("body=10,MinRate=0", "MinRate debe ser mayor que 0"),
        ("cuerpo=10", "parámetro desconocido `cuerpo`"),
        ("header", "`clave=valor`"),
        ("header=veinte", "`veinte` no es un número"),
        // As in Apache: a `-` is a range, which needs MinRate.
        ("body=-5", "necesita MinRate"),
    ] {
        lab.write(
            "etc/apache2/conf-available/pruebas.conf",
            format!("# prueba\nRequestReadTimeout header=20-40,MinRate=500 {value}\n"),
        );
        lab.symlink(
            "../conf-available/pruebas.conf",
            "etc/apache2/conf-enabled/pruebas.conf",
        );
        let out = lab.configtest();
        let text = out.all();
        assert_ne!(out.code, 0, "{value}: {text}");
        assert!(text.contains(part), "{value}: {text}");
        assert!(
            text.contains("conf-enabled/pruebas.conf:2") || text.contains("pruebas.conf:2"),
            "{value}: names the file and line: {text}"
        );
    }
    lab.write(
        "etc/apache2/conf-available/pruebas.conf",
        "RequestReadTimeout handshake=5 header=20-40,MinRate=500 body=20,MinRate=500\n",
    );
    let out = lab.configtest();
    assert_eq!(out.code, 0, "{}", out.all());
}
