//! Any bytes: the decoder returns a command or an error, never panics; whatever it
//! accepts is valid, survives encode and decode unchanged, and encodes canonically.
//! What it refuses still gives up its ids without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_core::Limits;
use tachyon_proto::{decode, decode_with, encode, recover_ids};

fuzz_target!(|data: &[u8]| {
    match decode_with(data, &Limits::default()) {
        Ok(command) => {
            assert_eq!(command.validate(), Ok(()), "decoded commands are valid");
            let frame = encode(&command);
            let again = decode(&frame);
            assert_eq!(again.as_ref(), Ok(&command), "our own encoding decodes");
            assert_eq!(encode(&command), frame, "encoding is deterministic");
            if let Ok(again) = again {
                assert_eq!(encode(&again), frame, "encoding is canonical");
            }
        }
        Err(_) => {
            let _ = recover_ids(data);
        }
    }
});
