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
    EnvPattern, FsAccess, FsGrant, GrantSet, HostPattern, NetworkGrant, PathPattern, PortRange,
};
use crate::wire::{LEAF, Shape, null_as_default};

pub(crate) static GRANT_SET_SHAPE: Shape = Shape::Object(&[
    ("network", &NETWORK_SHAPE),
    ("fs", &FS_SHAPE),
    ("env", &ENV_SHAPE),
    ("exec", &EXEC_SHAPE),
    ("kv", &LEAF),
]);
static NETWORK_SHAPE: Shape =
    Shape::Object(&[("rules", &NET_RULES_SHAPE), ("allow_private", &LEAF)]);
static NET_RULES_SHAPE: Shape = Shape::ListOf(&NET_RULE_SHAPE);
static NET_RULE_SHAPE: Shape = Shape::Object(&[("hosts", &LEAF), ("ports", &LEAF)]);
static FS_SHAPE: Shape = Shape::Object(&[("rules", &FS_RULES_SHAPE)]);
static FS_RULES_SHAPE: Shape = Shape::ListOf(&FS_RULE_SHAPE);
static FS_RULE_SHAPE: Shape = Shape::Object(&[("read", &LEAF), ("write", &LEAF)]);
static ENV_SHAPE: Shape = Shape::Object(&[("vars", &LEAF), ("variables", &LEAF)]);
static EXEC_SHAPE: Shape = Shape::Object(&[("commands", &LEAF)]);

#[derive(Deserialize)]
struct WireGrantSet {
    #[serde(default, deserialize_with = "null_as_default")]
    network: WireNetwork,
    #[serde(default, deserialize_with = "null_as_default")]
    fs: WireFs,
    #[serde(default, deserialize_with = "null_as_default")]
    env: WireEnv,
    #[serde(default, deserialize_with = "null_as_default")]
    exec: WireExec,
    #[serde(default)]
    #[allow(dead_code)]
    kv: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireNetwork {
    #[serde(default, deserialize_with = "null_as_default")]
    rules: Vec<WireNetworkRule>,
    #[serde(default, deserialize_with = "null_as_default")]
    allow_private: bool,
}

#[derive(Deserialize)]
struct WireNetworkRule {
    #[serde(default, deserialize_with = "null_as_default")]
    hosts: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    ports: Vec<PortItem>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PortItem {
    Number(u64),
    Text(String),
}

#[derive(Deserialize, Default)]
struct WireFs {
    #[serde(default, deserialize_with = "null_as_default")]
    rules: Vec<WireFsRule>,
}

#[derive(Deserialize)]
struct WireFsRule {
    #[serde(default, deserialize_with = "null_as_default")]
    read: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    write: Vec<String>,
}

#[derive(Deserialize, Default)]
struct WireEnv {
    #[serde(default, deserialize_with = "null_as_default")]
    vars: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    variables: Vec<String>,
}

#[derive(Deserialize, Default)]
struct WireExec {
    #[serde(default, deserialize_with = "null_as_default")]
    commands: Vec<String>,
}

impl<'de> Deserialize<'de> for GrantSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireGrantSet::deserialize(deserializer)?;
        let mut set = GrantSet::new();
        let err = |e: super::GrantParseError| serde::de::Error::custom(e.to_string());
        for rule in wire.network.rules {
            let hosts = rule
                .hosts
                .iter()
                .map(|h| HostPattern::parse(h))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            let ports = rule
                .ports
                .iter()
                .map(|p| match p {
                    PortItem::Number(n) => PortRange::parse(&n.to_string()),
                    PortItem::Text(t) => PortRange::parse(t),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            for host in &hosts {
                for ports in &ports {
                    set.network.insert(NetworkGrant {
                        host: host.clone(),
                        ports: *ports,
                    });
                }
            }
        }
        set.private_networks = wire.network.allow_private;
        for rule in wire.fs.rules {
            for (access, globs) in [(FsAccess::Read, rule.read), (FsAccess::Write, rule.write)] {
                for glob in globs {
                    set.fs.insert(FsGrant {
                        access,
                        pattern: PathPattern::parse(&glob).map_err(err)?,
                    });
                }
            }
        }
        for var in wire.env.vars.iter().chain(&wire.env.variables) {
            set.env.insert(EnvPattern::parse(var).map_err(err)?);
        }
        for command in &wire.exec.commands {
            set.insert_exec(command).map_err(err)?;
        }
        Ok(set)
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
