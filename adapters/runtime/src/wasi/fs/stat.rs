//! WASI `filestat`: what a stat of a host file looks like to the guest.

use rustix::fs::FileType;

use super::super::Cx;
use super::super::errno::Errno;
use super::super::sandbox::{Access, Sandbox};

/// WASI file types.
pub(crate) mod filetype {
    pub(crate) const UNKNOWN: u8 = 0;
    pub(crate) const BLOCK_DEVICE: u8 = 1;
    pub(crate) const CHARACTER_DEVICE: u8 = 2;
    pub(crate) const DIRECTORY: u8 = 3;
    pub(crate) const REGULAR_FILE: u8 = 4;
    pub(crate) const SOCKET_STREAM: u8 = 6;
    pub(crate) const SYMBOLIC_LINK: u8 = 7;
}

/// The WASI file type of a host file type.
pub(crate) fn wasi_filetype(ft: FileType) -> u8 {
    match ft {
        FileType::Directory => filetype::DIRECTORY,
        FileType::RegularFile => filetype::REGULAR_FILE,
        FileType::Symlink => filetype::SYMBOLIC_LINK,
        FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        FileType::Socket => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// The fields of a WASI `filestat`.
pub(crate) struct Stat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
    pub(crate) ctim: u64,
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    if secs < 0 {
        return 0;
    }
    (secs as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

impl Stat {
    /// A character device with no identity: what the standard streams report.
    pub(crate) fn stream() -> Stat {
        Stat {
            dev: 0,
            ino: 0,
            filetype: filetype::CHARACTER_DEVICE,
            nlink: 1,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        }
    }

    /// The stat of the object at `path` as the plugin may see it: a directory it may only pass
    /// through (to reach granted paths below) shows no times, since a directory's times and link
    /// count change with what happens to the ungranted files in it.
    pub(crate) fn visible(stat: &rustix::fs::Stat, sandbox: &Sandbox, path: &str) -> Stat {
        let mut out = Stat::from(stat);
        if out.filetype == filetype::DIRECTORY && !sandbox.permits(Access::Read, path) {
            out.atim = 0;
            out.mtim = 0;
            out.ctim = 0;
            out.nlink = 1;
        }
        out
    }

    /// Writes the 64-byte `filestat` at `ptr`.
    pub(crate) fn write_to(&self, cx: &mut Cx<'_>, ptr: u32) -> Result<(), Errno> {
        let mut buf = [0u8; 64];
        buf[0..8].copy_from_slice(&self.dev.to_le_bytes());
        buf[8..16].copy_from_slice(&self.ino.to_le_bytes());
        buf[16] = self.filetype;
        buf[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        buf[32..40].copy_from_slice(&self.size.to_le_bytes());
        buf[40..48].copy_from_slice(&self.atim.to_le_bytes());
        buf[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        buf[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        cx.mem.write(ptr, &buf)
    }
}

// The kernel's `struct stat` field types differ by architecture; the casts are identities on some.
#[allow(clippy::unnecessary_cast)]
impl From<&rustix::fs::Stat> for Stat {
    fn from(s: &rustix::fs::Stat) -> Self {
        Stat {
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
            filetype: wasi_filetype(FileType::from_raw_mode(s.st_mode)),
            nlink: s.st_nlink as u64,
            size: s.st_size.max(0) as u64,
            atim: nanos(s.st_atime as i64, s.st_atime_nsec as i64),
            mtim: nanos(s.st_mtime as i64, s.st_mtime_nsec as i64),
            ctim: nanos(s.st_ctime as i64, s.st_ctime_nsec as i64),
        }
    }
}
