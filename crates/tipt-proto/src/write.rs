//! Writing msgpack in the smallest width that holds each value, as the spec asks.

use rmp::Marker;

pub(crate) fn bool(buf: &mut Vec<u8>, value: bool) {
    buf.push(if value { Marker::True } else { Marker::False }.to_u8());
}

pub(crate) fn uint(buf: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        buf.push(value as u8);
    } else if let Ok(value) = u8::try_from(value) {
        buf.extend_from_slice(&[Marker::U8.to_u8(), value]);
    } else if let Ok(value) = u16::try_from(value) {
        buf.push(Marker::U16.to_u8());
        buf.extend_from_slice(&value.to_be_bytes());
    } else if let Ok(value) = u32::try_from(value) {
        buf.push(Marker::U32.to_u8());
        buf.extend_from_slice(&value.to_be_bytes());
    } else {
        buf.push(Marker::U64.to_u8());
        buf.extend_from_slice(&value.to_be_bytes());
    }
}

/// A length after a one-byte marker chosen by its width: the 8-bit form (which
/// maps lack), else the 16-bit, else the 32-bit one.
fn len(buf: &mut Vec<u8>, len: usize, m8: Option<Marker>, m16: Marker, m32: Marker) {
    match (m8, u8::try_from(len), u16::try_from(len)) {
        (Some(m8), Ok(len), _) => buf.extend_from_slice(&[m8.to_u8(), len]),
        (_, _, Ok(len)) => {
            buf.push(m16.to_u8());
            buf.extend_from_slice(&len.to_be_bytes());
        }
        _ => {
            buf.push(m32.to_u8());
            // Frames are capped far below 4 GiB, so the length fits.
            buf.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
}

pub(crate) fn str(buf: &mut Vec<u8>, text: &str) {
    if text.len() < 32 {
        buf.push(Marker::FixStr(text.len() as u8).to_u8());
    } else {
        len(
            buf,
            text.len(),
            Some(Marker::Str8),
            Marker::Str16,
            Marker::Str32,
        );
    }
    buf.extend_from_slice(text.as_bytes());
}

pub(crate) fn bin(buf: &mut Vec<u8>, bytes: &[u8]) {
    len(
        buf,
        bytes.len(),
        Some(Marker::Bin8),
        Marker::Bin16,
        Marker::Bin32,
    );
    buf.extend_from_slice(bytes);
}

pub(crate) fn map_len(buf: &mut Vec<u8>, entries: usize) {
    if entries < 16 {
        buf.push(Marker::FixMap(entries as u8).to_u8());
    } else {
        len(buf, entries, None, Marker::Map16, Marker::Map32);
    }
}
