//! `Require` (mod_authz_core, mod_authz_host) for one request.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::model::RequireExpr;

/// What a `Require` rule can look at.
pub struct Subject<'a> {
    pub client: IpAddr,
    /// The address the connection arrived on (`Require local` also grants it).
    pub local: IpAddr,
    pub method: &'a str,
    /// Variables set by `SetEnvIf`.
    pub env: &'a HashMap<String, String>,
}

/// True when `expr` grants access. No `Require` at all grants, as in Apache 2.4.
pub fn granted(expr: Option<&RequireExpr>, who: &Subject<'_>) -> bool {
    expr.is_none_or(|e| eval(e, who))
}

fn eval(expr: &RequireExpr, who: &Subject<'_>) -> bool {
    match expr {
        RequireExpr::All(g) => *g,
        RequireExpr::Ip(nets) => nets.iter().any(|n| n.contains(who.client)),
        RequireExpr::Host(names) => {
            // The lab resolves no names: loopback clients are `localhost`.
            is_loopback(who.client)
                && names.iter().any(|n| {
                    let n = n.trim_start_matches('.').to_ascii_lowercase();
                    n == "localhost" || n == "localdomain" || n == "localhost.localdomain"
                })
        }
        RequireExpr::Local => is_loopback(who.client) || who.client == who.local,
        RequireExpr::Method(methods) => methods.iter().any(|m| m.eq_ignore_ascii_case(who.method)),
        RequireExpr::Env(vars) => vars.iter().any(|v| who.env.contains_key(v)),
        RequireExpr::Not(inner) => !eval(inner, who),
        RequireExpr::AllOf(items) => items.iter().all(|e| eval(e, who)),
        RequireExpr::AnyOf(items) => items.iter().any(|e| eval(e, who)),
        RequireExpr::NoneOf(items) => !items.iter().any(|e| eval(e, who)),
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::perdir::parse_ip_net;

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
}
