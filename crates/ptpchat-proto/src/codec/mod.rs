//! The wire format: one message as JSON, and the TCP length-prefix framing.
//!
//! Over UDP each datagram holds exactly one message, so [`decode`] and [`encode`]
//! are the whole codec; over TCP each message is framed by [`encode_frame`] and
//! split out of the stream by a [`FrameDecoder`].

mod decode;
mod encode;
mod framing;

pub use decode::{DecodeError, decode};
pub use encode::{encode, encode_into};
pub use framing::{FrameDecoder, FrameTooLarge, PREFIX_LEN, encode_frame, frame};
