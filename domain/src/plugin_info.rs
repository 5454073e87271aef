//! `PluginInfo`: who a plugin is and what it says it needs.

use serde::{Deserialize, Serialize};

use crate::grants::GrantSet;
use crate::plugin_name::PluginName;

/// A plugin's identity and declared capabilities, whichever ABI generation described it.
///
/// Declared capabilities are a request, not a grant: what a plugin may actually touch is decided by
/// the grants the host was given for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: PluginName,
    /// Plugin version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// The SDK version that built the plugin, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    /// The oldest host the plugin claims to support, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_host_version: Option<String>,
    /// What the plugin declares it needs.
    pub capabilities: GrantSet,
    /// Declared capabilities that could not be understood, with the reason, kept so they can be
    /// shown instead of silently dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecognised_capabilities: Vec<String>,
}
