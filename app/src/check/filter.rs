//! Which controls run: Reglet's `--control`, `--exclude-control`, `--tags`, `--exclude-tags`,
//! `--severity`, `--filter` and `--include-dependencies`.
//!
//! As in Reglet, filtered-out controls stay in the report as skipped with the reason, `--control`
//! is exclusive (every other filter is then ignored), the other filters combine with AND,
//! `--severity` matches exactly, and ids given to `--control` or `--exclude-control` must exist.

use std::collections::BTreeSet;

use expr::{Context, Value};

use crate::profile::{Control, Severity};

/// The filters given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `--control`: only these ids.
    pub controls: Vec<String>,
    /// `--exclude-control`.
    pub exclude_controls: Vec<String>,
    /// `--tags`: any of these.
    pub tags: Vec<String>,
    /// `--exclude-tags`: none of these.
    pub exclude_tags: Vec<String>,
    /// `--severity`: one of these, exactly.
    pub severities: Vec<Severity>,
    /// `--filter`: an expression over `id`, `name`, `severity`, `owner`, `tags`.
    pub expression: Option<String>,
    /// `--include-dependencies`: run what the selected controls depend on, too.
    pub include_dependencies: bool,
}

impl Filters {
    /// The skip reason of each control (`None`: it runs), in profile order.
    ///
    /// # Errors
    /// An unknown control id or a `--filter` expression that does not compile or is not boolean.
    pub fn select(&self, controls: &[Control]) -> Result<Vec<Option<String>>, String> {
        let known: BTreeSet<&str> = controls.iter().map(|c| c.id.as_str()).collect();
        for (flag, ids) in [
            ("--control", &self.controls),
            ("--exclude-control", &self.exclude_controls),
        ] {
            if let Some(unknown) = ids.iter().find(|id| !known.contains(id.as_str())) {
                let hint = crate::suggest::closest(unknown, known.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!("{flag}: no control has the id `{unknown}`{hint}"));
            }
        }
        let program = match &self.expression {
            Some(text) => Some(expr::compile(text).map_err(|e| {
                format!(
                    "--filter {text:?} does not compile: {}; write e.g. \
                     --filter 'severity == \"high\" && \"ssh\" in tags'",
                    e.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })?),
            None => None,
        };
        let mut reasons = Vec::with_capacity(controls.len());
        for control in controls {
            reasons.push(self.reason(control, program.as_ref())?);
        }
        if self.include_dependencies {
            let mut needed: Vec<usize> = (0..controls.len())
                .filter(|&i| reasons[i].is_none())
                .collect();
            while let Some(i) = needed.pop() {
                for dep in &controls[i].depends_on {
                    if let Some(d) = controls.iter().position(|c| &c.id == dep)
                        && reasons[d].is_some()
                    {
                        reasons[d] = None;
                        needed.push(d);
                    }
                }
            }
        }
        Ok(reasons)
    }

    fn reason(
        &self,
        control: &Control,
        program: Option<&expr::Program>,
    ) -> Result<Option<String>, String> {
        if !self.controls.is_empty() {
            return Ok((!self.controls.contains(&control.id))
                .then(|| "not selected by --control".to_owned()));
        }
        if self.exclude_controls.contains(&control.id) {
            return Ok(Some("excluded by --exclude-control".into()));
        }
        if control.tags.iter().any(|t| self.exclude_tags.contains(t)) {
            return Ok(Some("excluded by --exclude-tags filter".into()));
        }
        if !self.severities.is_empty()
            && !control
                .severity
                .is_some_and(|s| self.severities.contains(&s))
        {
            return Ok(Some("excluded by --severity filter".into()));
        }
        if !self.tags.is_empty() && !control.tags.iter().any(|t| self.tags.contains(t)) {
            return Ok(Some("excluded by --tags filter".into()));
        }
        if let Some(program) = program {
            let mut context = Context::default();
            context.insert("id", Value::String(control.id.clone()));
            context.insert("name", Value::String(control.name.clone()));
            context.insert(
                "severity",
                Value::String(
                    control
                        .severity
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            );
            context.insert(
                "owner",
                Value::String(control.owner.clone().unwrap_or_default()),
            );
            context.insert(
                "tags",
                Value::Array(control.tags.iter().cloned().map(Value::String).collect()),
            );
            match expr::Environment::new().run(program, &context) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => return Ok(Some("excluded by --filter".into())),
                Ok(other) => {
                    return Err(format!(
                        "--filter must evaluate to true or false, not {other}"
                    ));
                }
                Err(e) => return Err(format!("--filter failed on control `{}`: {e}", control.id)),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls() -> Vec<Control> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.wat"), "(module)").unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(
            &path,
            r#"profile: {name: t, version: 1.0.0}
plugins: [./p.wat]
controls:
  items:
    - {id: a, name: A, severity: high, tags: [ssh], owner: ops, observations: [{plugin: p, config: {}}]}
    - {id: b, name: B, severity: low, tags: [web], depends_on: [a], observations: [{plugin: p, config: {}}]}
    - {id: c, name: C, tags: [ssh, web], depends_on: [b], observations: [{plugin: p, config: {}}]}
"#,
        )
        .unwrap();
        crate::profile::load(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .controls
    }

    fn run(filters: Filters) -> Vec<Option<String>> {
        filters.select(&controls()).unwrap()
    }

    fn chosen(filters: Filters) -> String {
        run(filters)
            .iter()
            .zip(["a", "b", "c"])
            .filter(|(r, _)| r.is_none())
            .map(|(_, id)| id)
            .collect()
    }

    #[test]
    fn reglets_filter_semantics() {
        let cases: Vec<(&str, Filters, &str)> = vec![
            ("no filters", Filters::default(), "abc"),
            (
                "tags: any",
                Filters {
                    tags: vec!["web".into()],
                    ..Default::default()
                },
                "bc",
            ),
            (
                "exclude tags",
                Filters {
                    exclude_tags: vec!["ssh".into()],
                    ..Default::default()
                },
                "b",
            ),
            (
                "severity is exact and unset never matches",
                Filters {
                    severities: vec![Severity::High],
                    ..Default::default()
                },
                "a",
            ),
            (
                "--control is exclusive",
                Filters {
                    controls: vec!["c".into()],
                    tags: vec!["none".into()],
                    ..Default::default()
                },
                "c",
            ),
            (
                "exclude control",
                Filters {
                    exclude_controls: vec!["b".into()],
                    ..Default::default()
                },
                "ac",
            ),
            (
                "filters combine with AND",
                Filters {
                    tags: vec!["ssh".into()],
                    severities: vec![Severity::High],
                    ..Default::default()
                },
                "a",
            ),
            (
                "--filter",
                Filters {
                    expression: Some("owner == \"ops\" || \"web\" in tags".into()),
                    ..Default::default()
                },
                "abc",
            ),
            (
                "--filter on severity",
                Filters {
                    expression: Some("severity == \"low\"".into()),
                    ..Default::default()
                },
                "b",
            ),
            (
                "include dependencies, transitively",
                Filters {
                    controls: vec!["c".into()],
                    include_dependencies: true,
                    ..Default::default()
                },
                "abc",
            ),
        ];
        for (name, filters, want) in cases {
            assert_eq!(chosen(filters), want, "{name}");
        }
        let reasons = run(Filters {
            tags: vec!["web".into()],
            ..Default::default()
        });
        assert_eq!(reasons[0].as_deref(), Some("excluded by --tags filter"));
    }

    #[test]
    fn bad_filters_are_errors() {
        let err = |f: Filters| f.select(&controls()).unwrap_err();
        assert!(
            err(Filters {
                controls: vec!["d".into()],
                ..Default::default()
            })
            .contains("`d`")
        );
        assert!(
            err(Filters {
                exclude_controls: vec!["x".into()],
                ..Default::default()
            })
            .contains("--exclude-control")
        );
        assert!(
            err(Filters {
                expression: Some("id ==".into()),
                ..Default::default()
            })
            .contains("does not compile")
        );
        assert!(
            err(Filters {
                expression: Some("id".into()),
                ..Default::default()
            })
            .contains("true or false")
        );
    }
}
