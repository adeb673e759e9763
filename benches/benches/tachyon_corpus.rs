//! Tachyon decode throughput over whole corpora: every official example, and a
//! generated corpus of about 1 MB. Typed decode, the naive `Value` baseline and the
//! `IgnoredAny` floor run in one group on the same frames; encode beside them.

use std::hint::black_box;

use benches::tachyon_corpus;
use benches::tachyon_naive::{floor_decode, naive_decode, naive_encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tachyon_proto::{decode_slice, encode_into};

fn corpus_benches(c: &mut Criterion) {
    let official = tachyon_corpus::official();
    if official.is_none() {
        println!(
            "SKIPPED the official examples: {} is missing",
            tachyon_corpus::examples_dir().display()
        );
    }
    let corpora = [
        ("official", official.unwrap_or_default()),
        ("generated", tachyon_corpus::generated()),
    ];
    for (name, frames) in &corpora {
        if frames.is_empty() {
            continue;
        }
        let mut group = c.benchmark_group(format!("tachyon/corpus/{name}"));
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| {
                frames
                    .iter()
                    .filter(|frame| decode_slice(black_box(frame.as_bytes())).is_ok())
                    .count()
            })
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| {
                frames
                    .iter()
                    .filter(|frame| naive_decode(black_box(frame.as_bytes())).is_some())
                    .count()
            })
        });
        group.bench_function("floor_ignored_any", |b| {
            b.iter(|| {
                frames
                    .iter()
                    .filter(|frame| floor_decode(black_box(frame.as_bytes())))
                    .count()
            })
        });
        let commands: Vec<_> = frames
            .iter()
            .filter_map(|frame| decode_slice(frame.as_bytes()).ok())
            .collect();
        let values: Vec<_> = frames
            .iter()
            .filter_map(|frame| naive_decode(frame.as_bytes()))
            .collect();
        let mut buffer = Vec::with_capacity(1 << 16);
        group.bench_function("encode_typed_into", |b| {
            b.iter(|| {
                for command in &commands {
                    buffer.clear();
                    encode_into(black_box(command), &mut buffer);
                }
            })
        });
        group.bench_function("encode_naive_value", |b| {
            b.iter(|| {
                values
                    .iter()
                    .map(|value| naive_encode(black_box(value)).len())
                    .sum::<usize>()
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = tachyon_corpus;
    config = benches::criterion_config();
    targets = corpus_benches
}
criterion_main!(tachyon_corpus);
