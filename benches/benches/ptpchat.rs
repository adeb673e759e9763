//! ptpchat: decode and encode per verb (typed vs the naive `Value` baseline vs the
//! `IgnoredAny` floor, allocations counted first), the relay decision per message
//! with 1,000 known routes, and the cost of one flood through a simulated network
//! of 1,000 nodes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::ptpchat_naive::{MESSAGES, floor_decode, naive_decode, naive_encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proto_core::{Data, Input, Jitter, Limits, LinkId, Machine, Peer, seeded_rng};
use proto_sim::{LinkConfig, NodeId as SimNode, Sim};
use ptpchat_proto::{
    Body, ChatMessage, Envelope, Hello, Message, Node, NodeConfig, RouteEntry, Routing, decode,
    encode,
};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn report_allocations() {
    let limits = Limits::default();
    println!("allocations per decode (typed / naive Value / IgnoredAny floor):");
    for (name, text) in MESSAGES {
        let (_, typed) = allocations_during(|| decode(text.as_bytes(), &limits));
        let (_, naive) = allocations_during(|| naive_decode(text.as_bytes()));
        let (_, floor) = allocations_during(|| floor_decode(text.as_bytes()));
        println!("  {name:<15} {typed:>3} / {naive:>3} / {floor:>3}");
    }
}

fn decode_benches(c: &mut Criterion) {
    report_allocations();
    let limits = Limits::default();
    for (name, text) in MESSAGES {
        let mut group = c.benchmark_group(format!("ptpchat/decode/{name}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| decode(black_box(text.as_bytes()), &limits).map(|m| m.verb()))
        });
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_decode(black_box(text.as_bytes())))
        });
        group.bench_function("floor_ignored_any", |b| {
            b.iter(|| floor_decode(black_box(text.as_bytes())))
        });
        group.finish();
    }
}

fn encode_benches(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, text) in MESSAGES {
        let (Ok(message), Some(naive)) = (
            decode(text.as_bytes(), &limits),
            naive_decode(text.as_bytes()),
        ) else {
            continue;
        };
        let mut group = c.benchmark_group(format!("ptpchat/encode/{name}"));
        group.bench_function("typed", |b| b.iter(|| encode(black_box(&message))));
        group.bench_function("naive_value", |b| {
            b.iter(|| naive_encode(black_box(&naive)))
        });
        group.finish();
    }
}

fn node_id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn chat() -> Body {
    Body::Message(ChatMessage {
        recipient: vec![],
        timestamp: None,
        channel: None,
        channel_id: None,
        message: b"a signed chat message of a typical length".to_vec(),
        attachment: vec![],
    })
}

fn hello_from(sender: u128) -> Vec<u8> {
    encode(&Message {
        envelope: Envelope {
            ttl: Some(1),
            flood: Some(false),
            msg_id: Some(node_id(0xaaaa_0000 + sender)),
            sender_id: Some(node_id(sender)),
            target_id: None,
        },
        body: Body::Hello(Hello::default()),
    })
}

/// A node with two neighbours, one of which advertises 1,000 nodes; and MESSAGEs
/// (distinct ids, so none is a duplicate) arriving from the other for those nodes.
fn relay_setup() -> (Node, Vec<Vec<u8>>) {
    let now = Instant::now();
    let mut node = Node::new(NodeConfig::new(node_id(1)), seeded_rng(1));
    let (west, east) = (Peer::Link(LinkId(1)), Peer::Link(LinkId(2)));
    let feed = |node: &mut Node, peer: Peer, bytes: &[u8]| {
        let input = Input::Received {
            from: Some(peer),
            data: Data::Binary(bytes),
        };
        node.handle_input(now, input).map_err(|e| e.to_string())
    };
    for peer in [west, east] {
        let _ = node.handle_input(now, Input::Opened { from: Some(peer) });
    }
    let _ = feed(&mut node, west, &hello_from(2));
    let _ = feed(&mut node, east, &hello_from(3));
    let nodes = (0..1000u32)
        .map(|i| RouteEntry {
            node_id: node_id(10_000 + u128::from(i)),
            hops: 1 + i % 6,
        })
        .collect();
    let routing = encode(&Message {
        envelope: Envelope {
            ttl: Some(1),
            flood: Some(false),
            msg_id: Some(node_id(0xbbbb)),
            sender_id: Some(node_id(2)),
            target_id: None,
        },
        body: Body::Routing(Routing {
            node_id: Some(node_id(2)),
            nodes,
        }),
    });
    let _ = feed(&mut node, west, &routing);
    while node.poll_output().is_some() {}
    assert_eq!(node.routes().len(), 1002, "1,000 advertised + 2 neighbours");
    // Twice the seen-set's size, so every id has been forgotten when it comes round.
    let frames = (0..2 * NodeConfig::new(node_id(0)).max_seen as u128)
        .map(|i| {
            encode(&Message {
                envelope: Envelope {
                    ttl: Some(32),
                    flood: Some(false),
                    msg_id: Some(node_id(0x1_0000_0000 + i)),
                    sender_id: Some(node_id(3)),
                    target_id: Some(node_id(10_000 + i % 1000)),
                },
                body: chat(),
            })
        })
        .collect();
    (node, frames)
}

fn relay_benches(c: &mut Criterion) {
    let (mut node, frames) = relay_setup();
    let now = Instant::now();
    let mut group = c.benchmark_group("ptpchat/relay_1000_routes");
    let mut next = 0;
    group.bench_function("relay", |b| {
        b.iter(|| {
            let frame = &frames[next % frames.len()];
            next += 1;
            let input = Input::Received {
                from: Some(Peer::Link(LinkId(2))),
                data: Data::Binary(black_box(frame)),
            };
            let _ = node.handle_input(now, input);
            let mut sent = 0;
            while node.poll_output().is_some() {
                sent += 1;
            }
            sent
        })
    });
    // What the relay costs beyond reading the message at all.
    group.bench_function("decode_only", |b| {
        b.iter(|| decode(black_box(&frames[0]), &Limits::default()).map(|m| m.verb()))
    });
    group.finish();
    assert_eq!(node.table_sizes().queue, 0, "every message had a route");
}

const NETWORK: usize = 1000;

/// 1,000 nodes: a ring plus 1,000 random chords, over 5 ms links. Timers are set an
/// hour out, so a flood is all that moves; routes are capped at 2 hops to keep the
/// setup short (a flood does not use them).
fn network() -> (Sim, Vec<SimNode<Node>>) {
    let mut sim = Sim::new(1000);
    sim.set_tracing(false);
    let hour = Duration::from_secs(3600);
    let nodes: Vec<SimNode<Node>> = (0..NETWORK)
        .map(|i| {
            let mut config = NodeConfig::new(node_id(1 + i as u128));
            config.hello_interval = Jitter::new(10 * hour, 10 * hour);
            config.link_timeout = 30 * hour;
            config.routing_interval = 10 * hour;
            config.channel_interval = 10 * hour;
            config.max_hops = 2;
            sim.add(Node::new(config, seeded_rng(i as u64)))
        })
        .collect();
    let mut rng = seeded_rng(7);
    let link = LinkConfig::ideal(Duration::from_millis(5));
    for i in 0..NETWORK {
        sim.connect(nodes[i], nodes[(i + 1) % NETWORK], link);
    }
    for _ in 0..NETWORK {
        use rand::RngExt;
        let a = rng.random_range(0..NETWORK);
        let b = rng.random_range(0..NETWORK);
        if a != b {
            sim.connect(nodes[a], nodes[b], link);
        }
    }
    let _ = sim.run_for(Duration::from_secs(2));
    for &node in &nodes {
        let _ = sim.events(node);
    }
    (sim, nodes)
}

/// Floods once from `origin`; returns (deliveries, duplicates dropped, relays).
fn flood_once(sim: &mut Sim, nodes: &[SimNode<Node>], origin: usize) -> (u64, u64, u64) {
    let total = |sim: &mut Sim| {
        nodes.iter().fold((0, 0, 0), |(d, u, r), &node| {
            let stats = sim.machine(node).stats();
            (d + stats.delivered, u + stats.duplicates, r + stats.relayed)
        })
    };
    let before = total(sim);
    let now = sim.now();
    let _ = sim.machine(nodes[origin]).flood(now, chat());
    let _ = sim.run_for(Duration::from_secs(1));
    let after = total(sim);
    (after.0 - before.0, after.1 - before.1, after.2 - before.2)
}

fn flood_benches(c: &mut Criterion) {
    let (mut sim, nodes) = network();
    let (delivered, duplicates, relayed) = flood_once(&mut sim, &nodes, 0);
    println!(
        "one flood through {NETWORK} nodes: delivered {delivered}, duplicates dropped {duplicates}, \
         relayed {relayed}"
    );
    for &node in &nodes {
        let _ = sim.events(node);
    }
    let mut group = c.benchmark_group("ptpchat/flood_1000_nodes");
    group.sample_size(10);
    let mut origin = 1;
    group.bench_function("flood", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let now = sim.now();
                let _ = sim.machine(nodes[origin % NETWORK]).flood(now, chat());
                let _ = sim.run_for(Duration::from_secs(1));
                spent += start.elapsed();
                origin += 1;
                for &node in &nodes {
                    let _ = sim.events(node);
                }
            }
            spent
        })
    });
    group.finish();
}

criterion_group! {
    name = ptpchat;
    config = benches::criterion_config();
    targets = decode_benches, encode_benches, relay_benches, flood_benches
}
criterion_main!(ptpchat);
