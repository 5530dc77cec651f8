//! `Require` (mod_authz_core, mod_authz_host) for one request.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::model::{AccessCompat, RequireExpr};

/// What a `Require` rule can look at.
pub struct Subject<'a> {
    pub client: IpAddr,
    /// The address the connection arrived on (`Require local` also grants it).
    pub local: IpAddr,
    pub method: &'a str,
    /// Variables set by `SetEnvIf`.
    pub env: &'a HashMap<String, String>,
}

/// True when `expr` grants access. No `Require` at all grants, as in Apache 2.4. A `Require
/// host` asks the system's resolver on this thread (see [`granted_async`] for requests).
pub fn granted(expr: Option<&RequireExpr>, who: &Subject<'_>) -> bool {
    expr.is_none_or(|e| eval(e, who, &dns::Resolver))
}

/// [`granted`] for a request on the runtime: the lookups a `Require host` needs (when the
/// cache does not hold them) run on the blocking pool, never on the runtime's threads.
pub async fn granted_async(expr: Option<&RequireExpr>, who: &Subject<'_>) -> bool {
    granted_with(expr, who, dns::Looked::cached, dns::Looked::resolve).await
}

async fn granted_with<L: Lookup + Default + Send + 'static>(
    expr: Option<&RequireExpr>,
    who: &Subject<'_>,
    cached: impl FnOnce(IpAddr) -> Option<L>,
    resolve: impl FnOnce(IpAddr) -> L + Send + 'static,
) -> bool {
    access_with(None, expr, who, cached, resolve).await.granted
}

/// What Apache's two access phases decide for one request: mod_access_compat's host rules
/// (`Order`/`Allow`/`Deny`, its access checker) and then `Require` (mod_authz_core),
/// combined by `Satisfy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The request may go on.
    pub granted: bool,
    /// The host rules refused the client (mod_access_compat logs AH01797 even when
    /// `Satisfy Any` then lets `Require` grant).
    pub host_refused: bool,
    /// `Require` was asked and refused (AH01630).
    pub require_refused: bool,
    /// The client's name, when a `host` rule had it looked up and the double lookup
    /// confirmed it: Apache keeps it for the connection and `%h` logs it from then on.
    pub name: Option<String>,
}

/// [`Access`] for a request on the runtime (name lookups on the blocking pool).
pub async fn access_async(
    compat: Option<&AccessCompat>,
    require: Option<&RequireExpr>,
    who: &Subject<'_>,
) -> Access {
    access_with(
        compat,
        require,
        who,
        dns::Looked::cached,
        dns::Looked::resolve,
    )
    .await
}

/// [`Access`] with lookups on this thread (for `lab explain`).
pub fn access(
    compat: Option<&AccessCompat>,
    require: Option<&RequireExpr>,
    who: &Subject<'_>,
) -> Access {
    decide(compat, require, who, &dns::Resolver)
}

async fn access_with<L: Lookup + Default + Send + 'static>(
    compat: Option<&AccessCompat>,
    require: Option<&RequireExpr>,
    who: &Subject<'_>,
    cached: impl FnOnce(IpAddr) -> Option<L>,
    resolve: impl FnOnce(IpAddr) -> L + Send + 'static,
) -> Access {
    let hosts = compat.is_some_and(|c| c.allow.iter().chain(&c.deny).any(needs_host));
    if !hosts && !require.is_some_and(needs_host) {
        return decide(compat, require, who, &dns::Resolver);
    }
    let client = who.client.to_canonical();
    let looked = match cached(client) {
        Some(l) => l,
        None => tokio::task::spawn_blocking(move || resolve(client))
            .await
            .unwrap_or_default(),
    };
    let mut access = decide(compat, require, who, &looked);
    access.name = verified_name(client, &looked);
    access
}

/// The order of `ap_process_request_internal`: with `Satisfy All` (or none) the host rules
/// must pass and then `Require` is asked; with `Satisfy Any` passing the host rules is enough,
/// and when they refuse `Require` decides alone.
fn decide(
    compat: Option<&AccessCompat>,
    require: Option<&RequireExpr>,
    who: &Subject<'_>,
    dns: &dyn Lookup,
) -> Access {
    let host_ok = compat.is_none_or(|c| {
        let matches = |list: &[RequireExpr]| list.iter().any(|e| rule(e, who, dns) == Some(true));
        c.passes(who.method, matches(&c.allow), matches(&c.deny))
    });
    let any = compat.is_some_and(|c| c.satisfy_any(who.method));
    if host_ok && any {
        return Access {
            granted: true,
            host_refused: false,
            require_refused: false,
            name: None,
        };
    }
    if !host_ok && !any {
        return Access {
            granted: false,
            host_refused: true,
            require_refused: false,
            name: None,
        };
    }
    let ok = require.is_none_or(|e| eval(e, who, dns));
    Access {
        granted: ok,
        host_refused: !host_ok,
        require_refused: !ok,
        name: None,
    }
}

fn needs_host(expr: &RequireExpr) -> bool {
    match expr {
        RequireExpr::Host(_) => true,
        RequireExpr::Not(inner) | RequireExpr::Limited(_, inner) => needs_host(inner),
        RequireExpr::AllOf(items) | RequireExpr::AnyOf(items) | RequireExpr::NoneOf(items) => {
            items.iter().any(needs_host)
        }
        _ => false,
    }
}

/// Whether `expr` grants; a rule that says nothing for this request (a `<Limit>` of other
/// methods, and nothing else around it) grants, as Apache does.
fn eval(expr: &RequireExpr, who: &Subject<'_>, dns: &dyn Lookup) -> bool {
    rule(expr, who, dns).unwrap_or(true)
}

/// mod_authz_core's three results: granted (`Some(true)`), denied, or neutral (`None`, a rule
/// limited to other methods), combined as its `apply_authz_sections` does: neutral children
/// are left out of `<RequireAll>`/`<RequireAny>`, and a block of only neutral ones is neutral.
fn rule(expr: &RequireExpr, who: &Subject<'_>, dns: &dyn Lookup) -> Option<bool> {
    let results = |items: &[RequireExpr]| -> (bool, bool) {
        let (mut granted, mut denied) = (false, false);
        for e in items {
            match rule(e, who, dns) {
                Some(true) => granted = true,
                Some(false) => denied = true,
                None => {}
            }
        }
        (granted, denied)
    };
    Some(match expr {
        RequireExpr::All(g) => *g,
        RequireExpr::Ip(nets) => nets.iter().any(|n| n.contains(who.client)),
        RequireExpr::Host(names) => host_matches(names, who.client, dns),
        RequireExpr::Local => is_loopback(who.client) || who.client == who.local,
        RequireExpr::Method(methods) => methods.iter().any(|m| m.eq_ignore_ascii_case(who.method)),
        RequireExpr::Env(vars) => vars.iter().any(|v| who.env.contains_key(v)),
        RequireExpr::Not(inner) => !rule(inner, who, dns)?,
        RequireExpr::AllOf(items) => match results(items) {
            (_, true) => false,
            (true, false) => true,
            (false, false) => return None,
        },
        RequireExpr::AnyOf(items) => match results(items) {
            (true, _) => true,
            (false, true) => false,
            (false, false) => return None,
        },
        RequireExpr::NoneOf(items) => match results(items) {
            (true, _) => false,
            (false, true) => true,
            (false, false) => return None,
        },
        RequireExpr::Limited(filter, inner) => {
            if !filter.applies(who.method) {
                return None;
            }
            return rule(inner, who, dns);
        }
    })
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Name lookups for `Require host`, replaceable in tests.
pub trait Lookup {
    /// The name the reverse lookup (PTR, or /etc/hosts) gives for `ip`.
    fn reverse(&self, ip: IpAddr) -> Option<String>;
    /// The addresses `name` resolves to.
    fn forward(&self, name: &str) -> Vec<IpAddr>;
}

/// mod_authz_host's `Require host`: the client's name is found by a double lookup (reverse,
/// then forward, which must give the client's address back, so a PTR record alone cannot
/// claim a name), and it matches a name of the rule when it equals it or ends with it after
/// a dot (`Require host ejemplo.org` grants `www.ejemplo.org`, not `malejemplo.org`).
pub fn host_matches(names: &[String], client: IpAddr, dns: &dyn Lookup) -> bool {
    let client = client.to_canonical();
    // Loopback clients are `localhost` without asking anyone (as /etc/hosts says anyway).
    let local_names = ["localhost", "localdomain", "localhost.localdomain"];
    if client.is_loopback()
        && names
            .iter()
            .any(|n| local_names.contains(&n.trim_start_matches('.').to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let Some(name) = verified_name(client, dns) else {
        return false;
    };
    names.iter().any(|n| {
        let n = n
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        !n.is_empty()
            && (name == n
                || name
                    .strip_suffix(n.as_str())
                    .is_some_and(|head| head.ends_with('.')))
    })
}

/// The client's name by double reverse lookup (`REMOTE_DOUBLE_REV`): the reverse lookup's
/// name, lower-cased, when its forward lookup gives the client's address back.
pub fn verified_name(client: IpAddr, dns: &dyn Lookup) -> Option<String> {
    let client = client.to_canonical();
    let name = dns.reverse(client)?;
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    dns.forward(&name)
        .iter()
        .any(|ip| ip.to_canonical() == client)
        .then_some(name)
}

/// The system's resolver (getnameinfo, getaddrinfo: /etc/hosts, then DNS), with a small
/// cache so that a busy `Require host` does not ask for every request.
mod dns {
    use std::collections::HashMap;
    use std::net::{IpAddr, ToSocketAddrs};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    pub struct Resolver;

    const TTL: Duration = Duration::from_secs(60);

    type Cache<K, V> = Mutex<HashMap<K, (Instant, V)>>;

    fn cached<K: std::hash::Hash + Eq + Clone, V: Clone>(
        cache: &Cache<K, V>,
        key: &K,
        f: impl FnOnce() -> V,
    ) -> V {
        if let Ok(c) = cache.lock() {
            if let Some((at, v)) = c.get(key) {
                if at.elapsed() < TTL {
                    return v.clone();
                }
            }
        }
        let v = f();
        if let Ok(mut c) = cache.lock() {
            if c.len() > 4096 {
                c.clear();
            }
            c.insert(key.clone(), (Instant::now(), v.clone()));
        }
        v
    }

    /// Both lookups of one client, done beforehand (the name as `host_matches` asks for it).
    #[derive(Default)]
    pub struct Looked {
        name: Option<String>,
        addrs: Vec<IpAddr>,
    }

    fn normal(name: &str) -> String {
        name.trim_end_matches('.').to_ascii_lowercase()
    }

    impl Looked {
        /// Both lookups for `ip`, through the cache (this may block: call it off the
        /// runtime).
        pub fn resolve(ip: IpAddr) -> Looked {
            use super::Lookup;
            let name = Resolver.reverse(ip);
            let addrs = name
                .as_deref()
                .map(|n| Resolver.forward(&normal(n)))
                .unwrap_or_default();
            Looked { name, addrs }
        }

        /// Both lookups for `ip` when the cache still holds them.
        pub fn cached(ip: IpAddr) -> Option<Looked> {
            let fresh = |at: &Instant| at.elapsed() < TTL;
            let name = {
                let c = REVERSE.lock().ok()?;
                let (at, name) = c.get(&ip)?;
                if !fresh(at) {
                    return None;
                }
                name.clone()
            };
            let addrs = match &name {
                Some(n) => {
                    let c = FORWARD.lock().ok()?;
                    let (at, addrs) = c.get(&normal(n))?;
                    if !fresh(at) {
                        return None;
                    }
                    addrs.clone()
                }
                None => Vec::new(),
            };
            Some(Looked { name, addrs })
        }
    }

    impl super::Lookup for Looked {
        fn reverse(&self, _: IpAddr) -> Option<String> {
            self.name.clone()
        }

        fn forward(&self, _: &str) -> Vec<IpAddr> {
            self.addrs.clone()
        }
    }

    static REVERSE: std::sync::LazyLock<Cache<IpAddr, Option<String>>> =
        std::sync::LazyLock::new(Default::default);
    static FORWARD: std::sync::LazyLock<Cache<String, Vec<IpAddr>>> =
        std::sync::LazyLock::new(Default::default);

    impl super::Lookup for Resolver {
        fn reverse(&self, ip: IpAddr) -> Option<String> {
            cached(&REVERSE, &ip, || getnameinfo(ip))
        }

        fn forward(&self, name: &str) -> Vec<IpAddr> {
            cached(&FORWARD, &name.to_string(), || {
                (name, 0)
                    .to_socket_addrs()
                    .map(|a| a.map(|s| s.ip()).collect())
                    .unwrap_or_default()
            })
        }
    }

    /// The name of `ip` (NI_NAMEREQD: no name, no answer).
    fn getnameinfo(ip: IpAddr) -> Option<String> {
        let mut host = [0 as libc::c_char; 1025];
        // SAFETY: the sockaddr structs are fully initialised on this stack frame and passed
        // with their exact size; `host` is a writable buffer of the length given, which
        // getnameinfo NUL-terminates on success.
        #[allow(unsafe_code)]
        let rc = unsafe {
            match ip {
                IpAddr::V4(a) => {
                    let mut sa: libc::sockaddr_in = std::mem::zeroed();
                    sa.sin_family = libc::AF_INET as libc::sa_family_t;
                    sa.sin_addr = libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.octets()),
                    };
                    libc::getnameinfo(
                        (&sa as *const libc::sockaddr_in).cast(),
                        std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                        host.as_mut_ptr(),
                        host.len() as libc::socklen_t,
                        std::ptr::null_mut(),
                        0,
                        libc::NI_NAMEREQD,
                    )
                }
                IpAddr::V6(a) => {
                    let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                    sa.sin6_addr = libc::in6_addr {
                        s6_addr: a.octets(),
                    };
                    libc::getnameinfo(
                        (&sa as *const libc::sockaddr_in6).cast(),
                        std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                        host.as_mut_ptr(),
                        host.len() as libc::socklen_t,
                        std::ptr::null_mut(),
                        0,
                        libc::NI_NAMEREQD,
                    )
                }
            }
        };
        if rc != 0 {
            return None;
        }
        let bytes: Vec<u8> = host
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    }

    #[cfg(test)]
    mod tests {
        use super::super::Lookup;
        use super::Resolver;

        /// The real resolver: loopback has a name in every /etc/hosts, and it resolves back.
        #[test]
        fn loopback_resolves_both_ways() {
            let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
            let name = Resolver.reverse(ip).expect("127.0.0.1 has a name");
            assert!(Resolver.forward(&name).contains(&ip), "{name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::perdir::parse_ip_net;

    /// A fake DNS: PTR records and A records.
    struct Fake(
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static str)],
    );

    impl Lookup for Fake {
        fn reverse(&self, ip: IpAddr) -> Option<String> {
            self.0
                .iter()
                .find(|(a, _)| a.parse::<IpAddr>().ok() == Some(ip))
                .map(|(_, n)| n.to_string())
        }
        fn forward(&self, name: &str) -> Vec<IpAddr> {
            self.1
                .iter()
                .filter(|(n, _)| *n == name)
                .filter_map(|(_, a)| a.parse().ok())
                .collect()
        }
    }

    #[test]
    fn require_host_uses_double_reverse_lookup_and_domain_suffixes() {
        let dns = Fake(
            &[
                ("192.0.2.10", "www.ejemplo.org."),
                ("192.0.2.66", "falso.ejemplo.org"),
                ("192.0.2.11", "pc.Aula.Ejemplo.org"),
            ],
            &[
                ("www.ejemplo.org", "192.0.2.10"),
                ("falso.ejemplo.org", "198.51.100.1"),
                ("pc.aula.ejemplo.org", "192.0.2.11"),
            ],
        );
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(host_matches(
            &names(&["ejemplo.org"]),
            ip("192.0.2.10"),
            &dns
        ));
        assert!(host_matches(
            &names(&["www.ejemplo.org"]),
            ip("192.0.2.10"),
            &dns
        ));
        assert!(host_matches(
            &names(&[".ejemplo.org"]),
            ip("192.0.2.10"),
            &dns
        ));
        assert!(!host_matches(
            &names(&["jemplo.org"]),
            ip("192.0.2.10"),
            &dns
        ));
        assert!(!host_matches(&names(&["otro.org"]), ip("192.0.2.10"), &dns));
        // The PTR claims a name whose A record is another address: refused.
        assert!(!host_matches(
            &names(&["ejemplo.org"]),
            ip("192.0.2.66"),
            &dns
        ));
        // No PTR at all.
        assert!(!host_matches(
            &names(&["ejemplo.org"]),
            ip("192.0.2.99"),
            &dns
        ));
        // Case and IPv4-mapped clients.
        assert!(host_matches(
            &names(&["aula.ejemplo.org"]),
            ip("::ffff:192.0.2.11"),
            &dns
        ));
        // Loopback is `localhost` without a lookup.
        assert!(host_matches(&names(&["localhost"]), ip("127.0.0.1"), &dns));
        assert!(!host_matches(
            &names(&["ejemplo.org"]),
            ip("127.0.0.1"),
            &dns
        ));
    }

    fn who(ip: &str) -> (IpAddr, HashMap<String, String>) {
        (ip.parse().unwrap(), HashMap::new())
    }

    #[test]
    fn rules_combine_like_apache() {
        let (ip, env) = who("127.0.0.1");
        let s = Subject {
            client: ip,
            local: ip,
            method: "GET",
            env: &env,
        };
        let ten = RequireExpr::Ip(vec![parse_ip_net("10.0.0.0/8").unwrap()]);
        assert!(granted(None, &s));
        assert!(!granted(Some(&ten), &s));
        assert!(granted(Some(&RequireExpr::Local), &s));
        assert!(granted(
            Some(&RequireExpr::AnyOf(vec![ten.clone(), RequireExpr::Local])),
            &s
        ));
        assert!(!granted(
            Some(&RequireExpr::AllOf(vec![ten.clone(), RequireExpr::Local])),
            &s
        ));
        assert!(granted(
            Some(&RequireExpr::AllOf(vec![
                RequireExpr::All(true),
                RequireExpr::Not(Box::new(ten))
            ])),
            &s
        ));
    }

    #[test]
    fn remote_clients_are_not_local() {
        let (ip, env) = who("192.0.2.7");
        let s = Subject {
            client: ip,
            local: "127.0.0.1".parse().unwrap(),
            method: "GET",
            env: &env,
        };
        assert!(!granted(Some(&RequireExpr::Local), &s));
        assert!(!granted(
            Some(&RequireExpr::Host(vec!["localhost".into()])),
            &s
        ));
    }

    /// A lookup the cache does not hold runs on the blocking pool, not on the thread that
    /// serves the request; the cached one is used as it is.
    #[test]
    fn host_lookups_run_off_the_runtime_thread() {
        #[derive(Default)]
        struct Named;
        impl Lookup for Named {
            fn reverse(&self, _: IpAddr) -> Option<String> {
                Some("pc1.aula.example".into())
            }
            fn forward(&self, _: &str) -> Vec<IpAddr> {
                vec!["192.0.2.7".parse().unwrap()]
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let env = HashMap::new();
        let who = Subject {
            client: "192.0.2.7".parse().unwrap(),
            local: "127.0.0.1".parse().unwrap(),
            method: "GET",
            env: &env,
        };
        let rule = RequireExpr::Host(vec!["aula.example".into()]);
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let ok = rt.block_on(granted_with(
            Some(&rule),
            &who,
            |_| None::<Named>,
            move |_| {
                tx.send(std::thread::current().id()).unwrap();
                Named
            },
        ));
        assert!(ok, "the double lookup grants pc1.aula.example");
        let there = rx.recv().unwrap();
        assert_ne!(there, here, "the lookup ran on the runtime's thread");
        // Cached: no lookup at all.
        let ok = rt.block_on(granted_with(
            Some(&rule),
            &who,
            |_| Some(Named),
            |_| -> Named { panic!("a cached client is not looked up again") },
        ));
        assert!(ok);
    }
}
