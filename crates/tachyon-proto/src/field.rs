//! Serde adapters for the two field shapes serde's defaults get wrong against a
//! JSON Schema: optional fields that must not be `null`, and required fields that
//! may be.
//!
//! Serde reads a missing `Option` field as `None` and a `null` one as `None` too.
//! The schemas tell the cases apart, so generated fields pick one of these:
//!
//! | schema                     | Rust type           | attribute                                    |
//! |----------------------------|---------------------|----------------------------------------------|
//! | required                   | `T`                 | none                                         |
//! | optional                   | `Option<T>`         | `default, deserialize_with = "present"`      |
//! | required, may be `null`    | `Option<T>`         | `deserialize_with = "nullable"`              |
//! | optional, may be `null`    | `Option<Option<T>>` | `default, deserialize_with = "present"`      |
//!
//! The last one is a merge-patch field: absent leaves a value alone, `null` removes it.

use serde::{Deserialize, Deserializer};

/// A field that is there: its value, which must be a `T` (so `null` is refused
/// unless `T` is itself an `Option`). Paired with `#[serde(default)]` for absence.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A required field that may be `null`. Going through `deserialize_with` makes
/// serde report the field as missing instead of quietly reading `None`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}
