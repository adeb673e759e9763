//! Encoding and decoding of one whole litebridge frame (a JSON object per WebSocket
//! message).

mod decode;
mod encode;

pub use decode::{DecodeError, HB_INTERVAL_MAX_MS, decode};
pub use encode::{encode, encode_into};
