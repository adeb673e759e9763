//! `arbitrary::Arbitrary` for the owned frames and their parts: every value one
//! the spec allows, so a cargo-fuzz target gets past the codec into the machines.

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::body::{MAX_KEY_LEN, MAX_PAYLOAD_LEN};
use crate::frame_buf::{BodyBuf, FrameBuf, FrameKindBuf};
use crate::raw::RawBuf;
use crate::request_type::{NodeRequestType, PacketType};
use crate::sample::{self, MAX_LABELS, Scalar};

fn scalar(u: &mut Unstructured<'_>) -> Result<Scalar> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => Scalar::Nil,
        1 => Scalar::Bool(u.arbitrary()?),
        2 => Scalar::Int(u.arbitrary()?),
        3 => Scalar::Str(u.arbitrary()?),
        _ => Scalar::Bin(u.arbitrary()?),
    })
}

fn version(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(sample::version(
        u.arbitrary()?,
        u.arbitrary()?,
        u.arbitrary()?,
        u.arbitrary::<&str>()?,
    ))
}

fn node(u: &mut Unstructured<'_>) -> Result<String> {
    let count = u.int_in_range(1..=MAX_LABELS)?;
    let labels = (0..count)
        .map(|_| u.arbitrary::<&str>())
        .collect::<Result<Vec<_>>>()?;
    Ok(sample::domain_name(&labels, u.ratio(1, 8)?))
}

fn key(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut key: Vec<u8> = u.arbitrary()?;
    key.truncate(MAX_KEY_LEN);
    Ok(key)
}

fn payload(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut bytes: Vec<u8> = u.arbitrary()?;
    bytes.truncate(MAX_PAYLOAD_LEN);
    Ok(bytes)
}

/// A root `body` the spec does not define: `nil`, or a map of up to four entries
/// with string keys and scalar values. It also serves as an `err`.
impl<'a> Arbitrary<'a> for RawBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.ratio(1, 4)? {
            return Ok(RawBuf::nil());
        }
        let entries = (0..u.int_in_range(0..=4u8)?)
            .map(|_| Ok((u.arbitrary::<String>()?, scalar(u)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(sample::raw_map(&entries))
    }
}

/// A `reqt` of the declared width: 0 to 0x7f.
impl<'a> Arbitrary<'a> for NodeRequestType {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(NodeRequestType(sample::reqt(u.arbitrary()?)))
    }
}

impl<'a> Arbitrary<'a> for PacketType {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&[PacketType::Request, PacketType::Response, PacketType::Event])?)
    }
}

/// Any typed or raw body, each field within the spec's limits: versions ASCII
/// `major.minor.patch[-pre]`, `node` a domain name, `key` at most 8 KiB.
impl<'a> Arbitrary<'a> for BodyBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=6u8)? {
            0 => BodyBuf::Raw(u.arbitrary()?),
            1 => BodyBuf::Handshake { ver: version(u)? },
            2 => BodyBuf::HandshakeResponse {
                ver: version(u)?,
                comp: u.arbitrary()?,
            },
            3 => BodyBuf::GetNodeKey { node: node(u)? },
            4 => BodyBuf::NodeKey { key: key(u)? },
            5 => BodyBuf::Forward {
                node: node(u)?,
                wait: u.arbitrary()?,
                msg: payload(u)?,
            },
            _ => BodyBuf::Forwarded { resp: payload(u)? },
        })
    }
}

/// A frame's kind with a body that fits it: HANDSHAKE, GET_NODE_KEY and FORWARD
/// requests carry their typed bodies, other requests and events raw ones, and
/// responses a typed answer, a raw body or none.
impl<'a> Arbitrary<'a> for FrameKindBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=3u8)? {
            0 => {
                let (reqt, body) = match u.int_in_range(0..=3u8)? {
                    0 => (
                        NodeRequestType::HANDSHAKE,
                        Some(BodyBuf::Handshake { ver: version(u)? }),
                    ),
                    1 => (
                        NodeRequestType::GET_NODE_KEY,
                        Some(BodyBuf::GetNodeKey { node: node(u)? }),
                    ),
                    2 => (
                        NodeRequestType::FORWARD,
                        Some(BodyBuf::Forward {
                            node: node(u)?,
                            wait: u.arbitrary()?,
                            msg: payload(u)?,
                        }),
                    ),
                    _ => (
                        NodeRequestType(sample::untyped_reqt(u.arbitrary()?)),
                        u.arbitrary::<Option<RawBuf>>()?.map(BodyBuf::Raw),
                    ),
                };
                FrameKindBuf::Request { reqt: reqt.0, body }
            }
            1 => {
                let body = match u.int_in_range(0..=4u8)? {
                    0 => None,
                    1 => Some(BodyBuf::Raw(u.arbitrary()?)),
                    2 => Some(BodyBuf::HandshakeResponse {
                        ver: version(u)?,
                        comp: u.arbitrary()?,
                    }),
                    3 => Some(BodyBuf::NodeKey { key: key(u)? }),
                    _ => Some(BodyBuf::Forwarded { resp: payload(u)? }),
                };
                FrameKindBuf::Response { body }
            }
            2 => FrameKindBuf::Error {
                err: if u.arbitrary()? {
                    u.arbitrary()?
                } else {
                    sample::raw_scalar(&scalar(u)?)
                },
            },
            _ => FrameKindBuf::Event {
                reqt: sample::reqt(u.arbitrary()?),
                body: u.arbitrary::<Option<RawBuf>>()?.map(BodyBuf::Raw),
            },
        })
    }
}

/// A valid frame: any id, the draft's root `ver` one time in eight.
impl<'a> Arbitrary<'a> for FrameBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(FrameBuf {
            id: u.arbitrary()?,
            ver: if u.ratio(1, 8)? {
                Some(version(u)?)
            } else {
                None
            },
            kind: u.arbitrary()?,
        })
    }
}
