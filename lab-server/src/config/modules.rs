//! The Apache modules the lab implements, and the real ones it does not (so `LoadModule` of
//! those gets a clear message instead of a guess).

/// A module the lab implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Short name, as `a2enmod` takes it: `alias`, `mpm_event`.
    pub name: &'static str,
    /// Built into Debian's apache2 binary: always loaded, no `.load` file.
    pub builtin: bool,
    /// Enabled in a fresh Debian install (and in a fresh workspace).
    pub default_enabled: bool,
    /// Modules it needs (`# Depends:` in its `.load`).
    pub depends: &'static [&'static str],
    /// Modules it cannot live with (`# Conflicts:` in its `.load`).
    pub conflicts: &'static [&'static str],
    /// One line, in Spanish, for listings.
    pub description: &'static str,
}

impl ModuleInfo {
    /// `alias_module`: the identifier `LoadModule` and `<IfModule>` use (`php_module` for
    /// Debian's `php8.2`).
    pub fn identifier(&self) -> String {
        match self.name {
            PHP => "php_module".to_string(),
            n => format!("{n}_module"),
        }
    }

    /// `mod_alias.c`: the source name `<IfModule>` also accepts.
    pub fn source(&self) -> String {
        match self.name {
            "core" => "core.c".to_string(),
            "http" => "http_core.c".to_string(),
            "mpm_event" => "event.c".to_string(),
            "mpm_worker" => "worker.c".to_string(),
            "mpm_prefork" => "prefork.c".to_string(),
            "so" => "mod_so.c".to_string(),
            // PHP 8's module is `mod_php.c` (so Debian's `<IfModule !mod_php8.c>` is always true).
            PHP => "mod_php.c".to_string(),
            "unixd" => "mod_unixd.c".to_string(),
            n => format!("mod_{n}.c"),
        }
    }

    pub fn is_mpm(&self) -> bool {
        self.name.starts_with("mpm_")
    }
}

/// The short name of mod_php as Debian's `a2enmod` knows it.
pub const PHP: &str = "php8.2";

const MPMS: &[&str] = &["mpm_event", "mpm_worker", "mpm_prefork"];

const fn module(
    name: &'static str,
    builtin: bool,
    default_enabled: bool,
    depends: &'static [&'static str],
    conflicts: &'static [&'static str],
    description: &'static str,
) -> ModuleInfo {
    ModuleInfo {
        name,
        builtin,
        default_enabled,
        depends,
        conflicts,
        description,
    }
}

/// Every module the lab implements.
pub const MODULES: &[ModuleInfo] = &[
    module("core", true, true, &[], &[], "núcleo de Apache"),
    module("http", true, true, &[], &[], "protocolo HTTP"),
    module("so", true, true, &[], &[], "carga de módulos (LoadModule)"),
    module(
        "unixd",
        true,
        true,
        &[],
        &[],
        "usuario y grupo del servidor",
    ),
    module("watchdog", true, true, &[], &[], "tareas periódicas"),
    module("version", true, true, &[], &[], "<IfVersion>"),
    module(
        "log_config",
        true,
        true,
        &[],
        &[],
        "registro de accesos (LogFormat, CustomLog)",
    ),
    module(
        "logio",
        true,
        true,
        &[],
        &[],
        "bytes recibidos y enviados en el registro (%I, %O)",
    ),
    module(
        "mpm_event",
        false,
        true,
        &[],
        &["mpm_worker", "mpm_prefork"],
        "MPM event: hilos y conexiones persistentes asíncronas",
    ),
    module(
        "mpm_worker",
        false,
        false,
        &[],
        &["mpm_event", "mpm_prefork"],
        "MPM worker: procesos con varios hilos",
    ),
    module(
        "mpm_prefork",
        false,
        false,
        &[],
        &["mpm_event", "mpm_worker"],
        "MPM prefork: un proceso por petición, sin hilos (el que exige mod_php)",
    ),
    module(
        "alias",
        false,
        true,
        &[],
        &[],
        "Alias, ScriptAlias y Redirect",
    ),
    module(
        "dir",
        false,
        true,
        &[],
        &[],
        "DirectoryIndex y la barra final de los directorios",
    ),
    module(
        "mime",
        false,
        true,
        &[],
        &[],
        "tipos MIME por extensión (AddType, AddHandler)",
    ),
    module(
        "autoindex",
        false,
        true,
        &[],
        &[],
        "listados de directorios",
    ),
    module(
        "authz_core",
        false,
        true,
        &[],
        &[],
        "autorización: Require, <RequireAll>, <RequireAny>",
    ),
    module(
        "authz_host",
        false,
        true,
        &["authz_core"],
        &[],
        "autorización por dirección: Require ip, host, local",
    ),
    module(
        "authn_core",
        false,
        true,
        &[],
        &[],
        "núcleo de la autenticación (el laboratorio no implementa AuthType ni AuthName)",
    ),
    module(
        "access_compat",
        false,
        true,
        &["authn_core"],
        &[],
        "reglas de Apache 2.2: Order, Allow from, Deny from, Satisfy",
    ),
    module("env", false, true, &[], &[], "SetEnv, UnsetEnv, PassEnv"),
    module(
        "cgi",
        false,
        false,
        &[],
        &[],
        "programas CGI, un proceso por petición (ScriptAlias, SetHandler cgi-script)",
    ),
    module(
        "cgid",
        false,
        false,
        &[],
        &[],
        "programas CGI lanzados por un demonio (el de Debian con MPM de hilos)",
    ),
    module(
        "scriptcache",
        false,
        false,
        &[],
        &[],
        "caché del laboratorio del código compilado de los CGI en Python (como OPcache)",
    ),
    module(
        "proxy_http",
        false,
        false,
        &["proxy"],
        &[],
        "HTTP para mod_proxy: Gunicorn, Granian u otro servidor de aplicaciones",
    ),
    module(
        "remoteip",
        false,
        false,
        &[],
        &[],
        "la IP del cliente que dicen los proxies de delante (Varnish): RemoteIPHeader",
    ),
    module(
        "actions",
        false,
        false,
        &[],
        &[],
        "Action: un programa CGI para un tipo o manejador",
    ),
    module(
        "setenvif",
        false,
        true,
        &[],
        &[],
        "variables según la petición (SetEnvIf, BrowserMatch)",
    ),
    module(
        "wsgi",
        false,
        false,
        &[],
        &[],
        "aplicaciones Python WSGI (WSGIScriptAlias, WSGIDaemonProcess)",
    ),
    module(
        "status",
        false,
        true,
        &[],
        &[],
        "página de estado /server-status",
    ),
    module(
        "reqtimeout",
        false,
        true,
        &[],
        &[],
        "límites de tiempo para leer la petición",
    ),
    module(
        "headers",
        false,
        false,
        &[],
        &[],
        "cabeceras de respuesta (Header)",
    ),
    module(
        "expires",
        false,
        false,
        &[],
        &[],
        "caducidad de respuestas (ExpiresByType)",
    ),
    module(
        "proxy",
        false,
        false,
        &[],
        &[],
        "proxy inverso (ProxyPass, ProxyPassMatch, <Proxy>)",
    ),
    module(
        "proxy_fcgi",
        false,
        false,
        &["proxy"],
        &[],
        "FastCGI para mod_proxy: PHP-FPM y aplicaciones FastCGI",
    ),
    module(
        "actions",
        false,
        false,
        &[],
        &[],
        "Action: un manejador o tipo servido por un script",
    ),
    module(
        PHP,
        false,
        false,
        &["mpm_prefork"],
        &["php5"],
        "PHP dentro de Apache (mod_php); solo con el MPM prefork",
    ),
];

/// Looks a module up by short name (`alias`), identifier (`alias_module`) or source name
/// (`mod_alias.c`).
pub fn find(name: &str) -> Option<&'static ModuleInfo> {
    MODULES.iter().find(|m| {
        m.name == name
            || m.identifier() == name
            || m.source() == name
            // Apache also accepts the source name without `.c` in <IfModule>.
            || m.source().strip_suffix(".c") == Some(name)
    })
}

/// Real Apache modules (short names) that the lab does not implement (yet): `LoadModule` of
/// one is an error that says so, and their directives are recognised as real Apache ones.
pub const NOT_IMPLEMENTED: &[&str] = &[
    "auth_basic",
    "auth_digest",
    "auth_form",
    "authn_anon",
    "authn_dbd",
    "authn_dbm",
    "authn_file",
    "authn_socache",
    "authnz_ldap",
    "authz_dbd",
    "authz_dbm",
    "authz_groupfile",
    "authz_owner",
    "authz_user",
    "buffer",
    "cache",
    "cache_disk",
    "cache_socache",
    "charset_lite",
    "dav",
    "dav_fs",
    "dbd",
    "deflate",
    "dialup",
    "dump_io",
    "echo",
    "ext_filter",
    "fcgid",
    "file_cache",
    "filter",
    "http2",
    "ident",
    "include",
    "info",
    "ldap",
    "lbmethod_byrequests",
    "lua",
    "macro",
    "mime_magic",
    "negotiation",
    "php",
    "php7",
    "php8",
    "proxy_ajp",
    "proxy_balancer",
    "proxy_connect",
    "proxy_html",
    "proxy_http2",
    "proxy_uwsgi",
    "proxy_wstunnel",
    "ratelimit",
    "request",
    "rewrite",
    "sed",
    "session",
    "slotmem_shm",
    "socache_shmcb",
    "speling",
    "gnutls",
    "ssl",
    "substitute",
    "suexec",
    "unique_id",
    "userdir",
    "usertrack",
    "vhost_alias",
    "xml2enc",
];

/// Short name for a `LoadModule` identifier or `<IfModule>` argument of a real module the
/// lab does not implement (`rewrite_module` -> `rewrite`, `mod_rewrite.c` -> `rewrite`).
pub fn not_implemented(name: &str) -> Option<&'static str> {
    let short = name
        .strip_suffix("_module")
        .or_else(|| {
            name.strip_prefix("mod_")
                .map(|n| n.strip_suffix(".c").unwrap_or(n))
        })
        .unwrap_or(name);
    let short = match short {
        "php8" | "php7" | "php_8" => "php",
        other => other,
    };
    NOT_IMPLEMENTED.iter().copied().find(|m| *m == short)
}

/// The MPM short names.
pub fn mpms() -> &'static [&'static str] {
    MPMS
}
