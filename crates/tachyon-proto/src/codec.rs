//! The wire form of a command: one JSON object per WebSocket text frame, read in
//! one pass and written in canonical key order.
//!
//! Decoding walks the envelope with a hand-written [`Visitor`]. The usual frame
//! names `type` and `commandId` before `data`, so by the time `data` comes the
//! decoder knows its Rust type and reads it straight into it. Only a frame that
//! puts `data` first has it held back as a borrowed [`RawValue`] and read once the
//! envelope is complete. No `serde_json::Value` is built either way.
//!
//! What the schemas leave open at the envelope is accepted and skipped, not kept:
//! an unknown member, `data` on a command that defines none, `status` on a
//! request, `data` on a `failed` response. Inside `data`, unknown members are kept
//! (each struct's `extra`).
//!
//! Errors are [`DecodeError`]s that say which field, which value and which rule. A
//! visitor can only hand serde an opaque error, so the precise one travels beside
//! it and replaces it on the way out.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use proto_core::{JsonKind, LimitError, Limits, json_depth_exceeds};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::depth::BoundedSeed;
use crate::generated::command::{deserialize_data, failed_with, without_data};
use crate::message::{
    Command, CommandId, Failure, FailureReason, GenericReason, MessageKind, Meta, meta,
};

/// Why a frame is not a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The frame breaks a [`Limits`] bound (checked before anything is parsed).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The frame is not JSON (or not UTF-8, or has trailing characters).
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The frame is JSON but not an object.
    #[error("a command is a JSON object, found {found}")]
    NotObject {
        /// What the frame is instead.
        found: JsonKind,
    },
    /// An envelope member the command needs is missing: `type`, `messageId`,
    /// `commandId`, `status` (responses), `reason` (failed responses) or `data`
    /// (when the command's schema requires it).
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// An envelope member is there twice.
    #[error("duplicate field {0:?}")]
    DuplicateField(&'static str),
    /// An envelope member has the wrong JSON type.
    #[error("{field:?} must be {expected}, found {found}")]
    WrongType {
        /// The member.
        field: &'static str,
        /// What it must be.
        expected: JsonKind,
        /// What it is.
        found: JsonKind,
    },
    /// `type` is not `request`, `response` or `event`.
    #[error("unknown type {0:?}")]
    UnknownKind(String),
    /// `commandId` names no command of the protocol.
    #[error("unknown commandId {0:?}")]
    UnknownCommand(String),
    /// The command exists but has no message of this kind (an event sent as a
    /// request, a response to an event).
    #[error("{command} has no {kind}")]
    NoSuchMessage {
        /// The command.
        command: CommandId,
        /// The kind it was sent as.
        kind: MessageKind,
    },
    /// A response's `status` is neither `success` nor `failed`.
    #[error("invalid status {0:?}")]
    InvalidStatus(String),
    /// A failed response's `reason` is not one its command may give.
    #[error("{command} cannot fail with reason {reason:?}")]
    UnknownReason {
        /// The command.
        command: CommandId,
        /// The reason found.
        reason: String,
    },
    /// `data` breaks the command's schema: a missing or ill-typed member, an enum
    /// value it does not list, a number out of range, a string too long or not
    /// matching its pattern. `detail` says which, and where.
    #[error("invalid {command} {kind} data: {detail}")]
    InvalidData {
        /// The command.
        command: CommandId,
        /// Its kind.
        kind: MessageKind,
        /// What is wrong, and where.
        detail: String,
    },
}

/// Decodes one frame with the default [`Limits`].
pub fn decode(frame: &str) -> Result<Command, DecodeError> {
    let limits = Limits::default();
    limits.check_frame_len(frame.len())?;
    // A `&str` is known UTF-8: its reader skips the checks a byte slice needs.
    decode_from(
        serde_json::de::StrRead::new(frame),
        frame.as_bytes(),
        limits.max_depth,
    )
}

/// Decodes one frame of bytes (which must be UTF-8) with the default [`Limits`].
pub fn decode_slice(frame: &[u8]) -> Result<Command, DecodeError> {
    decode_with(frame, &Limits::default())
}

/// Decodes one frame, refusing it if it breaks `limits`.
///
/// The length is checked before parsing, the depth while parsing: a frame nested
/// deeper than `limits.max_depth` is refused with [`LimitError::TooDeep`] whatever
/// else is wrong with it, and the parser never recurses past the bound.
pub fn decode_with(frame: &[u8], limits: &Limits) -> Result<Command, DecodeError> {
    limits.check_frame_len(frame.len())?;
    // One UTF-8 check of the whole frame is much cheaper than serde_json's check
    // of each string; a frame that fails it is parsed as bytes for the exact error.
    match std::str::from_utf8(frame) {
        Ok(text) => decode_from(serde_json::de::StrRead::new(text), frame, limits.max_depth),
        Err(_) => decode_from(
            serde_json::de::SliceRead::new(frame),
            frame,
            limits.max_depth,
        ),
    }
}

/// Refuses `frame` if it nests deeper than `max`.
fn check_depth(frame: &[u8], max: usize) -> Result<(), DecodeError> {
    if json_depth_exceeds(frame, max) {
        return Err(LimitError::TooDeep { max }.into());
    }
    Ok(())
}

/// The one pass over the frame, which nests at most `max_depth` deep.
fn decode_from<'de, R: serde_json::de::Read<'de>>(
    read: R,
    frame: &[u8],
    max_depth: usize,
) -> Result<Command, DecodeError> {
    let mut precise = None;
    // The command is built in this slot and stays there: a `Command` is large,
    // and handing it back through serde's `Result`s would copy it at every level.
    let mut command = None;
    let rescan = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::new(read);
    let parsed = EnvelopeVisitor {
        error: &mut precise,
        command: &mut command,
        levels: max_depth,
        rescan: &rescan,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match parsed {
        // `finish` fills the slot whenever the envelope is complete.
        Ok(()) => {
            if rescan.get() {
                check_depth(frame, max_depth)?;
            }
            command.ok_or(DecodeError::MissingField("data"))
        }
        // Too deep is the answer whatever failed first: the parse may have
        // stopped at an earlier error, before the nesting.
        Err(error) => Err(match (check_depth(frame, max_depth), error.classify()) {
            (Err(too_deep), _) => too_deep,
            (Ok(()), serde_json::error::Category::Data) => precise
                .take()
                .unwrap_or_else(|| DecodeError::NotJson(error.to_string())),
            // A syntax error inside `data` is still a syntax error, whatever was
            // being decoded when it struck.
            (Ok(()), _) => DecodeError::NotJson(error.to_string()),
        }),
    }
}

/// Writes `command` as JSON text.
pub fn encode(command: &Command) -> String {
    let mut out = Vec::with_capacity(256);
    encode_into(command, &mut out);
    // serde_json writes nothing but UTF-8; the lossy path is never taken.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `command` as JSON to `out`, keys in the canonical order `type`,
/// `messageId`, `commandId`, `status`, `reason`, `details`, `data`.
///
/// The encoder trusts its input: check a command built from untrusted parts with
/// [`Command::validate`] first.
pub fn encode_into(command: &Command, out: &mut Vec<u8>) {
    // Serializing into a Vec cannot fail: the writer is infallible and every
    // type here has string keys only.
    let _ = command.serialize(&mut serde_json::Serializer::new(out));
}

/// The envelope of a frame that failed to decode, as far as it could be read.
///
/// A server answers a request it cannot decode with a `failed` response with
/// reason `invalid_request`; it needs the `messageId` and `commandId` for that
/// (see [`Command::failed_response`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameIds {
    /// `type`, if it was one of the three.
    pub kind: Option<MessageKind>,
    /// `messageId`, if it was a string.
    pub message_id: Option<String>,
    /// `commandId`, if it was a string, whether or not it names a command.
    pub command_id: Option<String>,
}

impl FrameIds {
    /// The command `commandId` names, if it names one.
    pub fn command(&self) -> Option<CommandId> {
        self.command_id.as_deref().and_then(CommandId::from_wire)
    }

    /// The `failed` response with reason `invalid_request` that answers this frame,
    /// when it was a request whose `messageId` and `commandId` could be read.
    pub fn invalid_request(&self, details: Option<String>) -> Option<Command> {
        match (self.kind, &self.message_id, self.command()) {
            (Some(MessageKind::Request), Some(message_id), Some(command)) => {
                Command::failed_response(
                    command,
                    message_id.clone(),
                    GenericReason::InvalidRequest,
                    details,
                )
            }
            _ => None,
        }
    }
}

/// Reads `type`, `messageId` and `commandId` from a frame, skipping everything
/// else and stopping quietly at the first syntax error.
pub fn recover_ids(frame: &[u8]) -> FrameIds {
    let mut ids = FrameIds::default();
    let mut deserializer = serde_json::Deserializer::from_slice(frame);
    // An error only ends the scan; whatever was read before it is kept.
    let _ = deserializer.deserialize_map(IdsVisitor { ids: &mut ids });
    ids
}

/// Writes a `failed` response with a generic reason, knowing the request only by
/// its `messageId` and `commandId`: the answer to a request for a command this
/// crate does not know (`command_unimplemented`), or to one that failed to decode
/// (`invalid_request`). For a known command the frame is exactly what [`encode`]
/// writes for [`Command::failed_response`].
pub fn encode_generic_failure(
    message_id: &str,
    command_id: &str,
    reason: GenericReason,
    details: Option<&str>,
) -> String {
    let failure = GenericFailure {
        kind: MessageKind::Response.as_str(),
        message_id,
        command_id,
        status: "failed",
        reason: reason.as_str(),
        details,
    };
    // Only strings: serialization cannot fail.
    serde_json::to_string(&failure).unwrap_or_default()
}

/// The envelope of a generic failure, in canonical key order.
#[derive(Serialize)]
struct GenericFailure<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "messageId")]
    message_id: &'a str,
    #[serde(rename = "commandId")]
    command_id: &'a str,
    status: &'static str,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
}

/// Writes a request or an event.
pub(crate) fn serialize_message<S: Serializer, D: Serialize>(
    serializer: S,
    meta: &Meta,
    message_id: &str,
    data: Option<&D>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(3 + usize::from(data.is_some())))?;
    map.serialize_entry("type", meta.kind.as_str())?;
    map.serialize_entry("messageId", message_id)?;
    map.serialize_entry("commandId", meta.id.as_str())?;
    if let Some(data) = data {
        map.serialize_entry("data", data)?;
    }
    map.end()
}

/// Writes a response: `success` with its data (if any), or `failed` with its
/// reason and details.
pub(crate) fn serialize_response<S: Serializer, D: Serialize, R: FailureReason>(
    serializer: S,
    meta: &Meta,
    message_id: &str,
    result: Result<Option<&D>, &Failure<R>>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("type", meta.kind.as_str())?;
    map.serialize_entry("messageId", message_id)?;
    map.serialize_entry("commandId", meta.id.as_str())?;
    match result {
        Ok(data) => {
            map.serialize_entry("status", "success")?;
            if let Some(data) = data {
                map.serialize_entry("data", data)?;
            }
        }
        Err(failure) => {
            map.serialize_entry("status", "failed")?;
            map.serialize_entry("reason", failure.reason.as_str())?;
            if let Some(details) = &failure.details {
                map.serialize_entry("details", details)?;
            }
        }
    }
    map.end()
}

/// The envelope members, recognized without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Type,
    MessageId,
    CommandId,
    Status,
    Reason,
    Details,
    Data,
    Other,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Type => "type",
            Key::MessageId => "messageId",
            Key::CommandId => "commandId",
            Key::Status => "status",
            Key::Reason => "reason",
            Key::Details => "details",
            Key::Data => "data",
            Key::Other => "",
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "type" => Key::Type,
                    "messageId" => Key::MessageId,
                    "commandId" => Key::CommandId,
                    "status" => Key::Status,
                    "reason" => Key::Reason,
                    "details" => Key::Details,
                    "data" => Key::Data,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// An envelope member read without committing to its type: a string (borrowed
/// when it has no escapes), or the kind of whatever else it was.
#[derive(Debug)]
enum Loose<'de> {
    Str(Cow<'de, str>),
    Other(JsonKind),
}

impl<'de> Loose<'de> {
    fn string(self, field: &'static str) -> Result<Cow<'de, str>, DecodeError> {
        match self {
            Loose::Str(text) => Ok(text),
            Loose::Other(found) => Err(DecodeError::WrongType {
                field,
                expected: JsonKind::String,
                found,
            }),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(text) => Some(text),
            Loose::Other(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(text)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(JsonKind::Null))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(JsonKind::Bool))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other(JsonKind::UnsignedInteger))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(JsonKind::NegativeInteger))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose::Other(JsonKind::Float))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Other(JsonKind::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other(JsonKind::Object))
    }
}

/// Reads a command's `data` into its type and checks its constraints.
#[derive(Clone, Copy)]
struct DataSeed {
    command: CommandId,
    kind: MessageKind,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Command;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Command, D::Error> {
        deserialize_data(self.command, self.kind, deserializer)
    }
}

/// What became of `data` while the envelope was read.
enum DataSlot<'de> {
    /// Not seen (yet).
    Absent,
    /// Read into its type: the command, still without its `messageId`, is in
    /// the visitor's slot.
    Decoded,
    /// Seen before the envelope said what it is.
    Deferred(&'de RawValue),
}

/// The envelope as read so far.
struct Envelope<'de> {
    kind: Option<MessageKind>,
    message_id: Option<Cow<'de, str>>,
    command: Option<CommandId>,
    status: Option<Loose<'de>>,
    reason: Option<Loose<'de>>,
    details: Option<Loose<'de>>,
    data: DataSlot<'de>,
}

/// Reads the top-level object of a frame into a [`Command`].
struct EnvelopeVisitor<'e> {
    /// Where the precise error goes; serde only carries an opaque one.
    error: &'e mut Option<DecodeError>,
    /// Where the command goes.
    command: &'e mut Option<Command>,
    /// Arrays and objects the frame may open, its own object included.
    levels: usize,
    /// Set when a member was read in a way that leaves its depth to a scan.
    rescan: &'e Cell<bool>,
}

impl<'e> EnvelopeVisitor<'e> {
    fn fail<E: de::Error>(&mut self, error: DecodeError) -> E {
        let message = error.to_string();
        *self.error = Some(error);
        E::custom(message)
    }

    /// `seed` reading a member's value within the levels left inside the envelope.
    fn bounded<S>(&self, seed: S) -> BoundedSeed<'e, S> {
        BoundedSeed {
            seed,
            levels: self.levels.saturating_sub(1),
            rescan: self.rescan,
        }
    }

    /// Reads a member's value loosely.
    fn loose<'de, A: MapAccess<'de>>(&self, map: &mut A) -> Result<Loose<'de>, A::Error> {
        map.next_value_seed(self.bounded(PhantomData::<Loose<'de>>))
    }

    /// Skips a member's value, leaving its depth to the scan.
    fn skip<'de, A: MapAccess<'de>>(&self, map: &mut A) -> Result<(), A::Error> {
        self.rescan.set(true);
        map.next_value::<IgnoredAny>().map(|_| ())
    }
}

impl<'de> DeserializeSeed<'de> for EnvelopeVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if self.levels == 0 {
            return Err(self.fail(DecodeError::Limit(LimitError::TooDeep { max: 0 })));
        }
        let mut envelope = Envelope {
            kind: None,
            message_id: None,
            command: None,
            status: None,
            reason: None,
            details: None,
            data: DataSlot::Absent,
        };
        let mut data_seen = false;
        while let Some(key) = map.next_key::<Key>()? {
            let duplicate = match key {
                Key::Type => envelope.kind.is_some(),
                Key::MessageId => envelope.message_id.is_some(),
                Key::CommandId => envelope.command.is_some(),
                Key::Status => envelope.status.is_some(),
                Key::Reason => envelope.reason.is_some(),
                Key::Details => envelope.details.is_some(),
                Key::Data => data_seen,
                Key::Other => false,
            };
            if duplicate {
                return Err(self.fail(DecodeError::DuplicateField(key.name())));
            }
            match key {
                Key::Type => {
                    let value = self.loose(&mut map)?;
                    let kind = value.string("type").and_then(|name| {
                        MessageKind::from_wire(&name)
                            .ok_or_else(|| DecodeError::UnknownKind(name.into_owned()))
                    });
                    envelope.kind = Some(kind.map_err(|e| self.fail(e))?);
                    self.check_message_exists(&envelope)?;
                }
                Key::MessageId => {
                    let value = self.loose(&mut map)?;
                    envelope.message_id =
                        Some(value.string("messageId").map_err(|e| self.fail(e))?);
                }
                Key::CommandId => {
                    let value = self.loose(&mut map)?;
                    let command = value.string("commandId").and_then(|id| {
                        CommandId::from_wire(&id)
                            .ok_or_else(|| DecodeError::UnknownCommand(id.into_owned()))
                    });
                    envelope.command = Some(command.map_err(|e| self.fail(e))?);
                    self.check_message_exists(&envelope)?;
                }
                // Whether these matter depends on `type` and `status`, which may
                // come later: keep them loosely and judge at the end.
                Key::Status => envelope.status = Some(self.loose(&mut map)?),
                Key::Reason => envelope.reason = Some(self.loose(&mut map)?),
                Key::Details => envelope.details = Some(self.loose(&mut map)?),
                Key::Data => {
                    data_seen = true;
                    envelope.data = self.read_data(&mut map, &envelope)?;
                }
                Key::Other => self.skip(&mut map)?,
            }
        }
        self.finish(envelope).map_err(|e| self.fail(e))
    }

    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::Bool,
        }))
    }

    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::UnsignedInteger,
        }))
    }

    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::NegativeInteger,
        }))
    }

    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::Float,
        }))
    }

    fn visit_str<E: de::Error>(mut self, _: &str) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::String,
        }))
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::Null,
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, _: A) -> Result<(), A::Error> {
        Err(self.fail(DecodeError::NotObject {
            found: JsonKind::Array,
        }))
    }
}

impl<'de> EnvelopeVisitor<'_> {
    /// Refuses an event sent as a request (and the like) as soon as both are known,
    /// before any `data` is read for nothing.
    fn check_message_exists<E: de::Error>(&mut self, envelope: &Envelope<'de>) -> Result<(), E> {
        if let (Some(kind), Some(command)) = (envelope.kind, envelope.command) {
            if meta(command, kind).is_none() {
                return Err(self.fail(DecodeError::NoSuchMessage { command, kind }));
            }
        }
        Ok(())
    }

    /// Reads `data` into its type when the envelope already says which, skips it
    /// when a `failed` response makes it meaningless, and defers it otherwise.
    fn read_data<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        envelope: &Envelope<'de>,
    ) -> Result<DataSlot<'de>, A::Error> {
        let (Some(kind), Some(command)) = (envelope.kind, envelope.command) else {
            return Ok(DataSlot::Deferred(map.next_value()?));
        };
        if kind == MessageKind::Response {
            match envelope.status.as_ref().and_then(Loose::as_str) {
                Some("success") => {}
                Some("failed") => {
                    self.skip(map)?;
                    return Ok(DataSlot::Absent);
                }
                // No status yet, or a bad one that `finish` will report.
                _ => return Ok(DataSlot::Deferred(map.next_value()?)),
            }
        }
        let decoded = self.command.insert(
            map.next_value_seed(self.bounded(DataSeed { command, kind }))
                .inspect_err(|error| {
                    *self.error = Some(DecodeError::InvalidData {
                        command,
                        kind,
                        detail: error.to_string(),
                    });
                })?,
        );
        if let Err(violation) = decoded.validate() {
            return Err(self.fail(DecodeError::InvalidData {
                command,
                kind,
                detail: violation.to_string(),
            }));
        }
        Ok(DataSlot::Decoded)
    }

    /// Completes the command in the slot once every member has been read.
    fn finish(&mut self, envelope: Envelope<'de>) -> Result<(), DecodeError> {
        let kind = envelope.kind.ok_or(DecodeError::MissingField("type"))?;
        let message_id = envelope
            .message_id
            .ok_or(DecodeError::MissingField("messageId"))?
            .into_owned();
        let command = envelope
            .command
            .ok_or(DecodeError::MissingField("commandId"))?;
        if kind == MessageKind::Response {
            let status = envelope
                .status
                .ok_or(DecodeError::MissingField("status"))?
                .string("status")?;
            match &*status {
                "success" => {}
                "failed" => {
                    let reason = envelope
                        .reason
                        .ok_or(DecodeError::MissingField("reason"))?
                        .string("reason")?;
                    let details = match envelope.details {
                        None => None,
                        Some(details) => Some(details.string("details")?.into_owned()),
                    };
                    if let DataSlot::Deferred(_) = envelope.data {
                        // Left unread: only the scan can tell how deep it goes.
                        self.rescan.set(true);
                    }
                    return match failed_with(command, message_id, &reason, details) {
                        Some(Ok(failed)) => {
                            *self.command = Some(failed);
                            Ok(())
                        }
                        Some(Err(())) => Err(DecodeError::UnknownReason {
                            command,
                            reason: reason.into_owned(),
                        }),
                        None => Err(DecodeError::NoSuchMessage { command, kind }),
                    };
                }
                _ => return Err(DecodeError::InvalidStatus(status.into_owned())),
            }
        }
        let decoded = match (envelope.data, self.command.as_mut()) {
            (DataSlot::Decoded, Some(decoded)) => decoded,
            (DataSlot::Deferred(raw), _) => {
                let bounded = self.bounded(DataSeed { command, kind });
                self.command.insert(decode_deferred(raw, bounded)?)
            }
            _ => self.command.insert(
                without_data(command, kind, String::new())
                    .ok_or(DecodeError::MissingField("data"))?,
            ),
        };
        *decoded.message_id_mut() = message_id;
        Ok(())
    }
}

/// Reads `data` that came before the envelope said what it is.
fn decode_deferred(
    raw: &RawValue,
    seed: BoundedSeed<'_, DataSeed>,
) -> Result<Command, DecodeError> {
    let DataSeed { command, kind } = seed.seed;
    let invalid = |detail: String| DecodeError::InvalidData {
        command,
        kind,
        detail,
    };
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    // serde_json would give the position within `data`, not within the frame.
    let without_position = |error: serde_json::Error| {
        let text = error.to_string();
        let position = format!(" at line {} column {}", error.line(), error.column());
        text.strip_suffix(&position)
            .map_or_else(|| text.clone(), str::to_owned)
    };
    let decoded = seed
        .deserialize(&mut deserializer)
        .map_err(|e| invalid(without_position(e)))?;
    decoded.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(decoded)
}

/// Collects `type`, `messageId` and `commandId` into `ids` as they come.
struct IdsVisitor<'i> {
    ids: &'i mut FrameIds,
}

impl<'de> Visitor<'de> for IdsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => {
                    if let Loose::Str(name) = map.next_value::<Loose<'de>>()? {
                        self.ids.kind = MessageKind::from_wire(&name);
                    }
                }
                Key::MessageId => {
                    if let Loose::Str(id) = map.next_value::<Loose<'de>>()? {
                        self.ids.message_id = Some(id.into_owned());
                    }
                }
                Key::CommandId => {
                    if let Loose::Str(id) = map.next_value::<Loose<'de>>()? {
                        self.ids.command_id = Some(id.into_owned());
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{
        GenericReason, LobbyJoinFailReason, LobbyJoinRequest, LobbyJoinRequestData,
        LobbyJoinResponse, LobbyLeaveRequest, MatchmakingLostEvent, SystemDisconnectRequest,
    };

    fn join_request(id: &str) -> Command {
        Command::LobbyJoinRequest(LobbyJoinRequest {
            message_id: id.into(),
            data: LobbyJoinRequestData {
                id: "lobby-1".into(),
                extra: Default::default(),
            },
        })
    }

    #[test]
    fn bad_envelopes() {
        use DecodeError::*;
        use JsonKind as K;
        let long = format!(
            r#"{{"type":"event","messageId":"{}"}}"#,
            "x".repeat(2 << 20)
        );
        let deep = format!(
            r#"{{"type":"event","messageId":"m","commandId":"matchmaking/lost","x":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        let table: Vec<(&str, DecodeError)> = vec![
            ("", NotJson("EOF while parsing a value at line 1 column 0".into())),
            ("{", NotJson("EOF while parsing an object at line 1 column 1".into())),
            ("nope", NotJson("expected ident at line 1 column 2".into())),
            (
                r#"{"type":"event","messageId":"m","commandId":"matchmaking/lost"} x"#,
                NotJson("trailing characters at line 1 column 65".into()),
            ),
            ("[]", NotObject { found: K::Array }),
            ("null", NotObject { found: K::Null }),
            ("7", NotObject { found: K::UnsignedInteger }),
            ("-7", NotObject { found: K::NegativeInteger }),
            ("7.5", NotObject { found: K::Float }),
            (r#""request""#, NotObject { found: K::String }),
            ("true", NotObject { found: K::Bool }),
            ("{}", MissingField("type")),
            (r#"{"type":"request"}"#, MissingField("messageId")),
            (r#"{"type":"request","messageId":"m"}"#, MissingField("commandId")),
            (
                r#"{"type":1,"messageId":"m","commandId":"lobby/leave"}"#,
                WrongType { field: "type", expected: K::String, found: K::UnsignedInteger },
            ),
            (
                r#"{"type":"request","messageId":null,"commandId":"lobby/leave"}"#,
                WrongType { field: "messageId", expected: K::String, found: K::Null },
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":["lobby/leave"]}"#,
                WrongType { field: "commandId", expected: K::String, found: K::Array },
            ),
            (
                r#"{"type":"Request","messageId":"m","commandId":"lobby/leave"}"#,
                UnknownKind("Request".into()),
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"lobby/teleport"}"#,
                UnknownCommand("lobby/teleport".into()),
            ),
            (
                r#"{"type":"request","type":"request","messageId":"m","commandId":"lobby/leave"}"#,
                DuplicateField("type"),
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"lobby/updated"}"#,
                NoSuchMessage { command: CommandId::LobbyUpdated, kind: MessageKind::Request },
            ),
            (
                r#"{"commandId":"lobby/leave","type":"event","messageId":"m"}"#,
                NoSuchMessage { command: CommandId::LobbyLeave, kind: MessageKind::Event },
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/leave"}"#,
                MissingField("status"),
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":"ok"}"#,
                InvalidStatus("ok".into()),
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":true}"#,
                WrongType { field: "status", expected: K::String, found: K::Bool },
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":"failed"}"#,
                MissingField("reason"),
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":"failed","reason":"lobby_full"}"#,
                UnknownReason { command: CommandId::LobbyLeave, reason: "lobby_full".into() },
            ),
            (
                r#"{"type":"response","messageId":"m","commandId":"lobby/join","status":"failed","reason":"banned","details":5}"#,
                WrongType { field: "details", expected: K::String, found: K::UnsignedInteger },
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"lobby/join"}"#,
                MissingField("data"),
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"lobby/join","data":{}}"#,
                InvalidData {
                    command: CommandId::LobbyJoin,
                    kind: MessageKind::Request,
                    detail: "missing field `id` at line 1 column 68".into(),
                },
            ),
            (
                r#"{"data":{"id":7},"type":"request","messageId":"m","commandId":"lobby/join"}"#,
                InvalidData {
                    command: CommandId::LobbyJoin,
                    kind: MessageKind::Request,
                    detail: "invalid type: integer `7`, expected a string".into(),
                },
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"system/disconnect","data":null}"#,
                InvalidData {
                    command: CommandId::SystemDisconnect,
                    kind: MessageKind::Request,
                    detail: "invalid type: null, expected struct SystemDisconnectRequestData at line 1 column 77".into(),
                },
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"autohost/sendMessage","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea","message":"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"}}"#,
                InvalidData {
                    command: CommandId::AutohostSendMessage,
                    kind: MessageKind::Request,
                    detail: "data.message: 130 characters, more than the maximum 127".into(),
                },
            ),
            (
                r#"{"type":"request","messageId":"m","commandId":"autohost/kill","data":{"battleId":"not-a-uuid"}}"#,
                InvalidData {
                    command: CommandId::AutohostKill,
                    kind: MessageKind::Request,
                    detail: "data.battleId: not a UUID".into(),
                },
            ),
            (&long, Limit(LimitError::FrameTooLarge { len: long.len(), max: 1 << 20 })),
            (&deep, Limit(LimitError::TooDeep { max: 32 })),
        ];
        for (frame, expected) in table {
            assert_eq!(decode(frame), Err(expected), "{frame:.120}");
        }
    }

    #[test]
    fn numbers_are_read_exactly() {
        // The shortest text of an f64 the schema allows here, as the encoder writes
        // it. serde_json's default float parser reads it one unit in the last place
        // off, so it would not come back: this is why the crate turns on
        // serde_json's `float_roundtrip`.
        let frame = r#"{"type":"request","messageId":"m","commandId":"lobby/create","data":{"name":"n","mapName":"m","allyTeamConfig":[{"maxTeams":1,"startBox":{"top":9.136353238902674e-45,"bottom":0.5,"left":0.25,"right":0.75},"teams":[{"maxPlayers":1}]}]}}"#;
        let command = decode(frame).unwrap();
        assert_eq!(encode(&command), frame);
        assert_eq!(decode(&encode(&command)), Ok(command));
    }

    #[test]
    fn a_syntax_error_inside_data_is_not_json() {
        let frame = r#"{"type":"request","messageId":"m","commandId":"lobby/join","data":{"id":}}"#;
        assert!(matches!(decode(frame), Err(DecodeError::NotJson(_))));
    }

    #[test]
    fn members_may_come_in_any_order() {
        let expected = join_request("m");
        for frame in [
            r#"{"type":"request","messageId":"m","commandId":"lobby/join","data":{"id":"lobby-1"}}"#,
            r#"{"data":{"id":"lobby-1"},"commandId":"lobby/join","messageId":"m","type":"request"}"#,
            r#"{"commandId":"lobby/join","data":{"id":"lobby-1"},"type":"request","messageId":"m"}"#,
        ] {
            assert_eq!(decode(frame), Ok(expected.clone()), "{frame}");
        }
        let failed = Command::LobbyJoinResponse(LobbyJoinResponse {
            message_id: "m".into(),
            result: Err(Failure::with_details(
                LobbyJoinFailReason::Banned,
                "until tomorrow",
            )),
        });
        for frame in [
            r#"{"type":"response","messageId":"m","commandId":"lobby/join","status":"failed","reason":"banned","details":"until tomorrow"}"#,
            r#"{"details":"until tomorrow","reason":"banned","data":{"ignored":1},"status":"failed","commandId":"lobby/join","messageId":"m","type":"response"}"#,
        ] {
            assert_eq!(decode(frame), Ok(failed.clone()), "{frame}");
        }
    }

    #[test]
    fn members_the_schema_leaves_open_are_ignored_or_kept() {
        // An unknown envelope member and data on a command without data are
        // allowed by the schemas; so is `status` on a request.
        let frame = r#"{"type":"request","messageId":"m","commandId":"lobby/leave","status":7,"data":[1],"trace":{"a":1}}"#;
        assert_eq!(
            decode(frame),
            Ok(Command::LobbyLeaveRequest(LobbyLeaveRequest {
                message_id: "m".into()
            }))
        );
        let Ok(Command::LobbyJoinRequest(join)) = decode(
            r#"{"type":"request","messageId":"m","commandId":"lobby/join","data":{"id":"l","x-debug":[true]}}"#,
        ) else {
            panic!("lobby/join");
        };
        assert_eq!(join.data.extra["x-debug"], serde_json::json!([true]));
    }

    #[test]
    fn encoding_is_canonical_and_round_trips() {
        let cases = [
            (
                join_request("m1"),
                r#"{"type":"request","messageId":"m1","commandId":"lobby/join","data":{"id":"lobby-1"}}"#,
            ),
            (
                Command::MatchmakingLostEvent(MatchmakingLostEvent {
                    message_id: "e\"1".into(),
                }),
                r#"{"type":"event","messageId":"e\"1","commandId":"matchmaking/lost"}"#,
            ),
            (
                Command::SystemDisconnectRequest(SystemDisconnectRequest {
                    message_id: "d".into(),
                    data: None,
                }),
                r#"{"type":"request","messageId":"d","commandId":"system/disconnect"}"#,
            ),
            (
                Command::failed_response(
                    CommandId::LobbyJoin,
                    "m2",
                    GenericReason::Unauthorized,
                    Some("no".into()),
                )
                .unwrap(),
                r#"{"type":"response","messageId":"m2","commandId":"lobby/join","status":"failed","reason":"unauthorized","details":"no"}"#,
            ),
        ];
        for (command, text) in cases {
            assert_eq!(encode(&command), text);
            assert_eq!(decode(text), Ok(command.clone()));
            let mut bytes = b"prefix".to_vec();
            encode_into(&command, &mut bytes);
            assert_eq!(&bytes[6..], text.as_bytes());
            assert_eq!(decode_slice(text.as_bytes()), Ok(command));
        }
    }

    #[test]
    fn failed_responses_exist_for_requests_only() {
        assert_eq!(
            Command::failed_response(
                CommandId::LobbyUpdated,
                "m",
                GenericReason::InternalError,
                None
            ),
            None
        );
        for id in CommandId::ALL {
            let response = Command::failed_response(id, "m", GenericReason::InvalidRequest, None);
            assert_eq!(
                response.is_some(),
                id.kinds().contains(&MessageKind::Response),
                "{id}"
            );
            if let Some(response) = response {
                assert_eq!(response.command_id(), id);
                assert_eq!(response.kind(), MessageKind::Response);
                assert_eq!(decode(&encode(&response)), Ok(response));
            }
        }
    }

    #[test]
    fn ids_are_recovered_from_frames_that_do_not_decode() {
        let frame =
            br#"{"type":"request","messageId":"m7","commandId":"lobby/join","data":{"id":5}}"#;
        assert!(decode_slice(frame).is_err());
        assert_eq!(
            recover_ids(frame),
            FrameIds {
                kind: Some(MessageKind::Request),
                message_id: Some("m7".into()),
                command_id: Some("lobby/join".into()),
            }
        );
        assert_eq!(recover_ids(frame).command(), Some(CommandId::LobbyJoin));
        // Up to the first syntax error.
        assert_eq!(
            recover_ids(br#"{"messageId":"m8","type":"request","data":{"#),
            FrameIds {
                kind: Some(MessageKind::Request),
                message_id: Some("m8".into()),
                command_id: None,
            }
        );
        let answer = recover_ids(frame).invalid_request(Some("id must be a string".into()));
        assert_eq!(
            answer.as_ref().map(encode).as_deref(),
            Some(
                r#"{"type":"response","messageId":"m7","commandId":"lobby/join","status":"failed","reason":"invalid_request","details":"id must be a string"}"#
            )
        );
        // Events and responses are not answered.
        let event = br#"{"type":"event","messageId":"e","commandId":"lobby/left","data":7}"#;
        assert_eq!(recover_ids(event).invalid_request(None), None);
        assert_eq!(recover_ids(b"[1,2]"), FrameIds::default());
        let unknown = recover_ids(br#"{"messageId":3,"commandId":"no/such"}"#);
        assert_eq!(
            unknown,
            FrameIds {
                command_id: Some("no/such".into()),
                ..FrameIds::default()
            }
        );
        assert_eq!(unknown.command(), None);
    }

    #[test]
    fn generic_failures_match_the_typed_encoding() {
        let typed = Command::failed_response(
            CommandId::LobbyJoin,
            "m1",
            GenericReason::Unauthorized,
            Some("no \"lobby\" scope".into()),
        )
        .map(|command| encode(&command));
        assert_eq!(
            Some(encode_generic_failure(
                "m1",
                "lobby/join",
                GenericReason::Unauthorized,
                Some("no \"lobby\" scope")
            )),
            typed
        );
        assert_eq!(
            encode_generic_failure(
                "m2",
                "lobby/dance",
                GenericReason::CommandUnimplemented,
                None
            ),
            r#"{"type":"response","messageId":"m2","commandId":"lobby/dance","status":"failed","reason":"command_unimplemented"}"#
        );
    }

    #[test]
    fn depth_is_counted_during_the_pass_exactly_as_a_scan_counts_it() {
        let limits = |max_depth| Limits {
            max_depth,
            ..Limits::default()
        };
        let too_deep = |max| Err(DecodeError::Limit(LimitError::TooDeep { max }));
        // Envelope, `data`, and two arrays in a member `data` keeps in `extra`.
        let inside_data = br#"{"type":"event","messageId":"m","commandId":"lobby/updated","data":{"id":"l1","name":"n","x":[[]]}}"#;
        assert!(decode_with(inside_data, &limits(4)).is_ok());
        assert_eq!(decode_with(inside_data, &limits(3)), too_deep(3));
        // `data` before the envelope says what it is: read later, counted the same.
        let deferred = br#"{"data":{"id":"l1","name":"n","x":[[]]},"type":"event","messageId":"m","commandId":"lobby/updated"}"#;
        assert!(decode_with(deferred, &limits(4)).is_ok());
        assert_eq!(decode_with(deferred, &limits(3)), too_deep(3));
        // A member skipped unseen.
        let skipped =
            br#"{"type":"event","messageId":"m","commandId":"matchmaking/lost","x":[[{}]]}"#;
        assert!(decode_with(skipped, &limits(4)).is_ok());
        assert_eq!(decode_with(skipped, &limits(3)), too_deep(3));
        // Too deep wins over an error the parse meets first.
        let bad_kind = br#"{"type":"bogus","x":[[[]]]}"#;
        assert_eq!(
            decode_with(bad_kind, &limits(4)),
            Err(DecodeError::UnknownKind("bogus".into()))
        );
        assert_eq!(decode_with(bad_kind, &limits(3)), too_deep(3));
        assert_eq!(decode_with(b"[[", &limits(1)), too_deep(1));
    }

    #[test]
    fn limits_are_checked_before_parsing() {
        let limits = Limits {
            max_frame_len: 64,
            max_depth: 2,
            max_pending: 1,
        };
        let frame = br#"{"type":"event","messageId":"m","commandId":"matchmaking/lost"}"#;
        assert!(decode_with(frame, &limits).is_ok());
        assert_eq!(
            decode_with(br#"{"a":{"b":[]}}"#, &limits),
            Err(DecodeError::Limit(LimitError::TooDeep { max: 2 }))
        );
        assert_eq!(
            decode_with(&[b' '; 65], &limits),
            Err(DecodeError::Limit(LimitError::FrameTooLarge {
                len: 65,
                max: 64
            }))
        );
    }
}
