//! The two Tachyon throughput corpora: every official example, and a generated one
//! built from the crate's exported proptest strategies with a fixed seed.
//!
//! Both are lists of frames as a peer sends them: compact JSON, members in the
//! canonical order. The official examples are pretty-printed on disk and are
//! compacted here (whitespace outside strings removed, order kept); the ones the
//! decoder refuses (the schema refuses them too) are left out.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tachyon_proto::strategy as strategies;
use tachyon_proto::{decode, encode};

/// Bytes the generated corpus reaches before it stops growing.
pub const GENERATED_BYTES: usize = 1 << 20;

/// The seed of the generated corpus: the same frames on every run and machine.
const SEED: [u8; 32] = *b"tachyon corpus, fixed seed 2026!";

/// `../shared/tachyon/examples` beside the workspace, where the official examples are.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tachyon/examples")
}

/// Every official example the decoder accepts, compacted, sorted by path; `None`
/// when the examples are not there.
pub fn official() -> Option<Vec<String>> {
    let mut files = Vec::new();
    walk(&examples_dir(), &mut files).ok()?;
    files.sort();
    let frames: Vec<String> = files
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .map(|text| compact(&text))
        .filter(|frame| decode(frame).is_ok())
        .collect();
    (!frames.is_empty()).then_some(frames)
}

/// Schema-valid commands of every message type in turn, drawn from the generated
/// strategies with a fixed seed, until they add up to [`GENERATED_BYTES`].
pub fn generated() -> Vec<String> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &SEED);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategies = strategies::all();
    let mut frames = Vec::new();
    let mut total = 0;
    while total < GENERATED_BYTES {
        for (_, strategy) in &strategies {
            // A strategy without filters never fails to produce a value.
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                continue;
            };
            let frame = encode(&tree.current());
            total += frame.len();
            frames.push(frame);
        }
    }
    frames
}

/// `text` without the whitespace outside its strings.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_strings_whole() {
        assert_eq!(
            compact("{ \"a b\" : [ 1, \"x \\\" y\" ]\n}"),
            r#"{"a b":[1,"x \" y"]}"#
        );
    }

    #[test]
    fn the_generated_corpus_is_fixed_and_decodes() {
        let frames = generated();
        assert!(frames.iter().map(String::len).sum::<usize>() >= GENERATED_BYTES);
        assert_eq!(frames, generated());
        for frame in &frames {
            assert!(decode(frame).is_ok(), "{frame:.200}");
        }
    }
}
