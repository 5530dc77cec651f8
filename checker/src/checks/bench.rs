//! `bench`: runs of `lab bench` stored in the workspace, by label, and their numbers.
//!
//! ```toml
//! [[steps.checks]]
//! kind = "bench"
//! label = "con-proxy"          # the newest run with this label is the one checked
//! url_matches = ":6081/"       # optional: regex on the URL the run measured
//! served_by = "varnish"        # optional: regex on what served it (recorded with the run)
//! not_served_by = "scriptcache" # optional: regex that must NOT match it
//! min_requests = 1000          # optional: complete requests, at least
//! max_failed = 0               # optional: failed requests, at most
//! compare_to = "sin-proxy"     # optional: another label...
//! metric = "rps"               # ...compared on this number (default rps)
//! at_least = 3.0               # metric(label) >= 3 × metric(compare_to)
//! # at_most = 0.5              # or <= (for latencies)
//! ```
//!
//! Without `compare_to`, `at_least`/`at_most` are absolute bounds on the metric.

use lessons::progress::Progress;
use lessons::runs::{Run, METRICS};
use serde::Deserialize;

use super::{regex, CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchCheck {
    pub label: String,
    #[serde(default)]
    pub url_matches: Option<String>,
    #[serde(default)]
    pub served_by: Option<String>,
    #[serde(default)]
    pub not_served_by: Option<String>,
    #[serde(default)]
    pub min_requests: Option<u64>,
    #[serde(default)]
    pub max_failed: Option<u64>,
    #[serde(default)]
    pub compare_to: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
}

impl BenchCheck {
    fn metric(&self) -> &str {
        self.metric.as_deref().unwrap_or("rps")
    }

    fn value(&self, run: &Run) -> f64 {
        run.metric(self.metric()).unwrap_or(0.0)
    }

    fn unit(&self) -> &'static str {
        match self.metric() {
            "rps" => " pet/s",
            m if m.ends_with("_ms") => " ms",
            "kb_s" => " KB/s",
            _ => "",
        }
    }

    fn missing(label: &str) -> String {
        format!("no hay ninguna medición «{label}»; hazla con `lab bench URL --label {label}`")
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

impl CheckKind for BenchCheck {
    fn describe(&self) -> String {
        let mut d = format!("hay una medición «{}» con `lab bench`", self.label);
        if let Some(u) = &self.url_matches {
            d.push_str(&format!(" de una URL que casa con `{u}`"));
        }
        if let Some(s) = &self.served_by {
            d.push_str(&format!(", atendida por `{s}`"));
        }
        if let Some(s) = &self.not_served_by {
            d.push_str(&format!(", sin `{s}` en lo que la atendió"));
        }
        if let Some(n) = self.min_requests {
            d.push_str(&format!(", de al menos {n} peticiones completas"));
        }
        if let Some(n) = self.max_failed {
            d.push_str(&format!(", con {n} fallidas como mucho"));
        }
        let m = self.metric();
        match (&self.compare_to, self.at_least, self.at_most) {
            (Some(o), Some(k), _) => d.push_str(&format!(
                ", y su {m} es al menos {}× el de «{o}»",
                num(k)
            )),
            (Some(o), None, Some(k)) => d.push_str(&format!(
                ", y su {m} es como mucho {}× el de «{o}»",
                num(k)
            )),
            (None, Some(k), _) => d.push_str(&format!(", con {m} ≥ {}{}", num(k), self.unit())),
            (None, None, Some(k)) => d.push_str(&format!(", con {m} ≤ {}{}", num(k), self.unit())),
            _ => {}
        }
        d
    }

    fn validate(&self) -> Result<(), String> {
        if self.label.trim().is_empty() {
            return Err("`label` no puede estar vacío".into());
        }
        for r in [&self.url_matches, &self.served_by, &self.not_served_by]
            .into_iter()
            .flatten()
        {
            regex(r)?;
        }
        if !METRICS.contains(&self.metric()) {
            return Err(format!(
                "métrica desconocida `{}`; métricas: {}",
                self.metric(),
                METRICS.join(", ")
            ));
        }
        if self.compare_to.is_some() && self.at_least.is_none() && self.at_most.is_none() {
            return Err("con `compare_to` hace falta `at_least` o `at_most`".into());
        }
        for k in [self.at_least, self.at_most].into_iter().flatten() {
            if !k.is_finite() || k < 0.0 {
                return Err(format!("`at_least`/`at_most` = {k} no es un número válido"));
            }
        }
        Ok(())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expected = self.describe();
        let progress = match Progress::open_workspace(&cx.ws.root) {
            Ok(p) => p,
            Err(e) => return Outcome::fail(expected, e.to_string()),
        };
        let run = match progress.last_run(&self.label) {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::fail(expected, Self::missing(&self.label)),
            Err(e) => return Outcome::fail(expected, e.to_string()),
        };
        let about = format!(
            "la medición «{}» (#{}, {}) hizo {} peticiones completas, {} fallidas, {:.1} pet/s, p50 {:.3} ms",
            run.label, run.id, run.url, run.completed, run.failed, run.rps, run.p50_ms
        );
        if let Some(u) = &self.url_matches {
            if !regex(u).is_ok_and(|re| re.is_match(&run.url)) {
                return Outcome::fail(
                    expected,
                    format!("la medición «{}» midió {}, que no casa con `{u}`", run.label, run.url),
                );
            }
        }
        if let Some(s) = &self.served_by {
            if !regex(s).is_ok_and(|re| re.is_match(&run.config)) {
                return Outcome::fail(
                    expected,
                    format!(
                        "la medición «{}» no la atendió `{s}`; lo que la atendió:\n{}",
                        run.label, run.config
                    ),
                );
            }
        }
        if let Some(s) = &self.not_served_by {
            if regex(s).is_ok_and(|re| re.is_match(&run.config)) {
                return Outcome::fail(
                    expected,
                    format!(
                        "la medición «{}» se hizo con `{s}`; lo que la atendió:\n{}",
                        run.label, run.config
                    ),
                );
            }
        }
        if let Some(n) = self.min_requests {
            if run.completed < n {
                return Outcome::fail(expected, format!("{about}: son menos de {n}; mide más tiempo (-d) o más peticiones (-n)"));
            }
        }
        if let Some(n) = self.max_failed {
            if run.failed > n {
                return Outcome::fail(expected, format!("{about}: demasiadas fallidas"));
            }
        }
        let mine = self.value(&run);
        let m = self.metric();
        let Some(other_label) = &self.compare_to else {
            if let Some(k) = self.at_least.filter(|k| mine < *k) {
                return Outcome::fail(expected, format!("{about}: {m} = {}{}, menos de {}", num(mine), self.unit(), num(k)));
            }
            if let Some(k) = self.at_most.filter(|k| mine > *k) {
                return Outcome::fail(expected, format!("{about}: {m} = {}{}, más de {}", num(mine), self.unit(), num(k)));
            }
            return Outcome::pass(expected, about);
        };
        let other = match progress.last_run(other_label) {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::fail(expected, Self::missing(other_label)),
            Err(e) => return Outcome::fail(expected, e.to_string()),
        };
        let theirs = self.value(&other);
        let ratio = if theirs > 0.0 { mine / theirs } else { f64::INFINITY };
        let found = format!(
            "{m}: «{}» {}{} frente a «{}» {}{} (×{:.2})",
            run.label,
            num(mine),
            self.unit(),
            other.label,
            num(theirs),
            self.unit(),
            ratio
        );
        let ok = self.at_least.is_none_or(|k| mine >= k * theirs)
            && self.at_most.is_none_or(|k| mine <= k * theirs);
        if ok {
            Outcome::pass(expected, found)
        } else {
            Outcome::fail(expected, found)
        }
    }
}

/// Copies the `lab bench` runs of the workspace at `src` into the one at `dest` (a graded
/// copy leaves `.lab/` behind, but the runs are part of the student's work).
pub fn copy_runs(src: &std::path::Path, dest: &std::path::Path) -> Result<usize, String> {
    let db = src.join(".lab/progress.db");
    if !db.is_file() {
        return Ok(0);
    }
    let from = Progress::open(&db).map_err(|e| e.to_string())?;
    let runs = from.runs().map_err(|e| e.to_string())?;
    if runs.is_empty() {
        return Ok(0);
    }
    let mut to = Progress::open_workspace(dest).map_err(|e| e.to_string())?;
    for r in &runs {
        to.record_run(r).map_err(|e| e.to_string())?;
    }
    Ok(runs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    fn run(label: &str, rps: f64) -> Run {
        Run {
            id: 0,
            label: label.into(),
            url: "http://localhost:16081/".into(),
            at: 0,
            connections: 10,
            seconds: 2.0,
            completed: (rps * 2.0) as u64,
            failed: 0,
            non_2xx: 0,
            bytes: 0,
            rps,
            kb_per_second: 0.0,
            mean_ms: 1.0,
            p50_ms: 1.0,
            p75_ms: 1.0,
            p90_ms: 1.0,
            p99_ms: 1.0,
            max_ms: 1.0,
            config: "Atiende el puerto 16081: varnish".into(),
        }
    }

    fn check(toml_text: &str) -> BenchCheck {
        let c: BenchCheck = toml::from_str(toml_text).unwrap();
        c.validate().unwrap();
        c
    }

    #[test]
    fn compares_the_newest_runs_of_two_labels() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), None).unwrap();
        let c = check(
            "label = 'con-proxy'\ncompare_to = 'sin-proxy'\nat_least = 3.0\nserved_by = 'varnish'",
        );
        let cx = Context {
            ws: &ws,
            target: &Target::None,
        };
        let o = c.run(&cx);
        assert!(!o.passed);
        assert!(o.found.contains("lab bench URL --label con-proxy"), "{}", o.found);

        let mut p = Progress::open_workspace(&ws.root).unwrap();
        p.record_run(&run("sin-proxy", 1000.0)).unwrap();
        p.record_run(&run("con-proxy", 2500.0)).unwrap();
        let o = c.run(&cx);
        assert!(!o.passed, "{o:?}");
        assert!(o.found.contains("×2.50"), "{}", o.found);

        // A newer run replaces the older one.
        p.record_run(&run("con-proxy", 3500.0)).unwrap();
        let o = c.run(&cx);
        assert!(o.passed, "{o:?}");

        // Copied with the workspace for grading.
        let other = lab_server::workspace::init(&dir.path().join("copia"), None).unwrap();
        assert_eq!(copy_runs(&ws.root, &other.root).unwrap(), 3);
        let cx2 = Context {
            ws: &other,
            target: &Target::None,
        };
        assert!(c.run(&cx2).passed);
    }

    #[test]
    fn absolute_bounds_and_what_served_it() {
        let dir = tempfile::tempdir().unwrap();
        let ws = lab_server::workspace::init(&dir.path().join("ws"), None).unwrap();
        let mut p = Progress::open_workspace(&ws.root).unwrap();
        p.record_run(&run("a", 100.0)).unwrap();
        let cx = Context {
            ws: &ws,
            target: &Target::None,
        };
        assert!(check("label = 'a'\nat_least = 50.0").run(&cx).passed);
        assert!(!check("label = 'a'\nat_least = 500.0").run(&cx).passed);
        assert!(!check("label = 'a'\nserved_by = 'apache2$'").run(&cx).passed);
        assert!(!check("label = 'a'\nmin_requests = 1000").run(&cx).passed);
        assert!(!check("label = 'a'\nnot_served_by = 'varnish'").run(&cx).passed);
        assert!(check("label = 'a'\nnot_served_by = 'scriptcache'").run(&cx).passed);
    }

    #[test]
    fn bad_fields_are_refused() {
        let c: BenchCheck = toml::from_str("label = 'a'\nmetric = 'velocidad'").unwrap();
        assert!(c.validate().unwrap_err().contains("métrica desconocida"));
        let c: BenchCheck = toml::from_str("label = 'a'\ncompare_to = 'b'").unwrap();
        assert!(c.validate().is_err());
        assert!(toml::from_str::<BenchCheck>("label = 'a'\nfoo = 1").is_err());
    }
}
