//! Which `WSGIScriptAlias` serves a request path, how the path splits into SCRIPT_NAME and
//! PATH_INFO, and which per-directory WSGI settings apply to the script.

use std::path::Path;

use crate::config::model::{HostConfig, SectionKind, SectionPattern, ServerConfig};
use crate::config::wsgi::{WsgiDirConfig, WsgiScriptAlias};

/// A request path matched by a `WSGIScriptAlias`.
#[derive(Debug, Clone, Copy)]
pub struct ScriptMatch<'a> {
    pub alias: &'a WsgiScriptAlias,
    /// The matched prefix (`""` for an alias of `/`).
    pub script_name: &'a str,
    /// The rest of the path (`""` or starting with `/`).
    pub path_info: &'a str,
}

/// Finds the alias for `path` (already percent-decoded) as mod_alias/mod_wsgi do: aliases are
/// tried in configuration order and the first whose URL is a prefix of the path at a segment
/// boundary wins (`/app` matches `/app` and `/app/x`, not `/apple`).
pub fn match_script_alias<'a>(
    aliases: &'a [WsgiScriptAlias],
    path: &'a str,
) -> Option<ScriptMatch<'a>> {
    aliases.iter().find_map(|alias| {
        let url = alias.url.as_str();
        if url == "/" {
            return Some(ScriptMatch {
                alias,
                script_name: "",
                path_info: path,
            });
        }
        let rest = path.strip_prefix(url)?;
        (rest.is_empty() || rest.starts_with('/')).then(|| ScriptMatch {
            alias,
            script_name: &path[..url.len()],
            path_info: rest,
        })
    })
}

/// The WSGI settings for `script` in `host`: the main server's defaults, the host's, then
/// the `<Directory>` sections around the script (shortest path first, as Apache merges
/// them) and the `<Files>` sections naming it, then the alias's own options. Requests get
/// them merged once per configuration, in their `WsgiPlace`.
pub fn settings_for(
    cfg: &ServerConfig,
    host: &HostConfig,
    alias: &WsgiScriptAlias,
) -> WsgiDirConfig {
    let mut out = WsgiDirConfig::default();
    merge(&mut out, &cfg.main.defaults.wsgi);
    if !std::ptr::eq(host, &cfg.main) {
        merge(&mut out, &host.defaults.wsgi);
    }
    let script = alias.script.path.as_path();
    let dir = script.parent().unwrap_or(Path::new("/"));
    let mut dirs: Vec<(usize, &WsgiDirConfig)> = Vec::new();
    let mut files: Vec<&WsgiDirConfig> = Vec::new();
    for s in cfg.sections_for(host) {
        match (s.kind, &s.pattern) {
            (SectionKind::Directory, SectionPattern::Root) => dirs.push((0, &s.config.wsgi)),
            (SectionKind::Directory, SectionPattern::Path(p)) if dir.starts_with(&p.path) => {
                dirs.push((p.path.components().count(), &s.config.wsgi))
            }
            (SectionKind::DirectoryMatch, SectionPattern::Regex(re))
                if re.is_match(&dir.to_string_lossy()) =>
            {
                dirs.push((usize::MAX, &s.config.wsgi))
            }
            (SectionKind::Files, SectionPattern::Path(p))
                if script
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == p.written) =>
            {
                files.push(&s.config.wsgi)
            }
            (SectionKind::FilesMatch, SectionPattern::Regex(re))
                if script
                    .file_name()
                    .is_some_and(|n| re.is_match(&n.to_string_lossy())) =>
            {
                files.push(&s.config.wsgi)
            }
            _ => {}
        }
    }
    dirs.sort_by_key(|(depth, _)| *depth);
    for (_, c) in dirs {
        merge(&mut out, c);
    }
    for c in files {
        merge(&mut out, c);
    }
    if let Some(g) = &alias.process_group {
        out.process_group = Some((g.clone(), alias.span.clone()));
    }
    if let Some(a) = &alias.application_group {
        out.application_group = Some(a.clone());
    }
    if let Some(c) = &alias.callable_object {
        out.callable_object = Some(c.clone());
    }
    if let Some(p) = alias.pass_authorization {
        out.pass_authorization = Some(p);
    }
    out
}

fn merge(into: &mut WsgiDirConfig, from: &WsgiDirConfig) {
    if from.process_group.is_some() {
        into.process_group.clone_from(&from.process_group);
    }
    if from.application_group.is_some() {
        into.application_group.clone_from(&from.application_group);
    }
    if from.callable_object.is_some() {
        into.callable_object.clone_from(&from.callable_object);
    }
    if from.script_reloading.is_some() {
        into.script_reloading = from.script_reloading;
    }
    if from.chunked_request.is_some() {
        into.chunked_request = from.chunked_request;
    }
    if from.pass_authorization.is_some() {
        into.pass_authorization = from.pass_authorization;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ResolvedPath;
    use crate::config::Span;
    use std::sync::Arc;

    fn alias(url: &str) -> WsgiScriptAlias {
        WsgiScriptAlias {
            url: url.to_string(),
            script: ResolvedPath {
                written: format!("/srv{url}.wsgi"),
                path: format!("/srv{url}.wsgi").into(),
            },
            process_group: None,
            application_group: None,
            callable_object: None,
            pass_authorization: None,
            span: Span {
                file: Arc::new("site.conf".into()),
                line: 1,
                column: 1,
                len: 1,
            },
        }
    }

    #[test]
    fn prefix_matches_only_at_a_segment_boundary() {
        let aliases = vec![alias("/app")];
        let m = match_script_alias(&aliases, "/app/x/y").unwrap();
        assert_eq!((m.script_name, m.path_info), ("/app", "/x/y"));
        let m = match_script_alias(&aliases, "/app").unwrap();
        assert_eq!((m.script_name, m.path_info), ("/app", ""));
        assert!(match_script_alias(&aliases, "/apple").is_none());
        assert!(match_script_alias(&aliases, "/").is_none());
    }

    #[test]
    fn root_alias_gives_empty_script_name() {
        let aliases = vec![alias("/")];
        let m = match_script_alias(&aliases, "/hola").unwrap();
        assert_eq!((m.script_name, m.path_info), ("", "/hola"));
    }

    #[test]
    fn the_first_matching_alias_in_order_wins() {
        let aliases = vec![alias("/api"), alias("/")];
        assert_eq!(
            match_script_alias(&aliases, "/api/v1").unwrap().alias.url,
            "/api"
        );
        assert_eq!(
            match_script_alias(&aliases, "/otra").unwrap().alias.url,
            "/"
        );
    }
}
