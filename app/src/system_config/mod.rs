//! The system config, `~/.reglet/config.yaml` (or `$XDG_CONFIG_HOME/reglet/config.yaml`), read
//! as Reglet reads it and never written.
//!
//! Reglet's "always grant" choice rewrites this file with nothing but the grants, deleting the
//! user's secrets and redaction settings. Here the file is only read; grants live in their own
//! file. Keys this version does not know are warnings, not errors: the file is shared with
//! Reglet and with newer versions.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::profile::decode::Decoder;
use crate::profile::{Diagnostics, Location, ProfileError, Warning};
use crate::yaml::{self, Limits, Node};

/// How much the user trusts plugins by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityLevel {
    /// Deny broad capabilities.
    Strict,
    /// Ask about broad capabilities (the default).
    #[default]
    Standard,
    /// Grant what is asked.
    Permissive,
}

/// `security:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Security {
    /// `security.level`; an unknown value falls back to standard, as in Reglet, with a warning.
    pub level: SecurityLevel,
    /// `security.custom_broad_patterns`.
    pub custom_broad_patterns: Vec<String>,
}

/// A grant saved by Reglet's "always grant" (`capabilities:` entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCapability {
    /// `fs`, `network`, `exec` or `env`.
    pub kind: String,
    /// The pattern, e.g. `read:/etc/ssh/sshd_config`.
    pub pattern: String,
}

/// `redaction.hash_mode`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HashMode {
    /// Replace secrets by an HMAC instead of `[REDACTED]`.
    pub enabled: bool,
    /// The HMAC key; may be empty, as in Reglet.
    pub salt: String,
}

/// `redaction:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redaction {
    /// Extra regular expressions to redact.
    pub patterns: Vec<String>,
    /// Evidence key paths whose values are redacted whole (`password`, `auth.bearer`).
    pub paths: Vec<String>,
    /// HMAC mode.
    pub hash_mode: HashMode,
    /// Turn the built-in token rules off (documented by Reglet, not wired there).
    pub disable_gitleaks: bool,
}

/// `sensitive_data.secrets`: where `{{ secret "name" }}` values come from, tried in this order.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretSources {
    /// Name → value, for development.
    pub local: BTreeMap<String, String>,
    /// Name → environment variable.
    pub env: BTreeMap<String, String>,
    /// Name → file whose trimmed content is the value; a relative path is relative to the
    /// config file's folder.
    pub files: BTreeMap<String, PathBuf>,
}

impl fmt::Debug for SecretSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSources")
            .field("local", &self.local.keys().collect::<Vec<_>>())
            .field("env", &self.env)
            .field("files", &self.files)
            .finish()
    }
}

/// The system config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SystemConfig {
    /// The file read; `None` when none exists and defaults apply.
    pub path: Option<PathBuf>,
    /// `security:`.
    pub security: Security,
    /// `capabilities:`, grants saved by Reglet.
    pub capabilities: Vec<SavedCapability>,
    /// `redaction:`.
    pub redaction: Redaction,
    /// `sensitive_data.secrets`.
    pub secrets: SecretSources,
    /// `wasm_memory_limit_mb`.
    pub wasm_memory_limit_mb: Option<u64>,
    /// `max_evidence_size_bytes`.
    pub max_evidence_size_bytes: Option<u64>,
    /// Keys ignored and values replaced by defaults.
    pub warnings: Vec<Warning>,
}

impl SystemConfig {
    /// The grants Reglet saved (`capabilities:`), as one set; entries that do not parse as a
    /// grant are left out. Reglet saved them for every plugin at once, so they count as already
    /// given to any plugin, which still gets no more than its configs imply.
    pub fn reglet_grants(&self) -> reglet_domain::GrantSet {
        self.capabilities
            .iter()
            .filter_map(|c| {
                reglet_domain::GrantSet::parse(&format!("{}:{}", c.kind, c.pattern)).ok()
            })
            .fold(reglet_domain::GrantSet::new(), |all, g| all.merge(&g))
    }

    /// Reads the config at `path`, which must exist (`--config PATH`).
    ///
    /// # Errors
    /// The file cannot be read, is not valid YAML, or has values of the wrong type.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        let file: Arc<Path> = Arc::from(path);
        let text = yaml::read_file(path, &Limits::default()).map_err(|e| {
            Diagnostics::new(vec![ProfileError::Io {
                location: Location::file(&file),
                path: path.to_owned(),
                message: e.kind.to_string(),
            }])
        })?;
        Self::parse(&text, path)
    }

    /// The files looked for, in order: `$XDG_CONFIG_HOME/reglet/config.yaml` when that variable
    /// is set, then `~/.reglet/config.yaml`.
    pub fn candidates(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(xdg) = xdg_config_home.filter(|p| p.is_absolute()) {
            out.push(xdg.join("reglet").join("config.yaml"));
        }
        if let Some(home) = home {
            out.push(home.join(".reglet").join("config.yaml"));
        }
        out
    }

    /// Reads the first candidate that exists; defaults when none does. Uses `$XDG_CONFIG_HOME`
    /// and the home directory.
    ///
    /// # Errors
    /// As [`load`](Self::load), for the file found.
    pub fn discover() -> Result<Self, Diagnostics> {
        let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
        Self::discover_in(xdg.as_deref(), dirs::home_dir().as_deref())
    }

    /// [`discover`](Self::discover) with the directories given.
    ///
    /// # Errors
    /// As [`load`](Self::load), for the file found.
    pub fn discover_in(
        xdg_config_home: Option<&Path>,
        home: Option<&Path>,
    ) -> Result<Self, Diagnostics> {
        let found: Vec<PathBuf> = Self::candidates(xdg_config_home, home)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        let Some(first) = found.first() else {
            return Ok(SystemConfig::default());
        };
        let mut config = Self::load(first)?;
        for ignored in &found[1..] {
            let file: Arc<Path> = Arc::from(first.as_path());
            config.warnings.push(Warning {
                location: Location::file(&file),
                message: format!("{} is ignored because this file exists", ignored.display()),
            });
        }
        Ok(config)
    }

    /// Parses config text; `path` names it in errors and anchors relative secret files.
    ///
    /// # Errors
    /// Invalid YAML or values of the wrong type (unknown keys are only warnings).
    pub fn parse(text: &str, path: &Path) -> Result<Self, Diagnostics> {
        let file: Arc<Path> = Arc::from(path);
        let doc = yaml::parse(text, &Limits::default()).map_err(|e| {
            Diagnostics::new(vec![ProfileError::Yaml {
                location: Location::new(&file, e.mark),
                message: e.kind.to_string(),
            }])
        })?;
        let mut d = Decoder::new(Arc::clone(&file));
        d.lenient = true;
        for p in doc.problems {
            d.errors.push(ProfileError::Yaml {
                location: Location::new(&file, p.mark),
                message: p.kind.to_string(),
            });
        }
        let mut config = SystemConfig {
            path: Some(path.to_owned()),
            ..SystemConfig::default()
        };
        decode(
            &mut d,
            &doc.root,
            &mut config,
            path.parent().unwrap_or(Path::new(".")),
        );
        config.warnings = d.warnings;
        if d.errors.is_empty() {
            Ok(config)
        } else {
            Err(Diagnostics::new(d.errors))
        }
    }
}

const TOP: &[&str] = &[
    "security",
    "capabilities",
    "redaction",
    "sensitive_data",
    "wasm_memory_limit_mb",
    "max_evidence_size_bytes",
];

fn decode(d: &mut Decoder, root: &Node, config: &mut SystemConfig, base: &Path) {
    let Some(top) = d.mapping("config", root, "the system config", TOP, &[]) else {
        return;
    };
    if let Some(node) = top.get("security") {
        decode_security(d, node, &mut config.security);
    }
    if let Some(node) = top.get("capabilities") {
        match node.as_seq() {
            Some(items) => {
                for item in items {
                    let Some(f) = d.mapping(
                        "capabilities",
                        item,
                        "a capability",
                        &["kind", "pattern"],
                        &[],
                    ) else {
                        continue;
                    };
                    let kind = f.get("kind").and_then(|n| d.string("kind", n));
                    let pattern = f.get("pattern").and_then(|n| d.string("pattern", n));
                    if let (Some(kind), Some(pattern)) = (kind, pattern) {
                        config.capabilities.push(SavedCapability {
                            kind: kind.value,
                            pattern: pattern.value,
                        });
                    }
                }
            }
            None => d.wrong_type("capabilities", node, "a list"),
        }
    }
    if let Some(node) = top.get("redaction") {
        decode_redaction(d, node, &mut config.redaction);
    }
    if let Some(node) = top.get("sensitive_data") {
        decode_secrets(d, node, &mut config.secrets, base);
    }
    for (key, slot) in [
        ("wasm_memory_limit_mb", &mut config.wasm_memory_limit_mb),
        (
            "max_evidence_size_bytes",
            &mut config.max_evidence_size_bytes,
        ),
    ] {
        if let Some(node) = top.get(key) {
            *slot = d.count(key, node, u32::MAX).map(|n| u64::from(n.value));
        }
    }
}

fn decode_security(d: &mut Decoder, node: &Node, out: &mut Security) {
    let Some(f) = d.mapping(
        "security",
        node,
        "`security`",
        &["level", "custom_broad_patterns"],
        &[],
    ) else {
        return;
    };
    if let Some(level) = f.get("level").and_then(|n| d.string("level", n)) {
        out.level = match level.value.as_str() {
            "strict" => SecurityLevel::Strict,
            "standard" => SecurityLevel::Standard,
            "permissive" => SecurityLevel::Permissive,
            other => {
                d.warnings.push(Warning {
                    location: level.at,
                    message: format!(
                        "security level {other:?} is not strict, standard or permissive; using standard"
                    ),
                });
                SecurityLevel::Standard
            }
        };
    }
    if let Some(n) = f.get("custom_broad_patterns") {
        out.custom_broad_patterns = d
            .string_list("custom_broad_patterns", n)
            .into_iter()
            .map(|s| s.value)
            .collect();
    }
}

fn decode_redaction(d: &mut Decoder, node: &Node, out: &mut Redaction) {
    let known = ["patterns", "paths", "hash_mode", "disable_gitleaks"];
    let Some(f) = d.mapping("redaction", node, "`redaction`", &known, &[]) else {
        return;
    };
    if let Some(n) = f.get("patterns") {
        out.patterns = d
            .string_list("patterns", n)
            .into_iter()
            .map(|s| s.value)
            .collect();
    }
    if let Some(n) = f.get("paths") {
        out.paths = d
            .string_list("paths", n)
            .into_iter()
            .map(|s| s.value)
            .collect();
    }
    if let Some(n) = f.get("disable_gitleaks") {
        out.disable_gitleaks = d.boolean("disable_gitleaks", n).unwrap_or_default();
    }
    if let Some(n) = f.get("hash_mode")
        && let Some(h) = d.mapping(
            "hash_mode",
            n,
            "`redaction.hash_mode`",
            &["enabled", "salt"],
            &[],
        )
    {
        if let Some(n) = h.get("enabled") {
            out.hash_mode.enabled = d.boolean("enabled", n).unwrap_or_default();
        }
        if let Some(n) = h.get("salt") {
            out.hash_mode.salt = d.string("salt", n).map(|s| s.value).unwrap_or_default();
        }
    }
}

fn decode_secrets(d: &mut Decoder, node: &Node, out: &mut SecretSources, base: &Path) {
    let Some(f) = d.mapping(
        "sensitive_data",
        node,
        "`sensitive_data`",
        &["secrets"],
        &[],
    ) else {
        return;
    };
    let Some(secrets) = f.get("secrets") else {
        return;
    };
    let Some(s) = d.mapping(
        "secrets",
        secrets,
        "`sensitive_data.secrets`",
        &["local", "env", "files"],
        &[],
    ) else {
        return;
    };
    let pairs = |d: &mut Decoder, key: &str| match s.get(key) {
        Some(n) => d.string_map(key, n),
        None => Vec::new(),
    };
    out.local = pairs(d, "local")
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect();
    out.env = pairs(d, "env")
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect();
    out.files = pairs(d, "files")
        .into_iter()
        .map(|(k, v)| (k.value, base.join(v.value)))
        .collect();
}

#[cfg(test)]
mod tests;
