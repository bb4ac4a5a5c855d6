//! The client's address: the TCP peer, or — when the peer is a proxy we trust — the rightmost
//! address in `X-Forwarded-For` that is not one of our proxies.
//!
//! Only trusted hops are believed: anyone can send `X-Forwarded-For`, so taking its leftmost
//! entry (or any entry appended before the first untrusted hop) would let a client pick its
//! own rate-limit key and audit-log address.

use std::{fmt, net::IpAddr, str::FromStr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// `SF_TRUSTED_PROXIES`: addresses and networks of the reverse proxies in front of the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted (forwarding headers are then ignored).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(","))
    }
}

/// The address a request came from, as used for rate limits, sessions and the audit log.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    // Every `X-Forwarded-For` line, in order, as one list; walk it from the nearest hop.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Garbage was appended by whoever is before the last trusted hop: stop there.
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[::1]:5678`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().expect("header"));
        }
        headers
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_and_headers_ignored() {
        let none = TrustedProxies::default();
        let headers = forwarded(&["6.6.6.6"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &none), ip("10.0.0.5"));
        let trusted: TrustedProxies = "10.0.0.1".parse().expect("list");
        assert_eq!(
            client_ip(ip("10.0.0.5"), &headers, &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.168.1.1".parse().expect("list");
        // A spoofed leftmost entry, then the real client, then our own proxies.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            client_ip(ip("192.168.1.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.9"), &HeaderMap::new(), &trusted),
            ip("10.0.0.9")
        );
        // Every hop trusted: the leftmost.
        let headers = forwarded(&["10.0.0.7, 10.0.0.8"]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &trusted),
            ip("10.0.0.7")
        );
        // Garbage stops the walk at the last address we could believe.
        let headers = forwarded(&["203.0.113.7, nonsense, 10.0.0.8"]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &trusted),
            ip("10.0.0.8")
        );
        // Ports and IPv4-mapped IPv6 addresses.
        let headers = forwarded(&["203.0.113.7:5555"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.9"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn the_list_parses_addresses_and_networks_and_names_bad_items() {
        let list: TrustedProxies = "127.0.0.1,::1, 10.0.0.0/8".parse().expect("list");
        assert!(list.contains(ip("127.0.0.1")) && list.contains(ip("::1")));
        assert!(list.contains(ip("10.200.0.1")) && !list.contains(ip("11.0.0.1")));
        assert!("".parse::<TrustedProxies>().expect("empty").is_empty());
        let err = "10.0.0.1,proxy.local"
            .parse::<TrustedProxies>()
            .expect_err("bad");
        assert!(err.contains("proxy.local"), "{err}");
    }
}
