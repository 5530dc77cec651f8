//! `lab bench` runs, stored in the workspace's database next to the progress, and their
//! plots: requests per second as bars and latency percentiles as lines, one colour per
//! label, drawn as SVG on the server (the console shows them; `lab bench --plot F.svg`
//! writes them for a report).

use plotters::prelude::*;
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::progress::{Progress, ProgressError};

/// The table (migration 3 of the progress database).
pub(crate) const MIGRATION: &str = "CREATE TABLE bench_runs (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        url TEXT NOT NULL,
        at INTEGER NOT NULL,
        connections INTEGER NOT NULL,
        seconds REAL NOT NULL,
        completed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        non_2xx INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        rps REAL NOT NULL,
        kb_per_second REAL NOT NULL,
        mean_ms REAL NOT NULL,
        p50_ms REAL NOT NULL,
        p75_ms REAL NOT NULL,
        p90_ms REAL NOT NULL,
        p99_ms REAL NOT NULL,
        max_ms REAL NOT NULL,
        config TEXT NOT NULL
    );
    CREATE INDEX bench_runs_label ON bench_runs(label);";

/// One stored run. In `exercise.toml`, `[[solution_runs]]` tables have these fields (all
/// but `label` optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Run {
    /// Assigned by the database (0 before it is stored).
    pub id: i64,
    /// `--label` (empty when none was given).
    pub label: String,
    pub url: String,
    /// Unix time the run ended.
    pub at: i64,
    pub connections: u32,
    pub seconds: f64,
    pub completed: u64,
    pub failed: u64,
    pub non_2xx: u64,
    pub bytes: u64,
    pub rps: f64,
    pub kb_per_second: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p75_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// What served the URL when the run was made (`lab explain`'s answer and the services
    /// running), as text.
    pub config: String,
}

impl Run {
    /// The label shown in tables and plots (`#12` for a run without one).
    pub fn name(&self) -> String {
        if self.label.is_empty() {
            format!("#{}", self.id)
        } else {
            self.label.clone()
        }
    }

    /// A number of the run by the name the `bench` check and the console use.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "rps" => self.rps,
            "fallidas" | "failed" => self.failed as f64,
            "no_2xx" | "non_2xx" => self.non_2xx as f64,
            "completadas" | "completed" => self.completed as f64,
            "media_ms" | "mean_ms" => self.mean_ms,
            "p50_ms" => self.p50_ms,
            "p75_ms" => self.p75_ms,
            "p90_ms" => self.p90_ms,
            "p99_ms" => self.p99_ms,
            "max_ms" => self.max_ms,
            "kb_s" => self.kb_per_second,
            "conexiones" => f64::from(self.connections),
            _ => return None,
        })
    }

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
        Ok(Run {
            id: r.get(0)?,
            label: r.get(1)?,
            url: r.get(2)?,
            at: r.get(3)?,
            connections: r.get(4)?,
            seconds: r.get(5)?,
            completed: r.get::<_, i64>(6)? as u64,
            failed: r.get::<_, i64>(7)? as u64,
            non_2xx: r.get::<_, i64>(8)? as u64,
            bytes: r.get::<_, i64>(9)? as u64,
            rps: r.get(10)?,
            kb_per_second: r.get(11)?,
            mean_ms: r.get(12)?,
            p50_ms: r.get(13)?,
            p75_ms: r.get(14)?,
            p90_ms: r.get(15)?,
            p99_ms: r.get(16)?,
            max_ms: r.get(17)?,
            config: r.get(18)?,
        })
    }
}

/// The names [`Run::metric`] knows, for error messages.
pub const METRICS: &[&str] = &[
    "rps",
    "fallidas",
    "no_2xx",
    "completadas",
    "media_ms",
    "p50_ms",
    "p75_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "kb_s",
    "conexiones",
];

const COLUMNS: &str = "id, label, url, at, connections, seconds, completed, failed, non_2xx, \
    bytes, rps, kb_per_second, mean_ms, p50_ms, p75_ms, p90_ms, p99_ms, max_ms, config";

impl Progress {
    /// Stores a run (its `id` and, when 0, `at` are filled in); returns its id.
    pub fn record_run(&mut self, run: &Run) -> Result<i64, ProgressError> {
        let at = if run.at == 0 {
            crate::progress::now()
        } else {
            run.at
        };
        self.conn.execute(
            "INSERT INTO bench_runs (label, url, at, connections, seconds, completed, failed,
                non_2xx, bytes, rps, kb_per_second, mean_ms, p50_ms, p75_ms, p90_ms, p99_ms,
                max_ms, config)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18)",
            params![
                run.label,
                run.url,
                at,
                run.connections,
                run.seconds,
                run.completed as i64,
                run.failed as i64,
                run.non_2xx as i64,
                run.bytes as i64,
                run.rps,
                run.kb_per_second,
                run.mean_ms,
                run.p50_ms,
                run.p75_ms,
                run.p90_ms,
                run.p99_ms,
                run.max_ms,
                run.config
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every stored run, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>, ProgressError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM bench_runs ORDER BY id"))?;
        let runs = stmt
            .query_map([], Run::from_row)?
            .collect::<rusqlite::Result<Vec<Run>>>()?;
        Ok(runs)
    }

    /// The newest run with `label`.
    pub fn last_run(&self, label: &str) -> Result<Option<Run>, ProgressError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM bench_runs WHERE label = ?1 ORDER BY id DESC LIMIT 1"
                ),
                [label],
                Run::from_row,
            )
            .optional()?)
    }

    /// Deletes the runs with `label` (all of them when None); returns how many.
    pub fn delete_runs(&mut self, label: Option<&str>) -> Result<usize, ProgressError> {
        Ok(match label {
            Some(l) => self
                .conn
                .execute("DELETE FROM bench_runs WHERE label = ?1", [l])?,
            None => self.conn.execute("DELETE FROM bench_runs", [])?,
        })
    }
}

/// Most groups a plot shows (the newest ones).
pub const MAX_PLOTTED: usize = 8;

/// What a plot shows: the newest run of each label (a run without label stands alone),
/// at most [`MAX_PLOTTED`] of them, oldest first.
pub fn latest_per_label(runs: &[Run]) -> Vec<Run> {
    let mut chosen: Vec<Run> = Vec::new();
    for r in runs.iter().rev() {
        if r.label.is_empty() || !chosen.iter().any(|c| c.label == r.label) {
            chosen.push(r.clone());
        }
        if chosen.len() == MAX_PLOTTED {
            break;
        }
    }
    chosen.reverse();
    chosen
}

/// One colour per label, in order (readable on white, distinct for colour-blind readers).
pub const COLOURS: &[RGBColor] = &[
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0xa0, 0x20, 0x20),
];

/// The colour of the `i`-th plotted run, as CSS (`#0072b2`), for legends in HTML.
pub fn colour_css(i: usize) -> String {
    let c = COLOURS[i % COLOURS.len()];
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

const PERCENTILES: &[&str] = &["p50", "p75", "p90", "p99"];

fn short(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// The plot of `runs` (already chosen, e.g. by [`latest_per_label`]) as an SVG document.
pub fn svg(runs: &[Run]) -> Result<String, String> {
    let mut out = String::new();
    draw(runs, &mut out).map_err(|e| format!("no se pudo dibujar la gráfica: {e}"))?;
    Ok(out)
}

fn draw(runs: &[Run], out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (960, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    if runs.is_empty() {
        root.draw(&Text::new(
            "Todavía no hay mediciones: lab bench URL --label NOMBRE",
            (40, 200),
            ("sans-serif", 20).into_font().color(&BLACK),
        ))?;
        root.present()?;
        return Ok(());
    }
    let (left, right) = root.split_horizontally(440);
    let n = runs.len();

    // Requests per second, one bar per run.
    let top = runs.iter().map(|r| r.rps).fold(0.0, f64::max).max(1.0) * 1.25;
    let mut bars = ChartBuilder::on(&left)
        .caption("Peticiones por segundo", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(10)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    bars.configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .x_labels(0)
        .y_desc("pet/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    for (i, r) in runs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let x = i as f64;
        bars.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.15, 0.0), (x + 0.85, r.rps)],
            colour.filled(),
        )))?;
        let style = ("sans-serif", 13).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Bottom,
            ),
        );
        bars.draw_series(std::iter::once(Text::new(
            format!("{} ({})", r.name(), short(r.rps)),
            (x + 0.5, r.rps + top * 0.02),
            style,
        )))?;
    }

    // Latency percentiles, one line per run.
    let top = runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max).max(0.01) * 1.2;
    let mut lines = ChartBuilder::on(&right)
        .caption("Latencia por percentil (ms)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0i32..3i32, 0f64..top)?;
    lines
        .configure_mesh()
        .x_labels(PERCENTILES.len())
        .x_label_formatter(&|v| {
            PERCENTILES
                .get(usize::try_from(*v).unwrap_or(0))
                .copied()
                .unwrap_or("")
                .to_string()
        })
        .y_desc("ms")
        .y_label_formatter(&|v| short(*v))
        .draw()?;
    for (i, r) in runs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points = [r.p50_ms, r.p75_ms, r.p90_ms, r.p99_ms];
        lines
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(k, y)| (k as i32, *y)),
                colour.stroke_width(2),
            ))?
            .label(r.name())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
            });
        lines.draw_series(
            points
                .iter()
                .enumerate()
                .map(|(k, y)| Circle::new((k as i32, *y), 3, colour.filled())),
        )?;
    }
    lines
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn run(label: &str, rps: f64, p50: f64) -> Run {
        Run {
            id: 0,
            label: label.into(),
            url: "http://localhost:10080/".into(),
            at: 1_700_000_000,
            connections: 10,
            seconds: 5.0,
            completed: (rps * 5.0) as u64,
            failed: 0,
            non_2xx: 0,
            bytes: 1000,
            rps,
            kb_per_second: 12.5,
            mean_ms: p50 * 1.1,
            p50_ms: p50,
            p75_ms: p50 * 1.5,
            p90_ms: p50 * 2.0,
            p99_ms: p50 * 4.0,
            max_ms: p50 * 9.0,
            config: "Manejador: fichero estático".into(),
        }
    }

    #[test]
    fn runs_are_stored_and_the_newest_of_each_label_is_plotted() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Progress::open_workspace(dir.path()).unwrap();
        p.record_run(&run("sin-proxy", 1000.0, 5.0)).unwrap();
        p.record_run(&run("con-proxy", 9000.0, 0.5)).unwrap();
        let id = p.record_run(&run("sin-proxy", 1200.0, 4.0)).unwrap();
        p.record_run(&run("", 50.0, 20.0)).unwrap();
        drop(p);
        let p = Progress::open_workspace(dir.path()).unwrap();
        let all = p.runs().unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(p.last_run("sin-proxy").unwrap().unwrap().id, id);
        assert_eq!(p.last_run("sin-proxy").unwrap().unwrap().rps, 1200.0);
        assert!(p.last_run("otra").unwrap().is_none());
        let chosen = latest_per_label(&all);
        let names: Vec<String> = chosen.iter().map(Run::name).collect();
        assert_eq!(names, ["con-proxy", "sin-proxy", "#4"]);
    }

    /// The SVG's structure: its elements in order with their colours and texts (the
    /// coordinates are plotters' business).
    fn structure(svg: &str) -> String {
        // Identical neighbours (the grid's lines) are written once with their count.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for l in elements(svg) {
            match lines.last_mut() {
                Some((last, n)) if *last == l => *n += 1,
                _ => lines.push((l, 1)),
            }
        }
        lines
            .into_iter()
            .map(|(l, n)| if n == 1 { l } else { format!("{l} ×{n}") })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn elements(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[..end];
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
                .collect();
            if name.starts_with('/') || name.is_empty() {
                continue;
            }
            let attr = |a: &str| {
                tag.find(&format!(" {a}=\""))
                    .map(|j| {
                        let v = &tag[j + a.len() + 3..];
                        v[..v.find('"').unwrap_or(v.len())].to_string()
                    })
                    .unwrap_or_default()
            };
            let mut line = name.clone();
            for a in ["fill", "stroke"] {
                let v = attr(a);
                if !v.is_empty() && v != "none" {
                    line.push_str(&format!(" {a}={v}"));
                }
            }
            if name == "text" {
                let after = &rest[end + 1..];
                let text = &after[..after.find('<').unwrap_or(0)];
                line.push_str(&format!(" «{}»", text.trim()));
            }
            out.push(line);
        }
        out
    }

    #[test]
    fn the_plot_has_a_bar_and_a_line_per_label_in_its_colour() {
        let runs = vec![run("sin-proxy", 1000.0, 5.0), run("con-proxy", 9000.0, 0.5)];
        let svg = svg(&runs).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        let s = structure(&svg);
        // Each label's colour is used by its bar (fill) and its line (stroke).
        for (i, name) in ["sin-proxy", "con-proxy"].iter().enumerate() {
            let c = colour_css(i).to_uppercase();
            assert!(s.contains(&format!("rect fill={c}")), "{c}\n{s}");
            assert!(s.contains(&format!("polyline stroke={c}")), "{c}\n{s}");
            assert!(s.contains(&format!("«{name}")), "{s}");
        }
        insta::assert_snapshot!(s);
    }

    #[test]
    fn no_runs_is_a_plot_that_says_how_to_make_one() {
        let svg = svg(&[]).unwrap();
        assert!(svg.contains("lab bench URL --label"), "{svg}");
    }
}
