//! Proptest strategies for every packet and for a client's whole registration
//! sequence, for property tests of the codec and of servers built on the
//! machines.
//!
//! [`any_packet`] is any packet the codec carries (the signature arbitrary bytes);
//! the others are signed by the deterministic generator identities
//! ([`generator_identity`](crate::generator_identity)), so they verify.

use proptest::prelude::*;

use crate::identity::Signer;
use crate::packet::{Fingerprint, Params};
use crate::packet_buf::{BodyBuf, PacketBuf};
use crate::sample::{self, GENERATOR_BASE_UNIX, GENERATOR_IDENTITIES};

fn payload() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..300)
}

/// A generator identity's index.
pub fn identity_index() -> impl Strategy<Value = u8> {
    0..GENERATOR_IDENTITIES
}

/// A generator identity's fingerprint.
pub fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    identity_index().prop_filter_map("generator identities are built", |index| {
        sample::identities()?
            .get(usize::from(index))
            .map(Signer::fingerprint)
    })
}

/// Any packet the codec carries: any flags, shift, signature bytes and
/// timestamp, and any body (a register's certificate arbitrary bytes). It decodes
/// back to itself; it need not verify.
pub fn any_packet() -> impl Strategy<Value = PacketBuf> {
    (
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..100),
        any::<u64>(),
        0u8..6,
        5u8..=255,
        any::<[u8; 32]>(),
        payload(),
    )
        .prop_map(
            |(params, shift_len, signature, timestamp, kind, code, fingerprint, payload)| {
                let body = match kind {
                    0 => BodyBuf::Keepalive,
                    1 => BodyBuf::Ok,
                    2 => BodyBuf::Register {
                        certificate: payload,
                    },
                    3 => BodyBuf::PeerEvent { payload },
                    4 => BodyBuf::ClientEvent {
                        fingerprint: Fingerprint(fingerprint),
                        payload,
                    },
                    _ => BodyBuf::Other { code, payload },
                };
                PacketBuf {
                    params: Params(params),
                    shift_len: if params & Params::SHIFTS_USED != 0 {
                        shift_len
                    } else {
                        0
                    },
                    signature,
                    timestamp,
                    body,
                }
            },
        )
}

/// Any body a sender would sign, a register carrying the certificate of
/// generator identity `signer`.
pub fn body(signer: u8) -> impl Strategy<Value = BodyBuf> {
    let certificate = sample::identities()
        .and_then(|identities| identities.get(usize::from(signer % GENERATOR_IDENTITIES)))
        .map(|identity| identity.certificate().to_vec())
        .unwrap_or_default();
    prop_oneof![
        Just(BodyBuf::Keepalive),
        Just(BodyBuf::Ok),
        Just(BodyBuf::Register { certificate }),
        payload().prop_map(|payload| BodyBuf::PeerEvent { payload }),
        (fingerprint(), payload()).prop_map(|(fingerprint, payload)| BodyBuf::ClientEvent {
            fingerprint,
            payload
        }),
        (5u8..=255, payload()).prop_map(|(code, payload)| BodyBuf::Other { code, payload }),
    ]
}

/// A packet signed by a generator identity, with the direction flags its type
/// travels with, plain or shifted, timestamped within a day after
/// [`GENERATOR_BASE_UNIX`].
pub fn signed_packet() -> impl Strategy<Value = PacketBuf> {
    identity_index()
        .prop_flat_map(|signer| (Just(signer), body(signer)))
        .prop_flat_map(|(signer, body)| {
            (
                Just(signer),
                Just(body),
                any::<bool>(),
                proptest::option::of(any::<u8>()),
                0..86_400u64,
            )
        })
        .prop_filter_map(
            "generator identities are built",
            |(signer, body, from_peer, shift, offset)| {
                let signer = sample::identities()?.get(usize::from(signer))?;
                let params = sample::params(&body, from_peer);
                sample::seal(signer, params, shift, GENERATOR_BASE_UNIX + offset, body)
            },
        )
}

/// What generator identity `client` sends its home peer, starting at
/// `GENERATOR_BASE_UNIX + start`: a register, then up to 16 keepalives and client
/// events (to the other generator identities), each 1–60 s after the one before,
/// so every timestamp is later than the last as a peer's replay guard requires.
pub fn registration(client: u8, start: u64) -> impl Strategy<Value = Vec<PacketBuf>> {
    let step = (
        prop_oneof![Just(None), (fingerprint(), payload()).prop_map(Some),],
        1..=60u64,
        proptest::option::of(any::<u8>()),
    );
    proptest::collection::vec(step, 0..=16).prop_filter_map(
        "generator identities are built",
        move |steps| {
            let signer = sample::identities()?.get(usize::from(client % GENERATOR_IDENTITIES))?;
            let mut at = GENERATOR_BASE_UNIX + start;
            let register = BodyBuf::Register {
                certificate: signer.certificate().to_vec(),
            };
            let mut packets = vec![sample::seal(
                signer,
                Params::CLIENT_TO_PEER,
                None,
                at,
                register,
            )?];
            for (event, after, shift) in steps {
                at += after;
                let body = match event {
                    Some((fingerprint, payload)) => BodyBuf::ClientEvent {
                        fingerprint,
                        payload,
                    },
                    None => BodyBuf::Keepalive,
                };
                packets.push(sample::seal(
                    signer,
                    Params::CLIENT_TO_PEER,
                    shift,
                    at,
                    body,
                )?);
            }
            Some(packets)
        },
    )
}
