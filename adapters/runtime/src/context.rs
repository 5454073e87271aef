//! What every instance of one plugin shares. It sits below both the runtime (which builds it) and
//! the host functions and WASI (which read it), so neither reaches into the other.

use std::sync::Arc;

use reglet_domain::{AccessRequest, GrantSet, PluginName};
use reglet_ports::Redactor;

use crate::services::HostServices;
use crate::wasi::Sandbox;

/// What the runtime gives every plugin: the same for all of them.
#[derive(Clone)]
pub(crate) struct ContextBase {
    pub(crate) redactor: Arc<dyn Redactor>,
    /// The host environment, snapshotted when the runtime was created; plugins see only what
    /// their `env` grants name.
    pub(crate) environment: Arc<[(String, String)]>,
    pub(crate) memory_limit: usize,
    pub(crate) services: Arc<HostServices>,
}

/// What every instance of one plugin shares: identity, grants, and the services it may reach.
pub(crate) struct PluginContext {
    pub(crate) name: Arc<str>,
    pub(crate) grants: GrantSet,
    pub(crate) redactor: Arc<dyn Redactor>,
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) env: Arc<[String]>,
    pub(crate) memory_limit: usize,
    pub(crate) services: Arc<HostServices>,
}

impl PluginContext {
    /// The context of plugin `name` under `grants`: its filesystem mounted, its environment
    /// filtered. Mount warnings (a granted directory that does not exist, say) are logged,
    /// redacted.
    pub(crate) fn new(name: &PluginName, grants: GrantSet, base: &ContextBase) -> Self {
        let (sandbox, warnings) = Sandbox::from_grants(&grants);
        for warning in warnings {
            let warning = reglet_ports::redactor::redact_string(base.redactor.as_ref(), warning);
            tracing::warn!(plugin = %name, "{warning}");
        }
        let env: Arc<[String]> = base
            .environment
            .iter()
            .filter(|(k, _)| grants.allows(&AccessRequest::ReadEnv(k)))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        PluginContext {
            name: Arc::from(name.as_str()),
            grants,
            redactor: base.redactor.clone(),
            sandbox: Arc::new(sandbox),
            env,
            memory_limit: base.memory_limit,
            services: base.services.clone(),
        }
    }
}

#[cfg(test)]
impl PluginContext {
    /// A context with these grants and services, nothing mounted, the default redactor.
    pub(crate) fn for_tests(grants: GrantSet, services: HostServices) -> Self {
        PluginContext {
            name: Arc::from("test"),
            grants,
            redactor: Arc::new(
                reglet_redaction::Redaction::new(reglet_redaction::RedactionConfig::default())
                    .expect("the default redaction builds"),
            ),
            sandbox: Arc::new(Sandbox::from_grants(&GrantSet::new()).0),
            env: Arc::from(Vec::<String>::new()),
            memory_limit: 64 << 20,
            services: Arc::new(services),
        }
    }
}
