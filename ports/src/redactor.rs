//! Redaction: what every output channel passes through before a person or a file sees it.
//!
//! An adapter implements the few primitives (text, bytes, JSON, a stream); the default methods build
//! on them to redact the domain's values (evidence, errors, a plugin's description and schema), so
//! the runtime and the report writers hide the same things the same way.

use reglet_domain::{
    ConfigSchema, ErrorDetail, Evidence, GrantSet, Outcome, PluginError, PluginInfo, PluginName,
};
use serde_json::Value;

/// The marker that stands in for a hidden value (outside HMAC mode).
pub const REDACTED: &str = "[REDACTED]";

/// Redaction could not be completed; the caller must drop the value rather than emit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redaction failed: {0}")]
pub struct RedactionError(pub String);

/// Hides sensitive data.
///
/// The methods return `None` (or `Ok(0)`) when nothing had to change, so clean text costs no copy.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Redactor: Send + Sync {
    /// Redacts free text; `None` when it holds nothing sensitive.
    fn redact_text(&self, text: &str) -> Option<String>;

    /// Redacts raw bytes (a plugin's stdout, say); `None` when they hold nothing sensitive.
    fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>>;

    /// Redacts structured data in place: values under sensitive keys whole, then every string,
    /// every key and the text of every number, boolean and null (a number that is a secret becomes
    /// the replacement string). Returns how many replacements were made. The shape of the value is
    /// kept.
    fn redact_json(&self, value: &mut Value) -> Result<usize, RedactionError>;

    /// Redacts a document whose keys are vocabulary rather than data (a config schema, a plugin
    /// manifest) as [`Redactor::redact_json`] does, except that no value is hidden merely for the
    /// name of its key: a schema's `password` property keeps its definition.
    fn redact_json_text(&self, value: &mut Value) -> Result<usize, RedactionError>;

    /// A redactor for one stream of chunks (a plugin's stdout, say).
    fn stream(&self) -> Box<dyn RedactingStream>;

    /// Registers secret values (a profile's resolved `{{ secret "name" }}`, say): from now on they
    /// and their encoded forms are redacted everywhere this redactor is used.
    ///
    /// # Errors
    ///
    /// A value the redactor cannot hide reliably (too short, or part of the redaction marker);
    /// nothing is registered then, and the caller must not run anything that could emit it.
    fn register_secrets(&self, values: &[String]) -> Result<(), RedactionError>;

    /// Redacts `text` in place; true when it changed.
    fn redact_in_place(&self, text: &mut String) -> bool {
        match self.redact_text(text) {
            Some(clean) => {
                *text = clean;
                true
            }
            None => false,
        }
    }

    /// Redacts an error a plugin reported: message, code, stack, details and every wrapped error.
    /// Details that cannot be redacted are dropped.
    fn redact_error_detail(&self, detail: &mut ErrorDetail) {
        self.redact_in_place(&mut detail.message);
        self.redact_in_place(&mut detail.code);
        if let Some(stack) = &detail.stack
            && let Some(clean) = self.redact_bytes(stack)
        {
            detail.stack = Some(clean);
        }
        if let Some(details) = detail.details.take() {
            let mut value = Value::Object(details);
            detail.details = match self.redact_json(&mut value) {
                Ok(_) => match value {
                    Value::Object(map) => Some(map),
                    _ => None,
                },
                Err(_) => None,
            };
        }
        if let Some(wrapped) = &mut detail.wrapped {
            self.redact_error_detail(wrapped);
        }
    }

    /// Redacts everything a plugin put in its evidence: data, raw text, message, error and the
    /// self-reported metadata. Data that cannot be redacted is dropped and the evidence becomes an
    /// error that says so, rather than anything passing through unredacted.
    fn redact_evidence(&self, evidence: &mut Evidence) {
        if let Some(data) = evidence.data.take() {
            let mut value = Value::Object(data);
            match self.redact_json(&mut value) {
                Ok(_) => {
                    if let Value::Object(map) = value {
                        evidence.data = Some(map);
                    }
                }
                Err(e) => {
                    evidence.outcome = Outcome::Error(Some(ErrorDetail::new(
                        reglet_domain::ErrorType::Internal,
                        format!("evidence data was dropped because it could not be redacted: {e}"),
                    )));
                }
            }
        }
        for text in [&mut evidence.raw, &mut evidence.message]
            .into_iter()
            .flatten()
        {
            self.redact_in_place(text);
        }
        if let Outcome::Error(Some(error)) = &mut evidence.outcome {
            self.redact_error_detail(error);
        }
        if let Some(metadata) = &mut evidence.metadata {
            for text in [&mut metadata.sdk_version, &mut metadata.plugin_id]
                .into_iter()
                .flatten()
            {
                self.redact_in_place(text);
            }
        }
    }

    /// Redacts an error on its way out of the runtime: its message (which may echo what a plugin
    /// returned) and the plugin's own detail.
    fn redact_plugin_error(&self, error: PluginError) -> PluginError {
        let message = self.redact_text(error.message());
        let detail = error.detail().map(|detail| {
            let mut detail = detail.clone();
            self.redact_error_detail(&mut detail);
            detail
        });
        if message.is_none() && detail.as_ref() == error.detail() {
            return error;
        }
        let redacted = PluginError::new(
            error.code(),
            message.unwrap_or_else(|| error.message().to_owned()),
        );
        match detail {
            Some(detail) => redacted.with_detail(detail),
            None => redacted,
        }
    }

    /// Redacts what a plugin says about itself. A declared capability that holds something to hide
    /// is taken out of the capabilities and listed, redacted, among the unrecognised ones, since
    /// its redacted form is no longer the capability it asked for.
    fn redact_plugin_info(&self, info: &mut PluginInfo) {
        if self.redact_text(info.name.as_str()).is_some() {
            // A name is an identifier, not text: one that holds something to hide is replaced
            // whole by a placeholder that is still a valid name.
            info.name = PluginName::new("redacted").expect("\"redacted\" is a valid plugin name");
        }
        for text in [&mut info.version, &mut info.description] {
            self.redact_in_place(text);
        }
        for text in [&mut info.sdk_version, &mut info.min_host_version]
            .into_iter()
            .flatten()
        {
            self.redact_in_place(text);
        }
        for text in &mut info.unrecognised_capabilities {
            self.redact_in_place(text);
        }
        let declared = info.capabilities.to_strings();
        if declared.iter().all(|c| self.redact_text(c).is_none()) {
            return;
        }
        let mut kept = GrantSet::new();
        for capability in declared {
            match self.redact_text(&capability) {
                Some(clean) => info
                    .unrecognised_capabilities
                    .push(format!("{clean} (hidden: it holds sensitive data)")),
                None => match GrantSet::parse(&capability) {
                    Ok(grant) => kept = kept.merge(&grant),
                    Err(e) => info
                        .unrecognised_capabilities
                        .push(format!("{capability} ({e})")),
                },
            }
        }
        info.capabilities = kept;
    }

    /// Redacts a plugin's config schema by the text rules (see [`Redactor::redact_json_text`]).
    fn redact_schema(&self, schema: ConfigSchema) -> Result<ConfigSchema, RedactionError> {
        let mut raw = schema.raw().clone();
        if self.redact_json_text(&mut raw)? == 0 {
            return Ok(schema);
        }
        Ok(ConfigSchema::from_value(raw))
    }
}

/// Redacts a stream that arrives in chunks, holding back just enough to catch a secret split
/// across two chunks.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RedactingStream: Send {
    /// Takes the next chunk and returns the bytes that are now safe to emit, already redacted.
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;

    /// Ends the stream and returns whatever was held back, redacted.
    fn finish(&mut self) -> Vec<u8>;
}

/// Redacts `text`, returning it unchanged when nothing is sensitive.
pub fn redact_string(redactor: &dyn Redactor, text: String) -> String {
    redactor.redact_text(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reglet_domain::{ErrorType, EvidenceStatus, ResultMetadata};
    use serde_json::json;

    /// Hides `hunter2` wherever it occurs and, in [`Redactor::redact_json`], values under the key
    /// `password`: enough to see what the default methods pass through the primitives.
    struct Hunter2;

    impl Hunter2 {
        fn walk(&self, value: &mut Value, by_key: bool, count: &mut usize) {
            match value {
                Value::String(s) => *count += usize::from(self.redact_in_place(s)),
                Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v, by_key, count)),
                Value::Object(map) => {
                    for (key, inner) in map.iter_mut() {
                        if by_key && key == "password" {
                            *inner = json!("[REDACTED]");
                            *count += 1;
                        } else {
                            self.walk(inner, by_key, count);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    impl Redactor for Hunter2 {
        fn redact_text(&self, text: &str) -> Option<String> {
            text.contains("hunter2")
                .then(|| text.replace("hunter2", "[REDACTED]"))
        }
        fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
            self.redact_text(&String::from_utf8_lossy(bytes))
                .map(String::into_bytes)
        }
        fn redact_json(&self, value: &mut Value) -> Result<usize, RedactionError> {
            let mut count = 0;
            self.walk(value, true, &mut count);
            Ok(count)
        }
        fn redact_json_text(&self, value: &mut Value) -> Result<usize, RedactionError> {
            let mut count = 0;
            self.walk(value, false, &mut count);
            Ok(count)
        }
        fn stream(&self) -> Box<dyn RedactingStream> {
            Box::new(MockRedactingStream::new())
        }

        fn register_secrets(&self, _values: &[String]) -> Result<(), RedactionError> {
            Err(RedactionError(
                "this test redactor knows only hunter2".into(),
            ))
        }
    }

    #[test]
    fn evidence_is_redacted_everywhere_a_plugin_writes() {
        let mut inner = ErrorDetail::new(ErrorType::Internal, "inner hunter2");
        inner.details = Some(
            json!({"password": "x", "note": "hunter2"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        inner.stack = Some(b"at hunter2()".to_vec());
        let mut error = ErrorDetail::new(ErrorType::Network, "auth hunter2 failed");
        error.code = "hunter2".into();
        error.wrapped = Some(Box::new(inner));
        let mut evidence = Evidence::error(error);
        evidence.data = json!({"k": "hunter2", "password": "plain"})
            .as_object()
            .cloned();
        evidence.raw = Some("raw hunter2".into());
        evidence.message = Some("msg hunter2".into());
        evidence.metadata = Some(ResultMetadata {
            sdk_version: Some("hunter2".into()),
            plugin_id: Some("id-hunter2".into()),
            ..ResultMetadata::default()
        });
        Hunter2.redact_evidence(&mut evidence);
        let text = format!("{evidence:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("plain"),
            "{text}"
        );
        assert_eq!(evidence.status(), EvidenceStatus::Error);
        let wrapped = evidence.error_detail().unwrap().wrapped.clone().unwrap();
        let data = evidence.data.unwrap();
        assert_eq!(data["k"], "[REDACTED]");
        assert_eq!(wrapped.details.unwrap()["password"], "[REDACTED]");
        assert_eq!(wrapped.stack.unwrap(), b"at [REDACTED]()");
    }

    #[test]
    fn plugin_errors_keep_their_code_and_lose_the_secret() {
        let error = PluginError::invalid_result("describe() returned hunter2")
            .with_detail(ErrorDetail::new(ErrorType::Internal, "hunter2 again"));
        let clean = Hunter2.redact_plugin_error(error.clone());
        assert_eq!(clean.code(), error.code());
        assert_eq!(clean.message(), "describe() returned [REDACTED]");
        assert_eq!(clean.detail().unwrap().message, "[REDACTED] again");
        let fine = PluginError::execution("nothing here");
        assert_eq!(Hunter2.redact_plugin_error(fine.clone()), fine);
    }

    #[test]
    fn plugin_info_hides_secrets_and_the_capabilities_that_hold_them() {
        let mut info = PluginInfo {
            name: PluginName::new("p").unwrap(),
            version: "1".into(),
            description: "uses hunter2".into(),
            sdk_version: Some("hunter2".into()),
            min_host_version: None,
            capabilities: GrantSet::parse_all(["fs:read:/etc/hosts", "fs:read:/etc/hunter2"])
                .unwrap(),
            unrecognised_capabilities: vec!["bad:hunter2 (unknown kind)".into()],
        };
        Hunter2.redact_plugin_info(&mut info);
        assert!(!format!("{info:?}").contains("hunter2"), "{info:?}");
        assert_eq!(info.description, "uses [REDACTED]");
        assert_eq!(info.name.as_str(), "p");
        let mut named = info.clone();
        named.name = PluginName::new("hunter2").unwrap();
        Hunter2.redact_plugin_info(&mut named);
        assert_eq!(named.name.as_str(), "redacted");
        assert_eq!(info.capabilities.to_strings(), ["fs:read:/etc/hosts"]);
        assert!(
            info.unrecognised_capabilities
                .contains(&"fs:read:/etc/[REDACTED] (hidden: it holds sensitive data)".to_owned()),
            "{info:?}"
        );
    }

    #[test]
    fn schemas_keep_sensitive_property_definitions() {
        let schema = ConfigSchema::from_value(json!({
            "type": "object",
            "properties": {
                "password": {"type": "string", "description": "not hunter2"},
                "host": {"type": "string", "default": "hunter2.example"}
            }
        }));
        let clean = Hunter2.redact_schema(schema).unwrap();
        let password = clean.field("password").unwrap();
        assert_eq!(password.field_type, "string");
        assert_eq!(password.description.as_deref(), Some("not [REDACTED]"));
        assert_eq!(
            clean.field("host").unwrap().default,
            Some(json!("[REDACTED].example"))
        );
        assert!(!clean.raw().to_string().contains("hunter2"));
    }

    #[test]
    fn redact_string_uses_the_port() {
        let mut mock = MockRedactor::new();
        mock.expect_redact_text().returning(|t| {
            t.contains("hunter2")
                .then(|| t.replace("hunter2", "[REDACTED]"))
        });
        assert_eq!(redact_string(&mock, "pw=hunter2".into()), "pw=[REDACTED]");
        assert_eq!(redact_string(&mock, "clean".into()), "clean");
    }

    #[test]
    fn secrets_are_registered_through_the_port() {
        let mut mock = MockRedactor::new();
        mock.expect_register_secrets()
            .withf(|values| values == ["s3cr3t-value".to_owned()])
            .times(1)
            .returning(|_| Ok(()));
        let redactor: &dyn Redactor = &mock;
        redactor
            .register_secrets(&["s3cr3t-value".to_owned()])
            .unwrap();
    }
}
