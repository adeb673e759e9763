//! What the client and server machines tell their application.

use std::fmt;

pub use proto_core::Disconnect;

use crate::raw::RawJson;

/// A request this side sent, identified by the nonce it carried on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request #{}", self.0)
    }
}

/// A REQUEST from the peer, to be answered with `respond(&request.nonce, data)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRequest {
    /// `n`: the peer's nonce, handed back in the response.
    pub nonce: RawJson<'static>,
    /// `w`: what is requested.
    pub what: String,
    /// `a`: the arguments.
    pub args: Vec<RawJson<'static>>,
}

/// Why a request this side sent will get no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// No RESPONSE arrived within the request timeout.
    TimedOut,
    /// The connection closed before the RESPONSE arrived.
    ConnectionLost,
}

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake is done: on the server, a HELLO_ACK carried the right password;
    /// on the client, the first HEARTBEAT_ACK proved the server accepted it.
    Authenticated,
    /// The peer sent a REQUEST.
    Request(IncomingRequest),
    /// The peer sent a DISPATCH.
    Dispatch {
        /// `w`: what is requested.
        what: String,
        /// `a`: the arguments.
        args: Vec<RawJson<'static>>,
    },
    /// A request this side sent got its RESPONSE.
    Response {
        /// The request answered.
        id: RequestId,
        /// `r`: the response data.
        data: RawJson<'static>,
    },
    /// A request this side sent will get no response.
    RequestFailed {
        /// The request.
        id: RequestId,
        /// Why.
        reason: RequestFailure,
    },
    /// The connection ended.
    Disconnected(Disconnect),
}
