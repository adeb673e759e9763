//! The root map: decoding a frame into id, packet type, request type, body and
//! error with every rule of the spec checked, and encoding one back in the
//! smallest widths.

use crate::body::{Body, Forward, GetNodeKey, Handshake, MAX_VERSION_LEN};
use crate::error::{DecodeError, Field, Kind};
use crate::raw::RawValue;
use crate::read::{Head, Reader};
use crate::request_type::{NodeRequestType, PacketType};
use crate::write;

/// The largest frame, "2.1 MB" read as 2.1 × 2^20 bytes (like `msg`'s 2 MB as
/// 2 × 2^20), so that every valid FORWARD fits.
pub const MAX_FRAME_LEN: usize = 2_202_009;

/// The largest `reqt` and `pakt`: both are positive fixints.
const MAX_FIXINT: u64 = 0x7f;

/// One decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// `id`: the request's id, echoed by its response.
    pub id: u8,
    /// The draft's root `ver`, when the peer sent it (or this side emits it).
    pub ver: Option<&'a str>,
    /// `pakt` with what it carries.
    pub kind: FrameKind<'a>,
}

/// What a frame is, with the fields allowed for its packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind<'a> {
    /// A REQUEST of type `reqt`. To the node `reqt` is a [`NodeRequestType`]; to
    /// the client it is a CNClientRequestType, which the spec does not define yet.
    Request {
        /// `reqt`.
        reqt: u8,
        /// `body`, when present.
        body: Option<Body<'a>>,
    },
    /// A successful RESPONSE.
    Response {
        /// `body`, when present.
        body: Option<Body<'a>>,
    },
    /// A RESPONSE that reports an error, carried byte-exact (CNNodeResponseError or
    /// CNClientResponseError, which the spec does not define yet).
    Error {
        /// `err`.
        err: RawValue<'a>,
    },
    /// An EVENT of type `reqt`; none is defined yet.
    Event {
        /// `reqt`.
        reqt: u8,
        /// `body`, when present.
        body: Option<Body<'a>>,
    },
}

impl Frame<'_> {
    /// `pakt`.
    pub fn packet_type(&self) -> PacketType {
        match self.kind {
            FrameKind::Request { .. } => PacketType::Request,
            FrameKind::Response { .. } | FrameKind::Error { .. } => PacketType::Response,
            FrameKind::Event { .. } => PacketType::Event,
        }
    }
}

/// Decodes a frame's root map; bodies stay raw (see [`decode_to_node`] for typed
/// request bodies).
///
/// The length is checked first; then every key, integer width, string and
/// binary length, and the rules binding `pakt`, `reqt`, `body` and `err`. Nothing
/// is allocated.
pub fn decode(frame: &[u8]) -> Result<Frame<'_>, DecodeError> {
    if frame.len() > MAX_FRAME_LEN {
        return Err(DecodeError::FrameTooLarge {
            len: frame.len(),
            max: MAX_FRAME_LEN,
        });
    }
    let mut reader = Reader::new(frame);
    let entries = reader.map(Field::Root)?;
    let mut seen = 0u32;
    let mut id = None;
    let mut pakt = None;
    // `Some(None)`: present and nil.
    let mut reqt: Option<Option<u8>> = None;
    let mut body = None;
    let mut err = None;
    let mut ver = None;
    for _ in 0..entries {
        let at = reader.position();
        let field = match reader.key()? {
            b"id" => Field::Id,
            b"pakt" => Field::Pakt,
            b"reqt" => Field::Reqt,
            b"body" => Field::Body,
            b"err" => Field::Err,
            b"ver" => Field::RootVer,
            _ => {
                return Err(DecodeError::UnknownKey {
                    map: Field::Root,
                    at,
                });
            }
        };
        if seen & field.bit() != 0 {
            return Err(DecodeError::DuplicateKey(field));
        }
        seen |= field.bit();
        match field {
            Field::Id => id = Some(reader.uint(Field::Id, u64::from(u8::MAX))? as u8),
            Field::Pakt => pakt = Some(reader.uint(Field::Pakt, MAX_FIXINT)? as u8),
            Field::Reqt => reqt = Some(nil_or_fixint(&mut reader)?),
            Field::Body => body = Some(body_value(&mut reader)?),
            Field::Err => err = Some(raw_value(&mut reader)?),
            _ => ver = Some(reader.ascii(Field::RootVer, MAX_VERSION_LEN)?),
        }
    }
    if reader.left() > 0 {
        return Err(DecodeError::TrailingBytes { len: reader.left() });
    }
    let id = id.ok_or(DecodeError::MissingField(Field::Id))?;
    let pakt = pakt.ok_or(DecodeError::MissingField(Field::Pakt))?;
    let pakt = PacketType::from_u8(pakt).ok_or(DecodeError::UnknownPacketType(pakt))?;
    let body = body.map(Body::Raw);
    let kind = match pakt {
        PacketType::Response => {
            if reqt.flatten().is_some() {
                return Err(DecodeError::ReqtOnResponse);
            }
            match (err, body) {
                (Some(_), Some(_)) => return Err(DecodeError::BodyWithErr),
                (Some(err), None) => FrameKind::Error { err },
                (None, body) => FrameKind::Response { body },
            }
        }
        PacketType::Request | PacketType::Event => {
            if err.is_some() {
                return Err(DecodeError::ErrOutsideResponse);
            }
            let reqt = match reqt {
                Some(Some(reqt)) => reqt,
                Some(None) => {
                    return Err(DecodeError::WrongType {
                        field: Field::Reqt,
                        expected: Kind::Int,
                        found: Kind::Nil,
                    });
                }
                None => return Err(DecodeError::MissingField(Field::Reqt)),
            };
            if pakt == PacketType::Request {
                FrameKind::Request { reqt, body }
            } else {
                FrameKind::Event { reqt, body }
            }
        }
    };
    Ok(Frame { id, ver, kind })
}

/// Decodes a frame sent to the node: like [`decode`], and the bodies of the
/// HANDSHAKE, GET_NODE_KEY and FORWARD requests typed.
pub fn decode_to_node(frame: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let mut decoded = decode(frame)?;
    if let FrameKind::Request { reqt, body } = &mut decoded.kind {
        *body = type_node_request(NodeRequestType(*reqt), *body)?;
    }
    Ok(decoded)
}

/// Types the body of a request of type `reqt` sent to the node, where the spec
/// defines it; other bodies are returned as they are.
pub fn type_node_request(
    reqt: NodeRequestType,
    body: Option<Body<'_>>,
) -> Result<Option<Body<'_>>, DecodeError> {
    let Some(Body::Raw(raw)) = body else {
        return match (reqt, body) {
            (
                NodeRequestType::HANDSHAKE
                | NodeRequestType::GET_NODE_KEY
                | NodeRequestType::FORWARD,
                None,
            ) => Err(DecodeError::MissingField(Field::Body)),
            _ => Ok(body),
        };
    };
    Ok(Some(match reqt {
        NodeRequestType::HANDSHAKE => Body::Handshake(Handshake::decode(raw)?),
        NodeRequestType::GET_NODE_KEY => Body::GetNodeKey(GetNodeKey::decode(raw)?),
        NodeRequestType::FORWARD => Body::Forward(Forward::decode(raw)?),
        _ => Body::Raw(raw),
    }))
}

fn nil_or_fixint(reader: &mut Reader<'_>) -> Result<Option<u8>, DecodeError> {
    let mut peek = reader.clone();
    if peek.head()? == Head::Nil {
        *reader = peek;
        return Ok(None);
    }
    Ok(Some(reader.uint(Field::Reqt, MAX_FIXINT)? as u8))
}

fn raw_value<'a>(reader: &mut Reader<'a>) -> Result<RawValue<'a>, DecodeError> {
    let start = reader.position();
    reader.skip_value()?;
    Ok(RawValue::walked(reader.since(start)))
}

fn body_value<'a>(reader: &mut Reader<'a>) -> Result<RawValue<'a>, DecodeError> {
    let mut peek = reader.clone();
    match peek.head()? {
        Head::Nil | Head::Map(_) => raw_value(reader),
        other => Err(DecodeError::BodyNotMap {
            found: other.kind(),
        }),
    }
}

/// Encodes `frame`, keys in the spec's order (the draft's `ver` first), every
/// value in its smallest width. A RESPONSE carries no `reqt`.
pub fn encode(frame: &Frame<'_>) -> Vec<u8> {
    let hint = match &frame.kind {
        FrameKind::Request { body, .. }
        | FrameKind::Response { body }
        | FrameKind::Event { body, .. } => body.as_ref().map_or(0, Body::encoded_len_hint),
        FrameKind::Error { err } => err.as_bytes().len(),
    };
    let mut buf = Vec::with_capacity(hint + 96);
    encode_into(frame, &mut buf);
    buf
}

/// Appends the encoding of `frame` to `buf`.
pub fn encode_into(frame: &Frame<'_>, buf: &mut Vec<u8>) {
    let (reqt, body, err) = match &frame.kind {
        FrameKind::Request { reqt, body } | FrameKind::Event { reqt, body } => {
            (Some(*reqt), body.as_ref(), None)
        }
        FrameKind::Response { body } => (None, body.as_ref(), None),
        FrameKind::Error { err } => (None, None, Some(err)),
    };
    let entries = 2
        + usize::from(frame.ver.is_some())
        + usize::from(reqt.is_some())
        + usize::from(body.is_some())
        + usize::from(err.is_some());
    write::map_len(buf, entries);
    if let Some(ver) = frame.ver {
        write::str(buf, "ver");
        write::str(buf, ver);
    }
    write::str(buf, "id");
    write::uint(buf, u64::from(frame.id));
    write::str(buf, "pakt");
    write::uint(buf, u64::from(frame.packet_type().to_u8()));
    if let Some(reqt) = reqt {
        write::str(buf, "reqt");
        write::uint(buf, u64::from(reqt));
    }
    if let Some(body) = body {
        write::str(buf, "body");
        body.encode_into(buf);
    }
    if let Some(err) = err {
        write::str(buf, "err");
        buf.extend_from_slice(err.as_bytes());
    }
}
