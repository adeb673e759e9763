//! `RawJson`: a JSON value kept as its exact text, borrowed from the frame when it can be.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON value of any type — a nonce, an argument, a response — kept as the exact
/// text the peer sent, so nothing is parsed that the application does not ask for.
///
/// Decoding borrows it from the frame; [`RawJson::into_owned`] detaches it. Two values
/// are equal when their texts are equal.
#[derive(Clone)]
pub struct RawJson<'a>(Cow<'a, RawValue>);

impl<'a> RawJson<'a> {
    /// Wraps a value borrowed from a frame.
    pub fn borrowed(raw: &'a RawValue) -> Self {
        RawJson(Cow::Borrowed(raw))
    }

    /// Serializes `value` into a new owned raw value.
    pub fn from_value<T: Serialize + ?Sized>(
        value: &T,
    ) -> Result<RawJson<'static>, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(|raw| RawJson(Cow::Owned(raw)))
    }

    /// The integer `value`, as a nonce is sent.
    pub fn from_u64(value: u64) -> RawJson<'static> {
        // The decimal text of an integer is always a valid JSON value, so the
        // fallback is never taken.
        match RawValue::from_string(value.to_string()) {
            Ok(raw) => RawJson(Cow::Owned(raw)),
            Err(_) => RawJson(Cow::Borrowed(RawValue::NULL)),
        }
    }

    /// Checks that `json` is one JSON value and keeps it as it is.
    pub fn from_text(json: impl Into<String>) -> Result<RawJson<'static>, serde_json::Error> {
        RawValue::from_string(json.into()).map(|raw| RawJson(Cow::Owned(raw)))
    }

    /// The value's JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the value into `T`.
    pub fn parse<'de, T: Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The same value, owning its text.
    pub fn into_owned(self) -> RawJson<'static> {
        RawJson(Cow::Owned(self.0.into_owned()))
    }
}

impl PartialEq for RawJson<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson<'_> {}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_exact_text_and_parses_on_demand() {
        let raw = RawJson::from_text(r#"{"b":1,"a":[true]}"#).unwrap();
        assert_eq!(raw.get(), r#"{"b":1,"a":[true]}"#);
        let value: serde_json::Value = raw.parse().unwrap();
        assert_eq!(value["a"][0], true);
        assert_eq!(
            RawJson::from_value(&42u8).unwrap(),
            RawJson::from_text("42").unwrap()
        );
        assert!(RawJson::from_text("1 2").is_err());
        assert_eq!(RawJson::from_u64(u64::MAX).get(), "18446744073709551615");
    }
}
