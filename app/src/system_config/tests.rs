use super::*;

const FULL: &str = r#"
security:
  level: strict
  custom_broad_patterns: ["/srv/**"]
capabilities:
  - kind: fs
    pattern: read:/etc/ssh/sshd_config
redaction:
  patterns: ["SECRET-[A-Z0-9]{8}"]
  paths: [password, auth.bearer]
  hash_mode: { enabled: true, salt: pepper }
  disable_gitleaks: true
sensitive_data:
  secrets:
    local: { dev_token: hunter2 }
    env: { api_token: API_TOKEN }
    files: { ssh_key: keys/ssh.key, abs: /etc/reglet/x }
wasm_memory_limit_mb: 256
max_evidence_size_bytes: 2048
"#;

#[test]
fn reads_reglets_schema() {
    let c = SystemConfig::parse(FULL, Path::new("/home/u/.reglet/config.yaml")).unwrap();
    assert_eq!(c.security.level, SecurityLevel::Strict);
    assert_eq!(c.security.custom_broad_patterns, ["/srv/**"]);
    assert_eq!(
        c.capabilities,
        [SavedCapability {
            kind: "fs".into(),
            pattern: "read:/etc/ssh/sshd_config".into()
        }]
    );
    assert_eq!(c.redaction.paths, ["password", "auth.bearer"]);
    assert_eq!(
        c.redaction.hash_mode,
        HashMode {
            enabled: true,
            salt: "pepper".into()
        }
    );
    assert!(c.redaction.disable_gitleaks);
    assert_eq!(c.secrets.local["dev_token"], "hunter2");
    assert_eq!(c.secrets.env["api_token"], "API_TOKEN");
    assert_eq!(
        c.secrets.files["ssh_key"],
        Path::new("/home/u/.reglet/keys/ssh.key")
    );
    assert_eq!(c.secrets.files["abs"], Path::new("/etc/reglet/x"));
    assert_eq!(c.wasm_memory_limit_mb, Some(256));
    assert_eq!(c.max_evidence_size_bytes, Some(2048));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(
        !format!("{c:?}").contains("hunter2"),
        "Debug hides local values"
    );
}

#[test]
fn unknown_keys_and_levels_are_warnings() {
    let c = SystemConfig::parse(
        "securty: {}\nsecurity: { level: paranoid }\n",
        Path::new("c.yaml"),
    )
    .unwrap();
    assert_eq!(c.security.level, SecurityLevel::Standard);
    let messages: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        messages,
        [
            "c.yaml:1:1: unknown key `securty` in the system config; did you mean `security`? (ignored)",
            "c.yaml:2:20: security level \"paranoid\" is not strict, standard or permissive; using standard",
        ]
    );
}

#[test]
fn wrong_types_are_errors_with_positions() {
    let err = SystemConfig::parse(
        "redaction:\n  paths: password\nsensitive_data:\n  secrets:\n    env: [A]\n",
        Path::new("c.yaml"),
    )
    .unwrap_err();
    let lines: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        lines,
        [
            "c.yaml:2:10: `paths` must be a list of strings, found a string",
            "c.yaml:5:10: `env` must be a mapping of names to strings, found a list",
        ]
    );
}

#[test]
fn discovery_prefers_xdg_and_tolerates_absence() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let xdg = dir.path().join("xdg");
    assert_eq!(
        SystemConfig::discover_in(Some(&xdg), Some(&home)).unwrap(),
        SystemConfig::default()
    );

    std::fs::create_dir_all(home.join(".reglet")).unwrap();
    std::fs::write(
        home.join(".reglet/config.yaml"),
        "security: { level: permissive }\n",
    )
    .unwrap();
    let c = SystemConfig::discover_in(Some(&xdg), Some(&home)).unwrap();
    assert_eq!(c.security.level, SecurityLevel::Permissive);
    assert_eq!(
        c.path.as_deref(),
        Some(home.join(".reglet/config.yaml").as_path())
    );

    std::fs::create_dir_all(xdg.join("reglet")).unwrap();
    std::fs::write(
        xdg.join("reglet/config.yaml"),
        "security: { level: strict }\n",
    )
    .unwrap();
    let c = SystemConfig::discover_in(Some(&xdg), Some(&home)).unwrap();
    assert_eq!(c.security.level, SecurityLevel::Strict);
    assert!(
        c.warnings[0]
            .message
            .contains(".reglet/config.yaml is ignored")
    );

    // A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
    assert_eq!(
        SystemConfig::candidates(Some(Path::new("rel")), None),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn an_explicit_path_must_exist() {
    let err = SystemConfig::load(Path::new("/nonexistent/reglet.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/reglet.yaml: cannot read"),
        "{err}"
    );
}

#[test]
fn the_file_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, FULL).unwrap();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    SystemConfig::load(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FULL);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
}
