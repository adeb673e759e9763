//! Shared pieces of the benchmarks: a heap-allocation counter, and the baselines
//! every codec is measured against.
//!
//! Each benchmark reports, in one run, our typed decoder against
//! - the *naive baseline* a user would write without us: parse into
//!   `serde_json::Value`, then pick the fields out;
//! - the *floor*: parse and discard (`serde::de::IgnoredAny`), which no decoder that
//!   reads the whole frame can beat.
#![deny(missing_docs)]

use std::time::Duration;

use criterion::Criterion;

pub mod alloc_counter;
pub mod litecord_naive;
pub mod ptpchat_naive;
pub mod regnode_fixtures;
pub mod tachyon_corpus;
pub mod tachyon_naive;
pub mod tipt_naive;

/// The settings every benchmark runs with: short enough for the whole suite to
/// run in minutes on two cores, with samples enough for stable medians.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}
