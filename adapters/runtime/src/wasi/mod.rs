//! WASI preview 1 for plugin instances, written for this host.
//!
//! Reglet plugins are `wasip1` reactors, so every instance needs the complete preview-1 surface.
//! wasmtime-wasi provides one, but it exposes whole preopened directories; this implementation
//! exists so that every filesystem call is checked against the plugin's fs grants path by path
//! (see [`sandbox`]). Everything else is deliberately plain: no arguments, an empty stdin,
//! stdout/stderr redacted into the log, environment variables only as granted, real clocks, OS
//! randomness, and no sockets (network access goes through the `reglet_host` functions).

mod errno;
pub(crate) mod fs;
mod memory;
mod poll;
pub(crate) mod sandbox;
mod state;

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Extern, Linker, Memory};

pub(crate) use errno::Errno;
pub(crate) use memory::GuestMemory;
pub(crate) use sandbox::Sandbox;
pub(crate) use state::WasiState;

const MODULE: &str = "wasi_snapshot_preview1";

/// Store data that carries WASI state.
pub(crate) trait WasiView: Send + 'static {
    /// The instance's WASI state.
    fn wasi(&mut self) -> &mut WasiState;
    /// The instance's exported memory, once known.
    fn memory(&self) -> Option<Memory>;
}

/// The guest exited with `proc_exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the plugin called proc_exit({0})")]
pub(crate) struct GuestExit(pub(crate) i32);

/// One WASI call's view of the instance: its memory and its WASI state.
pub(crate) struct Cx<'a> {
    pub(crate) mem: GuestMemory<'a>,
    pub(crate) wasi: &'a mut WasiState,
}

fn memory_of<T: WasiView>(caller: &mut Caller<'_, T>) -> Option<Memory> {
    caller
        .data()
        .memory()
        .or_else(|| match caller.get_export("memory") {
            Some(Extern::Memory(memory)) => Some(memory),
            _ => None,
        })
}

/// Runs one call with the instance's memory and WASI state; errors become the errno returned.
pub(crate) fn with_cx<T: WasiView>(
    caller: &mut Caller<'_, T>,
    call: impl FnOnce(&mut Cx<'_>) -> Result<(), Errno>,
) -> i32 {
    let Some(memory) = memory_of(caller) else {
        return Errno::Fault as i32;
    };
    let (mem, data) = memory.data_and_store_mut(caller);
    let mut cx = Cx {
        mem: GuestMemory(mem),
        wasi: data.wasi(),
    };
    match call(&mut cx) {
        Ok(()) => 0,
        Err(errno) => errno as i32,
    }
}

macro_rules! wasi_fn {
    ($linker:ident, $name:literal, $call:path, ($($arg:ident: $ty:ty),*)) => {
        $linker.func_wrap(
            MODULE,
            $name,
            |mut caller: Caller<'_, T>, $($arg: $ty),*| -> i32 {
                with_cx(&mut caller, |cx| $call(cx, $($arg),*))
            },
        )?;
    };
}

/// Defines every `wasi_snapshot_preview1` function in `linker`.
pub(crate) fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasi_fn!(linker, "args_get", args_get, (argv: u32, buf: u32));
    wasi_fn!(linker, "args_sizes_get", args_sizes_get, (argc: u32, size: u32));
    wasi_fn!(linker, "environ_get", environ_get, (environ: u32, buf: u32));
    wasi_fn!(linker, "environ_sizes_get", environ_sizes_get, (count: u32, size: u32));
    wasi_fn!(linker, "clock_res_get", clock_res_get, (id: u32, out: u32));
    wasi_fn!(linker, "clock_time_get", clock_time_get, (id: u32, precision: u64, out: u32));
    wasi_fn!(linker, "random_get", random_get, (buf: u32, len: u32));
    wasi_fn!(linker, "sched_yield", sched_yield, ());
    wasi_fn!(linker, "proc_raise", proc_raise, (sig: u32));
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, T>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(GuestExit(code)))
        },
    )?;
    wasi_fn!(linker, "fd_advise", fs::fd_advise, (fd: u32, offset: u64, len: u64, advice: u32));
    wasi_fn!(linker, "fd_allocate", fs::fd_allocate, (fd: u32, offset: u64, len: u64));
    wasi_fn!(linker, "fd_close", fs::fd_close, (fd: u32));
    wasi_fn!(linker, "fd_datasync", fs::fd_datasync, (fd: u32));
    wasi_fn!(linker, "fd_fdstat_get", fs::fd_fdstat_get, (fd: u32, out: u32));
    wasi_fn!(linker, "fd_fdstat_set_flags", fs::fd_fdstat_set_flags, (fd: u32, flags: u32));
    wasi_fn!(linker, "fd_fdstat_set_rights", fs::fd_fdstat_set_rights, (fd: u32, base: u64, inheriting: u64));
    wasi_fn!(linker, "fd_filestat_get", fs::fd_filestat_get, (fd: u32, out: u32));
    wasi_fn!(linker, "fd_filestat_set_size", fs::fd_filestat_set_size, (fd: u32, size: u64));
    wasi_fn!(linker, "fd_filestat_set_times", fs::fd_filestat_set_times, (fd: u32, atim: u64, mtim: u64, flags: u32));
    wasi_fn!(linker, "fd_pread", fs::fd_pread, (fd: u32, iovs: u32, len: u32, offset: u64, nread: u32));
    wasi_fn!(linker, "fd_prestat_get", fs::fd_prestat_get, (fd: u32, out: u32));
    wasi_fn!(linker, "fd_prestat_dir_name", fs::fd_prestat_dir_name, (fd: u32, path: u32, len: u32));
    wasi_fn!(linker, "fd_pwrite", fs::fd_pwrite, (fd: u32, iovs: u32, len: u32, offset: u64, nwritten: u32));
    wasi_fn!(linker, "fd_read", fs::fd_read, (fd: u32, iovs: u32, len: u32, nread: u32));
    wasi_fn!(linker, "fd_readdir", fs::fd_readdir, (fd: u32, buf: u32, len: u32, cookie: u64, used: u32));
    wasi_fn!(linker, "fd_renumber", fs::fd_renumber, (fd: u32, to: u32));
    wasi_fn!(linker, "fd_seek", fs::fd_seek, (fd: u32, offset: i64, whence: u32, out: u32));
    wasi_fn!(linker, "fd_sync", fs::fd_sync, (fd: u32));
    wasi_fn!(linker, "fd_tell", fs::fd_tell, (fd: u32, out: u32));
    wasi_fn!(linker, "fd_write", fs::fd_write, (fd: u32, iovs: u32, len: u32, nwritten: u32));
    wasi_fn!(linker, "path_create_directory", fs::path_create_directory, (fd: u32, path: u32, len: u32));
    wasi_fn!(linker, "path_filestat_get", fs::path_filestat_get, (fd: u32, flags: u32, path: u32, len: u32, out: u32));
    wasi_fn!(linker, "path_filestat_set_times", fs::path_filestat_set_times, (fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32));
    wasi_fn!(linker, "path_link", fs::path_link, (old_fd: u32, old_flags: u32, old: u32, old_len: u32, new_fd: u32, new: u32, new_len: u32));
    wasi_fn!(linker, "path_open", fs::path_open, (fd: u32, dirflags: u32, path: u32, len: u32, oflags: u32, base: u64, inheriting: u64, fdflags: u32, out: u32));
    wasi_fn!(linker, "path_readlink", fs::path_readlink, (fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, used: u32));
    wasi_fn!(linker, "path_remove_directory", fs::path_remove_directory, (fd: u32, path: u32, len: u32));
    wasi_fn!(linker, "path_rename", fs::path_rename, (fd: u32, old: u32, old_len: u32, new_fd: u32, new: u32, new_len: u32));
    wasi_fn!(linker, "path_symlink", fs::path_symlink, (old: u32, old_len: u32, fd: u32, new: u32, new_len: u32));
    wasi_fn!(linker, "path_unlink_file", fs::path_unlink_file, (fd: u32, path: u32, len: u32));
    wasi_fn!(linker, "sock_accept", sock_accept, (fd: u32, flags: u32, out: u32));
    wasi_fn!(linker, "sock_recv", sock_recv, (fd: u32, data: u32, len: u32, flags: u32, out_len: u32, out_flags: u32));
    wasi_fn!(linker, "sock_send", sock_send, (fd: u32, data: u32, len: u32, flags: u32, out_len: u32));
    wasi_fn!(linker, "sock_shutdown", sock_shutdown, (fd: u32, how: u32));
    poll::add_to_linker(linker)?;
    Ok(())
}

fn args_get(_: &mut Cx<'_>, _argv: u32, _buf: u32) -> Result<(), Errno> {
    Ok(())
}

fn args_sizes_get(cx: &mut Cx<'_>, argc: u32, size: u32) -> Result<(), Errno> {
    cx.mem.write_u32(argc, 0)?;
    cx.mem.write_u32(size, 0)
}

fn environ_sizes_get(cx: &mut Cx<'_>, count: u32, size: u32) -> Result<(), Errno> {
    let total: usize = cx.wasi.env.iter().map(|v| v.len() + 1).sum();
    cx.mem.write_u32(count, cx.wasi.env.len() as u32)?;
    cx.mem
        .write_u32(size, u32::try_from(total).map_err(|_| Errno::Overflow)?)
}

fn environ_get(cx: &mut Cx<'_>, environ: u32, buf: u32) -> Result<(), Errno> {
    let env = cx.wasi.env.clone();
    let mut at = buf;
    for (i, var) in env.iter().enumerate() {
        let len = u32::try_from(var.len()).map_err(|_| Errno::Overflow)?;
        let slot = u32::try_from(i * 4).map_err(|_| Errno::Fault)?;
        cx.mem.write_u32(memory::offset(environ, slot)?, at)?;
        cx.mem.write(at, var.as_bytes())?;
        cx.mem.write_u8(memory::offset(at, len)?, 0)?;
        at = memory::offset(at, len + 1)?;
    }
    Ok(())
}

/// Nanoseconds on the monotonic clock: time since the host process first asked.
pub(crate) fn monotonic_now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

pub(crate) fn realtime_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn clock_res_get(cx: &mut Cx<'_>, id: u32, out: u32) -> Result<(), Errno> {
    match id {
        0 | 1 => cx.mem.write_u64(out, 1),
        2 | 3 => Err(Errno::Notsup),
        _ => Err(Errno::Inval),
    }
}

fn clock_time_get(cx: &mut Cx<'_>, id: u32, _precision: u64, out: u32) -> Result<(), Errno> {
    let now = match id {
        0 => realtime_now(),
        1 => monotonic_now(),
        // CPU-time clocks would report the host process, not the guest.
        2 | 3 => return Err(Errno::Notsup),
        _ => return Err(Errno::Inval),
    };
    cx.mem.write_u64(out, now)
}

fn random_get(cx: &mut Cx<'_>, buf: u32, len: u32) -> Result<(), Errno> {
    let slice = cx.mem.slice_mut(buf, len)?;
    getrandom::fill(slice).map_err(|_| Errno::Io)
}

fn sched_yield(_: &mut Cx<'_>) -> Result<(), Errno> {
    Ok(())
}

fn proc_raise(_: &mut Cx<'_>, _sig: u32) -> Result<(), Errno> {
    Err(Errno::Notsup)
}

/// No descriptor is ever a socket: networking goes through the `reglet_host` functions.
fn not_a_socket(cx: &Cx<'_>, fd: u32) -> Result<(), Errno> {
    cx.wasi.get(fd)?;
    Err(Errno::Notsock)
}

fn sock_accept(cx: &mut Cx<'_>, fd: u32, _flags: u32, _out: u32) -> Result<(), Errno> {
    not_a_socket(cx, fd)
}

fn sock_recv(
    cx: &mut Cx<'_>,
    fd: u32,
    _data: u32,
    _len: u32,
    _flags: u32,
    _out_len: u32,
    _out_flags: u32,
) -> Result<(), Errno> {
    not_a_socket(cx, fd)
}

fn sock_send(
    cx: &mut Cx<'_>,
    fd: u32,
    _data: u32,
    _len: u32,
    _flags: u32,
    _out_len: u32,
) -> Result<(), Errno> {
    not_a_socket(cx, fd)
}

fn sock_shutdown(cx: &mut Cx<'_>, fd: u32, _how: u32) -> Result<(), Errno> {
    not_a_socket(cx, fd)
}

#[cfg(test)]
mod tests;
