//! Every packet survives encode then decode, whatever its values.

use proptest::prelude::*;
use tipt_proto::{
    Body, Forward, Forwarded, Frame, FrameKind, GetNodeKey, Handshake, HandshakeResponse, NodeKey,
    RawValue, decode, decode_to_node, encode,
};

fn version() -> impl Strategy<Value = String> {
    "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-[a-z0-9.]{0,40})?"
}

fn node() -> impl Strategy<Value = String> {
    "[a-zé0-9.-]{1,500}".prop_filter("at most 500 bytes", |node| node.len() <= 500)
}

/// Checks that `frame` decodes back from its encoding, bodies typed as the node
/// types them, and returns the raw body of a response for typed decoding.
fn round_trip(frame: &Frame<'_>) {
    let bytes = encode(frame);
    assert_eq!(&decode_to_node(&bytes).unwrap(), frame);
}

fn response_body(bytes: &[u8]) -> RawValue<'_> {
    match decode(bytes).unwrap().kind {
        FrameKind::Response {
            body: Some(Body::Raw(raw)),
        } => raw,
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn handshake(id: u8, ver in version(), root_ver in proptest::option::of(version()), comp: bool) {
        let ver = &ver[..ver.len().min(64)];
        let root_ver = root_ver.as_deref().map(|v| &v[..v.len().min(64)]);
        round_trip(&Frame {
            id,
            ver: root_ver,
            kind: FrameKind::Request { reqt: 0, body: Some(Body::Handshake(Handshake { ver })) },
        });
        let answer = HandshakeResponse { ver, comp };
        let frame = Frame {
            id,
            ver: root_ver,
            kind: FrameKind::Response { body: Some(Body::HandshakeResponse(answer)) },
        };
        let bytes = encode(&frame);
        prop_assert_eq!(HandshakeResponse::decode(response_body(&bytes)), Ok(answer));
    }

    #[test]
    fn get_node_key(id: u8, node in node(), key in proptest::collection::vec(any::<u8>(), 0..=8192)) {
        round_trip(&Frame {
            id,
            ver: None,
            kind: FrameKind::Request { reqt: 0x20, body: Some(Body::GetNodeKey(GetNodeKey { node: &node })) },
        });
        let frame = Frame {
            id,
            ver: None,
            kind: FrameKind::Response { body: Some(Body::NodeKey(NodeKey { key: &key })) },
        };
        let bytes = encode(&frame);
        prop_assert_eq!(NodeKey::decode(response_body(&bytes)), Ok(NodeKey { key: &key }));
    }

    #[test]
    fn forward(id: u8, node in node(), wait: bool, msg in proptest::collection::vec(any::<u8>(), 0..70_000)) {
        round_trip(&Frame {
            id,
            ver: None,
            kind: FrameKind::Request { reqt: 0x21, body: Some(Body::Forward(Forward { node: &node, wait, msg: &msg })) },
        });
        let body = if wait { Body::Forwarded(Forwarded { resp: &msg }) } else { Body::NIL };
        let frame = Frame { id, ver: None, kind: FrameKind::Response { body: Some(body) } };
        let bytes = encode(&frame);
        let expected = wait.then_some(Forwarded { resp: &msg });
        prop_assert_eq!(Forwarded::decode(Some(response_body(&bytes))), Ok(expected));
    }

    #[test]
    fn raw_requests_events_and_errors(id: u8, reqt in 0u8..=0x7f, text in ".{0,40}", nil_body: bool) {
        let mut body = vec![0x81, 0xa1, b'k'];
        body.push(0xd9);
        body.push(u8::try_from(text.len()).unwrap());
        body.extend_from_slice(text.as_bytes());
        let raw = if nil_body { RawValue::NIL } else { RawValue::new(&body).unwrap() };
        // Known node request types have typed bodies; the rest stay raw.
        if ![0x00, 0x20, 0x21].contains(&reqt) {
            round_trip(&Frame { id, ver: None, kind: FrameKind::Request { reqt, body: Some(Body::Raw(raw)) } });
        }
        round_trip(&Frame { id, ver: None, kind: FrameKind::Event { reqt, body: Some(Body::Raw(raw)) } });
        round_trip(&Frame { id, ver: None, kind: FrameKind::Event { reqt, body: None } });
        round_trip(&Frame { id, ver: None, kind: FrameKind::Error { err: raw } });
        round_trip(&Frame { id, ver: None, kind: FrameKind::Response { body: None } });
    }
}
