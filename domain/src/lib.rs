//! The pure core of reglet-rs: what a plugin returns, what it may touch, and how results add up.
//!
//! Everything here is plain data and rules, with no I/O, no async runtime and no wasm engine, so the
//! same types serve the wasmtime adapter, the mocks in tests and the application. The one design
//! decision worth knowing first: **one internal model, several wire codecs**. Reglet plugins speak
//! two ABI generations (Gen 1 with Go's capitalised keys and a boolean status, Gen 2 with lower-case
//! keys and a string status); both decode into the same [`Evidence`], [`PluginInfo`] and
//! [`GrantSet`], and the codecs in [`wire`] are the only place that knows the difference. Every
//! document is read exactly as Go's `encoding/json` reads it, by one mechanism,
//! [`go_json`]. Values keep their invariants in their types: an [`Evidence`] holds one
//! [`Outcome`], so its verdict and its error cannot disagree, and a [`PluginName`] is always valid.

#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc, clippy::missing_panics_doc)]

pub mod config;
pub mod decode_error;
pub mod error_detail;
pub mod evidence;
pub mod go_json;
pub mod grants;
pub mod manifest;
pub mod plugin_error;
pub mod plugin_info;
pub mod plugin_name;
pub mod schema;
pub mod status;
pub mod timestamp;
pub mod wire;

pub use config::{Config, ConfigError};
pub use decode_error::DecodeError;
pub use error_detail::{ErrorDetail, ErrorType};
pub use evidence::{Evidence, EvidenceStatus, Outcome, ResultMetadata};
pub use grants::{AccessRequest, GrantParseError, GrantSet, RiskFactor, RiskLevel, RiskReport};
pub use manifest::PluginManifest;
pub use plugin_error::{PluginError, PluginErrorCode};
pub use plugin_info::PluginInfo;
pub use plugin_name::{PluginName, PluginNameError};
pub use schema::{ConfigSchema, FieldDef};
pub use status::{ControlStatus, ExpectationOutcome, ObservationStatus};
pub use timestamp::Timestamp;
pub use wire::AbiGeneration;
