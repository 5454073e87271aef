//! The WASI calls against a real directory tree: what the grants let through, and what they don't.

use std::sync::Arc;

use reglet_domain::GrantSet;

use super::errno::Errno;
use super::sandbox::Sandbox;
use super::{Cx, GuestMemory, WasiState, fs};
use reglet_redaction::{Redaction, RedactionConfig};

const FD_READ: u64 = 1 << 1;
const FD_WRITE: u64 = 1 << 6;
const O_CREAT: u32 = 1;
const O_DIRECTORY: u32 = 2;
const PATH_AT: u32 = 1024;
const OUT_AT: u32 = 16;
const BUF_AT: u32 = 4096;

struct Harness {
    _dir: tempfile::TempDir,
    root: String,
    mem: Vec<u8>,
    wasi: WasiState,
}

/// A tree with a granted file, an ungranted sibling, a link from a granted name to the sibling,
/// a granted subtree and a writable directory.
fn harness(grants: &[&str]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir
        .path()
        .canonicalize()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::write(format!("{root}/granted.txt"), "granted content").unwrap();
    std::fs::write(format!("{root}/sibling.txt"), "sibling secret").unwrap();
    std::os::unix::fs::symlink("sibling.txt", format!("{root}/link_to_sibling")).unwrap();
    std::fs::create_dir(format!("{root}/sub")).unwrap();
    std::fs::write(format!("{root}/sub/inner.txt"), "inner").unwrap();
    std::fs::create_dir(format!("{root}/writable")).unwrap();
    let grants: Vec<String> = grants.iter().map(|g| g.replace("ROOT", &root)).collect();
    let (sandbox, warnings) = Sandbox::from_grants(&GrantSet::parse_all(&grants).unwrap());
    assert!(warnings.is_empty(), "{warnings:?}");
    let redactor = Arc::new(Redaction::new(RedactionConfig::default()).unwrap());
    let wasi = WasiState::new(
        Arc::new(sandbox),
        Arc::from(vec!["A=1".to_owned(), "LONGER=two".to_owned()]),
        redactor,
        Arc::from("test"),
    );
    Harness {
        _dir: dir,
        root,
        mem: vec![0; 1 << 16],
        wasi,
    }
}

fn standard() -> Harness {
    harness(&[
        "fs:read:ROOT/granted.txt",
        "fs:read:ROOT/link_to_sibling",
        "fs:read:ROOT/sub/**",
        "fs:write:ROOT/writable/**",
    ])
}

impl Harness {
    fn cx(&mut self) -> Cx<'_> {
        Cx {
            mem: GuestMemory(&mut self.mem),
            wasi: &mut self.wasi,
        }
    }

    fn put(&mut self, at: u32, text: &str) -> (u32, u32) {
        self.mem[at as usize..at as usize + text.len()].copy_from_slice(text.as_bytes());
        (at, text.len() as u32)
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn open(&mut self, path: &str, oflags: u32, rights: u64) -> Result<u32, Errno> {
        let (p, l) = self.put(PATH_AT, path);
        fs::path_open(&mut self.cx(), 3, 1, p, l, oflags, rights, 0, 0, OUT_AT)?;
        Ok(self.u32_at(OUT_AT))
    }

    fn stat(&mut self, path: &str) -> Result<u64, Errno> {
        let (p, l) = self.put(PATH_AT, path);
        fs::path_filestat_get(&mut self.cx(), 3, 1, p, l, BUF_AT)?;
        Ok(u64::from_le_bytes(
            self.mem[BUF_AT as usize + 32..BUF_AT as usize + 40]
                .try_into()
                .unwrap(),
        ))
    }

    fn read(&mut self, fd: u32) -> Result<String, Errno> {
        // One iovec of 256 bytes at BUF_AT.
        self.mem[64..68].copy_from_slice(&BUF_AT.to_le_bytes());
        self.mem[68..72].copy_from_slice(&256u32.to_le_bytes());
        fs::fd_read(&mut self.cx(), fd, 64, 1, OUT_AT)?;
        let n = self.u32_at(OUT_AT) as usize;
        Ok(String::from_utf8_lossy(&self.mem[BUF_AT as usize..BUF_AT as usize + n]).into_owned())
    }

    fn write(&mut self, fd: u32, text: &str) -> Result<u32, Errno> {
        let (p, l) = self.put(BUF_AT, text);
        self.mem[64..68].copy_from_slice(&p.to_le_bytes());
        self.mem[68..72].copy_from_slice(&l.to_le_bytes());
        fs::fd_write(&mut self.cx(), fd, 64, 1, OUT_AT)?;
        Ok(self.u32_at(OUT_AT))
    }

    fn list(&mut self, fd: u32) -> Vec<String> {
        fs::fd_readdir(&mut self.cx(), fd, BUF_AT, 8192, 0, OUT_AT).unwrap();
        let used = self.u32_at(OUT_AT) as usize;
        let buf = &self.mem[BUF_AT as usize..BUF_AT as usize + used];
        let mut names = Vec::new();
        let mut at = 0;
        while at + 24 <= buf.len() {
            let len = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
            names.push(String::from_utf8_lossy(&buf[at + 24..at + 24 + len]).into_owned());
            at += 24 + len;
        }
        names
    }
}

#[test]
fn a_granted_file_reads_and_its_sibling_does_not_exist_for_the_plugin() {
    let mut h = standard();
    let fd = h.open("granted.txt", 0, FD_READ).unwrap();
    assert_eq!(h.read(fd).unwrap(), "granted content");
    assert_eq!(h.open("sibling.txt", 0, FD_READ), Err(Errno::Acces));
    // An ungranted path that does not exist gets the same answer: existence is not revealed.
    assert_eq!(h.open("no-such-file", 0, FD_READ), Err(Errno::Acces));
    assert_eq!(h.stat("sibling.txt"), Err(Errno::Acces));
    assert_eq!(h.stat("granted.txt"), Ok(15));
    assert_eq!(h.stat("sub/inner.txt"), Ok(5));
    assert_eq!(
        h.stat("sub/missing.txt"),
        Err(Errno::Noent),
        "inside a granted subtree, absence is reported"
    );
}

#[test]
fn dot_dot_and_symlinks_cannot_reach_ungranted_files() {
    let mut h = standard();
    assert_eq!(h.open("sub/../sibling.txt", 0, FD_READ), Err(Errno::Acces));
    assert_eq!(
        h.open("../../etc/passwd", 0, FD_READ),
        Err(Errno::Notcapable)
    );
    assert_eq!(
        h.open("link_to_sibling", 0, FD_READ),
        Err(Errno::Acces),
        "a granted name linking to an ungranted file"
    );
    // A link the plugin plants in its writable area is checked the same way.
    let (p, l) = h.put(PATH_AT, "../sibling.txt");
    let (q, m) = h.put(PATH_AT + 100, "writable/planted");
    fs::path_symlink(&mut h.cx(), p, l, 3, q, m).unwrap();
    assert_eq!(h.open("writable/planted", 0, FD_READ), Err(Errno::Acces));
    let (p, l) = h.put(PATH_AT, "/etc/passwd");
    assert_eq!(
        fs::path_symlink(&mut h.cx(), p, l, 3, q, m),
        Err(Errno::Notcapable),
        "absolute link targets are refused"
    );
}

#[test]
fn listings_show_only_what_can_be_reached() {
    let mut h = standard();
    let names = h.list(3);
    assert_eq!(
        names,
        [
            ".",
            "..",
            "granted.txt",
            "link_to_sibling",
            "sub",
            "writable"
        ]
    );
    let sub = h.open("sub", O_DIRECTORY, FD_READ).unwrap();
    assert_eq!(h.list(sub), [".", "..", "inner.txt"]);
}

#[test]
fn writes_need_write_grants() {
    let mut h = standard();
    assert_eq!(h.open("granted.txt", 0, FD_WRITE), Err(Errno::Acces));
    assert_eq!(h.open("new.txt", O_CREAT, FD_WRITE), Err(Errno::Acces));
    let fd = h
        .open("writable/new.txt", O_CREAT, FD_READ | FD_WRITE)
        .unwrap();
    assert_eq!(h.write(fd, "hello").unwrap(), 5);
    assert_eq!(
        std::fs::read_to_string(format!("{}/writable/new.txt", h.root)).unwrap(),
        "hello"
    );

    let (p, l) = h.put(PATH_AT, "granted.txt");
    assert_eq!(
        fs::path_unlink_file(&mut h.cx(), 3, p, l),
        Err(Errno::Acces)
    );
    let (p, l) = h.put(PATH_AT, "writable/new.txt");
    let (q, m) = h.put(PATH_AT + 100, "moved.txt");
    assert_eq!(
        fs::path_rename(&mut h.cx(), 3, p, l, 3, q, m),
        Err(Errno::Acces),
        "cannot move out of the writable area"
    );
    // A hard link would make a read-only file writable through the new name.
    let (p, l) = h.put(PATH_AT, "granted.txt");
    let (q, m) = h.put(PATH_AT + 100, "writable/hardlink");
    assert_eq!(
        fs::path_link(&mut h.cx(), 3, 0, p, l, 3, q, m),
        Err(Errno::Acces)
    );
    let (p, l) = h.put(PATH_AT, "writable/new.txt");
    fs::path_unlink_file(&mut h.cx(), 3, p, l).unwrap();
    assert!(!std::path::Path::new(&format!("{}/writable/new.txt", h.root)).exists());
    let (p, l) = h.put(PATH_AT, "writable/d");
    fs::path_create_directory(&mut h.cx(), 3, p, l).unwrap();
    fs::path_remove_directory(&mut h.cx(), 3, p, l).unwrap();
}

#[test]
fn preopens_environment_and_standard_streams() {
    let mut h = standard();
    fs::fd_prestat_get(&mut h.cx(), 3, OUT_AT).unwrap();
    let len = h.u32_at(OUT_AT + 4);
    assert_eq!(len as usize, h.root.len());
    fs::fd_prestat_dir_name(&mut h.cx(), 3, BUF_AT, len).unwrap();
    assert_eq!(
        &h.mem[BUF_AT as usize..(BUF_AT + len) as usize],
        h.root.as_bytes()
    );
    assert_eq!(fs::fd_prestat_get(&mut h.cx(), 4, OUT_AT), Err(Errno::Badf));
    assert_eq!(fs::fd_prestat_get(&mut h.cx(), 1, OUT_AT), Err(Errno::Badf));

    super::environ_sizes_get(&mut h.cx(), OUT_AT, OUT_AT + 4).unwrap();
    assert_eq!((h.u32_at(OUT_AT), h.u32_at(OUT_AT + 4)), (2, 4 + 11));
    super::environ_get(&mut h.cx(), 64, BUF_AT).unwrap();
    assert_eq!(
        &h.mem[BUF_AT as usize..BUF_AT as usize + 15],
        b"A=1\0LONGER=two\0"
    );

    assert_eq!(h.write(1, "to stdout\n").unwrap(), 10);
    assert_eq!(h.read(0).unwrap(), "", "stdin is empty");
    assert_eq!(fs::fd_seek(&mut h.cx(), 1, 0, 0, OUT_AT), Err(Errno::Spipe));
    assert_eq!(
        super::sock_accept(&mut h.cx(), 1, 0, OUT_AT),
        Err(Errno::Notsock)
    );
    assert_eq!(
        super::sock_accept(&mut h.cx(), 99, 0, OUT_AT),
        Err(Errno::Badf)
    );
    assert_eq!(super::proc_raise(&mut h.cx(), 9), Err(Errno::Notsup));
}

#[test]
fn clocks_and_randomness() {
    let mut h = standard();
    super::clock_time_get(&mut h.cx(), 1, 0, OUT_AT).unwrap();
    let a = u64::from_le_bytes(h.mem[16..24].try_into().unwrap());
    super::clock_time_get(&mut h.cx(), 1, 0, OUT_AT).unwrap();
    let b = u64::from_le_bytes(h.mem[16..24].try_into().unwrap());
    assert!(b >= a);
    super::clock_time_get(&mut h.cx(), 0, 0, OUT_AT).unwrap();
    let wall = u64::from_le_bytes(h.mem[16..24].try_into().unwrap());
    assert!(
        wall > 1_700_000_000_000_000_000,
        "realtime is nanoseconds since 1970"
    );
    assert_eq!(
        super::clock_time_get(&mut h.cx(), 2, 0, OUT_AT),
        Err(Errno::Notsup)
    );
    super::random_get(&mut h.cx(), BUF_AT, 64).unwrap();
    assert!(
        h.mem[BUF_AT as usize..BUF_AT as usize + 64]
            .iter()
            .any(|b| *b != 0)
    );
}

#[test]
fn hostile_pointers_are_faults() {
    let mut h = standard();
    let end = h.mem.len() as u32;
    assert_eq!(
        fs::path_open(&mut h.cx(), 3, 1, end - 2, 10, 0, FD_READ, 0, 0, OUT_AT),
        Err(Errno::Fault)
    );
    assert_eq!(
        fs::fd_write(&mut h.cx(), 1, end - 4, 1, OUT_AT),
        Err(Errno::Fault)
    );
    assert_eq!(
        super::random_get(&mut h.cx(), u32::MAX, 16),
        Err(Errno::Fault)
    );
    assert_eq!(
        fs::fd_read(&mut h.cx(), 0, 0, 5000, OUT_AT),
        Err(Errno::Inval)
    );
    let fd = h.open("granted.txt", 0, FD_READ).unwrap();
    assert_eq!(
        fs::fd_filestat_get(&mut h.cx(), fd, end - 8),
        Err(Errno::Fault)
    );
}

#[test]
fn a_whole_filesystem_grant_mounts_root() {
    let mut h = harness(&["fs:read:**"]);
    assert_eq!(h.wasi.sandbox.mounts()[0].path, "/");
    let fd = h
        .open(
            &format!("{}/sibling.txt", h.root.trim_start_matches('/')),
            0,
            FD_READ,
        )
        .unwrap();
    assert_eq!(h.read(fd).unwrap(), "sibling secret");
}

impl Harness {
    fn open_flags(
        &mut self,
        path: &str,
        lookup: u32,
        oflags: u32,
        rights: u64,
    ) -> Result<u32, Errno> {
        let (p, l) = self.put(PATH_AT, path);
        fs::path_open(
            &mut self.cx(),
            3,
            lookup,
            p,
            l,
            oflags,
            rights,
            0,
            0,
            OUT_AT,
        )?;
        Ok(self.u32_at(OUT_AT))
    }

    fn symlink(&mut self, target: &str, link: &str) {
        let (p, l) = self.put(PATH_AT, target);
        let (q, m) = self.put(PATH_AT + 200, link);
        fs::path_symlink(&mut self.cx(), p, l, 3, q, m).unwrap();
    }

    fn mtime(&self, path: &str) -> i64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(format!("{}/{path}", self.root))
            .unwrap()
            .mtime()
    }
}

/// Issue 8, item 1: a dangling link in the writable area pointing outside it let `O_CREAT` create
/// the file outside.
#[test]
fn creating_through_a_dangling_link_cannot_leave_the_writable_area() {
    let mut h = standard();
    h.symlink("../created_outside", "writable/dangling");
    assert_eq!(
        h.open_flags("writable/dangling", 1, O_CREAT, FD_WRITE),
        Err(Errno::Acces),
        "following the link leads outside the write grant"
    );
    assert_eq!(
        h.open_flags("writable/dangling", 0, O_CREAT, FD_WRITE),
        Err(Errno::Loop),
        "without following, the link itself is not opened through"
    );
    assert!(!std::path::Path::new(&format!("{}/created_outside", h.root)).exists());
    // A dangling link that stays inside may be created through.
    h.symlink("inside", "writable/dangling_in");
    h.open_flags("writable/dangling_in", 1, O_CREAT, FD_WRITE)
        .unwrap();
    assert!(std::path::Path::new(&format!("{}/writable/inside", h.root)).exists());
}

/// Issue 8, item 2: another writer swaps a directory and a link to an ungranted one while the
/// plugin opens through it; no interleaving may read the ungranted file. The mount is
/// `ROOT/writable`, so `d` is swapped with a link to `..` (the ungranted `ROOT`), and both states
/// must have been opened through or the race was not run.
#[test]
fn a_concurrent_directory_and_link_swap_never_reads_an_ungranted_file() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut h = harness(&["fs:read:ROOT/writable/**"]);
    let root = h.root.clone();
    std::fs::create_dir(format!("{root}/writable/d")).unwrap();
    std::fs::write(format!("{root}/writable/d/sibling.txt"), "granted copy").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            let (d, link) = (
                format!("{root}/writable/d"),
                format!("{root}/writable/link"),
            );
            std::os::unix::fs::symlink("..", &link).unwrap();
            // Atomically exchange the directory and the link, as fast as possible.
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    d.as_str(),
                    rustix::fs::CWD,
                    link.as_str(),
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
            }
        })
    };
    let (mut read, mut refused) = (0u32, 0u32);
    for _ in 0..1_000_000 {
        match h.open_flags("d/sibling.txt", 1, 0, FD_READ) {
            Ok(fd) => {
                let text = h.read(fd).unwrap();
                assert_eq!(text, "granted copy", "read an ungranted file");
                fs::fd_close(&mut h.cx(), fd).unwrap();
                read += 1;
            }
            Err(_) => refused += 1,
        }
        if read >= 1000 && refused >= 1000 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        read > 0 && refused > 0,
        "both states were opened through ({read} reads, {refused} refusals)"
    );
}

/// Issue 8, item 3: setting times without `SYMLINK_FOLLOW` followed the link; on a directory
/// descriptor only the name the plugin used was checked.
#[test]
fn set_times_never_reaches_an_ungranted_file() {
    let mut h = standard();
    let before = h.mtime("sibling.txt");
    h.symlink("../sibling.txt", "writable/to_sibling");
    let (p, l) = h.put(PATH_AT, "writable/to_sibling");
    // fst_flags 4 = FST_MTIM: set the mtime to 1 s after the epoch.
    fs::path_filestat_set_times(&mut h.cx(), 3, 0, p, l, 0, 1_000_000_000, 4).unwrap();
    assert_eq!(h.mtime("sibling.txt"), before, "the target is untouched");
    assert_eq!(
        h.mtime("writable/to_sibling"),
        1,
        "the link's own time changed"
    );
    assert_eq!(
        fs::path_filestat_set_times(&mut h.cx(), 3, 1, p, l, 0, 1_000_000_000, 4),
        Err(Errno::Acces),
        "following the link leads to an ungranted file"
    );

    h.symlink("../sub", "writable/to_sub");
    let sub = h
        .open_flags("writable/to_sub", 1, O_DIRECTORY, FD_READ)
        .unwrap();
    let before = h.mtime("sub");
    assert_eq!(
        fs::fd_filestat_set_times(&mut h.cx(), sub, 0, 1_000_000_000, 4),
        Err(Errno::Acces),
        "the directory is read-only, whatever name opened it"
    );
    assert_eq!(h.mtime("sub"), before);
}

/// Issue 8, item 4: listing a directory reached through a link filtered the target's entries by
/// the link's name.
#[test]
fn listing_through_a_link_filters_by_the_real_directory() {
    let mut h = harness(&["fs:read:ROOT/granted.txt", "fs:read:ROOT/sub/**"]);
    std::os::unix::fs::symlink("..", format!("{}/sub/up", h.root)).unwrap();
    let (p, l) = h.put(PATH_AT, "sub/up");
    assert_eq!(
        fs::path_open(&mut h.cx(), 3, 1, p, l, O_DIRECTORY, FD_READ, 0, 0, OUT_AT),
        Ok(())
    );
    let up = h.u32_at(OUT_AT);
    let names = h.list(up);
    assert_eq!(
        names,
        [".", "..", "granted.txt", "sub"],
        "the root's entries, filtered as the root"
    );
}

/// Issue 8, item 5: `fd_readdir` allocated a buffer of the guest's size before checking it.
/// Run in a child process under a 1 GiB address-space limit, where the old 4 GiB allocation
/// aborted the process.
#[test]
fn a_huge_readdir_buffer_is_a_fault_not_an_allocation() {
    const CHILD: &str = "REGLET_READDIR_CHILD";
    if std::env::var_os(CHILD).is_some() {
        rustix::process::setrlimit(
            rustix::process::Resource::As,
            rustix::process::Rlimit {
                current: Some(1 << 30),
                maximum: None,
            },
        )
        .unwrap();
        let mut h = standard();
        assert_eq!(
            fs::fd_readdir(&mut h.cx(), 3, 0, u32::MAX, 0, OUT_AT),
            Err(Errno::Fault)
        );
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "wasi::tests::a_huge_readdir_buffer_is_a_fault_not_an_allocation",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .status()
        .unwrap();
    assert!(status.success(), "the child test failed: {status}");
}

/// Issue 8, item 6: a FIFO under a read grant was opened (blocking forever); now a FIFO opens
/// only under a grant that names it, and never blocks.
#[test]
fn a_fifo_needs_a_grant_naming_it_and_never_blocks() {
    fn within_5s<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(work()));
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the call blocked")
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let fifo = root.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o600),
        0,
    )
    .unwrap();
    for (grant, expected) in [
        (format!("fs:read:{}/**", root.display()), Err(Errno::Acces)),
        (format!("fs:read:{}", fifo.display()), Ok(String::new())),
    ] {
        let result = within_5s(move || {
            let (sandbox, _) = Sandbox::from_grants(&GrantSet::parse(&grant).unwrap());
            let redactor = Arc::new(Redaction::new(RedactionConfig::default()).unwrap());
            let mut h = Harness {
                _dir: tempfile::tempdir().unwrap(),
                root: String::new(),
                mem: vec![0; 1 << 16],
                wasi: WasiState::new(Arc::new(sandbox), Arc::from(vec![]), redactor, "t".into()),
            };
            let fd = h.open("fifo", 0, FD_READ)?;
            // Nobody writes: a read answers at once, with end of file.
            h.read(fd)
        });
        assert_eq!(result, expected);
    }
}

/// Review finding: a path of megabytes made one walk quadratic (and its components gigabytes).
#[test]
fn paths_longer_than_path_max_are_refused_before_any_work() {
    let mut h = standard();
    let long = "../".repeat(2000);
    assert_eq!(h.open_flags(&long, 0, 0, FD_READ), Err(Errno::Nametoolong));
    let dots = "./".repeat(3000);
    assert_eq!(h.stat(&dots), Err(Errno::Nametoolong));
}

/// Review finding: `path_filestat_set_times` on `.` changed a read-only directory's times.
#[test]
fn a_directory_reached_by_dot_needs_the_access_asked_for() {
    let mut h = standard();
    std::fs::create_dir(format!("{}/sub/x", h.root)).unwrap();
    let before = h.mtime("sub");
    for path in [".", "sub/.", "sub/x/.."] {
        let (p, l) = h.put(PATH_AT, path);
        assert_eq!(
            fs::path_filestat_set_times(&mut h.cx(), 3, 0, p, l, 0, 1_000_000_000, 4),
            Err(Errno::Acces),
            "{path}"
        );
    }
    assert_eq!(h.mtime("sub"), before);
}

/// Review finding: renaming a directory moved ungranted files under a readable name.
#[test]
fn a_directory_moves_only_within_one_write_grant() {
    let mut h = harness(&["fs:write:ROOT/*", "fs:read:ROOT/pub/**"]);
    let root = h.root.clone();
    std::fs::create_dir(format!("{root}/private")).unwrap();
    std::fs::write(format!("{root}/private/db.key"), "key").unwrap();
    std::fs::create_dir(format!("{root}/pub")).unwrap();
    let rename = |h: &mut Harness, from: &str, to: &str| {
        let (p, l) = h.put(PATH_AT, from);
        let (q, m) = h.put(PATH_AT + 200, to);
        fs::path_rename(&mut h.cx(), 3, p, l, 3, q, m)
    };
    assert_eq!(rename(&mut h, "pub", "pub.old"), Err(Errno::Acces));
    assert_eq!(rename(&mut h, "private", "pub2"), Err(Errno::Acces));
    assert_eq!(
        h.open_flags("pub/db.key", 1, 0, FD_READ),
        Err(Errno::Noent),
        "the key never moved"
    );
    assert!(std::path::Path::new(&format!("{root}/private/db.key")).exists());
    // Files move freely where they are writable.
    std::fs::write(format!("{root}/a.txt"), "a").unwrap();
    assert_eq!(rename(&mut h, "a.txt", "b.txt"), Ok(()));
}

/// Review finding: listings and failed lookups told names and existence of ungranted files.
#[test]
fn traversable_directories_reveal_only_granted_files() {
    let mut h = harness(&["fs:read:ROOT/**/*.conf"]);
    let root = h.root.clone();
    std::fs::write(format!("{root}/app.conf"), "x").unwrap();
    let names = h.list(3);
    assert!(names.contains(&"app.conf".to_owned()), "{names:?}");
    assert!(
        names.contains(&"sub".to_owned()),
        "directories lead on: {names:?}"
    );
    assert!(
        !names.contains(&"sibling.txt".to_owned()),
        "an ungranted file is not listed: {names:?}"
    );
    assert_eq!(h.stat("sibling.txt"), Err(Errno::Acces));
    assert_eq!(
        h.stat("no-such-file"),
        Err(Errno::Acces),
        "missing looks the same"
    );
    assert_eq!(
        h.stat("sibling.txt/x.conf"),
        Err(Errno::Acces),
        "not-a-dir too"
    );
    assert_eq!(
        h.stat("sub/missing.conf"),
        Err(Errno::Noent),
        "granted names may be missing"
    );
    // A directory only passed through shows no times.
    let (p, l) = h.put(PATH_AT, "sub");
    fs::path_filestat_get(&mut h.cx(), 3, 1, p, l, BUF_AT).unwrap();
    let mtime = u64::from_le_bytes(
        h.mem[BUF_AT as usize + 48..BUF_AT as usize + 56]
            .try_into()
            .unwrap(),
    );
    assert_eq!(mtime, 0);
}
