//! WASI preview 1 error numbers.

use std::io;

/// A WASI `errno` (the subset this host returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Errno {
    Acces = 2,
    Again = 6,
    Badf = 8,
    Busy = 10,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Ilseq = 25,
    Intr = 27,
    Inval = 28,
    Io = 29,
    Isdir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    Nametoolong = 37,
    Noent = 44,
    Nomem = 48,
    Nospc = 51,
    Nosys = 52,
    Notdir = 54,
    Notempty = 55,
    Notsock = 57,
    Notsup = 58,
    Overflow = 61,
    Perm = 63,
    Pipe = 64,
    Rofs = 69,
    Spipe = 70,
    Timedout = 73,
    Txtbsy = 74,
    Xdev = 75,
    Notcapable = 76,
}

impl From<io::Error> for Errno {
    fn from(err: io::Error) -> Self {
        if let Some(code) = err.raw_os_error() {
            return match code {
                libc_codes::EPERM => Errno::Perm,
                libc_codes::ENOENT => Errno::Noent,
                libc_codes::EIO => Errno::Io,
                libc_codes::EBADF => Errno::Badf,
                libc_codes::EAGAIN => Errno::Again,
                libc_codes::ENOMEM => Errno::Nomem,
                libc_codes::EACCES => Errno::Acces,
                libc_codes::EBUSY => Errno::Busy,
                libc_codes::EEXIST => Errno::Exist,
                libc_codes::EXDEV => Errno::Xdev,
                libc_codes::ENOTDIR => Errno::Notdir,
                libc_codes::EISDIR => Errno::Isdir,
                libc_codes::EINVAL => Errno::Inval,
                libc_codes::EMFILE | libc_codes::ENFILE => Errno::Mfile,
                libc_codes::ETXTBSY => Errno::Txtbsy,
                libc_codes::EFBIG => Errno::Fbig,
                libc_codes::ENOSPC => Errno::Nospc,
                libc_codes::ESPIPE => Errno::Spipe,
                libc_codes::EROFS => Errno::Rofs,
                libc_codes::EMLINK => Errno::Mlink,
                libc_codes::EPIPE => Errno::Pipe,
                libc_codes::ENAMETOOLONG => Errno::Nametoolong,
                libc_codes::ENOTEMPTY => Errno::Notempty,
                libc_codes::ELOOP => Errno::Loop,
                libc_codes::EOVERFLOW => Errno::Overflow,
                libc_codes::EILSEQ => Errno::Ilseq,
                libc_codes::ENOTSUP => Errno::Notsup,
                libc_codes::EINTR => Errno::Intr,
                libc_codes::ENOSYS => Errno::Nosys,
                _ => Errno::Io,
            };
        }
        match err.kind() {
            io::ErrorKind::NotFound => Errno::Noent,
            io::ErrorKind::PermissionDenied => Errno::Acces,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::NotADirectory => Errno::Notdir,
            io::ErrorKind::IsADirectory => Errno::Isdir,
            io::ErrorKind::DirectoryNotEmpty => Errno::Notempty,
            io::ErrorKind::TimedOut => Errno::Timedout,
            io::ErrorKind::Unsupported => Errno::Notsup,
            io::ErrorKind::OutOfMemory => Errno::Nomem,
            _ => Errno::Io,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(err: rustix::io::Errno) -> Self {
        io::Error::from(err).into()
    }
}

/// Linux errno values (the host is Linux; WASI numbers differ from them).
mod libc_codes {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EINTR: i32 = 4;
    pub const EIO: i32 = 5;
    pub const EBADF: i32 = 9;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const EXDEV: i32 = 18;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EINVAL: i32 = 22;
    pub const ENFILE: i32 = 23;
    pub const EMFILE: i32 = 24;
    pub const ETXTBSY: i32 = 26;
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const ESPIPE: i32 = 29;
    pub const EROFS: i32 = 30;
    pub const EMLINK: i32 = 31;
    pub const EPIPE: i32 = 32;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOSYS: i32 = 38;
    pub const ENOTEMPTY: i32 = 39;
    pub const ELOOP: i32 = 40;
    pub const EILSEQ: i32 = 84;
    pub const EOVERFLOW: i32 = 75;
    pub const ENOTSUP: i32 = 95;
}
