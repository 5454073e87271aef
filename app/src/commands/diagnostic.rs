//! One shape for everything `validate` and `plan` find wrong, whether the profile loader, a
//! plugin or its schema found it, so editors and pre-commit hooks read a single format.

use std::fmt;

use serde::Serialize;

use crate::preflight::Problem;
use crate::profile::{Location, ProfileError, Warning};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The profile cannot run.
    Error,
    /// Accepted, but probably not what was meant.
    Warning,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
        })
    }
}

/// One finding, at a file and (when known) a line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Level,
    /// The file.
    pub file: String,
    /// Line, from 1; `None` when the finding is about the whole file.
    pub line: Option<usize>,
    /// Column, from 1, with the line.
    pub column: Option<usize>,
    /// The key or config path at fault, when there is one.
    pub key: Option<String>,
    /// What is wrong, without the location.
    pub message: String,
    #[serde(skip)]
    location: Location,
}

impl Diagnostic {
    fn new(severity: Level, location: &Location, key: Option<String>, message: String) -> Self {
        let known = location.line > 0;
        Diagnostic {
            severity,
            file: location.file.display().to_string(),
            line: known.then_some(location.line),
            column: known.then_some(location.column),
            key,
            message,
            location: location.clone(),
        }
    }

    /// An error the profile loader found.
    pub fn from_profile_error(e: &ProfileError) -> Self {
        Diagnostic::new(
            Level::Error,
            e.location(),
            e.key().map(str::to_owned),
            e.message(),
        )
    }

    /// A warning the profile loader gave.
    pub fn from_warning(w: &Warning) -> Self {
        Diagnostic::new(Level::Warning, &w.location, None, w.message.clone())
    }

    /// A problem found with the profile's plugins.
    pub fn from_problem(p: &Problem) -> Self {
        Diagnostic::new(
            Level::Error,
            &p.location,
            Some(p.key.clone()),
            p.message.clone(),
        )
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

impl fmt::Display for Diagnostic {
    /// `error: file:line:column: message`, the form `check` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.location, self.message)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::yaml::Mark;

    #[test]
    fn profile_errors_keep_their_place_and_key() {
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let e = ProfileError::UndefinedVar {
            location: Location::new(&file, Mark { line: 7, column: 3 }),
            key: "name".into(),
            var: "nme".into(),
            suggestion: None,
        };
        let d = Diagnostic::from_profile_error(&e);
        assert_eq!((d.line, d.column), (Some(7), Some(3)));
        assert_eq!(d.key.as_deref(), Some("name"));
        assert_eq!(d.message, "undefined var `nme` in `name`");
        assert_eq!(
            d.to_string(),
            "error: p.yaml:7:3: undefined var `nme` in `name`"
        );
        let whole = Diagnostic::from_warning(&Warning {
            location: Location::file(&file),
            message: "odd".into(),
        });
        assert_eq!((whole.line, whole.column), (None, None));
        let json = serde_json::to_value(&whole).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"severity": "warning", "file": "p.yaml", "line": null,
                               "column": null, "key": null, "message": "odd"})
        );
    }
}
