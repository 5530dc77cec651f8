//! The registry of directives: which module provides each one, where it may appear and how
//! many arguments it takes. Names are matched case-insensitively, as Apache does.

/// Where a directive may appear (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contexts(pub u8);

impl Contexts {
    /// The main server configuration, outside any section.
    pub const SERVER: Contexts = Contexts(1);
    /// Inside `<VirtualHost>`.
    pub const VHOST: Contexts = Contexts(2);
    /// Inside `<Directory>`, `<Location>`, `<Files>` and their `Match` forms.
    pub const DIR: Contexts = Contexts(4);
    pub const SV: Contexts = Contexts(1 | 2);
    pub const SVD: Contexts = Contexts(1 | 2 | 4);
    pub const D: Contexts = Contexts(4);
    pub const S: Contexts = Contexts(1);

    pub fn allows(self, ctx: Contexts) -> bool {
        self.0 & ctx.0 != 0
    }

    /// Spanish description of the contexts, for error messages.
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        if self.allows(Contexts::SERVER) {
            parts.push("la configuración global");
        }
        if self.allows(Contexts::VHOST) {
            parts.push("<VirtualHost>");
        }
        if self.allows(Contexts::DIR) {
            parts.push("<Directory>, <Location> y <Files>");
        }
        match parts.len() {
            0 => String::from("ningún sitio"),
            1 => parts[0].to_string(),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} y {}", parts.join(", "), last)
            }
        }
    }
}

/// A directive the lab implements.
#[derive(Debug, Clone, Copy)]
pub struct DirectiveInfo {
    pub name: &'static str,
    /// Short module name (see `modules`); `mpm` means any MPM.
    pub module: &'static str,
    pub contexts: Contexts,
    pub min_args: u8,
    /// `u8::MAX` for "any number".
    pub max_args: u8,
    /// True for `<Section>` forms.
    pub section: bool,
}

const ANY: u8 = u8::MAX;

const fn d(
    name: &'static str,
    module: &'static str,
    contexts: Contexts,
    min_args: u8,
    max_args: u8,
) -> DirectiveInfo {
    DirectiveInfo {
        name,
        module,
        contexts,
        min_args,
        max_args,
        section: false,
    }
}

const fn s(
    name: &'static str,
    module: &'static str,
    contexts: Contexts,
    min_args: u8,
    max_args: u8,
) -> DirectiveInfo {
    DirectiveInfo {
        name,
        module,
        contexts,
        min_args,
        max_args,
        section: true,
    }
}

use Contexts as C;

/// Every directive the lab understands (the loader handles `Include*`, `Define`,
/// `<IfModule>`, `<IfDefine>` and `LoadModule` itself, but they are listed here too).
pub const DIRECTIVES: &[DirectiveInfo] = &[
    // mod_proxy, mod_proxy_fcgi
    d("ProxyPass", "proxy", C::SV, 1, ANY),
    d("ProxyPassMatch", "proxy", C::SV, 1, ANY),
    d("ProxyTimeout", "proxy", C::SV, 1, 1),
    d("RemoteIPHeader", "remoteip", C::SV, 1, 1),
    d("RemoteIPInternalProxy", "remoteip", C::SV, 1, ANY),
    d("RemoteIPTrustedProxy", "remoteip", C::SV, 1, ANY),
    d("RemoteIPInternalProxyList", "remoteip", C::SV, 1, 1),
    d("RemoteIPTrustedProxyList", "remoteip", C::SV, 1, 1),
    d("RemoteIPProxiesHeader", "remoteip", C::SV, 1, 1),
    d("ProxyPreserveHost", "proxy", C::SV, 1, 1),
    d("ProxyPassReverse", "proxy", C::SV, 1, ANY),
    d("ProxyRequests", "proxy", C::SV, 1, 1),
    d("ProxyStatus", "proxy", C::SV, 1, 1),
    d("ProxyFCGIBackendType", "proxy_fcgi", C::SV, 1, 1),
    d("ProxyFCGISetEnvIf", "proxy_fcgi", C::SVD, 2, 3),
    s("Proxy", "proxy", C::SV, 1, ANY),
    d("ProxySet", "proxy", C::D, 1, ANY),
    // mod_php
    d("php_value", "php8.2", C::SVD, 2, 2),
    d("php_flag", "php8.2", C::SVD, 2, 2),
    d("php_admin_value", "php8.2", C::SVD, 2, 2),
    d("php_admin_flag", "php8.2", C::SVD, 2, 2),
    // core
    d("AcceptFilter", "core", C::S, 2, 2),
    d("AcceptPathInfo", "core", C::SVD, 1, 1),
    d("CGIPassAuth", "core", C::D, 1, 1),
    d("AccessFileName", "core", C::SV, 1, ANY),
    d("AddDefaultCharset", "core", C::SVD, 1, 1),
    d("AllowEncodedSlashes", "core", C::SV, 1, 2),
    d("AllowOverride", "core", C::D, 1, ANY),
    d("AllowOverrideList", "core", C::D, 1, ANY),
    d("DefaultRuntimeDir", "core", C::S, 1, 1),
    d("DefaultType", "core", C::SVD, 1, 1),
    d("Define", "core", C::SVD, 1, 2),
    d("DocumentRoot", "core", C::SV, 1, 1),
    d("EnableMMAP", "core", C::SVD, 1, 1),
    d("EnableSendfile", "core", C::SVD, 1, 1),
    d("ErrorDocument", "core", C::SVD, 2, 2),
    d("ErrorLog", "core", C::SV, 1, 1),
    d("ErrorLogFormat", "core", C::SV, 1, 2),
    d("FileETag", "core", C::SVD, 1, ANY),
    d("ForceType", "core", C::D, 1, 1),
    d("HostnameLookups", "core", C::SVD, 1, 1),
    d("Include", "core", C::SVD, 1, 1),
    d("IncludeOptional", "core", C::SVD, 1, 1),
    d("KeepAlive", "core", C::SV, 1, 1),
    d("KeepAliveTimeout", "core", C::SV, 1, 1),
    d("LimitRequestBody", "core", C::SVD, 1, 1),
    d("LimitRequestFields", "core", C::SV, 1, 1),
    d("LimitRequestFieldSize", "core", C::SV, 1, 1),
    d("LimitRequestLine", "core", C::SV, 1, 1),
    d("Listen", "core", C::S, 1, 2),
    d("ListenBacklog", "core", C::S, 1, 1),
    d("LogLevel", "core", C::SVD, 1, ANY),
    d("MaxKeepAliveRequests", "core", C::SV, 1, 1),
    d("Mutex", "core", C::S, 1, ANY),
    d("Options", "core", C::SVD, 1, ANY),
    d("PidFile", "core", C::S, 1, 1),
    d("Protocols", "core", C::SV, 1, ANY),
    d("ServerAdmin", "core", C::SV, 1, 1),
    d("ServerAlias", "core", C::VHOST, 1, ANY),
    d("ServerName", "core", C::SV, 1, 1),
    d("ServerRoot", "core", C::S, 1, 1),
    d("ServerSignature", "core", C::SVD, 1, 1),
    d("ServerTokens", "core", C::S, 1, 1),
    d("SetHandler", "core", C::SVD, 1, 1),
    d("Timeout", "core", C::SV, 1, 1),
    d("TraceEnable", "core", C::SV, 1, 1),
    d("UseCanonicalName", "core", C::SVD, 1, 1),
    d("UnDefine", "core", C::S, 1, 1),
    s("VirtualHost", "core", C::S, 1, ANY),
    s("Directory", "core", C::SV, 1, 2),
    s("DirectoryMatch", "core", C::SV, 1, 1),
    s("Files", "core", C::SVD, 1, 2),
    s("FilesMatch", "core", C::SVD, 1, 1),
    s("Location", "core", C::SV, 1, 2),
    s("LocationMatch", "core", C::SV, 1, 1),
    s("IfModule", "core", C::SVD, 1, 1),
    s("IfDefine", "core", C::SVD, 1, 1),
    s("IfFile", "core", C::SVD, 1, 1),
    s("IfVersion", "version", C::SVD, 1, 2),
    // so, unixd
    d("LoadModule", "so", C::S, 2, 2),
    d("LoadFile", "so", C::S, 1, ANY),
    d("User", "unixd", C::S, 1, 1),
    d("Group", "unixd", C::S, 1, 1),
    // MPMs
    d("StartServers", "mpm", C::S, 1, 1),
    d("MinSpareServers", "mpm_prefork", C::S, 1, 1),
    d("MaxSpareServers", "mpm_prefork", C::S, 1, 1),
    d("MinSpareThreads", "mpm", C::S, 1, 1),
    d("MaxSpareThreads", "mpm", C::S, 1, 1),
    d("ThreadLimit", "mpm", C::S, 1, 1),
    d("ThreadsPerChild", "mpm", C::S, 1, 1),
    d("ServerLimit", "mpm", C::S, 1, 1),
    d("MaxRequestWorkers", "mpm", C::S, 1, 1),
    d("MaxClients", "mpm", C::S, 1, 1),
    d("MaxConnectionsPerChild", "mpm", C::S, 1, 1),
    d("MaxRequestsPerChild", "mpm", C::S, 1, 1),
    d("AsyncRequestWorkerFactor", "mpm_event", C::S, 1, 1),
    // alias
    d("Alias", "alias", C::SV, 2, 2),
    d("AliasMatch", "alias", C::SV, 2, 2),
    d("ScriptAlias", "alias", C::SV, 2, 2),
    d("ScriptAliasMatch", "alias", C::SV, 2, 2),
    d("Redirect", "alias", C::SVD, 1, 3),
    d("RedirectMatch", "alias", C::SVD, 2, 3),
    d("RedirectPermanent", "alias", C::SVD, 2, 2),
    d("RedirectTemp", "alias", C::SVD, 2, 2),
    // dir
    d("DirectoryIndex", "dir", C::SVD, 1, ANY),
    d("DirectorySlash", "dir", C::SVD, 1, 1),
    d("FallbackResource", "dir", C::SVD, 1, 1),
    // mime
    d("TypesConfig", "mime", C::S, 1, 1),
    d("AddType", "mime", C::SVD, 2, ANY),
    d("AddHandler", "mime", C::SVD, 2, ANY),
    d("AddCharset", "mime", C::SVD, 2, ANY),
    d("AddEncoding", "mime", C::SVD, 2, ANY),
    d("AddLanguage", "mime", C::SVD, 2, ANY),
    d("AddInputFilter", "mime", C::SVD, 2, ANY),
    d("AddOutputFilter", "mime", C::SVD, 2, ANY),
    d("DefaultLanguage", "mime", C::SVD, 1, 1),
    d("RemoveType", "mime", C::SVD, 1, ANY),
    d("RemoveHandler", "mime", C::SVD, 1, ANY),
    d("MultiviewsMatch", "mime", C::SVD, 1, ANY),
    // autoindex
    d("IndexOptions", "autoindex", C::SVD, 1, ANY),
    d("IndexIgnore", "autoindex", C::SVD, 1, ANY),
    d("IndexIgnoreReset", "autoindex", C::SVD, 1, 1),
    d("IndexOrderDefault", "autoindex", C::SVD, 2, 2),
    d("IndexStyleSheet", "autoindex", C::SVD, 1, 1),
    d("IndexHeadInsert", "autoindex", C::SVD, 1, 1),
    d("AddIcon", "autoindex", C::SVD, 2, ANY),
    d("AddIconByType", "autoindex", C::SVD, 2, ANY),
    d("AddIconByEncoding", "autoindex", C::SVD, 2, ANY),
    d("AddAlt", "autoindex", C::SVD, 2, ANY),
    d("AddAltByType", "autoindex", C::SVD, 2, ANY),
    d("AddAltByEncoding", "autoindex", C::SVD, 2, ANY),
    d("AddDescription", "autoindex", C::SVD, 2, ANY),
    d("DefaultIcon", "autoindex", C::SVD, 1, 1),
    d("HeaderName", "autoindex", C::SVD, 1, 1),
    d("ReadmeName", "autoindex", C::SVD, 1, 1),
    // authz_core
    d("Require", "authz_core", C::D, 1, ANY),
    d("Order", "access_compat", C::D, 1, ANY),
    d("Allow", "access_compat", C::D, 1, ANY),
    d("Deny", "access_compat", C::D, 1, ANY),
    d("Satisfy", "access_compat", C::D, 1, ANY),
    d("AuthMerging", "authz_core", C::D, 1, 1),
    d("AuthzSendForbiddenOnFailure", "authz_core", C::D, 1, 1),
    s("RequireAll", "authz_core", C::D, 0, 0),
    s("Limit", "core", C::D, 0, ANY),
    s("LimitExcept", "core", C::D, 0, ANY),
    s("RequireAny", "authz_core", C::D, 0, 0),
    s("RequireNone", "authz_core", C::D, 0, 0),
    // log_config, logio
    d("LogFormat", "log_config", C::SV, 1, 2),
    d("CustomLog", "log_config", C::SV, 2, 3),
    d("TransferLog", "log_config", C::SV, 1, 1),
    d("BufferedLogs", "log_config", C::S, 1, 1),
    // status
    d("ExtendedStatus", "status", C::S, 1, 1),
    d("SeeRequestTail", "status", C::S, 1, 1),
    // headers
    d("Header", "headers", C::SVD, 2, 5),
    // setenvif
    d("SetEnvIf", "setenvif", C::SVD, 3, ANY),
    d("SetEnvIfNoCase", "setenvif", C::SVD, 3, ANY),
    d("BrowserMatch", "setenvif", C::SVD, 2, ANY),
    d("BrowserMatchNoCase", "setenvif", C::SVD, 2, ANY),
    // cgi, cgid, actions
    d("ScriptLog", "cgi", C::SV, 1, 1),
    d("ScriptLogLength", "cgi", C::SV, 1, 1),
    d("ScriptLogBuffer", "cgi", C::SV, 1, 1),
    d("ScriptSock", "cgid", C::S, 1, 1),
    d("CGIDScriptTimeout", "cgid", C::SVD, 1, 1),
    d("Action", "actions", C::SVD, 2, 3),
    // the lab's script cache (OPcache's settings for Python CGI scripts)
    d("ScriptCache", "scriptcache", C::S, 1, 1),
    d("ScriptCacheValidateTimestamps", "scriptcache", C::S, 1, 1),
    d("ScriptCacheRevalidateFreq", "scriptcache", C::S, 1, 1),
    d("ScriptCacheMaxFiles", "scriptcache", C::S, 1, 1),
    d("ScriptCacheMemory", "scriptcache", C::S, 1, 1),
    // env
    d("SetEnv", "env", C::SVD, 1, 2),
    d("UnsetEnv", "env", C::SVD, 1, ANY),
    d("PassEnv", "env", C::SVD, 1, ANY),
    // expires
    d("ExpiresActive", "expires", C::SVD, 1, 1),
    d("ExpiresByType", "expires", C::SVD, 2, 2),
    d("ExpiresDefault", "expires", C::SVD, 1, 1),
    // reqtimeout
    d("RequestReadTimeout", "reqtimeout", C::SV, 1, u8::MAX),
    // wsgi: every directive of mod_wsgi 4.9 (Debian 12), with its contexts. The ones the lab
    // does not apply are accepted with a warning (see `config::wsgi`).
    d("WSGIScriptAlias", "wsgi", C::SV, 2, ANY),
    d("WSGIScriptAliasMatch", "wsgi", C::SV, 2, ANY),
    d("WSGIDaemonProcess", "wsgi", C::SV, 1, ANY),
    d("WSGIProcessGroup", "wsgi", C::SVD, 1, 1),
    d("WSGIApplicationGroup", "wsgi", C::SVD, 1, 1),
    d("WSGIPythonHome", "wsgi", C::S, 1, 1),
    d("WSGIPythonPath", "wsgi", C::S, 1, 1),
    d("WSGIScriptReloading", "wsgi", C::SVD, 1, 1),
    d("WSGICallableObject", "wsgi", C::SVD, 1, 1),
    d("WSGIChunkedRequest", "wsgi", C::SVD, 1, 1),
    d("WSGIPassAuthorization", "wsgi", C::SVD, 1, 1),
    d("WSGISocketPrefix", "wsgi", C::S, 1, 1),
    d("WSGISocketRotation", "wsgi", C::S, 1, 1),
    d("WSGIAcceptMutex", "wsgi", C::S, 1, 1),
    d("WSGILazyInitialization", "wsgi", C::S, 1, 1),
    d("WSGIVerboseDebugging", "wsgi", C::S, 1, 1),
    d("WSGIDontWriteBytecode", "wsgi", C::S, 1, 1),
    d("WSGIPythonWarnings", "wsgi", C::S, 1, 1),
    d("WSGIPythonOptimize", "wsgi", C::S, 1, 1),
    d("WSGIPythonEggs", "wsgi", C::S, 1, 1),
    d("WSGIPythonHashSeed", "wsgi", C::S, 1, 1),
    d("WSGIDestroyInterpreter", "wsgi", C::S, 1, 1),
    d("WSGIRestrictEmbedded", "wsgi", C::S, 1, 1),
    d("WSGIRestrictStdin", "wsgi", C::S, 1, 1),
    d("WSGIRestrictStdout", "wsgi", C::S, 1, 1),
    d("WSGIRestrictSignal", "wsgi", C::S, 1, 1),
    d("WSGICaseSensitivity", "wsgi", C::S, 1, 1),
    d("WSGIRestrictProcess", "wsgi", C::SVD, 1, ANY),
    d("WSGIImportScript", "wsgi", C::SV, 1, ANY),
    d("WSGIDispatchScript", "wsgi", C::SVD, 1, ANY),
    d("WSGIPassApacheRequest", "wsgi", C::SVD, 1, 1),
    d("WSGIErrorOverride", "wsgi", C::SVD, 1, 1),
    d("WSGIMapHEADToGET", "wsgi", C::SVD, 1, 1),
    d("WSGIIgnoreActivity", "wsgi", C::SVD, 1, 1),
    d("WSGITrustedProxyHeaders", "wsgi", C::SVD, 1, ANY),
    d("WSGITrustedProxies", "wsgi", C::SVD, 1, ANY),
    d("WSGIEnableSendfile", "wsgi", C::SVD, 1, 1),
    d("WSGIAccessScript", "wsgi", C::SVD, 1, ANY),
    d("WSGIAuthUserScript", "wsgi", C::SVD, 1, ANY),
    d("WSGIAuthGroupScript", "wsgi", C::SVD, 1, ANY),
    d("WSGIUserAuthoritative", "wsgi", C::SVD, 1, 1),
    d("WSGIGroupAuthoritative", "wsgi", C::SVD, 1, 1),
    d("WSGIHandlerScript", "wsgi", C::SVD, 2, ANY),
    d("WSGIServerMetrics", "wsgi", C::S, 1, 1),
    d("WSGINewRelicConfigFile", "wsgi", C::S, 1, 1),
    d("WSGINewRelicEnvironment", "wsgi", C::S, 1, 1),
    d("WSGIApcuShmSize", "wsgi", C::S, 1, 1),
];

/// Finds a directive by name, case-insensitively.
pub fn find(name: &str) -> Option<&'static DirectiveInfo> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Real Apache directives the lab does not implement, with their module, so the message can
/// say "exists in Apache, not in the lab" instead of "unknown".
pub const NOT_IMPLEMENTED: &[(&str, &str)] = &[
    ("RequestHeader", "headers"),
    ("AddOutputFilterByType", "filter"),
    ("AuthType", "auth_basic"),
    ("AuthName", "auth_basic"),
    ("AuthBasicProvider", "auth_basic"),
    ("AuthUserFile", "authn_file"),
    ("AuthGroupFile", "authz_groupfile"),
    ("CacheEnable", "cache"),
    ("CacheRoot", "cache_disk"),
    ("DeflateCompressionLevel", "deflate"),
    ("FcgidWrapper", "fcgid"),
    ("ForceLanguagePriority", "negotiation"),
    ("LanguagePriority", "negotiation"),
    ("LuaHookTranslateName", "lua"),
    ("RewriteBase", "rewrite"),
    ("RewriteCond", "rewrite"),
    ("RewriteEngine", "rewrite"),
    ("RewriteMap", "rewrite"),
    ("RewriteRule", "rewrite"),
    ("SSLCertificateFile", "ssl"),
    ("SSLCertificateKeyFile", "ssl"),
    ("SSLEngine", "ssl"),
    ("SSLProtocol", "ssl"),
    ("SSLCipherSuite", "ssl"),
    ("SuexecUserGroup", "suexec"),
    ("UserDir", "userdir"),
    ("VirtualDocumentRoot", "vhost_alias"),
    ("H2Direct", "http2"),
    ("Protocols", "http2"),
    ("SSLOptions", "ssl"),
    ("If", "core"),
    ("ElseIf", "core"),
    ("Else", "core"),
    ("ProxyMatch", "proxy"),
    ("Macro", "macro"),
];

/// The module of a real Apache directive the lab does not implement.
pub fn not_implemented(name: &str) -> Option<&'static str> {
    NOT_IMPLEMENTED
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
}
