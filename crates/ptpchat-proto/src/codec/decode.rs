//! Single-pass decoding of one message into a typed [`Message`].
//!
//! serde_json walks the frame once. The head is read by a hand-written visitor so
//! each envelope field gets a precise error; `msg_data` is read straight into the
//! verb's wire struct when `msg_type` came first (as every example in the spec has
//! it). When `msg_data` comes first it is kept as borrowed raw text and read once
//! `msg_type` is known — the only case where its bytes are looked at twice. Unknown
//! keys are skipped, at the head and inside `msg_data`. No `serde_json::Value` is
//! ever built.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use proto_core::{JsonKind, LimitError, Limits, json_depth_exceeds};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::message::{
    Ack, Attachment, Body, Certificate, Channel, ChannelRef, ChatMessage, Connect, Endpoint,
    Envelope, Hello, Key, Message, NodeType, RawJson, RouteEntry, Routing, Timestamp, Verb,
};

/// Why a frame is not a valid ptpchat message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is too long or nests too deep.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The frame is not UTF-8; the first bad byte is at `offset`. (Checked up
    /// front: serde_json does not check strings it skips.)
    #[error("not UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The frame is not one JSON value (bad syntax, trailing bytes).
    #[error("not JSON: syntax error at line {line}, column {column}")]
    NotJson {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
    },
    /// The frame is JSON but not an object.
    #[error("message is {found}, not an object")]
    NotObject {
        /// What the frame is instead.
        found: JsonKind,
    },
    /// The object has no `msg_type`.
    #[error("message has no `msg_type`")]
    MissingType,
    /// `msg_type` names no verb of either generation.
    #[error("unknown verb {0:?}")]
    UnknownVerb(String),
    /// A head field has the wrong JSON type.
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's wire name.
        field: &'static str,
        /// The type the protocol requires.
        expected: JsonKind,
        /// The type found.
        found: JsonKind,
    },
    /// A head field appears twice, so the message is ambiguous.
    #[error("`{0}` appears more than once")]
    DuplicateField(&'static str),
    /// `ttl` does not fit in 32 bits.
    #[error("`ttl` of {0} is out of range")]
    TtlOutOfRange(u64),
    /// A field the verb requires is absent (or null).
    #[error("{verb} lacks its `{field}` field")]
    MissingField {
        /// The message's verb.
        verb: Verb,
        /// The field's wire name.
        field: &'static str,
    },
    /// `msg_data` does not have the verb's shape: not an object, a field of the
    /// wrong type, a field repeated.
    #[error("{verb} data is malformed: {detail}")]
    BadData {
        /// The message's verb.
        verb: Verb,
        /// What serde_json found wrong, with its position: in the frame, or in
        /// `msg_data` itself when `msg_data` came before `msg_type`.
        detail: String,
    },
    /// A GUID field does not hold a GUID.
    #[error("`{field}` is not a GUID")]
    BadGuid {
        /// The field's wire name.
        field: &'static str,
    },
    /// A base64 field does not hold standard, padded base64.
    #[error("`{field}` is not base64")]
    BadBase64 {
        /// The field's wire name.
        field: &'static str,
    },
    /// A CONNECT address is none of `""`, a port, an IP or `IP:port`.
    #[error("`{field}` is not an address: {text:?}")]
    BadEndpoint {
        /// The field's wire name.
        field: &'static str,
        /// What it held.
        text: String,
    },
    /// `attributes.node_type` is neither `client` nor `server`.
    #[error("unknown node type {0:?}")]
    UnknownNodeType(String),
}

/// Decodes one message (the body of a TCP frame, or one datagram).
///
/// The length is checked against `limits.max_frame_len` and the nesting against
/// `limits.max_depth` before parsing.
///
/// ```
/// use ptpchat_proto::{Body, Verb, codec::{DecodeError, decode}};
/// use proto_core::Limits;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let message = decode(br#"{"msg_type":"hello"}"#, &Limits::default())?;
/// assert_eq!(message.verb(), Verb::Hello);
/// assert!(message.envelope.is_empty());
///
/// let refused = decode(br#"{"msg_type":"PING"}"#, &Limits::default());
/// assert_eq!(refused, Err(DecodeError::UnknownVerb("PING".into())));
/// # Ok(())
/// # }
/// ```
pub fn decode(frame: &[u8], limits: &Limits) -> Result<Message, DecodeError> {
    limits.check_frame_len(frame.len())?;
    if json_depth_exceeds(frame, limits.max_depth) {
        return Err(LimitError::TooDeep {
            max: limits.max_depth,
        }
        .into());
    }
    let mut failure = None;
    let mut head = Head::default();
    let frame = std::str::from_utf8(frame).map_err(|error| DecodeError::NotUtf8 {
        offset: error.valid_up_to(),
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(frame);
    let parsed = HeadVisitor {
        head: &mut head,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Err(error) = parsed {
        return Err(match (failure, head.verb) {
            (Some(failure), _) => failure,
            // A data error serde_json met on its own is in the typed `msg_data`.
            (None, Some(verb)) if error.classify() == Category::Data => bad_data(verb, &error),
            (None, _) => DecodeError::NotJson {
                line: error.line(),
                column: error.column(),
            },
        });
    }
    head.into_message()
}

/// The head as read: envelope, verb, and the data in one of its two forms.
#[derive(Default)]
struct Head<'a> {
    envelope: Envelope,
    verb: Option<Verb>,
    data: Data<'a>,
    seen: u8,
}

#[derive(Default)]
enum Data<'a> {
    #[default]
    Absent,
    /// Read before `msg_type`: kept raw until the verb is known.
    Raw(&'a RawValue),
    Typed(WireBody<'a>),
}

impl<'a> Head<'a> {
    fn into_message(self) -> Result<Message, DecodeError> {
        let verb = self.verb.ok_or(DecodeError::MissingType)?;
        let wire = match self.data {
            Data::Typed(wire) => wire,
            Data::Absent => WireBody::absent(verb),
            Data::Raw(raw) => {
                let mut deserializer = serde_json::Deserializer::from_str(raw.get());
                DataSeed(verb)
                    .deserialize(&mut deserializer)
                    .map_err(|error| bad_data(verb, &error))?
            }
        };
        Ok(Message {
            envelope: self.envelope,
            body: wire.into_body()?,
        })
    }
}

fn bad_data(verb: Verb, error: &serde_json::Error) -> DecodeError {
    DecodeError::BadData {
        verb,
        detail: error.to_string(),
    }
}

/// Fails the parse after recording the precise error, which serde cannot carry.
fn fail<E: de::Error>(failure: &mut Option<DecodeError>, error: DecodeError) -> E {
    *failure = Some(error);
    E::custom("rejected")
}

#[derive(Clone, Copy)]
enum HeadKey {
    Ttl,
    Flood,
    MsgId,
    SenderId,
    TargetId,
    MsgType,
    MsgData,
    Unknown,
}

impl HeadKey {
    fn name(self) -> &'static str {
        match self {
            HeadKey::Ttl => "ttl",
            HeadKey::Flood => "flood",
            HeadKey::MsgId => "msg_id",
            HeadKey::SenderId => "sender_id",
            HeadKey::TargetId => "target_id",
            HeadKey::MsgType => "msg_type",
            HeadKey::MsgData => "msg_data",
            HeadKey::Unknown => "",
        }
    }

    /// The key's bit in [`Head::seen`].
    fn bit(self) -> u8 {
        match self {
            HeadKey::Ttl => 1,
            HeadKey::Flood => 2,
            HeadKey::MsgId => 4,
            HeadKey::SenderId => 8,
            HeadKey::TargetId => 16,
            HeadKey::MsgType => 32,
            HeadKey::MsgData => 64,
            HeadKey::Unknown => 0,
        }
    }
}

impl<'de> Deserialize<'de> for HeadKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = HeadKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<HeadKey, E> {
                Ok(match key {
                    "ttl" => HeadKey::Ttl,
                    "flood" => HeadKey::Flood,
                    "msg_id" => HeadKey::MsgId,
                    "sender_id" => HeadKey::SenderId,
                    "target_id" => HeadKey::TargetId,
                    "msg_type" => HeadKey::MsgType,
                    "msg_data" => HeadKey::MsgData,
                    _ => HeadKey::Unknown,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct HeadVisitor<'s, 'de> {
    head: &'s mut Head<'de>,
    failure: &'s mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for HeadVisitor<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl HeadVisitor<'_, '_> {
    fn not_object<E: de::Error>(self, found: JsonKind) -> Result<(), E> {
        Err(fail(self.failure, DecodeError::NotObject { found }))
    }
}

impl<'de> Visitor<'de> for HeadVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ptpchat message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let head = self.head;
        let failure = self.failure;
        while let Some(key) = map.next_key::<HeadKey>()? {
            if key.bit() != 0 {
                if head.seen & key.bit() != 0 {
                    return Err(fail(failure, DecodeError::DuplicateField(key.name())));
                }
                head.seen |= key.bit();
            }
            let field = key.name();
            match key {
                HeadKey::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                }
                HeadKey::Ttl => {
                    let ttl = map
                        .next_value::<Scalar<'de>>()?
                        .uint(field)
                        .map_err(|error| fail(failure, error))?;
                    let ttl = u32::try_from(ttl)
                        .map_err(|_| fail(failure, DecodeError::TtlOutOfRange(ttl)))?;
                    head.envelope.ttl = Some(ttl);
                }
                HeadKey::Flood => {
                    let flood = map
                        .next_value::<Scalar<'de>>()?
                        .bool(field)
                        .map_err(|error| fail(failure, error))?;
                    head.envelope.flood = Some(flood);
                }
                HeadKey::MsgId | HeadKey::SenderId | HeadKey::TargetId => {
                    let id = map
                        .next_value::<Scalar<'de>>()?
                        .string(field)
                        .and_then(|text| guid(field, &text))
                        .map_err(|error| fail(failure, error))?;
                    let slot = match key {
                        HeadKey::MsgId => &mut head.envelope.msg_id,
                        HeadKey::SenderId => &mut head.envelope.sender_id,
                        _ => &mut head.envelope.target_id,
                    };
                    *slot = Some(id);
                }
                HeadKey::MsgType => {
                    let name = map
                        .next_value::<Scalar<'de>>()?
                        .string(field)
                        .map_err(|error| fail(failure, error))?;
                    let verb = Verb::from_name(&name).ok_or_else(|| {
                        fail::<A::Error>(failure, DecodeError::UnknownVerb(name.into_owned()))
                    })?;
                    head.verb = Some(verb);
                }
                HeadKey::MsgData => match head.verb {
                    Some(verb) => {
                        head.data = Data::Typed(map.next_value_seed(DataSeed(verb))?);
                    }
                    None => head.data = Data::Raw(map.next_value::<&'de RawValue>()?),
                },
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object(JsonKind::Array)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object(JsonKind::String)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object(JsonKind::Bool)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object(JsonKind::UnsignedInteger)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object(JsonKind::NegativeInteger)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object(JsonKind::Float)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object(JsonKind::Null)
    }
}

/// Picks the verb's wire struct for `msg_data`.
struct DataSeed(Verb);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = WireBody<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<WireBody<'de>, D::Error> {
        Ok(match self.0 {
            Verb::Hello => WireBody::Hello(object(d)?),
            Verb::Ack => WireBody::Ack(object(d)?),
            Verb::Nack => WireBody::Nack(object(d)?),
            Verb::Join => WireBody::Join(object(d)?),
            Verb::Channel => WireBody::Channel(object(d)?),
            Verb::Leave => WireBody::Leave(object(d)?),
            Verb::GetCertificate => {
                IgnoredAny::deserialize(d)?;
                WireBody::GetCertificate
            }
            Verb::Certificate => WireBody::Certificate(object(d)?),
            Verb::GetKey => WireBody::GetKey(object(d)?),
            Verb::Key => WireBody::Key(object(d)?),
            Verb::Message => WireBody::Message(object(d)?),
            Verb::Routing => WireBody::Routing(object(d)?),
            Verb::Connect => WireBody::Connect(object(d)?),
            Verb::Relay => WireBody::Relay(Deserialize::deserialize(d)?),
        })
    }
}

/// `msg_data` as the verb's wire struct: an object, or null for none. (Derived
/// structs alone would also take an array, field by position.)
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct ObjectVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(ObjectVisitor(PhantomData))
}

/// A head value of any kind: strings borrowed when unescaped, nested values skipped.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Uint(u64),
    Bool(bool),
    Other(JsonKind),
}

impl<'a> Scalar<'a> {
    fn kind(&self) -> JsonKind {
        match self {
            Scalar::Str(_) => JsonKind::String,
            Scalar::Uint(_) => JsonKind::UnsignedInteger,
            Scalar::Bool(_) => JsonKind::Bool,
            Scalar::Other(kind) => *kind,
        }
    }

    fn wrong(&self, field: &'static str, expected: JsonKind) -> DecodeError {
        DecodeError::WrongType {
            field,
            expected,
            found: self.kind(),
        }
    }

    fn uint(self, field: &'static str) -> Result<u64, DecodeError> {
        match self {
            Scalar::Uint(value) => Ok(value),
            other => Err(other.wrong(field, JsonKind::UnsignedInteger)),
        }
    }

    fn bool(self, field: &'static str) -> Result<bool, DecodeError> {
        match self {
            Scalar::Bool(value) => Ok(value),
            other => Err(other.wrong(field, JsonKind::Bool)),
        }
    }

    fn string(self, field: &'static str) -> Result<Cow<'a, str>, DecodeError> {
        match self {
            Scalar::Str(value) => Ok(value),
            other => Err(other.wrong(field, JsonKind::String)),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Uint(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other(JsonKind::NegativeInteger))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other(JsonKind::Float))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other(JsonKind::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other(JsonKind::Array))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other(JsonKind::Object))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A string borrowed from the frame unless it had escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor(PhantomData))
    }
}

/// `closed`: a boolean, or the strings `"true"` / `"false"` the spec's template
/// suggests.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or \"true\" / \"false\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                if v.eq_ignore_ascii_case("true") {
                    Ok(Flag(true))
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(Flag(false))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// MESSAGE's timestamp as sent: a number or a string.
enum WireTimestamp<'a> {
    Number(u64),
    Text(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for WireTimestamp<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TimestampVisitor<'a> {
            type Value = WireTimestamp<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireTimestamp<'a>, E> {
                Ok(WireTimestamp::Number(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<WireTimestamp<'a>, E> {
                Ok(WireTimestamp::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireTimestamp<'a>, E> {
                Ok(WireTimestamp::Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_any(TimestampVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
struct WireHello<'a> {
    #[serde(borrow)]
    version: Option<Str<'a>>,
    #[serde(borrow)]
    attributes: Option<WireAttributes<'a>>,
}

#[derive(Deserialize)]
struct WireAttributes<'a> {
    #[serde(borrow)]
    node_type: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireAck<'a> {
    #[serde(borrow)]
    msg_id: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireChannelRef<'a> {
    #[serde(borrow)]
    channel: Option<Str<'a>>,
    #[serde(borrow)]
    channel_id: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireNodeRef<'a> {
    #[serde(borrow)]
    node_id: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireChannel<'a> {
    #[serde(borrow)]
    channel: Option<Str<'a>>,
    #[serde(borrow)]
    channel_id: Option<Str<'a>>,
    #[serde(borrow)]
    members: Option<Vec<WireNodeRef<'a>>>,
    closed: Option<Flag>,
}

#[derive(Deserialize)]
struct WireCertificate<'a> {
    #[serde(borrow)]
    recipient_id: Option<Str<'a>>,
    #[serde(borrow)]
    certificate: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireKey<'a> {
    #[serde(borrow)]
    channel: Option<Str<'a>>,
    #[serde(borrow)]
    channel_id: Option<Str<'a>>,
    #[serde(borrow)]
    cipher: Option<Str<'a>>,
    #[serde(borrow)]
    key: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireAttachment<'a> {
    #[serde(borrow)]
    attachment: Option<Str<'a>>,
    #[serde(borrow)]
    attachment_type: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(borrow)]
    recipient: Option<Vec<WireNodeRef<'a>>>,
    #[serde(borrow)]
    timestamp: Option<WireTimestamp<'a>>,
    #[serde(borrow)]
    channel: Option<Str<'a>>,
    #[serde(borrow)]
    channel_id: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
    #[serde(borrow)]
    attachment: Option<Vec<WireAttachment<'a>>>,
}

#[derive(Deserialize)]
struct WireRoute<'a> {
    #[serde(borrow)]
    node_id: Option<Str<'a>>,
    ttl: Option<u32>,
}

#[derive(Deserialize)]
struct WireRouting<'a> {
    #[serde(borrow)]
    node_id: Option<Str<'a>>,
    #[serde(borrow)]
    nodes: Option<Vec<WireRoute<'a>>>,
}

#[derive(Deserialize)]
struct WireConnect<'a> {
    #[serde(borrow)]
    src_node_id: Option<Str<'a>>,
    #[serde(borrow)]
    dst_node_id: Option<Str<'a>>,
    #[serde(borrow)]
    dst: Option<Str<'a>>,
    #[serde(borrow)]
    src: Option<Str<'a>>,
}

/// `msg_data` as read, per verb; `None` when it was absent or null.
enum WireBody<'a> {
    Hello(Option<WireHello<'a>>),
    Ack(Option<WireAck<'a>>),
    Nack(Option<WireAck<'a>>),
    Join(Option<WireChannelRef<'a>>),
    Channel(Option<WireChannel<'a>>),
    Leave(Option<WireChannelRef<'a>>),
    GetCertificate,
    Certificate(Option<WireCertificate<'a>>),
    GetKey(Option<WireChannelRef<'a>>),
    Key(Option<WireKey<'a>>),
    Message(Option<WireMessage<'a>>),
    Routing(Option<WireRouting<'a>>),
    Connect(Option<WireConnect<'a>>),
    Relay(Option<&'a RawValue>),
}

impl<'a> WireBody<'a> {
    fn absent(verb: Verb) -> Self {
        match verb {
            Verb::Hello => WireBody::Hello(None),
            Verb::Ack => WireBody::Ack(None),
            Verb::Nack => WireBody::Nack(None),
            Verb::Join => WireBody::Join(None),
            Verb::Channel => WireBody::Channel(None),
            Verb::Leave => WireBody::Leave(None),
            Verb::GetCertificate => WireBody::GetCertificate,
            Verb::Certificate => WireBody::Certificate(None),
            Verb::GetKey => WireBody::GetKey(None),
            Verb::Key => WireBody::Key(None),
            Verb::Message => WireBody::Message(None),
            Verb::Routing => WireBody::Routing(None),
            Verb::Connect => WireBody::Connect(None),
            Verb::Relay => WireBody::Relay(None),
        }
    }

    fn into_body(self) -> Result<Body, DecodeError> {
        Ok(match self {
            WireBody::Hello(hello) => Body::Hello(match hello {
                None => Hello::default(),
                Some(hello) => Hello {
                    version: hello.version.map(|v| v.0.into_owned()),
                    node_type: match hello.attributes.and_then(|a| a.node_type) {
                        None => None,
                        Some(Str(name)) if name.eq_ignore_ascii_case("client") => {
                            Some(NodeType::Client)
                        }
                        Some(Str(name)) if name.eq_ignore_ascii_case("server") => {
                            Some(NodeType::Server)
                        }
                        Some(Str(name)) => {
                            return Err(DecodeError::UnknownNodeType(name.into_owned()));
                        }
                    },
                },
            }),
            WireBody::Ack(ack) => Body::Ack(ack_data(Verb::Ack, ack)?),
            WireBody::Nack(ack) => Body::Nack(ack_data(Verb::Nack, ack)?),
            WireBody::Join(channel) => Body::Join(channel_ref(Verb::Join, channel)?),
            WireBody::Leave(channel) => Body::Leave(channel_ref(Verb::Leave, channel)?),
            WireBody::GetKey(channel) => Body::GetKey(channel_ref(Verb::GetKey, channel)?),
            WireBody::Channel(channel) => {
                let verb = Verb::Channel;
                let channel = channel.ok_or(DecodeError::MissingField {
                    verb,
                    field: "channel",
                })?;
                Body::Channel(Channel {
                    channel: owned(required(verb, "channel", channel.channel)?),
                    channel_id: guid(
                        "channel_id",
                        &required(verb, "channel_id", channel.channel_id)?.0,
                    )?,
                    members: node_ids(channel.members.unwrap_or_default())?,
                    closed: channel.closed.is_some_and(|flag| flag.0),
                })
            }
            WireBody::GetCertificate => Body::GetCertificate,
            WireBody::Certificate(certificate) => {
                let verb = Verb::Certificate;
                let certificate = certificate.ok_or(DecodeError::MissingField {
                    verb,
                    field: "certificate",
                })?;
                Body::Certificate(Certificate {
                    recipient_id: optional_guid("recipient_id", certificate.recipient_id)?,
                    certificate: base64(
                        "certificate",
                        &required(verb, "certificate", certificate.certificate)?.0,
                    )?,
                })
            }
            WireBody::Key(key) => {
                let verb = Verb::Key;
                let key = key.ok_or(DecodeError::MissingField {
                    verb,
                    field: "channel",
                })?;
                Body::Key(Key {
                    channel: owned(required(verb, "channel", key.channel)?),
                    channel_id: guid(
                        "channel_id",
                        &required(verb, "channel_id", key.channel_id)?.0,
                    )?,
                    cipher: owned(required(verb, "cipher", key.cipher)?),
                    key: base64("key", &required(verb, "key", key.key)?.0)?,
                })
            }
            WireBody::Message(message) => {
                let verb = Verb::Message;
                let message = message.ok_or(DecodeError::MissingField {
                    verb,
                    field: "message",
                })?;
                let attachment = message
                    .attachment
                    .unwrap_or_default()
                    .into_iter()
                    .map(|item| {
                        Ok(Attachment {
                            data: base64(
                                "attachment",
                                &required(verb, "attachment", item.attachment)?.0,
                            )?,
                            mime_type: owned(required(
                                verb,
                                "attachment_type",
                                item.attachment_type,
                            )?),
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                Body::Message(ChatMessage {
                    recipient: node_ids(message.recipient.unwrap_or_default())?,
                    timestamp: message.timestamp.map(|timestamp| match timestamp {
                        WireTimestamp::Number(number) => Timestamp::Number(number),
                        WireTimestamp::Text(text) => Timestamp::Text(text.into_owned()),
                    }),
                    channel: message.channel.map(owned),
                    channel_id: optional_guid("channel_id", message.channel_id)?,
                    message: base64("message", &required(verb, "message", message.message)?.0)?,
                    attachment,
                })
            }
            WireBody::Routing(routing) => {
                let verb = Verb::Routing;
                let routing = routing.ok_or(DecodeError::MissingField {
                    verb,
                    field: "nodes",
                })?;
                let nodes = required(verb, "nodes", routing.nodes)?
                    .into_iter()
                    .map(|route| {
                        Ok(RouteEntry {
                            node_id: guid("node_id", &required(verb, "node_id", route.node_id)?.0)?,
                            hops: required(verb, "ttl", route.ttl)?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                Body::Routing(Routing {
                    node_id: optional_guid("node_id", routing.node_id)?,
                    nodes,
                })
            }
            WireBody::Connect(connect) => {
                let verb = Verb::Connect;
                let connect = connect.ok_or(DecodeError::MissingField { verb, field: "src" })?;
                Body::Connect(Connect {
                    src_node_id: optional_guid("src_node_id", connect.src_node_id)?,
                    dst_node_id: optional_guid("dst_node_id", connect.dst_node_id)?,
                    dst: endpoint("dst", connect.dst)?,
                    src: endpoint("src", connect.src)?,
                })
            }
            WireBody::Relay(raw) => Body::Relay(raw.map(RawJson::from_raw)),
        })
    }
}

fn required<T>(verb: Verb, field: &'static str, value: Option<T>) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField { verb, field })
}

fn owned(text: Str<'_>) -> String {
    text.0.into_owned()
}

fn guid(field: &'static str, text: &str) -> Result<Uuid, DecodeError> {
    Uuid::try_parse(text).map_err(|_| DecodeError::BadGuid { field })
}

fn optional_guid(field: &'static str, text: Option<Str<'_>>) -> Result<Option<Uuid>, DecodeError> {
    text.map(|text| guid(field, &text.0)).transpose()
}

fn node_ids(list: Vec<WireNodeRef<'_>>) -> Result<Vec<Uuid>, DecodeError> {
    list.into_iter()
        .map(|item| match item.node_id {
            Some(text) => guid("node_id", &text.0),
            None => Err(DecodeError::BadGuid { field: "node_id" }),
        })
        .collect()
}

fn base64(field: &'static str, text: &str) -> Result<Vec<u8>, DecodeError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| DecodeError::BadBase64 { field })
}

fn endpoint(field: &'static str, text: Option<Str<'_>>) -> Result<Endpoint, DecodeError> {
    match text {
        // An absent address is one not known yet, as `""` is.
        None => Ok(Endpoint::Empty),
        Some(Str(text)) => text.parse().map_err(|_| DecodeError::BadEndpoint {
            field,
            text: text.into_owned(),
        }),
    }
}

fn ack_data(verb: Verb, ack: Option<WireAck<'_>>) -> Result<Ack, DecodeError> {
    let msg_id = ack.and_then(|ack| ack.msg_id);
    Ok(Ack {
        msg_id: guid("msg_id", &required(verb, "msg_id", msg_id)?.0)?,
    })
}

fn channel_ref(verb: Verb, channel: Option<WireChannelRef<'_>>) -> Result<ChannelRef, DecodeError> {
    let (name, id) = match channel {
        Some(channel) => (channel.channel, channel.channel_id),
        None => (None, None),
    };
    Ok(ChannelRef {
        channel: owned(required(verb, "channel", name)?),
        channel_id: guid("channel_id", &required(verb, "channel_id", id)?.0)?,
    })
}
