//! Structured redaction: values under sensitive key names or configured dot paths.

/// Key names whose values are always sensitive, compared after normalisation (lower case, with
/// `-`, `_`, `.` and spaces removed).
pub const DEFAULT_SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "auth",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "clientsecret",
    "credential",
    "credentials",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "bearertoken",
    "sessionid",
    "sessiontoken",
    "xapikey",
    "xauthtoken",
    "connectionstring",
    "dsn",
    "pin",
    "otp",
];

/// Fragments that make any key containing them sensitive.
const SENSITIVE_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "privatekey",
    "apikey",
    "accesskey",
    "credential",
];

/// Decides which keys and paths hold sensitive values.
#[derive(Debug, Clone)]
pub(crate) struct KeyRules {
    names: Vec<String>,
    paths: Vec<String>,
}

impl KeyRules {
    pub(crate) fn new(extra_names: &[String], paths: &[String]) -> Self {
        let mut names: Vec<String> = DEFAULT_SENSITIVE_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        names.extend(extra_names.iter().map(|n| normalise(n)));
        names.sort();
        names.dedup();
        KeyRules {
            names,
            paths: paths.to_vec(),
        }
    }

    /// True when dot-path rules exist (callers need to track paths only then).
    pub(crate) fn uses_paths(&self) -> bool {
        !self.paths.is_empty()
    }

    /// True when the value under `key`, reached by the dotted `path`, must be hidden entirely.
    pub(crate) fn is_sensitive(&self, key: &str, path: &str) -> bool {
        let mut buf = [0u8; 64];
        let owned;
        let norm: &str = match normalise_ascii(key, &mut buf) {
            Some(norm) => norm,
            None => {
                owned = normalise(key);
                &owned
            }
        };
        if self
            .names
            .binary_search_by(|n| n.as_str().cmp(norm))
            .is_ok()
            || norm.ends_with("token")
            || SENSITIVE_FRAGMENTS.iter().any(|f| norm.contains(f))
        {
            return true;
        }
        self.paths.iter().any(|p| {
            path == p
                || (path.len() > p.len()
                    && path.ends_with(p.as_str())
                    && path.as_bytes()[path.len() - p.len() - 1] == b'.')
        })
    }
}

/// [`normalise`] without allocating, for the usual short ASCII key.
fn normalise_ascii<'b>(key: &str, buf: &'b mut [u8; 64]) -> Option<&'b str> {
    let mut len = 0;
    for b in key.bytes() {
        if !b.is_ascii() {
            return None;
        }
        if matches!(b, b'-' | b'_' | b'.' | b' ') {
            continue;
        }
        *buf.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fragments_and_paths() {
        let rules = KeyRules::new(
            &["X-Internal".into()],
            &["auth.bearer".into(), "pin_code".into()],
        );
        for (key, path, want) in [
            ("password", "password", true),
            ("DB_Password", "db.DB_Password", true),
            ("Set-Cookie", "headers.Set-Cookie", true),
            ("access_token", "access_token", true),
            ("token_count", "token_count", false),
            ("client-secret", "client-secret", true),
            ("x_internal", "x_internal", true),
            ("bearer", "auth.bearer", true),
            ("bearer", "x.auth.bearer", true),
            ("bearer", "xauth.bearer", false),
            ("pin_code", "pin_code", true),
            ("hostname", "hostname", false),
            ("exists", "exists", false),
        ] {
            assert_eq!(rules.is_sensitive(key, path), want, "{key} at {path}");
        }
    }
}
