//! Shared pieces of the benchmarks: a heap-allocation counter, and the baselines
//! every codec is measured against.
//!
//! Each benchmark reports, in one run, our typed decoder against
//! - the *naive baseline* a user would write without us: parse into
//!   `serde_json::Value`, then pick the fields out;
//! - the *floor*: parse and discard (`serde::de::IgnoredAny`), which no decoder that
//!   reads the whole frame can beat.
#![deny(missing_docs)]

pub mod alloc_counter;
pub mod litecord_naive;
pub mod tachyon_naive;
