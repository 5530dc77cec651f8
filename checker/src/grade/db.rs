//! The results database of `lab grade` (SQLite, beside the reports): runs, students with
//! their content hash, exercises, steps, points, reasons and durations. Each student is
//! written in one transaction when it finishes, so an interrupted run keeps what it graded;
//! `--only-changed` reuses the latest result of a student whose hash has not changed.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{ExerciseInfo, StudentResult};

pub struct ResultsDb {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL DEFAULT (datetime('now')),
    finished TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0,
    exercises TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS students (
    run INTEGER NOT NULL REFERENCES runs(id),
    student TEXT NOT NULL,
    source TEXT,
    hash TEXT,
    exercises TEXT NOT NULL,
    score REAL NOT NULL,
    max REAL NOT NULL,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (run, student)
);
CREATE INDEX IF NOT EXISTS students_hash ON students(student, hash, exercises);
CREATE TABLE IF NOT EXISTS exercises (
    run INTEGER NOT NULL,
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    score REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (run, student, exercise)
);
CREATE TABLE IF NOT EXISTS steps (
    run INTEGER NOT NULL,
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    step INTEGER NOT NULL,
    title TEXT NOT NULL,
    passed INTEGER NOT NULL,
    expected TEXT,
    found TEXT,
    PRIMARY KEY (run, student, exercise, step)
);
";

impl ResultsDb {
    pub fn open(path: &Path) -> Result<ResultsDb, String> {
        let shown = path.display();
        let conn = Connection::open(path).map_err(|e| format!("{shown}: {e}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| format!("{shown}: {e}"))?;
        conn.execute_batch("PRAGMA journal_mode=WAL;")
            .and_then(|_| conn.execute_batch(SCHEMA))
            .map_err(|e| format!("{shown} no es una base de datos de `lab grade`: {e}"))?;
        Ok(ResultsDb { conn })
    }

    pub fn begin_run(&mut self, exercises: &[ExerciseInfo]) -> Result<i64, String> {
        let ids: Vec<&str> = exercises.iter().map(|e| e.id.as_str()).collect();
        self.conn
            .execute("INSERT INTO runs (exercises) VALUES (?1)", [ids.join(",")])
            .map_err(|e| e.to_string())?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn end_run(&mut self, run: i64, interrupted: bool) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE runs SET finished = datetime('now'), interrupted = ?2 WHERE id = ?1",
                params![run, interrupted],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Stores one student's result, all or nothing.
    pub fn store(&mut self, run: i64, r: &StudentResult, exercises: &str) -> Result<(), String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let json = serde_json::to_string(r).map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT OR REPLACE INTO students
             (run, student, source, hash, exercises, score, max, error, duration_ms, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                run,
                r.student,
                r.source,
                r.hash,
                exercises,
                r.score,
                r.max,
                r.error,
                r.duration_ms as i64,
                json
            ],
        )
        .map_err(|e| e.to_string())?;
        for e in &r.exercises {
            tx.execute(
                "INSERT OR REPLACE INTO exercises (run, student, exercise, score, max)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run, r.student, e.id, e.score, e.max],
            )
            .map_err(|e| e.to_string())?;
            for (i, s) in e.steps.iter().enumerate() {
                tx.execute(
                    "INSERT OR REPLACE INTO steps
                     (run, student, exercise, step, title, passed, expected, found)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        run,
                        r.student,
                        e.id,
                        i as i64 + 1,
                        s.title,
                        s.passed,
                        s.expected,
                        s.found
                    ],
                )
                .map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// The latest stored result of `student` with this hash over these exercises (never one
    /// that failed as a whole: that may have been the machine's fault).
    pub fn latest(
        &self,
        student: &str,
        hash: &str,
        exercises: &str,
    ) -> Result<Option<StudentResult>, String> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT result FROM students
                 WHERE student = ?1 AND hash = ?2 AND exercises = ?3 AND error IS NULL
                 ORDER BY run DESC LIMIT 1",
                params![student, hash, exercises],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// How many students a run stored.
    pub fn count(&self, run: i64) -> Result<i64, String> {
        self.conn
            .query_row("SELECT count(*) FROM students WHERE run = ?1", [run], |r| {
                r.get(0)
            })
            .map_err(|e| e.to_string())
    }
}
