//! TCP framing: each message is a 4-byte big-endian length followed by that many
//! bytes of JSON. A streaming decoder takes the stream in pieces of any size.

use bytes::{Buf, Bytes, BytesMut};

use crate::codec::encode_into;
use crate::message::Message;

/// The length prefix's size in bytes.
pub const PREFIX_LEN: usize = 4;

/// A length prefix declared more bytes than the decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("frame declares {declared} bytes, over the limit of {max}")]
pub struct FrameTooLarge {
    /// The declared length.
    pub declared: u64,
    /// The decoder's maximum.
    pub max: usize,
}

/// Splits a TCP byte stream into frames.
///
/// Feed whatever the socket returned with [`push`](FrameDecoder::push), then take
/// frames with [`next_frame`](FrameDecoder::next_frame) until it returns `Ok(None)`.
/// A declared length over the maximum is refused as soon as its four bytes are in,
/// before any of its body is buffered; the stream cannot be resynchronised after
/// that, so the decoder keeps refusing and the link should be closed.
///
/// ```
/// use ptpchat_proto::codec::{FrameDecoder, frame};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let wire = frame(br#"{"msg_type":"HELLO"}"#);
/// let mut decoder = FrameDecoder::new(1024);
/// decoder.push(&wire[..3]);
/// assert_eq!(decoder.next_frame()?, None);
/// decoder.push(&wire[3..]);
/// assert_eq!(decoder.next_frame()?.as_deref(), Some(&br#"{"msg_type":"HELLO"}"#[..]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    max: usize,
    buffer: BytesMut,
    failed: Option<FrameTooLarge>,
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            max,
            buffer: BytesMut::new(),
            failed: None,
        }
    }

    /// Appends received bytes. Once a frame was refused, further bytes are dropped.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// The next complete frame's body, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameTooLarge> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        let Some(&[a, b, c, d]) = self.buffer.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let declared = u32::from_be_bytes([a, b, c, d]);
        let len = usize::try_from(declared).unwrap_or(usize::MAX);
        if len > self.max {
            let failed = FrameTooLarge {
                declared: u64::from(declared),
                max: self.max,
            };
            self.failed = Some(failed);
            self.buffer = BytesMut::new();
            return Err(failed);
        }
        if self.buffer.len() - PREFIX_LEN < len {
            // Reserve for the rest of this frame only: its length is within the limit.
            self.buffer.reserve(PREFIX_LEN + len - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(PREFIX_LEN);
        Ok(Some(self.buffer.split_to(len).freeze()))
    }

    /// Bytes held that do not yet form a frame.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// `body` with its length prefix. Bodies over 4 GiB cannot be framed; this crate
/// never builds one (decoded frames are bounded by the limits).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(PREFIX_LEN + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Encodes `message` with its length prefix, ready for a TCP stream.
pub fn encode_frame(message: &Message) -> Vec<u8> {
    let mut out = vec![0; PREFIX_LEN];
    encode_into(message, &mut out);
    let len = u32::try_from(out.len() - PREFIX_LEN).unwrap_or(u32::MAX);
    out[..PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
    out
}
