//! The typed Apache configuration: what the HTTP role serves from. Built by `config::build`
//! from the syntax tree; immutable once built (a reload builds a new one and swaps it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::diagnostic::Span;

/// The whole Apache role configuration of one workspace.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Root of the student workspace (the directory holding `lab.toml`).
    pub workspace: PathBuf,
    /// `ServerRoot`: the workspace's `etc/apache2`.
    pub server_root: PathBuf,
    /// Modules loaded with `LoadModule`, by short name (`alias`, `mpm_event`, `status`...).
    /// Hashed: several requests' phases ask whether a module is loaded.
    pub modules: crate::util::FxSet<String>,
    /// Names defined with `Define` (or by the lab): `<IfDefine>` in `.htaccess` reads them.
    pub defines: BTreeSet<String>,
    pub mpm: MpmSettings,
    /// Every `Listen`, in order, with the socket address the lab binds for it.
    pub listens: Vec<Listen>,
    /// The main server: directives outside any `<VirtualHost>`.
    pub main: HostConfig,
    /// `<VirtualHost>` blocks in configuration order.
    pub vhosts: Vec<VirtualHost>,
    /// `LogFormat "..." nickname`.
    pub log_formats: HashMap<String, String>,
    pub limits: RequestLimits,
    pub keep_alive: KeepAliveSettings,
    /// `Timeout`: how long to wait for a client (also the header read timeout).
    pub timeout: Duration,
    /// `RequestReadTimeout` of mod_reqtimeout (only used when the module is loaded).
    pub request_read: RequestReadTimeout,
    /// `ServerTokens`/`ServerSignature`-like value sent in the `Server` header.
    pub server_tokens: String,
    /// `BufferedLogs On`: access log lines are kept in memory and written in batches. Off
    /// (the default) writes each line when its request ends.
    pub buffered_logs: bool,
    /// `TypesConfig`: the `mime.types` table of mod_mime.
    pub types_config: Option<ResolvedPath>,
    /// mod_wsgi's server-wide settings and daemon process groups.
    pub wsgi: super::wsgi::WsgiServer,
    /// The lab's script cache (`ScriptCache*`, modelled on OPcache's settings).
    pub scriptcache: ScriptCacheSettings,
    /// Per-directory merges already worked out for this configuration (see
    /// [`crate::http::perdir::MergeCache`]); a clone starts empty.
    pub merge_cache: crate::http::perdir::MergeCache,
}

/// `ScriptCache`, `ScriptCacheValidateTimestamps`, `ScriptCacheRevalidateFreq`,
/// `ScriptCacheMaxFiles`, `ScriptCacheMemory` (opcache.enable, validate_timestamps,
/// revalidate_freq, max_accelerated_files, memory_consumption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCacheSettings {
    /// `ScriptCache On|Off` (default On once the module is loaded).
    pub on: bool,
    pub validate_timestamps: bool,
    pub revalidate_freq: Duration,
    pub max_files: usize,
    /// Bytes of compiled code the cache may hold.
    pub memory: u64,
    /// `WSGIApcuShmSize`: bytes of each WSGI process group's `apcu` cache (apc.shm_size).
    pub apcu_shm_size: u64,
}

impl Default for ScriptCacheSettings {
    fn default() -> Self {
        ScriptCacheSettings {
            on: true,
            validate_timestamps: true,
            revalidate_freq: Duration::from_secs(2),
            max_files: 10_000,
            memory: 128 * 1024 * 1024,
            apcu_shm_size: 32 * 1024 * 1024,
        }
    }
}

impl ServerConfig {
    /// The sections that apply to `vhost`: the main server's first, then the vhost's own
    /// (Apache merges a vhost's per-directory configuration over the main server's).
    pub fn sections_for<'a>(&'a self, host: &'a HostConfig) -> impl Iterator<Item = &'a Section> {
        let own = if std::ptr::eq(host, &self.main) {
            &[][..]
        } else {
            &host.sections[..]
        };
        self.main.sections.iter().chain(own.iter())
    }

    /// True when the module (short name, e.g. `autoindex`) is loaded.
    pub fn has_module(&self, name: &str) -> bool {
        self.modules.contains(name)
    }
}

/// Which MPM is loaded and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpmSettings {
    pub kind: MpmKind,
    pub start_servers: u32,
    pub min_spare: u32,
    pub max_spare: u32,
    pub threads_per_child: u32,
    /// `MaxRequestWorkers`: requests served at once; the lab enforces it as a concurrency limit.
    pub max_request_workers: u32,
    pub max_connections_per_child: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpmKind {
    Event,
    Worker,
    Prefork,
}

impl MpmKind {
    pub fn module(self) -> &'static str {
        match self {
            MpmKind::Event => "mpm_event",
            MpmKind::Worker => "mpm_worker",
            MpmKind::Prefork => "mpm_prefork",
        }
    }
}

/// A `Listen` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// Address as written (`None` for `Listen 80`, which the lab binds on 127.0.0.1).
    pub addr: Option<IpAddr>,
    /// Port as written.
    pub port: u16,
    /// Where the lab actually listens (privileged ports mapped with the workspace offset).
    pub bind: SocketAddr,
    pub span: Span,
}

impl Listen {
    /// True when the port was moved because the lab may not bind it.
    pub fn is_mapped(&self) -> bool {
        self.bind.port() != self.port
    }
}

/// Limits applied while reading a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// `LimitRequestLine` (default 8190): longer request lines get 414.
    pub request_line: usize,
    /// `LimitRequestFieldSize` (default 8190): a longer header line gets 400, as in Apache.
    pub field_size: usize,
    /// `LimitRequestFields` (default 100): more header fields get 400, as in Apache.
    pub fields: usize,
    /// `LimitRequestBody` (0 = unlimited).
    pub body: u64,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            request_line: 8190,
            field_size: 8190,
            fields: 100,
            body: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepAliveSettings {
    pub enabled: bool,
    pub timeout: Duration,
    pub max_requests: u32,
}

/// A path as written in the configuration and the path the lab uses for it (inside the
/// workspace first, on the host when it does not exist there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    pub written: String,
    pub path: PathBuf,
}

/// An address in `<VirtualHost addr:port>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VhostAddr {
    /// `None` for `*` or `_default_`.
    pub ip: Option<IpAddr>,
    /// `None` for `:*` or no port.
    pub port: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct VirtualHost {
    pub addrs: Vec<VhostAddr>,
    pub host: HostConfig,
    pub span: Span,
}

impl VirtualHost {
    /// The name Apache would show for this vhost (`ServerName` or its first address).
    pub fn display_name(&self) -> String {
        self.host.server_name.clone().unwrap_or_else(|| {
            "(sin ServerName: se usa el nombre del servidor principal)".to_string()
        })
    }
}

/// What a server (main or virtual) says about itself, plus its per-directory defaults.
/// `AllowEncodedSlashes Off|On|NoDecode`: what `%2F` in a request path does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedSlashes {
    /// 404 (Apache's default).
    Off,
    /// Decoded to `/`.
    On,
    /// Accepted and kept as `%2F` in the decoded path.
    NoDecode,
}

/// `TraceEnable On|Off|extended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEnable {
    On,
    Off,
    /// TRACE with a request body too.
    Extended,
}

#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    pub server_name: Option<String>,
    /// `AccessFileName` (`None`: not written here; Apache's default is `.htaccess`).
    pub access_file_names: Option<Vec<String>>,
    pub server_aliases: Vec<String>,
    pub server_admin: Option<String>,
    pub document_root: Option<ResolvedPath>,
    /// Where `DocumentRoot` was written.
    pub document_root_span: Option<Span>,
    /// `Alias`, `AliasMatch`, `ScriptAlias`, `ScriptAliasMatch` in order (first match wins).
    pub aliases: Vec<Alias>,
    /// `Redirect`, `RedirectMatch`, `RedirectPermanent`, `RedirectTemp` (server/vhost level).
    pub redirects: Vec<Redirect>,
    /// `<Directory>`, `<Files>`, `<Location>` and their `Match` forms, in configuration order.
    pub sections: Vec<Section>,
    /// Per-directory directives written directly at this server's level.
    pub defaults: DirConfig,
    pub error_log: Option<ResolvedPath>,
    pub log_level: Option<String>,
    pub custom_logs: Vec<CustomLog>,
    /// `WSGIScriptAlias` in order.
    pub wsgi_aliases: Vec<super::wsgi::WsgiScriptAlias>,
    /// `ProxyPass`, `ProxyPassMatch`, `ProxyTimeout`, `<Proxy>` (mod_proxy, mod_proxy_fcgi).
    pub proxy: super::proxy::HostProxy,
    /// `RemoteIPHeader`, `RemoteIPInternalProxy`... (mod_remoteip).
    pub remoteip: super::remoteip::RemoteIp,
    /// `AllowEncodedSlashes` (server or vhost; `None`: the main server's, else Off).
    pub allow_encoded_slashes: Option<EncodedSlashes>,
    /// `UseCanonicalName On`: self-referential URLs use `ServerName` and its port.
    pub use_canonical_name: Option<bool>,
    /// The port written in `ServerName name:port`.
    pub server_port: Option<u16>,
    /// `TraceEnable`: `None` leaves Apache's default (On; Debian's security.conf says Off).
    pub trace_enable: Option<TraceEnable>,
    /// Span of the `<VirtualHost>` or of `ServerName` for reports.
    pub span: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct Alias {
    pub kind: AliasKind,
    /// URL prefix (for `Alias`) or regex source (for `AliasMatch`).
    pub url: String,
    pub regex: Option<regex::Regex>,
    /// Target path (may contain `$1` for the Match forms).
    pub target: ResolvedPath,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    Alias,
    /// `ScriptAlias`: marks the target as CGI (`SetHandler cgi-script`).
    Script,
}

#[derive(Debug, Clone)]
pub struct Redirect {
    pub status: u16,
    /// URL prefix, or regex for `RedirectMatch`.
    pub from: String,
    pub regex: Option<regex::Regex>,
    /// Target URL; `None` for `gone` (410).
    pub to: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct CustomLog {
    pub path: ResolvedPath,
    /// The format string (a nickname is resolved when the config is built).
    pub format: String,
    pub span: Span,
}

/// A configuration section and what it says.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    pub pattern: SectionPattern,
    pub config: DirConfig,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SectionKind {
    Directory,
    DirectoryMatch,
    Files,
    FilesMatch,
    Location,
    LocationMatch,
}

impl SectionKind {
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Directory => "Directory",
            SectionKind::DirectoryMatch => "DirectoryMatch",
            SectionKind::Files => "Files",
            SectionKind::FilesMatch => "FilesMatch",
            SectionKind::Location => "Location",
            SectionKind::LocationMatch => "LocationMatch",
        }
    }
}

#[derive(Debug, Clone)]
pub enum SectionPattern {
    /// `<Directory />`: every path.
    Root,
    /// A literal path or URL prefix (directories resolved like every other path).
    Path(ResolvedPath),
    /// A path with shell wildcards (`*`, `?`, `[...]`), Apache's non-regex form.
    Wildcard(ResolvedPath),
    /// `~ "regex"` or a `...Match` section.
    Regex(regex::Regex),
}

/// Per-directory configuration. Every field is optional so sections can be merged in
/// Apache's order: a later section overrides what it sets and keeps the rest.
#[derive(Debug, Clone, Default)]
pub struct DirConfig {
    pub options: Option<OptionsDirective>,
    pub allow_override_none: Option<bool>,
    /// `AllowOverride`: the categories `.htaccess` files may use (bits of
    /// [`crate::http::htaccess::Override`]); `None` when not written here.
    pub allow_override: Option<u8>,
    /// The options `AllowOverride Options=...` lets `.htaccess` files set (every option when
    /// `Options` or `All` is written without a list); `None` when no `AllowOverride` is here.
    pub allow_override_opts: Option<OptionSet>,
    /// `AllowOverrideList`: directives allowed in `.htaccess` by name (lowercase).
    pub allow_override_list: Option<Vec<String>>,
    /// `ProxyFCGISetEnvIf`, in order (mod_proxy_fcgi appends the inner ones to the outer).
    pub fcgi_set_env: Vec<FcgiSetEnv>,
    /// `Require` lines of this section (several lines = `RequireAny`).
    pub require: Option<RequireExpr>,
    /// `ServerSignature` (the footer of generated pages and `SERVER_SIGNATURE`).
    pub server_signature: Option<ServerSignature>,
    /// `Order`/`Allow`/`Deny`/`Satisfy` of this section (mod_access_compat).
    pub access_compat: Option<AccessCompat>,
    pub directory_index: Option<Vec<String>>,
    pub error_documents: BTreeMap<u16, ErrorDocument>,
    /// `Header` actions, applied in order.
    pub headers: Vec<HeaderAction>,
    pub expires_active: Option<bool>,
    pub expires_by_type: BTreeMap<String, Duration>,
    pub expires_default: Option<Duration>,
    /// `AddType mime .ext` (extension without the dot, lowercase).
    pub add_types: BTreeMap<String, String>,
    pub force_type: Option<String>,
    /// `AddLanguage lang .ext`.
    pub add_languages: BTreeMap<String, String>,
    /// `AddCharset charset .ext` (the charset lower-cased, as Apache writes it).
    pub add_charsets: BTreeMap<String, String>,
    /// `RemoveType .ext`: no type for these extensions, not even from `TypesConfig`.
    pub remove_types: Vec<String>,
    /// `AddDefaultCharset`: `Some(charset)`, or `Some("")` for `Off`.
    pub default_charset: Option<String>,
    /// `LimitRequestBody` in this section (0 = unlimited); applied to WSGI requests.
    pub limit_request_body: Option<u64>,
    /// `SetHandler` (`server-status`, `cgi-script`, `None`...).
    pub set_handler: Option<String>,
    /// `AddHandler handler .ext`.
    pub add_handlers: BTreeMap<String, String>,
    pub index_options: Option<Vec<String>>,
    /// `SetEnvIf`-style rules: attribute, regex, variables.
    pub set_env_if: Vec<SetEnvIf>,
    /// `Redirect` inside a `<Location>`/`<Directory>` (no URL argument form included).
    pub redirects: Vec<Redirect>,
    /// `WSGIProcessGroup`, `WSGIApplicationGroup`, `WSGICallableObject`, `WSGIScriptReloading`.
    pub wsgi: super::wsgi::WsgiDirConfig,
    /// `<Files>`/`<FilesMatch>` nested in this `<Directory>`: they apply only to files under it.
    pub files: Vec<Section>,
    /// `SetEnv`, `UnsetEnv`, `PassEnv` in order (mod_env).
    pub env: Vec<EnvOp>,
    /// `AcceptPathInfo On|Off` (`None`: `Default`, the handler decides).
    pub accept_path_info: Option<bool>,
    /// `CGIPassAuth On|Off`.
    pub cgi_pass_auth: Option<bool>,
    /// `CGIDScriptTimeout` (else `Timeout`).
    pub cgid_script_timeout: Option<Duration>,
    /// `Action type-or-handler /cgi-script [virtual]`: lowercased key -> (URL, virtual).
    pub actions: BTreeMap<String, (String, bool)>,
    /// `php_value`, `php_flag`, `php_admin_value`, `php_admin_flag` (mod_php), in order.
    pub php: Vec<PhpSetting>,
}

/// `ProxyFCGISetEnvIf condition [!]NAME [value]`.
#[derive(Debug, Clone)]
pub struct FcgiSetEnv {
    pub condition: crate::config::expr::Expr,
    /// The variable; `unset` for the `!NAME` form.
    pub name: String,
    pub unset: bool,
    /// The value as a string expression (`$1`, `%{VAR}`); empty when not given.
    pub value: crate::config::expr::StrExpr,
}

/// One mod_env directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvOp {
    Set(String, String),
    Unset(String),
    /// `PassEnv NAME`: the value the server was started with.
    Pass(String),
}

/// One `php_value NAME VALUE` (or its flag and admin forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpSetting {
    pub name: String,
    /// Flags are written `1`/`0`, as mod_php hands them to PHP.
    pub value: String,
    /// `php_admin_*`: scripts cannot change it with `ini_set`.
    pub admin: bool,
}

/// `Options` as written: either an absolute set or `+`/`-` changes to the inherited set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionsDirective {
    /// `Some` for the unsigned form (`Options Indexes FollowSymLinks`).
    pub set: Option<OptionSet>,
    pub add: OptionSet,
    pub remove: OptionSet,
}

impl OptionsDirective {
    /// Applies this directive over the options inherited from the enclosing sections.
    pub fn apply(&self, inherited: OptionSet) -> OptionSet {
        let base = self.set.unwrap_or(inherited);
        OptionSet((base.0 | self.add.0) & !self.remove.0)
    }
}

/// A set of `Options` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptionSet(pub u8);

impl OptionSet {
    pub const NONE: OptionSet = OptionSet(0);
    pub const INDEXES: OptionSet = OptionSet(1);
    pub const FOLLOW_SYMLINKS: OptionSet = OptionSet(2);
    pub const SYMLINKS_IF_OWNER_MATCH: OptionSet = OptionSet(4);
    pub const EXEC_CGI: OptionSet = OptionSet(8);
    pub const MULTIVIEWS: OptionSet = OptionSet(16);
    pub const INCLUDES: OptionSet = OptionSet(32);
    pub const INCLUDES_NOEXEC: OptionSet = OptionSet(64);
    /// `All`: everything but MultiViews, as in Apache.
    pub const ALL: OptionSet = OptionSet(1 | 2 | 4 | 8 | 32 | 64);
    /// Every option, MultiViews included (what `AllowOverride Options` allows).
    pub const EVERY: OptionSet = OptionSet(127);
    /// Apache 2.4's default when no `Options` applies.
    pub const DEFAULT: OptionSet = OptionSet::FOLLOW_SYMLINKS;

    pub fn contains(self, other: OptionSet) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn union(self, other: OptionSet) -> OptionSet {
        OptionSet(self.0 | other.0)
    }
}

/// `ServerSignature Off|On|EMail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerSignature {
    /// Apache's default (Debian's `security.conf` turns it `On`).
    #[default]
    Off,
    On,
    EMail,
}

/// The host rules of mod_access_compat (Apache 2.2's `Order`, `Allow from`, `Deny from`,
/// `Satisfy`), still accepted by Apache 2.4 and enabled by Debian. The module has no merger:
/// the most specific section that writes any of these directives replaces the whole set, and
/// a section that writes none inherits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessCompat {
    /// `Order` lines in the order written, each for every method or for those of its
    /// `<Limit>`; the last that applies to a request's method wins (default `Deny,Allow`).
    pub orders: Vec<(Option<MethodFilter>, AccessOrder)>,
    /// `Allow from` entries, in order (each an `All`, `Ip`, `Host`, `Env` or `Not(Env)`,
    /// wrapped in `Limited` inside a `<Limit>`).
    pub allow: Vec<RequireExpr>,
    /// `Deny from` entries.
    pub deny: Vec<RequireExpr>,
    /// `Satisfy` lines (`true`: `Any`), as `orders`: passing the host rules is enough and
    /// `Require` is not asked.
    pub satisfy: Vec<(Option<MethodFilter>, bool)>,
}

/// `Order`: which list is read last, and so wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessOrder {
    /// `Deny,Allow` (the default): allowed unless denied and not allowed again.
    #[default]
    DenyAllow,
    /// `Allow,Deny`: denied unless allowed and not denied.
    AllowDeny,
    /// `Mutual-failure`: allowed only when allowed and not denied.
    MutualFailure,
}

impl AccessCompat {
    /// mod_access_compat's `check_dir_access` for `method`, given whether any `Allow` and any
    /// `Deny` entry matches the client.
    pub fn passes(&self, method: &str, allowed: bool, denied: bool) -> bool {
        match last_for(&self.orders, method).unwrap_or_default() {
            AccessOrder::DenyAllow => allowed || !denied,
            AccessOrder::AllowDeny | AccessOrder::MutualFailure => allowed && !denied,
        }
    }

    /// `Satisfy Any` for this method.
    pub fn satisfy_any(&self, method: &str) -> bool {
        last_for(&self.satisfy, method).unwrap_or(false)
    }
}

fn last_for<T: Copy>(lines: &[(Option<MethodFilter>, T)], method: &str) -> Option<T> {
    lines
        .iter()
        .rev()
        .find(|(f, _)| f.as_ref().is_none_or(|f| f.applies(method)))
        .map(|(_, v)| *v)
}

/// The methods of a `<Limit>` (`except: false`) or `<LimitExcept>` (`true`) block, as written
/// (methods are case-sensitive in Apache); `GET` covers `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodFilter {
    pub methods: Vec<String>,
    pub except: bool,
}

impl MethodFilter {
    pub fn applies(&self, method: &str) -> bool {
        let method = if method == "HEAD" { "GET" } else { method };
        self.methods.iter().any(|m| m == method) != self.except
    }
}

/// An authorization rule of mod_authz_core / mod_authz_host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequireExpr {
    /// `Require all granted` (true) / `Require all denied` (false).
    All(bool),
    /// `Require ip 10.0.0.0/8 192.168.1.5`.
    Ip(Vec<IpNet>),
    /// `Require host example.org`: the client's name by double reverse lookup, matched as a
    /// domain suffix (`http::authz::host_matches`).
    Host(Vec<String>),
    /// `Require local`: loopback clients.
    Local,
    /// `Require method GET POST`.
    Method(Vec<String>),
    /// `Require env VAR`.
    Env(Vec<String>),
    /// `Require not ...`.
    Not(Box<RequireExpr>),
    /// `<RequireAll>`: every child must grant.
    AllOf(Vec<RequireExpr>),
    /// `<RequireAny>` (and several `Require` lines): one child must grant.
    AnyOf(Vec<RequireExpr>),
    /// `<RequireNone>`: no child may grant.
    NoneOf(Vec<RequireExpr>),
    /// A rule inside `<Limit>`/`<LimitExcept>`: it says nothing for other methods.
    Limited(MethodFilter, Box<RequireExpr>),
}

/// An IP network for `Require ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorDocument {
    /// A local URL (`/errores/404.html`), served with an internal redirect.
    Local(String),
    /// An external URL: the client is redirected (302).
    Remote(String),
    /// A quoted message sent as the body.
    Text(String),
    /// `ErrorDocument 404 default`.
    Default,
}

/// `Header [always|onsuccess] set|append|add|unset|merge|setifempty|edit Name [value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderAction {
    pub always: bool,
    pub op: HeaderOp,
    pub name: String,
    pub value: Option<String>,
    /// `env=VAR` / `env=!VAR` condition.
    pub condition: Option<(bool, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOp {
    Set,
    Append,
    Add,
    Merge,
    SetIfEmpty,
    Unset,
}

#[derive(Debug, Clone)]
pub struct SetEnvIf {
    /// `Remote_Addr`, `Request_URI`, `Request_Method`, or a request header name.
    pub attribute: String,
    /// An attribute written as a regular expression (`^Authorization$`), compiled once.
    pub attribute_regex: Option<regex::Regex>,
    /// What the attribute names, worked out once.
    pub source: EnvSource,
    pub regex: regex::Regex,
    pub case_insensitive: bool,
    /// `VAR=value`, `VAR` (=1) or `!VAR` (unset: value `None`).
    pub vars: Vec<(String, Option<String>)>,
}

/// Where a `SetEnvIf` rule takes the value it matches.
#[derive(Clone, Debug)]
pub enum EnvSource {
    RemoteAddr,
    RequestUri,
    RequestMethod,
    RequestProtocol,
    /// A request header (looked up case-insensitively).
    Header(http::HeaderName),
    /// Not a valid header name: only its regular expression form can match.
    Other,
}

impl EnvSource {
    pub fn of(attribute: &str) -> EnvSource {
        match attribute.to_ascii_lowercase().as_str() {
            "remote_addr" => EnvSource::RemoteAddr,
            "request_uri" => EnvSource::RequestUri,
            "request_method" => EnvSource::RequestMethod,
            "request_protocol" => EnvSource::RequestProtocol,
            name => http::HeaderName::from_bytes(name.as_bytes())
                .map(EnvSource::Header)
                .unwrap_or(EnvSource::Other),
        }
    }
}

/// One stage of mod_reqtimeout (`header=20-40,MinRate=500`): `timeout` seconds from the
/// stage's start, extended by one second for each `min_rate` bytes received, up to `max`
/// seconds (`0`: no upper bound but `Timeout`). A `timeout` of 0 turns the stage off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStage {
    pub timeout: u32,
    pub max: u32,
    pub min_rate: u32,
}

/// `RequestReadTimeout`: each stage a line sets, `None` for the module's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestReadTimeout {
    pub handshake: Option<ReadStage>,
    pub header: Option<ReadStage>,
    pub body: Option<ReadStage>,
}

impl RequestReadTimeout {
    /// The header stage: what was written, or Apache's default (`header=20-40,MinRate=500`).
    pub fn header(&self) -> ReadStage {
        self.header.unwrap_or(ReadStage {
            timeout: 20,
            max: 40,
            min_rate: 500,
        })
    }

    /// The body stage: what was written, or Apache's default (`body=20,MinRate=500`).
    pub fn body(&self) -> ReadStage {
        self.body.unwrap_or(ReadStage {
            timeout: 20,
            max: 0,
            min_rate: 500,
        })
    }
}
