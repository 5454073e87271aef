//! Opening the cache directory so that nobody but this user, or root, can have chosen what is in
//! it.
//!
//! The path is walked from `/` one component at a time, each opened relative to the directory
//! before it with `O_NOFOLLOW`, and every check is made on the handle that was opened, never on a
//! path that could be swapped after the check. Everything the cache then reads or writes goes
//! through the root's handle. The rules, for a compiled module is native code:
//!
//! - The cache root is a directory owned by this user and not writable by group or others.
//! - Each of its ancestors is a directory owned by root or by this user, and not writable by group
//!   or others unless it is sticky. In a sticky directory such as `/tmp`, only an entry's owner,
//!   the directory's owner or root may rename or remove the entry; the directory belongs to root
//!   or us, and so does the next component (or it fails the rule), so nobody else can put a
//!   directory of their own in its place. Another user can take a name there first, but what
//!   they make is theirs and is refused: a denial of service, never a substitution.
//! - No component is a symbolic link, not even a link in a trusted directory (such as a `/home`
//!   that links elsewhere): point `XDG_CACHE_HOME` at a path without one.

use std::ffi::OsStr;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Why a directory on the way to the cache root, or a file in it, cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Untrusted {
    /// The directory or file that failed.
    pub(super) path: PathBuf,
    /// What is wrong with it, as a predicate: "is a symbolic link".
    pub(super) reason: String,
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.display(), self.reason)
    }
}

/// The owner, kind and permission bits of an opened file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    pub(super) uid: u32,
    pub(super) kind: FileType,
    pub(super) mode: Mode,
}

impl Facts {
    /// What `fstat` says of `fd`.
    pub(super) fn of(fd: impl AsFd) -> rustix::io::Result<Self> {
        let stat = rustix::fs::fstat(fd)?;
        Ok(Facts {
            uid: stat.st_uid,
            kind: FileType::from_raw_mode(stat.st_mode),
            mode: Mode::from_raw_mode(stat.st_mode),
        })
    }

    /// True when someone other than the owner may write it.
    pub(super) fn writable_by_others(&self) -> bool {
        self.mode.intersects(Mode::WGRP | Mode::WOTH)
    }
}

/// The effective user id of this process: the user the cache must belong to.
pub(super) fn current_user() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Opens the cache root `root` after checking it and every directory above it, creating missing
/// directories with mode 0700 when `create` is set. `root` must be absolute and free of `..`.
pub(super) fn open_root(root: &Path, me: u32, create: bool) -> Result<OwnedFd, Untrusted> {
    let untrusted = |path: &Path, reason: String| Untrusted {
        path: path.to_owned(),
        reason,
    };
    if !root.is_absolute() {
        return Err(untrusted(root, "is not an absolute path".into()));
    }
    let mut names: Vec<&OsStr> = Vec::new();
    for component in root.components() {
        match component {
            Component::Normal(name) => names.push(name),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(untrusted(root, "contains \"..\"".into()));
            }
        }
    }
    let mut path = PathBuf::from("/");
    let mut dir = open_dir(rustix::fs::CWD, OsStr::new("/"), false)
        .map_err(|reason| untrusted(&path, reason))?;
    check_dir(&dir, me, names.is_empty()).map_err(|reason| untrusted(&path, reason))?;
    for (i, name) in names.iter().enumerate() {
        path.push(name);
        let next = open_dir(&dir, name, create).map_err(|reason| untrusted(&path, reason))?;
        check_dir(&next, me, i + 1 == names.len()).map_err(|reason| untrusted(&path, reason))?;
        dir = next;
    }
    Ok(dir)
}

/// Opens the directory `name` in `parent` without following a symbolic link, making it first if
/// it is missing and `create` is set.
fn open_dir(parent: impl AsFd, name: &OsStr, create: bool) -> Result<OwnedFd, String> {
    // Only search rights are needed on the way down; a directory we may not list still works.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SEARCH: OFlags = OFlags::PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SEARCH: OFlags = OFlags::RDONLY;
    let flags = SEARCH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let open = || rustix::fs::openat(&parent, name, flags, Mode::empty());
    match open() {
        Err(Errno::NOENT) if create => {
            match rustix::fs::mkdirat(&parent, name, Mode::RWXU) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(format!("cannot be created: {e}")),
            }
            open().map_err(|e| why_not_opened(&parent, name, e))
        }
        result => result.map_err(|e| why_not_opened(&parent, name, e)),
    }
}

fn why_not_opened(parent: impl AsFd, name: &OsStr, error: Errno) -> String {
    let is_link = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink);
    match error {
        _ if is_link => "is a symbolic link".into(),
        Errno::NOTDIR => "is not a directory".into(),
        Errno::NOENT => "does not exist".into(),
        e => format!("cannot be opened: {e}"),
    }
}

/// Checks an opened directory: the cache root must be ours and writable only by us; an ancestor
/// must be root's or ours and, if others may write it, sticky.
fn check_dir(dir: &OwnedFd, me: u32, is_root: bool) -> Result<(), String> {
    let facts = Facts::of(dir).map_err(|e| format!("cannot be examined: {e}"))?;
    if facts.kind != FileType::Directory {
        return Err("is not a directory".into());
    }
    let mode = facts.mode.bits() & 0o7777;
    if is_root {
        if facts.uid != me {
            return Err(format!(
                "belongs to uid {}, not to this user (uid {me})",
                facts.uid
            ));
        }
        if facts.writable_by_others() {
            return Err(format!("is writable by group or others (mode {mode:04o})"));
        }
    } else {
        if facts.uid != me && facts.uid != 0 {
            return Err(format!(
                "belongs to uid {}, neither root nor this user (uid {me})",
                facts.uid
            ));
        }
        if facts.writable_by_others() && !facts.mode.contains(Mode::SVTX) {
            return Err(format!(
                "is writable by group or others and not sticky (mode {mode:04o})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const NOBODY: u32 = 65534;

    /// Changes a fresh tree (its parent, its root) into the case under test.
    type Setup = fn(&Path, &Path);

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A tree `base/parent/root`, all 0700 and ours.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let base = tempfile::tempdir().unwrap();
        let parent = base.path().join("parent");
        let root = parent.join("root");
        std::fs::create_dir_all(&root).unwrap();
        chmod(&parent, 0o700);
        chmod(&root, 0o700);
        (base, parent, root)
    }

    #[test]
    fn the_whole_chain_is_checked() {
        let cases: &[(&str, Setup, Option<&str>)] = &[
            ("a private chain", |_, _| {}, None),
            ("a sticky parent open to all", |p, _| chmod(p, 0o1777), None),
            (
                "a root others may write",
                |_, r| chmod(r, 0o707),
                Some("root is writable by group or others (mode 0707)"),
            ),
            (
                "a root the group may write",
                |_, r| chmod(r, 0o770),
                Some("root is writable by group or others"),
            ),
            (
                "a sticky root open to all",
                |_, r| chmod(r, 0o1777),
                Some("root is writable by group or others"),
            ),
            (
                "a parent others may write",
                |p, _| chmod(p, 0o777),
                Some("parent is writable by group or others and not sticky"),
            ),
            (
                "a parent the group may write",
                |p, _| chmod(p, 0o770),
                Some("parent is writable by group or others and not sticky"),
            ),
            (
                "a root that is a symbolic link",
                |p, r| {
                    std::fs::rename(r, p.join("real")).unwrap();
                    std::os::unix::fs::symlink("real", r).unwrap();
                },
                Some("root is a symbolic link"),
            ),
            (
                "a parent that is a symbolic link",
                |p, _| {
                    let real = p.with_file_name("real");
                    std::fs::rename(p, &real).unwrap();
                    std::os::unix::fs::symlink(&real, p).unwrap();
                },
                Some("parent is a symbolic link"),
            ),
            (
                "a root that is a file",
                |_, r| {
                    std::fs::remove_dir(r).unwrap();
                    std::fs::write(r, b"").unwrap();
                },
                Some("root is not a directory"),
            ),
        ];
        let me = current_user();
        for (name, setup, refusal) in cases {
            let (_base, parent, root) = tree();
            setup(&parent, &root);
            let result = open_root(&root, me, false).map(|_| ());
            match refusal {
                None => assert_eq!(result, Ok(()), "{name}"),
                Some(reason) => {
                    let err = result.expect_err(name).to_string();
                    assert!(err.contains(reason), "{name}: {err}");
                }
            }
        }
    }

    #[test]
    fn directories_of_other_users_are_refused() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: giving a directory to another user needs root");
            return;
        }
        let me = current_user();
        let cases: &[(&str, Setup, &str)] = &[
            (
                "a root of another user",
                |_, r| std::os::unix::fs::chown(r, Some(NOBODY), None).unwrap(),
                "root belongs to uid 65534, not to this user",
            ),
            (
                "a parent of another user",
                |p, _| std::os::unix::fs::chown(p, Some(NOBODY), None).unwrap(),
                "parent belongs to uid 65534, neither root nor this user",
            ),
            (
                "a sticky parent of another user",
                |p, _| {
                    std::os::unix::fs::chown(p, Some(NOBODY), None).unwrap();
                    chmod(p, 0o1777);
                },
                "parent belongs to uid 65534",
            ),
        ];
        for (name, setup, reason) in cases {
            let (_base, parent, root) = tree();
            setup(&parent, &root);
            let err = open_root(&root, me, false).expect_err(name).to_string();
            assert!(err.contains(reason), "{name}: {err}");
        }
    }

    #[test]
    fn missing_directories_are_made_private_and_never_through_a_link() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("a").join("b");
        open_root(&root, current_user(), true).unwrap();
        for dir in [base.path().join("a"), root.clone()] {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        }

        let elsewhere = tempfile::tempdir().unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        let err = open_root(&link.join("c"), current_user(), true).unwrap_err();
        assert!(err.to_string().contains("link is a symbolic link"), "{err}");
        assert!(!elsewhere.path().join("c").exists());
    }

    #[test]
    fn relative_paths_and_dot_dot_are_refused() {
        let me = current_user();
        assert!(open_root(Path::new("cache"), me, false).is_err());
        let err = open_root(Path::new("/tmp/../tmp"), me, false).unwrap_err();
        assert!(err.reason.contains(".."), "{err}");
    }
}
