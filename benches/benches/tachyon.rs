//! Tachyon decode and encode of large frames: typed vs the naive `Value` baseline vs
//! the `IgnoredAny` floor, with allocations per decode counted first.

use std::hint::black_box;

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::tachyon_naive::{floor_decode, frames, naive_decode, naive_encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tachyon_proto::{decode_slice, encode, encode_into};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn report_allocations() {
    println!("allocations per decode (typed / naive Value / IgnoredAny floor):");
    for (name, frame) in frames() {
        let (_, typed) = allocations_during(|| decode_slice(frame.as_bytes()));
        let (_, naive) = allocations_during(|| naive_decode(frame.as_bytes()));
        let (_, floor) = allocations_during(|| floor_decode(frame.as_bytes()));
        println!(
            "  {name:<17} {typed:>5} / {naive:>5} / {floor:>5}   ({} bytes)",
            frame.len()
        );
    }
}

fn decode_benches(c: &mut Criterion) {
    report_allocations();
    for (name, frame) in frames() {
        let mut group = c.benchmark_group(format!("tachyon/decode/{name}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        // Bytes in for all three, so each pays the same UTF-8 check.
        group.bench_function("typed", |b| {
            b.iter(|| decode_slice(black_box(frame.as_bytes())).map(|c| c.command_id()))
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_decode(black_box(frame.as_bytes())))
        });
        group.bench_function("floor_ignored_any", |b| {
            b.iter(|| floor_decode(black_box(frame.as_bytes())))
        });
        group.finish();
    }
}

fn encode_benches(c: &mut Criterion) {
    for (name, frame) in frames() {
        let Ok(command) = decode_slice(frame.as_bytes()) else {
            continue;
        };
        let Some(naive) = naive_decode(frame.as_bytes()) else {
            continue;
        };
        let mut group = c.benchmark_group(format!("tachyon/encode/{name}"));
        group.bench_function("typed", |b| b.iter(|| encode(black_box(&command))));
        // A sender that keeps one buffer for every frame: no allocation once warm.
        let mut buffer = Vec::with_capacity(frame.len() * 2);
        group.bench_function("typed_into", |b| {
            b.iter(|| {
                buffer.clear();
                encode_into(black_box(&command), &mut buffer);
                buffer.len()
            })
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_encode(black_box(&naive)))
        });
        group.finish();
    }
}

criterion_group! {
    name = tachyon;
    config = benches::criterion_config();
    targets = decode_benches, encode_benches
}
criterion_main!(tachyon);
