//! Thread-per-core serving: the lab's connections run on a few threads, one per core, each
//! with a single-threaded runtime of its own.
//!
//! A connection, once accepted, stays on one thread for its whole life: its reads, its
//! handler, the backend connections it borrows (kept per thread, see
//! [`crate::fastcgi::pool`]) and its writes. Nothing wakes another thread on the way, which
//! a work-stealing runtime does several times per request (a woken task lands on a parked
//! thread, that thread is unparked with a futex, and so on); on two cores shared with the
//! clients that cost a fifth of the server's time. It is the shape of nginx's workers and of
//! actix-web's: the accept loops stay where they are and hand each new connection to the
//! thread with the fewest open ones.
//!
//! The roles opt in through [`spawn_connection`]; when [`start`] was never called (the
//! default, see below; a test that starts a role on its own runtime; a daemon-mode worker) a
//! connection is spawned on the current runtime, as before.
//!
//! `lab start` calls [`start`] only with `LAB_CORES=1`. Measured on two cores that the load
//! generator shares, it did not pay: php-fpm requests cost the same CPU either way, and cache
//! hits through the proxy about 10% more, as both serving threads and the client were busy at
//! once on two cores where the work-stealing runtime lets one thread take all connections
//! while the other sleeps.
//!
//! A thread here never blocks on something slow: WSGI applications in embedded mode run on
//! the Python pool's threads, not inline (see [`on_core`]), since no other thread could
//! take over the connections of a core thread that sits in Python.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::net::TcpStream;
use tokio::runtime::Handle;

/// The serving threads of this process.
struct Cores {
    threads: Vec<Core>,
    /// Where the search for the least loaded thread starts next (ties go round).
    next: AtomicUsize,
}

struct Core {
    handle: Handle,
    /// Connections open on this thread.
    open: AtomicUsize,
}

static CORES: OnceLock<Cores> = OnceLock::new();

thread_local! {
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Starts `n` serving threads (once per process; later calls only report whether they run).
pub fn start(n: usize) -> Result<(), String> {
    if CORES.get().is_some() {
        return Ok(());
    }
    let _ = CORES.set(Cores::new(n)?);
    Ok(())
}

impl Cores {
    fn new(n: usize) -> Result<Cores, String> {
        let mut threads = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .on_thread_park(crate::http::log::on_park)
                .enable_all()
                .build()
                .map_err(|e| format!("no se pudo crear el hilo de servicio {i}: {e}"))?;
            let handle = rt.handle().clone();
            std::thread::Builder::new()
                .name(format!("lab-core-{i}"))
                .spawn(move || {
                    CURRENT.with(|c| c.set(Some(i)));
                    // The thread serves what it is handed until the process ends.
                    rt.block_on(std::future::pending::<()>());
                })
                .map_err(|e| format!("no se pudo crear el hilo de servicio {i}: {e}"))?;
            threads.push(Core {
                handle,
                open: AtomicUsize::new(0),
            });
        }
        Ok(Cores {
            threads,
            next: AtomicUsize::new(0),
        })
    }
}

/// How many serving threads run (0: connections stay on the runtime that accepted them).
pub fn count() -> usize {
    CORES.get().map_or(0, |c| c.threads.len())
}

/// The serving thread this code runs on, if it runs on one.
pub fn current() -> Option<usize> {
    CURRENT.with(Cell::get)
}

/// Whether this thread is a serving thread (nothing slow may run on it).
pub fn on_core() -> bool {
    current().is_some()
}

/// Runs `serve` for an accepted connection on the serving thread with the fewest open
/// connections, or on the current runtime when there are no serving threads.
pub fn spawn_connection<F, Fut>(stream: TcpStream, serve: F)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match CORES.get() {
        Some(cores) => cores.spawn(stream, serve),
        None => {
            tokio::spawn(async move { serve(stream).await });
        }
    }
}

/// [`spawn_connection`] for a connection that is not registered with any runtime yet (one
/// handed back by another process).
pub fn spawn_std_connection<F, Fut>(stream: std::net::TcpStream, serve: F)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match CORES.get() {
        Some(cores) => cores.spawn_std(stream, serve),
        None => {
            tokio::spawn(async move {
                if let Ok(s) = TcpStream::from_std(stream) {
                    serve(s).await;
                }
            });
        }
    }
}

impl Cores {
    fn spawn<F, Fut>(&'static self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // The socket leaves this runtime's poller and joins the chosen thread's.
        if let Ok(std_stream) = stream.into_std() {
            self.spawn_std(std_stream, serve);
        }
    }

    fn spawn_std<F, Fut>(&'static self, stream: std::net::TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let i = self.pick();
        let core = &self.threads[i];
        core.open.fetch_add(1, Ordering::Relaxed);
        core.handle.spawn(async move {
            let _open = Open(&self.threads[i].open);
            if let Ok(s) = TcpStream::from_std(stream) {
                serve(s).await;
            }
        });
    }
}

/// Counts a connection as open on its thread until dropped (also when its task is dropped).
struct Open(&'static AtomicUsize);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Cores {
    /// The thread with the fewest open connections; among equals, the next in turn.
    fn pick(&self) -> usize {
        let n = self.threads.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = start;
        let mut least = usize::MAX;
        for k in 0..n {
            let i = (start + k) % n;
            let open = self.threads[i].open.load(Ordering::Relaxed);
            if open < least {
                least = open;
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn connections_run_on_serving_threads_and_spread() {
        // A set of its own: the process-wide one would change how other tests' roles run.
        let cores: &'static Cores = Box::leak(Box::new(Cores::new(2).unwrap()));
        assert_eq!(cores.threads.len(), 2);
        assert!(!on_core());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    cores.spawn(s, |mut s| async move {
                        let mut b = [0u8; 1];
                        while s.read_exact(&mut b).await.is_ok() {
                            let which = current().map_or(b'x', |i| b'0' + i as u8);
                            if s.write_all(&[which]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let mut clients = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..4 {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let mut first = [0u8; 1];
                c.write_all(b"?").await.unwrap();
                c.read_exact(&mut first).await.unwrap();
                // A connection stays on its thread.
                for _ in 0..3 {
                    let mut again = [0u8; 1];
                    c.write_all(b"?").await.unwrap();
                    c.read_exact(&mut again).await.unwrap();
                    assert_eq!(again, first);
                }
                seen.insert(first[0]);
                clients.push(c);
            }
            // Four open connections over two threads: both got some, none ran elsewhere.
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![b'0', b'1']);
            let open = |c: &Cores| {
                c.threads
                    .iter()
                    .map(|t| t.open.load(Ordering::Relaxed))
                    .sum::<usize>()
            };
            assert_eq!(open(cores), 4);
            drop(clients);
            for _ in 0..200 {
                if open(cores) == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(open(cores), 0, "closed connections still counted");
        });
    }
}
