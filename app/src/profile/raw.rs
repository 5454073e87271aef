//! One profile file as written: decoded from YAML, not yet merged with its parents.

use std::time::Duration;

use serde_json::{Map, Value};

use super::decode::{Decoder, Spanned};
use super::error::{Location, ProfileError};
use super::model::{Backoff, Severity};
use crate::yaml::Node;

const TOP: &[&str] = &["profile", "extends", "plugins", "vars", "controls"];
const METADATA: &[&str] = &["name", "version", "description"];
const CONTROLS: &[&str] = &["defaults", "items"];
const RETRY: &[&str] = &["retries", "retry_delay", "retry_backoff", "retry_max_delay"];
const DEFAULTS: &[&str] = &[
    "severity",
    "owner",
    "tags",
    "timeout",
    "retries",
    "retry_delay",
    "retry_backoff",
    "retry_max_delay",
];
const CONTROL: &[&str] = &[
    "id",
    "name",
    "description",
    "severity",
    "owner",
    "tags",
    "depends_on",
    "timeout",
    "retries",
    "retry_delay",
    "retry_backoff",
    "retry_max_delay",
    "observations",
];
/// Keys Reglet's documentation shows on controls that Reglet itself ignores.
const CONTROL_TOLERATED: &[&str] = &[
    "remediation",
    "mappings",
    "catalogs",
    "skip_on_dependency_failure",
];
const OBSERVATION: &[&str] = &["plugin", "config", "expect"];
/// Reglet's examples show per-observation `capabilities`; grants come from the config here.
const OBSERVATION_TOLERATED: &[&str] = &["capabilities"];

/// Most retries a control may ask for.
pub(crate) const MAX_RETRIES: u32 = 100;

/// Retry settings as written, each optional.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRetry {
    pub retries: Option<Spanned<u32>>,
    pub delay: Option<Spanned<Duration>>,
    pub backoff: Option<Spanned<Backoff>>,
    pub max_delay: Option<Spanned<Duration>>,
}

/// `controls.defaults`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawDefaults {
    pub severity: Option<Spanned<Severity>>,
    pub owner: Option<Spanned<String>>,
    pub tags: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<Duration>>,
    pub retry: RawRetry,
}

#[derive(Debug, Clone)]
pub(crate) struct RawObservation {
    pub at: Location,
    pub plugin: Option<Spanned<String>>,
    pub config: Option<Node>,
    pub expect: Vec<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawControl {
    pub at: Location,
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub severity: Option<Spanned<Severity>>,
    pub owner: Option<Spanned<String>>,
    pub tags: Vec<Spanned<String>>,
    pub depends_on: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<Duration>>,
    pub retry: RawRetry,
    pub observations: Vec<RawObservation>,
    pub has_observations: bool,
}

/// A profile file, or the merge of several.
#[derive(Debug, Clone)]
pub(crate) struct RawProfile {
    pub at: Location,
    pub name: Option<Spanned<String>>,
    pub version: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub extends: Vec<Spanned<String>>,
    pub plugins: Vec<Spanned<String>>,
    pub vars: Map<String, Value>,
    pub defaults: RawDefaults,
    pub controls: Vec<RawControl>,
}

/// Decodes a file's root node.
pub(crate) fn decode(d: &mut Decoder, root: &Node) -> RawProfile {
    let mut p = RawProfile {
        at: Location::file(&d.file),
        name: None,
        version: None,
        description: None,
        extends: Vec::new(),
        plugins: Vec::new(),
        vars: Map::new(),
        defaults: RawDefaults::default(),
        controls: Vec::new(),
    };
    let Some(top) = d.mapping("profile file", root, "the profile", TOP, &[]) else {
        return p;
    };
    if let Some(node) = top.get("profile")
        && let Some(m) = d.mapping("profile", node, "`profile`", METADATA, &[])
    {
        p.name = m.get("name").and_then(|n| d.string("name", n));
        p.version = m.get("version").and_then(|n| d.string("version", n));
        p.description = m
            .get("description")
            .and_then(|n| d.string("description", n));
    }
    if let Some(node) = top.get("extends") {
        p.extends = d.string_or_list("extends", node);
    }
    if let Some(node) = top.get("plugins") {
        p.plugins = d.string_list("plugins", node);
    }
    if let Some(node) = top.get("vars") {
        match node.to_json() {
            Value::Object(map) => p.vars = map,
            _ => d.wrong_type("vars", node, "a mapping"),
        }
    }
    if let Some(node) = top.get("controls")
        && let Some(c) = d.mapping("controls", node, "`controls`", CONTROLS, &[])
    {
        if let Some(node) = c.get("defaults") {
            p.defaults = decode_defaults(d, node);
        }
        if let Some(node) = c.get("items") {
            match node.as_seq() {
                Some(items) => {
                    p.controls = items.iter().filter_map(|i| decode_control(d, i)).collect()
                }
                None => d.wrong_type("items", node, "a list of controls"),
            }
        }
    }
    check_duplicate_ids(d, &p.controls);
    p
}

fn decode_retry(d: &mut Decoder, f: &super::decode::Fields<'_>) -> RawRetry {
    debug_assert!(
        RETRY
            .iter()
            .all(|k| DEFAULTS.contains(k) && CONTROL.contains(k))
    );
    RawRetry {
        retries: f
            .get("retries")
            .and_then(|n| d.count("retries", n, MAX_RETRIES)),
        delay: f
            .get("retry_delay")
            .and_then(|n| d.duration("retry_delay", n)),
        backoff: f
            .get("retry_backoff")
            .and_then(|n| d.parsed("retry_backoff", n, str::parse)),
        max_delay: f
            .get("retry_max_delay")
            .and_then(|n| d.duration("retry_max_delay", n)),
    }
}

fn decode_defaults(d: &mut Decoder, node: &Node) -> RawDefaults {
    let Some(f) = d.mapping("defaults", node, "`controls.defaults`", DEFAULTS, &[]) else {
        return RawDefaults::default();
    };
    RawDefaults {
        severity: f
            .get("severity")
            .and_then(|n| d.parsed("severity", n, str::parse)),
        owner: f.get("owner").and_then(|n| d.string("owner", n)),
        tags: f
            .get("tags")
            .map(|n| d.string_list("tags", n))
            .unwrap_or_default(),
        timeout: f.get("timeout").and_then(|n| d.duration("timeout", n)),
        retry: decode_retry(d, &f),
    }
}

fn decode_control(d: &mut Decoder, node: &Node) -> Option<RawControl> {
    let f = d.mapping("items", node, "a control", CONTROL, CONTROL_TOLERATED)?;
    let observations_node = f.get("observations");
    let observations = match observations_node {
        Some(n) => match n.as_seq() {
            Some(items) => items
                .iter()
                .filter_map(|o| decode_observation(d, o))
                .collect(),
            None => {
                d.wrong_type("observations", n, "a list of observations");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    Some(RawControl {
        at: d.at(node),
        id: f.get("id").and_then(|n| d.string("id", n)),
        name: f.get("name").and_then(|n| d.string("name", n)),
        description: f
            .get("description")
            .and_then(|n| d.string("description", n)),
        severity: f
            .get("severity")
            .and_then(|n| d.parsed("severity", n, str::parse)),
        owner: f.get("owner").and_then(|n| d.string("owner", n)),
        tags: f
            .get("tags")
            .map(|n| d.string_list("tags", n))
            .unwrap_or_default(),
        depends_on: f
            .get("depends_on")
            .map(|n| d.string_list("depends_on", n))
            .unwrap_or_default(),
        timeout: f.get("timeout").and_then(|n| d.duration("timeout", n)),
        retry: decode_retry(d, &f),
        has_observations: observations_node.is_some(),
        observations,
    })
}

fn decode_observation(d: &mut Decoder, node: &Node) -> Option<RawObservation> {
    let f = d.mapping(
        "observations",
        node,
        "an observation",
        OBSERVATION,
        OBSERVATION_TOLERATED,
    )?;
    let config = f.get("config").cloned();
    if let Some(c) = &config
        && c.as_map().is_none()
    {
        d.wrong_type("config", c, "a mapping");
    }
    Some(RawObservation {
        at: d.at(node),
        plugin: f.get("plugin").and_then(|n| d.string("plugin", n)),
        config: config.filter(|c| c.as_map().is_some()),
        expect: f
            .get("expect")
            .map(|n| d.string_or_list("expect", n))
            .unwrap_or_default(),
    })
}

fn check_duplicate_ids(d: &mut Decoder, controls: &[RawControl]) {
    let mut first: std::collections::HashMap<&str, &Location> = std::collections::HashMap::new();
    for id in controls.iter().filter_map(|c| c.id.as_ref()) {
        match first.get(id.value.as_str()) {
            Some(at) => d.errors.push(ProfileError::DuplicateControlId {
                location: id.at.clone(),
                id: id.value.clone(),
                first: (*at).clone(),
            }),
            None => {
                first.insert(&id.value, &id.at);
            }
        }
    }
}
