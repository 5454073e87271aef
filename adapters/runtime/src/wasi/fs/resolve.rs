//! Path resolution, the security core of the sandbox: a guest path becomes a directory handle and
//! a name in it, walked one component at a time from a handle the sandbox already holds.
//!
//! The OS is never given a path with more than one component, and never asked to follow a
//! symlink: every component is looked at with `AT_SYMLINK_NOFOLLOW`, directories are entered with
//! `O_NOFOLLOW`, and a symlink is read and its target walked here, one hop at a time, each hop
//! checked against the grants. `..` pops a handle this walk already holds instead of asking the OS,
//! so it can never climb out of a mount. Because each handle is the directory that was checked, a
//! directory swapped for a symlink between the check and the use is refused by the kernel
//! (`ELOOP`/`ENOTDIR`), not followed.
//!
//! Grants are checked on real paths: a handle's path is the path of the directory it refers to,
//! symlinks resolved, so a link cannot lend its name to what it points at. A component is checked
//! before it is looked up, so an ungranted file's existence is never revealed.

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, fstat, openat, readlinkat, statat};

use super::super::errno::Errno;
use super::super::sandbox::{Access, Mount, Sandbox, child_of, dir_handle_flags, parent_of};

/// Most symlinks one resolution follows, as Linux's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;

/// Longest guest path accepted, as Linux's `PATH_MAX`: bounds the work and memory of one walk.
pub(crate) const MAX_PATH: usize = 4096;

/// A directory's device and inode: what `..` is checked against.
type Identity = (u64, u64);

// The kernel's `struct stat` field types differ by architecture; the casts are identities on some.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn identity(fd: BorrowedFd<'_>) -> Result<Identity, Errno> {
    let stat = fstat(fd)?;
    Ok((stat.st_dev as u64, stat.st_ino as u64))
}

/// One directory above a handle, up to the mount root.
struct Ancestor {
    id: Identity,
    above: Option<Arc<Ancestor>>,
}

/// A directory the resolver reached: one `O_PATH` handle, the identities of the directories above
/// it up to the mount root (so `..` is checked, never trusted), and its real absolute path.
///
/// Holding one descriptor per handle, not one per level, keeps deep trees from exhausting the
/// host's descriptors; entering and leaving are O(1).
#[derive(Clone)]
pub(crate) struct DirHandle {
    mount: Arc<Mount>,
    fd: Arc<OwnedFd>,
    id: Identity,
    /// `None` at the mount root.
    above: Option<Arc<Ancestor>>,
    path: String,
}

impl DirHandle {
    /// The root of `mount`.
    pub(crate) fn root(mount: &Arc<Mount>) -> Self {
        DirHandle {
            mount: mount.clone(),
            fd: mount.root.clone(),
            id: mount.id,
            above: None,
            path: mount.path.clone(),
        }
    }

    /// The directory's real absolute path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The directory's `O_PATH` handle, to use as the base of `*at` calls.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The subdirectory `name`, entered without following a symlink.
    pub(crate) fn enter(&self, name: &str) -> Result<DirHandle, Errno> {
        let fd = openat(self.fd(), name, dir_handle_flags(), Mode::empty())?;
        let id = identity(fd.as_fd())?;
        Ok(DirHandle {
            mount: self.mount.clone(),
            fd: Arc::new(fd),
            id,
            above: Some(Arc::new(Ancestor {
                id: self.id,
                above: self.above.clone(),
            })),
            path: child_of(&self.path, name),
        })
    }

    fn is_mount_root(&self) -> bool {
        self.above.is_none()
    }

    /// Moves to the parent directory; refused at a mount root other than `/` (whose parent is
    /// itself), and when the directory was moved since it was entered (its `..` is no longer the
    /// directory the walk came from).
    fn leave(&mut self) -> Result<(), Errno> {
        let Some(parent) = self.above.clone() else {
            return if self.path == "/" {
                Ok(())
            } else {
                Err(Errno::Notcapable)
            };
        };
        let fd = openat(self.fd(), "..", dir_handle_flags(), Mode::empty())?;
        if identity(fd.as_fd())? != parent.id {
            return Err(Errno::Notcapable);
        }
        self.fd = Arc::new(fd);
        self.id = parent.id;
        self.above = parent.above.clone();
        let cut = self.path.rfind('/').unwrap_or(0).max(1);
        self.path.truncate(cut);
        Ok(())
    }
}

/// Where a path led.
pub(crate) enum Resolved {
    /// The path names a directory the walk already entered (`.`, `sub/..`, a mount root).
    Dir(DirHandle),
    /// The path names `name` inside `parent`; it may not exist. Never a symlink the caller asked
    /// to follow: those were walked.
    Entry {
        parent: DirHandle,
        name: String,
        /// The entry's real absolute path, which the grants were checked against.
        path: String,
    },
}

impl Resolved {
    /// The real absolute path of what the path names.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &str {
        match self {
            Resolved::Dir(dir) => dir.path(),
            Resolved::Entry { path, .. } => path,
        }
    }

    /// The parent and name, for calls that act on a name (unlink, mkdir, rename): a path that
    /// ends at a directory already entered (`.`) names no entry.
    pub(crate) fn entry(&self) -> Result<(&DirHandle, &str), Errno> {
        match self {
            Resolved::Entry { parent, name, .. } => Ok((parent, name)),
            Resolved::Dir(_) => Err(Errno::Inval),
        }
    }
}

/// What a failed lookup of `path` may tell the plugin: "missing" and "not a directory" reveal
/// what is there, so where the grants neither let it read `path` nor name a path below it, both
/// become `EACCES`, the same answer as for an existing ungranted file.
pub(crate) fn hide(sandbox: &Sandbox, path: &str, errno: Errno) -> Errno {
    match errno {
        Errno::Noent | Errno::Notdir
            if !sandbox.permits(Access::Read, path) && !sandbox.leads_to_named_path(path) =>
        {
            Errno::Acces
        }
        other => other,
    }
}

/// The pieces of a guest path or symlink target, in walking order.
fn components(path: &[u8]) -> Result<Vec<String>, Errno> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| {
            std::str::from_utf8(c)
                .map(str::to_owned)
                .map_err(|_| Errno::Ilseq)
        })
        .collect()
}

/// Resolves the relative guest `path` from `start`. Every directory on the way must be
/// traversable; the last component must allow `access` (checked on its real path, after
/// following it when `follow` is set).
///
/// # Errors
///
/// `Notcapable` for an absolute path or one that leads where no mount is, `Acces` for a component
/// the grants do not allow, `Loop` after [`MAX_HOPS`] symlinks, and the OS error of a lookup.
pub(crate) fn resolve(
    sandbox: &Sandbox,
    start: &DirHandle,
    path: &str,
    follow: bool,
    access: Access,
) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.len() > MAX_PATH {
        return Err(Errno::Nametoolong);
    }
    if path.starts_with('/') || path.contains('\0') {
        return Err(Errno::Notcapable);
    }
    let mut dir = start.clone();
    let mut pending: VecDeque<String> = components(path.as_bytes())?.into();
    let mut hops = 0;
    while let Some(component) = pending.pop_front() {
        match component.as_str() {
            "." => continue,
            ".." if dir.is_mount_root() && dir.path() != "/" => {
                // Above a mount root the walk goes on from whichever mount holds the parent, as
                // if the rest were an absolute path: a mount's path is its real path.
                // The mount's ancestors are real directories, so folding `..` over them is exact.
                let mut up = parent_of(dir.path());
                while let Some(next) = pending.front() {
                    match next.as_str() {
                        ".." => up = parent_of(&up),
                        "." => {}
                        _ => break,
                    }
                    pending.pop_front();
                }
                let mut rest = components(up.as_bytes())?;
                rest.extend(pending.drain(..));
                let (mount, left) = mount_for_absolute(sandbox, &rest)?;
                dir = DirHandle::root(mount);
                pending = left.into();
                continue;
            }
            ".." => {
                dir.leave()?;
                continue;
            }
            _ => {}
        }
        let child = child_of(dir.path(), &component);
        let last = pending.is_empty();
        if last && !follow {
            if !sandbox.permits(access, &child) {
                return Err(Errno::Acces);
            }
            return Ok(Resolved::Entry {
                parent: dir,
                name: component,
                path: child,
            });
        }
        if !sandbox.permits(Access::Traverse, &child) {
            return Err(Errno::Acces);
        }
        let kind = match statat(dir.fd(), component.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(FileType::from_raw_mode(stat.st_mode)),
            Err(rustix::io::Errno::NOENT) if last => None,
            Err(e) => return Err(hide(sandbox, &child, e.into())),
        };
        match kind {
            Some(FileType::Symlink) => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Errno::Loop);
                }
                let target = readlinkat(dir.fd(), component.as_str(), Vec::new())?;
                let target = target.as_bytes();
                if target.is_empty() {
                    return Err(Errno::Noent);
                }
                let mut spliced = components(target)?;
                if target.starts_with(b"/") {
                    let (mount, rest) = mount_for_absolute(sandbox, &spliced)?;
                    dir = DirHandle::root(mount);
                    spliced = rest;
                }
                for piece in spliced.into_iter().rev() {
                    pending.push_front(piece);
                }
            }
            Some(FileType::Directory) if !last => dir = dir.enter(&component)?,
            Some(_) if !last => return Err(hide(sandbox, &child, Errno::Notdir)),
            _ => {
                if !sandbox.permits(access, &child) {
                    return Err(Errno::Acces);
                }
                return Ok(Resolved::Entry {
                    parent: dir,
                    name: component,
                    path: child,
                });
            }
        }
    }
    if !sandbox.permits(access, dir.path()) {
        return Err(Errno::Acces);
    }
    Ok(Resolved::Dir(dir))
}

/// Resolves an absolute host path the way a guest's walk from its preopens would: from the root
/// of the deepest mount holding it, every component checked, the last against `access`. For host
/// functions that take a path (`file_stat`), so they never touch a path the sandbox did not walk.
///
/// # Errors
///
/// As [`resolve`]; `Notcapable` for a relative path or one under no mount.
pub(crate) fn resolve_absolute(
    sandbox: &Sandbox,
    path: &str,
    follow: bool,
    access: Access,
) -> Result<Resolved, Errno> {
    if !path.starts_with('/') || path.contains('\0') {
        return Err(Errno::Notcapable);
    }
    if path.len() > MAX_PATH {
        return Err(Errno::Nametoolong);
    }
    let parts = components(path.as_bytes())?;
    let (mount, rest) = mount_for_absolute(sandbox, &parts)?;
    let rest = if rest.is_empty() {
        ".".to_owned()
    } else {
        rest.join("/")
    };
    resolve(sandbox, &DirHandle::root(mount), &rest, follow, access)
}

/// The mount an absolute target starts in (the deepest whose path is a prefix of the target's
/// plain leading names), and the components left to walk from its root. `..` is walked, never
/// folded.
fn mount_for_absolute<'a>(
    sandbox: &'a Sandbox,
    target: &[String],
) -> Result<(&'a Arc<Mount>, Vec<String>), Errno> {
    let plain = target
        .iter()
        .take_while(|c| c.as_str() != "." && c.as_str() != "..")
        .count();
    let holds = |mount: &Mount| -> Option<usize> {
        let mut depth = 0;
        for part in mount.path.split('/').filter(|p| !p.is_empty()) {
            if depth >= plain || target[depth] != part {
                return None;
            }
            depth += 1;
        }
        Some(depth)
    };
    sandbox
        .mounts()
        .iter()
        .filter_map(|m| holds(m).map(|depth| (m, depth)))
        .max_by_key(|(_, depth)| *depth)
        .map(|(m, depth)| (m, target[depth..].to_vec()))
        .ok_or(Errno::Notcapable)
}

#[cfg(test)]
mod tests;
