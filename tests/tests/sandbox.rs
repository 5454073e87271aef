//! The filesystem sandbox attacked from inside: WAT plugins make the WASI calls an attacker would
//! (issue 8, items 1 to 7) and report the errno of each; the test checks the answers and
//! that nothing outside the grants changed. Each observation runs on its own thread so a call that
//! blocks fails the test instead of hanging it.

use std::time::Duration;

use reglet_domain::{Config, GrantSet};
use reglet_runtime::RuntimeOptions;
use reglet_tests::{Gen, PluginWat, name, runtime};
use serde_json::json;

/// WASI errno values the tests expect.
const ACCES: u32 = 2;
const BADF: u32 = 8;
const FAULT: u32 = 21;
const SUCCESS: u32 = 0;

/// A plugin whose observe runs `calls` (WAT expressions, each returning an errno) and answers
/// with evidence `{"errnos": "NN,NN,"}`, two digits per call.
fn script(calls: &[&str], strings: &[(&str, &str)]) -> PluginWat {
    let mut body = String::from("(local.set $at (i32.const 4096))\n");
    for call in calls {
        // A call written `number: EXPR` reports a count or size rather than an errno.
        let line = match call.strip_prefix("number: ") {
            Some(expr) => format!("(local.set $at (call $number (local.get $at) {expr}))\n"),
            None => format!("(local.set $at (call $errno (local.get $at) {call}))\n"),
        };
        body.push_str(&line);
    }
    body.push_str(
        r#"(local.set $out (call $alloc (i32.const 512)))
           (local.set $i (call $copy (local.get $out) ${errnos_prefix}))
           (local.set $i (call $copy (local.get $i) (i32.const 4096) (i32.sub (local.get $at) (i32.const 4096))))
           (local.set $i (call $copy (local.get $i) ${errnos_suffix}))
           (call $pack (local.get $out) (i32.sub (local.get $i) (local.get $out)))"#,
    );
    let mut plugin = PluginWat::echo(Gen::One)
        .with_extra(
            r#"
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $path_filestat_set_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_times" (func $fd_filestat_set_times (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  ;; Writes $n as six decimal digits and a comma (for counts and sizes, not errnos).
  (func $number (param $at i32) (param $n i32) (result i32) (local $i i32)
    (local.set $i (i32.const 6))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $at) (local.get $i)) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br $next)))
    (i32.store8 (i32.add (local.get $at) (i32.const 6)) (i32.const 44))
    (i32.add (local.get $at) (i32.const 7)))
  (func $errno (param $at i32) (param $e i32) (result i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.add (local.get $at) (i32.const 1)) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.add (local.get $at) (i32.const 2)) (i32.const 44))
    (i32.add (local.get $at) (i32.const 3)))"#,
        )
        .with_string(
            "errnos_prefix",
            r#"{"Status":true,"Error":null,"Data":{"errnos":""#,
        )
        .with_string("errnos_suffix", r#""},"Raw":null}"#)
        .with_observe(&body);
    for (name, text) in strings {
        plugin = plugin.with_string(name, *text);
    }
    plugin
}

/// Runs one observation of `plugin` under `grants` on a runtime of its own; `None` when it had
/// not finished after 20 s (a blocked host call).
fn observe(plugin: PluginWat, grants: &[String]) -> Option<Vec<u32>> {
    let grants = GrantSet::parse_all(grants).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async move {
        let task = tokio::spawn(async move {
            let runtime =
                runtime(RuntimeOptions::new(reglet_tests::redactor()).grant("attacker", grants));
            let loaded = runtime
                .load_plugin(&name("attacker"), &plugin.wasm())
                .await?;
            loaded
                .observe(&Config::from_value(json!({})).unwrap())
                .await
        });
        tokio::time::timeout(Duration::from_secs(20), task).await
    });
    // A worker stuck in a blocking call must not hang the test at runtime shutdown.
    rt.shutdown_background();
    let evidence = result.ok()?.unwrap().expect("the observation runs");
    let data = evidence.data.expect("evidence data");
    let text = data["errnos"].as_str().unwrap().to_owned();
    Some(
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect(),
    )
}

fn tempdir() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    (dir, root)
}

/// Item 1: a dangling link in the writable directory, pointing out of it but inside the mount (a
/// read grant over the parent mounts it), then `O_CREAT` through it.
#[test]
fn a_plugin_cannot_create_a_file_outside_its_write_grant_through_a_link() {
    let (_dir, root) = tempdir();
    std::fs::create_dir(format!("{root}/w")).unwrap();
    let plugin = script(
        &[
            "(call $path_symlink ${target} (i32.const 3) ${link})",
            // path_open(fd 3, SYMLINK_FOLLOW, "link", O_CREAT, FD_WRITE, ...) -> fd at 8
            "(call $path_open (i32.const 3) (i32.const 1) ${link} (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 8))",
        ],
        &[("target", "../created_outside"), ("link", "w/link")],
    );
    let grants = [
        format!("fs:read:{root}/**"),
        format!("fs:write:{root}/w/**"),
    ];
    let errnos = observe(plugin, &grants).unwrap();
    assert_eq!(errnos, [SUCCESS, ACCES]);
    assert!(!std::path::Path::new(&format!("{root}/created_outside")).exists());
}

/// Opens `${file}` from fd 3 `n` times, reading the start of each file it could open, and counts
/// in globals the opens that read the granted copy (`g...`), the refusals, and the opens that read
/// anything else (a leak).
const RACE: &str = r#"
  (global $granted (mut i32) (i32.const 0))
  (global $refused (mut i32) (i32.const 0))
  (global $leaked (mut i32) (i32.const 0))
  (func $race (param $n i32) (result i32) (local $fd i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (if (i32.eqz (call $path_open (i32.const 3) (i32.const 1) ${file} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8)))
        (then
          (local.set $fd (i32.load (i32.const 8)))
          (i32.store (i32.const 16) (i32.const 65536))
          (i32.store (i32.const 20) (i32.const 64))
          (i32.store8 (i32.const 65536) (i32.const 0))
          (drop (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
          (drop (call $fd_close (local.get $fd)))
          (if (i32.eq (i32.load8_u (i32.const 65536)) (i32.const 103))
            (then (global.set $granted (i32.add (global.get $granted) (i32.const 1))))
            (else (global.set $leaked (i32.add (global.get $leaked) (i32.const 1))))))
        (else (global.set $refused (i32.add (global.get $refused) (i32.const 1)))))
      (br $next)))
    (i32.const 0))"#;

/// Item 2: another writer of the granted directory swaps a subdirectory and a link to the
/// ungranted parent while the plugin opens through it; no interleaving may read the ungranted
/// file. Both states must have been seen, or the race was not run.
#[test]
fn a_directory_swapped_for_a_link_mid_open_never_reads_an_ungranted_file() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_dir, root) = tempdir();
    std::fs::write(format!("{root}/sibling.txt"), "secret").unwrap();
    std::fs::create_dir_all(format!("{root}/w/d")).unwrap();
    std::fs::write(format!("{root}/w/d/sibling.txt"), "granted copy").unwrap();
    std::os::unix::fs::symlink("..", format!("{root}/w/link")).unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let swapper = {
        let (d, link, stop) = (
            format!("{root}/w/d"),
            format!("{root}/w/link"),
            stop.clone(),
        );
        std::thread::spawn(move || {
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
    let (mut granted, mut refused) = (0, 0);
    for _ in 0..20 {
        let plugin = script(
            &[
                "(call $race (i32.const 5000))",
                "number: (global.get $granted)",
                "number: (global.get $refused)",
                "number: (global.get $leaked)",
            ],
            &[("file", "d/sibling.txt")],
        )
        .with_extra(RACE);
        let counts = observe(plugin, &[format!("fs:read:{root}/w/**")]).unwrap();
        assert_eq!(counts[3], 0, "read an ungranted file: {counts:?}");
        granted += counts[1];
        refused += counts[2];
        if granted > 0 && refused > 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        granted > 0 && refused > 0,
        "both the directory and the link were opened through ({granted} reads, {refused} refusals)"
    );
}

/// Item 4: listing a directory reached through a link shows the real directory's entries,
/// filtered by the real directory's grants: the ungranted sibling is not listed.
#[test]
fn a_listing_through_a_link_is_filtered_as_the_real_directory() {
    let (_dir, root) = tempdir();
    std::fs::write(format!("{root}/granted.txt"), "x").unwrap();
    // A name of another length than the granted one, so the size of the listing tells them apart.
    std::fs::write(format!("{root}/sibling-secret.txt"), "secret").unwrap();
    std::fs::create_dir(format!("{root}/sub")).unwrap();
    std::os::unix::fs::symlink("..", format!("{root}/sub/up")).unwrap();
    let plugin = script(
        &[
            // path_open(fd 3 = ROOT, follow, "sub/up", O_DIRECTORY, read) -> fd at 8
            "(call $path_open (i32.const 3) (i32.const 1) ${up} (i32.const 2) (i64.const 16386) (i64.const 0) (i32.const 0) (i32.const 8))",
            // fd_readdir(that fd, buf 65536, 4096, cookie 0) -> bytes used at 12
            "(call $fd_readdir (i32.load (i32.const 8)) (i32.const 65536) (i32.const 4096) (i64.const 0) (i32.const 12))",
            "number: (i32.load (i32.const 12))",
        ],
        &[("up", "sub/up")],
    );
    let grants = [
        format!("fs:read:{root}/granted.txt"),
        format!("fs:read:{root}/sub/**"),
    ];
    let answers = observe(plugin, &grants).unwrap();
    // Each entry is a 24-byte header and the name.
    let listed: u32 = [".", "..", "granted.txt", "sub"]
        .iter()
        .map(|n| 24 + n.len() as u32)
        .sum();
    assert_eq!(
        answers,
        [SUCCESS, SUCCESS, listed],
        "exactly ., .., granted.txt and sub; never sibling-secret.txt"
    );
}

/// Item 7, revised: a grant whose folders are missing, or that lies behind a symbolic link, mounts
/// its nearest real ancestor (never a link): a mount is only a root to resolve from, so what lies
/// beside the grant stays out of reach, refused before it is looked up.
#[test]
fn a_mount_above_a_missing_or_linked_path_reaches_nothing_beside_the_grant() {
    let (_dir, root) = tempdir();
    std::fs::create_dir_all(format!("{root}/real/sub")).unwrap();
    std::fs::write(format!("{root}/sibling.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(format!("{root}/real"), format!("{root}/alias")).unwrap();
    for grant in [
        format!("fs:write:{root}/missing/dir/**"),
        format!("fs:read:{root}/alias/sub/**"),
    ] {
        let plugin = script(
            &[
                "(call $fd_prestat_get (i32.const 3) (i32.const 16))",
                // path_open(fd 3, follow, "sibling.txt", no oflags, fd_read) -> fd at 8
                "(call $path_open (i32.const 3) (i32.const 1) ${sib} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))",
                "(call $fd_prestat_get (i32.const 4) (i32.const 16))",
            ],
            &[("sib", "sibling.txt")],
        );
        assert_eq!(
            observe(plugin, std::slice::from_ref(&grant)).unwrap(),
            [SUCCESS, ACCES, BADF],
            "{grant}: one mount, and the sibling is refused"
        );
    }
}

/// Item 3, second half: times set through a directory descriptor are checked against the
/// directory actually opened, not the name (a writable link) that opened it.
#[test]
fn a_directory_opened_through_a_writable_link_keeps_its_own_grants() {
    use std::os::unix::fs::MetadataExt;
    let (_dir, root) = tempdir();
    std::fs::create_dir(format!("{root}/w")).unwrap();
    std::os::unix::fs::symlink("..", format!("{root}/w/up")).unwrap();
    let before = std::fs::metadata(&root).unwrap().mtime();
    let plugin = script(
        &[
            "(call $path_open (i32.const 3) (i32.const 1) ${up} (i32.const 2) (i64.const 16386) (i64.const 0) (i32.const 0) (i32.const 8))",
            // fst_flags 4: set the mtime to 1 s after the epoch.
            "(call $fd_filestat_set_times (i32.load (i32.const 8)) (i64.const 0) (i64.const 1000000000) (i32.const 4))",
        ],
        &[("up", "w/up")],
    );
    let grants = [
        format!("fs:read:{root}/**"),
        format!("fs:write:{root}/w/**"),
    ];
    let errnos = observe(plugin, &grants).unwrap();
    assert_eq!(errnos[0], SUCCESS, "the directory may be read");
    assert_eq!(errnos[1], ACCES, "but it is not writable");
    assert_eq!(std::fs::metadata(&root).unwrap().mtime(), before);
}

/// Item 3: changing times through a link without following it changes the link, not its target.
#[test]
fn a_plugin_cannot_touch_an_ungranted_file_through_a_link() {
    use std::os::unix::fs::MetadataExt;
    let (_dir, root) = tempdir();
    std::fs::create_dir(format!("{root}/w")).unwrap();
    std::fs::write(format!("{root}/ungranted"), "x").unwrap();
    std::os::unix::fs::symlink("../ungranted", format!("{root}/w/link")).unwrap();
    let before = std::fs::metadata(format!("{root}/ungranted"))
        .unwrap()
        .mtime();
    let plugin = script(
        &[
            // lookup flags 0: the link itself; fst_flags 4: set mtime to 1 s.
            "(call $path_filestat_set_times (i32.const 3) (i32.const 0) ${link} (i64.const 0) (i64.const 1000000000) (i32.const 4))",
            "(call $path_filestat_set_times (i32.const 3) (i32.const 1) ${link} (i64.const 0) (i64.const 1000000000) (i32.const 4))",
        ],
        &[("link", "link")],
    );
    let errnos = observe(plugin, &[format!("fs:write:{root}/w/**")]).unwrap();
    assert_eq!(errnos[0], SUCCESS);
    assert_ne!(errnos[1], SUCCESS, "following the link leaves the grant");
    let after = std::fs::metadata(format!("{root}/ungranted"))
        .unwrap()
        .mtime();
    assert_eq!(before, after, "the ungranted file's mtime did not change");
}

/// Item 5: a 4 GiB `fd_readdir` buffer is refused as a fault before anything is allocated.
#[test]
fn a_huge_readdir_buffer_is_refused() {
    let (_dir, root) = tempdir();
    let plugin = script(
        &[
            "(call $fd_readdir (i32.const 3) (i32.const 0) (i32.const -1) (i64.const 0) (i32.const 8))",
        ],
        &[],
    );
    let errnos = observe(plugin, &[format!("fs:read:{root}/**")]).unwrap();
    assert_eq!(errnos, [FAULT]);
}

/// Item 6: a FIFO under a directory grant used to block the observation forever.
#[test]
fn a_fifo_under_a_directory_grant_is_refused_at_once() {
    let (_dir, root) = tempdir();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        format!("{root}/fifo").as_str(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o600),
        0,
    )
    .unwrap();
    let plugin = script(
        &[
            "(call $path_open (i32.const 3) (i32.const 1) ${fifo} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))",
        ],
        &[("fifo", "fifo")],
    );
    let errnos = observe(plugin, &[format!("fs:read:{root}/**")])
        .expect("the observation finished: opening the FIFO did not block");
    assert_eq!(errnos, [ACCES]);
}

/// Issue 9: grants are set per plugin after load, with no recompilation and no new runtime; an
/// instance prepared under the old grants is never used.
#[test]
fn grants_set_after_load_apply_to_the_next_observation() {
    let (_dir, root) = tempdir();
    std::fs::write(format!("{root}/granted"), "x").unwrap();
    // path_open(fd 3 = the first mount, "granted", read)
    let plugin = script(
        &[
            "(call $path_open (i32.const 3) (i32.const 1) ${file} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))",
        ],
        &[("file", "granted")],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let runtime = runtime(RuntimeOptions::new(reglet_tests::redactor()));
        let loaded = runtime
            .load_plugin(&name("late"), &plugin.wasm())
            .await
            .unwrap();
        let errnos = |evidence: reglet_domain::Evidence| {
            evidence.data.unwrap()["errnos"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let empty = Config::from_value(json!({})).unwrap();
        loaded.warm_pool(2).await.unwrap();
        // No grant: nothing is mounted, so fd 3 does not exist (EBADF = 8).
        assert_eq!(errnos(loaded.observe(&empty).await.unwrap()), "08,");
        loaded.set_grants(GrantSet::parse(&format!("fs:read:{root}/granted")).unwrap());
        assert_eq!(
            loaded.grants().to_strings(),
            [format!("fs:read:{root}/granted")]
        );
        assert_eq!(errnos(loaded.observe(&empty).await.unwrap()), "00,");
        loaded.set_grants(GrantSet::new());
        assert_eq!(errnos(loaded.observe(&empty).await.unwrap()), "08,");
    });
    rt.shutdown_background();
}
