//! Running an exercise's checks, step by step, with partial credit by step.

use lab_server::workspace::Workspace;
use lessons::exercise::Exercise;
use lessons::params::Params;
use serde::{Deserialize, Serialize};

use crate::checks::{Check, Context, Outcome};
use crate::target::Target;

/// One check's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub description: String,
    pub outcome: Outcome,
}

/// One step's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub title: String,
    pub passed: bool,
    /// The checks that ran (a step stops at its first failing check).
    pub checks: Vec<CheckReport>,
    /// Hints, with the student's parameters applied.
    pub hints: Vec<String>,
}

/// An exercise's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseReport {
    pub id: String,
    pub title: String,
    pub points: u32,
    pub steps: Vec<StepReport>,
    /// True when HTTP checks went to the student's running lab.
    pub against_running_lab: bool,
}

impl ExerciseReport {
    pub fn passed_steps(&self) -> usize {
        self.steps.iter().filter(|s| s.passed).count()
    }

    pub fn passed(&self) -> bool {
        self.passed_steps() == self.steps.len()
    }

    /// Points earned: the exercise's points times the fraction of steps passed.
    pub fn score(&self) -> f64 {
        if self.steps.is_empty() {
            return 0.0;
        }
        f64::from(self.points) * self.passed_steps() as f64 / self.steps.len() as f64
    }
}

/// The student's parameters for `exercise` in `ws`.
pub fn params_for(ws: &Workspace, exercise: &Exercise) -> Params {
    Params::derive(&ws.settings.student, &exercise.id, &exercise.params)
}

/// The same, with `{{web}}` where the checked lab serves `Listen 80` (for the hints).
fn params_against(ws: &Workspace, exercise: &Exercise, target: &Target) -> Params {
    let params = params_for(ws, exercise).with_proxy(lessons::params::proxy_address(ws, None));
    match target.web_address() {
        Some(addr) => params.with_web(addr),
        None => params.with_web(lessons::params::web_address(ws, None)),
    }
}

/// Parses every check of `exercise` for this student.
fn typed_checks(exercise: &Exercise, params: &Params) -> Vec<Vec<Result<Check, String>>> {
    exercise
        .steps
        .iter()
        .map(|s| s.checks.iter().map(|c| Check::parse(c, params)).collect())
        .collect()
}

/// True when some check of `exercise` makes HTTP requests.
pub fn needs_http(ws: &Workspace, exercise: &Exercise) -> bool {
    let params = params_for(ws, exercise);
    typed_checks(exercise, &params)
        .iter()
        .flatten()
        .any(|c| c.as_ref().is_ok_and(Check::needs_http))
}

/// Runs every step of `exercise` against `ws`.
pub fn check_exercise(ws: &Workspace, exercise: &Exercise, target: &Target) -> ExerciseReport {
    let params = params_against(ws, exercise, target);
    let cx = Context { ws, target };
    let steps = exercise
        .steps
        .iter()
        .zip(typed_checks(exercise, &params))
        .map(|(step, checks)| {
            let mut reports = Vec::new();
            let mut passed = true;
            for check in checks {
                let report = match check {
                    Ok(c) => CheckReport {
                        description: c.describe(),
                        outcome: c.run(&cx),
                    },
                    Err(e) => CheckReport {
                        description: "comprobación mal definida".into(),
                        outcome: Outcome::fail("una comprobación válida", e),
                    },
                };
                let ok = report.outcome.passed;
                reports.push(report);
                if !ok {
                    passed = false;
                    break;
                }
            }
            StepReport {
                title: params.apply(&step.title),
                passed,
                checks: reports,
                hints: step.hints.iter().map(|h| params.apply(h)).collect(),
            }
        })
        .collect();
    ExerciseReport {
        id: exercise.id.clone(),
        title: params.apply(&exercise.title),
        points: exercise.points,
        steps,
        against_running_lab: target.is_running_lab(),
    }
}

/// A report and whether its attempt could be recorded.
pub struct Recorded {
    pub report: ExerciseReport,
    /// Why the attempt is not in `.lab/progress.db` (the result is still valid).
    pub not_recorded: Option<String>,
}

/// Checks `exercise` in `ws` (against the running lab when there is one, else an isolated
/// instance when HTTP checks need it) and records the attempt in `.lab/progress.db`. A
/// database that cannot be written does not hide the result.
pub fn check_and_record(ws: &Workspace, exercise: &Exercise) -> Recorded {
    let target = Target::for_workspace(ws, needs_http(ws, exercise));
    let report = check_exercise(ws, exercise, &target);
    drop(target);
    let steps: Vec<bool> = report.steps.iter().map(|s| s.passed).collect();
    let not_recorded = lessons::progress::Progress::open_workspace(&ws.root)
        .and_then(|mut p| p.record(&exercise.id, &steps))
        .err()
        .map(|e| e.to_string());
    Recorded {
        report,
        not_recorded,
    }
}

/// Validates every check of every exercise (with a sample student), for the course author.
pub fn validate_course(course: &lessons::Course) -> Vec<String> {
    let mut errors: Vec<String> = course.problems.iter().map(|p| p.to_string()).collect();
    for e in course.exercises.values() {
        let params = Params::derive("validacion", &e.id, &e.params);
        for step in &e.steps {
            for c in &step.checks {
                if let Err(msg) = Check::parse(c, &params) {
                    errors.push(format!(
                        "{}:{}:{}: {msg}",
                        e.source.display(),
                        c.line,
                        c.column
                    ));
                }
            }
        }
    }
    errors
}
