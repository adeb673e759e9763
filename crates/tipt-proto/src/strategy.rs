//! Proptest strategies for every frame the spec allows and for whole valid
//! conversations, for property tests of the codec and of servers built on the
//! machines.
//!
//! Every value is valid: versions are ASCII `major.minor.patch[-pre]`, `node` a
//! domain name, `key` at most 8 KiB, `reqt` within 0–0x7f, and HANDSHAKE,
//! GET_NODE_KEY and FORWARD requests carry their typed bodies. Sizes are kept
//! small (payloads under 4 KiB) so cases run fast; build larger ones from
//! [`node_name`] and your own byte strategies.

use proptest::prelude::*;

use crate::frame_buf::{BodyBuf, FrameBuf, FrameKindBuf};
use crate::raw::RawBuf;
use crate::request_type::NodeRequestType;
use crate::sample::{self, MAX_LABELS, Scalar};
use crate::version::{PROTOCOL_VERSION, major};

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        Just(Scalar::Nil),
        any::<bool>().prop_map(Scalar::Bool),
        any::<u64>().prop_map(Scalar::Int),
        ".{0,40}".prop_map(Scalar::Str),
        bytes(40).prop_map(Scalar::Bin),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// A semantic version, `major.minor.patch[-pre]`: ASCII, at most 32 bytes.
pub fn version() -> impl Strategy<Value = String> {
    (any::<u8>(), any::<u8>(), any::<u8>(), "[a-z0-9.]{0,20}")
        .prop_map(|(major, minor, patch, pre)| sample::version(major, minor, patch, &pre))
}

/// A version the node of [`PROTOCOL_VERSION`] finds compatible (same or lower major).
pub fn compatible_version() -> impl Strategy<Value = String> {
    let node_major = major(PROTOCOL_VERSION).map_or(0, |major| major.min(255) as u8);
    (0..=node_major, any::<u8>(), any::<u8>())
        .prop_map(|(major, minor, patch)| sample::version(major, minor, patch, ""))
}

/// A domain name for `node`: up to six labels of letters, digits and hyphens
/// (non-ASCII letters included), sometimes with the trailing dot.
pub fn node_name() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-zé0-9-]{1,20}", 1..=MAX_LABELS),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(labels, absolute)| sample::domain_name(&labels, absolute))
}

/// A raw body: `nil` or a map of up to four entries with string keys and scalar values.
pub fn raw_body() -> impl Strategy<Value = RawBuf> {
    prop_oneof![
        1 => Just(RawBuf::nil()),
        3 => proptest::collection::vec(("[a-z_]{0,12}", scalar()), 0..=4)
            .prop_map(|entries| sample::raw_map(&entries)),
    ]
}

/// An `err`: a raw body or a scalar.
pub fn raw_error() -> impl Strategy<Value = RawBuf> {
    prop_oneof![
        raw_body(),
        scalar().prop_map(|value| sample::raw_scalar(&value))
    ]
}

fn request_to_node() -> impl Strategy<Value = (u8, Option<BodyBuf>)> {
    prop_oneof![
        version().prop_map(|ver| (
            NodeRequestType::HANDSHAKE.0,
            Some(BodyBuf::Handshake { ver })
        )),
        node_name().prop_map(|node| (
            NodeRequestType::GET_NODE_KEY.0,
            Some(BodyBuf::GetNodeKey { node })
        )),
        (node_name(), any::<bool>(), bytes(4096)).prop_map(|(node, wait, msg)| (
            NodeRequestType::FORWARD.0,
            Some(BodyBuf::Forward { node, wait, msg })
        )),
        (any::<u8>(), proptest::option::of(raw_body()))
            .prop_map(|(reqt, body)| (sample::untyped_reqt(reqt), body.map(BodyBuf::Raw))),
    ]
}

/// A request to the node: HANDSHAKE, GET_NODE_KEY and FORWARD typed, any other
/// type with a raw body or none.
pub fn request() -> impl Strategy<Value = FrameBuf> {
    (any::<u8>(), request_to_node()).prop_map(|(id, (reqt, body))| FrameBuf {
        id,
        ver: None,
        kind: FrameKindBuf::Request { reqt, body },
    })
}

/// A response: none, raw, or a typed HANDSHAKE, GET_NODE_KEY or FORWARD answer;
/// or an error response.
pub fn response() -> impl Strategy<Value = FrameBuf> {
    let body = prop_oneof![
        Just(None),
        raw_body().prop_map(|raw| Some(BodyBuf::Raw(raw))),
        (version(), any::<bool>())
            .prop_map(|(ver, comp)| Some(BodyBuf::HandshakeResponse { ver, comp })),
        bytes(8192).prop_map(|key| Some(BodyBuf::NodeKey { key })),
        bytes(4096).prop_map(|resp| Some(BodyBuf::Forwarded { resp })),
    ];
    let kind = prop_oneof![
        3 => body.prop_map(|body| FrameKindBuf::Response { body }),
        1 => raw_error().prop_map(|err| FrameKindBuf::Error { err }),
    ];
    (any::<u8>(), kind).prop_map(|(id, kind)| FrameBuf {
        id,
        ver: None,
        kind,
    })
}

/// An event of any type with a raw body or none.
pub fn event() -> impl Strategy<Value = FrameBuf> {
    (any::<u8>(), proptest::option::of(raw_body())).prop_map(|(reqt, body)| FrameBuf {
        id: 0,
        ver: None,
        kind: FrameKindBuf::Event {
            reqt: sample::reqt(reqt),
            body: body.map(BodyBuf::Raw),
        },
    })
}

/// Any valid frame, the draft's root `ver` one time in eight.
pub fn frame() -> impl Strategy<Value = FrameBuf> {
    (
        prop_oneof![request(), response(), event()],
        proptest::option::weighted(0.125, version()),
    )
        .prop_map(|(frame, ver)| FrameBuf { ver, ..frame })
}

/// What a client sends a node on one connection: a compatible HANDSHAKE, then up
/// to 32 requests and events, every request with an id of its own. Requests of
/// every sign-in class are mixed in; a node refuses those its sign-in state does
/// not allow, with an `err`.
pub fn client_conversation() -> impl Strategy<Value = Vec<FrameBuf>> {
    let step = prop_oneof![
        4 => request_to_node()
            .prop_filter("one HANDSHAKE per connection", |(reqt, _)| *reqt != 0)
            .prop_map(|(reqt, body)| FrameKindBuf::Request { reqt, body }),
        1 => event().prop_map(|event| event.kind),
    ];
    (
        compatible_version(),
        proptest::sample::subsequence((0..=255u8).collect::<Vec<_>>(), 33),
        proptest::collection::vec(step, 0..=32),
    )
        .prop_flat_map(|(ver, ids, steps)| {
            let ids = Just(ids).prop_shuffle();
            (Just(ver), ids, Just(steps))
        })
        .prop_map(|(ver, ids, steps)| {
            let mut ids = ids.into_iter();
            let handshake = FrameBuf {
                id: ids.next().unwrap_or(0),
                ver: None,
                kind: FrameKindBuf::Request {
                    reqt: NodeRequestType::HANDSHAKE.0,
                    body: Some(BodyBuf::Handshake { ver }),
                },
            };
            let rest = steps.into_iter().map(|kind| FrameBuf {
                id: match kind {
                    FrameKindBuf::Request { .. } => ids.next().unwrap_or(0),
                    _ => 0,
                },
                ver: None,
                kind,
            });
            std::iter::once(handshake).chain(rest).collect()
        })
}
