//! Regnode datagrams of every type in both layouts, signed by real identities, and
//! a peer with its clients, for the benchmarks and the allocation tests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto_core::{Input, Machine, seeded_rng};
use regnode_proto::{
    Body, Identity, Packet, Params, Peer, PeerConfig, Signer, WallClock, X509Ed25519, encode,
    signed_message,
};

/// The Unix time every fixture is signed at.
pub const UNIX: Duration = Duration::from_secs(1_700_000_000);

/// The shift length of the shifted fixtures.
pub const SHIFT: u8 = 8;

/// A deterministic identity.
pub fn identity(seed: u64) -> Identity {
    // Generation only fails on a name x509 cannot hold; these are plain ASCII.
    Identity::generate(&mut seeded_rng(seed), &format!("bench-{seed}"), UNIX)
        .unwrap_or_else(|error| unreachable!("fixture identity: {error}"))
}

/// A signed, encoded packet of `body` from `signer`.
pub fn datagram(signer: &dyn Signer, params: Params, shift: Option<u8>, body: Body<'_>) -> Vec<u8> {
    let timestamp = UNIX.as_secs();
    let mut message = Vec::new();
    let mut out = Vec::new();
    let encoded = signed_message(timestamp, &body, &mut message).and_then(|()| {
        let signature = signer.sign(&message);
        let packet = Packet {
            params: params.with_shifts(shift.is_some()),
            shift_len: shift.unwrap_or(0),
            signature: &signature,
            timestamp,
            body,
        };
        encode(&packet, &mut seeded_rng(0), &mut out)
    });
    encoded.unwrap_or_else(|error| unreachable!("fixture packet: {error}"));
    out
}

/// `(name, datagram)` for every type, plain then shifted by [`SHIFT`].
pub fn datagrams() -> Vec<(String, Vec<u8>)> {
    let client = identity(1);
    let recipient = identity(2).fingerprint();
    let event = [0x5a; 100];
    let bodies: [(&str, Params, Body<'_>); 6] = [
        ("keepalive", Params::CLIENT_TO_PEER, Body::Keepalive),
        ("ok", Params::PEER_TO_CLIENT, Body::Ok),
        (
            "register",
            Params::CLIENT_TO_PEER,
            Body::Register {
                certificate: client.certificate(),
            },
        ),
        (
            "peer_event",
            Params::PEER_TO_CLIENT,
            Body::PeerEvent { payload: &event },
        ),
        (
            "client_event",
            Params::CLIENT_TO_PEER,
            Body::ClientEvent {
                fingerprint: &recipient.0,
                payload: &event,
            },
        ),
        (
            "other",
            Params::PEER_TO_CLIENT,
            Body::Other {
                code: 9,
                payload: &event,
            },
        ),
    ];
    let mut out = Vec::new();
    for shift in [None, Some(SHIFT)] {
        for (name, params, body) in bodies {
            let layout = if shift.is_some() { "shifted" } else { "plain" };
            out.push((
                format!("{name}/{layout}"),
                datagram(&client, params, shift, body),
            ));
        }
    }
    out
}

/// The address of fixture client `n`.
pub fn client_addr(n: u32) -> SocketAddr {
    SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 5000))
}

/// A peer, the register datagrams of `n` clients (from [`client_addr`]), and the
/// instant to feed them at.
pub fn peer_and_registers(n: u32) -> (Peer, Vec<(SocketAddr, Vec<u8>)>, Instant) {
    let now = Instant::now();
    let clock = WallClock::new(now, UNIX);
    let peer = Peer::new(
        PeerConfig::default(),
        Box::new(identity(0)),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(0),
    );
    let registers = (1..=n)
        .map(|i| {
            let client = identity(u64::from(i) + 1000);
            let body = Body::Register {
                certificate: client.certificate(),
            };
            (
                client_addr(i),
                datagram(&client, Params::CLIENT_TO_PEER, None, body),
            )
        })
        .collect();
    (peer, registers, now)
}

/// Feeds every register to `peer` and drains its outputs; returns how many it took.
pub fn register_all(peer: &mut Peer, registers: &[(SocketAddr, Vec<u8>)], now: Instant) -> usize {
    let mut accepted = 0;
    for (from, bytes) in registers {
        if peer
            .handle_input(now, Input::datagram(*from, bytes))
            .is_ok()
        {
            accepted += 1;
        }
        while peer.poll_output().is_some() {}
    }
    accepted
}
