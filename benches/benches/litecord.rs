//! Litebridge decode and encode per op: typed vs the naive `Value` baseline vs the
//! `IgnoredAny` floor, with allocations per decode counted first.

use std::hint::black_box;

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::litecord_naive::{FRAMES, floor_decode, naive_decode, naive_encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use litecord_proto::{decode, encode};
use proto_core::Limits;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn report_allocations() {
    let limits = Limits::default();
    println!("allocations per decode (typed / naive Value / IgnoredAny floor):");
    for (name, frame) in FRAMES {
        let (_, typed) = allocations_during(|| decode(frame.as_bytes(), &limits));
        let (_, naive) = allocations_during(|| naive_decode(frame.as_bytes()));
        let (_, floor) = allocations_during(|| floor_decode(frame.as_bytes()));
        println!("  {name:<14} {typed:>3} / {naive:>3} / {floor:>3}");
    }
}

fn decode_benches(c: &mut Criterion) {
    report_allocations();
    let limits = Limits::default();
    for (name, frame) in FRAMES {
        let mut group = c.benchmark_group(format!("litecord/decode/{name}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| decode(black_box(frame.as_bytes()), &limits).map(|m| m.op()))
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
    let limits = Limits::default();
    for (name, frame) in FRAMES {
        let Ok(message) = decode(frame.as_bytes(), &limits) else {
            continue;
        };
        let Some(naive) = naive_decode(frame.as_bytes()) else {
            continue;
        };
        let mut group = c.benchmark_group(format!("litecord/encode/{name}"));
        group.bench_function("typed", |b| b.iter(|| encode(black_box(&message))));
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_encode(black_box(&naive)))
        });
        group.finish();
    }
}

criterion_group! {
    name = litecord;
    config = benches::criterion_config();
    targets = decode_benches, encode_benches
}
criterion_main!(litecord);
