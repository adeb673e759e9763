//! What the connection machine tells its application.

pub use proto_core::Disconnect;

use crate::codec::DecodeError;
use crate::message::{Command, CommandId};

/// Why a request this side sent will get no usable response.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestFailure {
    /// No response arrived within the request timeout.
    TimedOut,
    /// The connection closed before the response arrived.
    ConnectionLost,
    /// The response came but breaks its schema.
    InvalidResponse(DecodeError),
}

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The peer sent a request the application must answer with
    /// [`Connection::respond`](crate::Connection::respond), using the same
    /// `messageId` — with a `failed` response if it cannot serve it (see
    /// [`Command::failed_response`]).
    Request(Command),
    /// A request this side sent got its response, `success` or `failed`.
    Response(Command),
    /// The peer sent an event (a command of type `event`, which needs no answer).
    Notification(Command),
    /// A request this side sent will get no usable response.
    RequestFailed {
        /// The request's `messageId`.
        message_id: String,
        /// The request's command.
        command: CommandId,
        /// Why.
        reason: RequestFailure,
    },
    /// The connection ended.
    Disconnected(Disconnect),
}
