//! The `observe` example program, run as a newcomer would run it.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

/// The `observe` example, built by cargo for this test as the `observe` binary of this package
/// (from the example's own source), so the test never depends on what else was built.
fn observe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_observe"))
}

/// Where the runtime crate keeps its example plugins.
fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../adapters/runtime/examples")
}

fn plugin() -> PathBuf {
    examples().join("plugins/file_exists.wat")
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(output)))
}

struct Tree {
    _dir: tempfile::TempDir,
    root: String,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir
        .path()
        .canonicalize()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::write(format!("{root}/report.txt"), "twelve bytes").unwrap();
    std::fs::write(format!("{root}/private.key"), "secret").unwrap();
    Tree { _dir: dir, root }
}

#[test]
fn a_granted_file_is_observed() {
    let t = tree();
    let output = observe()
        .arg(plugin())
        .arg(format!(r#"{{"path":"{}/report.txt"}}"#, t.root))
        .args(["--grant", &format!("fs:read:{}/report.txt", t.root)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc = json(&output);
    assert_eq!(doc["info"]["name"], "file_exists");
    assert_eq!(doc["schema"]["required"][0], "path");
    assert_eq!(doc["evidence"]["status"], "success");
    assert_eq!(doc["evidence"]["data"]["exists"], true);
    assert_eq!(doc["evidence"]["data"]["size"], 12);
}

#[test]
fn a_sibling_of_a_granted_file_is_refused_inside_the_sandbox() {
    let t = tree();
    let output = observe()
        .arg(plugin())
        .arg(format!(r#"{{"path":"{}/private.key"}}"#, t.root))
        .args(["--grant", &format!("fs:read:{}/report.txt", t.root)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc = json(&output);
    assert_eq!(doc["evidence"]["status"], "error");
    assert_eq!(doc["evidence"]["error"]["type"], "capability");
}

#[test]
fn secrets_are_redacted_from_the_output() {
    let t = tree();
    let output = observe()
        .arg(plugin())
        .arg(format!(r#"{{"path":"{}/report.txt"}}"#, t.root))
        .args([
            "--grant",
            &format!("fs:read:{}/report.txt", t.root),
            "--secret",
            "report.txt",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(!text.contains("report.txt"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[test]
fn plugin_failures_exit_1_with_an_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let spin = dir.path().join("spin.wat");
    let text = std::fs::read_to_string(plugin()).unwrap().replace(
        "(call $log (call $pack (i32.const 0x100800)",
        "(loop $l (br $l)) (call $log (call $pack (i32.const 0x100800)",
    );
    std::fs::write(&spin, text).unwrap();
    let output = observe()
        .arg(&spin)
        .arg("{}")
        .args(["--timeout", "200ms"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc = json(&output);
    assert_eq!(doc["error"]["code"], "timeout");
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("spin"),
        "{doc}"
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    for (args, needle) in [
        (vec![plugin().display().to_string(), "[1]".into()], "config"),
        (
            vec![
                plugin().display().to_string(),
                "{}".into(),
                "--grant".into(),
                "network:outbound:9000-80".into(),
            ],
            "9000-80",
        ),
        (
            vec!["/nonexistent/plugin.wasm".into(), "{}".into()],
            "cannot read",
        ),
        (
            vec![
                plugin().display().to_string(),
                "{}".into(),
                "--timeout".into(),
                "soon".into(),
            ],
            "soon",
        ),
        (
            vec![
                plugin().display().to_string(),
                "{}".into(),
                "--memory-limit-mib".into(),
                "-5".into(),
            ],
            "-5",
        ),
    ] {
        let output = observe()
            .args(&args)
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let text = String::from_utf8_lossy(&output);
        assert!(text.contains(needle), "{args:?}: {text}");
    }
}

#[test]
fn host_calls_are_allowed_or_refused_by_the_grants_on_the_command_line() {
    let host_call = examples().join("plugins/host_call.wat");
    let run = |config: &str| {
        let output = observe()
            .arg(&host_call)
            .arg(config)
            .args(["--grant", "exec:/usr/bin/echo"])
            .assert()
            .success()
            .get_output()
            .clone();
        (
            json(&output.stdout),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (doc, log) =
        run(r#"{"function":"exec_command","command":"/usr/bin/echo","args":["granted"]}"#);
    assert_eq!(doc["evidence"]["data"]["answer"]["stdout"], "granted\n");
    assert!(log.contains("allowed: /usr/bin/echo granted"), "{log}");

    let (doc, log) = run(r#"{"function":"exec_command","command":"/usr/bin/id"}"#);
    let answer = &doc["evidence"]["data"]["answer"];
    assert_eq!(answer["error"]["type"], "capability", "{doc}");
    assert!(log.contains("refused: permission denied"), "{log}");
    assert!(log.contains("exec:/usr/bin/id"), "{log}");

    let (doc, _) = run(r#"{"function":"tcp_connect","host":"127.0.0.1","port":"22"}"#);
    let answer = &doc["evidence"]["data"]["answer"];
    assert_eq!(answer["error"]["type"], "capability", "{doc}");
}
