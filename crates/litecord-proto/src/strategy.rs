//! Proptest strategies (feature `proptest`): any valid litebridge message, and
//! whole valid conversations as a client or a server sends them.
//!
//! Every message drawn satisfies the spec and the codec's limits, so
//! `decode(encode(m)) == m` holds for all of them; the crate's own property
//! tests run on exactly these.

use std::borrow::Cow;

use proptest::collection::{SizeRange, btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::codec::HB_INTERVAL_MAX_MS;
use crate::message::{Dispatch, Hello, HelloAck, Message, Request, Response};
use crate::raw::RawJson;

/// Any JSON value, nested up to three deep; with `floats` false, without
/// fractional numbers (for values that go through `serde_json::Value`, whose float
/// parsing is exact only with serde_json's `float_roundtrip`).
pub fn json_value(floats: bool) -> BoxedStrategy<Value> {
    let exact = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    let leaf = if floats {
        let float = any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from);
        prop_oneof![5 => exact, 1 => float].boxed()
    } else {
        exact.boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(".{0,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// Any JSON value as a [`RawJson`]: an argument, a nonce, response data.
pub fn raw_json(floats: bool) -> BoxedStrategy<RawJson<'static>> {
    json_value(floats)
        .prop_filter_map("serializable", |value| RawJson::from_value(&value).ok())
        .boxed()
}

/// Any text: any Unicode, quotes, backslashes and control characters included.
pub fn text() -> BoxedStrategy<Cow<'static, str>> {
    ".{0,24}".prop_map(Cow::Owned).boxed()
}

/// Any valid HELLO: an interval from 1 ms to [`HB_INTERVAL_MAX_MS`].
pub fn hello() -> BoxedStrategy<Hello> {
    (1..=HB_INTERVAL_MAX_MS)
        .prop_map(|hb_interval_ms| Hello { hb_interval_ms })
        .boxed()
}

/// Any HELLO_ACK.
pub fn hello_ack() -> BoxedStrategy<HelloAck<'static>> {
    text().prop_map(|password| HelloAck { password }).boxed()
}

/// Any REQUEST, with up to four arguments.
pub fn request(floats: bool) -> BoxedStrategy<Request<'static>> {
    (text(), vec(raw_json(floats), 0..5), raw_json(floats))
        .prop_map(|(what, args, nonce)| Request { what, args, nonce })
        .boxed()
}

/// Any RESPONSE.
pub fn response(floats: bool) -> BoxedStrategy<Response<'static>> {
    (raw_json(floats), raw_json(floats))
        .prop_map(|(nonce, data)| Response { nonce, data })
        .boxed()
}

/// Any DISPATCH, with up to four arguments.
pub fn dispatch(floats: bool) -> BoxedStrategy<Dispatch<'static>> {
    (text(), vec(raw_json(floats), 0..5))
        .prop_map(|(what, args)| Dispatch { what, args })
        .boxed()
}

/// Any valid message, of any op.
pub fn message() -> BoxedStrategy<Message<'static>> {
    message_with(true)
}

/// Any valid message; with `floats` false, no fractional numbers in its JSON
/// values (see [`json_value`]).
pub fn message_with(floats: bool) -> BoxedStrategy<Message<'static>> {
    prop_oneof![
        hello().prop_map(Message::Hello),
        hello_ack().prop_map(Message::HelloAck),
        Just(Message::Heartbeat),
        Just(Message::HeartbeatAck),
        request(floats).prop_map(Message::Request),
        response(floats).prop_map(Message::Response),
        dispatch(floats).prop_map(Message::Dispatch),
    ]
    .boxed()
}

/// What an authenticating client sends on a fresh connection: HELLO_ACK with
/// `password` (so put the server's password here for a session that succeeds),
/// then `len` HEARTBEATs, REQUESTs and DISPATCHes in any order. The requests carry
/// the nonces `0`, `1`, ..., distinct as the protocol asks of requests in flight.
pub fn client_session(
    password: &str,
    len: impl Into<SizeRange>,
) -> BoxedStrategy<Vec<Message<'static>>> {
    let hello_ack = Message::HelloAck(HelloAck {
        password: Cow::Owned(password.to_owned()),
    });
    let step = prop_oneof![
        Just(Message::Heartbeat),
        request(true).prop_map(Message::Request),
        dispatch(true).prop_map(Message::Dispatch),
    ];
    vec(step, len)
        .prop_map(move |steps| {
            let mut session = Vec::with_capacity(steps.len() + 1);
            session.push(hello_ack.clone());
            session.extend(numbered(steps));
            session
        })
        .boxed()
}

/// What a server sends on a fresh connection: a valid HELLO, then `len`
/// HEARTBEAT_ACKs, REQUESTs and DISPATCHes in any order, requests numbered as in
/// [`client_session`].
pub fn server_session(len: impl Into<SizeRange>) -> BoxedStrategy<Vec<Message<'static>>> {
    let step = prop_oneof![
        Just(Message::HeartbeatAck),
        request(true).prop_map(Message::Request),
        dispatch(true).prop_map(Message::Dispatch),
    ];
    (hello(), vec(step, len))
        .prop_map(|(hello, steps)| {
            let mut session = Vec::with_capacity(steps.len() + 1);
            session.push(Message::Hello(hello));
            session.extend(numbered(steps));
            session
        })
        .boxed()
}

/// One RESPONSE to every REQUEST among `messages`, in order, each with its
/// request's nonce and any data.
pub fn answers_to(messages: &[Message<'_>]) -> BoxedStrategy<Vec<Message<'static>>> {
    let nonces: Vec<RawJson<'static>> = messages
        .iter()
        .filter_map(|message| match message {
            Message::Request(request) => Some(request.nonce.clone().into_owned()),
            _ => None,
        })
        .collect();
    vec(raw_json(true), nonces.len())
        .prop_map(move |data| {
            nonces
                .iter()
                .zip(data)
                .map(|(nonce, data)| {
                    Message::Response(Response {
                        nonce: nonce.clone(),
                        data,
                    })
                })
                .collect()
        })
        .boxed()
}

/// `steps` with their requests' nonces replaced by `0`, `1`, ...
fn numbered(steps: Vec<Message<'static>>) -> impl Iterator<Item = Message<'static>> {
    let mut next = 0;
    steps.into_iter().map(move |mut step| {
        if let Message::Request(request) = &mut step {
            request.nonce = RawJson::from_u64(next);
            next += 1;
        }
        step
    })
}
