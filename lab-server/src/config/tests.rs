//! Tests of the whole configuration pipeline on small workspaces written by each test, and
//! the snapshot corpus of broken configurations.

use super::diagnostic::render;
use super::model::*;
use super::*;
use crate::workspace::{settings_text, Settings, Workspace};

const MODS: &str = "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so\n\
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n\
LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so\n\
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so\n\
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so\n\
LoadModule autoindex_module /usr/lib/apache2/modules/mod_autoindex.so\n";

const MAIN: &str = "ServerName localhost\n\
ErrorLog ${APACHE_LOG_DIR}/error.log\n\
IncludeOptional mods-enabled/*.load\n\
Include ports.conf\n\
<Directory />\n\
\tOptions FollowSymLinks\n\
\tAllowOverride None\n\
\tRequire all denied\n\
</Directory>\n\
<Directory /var/www/>\n\
\tOptions Indexes FollowSymLinks\n\
\tRequire all granted\n\
</Directory>\n\
<FilesMatch \"^\\.ht\">\n\
\tRequire all denied\n\
</FilesMatch>\n\
LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined\n\
IncludeOptional sites-enabled/*.conf\n";

const SITE: &str = "<VirtualHost *:80>\n\
\tServerAdmin webmaster@localhost\n\
\tDocumentRoot /var/www/html\n\
\tErrorLog ${APACHE_LOG_DIR}/error.log\n\
\tCustomLog ${APACHE_LOG_DIR}/access.log combined\n\
</VirtualHost>\n";

/// A minimal workspace; `files` are (path under etc/apache2, content) written over it.
fn workspace(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let settings = Settings {
        student: "prueba".into(),
        ..Settings::default()
    };
    std::fs::write(root.join("lab.toml"), settings_text(&settings)).unwrap();
    std::fs::create_dir_all(root.join("var/www/html")).unwrap();
    std::fs::create_dir_all(root.join("var/log/apache2")).unwrap();
    let base: [(&str, &str); 5] = [
        ("apache2.conf", MAIN),
        ("envvars", "export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n"),
        ("ports.conf", "Listen 80\n"),
        ("mods-enabled/base.load", MODS),
        ("sites-enabled/000-default.conf", SITE),
    ];
    for (path, text) in base.iter().chain(files.iter()) {
        let p = root.join("etc/apache2").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let ws = Workspace::open(root).unwrap();
    (dir, ws)
}

fn errors_of(files: &[(&str, &str)]) -> String {
    let (dir, ws) = workspace(files);
    match load(&ws) {
        Ok(l) => panic!("the configuration loaded, warnings: {:?}", l.warnings),
        Err(diags) => render(&diags, Some(dir.path())),
    }
}

fn loads(files: &[(&str, &str)]) -> (tempfile::TempDir, Loaded) {
    let (dir, ws) = workspace(files);
    match load(&ws) {
        Ok(l) => (dir, l),
        Err(d) => panic!("{}", render(&d, Some(dir.path()))),
    }
}

#[test]
fn debian_like_configuration_builds_the_expected_model() {
    let (dir, loaded) = loads(&[]);
    let c = &loaded.config;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(c.mpm.kind, MpmKind::Event);
    assert!(c.has_module("alias") && c.has_module("log_config"));
    assert_eq!(c.listens.len(), 1);
    assert_eq!(c.listens[0].port, 80);
    assert_eq!(c.listens[0].bind.ip().to_string(), "127.0.0.1");
    assert_eq!(c.vhosts.len(), 1);
    let v = &c.vhosts[0];
    assert_eq!(
        v.addrs,
        vec![VhostAddr {
            ip: None,
            port: Some(80)
        }]
    );
    let root = v.host.document_root.as_ref().unwrap();
    assert_eq!(root.written, "/var/www/html");
    assert_eq!(root.path, dir.path().join("var/www/html"));
    assert_eq!(
        v.host.custom_logs[0].path.path,
        dir.path().join("var/log/apache2/access.log")
    );
    assert!(v.host.custom_logs[0]
        .format
        .starts_with("%h %l %u %t \"%r\""));
    let sections = &c.main.sections;
    assert!(matches!(sections[0].pattern, SectionPattern::Root));
    assert_eq!(sections[0].config.require, Some(RequireExpr::All(false)));
    assert_eq!(
        sections[1]
            .config
            .options
            .unwrap()
            .apply(OptionSet::DEFAULT),
        OptionSet::INDEXES.union(OptionSet::FOLLOW_SYMLINKS)
    );
    assert_eq!(sections[2].kind, SectionKind::FilesMatch);
}

#[test]
fn ifmodule_define_and_variables_are_evaluated_in_order() {
    let (_d, loaded) = loads(&[(
        "sites-enabled/001-x.conf",
        "Define SITIO x.localhost\n<IfModule mod_alias.c>\n<VirtualHost *:80>\nServerName ${SITIO}\n</VirtualHost>\n</IfModule>\n<IfModule !alias_module>\nDirectiveThatWouldFail\n</IfModule>\n<IfModule rewrite_module>\nRewriteEngine On\n</IfModule>\n<IfDefine SITIO>\nTimeout 42\n</IfDefine>\n<IfVersion >= 2.4>\nKeepAliveTimeout 7\n</IfVersion>\n",
    )]);
    let c = &loaded.config;
    assert_eq!(c.vhosts[1].host.server_name.as_deref(), Some("x.localhost"));
    assert_eq!(c.timeout.as_secs(), 42);
    assert_eq!(c.keep_alive.timeout.as_secs(), 7);
}

#[test]
fn require_blocks_and_lines_combine_like_apache() {
    let (_d, loaded) = loads(&[(
        "sites-enabled/002.conf",
        "<Location /privado>\nRequire ip 10.0.0.0/8\nRequire local\n</Location>\n<Location /mixto>\n<RequireAll>\nRequire all granted\nRequire not ip 192.168.1\n</RequireAll>\n</Location>\n",
    )]);
    let s = &loaded.config.main.sections;
    let privado = s
        .iter()
        .find(|s| matches!(&s.pattern, SectionPattern::Path(p) if p.written == "/privado"))
        .unwrap();
    assert!(matches!(&privado.config.require, Some(RequireExpr::AnyOf(v)) if v.len() == 2));
    let mixto = s
        .iter()
        .find(|s| matches!(&s.pattern, SectionPattern::Path(p) if p.written == "/mixto"))
        .unwrap();
    match &mixto.config.require {
        Some(RequireExpr::AllOf(v)) => assert!(matches!(&v[1], RequireExpr::Not(_))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn privileged_ports_are_mapped_with_the_offset() {
    let (dir, ws) = workspace(&[]);
    let mut ws = ws;
    ws.settings.map_privileged_ports = crate::workspace::PortMapping::Always;
    ws.settings.privileged_port_offset = 20000;
    let c = load(&ws).unwrap().config;
    assert_eq!(c.listens[0].bind.port(), 20080);
    assert!(c.listens[0].is_mapped());
    drop(dir);
}

#[test]
fn missing_document_root_is_a_warning_naming_both_paths() {
    let (_d, loaded) = loads(&[(
        "sites-enabled/003.conf",
        "<VirtualHost *:80>\nServerName y.localhost\nDocumentRoot /var/www/noexiste\n</VirtualHost>\n",
    )]);
    let w = render(&loaded.warnings, None);
    assert!(
        w.contains("/var/www/noexiste") && w.contains("var/www/noexiste"),
        "{w}"
    );
}

// The corpus of broken configurations: each must fail with a message that names the file,
// line and column, and helps.

#[test]
fn corpus_typo_in_directive() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<VirtualHost *:80>\n    DocumentRot /var/www/html\n</VirtualHost>\n"
    )]));
}

#[test]
fn corpus_unclosed_section() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<VirtualHost *:80>\n    DocumentRoot /var/www/html\n    <Directory /var/www/html>\n        Require all granted\n</VirtualHost>\n"
    )]));
}

#[test]
fn corpus_wrong_context() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<VirtualHost *:80>\n    Listen 8080\n    <Directory /var/www/html>\n        DocumentRoot /var/www/html\n    </Directory>\n</VirtualHost>\n"
    )]));
}

#[test]
fn corpus_missing_include_file() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "Include conf-available/no-existe.conf\n"
    )]));
}

#[test]
fn corpus_bad_require() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<Directory /var/www/html>\n    Require all allowed\n    Require ip 300.1.2.3\n    Require usuario pepe\n</Directory>\n"
    )]));
}

#[test]
fn corpus_options_mixing_signed_and_unsigned() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<Directory /var/www/html>\n    Options +Indexes FollowSymLinks\n</Directory>\n"
    )]));
}

#[test]
fn corpus_two_mpms() {
    insta::assert_snapshot!(errors_of(&[(
        "mods-enabled/mpm_prefork.load",
        "# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n"
    )]));
}

#[test]
fn corpus_listen_twice() {
    insta::assert_snapshot!(errors_of(&[(
        "ports.conf",
        "Listen 80\nListen 8080\nListen 80\n"
    )]));
}

#[test]
fn corpus_undefined_variable() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<VirtualHost *:80>\n    CustomLog ${APACHE_LOGDIR}/access.log combined\n</VirtualHost>\n"
    )]));
}

#[test]
fn corpus_module_not_loaded_and_not_implemented() {
    insta::assert_snapshot!(errors_of(&[(
        "sites-enabled/000-default.conf",
        "<VirtualHost *:80>\n    Header set X-Curso lab\n    RewriteEngine On\n    WSGIScriptAlias / /var/www/app.wsgi\n</VirtualHost>\n"
    )]));
}

#[test]
fn corpus_several_errors_in_several_files_are_reported_together() {
    let out = errors_of(&[
        ("ports.conf", "Listen 80\nListen ochenta\n"),
        ("sites-enabled/000-default.conf", "ServerNmae x\n"),
    ]);
    assert!(out.contains("ports.conf:2:8"), "{out}");
    assert!(out.contains("sites-enabled/000-default.conf:1:1"), "{out}");
    assert!(out.contains("2 errores"), "{out}");
}

/// A site written for Debian's mod_wsgi 4.9 with options and directives the lab does not
/// apply: it loads, with one warning naming each; what mod_wsgi itself refuses stays an error.
#[test]
fn every_mod_wsgi_directive_and_option_loads_with_a_warning_when_ignored() {
    let wsgi = (
        "mods-enabled/wsgi.load",
        "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so\n",
    );
    let site = "WSGISocketPrefix /var/run/wsgi\nWSGIRestrictEmbedded On\n\
<VirtualHost *:80>\n\
ServerName app.localhost\n\
WSGIDaemonProcess app processes=1 threads=4 user=www-data home=/var/www graceful-timeout=15 queue-timeout=45 socket-timeout=60\n\
WSGIScriptAlias / /var/www/app.wsgi process-group=app application-group=%{GLOBAL} callable-object=app pass-authorization=On\n\
WSGIChunkedRequest On\n\
WSGIPassAuthorization On\n\
WSGIErrorOverride On\n\
</VirtualHost>\n";
    let (_d, loaded) = loads(&[wsgi, ("sites-enabled/app.conf", site)]);
    let w = render(&loaded.warnings, None);
    for name in [
        "WSGISocketPrefix",
        "WSGIRestrictEmbedded",
        "graceful-timeout=",
        "queue-timeout=",
        "socket-timeout=",
        "WSGIErrorOverride",
    ] {
        assert!(
            w.contains(&format!("`{name}")),
            "falta el aviso de {name}:\n{w}"
        );
    }
    assert!(!w.contains("`home="), "{w}");
    let v = &loaded
        .config
        .vhosts
        .iter()
        .find(|v| v.host.server_name.as_deref() == Some("app.localhost"))
        .unwrap()
        .host;
    assert_eq!(v.wsgi_aliases[0].callable_object.as_deref(), Some("app"));
    assert_eq!(v.wsgi_aliases[0].pass_authorization, Some(true));
    assert_eq!(v.defaults.wsgi.chunked_request, Some(true));
    assert_eq!(v.defaults.wsgi.pass_authorization, Some(true));
    let d = &loaded.config.wsgi.daemons[0];
    assert!(d.multiprocess && d.home.is_some());

    let e = errors_of(&[
        wsgi,
        (
            "sites-enabled/app.conf",
            "WSGIDaemonProcess app proceses=2\nWSGIScriptAlias / /var/www/app.wsgi callable=app\n",
        ),
    ]);
    assert!(
        e.contains("proceses") && e.contains("¿Quisiste decir `processes`?"),
        "{e}"
    );
    assert!(
        e.contains("opción no válida de WSGIScriptAlias: `callable=app`"),
        "{e}"
    );
}

#[test]
fn missing_main_file_is_reported_without_panic() {
    let (dir, ws) = workspace(&[]);
    std::fs::remove_file(dir.path().join("etc/apache2/apache2.conf")).unwrap();
    let d = load(&ws).unwrap_err();
    assert!(render(&d, None).contains("apache2.conf"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "<VirtualHost",
        "</VirtualHost>",
        "<Directory",
        "</Directory>",
        "<Location",
        "</Location>",
        "<IfModule",
        "</IfModule>",
        "<RequireAll>",
        "</RequireAll>",
        "Require",
        "all",
        "granted",
        "ip",
        "not",
        "Options",
        "+Indexes",
        "-FollowSymLinks",
        "None",
        "Listen",
        "80",
        "*:80",
        "DocumentRoot",
        "/var/www/html",
        "Alias",
        "/x",
        "ServerName",
        "Include",
        "${A}",
        "Define",
        "A",
        "Header",
        "set",
        "ErrorDocument",
        "404",
        "Redirect",
        "gone",
        "~",
        "\"^\\.ht\"",
        "(",
        ">",
        "\\",
        "\"",
        "LogFormat",
        "%h",
        "CustomLog",
        "ExpiresByType",
        "\"access plus 1 day\"",
        "AliasMatch",
        "^/(.*)$",
        "$1",
        "Timeout",
        "-1",
        "\n",
        "\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever a student writes in a site file, loading reports and never panics.
        #[test]
        fn loading_any_site_file_never_panics(words in proptest::collection::vec(0..WORDS.len(), 0..60)) {
            let text: String = words.iter().map(|i| WORDS[*i]).collect::<Vec<_>>().join(" ");
            let (dir, ws) = workspace(&[("sites-enabled/zz.conf", &text)]);
            match load(&ws) {
                Ok(_) => {}
                Err(d) => {
                    prop_assert!(!d.is_empty());
                    let shown = render(&d, Some(dir.path()));
                    prop_assert!(shown.contains("error"));
                }
            }
        }
    }
}
