//! `SetHandler scriptcache-status`: the script cache's numbers as an HTML page in Spanish,
//! or as JSON with `?json` (the fields of PHP's `opcache_get_status()` where they exist).

use std::fmt::Write as _;

use super::Status;
use crate::http::errors::html_escape;

/// The JSON form.
pub fn json(s: &Status) -> String {
    let hit_rate = if s.hits + s.misses == 0 {
        0.0
    } else {
        100.0 * s.hits as f64 / (s.hits + s.misses) as f64
    };
    let scripts: serde_json::Map<String, serde_json::Value> = s
        .scripts
        .iter()
        .map(|sc| {
            (
                sc.full_path.clone(),
                serde_json::to_value(sc).unwrap_or_default(),
            )
        })
        .collect();
    let v = serde_json::json!({
        "scriptcache_enabled": s.enabled,
        "cache_full": s.memory_used >= s.memory_limit && s.enabled,
        "memory_usage": {
            "used_memory": s.memory_used,
            "free_memory": s.memory_limit.saturating_sub(s.memory_used),
            "wasted_memory": 0,
        },
        "statistics": {
            "num_cached_scripts": s.scripts.len(),
            "max_cached_keys": s.max_files,
            "hits": s.hits,
            "misses": s.misses,
            "hit_rate": hit_rate,
            "evictions": s.evictions,
            "resets": s.resets,
            "start_time": s.start_time,
            "last_restart_time": s.last_reset_time,
        },
        "directives": {
            "ScriptCacheValidateTimestamps": s.validate_timestamps,
            "ScriptCacheRevalidateFreq": s.revalidate_freq,
            "ScriptCacheMaxFiles": s.max_files,
            "ScriptCacheMemory": s.memory_limit,
        },
        "scripts": scripts,
    });
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}

/// The HTML page.
pub fn html(s: &Status, signature: &str) -> String {
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(
            rows,
            "<tr><th align=\"left\">{k}</th><td>{}</td></tr>",
            html_escape(&v)
        );
    };
    row(
        "Estado",
        if s.enabled {
            "activa".into()
        } else {
            "desactivada (ScriptCache Off o módulo scriptcache sin activar)".into()
        },
    );
    row("Aciertos (hits)", s.hits.to_string());
    row("Fallos (misses)", s.misses.to_string());
    row("Scripts en caché", s.scripts.len().to_string());
    row(
        "Memoria usada",
        format!("{} de {} bytes", s.memory_used, s.memory_limit),
    );
    row("Expulsiones", s.evictions.to_string());
    row("Vaciados (lab cache reset, recargas)", s.resets.to_string());
    row(
        "Comprobar fechas (ValidateTimestamps)",
        if s.validate_timestamps { "sí" } else { "no" }.into(),
    );
    row("RevalidateFreq", format!("{} s", s.revalidate_freq));
    let mut list = String::new();
    for sc in &s.scripts {
        let _ = writeln!(
            list,
            "<tr><td>{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td></tr>",
            html_escape(&sc.full_path),
            sc.hits,
            sc.memory_consumption
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">\n\
         <title>Caché de scripts</title></head><body>\n<h1>Caché de scripts</h1>\n\
         <table>\n{rows}</table>\n<h2>Scripts</h2>\n<table>\n\
         <tr><th>Script</th><th>Aciertos</th><th>Bytes</th></tr>\n{list}</table>\n\
         <p>Versión para programas: <a href=\"?json\">?json</a></p>\n<hr>\n{signature}\n</body></html>\n"
    )
}
