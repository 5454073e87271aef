//! The filesystem a plugin sees: host directories mounted at their own paths (guest path = host
//! path, as in Reglet), with every access filtered by the plugin's fs grants.
//!
//! Reglet mounts the parent directory of a granted file, exposing its siblings. Here a mount is only
//! a root to resolve paths under (see [`super::fs::resolve`]); what can be touched below it is
//! decided per path by the grants. Granting `fs:read:/etc/hosts` mounts `/etc`, but only `hosts`
//! can be opened, and listing `/etc` shows only `hosts`.
//!
//! A mount root is opened component by component from `/` without following symlinks, so the
//! directory handle is the directory the grant names and its path is its real path. A grant whose
//! path is missing or goes through a link mounts its nearest real ancestor directory: a mount
//! grants nothing by itself (every component below it is checked against the grants before it is
//! looked up), and without one a missing folder would read as a refusal and a link could not be
//! followed to a target the grants name.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use reglet_domain::grants::{FsAccess, FsGrant, PathPattern};
use reglet_domain::{AccessRequest, GrantSet};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, openat, statat};

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
    /// Absolute, normalised, symlink-free path (the same on host and guest).
    pub(crate) path: String,
    /// The handle every lookup under the mount starts from (an `O_PATH` directory descriptor).
    pub(crate) root: Arc<OwnedFd>,
    /// The root's device and inode.
    pub(crate) id: (u64, u64),
}

/// The mounts and the grants of one plugin.
pub(crate) struct Sandbox {
    mounts: Vec<Arc<Mount>>,
    grants: GrantSet,
}

/// Flags for every directory handle the sandbox holds: a handle to walk from, never to read through,
/// and never a symlink.
pub(crate) fn dir_handle_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens an absolute, normalised directory path from `/`, one component at a time, refusing any
/// symlink on the way.
fn open_mount_root(path: &str) -> Result<OwnedFd, String> {
    let mut handle =
        openat(CWD, "/", dir_handle_flags(), Mode::empty()).map_err(|e| format!("/: {e}"))?;
    let mut so_far = String::new();
    for name in path.split('/').filter(|s| !s.is_empty()) {
        so_far.push('/');
        so_far.push_str(name);
        let stat = statat(&handle, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| format!("{so_far}: {e}"))?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {}
            FileType::Symlink => {
                return Err(format!(
                    "{so_far} is a symbolic link; grant the path it points to instead"
                ));
            }
            _ => return Err(format!("{so_far} is not a directory")),
        }
        handle = openat(&handle, name, dir_handle_flags(), Mode::empty())
            .map_err(|e| format!("{so_far}: {e}"))?;
    }
    Ok(handle)
}

/// The directory a grant mounts: the grant's literal prefix when it is a directory, else its
/// nearest ancestor that is one. Walking up past a missing folder or a symbolic link keeps the
/// path reachable, so a missing folder reads as missing and a link is followed (each hop checked
/// against the grants), instead of the whole path being refused for want of a mount.
fn mount_point(literal_prefix: &str) -> String {
    let mut candidate = literal_prefix.to_owned();
    loop {
        // A mount is a real directory reached through no link: its canonical path is itself.
        let real_dir = std::fs::symlink_metadata(&candidate).is_ok_and(|m| m.is_dir())
            && std::fs::canonicalize(&candidate)
                .is_ok_and(|c| c.as_os_str() == std::ffi::OsStr::new(&candidate));
        if candidate == "/" || real_dir {
            return candidate;
        }
        candidate = parent_of(&candidate);
    }
}

impl Sandbox {
    /// Mounts, for each fs grant, the directory that holds everything it can match, dropping
    /// mounts nested in another. Returns a warning for each grant that mounts nothing.
    pub(crate) fn from_grants(grants: &GrantSet) -> (Sandbox, Vec<String>) {
        let mut warnings = Vec::new();
        let mut roots: Vec<String> = Vec::new();
        for grant in grants.fs_grants() {
            let prefix = grant.pattern.literal_prefix();
            // A pattern is matched against real paths, so one written through a link matches
            // nothing below it. (A literal path through links is granted with the real paths of
            // its links and target beside it, worked out from the profile.)
            let through_link = std::fs::canonicalize(&prefix)
                .is_ok_and(|real| real.as_os_str() != std::ffi::OsStr::new(&prefix));
            if through_link && !grant.pattern.is_literal() {
                warnings.push(format!(
                    "{grant}: {prefix} is a symbolic link or lies behind one; paths through it \
                     are checked where it points, so grant that path instead"
                ));
            }
            roots.push(mount_point(&prefix));
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
            let opened = open_mount_root(&path).and_then(|root| {
                let id = super::fs::resolve::identity(root.as_fd())
                    .map_err(|e| format!("{path}: {e:?}"))?;
                Ok((root, id))
            });
            match opened {
                Ok((root, id)) => mounts.push(Arc::new(Mount {
                    path,
                    root: Arc::new(root),
                    id,
                })),
                Err(e) => warnings.push(format!("cannot mount {path}: {e}")),
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

    /// True when a grant names, without wildcards, `path` or a path below it: that `path` is
    /// missing then tells the plugin no more than that the named path is missing.
    pub(crate) fn leads_to_named_path(&self, path: &str) -> bool {
        self.grants.fs_grants().any(|g| {
            g.access >= FsAccess::Read
                && g.pattern.is_literal()
                && is_within(&g.pattern.literal_prefix(), path)
        })
    }

    /// True when one write grant covers everything below `path` (and `path` itself): what moving
    /// a directory needs, since its whole subtree moves with it. A path with glob characters in
    /// its names cannot be written as a pattern and is refused.
    pub(crate) fn permits_subtree_write(&self, path: &str) -> bool {
        if path.contains(['*', '?', '[']) {
            return false;
        }
        let Ok(pattern) = PathPattern::parse(&format!("{}/**", path.trim_end_matches('/'))) else {
            return false;
        };
        let subtree = FsGrant {
            access: FsAccess::Write,
            pattern,
        };
        self.grants.fs_grants().any(|g| g.covers(&subtree))
    }

    /// True when a grant names `path` exactly, without a wildcard, for `access`. FIFOs, devices
    /// and sockets can be opened only then: a glob never reaches them.
    pub(crate) fn names_exactly(&self, access: Access, path: &str) -> bool {
        let needed = match access {
            Access::Write => FsAccess::Write,
            Access::Read | Access::Traverse => FsAccess::Read,
        };
        self.grants
            .fs_grants()
            .any(|g| g.access >= needed && g.pattern.is_literal() && g.pattern.matches(path))
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

/// `name` appended to the absolute directory path `dir`.
pub(crate) fn child_of(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(texts: &[&str]) -> GrantSet {
        GrantSet::parse_all(texts).unwrap()
    }

    fn tree() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let root = root.to_str().unwrap().to_owned();
        (dir, root)
    }

    #[test]
    fn a_file_grant_mounts_its_directory_but_permits_only_the_file() {
        let (_dir, root) = tree();
        std::fs::write(format!("{root}/granted"), "x").unwrap();
        std::fs::write(format!("{root}/sibling"), "y").unwrap();
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
    fn nested_mounts_collapse() {
        let (_dir, root) = tree();
        std::fs::create_dir(format!("{root}/sub")).unwrap();
        let (sandbox, warnings) = Sandbox::from_grants(&grants(&[
            &format!("fs:read:{root}/**"),
            &format!("fs:write:{root}/sub/**"),
        ]));
        let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, [root.as_str()]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    /// A grant whose folders are missing mounts the nearest real ancestor, and the grants, not
    /// the mount, still decide what may be touched below it.
    #[test]
    fn a_missing_directory_mounts_its_nearest_real_ancestor_and_grants_still_decide() {
        let (_dir, root) = tree();
        let (sandbox, warnings) =
            Sandbox::from_grants(&grants(&[&format!("fs:write:{root}/missing/dir/**")]));
        assert!(warnings.is_empty(), "{warnings:?}");
        let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, [root.as_str()]);
        assert!(sandbox.permits(Access::Write, &format!("{root}/missing/dir/x")));
        assert!(!sandbox.permits(Access::Write, &format!("{root}/other")));
        assert!(!sandbox.permits(Access::Read, &format!("{root}/other")));

        let (sandbox, warnings) =
            Sandbox::from_grants(&grants(&[&format!("fs:write:{root}/report.json")]));
        assert!(warnings.is_empty(), "{warnings:?}");
        let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, [root.as_str()], "a file to create mounts its parent");
    }

    /// Issue 8, item 7: mount roots were opened following symlinks. A mount is never a link nor
    /// behind one; a pattern written through a link is warned about, since it matches nothing.
    #[test]
    fn a_mount_root_is_never_behind_a_symlink() {
        let (_dir, root) = tree();
        std::fs::create_dir_all(format!("{root}/real/sub")).unwrap();
        std::os::unix::fs::symlink(format!("{root}/real"), format!("{root}/alias")).unwrap();
        for grant in [
            format!("fs:read:{root}/alias/sub/**"),
            format!("fs:read:{root}/alias/**"),
        ] {
            let (sandbox, warnings) = Sandbox::from_grants(&grants(&[&grant]));
            let paths: Vec<&str> = sandbox.mounts().iter().map(|m| m.path.as_str()).collect();
            assert_eq!(
                paths,
                [root.as_str()],
                "{grant}: the nearest real directory"
            );
            assert!(
                warnings.len() == 1 && warnings[0].contains("grant that path instead"),
                "{grant}: {warnings:?}"
            );
        }
        // A literal path through the link comes with its real path, from the profile: no warning.
        let (_, warnings) = Sandbox::from_grants(&grants(&[
            &format!("fs:read:{root}/alias/sub"),
            &format!("fs:read:{root}/real/sub"),
        ]));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn exact_names() {
        let (_dir, root) = tree();
        std::fs::create_dir(format!("{root}/sub")).unwrap();
        let (sandbox, _) = Sandbox::from_grants(&grants(&[
            &format!("fs:read:{root}/fifo"),
            &format!("fs:read:{root}/sub/**"),
        ]));
        assert!(sandbox.names_exactly(Access::Read, &format!("{root}/fifo")));
        assert!(!sandbox.names_exactly(Access::Write, &format!("{root}/fifo")));
        assert!(!sandbox.names_exactly(Access::Read, &format!("{root}/sub/fifo")));
    }

    #[test]
    fn subtree_writes() {
        let (sandbox, _) =
            Sandbox::from_grants(&grants(&["fs:write:/srv/app/*", "fs:write:/data/**"]));
        assert!(!sandbox.permits_subtree_write("/srv/app/private"));
        assert!(sandbox.permits_subtree_write("/data/x"));
        assert!(sandbox.permits_subtree_write("/data"));
        assert!(!sandbox.permits_subtree_write("/data/[x]"));
    }

    #[test]
    fn path_helpers() {
        assert!(is_within("/etc/ssh", "/etc"));
        assert!(!is_within("/etcetera", "/etc"));
        assert!(is_within("/anything", "/"));
        assert_eq!(parent_of("/etc/hosts"), "/etc");
        assert_eq!(parent_of("/etc"), "/");
        assert_eq!(child_of("/", "etc"), "/etc");
        assert_eq!(child_of("/etc", "hosts"), "/etc/hosts");
    }
}
