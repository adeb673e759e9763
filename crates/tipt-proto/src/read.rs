//! Reading msgpack from a borrowed frame: one value head at a time, every declared
//! length checked against what is left before anything is taken, nothing allocated.

use rmp::Marker;

use crate::error::{DecodeError, Field, Kind};

/// A value's marker and the lengths that follow it; payloads are not read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    Nil,
    Bool(bool),
    /// Any integer, widened; negative values only come from the signed markers.
    Int(i128),
    /// A float of this many bytes.
    Float(usize),
    Str(u32),
    Bin(u32),
    Array(u32),
    Map(u32),
    /// An extension whose type byte and data take this many bytes.
    Ext(u64),
}

impl Head {
    pub(crate) fn kind(self) -> Kind {
        match self {
            Head::Nil => Kind::Nil,
            Head::Bool(_) => Kind::Bool,
            Head::Int(_) => Kind::Int,
            Head::Float(_) => Kind::Float,
            Head::Str(_) => Kind::Str,
            Head::Bin(_) => Kind::Bin,
            Head::Array(_) => Kind::Array,
            Head::Map(_) => Kind::Map,
            Head::Ext(_) => Kind::Ext,
        }
    }
}

/// A cursor over one frame.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes from `start` up to the cursor.
    pub(crate) fn since(&self, start: usize) -> &'a [u8] {
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    /// Takes `len` bytes, or fails without moving when fewer are left.
    pub(crate) fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let left = self.left();
        let end = usize::try_from(len)
            .ok()
            .filter(|&len| len <= left)
            .map(|len| self.pos + len)
            .ok_or(DecodeError::Truncated { needed: len, left })?;
        let bytes = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(bytes)
    }

    fn be(&mut self, width: u64) -> Result<u64, DecodeError> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn be32(&mut self, width: u64) -> Result<u32, DecodeError> {
        // At most four bytes are read, so the value fits.
        Ok(u32::try_from(self.be(width)?).unwrap_or(u32::MAX))
    }

    /// Reads the next value's marker and length fields.
    pub(crate) fn head(&mut self) -> Result<Head, DecodeError> {
        let at = self.pos;
        let byte = *self.take(1)?.first().unwrap_or(&0xc1);
        Ok(match Marker::from_u8(byte) {
            Marker::FixPos(n) => Head::Int(i128::from(n)),
            Marker::FixNeg(n) => Head::Int(i128::from(n)),
            Marker::FixMap(n) => Head::Map(u32::from(n)),
            Marker::FixArray(n) => Head::Array(u32::from(n)),
            Marker::FixStr(n) => Head::Str(u32::from(n)),
            Marker::Null => Head::Nil,
            Marker::Reserved => return Err(DecodeError::ReservedMarker { at }),
            Marker::False => Head::Bool(false),
            Marker::True => Head::Bool(true),
            Marker::Bin8 => Head::Bin(self.be32(1)?),
            Marker::Bin16 => Head::Bin(self.be32(2)?),
            Marker::Bin32 => Head::Bin(self.be32(4)?),
            Marker::Ext8 => Head::Ext(self.be(1)? + 1),
            Marker::Ext16 => Head::Ext(self.be(2)? + 1),
            Marker::Ext32 => Head::Ext(self.be(4)? + 1),
            Marker::FixExt1 => Head::Ext(2),
            Marker::FixExt2 => Head::Ext(3),
            Marker::FixExt4 => Head::Ext(5),
            Marker::FixExt8 => Head::Ext(9),
            Marker::FixExt16 => Head::Ext(17),
            Marker::F32 => Head::Float(4),
            Marker::F64 => Head::Float(8),
            Marker::U8 => Head::Int(i128::from(self.be(1)?)),
            Marker::U16 => Head::Int(i128::from(self.be(2)?)),
            Marker::U32 => Head::Int(i128::from(self.be(4)?)),
            Marker::U64 => Head::Int(i128::from(self.be(8)?)),
            Marker::I8 => Head::Int(i128::from(self.be(1)? as u8 as i8)),
            Marker::I16 => Head::Int(i128::from(self.be(2)? as u16 as i16)),
            Marker::I32 => Head::Int(i128::from(self.be(4)? as u32 as i32)),
            Marker::I64 => Head::Int(i128::from(self.be(8)? as i64)),
            Marker::Str8 => Head::Str(self.be32(1)?),
            Marker::Str16 => Head::Str(self.be32(2)?),
            Marker::Str32 => Head::Str(self.be32(4)?),
            Marker::Array16 => Head::Array(self.be32(2)?),
            Marker::Array32 => Head::Array(self.be32(4)?),
            Marker::Map16 => Head::Map(self.be32(2)?),
            Marker::Map32 => Head::Map(self.be32(4)?),
        })
    }

    /// Skips one complete value of any shape, without recursion: a count of values
    /// still owed grows with each container and may never exceed the bytes left,
    /// since every value takes at least one.
    pub(crate) fn skip_value(&mut self) -> Result<(), DecodeError> {
        let mut owed: u64 = 1;
        while owed > 0 {
            owed -= 1;
            match self.head()? {
                Head::Nil | Head::Bool(_) | Head::Int(_) => {}
                Head::Float(len) => {
                    self.take(len as u64)?;
                }
                Head::Str(len) | Head::Bin(len) => {
                    self.take(u64::from(len))?;
                }
                Head::Ext(len) => {
                    self.take(len)?;
                }
                Head::Array(len) => owed += u64::from(len),
                Head::Map(len) => owed += 2 * u64::from(len),
            }
            let left = self.left() as u64;
            if owed > left {
                return Err(DecodeError::Truncated {
                    needed: owed,
                    left: self.left(),
                });
            }
        }
        Ok(())
    }

    /// Reads a map header for `field`, refusing a count its bytes cannot hold.
    pub(crate) fn map(&mut self, field: Field) -> Result<u32, DecodeError> {
        match self.head()? {
            Head::Map(len) => {
                self.check_entries(len)?;
                Ok(len)
            }
            other => Err(DecodeError::WrongType {
                field,
                expected: Kind::Map,
                found: other.kind(),
            }),
        }
    }

    /// Every map entry takes at least two bytes.
    pub(crate) fn check_entries(&self, len: u32) -> Result<(), DecodeError> {
        let needed = 2 * u64::from(len);
        if needed > self.left() as u64 {
            return Err(DecodeError::Truncated {
                needed,
                left: self.left(),
            });
        }
        Ok(())
    }

    /// Reads a map key: a string, borrowed.
    pub(crate) fn key(&mut self) -> Result<&'a [u8], DecodeError> {
        match self.head()? {
            Head::Str(len) => self.take(u64::from(len)),
            other => Err(DecodeError::KeyNotString {
                found: other.kind(),
            }),
        }
    }

    /// Reads an integer for `field`, which must lie in `0..=max`.
    pub(crate) fn uint(&mut self, field: Field, max: u64) -> Result<u64, DecodeError> {
        match self.head()? {
            Head::Int(value) => u64::try_from(value)
                .ok()
                .filter(|&value| value <= max)
                .ok_or(DecodeError::IntegerOutOfRange { field, value }),
            other => Err(DecodeError::WrongType {
                field,
                expected: Kind::Int,
                found: other.kind(),
            }),
        }
    }

    /// Reads a boolean for `field`.
    pub(crate) fn bool(&mut self, field: Field) -> Result<bool, DecodeError> {
        match self.head()? {
            Head::Bool(value) => Ok(value),
            other => Err(DecodeError::WrongType {
                field,
                expected: Kind::Bool,
                found: other.kind(),
            }),
        }
    }

    /// Reads a UTF-8 string of at most `max` bytes for `field`; the length is
    /// checked before the bytes are looked at.
    pub(crate) fn str(&mut self, field: Field, max: usize) -> Result<&'a str, DecodeError> {
        match self.head()? {
            Head::Str(len) => {
                let bytes = self.take(bounded(field, len, max)?)?;
                std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8 { field })
            }
            other => Err(DecodeError::WrongType {
                field,
                expected: Kind::Str,
                found: other.kind(),
            }),
        }
    }

    /// Reads an ASCII string of at most `max` bytes for `field`.
    pub(crate) fn ascii(&mut self, field: Field, max: usize) -> Result<&'a str, DecodeError> {
        let text = self.str(field, max)?;
        if text.is_ascii() {
            Ok(text)
        } else {
            Err(DecodeError::NotAscii { field })
        }
    }

    /// Reads a binary of at most `max` bytes for `field`, borrowed.
    pub(crate) fn bin(&mut self, field: Field, max: usize) -> Result<&'a [u8], DecodeError> {
        match self.head()? {
            Head::Bin(len) => self.take(bounded(field, len, max)?),
            other => Err(DecodeError::WrongType {
                field,
                expected: Kind::Bin,
                found: other.kind(),
            }),
        }
    }
}

fn bounded(field: Field, len: u32, max: usize) -> Result<u64, DecodeError> {
    if len as usize > max {
        return Err(DecodeError::TooLong {
            field,
            len: len as usize,
            max,
        });
    }
    Ok(u64::from(len))
}
