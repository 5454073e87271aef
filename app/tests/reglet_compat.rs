//! Reglet profiles load unchanged: the two-file example of the Reglet reference (a baseline and
//! a child that extends it), verbatim.

use std::time::Duration;

use reglet::profile::{self, Backoff, Severity};

const BASELINE: &str = r#"# baseline.yaml — parent maintained by the security team
profile:
  name: linux-baseline
  version: 1.4.0
  description: Organisation-wide Linux host baseline

plugins: [file, command]

vars:
  sshd_config: /etc/ssh/sshd_config

controls:
  defaults:
    severity: medium
    owner: platform-security
    tags: [baseline, soc2]
    timeout: 30s                 # parsed but not enforced by Reglet today
  items:
    - id: sshd-config-owned-by-root
      name: sshd_config exists and is root-owned
      description: "Checks {{ .vars.sshd_config }}"
      severity: high
      tags: [ssh]
      observations:
        - plugin: file
          config: { path: "{{ .vars.sshd_config }}" }
          expect:
            - data.exists
            - data.uid == 0
            - data.mode in ["0600", "0644"]
"#;

const PROD_WEB: &str = r#"# prod-web.yaml — child used in CI for the web tier
profile:
  name: prod-web
  version: 2.1.0
  description: Production web tier (SOC2 CC6.1 / CC7.1)

extends:
  - ./baseline.yaml

plugins: [http, tcp, dns]        # merged with the parent's [file, command]

vars:
  site: www.example.com
  health_url: https://api.example.com/healthz
  max_latency_ms: 800

controls:
  defaults:
    tags: [prod]                 # unioned with [baseline, soc2]
    retries: 2                   # intended: 2 retries on transient errors (inert at HEAD, see §4)
    retry_delay: 1s
    retry_backoff: exponential
    retry_max_delay: 10s
  items:
    - id: dns-resolves
      name: Site resolves to IPv4
      severity: critical
      tags: [dns, network]
      observations:
        - plugin: dns
          config: { hostname: "{{ .vars.site }}", record_type: A }
          expect:
            - data.record_count > 0 && isIPv4(data.records[0])

    - id: tls-modern
      name: TLS 1.2+ with a certificate valid for 14+ days
      severity: high
      depends_on: [dns-resolves]
      observations:
        - plugin: tcp
          config: { host: "{{ .vars.site }}", port: "443", tls: true, timeout_ms: 5000 }
          expect:
            - data.connected
            - data.tls_version in ["TLS 1.2", "TLS 1.3"]
            - data.tls_cert_days_remaining > 14

    - id: api-healthy
      name: Health endpoint returns 200 quickly
      severity: high
      depends_on: [tls-modern]
      observations:
        - plugin: http
          config: { url: "{{ .vars.health_url }}", method: GET, body_preview_length: 512 }
          expect:
            - data.status_code == 200
            - data.response_time_ms < 800      # vars are not substituted inside expect
            - data.body_preview contains "ok"

    - id: deploy-token-accepted
      name: Deploy API accepts the CI token
      severity: medium
      tags: [slow]
      observations:
        - plugin: command
          config:
            command: /usr/bin/curl
            args: ["-fsS", "-o", "/dev/null", "-w", "%{http_code}", "https://deploy.example.com/ping"]
            env: ['DEPLOY_TOKEN={{ secret "deploy_token" }}']   # resolved from ~/.reglet/config.yaml;
                                                              # Reglet echoes this config, secret included, in json/yaml/sarif (§5)
          expect:
            - data.exit_code == 0
            - data.stdout == "200"
"#;

#[test]
fn reglets_own_example_loads_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baseline.yaml"), BASELINE).unwrap();
    std::fs::write(dir.path().join("prod-web.yaml"), PROD_WEB).unwrap();
    let p = profile::load(&dir.path().join("prod-web.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let ids: Vec<&str> = p.controls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "sshd-config-owned-by-root",
            "dns-resolves",
            "tls-modern",
            "api-healthy",
            "deploy-token-accepted"
        ]
    );
    let names: Vec<&str> = p.plugins.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["file", "command", "http", "tcp", "dns"]);

    // The retry defaults Reglet drops are applied, to the parent's control too.
    let sshd = p.control("sshd-config-owned-by-root").unwrap();
    assert_eq!(sshd.severity, Some(Severity::High));
    assert_eq!(sshd.tags, ["ssh", "baseline", "soc2", "prod"]);
    assert_eq!(sshd.timeout, Some(Duration::from_secs(30)));
    assert_eq!(sshd.retry.retries, 2);
    assert_eq!(sshd.retry.backoff, Backoff::Exponential);
    assert_eq!(sshd.retry.max_delay, Some(Duration::from_secs(10)));
    assert_eq!(sshd.description, "Checks /etc/ssh/sshd_config");

    let tcp = &p.control("tls-modern").unwrap().observations[0];
    assert_eq!(tcp.config.value()["host"], "www.example.com");
    assert_eq!(
        tcp.config.value()["port"],
        "443",
        "quoted scalars stay strings"
    );
    assert_eq!(tcp.config.value()["timeout_ms"], 5000);
    assert_eq!(tcp.expectations.len(), 3);

    let names: Vec<&str> = p.secret_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["deploy_token"]);
}
