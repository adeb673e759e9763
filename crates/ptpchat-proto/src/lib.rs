//! Sans-IO ptpchat peer protocol.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod codec;
pub mod message;

mod error;
mod event;
mod node;
mod peer;
mod routing;
mod seen;

pub use codec::{DecodeError, FrameDecoder, decode, encode};
pub use error::{CallError, InputError};
pub use event::{DownReason, Event};
pub use message::{
    Ack, Attachment, Body, Certificate, Channel, ChannelRef, ChatMessage, Connect, DEFAULT_TTL,
    Endpoint, Envelope, Hello, Key, Message, MsgId, NodeId, NodeType, RawJson, RouteEntry, Routing,
    Timestamp, Verb,
};
pub use node::{Generation, Node, NodeConfig, Stats, TableSizes};
pub use routing::Route;
