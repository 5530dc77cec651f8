//! `return (pipe)`: after the request is sent to the backend, the client connection and the
//! backend connection are joined and bytes flow both ways until either side closes, as
//! Varnish does (the backend's answer is not parsed, later requests on the connection are not
//! seen by VCL).
//!
//! hyper owns the client connection while it serves requests. The pipe handler connects to
//! the backend, sends the request head and body, leaves the backend socket in the
//! connection's [`Tunnel`] and tells [`ClientIo`] to swallow what hyper writes next (the
//! placeholder answer that ends hyper's connection). The connection task then takes the raw
//! socket back with hyper's `into_parts`, forwards the bytes hyper had read ahead (pipelined
//! requests) and copies both ways.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::body::ProxyBody;
use super::vcl::Msg;

/// Shared between a client connection's IO and its request handler.
#[derive(Default)]
pub struct Tunnel {
    /// Set by the pipe handler: hyper's writes go nowhere from now on.
    swallow: AtomicBool,
    /// The backend connection to join with the client once hyper lets go of it.
    backend: Mutex<Option<TcpStream>>,
}

impl Tunnel {
    /// Hands the backend connection over; the client connection becomes a tunnel.
    pub fn open(&self, backend: TcpStream) {
        *self.backend.lock().unwrap_or_else(|p| p.into_inner()) = Some(backend);
        self.swallow.store(true, SeqCst);
    }

    pub fn take(&self) -> Option<TcpStream> {
        self.backend
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// The client socket as hyper sees it.
pub struct ClientIo {
    pub inner: TcpStream,
    pub tunnel: Arc<Tunnel>,
    /// Bytes already read from the socket (by the proxy's own connection loop before it
    /// handed the connection to hyper), read before the socket.
    pub prefix: Bytes,
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.prefix.is_empty() {
            let n = me.prefix.len().min(buf.remaining());
            buf.put_slice(&me.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.tunnel.swallow.load(SeqCst) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut me.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.tunnel.swallow.load(SeqCst) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut me.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.tunnel.swallow.load(SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.tunnel.swallow.load(SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_shutdown(cx)
    }
}

/// The request head as Varnish writes it to a piped backend.
fn head_bytes(bereq: &Msg) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(bereq.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(bereq.url.as_bytes());
    out.push(b' ');
    out.extend_from_slice(bereq.proto.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (n, v) in &bereq.headers {
        // Names as the client spelled them, as Varnish sends them (hyper lowers them: the
        // requests it reads come with Title-Case names instead).
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Connects to `addr`, writes `bereq` and the client's body (as is with a Content-Length,
/// re-chunked without one), and returns the backend socket for the tunnel.
pub async fn send(
    addr: &str,
    connect_timeout: std::time::Duration,
    mut bereq: Msg,
    body: ProxyBody,
) -> Result<TcpStream, String> {
    let mut be = match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("no se pudo conectar con el backend ({addr}): {e}")),
        Err(_) => {
            return Err(format!(
                "el backend ({addr}) no aceptó la conexión en {connect_timeout:?}"
            ))
        }
    };
    let _ = be.set_nodelay(true);
    let sized = bereq.has("content-length");
    let mut body = body;
    let chunked = !sized && !http_body::Body::is_end_stream(&body);
    if chunked {
        bereq.set("Transfer-Encoding", "chunked");
    }
    let err = |e: io::Error| format!("el backend ({addr}) cortó la conexión: {e}");
    be.write_all(&head_bytes(&bereq)).await.map_err(err)?;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err("el cliente cortó el cuerpo de la petición".into());
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if chunked {
            be.write_all(format!("{:x}\r\n", data.len()).as_bytes())
                .await
                .map_err(err)?;
            be.write_all(&data).await.map_err(err)?;
            be.write_all(b"\r\n").await.map_err(err)?;
        } else {
            be.write_all(&data).await.map_err(err)?;
        }
    }
    if chunked {
        be.write_all(b"0\r\n\r\n").await.map_err(err)?;
    }
    Ok(be)
}

/// Joins the client and the backend: `early` (what the client sent after the piped
/// request, already read) goes first, then bytes both ways until either side closes.
pub async fn join(mut client: TcpStream, mut backend: TcpStream, early: Bytes) {
    if !early.is_empty() && backend.write_all(&early).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
    let _ = client.shutdown().await;
    let _ = backend.shutdown().await;
}
