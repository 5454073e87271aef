//! Which addresses a plugin may not reach unless its grants allow private networks.
//!
//! Everything that is not a public unicast address is refused: loopback, "this network",
//! private, carrier-grade NAT, link-local (cloud metadata at 169.254.169.254 included), protocol
//! and documentation ranges, benchmarking, reserved, broadcast and multicast, IPv6 unique- and
//! link-local, and the IPv6 ranges that exist only to carry IPv4 (mapped, compatible, translated,
//! local-use NAT64, 6to4, Teredo). A grant of `network:outbound:private` lifts the block; no
//! wildcard does. Cloud metadata endpoints need more: the private grant and a grant naming the
//! address dialled.
//!
//! The key decision: an IPv6 address that carries an IPv4 address is judged as the more dangerous
//! of the two, never as the wrapper alone. [`embedded_ipv4`] finds every IPv4 address an IPv6
//! address carries (the forms above, the well-known NAT64 prefix and ISATAP interface
//! identifiers under any prefix), so `64:ff9b::a9fe:a9fe` is a metadata endpoint like
//! 169.254.169.254, and `64:ff9b::808:808` (DNS64's spelling of 8.8.8.8) is as public as 8.8.8.8.

use std::fmt;
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

/// Why the filter holds an address back: the range that decided and, when that range was found
/// in an IPv4 address carried inside an IPv6 one, which address and how it was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocked {
    /// A cloud instance-metadata endpoint: besides the private grant, reaching it takes a grant
    /// naming the address dialled.
    pub(crate) metadata: bool,
    /// "This network" (`0.0.0.0/8`, `::`), which a connection takes for the local host whatever
    /// it is called: a grant naming such an address does not make it a destination.
    pub(crate) this_host: bool,
    range: &'static str,
    carried: Option<Carried>,
}

impl Blocked {
    /// The range that decided, as the refusal names it.
    #[cfg(test)]
    pub(crate) fn range(&self) -> &'static str {
        self.range
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.carried {
            None => f.write_str(self.range),
            Some(c) => write!(f, "{} carrying {}, which is {}", c.form, c.ipv4, self.range),
        }
    }
}

/// An IPv4 address found inside an IPv6 address, and the form that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Carried {
    /// The IPv4 address carried.
    pub(crate) ipv4: Ipv4Addr,
    /// How it is carried, with the prefix: `NAT64 (64:ff9b::/96)`.
    pub(crate) form: &'static str,
}

/// Why `ip` is refused without more grants, or `None` for a public unicast address. An IPv6
/// address is classified as the most dangerous of itself and every IPv4 address it carries:
/// public < private < metadata.
pub(crate) fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => embedded_ipv4(v6)
            .filter_map(|carried| {
                classify_v4(carried.ipv4).map(|inner| Blocked {
                    carried: Some(carried),
                    ..inner
                })
            })
            .fold(classify_v6(v6), |worst, next| {
                if danger(Some(&next)) > danger(worst.as_ref()) {
                    Some(next)
                } else {
                    worst
                }
            }),
    }
}

fn danger(blocked: Option<&Blocked>) -> u8 {
    match blocked {
        None => 0,
        Some(b) if !b.metadata => 1,
        Some(_) => 2,
    }
}

/// Where an IPv6 form keeps the IPv4 address it carries.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The last 32 bits (mapped, translated, compatible, NAT64 with a /96 prefix).
    Last32,
    /// The 32 bits starting this many bits from the top (6to4 at 16, a Teredo server at 32).
    From(u32),
    /// The last 32 bits inverted (a Teredo client, obfuscated against NATs rewriting it).
    Last32Inverted,
    /// RFC 6052's layout after a NAT64 prefix this long: the 32 bits after the prefix, skipping
    /// bits 64..72.
    Nat64(u32),
}

/// The IPv6 forms that carry an IPv4 address: (prefix, prefix length, where, name).
const CARRIERS: &[(&str, u32, At, &str)] = &[
    (
        "::ffff:0:0",
        96,
        At::Last32,
        "IPv4-mapped IPv6 (::ffff:0:0/96)",
    ),
    (
        "::ffff:0:0:0",
        96,
        At::Last32,
        "IPv4-translated IPv6 (::ffff:0:0:0/96)",
    ),
    ("::", 96, At::Last32, "IPv4-compatible IPv6 (::/96)"),
    ("64:ff9b::", 96, At::Last32, "NAT64 (64:ff9b::/96)"),
    // The local-use prefix may be cut into NAT64 prefixes of any RFC 6052 length from /48 on;
    // which one a network uses cannot be told from the address, so every layout is read.
    (
        "64:ff9b:1::",
        48,
        At::Last32,
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    (
        "64:ff9b:1::",
        48,
        At::Nat64(48),
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    (
        "64:ff9b:1::",
        48,
        At::Nat64(56),
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    (
        "64:ff9b:1::",
        48,
        At::Nat64(64),
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    ("2002::", 16, At::From(16), "6to4 (2002::/16)"),
    ("2001::", 32, At::From(32), "Teredo server (2001::/32)"),
    (
        "2001::",
        32,
        At::Last32Inverted,
        "Teredo client (2001::/32)",
    ),
];

/// Every IPv4 address `ip` carries, with the form carrying it: IPv4-mapped, IPv4-translated
/// (RFC 2765) and IPv4-compatible addresses, NAT64 (the well-known 64:ff9b::/96 and the
/// local-use 64:ff9b:1::/48), 6to4, Teredo (server and client) and ISATAP interface identifiers
/// under any prefix. `::` and `::1` carry nothing: they are unspecified and loopback.
pub(crate) fn embedded_ipv4(ip: Ipv6Addr) -> impl Iterator<Item = Carried> {
    let bits = u128::from(ip);
    let special = ip.is_unspecified() || ip.is_loopback();
    let wrapped = CARRIERS
        .iter()
        .filter(move |(net, prefix, _, _)| {
            !special && in_v6(ip, net.parse().expect("valid prefix"), *prefix)
        })
        .map(move |(_, _, at, form)| Carried {
            ipv4: Ipv4Addr::from(extract(bits, *at)),
            form,
        });
    wrapped.chain(isatap(bits))
}

fn extract(bits: u128, at: At) -> u32 {
    match at {
        At::Last32 => bits as u32,
        At::From(top) => (bits >> (96 - top)) as u32,
        At::Last32Inverted => !(bits as u32),
        At::Nat64(prefix) => {
            let above_u = 64 - prefix;
            let below_u = 32 - above_u;
            let mask = |n: u32| (1u64 << n) - 1;
            let high = (bits >> 64) as u64 & mask(above_u);
            let low = (bits >> (56 - below_u)) as u64 & mask(below_u);
            ((high << below_u) | low) as u32
        }
    }
}

/// The IPv4 address in an ISATAP interface identifier (`::0:5efe:a.b.c.d`, `::200:5efe:a.b.c.d`;
/// the u and g bits of the first octet may be set), whatever the prefix.
fn isatap(bits: u128) -> Option<Carried> {
    const ID_MASK: u32 = 0xfcff_ffff;
    let id_high = (bits >> 32) as u32;
    (id_high & ID_MASK == 0x0000_5efe).then(|| Carried {
        ipv4: Ipv4Addr::from(bits as u32),
        form: "an ISATAP interface identifier (::5efe:0:0/96 in the last 64 bits)",
    })
}

/// True for the IPv4 addresses where clouds serve instance metadata and credentials: link-local
/// (AWS, GCP, Azure, OpenStack at 169.254.169.254) and Alibaba's 100.100.100.200.
fn is_metadata_v4(ip: Ipv4Addr) -> bool {
    in_v4(ip, [169, 254, 0, 0], 16) || ip == Ipv4Addr::new(100, 100, 100, 200)
}

/// True for the IPv6 addresses where clouds serve instance metadata: link-local and AWS's
/// fd00:ec2::254.
fn is_metadata_v6(ip: Ipv6Addr) -> bool {
    in_v6(ip, "fe80::".parse().expect("valid"), 10)
        || ip == "fd00:ec2::254".parse::<Ipv6Addr>().expect("valid")
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    blocked_v4(ip).map(|range| Blocked {
        metadata: is_metadata_v4(ip),
        this_host: ip.octets()[0] == 0,
        range,
        carried: None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    blocked_v6(ip).map(|range| Blocked {
        metadata: is_metadata_v6(ip),
        this_host: ip.is_unspecified(),
        range,
        carried: None,
    })
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
    // The well-known NAT64 prefix is not here: it is globally reachable and may carry only global
    // IPv4 (RFC 6052), so its addresses take the class of the IPv4 address they carry.
    const RANGES: &[(&str, u32, &str)] = &[
        ("::ffff:0:0", 96, "IPv4-mapped IPv6 (::ffff:0:0/96)"),
        ("::ffff:0:0:0", 96, "IPv4-translated IPv6 (::ffff:0:0:0/96)"),
        ("::", 96, "IPv4-compatible IPv6 (::/96)"),
        ("64:ff9b:1::", 48, "local-use NAT64 (64:ff9b:1::/48)"),
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

    fn classified(host: &str) -> Option<Blocked> {
        classify(literal_address(host).unwrap_or_else(|| panic!("{host} is an IP literal")))
    }

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
            // IPv6, and the IPv6 ranges that exist to carry IPv4, whatever they carry.
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
            "::ffff:0:808:808",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "64:ff9b:1::808:808",
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(classified(host).is_some(), "{host} must be blocked");
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
            // Public IPv4 through DNS64's well-known prefix, and in an ISATAP identifier under a
            // public prefix.
            "64:ff9b::808:808",
            "64:ff9b::8.8.8.8",
            "64:ff9b::101:101",
            "2a00:1450:4001::200:5efe:808:808",
        ] {
            assert_eq!(classified(host), None, "{host}");
        }
    }

    /// What an address needs besides a grant covering its host.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Needs {
        Nothing,
        Private,
        Metadata,
    }

    #[test]
    fn ipv6_carrying_ipv4_is_as_dangerous_as_the_worse_of_the_two() {
        use Needs::*;
        const CASES: &[(&str, Needs)] = &[
            // 169.254.169.254 (AWS, GCP, Azure, OpenStack metadata) in every form.
            ("169.254.169.254", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:a9fe:a9fe", Metadata),
            ("::ffff:0:a9fe:a9fe", Metadata),
            ("::ffff:0:169.254.169.254", Metadata),
            ("::a9fe:a9fe", Metadata),
            ("::169.254.169.254", Metadata),
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("64:ff9b::169.254.169.254", Metadata),
            ("64:ff9b:1::a9fe:a9fe", Metadata),
            ("64:ff9b:1:a9fe:a9:fe00::", Metadata),
            ("64:ff9b:1:a9:fe:a9fe::", Metadata),
            ("64:ff9b:1:0:a9:fea9:fe00::", Metadata),
            ("2002:a9fe:a9fe::1", Metadata),
            ("2002:a9fe:a9fe:1::", Metadata),
            ("2001:0:a9fe:a9fe::1", Metadata),
            ("2001:0:4136:e378:8000:63bf:5601:5601", Metadata),
            ("2a00:1450:4001::5efe:a9fe:a9fe", Metadata),
            ("2a00:1450:4001::200:5efe:a9fe:a9fe", Metadata),
            ("2a00:1450:4001::100:5efe:a9fe:a9fe", Metadata),
            ("2002:808:808::5efe:169.254.169.254", Metadata),
            ("fe80::5efe:a9fe:a9fe", Metadata),
            // AWS's IPv6 endpoint, and Alibaba's in IPv4 and NAT64.
            ("fd00:ec2::254", Metadata),
            ("100.100.100.200", Metadata),
            ("64:ff9b::6464:64c8", Metadata),
            // Private 10/8 and loopback 127/8, carried.
            ("::ffff:10.0.0.1", Private),
            ("::ffff:0:a00:1", Private),
            ("::a00:1", Private),
            ("64:ff9b::a00:1", Private),
            ("64:ff9b::7f00:1", Private),
            ("64:ff9b:1::a00:1", Private),
            ("2002:a00:1::1", Private),
            ("2002:7f00:1::1", Private),
            ("2001:0:a00:1::1", Private),
            ("2001:0:4136:e378:8000:63bf:f5ff:fffe", Private),
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", Private),
            ("2a00:1450:4001::5efe:a00:1", Private),
            ("2a00:1450:4001::200:5efe:7f00:1", Private),
            ("fd00::1", Private),
            // Public IPv4 stays public only where the wrapper itself is public.
            ("64:ff9b::808:808", Nothing),
            ("2a00:1450:4001::200:5efe:808:808", Nothing),
            ("::ffff:8.8.8.8", Private),
            ("2002:808:808::1", Private),
            ("2001:0:808:808::f7f7:f7f7", Private),
        ];
        for (host, needs) in CASES {
            let got = match classified(host) {
                None => Nothing,
                Some(b) if b.metadata => Metadata,
                Some(_) => Private,
            };
            assert_eq!(got, *needs, "{host}: {:?}", classified(host));
        }
    }

    #[test]
    fn embedded_ipv4_reads_every_form() {
        const CASES: &[(&str, &str, &str)] = &[
            ("::ffff:1.2.3.4", "1.2.3.4", "IPv4-mapped"),
            ("::ffff:0:1.2.3.4", "1.2.3.4", "IPv4-translated"),
            ("::1.2.3.4", "1.2.3.4", "IPv4-compatible"),
            ("::2", "0.0.0.2", "IPv4-compatible"),
            ("64:ff9b::1.2.3.4", "1.2.3.4", "NAT64 (64:ff9b::/96)"),
            ("64:ff9b:1:ab:cd::1.2.3.4", "1.2.3.4", "local-use NAT64"),
            ("64:ff9b:1:102:3:400::", "1.2.3.4", "local-use NAT64"),
            ("64:ff9b:1:1:2:304::", "1.2.3.4", "local-use NAT64"),
            ("64:ff9b:1:0:1:203:400::", "1.2.3.4", "local-use NAT64"),
            ("2002:102:304::", "1.2.3.4", "6to4"),
            ("2002:102:304:5:6:7:8:9", "1.2.3.4", "6to4"),
            ("2001:0:102:304::", "1.2.3.4", "Teredo server"),
            (
                "2001:0:4136:e378:8000:63bf:fefd:fcfb",
                "1.2.3.4",
                "Teredo client",
            ),
            ("2a00::5efe:1.2.3.4", "1.2.3.4", "an ISATAP"),
            ("2a00::200:5efe:1.2.3.4", "1.2.3.4", "an ISATAP"),
            ("fe80::5efe:1.2.3.4", "1.2.3.4", "an ISATAP"),
        ];
        for (v6, v4, form) in CASES {
            let found: Vec<Carried> = embedded_ipv4(v6.parse().unwrap()).collect();
            assert!(
                found
                    .iter()
                    .any(|c| c.ipv4.to_string() == *v4 && c.form.starts_with(form)),
                "{v6} carries {v4} as {form}: {found:?}"
            );
        }
        for v6 in [
            "::",
            "::1",
            "2606:4700:4700::1111",
            "2001:db8::1",
            "fd00:ec2::254",
            "2a00::400:5efe:1.2.3.4",
        ] {
            let found: Vec<Carried> = embedded_ipv4(v6.parse().unwrap()).collect();
            assert!(found.is_empty(), "{v6} carries nothing: {found:?}");
        }
    }

    #[test]
    fn unspecified_and_loopback_stay_what_they_are() {
        assert_eq!(classified("::").unwrap().range(), "unspecified (::)");
        assert_eq!(classified("::1").unwrap().range(), "loopback (::1)");
    }

    #[test]
    fn reasons_name_the_range_and_what_carried_it() {
        assert!(
            classified("169.254.169.254")
                .unwrap()
                .to_string()
                .contains("metadata")
        );
        assert_eq!(
            classified("64:ff9b::a9fe:a9fe").unwrap().to_string(),
            "NAT64 (64:ff9b::/96) carrying 169.254.169.254, which is link-local (169.254.0.0/16, cloud metadata included)"
        );
        assert_eq!(
            classified("2002:a00:1::1").unwrap().to_string(),
            "6to4 (2002::/16)",
            "between equals, the address's own range is named"
        );
    }
}
