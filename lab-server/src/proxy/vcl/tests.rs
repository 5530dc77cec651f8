//! Parser diagnostics (snapshots) and interpreter behaviour per subroutine.

use std::io::Write as _;
use std::net::IpAddr;

use super::interp::{run, Action, BackendRef, Ctx, Host, Msg};
use super::{compile, SubKind, Vcl};
use crate::config::diagnostic::render;

struct NoHost;

impl Host for NoHost {
    fn healthy(&self, _: BackendRef) -> bool {
        true
    }
    fn director_add(&self, _: usize, _: usize, _: f64) {}
    fn ban(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn backend_name(&self, b: BackendRef) -> String {
        format!("{b:?}")
    }
}

const BACKEND: &str = "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8080\"; }\n";

/// Compiles `text` from a real file (so the renderer can show the source line) and returns
/// the program or the rendered diagnostics.
fn load(text: &str) -> Result<Vcl, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.vcl");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    compile(text, &path)
        .map(|(v, _)| v)
        .map_err(|d| render(&d, Some(dir.path())))
}

fn errors(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e,
    }
}

fn req(method: &str, url: &str, headers: &[(&str, &str)]) -> Ctx {
    Ctx {
        req: Msg {
            method: method.into(),
            url: url.into(),
            proto: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Msg::default()
        },
        client_ip: Some(IpAddr::from([127, 0, 0, 1])),
        ..Ctx::default()
    }
}

#[test]
fn builtin_alone_compiles() {
    load(BACKEND).expect("a backend and builtin.vcl compile");
}

#[test]
fn recv_follows_builtin() {
    let vcl = load(BACKEND).unwrap();
    let p = &vcl.program;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Action);
    let cases: &[Case] = &[
        ("GET", &[("Host", "a")], Action::Hash),
        ("HEAD", &[("Host", "a")], Action::Hash),
        ("POST", &[("Host", "a")], Action::Pass),
        ("GET", &[("Host", "a"), ("Cookie", "x=1")], Action::Pass),
        (
            "GET",
            &[("Host", "a"), ("Authorization", "Basic x")],
            Action::Pass,
        ),
        ("PURGE", &[("Host", "a")], Action::Pipe),
        ("GET", &[], Action::Synth(400, None)),
        ("PRI", &[("Host", "a")], Action::Synth(405, None)),
    ];
    for (method, headers, want) in cases {
        let mut ctx = req(method, "/", headers);
        assert_eq!(
            &run(p, SubKind::Recv, &mut ctx, &NoHost),
            want,
            "{method} {headers:?}"
        );
    }
    let mut ctx = req("GET", "/", &[("Host", "WWW.Example.COM")]);
    run(p, SubKind::Recv, &mut ctx, &NoHost);
    assert_eq!(ctx.req.get("host"), Some("www.example.com"));
}

#[test]
fn user_code_runs_before_builtin() {
    let vcl = load(&format!(
        "{BACKEND}sub vcl_recv {{\n  if (req.url ~ \"^/static/\") {{\n    unset req.http.Cookie;\n  }}\n}}\n"
    ))
    .unwrap();
    let mut ctx = req("GET", "/static/a.css", &[("Host", "a"), ("Cookie", "s=1")]);
    assert_eq!(
        run(&vcl.program, SubKind::Recv, &mut ctx, &NoHost),
        Action::Hash
    );
    let mut ctx = req("GET", "/app", &[("Host", "a"), ("Cookie", "s=1")]);
    assert_eq!(
        run(&vcl.program, SubKind::Recv, &mut ctx, &NoHost),
        Action::Pass
    );
}

#[test]
fn hash_uses_url_and_host() {
    let vcl = load(BACKEND).unwrap();
    let mut ctx = req("GET", "/x", &[("Host", "h")]);
    assert_eq!(
        run(&vcl.program, SubKind::Hash, &mut ctx, &NoHost),
        Action::Lookup
    );
    assert_eq!(ctx.hash, vec!["/x".to_string(), "h".to_string()]);
}

#[test]
fn backend_response_marks_hit_for_miss() {
    let vcl = load(BACKEND).unwrap();
    let mut ctx = Ctx {
        ttl: 120.0,
        ..Ctx::default()
    };
    ctx.beresp.status = 200;
    ctx.beresp.set("Set-Cookie", "a=b");
    assert_eq!(
        run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost),
        Action::Deliver
    );
    assert!(ctx.beresp_uncacheable);
    assert_eq!(ctx.ttl, 120.0);

    for cc in ["private", "no-cache", "No-Store"] {
        let mut ctx = Ctx {
            ttl: 300.0,
            ..Ctx::default()
        };
        ctx.beresp.set("Cache-Control", cc);
        run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost);
        assert!(ctx.beresp_uncacheable, "{cc}");
    }
    let mut ctx = Ctx {
        ttl: 300.0,
        ..Ctx::default()
    };
    ctx.beresp.set("Cache-Control", "public, max-age=300");
    run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost);
    assert!(!ctx.beresp_uncacheable);
    let mut ctx = Ctx {
        ttl: 0.0,
        ..Ctx::default()
    };
    run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost);
    assert!(ctx.beresp_uncacheable);
    let mut ctx = Ctx {
        ttl: 10.0,
        ..Ctx::default()
    };
    ctx.beresp.set("Vary", "*");
    run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost);
    assert!(ctx.beresp_uncacheable);
}

#[test]
fn user_ttl_for_images() {
    let vcl = load(&format!(
        "{BACKEND}sub vcl_backend_response {{\n  if (bereq.url ~ \"\\.(png|jpg)$\") {{\n    set beresp.ttl = 1h;\n    return (deliver);\n  }}\n}}\n"
    ))
    .unwrap();
    let mut ctx = Ctx {
        ttl: 120.0,
        ..Ctx::default()
    };
    ctx.bereq.url = "/logo.png".into();
    ctx.beresp.set("Set-Cookie", "a");
    assert_eq!(
        run(&vcl.program, SubKind::BackendResponse, &mut ctx, &NoHost),
        Action::Deliver
    );
    assert_eq!(ctx.ttl, 3600.0);
    assert!(!ctx.beresp_uncacheable, "user return skips builtin");
}

#[test]
fn purge_acl_and_synth() {
    let vcl = load(&format!(
        "{BACKEND}acl purgers {{ \"localhost\"; \"10.0.0.0\"/8; !\"10.0.0.5\"; }}\nsub vcl_recv {{\n  if (req.method == \"PURGE\") {{\n    if (!client.ip ~ purgers) {{\n      return (synth(405, \"No permitido\"));\n    }}\n    return (purge);\n  }}\n}}\n"
    ))
    .unwrap();
    let p = &vcl.program;
    let mut ctx = req("PURGE", "/", &[("Host", "a")]);
    assert_eq!(run(p, SubKind::Recv, &mut ctx, &NoHost), Action::Purge);
    for (ip, want) in [
        ([10, 1, 2, 3], Action::Purge),
        (
            [10, 0, 0, 5],
            Action::Synth(405, Some("No permitido".into())),
        ),
        (
            [192, 168, 1, 1],
            Action::Synth(405, Some("No permitido".into())),
        ),
    ] {
        let mut ctx = req("PURGE", "/", &[("Host", "a")]);
        ctx.client_ip = Some(IpAddr::from(ip));
        assert_eq!(run(p, SubKind::Recv, &mut ctx, &NoHost), want, "{ip:?}");
    }
    assert_eq!(
        run(p, SubKind::Purge, &mut ctx, &NoHost),
        Action::Synth(200, Some("Purged".into()))
    );
}

#[test]
fn synth_builds_guru_meditation_page() {
    let vcl = load(BACKEND).unwrap();
    let mut ctx = req("GET", "/", &[]);
    ctx.xid = 32770;
    ctx.resp.status = 503;
    ctx.resp.reason = "Backend fetch failed".into();
    assert_eq!(
        run(&vcl.program, SubKind::Synth, &mut ctx, &NoHost),
        Action::Deliver
    );
    let body = ctx.body.unwrap();
    assert!(
        body.contains("<title>503 Backend fetch failed</title>"),
        "{body}"
    );
    assert!(body.contains("<p>XID: 32770</p>"));
    assert_eq!(ctx.resp.get("Retry-After"), Some("5"));
}

#[test]
fn deliver_can_add_headers_from_obj_hits() {
    let vcl = load(&format!(
        "{BACKEND}sub vcl_deliver {{\n  if (obj.hits > 0) {{\n    set resp.http.X-Cache = \"HIT (\" + obj.hits + \")\";\n  }} else {{\n    set resp.http.X-Cache = \"MISS\";\n  }}\n  unset resp.http.Server;\n}}\n"
    ))
    .unwrap();
    let mut ctx = Ctx {
        obj_hits: 3,
        ..Ctx::default()
    };
    ctx.resp.set("Server", "Apache");
    run(&vcl.program, SubKind::Deliver, &mut ctx, &NoHost);
    assert_eq!(ctx.resp.get("X-Cache"), Some("HIT (3)"));
    assert_eq!(ctx.resp.get("Server"), None);
}

#[test]
fn regsub_uses_backslash_groups() {
    let vcl = load(&format!(
        "{BACKEND}sub vcl_recv {{\n  set req.url = regsub(req.url, \"\\?.*$\", \"\");\n  set req.http.X-A = regsuball(\"a-b-c\", \"-\", \"+\");\n  set req.http.X-B = regsub(\"hello world\", \"(\\w+) (\\w+)\", \"\\2 \\1\");\n}}\n"
    ))
    .unwrap();
    let mut ctx = req("GET", "/p?utm=1", &[("Host", "a")]);
    run(&vcl.program, SubKind::Recv, &mut ctx, &NoHost);
    assert_eq!(ctx.req.url, "/p");
    assert_eq!(ctx.req.get("X-A"), Some("a+b+c"));
    assert_eq!(ctx.req.get("X-B"), Some("world hello"));
}

#[test]
fn diagnostics_unknown_variable() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_recv {{\n  set req.ulr = \"/\";\n}}\n"
    )));
}

#[test]
fn diagnostics_variable_in_wrong_subroutine() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_recv {{\n  set beresp.ttl = 1h;\n}}\n"
    )));
}

#[test]
fn diagnostics_wrong_return_action() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_recv {{\n  return (lookup);\n}}\n"
    )));
}

#[test]
fn diagnostics_return_in_called_sub() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub cookies {{\n  return (deliver);\n}}\nsub vcl_recv {{\n  call cookies;\n}}\n"
    )));
}

#[test]
fn diagnostics_missing_semicolon_and_version() {
    insta::assert_snapshot!(errors(
        "backend default { .host = \"127.0.0.1\"; .port = \"8080\"; }\n"
    ));
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_recv {{\n  set req.http.X = \"a\"\n}}\n"
    )));
}

#[test]
fn diagnostics_ttl_without_unit() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_backend_response {{\n  set beresp.ttl = 3600;\n}}\n"
    )));
}

#[test]
fn diagnostics_misc() {
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_rcv {{\n}}\nsub unused {{\n}}\nacl nadie {{ \"127.0.0.1\"; }}\n"
    )));
    insta::assert_snapshot!(errors(&format!(
        "{BACKEND}sub vcl_recv {{\n  if (req.url ~ \"(?<=a)b\") {{ return (pass); }}\n}}\n"
    )));
}

#[test]
fn parser_never_panics_on_garbage() {
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&"(vcl 4\\.1;)?[ -~\\n{}\"]{0,200}", |s| {
            let _ = compile(&s, std::path::Path::new("x.vcl"));
            Ok(())
        })
        .unwrap();
    // Prefixes of a real file.
    let full = format!(
        "{BACKEND}acl a {{ \"localhost\"; }}\nsub vcl_recv {{ if (client.ip ~ a && req.url ~ \"x\") {{ return (purge); }} else {{ set req.http.X = \"{{\" + req.url; }} }}\n"
    );
    for i in 0..full.len() {
        if full.is_char_boundary(i) {
            let _ = compile(&full[..i], std::path::Path::new("x.vcl"));
        }
    }
}

#[test]
fn remaining_subroutines_follow_builtin() {
    let vcl = load(BACKEND).unwrap();
    let p = &vcl.program;
    let mut ctx = req("GET", "/", &[("Host", "a")]);
    assert_eq!(run(p, SubKind::Hit, &mut ctx, &NoHost), Action::Deliver);
    assert_eq!(run(p, SubKind::Miss, &mut ctx, &NoHost), Action::Fetch);
    assert_eq!(run(p, SubKind::Pass, &mut ctx, &NoHost), Action::Fetch);
    assert_eq!(run(p, SubKind::Pipe, &mut ctx, &NoHost), Action::Pipe);
    assert_eq!(run(p, SubKind::Init, &mut ctx, &NoHost), Action::Ok);
    // vcl_backend_fetch drops the body of a GET.
    let mut ctx = Ctx::default();
    ctx.bereq.method = "GET".into();
    assert_eq!(
        run(p, SubKind::BackendFetch, &mut ctx, &NoHost),
        Action::Fetch
    );
    assert!(ctx.bereq_body_unset);
    // vcl_backend_error writes the Guru Meditation page into beresp.
    let mut ctx = Ctx {
        bereq_xid: 7,
        ..Ctx::default()
    };
    ctx.beresp.status = 503;
    ctx.beresp.reason = "Backend fetch failed".into();
    assert_eq!(
        run(p, SubKind::BackendError, &mut ctx, &NoHost),
        Action::Deliver
    );
    assert!(ctx.body.unwrap().contains("<p>XID: 7</p>"));
    // bereq.uncacheable (a pass) skips the hit-for-miss rules.
    let mut ctx = Ctx {
        bereq_uncacheable: true,
        ttl: 0.0,
        ..Ctx::default()
    };
    run(p, SubKind::BackendResponse, &mut ctx, &NoHost);
    assert!(!ctx.beresp_uncacheable);
}

#[test]
fn user_subroutines_can_return_in_hit_miss_and_pass() {
    let vcl = load(&format!(
        "{BACKEND}sub vcl_hit {{\n  if (obj.ttl < 0s) {{ return (pass); }}\n}}\nsub vcl_miss {{\n  if (req.url ~ \"^/nocache\") {{ return (pass); }}\n}}\nsub vcl_pass {{\n  if (req.url == \"/teapot\") {{ return (synth(418)); }}\n}}\n"
    ))
    .unwrap();
    let p = &vcl.program;
    let mut ctx = req("GET", "/x", &[]);
    ctx.obj_ttl = -3.0;
    assert_eq!(run(p, SubKind::Hit, &mut ctx, &NoHost), Action::Pass);
    ctx.obj_ttl = 30.0;
    assert_eq!(run(p, SubKind::Hit, &mut ctx, &NoHost), Action::Deliver);
    let mut ctx = req("GET", "/nocache/a", &[]);
    assert_eq!(run(p, SubKind::Miss, &mut ctx, &NoHost), Action::Pass);
    let mut ctx = req("GET", "/teapot", &[]);
    assert_eq!(
        run(p, SubKind::Pass, &mut ctx, &NoHost),
        Action::Synth(418, None)
    );
}

#[test]
fn std_functions_and_string_operators() {
    let vcl = load(&format!(
        "{BACKEND}import std;\nsub vcl_recv {{\n  set req.http.X-Low = std.tolower(\"AbC\");\n  set req.http.X-N = std.integer(\"41\", 0) + 1;\n  set req.http.X-D = std.duration(\"2m\", 0s);\n  std.log(\"visto \" + req.url);\n  set req.http.X-Cat = \"a\" + req.http.missing + \"b\";\n  if (req.http.User-Agent !~ \"curl\") {{ set req.http.X-Not = \"yes\"; }}\n}}\n"
    ))
    .unwrap();
    let mut ctx = req("GET", "/u", &[("Host", "a"), ("User-Agent", "firefox")]);
    run(&vcl.program, SubKind::Recv, &mut ctx, &NoHost);
    assert_eq!(ctx.req.get("X-Low"), Some("abc"));
    assert_eq!(ctx.req.get("X-N"), Some("42"));
    assert_eq!(ctx.req.get("X-D"), Some("120.000"));
    assert_eq!(ctx.req.get("X-Cat"), Some("ab"));
    assert_eq!(ctx.req.get("X-Not"), Some("yes"));
    assert_eq!(ctx.log, vec!["visto /u".to_string()]);
}

/// Fuzzing with VCL's own vocabulary: token soups reach far deeper into the parser and the
/// checks than random bytes. Nothing may panic; everything either compiles or gets errors.
#[test]
fn parser_never_panics_on_vcl_token_soup() {
    use proptest::prelude::*;
    const WORDS: &[&str] = &[
        "vcl 4.1;",
        "backend",
        "default",
        "{",
        "}",
        "(",
        ")",
        ";",
        ",",
        ".",
        "=",
        "==",
        "!=",
        "~",
        "!~",
        "&&",
        "||",
        "!",
        "+",
        "-",
        "*",
        "/",
        "+=",
        ".host",
        ".port",
        ".probe",
        "\"127.0.0.1\"",
        "\"8080\"",
        "sub",
        "vcl_recv",
        "vcl_deliver",
        "vcl_backend_response",
        "vcl_init",
        "vcl_hash",
        "if",
        "elsif",
        "else",
        "set",
        "unset",
        "return",
        "call",
        "new",
        "hash",
        "pass",
        "purge",
        "synth",
        "deliver",
        "lookup",
        "req.url",
        "req.http.Cookie",
        "beresp.ttl",
        "resp.http.X",
        "client.ip",
        "obj.hits",
        "acl",
        "a",
        "\"localhost\"",
        "1h",
        "0s",
        "42",
        "3.5",
        "true",
        "regsub",
        "regsuball",
        "hash_data",
        "ban",
        "std.log",
        "import",
        "std",
        "directors",
        "directors.round_robin",
        "rr",
        "rr.backend",
        "rr.add_backend",
        "probe",
        "p",
        ".url",
        "{\"x\"}",
        "\"(unclosed\"",
        "\"[a-z]+\"",
        "#c\n",
        "/* c */",
        "\n",
    ];
    let word = prop::sample::select(WORDS);
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 2000,
        ..Default::default()
    });
    runner
        .run(&prop::collection::vec(word, 0..60), |words| {
            let text = words.join(" ");
            let _ = compile(&text, std::path::Path::new("soup.vcl"));
            let _ = compile(
                &format!("vcl 4.1;\n{BACKEND}{text}"),
                std::path::Path::new("soup.vcl"),
            );
            Ok(())
        })
        .unwrap();
}

/// Patterns that Debian's varnishd 7.1 accepts (`varnishd -C` exits 0 for each) and the lab's
/// engine does not: configtest names the construct and how to write it without.
#[test]
fn pcre_only_constructs_are_named_at_load_time() {
    for (pattern, named) in [
        ("^/(?!admin)", "look-ahead"),
        ("(?<=/img)/x", "look-behind"),
        ("^/(a)\\1$", "referencia hacia atrás"),
        ("^/(?>ab|a)c", "grupo atómico"),
        ("^/a++b", "cuantificador posesivo"),
        ("^/x\\Z", "`\\Z`"),
    ] {
        let e = errors(&format!(
            "{BACKEND}sub vcl_recv {{\n  if (req.url ~ \"{pattern}\") {{ return (pass); }}\n}}\n"
        ));
        assert!(e.contains(named), "{pattern}: {e}");
        assert!(e.contains("Varnish (PCRE2) la acepta"), "{pattern}: {e}");
        assert!(
            e.contains("default.vcl:4:17"),
            "{pattern} names its place: {e}"
        );
    }
}

#[test]
fn escaped_plus_and_classes_are_not_possessive() {
    for pattern in ["^\\++$", "[+]+", "^/a+b", "x{2}", "[a*+]"] {
        load(&format!(
            "{BACKEND}sub vcl_recv {{\n  if (req.url ~ \"{pattern}\") {{ return (pass); }}\n}}\n"
        ))
        .unwrap_or_else(|e| panic!("{pattern}: {e}"));
    }
}
