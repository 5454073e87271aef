//! What can be wrong with a profile (or the system config), each error pointing at
//! `file:line:column` and naming the key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::yaml::Mark;

/// A position in a file. Line 0 means the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file.
    pub file: Arc<Path>,
    /// Line, from 1; 0 for the whole file.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Location {
    /// A position given by a YAML mark.
    pub fn new(file: &Arc<Path>, mark: Mark) -> Self {
        Location {
            file: Arc::clone(file),
            line: mark.line,
            column: mark.column,
        }
    }

    /// The file as a whole.
    pub fn file(file: &Arc<Path>) -> Self {
        Location {
            file: Arc::clone(file),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// `; did you mean `x`?` or nothing.
struct Hint<'a>(&'a Option<String>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "; did you mean `{s}`?"),
            None => Ok(()),
        }
    }
}

fn arrows(items: &[String]) -> String {
    items.join(" -> ")
}

fn paths(items: &[PathBuf]) -> String {
    items
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// One error in a profile or in the system config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// A file could not be read.
    #[error("{location}: cannot read {path}: {message}")]
    Io {
        /// Where the file was asked for (the `extends` entry, or the file itself).
        location: Location,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The YAML itself is invalid, or refused under the reading limits.
    #[error("{location}: {message}")]
    Yaml {
        /// Where.
        location: Location,
        /// What.
        message: String,
    },
    /// A key the format does not have.
    #[error("{location}: unknown key `{key}` in {context}{}", Hint(.suggestion))]
    UnknownKey {
        /// Where the key is.
        location: Location,
        /// The key.
        key: String,
        /// The mapping it is in, e.g. "a control".
        context: String,
        /// The closest known key, if it looks like a typo.
        suggestion: Option<String>,
    },
    /// A value of the wrong type.
    #[error("{location}: `{key}` must be {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        location: Location,
        /// The key.
        key: String,
        /// What was expected, e.g. "a list of strings".
        expected: &'static str,
        /// What was found, e.g. "a mapping".
        found: &'static str,
    },
    /// A required key is absent.
    #[error("{location}: {context} needs `{key}`")]
    MissingKey {
        /// Where the mapping that lacks it starts.
        location: Location,
        /// The key.
        key: String,
        /// The mapping, e.g. "a control".
        context: String,
    },
    /// A value of the right type that is not allowed.
    #[error("{location}: invalid `{key}`: {message}")]
    InvalidValue {
        /// Where the value is.
        location: Location,
        /// The key.
        key: String,
        /// Why it is invalid.
        message: String,
    },
    /// A control without an `id`.
    #[error("{location}: a control needs an `id`")]
    MissingControlId {
        /// Where the control starts.
        location: Location,
    },
    /// Two controls with one `id` in the same file.
    #[error("{location}: duplicate control id `{id}` (first defined at {first})")]
    DuplicateControlId {
        /// The second definition.
        location: Location,
        /// The id.
        id: String,
        /// The first definition.
        first: Location,
    },
    /// `depends_on` names a control that does not exist.
    #[error("{location}: control `{control}` depends on `{target}`, which is not a control{}", Hint(.suggestion))]
    UnknownDependency {
        /// Where the entry is.
        location: Location,
        /// The control that depends.
        control: String,
        /// The missing control.
        target: String,
        /// The closest control id.
        suggestion: Option<String>,
    },
    /// Controls that depend on each other in a circle.
    #[error("{location}: dependency cycle: {}", arrows(.cycle))]
    DependencyCycle {
        /// Where the first control of the cycle declares its dependency.
        location: Location,
        /// The control ids, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// Profiles that extend each other in a circle.
    #[error("{location}: `extends` cycle: {}", paths(.chain))]
    ExtendsCycle {
        /// The `extends` entry that closes the circle.
        location: Location,
        /// The files, the first repeated at the end.
        chain: Vec<PathBuf>,
    },
    /// More files in the `extends` tree than allowed.
    #[error("{location}: the `extends` tree holds more than {limit} files")]
    TooManyFiles {
        /// The entry that went over.
        location: Location,
        /// The cap.
        limit: usize,
    },
    /// `{{ .vars.x }}` names no var.
    #[error("{location}: undefined var `{var}` in `{key}`{}", Hint(.suggestion))]
    UndefinedVar {
        /// Where the template is.
        location: Location,
        /// The key holding the template.
        key: String,
        /// The dotted path after `.vars.`.
        var: String,
        /// The closest defined var path.
        suggestion: Option<String>,
    },
    /// A var whose value is a list, a map or null, used in text.
    #[error(
        "{location}: var `{var}` used in `{key}` is {kind}; only strings, numbers and booleans can be substituted"
    )]
    VarNotScalar {
        /// Where the template is.
        location: Location,
        /// The key holding the template.
        key: String,
        /// The var path.
        var: String,
        /// "a list", "a mapping" or "null".
        kind: &'static str,
    },
    /// A `{{ … }}` that starts like a var or secret template but does not parse.
    #[error("{location}: malformed template in `{key}`: {message}")]
    MalformedTemplate {
        /// Where the text is.
        location: Location,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// `{{ secret … }}` outside an observation's config.
    #[error(
        "{location}: `{{{{ secret \"{name}\" }}}}` in `{key}`: secrets are only allowed in observation config strings, where they are redacted; elsewhere they would be printed in reports"
    )]
    SecretNotAllowed {
        /// Where the template is.
        location: Location,
        /// The key.
        key: String,
        /// The secret's name.
        name: String,
    },
    /// A secret that the system config cannot provide.
    #[error("{location}: secret `{name}`: {message}")]
    UnresolvedSecret {
        /// Where the secret is first used.
        location: Location,
        /// The secret's name.
        name: String,
        /// Why it could not be resolved, and how to provide it.
        message: String,
    },
    /// A `plugins:` entry that does not parse.
    #[error("{location}: invalid plugin declaration `{declaration}`: {message}")]
    InvalidPlugin {
        /// Where the entry is.
        location: Location,
        /// The entry.
        declaration: String,
        /// Why.
        message: String,
    },
    /// An OCI plugin reference, which parses but cannot be fetched yet.
    #[error(
        "{location}: plugin `{declaration}` is an OCI reference; fetching plugins from registries is not supported yet (download the .wasm and declare its path)"
    )]
    UnsupportedPluginSource {
        /// Where the entry is.
        location: Location,
        /// The entry.
        declaration: String,
    },
    /// A bare plugin name that is neither built in nor found in the profile's `plugins/` folder.
    #[error("{location}: unknown plugin `{name}`: not a built-in plugin ({builtins}) and no {searched} exists{}", Hint(.suggestion))]
    UnknownPlugin {
        /// Where the entry is.
        location: Location,
        /// The name.
        name: String,
        /// The built-in names.
        builtins: String,
        /// The local path that was looked for.
        searched: String,
        /// The closest built-in name.
        suggestion: Option<String>,
    },
    /// An observation uses a plugin the profile does not declare.
    #[error("{location}: plugin `{plugin}` is not declared in `plugins:`{}", Hint(.suggestion))]
    UndeclaredPlugin {
        /// Where the observation's `plugin` is.
        location: Location,
        /// The plugin name.
        plugin: String,
        /// The closest declared name.
        suggestion: Option<String>,
    },
    /// An `expect` expression that does not compile.
    #[error("{location}: expectation `{expression}` does not compile: {message}")]
    Expect {
        /// Where the expression is.
        location: Location,
        /// The expression (after var substitution).
        expression: String,
        /// Why.
        message: String,
    },
}

impl ProfileError {
    /// Where the error is.
    pub fn location(&self) -> &Location {
        match self {
            ProfileError::Io { location, .. }
            | ProfileError::Yaml { location, .. }
            | ProfileError::UnknownKey { location, .. }
            | ProfileError::WrongType { location, .. }
            | ProfileError::MissingKey { location, .. }
            | ProfileError::InvalidValue { location, .. }
            | ProfileError::MissingControlId { location }
            | ProfileError::DuplicateControlId { location, .. }
            | ProfileError::UnknownDependency { location, .. }
            | ProfileError::DependencyCycle { location, .. }
            | ProfileError::ExtendsCycle { location, .. }
            | ProfileError::TooManyFiles { location, .. }
            | ProfileError::UndefinedVar { location, .. }
            | ProfileError::VarNotScalar { location, .. }
            | ProfileError::MalformedTemplate { location, .. }
            | ProfileError::SecretNotAllowed { location, .. }
            | ProfileError::UnresolvedSecret { location, .. }
            | ProfileError::InvalidPlugin { location, .. }
            | ProfileError::UnsupportedPluginSource { location, .. }
            | ProfileError::UnknownPlugin { location, .. }
            | ProfileError::UndeclaredPlugin { location, .. }
            | ProfileError::Expect { location, .. } => location,
        }
    }
}

impl ProfileError {
    /// The key the error is about, as the profile spells it, when there is one: what editors
    /// and `reglet validate --format json` point at besides the line.
    pub fn key(&self) -> Option<&str> {
        match self {
            ProfileError::UnknownKey { key, .. }
            | ProfileError::WrongType { key, .. }
            | ProfileError::MissingKey { key, .. }
            | ProfileError::InvalidValue { key, .. }
            | ProfileError::UndefinedVar { key, .. }
            | ProfileError::VarNotScalar { key, .. }
            | ProfileError::MalformedTemplate { key, .. }
            | ProfileError::SecretNotAllowed { key, .. } => Some(key),
            ProfileError::MissingControlId { .. } | ProfileError::DuplicateControlId { .. } => {
                Some("id")
            }
            ProfileError::UnknownDependency { .. } | ProfileError::DependencyCycle { .. } => {
                Some("depends_on")
            }
            ProfileError::ExtendsCycle { .. } | ProfileError::TooManyFiles { .. } => {
                Some("extends")
            }
            ProfileError::InvalidPlugin { .. }
            | ProfileError::UnsupportedPluginSource { .. }
            | ProfileError::UnknownPlugin { .. } => Some("plugins"),
            ProfileError::UndeclaredPlugin { .. } => Some("plugin"),
            ProfileError::Expect { .. } => Some("expect"),
            ProfileError::UnresolvedSecret { .. } => Some("config"),
            ProfileError::Io { .. } | ProfileError::Yaml { .. } => None,
        }
    }

    /// The message without the location in front: every variant's text starts with it.
    pub fn message(&self) -> String {
        let text = self.to_string();
        let prefix = format!("{}: ", self.location());
        match text.strip_prefix(&prefix) {
            Some(rest) => rest.to_owned(),
            None => text,
        }
    }
}

/// Something accepted but worth telling: a key Reglet's documentation shows that nothing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every error found in a load, in file and line order.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    errors: Vec<ProfileError>,
}

impl Diagnostics {
    /// Wraps errors, sorting them by location (stable, so errors at one spot keep their order).
    pub fn new(mut errors: Vec<ProfileError>) -> Self {
        errors.sort_by(|a, b| a.location().cmp(b.location()));
        Diagnostics { errors }
    }

    /// The errors.
    pub fn errors(&self) -> &[ProfileError] {
        &self.errors
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = ProfileError;
    type IntoIter = std::vec::IntoIter<ProfileError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_hints_display() {
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let e = ProfileError::UnknownKey {
            location: Location::new(&file, Mark { line: 3, column: 5 }),
            key: "expects".into(),
            context: "an observation".into(),
            suggestion: Some("expect".into()),
        };
        assert_eq!(
            e.to_string(),
            "p.yaml:3:5: unknown key `expects` in an observation; did you mean `expect`?"
        );
        assert_eq!(
            e.message(),
            "unknown key `expects` in an observation; did you mean `expect`?"
        );
        assert_eq!(e.key(), Some("expects"));
        let whole = Location::file(&file);
        assert_eq!(whole.to_string(), "p.yaml");
        let e = ProfileError::SecretNotAllowed {
            location: whole,
            key: "description".into(),
            name: "tok".into(),
        };
        assert!(
            e.to_string()
                .starts_with("p.yaml: `{{ secret \"tok\" }}` in `description`")
        );
    }

    #[test]
    fn diagnostics_sort_by_position() {
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let at = |line| Location::new(&file, Mark { line, column: 1 });
        let d = Diagnostics::new(vec![
            ProfileError::MissingControlId { location: at(9) },
            ProfileError::MissingControlId { location: at(2) },
        ]);
        assert_eq!(d.errors()[0].location().line, 2);
        assert_eq!(d.to_string().lines().count(), 2);
    }
}
