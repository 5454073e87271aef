//! WASI filesystem calls, filtered by the plugin's fs grants.
//!
//! Every path goes through [`resolve`], which walks it from a directory handle one component at a
//! time, checks each step against the grants, follows symlinks itself one hop at a time, and hands
//! back a directory handle and a name. The calls then act on that handle with `*at` system calls
//! and `O_NOFOLLOW`: a checked path string is never given back to the OS, so nothing can change
//! between the check and the use.

mod fd_calls;
mod flags;
mod path_calls;
mod readdir;
pub(crate) mod resolve;
pub(crate) mod stat;

pub(crate) use fd_calls::*;
pub(crate) use path_calls::*;
pub(crate) use readdir::fd_readdir;
