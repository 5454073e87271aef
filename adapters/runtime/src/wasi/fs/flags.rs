//! WASI preview 1 rights and flag bits used by the filesystem calls.

pub(crate) mod rights {
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

pub(crate) const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
pub(crate) const OFLAGS_CREAT: u16 = 1;
pub(crate) const OFLAGS_DIRECTORY: u16 = 2;
pub(crate) const OFLAGS_EXCL: u16 = 4;
pub(crate) const OFLAGS_TRUNC: u16 = 8;
pub(crate) const FDFLAGS_APPEND: u16 = 1;
pub(crate) const FDFLAGS_DSYNC: u16 = 2;
pub(crate) const FDFLAGS_NONBLOCK: u16 = 4;
pub(crate) const FDFLAGS_RSYNC: u16 = 8;
pub(crate) const FDFLAGS_SYNC: u16 = 16;
pub(crate) const FST_ATIM: u16 = 1;
pub(crate) const FST_ATIM_NOW: u16 = 2;
pub(crate) const FST_MTIM: u16 = 4;
pub(crate) const FST_MTIM_NOW: u16 = 8;
