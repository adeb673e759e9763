//! Owned frames: a [`Frame`] that holds its strings and binaries itself, for
//! generators, queues and tests whose frames outlive the bytes they came from.

use crate::body::{Body, Forward, Forwarded, GetNodeKey, Handshake, HandshakeResponse, NodeKey};
use crate::frame::{Frame, FrameKind, encode};
use crate::raw::RawBuf;

/// An owned [`Frame`]; [`FrameBuf::as_frame`] borrows it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameBuf {
    /// `id`.
    pub id: u8,
    /// The draft's root `ver`.
    pub ver: Option<String>,
    /// `pakt` with what it carries.
    pub kind: FrameKindBuf,
}

/// An owned [`FrameKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKindBuf {
    /// A REQUEST of type `reqt`.
    Request {
        /// `reqt`.
        reqt: u8,
        /// `body`, when present.
        body: Option<BodyBuf>,
    },
    /// A successful RESPONSE.
    Response {
        /// `body`, when present.
        body: Option<BodyBuf>,
    },
    /// A RESPONSE that reports an error.
    Error {
        /// `err`.
        err: RawBuf,
    },
    /// An EVENT of type `reqt`.
    Event {
        /// `reqt`.
        reqt: u8,
        /// `body`, when present.
        body: Option<BodyBuf>,
    },
}

/// An owned [`Body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyBuf {
    /// Nil, or a map the spec does not define.
    Raw(RawBuf),
    /// HANDSHAKE request.
    Handshake {
        /// `ver`.
        ver: String,
    },
    /// HANDSHAKE response.
    HandshakeResponse {
        /// `ver`.
        ver: String,
        /// `comp`.
        comp: bool,
    },
    /// GET_NODE_KEY request.
    GetNodeKey {
        /// `node`.
        node: String,
    },
    /// GET_NODE_KEY response.
    NodeKey {
        /// `key`.
        key: Vec<u8>,
    },
    /// FORWARD request.
    Forward {
        /// `node`.
        node: String,
        /// `wait`.
        wait: bool,
        /// `msg`.
        msg: Vec<u8>,
    },
    /// FORWARD response to a request with `wait: true`.
    Forwarded {
        /// `resp`.
        resp: Vec<u8>,
    },
}

impl FrameBuf {
    /// The borrowed view.
    pub fn as_frame(&self) -> Frame<'_> {
        Frame {
            id: self.id,
            ver: self.ver.as_deref(),
            kind: match &self.kind {
                FrameKindBuf::Request { reqt, body: b } => FrameKind::Request {
                    reqt: *reqt,
                    body: body(b),
                },
                FrameKindBuf::Response { body: b } => FrameKind::Response { body: body(b) },
                FrameKindBuf::Error { err } => FrameKind::Error { err: err.as_raw() },
                FrameKindBuf::Event { reqt, body: b } => FrameKind::Event {
                    reqt: *reqt,
                    body: body(b),
                },
            },
        }
    }

    /// An owned copy of `frame`.
    pub fn from_frame(frame: &Frame<'_>) -> Self {
        let body = |body: &Option<Body<'_>>| body.as_ref().map(BodyBuf::from_body);
        FrameBuf {
            id: frame.id,
            ver: frame.ver.map(str::to_owned),
            kind: match &frame.kind {
                FrameKind::Request { reqt, body: b } => FrameKindBuf::Request {
                    reqt: *reqt,
                    body: body(b),
                },
                FrameKind::Response { body: b } => FrameKindBuf::Response { body: body(b) },
                FrameKind::Error { err } => FrameKindBuf::Error { err: err.to_buf() },
                FrameKind::Event { reqt, body: b } => FrameKindBuf::Event {
                    reqt: *reqt,
                    body: body(b),
                },
            },
        }
    }

    /// The frame's encoding ([`encode`]).
    pub fn encode(&self) -> Vec<u8> {
        encode(&self.as_frame())
    }
}

fn body(body: &Option<BodyBuf>) -> Option<Body<'_>> {
    body.as_ref().map(BodyBuf::as_body)
}

impl BodyBuf {
    /// The borrowed view.
    pub fn as_body(&self) -> Body<'_> {
        match self {
            BodyBuf::Raw(raw) => Body::Raw(raw.as_raw()),
            BodyBuf::Handshake { ver } => Body::Handshake(Handshake { ver }),
            BodyBuf::HandshakeResponse { ver, comp } => {
                Body::HandshakeResponse(HandshakeResponse { ver, comp: *comp })
            }
            BodyBuf::GetNodeKey { node } => Body::GetNodeKey(GetNodeKey { node }),
            BodyBuf::NodeKey { key } => Body::NodeKey(NodeKey { key }),
            BodyBuf::Forward { node, wait, msg } => Body::Forward(Forward {
                node,
                wait: *wait,
                msg,
            }),
            BodyBuf::Forwarded { resp } => Body::Forwarded(Forwarded { resp }),
        }
    }

    /// An owned copy of `body`.
    pub fn from_body(body: &Body<'_>) -> Self {
        match *body {
            Body::Raw(raw) => BodyBuf::Raw(raw.to_buf()),
            Body::Handshake(Handshake { ver }) => BodyBuf::Handshake {
                ver: ver.to_owned(),
            },
            Body::HandshakeResponse(HandshakeResponse { ver, comp }) => {
                BodyBuf::HandshakeResponse {
                    ver: ver.to_owned(),
                    comp,
                }
            }
            Body::GetNodeKey(GetNodeKey { node }) => BodyBuf::GetNodeKey {
                node: node.to_owned(),
            },
            Body::NodeKey(NodeKey { key }) => BodyBuf::NodeKey { key: key.to_vec() },
            Body::Forward(Forward { node, wait, msg }) => BodyBuf::Forward {
                node: node.to_owned(),
                wait,
                msg: msg.to_vec(),
            },
            Body::Forwarded(Forwarded { resp }) => BodyBuf::Forwarded {
                resp: resp.to_vec(),
            },
        }
    }
}
