//! Per-directory configuration for one request, merged in Apache's order:
//!
//! 1. the server's and the vhost's own per-directory directives (outside any section);
//! 2. `<Directory>` sections, shortest path first (config order among equals);
//! 3. `<DirectoryMatch>` and `<Directory ~>`, in config order;
//! 4. `<Files>` and `<FilesMatch>`, in config order, against the file name;
//! 5. `<Location>` and `<LocationMatch>`, in config order, against the URL path.
//!
//! The main server's sections come before the vhost's at every step. Later layers win; the
//! merge keeps references into the configuration snapshot, so it allocates one small vector.

use std::path::Path;

use crate::config::loader::fnmatch;
use crate::config::model::{
    DirConfig, ErrorDocument, HeaderAction, HostConfig, OptionSet, Redirect, RequireExpr, Section,
    SectionKind, SectionPattern, ServerConfig,
};

/// The sections and defaults that apply to one request, in merge order.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    /// Each layer with the section it comes from (`None`: server or vhost level).
    layers: Vec<(Option<&'a Section>, &'a DirConfig)>,
    /// `Options` after every layer applied.
    pub options: OptionSet,
    /// The `.htaccess` files read on the way, root first (boxed: most requests read none,
    /// and the struct travels in every handler's error).
    htaccess: Option<Box<HtaccessFiles>>,
}

/// The `.htaccess` files one request read (a thin box keeps [`Effective`] small).
#[derive(Debug, Clone)]
struct HtaccessFiles(Vec<std::path::PathBuf>);

/// Where a request lands, for matching sections.
pub struct Target<'a> {
    /// The directory walked (the file's directory, or the directory itself). `None` when the
    /// URL maps to no file system path.
    pub dir: Option<&'a Path>,
    /// The last path component, for `<Files>`.
    pub file_name: Option<&'a str>,
    /// The decoded, normalised URL path, for `<Location>`.
    pub url: &'a str,
}

/// The merges of one configuration that read no file (no `.htaccess` can apply to their
/// directory): the same target on the same host always merges the same way while the
/// configuration lives, so each is worked out once. Kept inside the configuration, so an
/// entry never outlives the sections it points at; layers are kept as indices.
pub struct MergeCache(std::sync::Mutex<crate::util::HashChains<CachedMerge>>);

/// At most this many targets are kept; past it, the table starts again.
const MERGE_CACHE_MAX: usize = 4096;

/// At most this many targets share a hash (the hash is fast, not collision-proof: URLs made
/// to collide would otherwise make every lookup walk a long list).
const MERGE_CHAIN_MAX: usize = 4;

impl Default for MergeCache {
    fn default() -> Self {
        MergeCache(std::sync::Mutex::new(crate::util::HashChains::new(
            MERGE_CACHE_MAX,
            MERGE_CHAIN_MAX,
        )))
    }
}

fn target_hash(host: usize, target: &Target<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::util::FxHasher::default();
    host.hash(&mut h);
    target.url.hash(&mut h);
    target.file_name.hash(&mut h);
    target.dir.map(Path::as_os_str).hash(&mut h);
    h.finish()
}

struct CachedMerge {
    /// The host's address inside the configuration.
    host: usize,
    dir: Option<std::path::PathBuf>,
    file_name: Option<String>,
    url: String,
    layers: Vec<LayerAt>,
    options: OptionSet,
}

/// Where a layer is in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LayerAt {
    MainDefaults,
    HostDefaults,
    /// The n-th of `sections_for(host)`.
    Section(usize),
    /// A `<Files>` nested in the n-th section.
    Nested(usize, usize),
}

impl Clone for MergeCache {
    fn clone(&self) -> Self {
        MergeCache::default()
    }
}

impl std::fmt::Debug for MergeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|t| t.len()).unwrap_or(0);
        write!(f, "MergeCache({n})")
    }
}

fn host_sections<'a>(config: &'a ServerConfig, host: &'a HostConfig) -> &'a [Section] {
    if std::ptr::eq(host, &config.main) {
        &[]
    } else {
        &host.sections
    }
}

/// The n-th of `config.sections_for(host)`.
fn section_at<'a>(config: &'a ServerConfig, host: &'a HostConfig, n: usize) -> Option<&'a Section> {
    let main = &config.main.sections;
    match n.checked_sub(main.len()) {
        None => main.get(n),
        Some(k) => host_sections(config, host).get(k),
    }
}

impl MergeCache {
    fn get<'a>(
        &self,
        config: &'a ServerConfig,
        host: &'a HostConfig,
        target: &Target<'_>,
    ) -> Option<Effective<'a>> {
        let key = host as *const HostConfig as usize;
        let hash = target_hash(key, target);
        let cache = self.0.lock().ok()?;
        let hit = cache.find(hash, |e| {
            e.host == key
                && e.url == target.url
                && e.file_name.as_deref() == target.file_name
                && e.dir.as_deref() == target.dir
        })?;
        let mut layers = Vec::with_capacity(hit.layers.len());
        for at in &hit.layers {
            layers.push(match *at {
                LayerAt::MainDefaults => (None, &config.main.defaults),
                LayerAt::HostDefaults => (None, &host.defaults),
                LayerAt::Section(n) => {
                    let s = section_at(config, host, n)?;
                    (Some(s), &s.config)
                }
                LayerAt::Nested(n, k) => {
                    let s = section_at(config, host, n)?.config.files.get(k)?;
                    (Some(s), &s.config)
                }
            });
        }
        Some(Effective {
            layers,
            options: hit.options,
            htaccess: None,
        })
    }

    fn put(
        &self,
        config: &ServerConfig,
        host: &HostConfig,
        target: &Target<'_>,
        eff: &Effective<'_>,
    ) {
        let all = || config.sections_for(host).enumerate();
        let mut layers = Vec::with_capacity(eff.layers.len());
        for (section, dir_config) in &eff.layers {
            let at = match section {
                None if std::ptr::eq(*dir_config, &config.main.defaults) => LayerAt::MainDefaults,
                None if std::ptr::eq(*dir_config, &host.defaults) => LayerAt::HostDefaults,
                None => return,
                Some(s) => {
                    let top = all().find(|(_, t)| std::ptr::eq(*t, *s)).map(|(n, _)| n);
                    let nested = || {
                        all().find_map(|(n, t)| {
                            t.config
                                .files
                                .iter()
                                .position(|f| std::ptr::eq(f, *s))
                                .map(|k| LayerAt::Nested(n, k))
                        })
                    };
                    match top.map(LayerAt::Section).or_else(nested) {
                        Some(at) => at,
                        None => return,
                    }
                }
            };
            layers.push(at);
        }
        let key = host as *const HostConfig as usize;
        let hash = target_hash(key, target);
        let Ok(mut cache) = self.0.lock() else { return };
        cache.insert(
            hash,
            CachedMerge {
                host: key,
                dir: target.dir.map(Path::to_path_buf),
                file_name: target.file_name.map(str::to_string),
                url: target.url.to_string(),
                layers,
                options: eff.options,
            },
        );
    }
}

impl<'a> Effective<'a> {
    /// Merges what applies to `target` on `host` (the main server or a vhost), without
    /// `.htaccess` files.
    pub fn merge(config: &'a ServerConfig, host: &'a HostConfig, target: &Target<'_>) -> Self {
        match Self::merge_inner(config, host, target, false) {
            Ok(e) => e,
            // Not reached: without the walk nothing is read.
            Err(_) => Self::merge_inner(config, host, target, false).unwrap_or(Effective {
                layers: Vec::new(),
                options: OptionSet::DEFAULT,
                htaccess: None,
            }),
        }
    }

    /// [`Effective::merge`] with the `.htaccess` files of every directory from the root down
    /// to `target.dir`, each right after the `<Directory>` sections of its own level, where
    /// `AllowOverride`/`AllowOverrideList` let them in. An invalid file is an error.
    pub fn merge_walk(
        config: &'a ServerConfig,
        host: &'a HostConfig,
        target: &Target<'_>,
    ) -> Result<Self, super::htaccess::Invalid> {
        Self::merge_inner(config, host, target, true)
    }

    /// [`Effective::merge_walk`] for a subrequest (an index file, an `ErrorDocument`): an
    /// invalid `.htaccess` there leaves the sections alone.
    pub fn merge_or_plain(
        config: &'a ServerConfig,
        host: &'a HostConfig,
        target: &Target<'_>,
    ) -> Self {
        Self::merge_walk(config, host, target).unwrap_or_else(|_| Self::merge(config, host, target))
    }

    fn merge_inner(
        config: &'a ServerConfig,
        host: &'a HostConfig,
        target: &Target<'_>,
        walk: bool,
    ) -> Result<Self, super::htaccess::Invalid> {
        if let Some(hit) = config.merge_cache.get(config, host, target) {
            return Ok(hit);
        }
        let is_main = std::ptr::eq(host, &config.main);
        let mut layers: Vec<(Option<&'a Section>, &'a DirConfig)> = Vec::with_capacity(8);
        layers.push((None, &config.main.defaults));
        if !is_main {
            layers.push((None, &host.defaults));
        }
        let sections = || config.sections_for(host);
        // `<Files>` nested in the directory sections that matched, merged with the others.
        let mut nested: Vec<&'a Section> = Vec::new();
        let mut htaccess = Vec::new();
        // Whether an `.htaccess` could apply on the way (read or not): such a merge depends
        // on the disk and is never kept.
        let mut overridable = false;
        if let Some(dir) = target.dir {
            // Only `<DirectoryMatch>` needs the path as the configuration writes it.
            let mut virt: Option<String> = None;
            let mut dirs: Vec<(usize, &Section)> = sections()
                .filter(|s| s.kind == SectionKind::Directory)
                .filter_map(|s| directory_depth(s, dir).map(|d| (d, s)))
                .collect();
            // Stable: equal depths keep configuration order.
            dirs.sort_by_key(|(d, _)| *d);
            nested.extend(dirs.iter().flat_map(|(_, s)| s.config.files.iter()));
            overridable = dirs.iter().any(|(_, s)| {
                s.config.allow_override.is_some_and(|a| a != 0)
                    || s.config
                        .allow_override_list
                        .as_ref()
                        .is_some_and(|l| !l.is_empty())
            });
            let overrides = walk && overridable;
            if overrides {
                // The walk: each level's sections, then its `.htaccess`.
                let base = if dir.starts_with(&config.workspace) {
                    config.workspace.as_path()
                } else {
                    Path::new("/")
                };
                let mut levels: Vec<&Path> = dir
                    .ancestors()
                    .take_while(|a| a.starts_with(base))
                    .collect();
                levels.reverse();
                let names = super::htaccess::names(config, host);
                let (mut allowed, mut list): (u8, &[String]) = (0, &[]);
                let mut opts = OptionSet::EVERY;
                let mut next = 0;
                for level in levels {
                    let k = level.components().count();
                    while next < dirs.len() && dirs[next].0 <= k {
                        let s = dirs[next].1;
                        if let Some(a) = s.config.allow_override {
                            allowed = a;
                            opts = s.config.allow_override_opts.unwrap_or(OptionSet::EVERY);
                        }
                        if let Some(l) = &s.config.allow_override_list {
                            list = l;
                        }
                        layers.push((Some(s), &s.config));
                        next += 1;
                    }
                    if allowed == 0 && list.is_empty() {
                        continue;
                    }
                    if let Some(found) =
                        super::htaccess::read(config, level, &names, (allowed, opts), list)?
                    {
                        nested.extend(found.config.files.iter());
                        layers.push((None, found.config));
                        htaccess.push(found.file);
                    }
                }
                layers.extend(dirs[next..].iter().map(|(_, s)| (Some(*s), &s.config)));
            } else {
                layers.extend(dirs.into_iter().map(|(_, s)| (Some(s), &s.config)));
            }
            let matched: Vec<&'a Section> = sections()
                .filter(|s| s.kind == SectionKind::DirectoryMatch)
                .filter(|s| match &s.pattern {
                    SectionPattern::Regex(re) => {
                        let virt = virt.get_or_insert_with(|| virtual_path(config, dir));
                        re.is_match(virt) || re.is_match(&format!("{virt}/"))
                    }
                    _ => false,
                })
                .collect();
            nested.extend(matched.iter().flat_map(|s| s.config.files.iter()));
            layers.extend(matched.into_iter().map(|s| (Some(s), &s.config)));
        }
        if let Some(name) = target.file_name {
            layers.extend(
                sections()
                    .chain(nested.iter().copied())
                    .filter(|s| matches!(s.kind, SectionKind::Files | SectionKind::FilesMatch))
                    .filter(|s| match &s.pattern {
                        SectionPattern::Regex(re) => re.is_match(name),
                        SectionPattern::Path(p) => p.written == name,
                        SectionPattern::Wildcard(p) => fnmatch(&p.written, name),
                        SectionPattern::Root => false,
                    })
                    .map(|s| (Some(s), &s.config)),
            );
        }
        layers.extend(
            sections()
                .filter(|s| matches!(s.kind, SectionKind::Location | SectionKind::LocationMatch))
                .filter(|s| location_matches(&s.pattern, target.url))
                .map(|s| (Some(s), &s.config)),
        );
        let options = layers.iter().fold(OptionSet::DEFAULT, |opts, (_, l)| {
            l.options.map_or(opts, |o| o.apply(opts))
        });
        let eff = Effective {
            layers,
            options,
            htaccess: (!htaccess.is_empty()).then(|| Box::new(HtaccessFiles(htaccess))),
        };
        if !overridable && eff.htaccess.is_none() {
            config.merge_cache.put(config, host, target, &eff);
        }
        Ok(eff)
    }

    /// The `.htaccess` files read for this request, root first.
    pub fn htaccess_files(&self) -> &[std::path::PathBuf] {
        self.htaccess.as_deref().map_or(&[], |h| h.0.as_slice())
    }

    /// The sections that applied, in merge order (for `lab explain`).
    pub fn sections(&self) -> impl Iterator<Item = &'a Section> + '_ {
        self.layers.iter().filter_map(|(s, _)| *s)
    }

    /// The section whose `Require` decides (`None`: server level, or no `Require` at all).
    pub fn require_source(&self) -> Option<&'a Section> {
        self.layers
            .iter()
            .rev()
            .find(|(_, l)| l.require.is_some())
            .and_then(|(s, _)| *s)
    }

    /// The value of the last layer that sets it.
    fn last<T: ?Sized>(&self, get: impl Fn(&'a DirConfig) -> Option<&'a T>) -> Option<&'a T> {
        self.layers.iter().rev().find_map(|(_, l)| get(l))
    }

    /// `Require` of the last layer that has one (AuthMerging Off, Apache's default).
    pub fn require(&self) -> Option<&'a RequireExpr> {
        self.last(|l| l.require.as_ref())
    }

    /// `Order`/`Allow`/`Deny`/`Satisfy` of the last layer that writes any of them.
    pub fn access_compat(&self) -> Option<&'a crate::config::model::AccessCompat> {
        self.last(|l| l.access_compat.as_ref())
    }

    /// The section whose `Order`/`Allow`/`Deny` rules apply (`None`: none, or a `.htaccess`).
    pub fn access_compat_source(&self) -> Option<&'a Section> {
        self.layers
            .iter()
            .rev()
            .find(|(_, l)| l.access_compat.is_some())
            .and_then(|(s, _)| *s)
    }

    /// `ServerSignature` in force (Apache's default `Off`).
    pub fn server_signature(&self) -> crate::config::model::ServerSignature {
        self.last(|l| l.server_signature.as_ref())
            .copied()
            .unwrap_or_default()
    }

    /// `php_value`/`php_admin_value`... of every layer, in order (later ones win).
    pub fn php_settings(&self) -> impl Iterator<Item = &'a crate::config::model::PhpSetting> + '_ {
        self.layers.iter().flat_map(|(_, l)| l.php.iter())
    }

    pub fn directory_index(&self) -> Option<&'a [String]> {
        self.last(|l| l.directory_index.as_deref())
    }

    pub fn error_document(&self, status: u16) -> Option<&'a ErrorDocument> {
        self.last(|l| l.error_documents.get(&status))
    }

    /// `Header` actions of every layer, in order.
    pub fn headers(&self) -> impl Iterator<Item = &'a HeaderAction> + '_ {
        self.layers.iter().flat_map(|(_, l)| l.headers.iter())
    }

    pub fn redirects(&self) -> impl Iterator<Item = &'a Redirect> + '_ {
        self.layers
            .iter()
            .rev()
            .flat_map(|(_, l)| l.redirects.iter())
    }

    pub fn set_handler(&self) -> Option<&'a str> {
        self.last(|l| l.set_handler.as_deref())
            .filter(|h| !h.eq_ignore_ascii_case("none"))
    }

    /// `AddHandler` for a lowercase extension.
    pub fn handler_for_ext(&self, ext: &str) -> Option<&'a str> {
        self.last(|l| l.add_handlers.get(ext).map(String::as_str))
    }

    pub fn force_type(&self) -> Option<&'a str> {
        self.last(|l| l.force_type.as_deref())
    }

    /// `LimitRequestBody` of the innermost section that sets it.
    pub fn limit_request_body(&self) -> Option<u64> {
        self.last(|l| l.limit_request_body.as_ref()).copied()
    }

    /// `AddType` for a lowercase extension.
    pub fn added_type(&self, ext: &str) -> Option<&'a str> {
        self.last(|l| l.add_types.get(ext).map(String::as_str))
    }

    /// The type of one extension: `AddType`, unless a later `RemoveType` took it away.
    /// `Some(None)`: removed, `TypesConfig` does not count either.
    pub fn extension_type(&self, ext: &str) -> Option<Option<&'a str>> {
        self.layers.iter().rev().find_map(|(_, l)| {
            if let Some(t) = l.add_types.get(ext) {
                Some(Some(t.as_str()))
            } else if l.remove_types.iter().any(|r| r == ext) {
                Some(None)
            } else {
                None
            }
        })
    }

    /// An identity of this merge's layers, to keep what depends only on them and on a path
    /// (mod_mime's answer for a file): `None` when an `.htaccess` file took part, as its
    /// sections are read anew for each request.
    pub fn layers_key(&self) -> Option<u64> {
        use std::hash::Hasher;
        if self.htaccess.is_some() {
            return None;
        }
        let mut h = crate::util::FxHasher::default();
        for (section, layer) in &self.layers {
            h.write_usize(section.map_or(0, |s| s as *const Section as usize));
            h.write_usize(*layer as *const DirConfig as usize);
        }
        Some(h.finish())
    }

    /// `AddLanguage` for a lowercase extension.
    pub fn added_language(&self, ext: &str) -> Option<&'a str> {
        self.last(|l| l.add_languages.get(ext).map(String::as_str))
    }

    /// `AddCharset` for a lowercase extension.
    pub fn added_charset(&self, ext: &str) -> Option<&'a str> {
        self.last(|l| l.add_charsets.get(ext).map(String::as_str))
    }

    /// `AddDefaultCharset` (`None` when off or not set).
    pub fn default_charset(&self) -> Option<&'a str> {
        self.last(|l| l.default_charset.as_deref())
            .filter(|c| !c.is_empty())
    }

    pub fn index_options(&self) -> Option<&'a [String]> {
        self.last(|l| l.index_options.as_deref())
    }

    pub fn expires_active(&self) -> bool {
        self.layers
            .iter()
            .rev()
            .find_map(|(_, l)| l.expires_active)
            .unwrap_or(false)
    }

    /// `ExpiresByType` for a content type (without parameters), else `ExpiresDefault`.
    pub fn expires_for(&self, content_type: &str) -> Option<std::time::Duration> {
        let bare = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.layers
            .iter()
            .rev()
            .find_map(|(_, l)| l.expires_by_type.get(&bare).copied())
            .or_else(|| {
                self.layers
                    .iter()
                    .rev()
                    .find_map(|(_, l)| l.expires_default)
            })
    }

    /// Every `ProxyFCGISetEnvIf`, outer sections first (mod_proxy_fcgi appends).
    pub fn fcgi_set_env(&self) -> impl Iterator<Item = &'a crate::config::model::FcgiSetEnv> + '_ {
        self.layers.iter().flat_map(|(_, l)| l.fcgi_set_env.iter())
    }

    /// Every `SetEnvIf` rule, in order.
    pub fn set_env_if(&self) -> impl Iterator<Item = &'a crate::config::model::SetEnvIf> + '_ {
        self.layers.iter().flat_map(|(_, l)| l.set_env_if.iter())
    }

    /// Every `SetEnv`/`UnsetEnv`/`PassEnv`, in order.
    pub fn env_ops(&self) -> impl Iterator<Item = &'a crate::config::model::EnvOp> + '_ {
        self.layers.iter().flat_map(|(_, l)| l.env.iter())
    }

    /// `AcceptPathInfo`: `None` is `Default`.
    pub fn accept_path_info(&self) -> Option<bool> {
        self.layers
            .iter()
            .rev()
            .find_map(|(_, l)| l.accept_path_info)
    }

    /// `CGIPassAuth On`.
    pub fn cgi_pass_auth(&self) -> bool {
        self.layers
            .iter()
            .rev()
            .find_map(|(_, l)| l.cgi_pass_auth)
            .unwrap_or(false)
    }

    /// `CGIDScriptTimeout`, when set.
    pub fn cgid_script_timeout(&self) -> Option<std::time::Duration> {
        self.layers
            .iter()
            .rev()
            .find_map(|(_, l)| l.cgid_script_timeout)
    }

    /// `Action` for a handler name or a media type (lowercase): (URL, `virtual`).
    pub fn action(&self, key: &str) -> Option<&'a (String, bool)> {
        self.last(|l| l.actions.get(key))
    }
}

/// `dir` as the configuration would write it: inside the workspace, relative to its root
/// with a leading `/` (`<ws>/var/www/html` -> `/var/www/html`). Regexes in `<DirectoryMatch>`
/// are written for those paths.
pub fn virtual_path(config: &ServerConfig, dir: &Path) -> String {
    match dir.strip_prefix(&config.workspace) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => dir.display().to_string(),
    }
}

/// The depth (number of components) of a `<Directory>` section that covers `dir`.
fn directory_depth(section: &Section, dir: &Path) -> Option<usize> {
    match &section.pattern {
        SectionPattern::Root => Some(0),
        SectionPattern::Path(p) => covers(&p.path, dir),
        SectionPattern::Wildcard(p) => {
            let n = p.path.components().count();
            let prefix: std::path::PathBuf = dir.components().take(n).collect();
            (dir.components().count() >= n
                && fnmatch(&p.path.to_string_lossy(), &prefix.to_string_lossy()))
            .then_some(n)
        }
        SectionPattern::Regex(_) => None,
    }
}

/// Whether `base` covers `dir` (`Path::starts_with`), and then the number of components of
/// `base`. Clean absolute paths, as the configuration and the mapping produce them, are
/// compared as bytes; anything else goes through `Path`'s component walk.
fn covers(base: &Path, dir: &Path) -> Option<usize> {
    use std::os::unix::ffi::OsStrExt;
    let (b, d) = (base.as_os_str().as_bytes(), dir.as_os_str().as_bytes());
    let clean =
        |p: &[u8]| p.first() == Some(&b'/') && !p.windows(2).any(|w| w == b"//" || w == b"/.");
    if !clean(b) || !clean(d) {
        return dir.starts_with(base).then(|| base.components().count());
    }
    let b = match b {
        [b'/'] => b,
        _ => b.strip_suffix(b"/").unwrap_or(b),
    };
    let inside = b == b"/" || (d.starts_with(b) && matches!(d.get(b.len()), None | Some(b'/')));
    inside.then(|| 1 + b.split(|&c| c == b'/').filter(|s| !s.is_empty()).count())
}

fn location_matches(pattern: &SectionPattern, url: &str) -> bool {
    match pattern {
        SectionPattern::Regex(re) => re.is_match(url),
        SectionPattern::Root => true,
        SectionPattern::Path(p) => prefix_at_boundary(&p.written, url),
        SectionPattern::Wildcard(p) => {
            let n = p.written.matches('/').count();
            let mut end = url.len();
            let mut seen = 0;
            for (i, c) in url.char_indices() {
                if c == '/' {
                    seen += 1;
                    if seen > n {
                        end = i;
                        break;
                    }
                }
            }
            fnmatch(&p.written, &url[..end])
        }
    }
}

/// `/admin` covers `/admin`, `/admin/` and `/admin/x`, not `/administrador`.
pub fn prefix_at_boundary(prefix: &str, url: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match url.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_coverage_is_path_starts_with() {
        let cases = [
            ("/", "/var/www"),
            ("/var/www", "/var/www"),
            ("/var/www", "/var/www/html"),
            ("/var/www/", "/var/www/html"),
            ("/var/www", "/var/wwwx"),
            ("/var/www/html", "/var/www"),
            ("/var//www", "/var/www/html"),
            ("/var/www", "/var/www/./html"),
            ("/srv/.oculto", "/srv/.oculto/x"),
            ("relativo", "relativo/x"),
        ];
        for (base, dir) in cases {
            let (base, dir) = (Path::new(base), Path::new(dir));
            let want = dir.starts_with(base).then(|| base.components().count());
            assert_eq!(covers(base, dir), want, "{base:?} {dir:?}");
        }
    }

    /// A layer as something to compare: the section's address and the config's.
    fn shape(eff: &Effective<'_>) -> Vec<(usize, usize)> {
        eff.layers
            .iter()
            .map(|(s, c)| {
                (
                    s.map_or(0, |s| s as *const Section as usize),
                    *c as *const DirConfig as usize,
                )
            })
            .collect()
    }

    #[test]
    fn a_merge_that_reads_no_file_is_kept_and_one_that_may_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&dir.path().join("ws"), Some("prueba")).unwrap();
        let _ = crate::a2::enable(
            &ws.apache_dir(),
            crate::a2::Kind::Module,
            &["headers".to_string()],
        );
        for d in ["var/www/html/docs", "var/www/abierto"] {
            std::fs::create_dir_all(ws.root.join(d)).unwrap();
        }
        std::fs::write(
            ws.apache_dir().join("conf-enabled/capas.conf"),
            "<Directory /var/www/html/docs>\n\tOptions +Indexes\n\t<Files \"*.txt\">\n\t\tForceType text/plain\n\t</Files>\n</Directory>\n\
             <DirectoryMatch \"^/var/www/html/d\">\n\tHeader set X-Dm 1\n\t<Files nota.txt>\n\t\tHeader set X-Nota 1\n\t</Files>\n</DirectoryMatch>\n\
             <FilesMatch \"\\.txt$\">\n\tHeader set X-Txt 1\n</FilesMatch>\n\
             <Location /docs>\n\tHeader set X-Loc 1\n</Location>\n\
             <Directory /var/www/abierto>\n\tAllowOverride All\n</Directory>\n",
        )
        .unwrap();
        let config = crate::config::load(&ws).unwrap().config;
        let host = &config.main;
        let docs = ws.root.join("var/www/html/docs");
        let open = ws.root.join("var/www/abierto");
        let kept = [
            Target {
                dir: Some(&docs),
                file_name: Some("nota.txt"),
                url: "/docs/nota.txt",
            },
            Target {
                dir: Some(&docs),
                file_name: Some("otra.html"),
                url: "/docs/otra.html",
            },
            Target {
                dir: None,
                file_name: None,
                url: "/server-status",
            },
        ];
        for (i, target) in kept.iter().enumerate() {
            let first = Effective::merge_walk(&config, host, target).unwrap();
            assert_eq!(config.merge_cache.0.lock().unwrap().len(), i + 1);
            let again = Effective::merge_walk(&config, host, target).unwrap();
            assert_eq!(
                config.merge_cache.0.lock().unwrap().len(),
                i + 1,
                "not kept twice"
            );
            assert_eq!(shape(&again), shape(&first), "{}", target.url);
            assert_eq!(again.options, first.options);
        }
        // The nested `<Files>` of both sections, the `FilesMatch` and the `Location` came
        // back from the kept merge, in their places.
        let nota = Effective::merge(&config, host, &kept[0]);
        assert!(nota.layers.len() >= 6, "{}", nota.layers.len());
        // Where an `.htaccess` may apply, every merge walks the disk again.
        let target = Target {
            dir: Some(&open),
            file_name: Some("index.html"),
            url: "/abierto/index.html",
        };
        let before = Effective::merge_walk(&config, host, &target).unwrap();
        assert!(before.htaccess_files().is_empty());
        std::fs::write(open.join(".htaccess"), "Header set X-Nuevo 1\n").unwrap();
        let after = Effective::merge_walk(&config, host, &target).unwrap();
        assert_eq!(after.htaccess_files().len(), 1);
        assert_eq!(after.layers.len(), before.layers.len() + 1);
        assert_eq!(config.merge_cache.0.lock().unwrap().len(), kept.len());
    }

    #[test]
    fn location_prefixes_stop_at_segment_boundaries() {
        assert!(prefix_at_boundary("/admin", "/admin"));
        assert!(prefix_at_boundary("/admin", "/admin/x"));
        assert!(!prefix_at_boundary("/admin", "/administrador"));
        assert!(prefix_at_boundary("/admin/", "/admin/x"));
        assert!(!prefix_at_boundary("/admin/", "/admin"));
        assert!(prefix_at_boundary("/", "/cualquiera"));
    }
}
