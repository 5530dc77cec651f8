//! Dedicated threads that run Python requests. A thread attaches to the interpreter once and
//! releases the lock while it waits for the next request.
//!
//! The lock passing between threads costs more than an application as small as most WSGI
//! ones: so a thread that finishes a request and finds another queued runs it at once,
//! without releasing the lock, and a new request wakes a sleeping thread only when no thread
//! is awake to take it. Another thread is woken when the awake ones stop moving for a couple
//! of milliseconds (a slow request, or one waiting for its client), so `threads=` requests
//! can still be in the application at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::Python;

use super::python::{self, PyJob, Scripts};

/// How long queued requests wait for the awake threads before a sleeping one takes one.
const STUCK: Duration = Duration::from_millis(2);

/// A fixed set of threads fed from one queue.
pub struct PythonPool {
    queue: Arc<Queue>,
    threads: Vec<JoinHandle<()>>,
    scripts: Arc<Scripts>,
}

struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    /// Threads of the pool running a request or about to take one (read without the lock).
    awake: AtomicUsize,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<PyJob>,
    closed: bool,
    /// A sleeping thread is timing the awake ones (only one does).
    sentinel: bool,
}

impl Queue {
    /// A queued request for a thread that is awake (holding the interpreter lock).
    fn try_pop(&self) -> Option<PyJob> {
        self.state.lock().ok()?.jobs.pop_front()
    }

    /// Sleeps until a request is for this thread; `None` once the pool stopped and its queue
    /// is empty. Called without the interpreter lock.
    fn wait_pop(&self) -> Option<PyJob> {
        let mut st = self.state.lock().ok()?;
        self.awake.fetch_sub(1, Ordering::SeqCst);
        loop {
            if st.jobs.is_empty() {
                if st.closed {
                    return None;
                }
                st = self.ready.wait(st).ok()?;
                continue;
            }
            if self.awake.load(Ordering::SeqCst) == 0 {
                break;
            }
            if st.sentinel {
                st = self.ready.wait(st).ok()?;
                continue;
            }
            // Requests wait while others are awake: take one if they stop moving.
            st.sentinel = true;
            let seen = super::inline::moves();
            let (next, _) = self.ready.wait_timeout(st, STUCK).ok()?;
            st = next;
            st.sentinel = false;
            if !st.jobs.is_empty() && super::inline::moves() == seen {
                break;
            }
        }
        self.awake.fetch_add(1, Ordering::SeqCst);
        let job = st.jobs.pop_front();
        if !st.jobs.is_empty() {
            // The next sentinel, if any, starts timing.
            self.ready.notify_one();
        }
        job
    }
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
        let threads = threads.max(1);
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            awake: AtomicUsize::new(threads),
        });
        let shared = Arc::clone(&scripts);
        let mut handles = Vec::new();
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let scripts = Arc::clone(&scripts);
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    // Attached for the thread's life (one thread state); the lock is released
                    // while waiting for the next request.
                    Python::attach(|py| loop {
                        let job = match queue.try_pop() {
                            Some(job) => job,
                            None => match py.detach(|| queue.wait_pop()) {
                                Some(job) => job,
                                None => return,
                            },
                        };
                        super::inline::in_python(|| python::run(py, &scripts, job));
                    })
                })?;
            handles.push(handle);
        }
        Ok(PythonPool {
            queue,
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
        let Ok(mut st) = self.queue.state.lock() else {
            return false;
        };
        if st.closed {
            return false;
        }
        st.jobs.push_back(job);
        // An awake thread takes it when it is done with what it runs (without passing the
        // interpreter lock); else wake one, or the sentinel so that it starts timing.
        if self.queue.awake.load(Ordering::SeqCst) == 0 || !st.sentinel {
            self.queue.ready.notify_one();
        }
        true
    }

    /// Stops taking requests; running ones finish on their own threads.
    pub fn stop(&mut self) {
        if let Ok(mut st) = self.queue.state.lock() {
            st.closed = true;
        }
        self.queue.ready.notify_all();
        // Detach the threads: a request stuck in application code must not block shutdown.
        self.threads.clear();
    }
}

impl Drop for PythonPool {
    fn drop(&mut self) {
        self.stop();
    }
}
