//! Networks of nodes in the simulator: lines, rings and lossy meshes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use proto_core::{LinkId, seeded_rng};
use proto_sim::{LinkConfig, NodeId as SimNode, Sim};
use ptpchat_proto::{Body, ChatMessage, DownReason, Event, MsgId, Node, NodeConfig, NodeId, Verb};
use rand::RngExt;
use uuid::Uuid;

type Handle = SimNode<Node>;

fn id(n: usize) -> NodeId {
    Uuid::from_u128(0x1000 + n as u128)
}

fn config(n: usize) -> NodeConfig {
    let mut config = NodeConfig::new(id(n));
    config.punch_port = 40_000 + n as u16;
    config
}

fn text(message: &[u8]) -> Body {
    Body::Message(ChatMessage {
        recipient: vec![],
        timestamp: None,
        channel: None,
        channel_id: None,
        message: message.to_vec(),
        attachment: vec![],
    })
}

fn link() -> LinkConfig {
    LinkConfig::ideal(Duration::from_millis(5))
}

/// `n` nodes, each with its own seed.
fn nodes(sim: &mut Sim, n: usize, configure: impl Fn(&mut NodeConfig)) -> Vec<Handle> {
    (0..n)
        .map(|i| {
            let mut config = config(i);
            configure(&mut config);
            sim.add(Node::new(config, seeded_rng(i as u64)))
        })
        .collect()
}

/// Links `pairs` with TCP-like links; returns each pair's two link ids.
fn wire(sim: &mut Sim, nodes: &[Handle], pairs: &[(usize, usize)]) -> Vec<(LinkId, LinkId)> {
    pairs
        .iter()
        .map(|&(a, b)| sim.connect(nodes[a], nodes[b], link()))
        .collect()
}

/// Runs until every node has a route to every other.
fn converge(sim: &mut Sim, nodes: &[Handle]) {
    let ids: Vec<NodeId> = (0..nodes.len()).map(id).collect();
    let nodes = nodes.to_vec();
    sim.run_until(Duration::from_secs(60), |sim| {
        nodes.iter().enumerate().all(|(i, &node)| {
            let machine = sim.machine(node);
            ids.iter()
                .enumerate()
                .all(|(j, target)| i == j || machine.route(target).is_some())
        })
    })
    .unwrap();
}

/// Every event of every node, drained.
fn drain(sim: &mut Sim, nodes: &[Handle]) -> Vec<Vec<Event>> {
    nodes.iter().map(|&node| sim.events(node)).collect()
}

/// How many times each node received message `msg_id`.
fn receipts(events: &[Vec<Event>], msg_id: MsgId) -> Vec<usize> {
    events
        .iter()
        .map(|events| {
            events
                .iter()
                .filter(|event| {
                    matches!(event, Event::Received { message, .. }
                        if message.envelope.msg_id == Some(msg_id))
                })
                .count()
        })
        .collect()
}

fn nacks(events: &[Event]) -> Vec<(MsgId, Option<NodeId>)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Nacked { msg_id, by } => Some((*msg_id, *by)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_line_routes_a_message_end_to_end_and_the_ack_returns() {
    let mut sim = Sim::new(1);
    let line = nodes(&mut sim, 6, |_| {});
    wire(&mut sim, &line, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
    converge(&mut sim, &line);
    assert_eq!(sim.machine(line[0]).route(&id(5)).unwrap().hops, 5);
    drain(&mut sim, &line);

    let now = sim.now();
    let msg_id = sim.machine(line[0]).send(now, id(5), text(b"hi")).unwrap();
    sim.run_until(Duration::from_secs(5), |sim| {
        sim.machine(line[0]).table_sizes().pending_acks == 0
    })
    .unwrap();
    let events = drain(&mut sim, &line);
    assert_eq!(receipts(&events, msg_id), [0, 0, 0, 0, 0, 1]);
    assert!(events[0].contains(&Event::Acked {
        msg_id,
        by: Some(id(5))
    }));
    let relayed: u64 = line[1..5]
        .iter()
        .map(|&node| sim.machine(node).stats().relayed)
        .sum();
    assert!(relayed >= 8, "4 relays out, 4 back: {relayed}");
    for &node in &line {
        assert_eq!(sim.machine(node).stats().nacks_sent, 0);
    }
}

#[test]
fn a_flood_reaches_every_node_of_a_ring_exactly_once() {
    let mut sim = Sim::new(2);
    let ring = nodes(&mut sim, 7, |_| {});
    let pairs: Vec<(usize, usize)> = (0..7).map(|i| (i, (i + 1) % 7)).collect();
    wire(&mut sim, &ring, &pairs);
    converge(&mut sim, &ring);
    drain(&mut sim, &ring);

    let now = sim.now();
    let msg_id = sim.machine(ring[3]).flood(now, text(b"all")).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    let events = drain(&mut sim, &ring);
    assert_eq!(receipts(&events, msg_id), [1, 1, 1, 0, 1, 1, 1]);
    // The two copies meet on the far side of the ring: one is dropped there.
    let duplicates: u64 = ring
        .iter()
        .map(|&node| sim.machine(node).stats().duplicates)
        .sum();
    assert!(duplicates >= 1, "{duplicates}");
    let flooded = sim
        .trace()
        .iter()
        .filter(|delivery| String::from_utf8_lossy(&delivery.bytes).contains(&msg_id.to_string()))
        .count();
    // Each node passes it on once, the origin twice; no ACKs answer a flood.
    assert_eq!(flooded, 8);
}

#[test]
fn ttl_expiry_gives_exactly_one_nack() {
    let mut sim = Sim::new(3);
    let line = nodes(&mut sim, 6, |_| {});
    wire(&mut sim, &line, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
    converge(&mut sim, &line);
    drain(&mut sim, &line);

    let now = sim.now();
    let msg_id = sim
        .machine(line[0])
        .send_with_ttl(now, id(5), text(b"short"), 2)
        .unwrap();
    sim.run_for(Duration::from_secs(2)).unwrap();
    let events = drain(&mut sim, &line);
    assert_eq!(receipts(&events, msg_id), [0; 6]);
    // Node 1 passed it on with ttl 1; node 2 could not.
    assert_eq!(nacks(&events[0]), [(msg_id, Some(id(2)))]);
    let nacks_sent: Vec<u64> = line
        .iter()
        .map(|&node| sim.machine(node).stats().nacks_sent)
        .collect();
    assert_eq!(nacks_sent, [0, 0, 1, 0, 0, 0]);
    assert_eq!(sim.machine(line[2]).stats().ttl_expired, 1);
}

#[test]
fn routes_through_a_lost_link_are_withdrawn() {
    let mut sim = Sim::new(4);
    let line = nodes(&mut sim, 5, |_| {});
    let links = wire(&mut sim, &line, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
    converge(&mut sim, &line);
    drain(&mut sim, &line);

    // Cut 2–3: node 2 loses 3 and 4 at once; node 0 as soon as node 1 re-advertises.
    sim.cut(line[2], links[2].0);
    assert_eq!(sim.machine(line[2]).route(&id(3)), None);
    assert_eq!(sim.machine(line[2]).route(&id(4)), None);
    assert_eq!(
        sim.events(line[2])
            .into_iter()
            .filter(|event| matches!(
                event,
                Event::NeighbourDown {
                    reason: DownReason::Closed,
                    node_id: Some(node),
                    ..
                } if *node == id(3)
            ))
            .count(),
        1
    );
    sim.run_until(Duration::from_secs(2), |sim| {
        sim.machine(line[0]).route(&id(4)).is_none()
    })
    .unwrap();
    // And it stays withdrawn: no count to infinity.
    sim.run_for(Duration::from_secs(20)).unwrap();
    for &node in &line[..3] {
        assert_eq!(sim.machine(node).route(&id(3)), None);
        assert_eq!(sim.machine(node).route(&id(4)), None);
    }
    assert_eq!(sim.machine(line[0]).route(&id(2)).unwrap().hops, 2);
}

#[test]
fn a_queued_message_is_delivered_once_a_route_appears() {
    let mut sim = Sim::new(5);
    let all = nodes(&mut sim, 5, |_| {});
    // 0–1–2–3 now; 4 joins 3 later.
    wire(&mut sim, &all, &[(0, 1), (1, 2), (2, 3)]);
    converge(&mut sim, &all[..4]);
    drain(&mut sim, &all);

    let now = sim.now();
    let msg_id = sim
        .machine(all[0])
        .send(now, id(4), text(b"later"))
        .unwrap();
    // The sender has no route: it queues the message and NACKs it to itself.
    assert_eq!(nacks(&sim.events(all[0])), [(msg_id, Some(id(0)))]);
    assert_eq!(sim.machine(all[0]).table_sizes().queue, 1);

    sim.run_for(Duration::from_secs(1)).unwrap();
    wire(&mut sim, &all, &[(3, 4)]);
    sim.run_until(Duration::from_secs(10), |sim| {
        sim.machine(all[0]).table_sizes().pending_acks == 0
    })
    .unwrap();
    let events = drain(&mut sim, &all);
    assert_eq!(receipts(&events, msg_id), [0, 0, 0, 0, 1]);
    assert!(events[0].contains(&Event::Acked {
        msg_id,
        by: Some(id(4))
    }));
    assert_eq!(sim.machine(all[0]).table_sizes().queue, 0);
}

#[test]
fn an_unacknowledged_send_is_reported() {
    let mut sim = Sim::new(6);
    let pair = nodes(&mut sim, 2, |config| {
        config.ack_timeout = Duration::from_secs(3)
    });
    let links = wire(&mut sim, &pair, &[(0, 1)]);
    converge(&mut sim, &pair);
    drain(&mut sim, &pair);
    // The link dies before the message can cross it.
    let now = sim.now();
    let msg_id = sim
        .machine(pair[0])
        .send(now, id(1), text(b"lost"))
        .unwrap();
    sim.cut(pair[0], links[0].0);
    sim.run_for(Duration::from_secs(4)).unwrap();
    let events = sim.events(pair[0]);
    assert!(events.contains(&Event::Unacknowledged {
        msg_id,
        target: id(1)
    }));
}

/// 10 nodes over UDP in a random mesh, with loss, duplication and reordering.
#[test]
fn a_lossy_mesh_delivers_each_flood_at_most_once_and_routes_around() {
    let mut sim = Sim::new(7);
    sim.set_datagram_default(LinkConfig {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        loss: 0.05,
        duplicate: 0.05,
        reorder: 0.1,
    });
    let n = 10;
    let addr = |i: usize| -> SocketAddr { format!("10.0.0.{}:7000", i + 1).parse().unwrap() };
    let mesh: Vec<Handle> = (0..n)
        .map(|i| sim.add_at(Node::new(config(i), seeded_rng(i as u64)), addr(i)))
        .collect();
    // A ring for connectivity plus random chords.
    let mut rng = seeded_rng(99);
    let mut pairs: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    for _ in 0..6 {
        let a = rng.random_range(0..n);
        let b = rng.random_range(0..n);
        if a != b {
            pairs.push((a, b));
        }
    }
    let now = sim.now();
    for &(a, b) in &pairs {
        sim.machine(mesh[a]).add_peer(now, addr(b)).unwrap();
    }
    converge(&mut sim, &mesh);
    drain(&mut sim, &mesh);

    let mut delivered = 0;
    for round in 0..5 {
        let origin = mesh[round * 2];
        let now = sim.now();
        let msg_id = sim.machine(origin).flood(now, text(b"mesh")).unwrap();
        sim.run_for(Duration::from_secs(1)).unwrap();
        let events = drain(&mut sim, &mesh);
        let counts = receipts(&events, msg_id);
        assert!(counts.iter().all(|&count| count <= 1), "{counts:?}");
        assert_eq!(counts[round * 2], 0);
        delivered += counts.iter().sum::<usize>();
    }
    // With 5% loss and several paths to each node, every node got every flood.
    assert_eq!(delivered, 5 * (n - 1));

    // A directed message crosses the mesh and is acknowledged despite the loss
    // of the moment (retried by the application on Unacknowledged).
    let now = sim.now();
    let msg_id = sim.machine(mesh[0]).send(now, id(5), text(b"far")).unwrap();
    sim.run_for(Duration::from_secs(2)).unwrap();
    let events = drain(&mut sim, &mesh);
    assert!(receipts(&events, msg_id)[5] <= 1);
    let duplicates: u64 = mesh
        .iter()
        .map(|&node| sim.machine(node).stats().duplicates)
        .sum();
    assert!(duplicates > 0);
    let (nacks, relayed): (u64, u64) = mesh.iter().fold((0, 0), |(n, r), &node| {
        let stats = sim.machine(node).stats();
        (n + stats.nacks_sent, r + stats.relayed)
    });
    println!(
        "lossy mesh of {n}: {delivered} flood deliveries of 5 x {}, duplicates dropped \
         {duplicates}, relayed {relayed}, NACKs {nacks}",
        n - 1
    );
}

#[test]
fn no_table_grows_without_bound_under_a_flood_of_distinct_ids() {
    let mut sim = Sim::new(8);
    let line = nodes(&mut sim, 5, |config| {
        config.max_seen = 64;
        config.max_queue = 16;
        config.limits.max_pending = 32;
    });
    wire(&mut sim, &line, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
    converge(&mut sim, &line);
    for batch in 0..20 {
        let now = sim.now();
        for i in 0..50 {
            let machine = sim.machine(line[batch % 5]);
            machine.flood(now, text(b"x")).unwrap();
            // Messages to nowhere fill the queue, and (unanswered) the pending table.
            let _ = machine.send(now, Uuid::from_u128(i), text(b"y"));
        }
        sim.run_for(Duration::from_millis(200)).unwrap();
        drain(&mut sim, &line);
    }
    for &node in &line {
        let sizes = sim.machine(node).table_sizes();
        assert!(sizes.seen <= 64, "{sizes:?}");
        assert!(sizes.queue <= 16, "{sizes:?}");
        assert!(sizes.pending_acks <= 32, "{sizes:?}");
        assert_eq!(sizes.routes, 4);
        assert!(sizes.links <= 2, "{sizes:?}");
    }
    let stats = sim.machine(line[2]).stats();
    assert_eq!(
        stats.delivered, 800,
        "4 other origins x 4 batches x 50 floods"
    );
}

#[test]
fn channels_keep_membership_and_apply_the_join_and_leave_rules() {
    let mut sim = Sim::new(9);
    let line = nodes(&mut sim, 4, |config| {
        config.channel_interval = Duration::from_secs(3);
    });
    wire(&mut sim, &line, &[(0, 1), (1, 2), (2, 3)]);
    converge(&mut sim, &line);
    drain(&mut sim, &line);

    let now = sim.now();
    let channel = sim
        .machine(line[0])
        .create_channel(now, "general", false)
        .unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    for &node in &line {
        assert_eq!(
            sim.machine(node).channel_members(&channel),
            Some(vec![id(0)])
        );
    }
    let now = sim.now();
    sim.machine(line[3]).join_channel(now, channel).unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert_eq!(
        sim.machine(line[0]).channel_members(&channel),
        Some(vec![id(0), id(3)])
    );
    let now = sim.now();
    sim.machine(line[3]).leave_channel(now, channel).unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert_eq!(
        sim.machine(line[0]).channel_members(&channel),
        Some(vec![id(0)])
    );
    drain(&mut sim, &line);
    sim.run_for(Duration::from_secs(4)).unwrap();
    let events = drain(&mut sim, &line);
    // The periodic CHANNEL still reaches node 3, which no longer answers it.
    let listings = events[3]
        .iter()
        .filter(|event| matches!(event, Event::Received { message, .. } if message.verb() == Verb::Channel))
        .count();
    assert!(listings >= 1, "the periodic CHANNEL arrived");
    assert_eq!(
        sim.machine(line[3]).channel_members(&channel),
        Some(vec![id(0)])
    );
    assert_eq!(
        sim.machine(line[0]).channel_members(&channel),
        Some(vec![id(0)])
    );
}

#[test]
fn connect_rendezvous_latest_form_tells_both_ends_where_to_punch() {
    let mut sim = Sim::new(11);
    // A – S – B, over TCP; S knows the addresses it sees A and B from.
    let abs = nodes(&mut sim, 3, |_| {});
    let (a, s, b) = (abs[0], abs[1], abs[2]);
    let links = wire(&mut sim, &abs, &[(0, 1), (1, 2)]);
    converge(&mut sim, &abs);
    let a_seen: SocketAddr = "198.51.100.1:50001".parse().unwrap();
    let b_seen: SocketAddr = "203.0.113.2:50002".parse().unwrap();
    sim.machine(s)
        .set_observed_addr(proto_core::Peer::Link(links[0].1), a_seen)
        .unwrap();
    sim.machine(s)
        .set_observed_addr(proto_core::Peer::Link(links[1].0), b_seen)
        .unwrap();
    drain(&mut sim, &abs);

    sim.machine(a).connect(id(1), id(2)).unwrap();
    sim.run_for(Duration::from_millis(100)).unwrap();
    let punches = |events: Vec<Event>| -> Vec<Event> {
        events
            .into_iter()
            .filter(|event| matches!(event, Event::Punch { .. }))
            .collect()
    };
    // B punches A's observed IP at A's punch port; A punches B's likewise.
    assert_eq!(
        punches(sim.events(b)),
        [Event::Punch {
            node_id: Some(id(0)),
            addr: "198.51.100.1:40000".parse().unwrap()
        }]
    );
    assert_eq!(
        punches(sim.events(a)),
        [Event::Punch {
            node_id: Some(id(2)),
            addr: "203.0.113.2:40002".parse().unwrap()
        }]
    );
    assert_eq!(punches(sim.events(s)), []);
    assert!(sim.errors(s).is_empty());
}

#[test]
fn connect_rendezvous_early_form_over_udp() {
    let mut sim = Sim::new(12);
    let addr = |i: usize| -> SocketAddr { format!("192.0.2.{}:6000", i + 1).parse().unwrap() };
    let abs: Vec<Handle> = (0..3)
        .map(|i| {
            let mut config = config(i);
            config.generation = ptpchat_proto::Generation::Early;
            sim.add_at(Node::new(config, seeded_rng(i as u64)), addr(i))
        })
        .collect();
    let now = sim.now();
    sim.machine(abs[0]).add_peer(now, addr(1)).unwrap();
    sim.machine(abs[2]).add_peer(now, addr(1)).unwrap();
    sim.run_for(Duration::from_millis(100)).unwrap();
    drain(&mut sim, &abs);

    sim.machine(abs[0])
        .connect_early(proto_core::Peer::Addr(addr(1)), addr(2).ip())
        .unwrap();
    sim.run_for(Duration::from_millis(100)).unwrap();
    let events = drain(&mut sim, &abs);
    assert!(events[2].contains(&Event::Punch {
        node_id: None,
        addr: "192.0.2.1:40000".parse().unwrap()
    }));
    assert!(events[0].contains(&Event::Punch {
        node_id: None,
        addr: "192.0.2.3:40002".parse().unwrap()
    }));
    // The early generation has no ids: HELLOs carry nothing, and nothing routes.
    assert_eq!(sim.machine(abs[1]).routes(), []);
}

#[test]
fn early_generation_neighbours_stay_up_on_hellos_and_time_out_when_silent() {
    let mut sim = Sim::new(13);
    let addr = |i: usize| -> SocketAddr { format!("192.0.2.{}:6000", i + 1).parse().unwrap() };
    let pair: Vec<Handle> = (0..2)
        .map(|i| {
            let mut config = config(i);
            config.generation = ptpchat_proto::Generation::Early;
            sim.add_at(Node::new(config, seeded_rng(i as u64)), addr(i))
        })
        .collect();
    let now = sim.now();
    sim.machine(pair[0]).add_peer(now, addr(1)).unwrap();
    sim.run_for(Duration::from_secs(30)).unwrap();
    let events = drain(&mut sim, &pair);
    for (i, events) in events.iter().enumerate() {
        assert_eq!(
            events,
            &[Event::NeighbourUp {
                peer: proto_core::Peer::Addr(addr(1 - i)),
                node_id: None,
                node_type: None,
            }],
            "node {i}"
        );
    }
    // Every HELLO is the early form.
    assert!(
        sim.trace()
            .iter()
            .all(|d| d.bytes == br#"{"msg_type":"HELLO"}"#[..])
    );
    let hellos = sim.trace().len();
    assert!(
        (30..=120).contains(&hellos),
        "0.5–2 s each way for 30 s: {hellos}"
    );

    // Node 1 goes silent: node 0 drops it after the link timeout.
    sim.set_datagram_path(
        addr(1),
        addr(0),
        LinkConfig {
            loss: 1.0,
            ..link()
        },
    );
    sim.run_for(Duration::from_secs(8)).unwrap();
    assert_eq!(
        sim.events(pair[0]),
        [Event::NeighbourDown {
            peer: proto_core::Peer::Addr(addr(1)),
            node_id: None,
            reason: DownReason::Silent,
        }]
    );
}
