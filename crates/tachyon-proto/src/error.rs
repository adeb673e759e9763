//! Errors of the connection machine: refused input and refused application calls.

use proto_core::{Close, PendingError, close_code};

use crate::codec::DecodeError;
use crate::message::{CommandId, MessageKind, Role};
use crate::validate::ValidationError;

/// Why a [`Connection`](crate::Connection) refused an input. By the time it is
/// returned the machine has done what the protocol asks — answered the request,
/// closed the connection, or dropped the frame, as each variant says — and its
/// state is consistent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The frame is not a command: too large, too deep, not JSON, not an object, or
    /// without the `type` and `messageId` needed to answer it; closed with 1008.
    #[error("malformed frame: {0}")]
    Malformed(DecodeError),
    /// A binary frame: commands are UTF-8 text; closed with 1008.
    #[error("binary frame")]
    BinaryFrame,
    /// A request that breaks its schema; answered `failed` with `invalid_request`.
    #[error("invalid request: {0}")]
    InvalidRequest(DecodeError),
    /// A request or event whose `commandId` names no command this side knows. A
    /// request is answered with `command_unimplemented`; an event is dropped, as a
    /// peer on a newer minor version may send one.
    #[error("unknown command {command_id:?}")]
    UnknownCommand {
        /// The `commandId` as it came.
        command_id: String,
        /// Whether it was a request or an event.
        kind: MessageKind,
    },
    /// The peer's role may not send this command to this side. A request is
    /// answered with `unauthorized`; an event is dropped.
    #[error("{peer} may not send {command} {kind}")]
    WrongRole {
        /// The command.
        command: CommandId,
        /// Request or event.
        kind: MessageKind,
        /// The peer's role.
        peer: Role,
    },
    /// The peer's access token lacks a scope the command needs. A request is
    /// answered with `unauthorized`; an event is dropped.
    #[error("{command} {kind} needs scope {scope}")]
    MissingScope {
        /// The command.
        command: CommandId,
        /// Request or event.
        kind: MessageKind,
        /// The scope not granted.
        scope: &'static str,
    },
    /// An event that breaks its schema; dropped.
    #[error("invalid event: {0}")]
    InvalidEvent(DecodeError),
    /// A response to a pending request that breaks its schema; the request fails
    /// with [`RequestFailure::InvalidResponse`](crate::RequestFailure), the
    /// connection stays open.
    #[error("invalid response: {0}")]
    InvalidResponse(DecodeError),
    /// A response whose `messageId` matches no pending request; closed with 1008.
    #[error("response {message_id:?} matches no pending request")]
    UnmatchedResponse {
        /// The response's `messageId`.
        message_id: String,
    },
    /// A response whose `commandId` is not its request's; closed with 1008.
    #[error("response {message_id:?} is {found:?}, its request was {expected}")]
    MismatchedResponse {
        /// The response's `messageId`.
        message_id: String,
        /// The request's command.
        expected: CommandId,
        /// The response's `commandId`, as it came.
        found: String,
    },
    /// A response to a request that already timed out; dropped, the connection
    /// stays open.
    #[error("response {message_id:?} came after its request timed out")]
    LateResponse {
        /// The response's `messageId`.
        message_id: String,
    },
    /// A request reusing the `messageId` of one still unanswered; closed with 1008.
    #[error("request messageId {0:?} is already in use")]
    DuplicateMessageId(String),
    /// The peer has as many unanswered requests as the limit allows; answered
    /// `failed` with `internal_error`.
    #[error("more than {max} unanswered requests")]
    TooManyRequests {
        /// `Limits::max_pending`.
        max: usize,
    },
    /// Input arrived while no connection is open; ignored.
    #[error("no connection is open")]
    NotOpen,
    /// The transport opened twice; ignored.
    #[error("the connection was already opened")]
    AlreadyOpen,
}

impl InputError {
    /// The close this error calls for, or `None` when the connection stays open.
    ///
    /// Tachyon ends a connection that went wrong with 1008 and a short reason.
    pub fn close(&self) -> Option<Close> {
        match self {
            InputError::Malformed(_)
            | InputError::BinaryFrame
            | InputError::UnmatchedResponse { .. }
            | InputError::MismatchedResponse { .. }
            | InputError::DuplicateMessageId(_) => {
                Some(Close::new(close_code::POLICY_VIOLATION, self.to_string()))
            }
            InputError::InvalidRequest(_)
            | InputError::UnknownCommand { .. }
            | InputError::WrongRole { .. }
            | InputError::MissingScope { .. }
            | InputError::InvalidEvent(_)
            | InputError::InvalidResponse(_)
            | InputError::LateResponse { .. }
            | InputError::TooManyRequests { .. }
            | InputError::NotOpen
            | InputError::AlreadyOpen => None,
        }
    }
}

/// Why a [`Connection`](crate::Connection) refused an application call. Nothing
/// was sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The connection is not open (yet, or any more).
    #[error("the connection is not open")]
    NotOpen,
    /// The command is not of the kind the call sends.
    #[error("expected a {expected}, got a {found}")]
    WrongKind {
        /// What the call sends.
        expected: MessageKind,
        /// What it was given.
        found: MessageKind,
    },
    /// This side's role may not send the command to the peer's.
    #[error("{local} may not send {command} {kind} to {peer}")]
    WrongRole {
        /// The command.
        command: CommandId,
        /// Its kind.
        kind: MessageKind,
        /// This side's role.
        local: Role,
        /// The peer's role.
        peer: Role,
    },
    /// The command breaks its schema.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No unanswered request of the peer has this `messageId`.
    #[error("no unanswered request has messageId {0:?}")]
    UnknownRequest(String),
    /// The response is not for the command its request was.
    #[error("request {message_id:?} was {expected}, the response is {found}")]
    WrongResponse {
        /// The request's `messageId`.
        message_id: String,
        /// The request's command.
        expected: CommandId,
        /// The response's command.
        found: CommandId,
    },
    /// Too many of this side's requests await their responses.
    #[error(transparent)]
    Pending(#[from] PendingError),
}
