//! A regnode peer fed arbitrary datagrams, well-signed packets from a few known
//! clients (at arbitrary addresses and times), replays of earlier datagrams and time
//! steps.
//!
//! Invariants: no panic; it only ever sends to the address of a client registered at
//! that moment, peer-flagged packets that decode; every refusal is counted once;
//! its wake-up never lies in the past after `handle_timeout`.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Input, Machine, Output, Payload, Peer as Addr, seeded_rng};
use regnode_proto::{
    Body, Identity, Packet, Params, Peer, PeerConfig, Signer, WallClock, X509Ed25519, decode,
    encode, signed_message,
};

const UNIX: Duration = Duration::from_secs(1_700_000_000);

#[derive(Debug, Arbitrary)]
enum Kind {
    Register,
    Keepalive,
    Event { to: u8, payload: Vec<u8> },
    Ok,
}

#[derive(Debug, Arbitrary)]
enum Step {
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    Signed {
        client: u8,
        from: u8,
        kind: Kind,
        skew: i8,
        shift: Option<u8>,
    },
    Replay {
        index: u8,
        from: u8,
    },
    Advance {
        secs: u16,
    },
}

fn identities() -> &'static [Identity] {
    static IDS: OnceLock<Vec<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        (0..4)
            .map(|seed| Identity::generate(&mut seeded_rng(seed), "fuzz", UNIX).unwrap())
            .collect()
    })
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, n % 5], 5000))
}

fuzz_target!(|steps: Vec<Step>| {
    let ids = identities();
    let t0 = Instant::now();
    let clock = WallClock::new(t0, UNIX);
    let peer_id = Identity::generate(&mut seeded_rng(9), "peer", UNIX).unwrap();
    let config = PeerConfig {
        max_clients: 3,
        queue_per_client: 2,
        max_queued: 3,
        ..PeerConfig::default()
    };
    let mut peer = Peer::new(
        config,
        Box::new(peer_id),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(1),
    );
    let mut now = t0;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut refusals = 0u64;
    for step in steps.into_iter().take(64) {
        let (from, datagram) = match step {
            Step::Advance { secs } => {
                now += Duration::from_secs(u64::from(secs));
                if peer.poll_timeout().is_some_and(|at| at <= now) {
                    peer.handle_timeout(now);
                    assert!(peer.poll_timeout().is_none_or(|at| at > now));
                }
                (None, Vec::new())
            }
            Step::Raw { from, bytes } => (Some(addr(from)), bytes),
            Step::Replay { index, from } => match sent.get(usize::from(index)) {
                Some(bytes) => (Some(addr(from)), bytes.clone()),
                None => (None, Vec::new()),
            },
            Step::Signed {
                client,
                from,
                kind,
                skew,
                shift,
            } => {
                let id = &ids[usize::from(client) % ids.len()];
                let to;
                let body = match &kind {
                    Kind::Register => Body::Register {
                        certificate: id.certificate(),
                    },
                    Kind::Keepalive => Body::Keepalive,
                    Kind::Ok => Body::Ok,
                    Kind::Event { to: n, payload } => {
                        to = ids[usize::from(*n) % ids.len()].fingerprint().0;
                        Body::ClientEvent {
                            fingerprint: &to,
                            payload,
                        }
                    }
                };
                let timestamp = clock.unix_secs(now).saturating_add_signed(i64::from(skew));
                let mut message = Vec::new();
                signed_message(timestamp, &body, &mut message).unwrap();
                let signature = id.sign(&message);
                let packet = Packet {
                    params: Params::CLIENT_TO_PEER.with_shifts(shift.is_some()),
                    shift_len: shift.unwrap_or(0),
                    signature: &signature,
                    timestamp,
                    body,
                };
                let mut bytes = Vec::new();
                encode(&packet, &mut seeded_rng(2), &mut bytes).unwrap();
                (Some(addr(from)), bytes)
            }
        };
        let Some(from) = from else { continue };
        if peer
            .handle_input(now, Input::datagram(from, &datagram))
            .is_err()
        {
            refusals += 1;
        }
        sent.push(datagram);
        assert_eq!(peer.counters().total(), refusals);
        while let Some(output) = peer.poll_output() {
            if let Output::Transmit(transmit) = output {
                let Some(Addr::Addr(to)) = transmit.to else {
                    panic!("a transmit without an address");
                };
                let registered = ids
                    .iter()
                    .filter_map(|id| peer.client(&id.fingerprint()))
                    .any(|client| client.addr == to);
                assert!(registered, "sent to {to}, which no registered client has");
                let Payload::Binary(bytes) = &transmit.payload else {
                    panic!("a non-binary datagram");
                };
                let packet = decode(bytes).expect("the peer's datagrams decode");
                assert!(packet.params.sender_is_peer());
            }
        }
    }
});
