//! Any valid command, built by the crate's `Arbitrary` implementations: it
//! validates, encodes, decodes to itself, and encodes canonically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_proto::{Command, decode, encode};

fuzz_target!(|command: Command| {
    assert_eq!(command.validate(), Ok(()), "generated commands are valid");
    let frame = encode(&command);
    let decoded = decode(&frame).expect("our own encoding decodes");
    assert_eq!(decoded, command, "{frame}");
    assert_eq!(encode(&decoded), frame, "encoding is canonical");
});
