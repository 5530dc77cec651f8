//! The network side: accept loops on the `-l` addresses, one task per connection that
//! reads into a buffer, lets its [`Session`] answer every complete command and writes the
//! replies in one go (so pipelined clients get batched writes), the `-c` connection limit,
//! and the periodic reclaim of expired items.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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
                let id = shared.total_connections.fetch_add(1, Ordering::Relaxed) + 1;
                let curr = shared.curr_connections.fetch_add(1, Ordering::Relaxed) + 1;
                let shared = Arc::clone(&shared);
                conns.spawn(async move {
                    if curr > u64::from(shared.config.max_connections) {
                        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
                        let mut stream = stream;
                        let _ = stream.write_all(b"ERROR Too many open connections\r\n").await;
                    } else {
                        shared.log(2, || format!("<{id} new client connection from {peer}"));
                        serve(stream, Arc::clone(&shared), id).await;
                        shared.log(2, || format!("<{id} connection closed."));
                    }
                    shared.curr_connections.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
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
