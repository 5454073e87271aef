//! `PluginName`: a validated plugin name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A plugin name: 1 to 64 characters of `[A-Za-z0-9_-]`, as Reglet requires.
///
/// The constructor enforces the rule, so a `PluginName` is always safe to use in a path or a log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PluginName(String);

/// The text is not a valid plugin name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid plugin name {name:?}: {reason}")]
pub struct PluginNameError {
    name: String,
    reason: &'static str,
}

impl PluginName {
    /// Validates `name`.
    ///
    /// # Errors
    ///
    /// A [`PluginNameError`] saying why when `name` is empty, longer than 64 characters, or holds
    /// anything but ASCII letters, digits, `_` and `-`.
    pub fn new(name: &str) -> Result<Self, PluginNameError> {
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > 64 {
            Some("it is longer than 64 characters")
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Some("only letters, digits, '_' and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(PluginNameError {
                name: name.to_owned(),
                reason,
            }),
            None => Ok(PluginName(name.to_owned())),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PluginName {
    type Err = PluginNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginName::new(s)
    }
}

impl AsRef<str> for PluginName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PluginName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PluginName::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_names() {
        for ok in ["file", "my_plugin-2", &"a".repeat(64)] {
            assert!(PluginName::new(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            (&"a".repeat(65)[..], "64"),
            ("../etc", "allowed"),
            ("a b", "allowed"),
            ("é", "allowed"),
        ] {
            let err = PluginName::new(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
