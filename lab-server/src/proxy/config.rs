//! The varnish service's configuration, read as systemd and varnishd read it: the unit
//! (`etc/systemd/system/varnish.service`, else Debian's `lib/systemd/system/varnish.service`),
//! its drop-ins (`etc/systemd/system/varnish.service.d/*.conf`, in name order; the last
//! `ExecStart=` wins and an empty `ExecStart=` resets), then varnishd's options in it:
//! `-a` (several), `-f`, `-s malloc,SIZE`, `-p name=value`, `-t`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::diagnostic::{suggest, Diagnostic, Span};
use crate::config::model::Listen;
use crate::workspace::Workspace;

use super::vcl::{self, Vcl};

pub const UNIT_LIB: &str = "lib/systemd/system/varnish.service";
pub const UNIT_ETC: &str = "etc/systemd/system/varnish.service";
pub const DROPIN_DIR: &str = "etc/systemd/system/varnish.service.d";
pub const VCL_PATH: &str = "etc/varnish/default.vcl";

/// Debian 12's unit, as `apt install varnish` leaves it.
pub const DEBIAN_UNIT: &str = "[Unit]
Description=Varnish Cache, a high-performance HTTP accelerator
Documentation=https://www.varnish-cache.org/docs/ man:varnishd

[Service]
Type=simple

# Maximum number of open files (for ulimit -n)
LimitNOFILE=131072

# Locked shared memory - should suffice to lock the shared memory log
# (varnishd -l argument)
# Default log size is 80MB vsl + 1M vsm + header -> 82MB
# unit is bytes
LimitMEMLOCK=85983232
ExecStart=/usr/sbin/varnishd \\
          -j unix,user=vcache \\
          -F \\
          -a :6081 \\
          -T localhost:6082 \\
          -f /etc/varnish/default.vcl \\
          -S /etc/varnish/secret \\
          -s malloc,256m
ExecReload=/usr/share/varnish/varnishreload
ProtectSystem=full
ProtectHome=true
PrivateTmp=true
PrivateDevices=true

[Install]
WantedBy=multi-user.target
";

/// Debian's default.vcl, with Spanish comments.
pub const DEFAULT_VCL: &str = r#"#
# VCL de Varnish (etc/varnish/default.vcl), como el que instala Debian 12.
# Documentación: https://varnish-cache.org/docs/7.1/
#
# Lo que no decidas aquí lo decide builtin.vcl (`varnishd -x builtin`),
# que se ejecuta después de tus subrutinas si no hacen `return`.

# Versión del lenguaje VCL.
vcl 4.1;

# El servidor que hay detrás (Apache).
backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_recv {
    # Antes de buscar en la caché: limpia la petición (cookies que sobran,
    # parámetros de la URL...).
}

sub vcl_backend_response {
    # Al recibir la respuesta del backend: ajusta la TTL o quita
    # cabeceras Set-Cookie que no hacen falta.
}

sub vcl_deliver {
    # Justo antes de responder al cliente.
}
"#;

/// varnishd parameters (`-p`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub default_ttl: f64,
    pub default_grace: f64,
    pub default_keep: f64,
    pub http_gzip_support: bool,
    /// Ranges answered by the proxy, also on a miss with a known length.
    pub http_range_support: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            default_ttl: 120.0,
            default_grace: 10.0,
            default_keep: 0.0,
            http_gzip_support: true,
            http_range_support: true,
        }
    }
}

/// Everything the proxy needs to start.
#[derive(Debug)]
pub struct ProxyConfig {
    pub listens: Vec<Listen>,
    /// `-f` as written and as resolved.
    pub vcl_written: String,
    pub vcl_path: PathBuf,
    pub storage: u64,
    pub params: Params,
    pub vcl: Arc<Vcl>,
    /// The unit files read, for messages.
    pub unit_files: Vec<PathBuf>,
    /// The ExecStart line used.
    pub exec_span: Option<Span>,
}

/// The ExecStart in effect and where it was written.
struct Exec {
    text: String,
    span: Span,
}

fn unit_files(ws: &Workspace) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let etc = ws.root.join(UNIT_ETC);
    let lib = ws.root.join(UNIT_LIB);
    if etc.is_file() {
        files.push(etc);
    } else if lib.is_file() {
        files.push(lib);
    }
    if let Ok(rd) = std::fs::read_dir(ws.root.join(DROPIN_DIR)) {
        let mut dropins: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        dropins.sort();
        files.extend(dropins);
    }
    files
}

/// Whether the workspace has anything of varnish (unit or VCL).
pub fn present(ws: &Workspace) -> bool {
    !unit_files(ws).is_empty() || ws.root.join(VCL_PATH).is_file()
}

fn exec_start(ws: &Workspace, diags: &mut Vec<Diagnostic>) -> Option<Exec> {
    let mut exec: Option<Exec> = None;
    for file in unit_files(ws) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            diags.push(Diagnostic::error(
                None,
                format!("no se pudo leer {}", file.display()),
            ));
            continue;
        };
        let file = Arc::new(file);
        let mut section = String::new();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let start = i;
            let mut line = lines[i].trim_end().to_string();
            while line.ends_with('\\') && i + 1 < lines.len() {
                line.pop();
                i += 1;
                line.push(' ');
                line.push_str(lines[i].trim());
            }
            i += 1;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if t.starts_with('[') {
                section = t.to_string();
                continue;
            }
            let Some((key, value)) = t.split_once('=') else {
                diags.push(
                    Diagnostic::error(
                        Some(Span::new(
                            Arc::clone(&file),
                            start as u32 + 1,
                            1,
                            t.len() as u32,
                        )),
                        format!("línea no válida en la unidad de systemd: `{t}`"),
                    )
                    .with_hint("cada línea es CLAVE=VALOR, o una sección como [Service]"),
                );
                continue;
            };
            if section == "[Service]" && key.trim() == "ExecStart" {
                let value = value.trim();
                let col = lines[start].find("ExecStart").unwrap_or(0) as u32 + 1;
                let span = Span::new(Arc::clone(&file), start as u32 + 1, col, 9);
                if value.is_empty() {
                    exec = None;
                } else if exec.is_some() {
                    diags.push(
                        Diagnostic::error(
                            Some(span),
                            "`ExecStart=` repetido sin vaciarlo antes: systemd no arranca un servicio Type=simple con dos",
                        )
                        .with_hint("en un drop-in, pon primero una línea `ExecStart=` vacía y después la nueva (como hace `systemctl edit`)"),
                    );
                } else {
                    exec = Some(Exec {
                        text: value.to_string(),
                        span,
                    });
                }
            }
        }
    }
    exec
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()?.to_ascii_lowercase() {
        'k' => (&s[..s.len() - 1], 1024u64),
        'm' => (&s[..s.len() - 1], 1024 * 1024),
        'g' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        't' => (&s[..s.len() - 1], 1024u64.pow(4)),
        'b' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n > 0.0).then_some((n * mul as f64) as u64)
}

fn parse_seconds(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| *v >= 0.0)
}

/// `-a [addr]:port[,proto]`.
fn parse_listen(ws: &Workspace, arg: &str, span: &Span) -> Result<Listen, Diagnostic> {
    let spec = arg.split(',').next().unwrap_or("");
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => (h.trim_matches(|c| c == '[' || c == ']'), p),
        None => ("", spec),
    };
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
        Diagnostic::error(Some(span.clone()), format!("`-a {arg}`: puerto no válido"))
            .with_hint("por ejemplo `-a :80` o `-a 127.0.0.1:6081`")
    })?;
    let addr: Option<IpAddr> = match host {
        "" => None,
        "localhost" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        h => Some(h.parse().map_err(|_| {
            Diagnostic::error(
                Some(span.clone()),
                format!("`-a {arg}`: dirección no válida `{h}`"),
            )
            .with_hint("usa una dirección IP, `localhost` o nada (`-a :80`)")
        })?),
    };
    let bind = SocketAddr::new(
        addr.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ws.map_port(port),
    );
    Ok(Listen {
        addr,
        port,
        bind,
        span: span.clone(),
    })
}

/// Splits an ExecStart line into words, honouring quotes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// A loaded varnish configuration, with warnings.
pub struct LoadedConfig {
    pub config: ProxyConfig,
    pub warnings: Vec<Diagnostic>,
}

/// Reads the unit, its drop-ins and the VCL they name.
pub fn load(ws: &Workspace) -> Result<LoadedConfig, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let exec = exec_start(ws, &mut diags);
    let default_span = Span::new(Arc::new(ws.root.join(UNIT_LIB)), 1, 1, 1);
    let (text, span) = match &exec {
        Some(e) => (e.text.clone(), e.span.clone()),
        None if unit_files(ws).is_empty() => (
            "/usr/sbin/varnishd -a :6081 -f /etc/varnish/default.vcl -s malloc,256m".to_string(),
            default_span,
        ),
        None => {
            diags.push(
                Diagnostic::error(
                    Some(default_span),
                    "la unidad varnish.service no tiene `ExecStart=` (un drop-in lo vació y no puso otro)",
                )
                .with_hint("tras `ExecStart=` vacío, añade `ExecStart=/usr/sbin/varnishd -a :80 -f /etc/varnish/default.vcl -s malloc,256m`"),
            );
            return Err(diags);
        }
    };
    let argv = words(text.trim_start_matches(['-', '@', '+', '!', ':']));
    let mut listens = Vec::new();
    let mut vcl_written = None;
    let mut storage = 256 * 1024 * 1024u64;
    let mut params = Params::default();
    let mut i = 1;
    let need = |i: usize, opt: &str| -> Result<String, Diagnostic> {
        argv.get(i + 1).cloned().ok_or_else(|| {
            Diagnostic::error(
                Some(span.clone()),
                format!("la opción `{opt}` de varnishd necesita un valor"),
            )
        })
    };
    if !argv.first().is_some_and(|p| p.ends_with("varnishd")) {
        diags.push(
            Diagnostic::error(
                Some(span.clone()),
                format!(
                    "ExecStart no arranca varnishd sino `{}`",
                    argv.first().cloned().unwrap_or_default()
                ),
            )
            .with_hint(
                "ExecStart=/usr/sbin/varnishd -a :6081 -f /etc/varnish/default.vcl -s malloc,256m",
            ),
        );
        return Err(diags);
    }
    while i < argv.len() {
        let opt = argv[i].as_str();
        let r: Result<usize, Diagnostic> = (|| match opt {
            "-a" => {
                listens.push(parse_listen(ws, &need(i, opt)?, &span)?);
                Ok(2)
            }
            "-f" => {
                vcl_written = Some(need(i, opt)?);
                Ok(2)
            }
            "-s" => {
                let v = need(i, opt)?;
                let v = v.split_once('=').map(|(_, r)| r.to_string()).unwrap_or(v);
                let mut parts = v.splitn(2, ',');
                let kind = parts.next().unwrap_or("");
                if kind != "malloc" && kind != "default" {
                    return Err(Diagnostic::error(
                        Some(span.clone()),
                        format!("almacenamiento `-s {v}` no disponible en el laboratorio"),
                    )
                    .with_hint("usa `-s malloc,256m`"));
                }
                if let Some(size) = parts.next() {
                    storage = parse_size(size).ok_or_else(|| {
                        Diagnostic::error(
                            Some(span.clone()),
                            format!("tamaño no válido en `-s {v}`"),
                        )
                        .with_hint("por ejemplo `malloc,256m` o `malloc,1g`")
                    })?;
                }
                Ok(2)
            }
            "-t" => {
                params.default_ttl = parse_seconds(&need(i, opt)?).ok_or_else(|| {
                    Diagnostic::error(
                        Some(span.clone()),
                        "`-t` necesita segundos (por ejemplo `-t 120`)",
                    )
                })?;
                Ok(2)
            }
            "-p" => {
                let v = need(i, opt)?;
                let (name, value) = v.split_once('=').ok_or_else(|| {
                    Diagnostic::error(
                        Some(span.clone()),
                        format!("`-p {v}`: se espera NOMBRE=VALOR"),
                    )
                    .with_hint("por ejemplo `-p default_ttl=300`")
                })?;
                let secs = || {
                    parse_seconds(value).ok_or_else(|| {
                        Diagnostic::error(
                            Some(span.clone()),
                            format!("`-p {name}={value}`: se esperan segundos"),
                        )
                    })
                };
                match name {
                    "default_ttl" => params.default_ttl = secs()?,
                    "default_grace" => params.default_grace = secs()?,
                    "default_keep" => params.default_keep = secs()?,
                    "http_gzip_support" => {
                        params.http_gzip_support = matches!(value, "on" | "true")
                    }
                    "http_range_support" => {
                        params.http_range_support = matches!(value, "on" | "true")
                    }
                    "thread_pool_min" | "thread_pool_max" | "thread_pools" | "timeout_idle"
                    | "feature" | "vcc_allow_inline_c" | "http_resp_hdr_len" | "http_resp_size"
                    | "workspace_backend" | "workspace_client" => {
                        diags.push(Diagnostic::warning(
                            Some(span.clone()),
                            format!("el laboratorio no usa el parámetro `{name}`; se ignora"),
                        ));
                    }
                    other => {
                        let known = [
                            "default_ttl",
                            "default_grace",
                            "default_keep",
                            "http_gzip_support",
                            "http_range_support",
                        ];
                        let mut d = Diagnostic::error(
                            Some(span.clone()),
                            format!("parámetro de varnishd desconocido `{other}`"),
                        );
                        if let Some(s) = suggest(other, known) {
                            d = d.with_hint(format!("¿Quisiste decir `{s}`?"));
                        }
                        return Err(d);
                    }
                }
                Ok(2)
            }
            "-F" | "-d" => Ok(1),
            "-j" | "-T" | "-S" | "-n" | "-l" | "-P" | "-i" | "-I" | "-M" | "-h" | "-W" => Ok(2),
            other => Err(Diagnostic::error(
                Some(span.clone()),
                format!("opción de varnishd desconocida `{other}`"),
            )
            .with_hint("el laboratorio entiende -a, -f, -s, -p, -t, -F, -j, -T, -S")),
        })();
        match r {
            Ok(n) => i += n,
            Err(d) => {
                diags.push(d);
                return Err(diags);
            }
        }
    }
    if listens.is_empty() {
        listens.push(parse_listen(ws, ":6081", &span).map_err(|d| vec![d])?);
    }
    let Some(vcl_written) = vcl_written else {
        diags.push(
            Diagnostic::error(
                Some(span.clone()),
                "varnishd arranca sin `-f`: el laboratorio necesita un fichero VCL",
            )
            .with_hint("añade `-f /etc/varnish/default.vcl`"),
        );
        return Err(diags);
    };
    let resolved = ws.resolve(&vcl_written, &ws.root.join("etc/varnish"));
    let vcl = match vcl::load_file(&resolved.path, Path::new(&vcl_written)) {
        Ok((v, w)) => {
            diags.extend(w);
            v
        }
        Err(e) => {
            diags.extend(e);
            return Err(diags);
        }
    };
    // Backends on privileged ports go where the lab really listens for them.
    let mut vcl = vcl;
    for b in vcl.program.backends.iter_mut() {
        if b.host == "127.0.0.1" || b.host == "localhost" || b.host == "::1" {
            b.port = ws.map_port(b.port);
        }
    }
    if diags.iter().any(|d| d.is_error()) {
        return Err(diags);
    }
    Ok(LoadedConfig {
        config: ProxyConfig {
            listens,
            vcl_written,
            vcl_path: resolved.path,
            storage,
            params,
            vcl: Arc::new(vcl),
            unit_files: unit_files(ws),
            exec_span: exec.map(|e| e.span),
        },
        warnings: diags,
    })
}

/// Warnings that need the whole stack: a backend nobody serves, two services on a port.
pub fn cross_check(cfg: &ProxyConfig, others: &[(&str, SocketAddr)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for l in &cfg.listens {
        for (name, addr) in others {
            if addr.port() == l.bind.port()
                && (addr.ip() == l.bind.ip()
                    || addr.ip().is_unspecified()
                    || l.bind.ip().is_unspecified())
            {
                out.push(
                    Diagnostic::warning(
                        Some(l.span.clone()),
                        format!("varnish (-a {}:{}) y {name} quieren el mismo puerto {}", l.addr.map(|a| a.to_string()).unwrap_or_default(), l.port, addr.port()),
                    )
                    .with_hint("si varnish va al puerto 80, mueve Apache a 8080 (ports.conf y los <VirtualHost *:8080>)"),
                );
            }
        }
    }
    for b in &cfg.vcl.program.backends {
        let local = matches!(b.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        if !local {
            continue;
        }
        let served = others.iter().any(|(_, a)| a.port() == b.port);
        if !served {
            out.push(
                Diagnostic::warning(
                    Some(b.port_span.clone()),
                    format!("el backend `{}` apunta a {}:{}, donde no escucha ningún servicio del laboratorio", b.name, b.host, b.port),
                )
                .with_hint("haz que Apache escuche ahí (`Listen 8080` en ports.conf) o cambia `.port` en el VCL"),
            );
        }
    }
    out
}
