//! `ErrorDetail`: the structured error a plugin (or a host function) reports on the wire.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::go_json::{self, GoDecode};
use crate::go_struct;

/// The category of an [`ErrorDetail`] (its `type` key on the wire).
///
/// The documented Reglet set has a variant each; anything else a plugin invents is kept verbatim in
/// [`ErrorType::Other`] so it survives a round trip.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ErrorType {
    /// No type given (Go's empty string).
    #[default]
    Unspecified,
    /// A network operation failed.
    Network,
    /// An operation ran out of time.
    Timeout,
    /// The configuration was invalid.
    Config,
    /// The plugin panicked.
    Panic,
    /// A capability was not granted.
    Capability,
    /// Input failed validation.
    Validation,
    /// An internal error of the plugin or host.
    Internal,
    /// A destination was refused by the SSRF filter.
    SsrfProtection,
    /// A command could not be executed.
    Execution,
    /// Any other type string.
    Other(String),
}

impl ErrorType {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::Unspecified => "",
            ErrorType::Network => "network",
            ErrorType::Timeout => "timeout",
            ErrorType::Config => "config",
            ErrorType::Panic => "panic",
            ErrorType::Capability => "capability",
            ErrorType::Validation => "validation",
            ErrorType::Internal => "internal",
            ErrorType::SsrfProtection => "ssrf_protection",
            ErrorType::Execution => "execution",
            ErrorType::Other(other) => other,
        }
    }

    /// Reads the wire spelling.
    pub fn parse(text: &str) -> Self {
        match text {
            "" => ErrorType::Unspecified,
            "network" => ErrorType::Network,
            "timeout" => ErrorType::Timeout,
            "config" => ErrorType::Config,
            "panic" => ErrorType::Panic,
            "capability" => ErrorType::Capability,
            "validation" => ErrorType::Validation,
            "internal" => ErrorType::Internal,
            "ssrf_protection" => ErrorType::SsrfProtection,
            "execution" => ErrorType::Execution,
            other => ErrorType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Reads the wire spelling; `null` is [`ErrorType::Unspecified`].
impl<'de> Deserialize<'de> for ErrorType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

/// A Go string: `null` leaves the type as it was.
impl GoDecode for ErrorType {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        if let Some(text) = Option::<String>::deserialize(deserializer)? {
            *self = ErrorType::parse(&text);
        }
        Ok(())
    }
}

/// A structured error as Reglet plugins and host functions report it.
///
/// On the wire `message`, `type` and `code` are always present; the flags, `wrapped`, `stack`
/// (base64, as Go encodes `[]byte`) and `details` (Gen 2) are omitted when empty. Decoding follows
/// Go: keys match case-insensitively, `null` and missing keys leave the zero value.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ErrorDetail {
    /// Human-readable description.
    pub message: String,
    /// Category.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Machine-readable code such as `ETIMEDOUT`, `dns_A` or `exit_1`; often empty.
    pub code: String,
    /// The failure was a timeout.
    #[serde(skip_serializing_if = "is_false")]
    pub is_timeout: bool,
    /// The thing looked for does not exist.
    #[serde(skip_serializing_if = "is_false")]
    pub is_not_found: bool,
    /// The underlying error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapped: Option<Box<ErrorDetail>>,
    /// A panic stack trace (raw bytes; base64 on the wire).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "stack_to_base64"
    )]
    pub stack: Option<Vec<u8>>,
    /// Extra structured details (Gen 2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

go_struct!(ErrorDetail {
    "message" => message,
    "type" => kind,
    "code" => code,
    "is_timeout" => is_timeout,
    "is_not_found" => is_not_found,
    "wrapped" => wrapped,
    "stack" => stack with decode_stack,
    "details" => details,
});

/// Reads an ErrorDetail object by Go's rules.
impl<'de> Deserialize<'de> for ErrorDetail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

/// Go's `[]byte`: base64 text, `null` for nil. An empty stack is kept as none, as it is omitted.
fn decode_stack<'de, D: Deserializer<'de>>(
    stack: &mut Option<Vec<u8>>,
    deserializer: D,
) -> Result<(), D::Error> {
    *stack = match Option::<String>::deserialize(deserializer)? {
        None => None,
        Some(text) if text.is_empty() => None,
        Some(text) => Some(
            BASE64
                .decode(text.as_bytes())
                .map_err(|err| serde::de::Error::custom(format!("stack is not base64: {err}")))?,
        ),
    };
    Ok(())
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn stack_to_base64<S: Serializer>(stack: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match stack {
        Some(bytes) => s.serialize_str(&BASE64.encode(bytes)),
        None => s.serialize_none(),
    }
}

impl ErrorDetail {
    /// An error of the given type with a message and no code.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ErrorDetail {
            message: message.into(),
            kind,
            ..ErrorDetail::default()
        }
    }

    /// The same error with `code` set.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// The same error marked as a timeout.
    pub fn timed_out(mut self) -> Self {
        self.is_timeout = true;
        self
    }

    /// The same error marked as "not found".
    pub fn not_found(mut self) -> Self {
        self.is_not_found = true;
        self
    }

    /// Decodes an ErrorDetail object with Go's rules.
    ///
    /// # Errors
    ///
    /// A [`crate::DecodeError`] naming the key whose value has the wrong type, or a `stack` that
    /// is not base64.
    pub fn from_json_value(value: Value) -> Result<Self, crate::DecodeError> {
        go_json::from_value("error detail", value)
    }
}

impl fmt::Display for ErrorDetail {
    /// The SDK's textual form: `type: message [code]: wrapped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !matches!(self.kind, ErrorType::Unspecified | ErrorType::Internal) {
            write!(f, "{}: ", self.kind)?;
        }
        f.write_str(&self.message)?;
        if !self.code.is_empty() {
            write!(f, " [{}]", self.code)?;
        }
        if let Some(wrapped) = &self.wrapped {
            write!(f, ": {wrapped}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_reference_dns_error() {
        let value = json!({"message":"lookup nosuch.invalid on 127.0.0.53:53: no such host",
                           "type":"network","code":"","is_not_found":true});
        let detail = ErrorDetail::from_json_value(value.clone()).unwrap();
        assert_eq!(detail.kind, ErrorType::Network);
        assert!(detail.is_not_found);
        assert!(!detail.is_timeout);
        assert_eq!(serde_json::to_value(&detail).unwrap(), value);
    }

    #[test]
    fn stack_is_base64_and_wrapped_nests() {
        let value = json!({"message":"plugin panic: x","type":"panic","code":"",
                           "stack":"Z29yb3V0aW5lIDE=",
                           "wrapped":{"message":"inner","type":"internal","code":"E1"}});
        let detail = ErrorDetail::from_json_value(value.clone()).unwrap();
        assert_eq!(detail.stack.as_deref(), Some(&b"goroutine 1"[..]));
        assert_eq!(detail.wrapped.as_ref().unwrap().code, "E1");
        assert_eq!(serde_json::to_value(&detail).unwrap(), value);
    }

    #[test]
    fn keys_and_nulls_follow_go_rules() {
        let value = json!({"Message":"m","TYPE":"timeout","Code":null,"IS_TIMEOUT":true});
        let detail = ErrorDetail::from_json_value(value).unwrap();
        assert_eq!(detail.message, "m");
        assert_eq!(detail.kind, ErrorType::Timeout);
        assert_eq!(detail.code, "");
        assert!(detail.is_timeout);
    }

    #[test]
    fn bad_stack_is_a_named_error() {
        let err = ErrorDetail::from_json_value(json!({"message":"m","stack":"!!"})).unwrap_err();
        assert!(err.to_string().contains("stack"), "{err}");
    }

    #[test]
    fn text_form_matches_the_sdk() {
        let mut detail =
            ErrorDetail::new(ErrorType::Network, "dial failed").with_code("tcp_connect");
        detail.wrapped = Some(Box::new(ErrorDetail::new(ErrorType::Internal, "refused")));
        assert_eq!(
            detail.to_string(),
            "network: dial failed [tcp_connect]: refused"
        );
    }

    #[test]
    fn unknown_types_survive() {
        let detail =
            ErrorDetail::from_json_value(json!({"message":"m","type":"dns_sdk_error"})).unwrap();
        assert_eq!(detail.kind, ErrorType::Other("dns_sdk_error".into()));
        assert_eq!(detail.kind.as_str(), "dns_sdk_error");
    }
}
