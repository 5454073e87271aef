//! Properties of redaction: nothing registered gets through, in any position, encoding or chunking.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn with_secrets(secrets: &[&str]) -> Redaction {
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    r.register_secrets(secrets).unwrap();
    r
}

/// The text with every replacement token taken out.
fn without_tokens(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = 0;
    for token in replacement::token_ranges(text) {
        out.extend_from_slice(&text[last..token.start]);
        out.push(0);
        last = token.end;
    }
    out.extend_from_slice(&text[last..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn redact(r: &Redaction, text: &[u8]) -> Vec<u8> {
    r.redact_bytes(text).unwrap_or_else(|| text.to_vec())
}

fn stream_all(r: &Redaction, chunks: &[&[u8]]) -> Vec<u8> {
    let mut stream = r.stream();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(stream.push(chunk));
    }
    out.extend(stream.finish());
    out
}

#[test]
fn known_secrets_and_their_forms() {
    let r = with_secrets(&["hunter2-correct-horse"]);
    let b64 = base64::engine::general_purpose::STANDARD.encode("user:hunter2-correct-horse");
    for text in [
        "pw hunter2-correct-horse end".to_owned(),
        format!("Authorization: Basic {b64}"),
        "url=https%3A%2F%2Fx%3Fp%3Dhunter2-correct-horse".to_owned(),
        hex::encode("hunter2-correct-horse"),
    ] {
        let out = r
            .redact_text(&text)
            .unwrap_or_else(|| panic!("not redacted: {text}"));
        assert!(out.contains("[REDACTED]"), "{text} -> {out}");
        assert!(!out.contains("hunter2"), "{text} -> {out}");
    }
}

#[test]
fn short_secrets_are_refused_with_a_clear_error() {
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    let err = r.register_secret("abc").unwrap_err().to_string();
    assert!(err.contains("at least 4 bytes"), "{err}");
    assert_eq!(r.secret_count(), 0);
}

#[test]
fn secrets_registered_later_are_honoured() {
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    assert_eq!(r.redact_text("late-secret-value"), None);
    r.register_secret("late-secret-value").unwrap();
    assert_eq!(
        r.redact_text("x late-secret-value y").unwrap(),
        "x [REDACTED] y"
    );
}

#[test]
fn a_secret_is_found_whatever_its_ascii_case() {
    // Host names are lower-cased before they are checked and reported.
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    r.register_secret("Db-S3cret-Host").unwrap();
    for text in [
        "network:outbound:db-s3cret-host:5432",
        "DB-S3CRET-HOST",
        "x Db-S3cret-Host y",
    ] {
        let out = r.redact_text(text).expect(text);
        assert!(
            !out.to_ascii_lowercase().contains("s3cret"),
            "{text} -> {out}"
        );
    }
}

#[test]
fn base64_of_text_is_redacted_through_its_text() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    let text = "line one\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";
    let binary = STANDARD.encode([0u8, 159, 146, 150, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let mut doc = json!({
        "content": text,
        "content_b64": STANDARD.encode(text),
        "binary": binary,
        "sha256": digest,
    });
    r.redact_json(&mut doc).unwrap();
    let decoded = STANDARD
        .decode(doc["content_b64"].as_str().unwrap())
        .expect("still base64");
    let decoded = String::from_utf8(decoded).unwrap();
    assert!(!decoded.contains("MIIEowIBAAKCAQEA"), "{decoded}");
    assert_eq!(
        decoded,
        doc["content"].as_str().unwrap(),
        "the same redaction as the text"
    );
    assert_eq!(doc["binary"], binary, "not text: left alone");
    assert_eq!(doc["sha256"], digest);
}

#[test]
fn structured_data_by_key_and_path() {
    let r = Redaction::new(RedactionConfig {
        paths: vec!["login.bearer".into()],
        ..RedactionConfig::default()
    })
    .unwrap();
    let mut doc = json!({
        "status_code": 200,
        "headers": {"Content-Type": ["text/html"], "Set-Cookie": ["a=b; Path=/"], "Authorization": ["Bearer x"]},
        "db": {"password": "pw", "port": 5432, "pin": 1234},
        "login": {"bearer": "opaque", "user": "alice"},
        "auth": {"user": "bob", "kind": "basic"},
        "is_secret": true,
        "url": "https://alice:pw123@example.com/",
        "empty_password": ""
    });
    let count = r.redact_json(&mut doc).unwrap();
    assert_eq!(doc["headers"]["Content-Type"], json!(["text/html"]));
    assert_eq!(doc["headers"]["Set-Cookie"], json!(["[REDACTED]"]));
    assert_eq!(doc["headers"]["Authorization"], json!(["[REDACTED]"]));
    assert_eq!(doc["db"]["password"], "[REDACTED]");
    assert_eq!(doc["db"]["pin"], "[REDACTED]");
    assert_eq!(doc["db"]["port"], 5432);
    assert_eq!(doc["login"]["bearer"], "[REDACTED]");
    assert_eq!(doc["login"]["user"], "alice");
    assert_eq!(
        doc["auth"],
        json!({"user": "[REDACTED]", "kind": "[REDACTED]"})
    );
    assert_eq!(doc["is_secret"], true);
    assert_eq!(doc["url"], "https://alice:[REDACTED]@example.com/");
    assert_eq!(doc["empty_password"], "");
    assert_eq!(count, 8);
}

#[test]
fn secrets_in_keys_are_redacted_without_losing_entries() {
    let r = with_secrets(&["tok-12345678"]);
    let mut doc = json!({"tok-12345678": 1, "x tok-12345678": 2, "[REDACTED]": 3});
    r.redact_json(&mut doc).unwrap();
    let map = doc.as_object().unwrap();
    assert_eq!(map.len(), 3);
    assert!(map.keys().all(|k| !k.contains("tok-12345678")), "{doc}");
}

#[test]
fn too_deep_documents_fail_closed() {
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    let mut doc = json!("leaf");
    for _ in 0..(MAX_DEPTH + 5) {
        doc = json!([doc]);
    }
    assert!(r.redact_json(&mut doc).is_err());
}

#[test]
fn hmac_mode_correlates_without_revealing() {
    let key = |b: u8| Replacement::Hmac(HmacKey::new(vec![b; 32]).unwrap());
    let a = Redaction::new(RedactionConfig {
        replacement: key(1),
        ..RedactionConfig::default()
    })
    .unwrap();
    let b = Redaction::new(RedactionConfig {
        replacement: key(2),
        ..RedactionConfig::default()
    })
    .unwrap();
    for r in [&a, &b] {
        r.register_secret("s3cr3t-value").unwrap();
    }
    let one = a.redact_text("x s3cr3t-value y").unwrap();
    assert_eq!(one, a.redact_text("x s3cr3t-value y").unwrap());
    assert_ne!(one, b.redact_text("x s3cr3t-value y").unwrap());
    assert!(
        one.starts_with("x [hmac:") && !one.contains("s3cr3t"),
        "{one}"
    );
    assert_eq!(
        a.redact_text(&one),
        None,
        "hmac tokens are not redacted again"
    );
}

#[test]
fn stream_catches_a_secret_split_across_writes() {
    let r = with_secrets(&["split-me-secret"]);
    let out = stream_all(&r, &[b"log: split-", b"me-sec", b"ret done\nnext line\n"]);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text, "log: [REDACTED] done\nnext line\n");
}

#[test]
fn stream_holds_a_private_key_until_its_end() {
    let r = Redaction::new(RedactionConfig::default()).unwrap();
    let mut stream = r.stream();
    let mut out = stream.push(b"before\n-----BEGIN EC PRIVATE KEY-----\n");
    out.extend(stream.push(b"MHcCAQEEIBody0123456789abcdef\n"));
    out.extend(stream.push(b"-----END EC PRIVATE KEY-----\nafter\n"));
    out.extend(stream.finish());
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("MHcCAQ"), "{text}");
    assert!(
        text.starts_with("before\n") && text.ends_with("after\n"),
        "{text}"
    );
}

#[test]
fn stream_releases_complete_lines_early() {
    let r = with_secrets(&["abcdefgh"]);
    let mut stream = r.stream();
    // A line is released once enough bytes follow it to hold the longest occurrence of any
    // secret: 47 bytes for an 8-byte secret, which takes 48 with every byte `\u`-escaped.
    assert_eq!(stream.push(b"first line\nsecond"), b"");
    assert_eq!(stream.push(b" line, long enough now"), b"");
    assert_eq!(stream.push(b" that it holds 47 bytes"), b"first line\n");
    assert_eq!(
        stream.finish(),
        b"second line, long enough now that it holds 47 bytes"
    );
}

#[test]
fn secrets_in_numbers_and_other_scalars() {
    let r = with_secrets(&["987654321", "31415.9265"]);
    let mut doc = json!({
        "account": 987654321,
        "wider": 19876543210u64,
        "ratio": 31415.9265,
        "list": [987654321, 1.5, true, null],
        "port": 5432
    });
    let count = r.redact_json(&mut doc).unwrap();
    assert_eq!(
        doc,
        json!({
            "account": "[REDACTED]",
            "wider": "1[REDACTED]0",
            "ratio": "[REDACTED]",
            "list": ["[REDACTED]", 1.5, true, null],
            "port": 5432
        })
    );
    assert_eq!(count, 4);
    let r = with_secrets(&["true", "null"]);
    let mut doc = json!({"a": true, "b": false, "c": null});
    r.redact_json(&mut doc).unwrap();
    assert_eq!(
        doc,
        json!({"a": "[REDACTED]", "b": false, "c": "[REDACTED]"})
    );
}

#[test]
fn escaped_and_percent_encoded_secrets() {
    let r = with_secrets(&["p&ss<w>rd/é 9\""]);
    for (name, text) in [
        ("Go's JSON", r#"{"pw":"p\u0026ss\u003cw\u003erd/é 9\""}"#),
        (
            "upper-case \\u",
            r#"pw=p\u0026ss\u003Cw\u003Erd/\u00E9 9\u0022!"#,
        ),
        (
            "every character \\u-escaped",
            r#"\u0070\u0026\u0073\u0073\u003c\u0077\u003e\u0072\u0064\u002f\u00e9\u0020\u0039\u0022"#,
        ),
        ("PHP's escaped slash", r#"pw=p&ss<w>rd\/é 9\" end"#),
        (
            "lower-case percent",
            "?pw=p%26ss%3cw%3erd%2f%c3%a9%209%22&x=1",
        ),
        (
            "mixed-case percent",
            "?pw=p%26ss%3Cw%3erd%2F%C3%a9%209%22&x=1",
        ),
        ("form encoding", "pw=p%26ss%3Cw%3Erd%2F%C3%A9+9%22&x=1"),
        ("JavaScript's encodeURI", "pw=p&ss%3Cw%3Erd/%C3%A9%209%22"),
        (
            "every byte percent-encoded",
            "%70%26%73%73%3c%77%3e%72%64%2f%c3%a9%20%39%22",
        ),
    ] {
        let out = r
            .redact_text(text)
            .unwrap_or_else(|| panic!("{name}: not redacted: {text}"));
        let rest = without_tokens(out.as_bytes());
        for fragment in ["ss", "rd", "%26", "\\u0026", "%3", "\\u003"] {
            assert!(
                !contains(&rest, fragment.as_bytes()),
                "{name}: {fragment:?} of the secret survived: {text} -> {out}"
            );
        }
    }
    // An escaped backslash is not an escape: `\\u0026` is a backslash and the text "u0026".
    let r = with_secrets(&["a&b-secret"]);
    assert_eq!(r.redact_text(r"a\\u0026b-secret"), None);
}

#[test]
fn a_token_straddling_a_forced_release_is_redacted() {
    let filler = "x".repeat(stream::MAX_HELD + 100);
    for &(token, body) in STRADDLING {
        let name = token;
        let r = redactor_for(token);
        let body_at = token.len() - body.len();
        for split in (1..token.len()).step_by(3) {
            let first = format!("{filler} {}", &token[..split]);
            let second = format!("{} and more\nnext line\n", &token[split..]);
            let out = stream_all(&r, &[first.as_bytes(), second.as_bytes()]);
            assert!(
                !contains(&without_tokens(&out), body.as_bytes()),
                "{name} split at {split} leaked"
            );
            let (head, tail) = body.split_at(split.saturating_sub(body_at));
            for half in [head, tail] {
                assert!(
                    half.len() < 4 || !contains(&out, half.as_bytes()),
                    "{name} split at {split}: the part {half:?} leaked"
                );
            }
            let whole = format!("{first}{second}");
            assert!(
                out == redact(&r, whole.as_bytes()),
                "{name} split at {split}: streaming and one-shot differ"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#%&()*+,./:;<=>?@^_{|}~-]{4,24}"
        .prop_filter("not part of the marker", |s| !REDACTED.contains(s.as_str()))
}

fn filler() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~\n]{0,40}", "[a-z ]{0,40}", Just(String::new()),]
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn registered_secrets_never_survive(s in secret(), a in filler(), b in filler(), c in filler(), k in 0usize..24) {
        let r = with_secrets(&[&s]);
        let partial = &s[..k.min(s.len())];
        let text = format!("{a}{s}{b}{s}{partial}{s}{s}{c}");
        let out = redact(&r, text.as_bytes());
        prop_assert!(!contains(&without_tokens(&out), s.as_bytes()), "{:?} -> {:?}", text, String::from_utf8_lossy(&out));
    }

    #[test]
    fn overlapping_secrets_never_survive(s in "[a-z0-9]{6,12}", t in "[a-z0-9]{6,12}", a in filler()) {
        let r = with_secrets(&[&s, &t]);
        let text = format!("{a}{s}{t}{}{s}", &t[..3]);
        let out = redact(&r, text.as_bytes());
        let out = without_tokens(&out);
        prop_assert!(!contains(&out, s.as_bytes()) && !contains(&out, t.as_bytes()));
    }

    #[test]
    fn stream_chunking_never_lets_a_secret_through(s in secret(), a in filler(), b in filler(), cuts in prop::collection::vec(0usize..200, 0..8)) {
        let r = with_secrets(&[&s]);
        let text = format!("{a}{s}\n{b}{s}{a}").into_bytes();
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
        points.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&text[last..p]);
            last = p;
        }
        chunks.push(&text[last..]);
        let out = stream_all(&r, &chunks);
        prop_assert!(!contains(&without_tokens(&out), s.as_bytes()), "{:?}", String::from_utf8_lossy(&out));
        prop_assert_eq!(out, redact(&r, &text), "streaming and one-shot agree when lines are short");
    }

    #[test]
    fn secrets_inside_json_strings_never_survive(s in secret(), key in "[a-z]{1,8}", a in filler()) {
        let r = with_secrets(&[&s]);
        let doc = json!({ key.clone(): format!("{a}{s}"), "list": [s.clone(), {"deep": s.clone()}] });
        let text = serde_json::to_string(&doc).unwrap();
        let escaped = serde_json::to_string(&s).unwrap();
        let out = redact(&r, text.as_bytes());
        prop_assert!(!contains(&without_tokens(&out), &escaped.as_bytes()[1..escaped.len() - 1]));
        let mut value = doc.clone();
        r.redact_json(&mut value).unwrap();
        let out = serde_json::to_string(&value).unwrap();
        prop_assert!(!contains(&without_tokens(out.as_bytes()), s.as_bytes()), "{}", out);
    }

    #[test]
    fn encoded_forms_never_survive(s in "[ -~]{8,24}", a in "[ -~]{0,10}", b in "[ -~]{0,10}") {
        prop_assume!(!REDACTED.contains(s.as_str()));
        let r = with_secrets(&[&s]);
        let plain = format!("{a}{s}{b}");
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(&plain),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&plain),
            hex::encode(&plain),
        ] {
            let out = without_tokens(&redact(&r, encoded.as_bytes()));
            for form in known::encoded_forms(s.as_bytes()).iter().filter(|f| f.len() >= 8) {
                prop_assert!(!contains(&out, form), "{:?} survived in {:?}", String::from_utf8_lossy(form), String::from_utf8_lossy(&out));
            }
        }
    }

    #[test]
    fn redaction_is_idempotent(s in secret(), a in "[ -~\n]{0,80}", b in "[ -~\n]{0,80}") {
        let r = with_secrets(&[&s]);
        let text = format!("{a} password={s} {b} token: ghp_{}{s}", "x1Y2".repeat(9));
        let once = redact(&r, text.as_bytes());
        prop_assert_eq!(redact(&r, &once), once.clone(), "{:?}", String::from_utf8_lossy(&once));
    }

    #[test]
    fn every_encoding_of_a_secret_is_covered(s in any_secret(), a in plain_filler(), b in plain_filler(), seed in any::<u64>()) {
        let r = with_secrets(&[&s]);
        let known = r.known();
        for (name, form) in encodings(&s, seed) {
            let mut text = a.clone().into_bytes();
            text.extend_from_slice(&form);
            text.extend_from_slice(b.as_bytes());
            let at = a.len()..a.len() + form.len();
            let spans = merge(r.spans(&text, Some(&known)));
            prop_assert!(
                spans.iter().any(|s| s.start <= at.start && at.end <= s.end),
                "{}: {:?} is not covered in {:?}: {:?}", name, String::from_utf8_lossy(&form), String::from_utf8_lossy(&text), spans
            );
            let out = redact(&r, &text);
            prop_assert!(!contains(&without_tokens(&out), &form), "{}: {:?}", name, String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn clean_text_is_unchanged(text in "[a-h0-9 .,\n]{0,200}") {
        let r = with_secrets(&["ZZZZ-secret-ZZZZ"]);
        prop_assert_eq!(r.redact_bytes(text.as_bytes()), None);
        prop_assert_eq!(stream_all(&r, &[text.as_bytes()]), text.as_bytes().to_vec());
    }

    #[test]
    fn json_keeps_its_shape(value in json_value(), s in secret()) {
        let r = with_secrets(&[&s]);
        let mut redacted = value.clone();
        r.redact_json(&mut redacted).unwrap();
        prop_assert!(same_shape(&value, &redacted), "{} -> {}", value, redacted);
        let text = serde_json::to_string(&redacted).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), redacted);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let r = with_secrets(&["never-panic"]);
        let _ = r.redact_bytes(&bytes);
        let cut = cut.min(bytes.len());
        let _ = stream_all(&r, &[&bytes[..cut], &bytes[cut..]]);
    }
}

/// No registered secret for the rule-matched tokens, so that nothing but the rules decides how much
/// a stream holds back.
fn redactor_for(token: &str) -> Redaction {
    match token {
        "registered-secret-value" => with_secrets(&[token]),
        _ => with_secrets(&[]),
    }
}

/// The tokens of the streaming tests, with the part of each that must never be seen.
const STRADDLING: &[(&str, &str)] = &[
    (
        "ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
        "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
    ),
    ("AKIAQWERTYUIOPASDFGH", "QWERTYUIOPASDFGH"),
    ("password=Tr0ub4dor-and-3", "Tr0ub4dor-and-3"),
    (
        "Authorization: Bearer c2VjcmV0LWJlYXJlci10b2tlbg",
        "c2VjcmV0LWJlYXJlci10b2tlbg",
    ),
    ("registered-secret-value", "registered-secret-value"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn long_lines_split_anywhere_never_leak(
        which in 0..STRADDLING.len(),
        pad in 0usize..3000,
        near in prop::collection::vec(-60isize..60, 0..4),
        anywhere in prop::collection::vec(0usize..(1 << 18), 0..3),
    ) {
        let (token, body) = STRADDLING[which];
        let r = redactor_for(token);
        let head = format!("{} ", "x".repeat(stream::MAX_HELD + pad));
        let text = format!("{head}{token} {}\nafter\n", "y".repeat(pad)).into_bytes();
        let mut points: Vec<usize> = near
            .iter()
            .map(|d| (head.len() as isize + d).clamp(0, text.len() as isize) as usize)
            .chain(anywhere.iter().map(|p| p % (text.len() + 1)))
            .collect();
        points.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&text[last..p]);
            last = p;
        }
        chunks.push(&text[last..]);
        let out = stream_all(&r, &chunks);
        prop_assert!(!contains(&without_tokens(&out), body.as_bytes()), "{} leaked", token);
        prop_assert!(out == redact(&r, &text), "streaming and one-shot differ for {}", token);
    }
}

/// A secret of any characters, at least the 4 bytes the redactor accepts.
fn any_secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{4,20}",
        "[&<>%+ /\"\\\\a-f]{4,12}",
        prop::collection::vec(any::<char>(), 1..10).prop_map(String::from_iter),
    ]
    .prop_filter("long enough, not part of the marker", |s| {
        s.len() >= 4 && !REDACTED.contains(s.as_str())
    })
}

/// Text around an encoded secret. Without `%` and `\`, which would change what the encoding's
/// first escape means (`%` + `%41` is not an escape followed by text).
fn plain_filler() -> impl Strategy<Value = String> {
    "[ -$&-\\[\\]-~é]{0,12}"
}

/// Free choices of an encoder, from a seed.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 1
    }

    /// `hex` with each letter in either case.
    fn case(&mut self, hex: &str) -> String {
        hex.chars()
            .map(|c| {
                if self.next() {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }
}

/// Every way of writing `secret` that redaction promises to recognise: raw; JSON as serde, Go
/// (`\u0026` for `&`, ...) and PHP (`\/`) write it; JSON with any character `\u`-escaped in either
/// hex case (surrogate pairs beyond the BMP); percent-encoding in either case with any choice of
/// escaped bytes; form encoding (`+` for space); hex. `seed` makes the free choices.
fn encodings(secret: &str, seed: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut choose = Choices(seed | 1);
    let serde = serde_json::to_string(secret).unwrap();
    let serde = &serde[1..serde.len() - 1];
    let go = serde
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let php = serde.replace('/', "\\/");
    let mut any_json = String::new();
    for c in secret.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '/' => Some("\\/"),
            _ => None,
        };
        let must = c == '"' || c == '\\' || (c as u32) < 0x20;
        if !must && choose.next() {
            any_json.push(c);
        } else if let Some(short) = short.filter(|_| choose.next()) {
            any_json.push_str(short);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                any_json.push_str("\\u");
                any_json.push_str(&choose.case(&format!("{unit:04x}")));
            }
        }
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let mut upper = String::new();
    let mut lower = String::new();
    let mut any_percent = String::new();
    let mut form = String::new();
    for &b in secret.as_bytes() {
        let raw = char::from(b);
        if unreserved(b) {
            upper.push(raw);
            lower.push(raw);
        } else {
            upper.push_str(&format!("%{b:02X}"));
            lower.push_str(&format!("%{b:02x}"));
        }
        let escaped = format!("%{}", choose.case(&format!("{b:02x}")));
        match b {
            b'%' => any_percent.push_str(&escaped),
            _ if b.is_ascii() && choose.next() => any_percent.push(raw),
            _ => any_percent.push_str(&escaped),
        }
        match b {
            b' ' => form.push('+'),
            b'%' | b'+' => form.push_str(&escaped),
            _ if b.is_ascii() && choose.next() => form.push(raw),
            _ => form.push_str(&escaped),
        }
    }
    let mut forms: Vec<(&'static str, Vec<u8>)> = vec![
        ("raw", secret.into()),
        ("JSON (serde)", serde.into()),
        ("JSON (Go)", go.into()),
        ("JSON (PHP)", php.into()),
        ("JSON, any character \\u-escaped", any_json.into()),
        ("percent, upper case", upper.into()),
        ("percent, lower case", lower.into()),
        ("percent, any bytes, any case", any_percent.into()),
        ("form encoding", form.into()),
    ];
    forms.push(("hex", hex::encode(secret).into()));
    forms.push(("HEX", hex::encode_upper(secret).into()));
    forms
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[ -~]{0,20}".prop_map(Value::String),
        Just(json!("ghp_0123456789abcdefghijABCDEFGHIJ012345")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("password".to_owned()),
                        Just("token".to_owned()),
                        "[a-z_]{1,8}".prop_map(|s| s)
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Same structure: same keys count per object, same array lengths, leaves stay leaves.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_shape(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.values().zip(y.values()).all(|(p, q)| same_shape(p, q))
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => true,
    }
}
