//! mod_status: `/server-status` for local clients, machine-readable with `?auto`.

mod common;

use common::TestLab;

#[test]
fn server_status_answers_local_clients() {
    let mut lab = TestLab::new();
    lab.start();
    let _ = lab.get("/");
    let resp = lab.get("/server-status");
    assert_eq!(resp.status, 200, "{resp}");
    assert!(
        resp.header("content-type")
            .is_some_and(|v| v.starts_with("text/html")),
        "{resp}"
    );
}

#[test]
fn server_status_auto_is_machine_readable() {
    let mut lab = TestLab::new();
    lab.start();
    for _ in 0..3 {
        assert_eq!(lab.get("/").status, 200);
    }
    let resp = lab.get("/server-status?auto");
    assert_eq!(resp.status, 200, "{resp}");
    let text = resp.text();
    let accesses: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Total Accesses:"))
        .unwrap_or_else(|| panic!("sin «Total Accesses:»:\n{text}"))
        .trim()
        .parse()
        .expect("número");
    assert!(accesses >= 3, "Total Accesses = {accesses}\n{text}");
    assert!(text.contains("Uptime:"), "{text}");
}

#[test]
fn server_status_is_denied_when_require_local_is_replaced() {
    let mut lab = TestLab::new();
    lab.replace(
        "etc/apache2/mods-available/status.conf",
        "Require local",
        "Require ip 192.0.2.0/24",
    );
    lab.start();
    assert_eq!(lab.get("/server-status").status, 403);
}
