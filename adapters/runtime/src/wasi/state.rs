//! Per-instance WASI state: the descriptor table and the captured standard streams.

use std::sync::Arc;

use reglet_ports::{RedactingStream, Redactor};

use super::errno::Errno;
use super::fs::resolve::DirHandle;
use super::sandbox::Sandbox;

/// Most descriptors one instance may hold open.
pub(crate) const MAX_FDS: usize = 1024;
/// Bytes of each standard stream logged per instance; the rest is counted and dropped.
const OUTPUT_BUDGET: usize = 1 << 20;

/// A directory descriptor: the handle the resolver reached, whose path is the directory's real path.
pub(crate) struct DirFd {
    pub(crate) handle: DirHandle,
    /// Whether this descriptor was preopened (reported by `fd_prestat_get`).
    pub(crate) preopen: bool,
}

/// An open file.
pub(crate) struct FileFd {
    pub(crate) file: std::fs::File,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) append: bool,
}

/// What a descriptor refers to.
pub(crate) enum Fd {
    Stdin,
    Stdout,
    Stderr,
    Dir(DirFd),
    File(FileFd),
}

/// A standard stream of the guest, redacted and logged line by line with the plugin's name.
pub(crate) struct Output {
    redactor: Arc<dyn Redactor>,
    /// Created on the first write: most plugins never write.
    stream: Option<Box<dyn RedactingStream>>,
    name: &'static str,
    plugin: Arc<str>,
    left: usize,
    dropped: u64,
}

impl Output {
    fn new(redactor: Arc<dyn Redactor>, name: &'static str, plugin: Arc<str>) -> Self {
        Output {
            redactor,
            stream: None,
            name,
            plugin,
            left: OUTPUT_BUDGET,
            dropped: 0,
        }
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(self.left);
        self.left -= take;
        self.dropped += (bytes.len() - take) as u64;
        if take > 0 {
            let stream = self.stream.get_or_insert_with(|| self.redactor.stream());
            let ready = stream.push(&bytes[..take]);
            self.emit(&ready);
        }
    }

    fn emit(&self, bytes: &[u8]) {
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            tracing::info!(
                target: "reglet::plugin",
                plugin = %self.plugin,
                stream = self.name,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            let rest = stream.finish();
            self.emit(&rest);
        }
        if self.dropped > 0 {
            tracing::warn!(
                target: "reglet::plugin",
                plugin = %self.plugin,
                stream = self.name,
                dropped_bytes = self.dropped,
                "plugin output over the {} KiB budget was dropped",
                OUTPUT_BUDGET / 1024
            );
        }
    }
}

/// Everything WASI needs for one instance.
pub(crate) struct WasiState {
    fds: Vec<Option<Fd>>,
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) env: Arc<[String]>,
    pub(crate) stdout: Output,
    pub(crate) stderr: Output,
}

impl WasiState {
    /// Descriptors 0–2 are the standard streams; each mount is preopened from 3 on.
    pub(crate) fn new(
        sandbox: Arc<Sandbox>,
        env: Arc<[String]>,
        redactor: Arc<dyn Redactor>,
        plugin: Arc<str>,
    ) -> Self {
        let mut fds = vec![Some(Fd::Stdin), Some(Fd::Stdout), Some(Fd::Stderr)];
        for mount in sandbox.mounts() {
            fds.push(Some(Fd::Dir(DirFd {
                handle: DirHandle::root(mount),
                preopen: true,
            })));
        }
        WasiState {
            fds,
            sandbox,
            env,
            stdout: Output::new(redactor.clone(), "stdout", plugin.clone()),
            stderr: Output::new(redactor, "stderr", plugin),
        }
    }

    pub(crate) fn get(&self, fd: u32) -> Result<&Fd, Errno> {
        self.fds
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Result<&mut Fd, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn dir(&self, fd: u32) -> Result<&DirFd, Errno> {
        match self.get(fd)? {
            Fd::Dir(dir) => Ok(dir),
            _ => Err(Errno::Notdir),
        }
    }

    pub(crate) fn file_mut(&mut self, fd: u32) -> Result<&mut FileFd, Errno> {
        match self.get_mut(fd)? {
            Fd::File(file) => Ok(file),
            Fd::Dir(_) => Err(Errno::Isdir),
            _ => Err(Errno::Badf),
        }
    }

    /// Stores a new descriptor in the lowest free slot.
    pub(crate) fn insert(&mut self, fd: Fd) -> Result<u32, Errno> {
        if let Some(slot) = self.fds.iter().position(Option::is_none) {
            self.fds[slot] = Some(fd);
            return Ok(slot as u32);
        }
        if self.fds.len() >= MAX_FDS {
            return Err(Errno::Mfile);
        }
        self.fds.push(Some(fd));
        Ok((self.fds.len() - 1) as u32)
    }

    pub(crate) fn remove(&mut self, fd: u32) -> Result<Fd, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(to)?;
        let moved = self.remove(from)?;
        self.fds[to as usize] = Some(moved);
        Ok(())
    }
}
