//! Reading a profile and its `extends` parents, and merging them as Reglet does.
//!
//! Parents load recursively, paths relative to the extending file; they merge left to right and
//! the extending file is applied last. Merge rules (Reglet's, with the fixes noted):
//!
//! | Element | Rule |
//! |---|---|
//! | `profile` name, version, description | the overlay wins where it sets them |
//! | `vars` | **deep** merge: mappings merge key by key, anything else the overlay wins (Reglet merges top-level keys only, though its docs promise a deep merge) |
//! | `plugins` | concatenated, duplicates removed later, order kept |
//! | `controls.defaults` | severity, owner, timeout and **each retry setting**: the overlay wins (Reglet loses the retry settings); tags: concatenated without duplicates |
//! | `controls.items` | by `id`: the overlay's control replaces the parent's whole, in the parent's place; new ids are appended |
//!
//! A cycle (`a` extends `b` extends `a`) is an error that names the chain; a diamond (two
//! parents sharing a grandparent) is not a cycle.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::decode::{Decoder, Spanned};
use super::error::{Location, ProfileError, Warning};
use super::raw::{RawDefaults, RawProfile, RawRetry, decode};
use crate::yaml::{self, Limits};

/// Reads files and follows `extends`, collecting every error.
pub(crate) struct Loader {
    pub limits: Limits,
    pub max_files: usize,
    pub errors: Vec<ProfileError>,
    pub warnings: Vec<Warning>,
    /// Files read, parents before children.
    pub files: Vec<PathBuf>,
    chain: Vec<PathBuf>,
}

impl Loader {
    pub fn new(limits: Limits, max_files: usize) -> Self {
        Loader {
            limits,
            max_files,
            errors: Vec::new(),
            warnings: Vec::new(),
            files: Vec::new(),
            chain: Vec::new(),
        }
    }

    /// Loads `path` merged with its parents; `asked_at` is the `extends` entry that named it.
    pub fn load(&mut self, path: &Path, asked_at: Option<&Location>) -> Option<RawProfile> {
        // Messages show the path tidied; I/O uses it as given, so symlinked folders behave.
        let shown = normalize(path);
        let file: Arc<Path> = Arc::from(shown.as_path());
        let where_asked = || asked_at.cloned().unwrap_or_else(|| Location::file(&file));
        let canonical = match std::fs::canonicalize(path) {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(ProfileError::Io {
                    location: where_asked(),
                    path: shown.clone(),
                    message: e.to_string(),
                });
                return None;
            }
        };
        if let Some(start) = self.chain.iter().position(|c| *c == canonical) {
            let mut chain = self.chain[start..].to_vec();
            chain.push(canonical);
            self.errors.push(ProfileError::ExtendsCycle {
                location: where_asked(),
                chain,
            });
            return None;
        }
        if self.files.len() + self.chain.len() >= self.max_files {
            self.errors.push(ProfileError::TooManyFiles {
                location: where_asked(),
                limit: self.max_files,
            });
            return None;
        }
        let raw = self.read(path, &file, asked_at)?;

        self.chain.push(canonical);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut base: Option<RawProfile> = None;
        for parent in &raw.extends {
            if let Some(p) = self.load(&dir.join(&parent.value), Some(&parent.at)) {
                base = Some(match base {
                    Some(b) => merge(b, p),
                    None => p,
                });
            }
        }
        self.chain.pop();
        self.files.push(shown);
        Some(match base {
            Some(b) => merge(b, raw),
            None => raw,
        })
    }

    /// Reads and decodes one file.
    fn read(
        &mut self,
        path: &Path,
        file: &Arc<Path>,
        asked_at: Option<&Location>,
    ) -> Option<RawProfile> {
        let text = match yaml::read_file(path, &self.limits) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(ProfileError::Io {
                    location: asked_at.cloned().unwrap_or_else(|| Location::file(file)),
                    path: file.to_path_buf(),
                    message: e.kind.to_string(),
                });
                return None;
            }
        };
        let doc = match yaml::parse(&text, &self.limits) {
            Ok(doc) => doc,
            Err(e) => {
                self.errors.push(ProfileError::Yaml {
                    location: Location::new(file, e.mark),
                    message: e.kind.to_string(),
                });
                return None;
            }
        };
        let mut d = Decoder::new(Arc::clone(file));
        for p in doc.problems {
            d.errors.push(ProfileError::Yaml {
                location: Location::new(file, p.mark),
                message: p.kind.to_string(),
            });
        }
        let raw = decode(&mut d, &doc.root);
        self.errors.append(&mut d.errors);
        self.warnings.append(&mut d.warnings);
        Some(raw)
    }
}

/// Removes `.` and resolves `..` textually, so parent paths read well in messages
/// (`profiles/base.yaml`, not `profiles/./base.yaml`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn or<T>(overlay: Option<T>, base: Option<T>) -> Option<T> {
    overlay.or(base)
}

fn non_empty(s: Option<Spanned<String>>) -> Option<Spanned<String>> {
    s.filter(|s| !s.value.is_empty())
}

/// Applies `overlay` (the extending file, or a later parent) over `base`.
pub(crate) fn merge(base: RawProfile, overlay: RawProfile) -> RawProfile {
    let mut controls = base.controls;
    let mut position: HashMap<String, usize> = HashMap::new();
    for (i, c) in controls.iter().enumerate() {
        if let Some(id) = &c.id {
            position.entry(id.value.clone()).or_insert(i);
        }
    }
    for c in overlay.controls {
        match c.id.as_ref().and_then(|id| position.get(&id.value)) {
            Some(&i) => controls[i] = c,
            None => {
                if let Some(id) = &c.id {
                    position.insert(id.value.clone(), controls.len());
                }
                controls.push(c);
            }
        }
    }
    let mut vars = base.vars;
    deep_merge(&mut vars, overlay.vars);
    let mut plugins = base.plugins;
    plugins.extend(overlay.plugins);
    RawProfile {
        at: overlay.at,
        name: or(non_empty(overlay.name), base.name),
        version: or(non_empty(overlay.version), base.version),
        description: or(non_empty(overlay.description), base.description),
        extends: overlay.extends,
        plugins,
        vars,
        defaults: merge_defaults(base.defaults, overlay.defaults),
        controls,
    }
}

fn merge_defaults(base: RawDefaults, overlay: RawDefaults) -> RawDefaults {
    let mut tags = base.tags;
    for t in overlay.tags {
        if !tags.iter().any(|b| b.value == t.value) {
            tags.push(t);
        }
    }
    RawDefaults {
        severity: or(overlay.severity, base.severity),
        owner: or(overlay.owner, base.owner),
        tags,
        timeout: or(overlay.timeout, base.timeout),
        retry: RawRetry {
            retries: or(overlay.retry.retries, base.retry.retries),
            delay: or(overlay.retry.delay, base.retry.delay),
            backoff: or(overlay.retry.backoff, base.retry.backoff),
            max_delay: or(overlay.retry.max_delay, base.retry.max_delay),
        },
    }
}

/// Merges mappings key by key; for anything else the overlay's value wins.
pub(crate) fn deep_merge(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn vars_merge_deeply() {
        let mut base = json!({"a": {"x": 1, "y": {"p": 1}}, "b": [1], "c": 1})
            .as_object()
            .unwrap()
            .clone();
        let overlay = json!({"a": {"y": {"q": 2}, "z": 3}, "b": [2], "d": 4})
            .as_object()
            .unwrap()
            .clone();
        deep_merge(&mut base, overlay);
        assert_eq!(
            Value::Object(base),
            json!({"a": {"x": 1, "y": {"p": 1, "q": 2}, "z": 3}, "b": [2], "c": 1, "d": 4})
        );
    }

    #[test]
    fn paths_normalize_for_messages() {
        for (path, want) in [
            ("a/./b.yaml", "a/b.yaml"),
            ("a/x/../b.yaml", "a/b.yaml"),
            ("../b.yaml", "../b.yaml"),
            ("./b.yaml", "b.yaml"),
            ("/abs/./x/../y", "/abs/y"),
        ] {
            assert_eq!(normalize(Path::new(path)), Path::new(want), "{path}");
        }
    }
}
