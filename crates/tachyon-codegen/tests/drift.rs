//! The checked-in generated code is exactly what the generator makes of the
//! schemas now: neither can change without the other.

use std::fs;

#[test]
fn checked_in_code_matches_a_fresh_generation() {
    let root = tachyon_codegen::workspace_root();
    let shared = root.join("../shared");
    if !shared.join("tachyon/schema").is_dir() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{} is missing, and CI=true: cannot check the generated code",
            shared.display()
        );
        eprintln!(
            "SKIPPED: {} is missing, so the generated code is not checked against the schemas",
            shared.display()
        );
        return;
    }
    let files = tachyon_codegen::generate(&shared).unwrap();
    let mut stale = Vec::new();
    for (path, source) in &files {
        let on_disk = fs::read_to_string(root.join(path)).unwrap_or_default();
        if on_disk != *source {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run `cargo run -p tachyon-codegen`): {stale:?}"
    );
    // Nothing generated once and since orphaned.
    let generated_dir = root.join("crates/tachyon-proto/src/generated");
    for entry in fs::read_dir(&generated_dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(&root).unwrap();
        assert!(
            files.iter().any(|(p, _)| p == relative),
            "{} is not generated any more",
            relative.display()
        );
    }
}
