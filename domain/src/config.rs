//! `Config`: the JSON object an observation hands to its plugin.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An observation's config: always a JSON object (possibly empty), types preserved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Config(Map<String, Value>);

/// The value given as a config was not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an observation config must be a JSON object, not {found}")]
pub struct ConfigError {
    found: &'static str,
}

impl Config {
    /// An empty config (`{}`).
    pub fn empty() -> Self {
        Config(Map::new())
    }

    /// Wraps a JSON object.
    pub fn new(values: Map<String, Value>) -> Self {
        Config(values)
    }

    /// Accepts an object, or `null` as an empty config; anything else is an error.
    pub fn from_value(value: Value) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => Ok(Config(map)),
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
        &self.0
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The JSON bytes written into the plugin's memory.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a JSON map always serialises")
    }

    /// Consumes the config, returning its map.
    pub fn into_values(self) -> Map<String, Value> {
        self.0
    }
}

impl From<Map<String, Value>> for Config {
    fn from(values: Map<String, Value>) -> Self {
        Config(values)
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
