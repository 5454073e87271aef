//! `ConfigSchema`: the JSON Schema a plugin publishes for its config, and the fields derived from it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One top-level config field as described by a plugin's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The config key.
    pub name: String,
    /// The JSON Schema type (`string`, `integer`, ...; `a|b` for a union; empty when unstated).
    pub field_type: String,
    /// Listed in the schema's `required`.
    pub required: bool,
    /// The schema's description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The schema's default value, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// A plugin's config schema: the raw document, kept verbatim, plus the fields read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigSchema {
    raw: Value,
    fields: Vec<FieldDef>,
}

impl ConfigSchema {
    /// Reads the fields of a schema document (its top-level `properties` and `required`).
    pub fn from_value(raw: Value) -> Self {
        let required: Vec<&str> = raw
            .get("required")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let fields = raw
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| {
                properties
                    .iter()
                    .map(|(name, property)| FieldDef {
                        name: name.clone(),
                        field_type: type_of(property),
                        required: required.contains(&name.as_str()),
                        description: property
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        default: property.get("default").cloned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ConfigSchema { raw, fields }
    }

    /// Parses schema bytes (Gen 1 `schema()` output).
    ///
    /// # Errors
    ///
    /// A [`crate::DecodeError`] when the bytes are not UTF-8 JSON, or not an object or a boolean
    /// (the two forms a JSON Schema takes).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        let text = std::str::from_utf8(bytes).map_err(|err| {
            crate::DecodeError::new(
                "config schema",
                format!("not valid UTF-8 (byte {})", err.valid_up_to()),
            )
        })?;
        let value: Value = serde_json::from_str(text).map_err(|err| {
            crate::DecodeError::new("config schema", format!("not valid JSON: {err}"))
        })?;
        if !value.is_object() && !value.is_boolean() {
            return Err(crate::DecodeError::new(
                "config schema",
                "a JSON Schema must be an object or a boolean",
            ));
        }
        Ok(ConfigSchema::from_value(value))
    }

    /// The schema document exactly as the plugin sent it.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The top-level fields, in the order the schema lists them.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// The field with this name, if the schema has it.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

fn type_of(property: &Value) -> String {
    match property.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_come_from_properties_and_required() {
        let schema = ConfigSchema::from_value(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to check"},
                "hash": {"type": "boolean", "default": false},
                "port": {"type": ["string", "integer"]}
            },
            "required": ["path"],
            "additionalProperties": false
        }));
        let names: Vec<_> = schema.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["path", "hash", "port"]);
        let path = schema.field("path").unwrap();
        assert!(path.required);
        assert_eq!(path.description.as_deref(), Some("File to check"));
        let hash = schema.field("hash").unwrap();
        assert!(!hash.required);
        assert_eq!(hash.default, Some(json!(false)));
        assert_eq!(schema.field("port").unwrap().field_type, "string|integer");
    }

    #[test]
    fn bytes_must_be_a_schema_document() {
        assert!(
            ConfigSchema::from_json_bytes(b"{}")
                .unwrap()
                .fields()
                .is_empty()
        );
        let err = ConfigSchema::from_json_bytes(b"[1]").unwrap_err();
        assert!(err.to_string().contains("object"), "{err}");
        assert!(ConfigSchema::from_json_bytes(b"{").is_err());
    }
}
