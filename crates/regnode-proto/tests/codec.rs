//! The root codec: hand-written golden vectors for every type in both layouts, the
//! bad-input table, and round trips.

use std::convert::Infallible;

use proptest::prelude::*;
use rand::rand_core::TryRng;
use regnode_proto::{
    Body, BodyBuf, DecodeError, EncodeError, Field, GENERATOR_IDENTITIES, Packet, PacketBuf,
    PacketType, Params, Signer, Verifier, decode, encode, encoded_len, generator_identity,
    signed_message, strategy,
};

/// Filler that counts up from 0xf0, so each shift run is visible in a vector.
struct Counting(u8);

impl TryRng for Counting {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("the encoder only fills bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("the encoder only fills bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

const SIG: &[u8] = &[0xaa, 0xbb];
const TS: u64 = 1_700_000_000; // 0x6553f100
const CERT: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x01];
const FP: [u8; 32] = [0x11; 32];

fn packet(params: u8, shift_len: u8, body: Body<'static>) -> Packet<'static> {
    Packet {
        params: Params(params),
        shift_len,
        signature: SIG,
        timestamp: TS,
        body,
    }
}

fn golden() -> Vec<(&'static str, &'static str, Packet<'static>)> {
    vec![
        (
            "keepalive plain",
            "02 00 0002 aabb 000000006553f100",
            packet(0x02, 0, Body::Keepalive),
        ),
        (
            "keepalive shifted",
            "06 02 00 f0f1 0002 f2f3 aabb f4f5 000000006553f100 f6f7",
            packet(0x06, 2, Body::Keepalive),
        ),
        (
            "ok plain",
            "01 01 0002 aabb 000000006553f100",
            packet(0x01, 0, Body::Ok),
        ),
        (
            "ok shifted, zero-length shifts",
            "05 00 01 0002 aabb 000000006553f100",
            packet(0x05, 0, Body::Ok),
        ),
        (
            "register plain",
            "02 02 0002 aabb 000000006553f100 0005 3003020101",
            packet(0x02, 0, Body::Register { certificate: CERT }),
        ),
        (
            "register shifted",
            "06 01 02 f0 0002 f1 aabb f2 000000006553f100 f3 0005 3003020101",
            packet(0x06, 1, Body::Register { certificate: CERT }),
        ),
        (
            "peer event plain",
            "01 03 0002 aabb 000000006553f100 6869",
            packet(0x01, 0, Body::PeerEvent { payload: b"hi" }),
        ),
        (
            "peer event shifted",
            "05 03 03 f0f1f2 0002 f3f4f5 aabb f6f7f8 000000006553f100 f9fafb 6869",
            packet(0x05, 3, Body::PeerEvent { payload: b"hi" }),
        ),
        (
            "client event plain",
            "02 04 0002 aabb 000000006553f100 \
             1111111111111111111111111111111111111111111111111111111111111111 6869",
            packet(
                0x02,
                0,
                Body::ClientEvent {
                    fingerprint: &FP,
                    payload: b"hi",
                },
            ),
        ),
        (
            "client event shifted, empty event",
            "07 01 04 f0 0002 f1 aabb f2 000000006553f100 f3 \
             1111111111111111111111111111111111111111111111111111111111111111",
            packet(
                0x07,
                1,
                Body::ClientEvent {
                    fingerprint: &FP,
                    payload: b"",
                },
            ),
        ),
        (
            "other type, reserved params bits kept",
            "e2 09 0000 000000006553f100 010203",
            Packet {
                signature: &[],
                ..packet(
                    0xe2,
                    0,
                    Body::Other {
                        code: 9,
                        payload: &[1, 2, 3],
                    },
                )
            },
        ),
        (
            "other type shifted",
            "fc 01 ff f0 0002 f1 aabb f2 000000006553f100 f3 010203",
            packet(
                0xfc,
                1,
                Body::Other {
                    code: 0xff,
                    payload: &[1, 2, 3],
                },
            ),
        ),
    ]
}

#[test]
fn golden_vectors_decode_and_encode() {
    for (name, text, expected) in golden() {
        let bytes = hex(text);
        assert_eq!(decode(&bytes), Ok(expected), "{name}");
        let mut out = Vec::new();
        encode(&expected, &mut Counting(0xf0), &mut out).unwrap();
        assert_eq!(out, bytes, "{name}");
        assert_eq!(encoded_len(&expected), bytes.len(), "{name}");
    }
}

#[test]
fn params_bits_are_numbered_from_the_least_significant() {
    let params = Params(0b0000_0101);
    assert!(params.sender_is_peer());
    assert!(!params.receiver_is_peer());
    assert!(params.shifts_used());
    assert_eq!(Params(0xff).with_shifts(false), Params(0xfb));
    assert_eq!(Params::CLIENT_TO_PEER.with_shifts(true), Params(0x06));
    assert_eq!(PacketType::from_code(4), PacketType::ClientEvent);
    assert_eq!(PacketType::Other(77).code(), 77);
}

#[test]
fn shift_filler_comes_from_the_callers_rng_and_is_ignored_on_decode() {
    let packet = packet(0x06, 4, Body::Keepalive);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    encode(&packet, &mut proto_core::seeded_rng(1), &mut a).unwrap();
    encode(&packet, &mut proto_core::seeded_rng(2), &mut b).unwrap();
    assert_ne!(a, b);
    assert_eq!(decode(&a), Ok(packet));
    assert_eq!(decode(&b), Ok(packet));
}

fn truncated(field: Field, needed: usize, available: usize) -> DecodeError {
    DecodeError::Truncated {
        field,
        needed,
        available,
    }
}

#[test]
fn bad_input_table() {
    let table: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        ("empty", vec![], truncated(Field::Params, 1, 0)),
        ("no type", hex("02"), truncated(Field::PacketType, 1, 0)),
        ("no shift_len", hex("06"), truncated(Field::ShiftLen, 1, 0)),
        (
            "half sig_len",
            hex("02 00 00"),
            truncated(Field::SignatureLen, 2, 1),
        ),
        (
            "sig_len beyond the datagram",
            hex("02 00 0040 aabb"),
            truncated(Field::Signature, 64, 2),
        ),
        (
            "no timestamp",
            hex("02 00 0002 aabb"),
            truncated(Field::Timestamp, 8, 0),
        ),
        (
            "short timestamp",
            hex("02 00 0002 aabb 0000006553f100"),
            truncated(Field::Timestamp, 8, 7),
        ),
        (
            "shift_len beyond the datagram",
            hex("06 ff 00 0102"),
            truncated(Field::Shift(1), 255, 2),
        ),
        (
            "datagram ends in the second shift",
            hex("06 02 00 f0f1 0002 f2"),
            truncated(Field::Shift(2), 2, 1),
        ),
        (
            "datagram ends in the third shift",
            hex("06 01 00 f0 0002 f1 aabb"),
            truncated(Field::Shift(3), 1, 0),
        ),
        (
            "datagram ends before the last shift",
            hex("06 01 00 f0 0002 f1 aabb f2 000000006553f100"),
            truncated(Field::Shift(4), 1, 0),
        ),
        (
            "register without cert_len",
            hex("02 02 0000 000000006553f100 00"),
            truncated(Field::CertificateLen, 2, 1),
        ),
        (
            "cert_len beyond the payload",
            hex("02 02 0000 000000006553f100 0010 3003020101"),
            truncated(Field::Certificate, 16, 5),
        ),
        (
            "bytes after the certificate",
            hex("02 02 0000 000000006553f100 0001 30 99"),
            DecodeError::TrailingBytes { len: 1 },
        ),
        (
            "short fingerprint",
            hex("02 04 0000 000000006553f100 1111"),
            truncated(Field::Fingerprint, 32, 2),
        ),
        (
            "keepalive with a payload",
            hex("02 00 0000 000000006553f100 00"),
            DecodeError::UnexpectedPayload {
                packet_type: PacketType::Keepalive,
                len: 1,
            },
        ),
        (
            "ok with a payload",
            hex("01 01 0000 000000006553f100 0000"),
            DecodeError::UnexpectedPayload {
                packet_type: PacketType::Ok,
                len: 2,
            },
        ),
    ];
    for (name, bytes, expected) in table {
        assert_eq!(decode(&bytes), Err(expected), "{name}");
    }
}

#[test]
fn every_truncation_of_every_golden_vector_is_refused() {
    for (name, text, _) in golden() {
        let bytes = hex(text);
        for end in 0..bytes.len() {
            let prefix = &bytes[..end];
            // A prefix that cuts only the opaque event payload is itself a valid packet.
            if let Ok(packet) = decode(prefix) {
                assert!(
                    matches!(
                        packet.body,
                        Body::PeerEvent { .. } | Body::ClientEvent { .. } | Body::Other { .. }
                    ),
                    "{name} cut at {end} decoded as {packet:?}"
                );
            }
        }
    }
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let long = vec![0u8; 65_536];
    let mut out = vec![9];
    let too_long = Packet {
        signature: &long,
        ..packet(0x02, 0, Body::Keepalive)
    };
    assert_eq!(
        encode(&too_long, &mut Counting(0), &mut out),
        Err(EncodeError::SignatureTooLong { len: 65_536 })
    );
    let big_cert = Packet {
        body: Body::Register { certificate: &long },
        ..packet(0x02, 0, Body::Keepalive)
    };
    assert_eq!(
        encode(&big_cert, &mut Counting(0), &mut out),
        Err(EncodeError::CertificateTooLong { len: 65_536 })
    );
    assert_eq!(out, [9], "a refused packet leaves the buffer as it was");
    assert_eq!(
        encode(
            &packet(0x02, 3, Body::Keepalive),
            &mut Counting(0),
            &mut out
        ),
        Err(EncodeError::ShiftWithoutFlag { shift_len: 3 })
    );
    let other_ok = packet(
        0x02,
        0,
        Body::Other {
            code: 1,
            payload: &[],
        },
    );
    assert_eq!(
        encode(&other_ok, &mut Counting(0), &mut out),
        Err(EncodeError::KnownTypeAsOther { code: 1 })
    );
}

proptest! {
    #[test]
    fn every_packet_round_trips(packet in strategy::any_packet(), seed in any::<u64>()) {
        let packet = packet.as_packet();
        let mut out = Vec::new();
        encode(&packet, &mut proto_core::seeded_rng(seed), &mut out).unwrap();
        prop_assert_eq!(out.len(), encoded_len(&packet));
        prop_assert_eq!(decode(&out), Ok(packet));
    }

    #[test]
    fn any_datagram_decodes_or_is_refused_and_plain_ones_re_encode_exactly(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        if let Ok(packet) = decode(&bytes) {
            let mut out = Vec::new();
            encode(&packet, &mut Counting(0), &mut out).unwrap();
            prop_assert_eq!(out.len(), bytes.len());
            if !packet.params.shifts_used() {
                prop_assert_eq!(out, bytes);
            }
        }
    }
}

proptest! {
    #[test]
    fn signed_packets_verify_and_round_trip(packet in strategy::signed_packet(), seed in any::<u64>()) {
        let bytes = packet.encode(&mut proto_core::seeded_rng(seed)).unwrap();
        prop_assert_eq!(decode(&bytes), Ok(packet.as_packet()));
        let verified = (0..GENERATOR_IDENTITIES).any(|index| {
            let verifier = generator_identity(index).unwrap().certificate_info().verifier();
            let mut signed = Vec::new();
            signed_message(packet.timestamp, &packet.as_packet().body, &mut signed).unwrap();
            verifier.verify(&signed, &packet.signature).is_ok()
        });
        prop_assert!(verified);
    }

    #[test]
    fn a_registration_opens_with_a_register_and_its_timestamps_rise(
        packets in strategy::registration(1, 0),
    ) {
        let identity = generator_identity(1).unwrap();
        prop_assert_eq!(&packets[0].body, &BodyBuf::Register { certificate: identity.certificate().to_vec() });
        for pair in packets.windows(2) {
            prop_assert!(pair[0].timestamp < pair[1].timestamp);
        }
    }
}

/// The `arbitrary` generator makes only packets that verify: every one of two
/// hundred pseudo-random inputs round-trips, signed by a generator identity.
#[test]
fn arbitrary_packets_are_signed_and_round_trip() {
    let verifiers: Vec<_> = (0..GENERATOR_IDENTITIES)
        .map(|index| {
            generator_identity(index)
                .unwrap()
                .certificate_info()
                .verifier()
        })
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let input: Vec<u8> = (0..256)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let packet: PacketBuf = arbitrary::Unstructured::new(&input).arbitrary().unwrap();
        let bytes = packet.encode(&mut proto_core::seeded_rng(1)).unwrap();
        assert_eq!(decode(&bytes), Ok(packet.as_packet()));
        let mut signed = Vec::new();
        signed_message(packet.timestamp, &packet.as_packet().body, &mut signed).unwrap();
        assert!(
            verifiers
                .iter()
                .any(|v| v.verify(&signed, &packet.signature).is_ok())
        );
    }
}
