//! WASI filesystem calls, filtered by the plugin's fs grants.
//!
//! Every path goes through [`resolve`]: it is joined to its directory descriptor's guest path and
//! normalised lexically, checked against the grants *before* the filesystem is touched (so the
//! existence of an ungranted file is never revealed), resolved inside its mount by cap-std (which
//! refuses to leave the mount), and checked again after symlinks are resolved, so a link inside a
//! granted area cannot lead to an ungranted file.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_std::fs::{Metadata, OpenOptions};

use super::Cx;
use super::errno::Errno;
use super::sandbox::{Access, Mount, is_within, join};
use super::state::{DirFd, Fd, FileFd, WasiState};

pub(crate) mod filetype {
    pub(crate) const UNKNOWN: u8 = 0;
    pub(crate) const BLOCK_DEVICE: u8 = 1;
    pub(crate) const CHARACTER_DEVICE: u8 = 2;
    pub(crate) const DIRECTORY: u8 = 3;
    pub(crate) const REGULAR_FILE: u8 = 4;
    pub(crate) const SOCKET_STREAM: u8 = 6;
    pub(crate) const SYMBOLIC_LINK: u8 = 7;
}

mod rights {
    pub(crate) const FD_DATASYNC: u64 = 1 << 0;
    pub(crate) const FD_READ: u64 = 1 << 1;
    pub(crate) const FD_SEEK: u64 = 1 << 2;
    pub(crate) const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub(crate) const FD_SYNC: u64 = 1 << 4;
    pub(crate) const FD_TELL: u64 = 1 << 5;
    pub(crate) const FD_WRITE: u64 = 1 << 6;
    pub(crate) const FD_ADVISE: u64 = 1 << 7;
    pub(crate) const FD_ALLOCATE: u64 = 1 << 8;
    pub(crate) const FD_READDIR: u64 = 1 << 14;
    pub(crate) const FD_FILESTAT_GET: u64 = 1 << 21;
    pub(crate) const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub(crate) const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub(crate) const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub(crate) const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub(crate) const POLL_FD_READWRITE: u64 = 1 << 27;
    /// Every path_* right (bits 9 to 26) plus fd_readdir: directories carry them all, because
    /// access is decided by the grants, not by rights.
    pub(crate) const DIRECTORY: u64 = ((PATH_UNLINK_FILE << 1) - PATH_CREATE_DIRECTORY)
        | FD_READDIR
        | FD_FILESTAT_GET
        | FD_FDSTAT_SET_FLAGS;
    pub(crate) const FILE_READ: u64 = FD_READ
        | FD_SEEK
        | FD_TELL
        | FD_ADVISE
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE
        | FD_FDSTAT_SET_FLAGS;
    pub(crate) const FILE_WRITE: u64 = FD_WRITE
        | FD_DATASYNC
        | FD_SYNC
        | FD_ALLOCATE
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | FD_SEEK
        | FD_TELL
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE
        | FD_FDSTAT_SET_FLAGS;
}

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const OFLAGS_CREAT: u16 = 1;
const OFLAGS_DIRECTORY: u16 = 2;
const OFLAGS_EXCL: u16 = 4;
const OFLAGS_TRUNC: u16 = 8;
const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_DSYNC: u16 = 2;
const FDFLAGS_NONBLOCK: u16 = 4;
const FDFLAGS_RSYNC: u16 = 8;
const FDFLAGS_SYNC: u16 = 16;
const FST_ATIM: u16 = 1;
const FST_ATIM_NOW: u16 = 2;
const FST_MTIM: u16 = 4;
const FST_MTIM_NOW: u16 = 8;

/// A path resolved inside a mount.
struct Target {
    mount: Arc<Mount>,
    /// Relative to the mount, symlinks resolved as asked; empty for the mount itself.
    rel: PathBuf,
    /// The absolute path as the guest named it.
    logical: String,
    /// The absolute path after resolving symlinks.
    canonical: String,
}

impl Target {
    fn rel(&self) -> &Path {
        if self.rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.rel
        }
    }

    fn metadata(&self, follow: bool) -> std::io::Result<Metadata> {
        if follow {
            self.mount.dir.metadata(self.rel())
        } else {
            self.mount.dir.symlink_metadata(self.rel())
        }
    }
}

/// Resolves `path` relative to the directory descriptor `dirfd`; see the module documentation.
fn resolve(
    wasi: &WasiState,
    dirfd: u32,
    path: &str,
    follow: bool,
    access: Access,
) -> Result<Target, Errno> {
    let dir = wasi.dir(dirfd)?;
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.starts_with('/') || path.contains('\0') {
        return Err(Errno::Notcapable);
    }
    let logical = join(&dir.logical, path).ok_or(Errno::Inval)?;
    let mount = dir.mount.clone();
    if !is_within(&logical, &mount.path) {
        return Err(Errno::Notcapable);
    }
    if !wasi.sandbox.permits(access, &logical) {
        return Err(Errno::Acces);
    }
    let rel_logical = logical[mount.path.len()..].trim_start_matches('/');
    let rel = resolve_symlinks(&mount, rel_logical, follow)?;
    let canonical = if rel.as_os_str().is_empty() {
        mount.path.clone()
    } else {
        join(&mount.path, &rel.to_string_lossy()).ok_or(Errno::Inval)?
    };
    if !wasi.sandbox.permits(access, &canonical) {
        return Err(Errno::Acces);
    }
    Ok(Target {
        mount,
        rel,
        logical,
        canonical,
    })
}

/// Resolves symlinks in the parent of `rel` (and in `rel` itself when `follow`), inside the mount.
fn resolve_symlinks(mount: &Mount, rel: &str, follow: bool) -> Result<PathBuf, Errno> {
    if rel.is_empty() {
        return Ok(PathBuf::new());
    }
    let (parent, name) = match rel.rfind('/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => ("", rel),
    };
    let mut resolved = if parent.is_empty() {
        PathBuf::new()
    } else {
        strip_dot(mount.dir.canonicalize(parent)?)
    };
    resolved.push(name);
    if follow
        && let Ok(meta) = mount.dir.symlink_metadata(&resolved)
        && meta.file_type().is_symlink()
    {
        match mount.dir.canonicalize(&resolved) {
            Ok(target) => resolved = strip_dot(target),
            // A dangling link: the operation itself will report it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(resolved)
}

fn strip_dot(path: PathBuf) -> PathBuf {
    if path == Path::new(".") {
        PathBuf::new()
    } else {
        path
    }
}

/// Checks `access` on both names of a resolved path.
fn require(wasi: &WasiState, access: Access, target: &Target) -> Result<(), Errno> {
    if wasi.sandbox.permits(access, &target.logical)
        && wasi.sandbox.permits(access, &target.canonical)
    {
        Ok(())
    } else {
        Err(Errno::Acces)
    }
}

/// The fields of a WASI `filestat`.
struct Stat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    if secs < 0 {
        return 0;
    }
    (secs as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

fn cap_filetype(ft: cap_std::fs::FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        filetype::DIRECTORY
    } else if ft.is_file() {
        filetype::REGULAR_FILE
    } else if ft.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ft.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ft.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ft.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

fn std_filetype(ft: std::fs::FileType) -> u8 {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        filetype::DIRECTORY
    } else if ft.is_file() {
        filetype::REGULAR_FILE
    } else if ft.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ft.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ft.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ft.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

impl From<&Metadata> for Stat {
    fn from(m: &Metadata) -> Self {
        use cap_std::fs::MetadataExt;
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            filetype: cap_filetype(m.file_type()),
            nlink: m.nlink(),
            size: m.len(),
            atim: nanos(m.atime(), m.atime_nsec()),
            mtim: nanos(m.mtime(), m.mtime_nsec()),
            ctim: nanos(m.ctime(), m.ctime_nsec()),
        }
    }
}

impl From<&std::fs::Metadata> for Stat {
    fn from(m: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            filetype: std_filetype(m.file_type()),
            nlink: m.nlink(),
            size: m.len(),
            atim: nanos(m.atime(), m.atime_nsec()),
            mtim: nanos(m.mtime(), m.mtime_nsec()),
            ctim: nanos(m.ctime(), m.ctime_nsec()),
        }
    }
}

fn write_stat(cx: &mut Cx<'_>, ptr: u32, stat: &Stat) -> Result<(), Errno> {
    let mut buf = [0u8; 64];
    buf[0..8].copy_from_slice(&stat.dev.to_le_bytes());
    buf[8..16].copy_from_slice(&stat.ino.to_le_bytes());
    buf[16] = stat.filetype;
    buf[24..32].copy_from_slice(&stat.nlink.to_le_bytes());
    buf[32..40].copy_from_slice(&stat.size.to_le_bytes());
    buf[40..48].copy_from_slice(&stat.atim.to_le_bytes());
    buf[48..56].copy_from_slice(&stat.mtim.to_le_bytes());
    buf[56..64].copy_from_slice(&stat.ctim.to_le_bytes());
    cx.mem.write(ptr, &buf)
}

// ---------------------------------------------------------------------------------------------
// Descriptor calls

pub(crate) fn fd_close(cx: &mut Cx<'_>, fd: u32) -> Result<(), Errno> {
    cx.wasi.remove(fd).map(drop)
}

pub(crate) fn fd_renumber(cx: &mut Cx<'_>, from: u32, to: u32) -> Result<(), Errno> {
    cx.wasi.renumber(from, to)
}

pub(crate) fn fd_prestat_get(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    match cx.wasi.get(fd)? {
        Fd::Dir(DirFd {
            preopen: true,
            logical,
            ..
        }) => {
            let len = u32::try_from(logical.len()).map_err(|_| Errno::Nametoolong)?;
            cx.mem.write_u32(ptr, 0)?;
            cx.mem.write_u32(ptr + 4, len)
        }
        _ => Err(Errno::Badf),
    }
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut Cx<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
) -> Result<(), Errno> {
    match cx.wasi.get(fd)? {
        Fd::Dir(DirFd {
            preopen: true,
            logical,
            ..
        }) => {
            if (len as usize) < logical.len() {
                return Err(Errno::Nametoolong);
            }
            let name = logical.clone();
            cx.mem.write(ptr, name.as_bytes())
        }
        _ => Err(Errno::Badf),
    }
}

pub(crate) fn fd_fdstat_get(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    let (filetype, flags, base, inheriting) = match cx.wasi.get(fd)? {
        Fd::Stdin => (
            filetype::CHARACTER_DEVICE,
            0,
            rights::FD_READ | rights::POLL_FD_READWRITE,
            0,
        ),
        Fd::Stdout | Fd::Stderr => (
            filetype::CHARACTER_DEVICE,
            FDFLAGS_APPEND,
            rights::FD_WRITE | rights::POLL_FD_READWRITE,
            0,
        ),
        Fd::Dir(_) => (
            filetype::DIRECTORY,
            0,
            rights::DIRECTORY,
            rights::DIRECTORY | rights::FILE_READ | rights::FILE_WRITE,
        ),
        Fd::File(file) => {
            let mut base = 0;
            if file.readable {
                base |= rights::FILE_READ;
            }
            if file.writable {
                base |= rights::FILE_WRITE;
            }
            let ft = file
                .file
                .metadata()
                .map(|m| std_filetype(m.file_type()))
                .unwrap_or(filetype::REGULAR_FILE);
            (ft, if file.append { FDFLAGS_APPEND } else { 0 }, base, 0)
        }
    };
    let mut buf = [0u8; 24];
    buf[0] = filetype;
    buf[2..4].copy_from_slice(&flags.to_le_bytes());
    buf[8..16].copy_from_slice(&base.to_le_bytes());
    buf[16..24].copy_from_slice(&inheriting.to_le_bytes());
    cx.mem.write(ptr, &buf)
}

pub(crate) fn fd_fdstat_set_flags(cx: &mut Cx<'_>, fd: u32, flags: u32) -> Result<(), Errno> {
    let flags = flags as u16;
    if flags & (FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC) != 0 {
        return Err(Errno::Notsup);
    }
    match cx.wasi.get_mut(fd)? {
        // Host calls never block, so non-blocking mode changes nothing.
        Fd::File(file) => {
            file.append = flags & FDFLAGS_APPEND != 0;
            Ok(())
        }
        _ if flags & !(FDFLAGS_NONBLOCK | FDFLAGS_APPEND) == 0 => Ok(()),
        _ => Err(Errno::Inval),
    }
}

/// Dropping rights narrows a file descriptor to reading or writing; directory rights are not where
/// access is enforced (the grants are), so narrowing them changes nothing.
pub(crate) fn fd_fdstat_set_rights(
    cx: &mut Cx<'_>,
    fd: u32,
    base: u64,
    _inheriting: u64,
) -> Result<(), Errno> {
    match cx.wasi.get_mut(fd)? {
        Fd::File(file) => {
            if base & rights::FD_READ == 0 {
                file.readable = false;
            }
            if base & rights::FD_WRITE == 0 {
                file.writable = false;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(crate) fn fd_filestat_get(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    let stat = match cx.wasi.get(fd)? {
        Fd::Stdin | Fd::Stdout | Fd::Stderr => Stat {
            dev: 0,
            ino: 0,
            filetype: filetype::CHARACTER_DEVICE,
            nlink: 1,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        },
        Fd::File(file) => Stat::from(&file.file.metadata()?),
        Fd::Dir(dir) => {
            let meta = if dir.rel.as_os_str().is_empty() {
                dir.mount.dir.dir_metadata()?
            } else {
                dir.mount.dir.metadata(&dir.rel)?
            };
            Stat::from(&meta)
        }
    };
    write_stat(cx, ptr, &stat)
}

pub(crate) fn fd_filestat_set_size(cx: &mut Cx<'_>, fd: u32, size: u64) -> Result<(), Errno> {
    let file = cx.wasi.file_mut(fd)?;
    if !file.writable {
        return Err(Errno::Badf);
    }
    file.file.set_len(size)?;
    Ok(())
}

pub(crate) fn fd_allocate(cx: &mut Cx<'_>, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
    let file = cx.wasi.file_mut(fd)?;
    if !file.writable {
        return Err(Errno::Badf);
    }
    let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
    if end > file.file.metadata()?.len() {
        file.file.set_len(end)?;
    }
    Ok(())
}

pub(crate) fn fd_advise(
    cx: &mut Cx<'_>,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> Result<(), Errno> {
    cx.wasi.file_mut(fd)?;
    // Advice is a hint; valid values are 0..=5.
    if advice > 5 {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}

pub(crate) fn fd_sync(cx: &mut Cx<'_>, fd: u32) -> Result<(), Errno> {
    cx.wasi.file_mut(fd)?.file.sync_all()?;
    Ok(())
}

pub(crate) fn fd_datasync(cx: &mut Cx<'_>, fd: u32) -> Result<(), Errno> {
    cx.wasi.file_mut(fd)?.file.sync_data()?;
    Ok(())
}

fn times(atim: u64, mtim: u64, flags: u16) -> Result<std::fs::FileTimes, Errno> {
    if (flags & FST_ATIM != 0 && flags & FST_ATIM_NOW != 0)
        || (flags & FST_MTIM != 0 && flags & FST_MTIM_NOW != 0)
    {
        return Err(Errno::Inval);
    }
    let at = |ns: u64| UNIX_EPOCH + Duration::from_nanos(ns);
    let mut times = std::fs::FileTimes::new();
    if flags & FST_ATIM != 0 {
        times = times.set_accessed(at(atim));
    } else if flags & FST_ATIM_NOW != 0 {
        times = times.set_accessed(SystemTime::now());
    }
    if flags & FST_MTIM != 0 {
        times = times.set_modified(at(mtim));
    } else if flags & FST_MTIM_NOW != 0 {
        times = times.set_modified(SystemTime::now());
    }
    Ok(times)
}

pub(crate) fn fd_filestat_set_times(
    cx: &mut Cx<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(), Errno> {
    let times = times(atim, mtim, flags as u16)?;
    match cx.wasi.get(fd)? {
        Fd::File(file) if file.writable => file.file.set_times(times)?,
        Fd::Dir(dir) => {
            if !cx.wasi.sandbox.permits(Access::Write, &dir.logical) {
                return Err(Errno::Acces);
            }
            let handle = if dir.rel.as_os_str().is_empty() {
                dir.mount.dir.try_clone()?
            } else {
                dir.mount.dir.open_dir(&dir.rel)?
            };
            handle.into_std_file().set_times(times)?;
        }
        _ => return Err(Errno::Badf),
    }
    Ok(())
}

pub(crate) fn fd_read(
    cx: &mut Cx<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let iovecs = cx.mem.iovecs(iovs, iovs_len)?;
    let total = match cx.wasi.get_mut(fd)? {
        Fd::Stdin => 0,
        Fd::File(file) if file.readable => {
            let mut total = 0usize;
            for (buf, len) in iovecs {
                let slice = cx.mem.slice_mut(buf, len)?;
                let n = (&file.file).read(slice)?;
                total += n;
                if n < len as usize {
                    break;
                }
            }
            total
        }
        Fd::Dir(_) => return Err(Errno::Isdir),
        _ => return Err(Errno::Badf),
    };
    cx.mem.write_u32(nread, total as u32)
}

pub(crate) fn fd_pread(
    cx: &mut Cx<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> Result<(), Errno> {
    let iovecs = cx.mem.iovecs(iovs, iovs_len)?;
    let file = cx.wasi.file_mut(fd)?;
    if !file.readable {
        return Err(Errno::Badf);
    }
    let mut total = 0u64;
    for (buf, len) in iovecs {
        let slice = cx.mem.slice_mut(buf, len)?;
        let n = file
            .file
            .read_at(slice, offset.checked_add(total).ok_or(Errno::Overflow)?)?;
        total += n as u64;
        if n < len as usize {
            break;
        }
    }
    cx.mem.write_u32(nread, total as u32)
}

pub(crate) fn fd_write(
    cx: &mut Cx<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let iovecs = cx.mem.iovecs(iovs, iovs_len)?;
    let mut total = 0usize;
    match cx.wasi.get(fd)? {
        Fd::Stdout | Fd::Stderr => {
            let stdout = matches!(cx.wasi.get(fd)?, Fd::Stdout);
            for (buf, len) in iovecs {
                let bytes = cx.mem.slice(buf, len)?;
                total += bytes.len();
                if stdout {
                    cx.wasi.stdout.write(bytes);
                } else {
                    cx.wasi.stderr.write(bytes);
                }
            }
        }
        Fd::File(_) => {
            let file = cx.wasi.file_mut(fd)?;
            if !file.writable {
                return Err(Errno::Badf);
            }
            if file.append {
                file.file.seek(SeekFrom::End(0))?;
            }
            for (buf, len) in iovecs {
                let bytes = cx.mem.slice(buf, len)?;
                let n = (&file.file).write(bytes)?;
                total += n;
                if n < bytes.len() {
                    break;
                }
            }
        }
        Fd::Dir(_) => return Err(Errno::Isdir),
        Fd::Stdin => return Err(Errno::Badf),
    }
    cx.mem.write_u32(nwritten, total as u32)
}

pub(crate) fn fd_pwrite(
    cx: &mut Cx<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    let iovecs = cx.mem.iovecs(iovs, iovs_len)?;
    let file = cx.wasi.file_mut(fd)?;
    if !file.writable {
        return Err(Errno::Badf);
    }
    let mut total = 0u64;
    for (buf, len) in iovecs {
        let bytes = cx.mem.slice(buf, len)?;
        let n = file
            .file
            .write_at(bytes, offset.checked_add(total).ok_or(Errno::Overflow)?)?;
        total += n as u64;
        if n < bytes.len() {
            break;
        }
    }
    cx.mem.write_u32(nwritten, total as u32)
}

pub(crate) fn fd_seek(
    cx: &mut Cx<'_>,
    fd: u32,
    offset: i64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    let from = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    let pos = match cx.wasi.get_mut(fd)? {
        Fd::File(file) => file.file.seek(from)?,
        Fd::Dir(_) => return Err(Errno::Isdir),
        _ => return Err(Errno::Spipe),
    };
    cx.mem.write_u64(newoffset, pos)
}

pub(crate) fn fd_tell(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    let pos = match cx.wasi.get_mut(fd)? {
        Fd::File(file) => file.file.stream_position()?,
        _ => return Err(Errno::Spipe),
    };
    cx.mem.write_u64(ptr, pos)
}

/// Lists a directory descriptor, showing only entries the grants let the plugin reach.
pub(crate) fn fd_readdir(
    cx: &mut Cx<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    let dir = cx.wasi.dir(fd)?;
    let handle = if dir.rel.as_os_str().is_empty() {
        dir.mount.dir.try_clone()?
    } else {
        dir.mount.dir.open_dir(&dir.rel)?
    };
    let self_ino = {
        use cap_std::fs::MetadataExt;
        handle.dir_metadata()?.ino()
    };
    let mut entries: Vec<(Vec<u8>, u64, u8)> = vec![
        (b".".to_vec(), self_ino, filetype::DIRECTORY),
        (b"..".to_vec(), 0, filetype::DIRECTORY),
    ];
    let mut listed: Vec<(Vec<u8>, u64, u8)> = Vec::new();
    for entry in handle.entries()? {
        let entry = entry?;
        let name = entry.file_name();
        let path = format!(
            "{}/{}",
            dir.logical.trim_end_matches('/'),
            name.to_string_lossy()
        );
        if !cx.wasi.sandbox.permits(Access::Traverse, &path) {
            continue;
        }
        let ino = std::os::unix::fs::DirEntryExt::ino(&entry);
        let ft = entry
            .file_type()
            .map(cap_filetype)
            .unwrap_or(filetype::UNKNOWN);
        listed.push((name.as_bytes().to_vec(), ino, ft));
    }
    listed.sort();
    entries.extend(listed);

    let mut out: Vec<u8> = Vec::with_capacity(buf_len as usize);
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, (name, ino, ft)) in entries.iter().enumerate().skip(start) {
        let mut dirent = [0u8; 24];
        dirent[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        dirent[8..16].copy_from_slice(&ino.to_le_bytes());
        dirent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        dirent[20] = *ft;
        out.extend_from_slice(&dirent);
        out.extend_from_slice(name);
        if out.len() >= buf_len as usize {
            break;
        }
    }
    out.truncate(buf_len as usize);
    cx.mem.write(buf, &out)?;
    cx.mem.write_u32(bufused, out.len() as u32)
}

// ---------------------------------------------------------------------------------------------
// Path calls

fn path_arg(cx: &Cx<'_>, ptr: u32, len: u32) -> Result<String, Errno> {
    cx.mem.str(ptr, len).map(str::to_owned)
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
    let follow = lookupflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let creat = oflags & OFLAGS_CREAT != 0;
    let trunc = oflags & OFLAGS_TRUNC != 0;
    let want_dir = oflags & OFLAGS_DIRECTORY != 0;
    let append = fdflags & FDFLAGS_APPEND != 0;
    let write_rights = rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE;
    let writable = rights_base & write_rights != 0 || trunc || append;
    let needs_write = writable || creat;
    let target = resolve(
        cx.wasi,
        dirfd,
        &path,
        follow,
        if needs_write {
            Access::Write
        } else {
            Access::Traverse
        },
    )?;

    let fd = match target.metadata(follow) {
        Ok(meta) if meta.is_dir() => {
            if creat && oflags & OFLAGS_EXCL != 0 {
                return Err(Errno::Exist);
            }
            if writable {
                return Err(Errno::Isdir);
            }
            Fd::Dir(DirFd {
                mount: target.mount.clone(),
                rel: target.rel.clone(),
                logical: target.logical.clone(),
                preopen: false,
            })
        }
        Ok(meta) if meta.file_type().is_symlink() => return Err(Errno::Loop),
        Ok(_) => {
            if want_dir {
                return Err(Errno::Notdir);
            }
            if creat && oflags & OFLAGS_EXCL != 0 {
                return Err(Errno::Exist);
            }
            let readable = rights_base & rights::FD_READ != 0 || !writable;
            if readable {
                require(cx.wasi, Access::Read, &target)?;
            }
            if writable {
                require(cx.wasi, Access::Write, &target)?;
            }
            let mut options = OpenOptions::new();
            options.read(readable).write(writable).truncate(trunc);
            let file = target.mount.dir.open_with(target.rel(), &options)?;
            Fd::File(FileFd {
                file: file.into_std(),
                readable,
                writable,
                append,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && creat => {
            if want_dir {
                return Err(Errno::Inval);
            }
            require(cx.wasi, Access::Write, &target)?;
            let readable = rights_base & rights::FD_READ != 0;
            let mut options = OpenOptions::new();
            // Creating needs a writable handle even when the guest asked only to read.
            options
                .read(readable)
                .write(true)
                .create(true)
                .truncate(trunc);
            if oflags & OFLAGS_EXCL != 0 {
                options.create_new(true);
            }
            let file = target.mount.dir.open_with(target.rel(), &options)?;
            Fd::File(FileFd {
                file: file.into_std(),
                readable,
                writable,
                append,
            })
        }
        Err(e) => return Err(e.into()),
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
    let target = resolve(cx.wasi, dirfd, &path, follow, Access::Traverse)?;
    let meta = target.metadata(follow)?;
    if !meta.is_dir() {
        require(cx.wasi, Access::Read, &target)?;
    }
    write_stat(cx, buf, &Stat::from(&meta))
}

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
    let times = times(atim, mtim, fst_flags as u16)?;
    let target = resolve(
        cx.wasi,
        dirfd,
        &path,
        flags & LOOKUP_SYMLINK_FOLLOW != 0,
        Access::Write,
    )?;
    let handle = if target.metadata(true)?.is_dir() {
        target.mount.dir.open_dir(target.rel())?.into_std_file()
    } else {
        target.mount.dir.open(target.rel())?.into_std()
    };
    handle.set_times(times)?;
    Ok(())
}

pub(crate) fn path_create_directory(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = resolve(cx.wasi, dirfd, &path, false, Access::Write)?;
    target.mount.dir.create_dir(target.rel())?;
    Ok(())
}

pub(crate) fn path_remove_directory(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = resolve(cx.wasi, dirfd, &path, false, Access::Write)?;
    target.mount.dir.remove_dir(target.rel())?;
    Ok(())
}

pub(crate) fn path_unlink_file(
    cx: &mut Cx<'_>,
    dirfd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = path_arg(cx, path, path_len)?;
    let target = resolve(cx.wasi, dirfd, &path, false, Access::Write)?;
    target.mount.dir.remove_file(target.rel())?;
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
    let from = resolve(cx.wasi, fd, &old, false, Access::Write)?;
    let to = resolve(cx.wasi, new_fd, &new, false, Access::Write)?;
    from.mount.dir.rename(from.rel(), &to.mount.dir, to.rel())?;
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
    let from = resolve(
        cx.wasi,
        old_fd,
        &old,
        old_flags & LOOKUP_SYMLINK_FOLLOW != 0,
        Access::Write,
    )?;
    let to = resolve(cx.wasi, new_fd, &new, false, Access::Write)?;
    from.mount
        .dir
        .hard_link(from.rel(), &to.mount.dir, to.rel())?;
    Ok(())
}

pub(crate) fn path_symlink(
    cx: &mut Cx<'_>,
    old: u32,
    old_len: u32,
    dirfd: u32,
    new: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let (original, new) = (path_arg(cx, old, old_len)?, path_arg(cx, new, new_len)?);
    if original.starts_with('/') {
        return Err(Errno::Notcapable);
    }
    let link = resolve(cx.wasi, dirfd, &new, false, Access::Write)?;
    link.mount.dir.symlink(&original, link.rel())?;
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
    let path = path_arg(cx, path, path_len)?;
    let link = resolve(cx.wasi, dirfd, &path, false, Access::Read)?;
    let target = link.mount.dir.read_link_contents(link.rel())?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    cx.mem.write(buf, &bytes[..n])?;
    cx.mem.write_u32(bufused, n as u32)
}
