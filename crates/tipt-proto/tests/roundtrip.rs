//! Every frame the exported generators make survives encode then decode.

use arbitrary::Unstructured;
use proptest::prelude::*;
use tipt_proto::strategy;
use tipt_proto::{
    Body, BodyBuf, Forwarded, FrameBuf, FrameKind, FrameKindBuf, HandshakeResponse, NodeKey,
    decode_to_node,
};

/// Decodes `bytes` as `frame` is read back: requests typed as the node types them,
/// a response's body typed as `frame`'s (a client types it by its request).
fn read_back(frame: &FrameBuf, bytes: &[u8]) -> FrameBuf {
    let mut decoded = decode_to_node(bytes).unwrap();
    if let (
        FrameKindBuf::Response { body: Some(typed) },
        FrameKind::Response {
            body: Some(Body::Raw(raw)),
        },
    ) = (&frame.kind, &mut decoded.kind)
    {
        let raw = *raw;
        let body = match typed {
            BodyBuf::HandshakeResponse { .. } => {
                Body::HandshakeResponse(HandshakeResponse::decode(raw).unwrap())
            }
            BodyBuf::NodeKey { .. } => Body::NodeKey(NodeKey::decode(raw).unwrap()),
            BodyBuf::Forwarded { .. } => {
                Body::Forwarded(Forwarded::decode(Some(raw)).unwrap().unwrap())
            }
            _ => Body::Raw(raw),
        };
        decoded.kind = FrameKind::Response { body: Some(body) };
    }
    FrameBuf::from_frame(&decoded)
}

proptest! {
    #[test]
    fn every_frame_round_trips(frame in strategy::frame()) {
        let bytes = frame.encode();
        prop_assert_eq!(read_back(&frame, &bytes), frame);
    }

    #[test]
    fn conversations_open_with_a_handshake_and_never_reuse_an_id(
        conversation in strategy::client_conversation(),
    ) {
        let (first, rest) = conversation.split_first().unwrap();
        let opens = matches!(first.kind, FrameKindBuf::Request { reqt: 0, body: Some(BodyBuf::Handshake { .. }) });
        prop_assert!(opens, "starts with {:?}", first);
        let mut ids = std::collections::HashSet::new();
        for frame in &conversation {
            if let FrameKindBuf::Request { .. } = frame.kind {
                prop_assert!(ids.insert(frame.id), "id {} reused", frame.id);
            }
            prop_assert_eq!(&read_back(frame, &frame.encode()), frame);
        }
        let again = rest.iter().any(|frame| matches!(frame.kind, FrameKindBuf::Request { reqt: 0, .. }));
        prop_assert!(!again, "a second HANDSHAKE");
    }
}

/// The `arbitrary` generator makes only valid frames: every one of a thousand
/// pseudo-random inputs decodes back to itself.
#[test]
fn arbitrary_frames_round_trip() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..1000 {
        let input: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let frame: FrameBuf = Unstructured::new(&input).arbitrary().unwrap();
        assert_eq!(read_back(&frame, &frame.encode()), frame);
    }
}
