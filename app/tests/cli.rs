//! The `reglet` binary, run as a user would.

use assert_cmd::Command;
use predicates::prelude::*;

fn reglet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reglet"))
}

#[test]
fn help_lists_the_commands() {
    reglet()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("capabilities").and(predicate::str::contains("version")));
}

#[test]
fn version_starts_with_the_package_version() {
    reglet()
        .arg("version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "reglet {}\n",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn capabilities_explains_risk() {
    reglet()
        .args(["capabilities", "network:outbound:*", "fs:read:/etc/hosts"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("risk: critical\n"));
}

#[test]
fn capabilities_say_that_free_arguments_and_program_globs_run_arbitrary_code() {
    // Issue 8: git and tar were rated "medium" and `exec:/usr/bin/*` "high".
    for (program, level) in [
        ("/usr/bin/git", "critical"),
        ("/usr/bin/tar", "critical"),
        ("/usr/bin/systemctl", "high"),
        ("/usr/bin/id", "high"),
    ] {
        reglet()
            .args(["capabilities", &format!("exec:{program}")])
            .assert()
            .success()
            .stdout(
                predicate::str::starts_with(format!("risk: {level}\n"))
                    .and(predicate::str::contains("can run arbitrary code"))
                    .and(predicate::str::contains("unless its arguments are pinned")),
            );
    }
    for glob in ["exec:/usr/bin/*", "exec:/bin/**", "exec:*"] {
        reglet()
            .args(["capabilities", glob])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("risk: critical\n"));
    }
    reglet()
        .args(["capabilities", "exec:/usr/bin/systemctl:is-active *"])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("risk: medium\n").and(predicate::str::contains(
                "exec:/usr/bin/systemctl:is-active *",
            )),
        );
}

#[test]
fn malformed_capabilities_exit_2_naming_the_text() {
    reglet()
        .args(["capabilities", "network:outbound:9000-80"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid port range \"9000-80\""));
}

#[test]
fn unknown_arguments_are_usage_errors() {
    reglet().arg("--frobnicate").assert().code(2);
}

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn validate_accepts_the_runnable_examples() {
    reglet()
        .arg("validate")
        .arg(examples().join("linux-baseline.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("profile linux-baseline"));
    reglet()
        .arg("validate")
        .arg(examples().join("api-token.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "secrets used (resolved at run time): api_token",
        ));
}

#[test]
fn validate_accepts_the_network_example_and_lists_its_grants() {
    // web-server.yaml uses the http, tcp and dns built-ins; validate works out their grants
    // without observing anything.
    reglet()
        .arg("validate")
        .arg(examples().join("web-server.yaml"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains(
                "profile web-server 2.1.0 is valid: 9 controls, 9 observations",
            )
            .and(predicate::str::contains("network:outbound:")),
        );
}

#[test]
fn validate_reports_every_error_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "profile: { name: bad, version: '1' }\nplugins: [file]\ncontrols:\n  items:\n    - id: a\n      name: A\n      observations:\n        - plugin: file\n          expects: data.exists\n        - plugin: file\n          expect: stdout == 1\n",
    )
    .unwrap();
    reglet()
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains(
                "bad.yaml:9:11: unknown key `expects` in an observation; did you mean `expect`?",
            )
            .and(predicate::str::contains(
                "bad.yaml:11:19: expectation `stdout == 1` does not compile",
            ))
            .and(predicate::str::contains("2 errors")),
        );
}
