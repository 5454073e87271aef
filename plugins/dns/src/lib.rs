//! The `dns` plugin: resolves a name through the host's `dns_lookup` (the system's resolver, or
//! the configured `nameserver`) and reports the records with Reglet's field names. A name that
//! does not exist is evidence (`is_not_found`), not an error; a timeout is an error the engine
//! may retry.

use std::time::Instant;

use reglet_plugin_sdk::host::{Context, DnsRequest};
use reglet_plugin_sdk::{Error, Evidence, Host, Plugin, Value, json, reglet_plugin};

/// Record types the host resolves.
const RECORD_TYPES: [&str; 6] = ["A", "AAAA", "CNAME", "MX", "TXT", "NS"];

/// The plugin.
#[derive(Default)]
pub struct Dns;

/// One lookup.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The name to resolve.
    pub hostname: String,
    /// A, AAAA, CNAME, MX, TXT or NS (default A), in either case.
    #[serde(default)]
    #[schemars(regex(
        pattern = r"^(?:[Aa]|[Aa]{4}|[Cc][Nn][Aa][Mm][Ee]|[Mm][Xx]|[Tt][Xx][Tt]|[Nn][Ss])$"
    ))]
    pub record_type: Option<String>,
    /// `host` or `host:port` of a resolver to ask instead of the system's (needs its own grant).
    #[serde(default)]
    pub nameserver: Option<String>,
    /// Milliseconds the lookup may take (default: the host's DNS timeout).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl Plugin for Dns {
    type Config = Config;
    const NAME: &'static str = "dns";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str = "Resolve a name and check its DNS records";

    /// DNS only: port 53 of the resolver; the host name is the one configured.
    fn capabilities() -> Value {
        json!({"network": {"rules": [{"hosts": ["*"], "ports": ["53"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        let hostname = config.hostname.trim().trim_end_matches('.').to_owned();
        if hostname.is_empty() {
            return Err(Error::config("hostname", "hostname is required"));
        }
        let record_type = config
            .record_type
            .as_deref()
            .unwrap_or("A")
            .to_ascii_uppercase();
        if !RECORD_TYPES.contains(&record_type.as_str()) {
            return Err(Error::config(
                "record_type",
                format!(
                    "record_type {record_type:?} is not one of {}",
                    RECORD_TYPES.join(", ")
                ),
            ));
        }
        let mut evidence = Evidence::new()
            .with("hostname", hostname.clone())
            .with("record_type", record_type.clone());
        if let Some(ns) = &config.nameserver {
            evidence.set("nameserver", ns.clone());
        }
        let started = Instant::now();
        let answer = host.dns_lookup(&DnsRequest {
            context: Context {
                timeout_ms: config.timeout_ms.unwrap_or(0),
            },
            hostname: hostname.clone(),
            record_type: record_type.clone(),
            nameserver: config.nameserver.filter(|n| !n.is_empty()),
        });
        let query_time_ms = started.elapsed().as_millis() as u64;
        evidence.set("query_time_ms", query_time_ms);
        match answer {
            Ok(answer) => {
                let count = if record_type == "MX" {
                    answer.mx_records.len()
                } else {
                    answer.records.len()
                };
                // MX answers also list their hosts in `records`, so `records` works for every type.
                let records: Vec<String> = if record_type == "MX" && answer.records.is_empty() {
                    answer.mx_records.iter().map(|m| m.host.clone()).collect()
                } else {
                    answer.records
                };
                evidence.set("records", records);
                evidence.set("record_count", count);
                evidence.set("mx_records", json!(answer.mx_records));
                evidence.set("is_timeout", false);
                evidence.set("is_not_found", false);
                Ok(evidence)
            }
            Err(e) if e.is_not_found => {
                evidence.set("records", Vec::<String>::new());
                evidence.set("record_count", 0);
                evidence.set("mx_records", json!([]));
                evidence.set("is_timeout", false);
                evidence.set("is_not_found", true);
                Ok(evidence.failed(format!("{hostname} has no {record_type} records")))
            }
            Err(e) => Err(e),
        }
    }
}

reglet_plugin!(Dns);

#[cfg(test)]
mod tests;
