//! Progress of a student: attempts and passed steps, in `.lab/progress.db` (SQLite).
//!
//! WAL journal and `synchronous = FULL`: every `record` is one transaction, so a process
//! killed at any point leaves the database as it was before or after that attempt, never
//! half-written. The schema is versioned with `PRAGMA user_version` and migrated on open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

/// Errors of the progress database, in Spanish.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("no se puede abrir la base de datos de progreso {path}: {source}\n  ayuda: si está dañada, muévela a otro sitio (se creará una nueva vacía)")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("error en la base de datos de progreso: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no se puede crear {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

/// Migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        exercise TEXT NOT NULL,
        at INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        total INTEGER NOT NULL
    );
    CREATE INDEX attempts_exercise ON attempts(exercise);
    CREATE TABLE steps (
        exercise TEXT NOT NULL,
        step INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        first_passed_at INTEGER,
        last_checked_at INTEGER NOT NULL,
        PRIMARY KEY (exercise, step)
    );",
    // 2: when the starter files of an exercise were copied (`lab prepare`).
    "CREATE TABLE prepared (
        exercise TEXT PRIMARY KEY,
        at INTEGER NOT NULL
    );",
    // 3: `lab bench` runs (crate::runs).
    crate::runs::MIGRATION,
];

/// What is known about one exercise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExerciseStatus {
    pub attempts: u32,
    /// Result of the last check of each step (by index).
    pub steps: BTreeMap<u32, bool>,
    /// Unix time of the last attempt.
    pub last_attempt: Option<i64>,
}

impl ExerciseStatus {
    pub fn passed_steps(&self) -> usize {
        self.steps.values().filter(|p| **p).count()
    }
}

/// The open database.
pub struct Progress {
    pub(crate) conn: Connection,
    path: PathBuf,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Progress {
    /// The database of the workspace rooted at `ws_root`.
    pub fn open_workspace(ws_root: &Path) -> Result<Progress, ProgressError> {
        let dir = ws_root.join(".lab");
        std::fs::create_dir_all(&dir).map_err(|source| ProgressError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        Progress::open(&dir.join("progress.db"))
    }

    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Progress, ProgressError> {
        let open_err = |source| ProgressError::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        let mut p = Progress {
            conn,
            path: path.to_path_buf(),
        };
        p.migrate().map_err(open_err)?;
        Ok(p)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Records one attempt at `exercise` with the result of each step, atomically.
    pub fn record(&mut self, exercise: &str, steps: &[bool]) -> Result<(), ProgressError> {
        let at = now();
        let passed = steps.iter().filter(|p| **p).count() as i64;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO attempts (exercise, at, passed, total) VALUES (?1, ?2, ?3, ?4)",
            params![exercise, at, passed, steps.len() as i64],
        )?;
        for (i, ok) in steps.iter().enumerate() {
            tx.execute(
                "INSERT INTO steps (exercise, step, passed, first_passed_at, last_checked_at)
                 VALUES (?1, ?2, ?3, CASE WHEN ?3 THEN ?4 END, ?4)
                 ON CONFLICT (exercise, step) DO UPDATE SET
                   passed = excluded.passed,
                   first_passed_at = COALESCE(steps.first_passed_at, excluded.first_passed_at),
                   last_checked_at = excluded.last_checked_at",
                params![exercise, i as i64, *ok, at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Notes that the starter of `exercise` was copied into the workspace.
    pub fn mark_prepared(&mut self, exercise: &str) -> Result<(), ProgressError> {
        self.conn.execute(
            "INSERT INTO prepared (exercise, at) VALUES (?1, ?2)
             ON CONFLICT (exercise) DO UPDATE SET at = excluded.at",
            params![exercise, now()],
        )?;
        Ok(())
    }

    /// Whether the starter of `exercise` was copied.
    pub fn is_prepared(&self, exercise: &str) -> Result<bool, ProgressError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM prepared WHERE exercise = ?1",
                [exercise],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, ProgressError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The status of one exercise.
    pub fn status(&self, exercise: &str) -> Result<ExerciseStatus, ProgressError> {
        let (attempts, last): (u32, Option<i64>) = self.conn.query_row(
            "SELECT COUNT(*), MAX(at) FROM attempts WHERE exercise = ?1",
            [exercise],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT step, passed FROM steps WHERE exercise = ?1")?;
        let steps = stmt
            .query_map([exercise], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, bool>(1)?))
            })?
            .collect::<rusqlite::Result<BTreeMap<u32, bool>>>()?;
        Ok(ExerciseStatus {
            attempts,
            steps,
            last_attempt: last,
        })
    }

    /// The status of every exercise with at least one attempt.
    pub fn all(&self) -> Result<BTreeMap<String, ExerciseStatus>, ProgressError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT exercise FROM attempts")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        ids.into_iter()
            .map(|id| self.status(&id).map(|s| (id, s)))
            .collect()
    }

    /// `PRAGMA integrity_check` says "ok".
    pub fn is_intact(&self) -> Result<bool, ProgressError> {
        let r: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }

    /// Number of attempts recorded for `exercise` (for tests and reports).
    pub fn attempts(&self, exercise: &str) -> Result<u32, ProgressError> {
        Ok(self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM attempts WHERE exercise = ?1",
                [exercise],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_attempts_and_keeps_first_pass_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Progress::open_workspace(dir.path()).unwrap();
        p.record("ej", &[true, false]).unwrap();
        p.record("ej", &[true, true]).unwrap();
        let s = p.status("ej").unwrap();
        assert_eq!(s.attempts, 2);
        assert_eq!(s.passed_steps(), 2);
        assert!(p.is_intact().unwrap());
        drop(p);
        // Reopening runs no migration twice and keeps the data.
        let p = Progress::open_workspace(dir.path()).unwrap();
        assert_eq!(p.attempts("ej").unwrap(), 2);
        assert_eq!(p.all().unwrap().len(), 1);
        assert_eq!(p.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_version_1_database_is_migrated_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.db");
        {
            // A database as the first version of the lab left it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO attempts (exercise, at, passed, total) VALUES ('viejo', 1, 1, 2)",
                [],
            )
            .unwrap();
        }
        let mut p = Progress::open(&path).unwrap();
        assert_eq!(p.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(p.attempts("viejo").unwrap(), 1);
        assert!(!p.is_prepared("viejo").unwrap());
        p.mark_prepared("viejo").unwrap();
        assert!(p.is_prepared("viejo").unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_database_gives_a_spanish_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.db");
        std::fs::write(
            &path,
            b"esto no es sqlite, es texto corriente de un fichero",
        )
        .unwrap();
        let err = Progress::open(&path).err().expect("must fail");
        assert!(
            err.to_string().contains("base de datos de progreso"),
            "{err}"
        );
    }
}
