//! Filesystem grants: which paths a plugin may read or write.

use std::fmt;

use super::path::PathPattern;

/// Read or write access. Write access implies read access to the same paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FsAccess {
    /// Open, stat and list.
    Read,
    /// Everything read allows, plus create, modify, rename and delete.
    Write,
}

/// One filesystem grant: `access` to every path matching `pattern`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FsGrant {
    /// The access granted.
    pub access: FsAccess,
    /// The paths covered.
    pub pattern: PathPattern,
}

impl FsGrant {
    /// True when `access` to `path` is covered.
    pub fn matches(&self, access: FsAccess, path: &str) -> bool {
        self.access >= access && self.pattern.matches(path)
    }

    /// True when everything `other` grants is granted by `self`.
    pub fn covers(&self, other: &FsGrant) -> bool {
        self.access >= other.access && self.pattern.covers(&other.pattern)
    }
}

impl fmt::Display for FsGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match self.access {
            FsAccess::Read => "read",
            FsAccess::Write => "write",
        };
        write!(f, "fs:{access}:{}", self.pattern)
    }
}
