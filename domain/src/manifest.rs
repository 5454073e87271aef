//! `PluginManifest`: the self-description a Gen 2 plugin returns from `_manifest`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::grants::{GRANT_SET_SHAPE, GrantSet};
use crate::plugin_info::PluginInfo;
use crate::schema::ConfigSchema;
use crate::wire::{LEAF, Shape, null_as_default};

pub(crate) static MANIFEST_SHAPE: Shape = Shape::Object(&[
    ("services", &SERVICES_SHAPE),
    ("name", &LEAF),
    ("version", &LEAF),
    ("description", &LEAF),
    ("sdk_version", &LEAF),
    ("min_host_version", &LEAF),
    ("config_schema", &LEAF),
    ("capabilities", &GRANT_SET_SHAPE),
]);
static SERVICES_SHAPE: Shape = Shape::MapOf(&SERVICE_SHAPE);
static SERVICE_SHAPE: Shape = Shape::Object(&[
    ("name", &LEAF),
    ("description", &LEAF),
    ("operations", &OPERATIONS_SHAPE),
]);
static OPERATIONS_SHAPE: Shape = Shape::ListOf(&OPERATION_SHAPE);
static OPERATION_SHAPE: Shape = Shape::Object(&[
    ("name", &LEAF),
    ("description", &LEAF),
    ("input_fields", &LEAF),
    ("output_schema", &LEAF),
    ("examples", &EXAMPLES_SHAPE),
]);
static EXAMPLES_SHAPE: Shape = Shape::ListOf(&EXAMPLE_SHAPE);
static EXAMPLE_SHAPE: Shape = Shape::Object(&[
    ("name", &LEAF),
    ("description", &LEAF),
    ("input", &LEAF),
    ("expected_output", &LEAF),
    ("expected_error", &LEAF),
]);

/// A Gen 2 plugin's manifest: identity, services, config schema and declared capabilities.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PluginManifest {
    /// Services by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub services: BTreeMap<String, Service>,
    /// Plugin name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Plugin version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// One-line description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The SDK version that built the plugin.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sdk_version: String,
    /// The oldest host the plugin claims to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_host_version: Option<String>,
    /// The JSON Schema of the plugin's config (`{}` when it defines none).
    #[serde(default)]
    pub config_schema: Value,
    /// What the plugin says it needs. Declared, never granted by itself.
    #[serde(default, deserialize_with = "null_as_default")]
    pub capabilities: GrantSet,
}

/// One service of a Gen 2 plugin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Service {
    /// Service name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// What the service does.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Its operations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub operations: Vec<Operation>,
}

/// One operation of a service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Operation {
    /// Operation name (snake case).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// What it does.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The config fields it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_fields: Option<Vec<String>>,
    /// JSON Schema of its output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Worked examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Vec<Example>>,
}

/// A worked example of an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Example {
    /// Example name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// What it shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The config given.
    #[serde(default)]
    pub input: Value,
    /// The output expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<Value>,
    /// The error expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_error: Option<String>,
}

impl PluginManifest {
    /// Decodes a `_manifest` result with Go's key rules.
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::wire::gen2::decode_manifest(bytes)
    }

    /// The identity and declared capabilities, in the generation-independent form.
    pub fn info(&self) -> PluginInfo {
        PluginInfo {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            sdk_version: Some(self.sdk_version.clone()).filter(|v| !v.is_empty()),
            min_host_version: self.min_host_version.clone(),
            capabilities: self.capabilities.clone(),
            unrecognised_capabilities: Vec::new(),
        }
    }

    /// The config schema, or `None` when the plugin defines none (`{}` or absent).
    pub fn schema(&self) -> Option<ConfigSchema> {
        match &self.config_schema {
            Value::Null => None,
            Value::Object(map) if map.is_empty() => None,
            other => Some(ConfigSchema::from_value(other.clone())),
        }
    }
}
