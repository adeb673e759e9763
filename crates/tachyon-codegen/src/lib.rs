//! Generates `tachyon-proto`'s typed messages from the official Tachyon JSON
//! Schemas: reads `../shared/tachyon/schema` (and the command descriptions of
//! `../shared/specs/tachyon/schema/*.md`), writes `crates/tachyon-proto/src/generated/`,
//! and the generators the crate exports for fuzzing and property tests: its
//! `arbitrary::Arbitrary` implementations (`src/arbitrary_impls.rs`) and its proptest
//! strategies (`src/strategy/messages.rs`).
//!
//! The output is checked in; a test regenerates it in memory and compares, so the
//! checked-in code cannot drift from the schemas or from this generator.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arbitrary;
pub mod emit;
pub mod json;
pub mod model;
pub mod naming;
pub mod schema;
pub mod strategies;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every generated file: its path relative to the workspace root, and its
/// rustfmt-formatted source.
pub fn generate(shared: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let schemas = schema::load(shared)?;
    let model = model::build(&schemas)?;
    let mut files = Vec::new();
    for (name, source) in emit::modules(&model)? {
        files.push((
            PathBuf::from("crates/tachyon-proto/src/generated").join(name),
            rustfmt(&source)?,
        ));
    }
    files.push((
        PathBuf::from("crates/tachyon-proto/src/strategy/messages.rs"),
        rustfmt(&strategies::file(&model)?)?,
    ));
    files.push((
        PathBuf::from("crates/tachyon-proto/src/arbitrary_impls.rs"),
        rustfmt(&arbitrary::file(&model)?)?,
    ));
    Ok(files)
}

/// Formats `source` with the toolchain's rustfmt, as `cargo fmt` would.
pub fn rustfmt(source: &str) -> Result<String, String> {
    let mut child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("rustfmt has no stdin")?
        .write_all(source.as_bytes())
        .map_err(|e| format!("cannot write to rustfmt: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    if !output.status.success() {
        let numbered: String = source
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:5} {l}\n", i + 1))
            .collect();
        return Err(format!(
            "rustfmt refused the generated code:\n{}\n{numbered}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt output: {e}"))
}
