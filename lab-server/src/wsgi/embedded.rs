//! Embedded mode: the application runs inside the lab process, on the pool's threads.

use std::sync::Mutex;

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
        Ok(Embedded {
            pool: Mutex::new(pool),
            settings,
        })
    }

    pub fn same_settings(&self, cfg: &ServerConfig) -> bool {
        settings(cfg).is_ok_and(|s| s == self.settings)
    }

    pub fn stop(&self) {
        if let Ok(mut p) = self.pool.lock() {
            p.stop();
        }
    }

    pub async fn handle(
        &self,
        environ: Vec<(String, String)>,
        input: InputRx,
        ctx: &WsgiContext,
    ) -> Response<Body> {
        let (tx, rx) = mpsc::channel(8);
        // Apache's MPM (event) runs several processes of several threads each.
        let job = job(
            environ,
            Box::new(input),
            Box::new(tx),
            ctx,
            "",
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

/// A job for the Python side from the request and its context.
pub fn job(
    environ: Vec<(String, String)>,
    input: Box<dyn python::BodySource>,
    output: Box<dyn python::ResponseSink>,
    ctx: &WsgiContext,
    process_group: &str,
    (multiprocess, multithread): (bool, bool),
    log: ErrorLog,
) -> PyJob {
    PyJob {
        environ,
        script: ctx.script.clone(),
        callable: ctx.callable.clone().unwrap_or_else(|| "application".into()),
        application_group: ctx.application_group(),
        process_group: process_group.to_string(),
        reloading: ctx.script_reloading,
        multiprocess,
        multithread,
        daemon: !process_group.is_empty(),
        log,
        client: ctx.remote.to_string(),
        stamp: ctx.script_mtime,
        input,
        output,
    }
}
