use super::*;

fn wire() -> Wire<()> {
    Wire::new(
        (),
        Limits {
            request_line: 8190,
            field_size: 8190,
            fields: 100,
        },
        Arc::default(),
    )
}

fn check(raw: &[u8]) -> Checked {
    let mut w = wire();
    w.inbuf = raw.to_vec();
    w.check_head()
}

fn refused_status(raw: &[u8]) -> Option<u16> {
    match check(raw) {
        Checked::Refused { status, .. } => Some(status),
        _ => None,
    }
}

#[test]
fn a_plain_head_is_handed_over_as_received() {
    let raw = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n";
    match check(raw) {
        Checked::Good {
            used,
            deliver,
            note,
            ..
        } => {
            assert_eq!(used, 28);
            assert_eq!(deliver, raw[..28].to_vec());
            assert_eq!(note, None);
        }
        _ => panic!("la cabecera es válida"),
    }
}

#[test]
fn an_incomplete_head_asks_for_more() {
    assert!(matches!(
        check(b"GET /a HTTP/1.1\r\nHost: x\r\n"),
        Checked::More
    ));
    assert!(matches!(check(b"GET /a HT"), Checked::More));
}

#[test]
fn http09_and_other_versions_are_rewritten_with_a_note() {
    match check(b"GET /a.txt\r\n") {
        Checked::Good { deliver, note, .. } => {
            assert_eq!(deliver, b"GET /a.txt HTTP/1.0\r\n\r\n".to_vec());
            assert_eq!(note, Some(Note::Http09));
        }
        _ => panic!("Apache acepta HTTP/0.9"),
    }
    match check(b"GET /a HTTP/1.2\r\nHost: x\r\n\r\n") {
        Checked::Good { deliver, note, .. } => {
            assert_eq!(deliver, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
            assert_eq!(note, Some(Note::Version("HTTP/1.2".into())));
        }
        _ => panic!("Apache acepta HTTP/1.2"),
    }
}

#[test]
fn folded_lines_are_joined() {
    match check(b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: uno\r\n dos\r\n\r\n") {
        Checked::Good { deliver, .. } => {
            assert_eq!(
                String::from_utf8(deliver).unwrap(),
                "GET /a HTTP/1.1\r\nHost: x\r\nX-A: uno dos\r\n\r\n"
            );
        }
        _ => panic!("Apache une las líneas plegadas"),
    }
}

#[test]
fn what_apache_refuses_is_refused_with_its_status() {
    assert_eq!(refused_status(b"GET /a HTTP/1.1 x\r\n\r\n"), Some(400));
    assert_eq!(refused_status(b"GET  /a HTTP/1.1\r\n\r\n"), Some(400));
    assert_eq!(refused_status(b"GET /a http/1.1\r\n\r\n"), Some(400));
    assert_eq!(refused_status(b"GET /a HTTP/1.1\nHost: x\n\n"), Some(400));
    assert_eq!(
        refused_status(b"GET /a HTTP/1.1\r\nMala Cabecera: x\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        refused_status(b"GET /a HTTP/1.1\r\nSinDosPuntos\r\n\r\n"),
        Some(400)
    );
    assert_eq!(refused_status(b"GET /a HTTP/1.1\r\n: x\r\n\r\n"), Some(400));
    assert_eq!(
        refused_status(b"GET /a HTTP/1.1\r\nX: a\x01b\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        refused_status(b"GET /a HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        Some(400)
    );
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
    assert_eq!(refused_status(long.as_bytes()), Some(414));
    // Too long even before its end arrives.
    let partial = format!("GET /{}", "a".repeat(9000));
    assert_eq!(refused_status(partial.as_bytes()), Some(414));
    let big = format!("GET /a HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(9000));
    assert_eq!(refused_status(big.as_bytes()), Some(400));
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    let many = format!("GET /a HTTP/1.1\r\n{many}\r\n");
    assert_eq!(refused_status(many.as_bytes()), Some(400));
    let hundred: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    let hundred = format!("GET /a HTTP/1.1\r\n{hundred}\r\n");
    assert_eq!(refused_status(hundred.as_bytes()), None);
}

#[test]
fn the_refused_request_line_is_kept_for_the_log() {
    match check(b"GET /a HTTP/1.1 extra\r\n\r\n") {
        Checked::Refused { line, .. } => assert_eq!(line, "GET /a HTTP/1.1"),
        _ => panic!("rechazada"),
    }
    match check(b"GET /a HTTP/1.1\nHost: x\n\n") {
        Checked::Refused { line, .. } => assert_eq!(line, "GET /a HTTP/1.1\n"),
        _ => panic!("rechazada"),
    }
}

#[test]
fn chunked_framing_is_followed_across_pieces() {
    let body = b"3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    for split in 0..=body.len() - 4 {
        let mut c = Chunks::default();
        let a = c.feed(&body[..split]);
        assert_eq!(a, split, "todo es cuerpo hasta el final");
        let b = c.feed(&body[split..]);
        assert!(c.done());
        assert_eq!(a + b, body.len() - 4, "corte en {split}");
    }
}

fn run(w: &mut Writer, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        let mut segs = Vec::new();
        w.step(p, &mut segs);
        let mut at = 0;
        for s in segs {
            match s {
                Seg::Pass(n) => {
                    out.extend_from_slice(&p[at..at + n]);
                    at += n;
                }
                Seg::Replace(r) => {
                    out.extend_from_slice(r);
                    at += 1;
                }
                Seg::Drop(n) => at += n,
            }
        }
        assert_eq!(at, p.len());
    }
    out
}

fn writer(expects: &[(Version, bool)]) -> Writer {
    let mut w = wire().writer;
    for &(version, head_request) in expects {
        w.expects.push_back(Expect {
            version,
            head_request,
            silent: false,
        });
    }
    w
}

#[test]
fn http10_answers_get_an_http11_status_line_and_bodies_are_untouched() {
    let mut w = writer(&[(Version::Http10, false), (Version::Http10, false)]);
    let out = run(
        &mut w,
        &[
            b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n",
            b"HTTP/1.0 200",
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        ],
    );
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHTTP/1.0 200HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            .to_vec()
    );
    assert!(w.idle());
}

#[test]
fn a_head_split_before_the_version_digit_is_still_fixed() {
    let mut w = writer(&[(Version::Http10, false)]);
    let out = run(
        &mut w,
        &[b"HTTP/1", b".0 404 Not Found\r\nConnection: close\r\n\r\n"],
    );
    assert_eq!(
        out,
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n".to_vec()
    );
}

#[test]
fn chunked_and_bodiless_answers_are_followed_to_the_next_head() {
    let mut w = writer(&[
        (Version::Http11, false),
        (Version::Http11, true),
        (Version::Http10, false),
    ]);
    let out = run(
        &mut w,
        &[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nrest HTTP/1.0",
        ],
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("HTTP/1.1 200 OK\r\n\r\nrest HTTP/1.0"),
        "{text}"
    );
    assert!(text.contains("5\r\nHTTP/\r\n"));
}

#[test]
fn http09_answers_lose_their_head() {
    let mut w = writer(&[(Version::Http09, false)]);
    let out = run(
        &mut w,
        &[b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhola\n"],
    );
    assert_eq!(out, b"hola\n".to_vec());
}

#[test]
fn an_interim_answer_keeps_the_request_waiting() {
    let mut w = writer(&[(Version::Http10, false)]);
    let out = run(
        &mut w,
        &[b"HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"],
    );
    assert_eq!(
        out,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()
    );
}

/// mod_reqtimeout's clocks, on a paused clock: `header=2-4,MinRate=100`.
mod read_timeouts {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::{advance, Duration};

    fn timed(served: u64) -> (Wire<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let stage = |timeout, max| ReadStage {
            timeout,
            max,
            min_rate: 100,
        };
        let w = Wire::new(
            ours,
            Limits {
                request_line: 8190,
                field_size: 8190,
                fields: 100,
            },
            Arc::default(),
        )
        .starting_after(served)
        .with_timeouts(Some(ReadTimeouts {
            header: stage(2, 4),
            body: stage(2, 0),
        }));
        (w, theirs)
    }

    /// Reads what the wire hands hyper, giving up after `wait` of (paused) time.
    async fn handed(w: &mut Wire<tokio::io::DuplexStream>, wait: Duration) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        tokio::select! {
            n = w.read(&mut buf) => Some(buf[..n.expect("read")].to_vec()),
            _ = tokio::time::sleep(wait) => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_without_its_request_line_times_out_silently_after_the_header_time() {
        let (mut w, mut client) = timed(0);
        client.write_all(b"GET /a").await.unwrap();
        assert_eq!(handed(&mut w, Duration::from_millis(1900)).await, None);
        let got = handed(&mut w, Duration::from_millis(200))
            .await
            .expect("a stand-in");
        assert!(got.starts_with(b"GET / HTTP/1.1\r\n"), "{got:?}");
        assert_eq!(
            w.notes.take(1),
            Some(Note::TimedOut {
                line: None,
                unlogged: false
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn data_at_min_rate_extends_the_time_up_to_the_maximum() {
        let (mut w, mut client) = timed(0);
        // 100 bytes: one second more (3 s in all).
        let line = b"GET /b HTTP/1.1\r\nUser-Agent: lento\r\n";
        let pad = vec![b'a'; 100 - line.len() - 9];
        client.write_all(line).await.unwrap();
        client.write_all(b"X-Pad: ").await.unwrap();
        client.write_all(&pad).await.unwrap();
        client.write_all(b"\r\n").await.unwrap();
        assert_eq!(handed(&mut w, Duration::from_millis(2800)).await, None);
        let got = handed(&mut w, Duration::from_millis(400))
            .await
            .expect("a stand-in");
        // The complete field but the last goes with it, for the log.
        assert!(
            String::from_utf8_lossy(&got).contains("User-Agent: lento\r\n"),
            "{got:?}"
        );
        assert_eq!(
            w.notes.take(1),
            Some(Note::TimedOut {
                line: Some("GET /b HTTP/1.1".into()),
                unlogged: false
            })
        );

        // Much more data: never beyond the 4 s maximum.
        let (mut w, mut client) = timed(0);
        client.write_all(b"GET /c HTTP/1.1\r\n").await.unwrap();
        for _ in 0..10 {
            client.write_all(b"X-Pad: ").await.unwrap();
            client.write_all(&[b'x'; 1000]).await.unwrap();
            client.write_all(b"\r\n").await.unwrap();
            advance(Duration::from_millis(300)).await;
            let _ = handed(&mut w, Duration::from_millis(1)).await;
        }
        assert!(
            handed(&mut w, Duration::from_millis(1200)).await.is_some(),
            "cut at 4 s however much arrived"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_request_starts_its_clock_with_its_first_byte() {
        let (mut w, mut client) = timed(1);
        // Idle for a long time: that is KeepAliveTimeout's business, not the header time.
        assert_eq!(handed(&mut w, Duration::from_secs(30)).await, None);
        client.write_all(b"GET /d").await.unwrap();
        assert_eq!(handed(&mut w, Duration::from_millis(1900)).await, None);
        assert!(handed(&mut w, Duration::from_millis(200)).await.is_some());
        assert_eq!(
            w.notes.take(2),
            Some(Note::TimedOut {
                line: None,
                unlogged: true
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_fails_the_read_and_says_so() {
        let (mut w, mut client) = timed(0);
        client
            .write_all(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .unwrap();
        let head = handed(&mut w, Duration::from_millis(10))
            .await
            .expect("head");
        assert!(head.starts_with(b"POST /e"));
        let body = handed(&mut w, Duration::from_millis(10))
            .await
            .expect("body");
        assert_eq!(body, b"abc");
        let mut buf = [0u8; 64];
        let err = tokio::time::timeout(Duration::from_secs(3), w.read(&mut buf))
            .await
            .expect("the read ends")
            .expect_err("the read fails");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(w.notes.body_timed_out());
    }
}

#[test]
fn whole_and_split_http11_heads_are_followed_to_a_later_http10_answer() {
    let mut w = writer(&[
        (Version::Http11, false),
        (Version::Http11, false),
        (Version::Http11, false),
        (Version::Http10, false),
    ]);
    let out = run(
        &mut w,
        &[
            // A whole head and its body, then the start of the next head.
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/HTTP/1.1 200 OK\r\nTrans",
            b"fer-Encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n",
            // A body that looks like a head end, inside a whole head's write.
            b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\n\r\n\r\n",
            b"HTTP/1.0 204 No Content\r\n\r\n",
        ],
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
        "{text}"
    );
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/"));
    assert!(w.idle());
}

#[test]
fn an_announced_head_is_not_read_again_and_a_split_one_is() {
    // No `Content-Length` in the head: read, it would mean a body until the connection
    // ends; announced with a 5-byte body, the next answer starts after those 5 bytes.
    let head = b"HTTP/1.1 200 OK\r\nX-Uno: 1\r\n\r\n";
    let mut whole = head.to_vec();
    whole.extend_from_slice(b"hola\n");
    let mut w = writer(&[(Version::Http11, false)]);
    w.announced = Some((head.len(), Out::Body(5)));
    assert_eq!(run(&mut w, &[&whole]), whole);
    assert!(w.idle(), "{:?}", w.out);

    // The head split over two writes: the announcement is dropped and the head is read.
    let mut w = writer(&[(Version::Http11, false)]);
    w.announced = Some((head.len(), Out::Body(5)));
    assert_eq!(run(&mut w, &[&head[..10], &whole[10..]]), whole);
    assert!(matches!(w.out, Out::UntilClose), "{:?}", w.out);
    assert!(w.announced.is_none());

    // An announced head-only answer (HEAD, 204, 304) leaves the writer at the next head.
    let mut w = writer(&[(Version::Http11, true)]);
    w.announced = Some((head.len(), Out::Body(0)));
    assert_eq!(run(&mut w, &[head]), head);
    assert!(w.idle(), "{:?}", w.out);
}
