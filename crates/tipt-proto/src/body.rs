//! The typed bodies of HANDSHAKE, GET_NODE_KEY and FORWARD, requests and
//! responses, each borrowing its strings and binaries from the frame.

use crate::error::{CallError, DecodeError, Field, Kind};
use crate::raw::RawValue;
use crate::read::{Head, Reader};
use crate::write;

/// The longest `ver`, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// The longest `node`, in bytes.
pub const MAX_NODE_LEN: usize = 500;
/// The longest `key` (2^13 bytes).
pub const MAX_KEY_LEN: usize = 8192;
/// The longest `msg` and `resp`: 2 MB, read as 2 × 2^20 bytes.
pub const MAX_PAYLOAD_LEN: usize = 2 * 1024 * 1024;

/// A root `body`: typed for the requests and responses the spec defines, raw
/// msgpack otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A body carried byte-exact: nil, or a map the spec does not define.
    Raw(RawValue<'a>),
    /// HANDSHAKE request.
    Handshake(Handshake<'a>),
    /// HANDSHAKE response.
    HandshakeResponse(HandshakeResponse<'a>),
    /// GET_NODE_KEY request.
    GetNodeKey(GetNodeKey<'a>),
    /// GET_NODE_KEY response.
    NodeKey(NodeKey<'a>),
    /// FORWARD request.
    Forward(Forward<'a>),
    /// FORWARD response when the request had `wait: true`.
    Forwarded(Forwarded<'a>),
}

impl Body<'_> {
    /// `nil`: the body of a FORWARD response when the request had `wait: false`.
    pub const NIL: Body<'static> = Body::Raw(RawValue::NIL);

    /// Appends the body's encoding to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        match self {
            Body::Raw(raw) => buf.extend_from_slice(raw.as_bytes()),
            Body::Handshake(body) => {
                write::map_len(buf, 1);
                write::str(buf, "ver");
                write::str(buf, body.ver);
            }
            Body::HandshakeResponse(body) => {
                write::map_len(buf, 2);
                write::str(buf, "ver");
                write::str(buf, body.ver);
                write::str(buf, "comp");
                write::bool(buf, body.comp);
            }
            Body::GetNodeKey(body) => {
                write::map_len(buf, 1);
                write::str(buf, "node");
                write::str(buf, body.node);
            }
            Body::NodeKey(body) => {
                write::map_len(buf, 1);
                write::str(buf, "key");
                write::bin(buf, body.key);
            }
            Body::Forward(body) => {
                write::map_len(buf, 3);
                write::str(buf, "node");
                write::str(buf, body.node);
                write::str(buf, "wait");
                write::bool(buf, body.wait);
                write::str(buf, "msg");
                write::bin(buf, body.msg);
            }
            Body::Forwarded(body) => {
                write::map_len(buf, 1);
                write::str(buf, "resp");
                write::bin(buf, body.resp);
            }
        }
    }

    /// An upper bound of the encoding's length, to reserve once.
    pub(crate) fn encoded_len_hint(&self) -> usize {
        16 + match self {
            Body::Raw(raw) => raw.as_bytes().len(),
            Body::Handshake(body) => body.ver.len(),
            Body::HandshakeResponse(body) => body.ver.len() + 6,
            Body::GetNodeKey(body) => body.node.len(),
            Body::NodeKey(body) => body.key.len(),
            Body::Forward(body) => body.node.len() + body.msg.len() + 16,
            Body::Forwarded(body) => body.resp.len(),
        }
    }
}

/// HANDSHAKE request: the client's protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// `ver`: semantic version, ASCII, at most 64 bytes.
    pub ver: &'a str,
}

/// HANDSHAKE response: the node's protocol version and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeResponse<'a> {
    /// `ver`: semantic version, ASCII, at most 64 bytes.
    pub ver: &'a str,
    /// `comp`: whether the client's major version is at most the node's.
    pub comp: bool,
}

/// GET_NODE_KEY request: whose OpenPGP key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetNodeKey<'a> {
    /// `node`: a domain name, UTF-8, at most 500 bytes.
    pub node: &'a str,
}

/// GET_NODE_KEY response: the un-armored key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeKey<'a> {
    /// `key`: at most 2^13 bytes.
    pub key: &'a [u8],
}

/// FORWARD request: a message for another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward<'a> {
    /// `node`: the recipient node's domain name, UTF-8, at most 500 bytes.
    pub node: &'a str,
    /// `wait`: whether the client wants the recipient's response.
    pub wait: bool,
    /// `msg`: the encrypted message, at most 2 MB.
    pub msg: &'a [u8],
}

/// FORWARD response to a request with `wait: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded<'a> {
    /// `resp`: the recipient node's response, at most 2 MB.
    pub resp: &'a [u8],
}

/// Walks the map in `raw`, handing each key and the reader positioned at its value
/// to `field`, which reads the value and names the field it was, or `None` for a
/// key the body does not define.
fn fields<'a>(
    raw: RawValue<'a>,
    mut field: impl FnMut(&'a [u8], &mut Reader<'a>) -> Result<Option<Field>, DecodeError>,
) -> Result<(), DecodeError> {
    let mut reader = Reader::new(raw.as_bytes());
    let entries = match reader.head()? {
        Head::Map(entries) => entries,
        other => {
            return Err(DecodeError::WrongType {
                field: Field::Body,
                expected: Kind::Map,
                found: other.kind(),
            });
        }
    };
    reader.check_entries(entries)?;
    let mut seen = 0u32;
    for _ in 0..entries {
        let at = reader.position();
        let key = reader.key()?;
        match field(key, &mut reader)? {
            Some(name) if seen & name.bit() != 0 => return Err(DecodeError::DuplicateKey(name)),
            Some(name) => seen |= name.bit(),
            None => {
                return Err(DecodeError::UnknownKey {
                    map: Field::Body,
                    at,
                });
            }
        }
    }
    Ok(())
}

/// Checks the length of a value this side is about to send.
pub(crate) fn check_len(field: Field, len: usize, max: usize) -> Result<(), CallError> {
    if len > max {
        return Err(CallError::Invalid(DecodeError::TooLong { field, len, max }));
    }
    Ok(())
}

fn required<T>(value: Option<T>, field: Field) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(field))
}

impl<'a> Handshake<'a> {
    /// Decodes a HANDSHAKE request body.
    pub fn decode(raw: RawValue<'a>) -> Result<Self, DecodeError> {
        let mut ver = None;
        fields(raw, |key, reader| {
            Ok(match key {
                b"ver" => {
                    ver = Some(reader.ascii(Field::Ver, MAX_VERSION_LEN)?);
                    Some(Field::Ver)
                }
                _ => None,
            })
        })?;
        Ok(Handshake {
            ver: required(ver, Field::Ver)?,
        })
    }
}

impl<'a> HandshakeResponse<'a> {
    /// Decodes a HANDSHAKE response body.
    pub fn decode(raw: RawValue<'a>) -> Result<Self, DecodeError> {
        let (mut ver, mut comp) = (None, None);
        fields(raw, |key, reader| {
            Ok(match key {
                b"ver" => {
                    ver = Some(reader.ascii(Field::Ver, MAX_VERSION_LEN)?);
                    Some(Field::Ver)
                }
                b"comp" => {
                    comp = Some(reader.bool(Field::Comp)?);
                    Some(Field::Comp)
                }
                _ => None,
            })
        })?;
        Ok(HandshakeResponse {
            ver: required(ver, Field::Ver)?,
            comp: required(comp, Field::Comp)?,
        })
    }
}

impl<'a> GetNodeKey<'a> {
    /// Decodes a GET_NODE_KEY request body. `node` may be str8 or str16 (the
    /// spec's erratum: str8 cannot hold 500 bytes).
    pub fn decode(raw: RawValue<'a>) -> Result<Self, DecodeError> {
        let mut node = None;
        fields(raw, |key, reader| {
            Ok(match key {
                b"node" => {
                    node = Some(reader.str(Field::Node, MAX_NODE_LEN)?);
                    Some(Field::Node)
                }
                _ => None,
            })
        })?;
        Ok(GetNodeKey {
            node: required(node, Field::Node)?,
        })
    }
}

impl<'a> NodeKey<'a> {
    /// Checks a key this side is about to send.
    pub(crate) fn check(key: &[u8]) -> Result<(), CallError> {
        check_len(Field::Key, key.len(), MAX_KEY_LEN)
    }

    /// Decodes a GET_NODE_KEY response body.
    pub fn decode(raw: RawValue<'a>) -> Result<Self, DecodeError> {
        let mut node_key = None;
        fields(raw, |key, reader| {
            Ok(match key {
                b"key" => {
                    node_key = Some(reader.bin(Field::Key, MAX_KEY_LEN)?);
                    Some(Field::Key)
                }
                _ => None,
            })
        })?;
        Ok(NodeKey {
            key: required(node_key, Field::Key)?,
        })
    }
}

impl<'a> Forward<'a> {
    /// Decodes a FORWARD request body.
    pub fn decode(raw: RawValue<'a>) -> Result<Self, DecodeError> {
        let (mut node, mut wait, mut msg) = (None, None, None);
        fields(raw, |key, reader| {
            Ok(match key {
                b"node" => {
                    node = Some(reader.str(Field::Node, MAX_NODE_LEN)?);
                    Some(Field::Node)
                }
                b"wait" => {
                    wait = Some(reader.bool(Field::Wait)?);
                    Some(Field::Wait)
                }
                b"msg" => {
                    msg = Some(reader.bin(Field::Msg, MAX_PAYLOAD_LEN)?);
                    Some(Field::Msg)
                }
                _ => None,
            })
        })?;
        Ok(Forward {
            node: required(node, Field::Node)?,
            wait: required(wait, Field::Wait)?,
            msg: required(msg, Field::Msg)?,
        })
    }
}

impl<'a> Forwarded<'a> {
    /// Checks a response this side is about to send.
    pub(crate) fn check(resp: &[u8]) -> Result<(), CallError> {
        check_len(Field::Resp, resp.len(), MAX_PAYLOAD_LEN)
    }

    /// Decodes the body of a FORWARD response: `None` for nil or an absent body
    /// (the request had `wait: false`).
    pub fn decode(raw: Option<RawValue<'a>>) -> Result<Option<Self>, DecodeError> {
        let Some(raw) = raw.filter(|raw| !raw.is_nil()) else {
            return Ok(None);
        };
        let mut resp = None;
        fields(raw, |key, reader| {
            Ok(match key {
                b"resp" => {
                    resp = Some(reader.bin(Field::Resp, MAX_PAYLOAD_LEN)?);
                    Some(Field::Resp)
                }
                _ => None,
            })
        })?;
        Ok(Some(Forwarded {
            resp: required(resp, Field::Resp)?,
        }))
    }
}

/// Whether `node` can name a node in `https://{node}/api/…`: dot-separated labels
/// of letters (any script), digits and inner hyphens, each 1 to 63 bytes, with an
/// optional final dot. Nothing that would change the URL's meaning (`/`, `@`, `:`,
/// `?`, `#`, `%`, whitespace) passes.
pub fn is_domain_name(node: &str) -> bool {
    let name = node.strip_suffix('.').unwrap_or(node);
    !name.is_empty()
        && node.len() <= MAX_NODE_LEN
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}
