//! `reglet plan`: what `check` would do, without doing it: the profile as resolved after `extends`
//! and vars, the execution levels of its dependency graph, and the grants each plugin would be
//! given with their risk.
//!
//! Secrets are shown as `<secret:name>` and never read: plan does not even look at the system
//! config, so a plan can be printed and shared anywhere.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use reglet_ports::PluginExecutor;
use serde_json::{Value, json};

use super::{Diagnostic, EXIT_OK, EXIT_USAGE, OutputFormat, grants_json, write_grants, write_json};
use crate::preflight::{self, PluginNeeds};
use crate::profile::{self, Control, LoadedProfile, ObservationConfig, PluginSource};

/// The controls grouped by how early they can start: level 0 has no dependencies, and each later
/// level depends only on earlier ones, so the controls of one level can run together. Indices
/// are into `controls`, in profile order within a level.
///
/// # Errors
/// The indices of the controls that sit on or behind a dependency cycle (a loaded profile has
/// none: the loader refuses cycles).
pub fn levels(controls: &[Control]) -> Result<Vec<Vec<usize>>, Vec<usize>> {
    let index: HashMap<&str, usize> = controls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); controls.len()];
    let mut waiting: Vec<usize> = vec![0; controls.len()];
    for (i, c) in controls.iter().enumerate() {
        for d in c.depends_on.iter().filter_map(|d| index.get(d.as_str())) {
            dependents[*d].push(i);
            waiting[i] += 1;
        }
    }
    // Kahn's algorithm: a control's level is one more than its deepest dependency's, known once
    // the last of them is placed. Linear in controls and edges, for profiles of any size.
    let mut level: Vec<Option<usize>> = vec![None; controls.len()];
    let mut earliest: Vec<usize> = vec![0; controls.len()];
    let mut ready: Vec<usize> = (0..controls.len()).filter(|&i| waiting[i] == 0).collect();
    while let Some(i) = ready.pop() {
        level[i] = Some(earliest[i]);
        for &j in &dependents[i] {
            earliest[j] = earliest[j].max(earliest[i] + 1);
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(j);
            }
        }
    }
    let stuck: Vec<usize> = (0..controls.len())
        .filter(|&i| level[i].is_none())
        .collect();
    if !stuck.is_empty() {
        return Err(stuck);
    }
    let depth = level.iter().flatten().max().map_or(0, |&l| l + 1);
    let mut out = vec![Vec::new(); depth];
    for (i, l) in level.iter().enumerate() {
        if let Some(l) = l {
            out[*l].push(i);
        }
    }
    Ok(out)
}

/// `reglet plan`: prints the plan on `out`; a profile that cannot run gets its diagnostics on
/// `err`, nothing on `out`, and exit code 2.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub async fn plan(
    path: &Path,
    format: OutputFormat,
    executor: &dyn PluginExecutor,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let loaded = match profile::load(path) {
        Ok(p) => p,
        Err(diagnostics) => {
            for e in diagnostics.errors() {
                writeln!(err, "{}", Diagnostic::from_profile_error(e))?;
            }
            return Ok(EXIT_USAGE);
        }
    };
    for w in &loaded.warnings {
        writeln!(err, "{}", Diagnostic::from_warning(w))?;
    }
    let selection = vec![None; loaded.controls.len()];
    let vetted = preflight::vet(&loaded, &selection, executor, &ObservationConfig::masked).await;
    for p in &vetted.plugins {
        let _ = executor.close(&p.name).await;
    }
    if !vetted.problems.is_empty() {
        for p in &vetted.problems {
            writeln!(err, "{}", Diagnostic::from_problem(p))?;
        }
        return Ok(EXIT_USAGE);
    }
    let levels = match levels(&loaded.controls) {
        Ok(l) => l,
        Err(stuck) => {
            let ids: Vec<&str> = stuck
                .iter()
                .map(|&i| loaded.controls[i].id.as_str())
                .collect();
            writeln!(err, "error: dependency cycle among {}", ids.join(", "))?;
            return Ok(EXIT_USAGE);
        }
    };
    match format {
        OutputFormat::Json => write_json(out, &to_json(&loaded, &levels, &vetted.needs))?,
        OutputFormat::Text => write_text(&loaded, &levels, &vetted.needs, out)?,
    }
    Ok(EXIT_OK)
}

fn compact(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values serialise")
}

fn source(loaded: &LoadedProfile, name: &reglet_domain::PluginName) -> String {
    match loaded.plugin(name).map(|d| &d.source) {
        Some(PluginSource::Builtin { .. }) => "built-in".to_owned(),
        Some(PluginSource::Path(p)) => p.display().to_string(),
        None => String::new(),
    }
}

fn write_text(
    loaded: &LoadedProfile,
    levels: &[Vec<usize>],
    needs: &[PluginNeeds],
    out: &mut dyn Write,
) -> io::Result<()> {
    let m = &loaded.metadata;
    writeln!(
        out,
        "profile {} {} ({})",
        m.name,
        m.version,
        loaded.path.display()
    )?;
    if !m.description.is_empty() {
        writeln!(out, "  {}", m.description)?;
    }
    if loaded.files.len() > 1 {
        let files: Vec<String> = loaded
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        writeln!(out, "  files (parents first): {}", files.join(", "))?;
    }
    if !loaded.vars.is_empty() {
        writeln!(out, "\nvars:")?;
        for (name, value) in &loaded.vars {
            writeln!(out, "  {name}: {}", compact(value))?;
        }
    }
    writeln!(out, "\nplugins:")?;
    for p in &loaded.plugins {
        let sha = needs.iter().find(|n| n.plugin.name == p.name).map_or_else(
            || "not used".to_owned(),
            |n| format!("sha256 {}", n.plugin.sha256),
        );
        writeln!(out, "  {} ({}, {sha})", p.name, source(loaded, &p.name))?;
    }
    writeln!(out, "\ncontrols:")?;
    for c in &loaded.controls {
        writeln!(out, "  {}: {}", c.id, c.name)?;
        let mut facts = Vec::new();
        if let Some(s) = c.severity {
            facts.push(format!("severity {s}"));
        }
        if let Some(o) = &c.owner {
            facts.push(format!("owner {o}"));
        }
        if !c.tags.is_empty() {
            facts.push(format!("tags {}", c.tags.join(", ")));
        }
        if !c.depends_on.is_empty() {
            facts.push(format!("depends on {}", c.depends_on.join(", ")));
        }
        if let Some(t) = c.timeout {
            facts.push(format!("timeout {t:?}"));
        }
        if c.retry.retries > 0 {
            facts.push(format!(
                "{} retries, {:?} apart, backoff {}",
                c.retry.retries,
                c.retry.delay,
                compact(&c.retry.backoff).trim_matches('"')
            ));
        }
        if !facts.is_empty() {
            writeln!(out, "    {}", facts.join("; "))?;
        }
        for o in &c.observations {
            writeln!(out, "    - {} {}", o.plugin, compact(&o.config.masked()))?;
            for e in &o.expectations {
                writeln!(out, "        expect: {}", e.source())?;
            }
        }
    }
    writeln!(
        out,
        "\nexecution levels (controls of one level can run together):"
    )?;
    for (n, level) in levels.iter().enumerate() {
        let ids: Vec<&str> = level
            .iter()
            .map(|&i| loaded.controls[i].id.as_str())
            .collect();
        writeln!(out, "  {}: {}", n + 1, ids.join(", "))?;
    }
    writeln!(out)?;
    write_grants(out, needs)?;
    let secrets: Vec<&str> = loaded.secret_names().into_iter().map(|(n, _)| n).collect();
    if !secrets.is_empty() {
        writeln!(
            out,
            "\nsecrets (not read; resolved by check): {}",
            secrets.join(", ")
        )?;
    }
    Ok(())
}

fn to_json(loaded: &LoadedProfile, levels: &[Vec<usize>], needs: &[PluginNeeds]) -> Value {
    let level_of = |index: usize| levels.iter().position(|l| l.contains(&index));
    let controls: Vec<Value> = loaded
        .controls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "severity": c.severity,
                "owner": c.owner,
                "tags": c.tags,
                "depends_on": c.depends_on,
                "level": level_of(i).map(|l| l + 1),
                "timeout_ms": c.timeout.map(|t| t.as_millis()),
                "retry": {
                    "retries": c.retry.retries,
                    "delay_ms": c.retry.delay.as_millis(),
                    "backoff": c.retry.backoff,
                    "max_delay_ms": c.retry.max_delay.map(|d| d.as_millis()),
                },
                "file": c.location.file.display().to_string(),
                "line": c.location.line,
                "observations": c.observations.iter().map(|o| json!({
                    "plugin": o.plugin,
                    "config": o.config.masked(),
                    "expect": o.expectations.iter().map(|e| e.source()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let plugins: Vec<Value> = loaded
        .plugins
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "declared_as": p.declared_as,
                "source": source(loaded, &p.name),
                "sha256": needs.iter().find(|n| n.plugin.name == p.name).map(|n| &n.plugin.sha256),
            })
        })
        .collect();
    let levels: Vec<Vec<&str>> = levels
        .iter()
        .map(|l| l.iter().map(|&i| loaded.controls[i].id.as_str()).collect())
        .collect();
    let secrets: Vec<&str> = loaded.secret_names().into_iter().map(|(n, _)| n).collect();
    json!({
        "profile": {
            "name": loaded.metadata.name,
            "version": loaded.metadata.version,
            "description": loaded.metadata.description,
            "path": loaded.path.display().to_string(),
            "files": loaded.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        },
        "vars": loaded.vars,
        "plugins": plugins,
        "controls": controls,
        "levels": levels,
        "grants": grants_json(needs),
        "secrets": secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::RetryPolicy;

    fn control(id: &str, deps: &[&str]) -> Control {
        let file: std::sync::Arc<Path> = std::sync::Arc::from(Path::new("p.yaml"));
        Control {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            severity: None,
            owner: None,
            tags: Vec::new(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            timeout: None,
            retry: RetryPolicy::default(),
            observations: Vec::new(),
            location: crate::profile::Location::file(&file),
        }
    }

    fn ids(controls: &[Control], levels: &[Vec<usize>]) -> Vec<Vec<String>> {
        levels
            .iter()
            .map(|l| l.iter().map(|&i| controls[i].id.clone()).collect())
            .collect()
    }

    #[test]
    fn levels_follow_the_longest_dependency_chain() {
        // d depends on a (level 1) and c (level 2), so it waits for level 3 even though a is
        // ready earlier; b and a have no dependencies and start together.
        let controls = [
            control("d", &["a", "c"]),
            control("a", &[]),
            control("c", &["b"]),
            control("b", &[]),
            control("e", &["a"]),
        ];
        let got = ids(&controls, &levels(&controls).unwrap());
        assert_eq!(got, [vec!["a", "b"], vec!["c", "e"], vec!["d"]]);
    }

    #[test]
    fn no_controls_no_levels_and_cycles_are_named() {
        assert!(levels(&[]).unwrap().is_empty());
        let controls = [
            control("free", &[]),
            control("x", &["y"]),
            control("y", &["x"]),
            control("after", &["x"]),
        ];
        assert_eq!(levels(&controls).unwrap_err(), [1, 2, 3]);
    }

    #[test]
    fn a_long_chain_is_one_control_per_level_in_linear_time() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
        let controls: Vec<Control> = (0..ids.len())
            .map(|i| {
                let deps: Vec<&str> = ids.get(i + 1).map(String::as_str).into_iter().collect();
                control(&ids[i], &deps)
            })
            .collect();
        let got = levels(&controls).unwrap();
        assert_eq!(got.len(), 20_000);
        assert_eq!(got[0], [19_999]);
        assert_eq!(got[19_999], [0]);
    }
}
