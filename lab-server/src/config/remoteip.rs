//! mod_remoteip's directives: which request header names the client, and which proxies in
//! front of the server may say so.

use super::diagnostic::Diagnostic;
use super::model::{HostConfig, IpNet};
use super::perdir::Diags;
use super::syntax::Node;
use crate::workspace::Workspace;

/// The mod_remoteip settings of a server or virtual host (a virtual host without them uses
/// the main server's, each setting on its own, as Apache merges them).
#[derive(Debug, Clone, Default)]
pub struct RemoteIp {
    /// `RemoteIPHeader`.
    pub header: Option<http::HeaderName>,
    /// `RemoteIPInternalProxy` (true) and `RemoteIPTrustedProxy` (false), in order; `None`
    /// when none was given (then every proxy is trusted as an outside one).
    pub proxies: Option<Vec<(IpNet, bool)>>,
    /// `RemoteIPProxiesHeader`.
    pub proxies_header: Option<http::HeaderName>,
}

impl RemoteIp {
    /// A proxy from `RemoteIPInternalProxy` (`internal`) or `RemoteIPTrustedProxy`, or
    /// their lists.
    fn add(&mut self, net: IpNet, internal: bool) {
        self.proxies
            .get_or_insert_with(Vec::new)
            .push((net, internal));
    }

    /// `self` (a virtual host's) over `main`'s.
    pub fn over(&self, main: &RemoteIp) -> RemoteIp {
        RemoteIp {
            header: self.header.clone().or_else(|| main.header.clone()),
            proxies: self.proxies.clone().or_else(|| main.proxies.clone()),
            proxies_header: self
                .proxies_header
                .clone()
                .or_else(|| main.proxies_header.clone()),
        }
    }
}

/// Applies a `RemoteIP*` directive to `host`; false when `node` is not one.
pub fn host_directive(
    ws: &Workspace,
    base: &std::path::Path,
    node: &Node,
    host: &mut HostConfig,
    diags: &mut Diags,
) -> bool {
    let a = &node.args;
    let key = node.key();
    match key.as_str() {
        "remoteipheader" | "remoteipproxiesheader" => {
            let Some(arg) = a.first() else {
                return true;
            };
            match http::HeaderName::from_bytes(arg.text.as_bytes()) {
                Ok(name) if key == "remoteipheader" => host.remoteip.header = Some(name),
                Ok(name) => host.remoteip.proxies_header = Some(name),
                Err(_) => diags.push(Diagnostic::error(
                    Some(arg.span.clone()),
                    format!("`{}` no es un nombre de cabecera válido", arg.text),
                )),
            }
            true
        }
        "remoteipinternalproxy" | "remoteiptrustedproxy" => {
            let internal = key == "remoteipinternalproxy";
            for arg in a {
                match super::perdir::parse_ip_net(&arg.text) {
                    Some(net) => host.remoteip.add(net, internal),
                    None => diags.push(
                        Diagnostic::error(
                            Some(arg.span.clone()),
                            format!(
                                "`{}` no es una dirección IP ni una red válida para `{}`",
                                arg.text, node.name
                            ),
                        )
                        .with_hint(
                            "escribe una IP (`127.0.0.1`), una red (`10.0.0.0/8`) o el principio de una (`10.0`); el laboratorio no resuelve nombres de máquina aquí",
                        ),
                    ),
                }
            }
            true
        }
        "remoteipinternalproxylist" | "remoteiptrustedproxylist" => {
            let internal = key == "remoteipinternalproxylist";
            let Some(arg) = a.first() else {
                return true;
            };
            let path = ws.resolve(&arg.text, base).path;
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(Diagnostic::error(
                        Some(arg.span.clone()),
                        format!("`{}`: no se pudo abrir {}: {e}", node.name, path.display()),
                    ));
                    return true;
                }
            };
            // As Apache reads it: words, each an address or network, `#` to the end of the line.
            for (n, line) in text.lines().enumerate() {
                for word in line.split_whitespace() {
                    if word.starts_with('#') {
                        break;
                    }
                    match super::perdir::parse_ip_net(word) {
                        Some(net) => host.remoteip.add(net, internal),
                        None => diags.push(Diagnostic::error(
                            Some(arg.span.clone()),
                            format!(
                                "`{word}` (línea {} de {}) no es una dirección IP ni una red válida",
                                n + 1,
                                path.display()
                            ),
                        )),
                    }
                }
            }
            true
        }
        _ => false,
    }
}
