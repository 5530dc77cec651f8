//! Per-directory directives (those that may appear in `<Directory>`, `<Location>`, `<Files>`,
//! and at server or vhost level as defaults) -> [`DirConfig`] fields.

use std::net::IpAddr;
use std::time::Duration;

use super::diagnostic::{suggest, Diagnostic, Span};
use super::model::{
    AccessOrder, DirConfig, EnvOp, EnvSource, ErrorDocument, HeaderAction, HeaderOp, IpNet,
    MethodFilter, OptionSet, OptionsDirective, PhpSetting, Redirect, RequireExpr, ServerSignature,
    SetEnvIf,
};
use super::syntax::{Arg, Node};

/// Collects diagnostics while reading directives.
pub(crate) type Diags = Vec<Diagnostic>;

fn err(diags: &mut Diags, span: &Span, msg: impl Into<String>) -> Diagnostic {
    let d = Diagnostic::error(Some(span.clone()), msg);
    diags.push(d.clone());
    d
}

fn err_hint(diags: &mut Diags, span: &Span, msg: impl Into<String>, hint: impl Into<String>) {
    diags.push(Diagnostic::error(Some(span.clone()), msg).with_hint(hint));
}

/// Applies one per-directory directive to `conf`. Returns false when the directive is not a
/// per-directory one (the caller handles it).
pub(crate) fn apply(node: &Node, conf: &mut DirConfig, diags: &mut Diags) -> bool {
    apply_in(node, conf, diags, None)
}

/// [`apply`] for a directive inside a `<Limit>`/`<LimitExcept>` block (`limit`): access rules
/// then apply to its methods only; anything else applies to every method, as in Apache.
pub(crate) fn apply_in(
    node: &Node,
    conf: &mut DirConfig,
    diags: &mut Diags,
    limit: Option<&MethodFilter>,
) -> bool {
    let a = &node.args;
    match node.key().as_str() {
        "options" => {
            if let Some(o) = parse_options(a, diags) {
                conf.options = Some(match conf.options {
                    // Two Options lines in one section: the later one applies over the first.
                    Some(prev) if o.set.is_none() => OptionsDirective {
                        set: prev.set,
                        add: OptionSet((prev.add.0 & !o.remove.0) | o.add.0),
                        remove: OptionSet((prev.remove.0 & !o.add.0) | o.remove.0),
                    },
                    _ => o,
                });
            }
        }
        "require" => {
            if let Some(expr) = parse_require(node, diags) {
                add_require_checked(conf, limited(expr, limit), &node.span, diags);
            }
        }
        "order" | "allow" | "deny" | "satisfy" => parse_access_compat(node, conf, diags, limit),
        "serversignature" => {
            conf.server_signature = match a[0].text.to_ascii_lowercase().as_str() {
                "on" => Some(ServerSignature::On),
                "off" => Some(ServerSignature::Off),
                "email" => Some(ServerSignature::EMail),
                _ => {
                    err_hint(
                        diags,
                        &a[0].span,
                        format!("`ServerSignature` admite On, Off o EMail, no `{}`", a[0].text),
                        "Debian pone `ServerSignature On` en conf-available/security.conf",
                    );
                    return true;
                }
            };
        }
        "php_value" | "php_flag" | "php_admin_value" | "php_admin_flag" => {
            let key = node.key();
            let value = if key.ends_with("flag") {
                match on_off(&a[1], diags) {
                    Some(true) => "1".to_string(),
                    Some(false) => "0".to_string(),
                    None => return true,
                }
            } else if a[1].text.eq_ignore_ascii_case("none") {
                String::new()
            } else {
                a[1].text.clone()
            };
            conf.php.push(PhpSetting {
                name: a[0].text.clone(),
                value,
                admin: key.starts_with("php_admin"),
            });
        }
        "directoryindex" => {
            let list: Vec<String> = a.iter().map(|x| x.text.clone()).collect();
            conf.directory_index = Some(
                if list.len() == 1 && list[0].eq_ignore_ascii_case("disabled") {
                    Vec::new()
                } else {
                    list
                },
            );
        }
        "errordocument" => parse_error_document(a, conf, diags),
        "header" => {
            if let Some(h) = parse_header(node, diags) {
                conf.headers.push(h);
            }
        }
        "expiresactive" => conf.expires_active = on_off(&a[0], diags),
        "expiresbytype" => {
            if let Some(d) = parse_expires(&a[1], diags) {
                conf.expires_by_type
                    .insert(a[0].text.to_ascii_lowercase(), d);
            }
        }
        "expiresdefault" => conf.expires_default = parse_expires(&a[0], diags),
        "addtype" => {
            for ext in &a[1..] {
                conf.add_types.insert(ext_key(&ext.text), a[0].text.clone());
            }
        }
        "addhandler" => {
            for ext in &a[1..] {
                conf.add_handlers
                    .insert(ext_key(&ext.text), a[0].text.clone());
            }
        }
        "forcetype" => conf.force_type = Some(a[0].text.clone()),
        "addlanguage" => {
            for ext in &a[1..] {
                conf.add_languages
                    .insert(ext_key(&ext.text), a[0].text.clone());
            }
        }
        "addcharset" => {
            for ext in &a[1..] {
                conf.add_charsets
                    .insert(ext_key(&ext.text), a[0].text.to_ascii_lowercase());
            }
        }
        "removetype" => {
            for ext in a {
                let key = ext_key(&ext.text);
                conf.add_types.remove(&key);
                conf.remove_types.push(key);
            }
        }
        "adddefaultcharset" => {
            conf.default_charset = Some(match a[0].text.to_ascii_lowercase().as_str() {
                "on" => "iso-8859-1".to_string(),
                "off" => String::new(),
                _ => a[0].text.clone(),
            })
        }
        "sethandler" => conf.set_handler = Some(a[0].text.clone()),
        k if k.starts_with("wsgi") => return super::wsgi::apply_dir(node, &mut conf.wsgi, diags),
        "indexoptions" => {
            conf.index_options
                .get_or_insert_with(Vec::new)
                .extend(a.iter().map(|x| x.text.clone()));
        }
        "setenvif" | "setenvifnocase" | "browsermatch" | "browsermatchnocase" => {
            if let Some(rule) = parse_setenvif(node, diags) {
                conf.set_env_if.push(rule);
            }
        }
        "allowoverride" => {
            conf.allow_override_none = Some(a.len() == 1 && a[0].text.eq_ignore_ascii_case("none"));
            conf.allow_override = Some(crate::http::htaccess::Override::parse(a));
            conf.allow_override_opts = Some(OptionSet::EVERY);
            for x in a {
                if let Some((word, list)) = x.text.split_once('=') {
                    if word.eq_ignore_ascii_case("options") {
                        let mut opts = OptionSet::NONE;
                        for name in list.split(',') {
                            match OPTION_NAMES
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(name) && *n != "None")
                            {
                                Some((_, flag)) => opts = opts.union(*flag),
                                None => err_hint(
                                    diags,
                                    &x.span,
                                    format!("opción no válida `{name}` en `AllowOverride Options=`"),
                                    "una lista separada por comas, sin espacios: `AllowOverride Options=Indexes,MultiViews` (Apache dice «Illegal option»)",
                                ),
                            }
                        }
                        conf.allow_override_opts = Some(opts);
                    }
                }
                const KINDS: &[&str] = &[
                    "All",
                    "None",
                    "AuthConfig",
                    "FileInfo",
                    "Indexes",
                    "Limit",
                    "Options",
                ];
                let word = x.text.split('=').next().unwrap_or("");
                if !KINDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                    let mut msg = format!("valor no válido para AllowOverride: `{}`", x.text);
                    if let Some(s) = suggest(word, KINDS.iter().copied()) {
                        msg.push_str(&format!(" (¿quisiste decir `{s}`?)"));
                    }
                    err(diags, &x.span, msg);
                }
            }
        }
        "allowoverridelist" => {
            conf.allow_override_list = Some(
                if a.len() == 1 && a[0].text.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    a.iter().map(|x| x.text.to_ascii_lowercase()).collect()
                },
            );
        }
        "proxyfcgisetenvif" => {
            if let Some(rule) = parse_fcgi_set_env(node, diags) {
                conf.fcgi_set_env.push(rule);
            }
        }
        "redirect" | "redirectmatch" | "redirectpermanent" | "redirecttemp" => {
            if let Some(r) = parse_redirect(node, true, diags) {
                conf.redirects.push(r);
            }
        }
        "acceptpathinfo" => {
            conf.accept_path_info = match a[0].text.to_ascii_lowercase().as_str() {
                "on" => Some(true),
                "off" => Some(false),
                "default" => None,
                _ => {
                    err_hint(
                        diags,
                        &a[0].span,
                        format!("valor no válido para AcceptPathInfo: `{}`", a[0].text),
                        "escribe On, Off o Default",
                    );
                    None
                }
            }
        }
        "cgipassauth" => conf.cgi_pass_auth = on_off(&a[0], diags),
        "cgidscripttimeout" => {
            let t = a[0].text.to_ascii_lowercase();
            let (num, ms) = match t.strip_suffix("ms") {
                Some(n) => (n, true),
                None => (t.strip_suffix('s').unwrap_or(&t), false),
            };
            match num.parse::<u64>() {
                Ok(n) if n > 0 => {
                    conf.cgid_script_timeout = Some(if ms {
                        Duration::from_millis(n)
                    } else {
                        Duration::from_secs(n)
                    })
                }
                _ => err_hint(
                    diags,
                    &a[0].span,
                    format!("tiempo no válido para CGIDScriptTimeout: `{}`", a[0].text),
                    "escribe segundos (`30`) o milisegundos (`500ms`)",
                ),
            }
        }
        "setenv" => conf.env.push(EnvOp::Set(
            a[0].text.clone(),
            a.get(1).map(|v| v.text.clone()).unwrap_or_default(),
        )),
        "unsetenv" => conf
            .env
            .extend(a.iter().map(|v| EnvOp::Unset(v.text.clone()))),
        "passenv" => conf
            .env
            .extend(a.iter().map(|v| EnvOp::Pass(v.text.clone()))),
        "action" => {
            let virt = match a.get(2) {
                None => false,
                Some(v) if v.text.eq_ignore_ascii_case("virtual") => true,
                Some(v) => {
                    err_hint(
                        diags,
                        &v.span,
                        format!("tercer argumento de Action no válido: `{}`", v.text),
                        "el único modificador es `virtual`",
                    );
                    false
                }
            };
            if !a[1].text.starts_with('/') {
                err_hint(
                    diags,
                    &a[1].span,
                    format!(
                        "el programa de Action debe ser una URL local: `{}`",
                        a[1].text
                    ),
                    "escribe la ruta URL del CGI, por ejemplo `/cgi-bin/procesa.py`",
                );
            } else {
                conf.actions
                    .insert(a[0].text.to_ascii_lowercase(), (a[1].text.clone(), virt));
            }
        }
        "limitrequestbody" => match a[0].text.parse::<u64>() {
            Ok(n) if n <= 2_147_483_647 => conf.limit_request_body = Some(n),
            _ => err_hint(
                diags,
                &a[0].span,
                format!("`{}` no es un límite válido para LimitRequestBody", a[0].text),
                "un número de bytes entre 0 (sin límite) y 2147483647, por ejemplo `LimitRequestBody 1048576`",
            ),
        },
        // Accepted and recorded by Apache; they change nothing the lab serves.
        "scriptlog"
        | "scriptloglength"
        | "scriptlogbuffer"
        | "scriptsock"
        | "fileetag"
        | "enablemmap"
        | "enablesendfile"
        | "hostnamelookups"
        | "usecanonicalname"
        | "loglevel"
        | "directoryslash"
        | "fallbackresource"
        | "addencoding"
        | "addinputfilter"
        | "addoutputfilter"
        | "defaultlanguage"
        | "removehandler"
        | "multiviewsmatch"
        | "indexignore"
        | "indexignorereset"
        | "indexorderdefault"
        | "indexstylesheet"
        | "indexheadinsert"
        | "addicon"
        | "addiconbytype"
        | "addiconbyencoding"
        | "addalt"
        | "addaltbytype"
        | "addaltbyencoding"
        | "adddescription"
        | "defaulticon"
        | "headername"
        | "readmename"
        | "authmerging"
        | "authzsendforbiddenonfailure"
        | "defaulttype" => {}
        _ => return false,
    }
    true
}

/// [`add_require`] after mod_authz_core's check: a section's rules form a `<RequireAny>`, where
/// a negative rule or a `<RequireNone>` can never grant, so Apache refuses them there.
pub(crate) fn add_require_checked(
    conf: &mut DirConfig,
    expr: RequireExpr,
    span: &Span,
    diags: &mut Diags,
) {
    if negative_in_any(&expr, span, diags) {
        add_require(conf, expr);
    }
}

/// False (and an error) for a rule that has no effect inside `<RequireAny>`.
fn negative_in_any(expr: &RequireExpr, span: &Span, diags: &mut Diags) -> bool {
    let inner = match expr {
        RequireExpr::Limited(_, inner) => inner,
        e => e,
    };
    let (what, alone, apache) = match inner {
        RequireExpr::Not(_) => (
            "una regla negativa (`Require not ...`)",
            "sola",
            "negative Require directive has no effect in <RequireAny> directive",
        ),
        RequireExpr::NoneOf(_) => (
            "un bloque `<RequireNone>`",
            "solo",
            "<RequireNone> directive has no effect in <RequireAny> directive",
        ),
        _ => return true,
    };
    err_hint(
        diags,
        span,
        format!("{what} no puede conceder acceso por sí {alone}: aquí no tiene efecto"),
        format!("las reglas de una sección (o de `<RequireAny>`) se combinan con «o»; ponla en un `<RequireAll>` junto a una regla positiva, p. ej. `Require all granted` (Apache dice «{apache}»)"),
    );
    false
}

/// Adds a `Require` line or block to a section: several of them mean "any of them".
pub(crate) fn add_require(conf: &mut DirConfig, expr: RequireExpr) {
    conf.require = Some(match conf.require.take() {
        None => expr,
        // Flattening into an existing `AnyOf` keeps the same meaning.
        Some(RequireExpr::AnyOf(mut v)) => {
            v.push(expr);
            RequireExpr::AnyOf(v)
        }
        Some(prev) => RequireExpr::AnyOf(vec![prev, expr]),
    });
}

fn ext_key(ext: &str) -> String {
    ext.trim_start_matches('.').to_ascii_lowercase()
}

pub(crate) fn on_off(arg: &Arg, diags: &mut Diags) -> Option<bool> {
    match arg.text.to_ascii_lowercase().as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => {
            err_hint(
                diags,
                &arg.span,
                format!("se esperaba `On` u `Off` y aparece `{}`", arg.text),
                "escribe On u Off",
            );
            None
        }
    }
}

const OPTION_NAMES: &[(&str, OptionSet)] = &[
    ("Indexes", OptionSet::INDEXES),
    ("FollowSymLinks", OptionSet::FOLLOW_SYMLINKS),
    ("SymLinksIfOwnerMatch", OptionSet::SYMLINKS_IF_OWNER_MATCH),
    ("ExecCGI", OptionSet::EXEC_CGI),
    ("MultiViews", OptionSet::MULTIVIEWS),
    ("Includes", OptionSet::INCLUDES),
    ("IncludesNOEXEC", OptionSet::INCLUDES_NOEXEC),
    ("All", OptionSet::ALL),
    ("None", OptionSet::NONE),
];

/// The flag of an option's name (`Indexes`, `ExecCGI`...), case-insensitively.
pub(crate) fn option_flag(name: &str) -> Option<OptionSet> {
    OPTION_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| *f)
}

fn parse_options(args: &[Arg], diags: &mut Diags) -> Option<OptionsDirective> {
    let mut set: Option<OptionSet> = None;
    let mut add = OptionSet::NONE;
    let mut remove = OptionSet::NONE;
    let mut signed: Option<&Arg> = None;
    let mut unsigned: Option<&Arg> = None;
    let mut ok = true;
    for arg in args {
        let (sign, name) = match arg.text.as_bytes().first() {
            Some(b'+') => (Some(true), &arg.text[1..]),
            Some(b'-') => (Some(false), &arg.text[1..]),
            _ => (None, arg.text.as_str()),
        };
        let Some((_, flag)) = OPTION_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            let mut d = Diagnostic::error(
                Some(arg.span.clone()),
                format!("opción desconocida `{name}` en `Options`"),
            );
            d = match suggest(name, OPTION_NAMES.iter().map(|(n, _)| *n)) {
                Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
                None => d.with_hint("opciones válidas: Indexes, FollowSymLinks, SymLinksIfOwnerMatch, ExecCGI, MultiViews, Includes, IncludesNOEXEC, All, None"),
            };
            diags.push(d);
            ok = false;
            continue;
        };
        match sign {
            Some(plus) => {
                if name.eq_ignore_ascii_case("all") || name.eq_ignore_ascii_case("none") {
                    err_hint(
                        diags,
                        &arg.span,
                        format!("`{}` no admite + ni -", name),
                        "escribe `Options All` u `Options None` sin signo",
                    );
                    ok = false;
                    continue;
                }
                signed.get_or_insert(arg);
                if plus {
                    add = add.union(*flag);
                    remove = OptionSet(remove.0 & !flag.0);
                } else {
                    remove = remove.union(*flag);
                    add = OptionSet(add.0 & !flag.0);
                }
            }
            None => {
                unsigned.get_or_insert(arg);
                set = Some(set.unwrap_or(OptionSet::NONE).union(*flag));
            }
        }
    }
    if let (Some(s), Some(u)) = (signed, unsigned) {
        let first = if (s.span.column) < (u.span.column) {
            u
        } else {
            s
        };
        err_hint(
            diags,
            &first.span,
            format!(
                "`Options` mezcla opciones con signo (`{}`) y sin signo (`{}`)",
                s.text, u.text
            ),
            "en Apache 2.4 o todas las opciones llevan + o -, o ninguna lo lleva: por ejemplo `Options +Indexes +FollowSymLinks`",
        );
        return None;
    }
    ok.then_some(OptionsDirective { set, add, remove })
}

const REQUIRE_PROVIDERS: &[&str] = &["all", "ip", "host", "local", "method", "env", "not"];

fn parse_require(node: &Node, diags: &mut Diags) -> Option<RequireExpr> {
    parse_require_args(&node.args, &node.span, diags)
}

fn parse_require_args(args: &[Arg], span: &Span, diags: &mut Diags) -> Option<RequireExpr> {
    let Some(first) = args.first() else {
        err_hint(
            diags,
            span,
            "`Require` necesita un tipo",
            "por ejemplo `Require all granted`",
        );
        return None;
    };
    let rest = &args[1..];
    let need_args = |diags: &mut Diags, what: &str| -> bool {
        if rest.is_empty() {
            err_hint(
                diags,
                &first.span,
                format!("`Require {}` necesita al menos un valor", first.text),
                what.to_string(),
            );
            false
        } else {
            true
        }
    };
    match first.text.to_ascii_lowercase().as_str() {
        "all" => match rest {
            [v] if v.text.eq_ignore_ascii_case("granted") => Some(RequireExpr::All(true)),
            [v] if v.text.eq_ignore_ascii_case("denied") => Some(RequireExpr::All(false)),
            [v] => {
                let mut d = Diagnostic::error(
                    Some(v.span.clone()),
                    format!("`Require all` admite `granted` o `denied`, no `{}`", v.text),
                );
                if let Some(s) = suggest(&v.text, ["granted", "denied"]) {
                    d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                } else {
                    d = d.with_hint(
                        "usa `Require all granted` (permitir) o `Require all denied` (denegar)",
                    );
                }
                diags.push(d);
                None
            }
            _ => {
                err_hint(
                    diags,
                    &first.span,
                    "`Require all` lleva exactamente un valor: `granted` o `denied`",
                    "por ejemplo `Require all granted`",
                );
                None
            }
        },
        "ip" => {
            if !need_args(diags, "por ejemplo `Require ip 192.168.1.0/24`") {
                return None;
            }
            let mut nets = Vec::new();
            for v in rest {
                match parse_ip_net(&v.text) {
                    Some(n) => nets.push(n),
                    None => err_hint(
                        diags,
                        &v.span,
                        format!("`{}` no es una dirección IP ni una red válida", v.text),
                        "formas válidas: 10.0.0.5, 10.0.0.0/8, 10.0.0.0/255.0.0.0, 10.1 (red parcial), ::1, 2001:db8::/32",
                    ),
                }
            }
            (nets.len() == rest.len()).then_some(RequireExpr::Ip(nets))
        }
        "host" => need_args(diags, "por ejemplo `Require host ejemplo.org`")
            .then(|| RequireExpr::Host(rest.iter().map(|v| v.text.to_ascii_lowercase()).collect())),
        "local" => {
            if let Some(v) = rest.first() {
                err(diags, &v.span, "`Require local` no lleva valores");
                return None;
            }
            Some(RequireExpr::Local)
        }
        "method" => need_args(diags, "por ejemplo `Require method GET POST`").then(|| {
            RequireExpr::Method(rest.iter().map(|v| v.text.to_ascii_uppercase()).collect())
        }),
        "env" => need_args(diags, "por ejemplo `Require env permitido`")
            .then(|| RequireExpr::Env(rest.iter().map(|v| v.text.clone()).collect())),
        "not" => {
            if rest
                .first()
                .is_some_and(|a| a.text.eq_ignore_ascii_case("not"))
            {
                err(diags, &rest[0].span, "`Require not not` no está permitido");
                return None;
            }
            let inner = parse_require_args(rest, &first.span, diags)?;
            Some(RequireExpr::Not(Box::new(inner)))
        }
        other => {
            let mut d = Diagnostic::error(
                Some(first.span.clone()),
                format!("tipo de `Require` desconocido: `{other}`"),
            );
            d = match suggest(other, REQUIRE_PROVIDERS.iter().copied()) {
                Some(s) => d.with_hint(format!("¿Quisiste decir `Require {s}`?")),
                None if matches!(other, "user" | "valid-user" | "group" | "expr") => d.with_hint(
                    "el laboratorio no implementa autenticación de usuarios ni expresiones; usa all, ip, host, local, method, env o not",
                ),
                None => d.with_hint("tipos válidos: all, ip, host, local, method, env y not"),
            };
            diags.push(d);
            None
        }
    }
}

/// Parses the content of `<RequireAll>`, `<RequireAny>`, `<RequireNone>`.
pub(crate) fn parse_require_section(node: &Node, diags: &mut Diags) -> Option<RequireExpr> {
    let mut children = Vec::new();
    for child in &node.children {
        match child.key().as_str() {
            "require" if !child.is_section => {
                if let Some(e) = parse_require(child, diags) {
                    children.push(e);
                }
            }
            "requireall" | "requireany" | "requirenone" if child.is_section => {
                if let Some(e) = parse_require_section(child, diags) {
                    children.push(e);
                }
            }
            _ => err_hint(
                diags,
                &child.span,
                format!("`{}` no está permitido dentro de `<{}>`", child.name, node.name),
                "dentro solo pueden ir líneas `Require` y otros bloques <RequireAll>, <RequireAny> o <RequireNone>",
            ),
        }
    }
    if children.is_empty() {
        err_hint(
            diags,
            &node.span,
            format!("`<{}>` está vacío", node.name),
            "añade dentro al menos una línea `Require`",
        );
        return None;
    }
    let key = node.key();
    if key == "requireany" {
        let spans = node.children.iter().map(|c| &c.span);
        for (e, span) in children.iter().zip(spans) {
            negative_in_any(e, span, diags);
        }
    }
    if key == "requireall"
        && children
            .iter()
            .all(|e| matches!(e, RequireExpr::Not(_) | RequireExpr::NoneOf(_)))
    {
        err_hint(
            diags,
            &node.span,
            "`<RequireAll>` solo contiene reglas negativas: nunca concederá acceso",
            "añade una regla positiva, p. ej. `Require all granted` (Apache dice «AH01624: <RequireAll> directive contains only negative authorization directives»)",
        );
    }
    Some(match key.as_str() {
        "requireall" => RequireExpr::AllOf(children),
        "requirenone" => RequireExpr::NoneOf(children),
        _ => RequireExpr::AnyOf(children),
    })
}

/// `Order`, `Allow from`, `Deny from` and `Satisfy` (mod_access_compat). The first of them in
/// a section starts a fresh set, as the module creates its configuration there.
fn parse_access_compat(
    node: &Node,
    conf: &mut DirConfig,
    diags: &mut Diags,
    limit: Option<&MethodFilter>,
) {
    let a = &node.args;
    let key = node.key();
    let rules = conf.access_compat.get_or_insert_with(Default::default);
    match key.as_str() {
        "order" => {
            if a.len() != 1 {
                err_hint(
                    diags,
                    &node.span,
                    "`Order` lleva un solo argumento",
                    "sin espacios alrededor de la coma: `Order allow,deny`, `Order deny,allow` o `Order mutual-failure`",
                );
                return;
            }
            let order = match a[0].text.to_ascii_lowercase().as_str() {
                "allow,deny" => AccessOrder::AllowDeny,
                "deny,allow" => AccessOrder::DenyAllow,
                "mutual-failure" => AccessOrder::MutualFailure,
                _ => {
                    err_hint(
                        diags,
                        &a[0].span,
                        format!("orden desconocido en `Order`: `{}`", a[0].text),
                        "valores posibles: `allow,deny`, `deny,allow` o `mutual-failure` (Apache dice «unknown order»)",
                    );
                    return;
                }
            };
            rules.orders.push((limit.cloned(), order));
        }
        "satisfy" => {
            let any = match a.first().map(|v| v.text.to_ascii_lowercase()) {
                Some(v) if v == "any" && a.len() == 1 => true,
                Some(v) if v == "all" && a.len() == 1 => false,
                _ => {
                    err_hint(
                        diags,
                        &node.span,
                        "`Satisfy` admite `All` o `Any`",
                        "`Satisfy Any` deja pasar a quien cumpla las reglas de `Allow`/`Deny` aunque `Require` lo rechace",
                    );
                    return;
                }
            };
            rules.satisfy.push((limit.cloned(), any));
        }
        _ => {
            let name = if key == "allow" { "Allow" } else { "Deny" };
            if a.len() < 2 {
                err_hint(
                    diags,
                    &node.span,
                    format!("`{name}` necesita `from` y al menos un origen"),
                    format!("por ejemplo `{name} from 192.168.1.0/24`; orígenes: all, una IP, una red, un nombre o env=VARIABLE"),
                );
                return;
            }
            if !a[0].text.eq_ignore_ascii_case("from") {
                err_hint(
                    diags,
                    &a[0].span,
                    format!("`{name}` debe ir seguido de `from`, no de `{}`", a[0].text),
                    format!(
                        "escribe `{name} from {}`",
                        a[1..]
                            .iter()
                            .map(|v| v.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                );
                return;
            }
            for v in &a[1..] {
                if let Some(rule) = parse_host_rule(&v.text, &v.span, diags) {
                    let rule = limited(rule, limit);
                    if key == "allow" {
                        rules.allow.push(rule);
                    } else {
                        rules.deny.push(rule);
                    }
                }
            }
        }
    }
}

/// `expr` as written inside `limit`'s block (unchanged outside any).
pub(crate) fn limited(expr: RequireExpr, limit: Option<&MethodFilter>) -> RequireExpr {
    match limit {
        Some(f) => RequireExpr::Limited(f.clone(), Box::new(expr)),
        None => expr,
    }
}

/// The methods of a `<Limit>`/`<LimitExcept>` block. Apache takes any word as a method
/// (and registers unknown ones); a lower-case one never matches a real request, so it is
/// flagged here.
pub(crate) fn parse_limit(node: &Node, diags: &mut Diags) -> Option<MethodFilter> {
    if node.args.is_empty() {
        err_hint(
            diags,
            &node.span,
            format!("`<{}>` necesita al menos un método", node.name),
            format!("por ejemplo `<{} GET POST>`", node.name),
        );
        return None;
    }
    for m in &node.args {
        if m.text.bytes().any(|b| b.is_ascii_lowercase()) {
            diags.push(
                Diagnostic::warning(
                    Some(m.span.clone()),
                    format!(
                        "los métodos distinguen mayúsculas: `{}` no coincidirá con ninguna petición",
                        m.text
                    ),
                )
                .with_hint(format!("escribe `{}`", m.text.to_ascii_uppercase())),
            );
        }
    }
    Some(MethodFilter {
        methods: node.args.iter().map(|m| m.text.clone()).collect(),
        except: node.key() == "limitexcept",
    })
}

/// Whether a directive means something per method inside `<Limit>`.
pub(crate) fn is_access_directive(key: &str) -> bool {
    matches!(
        key,
        "require"
            | "requireall"
            | "requireany"
            | "requirenone"
            | "order"
            | "allow"
            | "deny"
            | "satisfy"
    )
}

/// One origin of `Allow from`/`Deny from`, classified as mod_access_compat does: `env=` and
/// `all` first, then anything with a slash is a network, anything made only of digits and
/// dots (or with a colon) is an address, and the rest is a host name.
fn parse_host_rule(text: &str, span: &Span, diags: &mut Diags) -> Option<RequireExpr> {
    let lower = text.to_ascii_lowercase();
    if let Some(var) = lower.strip_prefix("env=").map(|_| &text[4..]) {
        return Some(match var.strip_prefix('!') {
            Some(v) => RequireExpr::Not(Box::new(RequireExpr::Env(vec![v.to_string()]))),
            None => RequireExpr::Env(vec![var.to_string()]),
        });
    }
    if lower == "all" {
        return Some(RequireExpr::All(true));
    }
    let looks_like_ip = text.contains(':')
        || (!text.is_empty() && text.bytes().all(|b| b == b'.' || b.is_ascii_digit()));
    if text.contains('/') || looks_like_ip {
        return match parse_ip_net(text) {
            Some(net) => Some(RequireExpr::Ip(vec![net])),
            None => {
                err_hint(
                    diags,
                    span,
                    format!("`{text}` no es una dirección IP ni una red válida"),
                    "formas válidas: 10.0.0.5, 10.0.0.0/8, 10.0.0.0/255.0.0.0, 10.1 (red parcial), ::1, 2001:db8::/32",
                );
                None
            }
        };
    }
    Some(RequireExpr::Host(vec![lower]))
}

/// `10.0.0.5`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `10.1` (partial), `::1`, `2001:db8::/32`.
pub fn parse_ip_net(s: &str) -> Option<IpNet> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    if let Ok(ip) = addr.parse::<IpAddr>() {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match mask {
            None => max,
            Some(m) => match m.parse::<u8>() {
                Ok(p) if p <= max => p,
                Ok(_) => return None,
                Err(_) => {
                    let IpAddr::V4(m4) = m.parse::<IpAddr>().ok()? else {
                        return None;
                    };
                    let bits = u32::from(m4);
                    let ones = bits.leading_ones();
                    if bits.checked_shl(ones).unwrap_or(0) != 0 {
                        return None;
                    }
                    ones as u8
                }
            },
        };
        return Some(IpNet { addr: ip, prefix });
    }
    // Partial IPv4: "10" or "10.1" or "10.1.2" (a trailing dot is allowed too).
    if mask.is_some() {
        return None;
    }
    let parts: Vec<&str> = addr.trim_end_matches('.').split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        octets[i] = p.parse().ok()?;
    }
    Some(IpNet {
        addr: IpAddr::from(octets),
        prefix: (parts.len() * 8) as u8,
    })
}

fn parse_error_document(a: &[Arg], conf: &mut DirConfig, diags: &mut Diags) {
    let code = match a[0].text.parse::<u16>() {
        Ok(c) if (400..=599).contains(&c) => c,
        _ => {
            err_hint(
                diags,
                &a[0].span,
                format!("`{}` no es un código de error HTTP válido para ErrorDocument", a[0].text),
                "usa un código entre 400 y 599, por ejemplo `ErrorDocument 404 /no-encontrado.html`",
            );
            return;
        }
    };
    let v = &a[1];
    let doc = if v.text.eq_ignore_ascii_case("default") && !v.quoted {
        ErrorDocument::Default
    } else if v.text.starts_with('/') && !v.text.contains(' ') {
        ErrorDocument::Local(v.text.clone())
    } else if v.text.contains("://") && !v.text.contains(' ') {
        ErrorDocument::Remote(v.text.clone())
    } else {
        ErrorDocument::Text(v.text.clone())
    };
    conf.error_documents.insert(code, doc);
}

const HEADER_OPS: &[&str] = &[
    "set",
    "append",
    "add",
    "merge",
    "setifempty",
    "unset",
    "echo",
    "edit",
    "edit*",
    "note",
];

fn parse_header(node: &Node, diags: &mut Diags) -> Option<HeaderAction> {
    let mut args = node.args.as_slice();
    let mut always = false;
    if let Some(first) = args.first() {
        match first.text.to_ascii_lowercase().as_str() {
            "always" => {
                always = true;
                args = &args[1..];
            }
            "onsuccess" => args = &args[1..],
            _ => {}
        }
    }
    let Some(op_arg) = args.first() else {
        err(
            diags,
            &node.span,
            "`Header` necesita una acción y una cabecera",
        );
        return None;
    };
    let op = match op_arg.text.to_ascii_lowercase().as_str() {
        "set" => HeaderOp::Set,
        "append" => HeaderOp::Append,
        "add" => HeaderOp::Add,
        "merge" => HeaderOp::Merge,
        "setifempty" => HeaderOp::SetIfEmpty,
        "unset" => HeaderOp::Unset,
        "echo" | "edit" | "edit*" | "note" => {
            err_hint(
                diags,
                &op_arg.span,
                format!(
                    "la acción `Header {}` existe en Apache, pero el laboratorio no la implementa",
                    op_arg.text
                ),
                "usa set, append, add, merge, setifempty o unset",
            );
            return None;
        }
        other => {
            let mut d = Diagnostic::error(
                Some(op_arg.span.clone()),
                format!("acción de `Header` desconocida: `{other}`"),
            );
            d = match suggest(other, HEADER_OPS.iter().copied()) {
                Some(s) => d.with_hint(format!("¿Quisiste decir `{s}`?")),
                None => d.with_hint("acciones: set, append, add, merge, setifempty, unset"),
            };
            diags.push(d);
            return None;
        }
    };
    let Some(name) = args.get(1) else {
        err_hint(
            diags,
            &op_arg.span,
            "falta el nombre de la cabecera",
            "por ejemplo `Header set X-Curso \"Apache\"`",
        );
        return None;
    };
    let mut rest = &args[2..];
    let value = if op == HeaderOp::Unset {
        None
    } else {
        let Some(v) = rest.first() else {
            err_hint(
                diags,
                &name.span,
                format!("`Header {}` necesita un valor", op_arg.text),
                format!(
                    "por ejemplo `Header {} {} \"valor\"`",
                    op_arg.text, name.text
                ),
            );
            return None;
        };
        rest = &rest[1..];
        Some(v.text.clone())
    };
    let mut condition = None;
    for extra in rest {
        if let Some(var) = extra.text.strip_prefix("env=") {
            condition = Some(match var.strip_prefix('!') {
                Some(v) => (false, v.to_string()),
                None => (true, var.to_string()),
            });
        } else if extra.text.eq_ignore_ascii_case("early") {
        } else {
            err_hint(
                diags,
                &extra.span,
                format!("argumento no admitido en `Header`: `{}`", extra.text),
                "el laboratorio admite la condición `env=VARIABLE` o `env=!VARIABLE`",
            );
            return None;
        }
    }
    Some(HeaderAction {
        always,
        op,
        name: name.text.clone(),
        value,
        condition,
    })
}

/// `"access plus 1 month 2 days"`, `"modification plus 1 hour"` (treated as access) or
/// `A3600` / `M3600`.
fn parse_expires(arg: &Arg, diags: &mut Diags) -> Option<Duration> {
    let text = arg.text.trim();
    if let Some(secs) = text
        .strip_prefix('A')
        .or_else(|| text.strip_prefix('M'))
        .and_then(|s| s.parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs));
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let fail = |diags: &mut Diags| {
        err_hint(
            diags,
            &arg.span,
            format!("expresión de caducidad no válida: `{text}`"),
            "usa `\"access plus 1 month\"` (unidades: years, months, weeks, days, hours, minutes, seconds) o `A3600`",
        );
        None
    };
    let mut it = words.iter();
    match it.next().map(String::as_str) {
        Some("access" | "now" | "modification") => {}
        _ => return fail(diags),
    }
    let mut w: Vec<&String> = it.collect();
    if w.first().map(|s| s.as_str()) == Some("plus") {
        w.remove(0);
    }
    if w.is_empty() || !w.len().is_multiple_of(2) {
        return fail(diags);
    }
    let mut total = 0u64;
    for pair in w.chunks(2) {
        let Ok(n) = pair[0].parse::<u64>() else {
            return fail(diags);
        };
        let unit = pair[1].trim_end_matches('s');
        let secs = match unit {
            "year" => 365 * 86400,
            "month" => 30 * 86400,
            "week" => 7 * 86400,
            "day" => 86400,
            "hour" => 3600,
            "minute" => 60,
            "second" => 1,
            _ => return fail(diags),
        };
        total = total.saturating_add(n.saturating_mul(secs));
    }
    Some(Duration::from_secs(total))
}

/// `ProxyFCGISetEnvIf "condition" [!]NAME ["value"]` (mod_proxy_fcgi's `cmd_setenv`).
fn parse_fcgi_set_env(node: &Node, diags: &mut Diags) -> Option<super::model::FcgiSetEnv> {
    let a = &node.args;
    let condition = match super::expr::parse(&a[0].text) {
        Ok(e) => e,
        Err(e) => {
            err(
                diags,
                &a[0].span,
                format!("no se puede leer la expresión \"{}\": {e}", a[0].text),
            );
            return None;
        }
    };
    let (unset, name) = match a[1].text.strip_prefix('!') {
        Some(n) => (true, n.to_string()),
        None => (false, a[1].text.clone()),
    };
    if unset && a.len() > 2 {
        err_hint(
            diags,
            &a[2].span,
            format!(
                "el tercer argumento (\"{}\") no se permite con `!{name}`: ProxyFCGISetEnvIf solo borra la variable",
                a[2].text
            ),
            "quita el valor o quita el `!`",
        );
        return None;
    }
    if name.is_empty() {
        err(
            diags,
            &a[1].span,
            "ProxyFCGISetEnvIf: \"!\" no es un nombre de variable",
        );
        return None;
    }
    let value = match a.get(2).map(|v| super::expr::parse_string(&v.text)) {
        None => super::expr::StrExpr::default(),
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            err(
                diags,
                &a[2].span,
                format!("no se puede leer la expresión \"{}\": {e}", a[2].text),
            );
            return None;
        }
    };
    Some(super::model::FcgiSetEnv {
        condition,
        name,
        unset,
        value,
    })
}

fn parse_setenvif(node: &Node, diags: &mut Diags) -> Option<SetEnvIf> {
    let key = node.key();
    let browser = key.starts_with("browsermatch");
    let nocase = key.ends_with("nocase");
    let a = &node.args;
    let (attribute, pattern, vars) = if browser {
        ("User-Agent".to_string(), &a[0], &a[1..])
    } else {
        (a[0].text.clone(), &a[1], &a[2..])
    };
    let source = if nocase {
        format!("(?i){}", pattern.text)
    } else {
        pattern.text.clone()
    };
    let regex = match regex::Regex::new(&source) {
        Ok(r) => r,
        Err(e) => {
            err(
                diags,
                &pattern.span,
                format!("expresión regular no válida: {e}"),
            );
            return None;
        }
    };
    let vars = vars
        .iter()
        .map(|v| match v.text.strip_prefix('!') {
            Some(name) => (name.to_string(), None),
            None => match v.text.split_once('=') {
                Some((n, val)) => (n.to_string(), Some(val.to_string())),
                None => (v.text.clone(), Some("1".to_string())),
            },
        })
        .collect();
    // `^Authorization$` (Debian's php8.2-fpm.conf) can only match one header name: it is
    // looked up as that name, not matched against every header of every request.
    let exact = attribute
        .strip_prefix('^')
        .and_then(|a| a.strip_suffix('$'))
        .filter(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if let Some(name) = exact {
        if let Ok(name) = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
            return Some(SetEnvIf {
                source: EnvSource::Header(name),
                attribute,
                attribute_regex: None,
                regex,
                case_insensitive: nocase,
                vars,
            });
        }
    }
    let attribute_regex = attribute
        .contains(['^', '$', '*', '[', '(', '|', '+', '?'])
        .then(|| {
            regex::RegexBuilder::new(&attribute)
                .case_insensitive(true)
                .build()
                .ok()
        })
        .flatten();
    Some(SetEnvIf {
        source: EnvSource::of(&attribute),
        attribute,
        attribute_regex,
        regex,
        case_insensitive: nocase,
        vars,
    })
}

/// `Redirect [status] URL-path URL`, `RedirectMatch [status] regex URL`,
/// `RedirectPermanent`/`RedirectTemp URL-path URL`. In a section the URL-path may be left out.
pub(crate) fn parse_redirect(node: &Node, in_section: bool, diags: &mut Diags) -> Option<Redirect> {
    let key = node.key();
    let mut args = node.args.as_slice();
    let mut status = match key.as_str() {
        "redirectpermanent" => 301,
        _ => 302,
    };
    let is_match = key == "redirectmatch";
    if key == "redirect" || is_match {
        if let Some(first) = args.first() {
            let code = match first.text.to_ascii_lowercase().as_str() {
                "permanent" => Some(301),
                "temp" => Some(302),
                "seeother" => Some(303),
                "gone" => Some(410),
                t => t.parse::<u16>().ok(),
            };
            if let Some(code) = code {
                if !(300..=399).contains(&code) && code != 410 {
                    err_hint(
                        diags,
                        &first.span,
                        format!("código de redirección no válido: {code}"),
                        "usa permanent (301), temp (302), seeother (303), gone (410) u otro código 3xx",
                    );
                    return None;
                }
                status = code;
                args = &args[1..];
            }
        }
    }
    let needs_target = status != 410;
    let (from, to) = match (args, needs_target) {
        ([from, to], true) => (Some(from), Some(to)),
        ([to], true) if in_section && !is_match => (None, Some(to)),
        ([from], false) => (Some(from), None),
        ([], false) if in_section && !is_match => (None, None),
        _ => {
            err_hint(
                diags,
                &node.line_span(),
                format!("`{}` tiene un número de argumentos incorrecto", node.name),
                "forma: `Redirect [permanent|temp|seeother|gone|código] /ruta-url https://destino/`",
            );
            return None;
        }
    };
    if let Some(to) = to {
        if !(to.text.starts_with('/')
            || to.text.contains("://")
            || is_match && to.text.starts_with('$'))
        {
            err_hint(
                diags,
                &to.span,
                format!("el destino de la redirección debe ser una URL completa o empezar por `/`: `{}`", to.text),
                "por ejemplo `https://ejemplo.org/nuevo` o `/nuevo`",
            );
            return None;
        }
    }
    let from_text = from.map(|f| f.text.clone()).unwrap_or_default();
    let regex = if is_match {
        let f = from?;
        match regex::Regex::new(&f.text) {
            Ok(r) => Some(r),
            Err(e) => {
                err(diags, &f.span, format!("expresión regular no válida: {e}"));
                return None;
            }
        }
    } else {
        None
    };
    Some(Redirect {
        status,
        from: from_text,
        regex,
        to: to.map(|t| t.text.clone()),
        span: node.span.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_nets_parse_like_apache() {
        let n = parse_ip_net("10.1").unwrap();
        assert_eq!(n.prefix, 16);
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert_eq!(parse_ip_net("192.168.0.0/255.255.0.0").unwrap().prefix, 16);
        assert!(parse_ip_net("192.168.0.0/255.0.255.0").is_none());
        assert!(parse_ip_net("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(parse_ip_net("300.1.1.1").is_none());
        assert!(parse_ip_net("10.0.0.0/33").is_none());
    }
}
