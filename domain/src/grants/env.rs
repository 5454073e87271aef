//! Environment grants: which host variables a plugin may see.

use std::fmt;

use super::GrantParseError;

/// Which environment variables a grant covers. Matching is exact and case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnvPattern {
    /// Every variable (`*`).
    Any,
    /// Every variable whose name starts with this text (`AWS_*`).
    Prefix(String),
    /// Exactly this variable.
    Exact(String),
}

impl EnvPattern {
    /// Parses `*`, `PREFIX*` or an exact name.
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidEnv`] for an empty name, a `*` anywhere but at the end, or a
    /// name holding `=`, NUL or whitespace.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let bad = |reason| GrantParseError::InvalidEnv {
            pattern: text.to_owned(),
            reason,
        };
        if text == "*" {
            return Ok(EnvPattern::Any);
        }
        let (name, prefix) = match text.strip_suffix('*') {
            Some(name) => (name, true),
            None => (text, false),
        };
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.contains('*') {
            return Err(bad("only a trailing '*' is supported"));
        }
        if name.contains(['=', '\0']) || name.chars().any(char::is_whitespace) {
            return Err(bad("a variable name cannot contain '=', NUL or whitespace"));
        }
        Ok(match prefix {
            true => EnvPattern::Prefix(name.to_owned()),
            false => EnvPattern::Exact(name.to_owned()),
        })
    }

    /// True when the variable `name` is covered.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            EnvPattern::Any => true,
            EnvPattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
            EnvPattern::Exact(exact) => name == exact,
        }
    }

    /// True when every variable `other` covers is covered by `self`.
    pub fn covers(&self, other: &EnvPattern) -> bool {
        match (self, other) {
            (EnvPattern::Any, _) => true,
            (_, EnvPattern::Any) => false,
            (EnvPattern::Prefix(p), EnvPattern::Prefix(q)) => q.starts_with(p.as_str()),
            (EnvPattern::Prefix(p), EnvPattern::Exact(x)) => x.starts_with(p.as_str()),
            (EnvPattern::Exact(a), EnvPattern::Exact(b)) => a == b,
            (EnvPattern::Exact(_), EnvPattern::Prefix(_)) => false,
        }
    }
}

impl fmt::Display for EnvPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvPattern::Any => f.write_str("*"),
            EnvPattern::Prefix(prefix) => write!(f, "{prefix}*"),
            EnvPattern::Exact(name) => f.write_str(name),
        }
    }
}
