//! The teaching commands: `lab lesson`, `lab prepare`, `lab check`, `lab book`,
//! `lab dev check`, and the console that `lab start` serves.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use checker::report;
use checker::run::check_and_record;
use lab_server::workspace::Workspace;
use lessons::console::{self, Console};
use lessons::exercise::Tree;
use lessons::params::Params;
use lessons::progress::Progress;
use lessons::render::{self, Style};
use lessons::Course;

use crate::commands::{err, out, Failure};

/// Colours when stdout is a terminal and `NO_COLOR` is not set.
fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn course() -> Result<Course, Failure> {
    let c = Course::load()?;
    Ok(c)
}

/// The exercise, or an error that lists the ones that exist.
fn find_exercise<'a>(course: &'a Course, id: &str) -> Result<&'a lessons::Exercise, Failure> {
    course.exercise(id).ok_or_else(|| {
        let ids: Vec<&str> = course.exercises.keys().map(String::as_str).collect();
        let hint = lab_server::config::diagnostic::suggest(id, ids.iter().copied())
            .map(|s| format!(". ¿Quisiste decir `{s}`?"))
            .unwrap_or_default();
        format!(
            "no existe el ejercicio `{id}`{hint}\n  ejercicios: {}",
            ids.join(", ")
        )
        .into()
    })
}

/// `lab lesson [ID]`.
pub fn lesson(ws: Option<&Workspace>, id: Option<&str>) -> Result<ExitCode, Failure> {
    let course = course()?;
    let st = style();
    let progress = ws.and_then(|w| Progress::open_workspace(&w.root).ok());
    let student = ws.map(|w| w.settings.student.clone());
    // Where this workspace's web server answers, as the running lab reports it.
    let web = ws.map(|w| {
        let status = lab_server::supervisor::request(w, &lab_server::supervisor::Request::Status)
            .ok()
            .and_then(|r| r.status);
        (
            lessons::params::web_address(w, status.as_ref()),
            lessons::params::proxy_address(w, status.as_ref()),
        )
    });
    let Some(id) = id else {
        let mut text = st.bold("Lecciones del curso") + "\n\n";
        for ch in &course.chapters {
            let indent = "  ".repeat(ch.depth + 1);
            match ch.id() {
                Some(cid) if course.pages.contains_key(ch.path.as_deref().unwrap_or("")) => {
                    let ids = course.exercises_in(ch.path.as_deref().unwrap_or(""));
                    let done = ids
                        .iter()
                        .filter(|e| {
                            let total = course.exercise(e).map(|x| x.steps.len()).unwrap_or(0);
                            progress
                                .as_ref()
                                .and_then(|p| p.status(e).ok())
                                .is_some_and(|s| s.attempts > 0 && s.passed_steps() == total)
                        })
                        .count();
                    let ex = if ids.is_empty() {
                        String::new()
                    } else {
                        st.dim(&format!("  ({done}/{} ejercicios)", ids.len()))
                    };
                    text.push_str(&format!("{indent}{}  {}{ex}\n", ch.title, st.cyan(&cid)));
                }
                _ => text.push_str(&format!(
                    "{indent}{}  {}\n",
                    ch.title,
                    st.dim("(todavía no escrita)")
                )),
            }
        }
        text.push_str("\nLee una con `lab lesson ID`, por ejemplo `lab lesson introduccion`.");
        out(&text);
        return Ok(ExitCode::SUCCESS);
    };
    // An exercise id shows its lesson (or the exercise alone when its page is missing).
    let (page, only_exercise) = if let Some(e) = course.exercise(id) {
        if course.pages.contains_key(&e.chapter) {
            (e.chapter.clone(), None)
        } else {
            (String::new(), Some(e))
        }
    } else {
        let page = format!("{}.md", id.trim_end_matches(".md"));
        if !course.pages.contains_key(&page) {
            let ids: Vec<String> = course.chapters.iter().filter_map(|c| c.id()).collect();
            let hint = lab_server::config::diagnostic::suggest(id, ids.iter().map(String::as_str))
                .map(|s| format!(". ¿Quisiste decir `{s}`?"))
                .unwrap_or_default();
            return Err(format!(
                "no hay ninguna lección `{id}`{hint}\n  ayuda: `lab lesson` muestra la lista"
            )
            .into());
        }
        (page, None)
    };
    let render_exercise = |ex_id: &str| -> String {
        let Some(e) = course.exercise(ex_id) else {
            return format!("[el ejercicio {ex_id} todavía no está disponible en esta versión del laboratorio]\n\n");
        };
        let params = Params::derive(student.as_deref().unwrap_or(""), &e.id, &e.params)
            .with_web(web.as_ref().map(|w| w.0.clone()).unwrap_or_default())
            .with_proxy(web.as_ref().map(|w| w.1.clone()).unwrap_or_default());
        let status = progress.as_ref().and_then(|p| p.status(&e.id).ok());
        exercise_text(e, &params, status.as_ref(), st)
    };
    let text = match only_exercise {
        Some(e) => render_exercise(&e.id),
        None => {
            let md = lessons::params::localize(
                &course.pages[&page],
                web.as_ref().map(|w| w.0.as_str()).unwrap_or(""),
            );
            render::to_terminal(&md, st, render_exercise)
        }
    };
    out(&text);
    Ok(ExitCode::SUCCESS)
}

/// An exercise in the terminal: a framed statement, its steps with their last result.
fn exercise_text(
    e: &lessons::Exercise,
    params: &Params,
    status: Option<&lessons::progress::ExerciseStatus>,
    st: Style,
) -> String {
    let rule = "─".repeat(60);
    let mut s = format!(
        "{}\n{} {}: {} ({} puntos)\n\n",
        st.dim(&rule),
        st.bold("Ejercicio"),
        st.cyan(&e.id),
        params.apply(&e.title),
        e.points
    );
    s.push_str(&render::markdown_to_terminal(
        &params.apply(&e.statement),
        st,
    ));
    s.push_str("Pasos:\n");
    for (i, step) in e.steps.iter().enumerate() {
        let mark = match status.and_then(|x| x.steps.get(&(i as u32))) {
            Some(true) => st.green("✔"),
            Some(false) => st.red("✘"),
            None => "·".to_string(),
        };
        s.push_str(&format!(
            "  {mark} {}. {}\n",
            i + 1,
            params.apply(&step.title)
        ));
    }
    s.push_str(&format!(
        "\nPrepara sus ficheros con `lab prepare {0}` y compruébalo con `lab check {0}`.\n{1}\n\n",
        e.id,
        st.dim(&rule)
    ));
    s
}

/// `lab prepare EXERCISE [--force]`.
pub fn prepare(ws: &Workspace, id: &str, force: bool) -> Result<ExitCode, Failure> {
    let course = course()?;
    let e = find_exercise(&course, id)?;
    let params = Params::derive(&ws.settings.student, &e.id, &e.params);
    let applied = e.apply_tree(Tree::Starter, &ws.root, &params, force)?;
    let rel = |p: &Path| p.strip_prefix(&ws.root).unwrap_or(p).display().to_string();
    let mut text = format!("Ejercicio {}: {}\n", e.id, params.apply(&e.title));
    for p in &applied.written {
        text.push_str(&format!("  escrito    {}\n", rel(p)));
    }
    for p in &applied.kept {
        text.push_str(&format!(
            "  sin tocar  {} (ya existía; usa --force para sobrescribirlo)\n",
            rel(p)
        ));
    }
    for m in &applied.messages {
        for line in m.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    if applied.written.is_empty() && applied.kept.is_empty() && applied.messages.is_empty() {
        text.push_str("  Este ejercicio empieza con el espacio de trabajo tal como está.\n");
    }
    text.push_str(&format!(
        "Lee el enunciado con `lab lesson {0}` y compruébalo con `lab check {0}`.",
        e.id
    ));
    out(&text);
    if let Err(e) = Progress::open_workspace(&ws.root).and_then(|mut p| p.mark_prepared(&e.id)) {
        err(&format!(
            "aviso: no se ha podido anotar en tu progreso: {e}"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `lab check [EXERCISE] [--json F] [--junit F]`.
pub fn check(
    ws: &Workspace,
    id: Option<&str>,
    outputs: crate::grading::CheckOutputs<'_>,
) -> Result<ExitCode, Failure> {
    let course = course()?;
    let exercises: Vec<&lessons::Exercise> = match id {
        Some(id) => vec![find_exercise(&course, id)?],
        None => course.exercises.values().collect(),
    };
    let st = style();
    let mut all_passed = true;
    let mut text = String::new();
    let progress = Progress::open_workspace(&ws.root).ok();
    let several = exercises.len() > 1;
    let mut reports = Vec::new();
    let mut not_recorded = None;
    for e in exercises {
        let recorded = check_and_record(ws, e);
        not_recorded = not_recorded.or(recorded.not_recorded);
        let report = recorded.report;
        all_passed &= report.passed();
        text.push_str(&report::terminal(&report, st));
        let has_starter = !e.starter.is_empty() || !e.starter_commands.is_empty();
        let prepared = progress
            .as_ref()
            .is_none_or(|p| p.is_prepared(&e.id).unwrap_or(true));
        if !report.passed() && has_starter && !prepared {
            text.push_str(&format!(
                "  {}\n",
                st.dim(&format!(
                    "(este ejercicio tiene ficheros de partida y no los has preparado: `lab prepare {}`)",
                    e.id
                ))
            ));
        }
        text.push('\n');
        reports.push(report);
    }
    if several {
        text.push_str(&report::summary(&reports, st));
    }
    out(text.trim_end());
    crate::grading::write_check_outputs(ws, &course, &reports, outputs)?;
    if let Some(why) = not_recorded {
        err(&format!(
            "aviso: el resultado no se ha guardado en tu progreso: {why}"
        ));
    }
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `lab dev solve EXERCISE`: the starter, then the solution, with this student's values.
pub fn solve(ws: &Workspace, id: &str) -> Result<ExitCode, Failure> {
    let course = course()?;
    let e = find_exercise(&course, id)?;
    let params = checker::run::params_for(ws, e);
    e.apply_tree(lessons::exercise::Tree::Starter, &ws.root, &params, true)?;
    let applied = e.apply_tree(lessons::exercise::Tree::Solution, &ws.root, &params, true)?;
    out(&format!(
        "Solución de {} copiada: {} ficheros.",
        e.id,
        applied.written.len()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `lab book [--dest DIR] [--open]`.
pub fn book(ws: Option<&Workspace>, dest: Option<&Path>, open: bool) -> Result<ExitCode, Failure> {
    let course = course()?;
    let dest: PathBuf = match (dest, ws) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(w)) => w.state_dir().join("libro"),
        (None, None) => PathBuf::from("libro"),
    };
    let built = lessons::book::build(&course, &dest, ws.map(|w| w.settings.student.as_str()))?;
    for p in &built.missing_pages {
        err(&format!(
            "aviso: la página `{p}` de SUMMARY.md todavía no existe; el libro la muestra vacía"
        ));
    }
    out(&format!(
        "Libro construido en {}\nÁbrelo en el navegador: file://{}",
        dest.display(),
        built.index.display()
    ));
    if open {
        match std::process::Command::new("xdg-open")
            .arg(&built.index)
            .spawn()
        {
            Ok(_) => {}
            Err(e) => err(&format!(
                "aviso: no se pudo abrir el navegador ({e}); abre la dirección de arriba a mano"
            )),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lab dev check [--course DIR]`.
pub fn dev_check(dir: Option<&Path>, only: &[String]) -> Result<ExitCode, Failure> {
    let from_cwd = Path::new("book/src/SUMMARY.md").is_file() && Path::new("exercises").is_dir();
    let course = match dir {
        Some(d) => Course::from_dir(d)?,
        None if std::env::var_os("LAB_COURSE_DIR").is_some_and(|v| !v.is_empty()) => {
            Course::load()?
        }
        None if from_cwd => Course::from_dir(Path::new("."))?,
        None => Course::embedded()?,
    };
    let st = style();
    let where_from = course
        .dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "el curso incluido en el programa".into());
    let mut text = format!("Validando el curso de {where_from}\n");
    for w in &course.warnings {
        text.push_str(&format!("  {} {w}\n", st.dim("aviso:")));
    }
    for id in only {
        find_exercise(&course, id)?;
    }
    let opts = checker::isolate::WorkerOptions::new(
        std::env::current_exe().map_err(|e| format!("no se encuentra el programa lab: {e}"))?,
        &course,
        checker::isolate::Limits::default(),
    );
    let (errors, results) = checker::dev::check_exercises(&course, only, &opts);
    let mut ok = errors.is_empty();
    for e in &errors {
        text.push_str(&format!("  {} {e}\n", st.red("error:")));
    }
    for r in &results {
        if r.problems.is_empty() {
            text.push_str(&format!("  {} {}\n", st.green("✔"), r.id));
        } else {
            ok = false;
            text.push_str(&format!("  {} {}\n", st.red("✘"), r.id));
            for p in &r.problems {
                text.push_str(&format!("      {p}\n"));
            }
        }
    }
    text.push_str(&if ok {
        format!(
            "Curso correcto: {} ejercicios; cada punto de partida falla, cada solución pasa y la de otro estudiante no.",
            results.len()
        )
    } else {
        "El curso tiene problemas (arriba).".to_string()
    });
    if ok {
        out(&text);
        Ok(ExitCode::SUCCESS)
    } else {
        err(&text);
        Ok(ExitCode::FAILURE)
    }
}

/// The console task of `lab start`, its URL, and the sender that stops it.
pub struct RunningConsole {
    pub task: tokio::task::JoinHandle<()>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub url: String,
}

/// The console of `lab start`: binds `127.0.0.1:console_port` (0 picks a free port) and
/// returns the task serving it, stopped by the returned sender. `None` (with a warning
/// printed) when the port cannot be bound: the lab runs on without it.
pub async fn start_console(ws: &Workspace) -> Option<RunningConsole> {
    let course = match Course::load() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            err(&format!("aviso: la consola no arranca: {e}"));
            return None;
        }
    };
    let port = ws.settings.console_port;
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            err(&format!(
                "aviso: no se pudo abrir la consola en 127.0.0.1:{port}: {e}\n  ayuda: cambia `console_port` en lab.toml (0 elige uno libre)"
            ));
            return None;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            err(&format!("aviso: la consola no arranca: {e}"));
            return None;
        }
    };
    let url = format!("http://{addr}/");
    out(&format!("  consola   {url}"));
    let app = Arc::new(Console::new(
        ws.clone(),
        course,
        Arc::new(checker::console::ConsoleChecker),
        console::supervisor_status(),
    ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(e) = console::serve(listener, app, shutdown).await {
            err(&format!("aviso: la consola se ha parado: {e}"));
        }
    });
    Some(RunningConsole {
        task,
        stop: tx,
        url,
    })
}
