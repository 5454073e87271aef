//! The filesystem a plugin sees: host directories mounted at their own paths (guest path = host
//! path, as in Reglet), with every access filtered by the plugin's fs grants.
//!
//! Reglet mounts the parent directory of a granted file, exposing its siblings. Here a mount is only
//! a root to resolve paths under; what can be touched below it is decided per path by the grants.
//! Granting `fs:read:/etc/hosts` mounts `/etc`, but only `hosts` can be opened, and listing `/etc`
//! shows only `hosts`.

use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use reglet_domain::grants::{FsAccess, normalize_path};
use reglet_domain::{AccessRequest, GrantSet};

/// What an operation needs from the grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Stat or list a directory on the way to granted paths.
    Traverse,
    /// Read a file or list a granted directory.
    Read,
    /// Create, change, rename or delete.
    Write,
}

/// A host directory opened once per plugin and shared by its instances.
pub(crate) struct Mount {
    /// Absolute, normalised path (the same on host and guest).
    pub(crate) path: String,
    /// The directory handle every lookup under it goes through (cap-std keeps lookups inside).
    pub(crate) dir: Dir,
}

/// The mounts and the grants of one plugin.
pub(crate) struct Sandbox {
    mounts: Vec<Arc<Mount>>,
    grants: GrantSet,
}

impl Sandbox {
    /// Mounts, for each fs grant, the deepest existing directory that holds everything the grant
    /// can match (so a grant for a directory the plugin will create mounts its nearest existing
    /// ancestor), dropping mounts nested in another. Returns a warning for each mount that could not
    /// be opened.
    pub(crate) fn from_grants(grants: &GrantSet) -> (Sandbox, Vec<String>) {
        let mut warnings = Vec::new();
        let mut roots: Vec<String> = Vec::new();
        for grant in grants.fs_grants() {
            let mut root = grant.pattern.literal_prefix();
            while !std::path::Path::new(&root).is_dir() {
                root = parent_of(&root);
            }
            roots.push(root);
        }
        roots.sort();
        roots.dedup();
        let mut kept: Vec<String> = Vec::new();
        for root in roots {
            if !kept.iter().any(|k| is_within(&root, k)) {
                kept.push(root);
            }
        }
        let mut mounts = Vec::new();
        for path in kept {
            match Dir::open_ambient_dir(&path, ambient_authority()) {
                Ok(dir) => mounts.push(Arc::new(Mount { path, dir })),
                Err(e) => warnings.push(format!("cannot open {path}: {e}")),
            }
        }
        (
            Sandbox {
                mounts,
                grants: grants.clone(),
            },
            warnings,
        )
    }

    pub(crate) fn mounts(&self) -> &[Arc<Mount>] {
        &self.mounts
    }

    /// True when the grants allow `access` to the absolute, normalised `path`.
    pub(crate) fn permits(&self, access: Access, path: &str) -> bool {
        let p = std::path::Path::new(path);
        match access {
            Access::Write => self.grants.allows(&AccessRequest::WriteFile(p)),
            Access::Read => self.grants.allows(&AccessRequest::ReadFile(p)),
            Access::Traverse => {
                self.grants.allows(&AccessRequest::ReadFile(p))
                    || self
                        .grants
                        .fs_grants()
                        .any(|g| g.access >= FsAccess::Read && g.pattern.may_match_under(path))
            }
        }
    }
}

/// True when `path` is `dir` or lies below it.
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// The parent of an absolute path (`/` for `/`).
pub(crate) fn parent_of(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

/// Joins a relative guest path onto an absolute directory and normalises the result.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    normalize_path(&format!("{dir}/{rel}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(texts: &[&str]) -> GrantSet {
        GrantSet::parse_all(texts).unwrap()
    }

    #[test]
    fn a_file_grant_mounts_its_directory_but_permits_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap().to_owned();
        std::fs::write(dir.path().join("granted"), "x").unwrap();
        std::fs::write(dir.path().join("sibling"), "y").unwrap();
        let (sandbox, warnings) =
            Sandbox::from_grants(&grants(&[&format!("fs:read:{root}/granted")]));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(sandbox.mounts().len(), 1);
        assert_eq!(sandbox.mounts()[0].path, root);
        assert!(sandbox.permits(Access::Read, &format!("{root}/granted")));
        assert!(!sandbox.permits(Access::Read, &format!("{root}/sibling")));
        assert!(sandbox.permits(Access::Traverse, &root));
        assert!(!sandbox.permits(Access::Write, &format!("{root}/granted")));
    }

    #[test]
    fn nested_mounts_collapse_and_missing_directories_mount_their_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap().to_owned();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let (sandbox, warnings) = Sandbox::from_grants(&grants(&[
            &format!("fs:read:{root}/**"),
            &format!("fs:write:{root}/sub/**"),
            &format!("fs:read:{root}/missing/dir/**"),
        ]));
        let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, [root.as_str()]);
        assert!(warnings.is_empty(), "{warnings:?}");

        let (sandbox, _) =
            Sandbox::from_grants(&grants(&[&format!("fs:write:{root}/missing/dir/**")]));
        let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [root.as_str()],
            "the nearest existing ancestor is mounted"
        );
        assert!(sandbox.permits(Access::Write, &format!("{root}/missing/dir/x")));
        assert!(sandbox.permits(Access::Traverse, &format!("{root}/missing")));
        assert!(!sandbox.permits(Access::Read, &format!("{root}/missing/other")));
    }

    #[test]
    fn path_helpers() {
        assert!(is_within("/etc/ssh", "/etc"));
        assert!(!is_within("/etcetera", "/etc"));
        assert!(is_within("/anything", "/"));
        assert_eq!(parent_of("/etc/hosts"), "/etc");
        assert_eq!(parent_of("/etc"), "/");
        assert_eq!(join("/etc", "ssh/../hosts").as_deref(), Some("/etc/hosts"));
    }
}
