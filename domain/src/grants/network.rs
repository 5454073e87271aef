//! Network grants: which hosts and ports a plugin may connect to.

use std::fmt;

use super::GrantParseError;
use super::host::{HostPattern, RequestedHost};

/// An inclusive range of TCP/UDP ports; `*` is 0..=65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    start: u16,
    end: u16,
}

impl PortRange {
    /// Every port.
    pub const ANY: PortRange = PortRange {
        start: 0,
        end: u16::MAX,
    };

    /// A single port.
    pub fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }

    /// The range `start..=end`; `None` unless `start <= end`.
    pub fn new(start: u16, end: u16) -> Option<Self> {
        (start <= end).then_some(PortRange { start, end })
    }

    /// First port.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// Last port.
    pub fn end(&self) -> u16 {
        self.end
    }

    /// True when `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    /// True when every port of `other` is in this range.
    pub fn covers(&self, other: &PortRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Parses `443`, `8000-9000` or `*`. Explicit ports are 1..=65535.
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidPort`] for text that is not a port from 1 to 65535, and
    /// [`GrantParseError::InvalidPortRange`] for a range with a bad end or a start after its end.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let text = text.trim();
        if text == "*" {
            return Ok(PortRange::ANY);
        }
        if let Some((a, b)) = text.split_once('-') {
            let bad = |reason| GrantParseError::InvalidPortRange {
                range: text.to_owned(),
                reason,
            };
            let start =
                parse_port(a).ok_or_else(|| bad("both ends must be ports from 1 to 65535"))?;
            let end =
                parse_port(b).ok_or_else(|| bad("both ends must be ports from 1 to 65535"))?;
            return PortRange::new(start, end)
                .ok_or_else(|| bad("the start is greater than the end"));
        }
        parse_port(text)
            .map(PortRange::single)
            .ok_or_else(|| GrantParseError::InvalidPort(text.to_owned()))
    }
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ANY {
            f.write_str("*")
        } else if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One network grant: connections to hosts matching `host` on a port in `ports`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkGrant {
    /// The hosts covered.
    pub host: HostPattern,
    /// The ports covered.
    pub ports: PortRange,
}

impl NetworkGrant {
    /// True when a connection to `host:port` is covered.
    pub fn matches(&self, host: &RequestedHost, port: u16) -> bool {
        self.ports.contains(port) && self.host.matches(host)
    }

    /// True when every connection `other` covers is covered by `self`.
    pub fn covers(&self, other: &NetworkGrant) -> bool {
        self.ports.covers(&other.ports) && self.host.covers(&other.host)
    }
}

impl fmt::Display for NetworkGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            HostPattern::Any => write!(f, "network:outbound:{}", self.ports),
            _ => write!(f, "network:outbound:{}:{}", self.host, self.ports),
        }
    }
}

/// What one `network:outbound:<spec>` string grants.
pub(super) struct ParsedNetwork {
    pub grants: Vec<NetworkGrant>,
    pub private_networks: bool,
}

/// Parses the spec after `network:outbound:`.
///
/// Forms: `*`; a comma list of ports, ranges, `private` and host names (a bare host covers all its
/// ports); `host:ports` where ports is a comma list (`example.com:80,443`, `[::1]:8080`,
/// `10.0.0.0/8:5432`); or a URL (`https://example.com/health` → example.com on 443).
pub(super) fn parse_outbound(spec: &str) -> Result<ParsedNetwork, GrantParseError> {
    let spec = spec.trim();
    let mut parsed = ParsedNetwork {
        grants: Vec::new(),
        private_networks: false,
    };
    if spec.is_empty() {
        return Err(GrantParseError::InvalidPort(String::new()));
    }
    if spec.contains("://") {
        let (host, port) = parse_url(spec)?;
        parsed.grants.push(NetworkGrant {
            host,
            ports: PortRange::single(port),
        });
        return Ok(parsed);
    }
    if let Some((host, ports)) = split_host_ports(spec) {
        let host = HostPattern::parse(host)?;
        for item in ports.split(',') {
            parsed.grants.push(NetworkGrant {
                host: host.clone(),
                ports: PortRange::parse(item)?,
            });
        }
        return Ok(parsed);
    }
    for item in spec.split(',').map(str::trim) {
        if item.eq_ignore_ascii_case("private") {
            parsed.private_networks = true;
        } else if item == "*"
            || item.bytes().next().is_some_and(|b| b.is_ascii_digit()) && is_port_like(item)
        {
            parsed.grants.push(NetworkGrant {
                host: HostPattern::Any,
                ports: PortRange::parse(item)?,
            });
        } else {
            parsed.grants.push(NetworkGrant {
                host: HostPattern::parse(item)?,
                ports: PortRange::ANY,
            });
        }
    }
    Ok(parsed)
}

fn is_port_like(item: &str) -> bool {
    item.bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b' ')
}

/// Splits `host:ports`, honouring `[v6]:ports`; `None` when there is no host part.
fn split_host_ports(spec: &str) -> Option<(&str, &str)> {
    if spec.starts_with('[') {
        let close = spec.find(']')?;
        let rest = &spec[close + 1..];
        return Some((&spec[..=close], rest.strip_prefix(':').unwrap_or("*")));
    }
    spec.split_once(':')
}

fn parse_url(url: &str) -> Result<(HostPattern, u16), GrantParseError> {
    let bad = |reason| GrantParseError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or_else(|| bad("unclosed '['"))?;
        (
            &authority[..=close],
            authority[close + 1..].strip_prefix(':'),
        )
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => parse_port(p).ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        None => match scheme.to_ascii_lowercase().as_str() {
            "https" | "wss" => 443,
            "http" | "ws" => 80,
            "smtp" => 25,
            "smtps" => 465,
            _ => return Err(bad("unknown scheme without an explicit port")),
        },
    };
    Ok((HostPattern::parse(host)?, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(spec: &str) -> Vec<String> {
        parse_outbound(spec)
            .unwrap()
            .grants
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn port_ranges() {
        assert_eq!(PortRange::parse("443").unwrap(), PortRange::single(443));
        assert_eq!(
            PortRange::parse("8000-9000").unwrap().to_string(),
            "8000-9000"
        );
        assert_eq!(PortRange::parse("*").unwrap(), PortRange::ANY);
        assert_eq!(
            PortRange::parse("9000-80").unwrap_err().to_string(),
            "invalid port range \"9000-80\": the start is greater than the end"
        );
        for bad in ["0", "65536", "-1", "+80", "80a", "", "1-", "99999999999"] {
            assert!(PortRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outbound_specs() {
        assert_eq!(strings("53"), ["network:outbound:53"]);
        assert_eq!(
            strings("80,443"),
            ["network:outbound:80", "network:outbound:443"]
        );
        assert_eq!(strings("*"), ["network:outbound:*"]);
        assert_eq!(strings("8000-9000"), ["network:outbound:8000-9000"]);
        assert_eq!(
            strings("example.com:80,443"),
            [
                "network:outbound:example.com:80",
                "network:outbound:example.com:443"
            ]
        );
        assert_eq!(strings("example.com"), ["network:outbound:example.com:*"]);
        assert_eq!(strings("[::1]:8080"), ["network:outbound:[::1]:8080"]);
        assert_eq!(
            strings("https://example.com/health"),
            ["network:outbound:example.com:443"]
        );
        assert_eq!(
            strings("http://user:pw@10.0.0.1:8080/x"),
            ["network:outbound:10.0.0.1:8080"]
        );
        let private = parse_outbound("private").unwrap();
        assert!(private.private_networks && private.grants.is_empty());
        let mixed = parse_outbound("443,private").unwrap();
        assert!(mixed.private_networks && mixed.grants.len() == 1);
    }

    #[test]
    fn bad_specs_name_the_problem() {
        for (spec, needle) in [
            ("9000-80", "9000-80"),
            ("99999", "99999"),
            ("example.com:http", "http"),
            ("ftp://example.com", "scheme"),
            ("https://:443", "host"),
            ("exa mple.com", "exa mple.com"),
        ] {
            let err = parse_outbound(spec)
                .err()
                .unwrap_or_else(|| panic!("{spec} parsed"));
            assert!(err.to_string().contains(needle), "{spec}: {err}");
        }
    }
}
