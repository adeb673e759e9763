//! Arbitrary bytes as one ptpchat message.
//!
//! Invariants: no panic; whatever decodes encodes canonically and decodes back to the
//! same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_core::Limits;
use ptpchat_proto::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame_len: 4096,
        max_depth: 8,
        max_pending: 4,
    };
    if let Ok(message) = decode(data, &limits) {
        let encoded = encode(&message);
        let again = decode(&encoded, &Limits::default()).expect("the canonical encoding decodes");
        assert_eq!(again, message);
    }
});
