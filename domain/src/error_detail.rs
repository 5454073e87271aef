//! `ErrorDetail`: the structured error a plugin (or a host function) reports on the wire.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::wire::null_as_default;

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

impl<'de> Deserialize<'de> for ErrorType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: String = null_as_default(deserializer)?;
        Ok(ErrorType::parse(&text))
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

const ERROR_DETAIL_FIELDS: &[&str] = &[
    "message",
    "type",
    "code",
    "is_timeout",
    "is_not_found",
    "wrapped",
    "stack",
    "details",
];

impl<'de> Deserialize<'de> for ErrorDetail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DetailVisitor;
        impl<'de> serde::de::Visitor<'de> for DetailVisitor {
            type Value = ErrorDetail;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error detail object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ErrorDetail, A::Error> {
                let mut out = ErrorDetail::default();
                crate::wire::visit_fields(map, ERROR_DETAIL_FIELDS, |field, map| {
                    match field {
                        0 => out.message = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        1 => out.kind = map.next_value()?,
                        2 => out.code = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        3 => out.is_timeout = map.next_value::<Option<bool>>()?.unwrap_or_default(),
                        4 => {
                            out.is_not_found = map.next_value::<Option<bool>>()?.unwrap_or_default()
                        }
                        5 => out.wrapped = map.next_value()?,
                        6 => out.stack = map.next_value::<Stack>()?.0,
                        _ => out.details = map.next_value()?,
                    }
                    Ok(())
                })?;
                Ok(out)
            }
        }
        deserializer.deserialize_map(DetailVisitor)
    }
}

/// The base64 `stack` field.
struct Stack(Option<Vec<u8>>);

impl<'de> Deserialize<'de> for Stack {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        stack_from_base64(deserializer).map(Stack)
    }
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

fn stack_from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => BASE64
            .decode(text.as_bytes())
            .map(Some)
            .map_err(|err| serde::de::Error::custom(format!("stack is not base64: {err}"))),
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

    /// Decodes an ErrorDetail object with Go's key rules.
    pub fn from_json_value(value: Value) -> Result<Self, crate::DecodeError> {
        serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            crate::DecodeError::new(
                "error detail",
                format!("key {path:?}: {}", err.into_inner()),
            )
        })
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
