//! mod_php (`a2enmod php8.2`, only with the prefork MPM): Apache's children run PHP inside
//! themselves. The lab keeps the same outside behaviour with a pool of PHP processes it
//! manages, sized by the prefork directives and reading `etc/php/8.2/apache2/php.ini`, that
//! the Apache role hands `.php` requests to over FastCGI. The pool is Debian's `php-fpm8.2`
//! binary because it is the PHP server that takes per-request ini settings, which
//! `php_value`/`php_admin_value`/`php_flag` in `<Directory>` need (php-cgi ignores them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::fpm::FpmConfig;
use super::service::FpmProcess;
use crate::config::model::{MpmSettings, ServerConfig};

/// The running pool, with the settings it was started with.
pub struct ModPhp {
    process: FpmProcess,
    mpm: MpmSettings,
}

impl ModPhp {
    /// Starts the pool when the configuration loads mod_php; `Ok(None)` otherwise.
    pub async fn start(config: &ServerConfig) -> Result<Option<ModPhp>, String> {
        if !config.has_module(crate::config::modules::PHP) {
            return Ok(None);
        }
        let fpm = Arc::new(FpmConfig::mod_php(&config.workspace, &config.mpm));
        let state = config.workspace.join(".lab/mod_php");
        let process = FpmProcess::start(Arc::clone(&fpm), &state)
            .await
            .map_err(|e| format!("mod_php (los procesos PHP de Apache con el MPM prefork): {e}"))?;
        let defaults = read_defaults(&fpm, &state).await.unwrap_or_default();
        if let Ok(mut states) = states().lock() {
            states.insert(
                config.workspace.clone(),
                Arc::new(IniState {
                    defaults,
                    seen: Mutex::new(HashMap::new()),
                }),
            );
        }
        Ok(Some(ModPhp {
            process,
            mpm: config.mpm.clone(),
        }))
    }

    /// Whether `config` needs a different pool (module toggled or prefork sizes changed).
    pub fn outdated(current: Option<&ModPhp>, config: &ServerConfig) -> bool {
        let wanted = config.has_module(crate::config::modules::PHP);
        match current {
            None => wanted,
            Some(m) => !wanted || m.mpm != config.mpm,
        }
    }

    /// What `lab status` says about it.
    pub fn describe(&self) -> String {
        let c = &self.process.config.pools[0];
        format!(
            "mod_php: procesos PHP como hijos prefork (StartServers {}, MinSpareServers {}, \
             MaxSpareServers {}, MaxRequestWorkers {}) en {}",
            self.mpm.start_servers,
            self.mpm.min_spare,
            self.mpm.max_spare,
            self.mpm.max_request_workers,
            c.backend
        )
    }

    pub async fn stop(self) {
        self.process.stop().await;
    }
}

/// php-fpm keeps an ini value given with `PHP_VALUE` for the later requests of the same
/// child, where mod_php forgets a `php_value` at the end of the request. So every setting
/// that was ever sent is sent again on each request: the section's value, or the php.ini
/// value read from the pool when it started.
pub struct IniState {
    defaults: HashMap<String, String>,
    /// Every name sent so far, and whether it went as an admin value.
    seen: Mutex<HashMap<String, bool>>,
}

fn states() -> &'static Mutex<HashMap<PathBuf, Arc<IniState>>> {
    static STATES: OnceLock<Mutex<HashMap<PathBuf, Arc<IniState>>>> = OnceLock::new();
    STATES.get_or_init(Default::default)
}

/// The ini state of the mod_php pool of the workspace at `root`.
pub fn ini_state(root: &Path) -> Option<Arc<IniState>> {
    states().lock().ok()?.get(root).cloned()
}

impl IniState {
    /// `PHP_VALUE` and `PHP_ADMIN_VALUE` for a request with these settings (later ones win).
    pub fn params<'a>(
        &self,
        settings: impl Iterator<Item = &'a crate::config::model::PhpSetting>,
    ) -> (String, String) {
        let mut wanted: Vec<(&str, &str, bool)> = Vec::new();
        for s in settings {
            wanted.retain(|(n, _, _)| *n != s.name);
            wanted.push((&s.name, &s.value, s.admin));
        }
        let (mut user, mut admin) = (String::new(), String::new());
        let Ok(mut seen) = self.seen.lock() else {
            return (user, admin);
        };
        for (name, value, is_admin) in &wanted {
            let was_admin = seen.entry(name.to_string()).or_insert(*is_admin);
            *was_admin |= *is_admin;
            let out = if *is_admin { &mut admin } else { &mut user };
            out.push_str(&format!("{name}={value}\n"));
        }
        for (name, was_admin) in seen.iter() {
            if wanted.iter().any(|(n, _, _)| n == name) {
                continue;
            }
            let value = self.defaults.get(name).map(String::as_str).unwrap_or("");
            let out = if *was_admin { &mut admin } else { &mut user };
            out.push_str(&format!("{name}={value}\n"));
        }
        (user, admin)
    }
}

/// Asks the fresh pool for its ini values (`ini_get_all`), before any request changed them.
async fn read_defaults(fpm: &FpmConfig, state: &Path) -> Option<HashMap<String, String>> {
    let script = state.join("ini-defaults.php");
    std::fs::write(
        &script,
        "<?php foreach (ini_get_all(null, false) as $k => $v) { echo $k, \"\\t\", str_replace(\"\\n\", \" \", (string) $v), \"\\n\"; }\n",
    )
    .ok()?;
    let backend = fpm.pools.first()?.backend.clone();
    let pool = crate::fastcgi::pool::for_backend(&backend, None);
    use std::borrow::Cow;
    let params = [
        (
            Cow::Borrowed(&b"SCRIPT_FILENAME"[..]),
            Cow::Owned(script.display().to_string().into_bytes()),
        ),
        (
            Cow::Borrowed(&b"REQUEST_METHOD"[..]),
            Cow::Borrowed(&b"GET"[..]),
        ),
    ];
    let (_, mut rest) = pool
        .request(&params, None, Duration::from_secs(10), &mut Vec::new())
        .await
        .ok()?;
    let mut body = Vec::new();
    while let Some(piece) = std::future::poll_fn(|cx| rest.poll_piece(cx)).await {
        if let Ok(crate::fastcgi::pool::Piece::Data(d)) = piece {
            body.extend_from_slice(&d);
        }
    }
    let text = String::from_utf8_lossy(&body);
    Some(
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}
