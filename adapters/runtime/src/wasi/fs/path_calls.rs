//! WASI calls that take a path: each resolves it with [`resolve`] and then acts on the directory
//! handle and name it got back, never on a path string.

use std::os::fd::OwnedFd;

use rustix::fs::{
    AtFlags, FileType, Mode, OFlags, fstat, linkat, mkdirat, openat, readlinkat, renameat, statat,
    symlinkat, unlinkat, utimensat,
};

use super::super::Cx;
use super::super::errno::Errno;
use super::super::sandbox::{Access, Sandbox};
use super::super::state::{DirFd, Fd, FileFd};
use super::fd_calls::timestamps;
use super::flags::*;
use super::resolve::{DirHandle, Resolved, hide, resolve};
use super::stat::Stat;

fn path_arg(cx: &Cx<'_>, ptr: u32, len: u32) -> Result<String, Errno> {
    cx.mem.str(ptr, len).map(str::to_owned)
}

/// Resolves `path` from the directory descriptor `dirfd`.
fn lookup(
    cx: &Cx<'_>,
    dirfd: u32,
    path: &str,
    follow: bool,
    access: Access,
) -> Result<Resolved, Errno> {
    let start = &cx.wasi.dir(dirfd)?.handle;
    resolve(&cx.wasi.sandbox, start, path, follow, access)
}

/// The real path a resolution checked.
fn from_path(resolved: &Resolved) -> String {
    match resolved {
        Resolved::Dir(dir) => dir.path().to_owned(),
        Resolved::Entry { path, .. } => path.clone(),
    }
}

fn require(sandbox: &Sandbox, access: Access, path: &str) -> Result<(), Errno> {
    if sandbox.permits(access, path) {
        Ok(())
    } else {
        Err(Errno::Acces)
    }
}

/// What `path_open` was asked for.
struct OpenRequest {
    creat: bool,
    excl: bool,
    trunc: bool,
    want_dir: bool,
    append: bool,
    readable: bool,
    writable: bool,
}

impl OpenRequest {
    fn new(oflags: u16, rights_base: u64, fdflags: u16) -> Self {
        let trunc = oflags & OFLAGS_TRUNC != 0;
        let append = fdflags & FDFLAGS_APPEND != 0;
        let write_rights = rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE;
        let writable = rights_base & write_rights != 0 || trunc || append;
        OpenRequest {
            creat: oflags & OFLAGS_CREAT != 0,
            excl: oflags & OFLAGS_EXCL != 0,
            trunc,
            want_dir: oflags & OFLAGS_DIRECTORY != 0,
            append,
            readable: rights_base & rights::FD_READ != 0 || !writable,
            writable,
        }
    }

    /// The flags every file is opened with: never through a symlink, never blocking, never taking
    /// a controlling terminal.
    fn os_flags(&self) -> OFlags {
        let mut flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        flags |= match (self.readable, self.writable) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if self.trunc {
            flags |= OFlags::TRUNC;
        }
        flags
    }

    fn file(&self, fd: OwnedFd) -> Fd {
        Fd::File(FileFd {
            file: std::fs::File::from(fd),
            readable: self.readable,
            writable: self.writable,
            append: self.append,
        })
    }
}

/// A regular file may be opened wherever the grants allow; a FIFO, device or socket only where a
/// grant names it exactly, because opening or reading one can block or have side effects.
fn check_kind(sandbox: &Sandbox, kind: FileType, access: Access, path: &str) -> Result<(), Errno> {
    match kind {
        FileType::RegularFile => Ok(()),
        FileType::Directory => Err(Errno::Isdir),
        _ if sandbox.names_exactly(access, path) => Ok(()),
        _ => Err(Errno::Acces),
    }
}

fn open_dir(handle: DirHandle, request: &OpenRequest) -> Result<Fd, Errno> {
    if request.creat && request.excl {
        return Err(Errno::Exist);
    }
    if request.writable {
        return Err(Errno::Isdir);
    }
    Ok(Fd::Dir(DirFd {
        handle,
        preopen: false,
    }))
}

fn open_existing(
    sandbox: &Sandbox,
    parent: &DirHandle,
    name: &str,
    path: &str,
    kind: FileType,
    request: &OpenRequest,
) -> Result<Fd, Errno> {
    if request.want_dir {
        return Err(Errno::Notdir);
    }
    if request.creat && request.excl {
        return Err(Errno::Exist);
    }
    if request.readable {
        require(sandbox, Access::Read, path)?;
    }
    let access = if request.writable {
        require(sandbox, Access::Write, path)?;
        Access::Write
    } else {
        Access::Read
    };
    check_kind(sandbox, kind, access, path)?;
    let fd = openat(parent.fd(), name, request.os_flags(), Mode::empty())?;
    // What was opened is what counts: a file swapped in since the stat is checked again.
    let opened = FileType::from_raw_mode(fstat(&fd)?.st_mode);
    check_kind(sandbox, opened, access, path)?;
    Ok(request.file(fd))
}

fn create(
    sandbox: &Sandbox,
    parent: &DirHandle,
    name: &str,
    path: &str,
    request: &OpenRequest,
) -> Result<Fd, Errno> {
    if request.want_dir {
        return Err(Errno::Inval);
    }
    require(sandbox, Access::Write, path)?;
    // Creating needs a writable handle even when the guest asked only to read.
    let mut flags = OpenRequest {
        writable: true,
        ..*request
    }
    .os_flags()
        | OFlags::CREATE;
    if request.excl {
        flags |= OFlags::EXCL;
    }
    let fd = openat(parent.fd(), name, flags, Mode::from_bits_truncate(0o666))?;
    check_kind(
        sandbox,
        FileType::from_raw_mode(fstat(&fd)?.st_mode),
        Access::Write,
        path,
    )?;
    Ok(request.file(fd))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn path_open(
    cx: &mut Cx<'_>,
    dirfd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    rights_base: u64,
    _rights_inheriting: u64,
    fdflags: u32,
    opened: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let (oflags, fdflags) = (oflags as u16, fdflags as u16);
    if fdflags & (FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC) != 0 {
        return Err(Errno::Notsup);
    }
    let request = OpenRequest::new(oflags, rights_base, fdflags);
    let follow = lookupflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let access = if request.writable || request.creat {
        Access::Write
    } else {
        Access::Traverse
    };
    let sandbox = &cx.wasi.sandbox;
    let fd = match lookup(cx, dirfd, &path, follow, access)? {
        Resolved::Dir(handle) => open_dir(handle, &request)?,
        Resolved::Entry { parent, name, path } => {
            match statat(parent.fd(), name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                    FileType::Directory => open_dir(parent.enter(&name)?, &request)?,
                    // Reached only without LOOKUP_SYMLINK_FOLLOW: the link itself cannot be opened.
                    FileType::Symlink => return Err(Errno::Loop),
                    kind => open_existing(sandbox, &parent, &name, &path, kind, &request)?,
                },
                Err(rustix::io::Errno::NOENT) if request.creat => {
                    create(sandbox, &parent, &name, &path, &request)?
                }
                Err(e) => return Err(hide(sandbox, &path, e.into())),
            }
        }
    };
    let number = cx.wasi.insert(fd)?;
    cx.mem.write_u32(opened, number)
}

pub(crate) fn path_filestat_get(
    cx: &mut Cx<'_>,
    dirfd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    buf: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
    let sandbox = &cx.wasi.sandbox;
    let (stat, path) = match lookup(cx, dirfd, &path, follow, Access::Traverse)? {
        Resolved::Dir(handle) => (fstat(handle.fd())?, handle.path().to_owned()),
        Resolved::Entry { parent, name, path } => {
            let stat = statat(parent.fd(), name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| hide(sandbox, &path, e.into()))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
                require(sandbox, Access::Read, &path)?;
            }
            (stat, path)
        }
    };
    Stat::visible(&stat, sandbox, &path).write_to(cx, buf)
}

/// Without `LOOKUP_SYMLINK_FOLLOW` a symlink's own times change, never its target's.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_filestat_set_times(
    cx: &mut Cx<'_>,
    dirfd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let times = timestamps(atim, mtim, fst_flags as u16)?;
    let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
    match lookup(cx, dirfd, &path, follow, Access::Write)? {
        Resolved::Dir(handle) => utimensat(handle.fd(), ".", &times, AtFlags::empty())?,
        Resolved::Entry { parent, name, .. } => utimensat(
            parent.fd(),
            name.as_str(),
            &times,
            AtFlags::SYMLINK_NOFOLLOW,
        )?,
    }
    Ok(())
}

pub(crate) fn path_create_directory(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = lookup(cx, dirfd, &path, false, Access::Write)?;
    let (parent, name) = target.entry().map_err(|_| Errno::Exist)?;
    mkdirat(parent.fd(), name, Mode::from_bits_truncate(0o777))?;
    Ok(())
}

pub(crate) fn path_remove_directory(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = lookup(cx, dirfd, &path, false, Access::Write)?;
    let (parent, name) = target.entry()?;
    unlinkat(parent.fd(), name, AtFlags::REMOVEDIR)?;
    Ok(())
}

pub(crate) fn path_unlink_file(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = lookup(cx, dirfd, &path, false, Access::Write)?;
    let (parent, name) = target.entry().map_err(|_| Errno::Isdir)?;
    unlinkat(parent.fd(), name, AtFlags::empty())?;
    Ok(())
}

pub(crate) fn path_rename(
    cx: &mut Cx<'_>,
    fd: u32,
    old: u32,
    old_len: u32,
    new_fd: u32,
    new: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let (old, new) = (path_arg(cx, old, old_len)?, path_arg(cx, new, new_len)?);
    let from = lookup(cx, fd, &old, false, Access::Write)?;
    let to = lookup(cx, new_fd, &new, false, Access::Write)?;
    let ((from_dir, from_name), (to_dir, to_name)) = (from.entry()?, to.entry()?);
    // A directory carries its subtree: moving it must not put ungranted files under a granted
    // name (or granted ones out of reach of a handle's recorded path), so one write grant must
    // cover both whole subtrees.
    let stat = statat(from_dir.fd(), from_name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
        let sandbox = &cx.wasi.sandbox;
        if !sandbox.permits_subtree_write(&from_path(&from))
            || !sandbox.permits_subtree_write(&from_path(&to))
        {
            return Err(Errno::Acces);
        }
    }
    renameat(from_dir.fd(), from_name, to_dir.fd(), to_name)?;
    Ok(())
}

/// A hard link shares the file, so it needs write access at both names: otherwise a link placed in
/// a writable area would make a read-only file writable.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_link(
    cx: &mut Cx<'_>,
    old_fd: u32,
    old_flags: u32,
    old: u32,
    old_len: u32,
    new_fd: u32,
    new: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let (old, new) = (path_arg(cx, old, old_len)?, path_arg(cx, new, new_len)?);
    let follow = old_flags & LOOKUP_SYMLINK_FOLLOW != 0;
    let from = lookup(cx, old_fd, &old, follow, Access::Write)?;
    let to = lookup(cx, new_fd, &new, false, Access::Write)?;
    let ((from_dir, from_name), (to_dir, to_name)) = (from.entry()?, to.entry()?);
    linkat(
        from_dir.fd(),
        from_name,
        to_dir.fd(),
        to_name,
        AtFlags::empty(),
    )?;
    Ok(())
}

/// Links may point anywhere relative: following one is checked hop by hop at use. Absolute targets
/// are refused so that a link means the same to the guest and to the host.
pub(crate) fn path_symlink(
    cx: &mut Cx<'_>,
    old: u32,
    old_len: u32,
    dirfd: u32,
    new: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let (original, new) = (path_arg(cx, old, old_len)?, path_arg(cx, new, new_len)?);
    if original.starts_with('/') || original.contains('\0') {
        return Err(Errno::Notcapable);
    }
    let link = lookup(cx, dirfd, &new, false, Access::Write)?;
    let (parent, name) = link.entry().map_err(|_| Errno::Exist)?;
    symlinkat(original.as_str(), parent.fd(), name)?;
    Ok(())
}

pub(crate) fn path_readlink(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    cx.mem.slice_mut(buf, buf_len)?;
    let path = path_arg(cx, path, path_len)?;
    let link = lookup(cx, dirfd, &path, false, Access::Read)?;
    let (parent, name) = link.entry()?;
    let target = readlinkat(parent.fd(), name, Vec::new())?;
    let bytes = target.as_bytes();
    let n = bytes.len().min(buf_len as usize);
    cx.mem.write(buf, &bytes[..n])?;
    cx.mem.write_u32(bufused, n as u32)
}
