use reglet_plugin_sdk::{Error, Evidence, Host, Plugin, json, reglet_plugin};
#[derive(Default)]
pub struct Contains;

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Config {
    /// File to read.
    path: String,
    /// Text it must contain.
    needle: String,
}

impl Plugin for Contains {
    type Config = Config;
    const NAME: &'static str = "contains";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Whether a file contains a text";

    fn capabilities() -> reglet_plugin_sdk::Value {
        json!({"fs": {"rules": [{"read": ["**"]}]}})
    }

    fn observe(&self, c: Config, _host: &dyn Host) -> Result<Evidence, Error> {
        let text = std::fs::read_to_string(&c.path)
            .map_err(|e| Error::config("path", format!("{}: {e}", c.path)))?;
        Ok(Evidence::new().with("found", text.contains(&c.needle)))
    }
}

reglet_plugin!(Contains);
