//! The runtime behind the application's ports.

use std::time::Instant;

use async_trait::async_trait;
use reglet_domain::{
    AbiGeneration, Config, ConfigSchema, Evidence, GrantSet, PluginError, PluginInfo, PluginName,
};
use reglet_ports::{PluginExecutor, SchemaProvider};

use super::Runtime;

#[async_trait]
impl PluginExecutor for Runtime {
    async fn load_plugin(&self, name: &PluginName, wasm: &[u8]) -> Result<(), PluginError> {
        Runtime::load_plugin(self, name, wasm).await.map(drop)
    }

    async fn describe(&self, name: &PluginName) -> Result<PluginInfo, PluginError> {
        self.plugin(name)?.describe().await
    }

    async fn abi_generation(&self, name: &PluginName) -> Result<AbiGeneration, PluginError> {
        Ok(self.plugin(name)?.generation())
    }

    async fn set_grants(&self, name: &PluginName, grants: GrantSet) -> Result<(), PluginError> {
        self.plugin(name)?.set_grants(grants);
        Ok(())
    }

    async fn observe(
        &self,
        name: &PluginName,
        config: &Config,
        deadline: Instant,
    ) -> Result<Evidence, PluginError> {
        self.plugin(name)?.observe_until(config, deadline).await
    }

    async fn warm_pool(&self, name: &PluginName, count: usize) -> Result<usize, PluginError> {
        self.plugin(name)?.warm_pool(count).await
    }

    async fn close(&self, name: &PluginName) -> Result<(), PluginError> {
        self.close_plugin(name)
    }
}

#[async_trait]
impl SchemaProvider for Runtime {
    async fn plugin_schema(&self, name: &PluginName) -> Result<Option<ConfigSchema>, PluginError> {
        self.plugin(name)?.schema().await
    }
}
