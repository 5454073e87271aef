//! WASI calls on descriptors: reads, writes, seeks and stats of what is already open. Access was
//! decided when the descriptor was opened (see [`super::path_calls`]); these calls check only the
//! descriptor's own read/write state, and for directories the grants on its real path.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT, fstat, utimensat};

use super::super::Cx;
use super::super::errno::Errno;
use super::super::memory::offset;
use super::super::sandbox::Access;
use super::super::state::{DirFd, Fd};
use super::flags::*;
use super::stat::{Stat, filetype, wasi_filetype};

/// Most bytes one read or write moves. Host calls are synchronous, so this bounds how long one can
/// hold the thread past the deadline; short reads and writes are legal and guests loop.
const MAX_IO_BYTES: u32 = 16 << 20;

/// The iovecs trimmed to [`MAX_IO_BYTES`] in total.
fn capped(iovecs: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    let mut left = MAX_IO_BYTES;
    iovecs
        .into_iter()
        .map_while(|(buf, len)| {
            let take = len.min(left);
            left -= take;
            (take > 0 || len == 0).then_some((buf, take))
        })
        .collect()
}

pub(crate) fn fd_close(cx: &mut Cx<'_>, fd: u32) -> Result<(), Errno> {
    cx.wasi.remove(fd).map(drop)
}

pub(crate) fn fd_renumber(cx: &mut Cx<'_>, from: u32, to: u32) -> Result<(), Errno> {
    cx.wasi.renumber(from, to)
}

/// The guest path of a preopened directory.
fn preopen_path(cx: &Cx<'_>, fd: u32) -> Result<String, Errno> {
    match cx.wasi.get(fd)? {
        Fd::Dir(DirFd {
            preopen: true,
            handle,
        }) => Ok(handle.path().to_owned()),
        _ => Err(Errno::Badf),
    }
}

pub(crate) fn fd_prestat_get(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    let path = preopen_path(cx, fd)?;
    let len = u32::try_from(path.len()).map_err(|_| Errno::Nametoolong)?;
    cx.mem.write_u32(ptr, 0)?;
    cx.mem.write_u32(offset(ptr, 4)?, len)
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut Cx<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
) -> Result<(), Errno> {
    let path = preopen_path(cx, fd)?;
    if (len as usize) < path.len() {
        return Err(Errno::Nametoolong);
    }
    cx.mem.write(ptr, path.as_bytes())
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
            let ft = fstat(&file.file)
                .map(|s| wasi_filetype(rustix::fs::FileType::from_raw_mode(s.st_mode)))
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
        // Every file is opened non-blocking and stays so: the guest cannot ask to block.
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
    if let Fd::File(file) = cx.wasi.get_mut(fd)? {
        if base & rights::FD_READ == 0 {
            file.readable = false;
        }
        if base & rights::FD_WRITE == 0 {
            file.writable = false;
        }
    }
    Ok(())
}

pub(crate) fn fd_filestat_get(cx: &mut Cx<'_>, fd: u32, ptr: u32) -> Result<(), Errno> {
    let stat = match cx.wasi.get(fd)? {
        Fd::Stdin | Fd::Stdout | Fd::Stderr => Stat::stream(),
        Fd::File(file) => Stat::from(&fstat(&file.file)?),
        Fd::Dir(dir) => Stat::visible(
            &fstat(dir.handle.fd())?,
            &cx.wasi.sandbox,
            dir.handle.path(),
        ),
    };
    stat.write_to(cx, ptr)
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

/// The kernel's timestamps for a WASI `fst_flags` request.
pub(crate) fn timestamps(atim: u64, mtim: u64, flags: u16) -> Result<Timestamps, Errno> {
    if (flags & FST_ATIM != 0 && flags & FST_ATIM_NOW != 0)
        || (flags & FST_MTIM != 0 && flags & FST_MTIM_NOW != 0)
    {
        return Err(Errno::Inval);
    }
    let one = |ns: u64, set: u16, now: u16| {
        if flags & set != 0 {
            Timespec {
                tv_sec: (ns / 1_000_000_000) as i64,
                tv_nsec: (ns % 1_000_000_000) as _,
            }
        } else {
            Timespec {
                tv_sec: 0,
                tv_nsec: if flags & now != 0 {
                    UTIME_NOW
                } else {
                    UTIME_OMIT
                },
            }
        }
    };
    Ok(Timestamps {
        last_access: one(atim, FST_ATIM, FST_ATIM_NOW),
        last_modification: one(mtim, FST_MTIM, FST_MTIM_NOW),
    })
}

pub(crate) fn fd_filestat_set_times(
    cx: &mut Cx<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(), Errno> {
    let times = timestamps(atim, mtim, flags as u16)?;
    match cx.wasi.get(fd)? {
        Fd::File(file) if file.writable => rustix::fs::futimens(&file.file, &times)?,
        Fd::Dir(dir) => {
            // The handle's path is the directory's real path, whatever name the guest opened.
            if !cx.wasi.sandbox.permits(Access::Write, dir.handle.path()) {
                return Err(Errno::Acces);
            }
            utimensat(dir.handle.fd(), ".", &times, rustix::fs::AtFlags::empty())?;
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
    let iovecs = capped(cx.mem.iovecs(iovs, iovs_len)?);
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
    let iovecs = capped(cx.mem.iovecs(iovs, iovs_len)?);
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
    let iovecs = capped(cx.mem.iovecs(iovs, iovs_len)?);
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
    let iovecs = capped(cx.mem.iovecs(iovs, iovs_len)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_is_capped_per_call() {
        let huge = vec![(0, 255 << 20); 1024];
        let total: u64 = capped(huge).iter().map(|(_, len)| u64::from(*len)).sum();
        assert_eq!(total, u64::from(MAX_IO_BYTES));
        assert_eq!(
            capped(vec![(8, 10), (0, 0), (16, 5)]),
            [(8, 10), (0, 0), (16, 5)]
        );
    }
}
