//! The Gen 2 JSON/YAML shape of a grant set.
//!
//! ```json
//! {"network": {"rules": [{"hosts": ["api.example.com"], "ports": ["443", "8000-9000"]}],
//!              "allow_private": false},
//!  "fs":      {"rules": [{"read": ["/etc/ssh/**"], "write": ["/tmp/**"]}]},
//!  "env":     {"vars": ["AWS_REGION"]},
//!  "exec":    {"commands": ["/usr/bin/systemctl", "/usr/bin/uptime:", "env:LANGUAGE"]}}
//! ```
//!
//! `exec.commands` entries are written as after `exec:` in the string form, so pinned arguments
//! (`/usr/bin/systemctl:is-active *`) and variable grants (`env:NAME`) travel in the same list.
//!
//! Sections are optional. `env.variables` is read as a synonym of `env.vars`. A `kv` section is
//! accepted and ignored: no host function offers key-value storage, so it could grant nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::{
    EnvPattern, FsAccess, FsGrant, GrantParseError, GrantSet, HostPattern, NetworkGrant,
    PathPattern, PortRange,
};
use crate::go_json::{self, GoDecode};
use crate::go_struct;

/// `hostfunc.GrantSet` as the plugin or the user wrote it, before its patterns are validated.
#[derive(Default)]
pub(crate) struct WireGrantSet {
    network: Option<WireNetwork>,
    fs: Option<WireFs>,
    env: Option<WireEnv>,
    exec: Option<WireExec>,
}

#[derive(Default)]
struct WireNetwork {
    rules: Vec<WireNetworkRule>,
    allow_private: bool,
}

#[derive(Default)]
struct WireNetworkRule {
    hosts: Vec<String>,
    ports: Vec<PortItem>,
}

/// A port or port range, written as a string (`"443"`, `"8000-9000"`) or a bare number.
#[derive(Deserialize)]
#[serde(untagged)]
enum PortItem {
    Number(u64),
    Text(String),
}

impl Default for PortItem {
    fn default() -> Self {
        PortItem::Text(String::new())
    }
}

impl GoDecode for PortItem {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        if let Some(port) = Option::<PortItem>::deserialize(deserializer)? {
            *self = port;
        }
        Ok(())
    }
}

#[derive(Default)]
struct WireFs {
    rules: Vec<WireFsRule>,
}

#[derive(Default)]
struct WireFsRule {
    read: Vec<String>,
    write: Vec<String>,
}

#[derive(Default)]
struct WireEnv {
    vars: Vec<String>,
    variables: Vec<String>,
}

#[derive(Default)]
struct WireExec {
    commands: Vec<String>,
}

go_struct!(WireGrantSet { "network" => network, "fs" => fs, "env" => env, "exec" => exec });
go_struct!(WireNetwork { "rules" => rules, "allow_private" => allow_private });
go_struct!(WireNetworkRule { "hosts" => hosts, "ports" => ports });
go_struct!(WireFs { "rules" => rules });
go_struct!(WireFsRule { "read" => read, "write" => write });
go_struct!(WireEnv { "vars" => vars, "variables" => variables });
go_struct!(WireExec { "commands" => commands });

impl WireGrantSet {
    /// Validates every pattern into a [`GrantSet`].
    pub(crate) fn into_grants(self) -> Result<GrantSet, GrantParseError> {
        let mut set = GrantSet::new();
        let network = self.network.unwrap_or_default();
        for rule in network.rules {
            let hosts = rule
                .hosts
                .iter()
                .map(|h| HostPattern::parse(h))
                .collect::<Result<Vec<_>, _>>()?;
            let ports = rule
                .ports
                .iter()
                .map(|p| match p {
                    PortItem::Number(n) => PortRange::parse(&n.to_string()),
                    PortItem::Text(t) => PortRange::parse(t),
                })
                .collect::<Result<Vec<_>, _>>()?;
            for host in &hosts {
                for ports in &ports {
                    set.network.insert(NetworkGrant {
                        host: host.clone(),
                        ports: *ports,
                    });
                }
            }
        }
        set.private_networks = network.allow_private;
        for rule in self.fs.unwrap_or_default().rules {
            for (access, globs) in [(FsAccess::Read, rule.read), (FsAccess::Write, rule.write)] {
                for glob in globs {
                    set.fs.insert(FsGrant {
                        access,
                        pattern: PathPattern::parse(&glob)?,
                    });
                }
            }
        }
        let env = self.env.unwrap_or_default();
        for var in env.vars.iter().chain(&env.variables) {
            set.env.insert(EnvPattern::parse(var)?);
        }
        for command in &self.exec.unwrap_or_default().commands {
            set.insert_exec(command)?;
        }
        Ok(set)
    }
}

/// Reads the JSON (or YAML) shape above by Go's rules and validates every pattern.
impl<'de> Deserialize<'de> for GrantSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize::<WireGrantSet, D>(deserializer)?
            .into_grants()
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

impl Serialize for GrantSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.network.is_empty() || self.private_networks {
            let mut ports_by_host: BTreeMap<&HostPattern, Vec<PortRange>> = BTreeMap::new();
            for grant in &self.network {
                ports_by_host
                    .entry(&grant.host)
                    .or_default()
                    .push(grant.ports);
            }
            let mut hosts_by_ports: BTreeMap<Vec<PortRange>, Vec<&HostPattern>> = BTreeMap::new();
            for (host, ports) in ports_by_host {
                hosts_by_ports.entry(ports).or_default().push(host);
            }
            let rules: Vec<Value> = hosts_by_ports
                .into_iter()
                .map(|(ports, hosts)| {
                    json!({
                        "hosts": hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "ports": ports.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let mut network = json!({ "rules": rules });
            if self.private_networks {
                network["allow_private"] = Value::Bool(true);
            }
            map.serialize_entry("network", &network)?;
        }
        if !self.fs.is_empty() {
            let globs = |access: FsAccess| -> Vec<String> {
                self.fs
                    .iter()
                    .filter(|g| g.access == access)
                    .map(|g| g.pattern.to_string())
                    .collect()
            };
            let mut rule = serde_json::Map::new();
            for (key, access) in [("read", FsAccess::Read), ("write", FsAccess::Write)] {
                let list = globs(access);
                if !list.is_empty() {
                    rule.insert(key.to_owned(), json!(list));
                }
            }
            map.serialize_entry("fs", &json!({ "rules": [rule] }))?;
        }
        if !self.env.is_empty() {
            let vars: BTreeSet<String> = self.env.iter().map(ToString::to_string).collect();
            map.serialize_entry("env", &json!({ "vars": vars }))?;
        }
        if !self.exec.is_empty() || !self.exec_env.is_empty() {
            let commands: Vec<String> = self
                .exec
                .iter()
                .map(ToString::to_string)
                .chain(self.exec_env.iter().map(|e| format!("env:{e}")))
                .collect();
            map.serialize_entry("exec", &json!({ "commands": commands }))?;
        }
        map.end()
    }
}
