//! Dedicated threads that run Python requests. A thread attaches to the interpreter only
//! for the request it runs; while it waits for the next request it holds nothing.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use pyo3::Python;

use super::python::{self, PyJob, Scripts};

/// A fixed set of threads fed from one queue.
pub struct PythonPool {
    tx: Option<mpsc::Sender<PyJob>>,
    threads: Vec<JoinHandle<()>>,
    scripts: Arc<Scripts>,
}

impl PythonPool {
    /// Starts `threads` threads (the interpreter must be initialized already).
    pub fn start(name: &str, threads: usize) -> std::io::Result<PythonPool> {
        PythonPool::start_with(name, threads, Arc::new(Scripts::new()))
    }

    /// [`PythonPool::start`] sharing the scripts already loaded elsewhere in the process
    /// (the same module objects whichever thread runs a request).
    pub fn start_with(
        name: &str,
        threads: usize,
        scripts: Arc<Scripts>,
    ) -> std::io::Result<PythonPool> {
        let (tx, rx) = mpsc::channel::<PyJob>();
        let rx = Arc::new(Mutex::new(rx));
        let shared = Arc::clone(&scripts);
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let scripts = Arc::clone(&scripts);
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    // Attached for the thread's life (one thread state); the lock is released
                    // while waiting for the next request.
                    Python::attach(|py| loop {
                        let job = py.detach(|| rx.lock().ok().and_then(|rx| rx.recv().ok()));
                        let Some(job) = job else { return };
                        super::inline::in_python(|| python::run(py, &scripts, job));
                    })
                })?;
            handles.push(handle);
        }
        Ok(PythonPool {
            tx: Some(tx),
            threads: handles,
            scripts: shared,
        })
    }

    /// The scripts this pool's threads load.
    pub fn scripts(&self) -> Arc<Scripts> {
        Arc::clone(&self.scripts)
    }

    /// Queues a request; false when the pool was stopped.
    pub fn submit(&self, job: PyJob) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }

    /// Stops taking requests; running ones finish on their own threads.
    pub fn stop(&mut self) {
        self.tx = None;
        // Detach the threads: a request stuck in application code must not block shutdown.
        self.threads.clear();
    }
}

impl Drop for PythonPool {
    fn drop(&mut self) {
        self.stop();
    }
}
