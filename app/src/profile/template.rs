//! `{{ .vars.a.b }}` and `{{ secret "name" }}` in profile strings.
//!
//! Expansion is one pass over the text as written: a var's value is inserted as it is and never
//! scanned again, so a var holding `{{ .vars.other }}` or `{{ secret "x" }}` stays literal text.
//! (Reglet substitutes secrets after vars, on the result, so a var could smuggle a secret into
//! a place the profile author did not put one; here it cannot.) Secrets are not resolved here:
//! the result keeps each secret as a [`Part::Secret`] for a later, separate step. Any other
//! `{{ … }}` is left alone, as in Reglet, so a command's `--format '{{.State.Running}}'` passes
//! through.

use serde_json::Value;

use crate::suggest;

/// A piece of expanded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (including substituted var values).
    Text(String),
    /// A secret to be resolved later, by name.
    Secret(String),
}

/// What went wrong expanding one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    Undefined {
        var: String,
        suggestion: Option<String>,
    },
    NotScalar {
        var: String,
        kind: &'static str,
    },
    Malformed(String),
    SecretNotAllowed(String),
}

/// Expands `text` against `vars`; with `allow_secrets` false a secret template is an error.
/// Every problem in the string is reported.
pub(crate) fn expand(
    text: &str,
    vars: &serde_json::Map<String, Value>,
    allow_secrets: bool,
) -> Result<Vec<Part>, Vec<TemplateError>> {
    let mut parts: Vec<Part> = Vec::new();
    let mut errors = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match parse_tag(after) {
            Tag::NotOurs => {
                literal.push_str("{{");
                rest = after;
            }
            Tag::Malformed(message) => {
                errors.push(TemplateError::Malformed(message));
                literal.push_str("{{");
                rest = after;
            }
            Tag::Var { path, len } => {
                match lookup(vars, path) {
                    Ok(value) => literal.push_str(&value),
                    Err(e) => errors.push(e),
                }
                rest = &after[len..];
            }
            Tag::Secret { name, len } => {
                if allow_secrets {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Secret(name.to_owned()));
                } else {
                    errors.push(TemplateError::SecretNotAllowed(name.to_owned()));
                }
                rest = &after[len..];
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() || parts.is_empty() {
        parts.push(Part::Text(literal));
    }
    if errors.is_empty() {
        Ok(parts)
    } else {
        Err(errors)
    }
}

/// Joins parts that hold no secret back into text.
pub(crate) fn plain_text(parts: &[Part]) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Secret(_) => return None,
        }
    }
    Some(out)
}

enum Tag<'a> {
    NotOurs,
    Malformed(String),
    Var { path: &'a str, len: usize },
    Secret { name: &'a str, len: usize },
}

/// Reads what follows a `{{`. `len` covers the tag through its `}}`.
fn parse_tag(after: &str) -> Tag<'_> {
    let trimmed = after.trim_start();
    let lead = after.len() - trimmed.len();
    let is_var = trimmed.starts_with(".vars")
        && !trimmed[5..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let is_secret = trimmed.starts_with("secret")
        && trimmed[6..].starts_with(|c: char| c.is_whitespace() || c == '"' || c == '}');
    if !is_var && !is_secret {
        return Tag::NotOurs;
    }
    let Some(close) = trimmed.find("}}") else {
        return Tag::Malformed("`{{` without a closing `}}`".into());
    };
    let len = lead + close + 2;
    let inner = trimmed[..close].trim_end();
    if is_var {
        let path = inner.strip_prefix(".vars.").unwrap_or_default();
        let valid = !path.is_empty()
            && path.split('.').all(|seg| {
                !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        return if valid {
            Tag::Var { path, len }
        } else {
            Tag::Malformed(format!(
                "`{{{{ {inner} }}}}`: write a var as `{{{{ .vars.name }}}}` or `{{{{ .vars.group.name }}}}`"
            ))
        };
    }
    let arg = inner["secret".len()..].trim();
    let name = arg
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .filter(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        });
    match name {
        Some(name) => Tag::Secret { name, len },
        None => Tag::Malformed(format!(
            "`{{{{ {inner} }}}}`: write a secret as `{{{{ secret \"name\" }}}}` (letters, digits, `_`, `.`, `-`)"
        )),
    }
}

/// The text of the var at `path`.
fn lookup(vars: &serde_json::Map<String, Value>, path: &str) -> Result<String, TemplateError> {
    let mut segments = path.split('.');
    let first = segments.next().unwrap_or_default();
    let mut value = vars.get(first);
    for seg in segments {
        value = value.and_then(|v| v.as_object()).and_then(|m| m.get(seg));
    }
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(other) => Err(TemplateError::NotScalar {
            var: path.to_owned(),
            kind: match other {
                Value::Array(_) => "a list",
                Value::Object(_) => "a mapping",
                _ => "null",
            },
        }),
        None => Err(TemplateError::Undefined {
            var: path.to_owned(),
            suggestion: {
                let known = var_paths(vars);
                suggest::closest(path, known.iter().map(String::as_str)).map(str::to_owned)
            },
        }),
    }
}

/// Every dotted path into `vars`, up to a bound (suggestions are a courtesy, not a cost).
fn var_paths(vars: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &serde_json::Map<String, Value>)> = vec![(String::new(), vars)];
    while let Some((prefix, map)) = stack.pop() {
        for (k, v) in map {
            if out.len() >= 1000 {
                return out;
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let Value::Object(inner) = v {
                stack.push((path.clone(), inner));
            }
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn vars() -> serde_json::Map<String, Value> {
        json!({
            "host": "example.com",
            "port": 443,
            "tls": true,
            "paths": {"sshd": "/etc/ssh/sshd_config"},
            "list": [1, 2],
            "nothing": null,
            "sneaky": "{{ secret \"db_password\" }}",
            "nested": "{{ .vars.host }}",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn text(parts: Vec<Part>) -> String {
        plain_text(&parts).expect("no secrets")
    }

    #[test]
    fn substitutes_vars() {
        let cases = [
            ("{{ .vars.host }}", "example.com"),
            (
                "https://{{.vars.host}}:{{ .vars.port }}/",
                "https://example.com:443/",
            ),
            ("tls={{ .vars.tls }}", "tls=true"),
            ("{{ .vars.paths.sshd }}", "/etc/ssh/sshd_config"),
            ("no templates", "no templates"),
            ("", ""),
            (
                "docker inspect --format '{{.State.Running}}'",
                "docker inspect --format '{{.State.Running}}'",
            ),
            ("{{ }} and {{", "{{ }} and {{"),
            ("{{ .variables }}", "{{ .variables }}"),
        ];
        for (src, want) in cases {
            assert_eq!(text(expand(src, &vars(), false).unwrap()), want, "{src}");
        }
    }

    #[test]
    fn vars_are_expanded_once_so_a_var_cannot_smuggle_a_secret() {
        let parts = expand("pw={{ .vars.sneaky }}", &vars(), true).unwrap();
        assert_eq!(
            parts,
            vec![Part::Text("pw={{ secret \"db_password\" }}".into())]
        );
        let parts = expand("{{ .vars.nested }}", &vars(), true).unwrap();
        assert_eq!(parts, vec![Part::Text("{{ .vars.host }}".into())]);
    }

    #[test]
    fn secrets_become_parts() {
        let parts = expand("Bearer {{ secret \"api.token\" }}!", &vars(), true).unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Text("Bearer ".into()),
                Part::Secret("api.token".into()),
                Part::Text("!".into())
            ]
        );
        assert_eq!(plain_text(&parts), None);
        assert_eq!(
            expand("{{ secret \"x\" }}", &vars(), false),
            Err(vec![TemplateError::SecretNotAllowed("x".into())])
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = expand(
            "{{ .vars.hots }} {{ .vars.list }} {{ .vars.nothing }} {{ .vars. }} {{ secret x }} {{ .vars.host",
            &vars(),
            true,
        )
        .unwrap_err();
        assert_eq!(
            errors[0],
            TemplateError::Undefined {
                var: "hots".into(),
                suggestion: Some("host".into())
            }
        );
        assert_eq!(
            errors[1],
            TemplateError::NotScalar {
                var: "list".into(),
                kind: "a list"
            }
        );
        assert_eq!(
            errors[2],
            TemplateError::NotScalar {
                var: "nothing".into(),
                kind: "null"
            }
        );
        assert!(matches!(&errors[3], TemplateError::Malformed(m) if m.contains(".vars.name")));
        assert!(matches!(&errors[4], TemplateError::Malformed(m) if m.contains("secret \"name\"")));
        assert!(matches!(&errors[5], TemplateError::Malformed(m) if m.contains("closing")));
        assert_eq!(errors.len(), 6);
    }

    proptest! {
        #[test]
        fn expansion_never_panics(src in "(\\PC|\\{\\{|\\}\\}| \\.vars\\.| secret \"){0,40}") {
            let _ = expand(&src, &vars(), true);
            let _ = expand(&src, &vars(), false);
        }

        #[test]
        fn a_var_holding_a_secret_template_is_never_expanded(
            prefix in "[a-z ]{0,5}",
            name in "[a-z_]{1,10}",
        ) {
            let mut v = vars();
            v.insert("held".into(), Value::String(format!("{prefix}{{{{ secret \"{name}\" }}}}")));
            let parts = expand("x{{ .vars.held }}y", &v, true).unwrap();
            prop_assert!(parts.iter().all(|p| matches!(p, Part::Text(_))));
            prop_assert_eq!(plain_text(&parts).unwrap(), format!("x{prefix}{{{{ secret \"{name}\" }}}}y"));
        }

        #[test]
        fn text_without_templates_is_unchanged(src in "[^{}]{0,60}") {
            prop_assert_eq!(text(expand(&src, &vars(), true).unwrap()), src);
        }
    }
}
