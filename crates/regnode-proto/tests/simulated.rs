//! Clients and a peer on a simulated UDP network (proto-sim) with loss, duplication
//! and reordering: registration and its retries, keepalives, expiry, relay, queued
//! delivery, replay refusal, an address change, and a thousand clients.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use proto_core::{Input, Machine, seeded_rng};
use proto_sim::{Fate, LinkConfig, NodeId, Sim};
use regnode_proto::{
    Client, ClientConfig, ClientEvent, DropReason, Identity, InputError, Peer, PeerConfig,
    PeerEvent, ReplayError, Signer, WallClock, X509Ed25519, decode,
};

const UNIX_START: Duration = Duration::from_secs(1_700_000_000);

fn identity(seed: u64) -> Identity {
    Identity::generate(&mut seeded_rng(seed), &format!("node-{seed}"), UNIX_START).unwrap()
}

fn peer_addr() -> SocketAddr {
    "10.0.0.1:4000".parse().unwrap()
}

fn client_addr(n: u32) -> SocketAddr {
    SocketAddr::from(([10, 1, (n >> 8) as u8, n as u8], 5000))
}

struct Net {
    sim: Sim,
    clock: WallClock,
    peer: NodeId<Peer>,
}

impl Net {
    fn new(seed: u64, path: LinkConfig, config: PeerConfig) -> Net {
        let mut sim = Sim::new(seed);
        sim.set_datagram_default(path);
        let clock = WallClock::new(sim.start(), UNIX_START);
        let peer = Peer::new(
            config,
            Box::new(identity(0)),
            Box::new(X509Ed25519),
            clock,
            seeded_rng(seed),
        );
        let peer = sim.add_at(peer, peer_addr());
        Net { sim, clock, peer }
    }

    /// A client with identity `seed` at `addr`, registering now.
    fn client_at(&mut self, seed: u64, addr: SocketAddr, config: ClientConfig) -> NodeId<Client> {
        let peer_verifier = identity(0).certificate_info().verifier();
        let client = Client::new(
            config,
            Box::new(identity(seed)),
            Box::new(peer_verifier),
            self.clock,
            seeded_rng(seed),
        );
        let node = self.sim.add_at(client, addr);
        let now = self.sim.now();
        self.sim.machine(node).network_changed(now);
        node
    }

    fn client(&mut self, seed: u64) -> NodeId<Client> {
        self.client_at(
            seed,
            client_addr(seed as u32),
            ClientConfig::new(peer_addr()),
        )
    }

    fn registered(&mut self, node: NodeId<Client>) -> bool {
        self.sim.machine(node).is_registered(peer_addr())
    }

    /// Datagrams sent from `from` whose type byte is `code`.
    fn sent(&self, from: SocketAddr, code: u8) -> usize {
        self.sim
            .trace()
            .iter()
            .filter(|d| d.from.1 == Some(proto_core::Peer::Addr(from)))
            .filter(|d| d.fate != Fate::Duplicated)
            .filter(|d| decode(&d.bytes).is_ok_and(|p| p.packet_type().code() == code))
            .count()
    }
}

fn lossy() -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(30),
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.2,
    }
}

#[test]
fn registration_survives_loss_and_reordering() {
    let mut net = Net::new(1, lossy(), PeerConfig::default());
    let mut config = ClientConfig::new(peer_addr());
    // A round trip fails one time in three here; twelve tries make giving up rare.
    config.register_attempts = 12;
    let nodes: Vec<_> = (1..=20)
        .map(|seed| net.client_at(seed, client_addr(seed as u32), config))
        .collect();
    net.sim
        .run_until(Duration::from_secs(600), |sim| {
            nodes
                .iter()
                .all(|&n| sim.machine(n).is_registered(peer_addr()))
        })
        .unwrap();
    assert_eq!(net.sim.machine(net.peer).len(), 20);
    for node in nodes {
        let events = net.sim.events(node);
        assert!(events.contains(&ClientEvent::Registered { peer: peer_addr() }));
        assert!(!events.contains(&ClientEvent::PeerUnreachable { peer: peer_addr() }));
    }
}

#[test]
fn unanswered_registration_is_retried_with_backoff_then_the_peer_is_unreachable() {
    let mut net = Net::new(
        2,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let mut config = ClientConfig::new("10.0.0.9:4000".parse().unwrap()); // nobody there
    config.register_attempts = 4;
    let verifier = identity(0).certificate_info().verifier();
    let client = Client::new(
        config,
        Box::new(identity(1)),
        Box::new(verifier),
        net.clock,
        seeded_rng(1),
    );
    let node = net.sim.add_at(client, client_addr(1));
    let now = net.sim.now();
    net.sim.machine(node).network_changed(now);
    let unreachable = ClientEvent::PeerUnreachable {
        peer: "10.0.0.9:4000".parse().unwrap(),
    };
    let mut events = Vec::new();
    let at = net
        .sim
        .run_until(Duration::from_secs(120), |sim| {
            events.extend(sim.events(node));
            events.contains(&unreachable)
        })
        .unwrap();
    assert_eq!(events, [unreachable]);
    let attempts: Vec<Duration> = net
        .sim
        .trace()
        .iter()
        .map(|d| d.at - net.sim.start())
        .collect();
    assert_eq!(attempts.len(), 4, "four register packets, then silence");
    assert_eq!(attempts[0], Duration::ZERO);
    assert_eq!(attempts[1], Duration::from_secs(2), "the first wait");
    let waits: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    for (wait, ceiling) in waits.iter().skip(1).zip([4, 8]) {
        assert!(
            *wait >= Duration::from_secs(2) && *wait <= Duration::from_secs(ceiling),
            "{waits:?}"
        );
    }
    assert!(at - net.sim.start() <= Duration::from_secs(2 + 4 + 8 + 16));
    assert_eq!(net.sim.machine(node).poll_timeout(), None, "gave up");
}

#[test]
fn keepalives_follow_the_configured_interval_and_keep_the_client_registered() {
    let mut net = Net::new(
        3,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let node = net.client(1);
    net.sim.run_for(Duration::from_secs(30 * 60 + 1)).unwrap();
    assert!(net.registered(node));
    // One every two minutes from the OK on: 15 in half an hour.
    assert_eq!(net.sent(client_addr(1), 0), 15);
    let fingerprint = identity(1).fingerprint();
    let peer = net.sim.machine(net.peer);
    let last_seen = peer.client(&fingerprint).unwrap().last_seen;
    assert!(net.sim.now() - last_seen < Duration::from_secs(120));
    let peer_events = net.sim.events(net.peer);
    assert!(
        !peer_events
            .iter()
            .any(|e| matches!(e, PeerEvent::Expired { .. }))
    );
}

#[test]
fn silent_clients_expire_and_keepalive_less_clients_are_allowed() {
    let mut net = Net::new(
        4,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let mut quiet = ClientConfig::new(peer_addr());
    quiet.keepalive = None;
    let node = net.client_at(1, client_addr(1), quiet);
    net.sim.run_for(Duration::from_secs(5)).unwrap();
    assert!(net.registered(node));
    assert_eq!(net.sim.machine(net.peer).len(), 1);
    net.sim.run_for(Duration::from_secs(6 * 60 - 5)).unwrap();
    assert_eq!(net.sim.machine(net.peer).len(), 1, "not yet");
    net.sim.run_for(Duration::from_secs(11)).unwrap();
    assert_eq!(net.sim.machine(net.peer).len(), 0);
    let fingerprint = identity(1).fingerprint();
    assert!(
        net.sim
            .events(net.peer)
            .contains(&PeerEvent::Expired { fingerprint })
    );
    assert_eq!(net.sent(client_addr(1), 0), 0, "no keepalive was sent");
    assert_eq!(
        net.sim.machine(net.peer).poll_timeout(),
        None,
        "nothing left to sweep"
    );
}

#[test]
fn events_are_relayed_between_clients_of_one_peer() {
    let mut net = Net::new(
        5,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let (a, b) = (net.client(1), net.client(2));
    net.sim
        .run_until(Duration::from_secs(10), |sim| {
            sim.machine(a).is_registered(peer_addr()) && sim.machine(b).is_registered(peer_addr())
        })
        .unwrap();
    net.sim.events(b);
    let now = net.sim.now();
    let to = identity(2).fingerprint();
    net.sim
        .machine(a)
        .send_event(now, to, peer_addr(), b"hello")
        .unwrap();
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        net.sim.events(b),
        [ClientEvent::Message {
            peer: peer_addr(),
            from: identity(1).fingerprint(),
            payload: Bytes::from_static(b"hello"),
        }]
    );
    assert!(net.sim.events(net.peer).contains(&PeerEvent::Relayed {
        from: identity(1).fingerprint(),
        to
    }));
}

#[test]
fn duplicated_datagrams_are_refused_as_replays() {
    let mut path = LinkConfig::ideal(Duration::from_millis(10));
    path.duplicate = 1.0;
    let mut net = Net::new(6, path, PeerConfig::default());
    let (a, b) = (net.client(1), net.client(2));
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    let now = net.sim.now();
    net.sim
        .machine(a)
        .send_event(now, identity(2).fingerprint(), peer_addr(), b"once")
        .unwrap();
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    let messages: Vec<ClientEvent> = net
        .sim
        .events(b)
        .into_iter()
        .filter(|e| matches!(e, ClientEvent::Message { .. }))
        .collect();
    assert_eq!(messages.len(), 1, "delivered once: {messages:?}");
    // Two registers and one event reached the peer twice each.
    let counters = net.sim.machine(net.peer).counters();
    assert_eq!(counters.get(DropReason::Replay), 3);
    assert_eq!(counters.total(), 3);
    assert!(
        net.sim
            .errors(net.peer)
            .iter()
            .all(|e| e == &InputError::Replay(ReplayError::Seen).to_string())
    );
    // Each client saw its OK twice; B saw the relay twice too.
    assert_eq!(net.sim.machine(a).counters().get(DropReason::Replay), 1);
    assert_eq!(net.sim.machine(b).counters().get(DropReason::Replay), 2);
}

#[test]
fn events_for_an_absent_client_wait_for_its_registration() {
    let mut net = Net::new(7, lossy(), PeerConfig::default());
    let a = net.client(1);
    net.sim
        .run_until(Duration::from_secs(60), |sim| {
            sim.machine(a).is_registered(peer_addr())
        })
        .unwrap();
    let now = net.sim.now();
    let to = identity(2).fingerprint();
    net.sim
        .machine(a)
        .send_event(now, to, peer_addr(), b"while you were out")
        .unwrap();
    let peer = net.peer;
    // Over a lossy path the event may be lost: the application sends again.
    let mut tries = 0;
    net.sim
        .run_until(Duration::from_secs(60), |sim| {
            if sim.machine(peer).kept() > 0 {
                return true;
            }
            tries += 1;
            if tries % 200 == 0 {
                let now = sim.now();
                sim.machine(a)
                    .send_event(now, to, peer_addr(), b"while you were out")
                    .unwrap();
            }
            false
        })
        .unwrap();
    assert_eq!(net.sim.machine(net.peer).kept(), 1);
    net.sim
        .set_datagram_default(LinkConfig::ideal(Duration::from_millis(10)));
    let b = net.client(2);
    net.sim
        .run_until(Duration::from_secs(10), |sim| {
            sim.events(b)
                .iter()
                .any(|e| matches!(e, ClientEvent::Message { .. }))
        })
        .unwrap();
    assert_eq!(net.sim.machine(net.peer).kept(), 0);
    assert!(net.sim.events(net.peer).contains(&PeerEvent::Delivered {
        from: identity(1).fingerprint(),
        to
    }));
}

#[test]
fn a_replayed_register_from_another_address_is_refused() {
    let mut net = Net::new(
        8,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let a = net.client(1);
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(net.registered(a));
    let register = net
        .sim
        .trace()
        .iter()
        .find(|d| decode(&d.bytes).is_ok_and(|p| p.packet_type().code() == 2))
        .unwrap()
        .bytes
        .clone();
    let now = net.sim.now();
    let attacker: SocketAddr = "10.9.9.9:666".parse().unwrap();
    let peer = net.sim.machine(net.peer);
    assert_eq!(
        peer.handle_input(now, Input::datagram(attacker, &register)),
        Err(InputError::Replay(ReplayError::Seen))
    );
    assert!(peer.poll_output().is_none(), "no answer to a replay");
    assert_eq!(
        peer.client(&identity(1).fingerprint()).unwrap().addr,
        client_addr(1)
    );
    // Outside the window it is refused for its age.
    let later = now + Duration::from_secs(61);
    assert_eq!(
        peer.handle_input(later, Input::datagram(attacker, &register)),
        Err(InputError::Replay(ReplayError::OutsideWindow {
            timestamp: 1_700_000_000,
            now: 1_700_000_062,
        }))
    );
}

#[test]
fn a_client_that_moves_is_reached_at_its_new_address() {
    let mut net = Net::new(9, lossy(), PeerConfig::default());
    let (a, b) = (net.client(1), net.client(2));
    net.sim
        .run_until(Duration::from_secs(60), |sim| {
            sim.machine(a).is_registered(peer_addr()) && sim.machine(b).is_registered(peer_addr())
        })
        .unwrap();
    // The same identity comes back on a new port (the application restarted on a new
    // network): it registers again from there.
    let moved_to = SocketAddr::from(([10, 1, 0, 1], 6000));
    let a2 = net.client_at(1, moved_to, ClientConfig::new(peer_addr()));
    net.sim
        .run_until(Duration::from_secs(60), |sim| {
            sim.machine(a2).is_registered(peer_addr())
        })
        .unwrap();
    assert!(net.sim.events(net.peer).contains(&PeerEvent::Registered {
        fingerprint: identity(1).fingerprint(),
        addr: moved_to,
        previous: Some(client_addr(1)),
    }));
    net.sim
        .set_datagram_default(LinkConfig::ideal(Duration::from_millis(10)));
    let now = net.sim.now();
    net.sim
        .machine(b)
        .send_event(now, identity(1).fingerprint(), peer_addr(), b"found you")
        .unwrap();
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(net.sim.events(a2).contains(&ClientEvent::Message {
        peer: peer_addr(),
        from: identity(2).fingerprint(),
        payload: Bytes::from_static(b"found you"),
    }));
    assert!(
        !net.sim
            .events(a)
            .iter()
            .any(|e| matches!(e, ClientEvent::Message { .. }))
    );
}

#[test]
fn forged_and_unknown_senders_are_dropped_counted_and_never_answered() {
    let mut net = Net::new(
        10,
        LinkConfig::ideal(Duration::from_millis(10)),
        PeerConfig::default(),
    );
    let a = net.client(1);
    net.sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(net.registered(a));
    let keepalive_at = net.sim.now();
    // A keepalive from A's address, signed by someone else.
    let forger = identity(99);
    let mut scratch = Vec::new();
    let timestamp = net.clock.unix_secs(keepalive_at);
    regnode_proto::signed_message(timestamp, &regnode_proto::Body::Keepalive, &mut scratch)
        .unwrap();
    let signature = forger.sign(&scratch);
    let packet = regnode_proto::Packet {
        params: regnode_proto::Params::CLIENT_TO_PEER,
        shift_len: 0,
        signature: &signature,
        timestamp,
        body: regnode_proto::Body::Keepalive,
    };
    let mut forged = Vec::new();
    regnode_proto::encode(&packet, &mut seeded_rng(0), &mut forged).unwrap();
    let peer = net.sim.machine(net.peer);
    assert!(matches!(
        peer.handle_input(keepalive_at, Input::datagram(client_addr(1), &forged)),
        Err(InputError::BadSignature(_))
    ));
    let stranger: SocketAddr = "10.7.7.7:7".parse().unwrap();
    assert_eq!(
        peer.handle_input(keepalive_at, Input::datagram(stranger, &forged)),
        Err(InputError::UnknownSender(stranger))
    );
    assert!(matches!(
        peer.handle_input(keepalive_at, Input::datagram(stranger, b"\x02")),
        Err(InputError::Malformed(_))
    ));
    assert!(peer.poll_output().is_none());
    let counters = peer.counters();
    assert_eq!(counters.get(DropReason::BadSignature), 1);
    assert_eq!(counters.get(DropReason::UnknownSender), 1);
    assert_eq!(counters.get(DropReason::Malformed), 1);
}

#[test]
fn a_thousand_clients_register_and_message_each_other_through_one_peer() {
    const N: u64 = 1000;
    let mut path = lossy();
    path.loss = 0.05;
    let mut net = Net::new(11, path, PeerConfig::default());
    net.sim.set_step_limit(10_000_000);
    let fingerprints: Vec<_> = (1..=N).map(|seed| identity(seed).fingerprint()).collect();
    let nodes: Vec<NodeId<Client>> = (1..=N).map(|seed| net.client(seed)).collect();
    let peer = net.peer;
    net.sim
        .run_until(Duration::from_secs(300), |sim| {
            sim.machine(peer).len() == N as usize
        })
        .unwrap();
    net.sim.run_for(Duration::from_secs(60)).unwrap();
    for &node in &nodes {
        assert!(net.registered(node));
    }
    net.sim.set_datagram_default(LinkConfig {
        loss: 0.0,
        ..lossy()
    });
    let now = net.sim.now();
    for (i, &node) in nodes.iter().enumerate() {
        let next = fingerprints[(i + 1) % N as usize];
        net.sim
            .machine(node)
            .send_event(now, next, peer_addr(), format!("from {}", i + 1).as_bytes())
            .unwrap();
    }
    net.sim.run_for(Duration::from_secs(2)).unwrap();
    for (i, &node) in nodes.iter().enumerate() {
        let messages: Vec<_> = net
            .sim
            .events(node)
            .into_iter()
            .filter_map(|e| match e {
                ClientEvent::Message { from, payload, .. } => Some((from, payload)),
                _ => None,
            })
            .collect();
        let sender = (i + N as usize - 1) % N as usize;
        assert_eq!(
            messages,
            [(
                fingerprints[sender],
                Bytes::from(format!("from {}", sender + 1))
            )],
            "client {}",
            i + 1
        );
    }
    assert_eq!(
        net.sim
            .machine(peer)
            .counters()
            .get(DropReason::BadSignature),
        0
    );
}
