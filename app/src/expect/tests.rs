use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn input(data: serde_json::Value) -> EvalInput {
    EvalInput::from_data(data.as_object().expect("an object")).unwrap()
}

fn eval(src: &str, data: serde_json::Value) -> Result<bool, EvalError> {
    Expectation::compile(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .evaluate(&input(data))
}

fn evidence() -> serde_json::Value {
    json!({
        "exists": true,
        "uid": 0,
        "mode": "0644",
        "stdout": "sshd is active\n",
        "records": ["192.0.2.10", "2001:db8::1"],
        "users": [{"name": "root", "uid": 0}, {"name": "bob", "uid": 1000}],
        "version": "OpenSSH 9.6p1",
        "tls_version": "TLS 1.3",
        "days": 30,
        "content_b64": "UGFzc3dvcmRBdXRoZW50aWNhdGlvbiBubwo=",
    })
}

#[test]
fn reglet_usage_evaluates_as_in_reglet() {
    let cases: &[(&str, bool)] = &[
        ("data.exists", true),
        ("data.uid == 0", true),
        ("data.mode in [\"0600\", \"0644\"]", true),
        ("data.mode not in [\"0600\", \"0644\"]", false),
        ("data.stdout contains \"active\"", true),
        ("data.stdout not contains \"inactive\"", true),
        ("data.stdout matches \"^sshd\"", true),
        ("data.stdout not matches \"^nginx\"", true),
        ("data.tls_version startsWith \"TLS 1.\"", true),
        ("data.tls_version not endsWith \"1.0\"", true),
        ("all(data.users, #.uid >= 0)", true),
        ("all(data.users, .uid == 0)", false),
        ("any(data.users, {.name == \"root\" && .uid == 0})", true),
        ("none(data.users, .name == \"mallory\")", true),
        ("one(data.users, .uid == 0)", true),
        ("count(data.users, .uid > 0) == 1", true),
        ("len(filter(data.users, .uid == 0)) == 1", true),
        ("map(data.users, .name) == [\"root\", \"bob\"]", true),
        ("data.records | any(isIPv6(#))", true),
        ("data.missing ?? 3 == 3", true),
        ("(data.missing ?? \"x\") == \"x\"", true),
        ("data.missing == nil", true),
        ("data.users[0].name == \"root\"", true),
        ("data.days > 14 and not (data.days > 100)", true),
        ("status && error == nil && timestamp == nil", true),
        (
            "fromBase64(data.content_b64) contains \"PasswordAuthentication no\"",
            true,
        ),
        ("data.uid == 0 ? true : false", true),
        ("sum(map(data.users, .uid)) == 1000", true),
        ("reduce(data.users, #acc + #.uid, 0) == 1000", true),
        ("findIndex(data.users, .name == \"bob\") == 1", true),
        ("find(data.users, .uid > 0).name == \"bob\"", true),
        ("findLast(data.users, .uid >= 0).name == \"bob\"", true),
        ("findLastIndex(data.users, .uid > 5000) == -1", true),
        (
            "sortBy(data.users, .uid, \"desc\")[0].name == \"bob\"",
            true,
        ),
        ("len(groupBy(data.users, .uid > 0)) == 2", true),
        ("uniq([1, 1.0, 2, \"2\"]) == [1, 2, \"2\"]", true),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src, evidence()), Ok(*want), "{src}");
    }
}

#[test]
fn helpers() {
    let cases: &[(&str, bool)] = &[
        ("isIPv4(data.records[0])", true),
        ("isIPv4(data.records[1])", false),
        ("isIPv4(\"1.2.3\")", false),
        ("isIPv4(data.missing)", false),
        ("isIPv6(data.records[1])", true),
        ("isIPv6(data.records[0])", false),
        ("cidrContains(\"192.0.2.0/24\", data.records[0])", true),
        ("cidrContains(\"10.0.0.0/8\", data.records[0])", false),
        ("cidrContains(\"2001:db8::/32\", data.records[1])", true),
        ("cidrContains(\"10.0.0.0/8\", \"not an ip\")", false),
        ("semver(\"1.10.0\") > semver(\"1.9.3\")", true),
        ("semver(\"v2.0.0-rc.1\") < semver(\"2.0.0\")", true),
        ("semver(\"1.2\") == semver(\"1.2.0+build\")", true),
        (
            "semver(trimPrefix(data.version, \"OpenSSH \") ?? \"\") >= semver(\"0.0.1\")",
            false,
        ),
    ];
    for (src, want) in &cases[..cases.len() - 1] {
        assert_eq!(eval(src, evidence()), Ok(*want), "{src}");
    }
    let err = eval(cases[cases.len() - 1].0, evidence()).unwrap_err();
    assert!(err.to_string().contains("is not a version"), "{err}");
    let err = eval("cidrContains(\"nope\", \"1.2.3.4\")", evidence()).unwrap_err();
    assert!(err.to_string().contains("not a CIDR block"), "{err}");
}

#[test]
fn compile_errors_say_what_and_where() {
    let cases = [
        ("data.x ==", "syntax error at column"),
        ("data.x === 1", "syntax error at column 10"),
        ("stdout == \"active\"", "did you mean `data.stdout`?"),
        ("isIpv4(data.x)", "did you mean `isIPv4`?"),
        ("all(data.x, # > 1) && # == 2", "inside a predicate"),
        ("0..data.count", "integer literals"),
    ];
    for (src, want) in cases {
        let err = Expectation::compile(src).unwrap_err();
        assert!(err.message().contains(want), "{src}: {err}");
        assert!(!err.message().contains('\n'), "{src}: one line: {err}");
    }
}

#[test]
fn evaluation_errors_are_not_failures() {
    let not_bool = eval("data.uid", evidence()).unwrap_err();
    assert_eq!(not_bool, EvalError::NotBoolean("a number (0)".into()));
    let runtime = eval("data.missing.field == 1", evidence()).unwrap_err();
    assert!(matches!(runtime, EvalError::Runtime(_)), "{runtime:?}");
    let too_big = EvalInput::with_limits(
        evidence().as_object(),
        true,
        None,
        None,
        Limits {
            max_input_bytes: 100,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert_eq!(too_big, EvalError::InputTooLarge { limit: 100 });
}

fn big_list(n: usize) -> serde_json::Value {
    json!({ "l": (0..n).collect::<Vec<_>>(), "s": "x".repeat(1000) })
}

#[test]
fn runaway_expressions_stop_at_a_limit() {
    // Each case gets a generous clock except the one the clock must stop, so the limit reached
    // does not depend on how busy the machine is.
    let counted = Limits {
        max_steps: 200_000,
        max_bytes: 8 * 1024 * 1024,
        max_time: Duration::from_secs(60),
        ..Limits::default()
    };
    let timed = Limits {
        max_steps: u64::MAX,
        max_time: Duration::from_millis(200),
        ..counted
    };
    let cases = [
        // Quadratic iteration: 3000 × 3000 predicate runs.
        (
            "all(data.l, none(data.l, # < 0))",
            counted,
            Exceeded::Steps(200_000),
        ),
        // Exponential growth of a reduce accumulator.
        (
            "len(reduce(data.l, #acc + #acc, \"ab\")) > 0",
            counted,
            Exceeded::Bytes(8 << 20),
        ),
        // Each element maps to a copy of a 1 KB string.
        (
            "len(map(data.l, map(data.l, data.s))) > 0",
            counted,
            Exceeded::Bytes(8 << 20),
        ),
        // `uniq` compares each element with every kept one.
        (
            "len(uniq(map(data.l, [#]))) > 0",
            counted,
            Exceeded::Steps(200_000),
        ),
        // Quadratic work no counter sees (each `in` scans the list): only the clock stops it.
        (
            "all(data.l, all(data.l, # in data.l))",
            timed,
            Exceeded::Time(Duration::from_millis(200)),
        ),
    ];
    for (src, limits, want) in cases {
        let data = big_list(3000);
        let input = EvalInput::with_limits(data.as_object(), true, None, None, limits).unwrap();
        let err = compile(src).unwrap().evaluate(&input).unwrap_err();
        assert_eq!(err, EvalError::Budget(want), "{src}");
        assert!(err.to_string().contains("too much work"), "{err}");
    }
    let repeat = eval("len(repeat(\"ab\", 10000000)) > 0", json!({})).unwrap_err();
    assert!(repeat.to_string().contains("1 MiB"), "{repeat}");
}

#[test]
fn expectations_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Expectation>();
    shareable::<EvalInput>();
}

#[test]
fn input_from_evidence_exposes_reglets_names() {
    use reglet_domain::{ErrorDetail, Evidence, Timestamp};
    let mut evidence = Evidence::failure(json!({"x": 1}).as_object().unwrap().clone());
    evidence.timestamp = Some(Timestamp::now());
    let input = EvalInput::from_evidence(&evidence, Limits::default()).unwrap();
    let check = |src: &str| compile(src).unwrap().evaluate(&input);
    assert_eq!(check("data.x == 1 && status == false"), Ok(true));
    assert_eq!(check("timestamp <= now()"), Ok(true));
    assert_eq!(check("error == nil"), Ok(true));

    let broken = Evidence::error(ErrorDetail {
        message: "connection refused".into(),
        ..ErrorDetail::default()
    });
    let input = EvalInput::from_evidence(&broken, Limits::default()).unwrap();
    let check = |src: &str| compile(src).unwrap().evaluate(&input);
    assert_eq!(
        check("error.message contains \"refused\" && data == {}"),
        Ok(true)
    );
}

proptest! {
    #[test]
    fn compiling_arbitrary_text_never_panics(src in "\\PC{0,80}") {
        let _ = compile(&src);
    }

    #[test]
    fn compiling_expression_soup_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("data.x"), Just("."), Just("#"), Just("not"), Just("contains"), Just("("),
                Just(")"), Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just("all"),
                Just("1"), Just(".."), Just("?"), Just(":"), Just("??"), Just("\""), Just("'a'"),
                Just("in"), Just("=="), Just("|"), Just("matches"), Just("let"), Just("x"),
            ],
            0..30,
        )
    ) {
        let src = parts.join(" ");
        if let Ok(e) = compile(&src) {
            let _ = e.evaluate(&input(json!({"x": [1, 2]})));
        }
    }
}
