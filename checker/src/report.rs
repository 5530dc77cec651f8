//! What `lab check` prints: a table of steps with ✔/✘ and, for each failure, what was
//! expected, what was found and the hints.

use std::fmt::Write as _;

use lessons::render::Style;

use crate::run::ExerciseReport;

/// Renders one exercise's report for the terminal.
pub fn terminal(report: &ExerciseReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  ({}/{} pasos, {:.1}/{} puntos)",
        style.bold(&report.id),
        report.title,
        report.passed_steps(),
        report.steps.len(),
        report.score(),
        report.points
    );
    for (i, step) in report.steps.iter().enumerate() {
        let mark = if step.passed {
            style.green("✔")
        } else {
            style.red("✘")
        };
        let _ = writeln!(out, "  {mark} {}. {}", i + 1, step.title);
        if step.passed {
            continue;
        }
        if let Some(failed) = step.checks.iter().find(|c| !c.outcome.passed) {
            let _ = writeln!(out, "      se esperaba: {}", failed.outcome.expected);
            let _ = writeln!(out, "      se encontró: {}", failed.outcome.found);
        }
        for h in &step.hints {
            let _ = writeln!(out, "      {} {h}", style.cyan("pista:"));
        }
    }
    if report.against_running_lab && !report.passed() {
        let _ = writeln!(
            out,
            "  {}",
            style.dim("(las peticiones HTTP fueron a tu `lab start`; si cambiaste la configuración, ejecuta `lab reload`)")
        );
    }
    out
}
