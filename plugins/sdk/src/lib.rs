//! Write Reglet plugins in Rust.
//!
//! A plugin is a type implementing [`Plugin`]: a serde config type with a derived JSON Schema and
//! one [`Plugin::observe`] that returns [`Evidence`] or an [`Error`]. [`reglet_plugin!`] exports
//! Reglet's Gen 2 ABI for it (`_manifest`, `_observe`, `allocate`, `deallocate`), so the module
//! runs under reglet-rs and under Reglet's Go host alike. Everything outside the sandbox goes
//! through a [`Host`], which tests replace with a fake.
//!
//! ```ignore
//! #[derive(Default)]
//! struct Hello;
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Config { name: String }
//! impl reglet_plugin_sdk::Plugin for Hello {
//!     type Config = Config;
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = "1.0.0";
//!     const DESCRIPTION: &'static str = "Says hello";
//!     fn observe(&self, config: Config, _host: &dyn reglet_plugin_sdk::Host)
//!         -> Result<reglet_plugin_sdk::Evidence, reglet_plugin_sdk::Error> {
//!         Ok(reglet_plugin_sdk::Evidence::new().with("greeting", format!("hello {}", config.name)))
//!     }
//! }
//! reglet_plugin_sdk::reglet_plugin!(Hello);
//! ```

// The allocator's exports and the imports exist only on wasm; natively only tests use the rest.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod abi;
mod evidence;
pub mod host;
mod time;

pub use evidence::{Error, ErrorType, Evidence};
pub use host::Host;
pub use serde_json::{Value, json};
pub use time::{now_unix, parse_rfc3339, rfc3339};

use serde::de::DeserializeOwned;

/// Version of this SDK, reported in every manifest and result.
pub const SDK_VERSION: &str = "0.1.0";

/// A Reglet plugin: a config type and one observation.
pub trait Plugin: Default {
    /// The `config` of an observation in a profile, decoded from JSON. Its JSON Schema becomes the
    /// manifest's `config_schema`.
    type Config: DeserializeOwned + schemars::JsonSchema;
    /// The plugin's name (`file`, `http`, ...).
    const NAME: &'static str;
    /// The plugin's version.
    const VERSION: &'static str;
    /// One line saying what the plugin observes.
    const DESCRIPTION: &'static str;

    /// What the plugin asks to be granted, as a Gen 2 GrantSet (`{"network": {...}, "fs": ...}`);
    /// nothing by default.
    fn capabilities() -> Value {
        json!({})
    }

    /// Observes the system as `config` says, through `host` for anything outside the sandbox.
    ///
    /// # Errors
    ///
    /// An [`Error`] when the observation could not be made (the result's status is `error`).
    fn observe(&self, config: Self::Config, host: &dyn Host) -> Result<Evidence, Error>;
}

/// The Gen 2 manifest of `P` as JSON.
pub fn manifest<P: Plugin>() -> Value {
    let schema = schemars::schema_for!(P::Config);
    json!({
        "name": P::NAME,
        "version": P::VERSION,
        "description": P::DESCRIPTION,
        "sdk_version": SDK_VERSION,
        "config_schema": schema,
        "capabilities": P::capabilities(),
        "services": {
            P::NAME: {
                "name": P::NAME,
                "description": P::DESCRIPTION,
                "operations": [{"name": "observe", "description": P::DESCRIPTION}],
            }
        },
    })
}

/// Runs one observation of `P` on the config JSON `input` and returns the Gen 2 result document.
/// Never fails: a config that does not decode is an `error` result of type `config`.
pub fn observe_json<P: Plugin>(input: &[u8], host: &dyn Host) -> Value {
    let start = now_unix();
    // Reglet sends `null` for an observation without config; decode it as an empty object.
    let input: &[u8] = if input.is_empty() || input == b"null" {
        b"{}"
    } else {
        input
    };
    let outcome = serde_json::from_slice::<P::Config>(input)
        .map_err(|e| Error::new(ErrorType::Config, format!("invalid config: {e}")))
        .and_then(|config| P::default().observe(config, host));
    let end = now_unix();
    let mut doc = serde_json::Map::new();
    doc.insert("timestamp".into(), Value::String(rfc3339(end.0, end.1)));
    match outcome {
        Ok(evidence) => evidence.write_into(&mut doc),
        Err(error) => {
            doc.insert("status".into(), Value::String("error".into()));
            doc.insert("message".into(), Value::String(error.message.clone()));
            doc.insert("error".into(), error.to_json());
        }
    }
    let nanos = |t: (u64, u32)| t.0 as u128 * 1_000_000_000 + t.1 as u128;
    doc.insert(
        "metadata".into(),
        json!({
            "start_time": rfc3339(start.0, start.1),
            "end_time": rfc3339(end.0, end.1),
            "sdk_version": SDK_VERSION,
            "duration_ns": nanos(end).saturating_sub(nanos(start)) as u64,
        }),
    );
    Value::Object(doc)
}

/// Exports the Gen 2 ABI (`_manifest`, `_observe`, plus the SDK's `allocate` and `deallocate`)
/// for a [`Plugin`] type. Use once, at the plugin crate's root; it expands to nothing off wasm,
/// so the crate's native unit tests still build.
#[macro_export]
macro_rules! reglet_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn _manifest() -> u64 {
            $crate::__private::export_manifest::<$plugin>()
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn _observe(ptr: u32, len: u32) -> u64 {
            $crate::__private::export_observe::<$plugin>(ptr, len)
        }
    };
}

#[doc(hidden)]
pub mod __private {
    use super::{Plugin, Value, abi, host::WasmHost, manifest, observe_json};

    fn hand_over(doc: &Value) -> u64 {
        let bytes = serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec());
        abi::give(bytes)
    }

    /// `_manifest`: the manifest, in a buffer the host frees with `deallocate`.
    pub fn export_manifest<P: Plugin>() -> u64 {
        hand_over(&manifest::<P>())
    }

    /// `_observe`: takes the config the host wrote into memory from `allocate`.
    pub fn export_observe<P: Plugin>(ptr: u32, len: u32) -> u64 {
        let input = abi::take(ptr, len).unwrap_or_default();
        hand_over(&observe_json::<P>(&input, &WasmHost))
    }
}
