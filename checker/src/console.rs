//! The console's «Comprobar» button: the real checker behind
//! [`lessons::console::ExerciseChecker`].

use lab_server::workspace::Workspace;
use lessons::console::{CheckView, ExerciseChecker, StepView};
use lessons::Course;

use crate::run::{check_and_record, ExerciseReport};

/// Checks with [`check_and_record`], as `lab check` does.
pub struct ConsoleChecker;

impl ExerciseChecker for ConsoleChecker {
    fn check(&self, ws: &Workspace, course: &Course, exercise: &str) -> Result<CheckView, String> {
        let e = course
            .exercise(exercise)
            .ok_or_else(|| format!("no existe el ejercicio `{exercise}`"))?;
        let recorded = check_and_record(ws, e);
        let mut v = view(&recorded.report);
        if let Some(why) = recorded.not_recorded {
            v.note = Some(format!("El intento no se ha guardado: {why}"));
        }
        Ok(v)
    }
}

/// The console's view of a report.
pub fn view(report: &ExerciseReport) -> CheckView {
    CheckView {
        steps: report
            .steps
            .iter()
            .map(|s| {
                let failed = s.checks.iter().find(|c| !c.outcome.passed);
                StepView {
                    title: s.title.clone(),
                    passed: s.passed,
                    expected: failed.map(|c| c.outcome.expected.clone()),
                    found: failed.map(|c| c.outcome.found.clone()),
                    hints: if s.passed { Vec::new() } else { s.hints.clone() },
                }
            })
            .collect(),
        score: report.score(),
        points: report.points,
        note: (report.against_running_lab && !report.passed()).then(|| {
            "Las peticiones HTTP fueron a tu `lab start`; si cambiaste la configuración, ejecuta `lab reload`.".to_string()
        }),
    }
}
