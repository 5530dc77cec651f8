//! The CGI response head (RFC 3875 section 6) a FastCGI responder writes on STDOUT:
//! `Status: 404 Not Found`, header lines, a blank line, then the body.

use bytes::Bytes;

/// Longest head accepted before the blank line.
pub const MAX_HEAD: usize = 64 * 1024;

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiHead {
    pub status: u16,
    pub reason: Option<String>,
    pub headers: Vec<(String, Bytes)>,
}

/// Why a head could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    TooLong,
    BadLine(String),
    BadStatus(String),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::TooLong => write!(f, "cabeceras de más de {MAX_HEAD} bytes"),
            HeadError::BadLine(l) => write!(f, "línea de cabecera no válida: {l:?}"),
            HeadError::BadStatus(s) => write!(f, "estado no válido: {s:?}"),
        }
    }
}

/// Parses the head at the start of `data`. `Ok(None)`: incomplete, read more. `Ok(Some((head,
/// n)))`: the body starts at `data[n..]`. Lines may end with CRLF or LF.
pub fn parse_head(data: &[u8]) -> Result<Option<(CgiHead, usize)>, HeadError> {
    let Some((head_len, body_start)) = find_blank_line(data) else {
        return if data.len() > MAX_HEAD {
            Err(HeadError::TooLong)
        } else {
            Ok(None)
        };
    };
    let mut head = CgiHead {
        status: 200,
        reason: None,
        headers: Vec::new(),
    };
    let mut has_location = false;
    let mut has_status = false;
    for line in data[..head_len].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        // The line as text only for the message of a bad one.
        let bad = || HeadError::BadLine(String::from_utf8_lossy(line).into_owned());
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(bad());
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        let value = trim(&line[colon + 1..]);
        if name.is_empty() || name.contains(' ') {
            return Err(bad());
        }
        if name.eq_ignore_ascii_case("status") {
            let v = String::from_utf8_lossy(value).into_owned();
            let (code, reason) = v.split_once(' ').unwrap_or((v.as_str(), ""));
            head.status = code
                .parse()
                .ok()
                .filter(|c| (100..=999).contains(c))
                .ok_or_else(|| HeadError::BadStatus(v.clone()))?;
            head.reason = (!reason.is_empty()).then(|| reason.to_string());
            has_status = true;
            continue;
        }
        if name.eq_ignore_ascii_case("location") {
            has_location = true;
        }
        head.headers.push((name, Bytes::copy_from_slice(value)));
    }
    if has_location && !has_status {
        head.status = 302;
    }
    Ok(Some((head, body_start)))
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// (end of the head, start of the body) at the first empty line.
fn find_blank_line(data: &[u8]) -> Option<(usize, usize)> {
    memchr::memchr_iter(b'\n', data).find_map(|i| match data.get(i + 1..i + 3) {
        Some([b'\n', ..]) => Some((i, i + 2)),
        Some([b'\r', b'\n']) => Some((i, i + 3)),
        None if data.get(i + 1) == Some(&b'\n') => Some((i, i + 2)),
        _ => None,
    })
}

/// Writes a head in the CGI form (`Status:` first).
pub fn encode_head(status: u16, reason: &str, headers: &[(String, Bytes)]) -> Vec<u8> {
    let mut out = format!("Status: {status} {reason}\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blank_line_is_found_where_a_byte_by_byte_walk_finds_it() {
        // The walk the search replaced: at each LF, an LF or a CR LF right after it.
        fn walk(data: &[u8]) -> Option<(usize, usize)> {
            for i in 0..data.len() {
                if data[i] == b'\n' {
                    if data.get(i + 1) == Some(&b'\n') {
                        return Some((i, i + 2));
                    }
                    if data.get(i + 1) == Some(&b'\r') && data.get(i + 2) == Some(&b'\n') {
                        return Some((i, i + 3));
                    }
                }
            }
            None
        }
        // Every string of up to 8 bytes over `a`, CR and LF.
        let alphabet = [b'a', b'\r', b'\n'];
        let mut checked = 0;
        for len in 0..=8u32 {
            for mut n in 0..3usize.pow(len) {
                let mut data = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    data.push(alphabet[n % 3]);
                    n /= 3;
                }
                assert_eq!(find_blank_line(&data), walk(&data), "{data:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, (0..=8).map(|l| 3usize.pow(l)).sum::<usize>());
    }

    #[test]
    fn status_headers_and_body_start() {
        let data = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A:  b \r\n\r\nbody";
        let (head, n) = parse_head(data).unwrap().unwrap();
        assert_eq!(head.status, 404);
        assert_eq!(head.reason.as_deref(), Some("Not Found"));
        assert_eq!(
            head.headers[1],
            ("X-A".to_string(), Bytes::from_static(b"b"))
        );
        assert_eq!(&data[n..], b"body");
    }

    #[test]
    fn incomplete_heads_ask_for_more_and_location_means_302() {
        assert_eq!(parse_head(b"Content-Type: text/html\r\n").unwrap(), None);
        let (head, _) = parse_head(b"Location: /otra\n\n").unwrap().unwrap();
        assert_eq!(head.status, 302);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_head(b"no colon here\r\n\r\n").is_err());
        assert!(parse_head(b"Status: abc\r\n\r\n").is_err());
    }

    #[test]
    fn encoded_heads_parse_back() {
        let h = vec![("Content-Type".to_string(), Bytes::from_static(b"text/html"))];
        let enc = encode_head(201, "Created", &h);
        let (head, n) = parse_head(&enc).unwrap().unwrap();
        assert_eq!((head.status, head.headers, n), (201, h, enc.len()));
    }
}
