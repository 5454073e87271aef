//! `reglet capabilities`: explain grants in Reglet's string form and how risky they are.

use std::io::{self, Write};

use reglet_domain::GrantSet;

use super::{EXIT_OK, EXIT_USAGE, write_risk_factors};

/// `reglet capabilities`: parses every capability, printing each problem, then the normalised set
/// and its risk. Any malformed capability makes the exit code 2.
pub fn capabilities(
    texts: &[String],
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let mut grants = GrantSet::new();
    let mut bad = 0;
    for text in texts {
        match GrantSet::parse(text) {
            Ok(grant) => grants = grants.merge(&grant),
            Err(e) => {
                bad += 1;
                writeln!(err, "error: {e}")?;
            }
        }
    }
    if bad > 0 {
        return Ok(EXIT_USAGE);
    }
    let risk = grants.risk();
    if json {
        let doc = serde_json::json!({ "grants": grants, "risk": risk });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values serialise")
        )?;
    } else {
        writeln!(out, "risk: {}", risk.level)?;
        write_risk_factors(out, "  ", &risk)?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(texts: &[&str], json: bool) -> (u8, String, String) {
        let texts: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = capabilities(&texts, json, &mut out, &mut err).unwrap();
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn explains_risk_highest_first() {
        let (code, out, _) = run(&["fs:read:/etc/hosts", "exec:/bin/sh"], false);
        assert_eq!(code, EXIT_OK);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "risk: critical");
        assert!(lines[1].contains("exec:/bin/sh"), "{out}");
        assert!(lines[2].contains("fs:read:/etc/hosts"), "{out}");
    }

    #[test]
    fn reports_every_bad_capability() {
        let (code, out, err) = run(
            &["network:outbound:9000-80", "fs:read:etc", "env:HOME"],
            false,
        );
        assert_eq!(code, EXIT_USAGE);
        assert!(out.is_empty());
        assert!(err.contains("invalid port range \"9000-80\""), "{err}");
        assert!(err.contains("\"etc\""), "{err}");
    }

    #[test]
    fn json_output_is_the_gen2_shape() {
        let (code, out, _) = run(&["network:outbound:80,443"], true);
        assert_eq!(code, EXIT_OK);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            doc["grants"]["network"]["rules"][0]["ports"],
            serde_json::json!(["80", "443"])
        );
        assert_eq!(doc["risk"]["level"], "medium");
    }
}
