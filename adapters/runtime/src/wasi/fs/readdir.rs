//! `fd_readdir`: a directory listing that shows only what the grants let the plugin reach.

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, fstat, openat, statat};

use super::super::Cx;
use super::super::errno::Errno;
use super::super::sandbox::{Access, child_of};
use super::stat::{filetype, wasi_filetype};

/// Most entries one listing shows. Every call lists the whole directory again (cookies index a
/// sorted listing), so this bounds the work and memory of one call; a larger listing is `ENOMEM`.
const MAX_ENTRIES: usize = 100_000;

/// Size of a WASI `dirent` header; the name follows it.
const DIRENT_SIZE: usize = 24;

/// Lists a directory descriptor into the guest's buffer from entry `cookie` on.
///
/// Entries are filtered by the directory's real path (its handle was reached by the resolver),
/// sorted so cookies stay stable between calls, and encoded straight into the guest's buffer: the
/// buffer length is checked against guest memory before anything is read, and nothing is
/// allocated by it.
pub(crate) fn fd_readdir(
    cx: &mut Cx<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    cx.mem.slice_mut(buf, buf_len)?;
    let dir = cx.wasi.dir(fd)?;
    let path = dir.handle.path().to_owned();
    // The handle is O_PATH (for walking); listing needs a readable descriptor of the same directory.
    let readable = openat(
        dir.handle.fd(),
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let self_ino = fstat(&readable)?.st_ino;
    let mut listed: Vec<(Vec<u8>, u64, u8)> = Vec::new();
    for entry in Dir::new(readable)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let Ok(text) = std::str::from_utf8(name) else {
            continue;
        };
        let child = child_of(&path, text);
        let sandbox = &cx.wasi.sandbox;
        if !sandbox.permits(Access::Traverse, &child) {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => statat(dir.handle.fd(), name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|s| FileType::from_raw_mode(s.st_mode))
                .unwrap_or(FileType::Unknown),
            known => known,
        };
        // A directory shows when it leads to granted paths; anything else only when readable.
        if kind != FileType::Directory && !sandbox.permits(Access::Read, &child) {
            continue;
        }
        if listed.len() >= MAX_ENTRIES {
            return Err(Errno::Nomem);
        }
        let ft = match kind {
            FileType::Unknown => filetype::UNKNOWN,
            other => wasi_filetype(other),
        };
        listed.push((name.to_vec(), entry.ino(), ft));
    }
    listed.sort();
    #[allow(clippy::unnecessary_cast)] // st_ino's type differs by architecture.
    let dots = [
        (b".".to_vec(), self_ino as u64, filetype::DIRECTORY),
        (b"..".to_vec(), 0, filetype::DIRECTORY),
    ];

    let out = cx.mem.slice_mut(buf, buf_len)?;
    let mut used = 0usize;
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, (name, ino, ft)) in dots.iter().chain(listed.iter()).enumerate().skip(start) {
        let mut dirent = [0u8; DIRENT_SIZE];
        dirent[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        dirent[8..16].copy_from_slice(&ino.to_le_bytes());
        dirent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        dirent[20] = *ft;
        // A truncated last entry tells the guest to grow its buffer, as the WASI spec says.
        for piece in [&dirent[..], &name[..]] {
            let take = piece.len().min(out.len() - used);
            out[used..used + take].copy_from_slice(&piece[..take]);
            used += take;
        }
        if used == out.len() {
            break;
        }
    }
    cx.mem.write_u32(bufused, used as u32)
}
