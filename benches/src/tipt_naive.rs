//! Tipt frames, one of each packet, and the baselines the typed codec is measured
//! against: a generic `rmpv::Value` tree with the fields picked out, and the
//! parse-and-discard floor (`IgnoredAny` through rmp-serde).

use serde::de::IgnoredAny;
use tipt_proto::{
    Body, DecodeError, Forward, Forwarded, Frame, FrameKind, GetNodeKey, Handshake,
    HandshakeResponse, MAX_PAYLOAD_LEN, NodeKey, NodeRequestType, decode, decode_to_node, encode,
};

/// How a packet is decoded by a typed receiver: requests as the node types them,
/// responses by the request they answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// A request to the node.
    Request,
    /// A HANDSHAKE response.
    HandshakeResponse,
    /// A GET_NODE_KEY response.
    NodeKey,
    /// A FORWARD response.
    Forwarded,
}

/// The payload of the FORWARD frames (1 KB) and the key (1 KB, an OpenPGP key's size).
const PAYLOAD: usize = 1024;

fn frame(id: u8, kind: FrameKind<'_>) -> Vec<u8> {
    encode(&Frame {
        id,
        ver: None,
        kind,
    })
}

fn request(reqt: NodeRequestType, body: Body<'_>) -> Vec<u8> {
    frame(
        7,
        FrameKind::Request {
            reqt: reqt.0,
            body: Some(body),
        },
    )
}

fn response(body: Body<'_>) -> Vec<u8> {
    frame(7, FrameKind::Response { body: Some(body) })
}

/// One frame of each packet, named, with how it is decoded; the last is a FORWARD
/// carrying the largest `msg` allowed (2 MB).
pub fn frames() -> Vec<(&'static str, Packet, Vec<u8>)> {
    let payload = vec![0x5a; PAYLOAD];
    let large = vec![0xa5; MAX_PAYLOAD_LEN];
    let node = "node.example.org";
    vec![
        (
            "handshake_request",
            Packet::Request,
            request(
                NodeRequestType::HANDSHAKE,
                Body::Handshake(Handshake { ver: "1.0.0" }),
            ),
        ),
        (
            "handshake_response",
            Packet::HandshakeResponse,
            response(Body::HandshakeResponse(HandshakeResponse {
                ver: "1.0.0",
                comp: true,
            })),
        ),
        (
            "get_node_key_request",
            Packet::Request,
            request(
                NodeRequestType::GET_NODE_KEY,
                Body::GetNodeKey(GetNodeKey { node }),
            ),
        ),
        (
            "node_key_response",
            Packet::NodeKey,
            response(Body::NodeKey(NodeKey { key: &payload })),
        ),
        (
            "forward_request",
            Packet::Request,
            request(
                NodeRequestType::FORWARD,
                Body::Forward(Forward {
                    node,
                    wait: true,
                    msg: &payload,
                }),
            ),
        ),
        (
            "forward_response_nil",
            Packet::Forwarded,
            response(Body::NIL),
        ),
        (
            "forward_response",
            Packet::Forwarded,
            response(Body::Forwarded(Forwarded { resp: &payload })),
        ),
        (
            "forward_request_2mb",
            Packet::Request,
            request(
                NodeRequestType::FORWARD,
                Body::Forward(Forward {
                    node,
                    wait: false,
                    msg: &large,
                }),
            ),
        ),
    ]
}

/// The typed decode of `frame` as `packet`: the frame's id, once every field is
/// checked and typed (payloads borrowed).
pub fn typed_decode(packet: Packet, frame: &[u8]) -> Result<u8, DecodeError> {
    if packet == Packet::Request {
        return decode_to_node(frame).map(|frame| frame.id);
    }
    let decoded = decode(frame)?;
    let FrameKind::Response { body } = decoded.kind else {
        return Ok(decoded.id);
    };
    let raw = match body {
        Some(Body::Raw(raw)) => Some(raw),
        _ => None,
    };
    match (packet, raw) {
        (Packet::HandshakeResponse, Some(raw)) => HandshakeResponse::decode(raw).map(|_| ()),
        (Packet::NodeKey, Some(raw)) => NodeKey::decode(raw).map(|_| ()),
        (Packet::Forwarded, raw) => Forwarded::decode(raw).map(|_| ()),
        _ => Ok(()),
    }?;
    Ok(decoded.id)
}

/// What a user without this crate would write: read an `rmpv::Value`, then pick
/// the root fields and the body's fields out of it.
pub fn naive_decode(frame: &[u8]) -> Option<u8> {
    let value = rmpv::decode::read_value(&mut &frame[..]).ok()?;
    let root = value.as_map()?;
    let field = |map: &[(rmpv::Value, rmpv::Value)], name: &str| {
        map.iter()
            .find(|(key, _)| key.as_str() == Some(name))
            .map(|(_, value)| value.clone())
    };
    let id = u8::try_from(field(root, "id")?.as_u64()?).ok()?;
    field(root, "pakt")?.as_u64()?;
    if let Some(body) = field(root, "body") {
        if let Some(body) = body.as_map() {
            for (key, value) in body {
                let _ = (
                    key.as_str()?,
                    value.as_str().is_some() || value.as_slice().is_some(),
                );
            }
        }
    }
    Some(id)
}

/// Decodes `frame` into the generic tree alone (for the encode baseline).
pub fn naive_value(frame: &[u8]) -> Option<rmpv::Value> {
    rmpv::decode::read_value(&mut &frame[..]).ok()
}

/// Encodes the generic tree.
pub fn naive_encode(value: &rmpv::Value) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut buf, value);
    buf
}

/// Parses `frame` and throws every value away: no decoder that reads the whole
/// frame does less.
pub fn floor_decode(frame: &[u8]) -> bool {
    rmp_serde::from_slice::<IgnoredAny>(frame).is_ok()
}
