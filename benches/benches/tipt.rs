//! Tipt decode and encode of every packet: typed vs the naive `rmpv::Value`
//! baseline vs the `IgnoredAny` floor, with allocations per decode counted first.
//! The 2 MB FORWARD shows the payload is borrowed, never copied.

use std::hint::black_box;

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::tipt_naive::{
    floor_decode, frames, naive_decode, naive_encode, naive_value, typed_decode,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tipt_proto::{decode_to_node, encode, encode_into};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn report_allocations() {
    println!("allocations per decode (typed / naive rmpv::Value / IgnoredAny floor):");
    for (name, packet, frame) in frames() {
        let (_, typed) = allocations_during(|| typed_decode(packet, &frame));
        let (_, naive) = allocations_during(|| naive_decode(&frame));
        let (_, floor) = allocations_during(|| floor_decode(&frame));
        println!(
            "  {name:<22} {typed:>5} / {naive:>5} / {floor:>5}   ({} bytes)",
            frame.len()
        );
    }
}

fn decode_benches(c: &mut Criterion) {
    report_allocations();
    for (name, packet, frame) in frames() {
        let mut group = c.benchmark_group(format!("tipt/decode/{name}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| typed_decode(packet, black_box(&frame)))
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_decode(black_box(&frame)))
        });
        group.bench_function("floor_ignored_any", |b| {
            b.iter(|| floor_decode(black_box(&frame)))
        });
        group.finish();
    }
}

fn encode_benches(c: &mut Criterion) {
    for (name, _, frame) in frames() {
        let (Ok(typed), Some(value)) = (decode_to_node(&frame), naive_value(&frame)) else {
            continue;
        };
        let mut group = c.benchmark_group(format!("tipt/encode/{name}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function("typed", |b| b.iter(|| encode(black_box(&typed))));
        // A sender that keeps one buffer for every frame: no allocation once warm.
        let mut buffer = Vec::with_capacity(frame.len() * 2);
        group.bench_function("typed_into", |b| {
            b.iter(|| {
                buffer.clear();
                encode_into(black_box(&typed), &mut buffer);
                buffer.len()
            })
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_encode(black_box(&value)))
        });
        group.finish();
    }
}

criterion_group! {
    name = tipt;
    config = benches::criterion_config();
    targets = decode_benches, encode_benches
}
criterion_main!(tipt);
