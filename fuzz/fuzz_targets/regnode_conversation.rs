//! Two regnode clients and their home peer wired over an in-memory UDP network,
//! driven by arbitrary application calls, deliveries, losses, duplicates,
//! single-byte mutations, packets injected from the exported generator (re-signed
//! at the current time by a generator identity, so they pass verification and the
//! replay window) and time steps.
//!
//! Invariants, checked after every step: no panic; every datagram either side
//! sends decodes, with the direction flags of its sender; the peer's registry and
//! event queue stay within their bounds; every registration a client starts ends
//! in Registered or PeerUnreachable within its attempts' budget once timers have
//! run; at the end, after that budget, none is still open.
#![no_main]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Input, Machine, Output, Payload, Peer as Addr, seeded_rng};
use regnode_proto::{
    Client, ClientConfig, ClientEvent, Fingerprint, GENERATOR_BASE_UNIX, Identity, PacketBuf, Peer,
    PeerConfig, Signer, WallClock, X509Ed25519, decode, generator_identity, signed_message,
};

/// The budget of one registration: four attempts, waits doubling from 1 s to at
/// most 4 s, with room for jitter.
const REGISTER_BUDGET: Duration = Duration::from_secs(20);

#[derive(Debug, Arbitrary)]
enum Step {
    /// Deliver up to `count` datagrams in flight.
    Deliver {
        count: u8,
    },
    /// The next datagram is lost.
    Lose,
    /// The next datagram arrives twice.
    Duplicate,
    /// Flip bits of one byte of the next datagram.
    Mutate {
        at: u16,
        xor: u8,
    },
    /// A generated packet, re-signed now (`skew` seconds off) by generator identity
    /// `signer`, from address `from` to the peer or a client.
    Inject {
        packet: PacketBuf,
        signer: u8,
        skew: i8,
        from: u8,
        to: u8,
    },
    NetworkChanged {
        client: bool,
    },
    SendEvent {
        client: bool,
        len: u8,
    },
    PeerEvent {
        client: bool,
        len: u8,
    },
    Advance {
        millis: u16,
    },
}

/// A generator identity made once, lent to a machine.
struct Lent(&'static Identity);

impl Signer for Lent {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message)
    }

    fn certificate(&self) -> &[u8] {
        self.0.certificate()
    }

    fn fingerprint(&self) -> Fingerprint {
        self.0.fingerprint()
    }
}

/// Generator identities 0 and 1 are the clients, 2 the peer.
fn identities() -> &'static [Identity] {
    static IDS: OnceLock<Vec<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        (0..4)
            .map(|index| generator_identity(index).expect("generator identity"))
            .collect()
    })
}

fn address(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1 + n % 4], 4000))
}

struct Net {
    peer: Peer,
    clients: [Client; 2],
    /// Datagrams in flight: (from, to, bytes).
    wire: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// When each client's open registration started.
    registering: [Option<Instant>; 2],
    config: PeerConfig,
}

impl Net {
    fn drain(&mut self) {
        let peer_at = address(2);
        while let Some(output) = self.peer.poll_output() {
            if let Output::Transmit(transmit) = output {
                self.send(peer_at, transmit.to, &transmit.payload, true);
            }
        }
        for (index, client) in self.clients.iter_mut().enumerate() {
            while let Some(output) = client.poll_output() {
                match output {
                    Output::Transmit(transmit) => {
                        let Payload::Binary(bytes) = &transmit.payload else {
                            panic!("regnode sends datagrams");
                        };
                        let packet = decode(bytes).expect("every datagram sent decodes");
                        assert!(
                            !packet.params.sender_is_peer() && packet.params.receiver_is_peer()
                        );
                        if let Some(Addr::Addr(to)) = transmit.to {
                            self.wire
                                .push_back((address(index as u8), to, bytes.to_vec()));
                        }
                    }
                    Output::Event(
                        ClientEvent::Registered { .. } | ClientEvent::PeerUnreachable { .. },
                    ) => {
                        self.registering[index] = None;
                    }
                    Output::Event(_) => {}
                    other => panic!("a client only transmits and reports: {other:?}"),
                }
            }
        }
    }

    fn send(&mut self, from: SocketAddr, to: Option<Addr>, payload: &Payload, from_peer: bool) {
        let (Some(Addr::Addr(to)), Payload::Binary(bytes)) = (to, payload) else {
            panic!("regnode sends datagrams to addresses");
        };
        let packet = decode(bytes).expect("every datagram sent decodes");
        assert_eq!(packet.params.sender_is_peer(), from_peer);
        self.wire.push_back((from, to, bytes.to_vec()));
    }

    fn deliver(&mut self, now: Instant) {
        let Some((from, to, bytes)) = self.wire.pop_front() else {
            return;
        };
        let input = Input::datagram(from, &bytes);
        let _ = if to == address(2) {
            self.peer.handle_input(now, input)
        } else if to == address(0) {
            self.clients[0].handle_input(now, input)
        } else if to == address(1) {
            self.clients[1].handle_input(now, input)
        } else {
            Ok(())
        };
    }

    fn run_timers(&mut self, now: Instant) {
        while self.peer.poll_timeout().is_some_and(|at| at <= now) {
            self.peer.handle_timeout(now);
            self.drain();
        }
        assert!(
            self.peer.poll_timeout().is_none_or(|at| at > now),
            "peer timer in the past"
        );
        for index in 0..2 {
            while self.clients[index]
                .poll_timeout()
                .is_some_and(|at| at <= now)
            {
                self.clients[index].handle_timeout(now);
                self.drain();
            }
            let next = self.clients[index].poll_timeout();
            assert!(next.is_none_or(|at| at > now), "client timer in the past");
        }
    }

    /// Moves the clock to `to` in quarter seconds, running the timers at each, as
    /// a driver woken by `poll_timeout` would.
    fn advance(&mut self, mut now: Instant, to: Instant) -> Instant {
        while now < to {
            now = (now + Duration::from_millis(250)).min(to);
            self.run_timers(now);
            self.check(now);
        }
        now
    }

    fn check(&self, now: Instant) {
        assert!(self.peer.len() <= self.config.max_clients);
        assert!(self.peer.kept() <= self.config.max_queued);
        for since in self.registering.iter().flatten() {
            assert!(
                now.duration_since(*since) <= REGISTER_BUDGET,
                "registration never ends"
            );
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let ids = identities();
    let t0 = Instant::now();
    let clock = WallClock::new(t0, Duration::from_secs(GENERATOR_BASE_UNIX));
    let config = PeerConfig {
        max_clients: 2,
        queue_per_client: 2,
        max_queued: 3,
        expiry: Duration::from_secs(30),
        ..PeerConfig::default()
    };
    let peer_verifier = ids[2].certificate_info().verifier();
    let peer = Peer::new(
        config,
        Box::new(Lent(&ids[2])),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(1),
    );
    let client = |index: u8| {
        let mut config = ClientConfig::new(address(2));
        config.register_wait = Duration::from_secs(1);
        config.max_register_wait = Duration::from_secs(4);
        config.keepalive = Some(Duration::from_secs(10));
        config.shift = (index == 1).then_some(3);
        Client::new(
            config,
            Box::new(Lent(&ids[usize::from(index)])),
            Box::new(peer_verifier),
            clock,
            seeded_rng(10 + u64::from(index)),
        )
    };
    let mut net = Net {
        peer,
        clients: [client(0), client(1)],
        wire: VecDeque::new(),
        registering: [None; 2],
        config,
    };
    let mut now = t0;
    for index in 0..2 {
        net.clients[index].network_changed(now);
        net.registering[index] = Some(now);
    }
    net.drain();
    for step in steps.iter().take(200) {
        match step {
            Step::Deliver { count } => {
                for _ in 0..(count % 8) + 1 {
                    net.deliver(now);
                    net.drain();
                }
            }
            Step::Lose => {
                net.wire.pop_front();
            }
            Step::Duplicate => {
                if let Some(first) = net.wire.front().cloned() {
                    net.wire.push_back(first);
                }
            }
            Step::Mutate { at, xor } => {
                if let Some((_, _, bytes)) = net.wire.front_mut() {
                    if !bytes.is_empty() {
                        let at = usize::from(*at) % bytes.len();
                        bytes[at] ^= xor;
                    }
                }
            }
            Step::Inject {
                packet,
                signer,
                skew,
                from,
                to,
            } => {
                let signer = &ids[usize::from(*signer) % ids.len()];
                let mut packet = packet.clone();
                packet.timestamp = clock.unix_secs(now).saturating_add_signed(i64::from(*skew));
                let mut message = Vec::new();
                signed_message(packet.timestamp, &packet.as_packet().body, &mut message)
                    .expect("a generated body encodes");
                packet.signature = signer.sign(&message);
                let bytes = packet
                    .encode(&mut seeded_rng(3))
                    .expect("a generated packet encodes");
                net.wire
                    .push_front((address(*from), address(*to % 3), bytes));
                net.deliver(now);
            }
            Step::NetworkChanged { client } => {
                let index = usize::from(*client);
                net.clients[index].network_changed(now);
                net.registering[index] = Some(now);
            }
            Step::SendEvent { client, len } => {
                let index = usize::from(*client);
                let to = ids[1 - index].fingerprint();
                let payload = vec![0x42; usize::from(*len)];
                let was_registered = net.clients[index].is_registered(address(2));
                if net.clients[index]
                    .send_event(now, to, address(2), &payload)
                    .is_ok()
                    && !was_registered
                    && net.registering[index].is_none()
                {
                    net.registering[index] = Some(now);
                }
            }
            Step::PeerEvent { client, len } => {
                let to = ids[usize::from(*client)].fingerprint();
                let _ = net
                    .peer
                    .send_peer_event(now, &to, &vec![0x17; usize::from(*len)]);
            }
            Step::Advance { millis } => {
                let target = now + Duration::from_millis(u64::from(*millis % 8000));
                now = net.advance(now, target);
            }
        }
        net.drain();
        net.check(now);
    }
    now = net.advance(now, now + REGISTER_BUDGET);
    net.check(now);
    assert_eq!(net.registering, [None, None], "registrations left open");
});
