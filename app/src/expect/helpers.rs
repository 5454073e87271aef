//! Functions Reglet-rs adds to the expr language: `isIPv4` (Reglet has it), `isIPv6`,
//! `cidrContains` and `semver`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use expr::{Environment, Value};
use ipnet::IpNet;

/// The names of the helpers, for the load-time check of function names.
pub(crate) const NAMES: &[&str] = &["isIPv4", "isIPv6", "cidrContains", "semver"];

/// Registers the helpers.
pub(crate) fn add(env: &mut Environment<'_>) {
    env.add_function("isIPv4", |c| {
        let [arg] = args::<1>("isIPv4", c.args)?;
        Ok(text(&arg)
            .is_some_and(|s| s.parse::<Ipv4Addr>().is_ok())
            .into())
    });
    env.add_function("isIPv6", |c| {
        let [arg] = args::<1>("isIPv6", c.args)?;
        Ok(text(&arg)
            .is_some_and(|s| s.parse::<Ipv6Addr>().is_ok())
            .into())
    });
    env.add_function("cidrContains", |c| {
        let [cidr, ip] = args::<2>("cidrContains", c.args)?;
        let net: IpNet = text(&cidr)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fail(format!("cidrContains(): {cidr} is not a CIDR block")))?;
        Ok(text(&ip)
            .and_then(|s| s.parse::<IpAddr>().ok())
            .is_some_and(|ip| net.contains(&ip))
            .into())
    });
    env.add_function("semver", |c| {
        let [version] = args::<1>("semver", c.args)?;
        let version =
            text(&version).ok_or_else(|| fail(format!("semver(): {version} is not a string")))?;
        ordering_key(version)
            .map(Value::String)
            .ok_or_else(|| fail(format!("semver(): {version:?} is not a version")))
    });
}

fn fail(message: String) -> expr::Error {
    expr::Error::ExprError(message)
}

fn args<const N: usize>(name: &str, args: Vec<Value>) -> expr::Result<[Value; N]> {
    let got = args.len();
    args.try_into().map_err(|_| {
        fail(format!(
            "{name}() takes {N} argument{}, got {got}",
            if N == 1 { "" } else { "s" }
        ))
    })
}

fn text(value: &Value) -> Option<&str> {
    value.as_string()
}

/// A string whose byte order is semantic-version precedence, so `semver(a) >= semver(b)` works
/// with the language's own comparison operators (expr has no user-defined types).
///
/// Accepts an optional leading `v`, one to three numeric components (missing ones are 0), a
/// pre-release after `-` and build metadata after `+` (ignored, as semver says). Layout: each
/// component as 20 zero-padded digits; then `~` for a release, or `-` and the pre-release
/// identifiers, numeric ones as `0` + 20 digits and others as `1` + text, each ended by `!`.
/// `~` sorts after `-`, so a release outranks its pre-releases; `!` sorts before every identifier
/// character, so `alpha` < `alpha.1` < `alpha-b`.
pub(crate) fn ordering_key(version: &str) -> Option<String> {
    let version = version.trim();
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let version = version.split_once('+').map_or(version, |(v, _)| v);
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut key = String::with_capacity(80);
    for i in 0..3 {
        let n: u64 = match parts.get(i) {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => 0,
        };
        key.push_str(&format!("{n:020}"));
    }
    match pre {
        None => key.push('~'),
        Some(pre) => {
            key.push('-');
            for id in pre.split('.') {
                let valid =
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !valid {
                    return None;
                }
                match id.parse::<u64>() {
                    Ok(n) if id.bytes().all(|b| b.is_ascii_digit()) => {
                        key.push_str(&format!("0{n:020}"))
                    }
                    _ => {
                        key.push('1');
                        key.push_str(id);
                    }
                }
                key.push('!');
            }
        }
    }
    Some(key)
}

/// Compares two versions by [`ordering_key`]; `None` if either is not a version.
#[cfg(test)]
fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    Some(ordering_key(a)?.cmp(&ordering_key(b)?))
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    #[test]
    fn semver_precedence_follows_the_spec() {
        // semver.org §11's example chain, plus the lenient forms.
        let ascending = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2",
            "v1.10.0",
            "2",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Some(Ordering::Less), "{pair:?}");
        }
        assert_eq!(compare("1.0.0+build.5", "1.0.0"), Some(Ordering::Equal));
        assert_eq!(compare("1.2", "1.2.0"), Some(Ordering::Equal));
        assert_eq!(compare("1.0.0-a-b", "1.0.0-a"), Some(Ordering::Greater));
        for bad in ["", "x", "1.2.3.4", "1..2", "1.2.3-", "1.2.3-a..b", "1.-2"] {
            assert_eq!(ordering_key(bad), None, "{bad:?}");
        }
    }
}
