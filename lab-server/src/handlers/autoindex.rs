//! mod_autoindex: the listing of a directory without an index file, in Spanish. Hidden
//! files (Debian's `IndexIgnore .??*`), backups (`*~`, `*#`) and `.ht*` are left out.

use std::path::Path;
use std::time::SystemTime;

use crate::http::errors::html_escape;
use crate::http::urlpath::encode;

struct Entry {
    name: String,
    is_dir: bool,
    size: u64,
    modified: Option<SystemTime>,
}

fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with('#')
}

fn human_size(n: u64) -> String {
    match n {
        0..=1023 => format!("{n}"),
        1024..=1_048_575 => format!("{:.1}K", n as f64 / 1024.0),
        _ => format!("{:.1}M", n as f64 / 1_048_576.0),
    }
}

fn date(t: Option<SystemTime>) -> String {
    // `2026-12-01 07:37` as Apache shows it (UTC here).
    t.map(|t| {
        let s = crate::http::log::clf_time(t); // 01/Dec/2026:07:37:09 +0000
        let (d, rest) = s.split_once('/').unwrap_or(("", ""));
        let (mon, rest) = rest.split_once('/').unwrap_or(("", ""));
        let (y, rest) = rest.split_once(':').unwrap_or(("", ""));
        let hm = rest.get(..5).unwrap_or("");
        let m = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .position(|x| *x == mon)
        .map_or(0, |i| i + 1);
        format!("{y}-{m:02}-{d} {hm}")
    })
    .unwrap_or_else(|| "-".into())
}

/// The HTML listing of `dir`, requested as `url` (ending in `/`).
pub fn listing(dir: &Path, url: &str, signature: &str) -> std::io::Result<String> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        let meta = std::fs::metadata(e.path()).ok();
        entries.push(Entry {
            is_dir: meta.as_ref().is_some_and(|m| m.is_dir()),
            size: meta.as_ref().map_or(0, |m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
            name,
        });
    }
    // Directories first, then by name, as `IndexOptions FoldersFirst` in Debian.
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let title = format!("Índice de {}", html_escape(url.trim_end_matches('/')));
    let title = if url == "/" {
        "Índice de /".to_string()
    } else {
        title
    };
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         </head>\n<body>\n<h1>{title}</h1>\n<table>\n\
         <tr><th>Nombre</th><th>Última modificación</th><th>Tamaño</th></tr>\n\
         <tr><th colspan=\"3\"><hr></th></tr>\n"
    );
    if url != "/" {
        let parent = match url.trim_end_matches('/').rfind('/') {
            Some(i) => &url[..=i],
            None => "/",
        };
        html.push_str(&format!(
            "<tr><td><a href=\"{}\">Directorio superior</a></td><td>&nbsp;</td><td align=\"right\">-</td></tr>\n",
            html_escape(&encode(parent))
        ));
    }
    for e in &entries {
        let shown = if e.is_dir {
            format!("{}/", e.name)
        } else {
            e.name.clone()
        };
        let href = html_escape(&encode(&shown));
        html.push_str(&format!(
            "<tr><td><a href=\"{href}\">{}</a></td><td align=\"right\">{}</td><td align=\"right\">{}</td></tr>\n",
            html_escape(&shown),
            date(e.modified),
            if e.is_dir { "-".to_string() } else { human_size(e.size) }
        ));
    }
    html.push_str("<tr><th colspan=\"3\"><hr></th></tr>\n</table>\n");
    html.push_str(signature);
    html.push_str("\n</body></html>\n");
    Ok(html)
}

/// The handler for a directory without an index under `Options Indexes`.
pub fn serve<'a>(
    site: &'a crate::http::site::Site,
    conn: &crate::http::request::Conn,
    parts: &http::request::Parts,
    host: &crate::config::model::HostConfig,
    path: &Path,
    url: &str,
    eff: crate::http::perdir::Effective<'a>,
) -> super::Outcome<'a> {
    let sig = super::signature(site, host, conn);
    match listing(path, url, &sig) {
        Ok(html) => Ok((
            super::text_response(
                http::StatusCode::OK,
                "text/html; charset=utf-8",
                html,
                parts,
            ),
            Some(eff),
        )),
        Err(e) => Err((
            super::Failure::logged(
                403,
                crate::http::log::Level::Error,
                format!(
                    "AH01275: no se puede leer el directorio {}: {e}",
                    path.display()
                ),
            ),
            Some(eff),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_backup_files_are_ignored() {
        assert!(ignored(".htaccess"));
        assert!(ignored("notas.txt~"));
        assert!(!ignored("notas.txt"));
    }

    #[test]
    fn sizes_are_short() {
        assert_eq!(human_size(512), "512");
        assert_eq!(human_size(2048), "2.0K");
    }
}
