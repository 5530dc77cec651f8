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

/// The closing table of `lab check` over several exercises: one line each and the total.
pub fn summary(reports: &[ExerciseReport], style: Style) -> String {
    let width = reports
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = style.bold("Resumen") + "\n";
    let (mut got, mut total) = (0.0, 0u32);
    for r in reports {
        let mark = if r.passed() {
            style.green("✔")
        } else {
            style.red("✘")
        };
        let _ = writeln!(
            out,
            "  {mark} {:<width$}  {}/{} pasos  {:>5.1}/{} puntos",
            r.id,
            r.passed_steps(),
            r.steps.len(),
            r.score(),
            r.points
        );
        got += r.score();
        total += r.points;
    }
    let _ = writeln!(out, "  Total: {got:.1}/{total} puntos");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome;
    use crate::run::{CheckReport, StepReport};

    fn report(id: &str, passed: &[bool]) -> ExerciseReport {
        ExerciseReport {
            id: id.into(),
            title: format!("Ejercicio {id}"),
            points: 10,
            steps: passed
                .iter()
                .enumerate()
                .map(|(i, p)| StepReport {
                    title: format!("Paso {}", i + 1),
                    passed: *p,
                    checks: vec![CheckReport {
                        description: "algo".into(),
                        outcome: if *p {
                            Outcome::pass("algo", "bien")
                        } else {
                            Outcome::fail("algo", "otra cosa")
                        },
                    }],
                    hints: vec!["mira esto".into()],
                })
                .collect(),
            against_running_lab: true,
        }
    }

    #[test]
    fn the_step_table_shows_marks_reasons_and_hints() {
        let text = terminal(&report("uno", &[true, false]), Style { color: false });
        assert_eq!(
            text,
            "uno Ejercicio uno  (1/2 pasos, 5.0/10 puntos)\n\
             \x20 ✔ 1. Paso 1\n\
             \x20 ✘ 2. Paso 2\n\
             \x20     se esperaba: algo\n\
             \x20     se encontró: otra cosa\n\
             \x20     pista: mira esto\n\
             \x20 (las peticiones HTTP fueron a tu `lab start`; si cambiaste la configuración, ejecuta `lab reload`)\n"
        );
    }

    #[test]
    fn the_summary_adds_partial_credit() {
        let text = summary(
            &[report("uno", &[true, false]), report("dos-largo", &[true])],
            Style { color: false },
        );
        assert_eq!(
            text,
            "Resumen\n\
             \x20 ✘ uno        1/2 pasos    5.0/10 puntos\n\
             \x20 ✔ dos-largo  1/1 pasos   10.0/10 puntos\n\
             \x20 Total: 15.0/20 puntos\n"
        );
        let coloured = summary(&[report("uno", &[true])], Style { color: true });
        assert!(coloured.contains("\x1b[32m✔\x1b[0m"));
    }
}
