//! Broken variants of the official examples: every member removed, every value
//! replaced by a wrong type, a bad enum value, an out-of-range number, `null`,
//! every object given an extra member.
#![allow(clippy::unwrap_used)] // test helpers outside `#[test]` functions
//! For each, the decoder and `compiled.json` must agree — neither stricter nor
//! looser — and a refusal inside `data` must be reported as `InvalidData`.

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tachyon_proto::{CommandId, DecodeError, MessageKind, decode};

/// Validators for one message each, cut from `compiled.json`, so a mutant is
/// checked against its own command instead of all 164.
struct Validators {
    any: jsonschema::Validator,
    by_message: BTreeMap<(String, String), jsonschema::Validator>,
}

impl Validators {
    fn new(shared: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(shared.join("tachyon/schema/compiled.json")).unwrap();
        let compiled: Value = serde_json::from_str(&text).unwrap();
        let mut by_message = BTreeMap::new();
        for branch in compiled["anyOf"].as_array().unwrap() {
            let first = branch["anyOf"].get(0).unwrap_or(branch);
            let key = (
                first["properties"]["commandId"]["const"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                first["properties"]["type"]["const"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
            let mut schema = branch.clone();
            schema["definitions"] = compiled["definitions"].clone();
            schema["$schema"] = compiled["$schema"].clone();
            by_message.insert(key, support::validator(&schema));
        }
        Validators {
            any: support::compiled_validator(shared),
            by_message,
        }
    }

    fn accepts(&self, original: &Value, mutant: &Value) -> bool {
        let same_message = mutant.get("commandId") == original.get("commandId")
            && mutant.get("type") == original.get("type");
        if same_message {
            let key = (
                original["commandId"].as_str().unwrap().to_owned(),
                original["type"].as_str().unwrap().to_owned(),
            );
            return self.by_message[&key].is_valid(mutant);
        }
        self.any.is_valid(mutant)
    }
}

/// A JSON path: member names and array indexes.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                at.push(Step::Key(key.clone()));
                out.push(at.clone());
                paths(member, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                at.push(Step::Index(index));
                out.push(at.clone());
                paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'v>(value: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(value, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(index) => &mut value[*index],
    })
}

/// The replacements tried for a value: each is wrong for some schema.
fn replacements(value: &Value) -> Vec<Value> {
    let mut out = vec![Value::Null];
    match value {
        Value::String(_) => out.extend([json!(12345), json!("\u{1}not_a-valid value!"), json!("")]),
        Value::Number(n) if n.is_f64() => out.extend([json!("1"), json!(-2.5), json!(1.5)]),
        Value::Number(_) => out.extend([json!("1"), json!(-1), json!(0), json!(70000), json!(0.5)]),
        Value::Bool(_) => out.push(json!("true")),
        Value::Object(_) => out.extend([json!([]), json!("x")]),
        Value::Array(_) => out.extend([json!({}), json!([])]),
        Value::Null => out.push(json!(0)),
    }
    out
}

#[test]
fn the_decoder_and_the_schema_agree_on_every_mutant() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let validators = Validators::new(&shared);
    let (mut agreed_accept, mut agreed_reject) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for (name, text) in support::examples(&shared) {
        let original: Value = serde_json::from_str(&text).unwrap();
        if !validators.any.is_valid(&original) {
            continue; // the conformance test covers the schema-invalid examples
        }
        let command: CommandId = original["commandId"].as_str().unwrap().parse().unwrap();
        let kind = MessageKind::from_wire(original["type"].as_str().unwrap()).unwrap();
        let mut all = Vec::new();
        paths(&original, &mut Vec::new(), &mut all);
        for path in all {
            let mut mutants = Vec::new();
            if let Some((Step::Key(key), parent)) = path.split_last() {
                let mut mutant = original.clone();
                get_mut(&mut mutant, parent)
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
                mutants.push(("removed".to_owned(), mutant));
            }
            let current = get_mut(&mut original.clone(), &path).clone();
            if current.is_object() {
                // Open objects take any extra member; maps constrain their values.
                let mut mutant = original.clone();
                get_mut(&mut mutant, &path)
                    .as_object_mut()
                    .unwrap()
                    .insert("x-extra".into(), json!("added"));
                mutants.push(("given an extra member".to_owned(), mutant));
            }
            for replacement in replacements(&current) {
                let mut mutant = original.clone();
                *get_mut(&mut mutant, &path) = replacement.clone();
                mutants.push((format!("set to {replacement}"), mutant));
            }
            for (what, mutant) in mutants {
                let frame = mutant.to_string();
                let schema_ok = validators.accepts(&original, &mutant);
                let decoded = decode(&frame);
                match (&decoded, schema_ok) {
                    (Ok(_), true) => agreed_accept += 1,
                    (Err(error), false) => {
                        agreed_reject += 1;
                        check_error(&name, &path, &what, command, kind, error);
                    }
                    _ => disagreements.push(format!(
                        "{name} {path:?} {what}: schema {}, decoder {:?}",
                        if schema_ok { "accepts" } else { "rejects" },
                        decoded.map(|_| "accepts")
                    )),
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    println!("mutants: {agreed_reject} rejected by both, {agreed_accept} accepted by both");
    assert!(agreed_reject > 4_000 && agreed_accept > 1_000);
}

/// A refusal must name the right thing: `data` problems are `InvalidData` of the
/// original command; envelope problems are envelope errors.
fn check_error(
    name: &str,
    path: &[Step],
    what: &str,
    command: CommandId,
    kind: MessageKind,
    error: &DecodeError,
) {
    let in_data = matches!(path.first(), Some(Step::Key(key)) if key == "data");
    let fine = match error {
        DecodeError::InvalidData {
            command: c,
            kind: k,
            ..
        } => in_data && *c == command && *k == kind,
        DecodeError::MissingField("data") => path.len() == 1 && in_data,
        DecodeError::NotJson(_) | DecodeError::Limit(_) | DecodeError::NotObject { .. } => false,
        _ => !in_data,
    };
    assert!(fine, "{name} {path:?} {what}: unexpected error {error:?}");
}
