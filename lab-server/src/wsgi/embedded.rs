//! Embedded mode: the application runs inside the lab process. A request without a body
//! runs on the thread that read it while no other thread is in Python (as in a daemon
//! worker, see [`super::inline`]); the others go to the pool's threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::Response;
use tokio::sync::mpsc;

use super::errorlog::ErrorLog;
use super::host::{self, WsgiContext};
use super::pool::PythonPool;
use super::python::{self, InputRx, InterpreterSettings, PyJob};
use super::{venv, Body};
use crate::config::ServerConfig;

/// Threads of the embedded pool (Apache's MPM threads would run it; the lab caps it).
pub const EMBEDDED_THREADS: usize = 16;

pub struct Embedded {
    pool: Mutex<PythonPool>,
    settings: InterpreterSettings,
    /// The modules the pool's threads load, shared with requests run inline.
    scripts: Arc<python::Scripts>,
    /// Requests may run on the thread that read them (off with `LAB_WSGI_INLINE=0`, and
    /// when no runtime was there to watch at start).
    inline: bool,
    /// Cleared on stop: the watching thread then ends.
    alive: Arc<AtomicBool>,
}

/// The interpreter settings `WSGIPythonHome`/`WSGIPythonPath` ask for.
pub fn settings(cfg: &ServerConfig) -> Result<InterpreterSettings, String> {
    let embedded = super::embedded_version();
    let venv = match &cfg.wsgi.python_home {
        Some((home, _)) => Some(venv::inspect(&home.path, embedded).map_err(|p| {
            let (msg, hint) = venv::describe(&p, &home.written, &home.path, embedded);
            format!("{msg}: {hint}")
        })?),
        None => None,
    };
    Ok(InterpreterSettings {
        venv,
        python_path: cfg
            .wsgi
            .python_path
            .iter()
            .map(|p| p.path.clone())
            .collect(),
        log: cfg.main.error_log.as_ref().map(|p| ErrorLog::file(&p.path)),
    })
}

impl Embedded {
    pub fn start(cfg: &ServerConfig) -> Result<Embedded, String> {
        let settings = settings(cfg)?;
        // Embedded mode's `apcu` cache: one for the lab process.
        let apcu = cfg.workspace.join("run/apcu-embedded.shm");
        if crate::scriptcache::apcu::create(&apcu).is_ok() {
            crate::scriptcache::apcu::use_file(&apcu);
        }
        python::init_interpreter(&settings)
            .map_err(|e| format!("no se pudo preparar el intérprete de Python: {e}"))?;
        let pool = PythonPool::start("wsgi", EMBEDDED_THREADS)
            .map_err(|e| format!("no se pudieron crear los hilos de Python: {e}"))?;
        let alive = Arc::new(AtomicBool::new(true));
        // A runtime thread in the application does not serve its connections meanwhile: the
        // watcher wakes another one when it stays there (see `inline::watch`).
        // With one runtime thread there is no other to take over: every request goes to
        // the pool then.
        let watched = tokio::runtime::Handle::try_current().is_ok_and(|rt| {
            let alive = Arc::clone(&alive);
            rt.metrics().num_workers() > 1
                && super::inline::watch(rt, move || alive.load(Ordering::Relaxed), false).is_ok()
        });
        Ok(Embedded {
            scripts: pool.scripts(),
            pool: Mutex::new(pool),
            settings,
            inline: watched && std::env::var_os("LAB_WSGI_INLINE").is_none_or(|v| v != "0"),
            alive,
        })
    }

    pub fn same_settings(&self, cfg: &ServerConfig) -> bool {
        settings(cfg).is_ok_and(|s| s == self.settings)
    }

    pub fn stop(&self) {
        self.alive.store(false, Ordering::Relaxed);
        if let Ok(mut p) = self.pool.lock() {
            p.stop();
        }
    }

    /// Serves one request; `input` is `None` for a request without a body.
    pub async fn handle(
        &self,
        environ: python::Environ,
        input: Option<InputRx>,
        ctx: &WsgiContext,
    ) -> Response<Body> {
        // Nobody else in Python: run it here, with no hand-off to a pool thread and no wait
        // for the interpreter lock (the response is collected, then written by this thread).
        // Not on a serving thread: no other thread could take over its connections while
        // it sits in Python (see `crate::cores`). No waiting for the turn here, as a daemon
        // worker does: these threads also serve every other site, and with a heavier
        // application (Flask) both of them ended up in Python, halving its rate.
        if self.inline
            && input.is_none()
            && !crate::cores::on_core()
            && super::inline::nobody_inside()
        {
            super::inline::keep_thread_state();
            let (input, output, queue) = super::inline::io();
            let job = job(environ, input, output, ctx, None, (true, true), ctx.log());
            return super::inline::run(
                &self.scripts,
                job,
                queue,
                ctx.default_type.as_deref(),
                false,
            );
        }
        let input = input.unwrap_or_else(|| mpsc::channel(1).1);
        let (tx, rx) = mpsc::channel(8);
        // Apache's MPM (event) runs several processes of several threads each.
        let job = job(
            environ,
            Box::new(input),
            Box::new(tx),
            ctx,
            None,
            (true, true),
            ctx.log(),
        );
        let submitted = self.pool.lock().map(|p| p.submit(job)).unwrap_or(false);
        if !submitted {
            return host::error_page(503);
        }
        host::response_from_channel(rx, ctx.default_type.as_deref(), false).await
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
    }
}

/// A job for the Python side from the request and its context.
pub fn job(
    environ: python::Environ,
    input: Box<dyn python::BodySource>,
    output: Box<dyn python::ResponseSink>,
    ctx: &WsgiContext,
    process_group: Option<&Arc<str>>,
    (multiprocess, multithread): (bool, bool),
    log: ErrorLog,
) -> PyJob {
    PyJob {
        environ,
        script: Arc::clone(&ctx.place.script),
        callable: Arc::clone(&ctx.place.callable),
        application_group: ctx.application_group(),
        process_group: process_group.cloned(),
        reloading: ctx.place.script_reloading,
        multiprocess,
        multithread,
        daemon: process_group.is_some_and(|g| !g.is_empty()),
        log,
        client: python::Peer::Addr(ctx.remote),
        stamp: ctx.script_mtime,
        input,
        output,
    }
}
