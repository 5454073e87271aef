//! Exec grants: which programs a plugin may run, and with which arguments.
//!
//! `exec:<program>` allows any arguments; `exec:<program>:<arguments>` pins them (see
//! [`ArgsPattern`] for the syntax). The program part ends at the first `:`, so a program whose
//! path holds a `:` can only be granted through a glob. `exec:env:...` is not a program but an
//! environment grant (see `exec_env`); a program named `env` is pinned by its path
//! (`exec:/usr/bin/env:`).

use std::fmt;

use super::GrantParseError;
use super::args::ArgsPattern;
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
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidExec`] for an empty pattern, an absolute path glob that does not
    /// parse, or a bare name holding a `/`, glob syntax, `:`, NUL or whitespace.
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
        if text.contains(['/', '*', '?', '[', ':', '\0']) || text.chars().any(char::is_whitespace) {
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

/// One exec grant: a program pattern, and the arguments it may be given (`None`: any).
///
/// A pinned grant never covers an unpinned one, even `exec:/bin/x:**`, which parses as unpinned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExecGrant {
    /// Which programs.
    pub program: ExecPattern,
    /// Which argument vectors; `None` allows every vector.
    pub args: Option<ArgsPattern>,
}

impl ExecGrant {
    /// Parses `<program>` or `<program>:<arguments>`.
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidExec`] when the program does not parse or is `env` (a variable
    /// grant written in the wrong place), and [`GrantParseError::InvalidArgs`] for a bad argument
    /// pattern.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let (program, args) = match text.split_once(':') {
            Some(("env", _)) => {
                return Err(GrantParseError::InvalidExec {
                    pattern: text.to_owned(),
                    reason: "env:NAME grants a variable, not the env program; pin env by its path (/usr/bin/env:...)",
                });
            }
            Some((program, args)) => (program, ArgsPattern::parse(args)?),
            None => (text, None),
        };
        Ok(ExecGrant {
            program: ExecPattern::parse(program)?,
            args,
        })
    }

    /// True when running `command` with `args` is allowed.
    pub fn allows<S: AsRef<str>>(&self, command: &str, args: &[S]) -> bool {
        self.program.matches(command) && self.args.as_ref().is_none_or(|a| a.matches(args))
    }

    /// True when every command line `other` allows is allowed by `self`.
    pub fn covers(&self, other: &ExecGrant) -> bool {
        let args = match (&self.args, &other.args) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => mine.covers(theirs),
        };
        args && self.program.covers(&other.program)
    }

    /// True when the program part names one program rather than a glob or everything.
    pub fn names_one_program(&self) -> bool {
        match &self.program {
            ExecPattern::Any => false,
            ExecPattern::Path(path) => path.is_literal(),
            ExecPattern::Name(_) => true,
        }
    }
}

impl fmt::Display for ExecGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.args {
            None => write!(f, "{}", self.program),
            Some(args) => write!(f, "{}:{args}", self.program),
        }
    }
}
