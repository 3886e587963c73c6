//! Which address a request comes from. By default the TCP peer. Behind a reverse proxy the
//! peer is the proxy, and every client would share its back-off counters and its
//! pending-request allowance; with `--trusted-proxy` the proxies' `X-Forwarded-For` is
//! believed, and only theirs.
//!
//! The rule (as nginx's `real_ip_recursive` and RFC 7239 §7.4's advice): while the hop
//! the request came from is a trusted proxy, step back one entry in `X-Forwarded-For`,
//! from the right; the first address that is not a trusted proxy is the client. What a
//! client writes into the header itself sits further left and is never reached unless
//! every hop after it is trusted.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use ipnet::IpNet;

/// The most `X-Forwarded-For` entries looked at: a chain of proxies is short, and a long
/// header is not walked.
const MAX_HOPS: usize = 16;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            // An entry that is not an address ends the walk at the last trusted hop.
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }

    /// Rewrites the request's `ConnectInfo` to the client's address (the port stays the
    /// peer's), so that everything downstream that asks for the peer gets the client.
    pub fn rewrite<B>(&self, mut req: Request<B>) -> Request<B> {
        if self.is_empty() {
            return req;
        }
        if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
            let client = self.client(peer.ip(), req.headers());
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        }
        req
    }
}

/// Parses `--trusted-proxy` values: a network (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_trusted(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or network (e.g. 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_trusted_hops_are_stepped_over() {
        let trusted = TrustedProxies::new(vec![
            parse_trusted("10.0.0.0/8").unwrap(),
            parse_trusted("127.0.0.1").unwrap(),
        ]);
        let table: &[(&str, &[&str], &str)] = &[
            // Not from a proxy: the header is the client's own word, ignored.
            ("198.51.100.9", &["203.0.113.5"], "198.51.100.9"),
            // From the proxy: the entry it added.
            ("127.0.0.1", &["203.0.113.5"], "203.0.113.5"),
            // A client-written entry to the left of the proxy's is not reached.
            ("127.0.0.1", &["6.6.6.6, 203.0.113.5"], "203.0.113.5"),
            // Two proxies: step over the inner one too.
            ("127.0.0.1", &["203.0.113.5, 10.1.2.3"], "203.0.113.5"),
            // The same across repeated headers, in order.
            ("127.0.0.1", &["203.0.113.5", "10.1.2.3"], "203.0.113.5"),
            // No header from a proxy: the proxy itself.
            ("127.0.0.1", &[], "127.0.0.1"),
            // Garbage ends the walk at the last trusted hop.
            ("127.0.0.1", &["203.0.113.5, junk"], "127.0.0.1"),
            ("127.0.0.1", &["junk, 10.1.2.3"], "10.1.2.3"),
            // IPv6 and IPv4-mapped addresses.
            ("127.0.0.1", &["2001:db8::1"], "2001:db8::1"),
            ("::ffff:127.0.0.1", &["::ffff:203.0.113.5"], "203.0.113.5"),
        ];
        for (peer, headers, want) in table {
            assert_eq!(trusted.client(ip(peer), &xff(headers)), ip(want), "{peer} {headers:?}");
        }
    }

    #[test]
    fn nothing_is_trusted_by_default() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &xff(&["203.0.113.5"])), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_proxy_values_are_networks_or_addresses() {
        assert_eq!(parse_trusted("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_trusted(" 192.0.2.1 ").unwrap().to_string(), "192.0.2.1/32");
        assert_eq!(parse_trusted("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("proxy.internal").is_err());
    }
}
