//! The progress database survives a process killed in the middle of writing: the test
//! re-runs its own binary as a writer that records attempts in a loop, kills it with
//! SIGKILL, and checks the database is intact and consistent.

use std::process::Command;
use std::time::{Duration, Instant};

use lessons::progress::Progress;

const WRITER_ENV: &str = "LAB_TEST_PROGRESS_WRITER";

/// The child process of the test below: writes attempts until killed. Ignored in normal
/// runs; the test starts it with `--ignored`.
#[test]
#[ignore = "helper process of progress_database_survives_kill_9_mid_write"]
fn writer_child() {
    let dir =
        std::env::var_os(WRITER_ENV).expect("run by progress_database_survives_kill_9_mid_write");
    let mut p = Progress::open_workspace(std::path::Path::new(&dir)).unwrap();
    std::fs::write(std::path::Path::new(&dir).join("ready"), b"1").unwrap();
    let mut i = 0u64;
    loop {
        let steps: Vec<bool> = (0..8).map(|s| (i + s).is_multiple_of(3)).collect();
        p.record(&format!("ej{}", i % 5), &steps).unwrap();
        i += 1;
    }
}

#[test]
fn progress_database_survives_kill_9_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, dir.path())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("ready").exists() {
        assert!(Instant::now() < deadline, "the writer never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Let it write for a while, then kill it without warning.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the writer must have been killed");

    let p = Progress::open_workspace(dir.path()).unwrap();
    assert!(p.is_intact().unwrap(), "integrity_check failed");
    let all = p.all().unwrap();
    let attempts: u32 = all.values().map(|s| s.attempts).sum();
    assert!(
        attempts > 0,
        "the writer recorded nothing before being killed"
    );
    // Every exercise with attempts has all 8 steps: an attempt is never half-written.
    for (id, s) in &all {
        assert_eq!(s.steps.len(), 8, "exercise {id} has a partial attempt");
    }
    // The step table agrees with the last attempt of every exercise: an attempt and its
    // step results were committed together or not at all.
    drop(p);
    let conn = rusqlite::Connection::open(dir.path().join(".lab/progress.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT exercise, passed FROM attempts a WHERE id = \
             (SELECT MAX(id) FROM attempts b WHERE b.exercise = a.exercise)",
        )
        .unwrap();
    let last: Vec<(String, u32)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!last.is_empty());
    for (id, passed) in last {
        assert_eq!(
            all[&id].passed_steps() as u32,
            passed,
            "steps of {id} do not match its last attempt"
        );
    }
}
