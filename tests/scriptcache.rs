//! The script cache (`ScriptCache*`, like OPcache) for Python CGI scripts: miss then hit,
//! invalidation by mtime, staleness bounded by `ScriptCacheRevalidateFreq`, no validation
//! with `ScriptCacheValidateTimestamps Off` until `lab cache reset`, and the status handler.

mod common;

use std::time::Duration;

use common::TestLab;

fn lab_with_cache(directives: &str) -> TestLab {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    lab.lab(&["a2enmod", "scriptcache"]).assert_code(0);
    lab.write(
        "etc/apache2/conf-available/cache.conf",
        format!(
            "{directives}\n<Location /estado-cache>\n\tSetHandler scriptcache-status\n</Location>\n"
        ),
    );
    lab.symlink(
        "../conf-available/cache.conf",
        "etc/apache2/conf-enabled/cache.conf",
    );
    write_script(&lab, "uno");
    lab.start();
    lab
}

fn write_script(lab: &TestLab, word: &str) {
    let path = lab.path("usr/lib/cgi-bin/version.py");
    std::fs::write(
        &path,
        format!(
            "#!/usr/bin/python3\nimport sys\nprint('Content-Type: text/plain')\nprint()\nprint('{word}', __name__, sys.argv[0].endswith('version.py'))\n"
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn counters(lab: &TestLab) -> (u64, u64, u64) {
    let resp = lab.get("/estado-cache?json");
    assert_eq!(resp.status, 200, "{resp}");
    let v: serde_json::Value = serde_json::from_slice(&resp.body).expect("json");
    let s = &v["statistics"];
    (
        s["hits"].as_u64().unwrap_or(99),
        s["misses"].as_u64().unwrap_or(99),
        s["num_cached_scripts"].as_u64().unwrap_or(99),
    )
}

fn body(lab: &TestLab) -> String {
    let resp = lab.get("/cgi-bin/version.py");
    assert_eq!(resp.status, 200, "{resp}");
    resp.text()
}

#[test]
fn miss_then_hit_and_a_changed_script_is_recompiled() {
    let lab = lab_with_cache("ScriptCacheRevalidateFreq 0");
    assert_eq!(body(&lab), "uno __main__ True\n");
    assert_eq!(counters(&lab), (0, 1, 0));
    assert_eq!(body(&lab), "uno __main__ True\n");
    assert_eq!(counters(&lab), (1, 1, 1));
    // A new mtime and size: never run stale with RevalidateFreq 0.
    std::thread::sleep(Duration::from_millis(20));
    write_script(&lab, "dos-cambiado");
    assert_eq!(body(&lab), "dos-cambiado __main__ True\n");
    let (_, misses, _) = counters(&lab);
    assert_eq!(misses, 2);
    // Imported modules' bytecode goes under .lab/, not next to the script.
    assert!(!lab.path("usr/lib/cgi-bin/__pycache__").exists());
    assert_eq!(body(&lab), "dos-cambiado __main__ True\n");
    let html = lab.get("/estado-cache").text();
    assert!(
        html.contains("Caché de scripts") && html.contains("version.py"),
        "{html}"
    );
}

#[test]
fn staleness_is_bounded_by_revalidate_freq() {
    let lab = lab_with_cache("ScriptCacheRevalidateFreq 2");
    assert_eq!(body(&lab), "uno __main__ True\n");
    assert_eq!(body(&lab), "uno __main__ True\n");
    write_script(&lab, "dos");
    // Within the window: the cached code still runs (OPcache does the same).
    assert_eq!(body(&lab), "uno __main__ True\n");
    std::thread::sleep(Duration::from_millis(2300));
    assert_eq!(body(&lab), "dos __main__ True\n");
}

#[test]
fn without_timestamp_validation_only_a_reset_refreshes() {
    let lab = lab_with_cache("ScriptCacheValidateTimestamps Off");
    assert_eq!(body(&lab), "uno __main__ True\n");
    assert_eq!(body(&lab), "uno __main__ True\n");
    write_script(&lab, "dos");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(body(&lab), "uno __main__ True\n");
    let out = lab.lab(&["cache", "reset"]);
    out.assert_code(0);
    assert!(out.all().contains("vaciada"), "{}", out.all());
    assert_eq!(body(&lab), "dos __main__ True\n");
}

#[test]
fn the_cache_is_off_until_the_module_is_enabled() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "cgid"]).assert_code(0);
    write_script(&lab, "uno");
    lab.start();
    assert_eq!(body(&lab), "uno __main__ True\n");
    let out = lab.lab(&["cache", "status"]);
    assert!(out.all().contains("desactivada"), "{}", out.all());
    assert!(!lab.path(".lab/scriptcache").exists());
}
