//! Any packet from the exported `arbitrary` generator: its datagram decodes back
//! to it in either layout, a plain one re-encodes to the same bytes, and its
//! signature verifies with the generator identity that made it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use proto_core::seeded_rng;
use regnode_proto::{
    Ed25519Verifier, GENERATOR_IDENTITIES, PacketBuf, Verifier, decode, generator_identity,
    signed_message,
};

fn verifiers() -> &'static [Ed25519Verifier] {
    static VERIFIERS: OnceLock<Vec<Ed25519Verifier>> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        (0..GENERATOR_IDENTITIES)
            .map(|index| {
                generator_identity(index)
                    .expect("generator identity")
                    .certificate_info()
                    .verifier()
            })
            .collect()
    })
}

fuzz_target!(|input: (PacketBuf, u64)| {
    let (packet, seed) = input;
    let bytes = packet
        .encode(&mut seeded_rng(seed))
        .expect("a generated packet encodes");
    let decoded = decode(&bytes).expect("a generated packet decodes");
    assert_eq!(PacketBuf::from_packet(&decoded), packet);
    if !packet.params.shifts_used() {
        assert_eq!(
            packet.encode(&mut seeded_rng(seed ^ 1)).ok().as_ref(),
            Some(&bytes)
        );
    }
    let mut signed = Vec::new();
    signed_message(packet.timestamp, &decoded.body, &mut signed).expect("re-encodes");
    assert!(
        verifiers()
            .iter()
            .any(|verifier| verifier.verify(&signed, decoded.signature).is_ok()),
        "signed by a generator identity"
    );
});
