//! `reglet validate`, `plan`, `plugins`, `version` and `completions`, run as a user would.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A scratch folder that is also the home directory, so no test reads the real `~/.reglet`, with
/// the example WAT plugin copied into `plugins/`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        std::fs::copy(
            examples().join("plugins/file_exists.wat"),
            dir.path().join("plugins/file_exists.wat"),
        )
        .unwrap();
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

    fn reglet(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reglet"));
        cmd.env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .current_dir(self.dir.path());
        cmd
    }

    /// `reglet validate` on a profile written from `text`.
    fn validate(&self, text: &str) -> assert_cmd::assert::Assert {
        let path = self.write("p.yaml", text);
        self.reglet().arg("validate").arg(path).assert()
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

const HEAD: &str = "profile: {name: t, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\n";

// ---- validate ----

#[test]
fn validate_accepts_a_runnable_profile_and_lists_the_grants_with_their_risk() {
    let s = Scratch::new();
    s.reglet()
        .arg("validate")
        .arg(examples().join("local-plugins.yaml"))
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            predicate::str::contains(
                "profile local-plugins 1.0.0 is valid: 3 controls, 3 observations, 4 expectations",
            )
            .and(predicate::str::contains("grants needed:"))
            .and(
                predicate::str::is_match(
                    r"file_exists \(risk: \w+\):\n\s+\w+\s+fs:read:/etc/hosts",
                )
                .unwrap(),
            )
            .and(predicate::str::contains("host_call: none")),
        );
}

#[test]
fn validate_reports_a_yaml_syntax_error_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}controls:\n  items:\n    - id: x\n      name: [unclosed\n      observations: []\n"
    ))
    .code(2)
    .stdout("")
    .stderr(predicate::str::is_match(r"error: \S*p\.yaml:[67]:\d+: ").unwrap());
}

#[test]
fn validate_reports_an_unknown_key_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}controls:\n  items:\n    - id: x\n      name: x\n      severty: high\n      observations:\n        - plugin: file_exists\n          config: {{path: /etc/hosts}}\n"
    ))
    .code(2)
    .stderr(predicate::str::contains(
        "p.yaml:7:7: unknown key `severty` in a control; did you mean `severity`?",
    ));
}

#[test]
fn validate_reports_an_expectation_that_does_not_compile_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}controls:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: file_exists\n          config: {{path: /etc/hosts}}\n          expect: data.exists ==\n"
    ))
    .code(2)
    .stderr(predicate::str::contains("p.yaml:10:19: expectation `data.exists ==` does not compile"));
}

#[test]
fn validate_reports_an_unknown_plugin_at_its_declaration() {
    let s = Scratch::new();
    s.validate(
        "profile: {name: t, version: 1.0.0}\nplugins:\n  - fiel\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: fiel\n",
    )
    .code(2)
    .stderr(
        predicate::str::contains("p.yaml:3:5: unknown plugin `fiel`")
            .and(predicate::str::contains("did you mean `file`?")),
    );
}

#[test]
fn validate_reports_a_config_that_breaks_the_plugin_schema_at_its_line() {
    let s = Scratch::new();
    s.validate(
        "profile: {name: t, version: 1.0.0}\nplugins:\n  - file\n  - smtp\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: smtp\n          config: {host: localhost}\n",
    )
    .code(2)
    .stderr(predicate::str::contains(
        "p.yaml:10:11: control `x`: config for plugin smtp: \"port\" is a required property",
    ));
}

#[test]
fn validate_checks_configs_against_the_plugin_schema_at_the_observation_line() {
    let s = Scratch::new();
    let text = format!(
        "{HEAD}controls:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: file_exists\n          config: {{pth: /etc/hosts}}\n"
    );
    s.validate(&text).code(2).stderr(
        predicate::str::contains("p.yaml:8:11: control `x`: config for plugin file_exists")
            .and(predicate::str::contains("\"path\" is a required property")),
    );
    let path = s.write("p.yaml", &text);
    let output = s
        .reglet()
        .args(["validate", "--format", "json"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr("")
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["valid"], false);
    let keys: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"config"), "{doc}");
}

#[test]
fn validate_reports_a_dependency_on_a_missing_control_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}controls:\n  items:\n    - id: dns\n      name: dns\n      observations: [{{plugin: file_exists, config: {{path: /etc/hosts}}}}]\n    - id: tls\n      name: tls\n      depends_on: [dsn]\n      observations: [{{plugin: file_exists, config: {{path: /etc/hosts}}}}]\n"
    ))
    .code(2)
    .stderr(predicate::str::contains(
        "p.yaml:10:20: control `tls` depends on `dsn`, which is not a control; did you mean `dns`?",
    ));
}

#[test]
fn validate_reports_a_dependency_cycle_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}controls:\n  items:\n    - id: a\n      name: a\n      depends_on: [b]\n      observations: [{{plugin: file_exists, config: {{path: /etc/hosts}}}}]\n    - id: b\n      name: b\n      depends_on: [a]\n      observations: [{{plugin: file_exists, config: {{path: /etc/hosts}}}}]\n"
    ))
    .code(2)
    .stderr(predicate::str::contains("p.yaml:7:20: dependency cycle: a -> b -> a"));
}

#[test]
fn validate_reports_an_undefined_var_at_its_line() {
    let s = Scratch::new();
    s.validate(&format!(
        "{HEAD}vars:\n  host: example.com\ncontrols:\n  items:\n    - id: x\n      name: 'checks {{{{ .vars.hots }}}}'\n      observations: [{{plugin: file_exists, config: {{path: /etc/hosts}}}}]\n"
    ))
    .code(2)
    .stderr(predicate::str::contains(
        "p.yaml:8:13: undefined var `hots` in `name`; did you mean `.vars.host`?",
    ));
}

#[test]
fn validate_json_lists_every_diagnostic_with_its_place() {
    let s = Scratch::new();
    let path = s.write(
        "p.yaml",
        &format!(
            "{HEAD}controls:\n  items:\n    - id: x\n      name: x\n      severty: high\n      observations:\n        - plugin: file_exists\n          expect: data.exists ==\n"
        ),
    );
    let output = s
        .reglet()
        .args(["validate", "--format", "json"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr("")
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"], 2);
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{doc}");
    let first = &diagnostics[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], path.display().to_string());
    assert_eq!(first["line"], 7);
    assert_eq!(first["column"], 7);
    assert_eq!(first["key"], "severty");
    assert_eq!(
        first["message"],
        "unknown key `severty` in a control; did you mean `severity`?"
    );
    assert_eq!(diagnostics[1]["line"], 10);
    assert_eq!(diagnostics[1]["key"], "expect");

    let output = s
        .reglet()
        .args(["validate", "--format", "json"])
        .arg(examples().join("local-plugins.yaml"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["diagnostics"], serde_json::json!([]));
    assert_eq!(doc["summary"]["controls"], 3);
    let file_exists = &doc["grants"][0];
    assert_eq!(file_exists["plugin"], "file_exists");
    assert_eq!(
        file_exists["capabilities"],
        serde_json::json!([
            "fs:read:/etc/hosts",
            "fs:read:/etc/reglet-example-file-that-does-not-exist"
        ])
    );
    assert!(file_exists["risk"]["level"].is_string(), "{doc}");
}

#[test]
fn validate_lists_secrets_without_reading_them() {
    let s = Scratch::new();
    s.reglet()
        .arg("validate")
        .arg(examples().join("api-token.yaml"))
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("secrets used (resolved at run time): api_token")
                .and(predicate::str::contains("grants needed:\n  command")),
        );
}

// ---- plan ----

const DAG: &str = "controls:\n  items:\n    - id: d\n      name: d\n      depends_on: [b, c]\n      observations: [{plugin: file_exists, config: {path: /etc/hosts}}]\n    - id: a\n      name: a\n      observations: [{plugin: file_exists, config: {path: /etc/hosts}}]\n    - id: b\n      name: b\n      depends_on: [a]\n      observations: [{plugin: file_exists, config: {path: /etc/hosts}}]\n    - id: c\n      name: c\n      depends_on: [a]\n      observations: [{plugin: file_exists, config: {path: /etc/hostname}}]\n";

#[test]
fn plan_shows_the_execution_levels_of_the_dag() {
    let s = Scratch::new();
    let path = s.write("p.yaml", &format!("{HEAD}{DAG}"));
    s.reglet()
        .arg("plan")
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "execution levels (controls of one level can run together):\n  1: a\n  2: b, c\n  3: d\n",
        ));
    let output = s
        .reglet()
        .args(["plan", "--format", "json"])
        .arg(&path)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["levels"], serde_json::json!([["a"], ["b", "c"], ["d"]]));
    assert_eq!(doc["controls"][0]["id"], "d");
    assert_eq!(doc["controls"][0]["level"], 3);
}

#[test]
fn plan_shows_the_grants_each_plugin_would_get_with_their_risk() {
    let s = Scratch::new();
    let path = s.write("p.yaml", &format!("{HEAD}{DAG}"));
    let output = s
        .reglet()
        .args(["plan", "--format", "json"])
        .arg(&path)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    let grants = &doc["grants"][0];
    assert_eq!(grants["plugin"], "file_exists");
    assert_eq!(
        grants["capabilities"],
        serde_json::json!(["fs:read:/etc/hostname", "fs:read:/etc/hosts"])
    );
    let factors = grants["risk"]["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 2, "{grants}");
    assert!(
        factors
            .iter()
            .all(|f| f["level"].is_string() && f["reason"].is_string())
    );
    s.reglet().arg("plan").arg(&path).assert().code(0).stdout(
        predicate::str::is_match(
            r"grants needed:\n  file_exists \(risk: \w+\):\n\s+\w+\s+fs:read:/etc/host",
        )
        .unwrap(),
    );
}

#[test]
fn plan_shows_secrets_by_name_and_never_their_values() {
    let s = Scratch::new();
    let value = "zq8-plan-sekrit-value";
    // The secret is defined where `check` would find it; plan must not use it.
    std::fs::create_dir_all(s.path(".reglet")).unwrap();
    s.write(
        ".reglet/config.yaml",
        &format!("sensitive_data:\n  secrets:\n    local:\n      name: {value}\n"),
    );
    let path = s.write(
        "p.yaml",
        &format!(
            "{HEAD}vars:\n  dir: /etc\ncontrols:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: file_exists\n          config: {{path: '{{{{ .vars.dir }}}}/{{{{ secret \"name\" }}}}'}}\n"
        ),
    );
    for format in ["text", "json"] {
        let output = s
            .reglet()
            .args(["plan", "--format", format])
            .arg(&path)
            .assert()
            .code(0)
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("/etc/<secret:name>"), "{format}: {stdout}");
        assert!(!stdout.contains(value), "{format}: {stdout}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains(value));
    }
}

#[test]
fn plan_refuses_a_profile_that_cannot_run() {
    let s = Scratch::new();
    let path = s.write(
        "p.yaml",
        &format!(
            "{HEAD}controls:\n  items:\n    - id: x\n      name: x\n      observations:\n        - plugin: file_exists\n          config: {{pth: /etc/hosts}}\n"
        ),
    );
    s.reglet()
        .arg("plan")
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "p.yaml:8:11: control `x`: config for plugin",
        ));
}

// ---- plugins ----

fn builtin_sums() -> Vec<(String, String)> {
    let sums = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/SHA256SUMS"),
    )
    .unwrap();
    sums.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sha, file)| (file.trim_end_matches(".wasm").to_owned(), sha.to_owned()))
        .collect()
}

#[test]
fn plugins_list_shows_the_builtins() {
    let s = Scratch::new();
    let output = s
        .reglet()
        .args(["plugins", "list", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    let list = doc.as_array().unwrap();
    for name in ["file", "command"] {
        let p = list
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {doc}"));
        let sha = builtin_sums()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1;
        assert_eq!(p["sha256"], sha);
        assert_eq!(p["source"], format!("built-in {name}"));
        assert_eq!(p["abi"], "gen2");
        assert!(!p["version"].as_str().unwrap().is_empty());
        assert!(!p["config"].as_array().unwrap().is_empty(), "{p}");
    }
    let file = list.iter().find(|p| p["name"] == "file").unwrap();
    assert_eq!(file["capabilities"], serde_json::json!(["fs:read:/**"]));
    s.reglet()
        .args(["plugins", "list"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("(built-in file, gen2)")
                .and(predicate::str::contains("(built-in command, gen2)"))
                .and(predicate::str::contains("path (required)")),
        );
}

#[test]
fn plugins_list_adds_local_modules_from_a_profile_or_paths() {
    let s = Scratch::new();
    let wat = s.path("plugins/file_exists.wat");
    let sha = hex::encode(Sha256::digest(wat::parse_file(&wat).unwrap()));
    let output = s
        .reglet()
        .args(["plugins", "list", "--format", "json"])
        .arg(&wat)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    let local = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "file_exists")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(local["sha256"], sha);
    assert_eq!(local["abi"], "gen1");
    assert_eq!(local["version"], "0.1.0");
    assert_eq!(local["capabilities"], serde_json::json!(["fs:read:/**"]));
    assert_eq!(local["config"][0]["name"], "path");
    assert_eq!(local["config"][0]["required"], true);

    s.reglet()
        .args(["plugins", "list", "--profile"])
        .arg(examples().join("local-plugins.yaml"))
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("file_exists 0.1.0")
                .and(predicate::str::contains("host_call"))
                .and(predicate::str::contains("gen1")),
        );
}

#[test]
fn plugins_list_reports_a_module_that_cannot_be_read() {
    let s = Scratch::new();
    s.reglet()
        .args(["plugins", "list", "missing.wasm"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("built-in file"))
        .stderr(predicate::str::contains("cannot read plugin missing.wasm"));
}

#[test]
fn plugins_info_shows_a_builtin_in_full() {
    let s = Scratch::new();
    let sha = builtin_sums()
        .into_iter()
        .find(|(n, _)| n == "file")
        .unwrap()
        .1;
    s.reglet()
        .args(["plugins", "info", "file"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::starts_with("file ")
                .and(predicate::str::contains(format!("sha256        {sha}")))
                .and(predicate::str::contains("abi           gen2"))
                .and(
                    predicate::str::is_match(r"capabilities \(risk: \w+\):\n  \w+\s+fs:read:")
                        .unwrap(),
                )
                .and(
                    predicate::str::is_match(r"config:\n(  .*\n)*  path\s+string\s+required")
                        .unwrap(),
                ),
        );
    let output = s
        .reglet()
        .args(["plugins", "info", "file", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["name"], "file");
    assert_eq!(doc["sha256"], sha);
    assert!(!doc["description"].as_str().unwrap().is_empty());
    assert_eq!(doc["capabilities"], serde_json::json!(["fs:read:/**"]));
    assert_eq!(doc["risk"]["factors"][0]["grant"], "fs:read:/**");
    assert!(doc["risk"]["factors"][0]["reason"].is_string());
    let path = doc["config"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "path")
        .unwrap();
    assert_eq!(path["field_type"], "string");
    assert_eq!(path["required"], true);
    assert!(path["description"].is_string());
    let output = s
        .reglet()
        .args(["plugins", "info", "command", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["name"], "command");
    assert!(
        doc["config"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "command")
    );
}

#[test]
fn plugins_info_reads_a_local_wat_module() {
    let s = Scratch::new();
    let output = s
        .reglet()
        .args([
            "plugins",
            "info",
            "plugins/file_exists.wat",
            "--format",
            "json",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&output.stdout);
    assert_eq!(doc["name"], "file_exists");
    assert_eq!(
        doc["description"],
        "Reports whether a file exists, and its size, through the WASI sandbox"
    );
    assert_eq!(doc["abi"], "gen1");
    assert_eq!(doc["config"][0]["field_type"], "string");
    assert_eq!(
        doc["config"][0]["description"],
        "Absolute path of the file to check"
    );
}

#[test]
fn plugins_info_names_what_it_could_not_find() {
    let s = Scratch::new();
    s.reglet()
        .args(["plugins", "info", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nope is neither an embedded built-in plugin (file, command, http, dns, tcp, smtp) nor a file",
        ));
    s.reglet()
        .args(["plugins", "info", "smtp"])
        .assert()
        .success()
        .stdout(predicate::str::contains("smtp 2.0.0").and(predicate::str::contains("port")));
}

// ---- version and completions ----

#[test]
fn version_names_the_runtime_and_the_embedded_plugins() {
    let mut expected = vec![format!("reglet {}\n", env!("CARGO_PKG_VERSION"))];
    expected.extend(builtin_sums().into_iter().map(|(_, sha)| sha));
    let output = Command::new(env!("CARGO_BIN_EXE_reglet"))
        .arg("version")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    for want in expected {
        assert!(stdout.contains(&want), "no {want} in {stdout}");
    }
    assert!(
        predicate::str::is_match(r"\nwasmtime \d+\.\d+\.\d+\n")
            .unwrap()
            .eval(&stdout),
        "{stdout}"
    );
}

#[test]
fn completions_for_bash_complete_the_commands() {
    Command::new(env!("CARGO_BIN_EXE_reglet"))
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("_reglet()")
                .and(predicate::str::contains("check"))
                .and(predicate::str::contains("validate")),
        );
    Command::new(env!("CARGO_BIN_EXE_reglet"))
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}
