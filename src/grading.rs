//! `lab grade` and the machine-readable outputs of `lab check` (`--json`, `--junit`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use checker::grade::{self, reports, Grades, StudentResult};
use checker::run::ExerciseReport;
use lab_server::workspace::Workspace;
use lessons::Course;

use crate::cli::GradeArgs;
use crate::commands::Failure;

/// Where `lab check` also writes its result.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOutputs<'a> {
    pub json: Option<&'a Path>,
    pub junit: Option<&'a Path>,
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("no se pudo crear {}: {e}", parent.display()))?;
    }
    lab_server::util::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("no se pudo escribir {}: {e}", path.display()).into())
}

/// The grades of one workspace checked by `lab check`.
fn check_grades(ws: &Workspace, course: &Course, reports: &[ExerciseReport]) -> Grades {
    let student = if ws.settings.student.trim().is_empty() {
        ws.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        ws.settings.student.clone()
    };
    let mut r = StudentResult::from_reports(&student, reports);
    r.hash = Some(grade::inputs::content_hash(&ws.root));
    let mut g = Grades {
        exercises: reports
            .iter()
            .filter_map(|r| course.exercises.get(&r.id))
            .map(|e| grade::ExerciseInfo {
                id: e.id.clone(),
                title: e.title.clone(),
                points: e.points,
            })
            .collect(),
        students: vec![r],
    };
    g.finish();
    g
}

/// Writes `lab check --json/--junit`.
pub fn write_check_outputs(
    ws: &Workspace,
    course: &Course,
    reports: &[ExerciseReport],
    outputs: CheckOutputs<'_>,
) -> Result<(), Failure> {
    if outputs.json.is_none() && outputs.junit.is_none() {
        return Ok(());
    }
    let g = check_grades(ws, course, reports);
    if let Some(p) = outputs.json {
        write(p, &reports::json(&g))?;
    }
    if let Some(p) = outputs.junit {
        write(p, &reports::junit(&g))?;
    }
    Ok(())
}

/// Stops the run on Ctrl-C: no new workspace starts and the running ones are stopped.
fn on_ctrl_c(cancel: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::Relaxed);
                eprintln!("\nInterrumpido: se paran las correcciones en curso; lo ya corregido se conserva.");
            }
        });
    });
}

fn write_reports(g: &Grades, a: &GradeArgs) -> Result<Vec<String>, Failure> {
    let mut written = Vec::new();
    type Render = fn(&Grades) -> String;
    let outputs: [(&Option<PathBuf>, Render); 4] = [
        (&a.csv, reports::csv),
        (&a.json, reports::json),
        (&a.html, reports::html),
        (&a.junit, reports::junit),
    ];
    for (path, render) in outputs {
        if let Some(p) = path {
            write(p, &render(g))?;
            written.push(p.display().to_string());
        }
    }
    Ok(written)
}

fn style() -> lessons::render::Style {
    use std::io::IsTerminal;
    lessons::render::Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// `lab grade PATH... | --merge RESULTS...`.
pub fn grade(a: GradeArgs) -> Result<ExitCode, Failure> {
    if !a.merge.is_empty() {
        let g = Grades::merge(&a.merge)?;
        print!("{}", reports::terminal(&g, style()));
        let written = write_reports(&g, &a)?;
        if !written.is_empty() {
            println!("Informes: {}", written.join(", "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.paths.is_empty() {
        return Err("indica qué corregir: `lab grade CARPETA...` (o `lab grade --merge RESULTADOS.json...`)".into());
    }
    let course = Course::load()?;
    let exercises = grade::select(&course, &a.exercises)?;
    let db_path = grade::db_path(&[
        a.csv.as_deref(),
        a.json.as_deref(),
        a.html.as_deref(),
        a.junit.as_deref(),
    ]);
    let report_dirs: Vec<PathBuf> = [&a.csv, &a.json, &a.html, &a.junit, &Some(db_path.clone())]
        .into_iter()
        .flatten()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let subs = grade::inputs::expand(&a.paths, &report_dirs)?;
    if let Some(parent) = db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("no se pudo crear {}: {e}", parent.display()))?;
    }
    let db = grade::db::ResultsDb::open(&db_path)?;
    let limits = checker::isolate::Limits {
        exercise_timeout: std::time::Duration::from_secs(a.timeout.max(1)),
        ..checker::isolate::Limits::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    on_ctrl_c(Arc::clone(&cancel));
    let opts = grade::GradeOptions {
        jobs: a.jobs.unwrap_or_else(grade::default_jobs),
        limits: limits.clone(),
        archive_limits: grade::inputs::ArchiveLimits::default(),
        worker: checker::isolate::WorkerOptions::new(
            std::env::current_exe().map_err(|e| format!("no se encuentra el programa lab: {e}"))?,
            &course,
            limits,
        ),
        only_changed: a.only_changed,
        cancel: Arc::clone(&cancel),
    };
    eprintln!(
        "Corrigiendo {} espacios de trabajo ({} ejercicios, {} a la vez){}",
        subs.len(),
        exercises.len(),
        opts.jobs,
        if checker::isolate::private_network() {
            ", cada uno en su propia red privada"
        } else {
            ""
        }
    );
    let bar = grade::Bar::new(subs.len());
    let db = Mutex::new(db);
    let g = grade::grade(&subs, &exercises, &opts, &db, &bar);
    bar.finish();
    print!("{}", reports::terminal(&g, style()));
    let written = write_reports(&g, &a)?;
    if !written.is_empty() {
        println!("Informes: {}", written.join(", "));
    }
    println!("Resultados guardados en {}", db_path.display());
    if cancel.load(Ordering::Relaxed) {
        eprintln!(
            "Corrección interrumpida: {} de {} espacios de trabajo corregidos.",
            g.students.len(),
            subs.len()
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
