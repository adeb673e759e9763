//! The regnode root codec fed arbitrary datagrams.
//!
//! Invariants: no panic; whatever decodes re-encodes to a datagram of the same
//! length that decodes to the same packet, byte for byte in the plain layout (the
//! shifted layout's filler is free).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regnode_proto::{decode, encode, encoded_len};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = decode(data) else {
        return;
    };
    let mut out = Vec::new();
    encode(&packet, &mut proto_core::seeded_rng(0), &mut out).expect("a decoded packet encodes");
    assert_eq!(out.len(), data.len());
    assert_eq!(encoded_len(&packet), data.len());
    assert_eq!(decode(&out), Ok(packet));
    if !packet.params.shifts_used() {
        assert_eq!(out, data);
    }
});
