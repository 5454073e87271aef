//! Host patterns of network grants, and reading IP literals the way resolvers do.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::GrantParseError;

/// Which hosts a network grant covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPattern {
    /// Every host (`*`). Never implies private networks.
    Any,
    /// Exactly this DNS name (lower case, no trailing dot).
    Name(String),
    /// Every name strictly below this domain (`*.example.com`, not `example.com` itself).
    Subdomains(String),
    /// Exactly this address.
    Ip(IpAddr),
    /// Every address in this block (`10.0.0.0/8`).
    Net(IpNet),
}

/// A requested host after normalisation: either a DNS name or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedHost {
    /// A DNS name, lower case, without a trailing dot.
    Name(String),
    /// An IP address (IPv4-mapped IPv6 folded to IPv4).
    Ip(IpAddr),
}

impl RequestedHost {
    /// Normalises a host as given by a plugin: brackets and a trailing dot removed, lower-cased,
    /// and every spelling of an IP address (including `0x7f.1` or `2130706433`) read as that address.
    pub fn parse(host: &str) -> Self {
        match parse_ip_literal(host) {
            Some(ip) => RequestedHost::Ip(ip),
            None => RequestedHost::Name(host.trim_end_matches('.').to_ascii_lowercase()),
        }
    }
}

/// Reads `host` as an IP address the way `getaddrinfo`/`inet_aton` would, or `None` for a name.
///
/// Accepts bracketed and zone-qualified IPv6 (`[fe80::1%eth0]`), dotted IPv4, and the legacy IPv4
/// forms resolvers still honour: fewer than four parts (`127.1`), octal (`0177.0.0.1`), hex
/// (`0x7f.0.0.1`) and a single 32-bit number (`2130706433`). IPv4-mapped IPv6 is folded to IPv4.
pub fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.contains(':') {
        let without_zone = host.split('%').next().unwrap_or(host);
        return without_zone.parse::<Ipv6Addr>().ok().map(canonical_ip_v6);
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    parse_legacy_ipv4(host).map(IpAddr::V4)
}

/// Folds IPv4-mapped IPv6 (`::ffff:a.b.c.d`) to plain IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => canonical_ip_v6(v6),
        v4 => v4,
    }
}

fn canonical_ip_v6(v6: Ipv6Addr) -> IpAddr {
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

fn parse_legacy_ipv4(host: &str) -> Option<Ipv4Addr> {
    if host.is_empty() {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(parse_c_number(part)?);
    }
    let (last, leading) = values.split_last()?;
    let mut addr: u64 = 0;
    for (i, value) in leading.iter().enumerate() {
        if *value > 0xff {
            return None;
        }
        addr |= value << (24 - 8 * i);
    }
    let remaining_bits = 32 - 8 * leading.len() as u32;
    if *last >= (1u64 << remaining_bits) {
        return None;
    }
    addr |= last;
    Some(Ipv4Addr::from(addr as u32))
}

fn parse_c_number(part: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // "0x" alone is zero for inet_aton; a bare "" is not a number.
        return if radix == 16 { Some(0) } else { None };
    }
    if digits.len() > 12 || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

impl HostPattern {
    /// Parses a host pattern: `*`, `*.domain`, a DNS name, an IP address (bracketed or not) or a
    /// CIDR block.
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidHost`] for a malformed CIDR block, IPv6 address or DNS name
    /// (including a wildcard anywhere but a leading `*.`).
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let invalid = |reason| GrantParseError::InvalidHost {
            host: text.to_owned(),
            reason,
        };
        if text == "*" {
            return Ok(HostPattern::Any);
        }
        let bare = text
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(text);
        if bare.contains('/') {
            let net: IpNet = bare
                .parse()
                .map_err(|_| invalid("not a valid CIDR block such as 10.0.0.0/8"))?;
            return Ok(match net.prefix_len() == net.max_prefix_len() {
                true => HostPattern::Ip(canonical_ip(net.addr())),
                false => HostPattern::Net(net.trunc()),
            });
        }
        if bare.contains(':') {
            return bare
                .parse::<Ipv6Addr>()
                .map(|ip| HostPattern::Ip(canonical_ip_v6(ip)))
                .map_err(|_| invalid("not a valid IPv6 address"));
        }
        if let Some(ip) = parse_ip_literal(bare) {
            return Ok(HostPattern::Ip(ip));
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        let (subdomains, domain) = match name.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, name),
        };
        validate_dns_name(&domain).map_err(invalid)?;
        Ok(match subdomains {
            true => HostPattern::Subdomains(domain),
            false => HostPattern::Name(domain),
        })
    }

    /// True when `host` is one of the hosts this pattern covers.
    pub fn matches(&self, host: &RequestedHost) -> bool {
        match (self, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Name(name), RequestedHost::Name(req)) => name == req,
            (HostPattern::Subdomains(domain), RequestedHost::Name(req)) => is_below(req, domain),
            (HostPattern::Ip(ip), RequestedHost::Ip(req)) => ip == req,
            (HostPattern::Net(net), RequestedHost::Ip(req)) => net.contains(req),
            _ => false,
        }
    }

    /// True when every host `other` covers is also covered by `self`.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) => true,
            (_, HostPattern::Any) => false,
            (HostPattern::Name(a), HostPattern::Name(b)) => a == b,
            (HostPattern::Subdomains(d), HostPattern::Name(n)) => is_below(n, d),
            (HostPattern::Subdomains(d), HostPattern::Subdomains(e)) => d == e || is_below(e, d),
            (HostPattern::Ip(a), HostPattern::Ip(b)) => a == b,
            (HostPattern::Net(net), HostPattern::Ip(ip)) => net.contains(ip),
            (HostPattern::Net(a), HostPattern::Net(b)) => a.contains(b),
            _ => false,
        }
    }
}

fn is_below(name: &str, domain: &str) -> bool {
    name.len() > domain.len() + 1
        && name.ends_with(domain)
        && name.as_bytes()[name.len() - domain.len() - 1] == b'.'
}

fn validate_dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(
                "only letters, digits, '-', '_' and '.' are allowed (wildcards only as a leading \"*.\")",
            );
        }
    }
    Ok(())
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Subdomains(domain) => write!(f, "*.{domain}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostPattern::Net(net @ IpNet::V4(_)) => write!(f, "{net}"),
            HostPattern::Net(net @ IpNet::V6(_)) => write!(f, "[{net}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_in_every_spelling() {
        let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        for text in [
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0x7f000001",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "017700000001",
            "127.0.1",
            "[::ffff:127.0.0.1]",
            "::ffff:7f00:1",
            "127.0.0.1.",
        ] {
            assert_eq!(parse_ip_literal(text), loopback, "{text}");
        }
        assert_eq!(
            parse_ip_literal("[fe80::1%eth0]"),
            Some("fe80::1".parse().unwrap())
        );
        for name in [
            "example.com",
            "1e100.net",
            "256.1.1.1.1",
            "08.1.1.1",
            "4294967296",
            "",
        ] {
            assert_eq!(parse_ip_literal(name), None, "{name}");
        }
    }

    #[test]
    fn patterns_parse_and_display() {
        for (text, shown) in [
            ("*", "*"),
            ("Example.COM.", "example.com"),
            ("*.corp.example", "*.corp.example"),
            ("10.1.2.3", "10.1.2.3"),
            ("2130706433", "127.0.0.1"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/32", "10.1.2.3"),
            ("[::1]", "[::1]"),
            ("::1", "[::1]"),
            ("[fd00::/8]", "[fd00::/8]"),
        ] {
            assert_eq!(
                HostPattern::parse(text).unwrap().to_string(),
                shown,
                "{text}"
            );
        }
        for bad in [
            "",
            "exa mple.com",
            "*.*.com",
            "a..b",
            "10.0.0.0/33",
            "ex*ample.com",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_and_covering() {
        let sub = HostPattern::parse("*.example.com").unwrap();
        assert!(sub.matches(&RequestedHost::parse("a.b.example.com")));
        assert!(!sub.matches(&RequestedHost::parse("example.com")));
        assert!(!sub.matches(&RequestedHost::parse("badexample.com")));
        let net = HostPattern::parse("10.0.0.0/8").unwrap();
        assert!(net.matches(&RequestedHost::parse("10.9.9.9")));
        assert!(net.matches(&RequestedHost::parse("[::ffff:10.0.0.1]")));
        assert!(!net.matches(&RequestedHost::parse("10.example")));
        assert!(sub.covers(&HostPattern::parse("*.x.example.com").unwrap()));
        assert!(!sub.covers(&HostPattern::parse("example.com").unwrap()));
        assert!(net.covers(&HostPattern::parse("10.1.0.0/16").unwrap()));
        assert!(!HostPattern::parse("10.1.0.0/16").unwrap().covers(&net));
    }
}
