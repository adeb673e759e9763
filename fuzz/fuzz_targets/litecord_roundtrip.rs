//! Any valid message, built by the crate's `Arbitrary` implementations: it encodes,
//! decodes to itself, and encodes canonically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use litecord_proto::{Message, decode, encode};
use proto_core::Limits;

fuzz_target!(|message: Message<'static>| {
    let frame = encode(&message);
    let decoded = decode(frame.as_bytes(), &Limits::default()).expect("our own encoding decodes");
    assert_eq!(decoded, message, "{frame}");
    assert_eq!(encode(&decoded), frame, "encoding is canonical");
});
