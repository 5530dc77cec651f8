//! The network side: accept loops on the `-l` addresses, one task per connection that
//! reads into a buffer, lets its [`Session`] answer every complete command and writes the
//! replies in one go (so pipelined clients get batched writes), the `-c` connection limit,
//! and the periodic reclaim of expired items.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::session::{Flow, Session, Shared};

/// How often expired items nobody asks for are looked for, and how many slots of each
/// shard one pass looks at.
const RECLAIM_EVERY: Duration = Duration::from_secs(1);
const RECLAIM_BUDGET: usize = 4096;

/// Serves memcached on `listeners` until `shutdown` completes; then closes the listeners
/// and every connection before returning.
pub async fn run(
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let mut tasks = JoinSet::new();
    for listener in listeners {
        tasks.spawn(accept_loop(listener, Arc::clone(&shared)));
    }
    let reclaim = Arc::clone(&shared);
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(RECLAIM_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            reclaim.store.reclaim(RECLAIM_BUDGET);
        }
    });
    shutdown.await;
    // Dropping the accept loops drops their connection sets, which aborts the connections.
    tasks.shutdown().await;
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                conns.spawn(connection(stream, peer, Arc::clone(&shared)));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// A new connection: counted, refused over `-c`, else served.
async fn connection(mut stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let id = shared.total_connections.fetch_add(1, Ordering::Relaxed) + 1;
    let curr = shared.curr_connections.fetch_add(1, Ordering::Relaxed) + 1;
    if curr > u64::from(shared.config.max_connections) {
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(b"ERROR Too many open connections\r\n")
            .await;
    } else {
        shared.log(2, || format!("<{id} new client connection from {peer}"));
        serve(stream, Arc::clone(&shared), id).await;
        shared.log(2, || format!("<{id} connection closed."));
    }
    shared.curr_connections.fetch_sub(1, Ordering::Relaxed);
}

/// Serves like [`run`], but as memcached does: one thread accepts and hands each new
/// connection to one of `threads` worker threads in turn, each with its own event loop (a
/// single-threaded tokio runtime), so a connection never moves between threads.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    done: Vec<oneshot::Receiver<()>>,
}

impl Workers {
    pub fn spawn(
        listeners: Vec<std::net::TcpListener>,
        shared: Arc<Shared>,
        threads: usize,
    ) -> Result<Workers, String> {
        let (shutdown, watch_rx) = watch::channel(false);
        let mut done = Vec::new();
        let mut queues = Vec::new();
        for i in 0..threads.max(1) {
            let (tx, rx) = mpsc::unbounded_channel::<(std::net::TcpStream, SocketAddr)>();
            queues.push(tx);
            let (done_tx, done_rx) = oneshot::channel();
            done.push(done_rx);
            let shared = Arc::clone(&shared);
            let stop = watch_rx.clone();
            thread(format!("memcached-{i}"), done_tx, async move {
                worker(rx, shared, stop).await;
            })?;
        }
        let (done_tx, done_rx) = oneshot::channel();
        done.push(done_rx);
        let stop = watch_rx;
        thread("memcached-accept".to_string(), done_tx, async move {
            let mut tasks = JoinSet::new();
            for l in listeners {
                let Ok(listener) = TcpListener::from_std(l) else {
                    continue;
                };
                tasks.spawn(dispatch(listener, queues.clone()));
            }
            let reclaim = Arc::clone(&shared);
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(RECLAIM_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    reclaim.store.reclaim(RECLAIM_BUDGET);
                }
            });
            let mut stop = stop;
            let _ = stop.wait_for(|s| *s).await;
            tasks.shutdown().await;
        })?;
        Ok(Workers { shutdown, done })
    }

    /// Stops accepting, closes every connection and waits (at most 5 s) for the threads.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for d in self.done {
            let _ = tokio::time::timeout(Duration::from_secs(5), d).await;
        }
    }
}

/// A thread running `task` on its own single-threaded runtime; `done` fires when it ends.
fn thread(
    name: String,
    done: oneshot::Sender<()>,
    task: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no se pudieron crear los hilos de memcached: {e}"))?;
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            runtime.block_on(task);
            let _ = done.send(());
        })
        .map(|_| ())
        .map_err(|e| format!("no se pudieron crear los hilos de memcached: {e}"))
}

/// Accepts on `listener` and hands connections to the workers in turn.
async fn dispatch(
    listener: TcpListener,
    queues: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
) {
    let mut next = 0;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(std_stream) = stream.into_std() else {
            continue;
        };
        let _ = queues[next % queues.len()].send((std_stream, peer));
        next += 1;
    }
}

/// A worker thread's loop: serve the connections it is handed until shutdown.
async fn worker(
    mut queue: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            handed = queue.recv() => {
                let Some((std_stream, peer)) = handed else { break };
                if let Ok(stream) = TcpStream::from_std(std_stream) {
                    conns.spawn(connection(stream, peer, Arc::clone(&shared)));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    conns.shutdown().await;
}

/// One connection: read, answer, write, until the client leaves or sends `quit`.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>, id: u64) {
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(Arc::clone(&shared), id);
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    loop {
        if input.capacity() - input.len() < 4096 {
            input.reserve(16 * 1024);
        }
        let n = match stream.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        shared.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        let flow = session.process(&mut input, &mut out);
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            shared
                .bytes_written
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            // Do not keep a huge buffer around after one big multi-get.
            if out.capacity() > 1024 * 1024 {
                out = Vec::with_capacity(16 * 1024);
            } else {
                out.clear();
            }
        }
        if flow == Flow::Close {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::clock::Clock;
    use crate::memcached::config::MemcachedConfig;
    use crate::memcached::store::{Store, StoreSettings};

    fn shared() -> Arc<Shared> {
        let config = MemcachedConfig::defaults(std::path::PathBuf::from("/dev/null"));
        let store = Store::new(
            StoreSettings {
                memory_limit: config.memory_limit,
                item_size_max: config.item_size_max,
                evictions: true,
                shards: 4,
            },
            Clock::new(),
        );
        Arc::new(Shared::new(store, config, None))
    }

    async fn roundtrip(addr: SocketAddr, send: &[u8], end: &[u8]) -> Vec<u8> {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(send).await.unwrap();
        let mut got = Vec::new();
        while !got.ends_with(end) {
            let mut buf = [0u8; 1024];
            let n = c.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[tokio::test]
    async fn run_serves_until_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(run(vec![listener], shared(), async {
            let _ = rx.await;
        }));
        let got = roundtrip(addr, b"set a 0 0 2\r\nhi\r\nget a\r\n", b"END\r\n").await;
        assert_eq!(got, b"STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\n");
        tx.send(()).unwrap();
        server.await.unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "still accepting after shutdown"
        );
    }

    #[tokio::test]
    async fn workers_share_one_store_and_stop() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let s = shared();
        let workers = Workers::spawn(vec![std_listener], Arc::clone(&s), 2).unwrap();
        // Consecutive connections land on different workers and see the same items.
        roundtrip(addr, b"set k 0 0 1\r\nx\r\n", b"STORED\r\n").await;
        for _ in 0..4 {
            let got = roundtrip(addr, b"get k\r\n", b"END\r\n").await;
            assert_eq!(got, b"VALUE k 0 1\r\nx\r\nEND\r\n");
        }
        assert_eq!(s.total_connections.load(Ordering::Relaxed), 5);
        workers.stop().await;
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "still accepting after stop"
        );
    }
}
