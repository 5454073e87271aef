//! What `check` verifies before anything runs, shared with `validate` and `plan` so the three can
//! never disagree: each plugin's module read and loaded, every observation's config checked
//! against its plugin's JSON Schema, and the grants each plugin needs worked out from the configs.
//!
//! Every problem is collected (not just the first) and carries the `file:line:column` of the
//! profile entry it is about.

use std::fmt;
use std::path::Path;

use reglet_domain::{GrantSet, PluginInfo, PluginName};
use reglet_ports::PluginExecutor;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::grants;
use crate::profile::{LoadedProfile, Location, ObservationConfig, PluginDeclaration, PluginSource};

/// A problem found before running, at the profile entry it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry: a `plugins:` item or an observation.
    pub location: Location,
    /// The key or config path at fault, e.g. `plugins` or `config/path`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A plugin's wasm module and where it came from.
#[derive(Debug, Clone)]
pub struct Module {
    /// The module (a `.wat` file already compiled).
    pub wasm: Vec<u8>,
    /// Lower-case hex sha256 of `wasm`: grants are saved against it.
    pub sha256: String,
    /// `built-in NAME` or the file's path, for messages and listings.
    pub origin: String,
}

impl Module {
    fn new(wasm: Vec<u8>, origin: String) -> Self {
        let sha256 = hex::encode(Sha256::digest(&wasm));
        Module {
            wasm,
            sha256,
            origin,
        }
    }

    /// The built-in plugin `name`, from the modules embedded in this binary.
    ///
    /// # Errors
    /// No built-in of that name is embedded.
    pub fn builtin(name: &str) -> Result<Self, String> {
        let bytes = reglet_builtins::builtin(name).ok_or_else(|| {
            format!(
                "built-in plugin {name} is not embedded in this build (embedded: {}); give a path \
                 to its module (plugins: [./{name}.wasm])",
                reglet_builtins::names().collect::<Vec<_>>().join(", "),
            )
        })?;
        Ok(Module::new(bytes.to_vec(), format!("built-in {name}")))
    }

    /// The module in the file at `path`; see [`read_module`].
    ///
    /// # Errors
    /// The file cannot be read or is not valid WebAssembly text.
    pub fn file(path: &Path) -> Result<Self, String> {
        Ok(Module::new(read_module(path)?, path.display().to_string()))
    }

    /// The module a `plugins:` entry declares.
    ///
    /// # Errors
    /// A built-in that is not embedded, or a file that cannot be read.
    pub fn declared(declaration: &PluginDeclaration) -> Result<Self, String> {
        match &declaration.source {
            PluginSource::Builtin { .. } => Module::builtin(declaration.name.as_str()),
            PluginSource::Path(path) => Module::file(path),
        }
    }
}

/// The wasm of a plugin file; a `.wat` file is compiled.
///
/// # Errors
/// The file cannot be read or is not valid WebAssembly text.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read plugin {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        wat::parse_bytes(&bytes)
            .map(|w| w.into_owned())
            .map_err(|e| format!("{}: not valid WebAssembly text: {e}", path.display()))
    } else {
        Ok(bytes)
    }
}

/// A plugin loaded into the executor: its name and the sha256 of its wasm.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The name.
    pub name: PluginName,
    /// Lower-case hex sha256 of the wasm.
    pub sha256: String,
}

/// A loaded plugin, its description and the grants its selected observations need.
#[derive(Debug, Clone)]
pub struct PluginNeeds {
    /// The plugin.
    pub plugin: LoadedPlugin,
    /// What it says about itself, declared capabilities included.
    pub info: PluginInfo,
    /// What its observations' configs imply, within what it declared.
    pub needed: GrantSet,
    /// The part of `needed` that comes from secrets in the configs: it must never be shown or
    /// saved as it is, whatever form the secret took in it (a normalised path, a lower-cased
    /// host, part of a URL).
    pub from_secrets: GrantSet,
}

/// Everything found about a profile's plugins before running.
#[derive(Debug, Default)]
pub struct Vetted {
    /// The plugins that loaded.
    pub plugins: Vec<LoadedPlugin>,
    /// Their needs, for the plugins that could also be described.
    pub needs: Vec<PluginNeeds>,
    /// Every problem found; the profile must not run unless this is empty.
    pub problems: Vec<Problem>,
}

/// A warning for each built-in whose embedded version does not satisfy the version the profile
/// asks for (`file@1.2.0`): there is one embedded version, and it runs (its `data` fields are
/// Reglet's), but the profile's author should know.
pub fn version_warnings(loaded: &LoadedProfile, needs: &[PluginNeeds]) -> Vec<String> {
    needs
        .iter()
        .filter_map(|n| {
            let declaration = loaded.plugin(&n.plugin.name)?;
            let PluginSource::Builtin { version: Some(wanted) } = &declaration.source else {
                return None;
            };
            let requirement = semver::VersionReq::parse(wanted).ok()?;
            let embedded = semver::Version::parse(&n.info.version).ok()?;
            (!requirement.matches(&embedded)).then(|| {
                format!(
                    "{}: built-in plugin {} is version {embedded}, which does not satisfy `{wanted}`; the embedded version runs",
                    declaration.location, n.plugin.name
                )
            })
        })
        .collect()
}

/// Whether the control at `index` runs; `selection` holds each control's skip reason.
fn runs(selection: &[Option<String>], index: usize) -> bool {
    selection.get(index).is_none_or(Option::is_none)
}

/// Loads the plugins the selected controls use, checks their configs against the plugins'
/// schemas and works out the grants each plugin needs, with each config as `config_of` gives it
/// (`check` puts secrets in place; `validate` and `plan` mask them, never reading one).
pub async fn vet(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    executor: &dyn PluginExecutor,
    config_of: &dyn Fn(&ObservationConfig) -> Map<String, Value>,
) -> Vetted {
    let (plugins, mut problems) = load_plugins(loaded, selection, executor).await;
    problems.extend(validate_configs(loaded, selection, &plugins, executor).await);
    let mut needs = Vec::with_capacity(plugins.len());
    for plugin in &plugins {
        match needed_grants(loaded, selection, plugin, executor, config_of).await {
            Ok(n) => needs.push(n),
            Err(p) => problems.push(p),
        }
    }
    problems.sort_by(|a, b| a.location.cmp(&b.location));
    Vetted {
        plugins,
        needs,
        problems,
    }
}

/// Where a plugin is declared, or failing that where `fallback` is.
fn declared_at(loaded: &LoadedProfile, name: &PluginName, fallback: &Location) -> Location {
    loaded
        .plugin(name)
        .map_or_else(|| fallback.clone(), |d| d.location.clone())
}

/// Loads every plugin a selected observation uses, each once.
async fn load_plugins(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    executor: &dyn PluginExecutor,
) -> (Vec<LoadedPlugin>, Vec<Problem>) {
    let mut plugins: Vec<LoadedPlugin> = Vec::new();
    let mut problems = Vec::new();
    let mut tried: Vec<&PluginName> = Vec::new();
    for (i, control) in loaded.controls.iter().enumerate() {
        if !runs(selection, i) {
            continue;
        }
        for o in &control.observations {
            if tried.contains(&&o.plugin) {
                continue;
            }
            tried.push(&o.plugin);
            let Some(declaration) = loaded.plugin(&o.plugin) else {
                // The loader refuses undeclared plugins; this guards a hand-built profile.
                problems.push(Problem {
                    location: o.location.clone(),
                    key: "plugin".into(),
                    message: format!("plugin `{}` is not declared", o.plugin),
                });
                continue;
            };
            let module = match Module::declared(declaration) {
                Ok(m) => m,
                Err(message) => {
                    problems.push(Problem {
                        location: declaration.location.clone(),
                        key: "plugins".into(),
                        message,
                    });
                    continue;
                }
            };
            match executor.load_plugin(&o.plugin, &module.wasm).await {
                Ok(()) => plugins.push(LoadedPlugin {
                    name: o.plugin.clone(),
                    sha256: module.sha256,
                }),
                Err(e) => problems.push(Problem {
                    location: declaration.location.clone(),
                    key: "plugins".into(),
                    message: format!("{}: cannot load plugin {}: {e}", module.origin, o.plugin),
                }),
            }
        }
    }
    (plugins, problems)
}

/// Checks every selected observation's config (secret templates as written) against its
/// plugin's JSON Schema; observations of plugins that did not load are left out.
async fn validate_configs(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    plugins: &[LoadedPlugin],
    executor: &dyn PluginExecutor,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut validators: Vec<(&PluginName, Option<jsonschema::Validator>)> = Vec::new();
    for (i, control) in loaded.controls.iter().enumerate() {
        if !runs(selection, i) {
            continue;
        }
        for o in &control.observations {
            if !plugins.iter().any(|p| p.name == o.plugin) {
                continue;
            }
            if !validators.iter().any(|(n, _)| *n == &o.plugin) {
                let problem = |message: String| Problem {
                    location: declared_at(loaded, &o.plugin, &o.location),
                    key: "plugins".into(),
                    message,
                };
                let validator = match executor.plugin_schema(&o.plugin).await {
                    Ok(Some(schema)) => match jsonschema::validator_for(schema.raw()) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            problems.push(problem(format!(
                                "plugin {}: its config schema is invalid: {e}",
                                o.plugin
                            )));
                            None
                        }
                    },
                    Ok(None) => None,
                    Err(e) => {
                        problems.push(problem(format!(
                            "plugin {}: cannot read its config schema: {e}",
                            o.plugin
                        )));
                        None
                    }
                };
                validators.push((&o.plugin, validator));
            }
            let Some((_, Some(validator))) = validators.iter().find(|(n, _)| *n == &o.plugin)
            else {
                continue;
            };
            let instance = Value::Object(o.config.value().clone());
            for e in validator.iter_errors(&instance) {
                let pointer = e.instance_path().to_string();
                let at = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at {pointer}")
                };
                problems.push(Problem {
                    location: o.location.clone(),
                    key: format!("config{pointer}"),
                    message: format!(
                        "control `{}`: config for plugin {}{at}: {e}",
                        control.id, o.plugin
                    ),
                });
            }
        }
    }
    problems
}

/// Describes `plugin` and works out what its selected observations need.
async fn needed_grants(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    plugin: &LoadedPlugin,
    executor: &dyn PluginExecutor,
    config_of: &dyn Fn(&ObservationConfig) -> Map<String, Value>,
) -> Result<PluginNeeds, Problem> {
    let info = executor.describe(&plugin.name).await.map_err(|e| {
        let location = loaded.plugin(&plugin.name).map_or_else(
            || Location::file(&std::sync::Arc::from(loaded.path.as_path())),
            |d| d.location.clone(),
        );
        Problem {
            location,
            key: "plugins".into(),
            message: format!("cannot describe plugin {}: {e}", plugin.name),
        }
    })?;
    // Each config's grants, and the same with every secret masked: whatever `needed` has beyond
    // the masked ones exists only because of a secret's value. A config without secrets is
    // worked out once.
    let mut needed = GrantSet::new();
    let mut masked = GrantSet::new();
    for o in loaded
        .controls
        .iter()
        .enumerate()
        .filter(|(i, _)| runs(selection, *i))
        .flat_map(|(_, c)| c.observations.iter())
        .filter(|o| o.plugin == plugin.name)
    {
        let grants = grants::needed(&config_of(&o.config), &info.capabilities);
        if o.config.secret_slots().is_empty() {
            masked = masked.merge(&grants);
        } else {
            masked = masked.merge(&grants::needed(&o.config.masked(), &info.capabilities));
        }
        needed = needed.merge(&grants);
    }
    let from_secrets = needed.difference(&masked);
    Ok(PluginNeeds {
        plugin: plugin.clone(),
        info,
        needed,
        from_secrets,
    })
}
