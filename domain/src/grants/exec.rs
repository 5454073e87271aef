//! Exec grants: which programs a plugin may run.

use std::fmt;

use super::GrantParseError;
use super::path::{PathPattern, normalize_path};

/// Which commands a grant covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExecPattern {
    /// Any program (`**` or `*`).
    Any,
    /// Absolute program paths matching a glob: an exact path, `/usr/bin/*` (any program directly in
    /// that directory) or `/opt/tools/**` (any program below it).
    Path(PathPattern),
    /// A bare command name, matched exactly (the host resolves it; see the exec host function).
    Name(String),
}

impl ExecPattern {
    /// Parses `**`, `*`, an absolute path glob, or a bare command name.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let bad = |reason| GrantParseError::InvalidExec {
            pattern: text.to_owned(),
            reason,
        };
        match text {
            "**" | "*" => return Ok(ExecPattern::Any),
            "" => return Err(bad("it is empty")),
            _ => {}
        }
        if text.starts_with('/') {
            return PathPattern::parse(text)
                .map(ExecPattern::Path)
                .map_err(|_| bad("not a valid absolute path pattern (no '..', no NUL)"));
        }
        if text.contains(['/', '*', '?', '[', '\0']) || text.chars().any(char::is_whitespace) {
            return Err(bad(
                "a command must be an absolute path (globs allowed) or a bare program name",
            ));
        }
        Ok(ExecPattern::Name(text.to_owned()))
    }

    /// True when running `command` is covered. Absolute commands are normalised first.
    pub fn matches(&self, command: &str) -> bool {
        match self {
            ExecPattern::Any => true,
            ExecPattern::Path(pattern) => {
                normalize_path(command).is_some_and(|path| pattern.matches(&path))
            }
            ExecPattern::Name(name) => command == name,
        }
    }

    /// True when every command `other` covers is covered by `self`.
    pub fn covers(&self, other: &ExecPattern) -> bool {
        match (self, other) {
            (ExecPattern::Any, _) => true,
            (_, ExecPattern::Any) => false,
            (ExecPattern::Path(a), ExecPattern::Path(b)) => a.covers(b),
            (ExecPattern::Name(a), ExecPattern::Name(b)) => a == b,
            _ => false,
        }
    }

    /// The program's file name when the pattern names one program (`/usr/bin/python3` → `python3`).
    pub fn program_name(&self) -> Option<&str> {
        match self {
            ExecPattern::Any => None,
            ExecPattern::Path(pattern) => pattern.file_name(),
            ExecPattern::Name(name) => Some(name),
        }
    }
}

impl fmt::Display for ExecPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecPattern::Any => f.write_str("**"),
            ExecPattern::Path(pattern) => write!(f, "{pattern}"),
            ExecPattern::Name(name) => f.write_str(name),
        }
    }
}
