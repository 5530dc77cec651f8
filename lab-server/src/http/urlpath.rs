//! The request path, made safe before anything maps it: percent-decoded exactly once, dot
//! segments resolved, and refused when it would climb above the root, carries a NUL byte, an
//! encoded slash or invalid escapes (the CVE-2021-41773/42013 forms among them). What comes
//! out is an absolute path of plain segments. A backslash is an ordinary character, as for
//! Apache on Linux: `/a\b.txt` names a file called `a\b.txt` (404 when there is none).

/// Why a request path is refused, with the status Apache would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// `%` not followed by two hexadecimal digits (`%%32%65`): 400.
    BadEscape,
    /// `..` that would leave the root: 400.
    AboveRoot,
    /// `%00` or a raw NUL: 404, like Apache.
    Nul,
    /// `%2f` inside a segment (AllowEncodedSlashes Off): 404.
    EncodedSlash,
    /// Not starting with `/` (nor an absolute URL): 400.
    NotAbsolute,
}

impl PathError {
    pub fn status(&self) -> u16 {
        match self {
            PathError::Nul | PathError::EncodedSlash => 404,
            _ => 400,
        }
    }

    /// Spanish reason for the error log.
    pub fn reason(&self) -> &'static str {
        match self {
            PathError::BadEscape => {
                "la ruta tiene un «%» que no va seguido de dos cifras hexadecimales"
            }
            PathError::AboveRoot => "la ruta intenta subir por encima de la raíz con «..»",
            PathError::Nul => "la ruta contiene un byte nulo (%00)",
            PathError::EncodedSlash => {
                "la ruta contiene una barra codificada (%2F); AllowEncodedSlashes está desactivado"
            }
            PathError::NotAbsolute => "la ruta no empieza por «/»",
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes and normalises the path part of a request target (no query string). The result
/// starts with `/`, has no empty, `.` or `..` segments, and keeps a trailing slash when the
/// request had one.
pub fn clean(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    // The usual path is clean already: nothing to decode, no empty, `.` or `..` segment.
    if already_clean(raw) {
        return Ok(raw.to_string());
    }
    clean_decoding(raw)
}

/// [`clean`] the long way: segment by segment, decoding escapes.
fn clean_decoding(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut i = 0;
    // Decoding is done segment by segment so that a decoded `/` can be told from a real one.
    let finish = |seg: &mut Vec<u8>, segments: &mut Vec<Vec<u8>>| -> Result<(), PathError> {
        match seg.as_slice() {
            b"" | b"." => {}
            b".." => {
                if segments.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
            }
            _ => segments.push(std::mem::take(seg)),
        }
        seg.clear();
        Ok(())
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' => {
                finish(&mut current, &mut segments)?;
                i += 1;
            }
            b'%' => {
                let (Some(h), Some(l)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(PathError::BadEscape);
                };
                let v = h * 16 + l;
                match v {
                    0 => return Err(PathError::Nul),
                    b'/' => return Err(PathError::EncodedSlash),
                    _ => current.push(v),
                }
                i += 3;
            }
            0 => return Err(PathError::Nul),
            _ => {
                current.push(b);
                i += 1;
            }
        }
    }
    let trailing = raw.ends_with('/') || current == b"." || current == b"..";
    finish(&mut current, &mut segments)?;
    let mut out = String::with_capacity(raw.len());
    for seg in &segments {
        out.push('/');
        push_lossless(&mut out, seg);
    }
    if segments.is_empty() || trailing {
        out.push('/');
    }
    Ok(out)
}

/// Whether [`clean`] would give `raw` back as it is (`raw` starts with `/`): no escape, no
/// NUL, no `.` or `..` segment and no empty one but the last (a trailing slash).
fn already_clean(raw: &str) -> bool {
    if raw.bytes().any(|b| b == b'%' || b == 0) {
        return false;
    }
    let mut segments = raw[1..].split('/').peekable();
    while let Some(seg) = segments.next() {
        if seg == "." || seg == ".." || (seg.is_empty() && segments.peek().is_some()) {
            return false;
        }
    }
    true
}

/// Where a byte that is not part of valid UTF-8 goes in a decoded path: one private-use
/// character per byte (U+F700 + byte). Apache works on bytes, so `/caf%E9.txt` is a name
/// like any other (404 when no such file exists) and reaches a WSGI application's
/// `PATH_INFO` as the latin-1 string `/caf\xe9.txt`; the lab's paths are `String`s, and this
/// keeps those bytes without letting them pass for anything else (`%c0%ae` is not a dot).
const RAW_BYTE_BASE: u32 = 0xF700;

fn push_lossless(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.extend(char::from_u32(RAW_BYTE_BASE + u32::from(b)));
        }
    }
}

/// A file-system path as the lab keeps decoded paths: bytes that are not UTF-8 become their
/// stand-ins (the inverse of [`fs_path`]), so nothing is lost on the way to a CGI variable.
pub fn from_fs_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            push_lossless(&mut out, bytes);
            out
        }
    }
}

/// The bytes a decoded path stands for (the inverse of what [`clean`] does with bytes that
/// are not UTF-8).
pub fn raw_bytes(path: &str) -> std::borrow::Cow<'_, [u8]> {
    let raw = |c: char| (RAW_BYTE_BASE..RAW_BYTE_BASE + 0x100).contains(&(c as u32));
    if path.is_ascii() || !path.chars().any(raw) {
        return std::borrow::Cow::Borrowed(path.as_bytes());
    }
    let mut out = Vec::with_capacity(path.len());
    for c in path.chars() {
        if raw(c) {
            out.push((c as u32 - RAW_BYTE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A decoded URL path (or a part of one) as a file-system path: the bytes it stands for, so a
/// name that is not UTF-8 on disk (`caf\xe9.txt`, latin-1) is found through `/caf%E9.txt`,
/// as Apache finds it.
pub fn fs_path(path: &str) -> std::borrow::Cow<'_, std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    match raw_bytes(path) {
        std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(std::path::Path::new(path)),
        std::borrow::Cow::Owned(bytes) => std::borrow::Cow::Owned(std::path::PathBuf::from(
            std::ffi::OsStr::from_bytes(&bytes),
        )),
    }
}

/// Percent-encodes a decoded path for a `Location` header or a link: everything but
/// unreserved characters and `/`, in lower-case hexadecimal like Apache's `ap_escape_uri`.
pub fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in raw_bytes(path).iter() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_come_out_unchanged() {
        assert_eq!(clean("/").unwrap(), "/");
        assert_eq!(clean("/a/b.txt").unwrap(), "/a/b.txt");
        assert_eq!(clean("/docs/").unwrap(), "/docs/");
    }

    #[test]
    fn escapes_are_decoded_once() {
        assert_eq!(clean("/a%20b").unwrap(), "/a b");
        // %25 is a literal percent: decoding again would be the CVE-2021-42013 mistake.
        assert_eq!(clean("/%252e%252e/x").unwrap(), "/%2e%2e/x");
    }

    #[test]
    fn dot_segments_resolve_inside_the_root() {
        assert_eq!(clean("/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(clean("/a/%2e%2e/c").unwrap(), "/c");
        assert_eq!(clean("//a//b").unwrap(), "/a/b");
        assert_eq!(clean("/a/b/..").unwrap(), "/a/");
    }

    #[test]
    fn escaping_the_root_is_refused_in_every_spelling() {
        for p in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/.%2e/x",
            "/%2E%2E/x",
            "/a/../../x",
            "/cgi-bin/.%2e/.%2e/bin/sh",
        ] {
            assert_eq!(clean(p), Err(PathError::AboveRoot), "{p}");
        }
    }

    #[test]
    fn bad_bytes_are_refused() {
        assert_eq!(clean("/%%32%65"), Err(PathError::BadEscape));
        assert_eq!(clean("/a%2"), Err(PathError::BadEscape));
        assert_eq!(clean("/a%00b"), Err(PathError::Nul));
        assert_eq!(clean("/..%2f..%2fetc"), Err(PathError::EncodedSlash));
        assert_eq!(clean("x"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_and_never_read_as_dots() {
        let p = clean("/caf%E9.txt").unwrap();
        assert_eq!(&*raw_bytes(&p), b"/caf\xe9.txt");
        assert_eq!(encode(&p), "/caf%e9.txt");
        {
            use std::os::unix::ffi::OsStrExt;
            assert_eq!(fs_path(&p).as_os_str().as_bytes(), b"/caf\xe9.txt");
            assert_eq!(fs_path("/ok.txt").as_os_str().as_bytes(), b"/ok.txt");
            assert_eq!(from_fs_path(&fs_path(&p)), p);
        }
        // The overlong forms of `.` stay two odd bytes each: no climbing.
        let p = clean("/%c0%ae%c0%ae/x").unwrap();
        assert_eq!(&*raw_bytes(&p), b"/\xc0\xae\xc0\xae/x");
        assert!(!p.contains(".."));
        assert_eq!(clean("/%c0%ae%c0%ae/../../x"), Err(PathError::AboveRoot));
    }

    #[test]
    fn a_backslash_is_an_ordinary_character() {
        assert_eq!(clean("/a\\b.txt").unwrap(), "/a\\b.txt");
        assert_eq!(clean("/a%5cb.txt").unwrap(), "/a\\b.txt");
        // It never separates segments, so `..\` cannot climb.
        assert_eq!(clean("/..\\..\\x").unwrap(), "/..\\..\\x");
    }

    #[test]
    fn encode_round_trips_through_clean() {
        let p = "/carpeta con espacios/ñ?#%.txt";
        assert_eq!(clean(&encode(p)).unwrap(), p);
    }

    proptest::proptest! {
        /// The shortcut for paths that are clean already gives what decoding them gives.
        #[test]
        fn clean_paths_come_back_as_decoding_gives_them(
            rest in proptest::collection::vec(proptest::sample::select(vec!["/", "a", ".", "%", "2", "F", "e", "\u{e9}", "..", "//"]), 0..12)
        ) {
            let raw = format!("/{}", rest.concat());
            proptest::prop_assert_eq!(clean(&raw), clean_decoding(&raw));
        }
    }
}
