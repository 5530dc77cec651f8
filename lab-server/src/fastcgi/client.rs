//! The client side of one FastCGI request (what `mod_proxy_fcgi` does): BEGIN_REQUEST,
//! PARAMS, the request body streamed as STDIN while STDOUT/STDERR are read back.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

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

/// Sends one request on `stream` (request id 1, connection closed afterwards) and returns the
/// events as they arrive. The body is read from `body` and sent as it comes (bounded channels
/// keep memory flat for large uploads). A connection that ends before END_REQUEST yields an
/// `UnexpectedEof` error as its last event.
pub fn request<S>(
    stream: S,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    mut body: mpsc::Receiver<Result<Bytes, String>>,
) -> mpsc::Receiver<std::io::Result<Event>>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, rx) = mpsc::channel(16);
    let writer = tokio::spawn(async move {
        let mut buf = BytesMut::new();
        record::encode(
            &mut buf,
            RecordType::BeginRequest,
            1,
            &record::begin_request_body(record::RESPONDER, 0),
        );
        let pairs = record::encode_pairs(params.iter().map(|(k, v)| (&k[..], &v[..])));
        record::encode_stream(&mut buf, RecordType::Params, 1, &pairs);
        record::encode(&mut buf, RecordType::Params, 1, b"");
        wr.write_all(&buf).await?;
        while let Some(chunk) = body.recv().await {
            let Ok(chunk) = chunk else {
                // The client's body failed: abort rather than send a truncated body as complete.
                buf.clear();
                record::encode(&mut buf, RecordType::AbortRequest, 1, b"");
                wr.write_all(&buf).await?;
                return Ok::<_, std::io::Error>(());
            };
            buf.clear();
            record::encode_stream(&mut buf, RecordType::Stdin, 1, &chunk);
            wr.write_all(&buf).await?;
        }
        buf.clear();
        record::encode(&mut buf, RecordType::Stdin, 1, b"");
        wr.write_all(&buf).await?;
        wr.flush().await?;
        // Keep the write half open until the reader is done (closing it would be a half-close
        // some servers treat as an abort).
        std::future::pending::<()>().await;
        Ok(())
    });
    tokio::spawn(async move {
        loop {
            match record::read_record(&mut rd).await {
                Ok(Some(rec)) => {
                    let event = match rec.record_type() {
                        Some(RecordType::Stdout) if !rec.content.is_empty() => {
                            Event::Stdout(rec.content)
                        }
                        Some(RecordType::Stderr) if !rec.content.is_empty() => {
                            Event::Stderr(rec.content)
                        }
                        Some(RecordType::EndRequest) => {
                            let (app_status, protocol_status) =
                                record::parse_end_request(&rec.content).unwrap_or((0, 0));
                            let _ = tx
                                .send(Ok(Event::End {
                                    app_status,
                                    protocol_status,
                                }))
                                .await;
                            break;
                        }
                        _ => continue,
                    };
                    if tx.send(Ok(event)).await.is_err() {
                        break;
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Err(std::io::ErrorKind::UnexpectedEof.into())).await;
                    break;
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
        }
        writer.abort();
    });
    rx
}
