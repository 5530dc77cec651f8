//! The core's default handler: a file with its validators, or for a directory the redirect
//! to the URL with `/`, the `DirectoryIndex` (a subrequest with its own `<Files>` sections)
//! or, with `Options Indexes`, the listing of mod_autoindex.

use std::path::Path;

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};

use super::files::{self, Conditions};
use super::{
    absolute_url, allow_header, autoindex, content_type, known_method, mime_info,
    redirect_response, signature, text_response, Call, Failure, Outcome,
};
use crate::config::model::OptionSet;
use crate::http::log::Level;
use crate::http::mapping::Walk;
use crate::http::perdir::{Effective, Target};
use crate::http::request::granted;
use crate::http::site::Site;
use crate::http::{head, urlpath};

/// Serves the mapped file or directory.
pub async fn serve<'a>(call: Call<'a, '_>) -> Outcome<'a> {
    let Call {
        site,
        conn,
        parts,
        ctx,
        eff,
        file,
        body,
    } = call;
    let url = ctx.url.clone();
    let url = url.as_str();
    let path = file.path;
    let config = &*site.config;
    // The core's default handler: 501 for a method Apache does not know (case counts: `get`
    // is not GET), before looking at the file.
    if !known_method(parts.method.as_str()) {
        let mut f = Failure::logged(
            501,
            Level::Info,
            format!(
                "AH00126: método desconocido en la petición: {}",
                parts.method
            ),
        );
        f.headers = allow_header();
        return Err((f, Some(eff)));
    }
    let found = match file.walk {
        Some(Walk::Found { meta, .. }) => Some(meta),
        _ => None,
    };
    let is_dir = found.is_some_and(|m| m.is_dir());
    let has_dir = config.has_module("dir");
    // mod_dir's DirectorySlash runs in the fixups, before any handler, for every method.
    if is_dir && !url.ends_with('/') && has_dir {
        let mut to = format!("{}/", urlpath::encode(url));
        if let Some(q) = parts.uri.query() {
            to.push('?');
            to.push_str(q);
        }
        let to = absolute_url(site, conn, parts, ctx.host, &to);
        return redirect_response(301, Some(to)).map(|r| (r, Some(eff)));
    }
    if parts.method == Method::OPTIONS {
        // The type mod_mime gave the target (the index file for a directory) stays.
        let typed = if is_dir {
            eff.directory_index()
                .unwrap_or(&["index.html".to_string()])
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.is_file())
        } else {
            Some(path.to_path_buf())
        };
        let mut resp = Response::builder()
            .extension(head::Generated)
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, 0)
            .body(head::zero_length())
            .unwrap_or_default();
        for (k, v) in allow_header() {
            resp.headers_mut().insert(k, v);
        }
        if let Some(t) = typed
            .and_then(|p| content_type(site, &eff, &p))
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            resp.headers_mut().insert(header::CONTENT_TYPE, t);
        }
        return Ok((resp, Some(eff)));
    }
    // PUT, DELETE and the other known methods: 405 whether the file exists or not; a failed
    // precondition on GET or POST is checked later (412 before anything else).
    if parts.method != Method::GET && parts.method != Method::HEAD && parts.method != Method::POST {
        let mut f = Failure::new(405);
        f.headers = allow_header();
        return Err((f, Some(eff)));
    }
    let Some(meta) = found else {
        return Err((
            Failure::logged(
                404,
                Level::Info,
                format!("AH00128: el fichero no existe: {}", path.display()),
            ),
            Some(eff),
        ));
    };
    if meta.is_dir() {
        if has_dir {
            let default = ["index.html".to_string()];
            let indexes = eff.directory_index().unwrap_or(&default);
            for name in indexes {
                if name.eq_ignore_ascii_case("disabled") {
                    break;
                }
                // `DirectoryIndex /cgi-bin/index.pl` (an absolute URL) is not a file here.
                if name.starts_with('/') {
                    continue;
                }
                let candidate = path.join(name);
                // mod_dir takes an index that mod_proxy translates without looking at the
                // disk (`ProxyPassMatch` of `index.php`), even when the file is missing.
                let sub_url = format!("{url}{name}");
                if let Some(m) = crate::http::request::proxy_match(config, ctx.host, &sub_url) {
                    ctx.url = sub_url;
                    let target = std::path::PathBuf::from(format!("proxy:{}", m.url));
                    ctx.file = Some(target.clone());
                    let call = Call {
                        site,
                        conn,
                        parts,
                        body,
                        ctx,
                        eff,
                        file: super::MappedFile {
                            path: &target,
                            root: &target,
                            alias: None,
                            path_info: "",
                            walk: None,
                        },
                    };
                    return super::proxy_fcgi::serve(call, super::proxy_fcgi::Form::Pass(m)).await;
                }
                if let Ok(m) = std::fs::metadata(&candidate) {
                    if m.is_file() {
                        // The index is a subrequest: its own <Files> sections apply.
                        let sub = Effective::merge_or_plain(
                            config,
                            ctx.host,
                            &Target {
                                dir: Some(path),
                                file_name: Some(name),
                                url,
                            },
                        );
                        if !granted(&sub, conn, parts, &ctx.env).await {
                            continue;
                        }
                        ctx.file = Some(candidate.clone());
                        let handler = super::choose(config, &sub, false, None, Some(name));
                        if !matches!(handler, super::Handler::Static) {
                            // Another handler (php-fpm through SetHandler) serves the index.
                            ctx.url = sub_url;
                            let walk = Walk::Found {
                                meta: m,
                                links: Vec::new(),
                            };
                            let call = Call {
                                site,
                                conn,
                                parts,
                                body,
                                ctx,
                                eff: sub,
                                file: super::MappedFile {
                                    path: &candidate,
                                    root: file.root,
                                    alias: file.alias,
                                    path_info: "",
                                    walk: Some(&walk),
                                },
                            };
                            return Box::pin(super::run(handler, call)).await;
                        }
                        return serve_file(site, parts, &candidate, &m, sub).await;
                    }
                }
            }
        }
        if parts.method == Method::POST {
            // mod_autoindex lists for GET only; the default handler does not serve directories.
            return Err((
                Failure::logged(
                    404,
                    Level::Info,
                    format!(
                        "AH00130: POST a un directorio sin índice: {}",
                        path.display()
                    ),
                ),
                Some(eff),
            ));
        }
        if eff.options.contains(OptionSet::INDEXES) && config.has_module("autoindex") {
            let sig = signature(site, ctx.host, conn);
            return match autoindex::listing(path, url, &sig) {
                Ok(html) => Ok((
                    text_response(StatusCode::OK, "text/html;charset=UTF-8", html, parts),
                    Some(eff),
                )),
                Err(e) => Err((
                    Failure::logged(
                        403,
                        Level::Error,
                        format!(
                            "AH01275: no se puede leer el directorio {}: {e}",
                            path.display()
                        ),
                    ),
                    Some(eff),
                )),
            };
        }
        return Err((
            Failure {
                module: if config.has_module("autoindex") {
                    "autoindex"
                } else {
                    "core"
                },
                ..Failure::logged(
                403,
                Level::Error,
                format!(
                    "AH01276: no se puede servir el directorio {}: no hay DirectoryIndex ({}) y Options no incluye Indexes",
                    path.display(),
                    eff.directory_index()
                        .map(|v| v.join(" "))
                        .unwrap_or_else(|| "index.html".into())
                ),
            )
            },
            Some(eff),
        ));
    }
    let meta = meta.clone();
    serve_file(site, parts, path, &meta, eff).await
}

async fn serve_file<'a>(
    site: &'a Site,
    parts: &Parts,
    path: &Path,
    meta: &std::fs::Metadata,
    eff: Effective<'a>,
) -> Outcome<'a> {
    let entity = match site.files.entity(path, meta) {
        Ok(e) => e,
        Err(e) => {
            let status = if e.kind() == std::io::ErrorKind::PermissionDenied {
                403
            } else {
                404
            };
            return Err((
                Failure::logged(
                    status,
                    Level::Error,
                    format!("AH00132: no se pudo leer {}: {e}", path.display()),
                ),
                Some(eff),
            ));
        }
    };
    let (ctype, langs) = mime_info(site, &eff, path);
    let cond = Conditions {
        method: &parts.method,
        headers: &parts.headers,
    };
    let answer = files::respond(path, &entity, ctype.as_deref(), &cond)
        .await
        .map(|mut resp| {
            if !langs.is_empty() && resp.status() != StatusCode::NOT_MODIFIED {
                if let Ok(v) = HeaderValue::from_str(&langs.join(", ")) {
                    resp.headers_mut().insert(header::CONTENT_LANGUAGE, v);
                }
            }
            resp
        });
    match answer {
        Ok(resp) if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE => Err((
            Failure::logged(
                416,
                Level::Info,
                format!(
                    "ningún rango de la petición cae dentro de {}",
                    path.display()
                ),
            ),
            Some(eff),
        )),
        Ok(resp) => Ok((resp, Some(eff))),
        Err(e) => Err((
            Failure::logged(
                500,
                Level::Error,
                format!("AH00132: error al leer {}: {e}", path.display()),
            ),
            Some(eff),
        )),
    }
}
