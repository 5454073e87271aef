//! The inbound ports: running plugins and reading their schemas.

use std::time::Instant;

use async_trait::async_trait;
use reglet_domain::{
    AbiGeneration, Config, ConfigSchema, Evidence, GrantSet, PluginError, PluginInfo, PluginName,
};

/// Loads plugins and runs observations in them. The wasmtime runtime is one implementation; a mock
/// is another. A plugin's schema is read through [`SchemaProvider`], the one way to read it.
///
/// Every method that names a plugin fails with `plugin_load_error` when no plugin of that name was
/// loaded. An observation that runs past `deadline` is stopped and fails with `timeout`.
///
/// A plugin is loaded with no grants (unless the implementation was configured with some); the
/// checker describes it, works out what its controls need, asks, and then calls
/// [`PluginExecutor::set_grants`] before observing: no recompilation, no new runtime.
#[async_trait]
pub trait PluginExecutor: SchemaProvider + Send + Sync {
    /// Compiles (or fetches from cache) `wasm` and registers it under `name`. Loading the same name
    /// with the same bytes again is cheap; with different bytes it is an error.
    async fn load_plugin(&self, name: &PluginName, wasm: &[u8]) -> Result<(), PluginError>;

    /// The plugin's identity and declared capabilities.
    async fn describe(&self, name: &PluginName) -> Result<PluginInfo, PluginError>;

    /// Which Reglet ABI generation the loaded plugin speaks, read from its exports: a plugin's
    /// own description does not say, and `reglet plugins` shows it.
    async fn abi_generation(&self, name: &PluginName) -> Result<AbiGeneration, PluginError>;

    /// Replaces what the plugin `name` may touch, for every observation that starts from now on
    /// (running ones keep the grants they started with).
    async fn set_grants(&self, name: &PluginName, grants: GrantSet) -> Result<(), PluginError>;

    /// Runs one observation with `config`, stopping it at `deadline`.
    async fn observe(
        &self,
        name: &PluginName,
        config: &Config,
        deadline: Instant,
    ) -> Result<Evidence, PluginError>;

    /// Prepares up to `count` ready instances in advance; returns how many are ready.
    async fn warm_pool(&self, name: &PluginName, count: usize) -> Result<usize, PluginError>;

    /// Releases the plugin and its prepared instances.
    async fn close(&self, name: &PluginName) -> Result<(), PluginError>;
}

/// Gives the JSON Schema of a loaded plugin's config.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SchemaProvider: Send + Sync {
    /// The schema of the loaded plugin `name`, or `None` when it publishes none.
    async fn plugin_schema(&self, name: &PluginName) -> Result<Option<ConfigSchema>, PluginError>;
}

// A supertrait needs mockall's long form: the mock implements both traits.
#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    /// A mock [`PluginExecutor`] that is also a [`SchemaProvider`].
    pub PluginExecutor {}

    #[async_trait]
    impl SchemaProvider for PluginExecutor {
        async fn plugin_schema(&self, name: &PluginName) -> Result<Option<ConfigSchema>, PluginError>;
    }

    #[async_trait]
    impl PluginExecutor for PluginExecutor {
        async fn load_plugin(&self, name: &PluginName, wasm: &[u8]) -> Result<(), PluginError>;
        async fn describe(&self, name: &PluginName) -> Result<PluginInfo, PluginError>;
        async fn abi_generation(&self, name: &PluginName) -> Result<AbiGeneration, PluginError>;
        async fn set_grants(&self, name: &PluginName, grants: GrantSet) -> Result<(), PluginError>;
        async fn observe(
            &self,
            name: &PluginName,
            config: &Config,
            deadline: Instant,
        ) -> Result<Evidence, PluginError>;
        async fn warm_pool(&self, name: &PluginName, count: usize) -> Result<usize, PluginError>;
        async fn close(&self, name: &PluginName) -> Result<(), PluginError>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use mockall::predicate::eq;
    use reglet_domain::{ErrorDetail, ErrorType, PluginErrorCode};
    use serde_json::{Map, json};

    async fn run_once(
        executor: &dyn PluginExecutor,
        name: &PluginName,
    ) -> Result<Evidence, PluginError> {
        let config = Config::from_value(json!({"path": "/etc/hosts"})).unwrap();
        executor
            .observe(name, &config, Instant::now() + Duration::from_secs(5))
            .await
    }

    #[tokio::test]
    async fn a_mock_executor_stands_in_for_the_runtime() {
        let name = PluginName::new("file").unwrap();
        let mut mock = MockPluginExecutor::new();
        mock.expect_observe()
            .withf(|n, c, _| n.as_str() == "file" && c.get("path") == Some(&json!("/etc/hosts")))
            .times(1)
            .returning(|_, _, _| {
                let mut data = Map::new();
                data.insert("exists".into(), json!(true));
                Ok(Evidence::success(data))
            });
        let evidence = run_once(&mock, &name).await.unwrap();
        assert!(evidence.passed());
        assert_eq!(evidence.data.unwrap()["exists"], true);
    }

    #[tokio::test]
    async fn errors_travel_through_the_port() {
        let name = PluginName::new("dns").unwrap();
        let mut mock = MockPluginExecutor::new();
        mock.expect_observe().returning(|_, _, _| {
            Err(PluginError::timeout("observe() ran past its deadline")
                .with_detail(ErrorDetail::new(ErrorType::Timeout, "deadline")))
        });
        let err = run_once(&mock, &name).await.unwrap_err();
        assert_eq!(err.code(), PluginErrorCode::Timeout);
    }

    /// The checker's order through the port: grants are set after loading and before observing.
    #[tokio::test]
    async fn grants_are_set_between_load_and_observe() {
        let name = PluginName::new("file").unwrap();
        let grants = GrantSet::parse("fs:read:/etc/hosts").unwrap();
        let mut seq = mockall::Sequence::new();
        let mut mock = MockPluginExecutor::new();
        mock.expect_load_plugin()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let expected = grants.clone();
        mock.expect_set_grants()
            .withf(move |n, g| n.as_str() == "file" && *g == expected)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        mock.expect_observe()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(Evidence::success(Map::new())));
        mock.expect_plugin_schema().returning(|_| Ok(None));
        let executor: &dyn PluginExecutor = &mock;
        executor.load_plugin(&name, b"\0asm").await.unwrap();
        executor.set_grants(&name, grants).await.unwrap();
        assert!(run_once(executor, &name).await.unwrap().passed());
        assert_eq!(executor.plugin_schema(&name).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_mock_schema_provider() {
        let name = PluginName::new("file").unwrap();
        let mut mock = MockSchemaProvider::new();
        mock.expect_plugin_schema()
            .with(eq(name.clone()))
            .returning(|_| Ok(None));
        assert_eq!(mock.plugin_schema(&name).await.unwrap(), None);
    }
}
