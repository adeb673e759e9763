//! Any valid frame from the exported `arbitrary` generator: its encoding decodes
//! back to it (request bodies typed as the node types them, response bodies as the
//! client types them by request), re-encodes to the same bytes, and fits the frame
//! limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tipt_proto::{
    Body, BodyBuf, Forwarded, FrameBuf, FrameKind, FrameKindBuf, HandshakeResponse, MAX_FRAME_LEN,
    NodeKey, decode_to_node, encode,
};

fuzz_target!(|frame: FrameBuf| {
    let bytes = frame.encode();
    assert!(bytes.len() <= MAX_FRAME_LEN, "a valid frame fits");
    let mut decoded = decode_to_node(&bytes).expect("a valid frame decodes");
    assert_eq!(encode(&decoded), bytes, "encoding is canonical");
    if let (
        FrameKindBuf::Response { body: Some(typed) },
        FrameKind::Response {
            body: Some(Body::Raw(raw)),
        },
    ) = (&frame.kind, &decoded.kind)
    {
        let raw = *raw;
        let body = match typed {
            BodyBuf::HandshakeResponse { .. } => {
                Body::HandshakeResponse(HandshakeResponse::decode(raw).expect("HANDSHAKE answer"))
            }
            BodyBuf::NodeKey { .. } => Body::NodeKey(NodeKey::decode(raw).expect("key")),
            BodyBuf::Forwarded { .. } => Body::Forwarded(
                Forwarded::decode(Some(raw))
                    .expect("FORWARD answer")
                    .expect("with resp"),
            ),
            _ => Body::Raw(raw),
        };
        decoded.kind = FrameKind::Response { body: Some(body) };
    }
    assert_eq!(FrameBuf::from_frame(&decoded), frame);
});
