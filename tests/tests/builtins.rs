//! The embedded built-in plugins run through the real runtime against real local targets.

use std::os::unix::fs::PermissionsExt;

use reglet_domain::{Config, ErrorType, Evidence, EvidenceStatus, GrantSet};
use reglet_runtime::RuntimeOptions;
use reglet_tests::{name, runtime};
use serde_json::{Value, json};

/// One observation of the embedded plugin `plugin` with `config`, under `grants`.
fn observe(plugin: &str, grants: &[String], config: Value) -> Evidence {
    let module = reglet_builtins::builtin(plugin).expect("a built-in");
    let grants = GrantSet::parse_all(grants).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let runtime = runtime(RuntimeOptions::new(reglet_tests::redactor()).grant(plugin, grants));
        let loaded = runtime.load_plugin(&name(plugin), module).await.unwrap();
        loaded
            .observe(&Config::from_value(config).unwrap())
            .await
            .expect("the observation runs")
    })
}

fn data(evidence: &Evidence) -> &serde_json::Map<String, Value> {
    evidence.data.as_ref().expect("evidence data")
}

#[test]
fn the_file_plugin_reports_real_modes_owners_hash_and_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    let file = format!("{root}/sshd_config");
    std::fs::write(&file, "PasswordAuthentication no\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir(format!("{root}/d")).unwrap();
    std::fs::set_permissions(format!("{root}/d"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("sshd_config", format!("{root}/link")).unwrap();
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let grants = [format!("fs:read:{root}/**")];

    let ev = observe(
        "file",
        &grants,
        json!({"path": file, "hash": true, "read_content": true}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["exists"], true);
    assert_eq!(d["readable"], true);
    assert_eq!(d["is_dir"], false);
    assert_eq!(d["is_symlink"], false);
    assert_eq!(d["mode"], "0640");
    assert_eq!(d["permissions"], "-rw-r-----");
    assert_eq!(d["uid"], uid);
    assert_eq!(d["gid"], gid);
    assert_eq!(d["size"], 26);
    assert_eq!(
        d["sha256"],
        "474ef6932d6b998ec97b122a9d86af024b988d64c243f3caf01dd9e5ed41618e"
    );
    assert_eq!(d["content"], "PasswordAuthentication no\n");
    assert!(d["mod_time"].as_str().unwrap().ends_with('Z'));

    let ev = observe("file", &grants, json!({"path": format!("{root}/d")}));
    let d = data(&ev);
    assert_eq!(
        (d["is_dir"].clone(), d["mode"].clone()),
        (json!(true), json!("0750"))
    );
    assert_eq!(d["permissions"], "drwxr-x---");

    let ev = observe("file", &grants, json!({"path": format!("{root}/link")}));
    let d = data(&ev);
    assert_eq!(d["is_symlink"], true);
    assert_eq!(d["mode"], "0640", "a link reports its target");

    let ev = observe("file", &grants, json!({"path": format!("{root}/missing")}));
    assert_eq!(data(&ev)["exists"], false);
}

#[test]
fn the_file_plugin_cannot_stat_outside_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    std::fs::create_dir(format!("{root}/granted")).unwrap();
    std::fs::write(format!("{root}/secret"), "x").unwrap();
    // A link inside the grant pointing out of it must not lend its name to the target.
    std::os::unix::fs::symlink("../secret", format!("{root}/granted/link")).unwrap();
    let grants = [format!("fs:read:{root}/granted/**")];
    for path in [format!("{root}/secret"), format!("{root}/granted/link")] {
        let ev = observe("file", &grants, json!({"path": path}));
        assert_eq!(ev.status(), EvidenceStatus::Error, "{path}: {ev:?}");
        let error = ev.error_detail().cloned().expect("an error");
        assert_eq!(error.kind, ErrorType::Capability, "{path}: {error:?}");
    }
}

#[test]
fn the_command_plugin_runs_direct_and_shell_commands_with_env_and_timeout() {
    let ev = observe(
        "command",
        &["exec:/bin/echo".into()],
        json!({"command": "/bin/echo", "args": ["hello", "world"]}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["stdout"], "hello world\n");
    assert_eq!(d["exit_code"], 0);
    assert_eq!(d["exec_mode"], "direct");

    let shell = ["exec:/bin/sh".to_owned(), "exec:env:GREETING".to_owned()];
    let ev = observe(
        "command",
        &shell,
        json!({"run": "echo $GREETING; exit 3", "env": ["GREETING=hi"]}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    let d = data(&ev);
    assert_eq!(
        (d["stdout"].clone(), d["exit_code"].clone()),
        (json!("hi\n"), json!(3))
    );
    assert_eq!(d["shell_command"], "echo $GREETING; exit 3");

    let started = std::time::Instant::now();
    let ev = observe("command", &shell, json!({"run": "sleep 20", "timeout": 1}));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the timeout reached the host"
    );
    assert_eq!(data(&ev)["is_timeout"], true, "{ev:?}");

    let ev = observe("command", &["exec:/bin/echo".into()], json!({"run": "id"}));
    assert_eq!(ev.status(), EvidenceStatus::Error, "{ev:?}");
    assert_eq!(ev.error_detail().unwrap().kind, ErrorType::Capability);
}
