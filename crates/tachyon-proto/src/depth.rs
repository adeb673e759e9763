//! The nesting bound of [`Limits::max_depth`](proto_core::Limits), counted during
//! the one parse instead of by a scan before it.
//!
//! [`Bounded`] wraps a deserializer and hands every visitor, map, sequence and
//! enum below it a count of the levels still allowed; an array or object with
//! none left fails the parse. Everything below the envelope is read through it,
//! so a frame that parses has nested no deeper than the bound, with one
//! two exceptions, where the wrapper only notes that the frame must be scanned: a
//! value skipped unseen (an unknown envelope member, `data` a command does not
//! define), and an enum written as a one-member object (`{"member": null}`, which
//! serde_json reads as the unit variant `member`) where that object would go past
//! the bound.
//!
//! The error the wrapper raises is opaque: the decoder scans the frame when a
//! parse fails, so a frame too deep is refused as such whatever failed first,
//! exactly as a scan before parsing would.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// A deserializer that refuses nesting beyond a number of levels.
pub(crate) struct Bounded<'r, D> {
    inner: D,
    /// Arrays and objects the value may still open, itself included.
    levels: usize,
    /// Set when the depth could not be told without a scan.
    rescan: &'r Cell<bool>,
}

impl<'r, D> Bounded<'r, D> {
    /// Wraps `inner`, whose value may open `levels` arrays or objects one inside
    /// the other; `rescan` is set when the frame must be scanned to know.
    pub(crate) fn new(inner: D, levels: usize, rescan: &'r Cell<bool>) -> Self {
        Bounded {
            inner,
            levels,
            rescan,
        }
    }
}

/// A seed whose deserializer is bounded to `levels`.
pub(crate) struct BoundedSeed<'r, S> {
    pub(crate) seed: S,
    pub(crate) levels: usize,
    pub(crate) rescan: &'r Cell<bool>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for BoundedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.seed
            .deserialize(Bounded::new(deserializer, self.levels, self.rescan))
    }
}

/// The visitor of a bounded value: counts the level an array or object opens.
struct BoundedVisitor<'r, V> {
    inner: V,
    levels: usize,
    rescan: &'r Cell<bool>,
}

impl<'r, V> BoundedVisitor<'r, V> {
    /// The levels left inside an array or object opened here.
    fn open<E: de::Error>(&self) -> Result<usize, E> {
        self.levels
            .checked_sub(1)
            .ok_or_else(|| E::custom("nested too deep"))
    }
}

macro_rules! forward_deserialize {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let visitor = BoundedVisitor {
                    inner: visitor,
                    levels: self.levels,
                    rescan: self.rescan,
                };
                self.inner.$method(visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<'_, D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    /// Skipped unseen, as serde_json skips (reading it would refuse numbers it
    /// skips, such as `1e400`), so its nesting is left to the scan.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.rescan.set(true);
        self.inner.deserialize_ignored_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_struct(name, fields, visitor)
    }

    /// A JSON enum is a string or a one-member object whose value the variants
    /// here (all units) require to be `null`: only the object opens a level, and
    /// the wrapper cannot tell which it gets. With no level left, the frame is
    /// marked for a scan.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if self.levels == 0 {
            self.rescan.set(true);
        }
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for BoundedVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner
            .visit_some(Bounded::new(deserializer, self.levels, self.rescan))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .visit_newtype_struct(Bounded::new(deserializer, self.levels, self.rescan))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let levels = self.open()?;
        self.inner.visit_seq(BoundedAccess {
            inner: seq,
            levels,
            rescan: self.rescan,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let levels = self.open()?;
        self.inner.visit_map(BoundedAccess {
            inner: map,
            levels,
            rescan: self.rescan,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let access = BoundedAccess {
            inner: data,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.visit_enum(access)
    }
}

/// The members, items or variant of a bounded array, object or enum, each read
/// with the levels left inside it.
struct BoundedAccess<'r, A> {
    inner: A,
    levels: usize,
    rescan: &'r Cell<bool>,
}

impl<'r, A> BoundedAccess<'r, A> {
    fn seed<S>(&self, seed: S) -> BoundedSeed<'r, S> {
        BoundedSeed {
            seed,
            levels: self.levels,
            rescan: self.rescan,
        }
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for BoundedAccess<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BoundedAccess<'_, A> {
    type Error = A::Error;

    /// A key is a string: it nests nothing.
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'r, 'de, A: EnumAccess<'de>> EnumAccess<'de> for BoundedAccess<'r, A> {
    type Error = A::Error;
    type Variant = BoundedAccess<'r, A::Variant>;

    /// The variant's name is a string or a member name: it nests nothing.
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            BoundedAccess {
                inner: variant,
                levels: self.levels,
                rescan: self.rescan,
            },
        ))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for BoundedAccess<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = BoundedVisitor {
            inner: visitor,
            levels: self.levels,
            rescan: self.rescan,
        };
        self.inner.struct_variant(fields, visitor)
    }
}
