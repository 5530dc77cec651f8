//! `lab grade`: grades whole classes. Each submission ([`inputs`]) is copied and checked in
//! isolation ([`crate::isolate`]), several at a time; results go to an SQLite database
//! ([`db`]) as they arrive and, at the end, to the reports ([`reports`]).

pub mod db;
pub mod inputs;
pub mod reports;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lessons::exercise::Exercise;
use lessons::Course;
use serde::{Deserialize, Serialize};

use crate::isolate::{self, Limits, WorkerOptions};
use crate::run::ExerciseReport;
use inputs::{ArchiveLimits, Submission};

/// A step's result in the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub title: String,
    pub passed: bool,
    /// For a failed step: what was expected and what was found (Spanish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// An exercise's result in the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseResult {
    pub id: String,
    pub title: String,
    pub score: f64,
    pub max: f64,
    pub steps: Vec<StepResult>,
}

/// A student's result: what the JSON report holds per student (and `lab check --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentResult {
    pub student: String,
    pub score: f64,
    pub max: f64,
    pub exercises: Vec<ExerciseResult>,
    /// Why the workspace could not be graded at all (0 points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the set-up left out or could not do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Content hash of the workspace (lab.toml, state and venvs left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Other students whose workspace has the same hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identical_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub duration_ms: u64,
}

/// The whole result: exercises (columns) and students (rows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grades {
    pub exercises: Vec<ExerciseInfo>,
    pub students: Vec<StudentResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseInfo {
    pub id: String,
    pub title: String,
    pub points: u32,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl ExerciseResult {
    pub fn from_report(r: &ExerciseReport) -> ExerciseResult {
        ExerciseResult {
            id: r.id.clone(),
            title: r.title.clone(),
            score: round2(r.score()),
            max: f64::from(r.points),
            steps: r
                .steps
                .iter()
                .map(|s| {
                    let failed = s.checks.iter().find(|c| !c.outcome.passed);
                    StepResult {
                        title: s.title.clone(),
                        passed: s.passed,
                        expected: failed.map(|c| c.outcome.expected.clone()),
                        found: failed.map(|c| c.outcome.found.clone()),
                    }
                })
                .collect(),
        }
    }

    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.passed)
    }
}

impl StudentResult {
    /// A student result from exercise reports.
    pub fn from_reports(student: &str, reports: &[ExerciseReport]) -> StudentResult {
        let exercises: Vec<ExerciseResult> =
            reports.iter().map(ExerciseResult::from_report).collect();
        StudentResult {
            student: student.to_string(),
            score: round2(exercises.iter().map(|e| e.score).sum()),
            max: exercises.iter().map(|e| e.max).sum(),
            exercises,
            error: None,
            notes: vec![],
            hash: None,
            identical_to: vec![],
            source: None,
            duration_ms: 0,
        }
    }

    /// A workspace that could not be graded: 0 of `max`, with the reason.
    pub fn failed(student: &str, exercises: &[ExerciseInfo], why: &str) -> StudentResult {
        StudentResult {
            student: student.to_string(),
            score: 0.0,
            max: exercises.iter().map(|e| f64::from(e.points)).sum(),
            exercises: vec![],
            error: Some(why.to_string()),
            notes: vec![],
            hash: None,
            identical_to: vec![],
            source: None,
            duration_ms: 0,
        }
    }

    pub fn exercise(&self, id: &str) -> Option<&ExerciseResult> {
        self.exercises.iter().find(|e| e.id == id)
    }
}

impl Grades {
    /// Fills `identical_to` from the hashes and sorts students by id.
    pub fn finish(&mut self) {
        self.students.sort_by(|a, b| a.student.cmp(&b.student));
        let mut by_hash: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.students {
            if let Some(h) = &s.hash {
                by_hash
                    .entry(h.clone())
                    .or_default()
                    .push(s.student.clone());
            }
        }
        for s in &mut self.students {
            s.identical_to = s
                .hash
                .as_ref()
                .and_then(|h| by_hash.get(h))
                .map(|v| v.iter().filter(|x| **x != s.student).cloned().collect())
                .unwrap_or_default();
        }
    }

    /// Merges result files (`lab grade --json` or `lab check --json`): a later result of
    /// the same student replaces an earlier one.
    pub fn merge(files: &[PathBuf]) -> Result<Grades, String> {
        let mut out = Grades::default();
        for f in files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("no se pudo leer {}: {e}", f.display()))?;
            let g: Grades = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: no es un resultado de `lab grade --json` ni de `lab check --json` ({e})",
                    f.display()
                )
            })?;
            for e in g.exercises {
                if !out.exercises.iter().any(|x| x.id == e.id) {
                    out.exercises.push(e);
                }
            }
            for s in g.students {
                out.students.retain(|x| x.student != s.student);
                out.students.push(s);
            }
        }
        out.finish();
        Ok(out)
    }
}

/// Options of a grading run.
pub struct GradeOptions {
    pub jobs: usize,
    pub limits: Limits,
    pub archive_limits: ArchiveLimits,
    pub worker: WorkerOptions,
    /// Reuse a stored result when the workspace's hash has not changed.
    pub only_changed: bool,
    /// Set by Ctrl-C: no new workspace starts and running ones are stopped.
    pub cancel: Arc<AtomicBool>,
}

/// Called as each student finishes (for the progress bar).
pub trait Progress: Sync {
    fn started(&self, name: &str);
    fn finished(&self, result: &StudentResult);
}

/// Grades `subs` on `exercises`. Results are stored in `db` as they come; returns the grades
/// (only the finished students when cancelled).
pub fn grade(
    subs: &[Submission],
    exercises: &[&Exercise],
    opts: &GradeOptions,
    db: &Mutex<db::ResultsDb>,
    progress: &dyn Progress,
) -> Grades {
    let infos: Vec<ExerciseInfo> = exercises
        .iter()
        .map(|e| ExerciseInfo {
            id: e.id.clone(),
            title: e.title.clone(),
            points: e.points,
        })
        .collect();
    let run_id = db.lock().ok().and_then(|mut d| d.begin_run(&infos).ok());
    let queue = Mutex::new(subs.iter().collect::<std::collections::VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let jobs = opts.jobs.max(1).min(subs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if opts.cancel.load(Ordering::Relaxed) {
                    break;
                }
                let Some(sub) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    break;
                };
                progress.started(&sub.fallback_id);
                let r = grade_one(sub, exercises, &infos, opts, db);
                if opts.cancel.load(Ordering::Relaxed) && r.error.as_deref() == Some(CANCELLED) {
                    break;
                }
                if let (Some(run), Ok(mut d)) = (run_id, db.lock()) {
                    let _ = d.store(run, &r, &exercise_key(&infos));
                }
                progress.finished(&r);
                if let Ok(mut v) = results.lock() {
                    v.push(r);
                }
            });
        }
    });
    if let (Some(run), Ok(mut d)) = (run_id, db.lock()) {
        let _ = d.end_run(run, opts.cancel.load(Ordering::Relaxed));
    }
    let mut grades = Grades {
        exercises: infos,
        students: results.into_inner().unwrap_or_default(),
    };
    // Two submissions claiming one student id are both kept, told apart.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in &mut grades.students {
        let n = seen.entry(s.student.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            s.notes.push(format!(
                "otro espacio de trabajo declara también el estudiante «{}» en lab.toml",
                s.student
            ));
            s.student = format!("{} ({})", s.student, n);
        }
    }
    grades.finish();
    grades
}

const CANCELLED: &str = "corrección interrumpida";

/// The exercises of a run, as the database keys results.
fn exercise_key(infos: &[ExerciseInfo]) -> String {
    infos
        .iter()
        .map(|e| e.id.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn scratch_dir() -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lab-grade-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("no se pudo crear {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Removes the scratch directory when the job ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn grade_one(
    sub: &Submission,
    exercises: &[&Exercise],
    infos: &[ExerciseInfo],
    opts: &GradeOptions,
    db: &Mutex<db::ResultsDb>,
) -> StudentResult {
    let started = Instant::now();
    let mut r = grade_inner(sub, exercises, infos, opts, db);
    r.source = Some(sub.describe());
    if r.duration_ms == 0 {
        r.duration_ms = started.elapsed().as_millis() as u64;
    }
    r
}

fn grade_inner(
    sub: &Submission,
    exercises: &[&Exercise],
    infos: &[ExerciseInfo],
    opts: &GradeOptions,
    db: &Mutex<db::ResultsDb>,
) -> StudentResult {
    let fail = |why: String| StudentResult::failed(&sub.fallback_id, infos, &why);
    let scratch = match scratch_dir() {
        Ok(d) => Scratch(d),
        Err(e) => return fail(e),
    };
    let (dir, mut notes) = match inputs::materialize(sub, &scratch.0, opts.archive_limits) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let Some(root) = inputs::workspace_root(&dir) else {
        let mut r = fail("no es un espacio de trabajo: falta lab.toml".into());
        r.notes = notes;
        return r;
    };
    let hash = inputs::content_hash(&root);
    // The copy: the student's files are never touched.
    let copy = scratch.0.join("ws");
    match isolate::copy_workspace(&root, &copy, &opts.limits) {
        Ok(n) => notes.extend(n),
        Err(e) => {
            let mut r = fail(e);
            r.hash = Some(hash);
            r.notes = notes;
            return r;
        }
    }
    let ws = match lab_server::workspace::Workspace::open(&copy) {
        Ok(w) => w,
        Err(e) => {
            let mut r = fail(format!("lab.toml no es válido: {e}"));
            r.hash = Some(hash);
            return r;
        }
    };
    let student = if ws.settings.student.trim().is_empty() {
        sub.fallback_id.clone()
    } else {
        ws.settings.student.trim().to_string()
    };
    if opts.only_changed {
        let stored = db.lock().ok().and_then(|d| {
            d.latest(&student, &hash, &exercise_key(infos))
                .ok()
                .flatten()
        });
        if let Some(mut prev) = stored {
            prev.notes.retain(|n| !n.starts_with("sin cambios"));
            prev.notes
                .push("sin cambios desde la corrección anterior: resultado reutilizado".into());
            return prev;
        }
    }
    let done = isolate::check_in_workspace(&copy, exercises, &opts.worker, Some(&opts.cancel));
    if opts.cancel.load(Ordering::Relaxed) {
        return fail(CANCELLED.into());
    }
    let mut r = StudentResult::from_reports(&student, &done.reports);
    for n in done.notes {
        if !notes.contains(&n) {
            notes.push(n);
        }
    }
    r.notes = notes;
    r.hash = Some(hash);
    r
}

/// The default number of jobs: the CPU count.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Default per-exercise time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the results database goes: beside the first report, else the current directory.
pub fn db_path(reports: &[Option<&Path>]) -> PathBuf {
    reports
        .iter()
        .flatten()
        .next()
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.join("lab-grade.db"))
        .unwrap_or_else(|| PathBuf::from("lab-grade.db"))
}

/// The exercises to grade: `ids` (all when empty), in course order.
pub fn select<'a>(course: &'a Course, ids: &[String]) -> Result<Vec<&'a Exercise>, String> {
    for id in ids {
        if !course.exercises.contains_key(id) {
            return Err(format!(
                "el ejercicio `{id}` no existe; ejercicios: {}",
                course
                    .exercises
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(course
        .exercises
        .values()
        .filter(|e| ids.is_empty() || ids.contains(&e.id))
        .collect())
}

/// The progress bar of `lab grade` (indicatif; hidden when stderr is not a terminal).
pub struct Bar {
    bar: indicatif::ProgressBar,
    running: Mutex<Vec<String>>,
}

impl Bar {
    pub fn new(total: usize) -> Bar {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} corrigiendo: {msg}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show(&self) {
        if let Ok(r) = self.running.lock() {
            self.bar.set_message(r.join(", "));
        }
    }
}

impl Progress for Bar {
    fn started(&self, name: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.push(name.to_string());
        }
        self.show();
    }

    fn finished(&self, result: &StudentResult) {
        if let Ok(mut r) = self.running.lock() {
            let source = result.source.clone().unwrap_or_default();
            // The bar shows the folder name until lab.toml gives the id: drop either.
            if let Some(i) = r
                .iter()
                .position(|n| *n == result.student || source.ends_with(n.as_str()))
            {
                r.remove(i);
            } else if !r.is_empty() {
                r.remove(0);
            }
        }
        self.bar.inc(1);
        self.show();
    }
}
