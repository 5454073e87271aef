//! Profiles: Reglet's YAML format of controls, loaded, merged with their parents and checked.
//!
//! [`load`] reads a profile and everything it `extends`, applies `controls.defaults`, substitutes
//! `{{ .vars.… }}`, resolves plugin declarations, checks dependencies and compiles every
//! `expect`. It reports **all** the errors it finds, each at `file:line:column`, in one
//! [`Diagnostics`]; a profile that loads is one the engine can run.
//!
//! Secrets are deliberately not part of loading: config strings keep `{{ secret "name" }}`
//! markers, [`LoadedProfile::resolve_secrets`] turns them into [`Secrets`] in a separate step
//! (so the caller can register every value with the redactor before anything runs), and
//! [`ObservationConfig::expand`] gives a plugin its config with the values in place.
//!
//! The format and where it differs from Reglet are described in `docs/profiles.md`.

mod config;
pub(crate) mod decode;
mod dependencies;
mod duration;
mod error;
mod extends;
mod model;
mod plugin;
mod raw;
mod resolve;
mod template;

use std::path::Path;
use std::sync::Arc;

pub use config::{MissingSecret, ObservationConfig, SecretSlot};
pub use duration::parse_duration;
pub use error::{Diagnostics, Location, ProfileError, Warning};
pub use model::{
    Backoff, Control, LoadedProfile, Observation, ProfileMetadata, RetryPolicy, Severity,
};
pub use plugin::{BUILTIN_PLUGINS, PluginDeclaration, PluginSource};
pub use template::Part;

use crate::secrets::{SecretSource, Secrets};
use crate::yaml::Limits;

/// Caps on what loading a profile may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Per-file YAML limits (size, nesting, aliases).
    pub limits: Limits,
    /// Most files in one `extends` tree.
    pub max_files: usize,
}

impl Default for LoadOptions {
    /// The default YAML limits and 64 files.
    fn default() -> Self {
        LoadOptions {
            limits: Limits::default(),
            max_files: 64,
        }
    }
}

/// Loads the profile at `path` with the default limits.
///
/// # Errors
/// Every problem found in the profile and its parents.
pub fn load(path: &Path) -> Result<LoadedProfile, Diagnostics> {
    load_with(path, &LoadOptions::default())
}

/// Loads the profile at `path`.
///
/// # Errors
/// Every problem found in the profile and its parents.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<LoadedProfile, Diagnostics> {
    let mut loader = extends::Loader::new(options.limits, options.max_files);
    let merged = loader.load(path, None);
    let mut errors = std::mem::take(&mut loader.errors);
    let Some(merged) = merged else {
        return Err(Diagnostics::new(errors));
    };
    let ctx = resolve::Context {
        path: path.to_owned(),
        root: Arc::clone(&merged.at.file),
        files: loader.files,
        warnings: loader.warnings,
    };
    match resolve::resolve(merged, ctx, &mut errors) {
        Some(profile) if errors.is_empty() => Ok(profile),
        _ => Err(Diagnostics::new(errors)),
    }
}

impl LoadedProfile {
    /// Loads the profile at `path`; see [`load`].
    ///
    /// # Errors
    /// Every problem found in the profile and its parents.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        load(path)
    }

    /// Every secret name the profile uses, each once, with where it is first used.
    pub fn secret_names(&self) -> Vec<(&str, &Location)> {
        let mut out: Vec<(&str, &Location)> = Vec::new();
        for (_, o) in self.observations() {
            for slot in o.config.secret_slots() {
                for name in slot.secret_names() {
                    if !out.iter().any(|(n, _)| *n == name) {
                        out.push((name, &slot.location));
                    }
                }
            }
        }
        out
    }

    /// Resolves every secret the profile uses through `source`. Register
    /// [`Secrets::values`] with the redactor before running anything.
    ///
    /// # Errors
    /// Every secret that could not be resolved, at the place it is first used.
    pub fn resolve_secrets(&self, source: &dyn SecretSource) -> Result<Secrets, Diagnostics> {
        let names = self.secret_names();
        Secrets::resolve(names.iter().map(|(n, _)| *n), source).map_err(|failures| {
            Diagnostics::new(
                failures
                    .into_iter()
                    .map(|(name, e)| ProfileError::UnresolvedSecret {
                        location: names.iter().find(|(n, _)| *n == name).map_or_else(
                            || Location::file(&Arc::from(self.path.as_path())),
                            |(_, l)| (*l).clone(),
                        ),
                        message: e.to_string(),
                        name,
                    })
                    .collect(),
            )
        })
    }
}

#[cfg(test)]
mod tests;
