//! The composition root: the only place the wasmtime runtime and the redaction engine are named.

use std::sync::Arc;
use std::time::Duration;

use reglet::check::Services;
use reglet::engine::EngineOptions;
use reglet::system_config::SystemConfig;
use reglet_ports::{PluginExecutor, Redactor};
use reglet_redaction::{CustomRule, HmacKey, Redaction, RedactionConfig, Replacement};
use reglet_runtime::{Runtime, RuntimeOptions};

/// The redactor the system config asks for.
pub fn redactor(system: &SystemConfig) -> Result<Arc<dyn Redactor>, String> {
    let r = &system.redaction;
    let replacement = if r.hash_mode.enabled {
        Replacement::Hmac(
            HmacKey::new(r.hash_mode.salt.as_bytes().to_vec())
                .map_err(|e| format!("redaction.hash_mode.salt: {e}"))?,
        )
    } else {
        Replacement::Fixed
    };
    let redaction = Redaction::new(RedactionConfig {
        builtin_rules: !r.disable_gitleaks,
        custom_rules: r
            .patterns
            .iter()
            .enumerate()
            .map(|(i, p)| CustomRule {
                id: format!("redaction.patterns[{i}]"),
                regex: p.clone(),
                keywords: Vec::new(),
            })
            .collect(),
        paths: r.paths.clone(),
        replacement,
        ..RedactionConfig::default()
    })
    .map_err(|e| format!("redaction settings: {e}"))?;
    Ok(Arc::new(redaction))
}

/// Sizes the plugin instance pool to what a run with `engine` options can hold alive at once
/// (the engine never has more observations in flight). `REGLET_MAX_INSTANCES` overrides it.
pub fn size_pool_for(engine: &EngineOptions) {
    let slots = u32::try_from(engine.observations_in_flight()).unwrap_or(1000);
    reglet_runtime::size_instance_pool(slots);
}

/// The executor and the redactor for a run. `call_limit`, when given, caps the time of plugin
/// calls that carry no deadline of their own (a plugin's `describe`), so `--timeout` bounds the
/// checks before the run too.
pub fn services(
    system: &SystemConfig,
    redactor: Arc<dyn Redactor>,
    call_limit: Option<Duration>,
) -> Result<Services, String> {
    let mut options = RuntimeOptions::new(Arc::clone(&redactor));
    if let Some(limit) = call_limit {
        options = options.default_timeout(limit.min(reglet_runtime::DEFAULT_TIMEOUT));
    }
    if let Some(mib) = system.wasm_memory_limit_mb {
        options = options.memory_limit_mib(i64::try_from(mib).unwrap_or(i64::MAX));
    }
    // What a plugin may return at all stays a hard cap against hostile plugins; evidence over
    // `max_evidence_size_bytes` is cut for the report instead (engine::evidence_limit).
    if let Some(bytes) = system.max_evidence_size_bytes {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        options = options.max_result_bytes(bytes.max(reglet_runtime::DEFAULT_MAX_RESULT_BYTES));
    }
    let runtime =
        Runtime::new(options).map_err(|e| format!("cannot start the plugin runtime: {e}"))?;
    let executor: Arc<dyn PluginExecutor> = Arc::new(runtime);
    Ok(Services { executor, redactor })
}
