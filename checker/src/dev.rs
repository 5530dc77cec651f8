//! `lab dev check`: validates the whole course like `rustlings dev check`: every exercise
//! loads and its checks parse, every starter fails (at least one step), every solution
//! passes (every step). Each runs in a fresh workspace with isolated ports. An exercise with
//! per-student parameters must also reject a classmate's solution: the solution made for
//! one student, copied into another student's workspace, may not pass. Each fresh workspace
//! is checked like a graded one ([`crate::isolate`]): its `[setup]` prepared, its own lab.

use std::path::Path;

use lab_server::workspace;
use lessons::exercise::{Exercise, Tree};
use lessons::Course;

use crate::isolate::{self, WorkerOptions};
use crate::run::{params_for, validate_course, ExerciseReport};

/// The verdict on one exercise.
#[derive(Debug)]
pub struct DevResult {
    pub id: String,
    /// Problems found (empty: the exercise is sound).
    pub problems: Vec<String>,
}

/// Student id used for the fresh workspaces.
pub const DEV_STUDENT: &str = "comprobacion";
/// The classmate whose solution is copied in the parameter check.
pub const OTHER_STUDENT: &str = "companero";

/// What goes into the fresh workspace besides the starter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    Starter,
    Solution,
    /// The solution derived for [`OTHER_STUDENT`].
    ClassmateSolution,
}

fn fresh(
    dir: &Path,
    exercise: &Exercise,
    run: Run,
    opts: &WorkerOptions,
) -> Result<ExerciseReport, String> {
    let ws = workspace::init(dir, Some(DEV_STUDENT)).map_err(|e| e.to_string())?;
    let params = params_for(&ws, exercise);
    exercise
        .apply_tree(Tree::Starter, &ws.root, &params, true)
        .map_err(|e| format!("al preparar starter/: {e}"))?;
    let solution_params = match run {
        Run::Starter => None,
        Run::Solution => Some(params),
        Run::ClassmateSolution => Some(lessons::params::Params::derive(
            OTHER_STUDENT,
            &exercise.id,
            &exercise.params,
        )),
    };
    if let Some(p) = solution_params {
        exercise
            .apply_tree(Tree::Solution, &ws.root, &p, true)
            .map_err(|e| format!("al aplicar solution/: {e}"))?;
        if !exercise.solution_runs.is_empty() {
            let mut progress = lessons::progress::Progress::open_workspace(&ws.root)
                .map_err(|e| format!("al guardar solution_runs: {e}"))?;
            for r in &exercise.solution_runs {
                let mut r = r.clone();
                r.label = p.apply(&r.label);
                r.url = p.apply(&r.url);
                progress
                    .record_run(&r)
                    .map_err(|e| format!("al guardar solution_runs: {e}"))?;
            }
        }
    }
    // The fresh workspace is a throwaway: it is checked in place, in isolation.
    let mut done = isolate::check_in_workspace(&ws.root, &[exercise], opts, None);
    let report = done
        .reports
        .pop()
        .ok_or_else(|| "la comprobación no dio resultado".to_string())?;
    if run == Run::Solution && !report.passed() && !done.notes.is_empty() {
        return Err(format!(
            "preparación: {}; y además no supera: {}",
            done.notes.join("; "),
            report
                .steps
                .iter()
                .filter(|s| !s.passed)
                .map(|s| s.title.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(report)
}

/// Checks one exercise.
pub fn check_one(exercise: &Exercise, opts: &WorkerOptions) -> DevResult {
    let mut problems = Vec::new();
    let mut runs = vec![Run::Starter, Run::Solution];
    if !exercise.params.is_empty() {
        runs.push(Run::ClassmateSolution);
    }
    for run in runs {
        let solution = run == Run::Solution;
        let dir = match tempfile_dir() {
            Ok(d) => d,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let which = match run {
            Run::Starter => "el punto de partida",
            Run::Solution => "la solución",
            Run::ClassmateSolution => "la solución de otro estudiante",
        };
        match fresh(&dir.join("ws"), exercise, run, opts) {
            Ok(report) => {
                if solution && !report.passed() {
                    for (i, s) in report.steps.iter().enumerate().filter(|(_, s)| !s.passed) {
                        let why = s
                            .checks
                            .iter()
                            .find(|c| !c.outcome.passed)
                            .map(|c| format!("{} / {}", c.outcome.expected, c.outcome.found))
                            .unwrap_or_default();
                        problems.push(format!(
                            "{which} no supera el paso {} «{}»: {why}",
                            i + 1,
                            s.title
                        ));
                    }
                }
                if run == Run::Starter && report.passed() {
                    problems.push(format!(
                        "{which} ya supera todos los pasos: el ejercicio no pide nada"
                    ));
                }
                if run == Run::ClassmateSolution && report.passed() {
                    problems.push(format!(
                        "{which} ({OTHER_STUDENT}) también supera todos los pasos: las comprobaciones no dependen de los parámetros"
                    ));
                }
            }
            // A classmate's solution that cannot even be applied (its `a2ensite` names a
            // site this workspace does not have) is rejected, as it should be.
            Err(_) if run == Run::ClassmateSolution => {}
            Err(e) => problems.push(format!("{which}: {e}")),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    DevResult {
        id: exercise.id.clone(),
        problems,
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let base = std::env::temp_dir().join(format!(
        "lab-dev-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&base)
        .map_err(|e| format!("no se pudo crear {}: {e}", base.display()))?;
    Ok(base)
}

/// Checks the whole course: returns the author errors of the checks and the verdict on each
/// exercise.
pub fn check_course(course: &Course, opts: &WorkerOptions) -> (Vec<String>, Vec<DevResult>) {
    check_exercises(course, &[], opts)
}

/// Like [`check_course`], running only the exercises in `only` (all when empty); the checks
/// of every exercise are still validated.
pub fn check_exercises(
    course: &Course,
    only: &[String],
    opts: &WorkerOptions,
) -> (Vec<String>, Vec<DevResult>) {
    let errors = validate_course(course);
    let results = course
        .exercises
        .values()
        .filter(|e| only.is_empty() || only.contains(&e.id))
        .map(|e| check_one(e, opts))
        .collect();
    (errors, results)
}
