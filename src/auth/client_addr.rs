//! The client's address, as the per-address login rule counts it.
//!
//! Behind a load balancer every request comes from the balancer, so the TCP
//! peer says nothing about the client; the balancer names it in
//! `X-Forwarded-For`. That header is believed only from a trusted peer
//! (`server.trusted_proxies`), since anyone else can write anything in it.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use ipnet::IpNet;

use crate::error::AppError;
use crate::state::AppState;

/// The client address of a request (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

/// From the peer and the `X-Forwarded-For` values (in header order): the peer
/// itself unless trusted; otherwise the right-most hop that is not a trusted
/// proxy. Hops left of it were written by the client and prove nothing. A hop
/// that is not an address stops the walk: what lies left of it is not known.
pub fn client_address<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&canonical(*ip)));
    let peer = peer.map(canonical);
    match peer {
        Some(p) if is_trusted(&p) => {}
        _ => return peer,
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = Some(ip);
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// An IPv4 client seen on an IPv6 socket (`::ffff:1.2.3.4`) is that IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.server.trusted_proxies.as_slice())
            .unwrap_or_default();
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        ready(Ok(ClientAddr(client_address(
            req.peer_addr().map(|a| a.ip()),
            forwarded,
            trusted,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(ip("203.0.113.9"), ["1.2.3.4"], &t),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("203.0.113.9"), [], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_right_most_untrusted_hop() {
        let t = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // the client wrote "6.6.6.6" itself; 198.51.100.7 reached our first proxy
        assert_eq!(
            client_address(ip("127.0.0.1"), ["6.6.6.6, 198.51.100.7", "10.1.2.3"], &t),
            ip("198.51.100.7")
        );
        // only trusted hops: the left-most of them
        assert_eq!(
            client_address(ip("10.0.0.1"), ["10.0.0.2"], &t),
            ip("10.0.0.2")
        );
        // no header: the proxy itself
        assert_eq!(client_address(ip("10.0.0.1"), [], &t), ip("10.0.0.1"));
        // garbage stops the walk at the last hop that was an address
        assert_eq!(
            client_address(ip("10.0.0.1"), ["1.1.1.1, junk, 10.0.0.5"], &t),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), ["[2001:db8::1]:443"], &t),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_ipv4_networks() {
        let t = nets(&["127.0.0.1/32"]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), ["198.51.100.7"], &t),
            ip("198.51.100.7")
        );
    }
}
