//! The resolver as a table: a tree with links that stay inside, leave the granted area, leave the
//! mount, loop, and dangle; for each path, where resolution must end.

use std::sync::Arc;

use reglet_domain::GrantSet;

use super::*;

/// `root/` holds `ok/` (readable, with `file`), `secret/` (ungranted, with `file`), `w/`
/// (writable) and links between them.
fn tree() -> (tempfile::TempDir, String, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    let mk = |p: &str| std::fs::create_dir_all(format!("{root}/{p}")).unwrap();
    let file = |p: &str| std::fs::write(format!("{root}/{p}"), p).unwrap();
    let link = |from: &str, to: &str| {
        std::os::unix::fs::symlink(to.replace("ROOT", &root), format!("{root}/{from}")).unwrap()
    };
    mk("ok/deep");
    mk("secret");
    mk("w");
    file("ok/file");
    file("ok/deep/file");
    file("secret/file");
    link("ok/to_file", "file");
    link("ok/to_deep", "deep");
    link("ok/to_secret", "../secret/file");
    link("ok/abs_to_file", "ROOT/ok/file");
    link("ok/abs_to_secret", "ROOT/secret/file");
    link("ok/to_outside", "../../../../../../../../etc/passwd");
    link("ok/abs_outside", "/etc/passwd");
    link("ok/loop_a", "loop_b");
    link("ok/loop_b", "loop_a");
    link("ok/chain", "to_file");
    link("w/dangling_out", "../new_outside");
    link("w/dangling_in", "new_inside");
    link("w/up", "..");
    let grants = GrantSet::parse_all([
        // A file grant mounts its directory: one mount for the whole tree.
        format!("fs:read:{root}/marker"),
        format!("fs:read:{root}/ok/**"),
        format!("fs:write:{root}/w/**"),
    ])
    .unwrap();
    let (sandbox, warnings) = Sandbox::from_grants(&grants);
    assert!(warnings.is_empty(), "{warnings:?}");
    (dir, root, sandbox)
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Resolved to this path (relative to the tree's root).
    At(&'static str),
    Refused(Errno),
}

#[test]
fn resolution_table() {
    use Outcome::*;
    let (_dir, root, sandbox) = tree();
    let mount = sandbox.mounts().first().unwrap().clone();
    assert_eq!(mount.path, root, "the grants share one mount");
    let start = DirHandle::root(&mount);
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool, Access, Outcome)] = &[
        ("plain file",                "ok/file",               true,  Access::Read,  At("ok/file")),
        ("dot and dot-dot inside",    "ok/./deep/../file",     true,  Access::Read,  At("ok/file")),
        ("a directory, entered",      "ok/deep/.",             true,  Access::Read,  At("ok/deep")),
        ("link in the granted area",  "ok/to_file",            true,  Access::Read,  At("ok/file")),
        ("link not followed",         "ok/to_file",            false, Access::Read,  At("ok/to_file")),
        ("link to a directory",       "ok/to_deep/file",       true,  Access::Read,  At("ok/deep/file")),
        ("a chain of links",          "ok/chain",              true,  Access::Read,  At("ok/file")),
        ("absolute link inside",      "ok/abs_to_file",        true,  Access::Read,  At("ok/file")),
        ("link to ungranted",         "ok/to_secret",          true,  Access::Read,  Refused(Errno::Acces)),
        ("absolute link ungranted",   "ok/abs_to_secret",      true,  Access::Read,  Refused(Errno::Acces)),
        ("link out of the mount",     "ok/to_outside",         true,  Access::Read,  Refused(Errno::Notcapable)),
        ("absolute link unmounted",   "ok/abs_outside",        true,  Access::Read,  Refused(Errno::Notcapable)),
        ("a loop",                    "ok/loop_a",             true,  Access::Read,  Refused(Errno::Loop)),
        ("dot-dot to ungranted",      "ok/../secret/file",     true,  Access::Read,  Refused(Errno::Acces)),
        ("ungranted, existence hid",  "secret/nothing",        true,  Access::Read,  Refused(Errno::Acces)),
        ("climbing out of the mount", "../etc/passwd",         true,  Access::Read,  Refused(Errno::Notcapable)),
        ("absolute guest path",       "/etc/passwd",           true,  Access::Read,  Refused(Errno::Notcapable)),
        ("through a file",            "ok/file/x",             true,  Access::Read,  Refused(Errno::Notdir)),
        ("new file, writable",        "w/new",                 true,  Access::Write, At("w/new")),
        ("write to a read grant",     "ok/file",               true,  Access::Write, Refused(Errno::Acces)),
        ("dangling link out (item 1)","w/dangling_out",        true,  Access::Write, Refused(Errno::Acces)),
        ("dangling link, the link",   "w/dangling_out",        false, Access::Write, At("w/dangling_out")),
        ("dangling link inside",      "w/dangling_in",         true,  Access::Write, At("w/new_inside")),
        ("link to the parent",        "w/up/secret/file",      true,  Access::Read,  Refused(Errno::Acces)),
        ("link to the parent, ok",    "w/up/ok/file",          true,  Access::Read,  At("ok/file")),
    ];
    for (name, path, follow, access, expected) in cases {
        let got = match resolve(&sandbox, &start, path, *follow, *access) {
            Ok(resolved) => At(Box::leak(
                resolved.path()[root.len() + 1..]
                    .to_owned()
                    .into_boxed_str(),
            )),
            Err(errno) => Refused(errno),
        };
        assert_eq!(&got, expected, "{name}: {path}");
    }
}

/// Issue 8, item 2: the handle a resolution returns is the directory that was checked, so
/// swapping a checked directory for a link afterwards changes nothing.
#[test]
fn a_directory_swapped_for_a_link_after_resolution_is_not_followed() {
    let (_dir, root, sandbox) = tree();
    let start = DirHandle::root(sandbox.mounts().first().unwrap());
    let resolved = resolve(&sandbox, &start, "ok/deep/file", true, Access::Read).unwrap();
    std::fs::rename(format!("{root}/ok/deep"), format!("{root}/ok/moved")).unwrap();
    std::os::unix::fs::symlink("../secret", format!("{root}/ok/deep")).unwrap();
    let (parent, name) = resolved.entry().unwrap();
    let fd = openat(parent.fd(), name, rustix::fs::OFlags::RDONLY, Mode::empty()).unwrap();
    let text = std::io::read_to_string(std::fs::File::from(fd)).unwrap();
    assert_eq!(text, "ok/deep/file", "the checked directory, not the link");
    // A fresh resolution walks the link and is refused.
    assert_eq!(
        resolve(&sandbox, &start, "ok/deep/file", true, Access::Read).err(),
        Some(Errno::Acces)
    );
}

#[test]
fn handles_know_their_real_path() {
    let (_dir, root, sandbox) = tree();
    let start = DirHandle::root(sandbox.mounts().first().unwrap());
    let Resolved::Entry { parent, name, .. } =
        resolve(&sandbox, &start, "ok/to_deep", true, Access::Read).unwrap()
    else {
        panic!("a link to a directory resolves to an entry");
    };
    let deep = parent.enter(&name).unwrap();
    assert_eq!(deep.path(), format!("{root}/ok/deep"));
    let mut up = deep.clone();
    up.leave().unwrap();
    assert_eq!(up.path(), format!("{root}/ok"));
    let mut top = DirHandle::root(&Arc::clone(sandbox.mounts().first().unwrap()));
    assert_eq!(top.leave(), Err(Errno::Notcapable));
}

/// `..` above a mount root continues in the mount that holds the parent, if there is one.
#[test]
fn dot_dot_crosses_into_the_mount_that_holds_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    for d in ["a/x", "b"] {
        std::fs::create_dir_all(format!("{root}/{d}")).unwrap();
    }
    std::fs::write(format!("{root}/b/file"), "b").unwrap();
    std::os::unix::fs::symlink("../../b/file", format!("{root}/a/x/to_b")).unwrap();
    std::os::unix::fs::symlink("../../../etc/passwd", format!("{root}/a/x/to_etc")).unwrap();
    let grants = GrantSet::parse_all([
        format!("fs:read:{root}/a/x/**"),
        format!("fs:read:{root}/b/**"),
    ])
    .unwrap();
    let (sandbox, _) = Sandbox::from_grants(&grants);
    assert_eq!(sandbox.mounts().len(), 2);
    let x = format!("{root}/a/x");
    let start = DirHandle::root(sandbox.mounts().iter().find(|m| m.path == x).unwrap());
    let got = resolve(&sandbox, &start, "to_b", true, Access::Read).unwrap();
    assert_eq!(got.path(), format!("{root}/b/file"));
    assert_eq!(
        resolve(&sandbox, &start, "to_etc", true, Access::Read).err(),
        Some(Errno::Notcapable)
    );
}

/// Review finding: a held directory handle moved elsewhere must not reach its new parent by `..`.
#[test]
fn dot_dot_from_a_moved_directory_is_refused() {
    let (_dir, root, sandbox) = tree();
    let start = DirHandle::root(sandbox.mounts().first().unwrap());
    let Resolved::Dir(deep) = resolve(&sandbox, &start, "ok/deep/.", true, Access::Read).unwrap()
    else {
        panic!("a directory");
    };
    std::fs::rename(format!("{root}/ok/deep"), format!("{root}/secret/deep")).unwrap();
    assert_eq!(
        resolve(&sandbox, &deep, "../file", true, Access::Read).err(),
        Some(Errno::Notcapable)
    );
}

/// Review finding: a deep walk held one descriptor per level.
#[test]
fn a_handle_holds_one_descriptor_whatever_its_depth() {
    let (_dir, root, sandbox) = tree();
    let deep = "d/".repeat(200);
    std::fs::create_dir_all(format!("{root}/ok/{deep}")).unwrap();
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let start = DirHandle::root(sandbox.mounts().first().unwrap());
    let before = count();
    let Resolved::Dir(handle) =
        resolve(&sandbox, &start, &format!("ok/{deep}."), true, Access::Read).unwrap()
    else {
        panic!("a directory");
    };
    // Other tests run in parallel and open files too: allow some slack, but not 200.
    assert!(
        count() < before + 50,
        "{} descriptors held",
        count() - before
    );
    drop(handle);
}
