//! `reglet check`, end to end: the binary on real profiles and WAT plugins given by path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A scratch folder with a home, an empty system config and a grants file of its own, so no test
/// reads or writes the real `~/.reglet`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), "{}\n").unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let file_exists =
            std::fs::read_to_string(examples().join("plugins/file_exists.wat")).unwrap();
        std::fs::write(plugins.join("file_exists.wat"), &file_exists).unwrap();
        // The same plugin, except that observe() spins forever.
        let anchor = "(call $log (call $pack (i32.const 0x100800) (i32.const 81)))";
        assert!(file_exists.contains(anchor));
        let sleepy =
            file_exists.replacen(anchor, &format!("{anchor}\n    (loop $spin (br $spin))"), 1);
        std::fs::write(plugins.join("sleepy.wat"), sleepy).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn check(&self, profile: &Path) -> Command {
        Command::from_std(self.std_check(profile))
    }

    fn std_check(&self, profile: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_reglet"));
        cmd.env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .env("NO_COLOR", "1")
            .arg("check")
            .arg(profile)
            .arg("--config")
            .arg(self.path("config.yaml"))
            .arg("--grants-file")
            .arg(self.path("grants.yaml"));
        cmd
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn statuses(report: &Value) -> Vec<String> {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_example_profile_passes() {
    let s = Scratch::new();
    s.check(&examples().join("local-plugins.yaml"))
        .arg("--trust-plugins")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("3 controls: 3 passed, 0 failed"));
}

#[test]
fn without_a_terminal_missing_grants_stop_the_run_with_the_lines_to_add() {
    let s = Scratch::new();
    let profile = examples().join("local-plugins.yaml");
    let output = s.check(&profile).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.stdout.is_empty());
    assert!(stderr.contains("--trust-plugins"), "{stderr}");
    let block = &stderr[stderr.find("grants:\n").expect(&stderr)..];
    assert!(block.contains("\"fs:read:/etc/hosts\""), "{block}");
    // The printed lines are what grants.yaml needs: with them the run goes ahead unasked.
    s.write("grants.yaml", block);
    s.check(&profile).assert().code(0);
}

#[test]
fn a_failing_control_exits_1_and_the_json_report_says_why() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\ncontrols:\n  items:\n    - id: absent\n      name: hosts is absent\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n          expect: data.exists == false\n    - id: after\n      name: after\n      depends_on: [absent]\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n",
    );
    let output = s
        .check(&profile)
        .args(["--trust-plugins", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(statuses(&report), ["fail", "skipped"]);
    assert_eq!(
        report["controls"][1]["skip_reason"],
        "dependency 'absent' has status 'fail'"
    );
    let expectation = &report["controls"][0]["observations"][0]["expectations"][0];
    assert_eq!(expectation["outcome"], "failed");
}

#[test]
fn the_run_timeout_writes_a_partial_report() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat, ./plugins/sleepy.wat]\ncontrols:\n  items:\n    - id: quick\n      name: quick\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n    - id: stuck\n      name: stuck\n      observations:\n        - plugin: sleepy\n          config: {path: /etc/hosts}\n",
    );
    let report_file = s.path("report.json");
    let started = std::time::Instant::now();
    s.check(&profile)
        .args([
            "--trust-plugins",
            "--format",
            "json",
            "--timeout",
            "1s",
            "-o",
        ])
        .arg(&report_file)
        .arg("--report")
        .arg(format!("junit={}", s.path("report.xml").display()))
        .arg("--report")
        .arg(format!("sarif={}", s.path("report.sarif").display()))
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the report is partial"));
    assert!(started.elapsed() < Duration::from_secs(30));
    let report = json(&std::fs::read(&report_file).unwrap());
    assert_eq!(report["partial"], true);
    assert_eq!(statuses(&report), ["pass", "error"]);
    let message = report["controls"][1]["message"].as_str().unwrap();
    assert!(message.contains("timeout of 1s"), "{message}");
    // The extra reports were written too, and say the run is partial.
    let junit = std::fs::read_to_string(s.path("report.xml")).unwrap();
    assert!(
        junit.contains("<property name=\"partial\" value=\"true\"/>"),
        "{junit}"
    );
    let sarif = json(&std::fs::read(s.path("report.sarif")).unwrap());
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}

#[cfg(unix)]
#[test]
fn sigint_ends_the_run_with_a_partial_report() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat, ./plugins/sleepy.wat]\ncontrols:\n  items:\n    - id: quick\n      name: quick\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n    - id: stuck\n      name: stuck\n      observations:\n        - plugin: sleepy\n          config: {path: /etc/hosts}\n",
    );
    let mut cmd = s.std_check(&profile);
    let child = cmd
        .args(["--trust-plugins", "--format", "json", "--timeout", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give it time to load the plugins and start the stuck control.
    std::thread::sleep(Duration::from_secs(3));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report = json(&output.stdout);
    assert_eq!(report["stopped_reason"], "interrupted by SIGINT");
    assert_eq!(statuses(&report), ["pass", "error"]);
}

#[test]
fn a_secret_appears_in_no_output() {
    let s = Scratch::new();
    let secret = "zq8-hosts-sekrit-value";
    s.write(
        "config.yaml",
        &format!("sensitive_data:\n  secrets:\n    local:\n      name: {secret}\n"),
    );
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\ncontrols:\n  items:\n    - id: secret-path\n      name: a path holding a secret\n      observations:\n        - plugin: file_exists\n          config: {path: '/etc/{{ secret \"name\" }}'}\n          expect: data.exists == false\n",
    );
    let report_file = s.path("report.json");
    for format in ["json", "table"] {
        let output = s
            .check(&profile)
            .args(["--trust-plugins", "-v", "--format", format])
            .output()
            .unwrap();
        // The plugin was granted the real path and looked it up (the file is absent); had it been
        // given the template text, the grant would not match and the control would be an error.
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        for (what, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(secret), "{format} {what}: {text}");
        }
        if format == "json" {
            assert!(String::from_utf8_lossy(&output.stdout).contains("[REDACTED]"));
        }
    }
    s.check(&profile)
        .args(["--trust-plugins", "--format", "json", "-o"])
        .arg(&report_file)
        .assert()
        .code(0);
    let written = std::fs::read_to_string(&report_file).unwrap();
    assert!(!written.contains(secret), "{written}");
    assert!(written.contains("[REDACTED]"));
}

#[test]
fn a_profile_error_names_its_line() {
    let s = Scratch::new();
    let profile = s.write(
        "bad.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\ncontrols:\n  items:\n    - id: x\n      name: x\n      severty: high\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n",
    );
    s.check(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml:7").and(predicate::str::contains("severity")));
}

#[test]
fn a_config_that_breaks_the_plugin_schema_is_refused_before_anything_runs() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: file_exists\n          config: {pth: /etc/hosts}\n",
    );
    s.check(&profile)
        .arg("--trust-plugins")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("p.yaml:8").and(predicate::str::contains("path")));
}

#[test]
fn a_misspelt_builtin_is_a_clear_error_naming_the_closest() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [smpt]\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: smpt\n          config: {host: localhost}\n",
    );
    s.check(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("smpt").and(predicate::str::contains("smtp")));
}

#[test]
fn every_builtin_a_profile_may_name_is_embedded() {
    let embedded: Vec<&str> = reglet_builtins::names().collect();
    for name in reglet::profile::BUILTIN_PLUGINS {
        assert!(embedded.contains(name), "{name} is not embedded");
    }
}

#[test]
fn filters_skip_with_reglets_reasons() {
    let s = Scratch::new();
    let output = s
        .check(&examples().join("local-plugins.yaml"))
        .args([
            "--trust-plugins",
            "--format",
            "json",
            "--control",
            "no-stray-file",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert_eq!(statuses(&report), ["skipped", "skipped", "skipped"]);
    assert_eq!(
        report["controls"][0]["skip_reason"],
        "not selected by --control"
    );
    let output = s
        .check(&examples().join("local-plugins.yaml"))
        .args([
            "--trust-plugins",
            "--format",
            "json",
            "--control",
            "no-stray-file",
            "--include-dependencies",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(statuses(&json(&output.stdout)), ["pass", "pass", "skipped"]);
    s.check(&examples().join("local-plugins.yaml"))
        .args(["--control", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no control has the id `nope`"));
}

/// Built-in plugins are found by name, embedded in the binary, and get exactly the grants their
/// configs imply.
#[test]
fn built_in_plugins_run_by_name() {
    let scratch = Scratch::new();
    let output = scratch
        .check(&examples().join("builtins.yaml"))
        .args(["--trust-plugins", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert_eq!(statuses(&report), ["pass", "pass", "pass"], "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("plugin=file grants=fs:read:/etc/hostname, fs:read:/etc/hosts\n"),
        "the file plugin was granted just the files: {stderr}"
    );
    assert!(
        stderr.contains("plugin=command grants=exec:/bin/uname:-s\n"),
        "the command plugin was granted just its command line: {stderr}"
    );
}

#[test]
fn several_reports_are_written_in_one_run() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\ncontrols:\n  items:\n    - id: present\n      name: hosts is present\n      severity: high\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n          expect: data.exists\n    - id: absent\n      name: hosts is absent\n      observations:\n        - plugin: file_exists\n          config: {path: /etc/hosts}\n          expect: data.exists == false\n",
    );
    let path = |name: &str| s.path(name).display().to_string();
    let output = s
        .check(&profile)
        .args(["--trust-plugins", "--format", "table", "--report"])
        .arg(format!("sarif={}", path("out.sarif")))
        .arg("--report")
        .arg(format!("junit={}", path("out.xml")))
        .arg("--report")
        .arg(format!("html={}", path("out.html")))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("2 controls: 1 passed, 1 failed"),
        "{stdout}"
    );
    // stderr is not a terminal here: no progress is drawn.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("controls,"), "{stderr}");

    let sarif = json(&std::fs::read(s.path("out.sarif")).unwrap());
    let kinds: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["pass", "fail"]);
    // The evidence names /etc/hosts, so that is where both results point.
    assert_eq!(
        sarif["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///etc/hosts"
    );

    let junit = std::fs::read_to_string(s.path("out.xml")).unwrap();
    let junit = roxmltree::Document::parse(&junit).unwrap();
    let cases = junit
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    let failures = junit
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!((cases, failures), (2, 1));

    let html = std::fs::read_to_string(s.path("out.html")).unwrap();
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let page = roxmltree::Document::parse_with_options(&html, options).unwrap();
    for id in ["present", "absent"] {
        assert!(
            page.descendants()
                .any(|n| n.has_tag_name("code") && n.text() == Some(id)),
            "{id} missing"
        );
    }
}

#[test]
fn a_bad_report_value_is_a_usage_error_naming_it() {
    let s = Scratch::new();
    let profile = examples().join("local-plugins.yaml");
    for (value, says) in [
        ("xml=out.xml", "unknown format `xml`"),
        ("sarif", "is not FORMAT=PATH"),
        ("html=", "the path after `=` is empty"),
    ] {
        s.check(&profile)
            .args(["--trust-plugins", "--report", value])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(value).and(predicate::str::contains(says)));
    }
    assert!(!s.path("out.xml").exists());
}

/// The baseline example runs for real on the built-ins: the account checks (a file through
/// `fromBase64(data.content_b64)`, as Reglet profiles write it) and `uname` given by bare name.
#[test]
fn the_baseline_example_runs_on_this_machine() {
    let s = Scratch::new();
    let output = s
        .check(&examples().join("linux-baseline.yaml"))
        .args([
            "--trust-plugins",
            "--format",
            "json",
            "--tags",
            "accounts,inventory",
        ])
        .assert()
        .get_output()
        .clone();
    let report = json(&output.stdout);
    let ran: Vec<(String, String)> = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(_, status)| status != "skipped")
        .collect();
    let ids: Vec<&str> = ran.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "passwd-present",
            "root-account-first",
            "shadow-not-world-readable",
            "kernel-identified"
        ]
    );
    assert!(ran.iter().all(|(_, status)| status == "pass"), "{report:#}");
}

/// What the built-in file plugin reports through links and missing folders, and the command
/// plugin's working directory, with only the grants the profile implies.
#[test]
fn built_ins_follow_links_see_missing_folders_and_run_in_a_directory() {
    let s = Scratch::new();
    let root = std::fs::canonicalize(s.dir.path()).unwrap();
    let r = root.display();
    std::fs::create_dir(root.join("real")).unwrap();
    std::fs::write(root.join("real/target"), "x").unwrap();
    std::os::unix::fs::symlink("real", root.join("dir-link")).unwrap();
    std::os::unix::fs::symlink("target", root.join("real/file-link")).unwrap();
    let profile = s.write(
        "p.yaml",
        &format!(
            "profile: {{name: t, version: 1.0.0}}\nplugins: [file, command]\ncontrols:\n  items:\n\
             \x20   - id: through-links\n      name: a file through two links\n      observations:\n\
             \x20       - plugin: file\n          config: {{path: {r}/dir-link/file-link, read_content: true}}\n\
             \x20         expect: [data.exists, data.is_symlink, data.readable, 'fromBase64(data.content_b64) == \"x\"', 'data.content == \"x\"']\n\
             \x20   - id: missing-folder\n      name: a file in a folder that is not there\n      observations:\n\
             \x20       - plugin: file\n          config: {{path: {r}/nowhere/file.conf}}\n\
             \x20         expect: [not data.exists, not data.readable]\n\
             \x20   - id: in-a-directory\n      name: a command in a working directory\n      observations:\n\
             \x20       - plugin: command\n          config: {{command: pwd, dir: {r}/real}}\n\
             \x20         expect: 'data.stdout == \"{r}/real\\n\"'\n"
        ),
    );
    let output = s
        .check(&profile)
        .args(["--trust-plugins", "--format", "json"])
        .assert()
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert_eq!(statuses(&report), ["pass", "pass", "pass"], "{report:#}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "fs:read:{r}/real/file-link, fs:read:{r}/real/target"
        )),
        "the links' real paths were granted: {stderr}"
    );
}

/// Loopback services a profile names by address are reached with only the grants it implies: the
/// SSRF filter lets through an address the grants name.
#[test]
fn built_ins_reach_loopback_services_the_profile_names() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 1024];
            // A plain TCP probe sends nothing; an HTTP client sends its request.
            if let Ok(n) = stream.read(&mut buf)
                && n > 0
            {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        }
    });
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        &format!(
            "profile: {{name: t, version: 1.0.0}}\nplugins: [tcp, http]\ncontrols:\n  items:\n\
             \x20   - id: port-open\n      name: port open\n      observations:\n\
             \x20       - plugin: tcp\n          config: {{host: 127.0.0.1, port: {port}, timeout_ms: 2000}}\n\
             \x20         expect: data.connected\n\
             \x20   - id: health\n      name: health\n      observations:\n\
             \x20       - plugin: http\n          config: {{url: 'http://127.0.0.1:{port}/healthz'}}\n\
             \x20         expect: [data.status_code == 200, 'data.body_preview == \"ok\"']\n"
        ),
    );
    let output = s
        .check(&profile)
        .args(["--trust-plugins", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(statuses(&json(&output.stdout)), ["pass", "pass"]);
}

/// Flags a user can get wrong are refused with exit 2, and `-q` leaves only errors on stderr.
#[test]
fn bad_flags_exit_2_and_quiet_means_only_errors() {
    let s = Scratch::new();
    let profile = examples().join("local-plugins.yaml");
    s.check(&profile)
        .args(["--trust-plugins", "--log-level", "loud"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("loud"));
    let same = s.path("same.json");
    s.check(&profile)
        .args(["--trust-plugins", "-o"])
        .arg(&same)
        .arg("--report")
        .arg(format!("json={}", s.path("./same.json").display()))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("destination of two reports"));
    assert!(!same.exists(), "nothing ran");

    // A run that ends early under -q: the partial report is written, no warning is printed.
    let stuck = s.write(
        "stuck.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/sleepy.wat]\ncontrols:\n  items:\n    - id: stuck\n      name: stuck\n      observations:\n        - plugin: sleepy\n          config: {path: /etc/hosts}\n",
    );
    let output = s
        .check(&stuck)
        .args([
            "--trust-plugins",
            "-q",
            "--timeout",
            "1s",
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json(&output.stdout)["partial"], true);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A built-in asked for at a version the embedded one does not satisfy runs, with a warning.
#[test]
fn a_builtin_version_the_embedded_one_does_not_satisfy_is_a_warning() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [file@1.2.0, command@^2]\ncontrols:\n  items:\n    - id: hosts\n      name: hosts\n      observations:\n        - plugin: file\n          config: {path: /etc/hosts}\n          expect: data.exists\n    - id: runs\n      name: runs\n      observations:\n        - plugin: command\n          config: {command: /bin/true}\n",
    );
    let output = s
        .check(&profile)
        .args(["--trust-plugins"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("p.yaml:2:")
            && stderr
                .contains("built-in plugin file is version 2.0.0, which does not satisfy `1.2.0`"),
        "{stderr}"
    );
    assert!(!stderr.contains("plugin command is version"), "{stderr}");
}

/// The built-ins' schemas refuse out-of-range ports, unknown record types and a command that is
/// both or neither of `command` and `run`, before anything runs.
#[test]
fn built_in_configs_out_of_range_are_refused_before_the_run() {
    let s = Scratch::new();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [dns, tcp, smtp, command]\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: dns\n          config: {hostname: example.test, record_type: BOGUS}\n        - plugin: tcp\n          config: {host: 127.0.0.1, port: 99999}\n        - plugin: tcp\n          config: {host: 127.0.0.1, port: '70000'}\n        - plugin: smtp\n          config: {host: 127.0.0.1, port: 0}\n        - plugin: command\n          config: {command: /bin/true, run: 'true'}\n        - plugin: command\n          config: {}\n    - id: fine\n      name: fine\n      observations:\n        - plugin: dns\n          config: {hostname: example.test, record_type: mx}\n        - plugin: tcp\n          config: {host: 127.0.0.1, port: '8080'}\n",
    );
    let output = s
        .check(&profile)
        .arg("--trust-plugins")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in [8, 10, 12, 14, 16, 18] {
        assert!(
            stderr.contains(&format!("p.yaml:{line}:11: control `x`")),
            "line {line}: {stderr}"
        );
    }
    assert!(!stderr.contains("control `fine`"), "{stderr}");
}

/// `--timeout` bounds the checks before the run too: a plugin whose `describe` never returns is
/// stopped by it, not by the runtime's 30 s default.
#[test]
fn the_run_timeout_bounds_a_plugin_that_never_describes_itself() {
    let s = Scratch::new();
    let wat = std::fs::read_to_string(s.path("plugins/file_exists.wat")).unwrap();
    let anchor = "(func (export \"describe\") (result i64) ";
    assert!(wat.contains(anchor));
    let stuck = wat.replacen(anchor, &format!("{anchor}(loop $spin (br $spin)) "), 1);
    std::fs::write(s.path("plugins/mute.wat"), stuck).unwrap();
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/mute.wat]\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: mute\n          config: {path: /etc/hosts}\n",
    );
    let started = std::time::Instant::now();
    s.check(&profile)
        .args(["--trust-plugins", "--timeout", "1s"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// Evidence over `max_evidence_size_bytes` is judged whole and cut for the report, with a record
/// of what was cut that the published schema accepts.
#[test]
fn evidence_over_the_limit_is_judged_whole_and_cut_in_the_report() {
    let s = Scratch::new();
    std::fs::write(s.path("config.yaml"), "max_evidence_size_bytes: 4096\n").unwrap();
    let big = s.path("big.txt");
    std::fs::write(&big, format!("{}END", "A".repeat(20_000))).unwrap();
    let profile = s.write(
        "p.yaml",
        &format!(
            "profile: {{name: t, version: 1.0.0}}\nplugins: [file]\ncontrols:\n  items:\n    - id: big\n      name: big\n      observations:\n        - plugin: file\n          config: {{path: {}, read_content: true}}\n          expect: 'data.content endsWith \"END\"'\n",
            big.display()
        ),
    );
    let output = s
        .check(&profile)
        .args(["--trust-plugins", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    let observation = &report["controls"][0]["observations"][0];
    let meta = &observation["evidence_meta"];
    assert_eq!(meta["truncated"], true, "{observation:#}");
    assert_eq!(meta["truncated_at_bytes"], 4096);
    assert!(meta["original_size_bytes"].as_u64().unwrap() > 20_000);
    let content = observation["data"]["content"].as_str().unwrap();
    assert!(
        content.ends_with("[TRUNCATED]") && content.len() < 2100,
        "{content}"
    );
    assert!(serde_json::to_vec(&observation["data"]).unwrap().len() <= 4096);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report-schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Secrets whose grant form no literal match finds (an escaped argument, a path the grant folds)
/// are never printed in the lines to add, nor in the `--trust-plugins` log.
#[test]
fn a_secret_in_a_grant_is_not_shown_in_any_form() {
    let s = Scratch::new();
    s.write(
        "config.yaml",
        "sensitive_data:\n  secrets:\n    local:\n      quoted: \"it's-Kq7sEcRet\\\"q\"\n      slashed: \"Zx9k//Qm7pL2vR8sT4wY\"\n",
    );
    let profile = s.write(
        "p.yaml",
        "profile: {name: t, version: 1.0.0}\nplugins: [command, file]\ncontrols:\n  items:\n    - id: echo\n      name: echo\n      observations:\n        - plugin: command\n          config: {command: /bin/echo, args: ['{{ secret \"quoted\" }}']}\n    - id: path\n      name: path\n      observations:\n        - plugin: file\n          config: {path: '/nowhere/{{ secret \"slashed\" }}/f'}\n",
    );
    for trust in [false, true] {
        let mut cmd = s.check(&profile);
        if trust {
            cmd.arg("--trust-plugins");
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        for fragment in ["Kq7sEcRet", "Qm7pL2vR8sT4wY", "Zx9k"] {
            assert!(
                !stderr.contains(fragment) && !stdout.contains(fragment),
                "trust={trust}: {stderr}\n{stdout}"
            );
        }
        if !trust {
            assert_eq!(output.status.code(), Some(2), "{stderr}");
            assert!(
                stderr.contains("Plugin command needs grants that hold a secret"),
                "{stderr}"
            );
            assert!(
                stderr.contains("Plugin file needs grants that hold a secret"),
                "{stderr}"
            );
        } else {
            assert!(stderr.contains("[a grant holding a secret]"), "{stderr}");
        }
    }
}
