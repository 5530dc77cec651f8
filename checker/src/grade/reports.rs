//! The reports of `lab grade`: a terminal table, a CSV for Moodle's grade import, JSON, a
//! self-contained HTML page and JUnit XML. All text is Spanish; numbers use a decimal point.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lessons::render::Style;

use super::{Grades, StudentResult};

/// `7.5`, `10`, `3.33`: at most two decimals, no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The Spanish feedback of one student, one sentence per exercise not fully passed.
pub fn feedback(s: &StudentResult) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &s.error {
        parts.push(format!("No se pudo corregir: {e}."));
    }
    if !s.identical_to.is_empty() {
        parts.push(format!(
            "Espacio de trabajo idéntico al de: {}.",
            s.identical_to.join(", ")
        ));
    }
    for e in &s.exercises {
        if e.passed() {
            continue;
        }
        let failed: Vec<String> = e
            .steps
            .iter()
            .enumerate()
            .filter(|(_, st)| !st.passed)
            .map(|(i, st)| format!("paso {} «{}»", i + 1, st.title))
            .collect();
        parts.push(format!(
            "{} ({}/{}): falla {}.",
            e.id,
            num(e.score),
            num(e.max),
            failed.join(", ")
        ));
    }
    if parts.is_empty() {
        "Todo correcto.".into()
    } else {
        parts.join(" ")
    }
}

/// The terminal table: one line per student with the points of each exercise and the total.
pub fn terminal(g: &Grades, style: Style) -> String {
    let width = g
        .students
        .iter()
        .map(|s| s.student.chars().count())
        .max()
        .unwrap_or(0)
        .max("Estudiante".len());
    let mut out = String::new();
    let _ = write!(out, "{}", style.bold(&format!("{:<width$}", "Estudiante")));
    for (i, _) in g.exercises.iter().enumerate() {
        let _ = write!(out, " {:>6}", format!("E{}", i + 1));
    }
    let _ = writeln!(out, " {:>13}", style.bold("Total"));
    for s in &g.students {
        let _ = write!(out, "{:<width$}", s.student);
        for e in &g.exercises {
            let cell = s
                .exercise(&e.id)
                .map(|x| num(x.score))
                .unwrap_or("-".into());
            let _ = write!(out, " {cell:>6}");
        }
        let total = format!("{}/{}", num(s.score), num(s.max));
        let mut flags = Vec::new();
        if let Some(e) = &s.error {
            flags.push(style.red(&format!("error: {e}")));
        }
        if !s.identical_to.is_empty() {
            flags.push(style.red(&format!("idéntico a {}", s.identical_to.join(", "))));
        }
        let _ = writeln!(out, " {total:>13}  {}", flags.join("; "));
    }
    let _ = writeln!(out);
    for (i, e) in g.exercises.iter().enumerate() {
        let _ = writeln!(out, "  E{} = {} ({} puntos)", i + 1, e.id, e.points);
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV for Moodle's grade import: an identifier column, one column per exercise, the
/// total and the feedback (map «Identificador» to the user field that holds the student id,
/// e.g. «Número de ID» or «Nombre de usuario»).
pub fn csv(g: &Grades) -> String {
    let mut out = String::new();
    let mut header = vec!["Identificador".to_string()];
    header.extend(g.exercises.iter().map(|e| csv_field(&e.id)));
    header.push("Total".into());
    header.push("Comentarios".into());
    let _ = writeln!(out, "{}", header.join(","));
    for s in &g.students {
        let mut row = vec![csv_field(&s.student)];
        for e in &g.exercises {
            row.push(
                s.exercise(&e.id)
                    .map(|x| num(x.score))
                    .unwrap_or("0".into()),
            );
        }
        row.push(num(s.score));
        row.push(csv_field(&feedback(s)));
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}

/// The JSON report (the format `lab grade --merge` reads back).
pub fn json(g: &Grades) -> String {
    serde_json::to_string_pretty(g).unwrap_or_else(|_| "{}".into()) + "\n"
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test suite per student, one test case per step.
pub fn junit(g: &Grades) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = g
        .students
        .iter()
        .map(|s| {
            s.exercises
                .iter()
                .map(|e| e.steps.len())
                .sum::<usize>()
                .max(1)
        })
        .sum();
    let failures: usize = g
        .students
        .iter()
        .map(|s| {
            let f: usize = s
                .exercises
                .iter()
                .map(|e| e.steps.iter().filter(|x| !x.passed).count())
                .sum();
            f + usize::from(s.error.is_some())
        })
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"lab\" tests=\"{total}\" failures=\"{failures}\">"
    );
    for s in &g.students {
        let steps: usize = s.exercises.iter().map(|e| e.steps.len()).sum();
        let failed: usize = s
            .exercises
            .iter()
            .map(|e| e.steps.iter().filter(|x| !x.passed).count())
            .sum::<usize>()
            + usize::from(s.error.is_some());
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" time=\"{:.3}\">",
            xml(&s.student),
            steps.max(usize::from(s.error.is_some())),
            s.duration_ms as f64 / 1000.0
        );
        if let Some(e) = &s.error {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"espacio de trabajo\">\n      <failure message=\"{}\"/>\n    </testcase>",
                xml(&s.student),
                xml(e)
            );
        }
        for e in &s.exercises {
            for (i, st) in e.steps.iter().enumerate() {
                let class = format!("{}.{}", s.student, e.id);
                let name = format!("{}. {}", i + 1, st.title);
                if st.passed {
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{}\" name=\"{}\"/>",
                        xml(&class),
                        xml(&name)
                    );
                } else {
                    let msg = format!(
                        "se esperaba: {}; se encontró: {}",
                        st.expected.as_deref().unwrap_or("-"),
                        st.found.as_deref().unwrap_or("-")
                    );
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(&class),
                        xml(&name),
                        xml(&msg),
                        xml(&msg)
                    );
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The most common failures: (exercise, step number, step title, expected) -> students.
pub fn common_failures(g: &Grades) -> Vec<(String, usize, String, String, Vec<String>)> {
    let mut map: BTreeMap<(String, usize), (String, String, Vec<String>)> = BTreeMap::new();
    for s in &g.students {
        for e in &s.exercises {
            for (i, st) in e.steps.iter().enumerate().filter(|(_, st)| !st.passed) {
                let entry = map.entry((e.id.clone(), i + 1)).or_insert_with(|| {
                    (
                        st.title.clone(),
                        st.expected.clone().unwrap_or_default(),
                        vec![],
                    )
                });
                entry.2.push(s.student.clone());
            }
        }
    }
    let mut v: Vec<_> = map
        .into_iter()
        .map(|((id, n), (title, expected, who))| (id, n, title, expected, who))
        .collect();
    v.sort_by(|a, b| {
        b.4.len()
            .cmp(&a.4.len())
            .then(a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
    });
    v
}

fn h(s: &str) -> String {
    xml(s)
}

/// A bar chart as inline SVG: `bars` are (label, value, max value of the axis).
fn svg_bars(id: &str, title: &str, bars: &[(String, f64)], max: f64) -> String {
    let bw = 44.0;
    let height = 160.0;
    let width = (bars.len() as f64 * bw).max(200.0) + 40.0;
    let mut out = format!(
        "<svg id=\"{id}\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
        h(title),
        height + 50.0,
        height + 50.0
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = if max > 0.0 { v / max * height } else { 0.0 };
        let x = 30.0 + i as f64 * bw;
        let _ = write!(
            out,
            "<rect class=\"barra\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bh}\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"eje\">{}</text>",
            10.0 + height - bh,
            bw - 8.0,
            h(label),
            num(*v),
            x + (bw - 8.0) / 2.0,
            6.0 + height - bh,
            num(*v),
            x + (bw - 8.0) / 2.0,
            height + 28.0,
            h(label)
        );
    }
    out.push_str("</svg>");
    out
}

/// The self-contained HTML report.
pub fn html(g: &Grades) -> String {
    let mut out = String::new();
    let n = g.students.len();
    let mean = if n > 0 {
        g.students.iter().map(|s| s.score).sum::<f64>() / n as f64
    } else {
        0.0
    };
    let max: f64 = g.exercises.iter().map(|e| f64::from(e.points)).sum();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n<title>Informe de corrección</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}\
         td.n{{text-align:right}}.mal{{color:#b00020}}.bien{{color:#1b5e20}}.barra{{fill:#3f6fb5}}\
         svg text{{font-size:11px}}.eje{{fill:#555}}tr.copia{{background:#fff3cd}}\n</style>\n</head>\n<body>\n\
         <h1>Informe de corrección</h1>\n<p id=\"resumen\">{n} estudiantes, {} ejercicios; media {} de {} puntos.</p>\n",
        g.exercises.len(),
        num(mean),
        num(max)
    );
    // Distribution of totals in tenths of the maximum.
    let mut buckets = [0.0; 10];
    for s in &g.students {
        let frac = if s.max > 0.0 { s.score / s.max } else { 0.0 };
        let i = ((frac * 10.0).floor() as usize).min(9);
        buckets[i] += 1.0;
    }
    let bars: Vec<(String, f64)> = buckets
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{}–{}%", i * 10, (i + 1) * 10), *c))
        .collect();
    let top = buckets.iter().cloned().fold(1.0, f64::max);
    let _ = write!(
        out,
        "<h2>Distribución de las notas</h2>\n{}\n",
        svg_bars("distribucion", "Estudiantes por tramo de nota", &bars, top)
    );
    // Per exercise.
    let _ = writeln!(
        out,
        "<h2>Por ejercicio</h2>\n<table id=\"ejercicios\"><tr><th>Ejercicio</th><th>Puntos</th><th>Media</th><th>Lo superan entero</th></tr>"
    );
    let mut ex_bars = Vec::new();
    for e in &g.exercises {
        let scores: Vec<f64> = g
            .students
            .iter()
            .map(|s| s.exercise(&e.id).map_or(0.0, |x| x.score))
            .collect();
        let avg = if n > 0 {
            scores.iter().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let full = g
            .students
            .iter()
            .filter(|s| s.exercise(&e.id).is_some_and(|x| x.passed()))
            .count();
        ex_bars.push((
            e.id.clone(),
            if e.points > 0 {
                (avg / f64::from(e.points) * 100.0).round()
            } else {
                0.0
            },
        ));
        let _ = writeln!(
            out,
            "<tr><td>{}<br><small>{}</small></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{full} de {n}</td></tr>",
            h(&e.id),
            h(&e.title),
            e.points,
            num(avg)
        );
    }
    out.push_str("</table>\n");
    let _ = write!(
        out,
        "<p>Media de cada ejercicio, en % de sus puntos:</p>\n{}\n",
        svg_bars("medias", "Media por ejercicio (%)", &ex_bars, 100.0)
    );
    // Common failures.
    let _ = writeln!(
        out,
        "<h2>Fallos más comunes</h2>\n<p>Lo que más estudiantes no consiguieron: por dónde empezar a repasar en clase.</p>\n\
         <table id=\"fallos\"><tr><th>Estudiantes</th><th>Ejercicio</th><th>Paso</th><th>Se esperaba</th></tr>"
    );
    for (id, step, title, expected, who) in common_failures(g).iter().take(15) {
        let _ = writeln!(
            out,
            "<tr><td class=\"n\" title=\"{}\">{}</td><td>{}</td><td>{step}. {}</td><td>{}</td></tr>",
            h(&who.join(", ")),
            who.len(),
            h(id),
            h(title),
            h(expected)
        );
    }
    out.push_str("</table>\n");
    // Per student.
    let _ = write!(
        out,
        "<h2>Por estudiante</h2>\n<table id=\"estudiantes\"><tr><th>Estudiante</th>"
    );
    for e in &g.exercises {
        let _ = write!(out, "<th title=\"{}\">{}</th>", h(&e.title), h(&e.id));
    }
    out.push_str("<th>Total</th><th>Comentarios</th></tr>\n");
    for s in &g.students {
        let class = if s.identical_to.is_empty() {
            ""
        } else {
            " class=\"copia\""
        };
        let _ = write!(out, "<tr{class}><td>{}</td>", h(&s.student));
        for e in &g.exercises {
            let (cell, cls) = match s.exercise(&e.id) {
                Some(x) if x.passed() => (num(x.score), "n bien"),
                Some(x) => (num(x.score), "n mal"),
                None => ("0".into(), "n mal"),
            };
            let _ = write!(out, "<td class=\"{cls}\">{cell}</td>");
        }
        let _ = writeln!(
            out,
            "<td class=\"n\">{}/{}</td><td>{}</td></tr>",
            num(s.score),
            num(s.max),
            h(&feedback(s))
        );
    }
    out.push_str("</table>\n");
    let copies: Vec<&StudentResult> = g
        .students
        .iter()
        .filter(|s| !s.identical_to.is_empty())
        .collect();
    if !copies.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Espacios de trabajo idénticos</h2>\n<ul id=\"copias\">"
        );
        for s in copies {
            let _ = writeln!(
                out,
                "<li>{}: idéntico a {}</li>",
                h(&s.student),
                h(&s.identical_to.join(", "))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_with_a_point() {
        assert_eq!(num(10.0), "10");
        assert_eq!(num(7.5), "7.5");
        assert_eq!(num(10.0 / 3.0), "3.33");
        assert_eq!(num(0.0), "0");
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("di \"hola\""), "\"di \"\"hola\"\"\"");
        assert_eq!(csv_field("simple"), "simple");
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;
    use crate::grade::{ExerciseInfo, ExerciseResult, Grades, StepResult, StudentResult};

    fn grades() -> Grades {
        let step = |passed: bool| StepResult {
            title: "Paso <uno> & \"dos\"".into(),
            passed,
            expected: (!passed).then(|| "200".into()),
            found: (!passed).then(|| "404 <b>".into()),
        };
        let student = |name: &str, passed: bool, hash: &str| StudentResult {
            student: name.into(),
            score: if passed { 10.0 } else { 5.0 },
            max: 10.0,
            exercises: vec![ExerciseResult {
                id: "demo".into(),
                title: "Demo".into(),
                score: if passed { 10.0 } else { 5.0 },
                max: 10.0,
                steps: vec![step(true), step(passed)],
            }],
            error: None,
            notes: vec![],
            hash: Some(hash.into()),
            identical_to: vec![],
            source: None,
            duration_ms: 1500,
        };
        let mut g = Grades {
            exercises: vec![ExerciseInfo {
                id: "demo".into(),
                title: "Demo".into(),
                points: 10,
            }],
            students: vec![
                student("zoe", true, "a"),
                student("ana", false, "b"),
                student("luis", false, "b"),
            ],
        };
        g.finish();
        g
    }

    #[test]
    fn copies_are_flagged_and_students_sorted() {
        let g = grades();
        let names: Vec<&str> = g.students.iter().map(|s| s.student.as_str()).collect();
        assert_eq!(names, ["ana", "luis", "zoe"]);
        assert_eq!(g.students[0].identical_to, ["luis"]);
        assert!(g.students[2].identical_to.is_empty());
        assert!(feedback(&g.students[0]).starts_with("Espacio de trabajo idéntico al de: luis."));
    }

    #[test]
    fn junit_and_html_escape_what_students_wrote() {
        let g = grades();
        let x = junit(&g);
        assert!(
            x.contains("name=\"2. Paso &lt;uno&gt; &amp; &quot;dos&quot;\""),
            "{x}"
        );
        assert!(x.contains("se encontró: 404 &lt;b&gt;"), "{x}");
        assert!(
            x.contains("<testsuites name=\"lab\" tests=\"6\" failures=\"2\">"),
            "{x}"
        );
        assert!(!x.contains("<b>"));
        let h = html(&g);
        assert!(!h.contains("404 <b>") && !h.contains("<uno>"), "{h}");
        assert!(h.contains("<li>ana: idéntico a luis</li>"), "{h}");
        // The most common failure: step 2 of demo, by two students.
        let common = common_failures(&g);
        assert_eq!(common[0].1, 2);
        assert_eq!(common[0].4, ["ana", "luis"]);
    }
}
