//! mod_cgi/mod_cgid: `ScriptAlias`, and `SetHandler`/`AddHandler cgi-script` under
//! `Options ExecCGI`. One process per request, started the way mod_cgid starts it: the
//! script itself is executed (the kernel reads its `#!` line), in its own directory, with
//! only the CGI meta-variables as its environment, in a process group of its own so that a
//! timeout ends everything it started.
//!
//! - the request body goes to stdin as it arrives (never buffered whole), chunked or not;
//! - stdout is parsed for the head (`Status:`, `Location:`, headers) and then streamed to the
//!   client as the script writes it; `nph-` scripts write the status line themselves;
//! - stderr goes, line by line, to the virtual host's error log, as mod_cgid writes it;
//! - no head, a malformed head, a script that cannot be executed or that stays silent for
//!   `CGIDScriptTimeout` (else `Timeout`) answer 500/504 with Apache's log lines.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::cgivars::{self, CgiRequest};
use super::{redirect_response, Call, Failure, InternalRedirect, Outcome};
use crate::config::model::{AliasKind, EnvOp, OptionSet};
use crate::fastcgi::cgi::{parse_head, HeadError, MAX_HEAD};
use crate::http::log::{ErrorLog, Level};
use crate::http::mapping::Walk;
use crate::http::request::RequestBody;
use crate::http::Body;

/// Most bytes a script may write after its head; beyond it the response is cut and logged.
pub const MAX_OUTPUT: u64 = 1 << 30;
/// How long a script may keep running after it closed its output.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Serves a CGI request.
pub async fn serve<'a>(call: Call<'a, '_>) -> Outcome<'a> {
    let Call {
        site,
        conn,
        parts,
        body,
        ctx,
        eff,
        file,
    } = call;
    let config = &*site.config;
    let path = file.path;
    let logs = site.logs(ctx.chosen);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let script_aliased = file.alias.is_some_and(|a| a.kind == AliasKind::Script);
    let fail =
        |status: u16, msg: String| Failure::logged(status, Level::Error, msg).from_module("cgid");

    if !eff.options.contains(OptionSet::EXEC_CGI) && !script_aliased {
        let f = fail(
            403,
            format!(
                "AH01262: stderr from {}: Options ExecCGI is off in this directory",
                path.display()
            ),
        );
        return Err((f, Some(eff)));
    }
    let meta = match file.walk {
        Some(Walk::Found { meta, .. }) => meta.clone(),
        _ => {
            let f = fail(
                404,
                format!(
                    "AH01264: stderr from {}: script not found or unable to stat",
                    path.display()
                ),
            );
            return Err((f, Some(eff)));
        }
    };
    if meta.is_dir() {
        let f = fail(
            403,
            format!(
                "AH01265: stderr from {}{}: attempt to invoke directory as script",
                path.display(),
                if ctx.url.ends_with('/') { "/" } else { "" }
            ),
        );
        return Err((f, Some(eff)));
    }
    if eff.accept_path_info() == Some(false) && !file.path_info.is_empty() {
        let f = fail(
            404,
            format!(
                "AH01266: stderr from {}: AcceptPathInfo off disallows user's path",
                path.display()
            ),
        );
        return Err((f, Some(eff)));
    }

    // The environment: SetEnvIf and REDIRECT_* first, then mod_env, then the CGI variables.
    let mut own: Vec<(String, String)> = ctx
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    own.sort();
    for op in eff.env_ops() {
        match op {
            EnvOp::Set(k, v) => {
                own.retain(|(n, _)| n != k);
                own.push((k.clone(), v.clone()));
            }
            EnvOp::Unset(k) => own.retain(|(n, _)| n != k),
            EnvOp::Pass(k) => {
                if let Ok(v) = std::env::var(k) {
                    own.retain(|(n, _)| n != k);
                    own.push((k.clone(), v));
                }
            }
        }
    }
    let host_header = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let canonical = ctx
        .host
        .use_canonical_name
        .or(site.config.main.use_canonical_name)
        .unwrap_or(false);
    let (server_name, server_port) = match host_header {
        // `UseCanonicalName On`: `ServerName` and its port, whatever `Host` says.
        _ if canonical => (
            site.server_name(ctx.host).to_string(),
            ctx.host
                .server_port
                .or(site.config.main.server_port)
                .unwrap_or(80),
        ),
        Some(h) => {
            let (n, p) = split_host(h);
            (n.to_string(), p.unwrap_or(conn.port))
        }
        None => (site.server_name(ctx.host).to_string(), conn.port),
    };
    let document_root = ctx
        .host
        .document_root
        .as_ref()
        .or(config.main.document_root.as_ref())
        .map(|d| d.path.clone())
        .unwrap_or_else(|| config.workspace.join("var/www/html"));
    let (context_prefix, context_root) = match file.alias {
        Some(a) if a.regex.is_none() => {
            let mut root = a.target.path.to_string_lossy().into_owned();
            if a.target.written.ends_with('/') && !root.ends_with('/') {
                root.push('/');
            }
            (a.url.clone(), PathBuf::from(root))
        }
        _ => (String::new(), document_root.clone()),
    };
    let script_name = &ctx.url[..ctx.url.len() - file.path_info.len().min(ctx.url.len())];
    let path_translated = (!file.path_info.is_empty())
        .then(|| crate::http::mapping::map(config, ctx.host, file.path_info).path);
    let software = site.server_header.to_str().unwrap_or("Apache").to_string();
    let admin = ctx
        .host
        .server_admin
        .clone()
        .or_else(|| config.main.server_admin.clone())
        .unwrap_or_else(|| "[no address given]".into());
    let signature = cgivars::signature(
        eff.server_signature(),
        &software,
        &admin,
        &server_name,
        server_port,
    );
    let request_uri_parts;
    let req_parts = match &ctx.request_uri {
        Some(original) => {
            let (mut p, ()) = http::Request::new(()).into_parts();
            p.method = parts.method.clone();
            p.version = parts.version;
            p.headers = parts.headers.clone();
            p.uri = parts.uri.clone();
            request_uri_parts = (p, original.clone());
            &request_uri_parts.0
        }
        None => parts,
    };
    let mut env = cgivars::build(&CgiRequest {
        parts: req_parts,
        client: conn.cgi_remote(),
        local: conn.local,
        server_port,
        server_name: &server_name,
        server_software: &software,
        server_admin: &admin,
        server_signature: &signature,
        scheme: "http",
        document_root: &document_root,
        context_prefix: &context_prefix,
        context_document_root: &context_root,
        script_filename: path,
        script_name,
        path_info: file.path_info,
        path_translated: path_translated.as_deref(),
        pass_auth: eff.cgi_pass_auth(),
        remote_user: None,
        auth_type: None,
        subprocess_env: &own,
    });
    if let Some(original) = &ctx.request_uri {
        if let Some((_, v)) = env.iter_mut().find(|(k, _)| k == "REQUEST_URI") {
            v.clone_from(original);
        }
    }

    let timeout = eff.cgid_script_timeout().unwrap_or(config.timeout);
    let args = isindex_args(parts.uri.query());
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    // Without the exec bit the script fails as Apache makes it fail, cache or not.
    let plan = if executable {
        crate::scriptcache::global().plan(path, &meta)
    } else {
        crate::scriptcache::Plan::Direct
    };
    let spawned = match plan {
        crate::scriptcache::Plan::Direct => spawn(path, &args, &env),
        crate::scriptcache::Plan::Bootstrap {
            program,
            args: interp_args,
            env: extra,
            ..
        } => {
            let mut argv: Vec<String> = interp_args;
            argv.push("-c".into());
            argv.push(crate::scriptcache::BOOTSTRAP.into());
            argv.push(path.to_string_lossy().into_owned());
            argv.extend(args.iter().cloned());
            env.extend(extra);
            spawn_program(Path::new(&program), path, &argv, &env)
        }
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(0);
            logs.error.log(
                "cgid",
                Level::Error,
                None,
                &format!(
                    "({errno}){}: AH01241: exec of '{}' failed",
                    strerror(&e),
                    path.display()
                ),
            );
            let f = fail(500, format!("End of script output before headers: {name}"));
            return Err((f, Some(eff)));
        }
    };
    let pgid = child.id();
    let mut stdout = child.stdout.take();
    // A body that turns out larger than LimitRequestBody (chunked: nothing declared it) or
    // that stops arriving (RequestReadTimeout body=) fails the request, as the read fails in
    // mod_cgid; the script gets what came before and is ended.
    // The failure comes with the script's stdin, still open: the script must be signalled
    // before it could see the end of its input (as in mod_cgid, where it is killed while it
    // still waits for the rest).
    let (body_tx, mut body_failed) =
        tokio::sync::oneshot::channel::<(BodyFailure, tokio::process::ChildStdin)>();
    let mut body_done = false;
    if let (Some(stdin), Some(body)) = (child.stdin.take(), body) {
        let limit = eff
            .limit_request_body()
            .unwrap_or(super::DEFAULT_LIMIT_REQUEST_BODY);
        tokio::spawn(pump_stdin(
            body,
            stdin,
            limit,
            Arc::clone(&conn.notes),
            body_tx,
        ));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(pump_stderr(stderr, logs.error.clone()));
    }

    // The head.
    let nph = name.starts_with("nph-");
    let mut buf = BytesMut::with_capacity(8192);
    let head = loop {
        let Some(out) = stdout.as_mut() else {
            break Err(HeadFailure::Eof);
        };
        let read = tokio::select! {
            r = tokio::time::timeout(timeout, out.read_buf(&mut buf)) => r,
            f = &mut body_failed, if !body_done => match f {
                Ok((f, stdin)) => break Err(HeadFailure::Body(f, stdin)),
                // The body went to the script whole (or there was none).
                Err(_) => {
                    body_done = true;
                    continue;
                }
            },
        };
        match read {
            Err(_) => break Err(HeadFailure::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => break Err(HeadFailure::Eof),
            Ok(Ok(_)) => {}
        }
        let parsed = if nph {
            parse_nph(&buf)
        } else {
            parse_head(&buf).map(|h| h.map(|(h, n)| (h, n, None)))
        };
        match parsed {
            // A head that ends, but beyond the limit, is refused all the same.
            Ok(Some((_, n, _))) if n > MAX_HEAD => break Err(HeadFailure::Bad(HeadError::TooLong)),
            Ok(Some(h)) => break Ok(h),
            Ok(None) => {}
            Err(e) => break Err(HeadFailure::Bad(e)),
        }
    };
    let (head, body_start, nph_version) = match head {
        Ok(h) => h,
        Err(HeadFailure::Body(failure, stdin)) => {
            // mod_cgid's cleanup: SIGTERM to the script, SIGKILL if it lingers.
            signal_group(pgid, libc::SIGTERM);
            drop(stdin);
            finish(child, pgid, Duration::from_secs(3));
            let (status, msg) = match failure {
                BodyFailure::TooLarge { read, limit } => {
                    logs.error.log(
                        "http",
                        Level::Info,
                        Some(conn.client),
                        &format!(
                            "AH01591: Read content length of {read} is larger than the configured limit of {limit}"
                        ),
                    );
                    (
                        413,
                        "(-102)Unknown error -102: AH01270: Error reading request entity data",
                    )
                }
                BodyFailure::TimedOut => {
                    logs.error.log(
                        "reqtimeout",
                        Level::Info,
                        Some(conn.client),
                        "AH01382: Request body read timeout",
                    );
                    (
                        408,
                        "(70007)The timeout specified has expired: AH01270: Error reading request entity data",
                    )
                }
            };
            return Err((fail(status, msg.to_string()), Some(eff)));
        }
        Err(failure) => {
            finish(child, pgid, Duration::ZERO);
            let (status, msg) = match failure {
                HeadFailure::Timeout => (
                    504,
                    format!("Script timed out before returning headers: {name}"),
                ),
                HeadFailure::Eof => (500, format!("End of script output before headers: {name}")),
                HeadFailure::Bad(HeadError::TooLong) => (
                    500,
                    format!(
                        "malformed header from script '{name}': cabecera de más de {MAX_HEAD} bytes"
                    ),
                ),
                HeadFailure::Body(..) => {
                    (500, format!("End of script output before headers: {name}"))
                }
                HeadFailure::Bad(HeadError::BadLine(l))
                | HeadFailure::Bad(HeadError::BadStatus(l)) => (
                    500,
                    format!(
                        "malformed header from script '{name}': Bad header: {}",
                        l.chars().take(30).collect::<String>()
                    ),
                ),
            };
            let f = fail(status, msg);
            return Err((f, Some(eff)));
        }
    };
    let explicit_status = nph || has_status_line(&buf[..body_start]);
    let location = head
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    if let Some(loc) = &location {
        if !explicit_status || head.status == 200 {
            if loc.starts_with('/') {
                // A local URL: the server serves it instead, as a GET (mod_cgi discards the
                // script's body and reads none of the request body).
                finish(child, pgid, EXIT_GRACE);
                let mut redirect_env: Vec<(String, String)> = env
                    .iter()
                    .map(|(k, v)| (format!("REDIRECT_{k}"), v.clone()))
                    .collect();
                redirect_env.push(("REDIRECT_STATUS".into(), "200".into()));
                redirect_env.push(("REDIRECT_URL".into(), ctx.url.clone()));
                ctx.redirect = Some(InternalRedirect {
                    target: loc.clone(),
                    keep_method: false,
                    env: redirect_env,
                    body: std::sync::Mutex::new(None),
                });
                let resp = Response::new(crate::http::empty());
                return Ok((resp, Some(eff)));
            }
            // An absolute URL without a status: 302 with the server's own page.
            finish(child, pgid, EXIT_GRACE);
            return match redirect_response(302, Some(loc.clone())) {
                Ok(mut resp) => {
                    copy_headers(&mut resp, &head.headers, true);
                    Ok((resp, Some(eff)))
                }
                Err((f, _)) => Err((f, Some(eff))),
            };
        }
    }

    // The body: what is already read, then the rest as it comes.
    let first = buf.split_off(body_start).freeze();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let log = logs.error.clone();
    let script = path.to_path_buf();
    tokio::spawn(async move {
        let mut sent = first.len() as u64;
        if !first.is_empty() && tx.send(Ok(first)).await.is_err() {
            finish(child, pgid, Duration::ZERO);
            return;
        }
        if let Some(mut out) = stdout.take() {
            let mut chunk = BytesMut::with_capacity(64 * 1024);
            loop {
                chunk.reserve(64 * 1024);
                match tokio::time::timeout(timeout, out.read_buf(&mut chunk)).await {
                    Err(_) => {
                        log.log(
                            "cgid",
                            Level::Error,
                            None,
                            &format!(
                                "AH01220: Timeout waiting for output from CGI script {}",
                                script.display()
                            ),
                        );
                        finish(child, pgid, Duration::ZERO);
                        return;
                    }
                    Ok(Err(_)) | Ok(Ok(0)) => break,
                    Ok(Ok(n)) => {
                        sent += n as u64;
                        if sent > MAX_OUTPUT {
                            log.log(
                                "cgid",
                                Level::Error,
                                None,
                                &format!(
                                    "la salida de {} supera el límite del laboratorio ({MAX_OUTPUT} bytes); se corta",
                                    script.display()
                                ),
                            );
                            finish(child, pgid, Duration::ZERO);
                            return;
                        }
                        if tx.send(Ok(chunk.split().freeze())).await.is_err() {
                            // The client went away.
                            finish(child, pgid, Duration::ZERO);
                            return;
                        }
                    }
                }
            }
        }
        finish(child, pgid, EXIT_GRACE);
    });
    let body = ChannelBody { rx }.boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::OK);
    if let Some(reason) = &head.reason {
        if resp.status().canonical_reason() != Some(reason.as_str()) {
            if let Ok(r) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes()) {
                resp.extensions_mut().insert(r);
            }
        }
    }
    if let Some(v) = nph_version {
        *resp.version_mut() = v;
    }
    copy_headers(&mut resp, &head.headers, false);
    if nph_version.is_none() {
        super::cgivars::chunked_in_apaches_place(&mut resp, parts);
    }
    Ok((resp, Some(eff)))
}

enum HeadFailure {
    Timeout,
    Eof,
    Bad(HeadError),
    /// With the script's stdin, closed only once the script was signalled.
    Body(BodyFailure, tokio::process::ChildStdin),
}

/// Why the copy of the request body to a script failed.
#[derive(Debug)]
enum BodyFailure {
    /// More than `limit` bytes (`read` with the piece that crossed it).
    TooLarge { read: u64, limit: u64 },
    /// mod_reqtimeout's `body=` time ran out.
    TimedOut,
}

/// Starts the script in its own directory and process group.
fn spawn(path: &Path, args: &[String], env: &[(String, String)]) -> std::io::Result<Script> {
    spawn_program(path, path, args, env)
}

/// A running script: the supervising process the lab spawned (see
/// [`crate::util::supervised`]). Dropped before it was seen to end, it asks the supervisor to
/// end the script and everything the script started.
struct Script(tokio::process::Child);

impl std::ops::Deref for Script {
    type Target = tokio::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Script {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Script {
    /// Asks the supervisor to end everything below it (while it has not been reaped, so
    /// its pid is still its own).
    fn clean_up(&self) {
        if let Some(pid) = self.0.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill only sends a signal to the process this handler spawned and has
            // not reaped yet.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, crate::util::CLEAN_UP);
            }
        }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// Starts `program` for `script` (the script itself, or its interpreter with the script
/// cache's bootstrap).
/// A CGI variable's value as the script gets it: the paths decoded from the URL carry their
/// bytes as sent (`/caf%E9` is the latin-1 byte `\xe9`, as mod_cgid passes it), not the
/// lab's private stand-ins for bytes that are not UTF-8.
fn env_value<'a>(name: &str, value: &'a str) -> std::borrow::Cow<'a, std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    if !super::cgivars::is_path_var(name) {
        return std::borrow::Cow::Borrowed(value.as_ref());
    }
    match crate::http::urlpath::raw_bytes(value) {
        std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(value.as_ref()),
        std::borrow::Cow::Owned(b) => {
            std::borrow::Cow::Owned(std::ffi::OsStr::from_bytes(&b).to_owned())
        }
    }
}

fn spawn_program(
    program: &Path,
    path: &Path,
    args: &[String],
    env: &[(String, String)],
) -> std::io::Result<Script> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), env_value(k, v))))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        // Dropped before it ended (the client left, the lab stops): see `Script`.
        .kill_on_drop(false);
    // Under a supervising process: nothing the script starts outlives the lab.
    crate::util::supervised(&mut cmd);
    if let Some(dir) = path.parent() {
        cmd.current_dir(dir);
    }
    cmd.spawn().map(Script)
}

/// Lets the script end on its own for `grace`, then ends its whole process group, and
/// reaps it (no zombie is left behind).
fn finish(mut child: Script, pgid: Option<u32>, grace: Duration) {
    tokio::spawn(async move {
        if !grace.is_zero() && tokio::time::timeout(grace, child.wait()).await.is_ok() {
            kill_group(pgid);
            return;
        }
        // The supervisor ends the script's whole tree (even children in sessions of their
        // own), then the group goes.
        child.clean_up();
        let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
        kill_group(pgid);
        let _ = child.kill().await;
        let _ = child.wait().await;
    });
}

fn kill_group(pgid: Option<u32>) {
    signal_group(pgid, libc::SIGKILL);
}

fn signal_group(pgid: Option<u32>, signal: libc::c_int) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        if pgid > 1 {
            // SAFETY: killpg only sends a signal to the group this handler created.
            #[allow(unsafe_code)]
            unsafe {
                libc::killpg(pgid, signal);
            }
        }
    }
}

/// The request body to the script's stdin, frame by frame; a script that stops reading
/// just ends the copy. A body over `limit` (`0`: none) stops before the piece that crosses
/// it, and that or a body that timed out is reported on `failed`.
async fn pump_stdin(
    mut body: RequestBody,
    mut stdin: tokio::process::ChildStdin,
    limit: u64,
    notes: Arc<crate::http::wire::Notes>,
    failed: tokio::sync::oneshot::Sender<(BodyFailure, tokio::process::ChildStdin)>,
) {
    let mut read = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            if notes.body_timed_out() {
                let _ = failed.send((BodyFailure::TimedOut, stdin));
                return;
            }
            break;
        };
        if let Ok(data) = frame.into_data() {
            read += data.len() as u64;
            if limit > 0 && read > limit {
                let _ = failed.send((BodyFailure::TooLarge { read, limit }, stdin));
                return;
            }
            if stdin.write_all(&data).await.is_err() {
                break;
            }
        }
    }
    let _ = stdin.shutdown().await;
}

/// Each line the script writes on stderr goes to the error log as it is (mod_cgid hands the
/// script the log file itself as its stderr).
async fn pump_stderr(stderr: tokio::process::ChildStderr, log: ErrorLog) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => log.file.line(&line),
            Ok(None) => break,
            Err(_) => {
                // Not UTF-8: read on as bytes.
                continue;
            }
        }
    }
}

/// An NPH head: `HTTP/1.x NNN reason`, then headers.
#[allow(clippy::type_complexity)]
fn parse_nph(
    data: &[u8],
) -> Result<Option<(crate::fastcgi::cgi::CgiHead, usize, Option<http::Version>)>, HeadError> {
    let Some(eol) = data.iter().position(|&b| b == b'\n') else {
        return if data.len() > MAX_HEAD {
            Err(HeadError::TooLong)
        } else {
            Ok(None)
        };
    };
    let line = String::from_utf8_lossy(&data[..eol]);
    let line = line.trim_end_matches('\r');
    let mut words = line.splitn(3, ' ');
    let version = match words.next() {
        Some("HTTP/1.0") => http::Version::HTTP_10,
        Some(v) if v.starts_with("HTTP/") => http::Version::HTTP_11,
        _ => return Err(HeadError::BadLine(line.to_string())),
    };
    let status: u16 = words
        .next()
        .and_then(|c| c.parse().ok())
        .filter(|c| (100..=999).contains(c))
        .ok_or_else(|| HeadError::BadStatus(line.to_string()))?;
    let reason = words.next().map(str::to_string);
    let rest = &data[eol + 1..];
    // A status line alone followed by the blank line.
    let parsed = if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
        let skip = if rest.starts_with(b"\r\n") { 2 } else { 1 };
        Some((
            crate::fastcgi::cgi::CgiHead {
                status,
                reason: None,
                headers: Vec::new(),
            },
            skip,
        ))
    } else {
        parse_head(rest)?
    };
    Ok(parsed.map(|(mut head, n)| {
        head.status = status;
        head.reason = reason;
        (head, eol + 1 + n, Some(version))
    }))
}

fn has_status_line(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .any(|l| l.len() >= 7 && l[..7].eq_ignore_ascii_case(b"status:"))
}

/// The script's headers onto the response. Hop-by-hop and framing headers are the server's.
/// `Set-Cookie` lines go after the others, as Apache's `ap_scan_script_header_err` keeps
/// them apart (in `err_headers_out`) and sends them after the rest of the script's head.
fn copy_headers(resp: &mut Response<Body>, headers: &[(String, Bytes)], skip_entity: bool) {
    let (cookies, rest): (Vec<_>, Vec<_>) = headers
        .iter()
        .partition(|(name, _)| name.eq_ignore_ascii_case("set-cookie"));
    for (name, value) in rest.into_iter().chain(cookies) {
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive" | "status"
        ) || (skip_entity && (lower == "content-type" || lower == "location"))
        {
            continue;
        }
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(value.clone()),
        ) else {
            continue;
        };
        resp.headers_mut().append(n, v);
    }
}

/// `Host: name:port` -> (name, port).
fn split_host(h: &str) -> (&str, Option<u16>) {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        if let Some((name, tail)) = rest.split_once(']') {
            return (name, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match h.rsplit_once(':') {
        Some((n, p)) if p.chars().all(|c| c.is_ascii_digit()) => (n, p.parse().ok()),
        _ => (h, None),
    }
}

/// A query without `=` is passed as command-line arguments (the old ISINDEX convention).
fn isindex_args(query: Option<&str>) -> Vec<String> {
    match query {
        Some(q) if !q.is_empty() && !q.contains('=') => q
            .split('+')
            .map(|a| {
                percent_encoding::percent_decode_str(a)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    // "Permission denied (os error 13)" -> "Permission denied"
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A response body fed by the task that reads the script's stdout.
struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Where the script for `path` would run from, for `lab explain`: its `#!` interpreter and
/// whether it can be executed.
pub fn describe_script(path: &Path) -> ScriptFacts {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok();
    let executable = meta
        .as_ref()
        .is_some_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    let mut first = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        use std::io::BufRead;
        let _ = std::io::BufReader::new(f).read_line(&mut first);
    }
    let interpreter = first
        .strip_prefix("#!")
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    let interpreter_exists = interpreter.as_ref().map(|l| {
        let prog = l.split_whitespace().next().unwrap_or("");
        Path::new(prog).is_file()
    });
    ScriptFacts {
        exists: meta.is_some(),
        executable,
        interpreter,
        interpreter_exists,
    }
}

/// What `lab explain` says about a CGI script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFacts {
    pub exists: bool,
    pub executable: bool,
    /// The `#!` line without `#!`.
    pub interpreter: Option<String>,
    /// Whether the interpreter's program exists on this machine.
    pub interpreter_exists: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nph_heads_keep_their_status_line() {
        let (head, n, v) = parse_nph(b"HTTP/1.0 201 Creado\r\nX-A: b\r\n\r\ncuerpo")
            .unwrap()
            .unwrap();
        assert_eq!(head.status, 201);
        assert_eq!(head.reason.as_deref(), Some("Creado"));
        assert_eq!(v, Some(http::Version::HTTP_10));
        assert_eq!(n, 31);
        assert!(parse_nph(b"hola\r\n\r\n").is_err());
    }

    #[test]
    fn hosts_split_and_isindex_queries_become_arguments() {
        assert_eq!(split_host("a.localhost:8080"), ("a.localhost", Some(8080)));
        assert_eq!(split_host("[::1]:81"), ("::1", Some(81)));
        assert_eq!(split_host("a"), ("a", None));
        assert_eq!(
            isindex_args(Some("uno+dos%20tres")),
            vec!["uno", "dos tres"]
        );
        assert!(isindex_args(Some("a=1")).is_empty());
    }

    #[test]
    fn explicit_status_is_seen() {
        assert!(has_status_line(b"Content-Type: x\nstatus: 302\n"));
        assert!(!has_status_line(b"Location: /x\n"));
    }
}
