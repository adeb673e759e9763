//! What the generated decoders share: member names borrowed from the frame, one
//! member read into its slot, `extra`, and tagged objects.
//!
//! Each generated struct reads its members straight into typed slots, so a
//! field's shape in the schema decides what its slot accepts:
//!
//! | schema                     | Rust type           | absent      | `null`            |
//! |----------------------------|---------------------|-------------|-------------------|
//! | required                   | `T`                 | refused     | refused           |
//! | optional                   | `Option<T>`         | `None`      | refused           |
//! | required, may be `null`    | `Option<T>`         | refused     | `None`            |
//! | optional, may be `null`    | `Option<Option<T>>` | `None`      | `Some(None)`      |
//!
//! The last one is a merge-patch field: absent leaves a value alone, `null` removes it.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::message::JsonObject;

/// A member name as the frame spells it: borrowed from the frame unless it has
/// escapes. The generated decoders match it against their fields without
/// allocating, and own it only when it goes into `extra`.
pub(crate) struct MemberName<'de>(Cow<'de, str>);

impl MemberName<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_identifier(NameVisitor("a member name"))
            .map(MemberName)
    }
}

/// Reads a string borrowed when it can be; `expecting` names it in errors.
struct NameVisitor(&'static str);

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(name))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(name.to_owned()))
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(name))
    }
}

/// Reads the value of the member `name` into `slot`, refusing it the second time.
pub(crate) fn member<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// The value of a required member, or the error that it is missing.
pub(crate) fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

/// Keeps a member the schema does not name in `extra`; a later one of the same
/// name replaces it.
pub(crate) fn extra<'de, A: MapAccess<'de>>(
    map: &mut A,
    extra: &mut JsonObject,
    name: MemberName<'de>,
) -> Result<(), A::Error> {
    let value = map.next_value::<Value>()?;
    extra.insert(name.into_owned(), value);
    Ok(())
}

/// Reads an object whose member `tag` says which variant it is: `variant` gives
/// the visitor of the variant a tag value names, which reads the other members
/// (and refuses a second `tag`).
///
/// A frame names the tag first, as the encoder writes it; the variant's members
/// are then read straight into their types. An object that names it later is held
/// back member by member until the tag is known, as serde's derive would do.
pub(crate) fn tagged<'de, A, V>(
    mut map: A,
    tag: &'static str,
    variants: &'static [&'static str],
    variant: impl Fn(&str) -> Option<V>,
) -> Result<V::Value, A::Error>
where
    A: MapAccess<'de>,
    V: Visitor<'de>,
{
    let pick = |name: &str| variant(name).ok_or_else(|| de::Error::unknown_variant(name, variants));
    let Some(first) = map.next_key::<MemberName<'de>>()? else {
        return Err(de::Error::missing_field(tag));
    };
    let mut held = Vec::new();
    let mut name = None;
    let mut key = Some(first);
    while let Some(member) = key {
        if member.as_str() == tag {
            if name.is_some() {
                return Err(de::Error::duplicate_field(tag));
            }
            let value = map.next_value_seed(VariantNameSeed)?;
            if held.is_empty() {
                return pick(&value)?.visit_map(map);
            }
            name = Some(value);
        } else {
            held.push((member.into_owned(), map.next_value::<Value>()?));
        }
        key = map.next_key()?;
    }
    let name = name.ok_or_else(|| de::Error::missing_field(tag))?;
    let mut rest = MapDeserializer::new(held.into_iter());
    let value = pick(&name)?
        .visit_map(&mut rest)
        .and_then(|value| rest.end().map(|()| value));
    value.map_err(de::Error::custom)
}

/// The value of a tag, read as serde's derive reads a variant name.
struct VariantNameSeed;

impl<'de> DeserializeSeed<'de> for VariantNameSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(NameVisitor("variant identifier"))
    }
}
