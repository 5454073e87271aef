use std::cell::RefCell;

use reglet_plugin_sdk::host::{FileStat, FileStatRequest};
use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json, observe_json};

use super::{Config, File, permissions};

const SHA_OF_TEXT: &str = "474ef6932d6b998ec97b122a9d86af024b988d64c243f3caf01dd9e5ed41618e";

/// Answers `file_stat` from a table keyed by (path, follow) and records the requests.
#[derive(Default)]
struct FakeHost {
    stats: Vec<((String, bool), Result<FileStat, Error>)>,
    asked: RefCell<Vec<FileStatRequest>>,
}

impl Host for FakeHost {
    fn file_stat(&self, request: &FileStatRequest) -> Result<FileStat, Error> {
        self.asked.borrow_mut().push(request.clone());
        self.stats
            .iter()
            .find(|((p, f), _)| *p == request.path && *f == request.follow)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| Ok(FileStat::default()))
    }
}

fn regular(mode: u32, size: u64) -> FileStat {
    FileStat {
        exists: true,
        mode: 0o100000 | mode,
        uid: 1000,
        gid: 42,
        size,
        mtime_sec: 1_768_036_502,
        mtime_nsec: 0,
        ..FileStat::default()
    }
}

fn config(path: &str) -> Config {
    Config {
        path: path.into(),
        read_content: false,
        hash: false,
        max_content_bytes: None,
    }
}

fn temp_file(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("reglet-file-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn permission_strings_like_ls() {
    for (mode, want) in [
        (0o100640, "-rw-r-----"),
        (0o040755, "drwxr-xr-x"),
        (0o120777, "lrwxrwxrwx"),
        (0o104755, "-rwsr-xr-x"),
        (0o102644, "-rw-r-Sr--"),
        (0o041777, "drwxrwxrwt"),
        (0o041776, "drwxrwxrwT"),
    ] {
        assert_eq!(permissions(mode), want, "{mode:o}");
    }
}

#[test]
fn reports_real_mode_and_owner_from_the_host() {
    let path = temp_file("owned", b"abc");
    let host = FakeHost {
        stats: vec![((path.clone(), false), Ok(regular(0o640, 3)))],
        ..FakeHost::default()
    };
    let ev = File.observe(config(&path), &host).unwrap();
    assert_eq!(ev.get("exists"), Some(&json!(true)));
    assert_eq!(ev.get("mode"), Some(&json!("0640")));
    assert_eq!(ev.get("permissions"), Some(&json!("-rw-r-----")));
    assert_eq!(ev.get("uid"), Some(&json!(1000)));
    assert_eq!(ev.get("gid"), Some(&json!(42)));
    assert_eq!(ev.get("size"), Some(&json!(3)));
    assert_eq!(ev.get("is_dir"), Some(&json!(false)));
    assert_eq!(ev.get("is_symlink"), Some(&json!(false)));
    assert_eq!(ev.get("readable"), Some(&json!(true)));
    assert_eq!(ev.get("mod_time"), Some(&json!("2026-01-10T09:15:02Z")));
    assert!(ev.get("sha256").is_none() && ev.get("content").is_none());
    assert_eq!(host.asked.borrow().len(), 1, "a plain file is stat'ed once");
}

#[test]
fn missing_files_exist_false() {
    let ev = File
        .observe(config("/nowhere/x"), &FakeHost::default())
        .unwrap();
    assert_eq!(ev.get("exists"), Some(&json!(false)));
    assert_eq!(ev.get("readable"), Some(&json!(false)), "as Reglet");
    assert!(ev.get("mode").is_none());
}

#[test]
fn symlinks_report_their_target() {
    let host = FakeHost {
        stats: vec![
            (
                ("/l".into(), false),
                Ok(FileStat {
                    exists: true,
                    is_symlink: true,
                    mode: 0o120777,
                    ..FileStat::default()
                }),
            ),
            (("/l".into(), true), Ok(regular(0o600, 9))),
        ],
        ..FakeHost::default()
    };
    let ev = File.observe(config("/l"), &host).unwrap();
    assert_eq!(ev.get("is_symlink"), Some(&json!(true)));
    assert_eq!(ev.get("mode"), Some(&json!("0600")));
    assert_eq!(ev.get("size"), Some(&json!(9)));
}

#[test]
fn hash_and_content_text_or_base64_capped() {
    let text = temp_file("text", b"PasswordAuthentication no\n");
    let binary = temp_file("binary", &[0xff, 0x00, 0xfe]);
    let host = FakeHost {
        stats: vec![
            ((text.clone(), false), Ok(regular(0o644, 26))),
            ((binary.clone(), false), Ok(regular(0o644, 3))),
        ],
        ..FakeHost::default()
    };
    let mut c = config(&text);
    c.hash = true;
    c.read_content = true;
    let ev = File.observe(c, &host).unwrap();
    assert_eq!(
        ev.get("content"),
        Some(&json!("PasswordAuthentication no\n"))
    );
    assert_eq!(ev.get("content_encoding"), Some(&json!("utf-8")));
    // Reglet's fields too, so `fromBase64(data.content_b64)` keeps working (the host redacts
    // base64 of text through its text).
    assert_eq!(
        ev.get("content_b64"),
        Some(&json!("UGFzc3dvcmRBdXRoZW50aWNhdGlvbiBubwo="))
    );
    assert_eq!(ev.get("encoding"), Some(&json!("base64")));
    assert_eq!(ev.get("content_truncated"), Some(&json!(false)));
    assert_eq!(ev.get("sha256"), Some(&json!(SHA_OF_TEXT)));
    let mut c = config(&binary);
    c.read_content = true;
    c.max_content_bytes = Some(2);
    let ev = File.observe(c, &host).unwrap();
    assert_eq!(ev.get("content"), Some(&json!("/wA=")));
    assert_eq!(ev.get("content_b64"), Some(&json!("/wA=")));
    assert_eq!(ev.get("encoding"), Some(&json!("base64")));
    assert_eq!(ev.get("content_encoding"), Some(&json!("base64")));
    assert_eq!(ev.get("content_truncated"), Some(&json!(true)));
}

#[test]
fn refusals_and_bad_config_are_errors() {
    let host = FakeHost {
        stats: vec![(
            ("/etc/shadow".into(), false),
            Err(Error::new(ErrorType::Capability, "not granted")),
        )],
        ..FakeHost::default()
    };
    let err = File.observe(config("/etc/shadow"), &host).unwrap_err();
    assert_eq!(err.kind, ErrorType::Capability);
    let err = File.observe(config("relative"), &host).unwrap_err();
    assert_eq!(err.kind, ErrorType::Config);
    let doc = observe_json::<File>(br#"{"path":"/x","bogus":1}"#, &host);
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["error"]["type"], "config");
}

#[test]
fn manifest_declares_schema_and_read_only() {
    let m = reglet_plugin_sdk::manifest::<File>();
    assert_eq!(m["name"], "file");
    assert_eq!(m["config_schema"]["required"], json!(["path"]));
    assert_eq!(
        m["capabilities"],
        json!({"fs": {"rules": [{"read": ["**"]}]}})
    );
}

#[test]
fn a_link_to_an_ungranted_target_is_refused() {
    let host = FakeHost {
        stats: vec![
            (
                ("/l".into(), false),
                Ok(FileStat {
                    exists: true,
                    is_symlink: true,
                    mode: 0o120777,
                    ..FileStat::default()
                }),
            ),
            (
                ("/l".into(), true),
                Err(Error::new(ErrorType::Capability, "not granted")),
            ),
        ],
        ..FakeHost::default()
    };
    let err = File.observe(config("/l"), &host).unwrap_err();
    assert_eq!(err.kind, ErrorType::Capability);
}
