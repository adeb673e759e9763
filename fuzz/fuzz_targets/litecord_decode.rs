//! Any bytes: the decoder returns a message or an error, never panics, and whatever
//! it accepts survives encode and decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use litecord_proto::{decode, encode};
use proto_core::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame_len: 4096,
        max_depth: 16,
        max_pending: 16,
    };
    if let Ok(message) = decode(data, &limits) {
        let frame = encode(&message);
        let again = decode(frame.as_bytes(), &limits).expect("our own encoding decodes");
        assert_eq!(again, message);
        assert_eq!(encode(&again), frame, "encoding is canonical");
    }
});
