//! Sans-IO implementation of the Tipt client-node protocol: one msgpack map per
//! WebSocket binary frame, over `wss://HOST/ws`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod body;
mod error;
mod frame;
mod raw;
mod read;
mod request_type;
mod write;

pub use body::{
    Body, Forward, Forwarded, GetNodeKey, Handshake, HandshakeResponse, MAX_KEY_LEN, MAX_NODE_LEN,
    MAX_PAYLOAD_LEN, MAX_VERSION_LEN, NodeKey, is_domain_name,
};
pub use error::{CallError, DecodeError, Field, InputError, Kind, Refusal};
pub use frame::{
    Frame, FrameKind, MAX_FRAME_LEN, decode, decode_to_node, encode, encode_into, type_node_request,
};
pub use raw::{RawBuf, RawValue};
pub use request_type::{NodeRequestType, PacketType, SignIn};
