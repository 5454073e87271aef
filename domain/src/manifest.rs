//! `PluginManifest`: the self-description a Gen 2 plugin returns from `_manifest`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::DecodeError;
use crate::go_json;
use crate::go_struct;
use crate::grants::{GrantSet, WireGrantSet};
use crate::plugin_info::PluginInfo;
use crate::plugin_name::PluginName;
use crate::schema::ConfigSchema;

/// A Gen 2 plugin's manifest: identity, services, config schema and declared capabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginManifest {
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Plugin name, validated.
    pub name: PluginName,
    /// Plugin version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// The SDK version that built the plugin.
    pub sdk_version: String,
    /// The oldest host the plugin claims to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_host_version: Option<String>,
    /// The JSON Schema of the plugin's config (`{}` when it defines none).
    pub config_schema: Value,
    /// What the plugin says it needs. Declared, never granted by itself.
    pub capabilities: GrantSet,
}

/// One service of a Gen 2 plugin.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// What the service does.
    pub description: String,
    /// Its operations.
    pub operations: Vec<Operation>,
}

/// One operation of a service.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Operation {
    /// Operation name (snake case).
    pub name: String,
    /// What it does.
    pub description: String,
    /// The config fields it reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_fields: Option<Vec<String>>,
    /// JSON Schema of its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Worked examples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples: Option<Vec<Example>>,
}

/// A worked example of an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Example {
    /// Example name.
    pub name: String,
    /// What it shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The config given.
    pub input: Value,
    /// The output expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<Value>,
    /// The error expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_error: Option<String>,
}

/// `abi.Manifest` as the plugin sent it, before its name and capabilities are validated.
#[derive(Default)]
struct WireManifest {
    services: BTreeMap<String, Service>,
    name: String,
    version: String,
    description: String,
    sdk_version: String,
    min_host_version: Option<String>,
    config_schema: Value,
    capabilities: WireGrantSet,
}

go_struct!(WireManifest {
    "services" => services,
    "name" => name,
    "version" => version,
    "description" => description,
    "sdk_version" => sdk_version,
    "min_host_version" => min_host_version with go_json::decode_present,
    "config_schema" => config_schema,
    "capabilities" => capabilities,
});

impl WireManifest {
    fn validate(self) -> Result<PluginManifest, DecodeError> {
        let name = PluginName::new(&self.name)
            .map_err(|e| DecodeError::new("manifest", format!("key \"name\": {e}")))?;
        let capabilities = self
            .capabilities
            .into_grants()
            .map_err(|e| DecodeError::new("manifest", format!("key \"capabilities\": {e}")))?;
        Ok(PluginManifest {
            services: self.services,
            name,
            version: self.version,
            description: self.description,
            sdk_version: self.sdk_version,
            min_host_version: self.min_host_version,
            config_schema: self.config_schema,
            capabilities,
        })
    }
}

/// Decodes a `_manifest` result by Go's rules, then validates the name and the capabilities.
pub(crate) fn decode(bytes: &[u8]) -> Result<PluginManifest, DecodeError> {
    go_json::from_slice::<WireManifest>("manifest", bytes)?.validate()
}

/// Reads a Manifest by Go's rules and validates it like [`PluginManifest::decode`].
impl<'de> Deserialize<'de> for PluginManifest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize::<WireManifest, D>(deserializer)?
            .validate()
            .map_err(serde::de::Error::custom)
    }
}

go_struct!(Service {
    "name" => name,
    "description" => description,
    "operations" => operations,
});

go_struct!(Operation {
    "name" => name,
    "description" => description,
    "input_fields" => input_fields,
    "output_schema" => output_schema,
    "examples" => examples,
});

go_struct!(Example {
    "name" => name,
    "description" => description with go_json::decode_present,
    "input" => input,
    "expected_output" => expected_output,
    "expected_error" => expected_error with go_json::decode_present,
});

impl PluginManifest {
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
