//! The YAML report: the JSON document, the same fields in the same order, written as YAML.

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

/// The report as a YAML document (`---` first), with a final newline.
pub fn to_yaml(doc: &Value) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(&node(doc))
        .expect("writing to a String cannot fail");
    out.push('\n');
    out
}

fn node(value: &Value) -> Yaml<'_> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        // Integers past i64 (none in today's report) keep their value as a float rather than
        // wrapping.
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Value(Scalar::Integer(i)),
            None => Yaml::Value(Scalar::FloatingPoint(n.as_f64().unwrap_or(f64::NAN).into())),
        },
        Value::String(s) => Yaml::Value(Scalar::String(s.as_str().into())),
        Value::Array(items) => Yaml::Sequence(items.iter().map(node).collect()),
        Value::Object(map) => Yaml::Mapping(
            map.iter()
                .map(|(k, v)| (Yaml::Value(Scalar::String(k.as_str().into())), node(v)))
                .collect::<Mapping<'_>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use saphyr::LoadableYamlNode;
    use serde_json::{Map, json};

    use super::*;

    /// Reads YAML back into JSON, so a round trip can be compared with the original.
    fn back(yaml: &Yaml<'_>) -> Value {
        match yaml {
            Yaml::Value(Scalar::Null) => Value::Null,
            Yaml::Value(Scalar::Boolean(b)) => json!(b),
            Yaml::Value(Scalar::Integer(i)) => json!(i),
            Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
            Yaml::Value(Scalar::String(s)) => json!(s),
            Yaml::Sequence(items) => Value::Array(items.iter().map(back).collect()),
            Yaml::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), back(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => panic!("unexpected YAML node {other:?}"),
        }
    }

    #[test]
    fn hostile_strings_survive_the_round_trip() {
        let doc = json!({
            "schema_version": 1,
            "partial": false,
            "stopped_reason": null,
            "ratio": 0.5,
            "controls": [{
                "id": "yes",
                "message": "no",
                "tags": ["null", "~", "- item", "key: value", "#comment", "&anchor", "*alias"],
                "data": {
                    "content": "line one\nline two\n\ttabbed\n",
                    "quotes": "it's \"quoted\" \\ here",
                    "markup": "<script>alert(1)</script>",
                    "unicode": "caf\u{e9} \u{1F600} \u{7} \u{feff}",
                    "numbery": "0x1F",
                    "spaces": "  padded  ",
                    "doc": "---\n...",
                    "empty": "",
                    "@": [],
                    "": {},
                },
            }],
        });
        let text = to_yaml(&doc);
        assert!(text.starts_with("---\n"), "{text}");
        let docs = Yaml::load_from_str(&text).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(back(&docs[0]), doc, "{text}");
    }
}
