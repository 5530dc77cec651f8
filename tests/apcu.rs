//! The `apcu` Python module: importable in embedded and daemon mode, one cache shared by
//! every process and thread of a daemon group (exact under concurrent `inc`), TTLs, any
//! picklable value, a memory limit with eviction and counters.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use common::TestLab;

const APP: &str = r#"
import json
import os
import apcu

def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/inc":
        body = {"n": apcu.inc("visitas"), "pid": os.getpid()}
    elif path == "/valor":
        body = {"n": apcu.fetch("visitas", 0)}
    elif path == "/tipos":
        apcu.store("dict", {"a": [1, 2.5, "tres"], "b": None})
        apcu.store("texto", "año")
        apcu.store("bytes", b"\x00\x01")
        apcu.store("corta", 1, ttl=1)
        body = {
            "dict": apcu.fetch("dict"),
            "texto": apcu.fetch("texto"),
            "bytes": list(apcu.fetch("bytes")),
            "add_existente": apcu.add("texto", "otro"),
            "add_nueva": apcu.add("nueva", 7),
            "cas_bien": apcu.cas("nueva", 7, 8),
            "cas_mal": apcu.cas("nueva", 7, 9),
            "dec": apcu.dec("nueva"),
            "exists": apcu.exists("nueva"),
            "delete": apcu.delete("nueva"),
            "despues": apcu.exists("nueva"),
            "falta": apcu.fetch("no-esta", "defecto"),
        }
    elif path == "/corta":
        body = {"corta": apcu.fetch("corta", "caducada")}
    elif path == "/llenar":
        grande = "x" * 20000
        for i in range(400):
            apcu.store("g%d" % i, grande)
        info = apcu.cache_info()
        body = {"evictions": info["evictions"], "mem_used": info["mem_used"],
                "mem_size": info["mem_size"], "ultima": apcu.exists("g399")}
    else:
        info = apcu.cache_info()
        body = {k: info[k] for k in ("num_hits", "num_misses", "num_entries", "num_inserts")}
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]
"#;

fn apcu_lab(daemon: bool, extra_global: &str) -> TestLab {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write("var/www/app/app.wsgi", APP);
    let group = if daemon {
        "    WSGIDaemonProcess contador processes=2 threads=8\n    WSGIProcessGroup contador\n"
    } else {
        ""
    };
    lab.add_site(
        "app",
        &format!(
            "{extra_global}<VirtualHost *:80>\n    ServerName app.localhost\n{group}    WSGIScriptAlias / /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n    </Directory>\n</VirtualHost>\n"
        ),
    );
    lab.start();
    lab
}

fn json(lab: &TestLab, path: &str) -> serde_json::Value {
    let r = lab.get_host(path, "app.localhost");
    assert_eq!(
        r.status,
        200,
        "{r}\n{}",
        lab.read("var/log/apache2/error.log")
    );
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {r}"))
}

#[test]
fn a_thousand_concurrent_incs_over_two_processes_count_exactly() {
    let lab = Arc::new(apcu_lab(true, ""));
    let pids = Arc::new(Mutex::new(BTreeSet::new()));
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let lab = Arc::clone(&lab);
            let pids = Arc::clone(&pids);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let v = json(&lab, "/inc");
                    assert!(v["n"].as_i64().is_some(), "{v}");
                    if let Some(p) = v["pid"].as_u64() {
                        pids.lock().unwrap().insert(p);
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("cliente");
    }
    assert_eq!(json(&lab, "/valor")["n"], 1000);
    let pids = pids.lock().unwrap();
    assert_eq!(
        pids.len(),
        2,
        "las peticiones debían repartirse entre 2 procesos: {pids:?}"
    );
}

#[test]
fn values_ttls_add_cas_and_counters_in_embedded_mode() {
    let lab = apcu_lab(false, "");
    let v = json(&lab, "/tipos");
    assert_eq!(
        v["dict"],
        serde_json::json!({"a": [1, 2.5, "tres"], "b": null})
    );
    assert_eq!(v["texto"], "año");
    assert_eq!(v["bytes"], serde_json::json!([0, 1]));
    assert_eq!(v["add_existente"], false);
    assert_eq!(v["add_nueva"], true);
    assert_eq!(v["cas_bien"], true);
    assert_eq!(v["cas_mal"], false);
    assert_eq!(v["dec"], 7);
    assert_eq!(v["exists"], true);
    assert_eq!(v["delete"], true);
    assert_eq!(v["despues"], false);
    assert_eq!(v["falta"], "defecto");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(json(&lab, "/corta")["corta"], "caducada");
    let info = json(&lab, "/info");
    assert!(info["num_hits"].as_u64().unwrap_or(0) >= 3, "{info}");
    assert!(info["num_misses"].as_u64().unwrap_or(0) >= 2, "{info}");
}

#[test]
fn a_small_cache_evicts_and_counts() {
    let lab = apcu_lab(true, "WSGIApcuShmSize 1M\n");
    let v = json(&lab, "/llenar");
    assert!(v["evictions"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["mem_used"].as_u64() <= v["mem_size"].as_u64(), "{v}");
    assert_eq!(v["ultima"], true, "{v}");
}
