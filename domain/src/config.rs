//! `Config`: the JSON object an observation hands to its plugin.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An observation's config: always a JSON object (possibly empty), types preserved.
///
/// A config is immutable; its JSON encoding is made once, when it is built, because every
/// observation writes exactly those bytes into the plugin's memory.
#[derive(Debug, Clone)]
pub struct Config {
    values: Map<String, Value>,
    json: std::sync::Arc<[u8]>,
}

impl PartialEq for Config {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(Map::new())
    }
}

impl Serialize for Config {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.values.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Config::new)
    }
}

/// The value given as a config was not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an observation config must be a JSON object, not {found}")]
pub struct ConfigError {
    found: &'static str,
}

impl Config {
    /// An empty config (`{}`).
    pub fn empty() -> Self {
        Config::new(Map::new())
    }

    /// Wraps a JSON object.
    ///
    /// # Panics
    ///
    /// Never: a JSON map always serialises.
    pub fn new(values: Map<String, Value>) -> Self {
        let json = serde_json::to_vec(&values).expect("a JSON map always serialises");
        Config {
            values,
            json: json.into(),
        }
    }

    /// Accepts an object, or `null` as an empty config; anything else is an error.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what was found when `value` is neither an object nor `null`.
    pub fn from_value(value: Value) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => Ok(Config::new(map)),
            Value::Null => Ok(Config::empty()),
            other => Err(ConfigError {
                found: match other {
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "an array",
                    _ => "another value",
                },
            }),
        }
    }

    /// The config's keys and values.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The JSON bytes written into the plugin's memory.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The JSON bytes, as an owned vector.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.json.to_vec()
    }

    /// Consumes the config, returning its map.
    pub fn into_values(self) -> Map<String, Value> {
        self.values
    }
}

impl From<Map<String, Value>> for Config {
    fn from(values: Map<String, Value>) -> Self {
        Config::new(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_and_null_are_configs() {
        let config = Config::from_value(json!({"hostname": "example.com", "port": 53})).unwrap();
        assert_eq!(
            config.to_json_bytes(),
            br#"{"hostname":"example.com","port":53}"#
        );
        assert_eq!(
            Config::from_value(Value::Null).unwrap().to_json_bytes(),
            b"{}"
        );
    }

    #[test]
    fn other_values_are_rejected_by_kind() {
        let err = Config::from_value(json!([1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an observation config must be a JSON object, not an array"
        );
    }
}
