//! Msgpack values carried byte-exact: the bodies and errors the spec names but
//! never defines.

use std::fmt;

use bytes::Bytes;

use crate::error::DecodeError;
use crate::read::Reader;
use crate::write;

/// One complete msgpack value, borrowed byte-exact from a frame.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawValue<'a>(&'a [u8]);

impl<'a> RawValue<'a> {
    /// `nil`.
    pub const NIL: RawValue<'static> = RawValue(&[0xc0]);

    /// `bytes`, which must hold exactly one well-formed msgpack value.
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.skip_value()?;
        match reader.left() {
            0 => Ok(RawValue(bytes)),
            len => Err(DecodeError::TrailingBytes { len }),
        }
    }

    /// A value the reader has already walked.
    pub(crate) fn walked(bytes: &'a [u8]) -> Self {
        RawValue(bytes)
    }

    /// The value's encoding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the value is `nil`.
    pub fn is_nil(&self) -> bool {
        self.0 == [0xc0]
    }

    /// An owned copy.
    pub fn to_buf(&self) -> RawBuf {
        RawBuf(Bytes::copy_from_slice(self.0))
    }
}

impl fmt::Debug for RawValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawValue({})", Hex(self.0))
    }
}

/// An owned [`RawValue`]: one complete msgpack value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawBuf(Bytes);

impl RawBuf {
    /// `bytes`, which must hold exactly one well-formed msgpack value.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, DecodeError> {
        let bytes = bytes.into();
        RawValue::new(&bytes)?;
        Ok(RawBuf(bytes))
    }

    /// Bytes this crate wrote as one well-formed value.
    #[cfg(any(feature = "arbitrary", feature = "proptest"))]
    pub(crate) fn written(bytes: Vec<u8>) -> Self {
        RawBuf(bytes.into())
    }

    /// `nil`.
    pub fn nil() -> Self {
        RawBuf(Bytes::from_static(&[0xc0]))
    }

    /// A msgpack string.
    pub fn string(text: &str) -> Self {
        let mut buf = Vec::with_capacity(text.len() + 5);
        write::str(&mut buf, text);
        RawBuf(buf.into())
    }

    /// Checks that the value may stand as a root `body`: nil or a map.
    pub(crate) fn check_body(&self) -> Result<RawValue<'_>, DecodeError> {
        match self.0.first() {
            Some(0xc0 | 0x80..=0x8f | 0xde | 0xdf) => Ok(self.as_raw()),
            _ => {
                let mut reader = Reader::new(&self.0);
                let found = reader.head().map(|head| head.kind())?;
                Err(DecodeError::BodyNotMap { found })
            }
        }
    }

    /// The borrowed view.
    pub fn as_raw(&self) -> RawValue<'_> {
        RawValue(&self.0)
    }

    /// The value's encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawBuf({})", Hex(&self.0))
    }
}

/// Lowercase hex, cut after 64 bytes.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0.iter().take(64) {
            write!(f, "{byte:02x}")?;
        }
        if self.0.len() > 64 {
            write!(f, "…({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}
