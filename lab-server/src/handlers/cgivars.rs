//! The CGI meta-variables, as Apache builds them for mod_cgi, mod_cgid and proxy_fcgi:
//! `ap_add_common_vars` (the request headers as `HTTP_*`, the server and client addresses,
//! `DOCUMENT_ROOT`, `CONTEXT_*`, `SCRIPT_FILENAME`...) and `ap_add_cgi_vars` (RFC 3875's
//! `GATEWAY_INTERFACE`, `SERVER_PROTOCOL`, `REQUEST_METHOD`, `QUERY_STRING`, `REQUEST_URI`,
//! `SCRIPT_NAME`, `PATH_INFO`, `PATH_TRANSLATED`).
//!
//! The rules that matter for safety are Apache's:
//! - a header becomes `HTTP_NAME` only when its name is letters, digits and `-`; any other
//!   name is dropped (so `X_Forwarded_For` can never pose as `X-Forwarded-For`);
//! - `Proxy:` is never passed (httpoxy: `HTTP_PROXY` is what many clients read as their
//!   proxy);
//! - `Authorization` and `Proxy-Authorization` are passed only with `CGIPassAuth On`.
//!
//! The variables of `SetEnv`, `PassEnv`, `SetEnvIf` (after `UnsetEnv`) come first and the
//! ones computed here override them, as `apr_table_overlap` does in Apache.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::Path;

use http::request::Parts;

/// Apache's `DEFAULT_PATH`, used when the server itself has no `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `SERVER_SIGNATURE` as `ap_psignature` writes it: empty with `ServerSignature Off`, else
/// the server's banner, the name and port the request used (`SERVER_NAME`, `SERVER_PORT`)
/// and, with `EMail`, a link to `ServerAdmin`; in English, with a final newline.
pub fn signature(
    mode: crate::config::model::ServerSignature,
    software: &str,
    admin: &str,
    name: &str,
    port: u16,
) -> String {
    use crate::config::model::ServerSignature;
    if mode == ServerSignature::Off {
        return String::new();
    }
    let plain = !name.contains(['<', '>', '&', '"', '\'']);
    let name: Cow<'_, str> = if plain {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(crate::http::errors::html_escape(name))
    };
    match mode {
        ServerSignature::Off => String::new(),
        ServerSignature::On => {
            let mut out = String::with_capacity(48 + software.len() + name.len());
            out.push_str("<address>");
            out.push_str(software);
            out.push_str(" Server at ");
            out.push_str(&name);
            out.push_str(" Port ");
            crate::http::log::push_u64(&mut out, u64::from(port));
            out.push_str("</address>\n");
            out
        }
        ServerSignature::EMail => format!(
            "<address>{software} Server at <a href=\"mailto:{admin}\">{name}</a> Port {port}</address>\n"
        ),
    }
}

/// What the variables are built from.
#[derive(Debug, Clone)]
pub struct CgiRequest<'a> {
    pub parts: &'a Parts,
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// The port as the client sees it (`Listen` as written, not the mapped one).
    pub server_port: u16,
    pub server_name: &'a str,
    pub server_software: &'a str,
    pub server_admin: &'a str,
    /// `SERVER_SIGNATURE` (`""` with `ServerSignature Off`).
    pub server_signature: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    pub document_root: &'a Path,
    /// The URL prefix of the `Alias`/`ScriptAlias` used (`""` without one).
    pub context_prefix: &'a str,
    /// The directory that prefix maps to (the `DocumentRoot` without an alias).
    pub context_document_root: &'a Path,
    /// The script on disk.
    pub script_filename: &'a Path,
    /// The decoded URL path of the script.
    pub script_name: &'a str,
    /// The decoded rest of the URL after the script (`""` when none).
    pub path_info: &'a str,
    /// `PATH_INFO` mapped through the server as a URL (only when `path_info` is not empty).
    pub path_translated: Option<&'a Path>,
    /// `CGIPassAuth On`.
    pub pass_auth: bool,
    pub remote_user: Option<&'a str>,
    pub auth_type: Option<&'a str>,
    /// `SetEnv`/`PassEnv`/`SetEnvIf` results, in order.
    pub subprocess_env: &'a [(String, String)],
}

/// The environment of the script, in a stable order (later entries never repeat a name).
pub fn build(r: &CgiRequest<'_>) -> Vec<(String, String)> {
    vars(r)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A variable's name or value: borrowed from the request or the configuration when it is
/// there as it is sent, else built.
pub type Text<'a> = Cow<'a, str>;

/// [`build`] without copying what is already there: names and values borrowed from the
/// request, the configuration and the constants where they can be (the FastCGI client sends
/// them as they are).
pub fn vars<'a>(r: &CgiRequest<'a>) -> Vec<(Text<'a>, Text<'a>)> {
    let mut env: Vec<(Text<'a>, Text<'a>)> = Vec::with_capacity(32 + r.parts.headers.len());
    fn set<'a>(env: &mut Vec<(Text<'a>, Text<'a>)>, k: Text<'a>, v: Text<'a>) {
        match env.iter_mut().find(|(name, _)| *name == k) {
            Some((_, old)) => *old = v,
            None => env.push((k, v)),
        }
    }
    for (k, v) in r.subprocess_env {
        set(&mut env, Cow::Borrowed(k), Cow::Borrowed(v));
    }

    // ap_add_common_vars: the headers first. Repeated headers are joined with ", " as
    // Apache's request parser merges them.
    let parts: &'a Parts = r.parts;
    for name in parts.headers.keys() {
        let key: Text<'a> = match name.as_str() {
            "content-type" => Cow::Borrowed("CONTENT_TYPE"),
            "content-length" => Cow::Borrowed("CONTENT_LENGTH"),
            "authorization" | "proxy-authorization" if !r.pass_auth => continue,
            "proxy" => continue,
            n => match http_name(n) {
                Some(k) => Cow::Owned(k),
                None => continue,
            },
        };
        // Each name's values come together, and two names never make the same variable.
        let mut values = parts.headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        let mut value = latin1_text(first.as_bytes());
        for more in values {
            let joined = value.to_mut();
            joined.push_str(", ");
            joined.push_str(&latin1_text(more.as_bytes()));
        }
        set(&mut env, key, value);
    }
    // The variables below are all different from each other: each only needs looking for
    // among those set so far (SetEnv and the headers).
    let dynamic = env.len();
    let set = |env: &mut Vec<(Text<'a>, Text<'a>)>, k: &'static str, v: Text<'a>| match env
        [..dynamic]
        .iter_mut()
        .find(|(name, _)| name.as_ref() == k)
    {
        Some((_, old)) => *old = v,
        None => env.push((Cow::Borrowed(k), v)),
    };
    // The server's PATH, read once (Apache reads it at start-up too).
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let path =
        PATH.get_or_init(|| std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string()));
    set(&mut env, "PATH", Cow::Borrowed(path.as_str()));
    set(
        &mut env,
        "SERVER_SIGNATURE",
        Cow::Borrowed(r.server_signature),
    );
    set(
        &mut env,
        "SERVER_SOFTWARE",
        Cow::Borrowed(r.server_software),
    );
    set(&mut env, "SERVER_NAME", Cow::Borrowed(r.server_name));
    set(&mut env, "SERVER_ADDR", Cow::Owned(ip_text(r.local.ip())));
    set(&mut env, "SERVER_PORT", Cow::Owned(decimal(r.server_port)));
    set(&mut env, "REMOTE_ADDR", Cow::Owned(ip_text(r.client.ip())));
    set(&mut env, "DOCUMENT_ROOT", display(r.document_root));
    set(&mut env, "REQUEST_SCHEME", Cow::Borrowed(r.scheme));
    set(&mut env, "CONTEXT_PREFIX", Cow::Borrowed(r.context_prefix));
    set(
        &mut env,
        "CONTEXT_DOCUMENT_ROOT",
        display(r.context_document_root),
    );
    set(&mut env, "SERVER_ADMIN", Cow::Borrowed(r.server_admin));
    set(&mut env, "SCRIPT_FILENAME", display(r.script_filename));
    set(
        &mut env,
        "REMOTE_PORT",
        Cow::Owned(decimal(r.client.port())),
    );
    if let Some(user) = r.remote_user {
        set(&mut env, "REMOTE_USER", Cow::Borrowed(user));
    }
    if let Some(t) = r.auth_type {
        set(&mut env, "AUTH_TYPE", Cow::Borrowed(t));
    }

    // ap_add_cgi_vars.
    set(&mut env, "GATEWAY_INTERFACE", Cow::Borrowed("CGI/1.1"));
    set(
        &mut env,
        "SERVER_PROTOCOL",
        Cow::Borrowed(protocol(parts.version)),
    );
    set(
        &mut env,
        "REQUEST_METHOD",
        Cow::Borrowed(parts.method.as_str()),
    );
    set(
        &mut env,
        "QUERY_STRING",
        Cow::Borrowed(parts.uri.query().unwrap_or("")),
    );
    set(
        &mut env,
        "REQUEST_URI",
        Cow::Borrowed(parts.uri.path_and_query().map_or("/", |p| p.as_str())),
    );
    set(&mut env, "SCRIPT_NAME", Cow::Borrowed(r.script_name));
    if !r.path_info.is_empty() {
        set(&mut env, "PATH_INFO", Cow::Borrowed(r.path_info));
        if let Some(t) = r.path_translated {
            set(&mut env, "PATH_TRANSLATED", display(t));
        }
    }
    env
}

/// The address as `Display` writes it (after `to_canonical`), the usual IPv4 one without
/// the formatting machinery.
fn ip_text(ip: std::net::IpAddr) -> String {
    let mut out = String::with_capacity(15);
    crate::http::log::push_ip(&mut out, ip.to_canonical());
    out
}

fn decimal(n: u16) -> String {
    let mut out = String::with_capacity(5);
    crate::http::log::push_u64(&mut out, u64::from(n));
    out
}

/// A script's answer streamed without a length to an HTTP/1.1 client: hyper chunks it and
/// would add `Transfer-Encoding` after every other header; Apache adds it to the head before
/// the type (mod_cgid and mod_proxy_fcgi alike: the type goes in last), so it is written here,
/// where the head's order puts it.
pub fn chunked_in_apaches_place(resp: &mut http::Response<crate::http::Body>, parts: &Parts) {
    use http::header;
    let status = resp.status().as_u16();
    if parts.version == http::Version::HTTP_11
        && parts.method != http::Method::HEAD
        && status >= 200
        && status != 204
        && status != 304
        && http_body::Body::size_hint(resp.body()).exact().is_none()
        && !resp.headers().contains_key(header::CONTENT_LENGTH)
        && !resp.headers().contains_key(header::TRANSFER_ENCODING)
    {
        resp.headers_mut().insert(
            header::TRANSFER_ENCODING,
            http::HeaderValue::from_static("chunked"),
        );
    }
}

/// `HTTP_` and the name upper-cased with `-` as `_`; `None` when the name has any other
/// character than letters, digits and `-` (Apache's `http2env`).
pub fn http_name(name: &str) -> Option<String> {
    let mut out = Vec::with_capacity(5 + name.len());
    out.extend_from_slice(b"HTTP_");
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b.to_ascii_uppercase());
        } else if b == b'-' {
            out.push(b'_');
        } else {
            return None;
        }
    }
    // Only ASCII letters, digits and `_` were written.
    String::from_utf8(out).ok()
}

/// The request line's protocol as Apache writes it.
pub fn protocol(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

/// Header bytes as a string, one char per byte (as the C API passes them through).
fn latin1_text(bytes: &[u8]) -> Cow<'_, str> {
    // Nearly every value is ASCII: borrowed as it is, no per-character work.
    if bytes.is_ascii() {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(bytes.iter().map(|&b| b as char).collect())
}

/// The variables that hold a decoded URL path or a file path: their values are UTF-8 with the
/// stand-ins of `urlpath` for other bytes, not one character per byte as header values are.
pub fn is_path_var(name: &str) -> bool {
    matches!(
        name,
        "PATH_INFO"
            | "PATH_TRANSLATED"
            | "SCRIPT_NAME"
            | "SCRIPT_FILENAME"
            | "DOCUMENT_ROOT"
            | "CONTEXT_DOCUMENT_ROOT"
            | "CONTEXT_PREFIX"
    )
}

fn display(p: &Path) -> Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    match std::str::from_utf8(p.as_os_str().as_bytes()) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(crate::http::urlpath::from_fs_path(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder()
            .method("POST")
            .uri("/cgi-bin/env.py/a%20b/c?x=1&y=%41");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn request<'a>(parts: &'a Parts, env: &'a [(String, String)]) -> CgiRequest<'a> {
        CgiRequest {
            parts,
            client: "127.0.0.1:40000".parse().unwrap(),
            local: "127.0.0.1:8080".parse().unwrap(),
            server_port: 80,
            server_name: "cgi.localhost",
            server_software: "Apache/2.4.71 (Debian)",
            server_admin: "webmaster@localhost",
            server_signature: "",
            scheme: "http",
            document_root: Path::new("/var/www/html"),
            context_prefix: "/cgi-bin/",
            context_document_root: Path::new("/usr/lib/cgi-bin/"),
            script_filename: Path::new("/usr/lib/cgi-bin/env.py"),
            script_name: "/cgi-bin/env.py",
            path_info: "/a b/c",
            path_translated: Some(Path::new("/var/www/html/a b/c")),
            pass_auth: false,
            remote_user: None,
            auth_type: None,
            subprocess_env: env,
        }
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn rfc_3875_and_apache_variables() {
        let p = parts(&[
            ("Host", "cgi.localhost"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "3"),
            ("X-Uno", "1"),
            ("X-Uno", "2"),
        ]);
        let env = build(&request(&p, &[]));
        for (k, v) in [
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("REQUEST_METHOD", "POST"),
            ("QUERY_STRING", "x=1&y=%41"),
            ("REQUEST_URI", "/cgi-bin/env.py/a%20b/c?x=1&y=%41"),
            ("SCRIPT_NAME", "/cgi-bin/env.py"),
            ("PATH_INFO", "/a b/c"),
            ("PATH_TRANSLATED", "/var/www/html/a b/c"),
            ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
            ("CONTENT_LENGTH", "3"),
            ("HTTP_HOST", "cgi.localhost"),
            ("HTTP_X_UNO", "1, 2"),
            ("SERVER_PORT", "80"),
            ("SERVER_ADDR", "127.0.0.1"),
            ("REMOTE_ADDR", "127.0.0.1"),
            ("REMOTE_PORT", "40000"),
            ("CONTEXT_PREFIX", "/cgi-bin/"),
            ("CONTEXT_DOCUMENT_ROOT", "/usr/lib/cgi-bin/"),
            ("SCRIPT_FILENAME", "/usr/lib/cgi-bin/env.py"),
            ("REQUEST_SCHEME", "http"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ] {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
        assert_eq!(get(&env, "HTTP_CONTENT_TYPE"), None);
        assert_eq!(get(&env, "HTTP_CONTENT_LENGTH"), None);
    }

    #[test]
    fn httpoxy_odd_names_and_authorization() {
        let p = parts(&[
            ("Proxy", "http://evil:1/"),
            ("X_Forwarded_For", "1.2.3.4"),
            ("Authorization", "Basic YTpi"),
        ]);
        let env = build(&request(&p, &[]));
        assert_eq!(get(&env, "HTTP_PROXY"), None);
        assert!(env.iter().all(|(k, _)| k != "HTTP_X_FORWARDED_FOR"));
        assert_eq!(get(&env, "HTTP_AUTHORIZATION"), None);
        let mut r = request(&p, &[]);
        r.pass_auth = true;
        assert_eq!(get(&build(&r), "HTTP_AUTHORIZATION"), Some("Basic YTpi"));
    }

    #[test]
    fn header_bytes_pass_one_char_per_byte_and_names_are_upper_cased() {
        let mut p = parts(&[("X-Ascii", "simple valor")]);
        p.headers.insert(
            "x-latin",
            http::HeaderValue::from_bytes(b"caf\xe9 \xff").unwrap(),
        );
        let env = build(&request(&p, &[]));
        assert_eq!(get(&env, "HTTP_X_ASCII"), Some("simple valor"));
        assert_eq!(get(&env, "HTTP_X_LATIN"), Some("caf\u{e9} \u{ff}"));
        assert_eq!(http_name("x-a1-b").as_deref(), Some("HTTP_X_A1_B"));
        assert_eq!(http_name("x.a"), None);
        assert_eq!(http_name("x\u{e9}"), None);
    }

    #[test]
    fn computed_variables_override_set_env_and_no_path_info_means_none() {
        let p = parts(&[]);
        let own = vec![
            ("MI_VAR".to_string(), "1".to_string()),
            ("SERVER_NAME".to_string(), "falso".to_string()),
        ];
        let mut r = request(&p, &own);
        r.path_info = "";
        let env = build(&r);
        assert_eq!(get(&env, "MI_VAR"), Some("1"));
        assert_eq!(get(&env, "SERVER_NAME"), Some("cgi.localhost"));
        assert_eq!(get(&env, "PATH_INFO"), None);
        assert_eq!(get(&env, "PATH_TRANSLATED"), None);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(names.len(), dedup.len());
    }
}
