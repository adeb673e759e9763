//! Regnode root packets: decode and encode per type and layout against a plain copy
//! of the same bytes (the floor of anything that reads every byte), allocations per
//! decode and encode, Ed25519 verification on its own, and the peer's bytes held per
//! registered client.

use std::hint::black_box;

use benches::alloc_counter::{CountingAllocator, allocations_during, bytes_held_during};
use benches::regnode_fixtures::{datagrams, identity, peer_and_registers, register_all};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proto_core::seeded_rng;
use regnode_proto::{Body, CertificateScheme, Signer, X509Ed25519, decode, encode, signed_message};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn report() {
    println!("allocations per decode / per encode into a reused buffer:");
    let mut out = Vec::with_capacity(4096);
    let mut rng = seeded_rng(1);
    for (name, bytes) in datagrams() {
        let (_, decoding) = allocations_during(|| decode(&bytes).map(|p| p.timestamp));
        let Ok(packet) = decode(&bytes) else {
            continue;
        };
        out.clear();
        let (_, encoding) = allocations_during(|| encode(&packet, &mut rng, &mut out));
        println!(
            "  {name:<22} {decoding:>2} / {encoding:>2}   ({} B)",
            bytes.len()
        );
    }
    for n in [100u32, 1000] {
        let (mut peer, registers, now) = peer_and_registers(n);
        let (accepted, held) = bytes_held_during(|| register_all(&mut peer, &registers, now));
        println!(
            "peer: {accepted} clients registered hold {held} B: {} B per client",
            held / i64::from(n)
        );
    }
}

fn codec_benches(c: &mut Criterion) {
    report();
    let mut copy = vec![0u8; 4096];
    for (name, bytes) in datagrams() {
        let mut group = c.benchmark_group(format!("regnode/decode/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| decode(black_box(&bytes)).map(|p| p.timestamp))
        });
        group.bench_function("copy_floor", |b| {
            b.iter(|| {
                let into = &mut copy[..bytes.len()];
                into.copy_from_slice(black_box(&bytes));
                black_box(into.first().copied())
            })
        });
        group.finish();
        let Ok(packet) = decode(&bytes) else {
            continue;
        };
        let mut out = Vec::with_capacity(4096);
        let mut rng = seeded_rng(2);
        let mut group = c.benchmark_group(format!("regnode/encode/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| {
                out.clear();
                encode(black_box(&packet), &mut rng, &mut out)
            })
        });
        group.bench_function("copy_floor", |b| {
            b.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(&bytes));
            })
        });
        group.finish();
    }
}

fn signature_benches(c: &mut Criterion) {
    let client = identity(1);
    let body = Body::ClientEvent {
        fingerprint: &[7; 32],
        payload: &[0x5a; 100],
    };
    let mut message = Vec::new();
    let _ = signed_message(1_700_000_000, &body, &mut message);
    let signature = client.sign(&message);
    let Ok(verifier) = X509Ed25519.verifier(client.certificate()) else {
        return;
    };
    let mut group = c.benchmark_group("regnode/signature");
    group.bench_function("verify_client_event", |b| {
        b.iter(|| verifier.verify(black_box(&message), black_box(&signature)))
    });
    group.bench_function("sign_client_event", |b| {
        b.iter(|| client.sign(black_box(&message)))
    });
    group.bench_function("check_certificate", |b| {
        b.iter(|| {
            X509Ed25519
                .verifier(black_box(client.certificate()))
                .is_ok()
        })
    });
    group.finish();
}

criterion_group! {
    name = regnode;
    config = benches::criterion_config();
    targets = codec_benches, signature_benches
}
criterion_main!(regnode);
