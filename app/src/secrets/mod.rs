//! Secrets: values a profile uses through `{{ secret "name" }}` and that must never be shown.
//!
//! Resolution is its own step, after the profile has loaded and before anything runs, so the
//! caller can hand every value to the redactor first: [`Secrets::values`] lists them. A
//! [`SecretSource`] looks names up; [`SystemSecrets`] is the one that reads the system config's
//! `sensitive_data.secrets` (local values, environment variables, files), as Reglet does.

mod system;

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

pub use system::SystemSecrets;

/// Why a secret could not be resolved; every message says how to provide it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No source knows the name.
    #[error(
        "not defined; add it to sensitive_data.secrets in the system config, e.g. \
         `env: {{ {name}: MY_ENV_VAR }}` or `files: {{ {name}: /path/to/file }}`"
    )]
    NotFound {
        /// The name.
        name: String,
    },
    /// The environment variable the config names is unset or empty.
    #[error("environment variable {var} (named by sensitive_data.secrets.env) is not set or empty")]
    EnvUnset {
        /// The variable.
        var: String,
    },
    /// The file the config names cannot be read.
    #[error("cannot read {path} (named by sensitive_data.secrets.files): {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// Looks secrets up by name.
pub trait SecretSource {
    /// The value of the secret `name`.
    ///
    /// # Errors
    /// The name is unknown or its source cannot be read.
    fn resolve(&self, name: &str) -> Result<String, SecretError>;
}

/// Resolved secrets by name. Values are wiped from memory when dropped and never printed by
/// `Debug`.
#[derive(Default, Clone)]
pub struct Secrets {
    values: BTreeMap<String, Zeroizing<String>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets {
    /// Resolves each name once through `source`.
    ///
    /// # Errors
    /// Every name that failed, with its error.
    pub fn resolve<'a>(
        names: impl IntoIterator<Item = &'a str>,
        source: &dyn SecretSource,
    ) -> Result<Self, Vec<(String, SecretError)>> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for name in names {
            if values.contains_key(name) || errors.iter().any(|(n, _)| n == name) {
                continue;
            }
            match source.resolve(name) {
                Ok(value) => {
                    values.insert(name.to_owned(), Zeroizing::new(value));
                }
                Err(e) => errors.push((name.to_owned(), e)),
            }
        }
        if errors.is_empty() {
            Ok(Secrets { values })
        } else {
            Err(errors)
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|v| v.as_str())
    }

    /// Every value, for registering with the redactor.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.values().map(|v| v.as_str())
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many secrets.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(std::cell::Cell<usize>);
    impl SecretSource for Counting {
        fn resolve(&self, name: &str) -> Result<String, SecretError> {
            self.0.set(self.0.get() + 1);
            if name == "missing" {
                Err(SecretError::NotFound { name: name.into() })
            } else {
                Ok(format!("value-of-{name}"))
            }
        }
    }

    #[test]
    fn resolves_each_name_once_and_hides_values_from_debug() {
        let source = Counting(0.into());
        let secrets = Secrets::resolve(["a", "b", "a"], &source).unwrap();
        assert_eq!(source.0.get(), 2);
        assert_eq!(secrets.get("a"), Some("value-of-a"));
        assert_eq!(secrets.values().count(), 2);
        assert!(!format!("{secrets:?}").contains("value-of"));
    }

    #[test]
    fn reports_every_failure() {
        let source = Counting(0.into());
        let errors = Secrets::resolve(["missing", "a", "missing"], &source).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.to_string().contains("sensitive_data.secrets"));
    }
}
