//! Every built-in rule against positive and negative samples. Samples are generated here from the
//! published formats, so no token-shaped string is committed.

use super::*;
use crate::{Redaction, RedactionConfig};
use reglet_ports::Redactor;

/// A small deterministic generator so samples differ per rule but never per run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn take(&mut self, alphabet: &str, n: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..n)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }
}

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn positives(g: &mut Gen) -> Vec<(&'static str, String, String)> {
    // (rule, text, the secret part that must disappear)
    let mut out = Vec::new();
    let mut add = |rule, text: String, secret: String| out.push((rule, text, secret));
    let s = format!("AKIA{}", g.take("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    add("aws-access-key-id", format!("key id {s} in use"), s);
    let s = g.take(B64, 40);
    add(
        "aws-secret-access-key",
        format!("aws_secret_access_key = {s}"),
        s,
    );
    let s = format!("ghp_{}", g.take(ALNUM, 36));
    add("github-token", format!("token: {s}"), s);
    let s = format!("github_pat_{}_{}", g.take(ALNUM, 22), g.take(ALNUM, 59));
    add("github-fine-grained-pat", format!("using {s}"), s);
    let s = format!("glpat-{}", g.take(URLSAFE, 20));
    add("gitlab-token", format!("GITLAB={s}"), s);
    let s = format!(
        "xoxb-{}-{}-{}",
        g.take("0123456789", 12),
        g.take("0123456789", 12),
        g.take(ALNUM, 24)
    );
    add("slack-token", format!("slack {s}"), s);
    let s = format!(
        "xapp-1-A{}-{}-{}",
        g.take(UPPER, 10),
        g.take("0123456789", 13),
        g.take(HEX, 64)
    );
    add("slack-app-token", format!("app {s}"), s);
    let s = format!(
        "hooks.slack.com/services/T{}/B{}/{}",
        g.take(UPPER, 8),
        g.take(UPPER, 8),
        g.take(ALNUM, 24)
    );
    add("slack-webhook", format!("post to https://{s}"), s);
    let s = format!("sk_live_{}", g.take(ALNUM, 24));
    add("stripe-key", format!("stripe {s}"), s);
    let s = format!("AIza{}", g.take(URLSAFE, 35));
    add("google-api-key", format!("key={s}&q=1"), s);
    let s = format!("GOCSPX-{}", g.take(URLSAFE, 28));
    add("google-oauth-client-secret", format!("client {s}"), s);
    let s = format!("npm_{}", g.take(ALNUM, 36));
    add("npm-token", format!("//registry/:_authToken={s}"), s);
    let s = format!("pypi-AgEIcHlwaS5vcmc{}", g.take(URLSAFE, 60));
    add("pypi-token", format!("password = {s}"), s);
    let s = format!("SG.{}.{}", g.take(URLSAFE, 22), g.take(URLSAFE, 43));
    add("sendgrid-key", format!("sendgrid {s}"), s);
    let s = format!("SK{}", g.take(HEX, 32));
    add("twilio-key", format!("twilio {s}"), s);
    let s = format!(
        "sk-proj-{}T3BlbkFJ{}",
        g.take(URLSAFE, 40),
        g.take(URLSAFE, 40)
    );
    add("openai-key", format!("OPENAI {s}"), s);
    let s = format!("sk-ant-api03-{}", g.take(URLSAFE, 90));
    add("anthropic-key", format!("anthropic {s}"), s);
    let s = format!("hvs.{}", g.take(URLSAFE, 30));
    add("hashicorp-vault-token", format!("vault {s}"), s);
    let s = format!("dckr_pat_{}", g.take(URLSAFE, 27));
    add("docker-pat", format!("docker {s}"), s);
    let s = format!("dop_v1_{}", g.take(HEX, 64));
    add("digitalocean-token", format!("do {s}"), s);
    let s = format!("shpat_{}", g.take(HEX, 32));
    add("shopify-token", format!("shop {s}"), s);
    let s = format!("dapi{}", g.take(HEX, 32));
    add("databricks-token", format!("databricks {s}"), s);
    let s = format!("glsa_{}_{}", g.take(ALNUM, 32), g.take(HEX, 8));
    add("grafana-token", format!("grafana {s}"), s);
    let s = format!("PMAK-{}-{}", g.take(HEX, 24), g.take(HEX, 34));
    add("postman-key", format!("postman {s}"), s);
    let s = format!(
        "AGE-SECRET-KEY-1{}",
        g.take("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    );
    add("age-secret-key", format!("{s}\n"), s);
    let s = format!("{}==", g.take(B64, 86));
    add(
        "azure-storage-key",
        format!("DefaultEndpointsProtocol=https;AccountName=x;AccountKey={s};EndpointSuffix=core"),
        s,
    );
    let s = format!(
        "eyJ{}.eyJ{}.{}",
        g.take(URLSAFE, 20),
        g.take(URLSAFE, 40),
        g.take(URLSAFE, 43)
    );
    add("jwt", format!("bearer {s}"), s);
    let body = (0..6)
        .map(|_| g.take(B64, 64))
        .collect::<Vec<_>>()
        .join("\n");
    let s = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----");
    add("private-key", format!("key:\n{s}\ndone"), body.clone());
    let s = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}");
    add("private-key", format!("truncated {s}"), body);
    let s = g.take(ALNUM, 14);
    add(
        "url-credentials",
        format!("fetching https://alice:{s}@example.com/x"),
        s,
    );
    let s = g.take(URLSAFE, 30);
    add(
        "authorization-header",
        format!("Authorization: Bearer {s}"),
        s,
    );
    let s = g.take(ALNUM, 20);
    add(
        "cookie-header",
        format!("Set-Cookie: session={s}; Path=/"),
        s,
    );
    let s = g.take(ALNUM, 10);
    add("password-assignment", format!("db_password={s} host=db"), s);
    let s = g.take(ALNUM, 32);
    add("generic-api-key", format!("x_api_key: \"{s}\""), s);
    out
}

fn negatives() -> Vec<(&'static str, String)> {
    vec![
        ("aws-access-key-id", "AKIA1234 is too short".into()),
        ("github-token", "ghp_short".into()),
        ("gitlab-token", "glpat-abc".into()),
        ("slack-token", "xoxb-12".into()),
        ("slack-webhook", "see https://hooks.slack.com/help".into()),
        ("stripe-key", "sk_live_x".into()),
        ("google-api-key", "AIzaShort".into()),
        ("twilio-key", format!("SK{}", "0".repeat(32))),
        ("jwt", "eyJhbGciOi".into()),
        (
            "private-key",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----".into(),
        ),
        ("url-credentials", "https://example.com/a:b@c".into()),
        ("authorization-header", "authorization required".into()),
        ("password-assignment", "password: true".into()),
        ("password-assignment", "password=${DB_PASSWORD}".into()),
        ("generic-api-key", format!("api_key={}", "a".repeat(24))),
        (
            "plain log",
            "2026-11-27T12:00:00Z INFO request served in 12ms path=/health status=200".into(),
        ),
    ]
}

fn redaction() -> Redaction {
    Redaction::new(RedactionConfig::default()).unwrap()
}

#[test]
fn every_builtin_rule_has_a_positive_sample() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let samples = positives(&mut g);
    let set = RuleSet::new(true, &[]).unwrap();
    for id in set.ids() {
        assert!(
            samples.iter().any(|(rule, _, _)| *rule == id),
            "rule {id} has no sample"
        );
    }
}

#[test]
fn positive_samples_are_redacted() {
    let r = redaction();
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    for (rule, text, secret) in positives(&mut g) {
        let out = r
            .redact_text(&text)
            .unwrap_or_else(|| panic!("{rule}: nothing redacted in {text:?}"));
        assert!(!out.contains(&secret), "{rule}: secret survived in {out:?}");
        assert!(out.contains("[REDACTED]"), "{rule}: {out:?}");
    }
}

#[test]
fn url_credentials_keep_the_user_and_host() {
    let out = redaction()
        .redact_text("https://alice:s3cretpw@example.com/x")
        .unwrap();
    assert_eq!(out, "https://alice:[REDACTED]@example.com/x");
}

#[test]
fn negative_samples_are_left_alone() {
    let r = redaction();
    for (rule, text) in negatives() {
        assert_eq!(r.redact_text(&text), None, "{rule}: {text:?} was changed");
    }
}

#[test]
fn custom_rules_and_switching_builtins_off() {
    let custom = CustomRule {
        id: "acme".into(),
        regex: r"ACME-([A-Z0-9]{8})".into(),
        keywords: vec!["acme-".into()],
    };
    let r = Redaction::new(RedactionConfig {
        builtin_rules: false,
        custom_rules: vec![custom],
        ..RedactionConfig::default()
    })
    .unwrap();
    assert_eq!(
        r.redact_text("id ACME-AB12CD34 ok").unwrap(),
        "id ACME-[REDACTED] ok"
    );
    let ghp = format!("ghp_{}", "aB3".repeat(12));
    assert_eq!(r.redact_text(&ghp), None, "built-ins are off");

    let bad = Redaction::new(RedactionConfig {
        custom_rules: vec![CustomRule {
            id: "broken".into(),
            regex: "(".into(),
            keywords: vec![],
        }],
        ..RedactionConfig::default()
    })
    .unwrap_err();
    assert!(bad.to_string().contains("\"broken\""), "{bad}");
}

mod prefilter {
    use super::super::Prefilter;
    use proptest::prelude::*;

    fn keywords() -> Vec<String> {
        // More than one packed chunk, overlapping keywords, and very short ones.
        let mut k: Vec<String> = (0..70).map(|i| format!("kw{i:02}x")).collect();
        k.extend(["sk", "key", "apikey", "auth", "authorization", "://", "eyj"].map(String::from));
        k
    }

    proptest! {
        #[test]
        fn packed_and_dfa_agree(text in "[a-zA-Z0-9:/ _]{0,700}", insert in prop::collection::vec((0usize..300, 0usize..77), 0..6)) {
            let keywords = keywords();
            let mut text = text.into_bytes();
            for (at, k) in insert {
                let at = at.min(text.len());
                let word = keywords[k].to_ascii_uppercase();
                text.splice(at..at, word.bytes());
            }
            let packed = Prefilter::new(&keywords).unwrap();
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("ssse3") {
                prop_assert!(matches!(packed, Prefilter::Packed(..)), "SIMD is available, so the packed form is used");
            }
            let dfa = Prefilter::dfa(&keywords);
            prop_assert_eq!(packed.hits(&text), dfa.hits(&text));
        }
    }
}

#[test]
fn every_builtin_regex_compiles() {
    // They are compiled lazily, on the first text their keywords appear in; a typo must fail here.
    for rule in BUILTIN {
        assert!(compile(rule.id, rule.regex).is_ok(), "{}", rule.id);
    }
}
