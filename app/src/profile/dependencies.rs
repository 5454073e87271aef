//! `depends_on`: every target must exist, and no control may depend on itself through others.

use std::collections::{BTreeSet, HashMap};

use super::decode::Spanned;
use super::error::ProfileError;
use crate::suggest;

/// One control's dependencies as written.
pub(crate) struct Edges<'a> {
    pub id: &'a str,
    pub depends_on: &'a [Spanned<String>],
}

/// Reports unknown targets and every distinct cycle.
pub(crate) fn check(controls: &[Edges<'_>], errors: &mut Vec<ProfileError>) {
    let index: HashMap<&str, usize> = controls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, i))
        .collect();
    let mut graph: Vec<Vec<(usize, &Spanned<String>)>> = Vec::with_capacity(controls.len());
    for c in controls {
        let mut targets = Vec::new();
        for dep in c.depends_on {
            match index.get(dep.value.as_str()) {
                Some(&t) => targets.push((t, dep)),
                None => errors.push(ProfileError::UnknownDependency {
                    location: dep.at.clone(),
                    control: c.id.to_owned(),
                    target: dep.value.clone(),
                    suggestion: suggest::closest(&dep.value, controls.iter().map(|c| c.id))
                        .map(str::to_owned),
                }),
            }
        }
        graph.push(targets);
    }
    find_cycles(controls, &graph, errors);
}

/// Depth-first search with an explicit stack (a chain of thousands of controls must not
/// overflow the thread's stack). A cycle is reported once, however many starts reach it.
fn find_cycles(
    controls: &[Edges<'_>],
    graph: &[Vec<(usize, &Spanned<String>)>],
    errors: &mut Vec<ProfileError>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; graph.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    for start in 0..graph.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (node, next edge to look at)
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(&(target, _)) = graph[node].get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[target] {
                Mark::New => {
                    mark[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let members: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    report(controls, graph, &path[from..], &members, &mut seen, errors);
                }
                Mark::Done => {}
            }
        }
    }
}

fn report(
    controls: &[Edges<'_>],
    graph: &[Vec<(usize, &Spanned<String>)>],
    path: &[(usize, usize)],
    members: &[usize],
    seen: &mut BTreeSet<Vec<usize>>,
    errors: &mut Vec<ProfileError>,
) {
    // Rotate so the cycle starts at its smallest index: one key per cycle.
    let start = (0..members.len()).min_by_key(|&i| members[i]).unwrap_or(0);
    let rotated: Vec<usize> = members[start..]
        .iter()
        .chain(&members[..start])
        .copied()
        .collect();
    if !seen.insert(rotated.clone()) {
        return;
    }
    // The edge the first member used to step to the second: `next` was advanced past it.
    let (first, next) = path[start];
    let edge = graph[first][next - 1].1;
    let mut cycle: Vec<String> = rotated.iter().map(|&i| controls[i].id.to_owned()).collect();
    cycle.push(controls[rotated[0]].id.to_owned());
    errors.push(ProfileError::DependencyCycle {
        location: edge.at.clone(),
        cycle,
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::profile::error::Location;
    use crate::yaml::Mark;

    fn run(spec: &[(&str, &[&str])]) -> Vec<String> {
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let deps: Vec<Vec<Spanned<String>>> = spec
            .iter()
            .enumerate()
            .map(|(i, (_, deps))| {
                deps.iter()
                    .enumerate()
                    .map(|(j, d)| Spanned {
                        value: d.to_string(),
                        at: Location::new(
                            &file,
                            Mark {
                                line: i + 1,
                                column: j + 1,
                            },
                        ),
                    })
                    .collect()
            })
            .collect();
        let edges: Vec<Edges<'_>> = spec
            .iter()
            .zip(&deps)
            .map(|((id, _), d)| Edges { id, depends_on: d })
            .collect();
        let mut errors = Vec::new();
        check(&edges, &mut errors);
        errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn dependency_errors() {
        assert!(run(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]).is_empty());
        assert_eq!(
            run(&[("dns", &[]), ("tls", &["dsn"])]),
            [
                "p.yaml:2:1: control `tls` depends on `dsn`, which is not a control; did you mean `dns`?"
            ]
        );
        assert_eq!(
            run(&[("a", &["a"])]),
            ["p.yaml:1:1: dependency cycle: a -> a"]
        );
        assert_eq!(
            run(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]),
            ["p.yaml:1:1: dependency cycle: a -> b -> c -> a"]
        );
        assert_eq!(
            run(&[("x", &[]), ("b", &["x", "c"]), ("c", &["b"])]),
            ["p.yaml:2:2: dependency cycle: b -> c -> b"]
        );
        let two = run(&[("a", &["b"]), ("b", &["a"]), ("c", &["d"]), ("d", &["c"])]);
        assert_eq!(two.len(), 2, "{two:?}");
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
        let file: Arc<Path> = Arc::from(Path::new("p.yaml"));
        let deps: Vec<Vec<Spanned<String>>> = (0..ids.len())
            .map(|i| {
                let target = &ids[(i + 1) % ids.len()];
                vec![Spanned {
                    value: target.clone(),
                    at: Location::file(&file),
                }]
            })
            .collect();
        let edges: Vec<Edges<'_>> = ids
            .iter()
            .zip(&deps)
            .map(|(id, d)| Edges { id, depends_on: d })
            .collect();
        let mut errors = Vec::new();
        check(&edges, &mut errors);
        assert_eq!(errors.len(), 1);
    }
}
