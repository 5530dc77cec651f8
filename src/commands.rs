//! One function per command: find the workspace, call `lab-server`, print in Spanish and
//! return the exit code (0 ok, 1 failure; usage errors are clap's 2).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use lab_server::a2::{self, Kind};
use lab_server::config::{self, diagnostic::render};
use lab_server::memcached;
use lab_server::supervisor::{self, Request, StartOptions};
use lab_server::workspace::{self, Workspace, WorkspaceError};

use crate::cli::{Cli, Command, DevCommand, ProxyCommand, ServiceAction};
use crate::teaching;

/// A failed command: the message printed as `error: ...`.
pub type Failure = Box<dyn std::error::Error>;

/// Where `lab start` creates a workspace when it finds none.
const DEFAULT_WORKSPACE: &str = "laboratorio";

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let explicit = cli.workspace.as_deref();
    let result = match cli.command {
        Command::Init { dir, student } => init(&dir, student.as_deref()),
        Command::Start => start(explicit),
        Command::Stop => stop(explicit),
        Command::Reload => reload(explicit),
        Command::Status => status(explicit),
        Command::Configtest => configtest(explicit),
        Command::A2ensite(n) => a2(explicit, Kind::Site, true, &n.names),
        Command::A2dissite(n) => a2(explicit, Kind::Site, false, &n.names),
        Command::A2enmod(n) => a2(explicit, Kind::Module, true, &n.names),
        Command::A2dismod(n) => a2(explicit, Kind::Module, false, &n.names),
        Command::A2enconf(n) => a2(explicit, Kind::Conf, true, &n.names),
        Command::A2disconf(n) => a2(explicit, Kind::Conf, false, &n.names),
        Command::Service { name, action } => service(explicit, &name, action),
        Command::Explain { url, method, json } => explain(explicit, &url, &method, json),
        Command::Bench(a) => crate::bench::bench(explicit, a),
        Command::Proxy { command } => proxy(explicit, command),
        Command::Ban { expr } => open(explicit).map_err(Failure::from).and_then(|ws| {
            ask(
                &ws,
                &Request::Ban {
                    expr: expr.join(" "),
                },
            )
        }),
        Command::Cache { action } => cache(explicit, action),
        Command::Lesson { id } => {
            let ws = open(explicit).ok();
            teaching::lesson(ws.as_ref(), id.as_deref())
        }
        Command::Prepare { exercise, force } => open(explicit)
            .map_err(Failure::from)
            .and_then(|ws| teaching::prepare(&ws, &exercise, force)),
        Command::Check {
            exercise,
            json,
            junit,
        } => open(explicit).map_err(Failure::from).and_then(|ws| {
            teaching::check(
                &ws,
                exercise.as_deref(),
                crate::grading::CheckOutputs {
                    json: json.as_deref(),
                    junit: junit.as_deref(),
                },
            )
        }),
        Command::Grade(a) => crate::grading::grade(a),
        Command::Book {
            dest,
            open: open_it,
        } => {
            let ws = open(explicit).ok();
            teaching::book(ws.as_ref(), dest.as_deref(), open_it)
        }
        Command::Dev {
            command: DevCommand::Check { course, exercises },
        } => teaching::dev_check(course.as_deref(), &exercises),
        Command::Dev {
            command: DevCommand::Solve { exercise },
        } => open(explicit)
            .map_err(Failure::from)
            .and_then(|ws| teaching::solve(&ws, &exercise)),
        Command::CheckWorker(a) => {
            let Some(ws) = explicit else {
                return ExitCode::from(2);
            };
            let code = checker::isolate::worker_main(checker::isolate::WorkerArgs {
                workspace: ws.to_path_buf(),
                out: a.out,
                course: a.course,
                exercises: a.exercise,
                timeout: Duration::from_secs(a.timeout),
            });
            Ok(ExitCode::from(code.clamp(0, 255) as u8))
        }
        Command::WsgiWorker(a) => {
            let code = lab_server::wsgi::worker::run(lab_server::wsgi::worker::WorkerArgs {
                socket: a.socket,
                group: a.group,
                processes: a.processes,
                multiprocess: a.multiprocess,
                threads: a.threads,
                maximum_requests: a.maximum_requests,
                inactivity_timeout: a.inactivity_timeout,
                python_home: a.python_home,
                python_path: a.python_path,
                log: a.log,
            });
            // Not a return from `main`: the worker's stdin watcher may be ending the process
            // at the same moment, and only one of them may run the exit.
            lab_server::wsgi::worker::exit_once(code.clamp(0, 255))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
}

pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stderr.write_all(b"\n");
    }
}

fn open(explicit: Option<&Path>) -> Result<Workspace, WorkspaceError> {
    Workspace::discover(explicit)
}

fn init(dir: &Path, student: Option<&str>) -> Result<ExitCode, Failure> {
    let ws = workspace::init(dir, student)?;
    out(&format!(
        "Espacio de trabajo creado en {}\n\
         Contiene la configuración de Apache de Debian en etc/apache2 y la página de\n\
         bienvenida en var/www/html/index.html.\n\
         Siguiente paso: cd {} && lab start",
        ws.root.display(),
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// The workspace for `lab start`: the usual discovery, or `./laboratorio` (created when
/// missing) when nothing was given and nothing was found.
fn workspace_for_start(explicit: Option<&Path>) -> Result<Workspace, Failure> {
    match open(explicit) {
        Ok(ws) => Ok(ws),
        Err(WorkspaceError::NotFound(_)) => {
            let dir = PathBuf::from(DEFAULT_WORKSPACE);
            if dir.join(workspace::SETTINGS_FILE).is_file() {
                out(&format!(
                    "Usando el espacio de trabajo ./{DEFAULT_WORKSPACE}"
                ));
                return Ok(Workspace::open(&dir)?);
            }
            let ws = workspace::init(&dir, None)?;
            out(&format!(
                "No se encontró ningún espacio de trabajo: se ha creado uno nuevo en ./{DEFAULT_WORKSPACE}"
            ));
            Ok(ws)
        }
        Err(e) => Err(e.into()),
    }
}

fn start(explicit: Option<&Path>) -> Result<ExitCode, Failure> {
    let ws = workspace_for_start(explicit)?;
    // `LAB_WORKER_THREADS` (for benchmarks): how many threads serve; one per core otherwise.
    let threads = std::env::var("LAB_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // `LAB_CORES=1`: connections are served by one single-threaded runtime per thread (see
    // `lab_server::cores`), and the main runtime keeps the supervisor, the console and the
    // accept loops. Not the default: measured on two cores shared with the load generator,
    // pinning each connection to a thread cost more (three busy threads on two cores) than
    // the wake-ups between the work-stealing runtime's threads it saves.
    let per_core = std::env::var_os("LAB_CORES").is_some_and(|v| v != "0");
    // The varnish role gets a scheduler of its own, as varnishd is a process of its own.
    lab_server::proxy::own_runtime(lab_server::proxy::default_threads());
    if per_core {
        lab_server::cores::start(threads)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if per_core { threads.min(2) } else { threads })
        .on_thread_park(lab_server::http::log::on_park)
        .enable_all()
        .build()
        .map_err(|e| format!("no se pudo crear el planificador de tareas: {e}"))?;
    let result = runtime.block_on(async {
        // The console runs beside the stack, in the same runtime; it stops with it.
        let console = teaching::start_console(&ws).await;
        let opts = StartOptions {
            console_url: console.as_ref().map(|c| c.url.clone()),
        };
        let result = supervisor::run(ws, opts).await;
        if let Some(c) = console {
            let _ = c.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(2), c.task).await;
        }
        result
    });
    result?;
    // Roles may leave blocking tasks behind (a slow client); do not wait for them forever.
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(ExitCode::SUCCESS)
}

fn stop(explicit: Option<&Path>) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    supervisor::stop_and_wait(&ws, Duration::from_secs(30))?;
    if ws.control_socket().exists() {
        err("El laboratorio no ha terminado de pararse en 30 s; revisa la terminal donde se arrancó.");
        return Ok(ExitCode::FAILURE);
    }
    out("Laboratorio parado.");
    Ok(ExitCode::SUCCESS)
}

/// Sends a request and prints the answer: stdout and 0 when it went well, stderr and 1 if not.
fn ask(ws: &Workspace, req: &Request) -> Result<ExitCode, Failure> {
    let resp = supervisor::request(ws, req)?;
    if resp.ok {
        out(&resp.message);
        Ok(ExitCode::SUCCESS)
    } else {
        err(&resp.message);
        Ok(ExitCode::FAILURE)
    }
}

fn reload(explicit: Option<&Path>) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    ask(&ws, &Request::Reload)
}

fn cache(explicit: Option<&Path>, action: crate::cli::CacheAction) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    let req = match action {
        crate::cli::CacheAction::Reset => Request::CacheReset,
        crate::cli::CacheAction::Status => Request::CacheStatus,
    };
    ask(&ws, &req)
}

fn status(explicit: Option<&Path>) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    ask(&ws, &Request::Status)
}

fn configtest(explicit: Option<&Path>) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    // Apache's configuration, etc/memcached.conf and PHP-FPM's files, every problem at once.
    let (warnings, errors) = match (
        config::load(&ws),
        memcached::config::load(&ws),
        lab_server::php::fpm::load(&ws),
    ) {
        (Ok(a), Ok(m), Ok(f)) => (
            [
                a.warnings,
                m.warnings,
                f.map(|f| f.warnings).unwrap_or_default(),
            ]
            .concat(),
            None,
        ),
        (a, m, f) => {
            let mut diags = a.err().unwrap_or_default();
            diags.extend(m.err().unwrap_or_default());
            diags.extend(f.err().unwrap_or_default());
            (Vec::new(), Some(diags))
        }
    };
    // The varnish unit and its VCL, when the workspace has them.
    let (warnings, errors) = match (errors, varnish_check(&ws)) {
        (None, Ok(w)) => ([warnings, w].concat(), None),
        (e, v) => {
            let mut diags = e.unwrap_or_default();
            diags.extend(v.err().unwrap_or_default());
            (warnings, Some(diags))
        }
    };
    if let Some(diags) = errors {
        err(&render(&diags, Some(&ws.root)));
        return Ok(ExitCode::FAILURE);
    }
    if !warnings.is_empty() {
        err(&render(&warnings, Some(&ws.root)));
    }
    out("Sintaxis correcta");
    Ok(ExitCode::SUCCESS)
}

/// varnish's diagnostics for `lab configtest`, with the port warnings.
fn varnish_check(
    ws: &Workspace,
) -> Result<
    Vec<lab_server::config::diagnostic::Diagnostic>,
    Vec<lab_server::config::diagnostic::Diagnostic>,
> {
    use lab_server::proxy::config as vc;
    if !vc::present(ws) {
        return Ok(Vec::new());
    }
    let loaded = vc::load(ws)?;
    let mut warnings = loaded.warnings;
    if let (Ok(a), Ok(m)) = (config::load(ws), memcached::config::load(ws)) {
        if ws.settings.services.varnish {
            let others = supervisor::other_binds(ws, &a.config, &m.config);
            warnings.extend(vc::cross_check(&loaded.config, &others));
        }
    }
    Ok(warnings)
}

/// `lab proxy log|stat`.
fn proxy(explicit: Option<&Path>, command: ProxyCommand) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    match command {
        ProxyCommand::Stat => ask(&ws, &Request::ProxyStat),
        ProxyCommand::Log {
            follow,
            query,
            group,
        } => {
            let mut after = 0;
            loop {
                let resp = supervisor::request(
                    &ws,
                    &Request::ProxyLog {
                        after,
                        query: query.clone(),
                        group: group.clone(),
                    },
                )?;
                if !resp.ok {
                    err(&resp.message);
                    return Ok(ExitCode::FAILURE);
                }
                if !resp.message.is_empty() {
                    let mut o = std::io::stdout().lock();
                    let _ = o.write_all(resp.message.as_bytes());
                    let _ = o.flush();
                }
                after = resp.seq.unwrap_or(after);
                if !follow {
                    return Ok(ExitCode::SUCCESS);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

fn explain(
    explicit: Option<&Path>,
    url: &str,
    method: &str,
    json: bool,
) -> Result<ExitCode, Failure> {
    use lab_server::http::explain::Question;
    let ws = open(explicit)?;
    let question = match Question::parse(url, method) {
        Ok(q) => q,
        Err(e) => {
            err(&format!("error: {e}"));
            return Ok(ExitCode::from(2));
        }
    };
    let answer = lab_server::explainer::answer(&ws, &question, &[]);
    if json {
        out(&serde_json::to_string_pretty(&answer)?);
    } else if answer.error.is_some() {
        err(answer.text().trim_end());
    } else {
        out(answer.text().trim_end());
    }
    Ok(if answer.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn a2(
    explicit: Option<&Path>,
    kind: Kind,
    enable: bool,
    names: &[String],
) -> Result<ExitCode, Failure> {
    let ws = open(explicit)?;
    let outcome = if enable {
        a2::enable(&ws.apache_dir(), kind, names)
    } else {
        a2::disable(&ws.apache_dir(), kind, names)
    };
    for line in &outcome.lines {
        if line.error {
            err(&line.text);
        } else {
            out(&line.text);
        }
    }
    Ok(if outcome.exit_code == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn service(
    explicit: Option<&Path>,
    name: &str,
    action: ServiceAction,
) -> Result<ExitCode, Failure> {
    let mut ws = open(explicit)?;
    supervisor::find_service(name)?;
    match action {
        ServiceAction::Enable | ServiceAction::Disable => {
            let msg =
                supervisor::set_service_enabled(&mut ws, name, action == ServiceAction::Enable)?;
            out(&msg);
            Ok(ExitCode::SUCCESS)
        }
        _ => ask(
            &ws,
            &Request::Service {
                name: name.to_string(),
                action: action.as_str().to_string(),
            },
        ),
    }
}
