//! The `smtp` plugin: connects to a mail server through the host's `smtp_connect` (plain,
//! implicit TLS or STARTTLS) and reports its banner and TLS with Reglet's field names. Reglet's
//! SMTP plugin never worked; this one is tested against a loopback server with and without
//! STARTTLS. A server that cannot be reached is failed evidence; a refusal is an error.

use reglet_plugin_sdk::host::{Context, SmtpRequest};
use reglet_plugin_sdk::{Error, ErrorType, Evidence, Host, Plugin, Value, json, reglet_plugin};

/// Connect timeout when the config sets none.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The plugin.
#[derive(Default)]
pub struct Smtp;

/// One connection.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Mail server.
    pub host: String,
    /// Port: 25, 465 (implicit TLS) or 587 (submission) usually.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Milliseconds to connect and talk before giving up (default 10000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// TLS from the first byte (port 465).
    #[serde(default)]
    pub tls: bool,
    /// Upgrade with STARTTLS after the greeting.
    #[serde(default)]
    pub starttls: bool,
}

impl Plugin for Smtp {
    type Config = Config;
    const NAME: &'static str = "smtp";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str = "Connect to an SMTP server and check its banner and TLS";

    /// Outbound connections; the host and port granted are the configured ones.
    fn capabilities() -> Value {
        json!({"network": {"rules": [{"hosts": ["*"], "ports": ["*"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        let server = config.host.trim();
        if server.is_empty() {
            return Err(Error::config("host", "host is required"));
        }
        if config.port == 0 {
            return Err(Error::config("port", "port must be from 1 to 65535"));
        }
        if config.tls && config.starttls {
            return Err(Error::config(
                "starttls",
                "tls (implicit, port 465) and starttls cannot both be set",
            ));
        }
        let timeout_ms = config.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let answer = host.smtp_connect(&SmtpRequest {
            context: Context { timeout_ms },
            host: server.to_owned(),
            port: config.port.to_string(),
            timeout_ms,
            tls: config.tls,
            starttls: config.starttls,
        })?;
        if let Some(e) = &answer.error
            && !answer.connected
            && !matches!(e.kind, ErrorType::Network | ErrorType::Timeout)
        {
            return Err(e.clone());
        }
        let mut evidence = Evidence::new()
            .with("connected", answer.connected)
            .with("address", answer.address)
            .with("response_time_ms", answer.response_time_ms)
            .with("banner", answer.banner)
            .with("tls", answer.tls)
            .with("starttls", config.starttls);
        if answer.tls {
            evidence.set("tls_version", answer.tls_version);
            evidence.set("tls_cipher_suite", answer.tls_cipher_suite);
            evidence.set("tls_server_name", answer.tls_server_name);
        }
        match answer.error {
            Some(e) => {
                evidence.set("error", e.message.clone());
                Ok(evidence.failed(format!("{server}:{}: {}", config.port, e.message)))
            }
            None if !answer.connected => Ok(evidence.failed("connection failed")),
            None => Ok(evidence),
        }
    }
}

reglet_plugin!(Smtp);

#[cfg(test)]
mod tests;
