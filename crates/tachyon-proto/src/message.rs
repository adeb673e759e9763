//! The typed commands: the envelope vocabulary every command shares and the 164
//! generated message types.
//!
//! Each command of the protocol is one Rust struct named after its schema title:
//! [`LobbyCreateRequest`], [`LobbyCreateResponse`], [`LobbyUpdatedEvent`], ... Requests
//! and events carry `data` (when the schema gives them any); responses carry a
//! `result`, `Ok` with the success data or `Err` with a [`Failure`] whose reason is
//! the command's own enum (or [`GenericReason`] when the command adds none).
//! [`Command`] is the sum of all of them, the unit the codec reads and writes.
//!
//! Every message type implements [`CommandMeta`], which tells who may send it to
//! whom; [`meta`] answers the same at run time for a [`CommandId`] and a
//! [`MessageKind`], even for a frame that failed to decode.

use std::fmt;
use std::str::FromStr;

pub use crate::generated::autohost::*;
pub use crate::generated::battle::*;
pub use crate::generated::clan::*;
pub use crate::generated::command::{ALL_META, Command, CommandId, meta};
pub use crate::generated::definitions::*;
pub use crate::generated::friend::*;
pub use crate::generated::lobby::*;
pub use crate::generated::matchmaking::*;
pub use crate::generated::messaging::*;
pub use crate::generated::party::*;
pub use crate::generated::system::*;
pub use crate::generated::user::*;

/// A free-form JSON object: the schema says "an object" and nothing more (lobby
/// `tags`, `bosses`, the members a struct does not name), so its members are kept
/// as they came, not rejected and not lost.
///
/// A map rather than a borrowed or boxed `RawValue`: it is known to be an object
/// (which the schemas require), compares by content rather than by spelling, can
/// be read and built without a parser, and takes merge patches. These objects are
/// small and rare, so the map costs little.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// What a command is: the `type` field of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// Expects a response with the same `messageId`.
    Request,
    /// Answers a request.
    Response,
    /// Expects no answer.
    Event,
}

impl MessageKind {
    /// The three kinds, in wire order.
    pub const ALL: [MessageKind; 3] = [
        MessageKind::Request,
        MessageKind::Response,
        MessageKind::Event,
    ];

    /// The wire name: `request`, `response` or `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Request => "request",
            MessageKind::Response => "response",
            MessageKind::Event => "event",
        }
    }

    /// The kind named `name` on the wire.
    pub fn from_wire(name: &str) -> Option<Self> {
        match name {
            "request" => Some(MessageKind::Request),
            "response" => Some(MessageKind::Response),
            "event" => Some(MessageKind::Event),
            _ => None,
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A party of the protocol: who sends a command and who receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A player's client.
    User,
    /// A game host (an "autohost") connected to the server.
    Autohost,
    /// The lobby server.
    Server,
}

impl Role {
    /// The name the schemas use: `user`, `autohost` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Autohost => "autohost",
            Role::Server => "server",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the schema says about one message: which command and kind it is, who sends
/// it, who receives it, and the OAuth scopes the sender needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// The command.
    pub id: CommandId,
    /// Request, response or event.
    pub kind: MessageKind,
    /// Who sends it.
    pub source: Role,
    /// Who receives it.
    pub target: Role,
    /// The scopes its sender needs, e.g. `tachyon.lobby`.
    pub scopes: &'static [&'static str],
}

/// The schema's metadata of a message type, known at compile time.
pub trait CommandMeta {
    /// Everything at once, as [`meta`] returns it at run time.
    const META: Meta;
    /// The command.
    const ID: CommandId = Self::META.id;
    /// Request, response or event.
    const KIND: MessageKind = Self::META.kind;
    /// Who sends it.
    const SOURCE: Role = Self::META.source;
    /// Who receives it.
    const TARGET: Role = Self::META.target;
    /// The scopes its sender needs.
    const SCOPES: &'static [&'static str] = Self::META.scopes;
}

/// A `commandId` that names none of the protocol's commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown commandId {0:?}")]
pub struct UnknownCommandId(pub String);

impl FromStr for CommandId {
    type Err = UnknownCommandId;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        CommandId::from_wire(id).ok_or_else(|| UnknownCommandId(id.to_owned()))
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reasons any request may fail with, whether or not its schema lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GenericReason {
    /// The receiver failed to handle the request.
    InternalError,
    /// The sender lacks the role or scope the command needs.
    Unauthorized,
    /// The request does not match its schema.
    InvalidRequest,
    /// The receiver has no handler for the command.
    CommandUnimplemented,
}

/// The `reason` of a failed response: [`GenericReason`] or a command's own enum,
/// which includes the generic reasons.
pub trait FailureReason:
    Copy + fmt::Debug + PartialEq + Eq + std::hash::Hash + From<GenericReason> + 'static
{
    /// Every reason, in schema order.
    const ALL: &'static [Self];

    /// The wire name, e.g. `invalid_request`.
    fn as_str(self) -> &'static str;

    /// The reason named `name` on the wire.
    fn from_wire(name: &str) -> Option<Self>;
}

impl FailureReason for GenericReason {
    const ALL: &'static [Self] = &[
        GenericReason::InternalError,
        GenericReason::Unauthorized,
        GenericReason::InvalidRequest,
        GenericReason::CommandUnimplemented,
    ];

    fn as_str(self) -> &'static str {
        match self {
            GenericReason::InternalError => "internal_error",
            GenericReason::Unauthorized => "unauthorized",
            GenericReason::InvalidRequest => "invalid_request",
            GenericReason::CommandUnimplemented => "command_unimplemented",
        }
    }

    fn from_wire(name: &str) -> Option<Self> {
        match name {
            "internal_error" => Some(GenericReason::InternalError),
            "unauthorized" => Some(GenericReason::Unauthorized),
            "invalid_request" => Some(GenericReason::InvalidRequest),
            "command_unimplemented" => Some(GenericReason::CommandUnimplemented),
            _ => None,
        }
    }
}

impl fmt::Display for GenericReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `failed` response: why, and optionally a human-readable explanation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Failure<R> {
    /// The `reason` field.
    pub reason: R,
    /// The optional `details` field.
    pub details: Option<String>,
}

impl<R> Failure<R> {
    /// A failure without details.
    pub fn new(reason: R) -> Self {
        Failure {
            reason,
            details: None,
        }
    }

    /// A failure with `details`.
    pub fn with_details(reason: R, details: impl Into<String>) -> Self {
        Failure {
            reason,
            details: Some(details.into()),
        }
    }
}

/// The `result` of a response: the success data, or why it failed.
pub type Outcome<T, R> = Result<T, Failure<R>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_generic_reasons_round_trip_their_wire_names() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_wire(kind.as_str()), Some(kind));
        }
        assert_eq!(MessageKind::from_wire("Request"), None);
        for &reason in GenericReason::ALL {
            assert_eq!(GenericReason::from_wire(reason.as_str()), Some(reason));
        }
        assert_eq!(GenericReason::from_wire("banned"), None);
    }

    #[test]
    fn metadata_is_reachable_at_compile_time_and_run_time() {
        assert_eq!(LobbyCreateRequest::ID, CommandId::LobbyCreate);
        assert_eq!(LobbyCreateRequest::KIND, MessageKind::Request);
        assert_eq!(LobbyCreateRequest::SOURCE, Role::User);
        assert_eq!(LobbyCreateRequest::TARGET, Role::Server);
        assert_eq!(LobbyCreateRequest::SCOPES, &["tachyon.lobby"]);
        assert_eq!(
            meta(CommandId::AutohostStart, MessageKind::Response),
            Some(&AutohostStartResponse::META)
        );
        assert_eq!(meta(CommandId::LobbyUpdated, MessageKind::Request), None);
        assert_eq!("lobby/join".parse(), Ok(CommandId::LobbyJoin));
        assert_eq!(
            "lobby/nope".parse::<CommandId>(),
            Err(UnknownCommandId("lobby/nope".into()))
        );
    }
}
