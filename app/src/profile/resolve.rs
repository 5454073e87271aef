//! From the merged profile to a [`LoadedProfile`]: required fields, defaults applied, vars
//! substituted, plugins resolved, dependencies checked and expectations compiled.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reglet_domain::PluginName;
use serde_json::{Map, Value};

use super::config::{ObservationConfig, SecretSlot, pointer_segment};
use super::decode::Spanned;
use super::dependencies::{self, Edges};
use super::error::{Location, ProfileError, Warning};
use super::model::{Control, LoadedProfile, Observation, ProfileMetadata, RetryPolicy};
use super::plugin::{PluginDeclaration, parse_declaration};
use super::raw::{RawControl, RawDefaults, RawObservation, RawProfile, RawRetry};
use super::template::{self, Part, TemplateError};
use crate::expect::{CompileError, Expectation};
use crate::suggest;
use crate::yaml::{Kind, Node, ScalarValue, key_text};

/// Everything `resolve` needs besides the merged profile.
pub(crate) struct Context {
    pub path: PathBuf,
    pub root: Arc<Path>,
    pub files: Vec<PathBuf>,
    pub warnings: Vec<Warning>,
}

/// Builds the loaded profile, or returns nothing and leaves the reasons in `errors`.
pub(crate) fn resolve(
    raw: RawProfile,
    ctx: Context,
    errors: &mut Vec<ProfileError>,
) -> Option<LoadedProfile> {
    let root = Location::file(&ctx.root);
    let required = |field: Option<Spanned<String>>, key: &str, errors: &mut Vec<ProfileError>| {
        let value = field.map(|f| f.value).unwrap_or_default();
        if value.is_empty() {
            errors.push(ProfileError::MissingKey {
                location: root.clone(),
                key: format!("profile.{key}"),
                context: "the profile".into(),
            });
        }
        value
    };
    let metadata = ProfileMetadata {
        name: required(raw.name, "name", errors),
        version: required(raw.version, "version", errors),
        description: raw.description.map(|d| d.value).unwrap_or_default(),
    };
    let plugins = resolve_plugins(&raw.plugins, errors);
    if raw.controls.is_empty() {
        errors.push(ProfileError::MissingKey {
            location: root.clone(),
            key: "controls.items".into(),
            context: "the profile (with its parents)".into(),
        });
    }

    let edges: Vec<Edges<'_>> = raw
        .controls
        .iter()
        .filter_map(|c| {
            Some(Edges {
                id: &c.id.as_ref()?.value,
                depends_on: &c.depends_on,
            })
        })
        .collect();
    dependencies::check(&edges, errors);

    let resolver = Resolver {
        vars: &raw.vars,
        defaults: &raw.defaults,
        plugins: &plugins,
        compiled: RefCell::default(),
    };
    let controls: Vec<Control> = raw
        .controls
        .iter()
        .filter_map(|c| resolver.control(c, errors))
        .collect();

    if !errors.is_empty() {
        return None;
    }
    Some(LoadedProfile {
        metadata,
        path: ctx.path,
        files: ctx.files,
        plugins,
        vars: raw.vars,
        controls,
        warnings: ctx.warnings,
    })
}

/// Parses every declaration, dropping exact repeats; two sources for one name is an error.
fn resolve_plugins(
    entries: &[Spanned<String>],
    errors: &mut Vec<ProfileError>,
) -> Vec<PluginDeclaration> {
    let mut out: Vec<PluginDeclaration> = Vec::new();
    for entry in entries {
        let base = entry.at.file.parent().unwrap_or(Path::new("."));
        match parse_declaration(&entry.value, entry.at.clone(), base) {
            Ok(decl) => match out.iter().find(|d| d.name == decl.name) {
                Some(prior) if prior.source == decl.source => {}
                Some(prior) => errors.push(ProfileError::InvalidPlugin {
                    location: decl.location.clone(),
                    message: format!(
                        "a plugin named `{}` is already declared as `{}` at {}",
                        decl.name, prior.declared_as, prior.location
                    ),
                    declaration: decl.declared_as,
                }),
                None => out.push(decl),
            },
            Err(e) => errors.push(*e),
        }
    }
    out
}

struct Resolver<'a> {
    vars: &'a Map<String, Value>,
    defaults: &'a RawDefaults,
    plugins: &'a [PluginDeclaration],
    /// Expressions compiled so far: large profiles repeat the same few expectations, and
    /// parsing is most of the cost of loading.
    compiled: RefCell<HashMap<String, Result<Expectation, CompileError>>>,
}

impl Resolver<'_> {
    fn control(&self, c: &RawControl, errors: &mut Vec<ProfileError>) -> Option<Control> {
        let Some(id) = &c.id else {
            errors.push(ProfileError::MissingControlId {
                location: c.at.clone(),
            });
            return None;
        };
        let context = format!("control `{}`", id.value);
        let name = match &c.name {
            Some(n) => self.text(n, "name", errors),
            None => {
                errors.push(ProfileError::MissingKey {
                    location: c.at.clone(),
                    key: "name".into(),
                    context: context.clone(),
                });
                None
            }
        };
        let description = c
            .description
            .as_ref()
            .and_then(|d| self.text(d, "description", errors))
            .unwrap_or_default();
        let mut tags: Vec<String> = Vec::new();
        for tag in c.tags.iter().chain(&self.defaults.tags) {
            if let Some(t) = self.text(tag, "tags", errors)
                && !tags.contains(&t)
            {
                tags.push(t);
            }
        }
        if !c.has_observations || c.observations.is_empty() {
            errors.push(ProfileError::MissingKey {
                location: c.at.clone(),
                key: "observations".into(),
                context: format!("{context} (at least one)"),
            });
        }
        let observations: Vec<Observation> = c
            .observations
            .iter()
            .filter_map(|o| self.observation(o, errors))
            .collect();
        Some(Control {
            id: id.value.clone(),
            name: name?,
            description,
            severity: c
                .severity
                .as_ref()
                .or(self.defaults.severity.as_ref())
                .map(|s| s.value),
            owner: c
                .owner
                .as_ref()
                .or(self.defaults.owner.as_ref())
                .and_then(|o| self.text(o, "owner", errors)),
            tags,
            depends_on: c.depends_on.iter().map(|d| d.value.clone()).collect(),
            timeout: c
                .timeout
                .as_ref()
                .or(self.defaults.timeout.as_ref())
                .map(|t| t.value),
            retry: retry(&c.retry, &self.defaults.retry),
            observations,
            location: c.at.clone(),
        })
    }

    fn observation(
        &self,
        o: &RawObservation,
        errors: &mut Vec<ProfileError>,
    ) -> Option<Observation> {
        let plugin = match &o.plugin {
            Some(p) => self.plugin(p, errors),
            None => {
                errors.push(ProfileError::MissingKey {
                    location: o.at.clone(),
                    key: "plugin".into(),
                    context: "an observation".into(),
                });
                None
            }
        };
        let config = match &o.config {
            Some(node) => self.config(node, &o.at.file, errors),
            None => ObservationConfig::new(Map::new()),
        };
        let mut expectations = Vec::new();
        for e in &o.expect {
            let Some(source) = self.text(e, "expect", errors) else {
                continue;
            };
            let compiled = self
                .compiled
                .borrow_mut()
                .entry(source.clone())
                .or_insert_with(|| Expectation::compile(&source))
                .clone();
            match compiled {
                Ok(x) => expectations.push(x),
                Err(err) => errors.push(ProfileError::Expect {
                    location: e.at.clone(),
                    expression: source.split_whitespace().collect::<Vec<_>>().join(" "),
                    message: err.message().to_owned(),
                }),
            }
        }
        Some(Observation {
            plugin: plugin?,
            config,
            expectations,
            location: o.at.clone(),
        })
    }

    fn plugin(&self, p: &Spanned<String>, errors: &mut Vec<ProfileError>) -> Option<PluginName> {
        let name = match PluginName::new(&p.value) {
            Ok(n) => n,
            Err(e) => {
                errors.push(ProfileError::InvalidValue {
                    location: p.at.clone(),
                    key: "plugin".into(),
                    message: e.to_string(),
                });
                return None;
            }
        };
        if self.plugins.iter().any(|d| d.name == name) {
            return Some(name);
        }
        errors.push(ProfileError::UndeclaredPlugin {
            location: p.at.clone(),
            suggestion: suggest::closest(&p.value, self.plugins.iter().map(|d| d.name.as_str()))
                .map(str::to_owned),
            plugin: p.value.clone(),
        });
        None
    }

    /// Expands vars in a field that may not hold secrets.
    fn text(
        &self,
        s: &Spanned<String>,
        key: &str,
        errors: &mut Vec<ProfileError>,
    ) -> Option<String> {
        match template::expand(&s.value, self.vars, false) {
            Ok(parts) => template::plain_text(&parts),
            Err(errs) => {
                errors.extend(errs.into_iter().map(|e| template_error(e, &s.at, key)));
                None
            }
        }
    }

    /// The config as JSON, vars expanded in every string, secret-bearing strings recorded.
    fn config(
        &self,
        node: &Node,
        file: &Arc<Path>,
        errors: &mut Vec<ProfileError>,
    ) -> ObservationConfig {
        let mut slots = Vec::new();
        let value = self.config_value(node, file, String::new(), "config", &mut slots, errors);
        match value {
            Value::Object(map) => ObservationConfig::with_secrets(map, slots),
            _ => ObservationConfig::new(Map::new()),
        }
    }

    fn config_value(
        &self,
        node: &Node,
        file: &Arc<Path>,
        pointer: String,
        key: &str,
        slots: &mut Vec<SecretSlot>,
        errors: &mut Vec<ProfileError>,
    ) -> Value {
        match &node.kind {
            Kind::Scalar(s) if s.value == ScalarValue::Str => {
                let at = Location::new(file, node.mark);
                match template::expand(&s.text, self.vars, true) {
                    Ok(parts) => match template::plain_text(&parts) {
                        Some(text) => Value::String(text),
                        None => {
                            let shown = display_text(&parts);
                            slots.push(SecretSlot {
                                pointer,
                                parts,
                                location: at,
                            });
                            Value::String(shown)
                        }
                    },
                    Err(errs) => {
                        errors.extend(errs.into_iter().map(|e| template_error(e, &at, key)));
                        Value::Null
                    }
                }
            }
            Kind::Scalar(_) => node.to_json(),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        self.config_value(item, file, format!("{pointer}/{i}"), key, slots, errors)
                    })
                    .collect(),
            ),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let name = key_text(k);
                        let child = format!("{pointer}/{}", pointer_segment(&name));
                        let value = self.config_value(v, file, child, &name, slots, errors);
                        (name, value)
                    })
                    .collect(),
            ),
        }
    }
}

/// The text of a secret-bearing string with each secret shown as its template.
fn display_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.clone(),
            Part::Secret(name) => format!("{{{{ secret \"{name}\" }}}}"),
        })
        .collect()
}

fn retry(own: &RawRetry, defaults: &RawRetry) -> RetryPolicy {
    let base = RetryPolicy::default();
    RetryPolicy {
        retries: own
            .retries
            .as_ref()
            .or(defaults.retries.as_ref())
            .map_or(base.retries, |r| r.value),
        delay: own
            .delay
            .as_ref()
            .or(defaults.delay.as_ref())
            .map_or(base.delay, |d| d.value),
        backoff: own
            .backoff
            .as_ref()
            .or(defaults.backoff.as_ref())
            .map_or(base.backoff, |b| b.value),
        max_delay: own
            .max_delay
            .as_ref()
            .or(defaults.max_delay.as_ref())
            .map(|d| d.value),
    }
}

fn template_error(e: TemplateError, at: &Location, key: &str) -> ProfileError {
    let location = at.clone();
    let key = key.to_owned();
    match e {
        TemplateError::Undefined { var, suggestion } => ProfileError::UndefinedVar {
            location,
            key,
            var,
            suggestion: suggestion.map(|s| format!(".vars.{s}")),
        },
        TemplateError::NotScalar { var, kind } => ProfileError::VarNotScalar {
            location,
            key,
            var,
            kind,
        },
        TemplateError::Malformed(message) => ProfileError::MalformedTemplate {
            location,
            key,
            message,
        },
        TemplateError::SecretNotAllowed(name) => ProfileError::SecretNotAllowed {
            location,
            key,
            name,
        },
    }
}
