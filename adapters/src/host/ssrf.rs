//! Which addresses a plugin may not reach unless its grants allow private networks.
//!
//! Everything that is not a public unicast address is refused: loopback, "this network",
//! private, carrier-grade NAT, link-local (cloud metadata at 169.254.169.254 included), protocol
//! and documentation ranges, benchmarking, reserved, broadcast and multicast, IPv6 unique- and
//! link-local, and every IPv6 form that carries an IPv4 address (mapped, compatible, translated,
//! NAT64, 6to4, Teredo), since those are ways to smuggle a private IPv4 past a filter. A grant of
//! `network:outbound:private` lifts the block; no wildcard does. Cloud metadata endpoints need
//! more: the private grant and a grant naming their address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reglet_domain::grants::parse_ip_literal;

/// The address a host string spells, if it is an IP literal in any spelling a resolver accepts.
///
/// Unlike the grant matcher, this keeps IPv6 forms that carry IPv4 as they are, so the filter sees
/// (and refuses) `::ffff:8.8.8.8` rather than the IPv4 address it would be folded into.
pub(crate) fn literal_address(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.contains(':') {
        let without_zone = bare.split('%').next().unwrap_or(bare);
        return without_zone.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_ip_literal(host)
}

/// Why `ip` is refused, or `None` for a public unicast address.
pub(crate) fn blocked_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

/// True for the addresses where clouds serve instance metadata and credentials: IPv4 and IPv6
/// link-local (AWS, GCP, Azure, OpenStack at 169.254.169.254), AWS's IPv6 endpoint fd00:ec2::254
/// and Alibaba's 100.100.100.200. The private-network grant alone does not reach them; a grant must
/// name the address too, so no wildcard, redirect or DNS answer can lead a plugin there.
pub(crate) fn is_instance_metadata(ip: IpAddr) -> bool {
    match reglet_domain::grants::canonical_ip(ip) {
        IpAddr::V4(v4) => {
            in_v4(v4, [169, 254, 0, 0], 16) || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            in_v6(v6, "fe80::".parse().expect("valid"), 10)
                || v6 == "fd00:ec2::254".parse::<Ipv6Addr>().expect("valid")
        }
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        (
            [169, 254, 0, 0],
            16,
            "link-local (169.254.0.0/16, cloud metadata included)",
        ),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        (
            [192, 0, 0, 0],
            24,
            "IETF protocol assignments (192.0.0.0/24)",
        ),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, name)| *name)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    const RANGES: &[(&str, u32, &str)] = &[
        ("::ffff:0:0", 96, "IPv4-mapped IPv6 (::ffff:0:0/96)"),
        ("::ffff:0:0:0", 96, "IPv4-translated IPv6 (::ffff:0:0:0/96)"),
        ("::", 96, "IPv4-compatible IPv6 (::/96)"),
        ("64:ff9b::", 96, "NAT64 (64:ff9b::/96)"),
        ("64:ff9b:1::", 48, "local NAT64 (64:ff9b:1::/48)"),
        ("100::", 64, "discard-only (100::/64)"),
        ("2001::", 32, "Teredo (2001::/32)"),
        ("2001:db8::", 32, "documentation (2001:db8::/32)"),
        ("2002::", 16, "6to4 (2002::/16)"),
        ("fc00::", 7, "unique local (fc00::/7)"),
        ("fe80::", 10, "link-local (fe80::/10)"),
        ("fec0::", 10, "site-local (fec0::/10)"),
        ("ff00::", 8, "multicast (ff00::/8)"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, net.parse().expect("valid range"), *prefix))
        .map(|(_, _, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_public_range_and_spelling_is_blocked() {
        for host in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.2.5",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // The same addresses in the spellings resolvers accept.
            "2130706433",
            "0x7f000001",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "017700000001",
            "127.1",
            "0",
            "0x0",
            "167772161",
            "012.0.0.1",
            "0xa9.0xfe.0xa9.0xfe",
            // IPv6, and IPv6 forms that carry IPv4.
            "::",
            "::1",
            "[::1]",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "[fe80::1%eth0]",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "100::1",
        ] {
            let ip = literal_address(host).unwrap_or_else(|| panic!("{host} is an IP literal"));
            assert!(blocked_range(ip).is_some(), "{host} ({ip}) must be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for host in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
        ] {
            let ip = literal_address(host).unwrap();
            assert_eq!(blocked_range(ip), None, "{host}");
        }
    }

    #[test]
    fn metadata_endpoints_are_singled_out() {
        for host in [
            "169.254.169.254",
            "169.254.170.2",
            "[::ffff:169.254.169.254]",
            "fe80::a9fe:a9fe",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(
                is_instance_metadata(literal_address(host).unwrap()),
                "{host}"
            );
        }
        for host in ["127.0.0.1", "10.0.0.1", "fd00::1", "100.100.100.201"] {
            assert!(
                !is_instance_metadata(literal_address(host).unwrap()),
                "{host}"
            );
        }
    }

    #[test]
    fn reasons_name_the_range() {
        let ip = literal_address("169.254.169.254").unwrap();
        assert!(blocked_range(ip).unwrap().contains("metadata"));
    }
}
