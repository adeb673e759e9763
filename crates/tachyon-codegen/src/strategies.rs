//! Proptest strategies for every generated type and message.

use crate::model::Model;

/// The source of `tests/support/strategies.rs`.
pub fn file(_model: &Model) -> Result<String, String> {
    Ok(String::from(crate::emit::HEADER))
}
