//! Single-pass decoding of one frame into a typed [`Message`].
//!
//! The frame is walked once by serde_json with a hand-written visitor: known fields
//! land in typed slots (strings and raw values borrowed from the frame), unknown ones
//! are read past with their nesting bounded, and the op picks which slots it needs
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
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let message = decode(br#"{"op": 2, "s": 41}"#, &Limits::default())?;
/// assert_eq!(message, Message::Heartbeat);
///
/// let refused = decode(br#"{"op": 4, "w": "ping", "a": []}"#, &Limits::default());
/// assert_eq!(
///     refused.map_err(|error| error.to_string()),
///     Err("REQUEST (4) frame lacks its `n` field".to_owned())
/// );
/// # Ok(())
/// # }
/// ```
pub fn decode<'a>(frame: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    limits.check_frame_len(frame.len())?;
    // One UTF-8 check of the whole frame is much cheaper than serde_json's check
    // of each string; a frame that fails it is parsed as bytes for the exact error.
    match std::str::from_utf8(frame) {
        Ok(text) => decode_from(serde_json::de::StrRead::new(text), limits),
        Err(_) => decode_from(serde_json::de::SliceRead::new(frame), limits),
    }
}

/// The one pass over the frame.
fn decode_from<'a, R: serde_json::de::Read<'a>>(
    read: R,
    limits: &Limits,
) -> Result<Message<'a>, DecodeError> {
    let mut failure = None;
    // Filled in place by the visitor: returning it through serde's `Result`s would
    // copy it several times.
    let mut fields = Fields::default();
    let mut deserializer = serde_json::Deserializer::new(read);
    let parsed = FrameVisitor {
        levels: limits.max_depth,
        fields: &mut fields,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match parsed {
        Ok(()) => fields.into_message(),
        // An error our visitors did not record is serde_json's own: bad syntax. (Its
        // recursion limit is never reached: the visitors go two levels deep and read
        // anything deeper as raw text.)
        Err(error) => Err(failure.unwrap_or(DecodeError::NotJson {
            line: error.line(),
            column: error.column(),
        })),
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

/// Reads the top-level object into `fields`.
struct FrameVisitor<'s, 'de> {
    /// Levels of nesting the frame may still use, its own object included.
    levels: usize,
    fields: &'s mut Fields<'de>,
    failure: &'s mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for FrameVisitor<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl FrameVisitor<'_, '_> {
    fn not_object<E: de::Error>(self, found: JsonKind) -> Result<(), E> {
        Err(fail(self.failure, DecodeError::NotObject { found }))
    }
}

impl<'de> Visitor<'de> for FrameVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a litebridge frame")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(levels) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, 0));
        };
        let max = self.levels;
        let fields = self.fields;
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
                    let raw = read_raw(&mut map, levels, max, failure)?;
                    let slot = if matches!(key, Key::Nonce) {
                        &mut fields.nonce
                    } else {
                        &mut fields.data
                    };
                    slot.replace(RawJson::borrowed(raw)).is_none()
                }
                Key::Unknown => {
                    read_raw(&mut map, levels, max, failure)?;
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
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object(JsonKind::Array)
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
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object(JsonKind::String)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
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

/// Reads a value of any type as its raw text, refusing nesting beyond `levels`.
///
/// serde_json skips the value without recursing, so its depth is checked on the
/// captured text; the text is borrowed from the frame, so nothing is allocated.
fn read_raw<'de, A: MapAccess<'de>>(
    map: &mut A,
    levels: usize,
    max: usize,
    failure: &mut Option<DecodeError>,
) -> Result<&'de RawValue, A::Error> {
    let raw: &'de RawValue = map.next_value()?;
    if may_exceed(raw, levels) && json_depth_exceeds(raw.get().as_bytes(), levels) {
        return Err(too_deep(failure, max));
    }
    Ok(raw)
}

/// Whether `raw` is long enough to nest deeper than `levels`: a JSON value closes
/// every bracket it opens, so it nests at most half its length. Most values are
/// cleared by this without a scan.
fn may_exceed(raw: &RawValue, levels: usize) -> bool {
    raw.get().len() / 2 > levels
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
        // Only the argument list is kept; an array anywhere else is read past.
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if may_exceed(raw, inner) && json_depth_exceeds(raw.get().as_bytes(), inner) {
                return Err(too_deep(self.failure, self.max));
            }
            if self.collect_array {
                items.push(RawJson::borrowed(raw));
            }
        }
        Ok(if self.collect_array {
            FieldValue::Array(items)
        } else {
            FieldValue::Other(JsonKind::Array)
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue<'de>, A::Error> {
        let Some(inner) = self.levels.checked_sub(1) else {
            return Err(too_deep(self.failure, self.max));
        };
        while map.next_key::<IgnoredAny>()?.is_some() {
            read_raw(&mut map, inner, self.max, self.failure)?;
        }
        Ok(FieldValue::Other(JsonKind::Object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecodeError::*;
    use JsonKind::*;

    fn limits() -> Limits {
        Limits {
            max_frame_len: 256,
            max_depth: 8,
            max_pending: 16,
        }
    }

    fn nested(prefix: &str, depth: usize, suffix: &str) -> std::string::String {
        format!("{prefix}{}{}{suffix}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn bad_input_table() {
        let deep_unknown = nested(r#"{"op":2,"x":"#, 8, "}");
        let deep_args = nested(r#"{"op":6,"w":"x","a":"#, 8, "}");
        let deep_nonce = nested(r#"{"op":5,"r":1,"n":"#, 8, "}");
        let beyond_serde = nested("", 200, "");
        let table: Vec<(&[u8], DecodeError)> = vec![
            (b"not json", NotJson { line: 1, column: 2 }),
            (b"", NotJson { line: 1, column: 0 }),
            (br#"{"op":2"#, NotJson { line: 1, column: 7 }),
            (
                br#"{"op":2} {"op":2}"#,
                NotJson {
                    line: 1,
                    column: 10,
                },
            ),
            (
                b"{\"op\":1,\"password\":\"\xff\"}",
                NotJson {
                    line: 1,
                    column: 21,
                },
            ),
            (b"[1,2]", NotObject { found: Array }),
            (
                b"42",
                NotObject {
                    found: UnsignedInteger,
                },
            ),
            (
                b"-4",
                NotObject {
                    found: NegativeInteger,
                },
            ),
            (br#""op""#, NotObject { found: String }),
            (b"null", NotObject { found: Null }),
            (b"true", NotObject { found: Bool }),
            (b"{}", MissingOp),
            (br#"{"s":1}"#, MissingOp),
            (
                br#"{"op":"2"}"#,
                WrongType {
                    field: "op",
                    expected: UnsignedInteger,
                    found: String,
                },
            ),
            (
                br#"{"op":-1}"#,
                WrongType {
                    field: "op",
                    expected: UnsignedInteger,
                    found: NegativeInteger,
                },
            ),
            (
                br#"{"op":2.0}"#,
                WrongType {
                    field: "op",
                    expected: UnsignedInteger,
                    found: Float,
                },
            ),
            (
                br#"{"op":[2]}"#,
                WrongType {
                    field: "op",
                    expected: UnsignedInteger,
                    found: Array,
                },
            ),
            (br#"{"op":7}"#, UnknownOp(7)),
            (br#"{"op":18446744073709551615}"#, UnknownOp(u64::MAX)),
            (
                br#"{"op":0}"#,
                MissingField {
                    op: Op::Hello,
                    field: "hb_interval",
                },
            ),
            (
                br#"{"op":0,"hb_interval":"10"}"#,
                WrongType {
                    field: "hb_interval",
                    expected: UnsignedInteger,
                    found: String,
                },
            ),
            (br#"{"op":0,"hb_interval":0}"#, HbIntervalOutOfRange(0)),
            (
                br#"{"op":0,"hb_interval":4294967296}"#,
                HbIntervalOutOfRange(1 << 32),
            ),
            (
                br#"{"op":1}"#,
                MissingField {
                    op: Op::HelloAck,
                    field: "password",
                },
            ),
            (
                br#"{"op":1,"password":null}"#,
                WrongType {
                    field: "password",
                    expected: String,
                    found: Null,
                },
            ),
            (
                br#"{"op":1,"password":{"a":1}}"#,
                WrongType {
                    field: "password",
                    expected: String,
                    found: Object,
                },
            ),
            (
                br#"{"op":4,"a":[],"n":1}"#,
                MissingField {
                    op: Op::Request,
                    field: "w",
                },
            ),
            (
                br#"{"op":4,"w":"x","n":1}"#,
                MissingField {
                    op: Op::Request,
                    field: "a",
                },
            ),
            (
                br#"{"op":4,"w":"x","a":[]}"#,
                MissingField {
                    op: Op::Request,
                    field: "n",
                },
            ),
            (
                br#"{"op":4,"w":"x","a":{},"n":1}"#,
                WrongType {
                    field: "a",
                    expected: Array,
                    found: Object,
                },
            ),
            (
                br#"{"op":4,"w":true,"a":[],"n":1}"#,
                WrongType {
                    field: "w",
                    expected: String,
                    found: Bool,
                },
            ),
            (
                br#"{"op":5,"r":1}"#,
                MissingField {
                    op: Op::Response,
                    field: "n",
                },
            ),
            (
                br#"{"op":5,"n":1}"#,
                MissingField {
                    op: Op::Response,
                    field: "r",
                },
            ),
            (
                br#"{"op":6,"w":5,"a":[]}"#,
                WrongType {
                    field: "w",
                    expected: String,
                    found: UnsignedInteger,
                },
            ),
            (
                br#"{"op":6,"w":"x","a":"[]"}"#,
                WrongType {
                    field: "a",
                    expected: Array,
                    found: String,
                },
            ),
            (br#"{"op":2,"op":2}"#, DuplicateField("op")),
            (br#"{"op":5,"n":1,"r":1,"n":2}"#, DuplicateField("n")),
            (br#"{"op":6,"w":"x","a":[],"a":[]}"#, DuplicateField("a")),
            (
                deep_unknown.as_bytes(),
                Limit(LimitError::TooDeep { max: 8 }),
            ),
            (deep_args.as_bytes(), Limit(LimitError::TooDeep { max: 8 })),
            (deep_nonce.as_bytes(), Limit(LimitError::TooDeep { max: 8 })),
            (
                beyond_serde.as_bytes(),
                Limit(LimitError::FrameTooLarge { len: 400, max: 256 }),
            ),
        ];
        for (frame, expected) in table {
            let got = decode(frame, &limits());
            assert_eq!(
                got,
                Err(expected),
                "frame {:?}",
                std::string::String::from_utf8_lossy(frame)
            );
        }
    }

    #[test]
    fn depth_is_ours_to_set_beyond_serde_json_recursion_limit() {
        let frame = nested(r#"{"op":2,"x":"#, 200, "}");
        let mut limits = Limits {
            max_frame_len: 1 << 20,
            max_depth: 201,
            max_pending: 1,
        };
        assert_eq!(decode(frame.as_bytes(), &limits), Ok(Message::Heartbeat));
        limits.max_depth = 200;
        assert_eq!(
            decode(frame.as_bytes(), &limits),
            Err(Limit(LimitError::TooDeep { max: 200 }))
        );
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted() {
        // The frame's object is level 1, the argument array level 2: 6 more fit in 8.
        let frame = nested(r#"{"op":6,"w":"x","a":["#, 6, "]}");
        let message = decode(frame.as_bytes(), &limits()).unwrap();
        let Message::Dispatch(dispatch) = message else {
            panic!("{message:?}")
        };
        assert_eq!(dispatch.args[0].get(), "[[[[[[]]]]]]");
    }

    #[test]
    fn extra_fields_are_ignored_whatever_they_hold() {
        let frames: [&[u8]; 4] = [
            br#"{"op":2,"s":41}"#,
            br#"{"s":{"deep":[1,2,{"x":null}]},"op":2}"#,
            br#"{"op":2,"password":5,"w":[],"hb_interval":"x"}"#,
            br#"  {"op" : 2 }  "#,
        ];
        for frame in frames {
            assert_eq!(decode(frame, &limits()), Ok(Message::Heartbeat));
        }
    }

    #[test]
    fn op_may_come_last_and_strings_may_be_escaped() {
        let hello = decode(br#"{"hb_interval":45000,"op":0}"#, &limits()).unwrap();
        assert_eq!(
            hello,
            Message::Hello(Hello {
                hb_interval_ms: 45_000
            })
        );

        let ack = decode(br#"{"password":"hello\nw\u00f6rld","op":1}"#, &limits()).unwrap();
        let Message::HelloAck(HelloAck { password }) = ack else {
            panic!("{ack:?}")
        };
        assert_eq!(password, "hello\nwörld");
        assert!(matches!(password, Cow::Owned(_)));

        let ack = decode(br#"{"op":1,"password":"plain"}"#, &limits()).unwrap();
        let Message::HelloAck(HelloAck { password }) = ack else {
            panic!("{ack:?}")
        };
        assert!(matches!(password, Cow::Borrowed("plain")));
    }

    #[test]
    fn request_keeps_raw_arguments_and_any_nonce() {
        let frame = br#"{"op":4,"w":"ANYTHING","a":[1, "two", {"three": [3]}],"n":"a1b2"}"#;
        let Message::Request(request) = decode(frame, &limits()).unwrap() else {
            panic!()
        };
        assert_eq!(request.what, "ANYTHING");
        let args: Vec<&str> = request.args.iter().map(RawJson::get).collect();
        assert_eq!(args, ["1", r#""two""#, r#"{"three": [3]}"#]);
        assert_eq!(request.nonce.get(), r#""a1b2""#);
    }

    #[test]
    fn spec_examples_decode() {
        let examples: [(&[u8], Op); 7] = [
            (br#"{"op": 0, "hb_interval": 10000}"#, Op::Hello),
            (br#"{"op": 1, "password": "helloworld"}"#, Op::HelloAck),
            (br#"{"op": 2}"#, Op::Heartbeat),
            (br#"{"op": 3}"#, Op::HeartbeatAck),
            (
                br#"{"op": 4, "w": "ANYTHING", "a": [], "n": 1}"#,
                Op::Request,
            ),
            (br#"{"op": 5, "n": 1, "r": ["you're gay"]}"#, Op::Response),
            (br#"{"op": 6, "w": "ANYTHING", "a": []}"#, Op::Dispatch),
        ];
        for (frame, op) in examples {
            assert_eq!(decode(frame, &limits()).map(|m| m.op()), Ok(op));
        }
    }
}
