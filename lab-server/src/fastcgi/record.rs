//! FastCGI records (FastCGI 1.0 specification, section 3 and 8).

use std::borrow::Cow;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const VERSION: u8 = 1;
/// Largest content of one record.
pub const MAX_CONTENT: usize = 65_535;
/// `FCGI_KEEP_CONN` flag of BEGIN_REQUEST.
pub const KEEP_CONN: u8 = 1;
/// `FCGI_RESPONDER` role.
pub const RESPONDER: u16 = 1;
/// `FCGI_REQUEST_COMPLETE` protocol status of END_REQUEST.
pub const REQUEST_COMPLETE: u8 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    BeginRequest = 1,
    AbortRequest = 2,
    EndRequest = 3,
    Params = 4,
    Stdin = 5,
    Stdout = 6,
    Stderr = 7,
    Data = 8,
    GetValues = 9,
    GetValuesResult = 10,
    UnknownType = 11,
}

impl RecordType {
    pub fn from_u8(b: u8) -> Option<RecordType> {
        use RecordType::*;
        Some(match b {
            1 => BeginRequest,
            2 => AbortRequest,
            3 => EndRequest,
            4 => Params,
            5 => Stdin,
            6 => Stdout,
            7 => Stderr,
            8 => Data,
            9 => GetValues,
            10 => GetValuesResult,
            11 => UnknownType,
            _ => return None,
        })
    }
}

/// One record as read from the wire. `kind` is the raw type byte (unknown types are kept so
/// a server can answer UNKNOWN_TYPE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: u8,
    pub request_id: u16,
    pub content: Bytes,
}

impl Record {
    pub fn record_type(&self) -> Option<RecordType> {
        RecordType::from_u8(self.kind)
    }
}

/// Appends one record (with padding to a multiple of 8) to `out`. `content` must be at most
/// [`MAX_CONTENT`] bytes; use [`encode_stream`] for longer data.
pub fn encode(out: &mut BytesMut, kind: RecordType, request_id: u16, content: &[u8]) {
    debug_assert!(content.len() <= MAX_CONTENT);
    let len = content.len().min(MAX_CONTENT);
    let padding = (8 - len % 8) % 8;
    out.reserve(8 + len + padding);
    out.put_u8(VERSION);
    out.put_u8(kind as u8);
    out.put_u16(request_id);
    out.put_u16(len as u16);
    out.put_u8(padding as u8);
    out.put_u8(0);
    out.put_slice(&content[..len]);
    out.put_bytes(0, padding);
}

/// Appends `data` as as many records of `kind` as needed (none for empty data: the empty
/// record that ends a stream is written separately).
pub fn encode_stream(out: &mut BytesMut, kind: RecordType, request_id: u16, data: &[u8]) {
    for chunk in data.chunks(MAX_CONTENT) {
        encode(out, kind, request_id, chunk);
    }
}

/// The body of BEGIN_REQUEST.
pub fn begin_request_body(role: u16, flags: u8) -> [u8; 8] {
    let r = role.to_be_bytes();
    [r[0], r[1], flags, 0, 0, 0, 0, 0]
}

/// Parses a BEGIN_REQUEST body: (role, flags).
pub fn parse_begin_request(content: &[u8]) -> Option<(u16, u8)> {
    (content.len() >= 3).then(|| (u16::from_be_bytes([content[0], content[1]]), content[2]))
}

/// The body of END_REQUEST.
pub fn end_request_body(app_status: u32, protocol_status: u8) -> [u8; 8] {
    let a = app_status.to_be_bytes();
    [a[0], a[1], a[2], a[3], protocol_status, 0, 0, 0]
}

/// Parses an END_REQUEST body: (appStatus, protocolStatus).
pub fn parse_end_request(content: &[u8]) -> Option<(u32, u8)> {
    (content.len() >= 5).then(|| {
        (
            u32::from_be_bytes([content[0], content[1], content[2], content[3]]),
            content[4],
        )
    })
}

fn put_length(out: &mut BytesMut, n: usize) {
    if n < 128 {
        out.put_u8(n as u8);
    } else {
        out.put_u32(n as u32 | 0x8000_0000);
    }
}

fn length_len(n: usize) -> usize {
    if n < 128 {
        1
    } else {
        4
    }
}

/// One name-value pair of PARAMS, each side borrowed (from the request, the configuration,
/// a constant) or built for it.
pub type Param<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Appends a whole PARAMS stream for `pairs`: its records (as many as the pairs need, each
/// at most [`MAX_CONTENT`] bytes) and the empty record that ends it. The usual request's
/// pairs fit one record and are written straight into it, in one allocation of `out`.
pub fn encode_params<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    out: &mut BytesMut,
    request_id: u16,
    pairs: &[(K, V)],
) {
    let len: usize = pairs
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .map(|(k, v)| length_len(k.len()) + length_len(v.len()) + k.len() + v.len())
        .sum();
    if len > MAX_CONTENT {
        let data = encode_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        encode_stream(out, RecordType::Params, request_id, &data);
    } else if len > 0 {
        let padding = (8 - len % 8) % 8;
        out.reserve(HEADER_LEN + len + padding + HEADER_LEN);
        out.put_u8(VERSION);
        out.put_u8(RecordType::Params as u8);
        out.put_u16(request_id);
        out.put_u16(len as u16);
        out.put_u8(padding as u8);
        out.put_u8(0);
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            put_length(out, name.len());
            put_length(out, value.len());
            out.put_slice(name);
            out.put_slice(value);
        }
        out.put_bytes(0, padding);
    }
    encode(out, RecordType::Params, request_id, b"");
}

/// Encodes name-value pairs (the content of PARAMS and GET_VALUES).
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> BytesMut {
    let mut out = BytesMut::new();
    for (name, value) in pairs {
        put_length(&mut out, name.len());
        put_length(&mut out, value.len());
        out.put_slice(name);
        out.put_slice(value);
    }
    out
}

fn get_length(data: &[u8], pos: &mut usize) -> Option<usize> {
    let first = *data.get(*pos)?;
    if first < 128 {
        *pos += 1;
        return Some(first as usize);
    }
    let b = data.get(*pos..*pos + 4)?;
    *pos += 4;
    Some((u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff) as usize)
}

/// Decodes name-value pairs; `None` when the data is truncated or malformed.
pub fn decode_pairs(data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        let n = get_length(data, &mut pos)?;
        let v = get_length(data, &mut pos)?;
        let name = data.get(pos..pos.checked_add(n)?)?.to_vec();
        pos += n;
        let value = data.get(pos..pos.checked_add(v)?)?.to_vec();
        pos += v;
        out.push((name, value));
    }
    Some(out)
}

/// Length of a record header.
pub const HEADER_LEN: usize = 8;

/// The one frame decoder: takes a whole record off the front of `buf` (header, content and
/// padding), or returns `Ok(None)` when more bytes are needed. Every reader below (async or
/// blocking) only fills a buffer and calls this.
pub fn decode(buf: &mut BytesMut) -> std::io::Result<Option<Record>> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[0] != VERSION {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("versión de FastCGI desconocida: {}", buf[0]),
        ));
    }
    let len = u16::from_be_bytes([buf[4], buf[5]]) as usize;
    let padding = buf[6] as usize;
    if buf.len() < HEADER_LEN + len + padding {
        buf.reserve(HEADER_LEN + len + padding - buf.len());
        return Ok(None);
    }
    let kind = buf[1];
    let request_id = u16::from_be_bytes([buf[2], buf[3]]);
    buf.advance(HEADER_LEN);
    let content = buf.split_to(len).freeze();
    buf.advance(padding);
    Ok(Some(Record {
        kind,
        request_id,
        content,
    }))
}

/// What a reader does when the stream ends: nothing buffered is a clean end (`None`), a
/// partial record is an error.
fn at_eof(buf: &BytesMut) -> std::io::Result<Option<Record>> {
    if buf.is_empty() {
        Ok(None)
    } else {
        Err(std::io::ErrorKind::UnexpectedEof.into())
    }
}

/// Reads one record from an async stream, keeping what it read beyond it in `buf`.
/// `Ok(None)` at a clean end of stream (between records).
pub async fn read_record<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
) -> std::io::Result<Option<Record>> {
    loop {
        if let Some(rec) = decode(buf)? {
            return Ok(Some(rec));
        }
        buf.reserve(8 * 1024);
        if r.read_buf(buf).await? == 0 {
            return at_eof(buf);
        }
    }
}

/// Records from a blocking stream (the WSGI worker's threads), through the same [`decode`].
pub struct BlockingReader<R> {
    inner: R,
    buf: BytesMut,
}

impl<R: std::io::Read> BlockingReader<R> {
    pub fn new(inner: R) -> BlockingReader<R> {
        BlockingReader {
            inner,
            buf: BytesMut::with_capacity(16 * 1024),
        }
    }

    /// The next record; `Ok(None)` at a clean end of stream.
    pub fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        loop {
            if let Some(rec) = decode(&mut self.buf)? {
                return Ok(Some(rec));
            }
            let old = self.buf.len();
            self.buf.resize(old + 16 * 1024, 0);
            let n = loop {
                match self.inner.read(&mut self.buf[old..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            self.buf.truncate(old + n.as_ref().copied().unwrap_or(0));
            if n? == 0 {
                return at_eof(&self.buf);
            }
        }
    }
}

/// Writes already-encoded records.
pub async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, data: &[u8]) -> std::io::Result<()> {
    w.write_all(data).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn records_round_trip_with_padding() {
        let mut buf = BytesMut::new();
        encode(&mut buf, RecordType::Stdout, 7, b"hola");
        encode(&mut buf, RecordType::Stdout, 7, b"");
        assert_eq!(buf.len(), 8 + 8 + 8, "4 bytes of content are padded to 8");
        let mut r = &buf[..];
        let mut rb = BytesMut::new();
        let rec = read_record(&mut r, &mut rb).await.unwrap().unwrap();
        assert_eq!(rec.record_type(), Some(RecordType::Stdout));
        assert_eq!((rec.request_id, &rec.content[..]), (7, &b"hola"[..]));
        let end = read_record(&mut r, &mut rb).await.unwrap().unwrap();
        assert!(end.content.is_empty());
        assert!(read_record(&mut r, &mut rb).await.unwrap().is_none());
    }

    #[test]
    fn the_blocking_reader_reads_the_same_records() {
        let mut buf = BytesMut::new();
        encode(&mut buf, RecordType::Params, 3, b"abc");
        let mut r = BlockingReader::new(&buf[..]);
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(
            (rec.kind, rec.request_id, &rec.content[..]),
            (4, 3, &b"abc"[..])
        );
        assert!(r.next_record().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_truncated_record_is_an_error() {
        let mut buf = BytesMut::new();
        encode(&mut buf, RecordType::Stdin, 1, b"abcdef");
        let mut r = &buf[..10];
        assert!(read_record(&mut r, &mut BytesMut::new()).await.is_err());
        let mut b = BlockingReader::new(&buf[..10]);
        assert!(b.next_record().is_err());
    }

    #[test]
    fn long_values_use_four_byte_lengths() {
        let long = vec![b'x'; 300];
        let enc = encode_pairs([(&b"SCRIPT_NAME"[..], &long[..]), (&b"A"[..], &b""[..])]);
        assert_eq!(enc[0], 11);
        assert_eq!(enc[1] & 0x80, 0x80);
        let dec = decode_pairs(&enc).unwrap();
        assert_eq!(dec[0].1.len(), 300);
        assert_eq!(dec[1], (b"A".to_vec(), Vec::new()));
    }

    #[test]
    fn begin_and_end_bodies_round_trip() {
        assert_eq!(
            parse_begin_request(&begin_request_body(RESPONDER, KEEP_CONN)),
            Some((RESPONDER, KEEP_CONN))
        );
        assert_eq!(
            parse_end_request(&end_request_body(3, REQUEST_COMPLETE)),
            Some((3, REQUEST_COMPLETE))
        );
    }

    #[test]
    fn records_fed_one_byte_at_a_time_decode_once_complete() {
        let mut wire = BytesMut::new();
        encode(&mut wire, RecordType::Stderr, 1, b"PHP message: x");
        encode(
            &mut wire,
            RecordType::EndRequest,
            1,
            &end_request_body(0, 0),
        );
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(rec) = decode(&mut buf).unwrap() {
                got.push(rec);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].content[..], b"PHP message: x");
        assert_eq!(got[1].record_type(), Some(RecordType::EndRequest));
        assert!(buf.is_empty(), "padding is consumed with its record");
    }

    #[test]
    fn long_streams_split_at_65535_bytes() {
        let data = vec![7u8; MAX_CONTENT * 2 + 10];
        let mut wire = BytesMut::new();
        encode_stream(&mut wire, RecordType::Stdin, 1, &data);
        let mut lens = Vec::new();
        while let Some(rec) = decode(&mut wire).unwrap() {
            lens.push(rec.content.len());
        }
        assert_eq!(lens, vec![MAX_CONTENT, MAX_CONTENT, 10]);
    }

    #[test]
    fn every_record_type_round_trips_and_unknown_types_are_kept() {
        for b in 1..=11u8 {
            let t = RecordType::from_u8(b).unwrap();
            assert_eq!(t as u8, b);
        }
        assert_eq!(RecordType::from_u8(0), None);
        assert_eq!(RecordType::from_u8(12), None);
        let mut wire = BytesMut::from(&[1u8, 42, 0, 1, 0, 1, 7, 0, b'z', 0, 0, 0, 0, 0, 0, 0][..]);
        let rec = decode(&mut wire).unwrap().unwrap();
        assert_eq!(
            (rec.kind, rec.record_type(), &rec.content[..]),
            (42, None, &b"z"[..])
        );
    }

    #[test]
    fn a_bad_version_is_an_error() {
        let mut wire = BytesMut::from(&[2u8, 6, 0, 1, 0, 0, 0, 0][..]);
        assert!(decode(&mut wire).is_err());
    }

    proptest! {
        #[test]
        fn streams_round_trip_whatever_the_read_sizes(data in proptest::collection::vec(any::<u8>(), 0..200_000), cut in 1usize..70_000) {
            let mut wire = BytesMut::new();
            encode_stream(&mut wire, RecordType::Stdout, 9, &data);
            encode(&mut wire, RecordType::Stdout, 9, b"");
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut ended = false;
            for piece in wire.chunks(cut) {
                buf.extend_from_slice(piece);
                while let Some(rec) = decode(&mut buf).unwrap() {
                    prop_assert_eq!(rec.request_id, 9);
                    prop_assert!(rec.content.len() <= MAX_CONTENT);
                    if rec.content.is_empty() { ended = true; }
                    out.extend_from_slice(&rec.content);
                }
            }
            prop_assert!(ended);
            prop_assert_eq!(out, data);
        }

        #[test]
        fn decoding_random_frames_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = decode(&mut buf) {}
        }

        #[test]
        fn pairs_round_trip(pairs in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..200), proptest::collection::vec(any::<u8>(), 0..300)), 0..8)) {
            let enc = encode_pairs(pairs.iter().map(|(n, v)| (&n[..], &v[..])));
            prop_assert_eq!(decode_pairs(&enc).unwrap(), pairs);
        }

        /// The one-buffer PARAMS writer gives the records of the pairs encoded apart and
        /// cut into records, whether they fit one record or not (a value of 70,000 bytes).
        #[test]
        fn params_stream_is_the_pairs_cut_into_records(
            pairs in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..200), proptest::collection::vec(any::<u8>(), 0..300)), 0..8),
            long in proptest::option::of(40_000usize..70_000),
        ) {
            let mut pairs = pairs;
            if let Some(n) = long {
                pairs.push((b"HTTP_X_LARGO".to_vec(), vec![b'x'; n]));
            }
            let mut one = BytesMut::new();
            encode_params(&mut one, 3, &pairs);
            let mut apart = BytesMut::new();
            let data = encode_pairs(pairs.iter().map(|(n, v)| (&n[..], &v[..])));
            encode_stream(&mut apart, RecordType::Params, 3, &data);
            encode(&mut apart, RecordType::Params, 3, b"");
            prop_assert_eq!(&one[..], &apart[..]);
            let mut content = Vec::new();
            while let Some(rec) = decode(&mut one).unwrap() {
                prop_assert_eq!(rec.record_type(), Some(RecordType::Params));
                content.extend_from_slice(&rec.content);
            }
            prop_assert_eq!(decode_pairs(&content).unwrap(), pairs);
        }

        #[test]
        fn decoding_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_pairs(&data);
        }
    }
}
