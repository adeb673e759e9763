//! Single-pass decoding of one frame into a typed [`Message`].
//!
//! The frame is walked once by serde_json with a hand-written visitor: known fields
//! land in typed slots (strings and raw values borrowed from the frame), unknown ones
//! are skipped with their nesting bounded, and the op picks which slots it needs
//! only after the whole object is read, because `op` may come last. A field whose
//! type is wrong only matters if the op needs it: extra fields are ignored whatever
//! they hold.

use std::borrow::Cow;
use std::fmt;

use proto_core::{JsonKind, LimitError, Limits, json_depth_exceeds};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::message::{Dispatch, Hello, HelloAck, Message, Op, Request, Response};
use crate::raw::RawJson;

/// The longest heartbeat interval accepted in a HELLO, in milliseconds (about 49 days);
/// longer ones are nonsense and would overflow timers.
pub const HB_INTERVAL_MAX_MS: u64 = u32::MAX as u64;

/// Why a frame is not a valid litebridge message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is too long or nests too deep.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The frame is not one JSON value (bad syntax, bad UTF-8, trailing bytes).
    #[error("not JSON: syntax error at line {line}, column {column}")]
    NotJson {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
    },
    /// The frame is JSON but not an object.
    #[error("frame is {found}, not an object")]
    NotObject {
        /// What the frame is instead.
        found: JsonKind,
    },
    /// The object has no `op` field.
    #[error("frame has no `op` field")]
    MissingOp,
    /// `op` is a non-negative integer that names no op.
    #[error("unknown op {0}")]
    UnknownOp(u64),
    /// A field the op requires is absent.
    #[error("{op} frame lacks its `{field}` field")]
    MissingField {
        /// The frame's op.
        op: Op,
        /// The wire name of the missing field.
        field: &'static str,
    },
    /// A field the op requires has the wrong JSON type.
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        /// The wire name of the field.
        field: &'static str,
        /// The type the protocol requires.
        expected: JsonKind,
        /// The type found.
        found: JsonKind,
    },
    /// A known field appears twice, so the frame is ambiguous.
    #[error("`{0}` appears more than once")]
    DuplicateField(&'static str),
    /// HELLO's `hb_interval` is 0 or longer than [`HB_INTERVAL_MAX_MS`].
    #[error("`hb_interval` of {0} ms is outside 1..={HB_INTERVAL_MAX_MS}")]
    HbIntervalOutOfRange(u64),
}

/// Decodes one frame.
///
/// The frame's length is checked against `limits.max_frame_len` before it is
/// parsed, and its nesting against `limits.max_depth` while it is parsed. HELLO,
/// HEARTBEAT and HEARTBEAT_ACK decode without touching the heap; the other ops
/// allocate only for their argument list and for strings that contain escapes.
///
/// ```
/// use litecord_proto::{Message, Op, codec::decode};
/// use proto_core::Limits;
///
/// let message = decode(br#"{"op": 2, "s": 41}"#, &Limits::default()).unwrap();
/// assert_eq!(message, Message::Heartbeat);
///
/// let err = decode(br#"{"op": 4, "w": "ping", "a": []}"#, &Limits::default()).unwrap_err();
/// assert_eq!(err.to_string(), "REQUEST (4) frame lacks its `n` field");
/// ```
pub fn decode<'a>(frame: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    limits.check_frame_len(frame.len())?;
    let mut failure = None;
    let mut deserializer = serde_json::Deserializer::from_slice(frame);
    let parsed = FrameVisitor {
        levels: limits.max_depth,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|fields| deserializer.end().map(|()| fields));
    match parsed {
        Ok(fields) => fields.into_message(),
        Err(error) => Err(failure.unwrap_or_else(|| classify(&error, frame, limits))),
    }
}

/// Names a serde_json error our visitors did not record themselves: serde_json's own
/// recursion limit shows as a syntax error, so a frame nested beyond ours is reported
/// as too deep, anything else as not JSON.
fn classify(error: &serde_json::Error, frame: &[u8], limits: &Limits) -> DecodeError {
    if json_depth_exceeds(frame, limits.max_depth) {
        return LimitError::TooDeep {
            max: limits.max_depth,
        }
        .into();
    }
    DecodeError::NotJson {
        line: error.line(),
        column: error.column(),
    }
}

/// What a known field held.
#[derive(Debug, Default)]
enum Slot<T> {
    #[default]
    Absent,
    Present(T),
    WrongType(JsonKind),
}

impl<T> Slot<T> {
    /// The value an op requires, or the error saying why it is not there.
    fn require(self, op: Op, field: &'static str, expected: JsonKind) -> Result<T, DecodeError> {
        match self {
            Slot::Present(value) => Ok(value),
            Slot::Absent => Err(DecodeError::MissingField { op, field }),
            Slot::WrongType(found) => Err(DecodeError::WrongType {
                field,
                expected,
                found,
            }),
        }
    }
}

/// The known fields of a frame, as read.
#[derive(Debug, Default)]
struct Fields<'a> {
    op: Slot<u64>,
    hb_interval: Slot<u64>,
    password: Slot<Cow<'a, str>>,
    what: Slot<Cow<'a, str>>,
    args: Slot<Vec<RawJson<'a>>>,
    /// `n` and `r` hold any JSON value, so they are only ever present or absent.
    nonce: Option<RawJson<'a>>,
    data: Option<RawJson<'a>>,
}

impl<'a> Fields<'a> {
    fn into_message(self) -> Result<Message<'a>, DecodeError> {
        let code = match self.op {
            Slot::Present(code) => code,
            Slot::Absent => return Err(DecodeError::MissingOp),
            Slot::WrongType(found) => {
                return Err(DecodeError::WrongType {
                    field: "op",
                    expected: JsonKind::UnsignedInteger,
                    found,
                });
            }
        };
        let op = Op::from_code(code).ok_or(DecodeError::UnknownOp(code))?;
        Ok(match op {
            Op::Hello => {
                let hb_interval_ms =
                    self.hb_interval
                        .require(op, "hb_interval", JsonKind::UnsignedInteger)?;
                if !(1..=HB_INTERVAL_MAX_MS).contains(&hb_interval_ms) {
                    return Err(DecodeError::HbIntervalOutOfRange(hb_interval_ms));
                }
                Message::Hello(Hello { hb_interval_ms })
            }
            Op::HelloAck => Message::HelloAck(HelloAck {
                password: self.password.require(op, "password", JsonKind::String)?,
            }),
            Op::Heartbeat => Message::Heartbeat,
            Op::HeartbeatAck => Message::HeartbeatAck,
            Op::Request => Message::Request(Request {
                what: self.what.require(op, "w", JsonKind::String)?,
                args: self.args.require(op, "a", JsonKind::Array)?,
                nonce: self
                    .nonce
                    .ok_or(DecodeError::MissingField { op, field: "n" })?,
            }),
            Op::Response => Message::Response(Response {
                nonce: self
                    .nonce
                    .ok_or(DecodeError::MissingField { op, field: "n" })?,
                data: self
                    .data
                    .ok_or(DecodeError::MissingField { op, field: "r" })?,
            }),
            Op::Dispatch => Message::Dispatch(Dispatch {
                what: self.what.require(op, "w", JsonKind::String)?,
                args: self.args.require(op, "a", JsonKind::Array)?,
            }),
        })
    }
}

/// The wire name of each known field.
#[derive(Debug, Clone, Copy)]
enum Key {
    Op,
    HbInterval,
    Password,
    What,
    Args,
    Nonce,
    Data,
    Unknown,
}

impl Key {
    fn wire_name(self) -> &'static str {
        match self {
            Key::Op => "op",
            Key::HbInterval => "hb_interval",
            Key::Password => "password",
            Key::What => "w",
            Key::Args => "a",
            Key::Nonce => "n",
            Key::Data => "r",
            Key::Unknown => "",
        }
    }
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "op" => Key::Op,
                    "hb_interval" => Key::HbInterval,
                    "password" => Key::Password,
                    "w" => Key::What,
                    "a" => Key::Args,
                    "n" => Key::Nonce,
                    "r" => Key::Data,
                    _ => Key::Unknown,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Fails the parse after recording the precise error, which serde cannot carry.
fn fail<E: de::Error>(failure: &mut Option<DecodeError>, error: DecodeError) -> E {
    *failure = Some(error);
    E::custom("rejected")
}

/// Reads the top-level object.
struct FrameVisitor<'s> {
    /// Levels of nesting the frame may still use, its own object included.
    levels: usize,
    failure: &'s mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for FrameVisitor<'_> {
    type Value = Fields<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Fields<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> FrameVisitor<'_> {
    fn not_object<E: de::Error>(self, found: JsonKind) -> Result<Fields<'de>, E> {
        Err(fail(self.failure, DecodeError::NotObject { found }))
    }
}

impl<'de> Visitor<'de> for FrameVisitor<'_> {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a litebridge frame")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let Some(levels) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, 0));
        };
        let max = self.levels;
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            let failure = &mut *self.failure;
            let fresh = match key {
                Key::Op => put(
                    &mut fields.op,
                    read(&mut map, levels, max, false, failure)?.uint(),
                ),
                Key::HbInterval => put(
                    &mut fields.hb_interval,
                    read(&mut map, levels, max, false, failure)?.uint(),
                ),
                Key::Password => put(
                    &mut fields.password,
                    read(&mut map, levels, max, false, failure)?.string(),
                ),
                Key::What => put(
                    &mut fields.what,
                    read(&mut map, levels, max, false, failure)?.string(),
                ),
                Key::Args => put(
                    &mut fields.args,
                    read(&mut map, levels, max, true, failure)?.array(),
                ),
                Key::Nonce | Key::Data => {
                    let raw: &'de RawValue = map.next_value()?;
                    if json_depth_exceeds(raw.get().as_bytes(), levels) {
                        return Err(too_deep(failure, max));
                    }
                    let slot = if matches!(key, Key::Nonce) {
                        &mut fields.nonce
                    } else {
                        &mut fields.data
                    };
                    slot.replace(RawJson::borrowed(raw)).is_none()
                }
                Key::Unknown => {
                    map.next_value_seed(Skip {
                        levels,
                        max,
                        failure,
                    })?;
                    true
                }
            };
            if !fresh {
                return Err(fail(
                    self.failure,
                    DecodeError::DuplicateField(key.wire_name()),
                ));
            }
        }
        Ok(fields)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Fields<'de>, A::Error> {
        self.not_object(JsonKind::Array)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::Bool)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::UnsignedInteger)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::NegativeInteger)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::Float)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::String)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Fields<'de>, E> {
        self.not_object(JsonKind::Null)
    }
}

fn too_deep<E: de::Error>(failure: &mut Option<DecodeError>, max: usize) -> E {
    fail(failure, LimitError::TooDeep { max }.into())
}

/// Fills a slot; returns false if the key had already filled it.
fn put<T>(slot: &mut Slot<T>, value: Slot<T>) -> bool {
    let fresh = matches!(slot, Slot::Absent);
    *slot = value;
    fresh
}

/// Reads a known field's value.
fn read<'de, A: MapAccess<'de>>(
    map: &mut A,
    levels: usize,
    max: usize,
    collect_array: bool,
    failure: &mut Option<DecodeError>,
) -> Result<FieldValue<'de>, A::Error> {
    map.next_value_seed(FieldSeed {
        levels,
        max,
        collect_array,
        failure,
    })
}

/// The value of a known field, typed as far as JSON tells.
enum FieldValue<'de> {
    Uint(u64),
    String(Cow<'de, str>),
    Array(Vec<RawJson<'de>>),
    Other(JsonKind),
}

impl<'de> FieldValue<'de> {
    fn kind(&self) -> JsonKind {
        match self {
            FieldValue::Uint(_) => JsonKind::UnsignedInteger,
            FieldValue::String(_) => JsonKind::String,
            FieldValue::Array(_) => JsonKind::Array,
            FieldValue::Other(kind) => *kind,
        }
    }

    fn uint(self) -> Slot<u64> {
        match self {
            FieldValue::Uint(value) => Slot::Present(value),
            other => Slot::WrongType(other.kind()),
        }
    }

    fn string(self) -> Slot<Cow<'de, str>> {
        match self {
            FieldValue::String(value) => Slot::Present(value),
            other => Slot::WrongType(other.kind()),
        }
    }

    fn array(self) -> Slot<Vec<RawJson<'de>>> {
        match self {
            FieldValue::Array(items) => Slot::Present(items),
            other => Slot::WrongType(other.kind()),
        }
    }
}

/// Reads a known field's value: scalars as themselves, the argument array as raw
/// elements, anything else skipped with its nesting bounded.
struct FieldSeed<'s> {
    /// Levels the value may use.
    levels: usize,
    /// The configured limit, for the error.
    max: usize,
    /// Whether an array here is the argument list, kept element by element.
    collect_array: bool,
    failure: &'s mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = FieldValue<'de>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<FieldValue<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Other(JsonKind::Bool))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Uint(value))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Other(JsonKind::NegativeInteger))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Other(JsonKind::Float))
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::String(Cow::Borrowed(value)))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::String(Cow::Owned(value.to_owned())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Other(JsonKind::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue<'de>, A::Error> {
        let Some(inner) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, self.max));
        };
        if !self.collect_array {
            skip_seq(seq, inner, self.max, self.failure)?;
            return Ok(FieldValue::Other(JsonKind::Array));
        }
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if json_depth_exceeds(raw.get().as_bytes(), inner) {
                return Err(too_deep(self.failure, self.max));
            }
            items.push(RawJson::borrowed(raw));
        }
        Ok(FieldValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldValue<'de>, A::Error> {
        let Some(inner) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, self.max));
        };
        skip_map(map, inner, self.max, self.failure)?;
        Ok(FieldValue::Other(JsonKind::Object))
    }
}

/// Skips a value of no interest, refusing nesting beyond `levels`.
struct Skip<'s> {
    levels: usize,
    max: usize,
    failure: &'s mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_ignored_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let Some(inner) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, self.max));
        };
        skip_seq(seq, inner, self.max, self.failure)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let Some(inner) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, self.max));
        };
        skip_map(map, inner, self.max, self.failure)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(
    mut seq: A,
    levels: usize,
    max: usize,
    failure: &mut Option<DecodeError>,
) -> Result<(), A::Error> {
    while seq
        .next_element_seed(Skip {
            levels,
            max,
            failure: &mut *failure,
        })?
        .is_some()
    {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(
    mut map: A,
    levels: usize,
    max: usize,
    failure: &mut Option<DecodeError>,
) -> Result<(), A::Error> {
    while map.next_key::<IgnoredAny>()?.is_some() {
        map.next_value_seed(Skip {
            levels,
            max,
            failure: &mut *failure,
        })?;
    }
    Ok(())
}
