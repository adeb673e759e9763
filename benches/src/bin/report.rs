//! `cargo run --release -p benches --bin report`: the decode ratio table of the
//! README, from one run.
//!
//! Every decoder of a row is timed on the same frames, in interleaved samples (so
//! a burst of load elsewhere on the machine hits them all alike), and the median
//! sample counts. The ratios are what compare across machines and runs; the
//! absolute rates only describe this run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::{litecord_naive, tachyon_corpus, tachyon_naive};
use proto_core::Limits;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Samples per decoder; the median is reported.
const SAMPLES: usize = 31;
/// The least time one sample takes: repeated passes over the corpus fill it.
const SAMPLE_TIME: Duration = Duration::from_millis(6);

fn main() {
    let official = tachyon_corpus::official();
    if official.is_none() {
        println!(
            "SKIPPED the official examples: {} is missing",
            tachyon_corpus::examples_dir().display()
        );
    }
    let generated = tachyon_corpus::generated();
    println!("Tachyon decode, commands per second (median of {SAMPLES} interleaved samples):\n");
    println!(
        "| corpus | typed `decode` | `Value` | `IgnoredAny` floor | decode ÷ floor | decode ÷ `Value` | allocations per decode (typed / `Value`) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let corpora = [
        ("official examples", official.unwrap_or_default()),
        ("generated", generated),
    ];
    for (name, frames) in &corpora {
        if frames.is_empty() {
            continue;
        }
        let bytes: usize = frames.iter().map(String::len).sum();
        let [typed, value, floor] = rates(
            frames,
            [
                &|frame: &[u8]| tachyon_proto::decode_slice(frame).is_ok(),
                &|frame: &[u8]| tachyon_naive::naive_decode(frame).is_some(),
                &|frame: &[u8]| tachyon_naive::floor_decode(frame),
            ],
        );
        let typed_allocations =
            allocations_per_frame(frames, |frame| tachyon_proto::decode_slice(frame).is_ok());
        let value_allocations =
            allocations_per_frame(frames, |frame| tachyon_naive::naive_decode(frame).is_some());
        println!(
            "| {name} ({} frames, {} KB) | {} | {} | {} | {:.2} | {:.2} | {typed_allocations:.1} / {value_allocations:.1} |",
            frames.len(),
            bytes / 1000,
            per_second(typed),
            per_second(value),
            per_second(floor),
            typed / floor,
            typed / value,
        );
    }

    println!("\nTachyon encode, commands per second:\n");
    println!("| corpus | typed `encode_into` | `Value` to text | typed ÷ `Value` |");
    println!("|---|---|---|---|");
    for (name, frames) in &corpora {
        let commands: Vec<_> = frames
            .iter()
            .filter_map(|frame| tachyon_proto::decode(frame).ok())
            .collect();
        let values: Vec<_> = frames
            .iter()
            .filter_map(|frame| tachyon_naive::naive_decode(frame.as_bytes()))
            .collect();
        if commands.is_empty() {
            continue;
        }
        let mut buffer = Vec::with_capacity(1 << 16);
        let [typed, value] = interleaved(
            commands.len(),
            [
                &mut || {
                    for command in &commands {
                        buffer.clear();
                        tachyon_proto::encode_into(black_box(command), &mut buffer);
                    }
                },
                &mut || {
                    for value in &values {
                        black_box(tachyon_naive::naive_encode(black_box(value)));
                    }
                },
            ],
        );
        println!(
            "| {name} | {} | {} | {:.2} |",
            per_second(typed),
            per_second(value),
            typed / value
        );
    }

    println!("\nLitebridge decode per op, frames per second:\n");
    println!(
        "| op | typed `decode` | `Value` | `IgnoredAny` floor | decode ÷ floor | decode ÷ `Value` | allocations (typed / `Value`) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let limits = Limits::default();
    for (name, frame) in litecord_naive::FRAMES {
        let frames = [frame.to_owned()];
        let [typed, value, floor] = rates(
            &frames,
            [
                &|frame: &[u8]| litecord_proto::decode(frame, &limits).is_ok(),
                &|frame: &[u8]| litecord_naive::naive_decode(frame).is_some(),
                &|frame: &[u8]| litecord_naive::floor_decode(frame),
            ],
        );
        let typed_allocations = allocations_per_frame(&frames, |frame| {
            litecord_proto::decode(frame, &limits).is_ok()
        });
        let value_allocations = allocations_per_frame(&frames, |frame| {
            litecord_naive::naive_decode(frame).is_some()
        });
        println!(
            "| {name} | {} | {} | {} | {:.2} | {:.2} | {typed_allocations:.0} / {value_allocations:.0} |",
            per_second(typed),
            per_second(value),
            per_second(floor),
            typed / floor,
            typed / value,
        );
    }
}

/// A decoder under test: whether it accepted the frame.
type Decoder<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Frames per second of each decoder over `frames`.
fn rates<const N: usize>(frames: &[String], decoders: [Decoder<'_>; N]) -> [f64; N] {
    let mut passes = decoders.map(|decode| {
        move || {
            let mut accepted = 0usize;
            for frame in frames {
                accepted += usize::from(decode(black_box(frame.as_bytes())));
            }
            black_box(accepted);
        }
    });
    let mut runs: Vec<&mut dyn FnMut()> = passes
        .iter_mut()
        .map(|pass| pass as &mut dyn FnMut())
        .collect();
    interleaved_dyn(frames.len(), &mut runs)
        .try_into()
        .unwrap_or([0.0; N])
}

/// Items per second of each pass (each handles `items` items), sampled in turn.
fn interleaved<const N: usize>(items: usize, mut passes: [&mut dyn FnMut(); N]) -> [f64; N] {
    interleaved_dyn(items, &mut passes)
        .try_into()
        .unwrap_or([0.0; N])
}

fn interleaved_dyn(items: usize, passes: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    // Warm up, and find how many passes fill a sample for the slowest one.
    let mut repeat = 1u32;
    for pass in passes.iter_mut() {
        pass();
        let start = Instant::now();
        pass();
        let once = start.elapsed().max(Duration::from_nanos(1));
        let needed = (SAMPLE_TIME.as_nanos() / once.as_nanos()).max(1);
        repeat = repeat.max(u32::try_from(needed).unwrap_or(u32::MAX));
    }
    let mut samples = vec![Vec::with_capacity(SAMPLES); passes.len()];
    for _ in 0..SAMPLES {
        for (pass, samples) in passes.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            for _ in 0..repeat {
                pass();
            }
            samples.push(start.elapsed());
        }
    }
    samples
        .into_iter()
        .map(|mut samples| {
            samples.sort();
            let median = samples[samples.len() / 2].as_secs_f64();
            (items as f64 * f64::from(repeat)) / median
        })
        .collect()
}

/// Heap allocations per frame of `decode` over `frames`.
fn allocations_per_frame(frames: &[String], decode: impl Fn(&[u8]) -> bool) -> f64 {
    let ((), allocations) = allocations_during(|| {
        for frame in frames {
            black_box(decode(frame.as_bytes()));
        }
    });
    allocations as f64 / frames.len() as f64
}

/// A rate in M/s or k/s.
fn per_second(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else {
        format!("{:.0} k/s", rate / 1e3)
    }
}
