//! The client side of one FastCGI request (what `mod_proxy_fcgi` does): BEGIN_REQUEST,
//! PARAMS, the request body streamed as STDIN while STDOUT/STDERR are read back.
//!
//! A request without a body goes out in a single write and its answer is read straight from
//! the connection by whoever polls the [`Exchange`] (no extra task); only a request body is
//! pumped by a task of its own, so it can flow while the response is read.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::record::{self, RecordType};

/// What the application sent back.
#[derive(Debug)]
pub enum Event {
    Stdout(Bytes),
    Stderr(Bytes),
    /// END_REQUEST: the response is complete.
    End {
        app_status: u32,
        protocol_status: u8,
    },
}

/// Called with the connection when a keep-alive request ended cleanly, to reuse it.
pub type Recycle<S> = Box<dyn FnOnce(S) + Send + Sync>;

/// [`Recycle`] that also takes what was read after END_REQUEST (the start of the answer to
/// a request written behind this one on the same connection).
pub type RecycleRest<S> = Box<dyn FnOnce(S, BytesMut) + Send + Sync>;

/// One request in flight: poll it for [`Event`]s.
pub struct Exchange<S> {
    rd: Option<Reader<S>>,
    recycle: Option<Recycle<S>>,
    recycle_rest: Option<RecycleRest<S>>,
    buf: BytesMut,
    pump: Option<JoinHandle<()>>,
    finished: bool,
}

/// Where the answer is read from: the whole connection (a request without a body, written
/// in one go before reading: no lock between halves), or the read half while a task pumps
/// the body into the write half (which it keeps open until the response is read: a
/// half-close may look like an abort).
enum Reader<S> {
    Whole(S),
    Half(ReadHalf<S>),
}

/// Sends a request (id 1). `body`: `None` for a request without a body; otherwise the
/// chunks, sent as they come. With `recycle` (only for requests without a body), the request
/// asks for FCGI_KEEP_CONN and the connection is handed to `recycle` once the response is
/// complete; otherwise the application closes it.
pub async fn begin<S>(
    stream: S,
    params: &[(Vec<u8>, Vec<u8>)],
    body: Option<mpsc::Receiver<Result<Bytes, String>>>,
    recycle: Option<Recycle<S>>,
) -> std::io::Result<Exchange<S>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    begin_with(stream, params, body, recycle).await
}

/// [`begin`] for pairs of any byte containers (borrowed ones, say: nothing copied before
/// they are encoded).
pub async fn begin_with<S, K, V>(
    stream: S,
    params: &[(K, V)],
    body: Option<mpsc::Receiver<Result<Bytes, String>>>,
    recycle: Option<Recycle<S>>,
) -> std::io::Result<Exchange<S>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let recycle = if body.is_none() { recycle } else { None };
    let flags = if recycle.is_some() {
        record::KEEP_CONN
    } else {
        0
    };
    let mut buf = begin_and_params(params, flags);
    let (rd, pump) = match body {
        None => {
            record::encode(&mut buf, RecordType::Stdin, 1, b"");
            let mut stream = stream;
            stream.write_all(&buf).await?;
            (Reader::Whole(stream), None)
        }
        Some(mut body) => {
            let (rd, mut wr): (ReadHalf<S>, WriteHalf<S>) = tokio::io::split(stream);
            wr.write_all(&buf).await?;
            let pump = tokio::spawn(async move {
                let mut buf = BytesMut::new();
                while let Some(chunk) = body.recv().await {
                    buf.clear();
                    match chunk {
                        Ok(chunk) => record::encode_stream(&mut buf, RecordType::Stdin, 1, &chunk),
                        Err(_) => {
                            // The client's body failed: abort rather than end it as complete.
                            record::encode(&mut buf, RecordType::AbortRequest, 1, b"");
                            let _ = wr.write_all(&buf).await;
                            std::future::pending::<()>().await;
                        }
                    }
                    if wr.write_all(&buf).await.is_err() {
                        return;
                    }
                }
                buf.clear();
                record::encode(&mut buf, RecordType::Stdin, 1, b"");
                if wr.write_all(&buf).await.is_err() {
                    return;
                }
                std::future::pending::<()>().await;
            });
            (Reader::Half(rd), Some(pump))
        }
    };
    Ok(Exchange {
        rd: Some(rd),
        recycle,
        recycle_rest: None,
        buf: BytesMut::new(),
        pump,
        finished: false,
    })
}

/// Reads what the connection has straight into the free space at the end of `buf` (no
/// zeroed scratch buffer, no copy); `Ok(0)` at the end of the stream.
#[allow(unsafe_code)]
fn read_into<S: AsyncRead + Unpin>(
    rd: &mut Reader<S>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<std::io::Result<usize>> {
    buf.reserve(16 * 1024);
    let mut rb = ReadBuf::uninit(buf.spare_capacity_mut());
    let polled = match rd {
        Reader::Whole(s) => Pin::new(s).poll_read(cx, &mut rb),
        Reader::Half(h) => Pin::new(h).poll_read(cx, &mut rb),
    };
    match polled {
        Poll::Ready(Ok(())) => {
            let n = rb.filled().len();
            // SAFETY: the reader initialised (filled) the first `n` bytes of the spare
            // capacity, which follow the buffer's current contents.
            unsafe { buf.set_len(buf.len() + n) };
            Poll::Ready(Ok(n))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// The bytes of a request without a body (BEGIN_REQUEST, PARAMS and the empty STDIN), for
/// [`sent`]: whoever gets a connection for it can write it at once.
pub fn encode_bodiless<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    params: &[(K, V)],
    keep_conn: bool,
) -> Bytes {
    let flags = if keep_conn { record::KEEP_CONN } else { 0 };
    let mut buf = begin_and_params(params, flags);
    record::encode(&mut buf, RecordType::Stdin, 1, b"");
    buf.freeze()
}

/// A request's BEGIN_REQUEST (a responder, with `flags`) and its whole PARAMS stream.
fn begin_and_params<K: AsRef<[u8]>, V: AsRef<[u8]>>(params: &[(K, V)], flags: u8) -> BytesMut {
    let mut buf = BytesMut::with_capacity(2048);
    record::encode(
        &mut buf,
        RecordType::BeginRequest,
        1,
        &record::begin_request_body(record::RESPONDER, flags),
    );
    record::encode_params(&mut buf, 1, params);
    buf
}

/// The exchange of a request [`encode_bodiless`] made and that is already written whole on
/// `stream`, whose answer may have begun in `read` (read with the previous answer).
/// `recycle` as in [`begin`] (the request must have asked for FCGI_KEEP_CONN), with what
/// was read beyond END_REQUEST.
pub fn sent<S>(stream: S, read: BytesMut, recycle: Option<RecycleRest<S>>) -> Exchange<S> {
    Exchange {
        rd: Some(Reader::Whole(stream)),
        recycle: None,
        recycle_rest: recycle,
        buf: read,
        pump: None,
        finished: false,
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Exchange<S> {
    /// The next event among the records already read, without reading more: `None` when
    /// there is none yet (or after END_REQUEST). END_REQUEST recycles the connection at once.
    pub fn try_buffered(&mut self) -> Option<std::io::Result<Event>> {
        if self.finished {
            return None;
        }
        self.decoded()
    }

    fn decoded(&mut self) -> Option<std::io::Result<Event>> {
        loop {
            let rec = match record::decode(&mut self.buf) {
                Ok(Some(rec)) => rec,
                Ok(None) => return None,
                Err(e) => {
                    self.finish();
                    return Some(Err(e));
                }
            };
            if rec.request_id != 1 {
                continue;
            }
            match rec.record_type() {
                Some(RecordType::Stdout) if !rec.content.is_empty() => {
                    return Some(Ok(Event::Stdout(rec.content)))
                }
                Some(RecordType::Stderr) if !rec.content.is_empty() => {
                    return Some(Ok(Event::Stderr(rec.content)))
                }
                Some(RecordType::EndRequest) => {
                    let (app_status, protocol_status) =
                        record::parse_end_request(&rec.content).unwrap_or((0, 0));
                    self.finish();
                    self.give_back();
                    return Some(Ok(Event::End {
                        app_status,
                        protocol_status,
                    }));
                }
                _ => continue,
            }
        }
    }

    /// The next event; `None` after END_REQUEST. A connection that ends before END_REQUEST
    /// yields an `UnexpectedEof` error.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Event>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        loop {
            if let Some(ev) = self.decoded() {
                return Poll::Ready(Some(ev));
            }
            let Some(rd) = self.rd.as_mut() else {
                return Poll::Ready(None);
            };
            match read_into(rd, cx, &mut self.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    self.finish();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Ok(0)) => {
                    self.finish();
                    return Poll::Ready(Some(Err(std::io::ErrorKind::UnexpectedEof.into())));
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// [`Exchange::poll_event`] as a future.
    pub async fn next_event(&mut self) -> Option<std::io::Result<Event>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// A clean end with nothing left unread: the connection can carry another request.
    fn give_back(&mut self) {
        if let Some(recycle) = self.recycle_rest.take() {
            if let Some(Reader::Whole(s)) = self.rd.take() {
                recycle(s, std::mem::take(&mut self.buf));
            }
            return;
        }
        if !self.buf.is_empty() {
            return;
        }
        if self.recycle.is_some() && matches!(self.rd, Some(Reader::Whole(_))) {
            if let (Some(recycle), Some(Reader::Whole(s))) = (self.recycle.take(), self.rd.take()) {
                recycle(s);
            }
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        if let Some(p) = self.pump.take() {
            p.abort();
        }
    }
}

impl<S> Drop for Exchange<S> {
    fn drop(&mut self) {
        if let Some(p) = self.pump.take() {
            p.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_goes_out_and_the_events_come_back_in_order() {
        let (client_side, mut server_side) = tokio::io::duplex(64 * 1024);
        let params = vec![(b"REQUEST_METHOD".to_vec(), b"POST".to_vec())];
        let (tx, rx) = mpsc::channel(2);
        let mut ex = begin(client_side, &params, Some(rx), None).await.unwrap();
        tx.send(Ok(Bytes::from_static(b"cuerpo"))).await.unwrap();
        drop(tx);
        // The server reads BEGIN, PARAMS (and its end), STDIN "cuerpo" and its end.
        let mut kinds = Vec::new();
        let mut stdin = Vec::new();
        let mut rbuf = BytesMut::new();
        while kinds.last() != Some(&(RecordType::Stdin as u8, true)) {
            let rec = record::read_record(&mut server_side, &mut rbuf)
                .await
                .unwrap()
                .unwrap();
            if rec.record_type() == Some(RecordType::Stdin) {
                stdin.extend_from_slice(&rec.content);
            }
            kinds.push((rec.kind, rec.content.is_empty()));
        }
        assert_eq!(kinds[0].0, RecordType::BeginRequest as u8);
        assert_eq!(stdin, b"cuerpo");
        let mut out = BytesMut::new();
        record::encode(&mut out, RecordType::Stderr, 1, b"aviso");
        record::encode(
            &mut out,
            RecordType::Stdout,
            1,
            b"Status: 200 OK\r\n\r\nhola",
        );
        record::encode(&mut out, RecordType::Stdout, 1, b"");
        record::encode(
            &mut out,
            RecordType::EndRequest,
            1,
            &record::end_request_body(0, 0),
        );
        server_side.write_all(&out).await.unwrap();
        assert!(matches!(ex.next_event().await, Some(Ok(Event::Stderr(b))) if &b[..] == b"aviso"));
        assert!(
            matches!(ex.next_event().await, Some(Ok(Event::Stdout(b))) if b.ends_with(b"hola"))
        );
        assert!(matches!(
            ex.next_event().await,
            Some(Ok(Event::End { app_status: 0, .. }))
        ));
        assert!(ex.next_event().await.is_none());
    }

    #[tokio::test]
    async fn a_connection_closed_early_is_an_error() {
        let (client_side, server_side) = tokio::io::duplex(1024);
        let mut ex = begin(client_side, &[], None, None).await.unwrap();
        drop(server_side);
        assert!(
            matches!(ex.next_event().await, Some(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof)
        );
    }
}
