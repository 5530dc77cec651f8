//! mod_remoteip: the client's address as the proxies in front of the server report it.
//!
//! Apache's `remoteip_modify_request` runs right after the request is read, before any access
//! check. It walks the header (`RemoteIPHeader`, several lines joined with `, `) from its
//! right end while the address it has so far is one of the proxies it may believe (any
//! address, when no proxy list was given): the rightmost entry becomes the client, and the
//! walk goes on from there. An entry that is not an IP address stops it; so does a private or
//! loopback one presented by an outside proxy (`RemoteIPTrustedProxy`, or any proxy with no
//! list), which only an internal one (`RemoteIPInternalProxy`) may present. What was not
//! walked stays in the header, which goes away when nothing is left; the outside proxies
//! passed go to `RemoteIPProxiesHeader`. The connection itself keeps its address (`%{c}a`,
//! `REMOTE_PORT`); everything that asks for the client (`%a`, `%h`, `Require ip`, `Require
//! local`, `REMOTE_ADDR`, the `X-Forwarded-For` that mod_proxy adds) gets the new one, with
//! port 0 as the port is not known.
//!
//! Apache would look up an entry that is a host name in the DNS; here such an entry stops the
//! walk, as an unparsable one does in Apache.

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue};

use crate::config::remoteip::RemoteIp;

/// Applies `cfg` to a request from `peer`: the client's address when the header changes it,
/// with the header (and the proxies header) rewritten as Apache leaves them.
pub fn apply(cfg: &RemoteIp, peer: IpAddr, headers: &mut HeaderMap) -> Option<IpAddr> {
    let name = cfg.header.as_ref()?;
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    // Apache joins repeated lines of a request header into one value.
    let mut joined: Vec<u8> = first.as_bytes().to_vec();
    for v in values {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(v.as_bytes());
    }
    let text = String::from_utf8_lossy(&joined).into_owned();

    let mut internal = cfg.proxies.is_some();
    let mut current = peer.to_canonical();
    let mut changed = false;
    let mut proxies: Vec<IpAddr> = Vec::new();
    // What is left of the header to walk: `text[..rest]`, or nothing.
    let mut rest = Some(text.len());
    while let Some(end) = rest {
        if let Some(list) = &cfg.proxies {
            match list.iter().find(|(net, _)| net.contains(current)) {
                Some((_, is_internal)) => {
                    // An internal proxy may present an outside one, not the reverse.
                    if internal {
                        internal = *is_internal;
                    }
                }
                None => break,
            }
        }
        let (head, entry) = match text[..end].rfind(',') {
            Some(i) => (Some(i), &text[i + 1..end]),
            None => (None, &text[..end]),
        };
        let entry = entry.trim_matches(' ');
        if entry.is_empty() {
            break;
        }
        let Ok(addr) = entry.parse::<IpAddr>() else {
            break;
        };
        let addr = addr.to_canonical();
        if !internal && !public(addr) {
            break;
        }
        if !internal {
            proxies.push(current);
        }
        current = addr;
        changed = true;
        rest = head;
    }
    if !changed {
        return None;
    }
    match rest {
        Some(end) => {
            if let Ok(v) = HeaderValue::from_str(&text[..end]) {
                headers.insert(name.clone(), v);
            }
        }
        None => {
            headers.remove(name);
        }
    }
    if let (false, Some(proxies_header)) = (proxies.is_empty(), &cfg.proxies_header) {
        let list = proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&list) {
            headers.insert(proxies_header.clone(), v);
        }
    }
    Some(current)
}

/// Whether an outside proxy may present `addr`: not one of RFC 3330's private or local IPv4
/// networks, and for IPv6 only global unicast (2000::/3).
fn public(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(a == 10
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && (b & 0xf0) == 16)
                || (a == 192 && b == 168))
        }
        IpAddr::V6(v6) => (v6.octets()[0] & 0xe0) == 0x20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::perdir::parse_ip_net;

    fn cfg(proxies: Option<&[(&str, bool)]>) -> RemoteIp {
        RemoteIp {
            header: Some(http::HeaderName::from_static("x-forwarded-for")),
            proxies: proxies.map(|l| {
                l.iter()
                    .map(|(n, i)| (parse_ip_net(n).unwrap(), *i))
                    .collect()
            }),
            proxies_header: Some(http::HeaderName::from_static("x-forwarded-by")),
        }
    }

    fn run(
        cfg: &RemoteIp,
        peer: &str,
        values: &[&str],
    ) -> (Option<String>, Vec<String>, Vec<String>) {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        let got = apply(cfg, peer.parse().unwrap(), &mut h).map(|a| a.to_string());
        let left = h
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let by = h
            .get_all("x-forwarded-by")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        (got, left, by)
    }

    #[test]
    fn walks_the_header_as_mod_remoteip_does() {
        let c = cfg(Some(&[("127.0.0.0/8", true), ("192.0.2.10", false)]));
        let none: Vec<String> = Vec::new();
        // Not from a listed proxy: nothing changes.
        assert_eq!(
            run(&c, "198.51.100.9", &["203.0.113.7"]),
            (None, vec!["203.0.113.7".into()], none.clone())
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["203.0.113.7"]),
            (Some("203.0.113.7".into()), none.clone(), none.clone())
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["198.51.100.1, 203.0.113.7"]),
            (
                Some("203.0.113.7".into()),
                vec!["198.51.100.1".into()],
                none.clone()
            )
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["198.51.100.1", "192.0.2.10"]),
            (
                Some("198.51.100.1".into()),
                none.clone(),
                vec!["192.0.2.10".into()]
            )
        );
        // An outside proxy may not present a private address; an internal one may.
        assert_eq!(
            run(&c, "127.0.0.1", &["10.0.0.5, 192.0.2.10"]),
            (
                Some("192.0.2.10".into()),
                vec!["10.0.0.5".into()],
                none.clone()
            )
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["10.0.0.5"]),
            (Some("10.0.0.5".into()), none.clone(), none.clone())
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["198.51.100.1 ,  , 203.0.113.7"]),
            (
                Some("203.0.113.7".into()),
                vec!["198.51.100.1 ,  ".into()],
                none.clone()
            )
        );
        // Not an address: the walk stops, the entry stays.
        assert_eq!(
            run(&c, "127.0.0.1", &["proxy.example"]),
            (None, vec!["proxy.example".into()], none.clone())
        );
    }

    #[test]
    fn without_a_list_every_hop_is_an_outside_proxy() {
        let c = cfg(None);
        let none: Vec<String> = Vec::new();
        assert_eq!(
            run(&c, "127.0.0.1", &["198.51.100.1, 203.0.113.7"]),
            (
                Some("198.51.100.1".into()),
                none.clone(),
                vec!["127.0.0.1, 203.0.113.7".into()]
            )
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["10.0.0.5"]),
            (None, vec!["10.0.0.5".into()], none.clone())
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["fd00::1"]),
            (None, vec!["fd00::1".into()], none.clone())
        );
        assert_eq!(
            run(&c, "127.0.0.1", &["2001:db8::7"]),
            (
                Some("2001:db8::7".into()),
                none.clone(),
                vec!["127.0.0.1".into()]
            )
        );
    }
}
