//! Errors of the machines: refused input and refused application calls.

use proto_core::{Close, LimitError, PendingError};

use crate::close_code;
use crate::codec::DecodeError;
use crate::message::Op;

/// Why a machine refused an input. By the time it is returned the machine has
/// queued its answer — the close named on each variant — and its state is
/// consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The frame is not a valid litebridge message; closed with 1009 if it was too
    /// large, else 1008.
    #[error("bad frame: {0}")]
    Decode(#[from] DecodeError),
    /// HELLO_ACK carried the wrong password; closed with 4001.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The client sent this op before HELLO_ACK; closed with 4002.
    #[error("{0} before authentication")]
    NotAuthenticated(Op),
    /// The op may not be sent by this peer, or not now; closed with 1008.
    #[error("unexpected {0}")]
    UnexpectedOp(Op),
    /// A REQUEST reused the nonce of a request still unanswered; closed with 1008.
    #[error("request nonce already in use")]
    DuplicateNonce,
    /// The peer has more unanswered requests than the limit; closed with 1008.
    #[error("more than {max} unanswered requests")]
    TooManyRequests {
        /// `Limits::max_pending`.
        max: usize,
    },
    /// A RESPONSE matched no pending request (it may have timed out); ignored, the
    /// connection stays open.
    #[error("response matches no pending request")]
    UnmatchedResponse,
    /// A frame arrived while no connection is open; ignored.
    #[error("no connection is open")]
    NotOpen,
    /// The transport opened while a connection is already open; ignored.
    #[error("a connection is already open")]
    AlreadyOpen,
}

impl InputError {
    /// The close this error calls for, or `None` when the connection stays open.
    pub fn close(&self) -> Option<Close> {
        let code = match self {
            InputError::Decode(DecodeError::Limit(LimitError::FrameTooLarge { .. })) => {
                close_code::MESSAGE_TOO_BIG
            }
            InputError::AuthenticationFailed => close_code::AUTHENTICATION_FAILED,
            InputError::NotAuthenticated(_) => close_code::NOT_AUTHENTICATED,
            InputError::UnmatchedResponse | InputError::NotOpen | InputError::AlreadyOpen => {
                return None;
            }
            InputError::Decode(_)
            | InputError::UnexpectedOp(_)
            | InputError::DuplicateNonce
            | InputError::TooManyRequests { .. } => close_code::POLICY_VIOLATION,
        };
        Some(Close::new(code, self.to_string()))
    }
}

/// Why a machine refused an application call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The handshake has not finished, or the connection is closed.
    #[error("the connection is not ready")]
    NotReady,
    /// No request from the peer with this nonce awaits a response.
    #[error("no unanswered request has this nonce")]
    UnknownNonce,
    /// Too many of this side's requests await their responses.
    #[error(transparent)]
    Pending(#[from] PendingError),
}
