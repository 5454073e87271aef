//! The subcommands' logic, writing to any output so tests can read it.

use std::io::{self, Write};
use std::path::Path;

use reglet_domain::GrantSet;

use crate::profile;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: bad input (usage, configuration, profile).
pub const EXIT_USAGE: u8 = 2;

/// `reglet version`.
pub fn version(out: &mut dyn Write) -> io::Result<u8> {
    writeln!(out, "reglet {}", env!("CARGO_PKG_VERSION"))?;
    Ok(EXIT_OK)
}

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
        for factor in &risk.factors {
            writeln!(
                out,
                "  {:<8} {}  ({})",
                factor.level, factor.grant, factor.reason
            )?;
        }
    }
    Ok(EXIT_OK)
}

/// `reglet validate`: loads the profile as `check` would, without running anything. Prints the
/// warnings and errors on `err`, a summary on `out`; exit code 2 if the profile has errors.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub fn validate(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    match profile::load(path) {
        Ok(p) => {
            for w in &p.warnings {
                writeln!(err, "warning: {w}")?;
            }
            let observations = p.observations().count();
            let expectations: usize = p.observations().map(|(_, o)| o.expectations.len()).sum();
            writeln!(
                out,
                "{}: profile {} {} is valid: {} controls, {observations} observations, \
                 {expectations} expectations",
                path.display(),
                p.metadata.name,
                p.metadata.version,
                p.controls.len(),
            )?;
            let secrets: Vec<&str> = p.secret_names().into_iter().map(|(n, _)| n).collect();
            if !secrets.is_empty() {
                writeln!(
                    out,
                    "secrets used (resolved at run time): {}",
                    secrets.join(", ")
                )?;
            }
            Ok(EXIT_OK)
        }
        Err(diagnostics) => {
            for e in diagnostics.errors() {
                writeln!(err, "error: {e}")?;
            }
            writeln!(
                err,
                "{}: {} error{}",
                path.display(),
                diagnostics.len(),
                if diagnostics.len() == 1 { "" } else { "s" }
            )?;
            Ok(EXIT_USAGE)
        }
    }
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
