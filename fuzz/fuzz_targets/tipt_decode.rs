//! Any bytes: the decoder returns a frame or an error, never panics; what it
//! accepts survives encode and decode unchanged and encodes canonically, and its
//! raw bodies give typed response decoders no way to panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tipt_proto::{
    Body, Forwarded, FrameKind, HandshakeResponse, NodeKey, RawValue, decode, decode_to_node,
    encode,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode_to_node(data) {
        let bytes = encode(&frame);
        let again = decode_to_node(&bytes);
        assert_eq!(again.as_ref(), Ok(&frame), "our own encoding decodes");
        if let Ok(again) = again {
            assert_eq!(encode(&again), bytes, "encoding is canonical");
        }
        assert!(
            bytes.len() <= data.len(),
            "the smallest widths never grow a frame"
        );
    }
    if let Ok(frame) = decode(data) {
        let body = match frame.kind {
            FrameKind::Response { body } => body,
            FrameKind::Error { err } => {
                assert_eq!(RawValue::new(err.as_bytes()), Ok(err));
                None
            }
            FrameKind::Request { body, .. } | FrameKind::Event { body, .. } => body,
        };
        if let Some(Body::Raw(raw)) = body {
            assert_eq!(
                RawValue::new(raw.as_bytes()),
                Ok(raw),
                "raw bodies are one value"
            );
            let _ = HandshakeResponse::decode(raw);
            let _ = NodeKey::decode(raw);
            let _ = Forwarded::decode(Some(raw));
        }
    }
});
