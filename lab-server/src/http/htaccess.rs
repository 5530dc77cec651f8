//! `.htaccess` files: read during the directory walk, from the root down to the directory of
//! the request, wherever `AllowOverride` (or `AllowOverrideList`) lets them in, and merged
//! right after the `<Directory>` sections of their own directory, as Apache's
//! `ap_directory_walk` does.
//!
//! A file is parsed once and kept until its modification time or size changes. An invalid
//! file makes the request a 500, logged as Apache logs it (`[core:alert] ... /path/.htaccess:
//! Invalid command 'X', perhaps misspelled or defined by a module not included in the server
//! configuration`, or `X not allowed here` for a directive the overrides do not allow).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::config::directives;
use crate::config::model::{
    DirConfig, MethodFilter, OptionSet, ResolvedPath, Section, SectionKind, SectionPattern,
    ServerConfig,
};
use crate::config::syntax::{Arg, Node};

/// `AllowOverride` categories, as bits.
pub struct Override;

impl Override {
    pub const AUTHCONFIG: u8 = 1;
    pub const LIMIT: u8 = 2;
    pub const OPTIONS: u8 = 4;
    pub const FILEINFO: u8 = 8;
    pub const INDEXES: u8 = 16;
    pub const ALL: u8 = 31;
    /// Directives Apache allows with any category (`OR_ALL`: `<Files>`, `<IfModule>`...).
    const ANY: u8 = 0x80;

    /// The bits of `AllowOverride` arguments (`Options=Indexes,...` counts as `Options`).
    pub fn parse(args: &[Arg]) -> u8 {
        args.iter().fold(0, |bits, a| {
            let word = a.text.split('=').next().unwrap_or("");
            bits | match word.to_ascii_lowercase().as_str() {
                "all" => Override::ALL,
                "authconfig" => Override::AUTHCONFIG,
                "fileinfo" => Override::FILEINFO,
                "indexes" => Override::INDEXES,
                "limit" => Override::LIMIT,
                "options" => Override::OPTIONS,
                _ => 0,
            }
        })
    }

    /// Spanish names of the categories in `bits`, for `lab explain`.
    pub fn describe(bits: u8) -> String {
        if bits & Override::ALL == Override::ALL {
            return "All".into();
        }
        let names: Vec<&str> = [
            (Override::AUTHCONFIG, "AuthConfig"),
            (Override::FILEINFO, "FileInfo"),
            (Override::INDEXES, "Indexes"),
            (Override::LIMIT, "Limit"),
            (Override::OPTIONS, "Options"),
        ]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
        if names.is_empty() {
            "None".into()
        } else {
            names.join(" ")
        }
    }
}

/// The category a directive needs in `.htaccess` (Apache's `req_override` of each module's
/// command table); `None`: never allowed there (server, vhost or `<Directory>` only).
pub fn category(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "require"
        | "requireall"
        | "requireany"
        | "requirenone"
        | "authmerging"
        | "authzsendforbiddenonfailure"
        | "cgipassauth"
        | "satisfy" => Override::AUTHCONFIG,
        "order" | "allow" | "deny" => Override::LIMIT,
        "limit" | "limitexcept" => Override::LIMIT | Override::AUTHCONFIG,
        "options" | "php_value" | "php_flag" => Override::OPTIONS,
        "directoryindex" | "directoryslash" | "fallbackresource" | "indexoptions"
        | "indexignore" | "indexignorereset" | "indexorderdefault" | "indexstylesheet"
        | "indexheadinsert" | "addicon" | "addiconbytype" | "addiconbyencoding" | "addalt"
        | "addaltbytype" | "addaltbyencoding" | "adddescription" | "defaulticon" | "headername"
        | "readmename" | "expiresactive" | "expiresbytype" | "expiresdefault" => Override::INDEXES,
        "errordocument"
        | "header"
        | "setenv"
        | "unsetenv"
        | "passenv"
        | "setenvif"
        | "setenvifnocase"
        | "browsermatch"
        | "browsermatchnocase"
        | "addtype"
        | "addhandler"
        | "addcharset"
        | "addencoding"
        | "addlanguage"
        | "addinputfilter"
        | "addoutputfilter"
        | "defaultlanguage"
        | "removetype"
        | "removehandler"
        | "multiviewsmatch"
        | "forcetype"
        | "sethandler"
        | "adddefaultcharset"
        | "defaulttype"
        | "redirect"
        | "redirectmatch"
        | "redirectpermanent"
        | "redirecttemp"
        | "action"
        | "proxyfcgisetenvif"
        | "proxyfcgibackendtype"
        | "acceptpathinfo"
        | "fileetag"
        | "enablemmap"
        | "enablesendfile" => Override::FILEINFO,
        "files" | "filesmatch" | "ifmodule" | "ifdefine" | "iffile" | "ifversion"
        | "limitrequestbody" | "serversignature" => Override::ANY,
        _ => return None,
    })
}

/// What the walk found for one directory level.
pub struct Level {
    pub file: PathBuf,
    pub config: &'static DirConfig,
}

/// An `.htaccess` that cannot be used: the request is a 500.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub file: PathBuf,
    /// Apache's words after `file: `.
    pub reason: String,
}

impl Invalid {
    /// The error log line (without Apache's prefix): `/path/.htaccess: reason`.
    pub fn log_line(&self) -> String {
        format!("{}: {}", self.file.display(), self.reason)
    }
}

/// Kept parses: the file's modification time and size, the overrides it was read with, and
/// the result (leaked on purpose: a request's merge borrows it; only a new version of a file
/// adds one more).
type Entry = (
    SystemTime,
    u64,
    (u8, OptionSet),
    Vec<String>,
    Result<&'static DirConfig, Invalid>,
);

fn cache() -> &'static RwLock<HashMap<PathBuf, Entry>> {
    static CACHE: std::sync::OnceLock<RwLock<HashMap<PathBuf, Entry>>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The `.htaccess` of `dir` (the first of `names` that exists) under the overrides
/// `allowed`/`list`. `Ok(None)`: no file.
pub fn read(
    config: &ServerConfig,
    dir: &Path,
    names: &[String],
    (allowed, opts): (u8, OptionSet),
    list: &[String],
) -> Result<Option<Level>, Invalid> {
    for name in names {
        let file = dir.join(name);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let len = meta.len();
        if let Some((m, l, a, li, result)) = cache().read().ok().and_then(|c| c.get(&file).cloned())
        {
            if m == mtime && l == len && a == (allowed, opts) && li == list {
                return result.map(|config| Some(Level { file, config }));
            }
        }
        let text = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // Apache: "(13)Permission denied: ... .htaccess pcfg_openfile: unable to check
            // htaccess file, ensure it is readable and that '...' is executable".
            Err(e) => {
                return Err(Invalid {
                    file: file.clone(),
                    reason: format!(
                        "pcfg_openfile: unable to check htaccess file, ensure it is readable and that '{}' is executable ({e})",
                        dir.display()
                    ),
                })
            }
        };
        let result =
            parse(config, &file, &text, (allowed, opts), list).map(|c| &*Box::leak(Box::new(c)));
        if let Ok(mut c) = cache().write() {
            c.insert(
                file.clone(),
                (mtime, len, (allowed, opts), list.to_vec(), result.clone()),
            );
        }
        return result.map(|config| Some(Level { file, config }));
    }
    Ok(None)
}

/// Reads one file's directives into a configuration, checking each against the overrides.
pub fn parse(
    config: &ServerConfig,
    file: &Path,
    text: &str,
    (allowed, opts): (u8, OptionSet),
    list: &[String],
) -> Result<DirConfig, Invalid> {
    let (nodes, errors) = crate::config::syntax::parse(text, Arc::new(file.to_path_buf()));
    let invalid = |reason: String| Invalid {
        file: file.to_path_buf(),
        reason,
    };
    if let Some(e) = errors.first() {
        return Err(invalid(syntax_reason(e, nodes.as_slice())));
    }
    let mut conf = DirConfig::default();
    let allowed = Allowed {
        bits: allowed,
        opts,
        list,
    };
    apply_all(config, &nodes, &mut conf, &allowed, true, None).map_err(invalid)?;
    Ok(conf)
}

/// The reason Apache gives for a broken section (`</Files>` missing and the like).
fn syntax_reason(e: &crate::config::Diagnostic, _: &[Node]) -> String {
    match &e.span {
        Some(s) => format!("Syntax error on line {}: {}", s.line, e.message),
        None => e.message.clone(),
    }
}

/// What the `AllowOverride` lines in force let a `.htaccess` file write.
struct Allowed<'a> {
    /// `AllowOverride` categories.
    bits: u8,
    /// `AllowOverride Options=...`: the options `Options` may name.
    opts: OptionSet,
    /// `AllowOverrideList`.
    list: &'a [String],
}

fn apply_all(
    config: &ServerConfig,
    nodes: &[Node],
    conf: &mut DirConfig,
    allowed: &Allowed<'_>,
    top: bool,
    limit: Option<&MethodFilter>,
) -> Result<(), String> {
    let list = allowed.list;
    for node in nodes {
        let key = node.key();
        let Some(info) = directives::find(&node.name).filter(|i| module_loaded(config, i.module))
        else {
            let shown = if node.is_section {
                format!("<{}", node.name)
            } else {
                node.name.clone()
            };
            return Err(format!(
                "Invalid command '{shown}', perhaps misspelled or defined by a module not included in the server configuration"
            ));
        };
        let by_list = list.iter().any(|l| l.eq_ignore_ascii_case(&node.name));
        let needed = category(&key);
        let ok = by_list
            || match needed {
                Some(Override::ANY) => allowed.bits != 0 || !list.is_empty(),
                Some(bits) => allowed.bits & bits != 0,
                None => false,
            };
        if !ok {
            let shown = if node.is_section {
                format!("<{}", info.name)
            } else {
                apache_spelling(info.name).to_string()
            };
            return Err(format!("{shown} not allowed here"));
        }
        if node.is_section {
            match key.as_str() {
                "ifmodule" => {
                    let Some(arg) = node.args.first() else {
                        return Err("<IfModule> directive requires additional arguments".into());
                    };
                    let (neg, name) = match arg.text.strip_prefix('!') {
                        Some(n) => (true, n),
                        None => (false, arg.text.as_str()),
                    };
                    let loaded = crate::config::modules::find(name)
                        .is_some_and(|m| config.has_module(m.name));
                    if loaded != neg {
                        apply_all(config, &node.children, conf, allowed, top, limit)?;
                    }
                }
                "ifdefine" | "iffile" | "ifversion" => {
                    if condition(config, node)? {
                        apply_all(config, &node.children, conf, allowed, top, limit)?;
                    }
                }
                "files" | "filesmatch" if top => {
                    let section = files_section(config, node, allowed)?;
                    conf.files.push(section);
                }
                "limit" | "limitexcept" if limit.is_none() => {
                    let mut diags = Vec::new();
                    let filter = crate::config::perdir::parse_limit(node, &mut diags)
                        .ok_or_else(|| format!("<{}> requires at least one argument", info.name))?;
                    apply_all(config, &node.children, conf, allowed, top, Some(&filter))?;
                }
                "requireall" | "requireany" | "requirenone" => {
                    let mut diags = Vec::new();
                    let parsed = crate::config::perdir::parse_require_section(node, &mut diags)
                        .map(|e| crate::config::perdir::limited(e, limit));
                    if let Some(e) = parsed {
                        crate::config::perdir::add_require_checked(conf, e, &node.span, &mut diags);
                    }
                    if !diags.is_empty() {
                        return Err(first_reason(&diags, &node.name));
                    }
                }
                _ => return Err(format!("<{} not allowed here", info.name)),
            }
            continue;
        }
        let n = node.args.len();
        if n < info.min_args as usize || (info.max_args != u8::MAX && n > info.max_args as usize) {
            return Err(format!(
                "{} takes {} argument(s), {n} given",
                info.name, info.min_args
            ));
        }
        if key == "options" && !by_list {
            options_allowed(&node.args, allowed.opts)?;
        }
        let mut diags = Vec::new();
        let applied = crate::config::perdir::apply_in(node, conf, &mut diags, limit);
        if !applied {
            return Err(format!("{} not allowed here", info.name));
        }
        if diags
            .iter()
            .any(|d| d.severity == crate::config::Severity::Error)
        {
            return Err(first_reason(&diags, &node.name));
        }
    }
    Ok(())
}

/// core's `set_options` under `AllowOverride Options=...`: every option named (with or without
/// a sign) must share a bit with the allowed ones; `None` always passes.
fn options_allowed(args: &[Arg], opts: OptionSet) -> Result<(), String> {
    for a in args {
        let word = a.text.trim_start_matches(['+', '-']);
        if let Some(flag) = crate::config::perdir::option_flag(word) {
            if flag != OptionSet::NONE && flag.0 & opts.0 == 0 {
                return Err(format!("Option {word} not allowed here"));
            }
        }
    }
    Ok(())
}

/// Whether an `<IfDefine>`, `<IfFile>` or `<IfVersion>` block of a `.htaccess` applies, or
/// Apache's message for one it cannot read.
fn condition(config: &ServerConfig, node: &Node) -> Result<bool, String> {
    let key = node.key();
    if key == "ifversion" {
        let (op, version) = match node.args.as_slice() {
            [v] => ("=", v.text.as_str()),
            [op, v] => (op.text.as_str(), v.text.as_str()),
            _ => return Err("<IfVersion> directive requires one or two arguments".into()),
        };
        return crate::config::loader::version_matches(op, version).map_err(|e| match e {
            crate::config::loader::VersionError::Operator => {
                format!("unrecognized operator '{op}'")
            }
            crate::config::loader::VersionError::Version => {
                format!("<IfVersion>: versión no válida `{version}` (se espera algo como 2.4)")
            }
        });
    }
    let Some(arg) = node.args.first() else {
        return Err(format!(
            "<{}> directive requires additional arguments",
            node.name
        ));
    };
    let (negated, name) = match arg.text.strip_prefix('!') {
        Some(n) => (true, n),
        None => (false, arg.text.as_str()),
    };
    let holds = if key == "ifdefine" {
        config.defines.contains(name)
    } else {
        crate::workspace::resolve_in(&config.workspace, name, &config.server_root)
            .path
            .exists()
    };
    Ok(holds != negated)
}

/// The name Apache's messages give a directive: its command table's spelling, lower case for
/// mod_access_compat's `order`, `allow` and `deny`.
fn apache_spelling(name: &'static str) -> &'static str {
    match name {
        "Order" => "order",
        "Allow" => "allow",
        "Deny" => "deny",
        other => other,
    }
}

fn first_reason(diags: &[crate::config::Diagnostic], name: &str) -> String {
    match diags.first() {
        Some(d) => format!("{name}: {}", d.message),
        None => format!("{name}: argumento no válido"),
    }
}

fn module_loaded(config: &ServerConfig, module: &str) -> bool {
    match module {
        "mpm" => true,
        "cgi" => config.has_module("cgi") || config.has_module("cgid"),
        m => config.has_module(m),
    }
}

fn files_section(
    config: &ServerConfig,
    node: &Node,
    allowed: &Allowed<'_>,
) -> Result<Section, String> {
    let key = node.key();
    let (kind, regex) = match (key.as_str(), node.args.as_slice()) {
        ("files", [t, r]) if t.text == "~" => (SectionKind::FilesMatch, Some(&r.text)),
        ("filesmatch", [r]) => (SectionKind::FilesMatch, Some(&r.text)),
        ("files", [_]) => (SectionKind::Files, None),
        _ => {
            return Err(format!(
                "<{}> directive requires additional arguments",
                node.name
            ))
        }
    };
    let pattern = match regex {
        Some(r) => SectionPattern::Regex(
            regex::Regex::new(r).map_err(|_| format!("Regex could not be compiled: {r}"))?,
        ),
        None => {
            let text = node.args[0].text.clone();
            let rp = ResolvedPath {
                written: text.clone(),
                path: text.clone().into(),
            };
            if text.contains(['*', '?', '[']) {
                SectionPattern::Wildcard(rp)
            } else {
                SectionPattern::Path(rp)
            }
        }
    };
    let mut inner = DirConfig::default();
    apply_all(config, &node.children, &mut inner, allowed, false, None)?;
    Ok(Section {
        kind,
        pattern,
        config: inner,
        span: node.span.clone(),
    })
}

/// The names `AccessFileName` gives for a host (Apache's default: `.htaccess`).
pub fn names<'a>(
    config: &'a ServerConfig,
    host: &'a crate::config::model::HostConfig,
) -> Vec<String> {
    host.access_file_names
        .clone()
        .or_else(|| config.main.access_file_names.clone())
        .unwrap_or_else(|| vec![".htaccess".to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_apaches_command_tables() {
        assert_eq!(category("Require"), Some(Override::AUTHCONFIG));
        assert_eq!(category("php_value"), Some(Override::OPTIONS));
        assert_eq!(category("ExpiresActive"), Some(Override::INDEXES));
        assert_eq!(category("Header"), Some(Override::FILEINFO));
        assert_eq!(category("ServerName"), None);
        assert_eq!(category("AllowOverride"), None);
        let args = |s: &str| -> Vec<Arg> {
            let (nodes, _) = crate::config::syntax::parse(
                &format!("AllowOverride {s}\n"),
                Arc::new(PathBuf::from("x")),
            );
            nodes[0].args.clone()
        };
        assert_eq!(
            Override::parse(&args("AuthConfig Options=Indexes")),
            Override::AUTHCONFIG | Override::OPTIONS
        );
        assert_eq!(Override::parse(&args("None")), 0);
        assert_eq!(Override::parse(&args("All")), Override::ALL);
        assert_eq!(
            Override::describe(Override::FILEINFO | Override::INDEXES),
            "FileInfo Indexes"
        );
    }
}
