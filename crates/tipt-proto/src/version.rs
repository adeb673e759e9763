//! Protocol versions: what this crate speaks and when two are compatible.

use crate::body::MAX_VERSION_LEN;
use crate::error::{CallError, DecodeError, Field};

/// The revision of the client-node protocol this crate implements.
pub const PROTOCOL_VERSION: &str = "1.0.0";

/// The major version of a semantic version: its digits before the first dot.
pub fn major(version: &str) -> Option<u64> {
    let digits = version.split('.').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `comp` of a HANDSHAKE response: whether the client's major version is at most
/// the node's. A version without a readable major is never compatible.
pub fn compatible(client: &str, node: &str) -> bool {
    matches!((major(client), major(node)), (Some(client), Some(node)) if client <= node)
}

/// Checks a version this side is about to send: ASCII, at most 64 bytes.
pub(crate) fn check_version(version: &str) -> Result<(), CallError> {
    crate::body::check_len(Field::Ver, version.len(), MAX_VERSION_LEN)?;
    if !version.is_ascii() {
        return Err(CallError::Invalid(DecodeError::NotAscii {
            field: Field::Ver,
        }));
    }
    Ok(())
}
