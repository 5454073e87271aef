//! `grants.yaml`: grants the user chose to keep, per plugin name and wasm digest.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use reglet_domain::GrantSet;
use serde_json::Value;

use crate::yaml::{self, Limits};

/// The saved grants of one plugin build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEntry {
    /// The plugin's name.
    pub plugin: String,
    /// The sha256 of its wasm, lower-case hex.
    pub sha256: String,
    /// The capabilities, in Reglet's string form.
    pub capabilities: Vec<String>,
}

impl GrantEntry {
    /// The entry as it is written in `grants.yaml`, as a list item.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  - plugin: {}", quote(&self.plugin));
        let _ = writeln!(out, "    sha256: {}", quote(&self.sha256));
        let _ = writeln!(out, "    capabilities:");
        for c in &self.capabilities {
            let _ = writeln!(out, "      - {}", quote(c));
        }
        out
    }
}

fn yaml_problem(e: &yaml::YamlError) -> String {
    format!("line {}: {}", e.mark.line, e.kind)
}

/// Double-quoted: JSON's escapes are YAML's.
fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// `grants.yaml` could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StoreError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// The saved grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantStore {
    /// Where they are kept.
    pub path: Option<PathBuf>,
    /// The entries, in file order.
    pub entries: Vec<GrantEntry>,
}

impl GrantStore {
    /// Where the file lives: beside the system config (`$XDG_CONFIG_HOME/reglet/grants.yaml` when
    /// that folder exists, else `~/.reglet/grants.yaml`).
    pub fn default_path(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
        if let Some(xdg) = xdg_config_home {
            let dir = xdg.join("reglet");
            if dir.is_dir() {
                return Some(dir.join("grants.yaml"));
            }
        }
        home.map(|h| h.join(".reglet").join("grants.yaml"))
    }

    /// Reads `path`; a missing file is an empty store.
    ///
    /// # Errors
    /// The file exists but cannot be read or does not have the expected shape.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let fail = |message: String| StoreError {
            path: path.to_owned(),
            message,
        };
        if !path.exists() {
            return Ok(GrantStore {
                path: Some(path.to_owned()),
                entries: Vec::new(),
            });
        }
        let text = yaml::read_file(path, &Limits::default()).map_err(|e| fail(yaml_problem(&e)))?;
        let doc = yaml::parse(&text, &Limits::default()).map_err(|e| fail(yaml_problem(&e)))?;
        if let Some(problem) = doc.problems.first() {
            return Err(fail(yaml_problem(problem)));
        }
        let json = doc.root.to_json();
        let mut entries = Vec::new();
        let list = match json.get("grants") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => return Err(fail("`grants` must be a list".into())),
        };
        for (i, item) in list.iter().enumerate() {
            let field = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| fail(format!("grants[{i}].{key} must be a string")))
            };
            let capabilities = match item.get("capabilities") {
                Some(Value::Array(c)) => c
                    .iter()
                    .map(|c| {
                        c.as_str().map(str::to_owned).ok_or_else(|| {
                            fail(format!("grants[{i}].capabilities must be strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err(fail(format!("grants[{i}].capabilities must be a list"))),
            };
            for c in &capabilities {
                GrantSet::parse(c).map_err(|e| fail(format!("grants[{i}]: {e}")))?;
            }
            entries.push(GrantEntry {
                plugin: field("plugin")?,
                sha256: field("sha256")?,
                capabilities,
            });
        }
        Ok(GrantStore {
            path: Some(path.to_owned()),
            entries,
        })
    }

    /// What is saved for this plugin build.
    pub fn granted(&self, plugin: &str, sha256: &str) -> GrantSet {
        self.entries
            .iter()
            .filter(|e| e.plugin == plugin && e.sha256 == sha256)
            .flat_map(|e| e.capabilities.iter())
            .filter_map(|c| GrantSet::parse(c).ok())
            .fold(GrantSet::new(), |all, g| all.merge(&g))
    }

    /// Adds `grants` to the entry of this plugin build.
    pub fn add(&mut self, plugin: &str, sha256: &str, grants: &GrantSet) {
        let merged = self.granted(plugin, sha256).merge(grants);
        self.entries
            .retain(|e| !(e.plugin == plugin && e.sha256 == sha256));
        self.entries.push(GrantEntry {
            plugin: plugin.to_owned(),
            sha256: sha256.to_owned(),
            capabilities: merged.to_strings(),
        });
    }

    /// The whole file's text.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from(
            "# Grants reglet gives plugins without asking, by plugin name and the sha256 of its wasm.\n\
             # A plugin whose wasm changes is asked about again.\ngrants:\n",
        );
        for e in &self.entries {
            out.push_str(&e.to_yaml());
        }
        out
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename), mode 0600.
    ///
    /// # Errors
    /// The folder cannot be created or the file cannot be written.
    pub fn save(&self) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Err(StoreError {
                path: PathBuf::from("grants.yaml"),
                message: "no home folder to save grants in".into(),
            });
        };
        write_atomically(path, self.to_yaml().as_bytes()).map_err(|e| StoreError {
            path: path.clone(),
            message: e.to_string(),
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a reader
/// sees the old file or the new one, never half of one.
///
/// # Errors
/// The folder cannot be created or the file cannot be written or renamed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    // A replaced file keeps its permissions (a report a web server reads stays readable); a new
    // one gets the temporary file's owner-only mode, the safe default for grants and reports.
    if let Ok(existing) = std::fs::metadata(path) {
        file.as_file().set_permissions(existing.permissions())?;
    }
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_grants_round_trip_and_are_keyed_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/grants.yaml");
        let mut store = GrantStore::load(&path).unwrap();
        assert!(store.entries.is_empty());
        let grant = GrantSet::parse("fs:read:/etc/hostname").unwrap();
        store.add("file_exists", "abc", &grant);
        store.add(
            "file_exists",
            "abc",
            &GrantSet::parse("fs:read:/etc/hosts").unwrap(),
        );
        store.save().unwrap();
        let again = GrantStore::load(&path).unwrap();
        assert_eq!(again, store);
        assert!(again.granted("file_exists", "abc").contains(&grant));
        assert!(again.granted("file_exists", "other-digest").is_empty());
        assert!(again.granted("other", "abc").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("report.html");
        std::fs::write(&shared, "old").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomically(&shared, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&shared).unwrap(), "new");
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);

        let fresh = dir.path().join("grants.yaml");
        write_atomically(&fresh, b"x").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grants.yaml");
        std::fs::write(
            &path,
            "grants:\n  - plugin: x\n    sha256: y\n    capabilities: [\"fs:read:etc\"]\n",
        )
        .unwrap();
        let err = GrantStore::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("grants.yaml") && err.contains("grants[0]"),
            "{err}"
        );
    }
}
