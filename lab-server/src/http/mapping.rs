//! From a clean URL path to the file system, as mod_alias and the core do it: `Redirect`
//! first, then `Alias`/`AliasMatch`/`ScriptAlias` (the vhost's before the main server's),
//! else `DocumentRoot`. The walk below the mapped root records symbolic links so the
//! `Options` of the request can allow or refuse them.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use super::perdir::prefix_at_boundary;
use crate::config::model::{Alias, AliasKind, HostConfig, Redirect, ServerConfig};
use crate::workspace::resolve_in;

/// Where a URL lands.
#[derive(Debug, Clone)]
pub struct Mapped<'a> {
    /// The file system path (may not exist).
    pub path: PathBuf,
    /// The directory the URL was mapped into (`DocumentRoot` or the alias target): nothing
    /// above it is walked for symbolic links.
    pub root: PathBuf,
    /// The alias used, if any.
    pub alias: Option<&'a Alias>,
}

impl Mapped<'_> {
    /// `ScriptAlias`: the target runs as CGI.
    pub fn is_script(&self) -> bool {
        self.alias.is_some_and(|a| a.kind == AliasKind::Script)
    }
}

/// The first `Redirect` that applies: (status, `Location`). `None` as location is `gone`.
pub fn redirect<'a>(
    rules: impl Iterator<Item = &'a Redirect>,
    url: &str,
    query: Option<&str>,
) -> Option<(u16, Option<String>)> {
    for r in rules {
        let target = match &r.regex {
            Some(re) => {
                let Some(caps) = re.captures(url) else {
                    continue;
                };
                r.to.as_ref().map(|to| {
                    let mut out = String::new();
                    caps.expand(to, &mut out);
                    append_query(&mut out, query);
                    out
                })
            }
            None => {
                if !prefix_at_boundary(&r.from, url) {
                    continue;
                }
                r.to.as_ref().map(|to| {
                    // mod_alias: the target as written (already encoded), then what follows
                    // the prefix, escaped again; no slash is added or removed
                    // (`Redirect /carpeta/ /destino` sends /carpeta/x to /destinox).
                    // The one-argument form inside `<Location>` sends every URL there to
                    // the target itself.
                    let rest = if r.from.is_empty() {
                        ""
                    } else {
                        &url[r.from.len().min(url.len())..]
                    };
                    let mut out = to.clone();
                    out.push_str(&super::urlpath::encode(rest));
                    append_query(&mut out, query);
                    out
                })
            }
        };
        return Some((r.status, target));
    }
    None
}

/// mod_alias keeps the request's query string unless the target has one of its own.
fn append_query(out: &mut String, query: Option<&str>) {
    if let Some(q) = query {
        if !out.contains('?') {
            out.push('?');
            out.push_str(q);
        }
    }
}

/// Whether an `Alias`/`AliasMatch` (the host's, then the main server's) takes `url`: what
/// [`map`] would find, without building the path.
pub fn has_alias(config: &ServerConfig, host: &HostConfig, url: &str) -> bool {
    let is_main = std::ptr::eq(host, &config.main);
    host.aliases
        .iter()
        .chain(config.main.aliases.iter().filter(|_| !is_main))
        .any(|alias| match &alias.regex {
            Some(re) => re.is_match(url),
            None => prefix_at_boundary(&alias.url, url),
        })
}

/// Maps `url` on `host` to the file system.
pub fn map<'a>(config: &'a ServerConfig, host: &'a HostConfig, url: &str) -> Mapped<'a> {
    let is_main = std::ptr::eq(host, &config.main);
    let aliases = host
        .aliases
        .iter()
        .chain(config.main.aliases.iter().filter(|_| !is_main));
    for alias in aliases {
        if let Some(re) = &alias.regex {
            if let Some(caps) = re.captures(url) {
                let mut written = String::new();
                caps.expand(&alias.target.written, &mut written);
                let path = resolve_in(&config.workspace, &written, &config.server_root).path;
                let root = path.parent().unwrap_or(&path).to_path_buf();
                return Mapped {
                    path,
                    root,
                    alias: Some(alias),
                };
            }
            continue;
        }
        if prefix_at_boundary(&alias.url, url) {
            let rest = url[alias.url.len()..].trim_start_matches('/');
            let root = alias.target.path.clone();
            let path = if rest.is_empty() {
                root.clone()
            } else {
                root.join(super::urlpath::fs_path(rest))
            };
            return Mapped {
                path,
                root,
                alias: Some(alias),
            };
        }
    }
    let root = host
        .document_root
        .as_ref()
        .or(config.main.document_root.as_ref())
        .map(|d| d.path.clone())
        .unwrap_or_else(|| config.workspace.join("var/www/html"));
    let rest = url.trim_start_matches('/');
    Mapped {
        path: if rest.is_empty() {
            root.clone()
        } else {
            root.join(super::urlpath::fs_path(rest))
        },
        root,
        alias: None,
    }
}

/// The state of the mapped path on disk.
#[derive(Debug)]
pub enum Walk {
    /// It exists; `links` are the symbolic links crossed below the root, with whether their
    /// owner matches their target's (for `SymLinksIfOwnerMatch`).
    Found {
        meta: Metadata,
        links: Vec<(PathBuf, bool)>,
    },
    /// Something on the way does not exist (or is not a directory); `dir` is the deepest
    /// directory that does. `refused` names what stopped the walk when Apache answers 403
    /// rather than 404 (its `ap_directory_walk`): a symbolic link whose target cannot be
    /// reached, a name longer than the file system allows, a directory it may not search.
    Missing {
        dir: PathBuf,
        links: Vec<(PathBuf, bool)>,
        refused: Option<(PathBuf, String)>,
    },
}

/// `path` below `root` (empty when it is not below it), as `Path::strip_prefix` gives it,
/// comparing bytes in the usual case (a plain name after the root) instead of components.
fn below<'p>(root: &Path, path: &'p Path) -> &'p Path {
    use std::os::unix::ffi::OsStrExt;
    let (r, p) = (root.as_os_str().as_bytes(), path.as_os_str().as_bytes());
    if let Some(rest) = p.strip_prefix(r) {
        if !r.is_empty() && (r.ends_with(b"/") || rest.is_empty() || rest[0] == b'/') {
            let rest = &rest[rest.iter().take_while(|&&b| b == b'/').count()..];
            // A `.` or `..` first would be a component of its own: the slow way.
            if !rest.starts_with(b".") {
                return Path::new(std::ffi::OsStr::from_bytes(rest));
            }
        }
    }
    path.strip_prefix(root).unwrap_or(Path::new(""))
}

/// Walks `path` from `root` down: one `lstat` per component below the root, plus a `stat`
/// for each symbolic link met.
pub fn walk(root: &Path, path: &Path) -> Walk {
    use std::os::unix::fs::MetadataExt;
    let mut links = Vec::new();
    use std::os::unix::ffi::OsStrExt;
    let rel = below(root, path);
    let mut current = PathBuf::with_capacity(root.as_os_str().len() + rel.as_os_str().len() + 2);
    current.push(root);
    // The deepest directory met is a prefix of `current` (pushing only appends to it).
    let mut last_dir = current.as_os_str().len();
    let dir_at = |current: &PathBuf, len: usize| {
        PathBuf::from(std::ffi::OsStr::from_bytes(
            &current.as_os_str().as_bytes()[..len],
        ))
    };
    let mut meta = None;
    // ENOENT and ENOTDIR are a 404; anything else stops Apache's walk with a 403.
    let refusal = |at: &Path, e: &std::io::Error, link: bool| -> Option<(PathBuf, String)> {
        let gone = matches!(
            e.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        );
        if gone && !link {
            return None;
        }
        let why = if link {
            "el destino del enlace simbólico no existe o no se puede leer".to_string()
        } else if e.raw_os_error() == Some(libc::ENAMETOOLONG) {
            "el nombre es más largo de lo que permite el sistema de ficheros".to_string()
        } else {
            e.to_string()
        };
        Some((at.to_path_buf(), why))
    };
    for comp in rel.components() {
        current.push(comp);
        let m = match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(&current) {
                Ok(target) => {
                    links.push((current.clone(), target.uid() == m.uid()));
                    target
                }
                Err(e) => {
                    return Walk::Missing {
                        refused: refusal(&current, &e, true),
                        dir: dir_at(&current, last_dir),
                        links,
                    }
                }
            },
            Ok(m) => m,
            Err(e) => {
                return Walk::Missing {
                    refused: refusal(&current, &e, false),
                    dir: dir_at(&current, last_dir),
                    links,
                }
            }
        };
        if m.is_dir() {
            last_dir = current.as_os_str().len();
        } else if current.as_os_str() != path.as_os_str() && current.as_path() != path {
            // A file in the middle of the path (`/index.html/extra`).
            return Walk::Missing {
                dir: dir_at(&current, last_dir),
                links,
                refused: None,
            };
        }
        meta = Some(m);
    }
    let meta = match meta {
        Some(m) => m,
        None => match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                return Walk::Missing {
                    refused: refusal(path, &e, false),
                    dir: dir_at(&current, last_dir),
                    links,
                }
            }
        },
    };
    Walk::Found { meta, links }
}

/// Apache's directory walk with extra path: when `path` does not exist because a regular
/// file sits in the middle of it (`/cgi-bin/env.py/uno/dos`), that file and how many of the
/// last components of the path follow it (the `PATH_INFO`).
pub fn split_path_info(root: &Path, path: &Path) -> Option<(PathBuf, usize)> {
    let rel = path.strip_prefix(root).ok()?;
    let comps: Vec<_> = rel.components().collect();
    let mut current = root.to_path_buf();
    for (i, comp) in comps.iter().enumerate() {
        current.push(comp);
        let meta = std::fs::metadata(&current).ok()?;
        if meta.is_file() {
            let rest = comps.len() - i - 1;
            return (rest > 0).then_some((current, rest));
        }
        if !meta.is_dir() {
            return None;
        }
    }
    None
}

/// Splits the URL path `url` where its last `rest` components start: (script URL, path
/// info). A trailing `/` stays in the path info, as in Apache.
pub fn url_split(url: &str, rest: usize) -> (&str, &str) {
    let trimmed = url.strip_suffix('/').unwrap_or(url);
    let mut cut = trimmed.len();
    for _ in 0..rest {
        match trimmed[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return (url, ""),
        }
    }
    (&url[..cut], &url[cut..])
}

#[cfg(test)]
mod path_info_tests {
    use super::*;

    #[test]
    fn urls_split_at_the_script() {
        assert_eq!(
            url_split("/cgi-bin/env.py/a/b", 2),
            ("/cgi-bin/env.py", "/a/b")
        );
        assert_eq!(
            url_split("/cgi-bin/env.py/a/", 1),
            ("/cgi-bin/env.py", "/a/")
        );
    }

    #[test]
    fn a_file_in_the_middle_is_the_script() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.py"), "x").unwrap();
        let p = dir.path().join("env.py/uno/dos");
        let (file, rest) = split_path_info(dir.path(), &p).unwrap();
        assert_eq!((file, rest), (dir.path().join("env.py"), 2));
        assert!(split_path_info(dir.path(), &dir.path().join("nada/x")).is_none());
    }

    proptest::proptest! {
        /// The bytes shortcut of the walk finds the components `Path::strip_prefix` finds.
        #[test]
        fn below_is_strip_prefix(
            root in proptest::collection::vec(proptest::sample::select(vec!["/", "a", ".", "b", "//"]), 0..5),
            rest in proptest::collection::vec(proptest::sample::select(vec!["/", "a", ".", "..", "b", "//", ".ht"]), 0..6),
        ) {
            let root = root.concat();
            let path = format!("{root}{}", rest.concat());
            let (root, path) = (Path::new(&root), Path::new(&path));
            let slow = path.strip_prefix(root).unwrap_or(Path::new(""));
            proptest::prop_assert!(below(root, path).components().eq(slow.components()), "{:?} {:?}", root, path);
        }
    }
}
