//! Shapes raw material into values the spec allows: versions, domain names, raw
//! msgpack bodies and frames. Shared by the `arbitrary` and `proptest` generators,
//! so both produce the same set of valid frames.

use crate::body::MAX_NODE_LEN;
use crate::raw::RawBuf;
use crate::write;

/// A msgpack scalar for raw bodies and errors.
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    Nil,
    Bool(bool),
    Int(u64),
    Str(String),
    Bin(Vec<u8>),
}

/// The longest label of a domain name, in bytes.
const MAX_LABEL_LEN: usize = 63;
/// At most this many labels, so that a name stays under [`MAX_NODE_LEN`].
pub(crate) const MAX_LABELS: usize = 6;

/// `major.minor.patch`, with `-pre` when `pre` has ASCII alphanumerics (at most 20).
pub(crate) fn version(major: u8, minor: u8, patch: u8, pre: &str) -> String {
    let pre: String = pre
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    if pre.is_empty() {
        format!("{major}.{minor}.{patch}")
    } else {
        format!("{major}.{minor}.{patch}-{pre}")
    }
}

/// One label: the alphanumerics and hyphens of `raw`, no hyphen at either end, at
/// most 63 bytes; `n` when nothing is left.
fn label(raw: &str) -> String {
    let mut label = String::new();
    for c in raw.chars().filter(|&c| c.is_alphanumeric() || c == '-') {
        if label.len() + c.len_utf8() > MAX_LABEL_LEN {
            break;
        }
        if label.is_empty() && c == '-' {
            continue;
        }
        label.push(c);
    }
    let label = label.trim_end_matches('-');
    if label.is_empty() {
        "n".to_owned()
    } else {
        label.to_owned()
    }
}

/// A domain name from up to [`MAX_LABELS`] labels (`node.example` for none),
/// with a trailing dot when `absolute`.
pub(crate) fn domain_name<S: AsRef<str>>(labels: &[S], absolute: bool) -> String {
    let mut name = labels
        .iter()
        .take(MAX_LABELS)
        .map(|raw| label(raw.as_ref()))
        .collect::<Vec<_>>()
        .join(".");
    if name.is_empty() {
        name.push_str("node.example");
    }
    if absolute && name.len() < MAX_NODE_LEN {
        name.push('.');
    }
    name
}

fn scalar(buf: &mut Vec<u8>, value: &Scalar) {
    match value {
        Scalar::Nil => buf.push(0xc0),
        Scalar::Bool(value) => write::bool(buf, *value),
        Scalar::Int(value) => write::uint(buf, *value),
        Scalar::Str(text) => write::str(buf, text),
        Scalar::Bin(bytes) => write::bin(buf, bytes),
    }
}

/// A map of `entries` (keys may repeat: a raw body is not checked for that).
pub(crate) fn raw_map(entries: &[(String, Scalar)]) -> RawBuf {
    let mut buf = Vec::new();
    write::map_len(&mut buf, entries.len());
    for (key, value) in entries {
        write::str(&mut buf, key);
        scalar(&mut buf, value);
    }
    RawBuf::written(buf)
}

/// One scalar on its own, as an `err` may be.
pub(crate) fn raw_scalar(value: &Scalar) -> RawBuf {
    let mut buf = Vec::new();
    scalar(&mut buf, value);
    RawBuf::written(buf)
}

/// A `reqt` whose body the node does not type: 0x00, 0x20 and 0x21 are moved.
pub(crate) fn untyped_reqt(reqt: u8) -> u8 {
    match reqt & 0x7f {
        0x00 | 0x20 | 0x21 => (reqt & 0x7f) ^ 0x40,
        other => other,
    }
}

/// A `reqt` of the declared width, 0 to 0x7f.
pub(crate) fn reqt(reqt: u8) -> u8 {
    reqt & 0x7f
}
