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
