//! Checking a workspace in isolation: what `lab dev check` and `lab grade` do.
//!
//! 1. The workspace is copied ([`copy_workspace`]) with size limits, without `.lab/`, `run/`
//!    and `.git/`, and without symlinks that leave it (a symlink to `/etc/passwd` is dropped).
//! 2. The virtual environments of the exercises' `[setup]` are built from the workspace's
//!    requirements files, once per requirements list, in a shared cache ([`venv_cache_dir`]),
//!    and copied in ([`prepare_venvs`]).
//! 3. A worker process (`lab __check-worker`, the hidden command) checks the exercises one by
//!    one. It runs in a private network namespace when the system allows it (`unshare`), so
//!    every port of the configuration (80, 11211, 11212...) is the worker's own and the
//!    instructor's running lab is never reached; otherwise privileged ports are moved to a
//!    free range and runs that bind fixed ports take turns. Its children run under rlimits
//!    (CPU, memory, processes, file size). For each exercise that needs it, the worker starts
//!    a real `lab start` in the copy (plus the extra memcached servers of `[setup]`), loads
//!    the declared data, runs the declared commands, checks, and stops everything.
//! 4. The worker writes one JSON line per exercise; an exercise that did not finish in time
//!    gets every step failed with the reason.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lab_server::workspace::Workspace;
use lessons::exercise::{Exercise, Setup, VenvSetup};
use lessons::Course;
use serde::{Deserialize, Serialize};

use crate::checks::Outcome;
use crate::run::{check_exercise, needs_http, params_for, CheckReport, ExerciseReport, StepReport};
use crate::target::Target;

/// Limits for one workspace.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Per exercise (the whole workspace gets this times the number of exercises).
    pub exercise_timeout: Duration,
    /// RLIMIT_AS of every process, in bytes.
    pub memory: u64,
    /// RLIMIT_FSIZE, in bytes.
    pub file_size: u64,
    /// RLIMIT_NPROC.
    pub processes: u64,
    /// Largest workspace copied, in bytes.
    pub max_copy_bytes: u64,
    /// Most files copied.
    pub max_copy_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            exercise_timeout: Duration::from_secs(120),
            memory: 4 << 30,
            file_size: 256 << 20,
            processes: 4096,
            max_copy_bytes: 1 << 30,
            max_copy_files: 100_000,
        }
    }
}

/// Directory names never copied.
const SKIPPED: &[&str] = &[".lab", "run", ".git", "__pycache__"];

/// Copies the workspace at `src` to `dest` (which must not exist). Returns notes (in Spanish)
/// on what was left out.
pub fn copy_workspace(src: &Path, dest: &Path, limits: &Limits) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let (mut bytes, mut files) = (0u64, 0usize);
    std::fs::create_dir_all(dest)
        .map_err(|e| format!("no se pudo crear {}: {e}", dest.display()))?;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = src.join(&rel);
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("no se pudo leer {}: {e}", dir.display()))?;
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let rel_path = rel.join(&name);
            let from = e.path();
            let to = dest.join(&rel_path);
            let Ok(meta) = std::fs::symlink_metadata(&from) else {
                continue;
            };
            if meta.is_dir() {
                if rel.as_os_str().is_empty() && SKIPPED.contains(&name.to_string_lossy().as_ref())
                    || name == "__pycache__"
                {
                    continue;
                }
                std::fs::create_dir_all(&to)
                    .map_err(|e| format!("no se pudo crear {}: {e}", to.display()))?;
                stack.push(rel_path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&from).unwrap_or_default();
                if symlink_allowed(&rel_path, &target) {
                    let _ = std::os::unix::fs::symlink(&target, &to);
                } else {
                    notes.push(format!(
                        "se ignoró el enlace simbólico {} -> {} (apunta fuera del espacio de trabajo)",
                        rel_path.display(),
                        target.display()
                    ));
                }
            } else if meta.is_file() {
                files += 1;
                bytes += meta.len();
                if files > limits.max_copy_files {
                    return Err(format!(
                        "el espacio de trabajo tiene más de {} ficheros",
                        limits.max_copy_files
                    ));
                }
                if bytes > limits.max_copy_bytes {
                    return Err(format!(
                        "el espacio de trabajo ocupa más de {} MB",
                        limits.max_copy_bytes >> 20
                    ));
                }
                std::fs::copy(&from, &to)
                    .map_err(|e| format!("no se pudo copiar {}: {e}", rel_path.display()))?;
            }
            // Sockets, fifos and devices are left out.
        }
    }
    // `.lab/` stays behind, but the `lab bench` runs are part of the student's work.
    if let Err(e) = crate::checks::copy_bench_runs(src, dest) {
        notes.push(format!(
            "no se pudieron copiar las mediciones de `lab bench`: {e}"
        ));
    }
    Ok(notes)
}

/// A symlink at `rel` (relative to the workspace root) pointing to `target` is kept when
/// it stays inside the workspace, or points into the system's `/usr` (a venv's python).
pub(crate) fn symlink_allowed(rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return target.starts_with("/usr/")
            && !target.components().any(|c| c == Component::ParentDir);
    }
    let mut depth: i64 = rel.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Virtual environments

/// The shared cache: `LAB_CACHE_DIR`, else `$XDG_CACHE_HOME/lab`, else `~/.cache/lab`.
pub fn venv_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAB_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("lab");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache/lab");
    }
    std::env::temp_dir().join("lab-cache")
}

/// Debian's interpreter (the one the lab embeds), or `python3` from PATH.
fn python() -> PathBuf {
    let debian = Path::new("/usr/bin/python3");
    if debian.exists() {
        debian.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

/// The requirement lines of a requirements file: plain `name[extras] OP version` specs only
/// (no options, URLs or paths, which could read or run anything).
pub fn parse_requirements(text: &str) -> Result<Vec<String>, String> {
    let spec = regex::Regex::new(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?\s*((==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!-]+\s*)?(,\s*(==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!-]+\s*)*$",
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if !spec.is_match(line) {
            return Err(format!(
                "línea {}: «{}» no es un requisito simple (nombre y versión); no se admiten opciones, URL ni rutas",
                n + 1,
                crate::checks::excerpt(line, 60)
            ));
        }
        out.push(line.to_ascii_lowercase());
    }
    if out.len() > 100 {
        return Err("más de 100 requisitos".into());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cached venv with exactly `requirements`, built on first use (one builder at a time
/// per requirements list, others wait for it).
pub fn cached_venv(requirements: &[String]) -> Result<PathBuf, String> {
    static VERSION: OnceLock<String> = OnceLock::new();
    let version = VERSION.get_or_init(|| {
        Command::new(python())
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    });
    let key = sha256_hex(format!("{version}\n{}", requirements.join("\n")).as_bytes());
    let cache = venv_cache_dir();
    let venvs = cache.join("venvs");
    std::fs::create_dir_all(&venvs)
        .map_err(|e| format!("no se pudo crear la caché {}: {e}", venvs.display()))?;
    let dir = venvs.join(&key[..16]);
    let ready = dir.join(".lab-ready");
    if ready.exists() && dir.join(".lab-manifest").exists() {
        return Ok(dir);
    }
    let lock_path = venvs.join(format!("{}.lock", &key[..16]));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("no se pudo crear {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("no se pudo bloquear {}: {e}", lock_path.display()))?;
    if ready.exists() && dir.join(".lab-manifest").exists() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd
            .env("PIP_CACHE_DIR", cache.join("pip"))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = text.lines().rev().take(3).collect();
            Err(format!(
                "{what} falló: {}",
                last.into_iter().rev().collect::<Vec<_>>().join(" ⏎ ")
            ))
        }
    };
    run(
        Command::new(python()).args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    )?;
    if !requirements.is_empty() {
        run(
            Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "--only-binary=:all:"])
                .args(requirements),
            "pip install",
        )
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
    }
    std::fs::write(dir.join(".lab-manifest"), manifest(&dir)).map_err(|e| {
        format!(
            "no se pudo escribir el manifiesto de {}: {e}",
            dir.display()
        )
    })?;
    std::fs::write(&ready, requirements.join("\n"))
        .map_err(|e| format!("no se pudo escribir {}: {e}", ready.display()))?;
    Ok(dir)
}

/// Every file of a cached venv with its length and modification time: a venv whose files
/// changed since it was built (a graded program wrote into its hard-linked copy) is dropped.
fn manifest(dir: &Path) -> String {
    let mut lines = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() && !p.ends_with(".lab-manifest") && !p.ends_with(".lab-ready")
            {
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                lines.push(format!(
                    "{}\t{}\t{mtime}",
                    p.strip_prefix(dir).unwrap_or(&p).display(),
                    meta.len()
                ));
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

/// True when the cached venv at `dir` is as it was built.
pub fn cache_intact(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(".lab-manifest")).is_ok_and(|m| m == manifest(dir))
}

/// Builds, in the workspace at `root`, the venvs of `setups` whose requirements file exists
/// and which are not there yet: hard links to the shared cache when it is on the same file
/// system (instant, and checked afterwards with [`cache_intact`]), else a copy. Returns
/// notes for the report and the cache directories linked.
pub fn prepare_venvs(root: &Path, setups: &[VenvSetup]) -> (Vec<String>, Vec<PathBuf>) {
    let mut notes = Vec::new();
    let mut linked = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for v in setups {
        if done.contains(&v.path) {
            continue;
        }
        done.push(v.path.clone());
        let dest = root.join(&v.path);
        if dest.join("pyvenv.cfg").exists() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&v.requirements)) else {
            continue;
        };
        let reqs = match parse_requirements(&text) {
            Ok(r) => r,
            Err(why) => {
                notes.push(format!("{}: {why}", v.requirements));
                continue;
            }
        };
        match cached_venv(&reqs) {
            Ok(cached) => {
                if let Some(parent) = dest.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let cp = |flags: &str| {
                    Command::new("cp")
                        .arg(flags)
                        .arg(&cached)
                        .arg(&dest)
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success())
                };
                let ok = if cp("-al") {
                    linked.push(cached.clone());
                    true
                } else {
                    let _ = std::fs::remove_dir_all(&dest);
                    cp("-a")
                };
                let _ = std::fs::remove_file(dest.join(".lab-ready"));
                let _ = std::fs::remove_file(dest.join(".lab-manifest"));
                if !ok {
                    notes.push(format!("no se pudo copiar el entorno virtual a {}", v.path));
                }
            }
            Err(why) => notes.push(format!(
                "no se pudo crear el entorno virtual {} desde {}: {why}",
                v.path, v.requirements
            )),
        }
    }
    (notes, linked)
}

// ---------------------------------------------------------------------------------------------
// The worker, seen from the parent

/// True when `unshare` can give the worker a private network namespace here.
pub fn private_network() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if std::env::var_os("LAB_NO_NETNS").is_some() {
            return false;
        }
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--net", "--pid", "--fork"])
            .args(["sh", "-c", "ip link set lo up"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// One line of the worker's results file.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerLine {
    pub id: String,
    pub report: ExerciseReport,
    /// Set-up notes (Spanish).
    pub notes: Vec<String>,
}

/// What checking a workspace in isolation gave.
#[derive(Debug, Default)]
pub struct Isolated {
    pub reports: Vec<ExerciseReport>,
    pub notes: Vec<String>,
}

/// Options of [`check_in_workspace`].
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The `lab` binary (the worker and `lab start` are its commands).
    pub exe: PathBuf,
    /// The course directory handed to the worker (None: the worker loads its default).
    pub course_dir: Option<PathBuf>,
    pub limits: Limits,
    /// The venvs of every exercise's `[setup]`: a workspace's configuration may name any of
    /// them (a site of another exercise with its `python-home`).
    pub venvs: Vec<VenvSetup>,
}

impl WorkerOptions {
    pub fn new(exe: PathBuf, course: &Course, limits: Limits) -> WorkerOptions {
        WorkerOptions {
            exe,
            course_dir: course.dir.clone(),
            limits,
            venvs: course
                .exercises
                .values()
                .flat_map(|e| e.setup.venvs.iter().cloned())
                .collect(),
        }
    }
}

/// A report where every step failed for `reason` (the exercise could not be checked).
pub fn failed_report(ws: &Workspace, exercise: &Exercise, reason: &str) -> ExerciseReport {
    let params = params_for(ws, exercise);
    ExerciseReport {
        id: exercise.id.clone(),
        title: params.apply(&exercise.title),
        points: exercise.points,
        steps: exercise
            .steps
            .iter()
            .map(|s| StepReport {
                title: params.apply(&s.title),
                passed: false,
                checks: vec![CheckReport {
                    description: "el ejercicio se comprueba".into(),
                    outcome: Outcome::fail("que la comprobación termine", reason),
                }],
                hints: vec![],
            })
            .collect(),
        against_running_lab: false,
    }
}

/// Checks `exercises` in the workspace at `root` (already a throwaway copy: it is changed)
/// with a worker process. Never fails: what could not be checked has its reason.
pub fn check_in_workspace(
    root: &Path,
    exercises: &[&Exercise],
    opts: &WorkerOptions,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Isolated {
    let setups: Vec<VenvSetup> = exercises
        .iter()
        .flat_map(|e| e.setup.venvs.iter().cloned())
        .chain(opts.venvs.iter().cloned())
        .collect();
    let (notes, linked) = prepare_venvs(root, &setups);
    let mut result = Isolated {
        notes,
        ..Isolated::default()
    };
    let result_after = |result: &mut Isolated| {
        for cache in &linked {
            if !cache_intact(cache) {
                let _ = std::fs::remove_dir_all(cache);
                result.notes.push(
                    "la entrega modificó ficheros de un entorno virtual compartido; se reconstruirá"
                        .into(),
                );
            }
        }
    };
    let ws = match Workspace::open(root) {
        Ok(ws) => ws,
        Err(e) => {
            result.notes.push(e.to_string());
            return result;
        }
    };
    let out = root.join(".lab/check-results.jsonl");
    let log = root.join(".lab/check-worker.log");
    let _ = std::fs::create_dir_all(root.join(".lab"));
    let _ = std::fs::remove_file(&out);
    let mut args: Vec<String> = vec![
        "__check-worker".into(),
        "--workspace".into(),
        root.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--timeout".into(),
        opts.limits.exercise_timeout.as_secs().to_string(),
    ];
    if let Some(c) = &opts.course_dir {
        args.push("--course".into());
        args.push(c.display().to_string());
    }
    for e in exercises {
        args.push("--exercise".into());
        args.push(e.id.clone());
    }
    let l = &opts.limits;
    let cpu = (l.exercise_timeout.as_secs() * exercises.len().max(1) as u64).max(60);
    // One limit per `ulimit` (dash takes one at a time; its processes flag is -p).
    let ulimits = format!(
        "ulimit -t {cpu} && ulimit -v {} && ulimit -f {} && (ulimit -u {p} 2>/dev/null || ulimit -p {p})",
        l.memory / 1024,
        l.file_size / 512,
        p = l.processes,
    );
    let netns = private_network();
    let mut cmd = if netns {
        let mut c = Command::new("unshare");
        c.args([
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
        ])
        .arg(format!(
            "ip link set lo up && {ulimits} && exec \"$0\" \"$@\""
        ));
        c.env("LAB_NETNS", "1");
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!("{ulimits} && exec \"$0\" \"$@\""));
        c
    };
    cmd.arg(&opts.exe).args(&args);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.env("LAB_CONFINE", "1")
        .env_remove("LAB_WORKSPACE")
        .stdin(Stdio::null());
    match std::fs::File::create(&log) {
        Ok(f) => {
            let f2 = f.try_clone().ok();
            cmd.stdout(f);
            match f2 {
                Some(f2) => cmd.stderr(f2),
                None => cmd.stderr(Stdio::null()),
            };
        }
        Err(_) => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let deadline = Instant::now()
        + l.exercise_timeout * exercises.len().max(1) as u32
        + Duration::from_secs(30);
    let mut why_missing = None;
    match cmd.spawn() {
        Ok(mut child) => loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) => {
                    let cancelled =
                        cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
                    if Instant::now() > deadline || cancelled {
                        kill_group(&mut child);
                        why_missing = Some(if cancelled {
                            "comprobación interrumpida".to_string()
                        } else {
                            format!(
                                "el espacio de trabajo no terminó en {} s",
                                (deadline - Instant::now().min(deadline))
                                    .as_secs()
                                    .max(l.exercise_timeout.as_secs() * exercises.len() as u64)
                            )
                        });
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(_) => break,
            }
        },
        Err(e) => why_missing = Some(format!("no se pudo arrancar la comprobación: {e}")),
    }
    let mut lines: BTreeMap<String, WorkerLine> = BTreeMap::new();
    if let Ok(f) = std::fs::File::open(&out) {
        for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
            if let Ok(l) = serde_json::from_str::<WorkerLine>(&line) {
                lines.insert(l.id.clone(), l);
            }
        }
    }
    let why_missing = why_missing.unwrap_or_else(|| {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let last: Vec<&str> = tail.lines().rev().take(2).collect();
        format!(
            "la comprobación terminó antes de tiempo: {}",
            crate::checks::excerpt(&last.into_iter().rev().collect::<Vec<_>>().join(" "), 200)
        )
    });
    for e in exercises {
        match lines.remove(&e.id) {
            Some(l) => {
                result.notes.extend(l.notes);
                result.reports.push(l.report);
            }
            None => result.reports.push(failed_report(&ws, e, &why_missing)),
        }
    }
    result_after(&mut result);
    result
}

fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--"])
        .arg(format!("-{}", child.id()))
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------
// The worker, inside

/// Arguments of `lab __check-worker`.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    pub workspace: PathBuf,
    pub out: PathBuf,
    pub course: Option<PathBuf>,
    pub exercises: Vec<String>,
    pub timeout: Duration,
}

/// A `lab start` of the worker, stopped on drop.
struct Lab {
    ws: Workspace,
    child: Child,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = lab_server::supervisor::stop_and_wait(&self.ws, Duration::from_secs(10));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_lab(exe: &Path, ws: &Workspace, log_name: &str) -> Result<Lab, String> {
    let log = ws.state_dir().join(log_name);
    let _ = std::fs::create_dir_all(ws.state_dir());
    let f = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let f2 = f.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .arg("start")
        .arg("--workspace")
        .arg(&ws.root)
        .stdin(Stdio::null())
        .stdout(f)
        .stderr(f2)
        .spawn()
        .map_err(|e| format!("no se pudo ejecutar `lab start`: {e}"))?;
    let mut lab = Lab {
        ws: ws.clone(),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if lab_server::supervisor::request(ws, &lab_server::supervisor::Request::Status)
            .is_ok_and(|r| r.ok)
        {
            return Ok(lab);
        }
        if let Ok(Some(_)) = lab.child.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let msg: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("Espacio de trabajo")
                        && !l.starts_with("consola")
                })
                .take(3)
                .collect();
            return Err(format!(
                "`lab start` no arrancó: {}",
                crate::checks::excerpt(&msg.join(" "), 300)
            ));
        }
        if Instant::now() > deadline {
            return Err("`lab start` no estuvo listo en 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A free loopback port (for moving privileged ports when there is no private network).
fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .ok()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
}

/// Rewrites the copy's `lab.toml` for one exercise: services of `[setup]` on, the console
/// on a free port, and (without a private network) privileged ports moved to a free range.
fn settings_for(ws: &mut Workspace, setup: &Setup, netns: bool) -> Result<(), String> {
    for s in &setup.services {
        match s.as_str() {
            "apache2" => ws.settings.services.apache2 = true,
            "memcached" => ws.settings.services.memcached = true,
            _ => {}
        }
    }
    ws.settings.console_port = 0;
    if !netns {
        if let Some(p) = free_port().filter(|p| *p > 1024 && *p < 64000) {
            ws.settings.privileged_port_offset = p - 80;
            ws.settings.map_privileged_ports = lab_server::workspace::PortMapping::Always;
        }
    }
    ws.save_settings().map_err(|e| e.to_string())
}

/// The extra memcached server of `[setup]` on `port`: a second workspace, as the course
/// tells students to make.
fn extra_memcached(exe: &Path, base: &Path, port: u16) -> Result<Lab, String> {
    let dir = base.join(format!("memcached-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut ws = lab_server::workspace::init(&dir, Some("segundo")).map_err(|e| e.to_string())?;
    ws.settings.services.apache2 = false;
    ws.settings.services.memcached = true;
    ws.settings.console_port = 0;
    ws.save_settings().map_err(|e| e.to_string())?;
    let conf = dir.join("etc/memcached.conf");
    let text = std::fs::read_to_string(&conf).unwrap_or_default();
    let re = regex::Regex::new(r"(?m)^-p\s+\d+").map_err(|e| e.to_string())?;
    std::fs::write(
        &conf,
        re.replace(&text, format!("-p {port}").as_str()).as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    start_lab(exe, &ws, "lab-start.log")
}

/// Replays a file to the workspace's memcached: each line ends in \r\n, as telnet sends it.
fn load_memcached(ws: &Workspace, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let loaded = lab_server::memcached::config::load(ws)
        .map_err(|_| "etc/memcached.conf tiene errores".to_string())?;
    let addr = *loaded.config.binds.first().ok_or("memcached no escucha")?;
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let mut data = String::new();
    for line in text.lines() {
        data.push_str(line.trim_end_matches('\r'));
        data.push_str("\r\n");
    }
    if !text.lines().any(|l| l.trim() == "quit") {
        data.push_str("quit\r\n");
    }
    s.write_all(data.as_bytes()).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    Ok(())
}

/// Runs a `[setup]` command in the workspace root with a time limit.
fn setup_command(root: &Path, cmd: &str, timeout: Duration) -> Result<(), String> {
    let mut c = Command::new("sh");
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let mut child = c
        .arg("-c")
        .arg(cmd)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let last = err.lines().last().unwrap_or("").to_string();
                return Err(format!(
                    "terminó con {s}: {}",
                    crate::checks::excerpt(&last, 150)
                ));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                kill_group(&mut child);
                return Err(format!("no terminó en {} s", timeout.as_secs()));
            }
        }
    }
}

/// True when checking `exercise` needs a started lab.
pub fn needs_lab(exercise: &Exercise) -> bool {
    exercise.setup.needs_lab()
        || exercise
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .any(|c| !matches!(c.kind(), Some("file" | "apache" | "command")))
}

/// `lab __check-worker`: checks the exercises in the workspace, one JSON line each.
pub fn worker_main(args: WorkerArgs) -> i32 {
    let netns = std::env::var_os("LAB_NETNS").is_some();
    let course = match &args.course {
        Some(d) => Course::from_dir(d),
        None => Course::load(),
    };
    let course = match course {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut out = match std::fs::File::create(&args.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", args.out.display());
            return 2;
        }
    };
    // Without a private network, runs that bind fixed ports (11211...) take turns.
    let turn_lock = if netns {
        None
    } else {
        std::fs::File::create(std::env::temp_dir().join("lab-check-ports.lock")).ok()
    };
    let original_settings = std::fs::read(args.workspace.join("lab.toml")).ok();
    for id in &args.exercises {
        let Some(exercise) = course.exercises.get(id) else {
            continue;
        };
        if let Some(s) = &original_settings {
            let _ = std::fs::write(args.workspace.join("lab.toml"), s);
        }
        let mut ws = match Workspace::open(&args.workspace) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let mut notes = Vec::new();
        let mut labs = Vec::new();
        let locked = needs_lab(exercise) && turn_lock.as_ref().is_some_and(|f| f.lock().is_ok());
        if needs_lab(exercise) {
            if let Err(e) = settings_for(&mut ws, &exercise.setup, netns) {
                notes.push(format!("lab.toml: {e}"));
            }
            match start_lab(&exe, &ws, "lab-start.log") {
                Ok(l) => labs.push(l),
                Err(e) => notes.push(e),
            }
            // Without its own lab, nothing is loaded or run: the ports may be someone else's.
            let started = !labs.is_empty();
            let base = ws.state_dir().join("extra");
            for port in exercise.setup.memcached.iter().filter(|_| started) {
                match extra_memcached(&exe, &base, *port) {
                    Ok(l) => labs.push(l),
                    Err(e) => notes.push(format!("memcached adicional en {port}: {e}")),
                }
            }
            for f in exercise.setup.memcached_load.iter().filter(|_| started) {
                let path = ws.root.join(f);
                if path.is_file() {
                    if let Err(e) = load_memcached(&ws, &path) {
                        notes.push(format!("no se pudo cargar {f} en memcached: {e}"));
                    }
                }
            }
            for c in exercise.setup.commands.iter().filter(|_| started) {
                // Half the exercise's time: the checks still get theirs.
                let limit = (args.timeout / 2).max(Duration::from_secs(5));
                if let Err(e) = setup_command(&ws.root, c, limit) {
                    notes.push(format!(
                        "preparación `{}`: {e}",
                        crate::checks::excerpt(c, 60)
                    ));
                }
            }
        }
        let report = {
            let (tx, rx) = std::sync::mpsc::channel();
            let (w, e) = (ws.clone(), exercise.clone());
            std::thread::spawn(move || {
                let target = if needs_http(&w, &e) {
                    Target::for_workspace(&w, true)
                } else {
                    Target::None
                };
                let mut r = check_exercise(&w, &e, &target);
                r.against_running_lab = false;
                let _ = tx.send(r);
            });
            match rx.recv_timeout(args.timeout) {
                Ok(r) => r,
                Err(_) => failed_report(
                    &ws,
                    exercise,
                    &format!("el ejercicio no terminó en {} s", args.timeout.as_secs()),
                ),
            }
        };
        drop(labs);
        if locked {
            if let Some(f) = &turn_lock {
                let _ = f.unlock();
            }
        }
        let line = WorkerLine {
            id: id.clone(),
            report,
            notes,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_may_not_leave_the_workspace() {
        let rel = Path::new("etc/apache2/sites-enabled/a.conf");
        assert!(symlink_allowed(rel, Path::new("../sites-available/a.conf")));
        assert!(!symlink_allowed(rel, Path::new("../../../../etc/passwd")));
        assert!(!symlink_allowed(rel, Path::new("/etc/passwd")));
        assert!(symlink_allowed(
            Path::new("venv/bin/python3"),
            Path::new("/usr/bin/python3")
        ));
        assert!(!symlink_allowed(
            Path::new("x"),
            Path::new("/usr/../etc/passwd")
        ));
    }

    #[test]
    fn requirements_are_plain_specs() {
        assert_eq!(
            parse_requirements("Flask==3.0.0\n# c\n\npymemcache>=4, <5\n").unwrap(),
            vec!["flask==3.0.0", "pymemcache>=4, <5"]
        );
        assert!(parse_requirements("-e /etc\n").is_err());
        assert!(parse_requirements("git+https://x/y\n").is_err());
        assert!(parse_requirements("flask @ file:///etc\n").is_err());
    }

    #[test]
    fn a_copy_leaves_out_state_and_links_out() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join(".lab")).unwrap();
        std::fs::create_dir_all(src.join("etc")).unwrap();
        std::fs::write(src.join(".lab/progress.db"), "x").unwrap();
        std::fs::write(src.join("etc/a.conf"), "hola").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("etc/passwd.conf")).unwrap();
        std::os::unix::fs::symlink("a.conf", src.join("etc/b.conf")).unwrap();
        let dest = tmp.path().join("dest");
        let notes = copy_workspace(&src, &dest, &Limits::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("etc/b.conf")).unwrap(),
            "hola"
        );
        assert!(!dest.join(".lab").exists());
        assert!(dest.join("etc/passwd.conf").symlink_metadata().is_err());
        assert!(notes[0].contains("/etc/passwd"), "{notes:?}");
        let small = Limits {
            max_copy_bytes: 2,
            ..Limits::default()
        };
        let err = copy_workspace(&src, &tmp.path().join("d2"), &small).unwrap_err();
        assert!(err.contains("ocupa más de"), "{err}");
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_cached_venv_written_through_a_hard_link_is_no_longer_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("venv");
        std::fs::create_dir_all(cache.join("lib")).unwrap();
        std::fs::write(cache.join("lib/flask.py"), "x = 1\n").unwrap();
        std::fs::write(cache.join(".lab-manifest"), manifest(&cache)).unwrap();
        assert!(cache_intact(&cache));
        // A copy made of hard links shares the files: writing one changes the cache.
        let copy = tmp.path().join("copia");
        assert!(Command::new("cp")
            .arg("-al")
            .arg(&cache)
            .arg(&copy)
            .status()
            .unwrap()
            .success());
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(copy.join("lib/flask.py"), "x = 2; y = 3\n").unwrap();
        assert!(!cache_intact(&cache));
    }
}
