//! What the node and client machines tell their application.

use std::fmt;

use bytes::Bytes;
pub use proto_core::Disconnect;

use crate::raw::RawBuf;
use crate::request_type::NodeRequestType;

/// A request this side sent, by the `id` it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u8);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request #{}", self.0)
    }
}

/// The answer to a request this side sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A successful response to a request whose body the spec does not define:
    /// its `body`, byte-exact (`None` when absent).
    Body(Option<RawBuf>),
    /// The GET_NODE_KEY response: the key.
    NodeKey(Bytes),
    /// The FORWARD response: the recipient's `resp`, or `None` for a request
    /// with `wait: false`.
    Forwarded(Option<Bytes>),
    /// An error response: its `err`, byte-exact.
    Error(RawBuf),
}

/// Why a request this side sent will get no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// No response within the request timeout. Its id stays reserved until the
    /// late response arrives, as ids may only be reused after their response.
    TimedOut,
    /// The connection ended first.
    ConnectionLost,
}

/// What a [`Node`](crate::Node) tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The client's HANDSHAKE was answered. When `compatible` is false the node has
    /// closed the connection.
    Handshake {
        /// The client's `ver`.
        client_version: String,
        /// The `comp` sent back.
        compatible: bool,
    },
    /// A request the application answers with [`Node::respond`](crate::Node::respond)
    /// or [`Node::respond_error`](crate::Node::respond_error): REGISTER, SIGN_IN,
    /// GET_INFO and the types the spec reserves or does not define yet.
    Request {
        /// The client's request id.
        id: u8,
        /// `reqt`.
        reqt: NodeRequestType,
        /// `body`, byte-exact (`None` when absent).
        body: Option<RawBuf>,
    },
    /// GET_NODE_KEY: the application sends `GET {url}` and answers with
    /// [`Node::answer_node_key`](crate::Node::answer_node_key) (or an error).
    FetchNodeKey {
        /// The client's request id.
        id: u8,
        /// `node`.
        node: String,
        /// `https://{node}/api/public_key`.
        url: String,
    },
    /// FORWARD: the application sends `POST {url}` with `msg`. With `wait` it
    /// answers with [`Node::answer_forward`](crate::Node::answer_forward) (or an
    /// error); without, the node has already answered `nil`.
    Forward {
        /// The client's request id.
        id: u8,
        /// `node`.
        node: String,
        /// `https://{node}/api/forward`.
        url: String,
        /// `wait`.
        wait: bool,
        /// `msg`, copied once out of the frame.
        msg: Bytes,
    },
    /// The client answered a request the node sent.
    Response {
        /// The request.
        id: RequestId,
        /// The answer.
        reply: Reply,
    },
    /// A request the node sent will get no answer.
    RequestFailed {
        /// The request.
        id: RequestId,
        /// Why.
        reason: RequestFailure,
    },
    /// The client sent an EVENT.
    Event {
        /// `reqt`: a CNClientEventType, not defined by the spec yet.
        reqt: u8,
        /// `body`, byte-exact.
        body: Option<RawBuf>,
    },
    /// The connection ended.
    Disconnected(Disconnect),
}

/// What a [`Client`](crate::Client) tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The node answered HANDSHAKE. When `compatible` is false the client has
    /// closed the connection.
    Handshake {
        /// The node's `ver`.
        node_version: String,
        /// `comp`.
        compatible: bool,
    },
    /// The node sent a request; answer it with
    /// [`Client::respond`](crate::Client::respond) or
    /// [`Client::respond_error`](crate::Client::respond_error).
    Request {
        /// The node's request id.
        id: u8,
        /// `reqt`: a CNClientRequestType, not defined by the spec yet.
        reqt: u8,
        /// `body`, byte-exact.
        body: Option<RawBuf>,
    },
    /// The node answered a request.
    Response {
        /// The request.
        id: RequestId,
        /// The answer, typed for GET_NODE_KEY and FORWARD.
        reply: Reply,
    },
    /// A request will get no answer.
    RequestFailed {
        /// The request.
        id: RequestId,
        /// Why.
        reason: RequestFailure,
    },
    /// The node sent an EVENT.
    Event {
        /// `reqt`: a CNNodeEventType, not defined by the spec yet.
        reqt: u8,
        /// `body`, byte-exact.
        body: Option<RawBuf>,
    },
    /// The connection ended.
    Disconnected(Disconnect),
}
