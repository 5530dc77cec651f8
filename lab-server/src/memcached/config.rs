//! `etc/memcached.conf`, written the way Debian writes it: one command-line option per line
//! (`-m 64`, `-p 11211`, `-l 127.0.0.1`), `#` comments, and the `logfile PATH` line that
//! Debian's start script understands. Text -> options with spans -> [`MemcachedConfig`];
//! an unknown or malformed option is an error at `file:line:column`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::diagnostic::{suggest, Diagnostic, Span};
use crate::config::model::Listen;
use crate::workspace::Workspace;

/// Where the file lives inside the workspace.
pub const CONF_PATH: &str = "etc/memcached.conf";
/// Where `-v`/`-vv` write when the file names no `logfile`.
pub const DEFAULT_LOG: &str = "/var/log/memcached.log";

/// The settings of the memcached role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemcachedConfig {
    /// `-m`: memory for items, in bytes.
    pub memory_limit: u64,
    /// `-p` as written.
    pub port: u16,
    /// `-l`: the addresses to listen on (127.0.0.1 when absent).
    pub addrs: Vec<IpAddr>,
    /// Where the lab binds each address (the port mapped like every privileged port).
    pub binds: Vec<SocketAddr>,
    /// `-c`: simultaneous connections.
    pub max_connections: u32,
    /// `-t`: worker threads.
    pub threads: usize,
    /// `-I`: largest item, in bytes.
    pub item_size_max: u64,
    /// `-v` = 1, `-vv` = 2 (logs every command), `-vvv` = 3.
    pub verbosity: u32,
    /// `-M`: answer an error instead of evicting when memory is full.
    pub no_evictions: bool,
    /// Where the log goes (`logfile`, resolved inside the workspace).
    pub logfile: PathBuf,
    /// The `-p` line, for `lab status`.
    pub port_span: Option<Span>,
}

impl MemcachedConfig {
    /// memcached's own defaults with Debian's `-l 127.0.0.1`, for `port`.
    pub fn defaults(logfile: PathBuf) -> MemcachedConfig {
        MemcachedConfig {
            memory_limit: 64 * 1024 * 1024,
            port: 11211,
            addrs: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            binds: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 11211)],
            max_connections: 1024,
            threads: 4,
            item_size_max: 1024 * 1024,
            verbosity: 0,
            no_evictions: false,
            logfile,
            port_span: None,
        }
    }

    /// `Listen`-shaped entries for the supervisor's status lines.
    pub fn listens(&self, file: &Arc<PathBuf>) -> Vec<Listen> {
        let span = self
            .port_span
            .clone()
            .unwrap_or_else(|| Span::new(Arc::clone(file), 1, 1, 1));
        self.addrs
            .iter()
            .zip(&self.binds)
            .map(|(ip, bind)| Listen {
                addr: Some(*ip),
                port: self.port,
                bind: *bind,
                span: span.clone(),
            })
            .collect()
    }
}

/// A configuration that loaded, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: MemcachedConfig,
    pub warnings: Vec<Diagnostic>,
}

/// Reads `etc/memcached.conf` of the workspace (memcached's defaults when it is missing).
pub fn load(ws: &Workspace) -> Result<Loaded, Vec<Diagnostic>> {
    let path = ws.root.join(CONF_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(ws, &text, Arc::new(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut config = MemcachedConfig::defaults(ws.resolve(DEFAULT_LOG, &ws.root).path);
            map_binds(ws, &mut config);
            Ok(Loaded {
                config,
                warnings: Vec::new(),
            })
        }
        Err(e) => Err(vec![Diagnostic::error(
            None,
            format!("no se pudo leer {}: {e}", path.display()),
        )]),
    }
}

/// What an option does with its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Memory,
    Port,
    Listen,
    Connections,
    Threads,
    ItemSize,
    Udp,
    Verbose,
    NoEvict,
    /// Accepted as Debian writes them, with no effect here (`-d`, `-u`, `-P`).
    Ignored,
    /// Real options the lab does not emulate: a warning.
    NoEffect,
}

/// (short letter, long name, takes a value, what it does).
const OPTIONS: &[(char, &str, bool, Opt)] = &[
    ('m', "memory-limit", true, Opt::Memory),
    ('p', "port", true, Opt::Port),
    ('l', "listen", true, Opt::Listen),
    ('c', "conn-limit", true, Opt::Connections),
    ('t', "threads", true, Opt::Threads),
    ('I', "max-item-size", true, Opt::ItemSize),
    ('U', "udp-port", true, Opt::Udp),
    ('v', "verbose", false, Opt::Verbose),
    ('M', "disable-evictions", false, Opt::NoEvict),
    ('d', "daemon", false, Opt::Ignored),
    ('u', "user", true, Opt::Ignored),
    ('P', "pidfile", true, Opt::Ignored),
    ('k', "lock-memory", false, Opt::NoEffect),
    ('r', "enable-coredumps", false, Opt::NoEffect),
];

fn option_names() -> Vec<String> {
    let mut names: Vec<String> = OPTIONS.iter().map(|o| format!("--{}", o.1)).collect();
    names.push("logfile".into());
    names
}

fn short_list() -> String {
    OPTIONS
        .iter()
        .map(|o| format!("-{}", o.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses the text of a memcached.conf. `file` is used in spans.
pub fn parse(ws: &Workspace, text: &str, file: Arc<PathBuf>) -> Result<Loaded, Vec<Diagnostic>> {
    let mut config = MemcachedConfig::defaults(ws.resolve(DEFAULT_LOG, &ws.root).path);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut listen_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let content = raw.split('#').next().unwrap_or("");
        let words = words_with_columns(content);
        if words.is_empty() {
            continue;
        }
        let span =
            |col: usize, len: usize| Span::new(Arc::clone(&file), line_no, col as u32, len as u32);
        let mut k = 0;
        while k < words.len() {
            let (col, word) = words[k];
            k += 1;
            // Debian's start script reads `logfile PATH` itself.
            if word == "logfile" {
                match words.get(k) {
                    Some(&(_, path)) => {
                        k += 1;
                        config.logfile = ws.resolve(path, &ws.root).path;
                    }
                    None => errors.push(
                        Diagnostic::error(
                            Some(span(col, word.len())),
                            "a `logfile` le falta la ruta",
                        )
                        .with_hint("escribe por ejemplo `logfile /var/log/memcached.log`"),
                    ),
                }
                continue;
            }
            // Which option, and a value glued to it (`-m64`, `--port=11211`)?
            let (spec, glued) = if let Some(long) = word.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                (OPTIONS.iter().find(|o| o.1 == name), value)
            } else if let Some(short) = word.strip_prefix('-') {
                let mut chars = short.chars();
                let letter = chars.next();
                let rest = chars.as_str();
                let spec = letter.and_then(|c| OPTIONS.iter().find(|o| o.0 == c));
                match spec {
                    // -vv and -vvv: more verbosity.
                    Some(s) if s.3 == Opt::Verbose && rest.chars().all(|c| c == 'v') => {
                        config.verbosity = (1 + rest.len() as u32).min(3);
                        continue;
                    }
                    Some(s) if !s.2 && !rest.is_empty() => (None, None),
                    Some(s) => (Some(s), (!rest.is_empty()).then_some(rest)),
                    None => (None, None),
                }
            } else {
                (None, None)
            };
            let Some(&(letter, long, takes_value, opt)) = spec else {
                let names = option_names();
                let bare = word
                    .trim_start_matches('-')
                    .split('=')
                    .next()
                    .unwrap_or_default();
                let hint = match suggest(bare, names.iter().map(|n| n.trim_start_matches('-'))) {
                    Some(s) if word.len() > 2 => {
                        let full = names
                            .iter()
                            .find(|n| n.trim_start_matches('-') == s)
                            .cloned()
                            .unwrap_or_default();
                        format!("¿Quisiste decir `{full}`?")
                    }
                    _ => format!(
                        "las opciones que entiende el laboratorio son: {}",
                        short_list()
                    ),
                };
                errors.push(
                    Diagnostic::error(
                        Some(span(col, word.len())),
                        format!("opción desconocida de memcached `{word}`"),
                    )
                    .with_hint(hint),
                );
                continue;
            };
            let value = if takes_value {
                match glued {
                    Some(v) => Some((col, v)),
                    None => match words.get(k) {
                        Some(&(vcol, v)) if !v.starts_with('-') || v.parse::<i64>().is_ok() => {
                            k += 1;
                            Some((vcol, v))
                        }
                        _ => {
                            errors.push(
                                Diagnostic::error(
                                    Some(span(col, word.len())),
                                    format!("a la opción `-{letter}` (--{long}) le falta el valor"),
                                )
                                .with_hint(format!(
                                    "escribe el valor en la misma línea: `-{letter} VALOR`"
                                )),
                            );
                            continue;
                        }
                    },
                }
            } else {
                None
            };
            let (vcol, v) = value.unwrap_or((col, ""));
            let vspan = span(vcol, v.len());
            let bad = |what: &str, hint: &str| {
                Diagnostic::error(
                    Some(vspan.clone()),
                    format!("valor no válido `{v}` para `-{letter}`: {what}"),
                )
                .with_hint(hint.to_string())
            };
            match opt {
                Opt::Memory => match parse_size(v, 1024 * 1024) {
                    Some(n) if n > 0 => config.memory_limit = n,
                    _ => errors.push(bad("se esperan megabytes", "por ejemplo `-m 64` (64 MB)")),
                },
                Opt::Port => match v.parse::<u16>() {
                    Ok(p) => {
                        config.port = p;
                        config.port_span = Some(span(col, word.len() + 1 + v.len()));
                    }
                    Err(_) => errors.push(bad(
                        "se espera un puerto (0-65535)",
                        "por ejemplo `-p 11211`",
                    )),
                },
                Opt::Listen => {
                    let mut addrs = Vec::new();
                    for part in v.split(',') {
                        match part
                            .trim_matches(|c| c == '[' || c == ']')
                            .parse::<IpAddr>()
                        {
                            Ok(ip) => addrs.push(ip),
                            Err(_) => {
                                errors.push(bad(
                                    &format!("`{part}` no es una dirección IP"),
                                    "escribe una o varias direcciones separadas por comas: `-l 127.0.0.1` o `-l 127.0.0.1,::1`",
                                ));
                                break;
                            }
                        }
                    }
                    if !addrs.is_empty() {
                        if listen_seen {
                            config.addrs.extend(addrs);
                        } else {
                            config.addrs = addrs;
                        }
                        listen_seen = true;
                    }
                }
                Opt::Connections => match v.parse::<u32>() {
                    Ok(n) if n > 0 => config.max_connections = n,
                    _ => errors.push(bad(
                        "se espera un número de conexiones mayor que 0",
                        "por ejemplo `-c 1024`",
                    )),
                },
                Opt::Threads => match v.parse::<usize>() {
                    Ok(n) if (1..=64).contains(&n) => config.threads = n,
                    _ => errors.push(bad(
                        "se espera un número de hilos entre 1 y 64",
                        "por ejemplo `-t 4`",
                    )),
                },
                Opt::ItemSize => match parse_size(v, 1) {
                    Some(n) if (1024..=1024 * 1024 * 1024).contains(&n) => config.item_size_max = n,
                    Some(_) => errors.push(bad(
                        "debe estar entre 1k y 1024m",
                        "por ejemplo `-I 1m` o `-I 512k`",
                    )),
                    None => errors.push(bad(
                        "se espera un tamaño como `1m` o `512k`",
                        "por ejemplo `-I 1m`",
                    )),
                },
                Opt::Udp => match v.parse::<u16>() {
                    Ok(0) => {}
                    Ok(_) => errors.push(bad(
                        "el laboratorio no implementa UDP",
                        "usa `-U 0` (UDP desactivado, lo recomendado)",
                    )),
                    Err(_) => {
                        errors.push(bad("se espera un puerto", "usa `-U 0` (UDP desactivado)"))
                    }
                },
                Opt::Verbose => config.verbosity = config.verbosity.max(1),
                Opt::NoEvict => config.no_evictions = true,
                Opt::Ignored => {}
                Opt::NoEffect => warnings.push(Diagnostic::warning(
                    Some(span(col, word.len())),
                    format!("la opción `-{letter}` (--{long}) no tiene efecto en el laboratorio"),
                )),
            }
        }
    }
    if config.item_size_max > config.memory_limit / 2 && errors.is_empty() {
        errors.push(
            Diagnostic::error(
                Some(Span::new(Arc::clone(&file), 1, 1, 1)),
                format!(
                    "el tamaño máximo de elemento (-I, {} bytes) no puede superar la mitad de la memoria (-m, {} bytes)",
                    config.item_size_max, config.memory_limit
                ),
            )
            .with_hint("sube `-m` o baja `-I`"),
        );
    }
    if !errors.is_empty() {
        errors.extend(warnings);
        return Err(errors);
    }
    map_binds(ws, &mut config);
    Ok(Loaded { config, warnings })
}

fn map_binds(ws: &Workspace, config: &mut MemcachedConfig) {
    let port = ws.map_port(config.port);
    config.binds = config
        .addrs
        .iter()
        .map(|ip| SocketAddr::new(*ip, port))
        .collect();
}

/// `64`, `64m`, `512k`, `1g` in units of `unit` when there is no suffix.
fn parse_size(v: &str, unit: u64) -> Option<u64> {
    let lower = v.to_ascii_lowercase();
    let (num, mult) = match lower.chars().last()? {
        'k' => (&lower[..lower.len() - 1], 1024),
        'm' => (&lower[..lower.len() - 1], 1024 * 1024),
        'g' => (&lower[..lower.len() - 1], 1024 * 1024 * 1024),
        _ => (lower.as_str(), unit),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Whitespace-separated words with their 1-based columns.
fn words_with_columns(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((line[..s].chars().count() + 1, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((line[..s].chars().count() + 1, &line[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::render;

    fn ws() -> (tempfile::TempDir, Workspace) {
        let tmp = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&tmp.path().join("ws"), None).unwrap();
        (tmp, ws)
    }

    fn parse_text(ws: &Workspace, text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        let path = ws.root.join(CONF_PATH);
        std::fs::write(&path, text).unwrap();
        parse(ws, text, Arc::new(path))
    }

    #[test]
    fn the_template_file_is_debians_default() {
        let (_t, ws) = ws();
        let loaded = load(&ws).unwrap();
        let c = loaded.config;
        assert_eq!(c.memory_limit, 64 * 1024 * 1024);
        assert_eq!(c.port, 11211);
        assert_eq!(c.addrs, vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        assert_eq!(c.logfile, ws.root.join("var/log/memcached.log"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn options_are_read_one_a_line_with_glued_and_long_forms() {
        let (_t, ws) = ws();
        let c = parse_text(
            &ws,
            "# comment\n-m 128\n-p11311\n--threads=2\n-l 127.0.0.1,::1\n-c 10 # inline\n-I 2m\n-U 0\n-vv\n-M\n",
        )
        .unwrap()
        .config;
        assert_eq!(c.memory_limit, 128 * 1024 * 1024);
        assert_eq!(c.port, 11311);
        assert_eq!(c.threads, 2);
        assert_eq!(c.addrs.len(), 2);
        assert_eq!(c.max_connections, 10);
        assert_eq!(c.item_size_max, 2 * 1024 * 1024);
        assert_eq!(c.verbosity, 2);
        assert!(c.no_evictions);
    }

    #[test]
    fn unknown_options_are_errors_with_file_line_and_suggestion() {
        let (_t, ws) = ws();
        let errs = parse_text(&ws, "-m 64\n--memory-limt=64\n-x\n").unwrap_err();
        let text = render(&errs, Some(&ws.root));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let (_t, ws) = ws();
        let errs = parse_text(&ws, "-m mucho\n-p 99999\n-l localhost\n-U 11211\n-t\n").unwrap_err();
        let text = render(&errs, Some(&ws.root));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn item_size_may_not_exceed_half_the_memory() {
        let (_t, ws) = ws();
        let errs = parse_text(&ws, "-m 1\n-I 1m\n").unwrap_err();
        assert!(errs[0].message.contains("mitad de la memoria"), "{errs:?}");
    }

    #[test]
    fn sizes_accept_suffixes() {
        assert_eq!(parse_size("64", 1024 * 1024), Some(64 << 20));
        assert_eq!(parse_size("512k", 1), Some(512 << 10));
        assert_eq!(parse_size("1M", 1), Some(1 << 20));
        assert_eq!(parse_size("x", 1), None);
    }
}
