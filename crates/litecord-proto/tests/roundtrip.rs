//! Property tests: every message survives encode/decode, in any key order, with any
//! extra fields, and no input makes the decoder panic.

use std::borrow::Cow;

use litecord_proto::message::{Dispatch, Hello, HelloAck, Request, Response};
use litecord_proto::{Message, RawJson, codec::HB_INTERVAL_MAX_MS, decode, encode};
use proptest::prelude::*;
use proto_core::Limits;
use serde_json::{Map, Value};

/// JSON values; without floats when they will go through `serde_json::Value`, whose
/// float parsing is not exact unless serde_json's `float_roundtrip` is on.
fn json_with(floats: bool) -> impl Strategy<Value = Value> {
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
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn raw_with(floats: bool) -> impl Strategy<Value = RawJson<'static>> {
    json_with(floats).prop_map(|value| RawJson::from_value(&value).unwrap())
}

fn text() -> impl Strategy<Value = Cow<'static, str>> {
    // Any Unicode, including quotes, backslashes and control characters.
    ".{0,24}".prop_map(Cow::Owned)
}

fn message() -> impl Strategy<Value = Message<'static>> {
    message_with(true)
}

fn message_with(floats: bool) -> impl Strategy<Value = Message<'static>> {
    let raw = move || raw_with(floats);
    prop_oneof![
        (1..=HB_INTERVAL_MAX_MS)
            .prop_map(|hb_interval_ms| Message::Hello(Hello { hb_interval_ms })),
        text().prop_map(|password| Message::HelloAck(HelloAck { password })),
        Just(Message::Heartbeat),
        Just(Message::HeartbeatAck),
        (text(), prop::collection::vec(raw(), 0..5), raw())
            .prop_map(|(what, args, nonce)| Message::Request(Request { what, args, nonce })),
        (raw(), raw()).prop_map(|(nonce, data)| Message::Response(Response { nonce, data })),
        (text(), prop::collection::vec(raw(), 0..5))
            .prop_map(|(what, args)| Message::Dispatch(Dispatch { what, args })),
    ]
}

const KNOWN_KEYS: [&str; 7] = ["op", "hb_interval", "password", "w", "a", "n", "r"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_inverts_encode(message in message()) {
        let frame = encode(&message);
        let decoded = decode(frame.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(encode(&decoded), frame);
    }

    #[test]
    fn key_order_and_extra_fields_do_not_matter(
        message in message_with(false),
        extras in prop::collection::btree_map("[a-z_]{1,8}", json_with(false), 0..4),
        seed in any::<u64>(),
    ) {
        let Value::Object(fields) = serde_json::from_str::<Value>(&encode(&message)).unwrap() else {
            unreachable!()
        };
        let mut entries: Vec<(String, Value)> = fields.into_iter().collect();
        entries.extend(extras.into_iter().filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str())));
        // Deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..entries.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            entries.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
            .collect();
        let frame = format!("{{{}}}", body.join(","));
        let decoded = decode(frame.as_bytes(), &Limits::default()).unwrap();
        // Raw values are re-serialized by serde_json here, so compare through encode.
        prop_assert_eq!(decoded.op(), message.op());
        prop_assert_eq!(
            serde_json::from_str::<Value>(&encode(&decoded)).unwrap(),
            serde_json::from_str::<Value>(&encode(&message)).unwrap()
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes, &Limits::default());
    }

    #[test]
    fn mutated_frames_never_panic(message in message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut frame = encode(&message).into_bytes();
        let i = at.index(frame.len());
        frame[i] = byte;
        if let Ok(decoded) = decode(&frame, &Limits::default()) {
            // Whatever decodes must encode and decode to itself.
            let again = encode(&decoded);
            prop_assert_eq!(decode(again.as_bytes(), &Limits::default()).unwrap(), decoded);
        }
    }
}
