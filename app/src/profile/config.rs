//! `ObservationConfig`: a plugin's config with vars substituted and secrets marked, not resolved.

use std::fmt;

use serde_json::{Map, Value};

use super::error::Location;
use super::template::Part;
use crate::secrets::Secrets;

/// One config string that holds `{{ secret … }}` templates.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretSlot {
    /// Where the string sits in the config, as a JSON pointer (`/env/0`).
    pub pointer: String,
    /// The string, split into text and secret names.
    pub parts: Vec<Part>,
    /// Where it is written.
    pub location: Location,
}

impl fmt::Debug for SecretSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSlot")
            .field("pointer", &self.pointer)
            .field("secrets", &self.secret_names().collect::<Vec<_>>())
            .field("location", &self.location)
            .finish()
    }
}

impl SecretSlot {
    /// The secret names this string uses.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Secret(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }
}

/// A secret the config uses that the given [`Secrets`] does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret `{name}` was not resolved")]
pub struct MissingSecret {
    /// The name.
    pub name: String,
}

/// The config of one observation.
///
/// [`value`](Self::value) is safe to show: strings that use secrets hold their template text, not
/// the secret. [`expand`](Self::expand) gives the config to pass to the plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationConfig {
    value: Map<String, Value>,
    secrets: Vec<SecretSlot>,
}

impl ObservationConfig {
    /// A config that uses no secrets.
    pub fn new(value: Map<String, Value>) -> Self {
        ObservationConfig {
            value,
            secrets: Vec::new(),
        }
    }

    pub(crate) fn with_secrets(value: Map<String, Value>, secrets: Vec<SecretSlot>) -> Self {
        ObservationConfig { value, secrets }
    }

    /// The config with secret templates left as written.
    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// The strings that use secrets.
    pub fn secret_slots(&self) -> &[SecretSlot] {
        &self.secrets
    }

    /// Every secret name used, in order of appearance, repeats included.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().flat_map(SecretSlot::secret_names)
    }

    /// The config with every secret in place.
    ///
    /// # Errors
    /// A secret that `secrets` does not hold.
    pub fn expand(&self, secrets: &Secrets) -> Result<Map<String, Value>, MissingSecret> {
        self.fill(|name| {
            secrets
                .get(name)
                .map(str::to_owned)
                .ok_or_else(|| MissingSecret {
                    name: name.to_owned(),
                })
        })
    }

    /// The config with each secret shown as `<secret:name>`: what `reglet plan` prints and what
    /// grants are worked out from when secrets are not to be read.
    pub fn masked(&self) -> Map<String, Value> {
        let Ok(map) =
            self.fill(|name| Ok::<_, std::convert::Infallible>(format!("<secret:{name}>")));
        map
    }

    /// The config with each secret replaced by what `secret` gives for its name.
    fn fill<E>(&self, secret: impl Fn(&str) -> Result<String, E>) -> Result<Map<String, Value>, E> {
        let mut value = Value::Object(self.value.clone());
        for slot in &self.secrets {
            let mut text = String::new();
            for part in &slot.parts {
                match part {
                    Part::Text(t) => text.push_str(t),
                    Part::Secret(name) => text.push_str(&secret(name)?),
                }
            }
            if let Some(target) = value.pointer_mut(&slot.pointer) {
                *target = Value::String(text);
            }
        }
        match value {
            Value::Object(map) => Ok(map),
            _ => unreachable!("built from an object"),
        }
    }
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub(crate) fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::secrets::{SecretError, SecretSource, Secrets};

    struct Fixed;
    impl SecretSource for Fixed {
        fn resolve(&self, name: &str) -> Result<String, SecretError> {
            match name {
                "token" => Ok("s3cr3t".into()),
                _ => Err(SecretError::NotFound { name: name.into() }),
            }
        }
    }

    #[test]
    fn expand_puts_secrets_in_place_and_value_does_not() {
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let config = ObservationConfig::with_secrets(
            json!({"url": "https://x", "env": ["A=1", "TOKEN={{ secret \"token\" }}"], "a/b": "x"})
                .as_object()
                .unwrap()
                .clone(),
            vec![SecretSlot {
                pointer: "/env/1".to_owned(),
                parts: vec![Part::Text("TOKEN=".into()), Part::Secret("token".into())],
                location: Location::file(&file),
            }],
        );
        assert_eq!(config.secret_names().collect::<Vec<_>>(), ["token"]);
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let secrets = Secrets::resolve(["token"], &Fixed).unwrap();
        let expanded = config.expand(&secrets).unwrap();
        assert_eq!(expanded["env"][1], "TOKEN=s3cr3t");
        assert_eq!(config.value()["env"][1], "TOKEN={{ secret \"token\" }}");
        assert_eq!(config.masked()["env"][1], "TOKEN=<secret:token>");
        assert_eq!(config.masked()["url"], "https://x");
        assert_eq!(
            config.expand(&Secrets::default()),
            Err(MissingSecret {
                name: "token".into()
            })
        );
        assert_eq!(pointer_segment("a/b~c"), "a~1b~0c");
    }
}
