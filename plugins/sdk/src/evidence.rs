//! What an observation returns: evidence, or an error in Reglet's `ErrorDetail` shape.

use serde_json::{Map, Value, json};

/// The evidence of one observation: the `data` a profile's `expect` lines read, and whether the
/// plugin itself judged the check failed (Gen 2 status `failure`, with a message).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The `data` object.
    pub data: Map<String, Value>,
    /// `Some(message)` when the plugin judged the check failed.
    pub failure: Option<String>,
}

impl Evidence {
    /// Empty evidence, status `success`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key: value` to the data.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets `key: value` in the data.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.data.insert(key.to_owned(), value.into());
    }

    /// Marks the check failed with `message` (status `failure`).
    #[must_use]
    pub fn failed(mut self, message: impl Into<String>) -> Self {
        self.failure = Some(message.into());
        self
    }

    /// The value of `key` in the data, for tests.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    pub(crate) fn write_into(self, doc: &mut Map<String, Value>) {
        match self.failure {
            Some(message) => {
                doc.insert("status".into(), json!("failure"));
                doc.insert("message".into(), json!(message));
            }
            None => {
                doc.insert("status".into(), json!("success"));
            }
        }
        if !self.data.is_empty() {
            doc.insert("data".into(), Value::Object(self.data));
        }
    }
}

/// Reglet's error types (`ErrorDetail.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorType {
    /// A network failure.
    Network,
    /// A deadline passed.
    Timeout,
    /// The config is wrong.
    Config,
    /// The host refused for lack of a grant.
    Capability,
    /// Anything the plugin or host did not expect.
    Internal,
    /// Another type the host sent.
    Other(String),
}

impl ErrorType {
    fn as_str(&self) -> &str {
        match self {
            ErrorType::Network => "network",
            ErrorType::Timeout => "timeout",
            ErrorType::Config => "config",
            ErrorType::Capability => "capability",
            ErrorType::Internal => "internal",
            ErrorType::Other(other) => other,
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "network" => ErrorType::Network,
            "timeout" => ErrorType::Timeout,
            "config" => ErrorType::Config,
            "capability" => ErrorType::Capability,
            "internal" | "" => ErrorType::Internal,
            other => ErrorType::Other(other.to_owned()),
        }
    }
}

/// An error in Reglet's `ErrorDetail` shape: from the host, or the plugin's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// `type`.
    pub kind: ErrorType,
    /// `message`.
    pub message: String,
    /// `code` (often empty).
    pub code: String,
    /// `is_timeout`.
    pub is_timeout: bool,
    /// `is_not_found`.
    pub is_not_found: bool,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: String::new(),
            is_timeout: false,
            is_not_found: false,
        }
    }

    /// A config error about `field`.
    pub fn config(field: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorType::Config, message).with_code(field)
    }

    /// Sets `code`.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// The `ErrorDetail` JSON.
    pub fn to_json(&self) -> Value {
        let mut doc =
            json!({"message": self.message, "type": self.kind.as_str(), "code": self.code});
        if self.is_timeout {
            doc["is_timeout"] = json!(true);
        }
        if self.is_not_found {
            doc["is_not_found"] = json!(true);
        }
        doc
    }

    /// Reads an `ErrorDetail` object (keys matched case-insensitively, as Go does).
    pub fn from_json(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let get = |name: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        let flag = |name: &str| get(name).and_then(Value::as_bool).unwrap_or(false);
        Some(Error {
            kind: ErrorType::parse(&text("type")),
            message: text("message"),
            code: text("code"),
            is_timeout: flag("is_timeout"),
            is_not_found: flag("is_not_found"),
        })
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ErrorType::Internal => {}
            kind => write!(f, "{}: ", kind.as_str())?,
        }
        f.write_str(&self.message)?;
        if !self.code.is_empty() {
            write!(f, " [{}]", self.code)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_error_detail() {
        let mut e = Error::config("path", "path is required");
        e.is_not_found = true;
        let json = e.to_json();
        assert_eq!(json["type"], "config");
        assert_eq!(json["code"], "path");
        assert_eq!(Error::from_json(&json).unwrap(), e);
        assert_eq!(e.to_string(), "config: path is required [path]");
        let host = json!({"Message": "denied", "Type": "capability"});
        assert_eq!(Error::from_json(&host).unwrap().kind, ErrorType::Capability);
    }

    #[test]
    fn evidence_statuses() {
        let mut doc = Map::new();
        Evidence::new().with("a", 1).write_into(&mut doc);
        assert_eq!(
            Value::Object(doc.clone()),
            json!({"status": "success", "data": {"a": 1}})
        );
        doc.clear();
        Evidence::new().failed("no").write_into(&mut doc);
        assert_eq!(
            Value::Object(doc),
            json!({"status": "failure", "message": "no"})
        );
    }
}
