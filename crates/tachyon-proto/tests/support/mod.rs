//! What the integration tests share: the `../shared` directory with the official
//! schemas and examples, and a validator for `compiled.json`.

// Each test crate uses its own part of this module; as test code it may panic.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

/// `../shared` beside the workspace, or `None` (with a printed note) when it is
/// missing. Under `CI=true` a missing `../shared` fails the test instead: CI must
/// never pass by skipping the conformance checks.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.join("tachyon/schema/compiled.json").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing, and CI=true: the schema tests cannot run",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: {} is missing, so the schema tests do not run (set CI=true to make this fail)",
        dir.display()
    );
    None
}

/// A validator for `schema/compiled.json`, which accepts any valid command.
pub(crate) fn compiled_validator(shared: &Path) -> jsonschema::Validator {
    let text = fs::read_to_string(shared.join("tachyon/schema/compiled.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    validator(&schema)
}

/// A validator for `schema` that asserts the formats the official validators
/// assert: jsonschema's draft-07 ones, and `uuid`, which ajv-formats adds.
pub(crate) fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_format("uuid", ajv_uuid)
        .build(schema)
        .unwrap()
}

/// ajv-formats' `uuid`: `/^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i`,
/// written here against a template so as not to share code with the crate.
fn ajv_uuid(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let rest = lower.strip_prefix("urn:uuid:").unwrap_or(&lower);
    const TEMPLATE: &str = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    rest.chars().count() == TEMPLATE.len()
        && rest.chars().zip(TEMPLATE.chars()).all(|(c, t)| match t {
            'x' => c.is_ascii_digit() || ('a'..='f').contains(&c),
            _ => c == t,
        })
}

/// Every official example as `(path under examples/, text)`, sorted by path.
pub(crate) fn examples(shared: &Path) -> Vec<(String, String)> {
    let root = shared.join("tachyon/examples");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&path).unwrap();
            (name, text)
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
