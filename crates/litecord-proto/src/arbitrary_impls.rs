//! `arbitrary::Arbitrary` for every litebridge message (feature `arbitrary`):
//! whatever the fuzzer's bytes, the message built from them is one the spec
//! allows, so a fuzz target gets past the codec into the machines' states.

use std::borrow::Cow;

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Value};

use crate::codec::HB_INTERVAL_MAX_MS;
use crate::message::{Dispatch, Hello, HelloAck, Message, Op, Request, Response};
use crate::raw::RawJson;

/// How deep a drawn JSON value nests: deep enough for arrays of objects.
const JSON_DEPTH: u32 = 3;

/// Arguments a drawn REQUEST or DISPATCH carries at most.
const MAX_ARGS: usize = 4;

fn text<'m>(u: &mut Unstructured<'_>) -> Result<Cow<'m, str>> {
    Ok(Cow::Owned(String::arbitrary(u)?))
}

fn json_value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 5 } else { 7 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::from(bool::arbitrary(u)?),
        2 => Value::from(i64::arbitrary(u)?),
        3 => {
            // JSON has no infinities and no NaN.
            let number = f64::arbitrary(u)?;
            Value::from(if number.is_finite() { number } else { 0.0 })
        }
        4 => Value::from(String::arbitrary(u)?),
        5 => {
            let len = u.int_in_range(0..=3)?;
            Value::Array(
                (0..len)
                    .map(|_| json_value(u, depth - 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            let mut members = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                members.insert(String::arbitrary(u)?, json_value(u, depth - 1)?);
            }
            Value::Object(members)
        }
    })
}

fn args<'m>(u: &mut Unstructured<'_>) -> Result<Vec<RawJson<'m>>> {
    let len = u.int_in_range(0..=MAX_ARGS)?;
    (0..len).map(|_| RawJson::arbitrary(u)).collect()
}

impl<'a> Arbitrary<'a> for RawJson<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let value = json_value(u, JSON_DEPTH)?;
        // A `Value` with finite numbers always serializes.
        RawJson::from_value(&value).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        u.choose(&Op::ALL).copied()
    }
}

impl<'a> Arbitrary<'a> for Hello {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Hello {
            hb_interval_ms: u.int_in_range(1..=HB_INTERVAL_MAX_MS)?,
        })
    }
}

impl<'a> Arbitrary<'a> for HelloAck<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(HelloAck { password: text(u)? })
    }
}

impl<'a> Arbitrary<'a> for Request<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Request {
            what: text(u)?,
            args: args(u)?,
            nonce: RawJson::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Response<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Response {
            nonce: RawJson::arbitrary(u)?,
            data: RawJson::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Dispatch<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Dispatch {
            what: text(u)?,
            args: args(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Message<'_> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match Op::arbitrary(u)? {
            Op::Hello => Message::Hello(Hello::arbitrary(u)?),
            Op::HelloAck => Message::HelloAck(HelloAck::arbitrary(u)?),
            Op::Heartbeat => Message::Heartbeat,
            Op::HeartbeatAck => Message::HeartbeatAck,
            Op::Request => Message::Request(Request::arbitrary(u)?),
            Op::Response => Message::Response(Response::arbitrary(u)?),
            Op::Dispatch => Message::Dispatch(Dispatch::arbitrary(u)?),
        })
    }
}
