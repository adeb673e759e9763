//! The length-prefixed framing of TCP links: a 4-byte big-endian length, then that
//! many bytes. Declared lengths over the maximum are refused before anything is
//! buffered for them.

use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Why a link's byte stream could not be cut into frames, or a frame not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// A length prefix declared more than the maximum.
    #[error("declared frame of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: u64, max: usize },
    /// The stream ended inside a frame.
    #[error("stream ended with {buffered} bytes of an unfinished frame")]
    Truncated { buffered: usize },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Bytes in the length prefix.
const PREFIX_LEN: usize = 4;

/// Frames of at most `max` bytes behind a 4-byte big-endian length.
///
/// Written here rather than taken from `tokio_util`'s length-delimited codec so
/// that a refused prefix reports the length it declared.
#[derive(Debug)]
pub(crate) struct FrameCodec {
    max: usize,
    /// The length of the frame being read, once its prefix has been taken.
    body: Option<usize>,
}

impl FrameCodec {
    pub(crate) fn new(max: usize) -> Self {
        FrameCodec { max, body: None }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let len = match self.body {
            Some(len) => len,
            None => {
                let Some(prefix) = src.get(..PREFIX_LEN) else {
                    return Ok(None);
                };
                let mut be = [0; PREFIX_LEN];
                be.copy_from_slice(prefix);
                let declared = u32::from_be_bytes(be);
                let len = usize::try_from(declared)
                    .ok()
                    .filter(|&len| len <= self.max)
                    .ok_or(FrameError::TooLarge {
                        len: u64::from(declared),
                        max: self.max,
                    })?;
                src.advance(PREFIX_LEN);
                self.body = Some(len);
                len
            }
        };
        if src.len() < len {
            // Room for the rest of this frame, which the limit has already bounded.
            src.reserve(len - src.len());
            return Ok(None);
        }
        self.body = None;
        Ok(Some(src.split_to(len)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() && self.body.is_none() => Ok(None),
            None => Err(FrameError::Truncated {
                buffered: src.len() + self.body.map_or(0, |_| PREFIX_LEN),
            }),
        }
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        let len = u32::try_from(frame.len())
            .ok()
            .filter(|_| frame.len() <= self.max)
            .ok_or(FrameError::TooLarge {
                len: frame.len() as u64,
                max: self.max,
            })?;
        dst.reserve(PREFIX_LEN + frame.len());
        dst.put_u32(len);
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_at_every_byte_decode_whole() {
        let mut wire = BytesMut::new();
        let mut codec = FrameCodec::new(16);
        codec
            .encode(Bytes::from_static(b"hello"), &mut wire)
            .unwrap();
        codec.encode(Bytes::new(), &mut wire).unwrap();
        assert_eq!(&wire[..], b"\0\0\0\x05hello\0\0\0\0");
        for split in 0..=wire.len() {
            let mut codec = FrameCodec::new(16);
            let mut buf = BytesMut::from(&wire[..split]);
            let mut frames = Vec::new();
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
            buf.extend_from_slice(&wire[split..]);
            while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
                frames.push(frame);
            }
            assert_eq!(frames, [&b"hello"[..], b""], "split at {split}");
        }
    }

    #[test]
    fn a_declared_length_over_the_maximum_is_refused_before_buffering() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[0, 0, 0, 17][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLarge { len: 17, max: 16 })
        ));
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLarge {
                len: 0xffff_ffff,
                max: 16
            })
        ));
        assert!(buf.capacity() < 64);
        let mut codec = FrameCodec::new(16);
        let mut fits = BytesMut::from(&[0, 0, 0, 16][..]);
        assert!(codec.decode(&mut fits).unwrap().is_none());
        // A body that looks like an oversize prefix is only a body.
        fits.extend_from_slice(&[0xff; 16]);
        assert_eq!(codec.decode(&mut fits).unwrap().unwrap(), &[0xff; 16][..]);
    }

    #[test]
    fn a_stream_ending_inside_a_frame_is_truncated() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[0, 0, 0, 3, b'a'][..]);
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(FrameError::Truncated { buffered: 5 })
        ));
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[0, 0][..]);
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(FrameError::Truncated { buffered: 2 })
        ));
    }

    #[test]
    fn frames_over_the_maximum_are_not_encoded() {
        let mut codec = FrameCodec::new(4);
        let mut wire = BytesMut::new();
        assert!(matches!(
            codec.encode(Bytes::from_static(b"12345"), &mut wire),
            Err(FrameError::TooLarge { len: 5, max: 4 })
        ));
        assert!(wire.is_empty());
    }
}
