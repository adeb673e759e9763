//! `arbitrary::Arbitrary` for every generated type and message: whatever bytes a
//! fuzzer supplies, the value built from them satisfies its schema.

use std::fmt::Write as _;

use crate::emit::HEADER;
use crate::model::{Data, Field, Format, Item, Model, Shape, Ty};
use crate::naming::{pascal, snake};
use crate::strategies::{char_ranges, fixup, pattern_lengths};

/// Helpers the generated implementations build on.
const PRELUDE: &str = r#"
//! `arbitrary::Arbitrary` for every Tachyon message type, generated beside the
//! types: whatever the fuzzer's bytes, the value keeps to its schema, so a fuzz
//! target gets past the codec's checks into a machine's states.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::Value;

use crate::message::*;

/// A character of free text: mostly printable ASCII, sometimes anything.
fn text_char(u: &mut Unstructured<'_>) -> Result<char> {
    if u.ratio(4, 5)? {
        Ok(char::from(u.int_in_range(b' '..=b'~')?))
    } else {
        char::arbitrary(u)
    }
}

fn text_of(u: &mut Unstructured<'_>, min: usize, max: usize) -> Result<String> {
    let len = u.int_in_range(min..=max)?;
    (0..len).map(|_| text_char(u)).collect()
}

fn text(u: &mut Unstructured<'_>) -> Result<String> {
    text_of(u, 0, 12)
}

/// A string of `min..=max` characters, each from one of `allowed`'s inclusive ranges.
fn pattern(
    u: &mut Unstructured<'_>,
    allowed: &[(char, char)],
    min: usize,
    max: usize,
) -> Result<String> {
    let len = u.int_in_range(min..=max)?;
    (0..len)
        .map(|_| {
            let &(low, high) = u.choose(allowed)?;
            let code = u.int_in_range(u32::from(low)..=u32::from(high))?;
            Ok(char::from_u32(code).unwrap_or(low))
        })
        .collect()
}

/// `format: uuid` as the official validators read it: any case, maybe a `urn:uuid:` prefix.
fn uuid(u: &mut Unstructured<'_>) -> Result<String> {
    let urn = bool::arbitrary(u)?;
    let bits = u128::arbitrary(u)?;
    let text = format!(
        "{}{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        if urn { "urn:uuid:" } else { "" },
        bits >> 96,
        (bits >> 80) & 0xffff,
        (bits >> 64) & 0xffff,
        (bits >> 48) & 0xffff,
        bits & 0xffff_ffff_ffff,
    );
    if bool::arbitrary(u)? {
        Ok(text.to_ascii_uppercase().replace("URN:UUID:", "urn:uuid:"))
    } else {
        Ok(text)
    }
}

/// Any finite number: JSON has no infinities and no NaN.
fn number(u: &mut Unstructured<'_>) -> Result<f64> {
    let number = f64::arbitrary(u)?;
    Ok(if number.is_finite() { number } else { 0.0 })
}

fn number_in(u: &mut Unstructured<'_>, min: f64, max: f64) -> Result<f64> {
    let fraction = f64::from(u32::arbitrary(u)?) / f64::from(u32::MAX);
    Ok((min + (max - min) * fraction).clamp(min, max))
}

fn ip_address(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if bool::arbitrary(u)? {
        Ipv4Addr::arbitrary(u)?.to_string()
    } else {
        Ipv6Addr::arbitrary(u)?.to_string()
    })
}

fn regex_source(u: &mut Unstructured<'_>) -> Result<String> {
    let sources = ["^ui:", "[a-z]+\\d{2,3}", "(?:foo|bar)?$", ""];
    Ok(String::from(*u.choose(&sources)?))
}

fn json_leaf(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=4)? {
        0 => Value::Null,
        1 => Value::from(bool::arbitrary(u)?),
        2 => Value::from(i64::arbitrary(u)?),
        3 => Value::from(number(u)?),
        _ => Value::from(text(u)?),
    })
}

fn json_object(u: &mut Unstructured<'_>) -> Result<JsonObject> {
    let len = u.int_in_range(0..=2)?;
    let mut members = JsonObject::new();
    for _ in 0..len {
        members.insert(text_of(u, 0, 6)?, json_leaf(u)?);
    }
    Ok(members)
}

/// Members a schema does not name: prefixed so they never shadow one it does.
fn extra(u: &mut Unstructured<'_>) -> Result<JsonObject> {
    let mut members = JsonObject::new();
    if u.ratio(3, 4)? {
        return Ok(members);
    }
    for _ in 0..u.int_in_range(1..=2)? {
        let name = pattern(u, &[('a', 'z')], 1, 4)?;
        members.insert(format!("x-{name}"), json_leaf(u)?);
    }
    Ok(members)
}

fn option<'a, T>(
    u: &mut Unstructured<'a>,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if bool::arbitrary(u)? { Some(item(u)?) } else { None })
}

fn array<'a, T>(
    u: &mut Unstructured<'a>,
    min: usize,
    max: usize,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let len = u.int_in_range(min..=max)?;
    (0..len).map(|_| item(u)).collect()
}

/// Distinct items; too few when the input ran out is `NotEnoughData`.
fn unique_array<'a, T: Ord>(
    u: &mut Unstructured<'a>,
    min: usize,
    max: usize,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let len = u.int_in_range(min..=max)?;
    let mut items = BTreeSet::new();
    for _ in 0..len {
        items.insert(item(u)?);
    }
    if items.len() < min {
        return Err(arbitrary::Error::NotEnoughData);
    }
    Ok(items.into_iter().collect())
}

fn map<'a, T>(
    u: &mut Unstructured<'a>,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<BTreeMap<String, T>> {
    let len = u.int_in_range(0..=2)?;
    let mut entries = BTreeMap::new();
    for _ in 0..len {
        entries.insert(text_of(u, 0, 6)?, item(u)?);
    }
    Ok(entries)
}

fn failure<R: FailureReason>(u: &mut Unstructured<'_>) -> Result<Failure<R>> {
    Ok(Failure {
        reason: *u.choose(R::ALL)?,
        details: option(u, text)?,
    })
}
"#;

/// The source of `src/arbitrary_impls.rs`.
pub fn file(model: &Model) -> Result<String, String> {
    let mut out = String::from(HEADER);
    out.push_str(PRELUDE);
    for item in &model.items {
        out.push_str(&item_impl(model, item)?);
    }
    for message in &model.messages {
        let name = &message.name;
        let data = match &message.data {
            Data::None => None,
            Data::Required(ty) => Some(format!("{}?", expr(model, ty))),
            Data::Optional(ty) => Some(format!("option(u, {})?", callable(model, ty))),
        };
        let body = if message.kind == "response" {
            let reason = message
                .reason_enum
                .clone()
                .unwrap_or_else(|| "GenericReason".into());
            let ok = data.unwrap_or_else(|| "()".into());
            format!(
                "{name} {{ message_id: text(u)?, result: if bool::arbitrary(u)? {{ Ok({ok}) }} else {{ Err(failure::<{reason}>(u)?) }} }}"
            )
        } else {
            match data {
                None => format!("{name} {{ message_id: text(u)? }}"),
                Some(data) => format!("{name} {{ message_id: text(u)?, data: {data} }}"),
            }
        };
        let _ = writeln!(
            out,
            "\nimpl<'a> Arbitrary<'a> for {name} {{\nfn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {{\nOk({body})\n}}\n}}"
        );
    }
    let _ = writeln!(
        out,
        "\nimpl<'a> Arbitrary<'a> for Command {{\nfn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {{\nOk(match u.choose_index({})? {{",
        model.messages.len()
    );
    let last = model.messages.len().saturating_sub(1);
    for (index, message) in model.messages.iter().enumerate() {
        let pattern = if index == last {
            "_".to_owned()
        } else {
            index.to_string()
        };
        let _ = writeln!(
            out,
            "{pattern} => Command::{0}({0}::arbitrary(u)?),",
            message.name
        );
    }
    out.push_str("})\n}\n}\n");
    Ok(out)
}

fn item_impl(model: &Model, item: &Item) -> Result<String, String> {
    let name = &item.name;
    let body = match &item.shape {
        Shape::Alias { ty, .. } => {
            return Ok(format!(
                "\nfn {}(u: &mut Unstructured<'_>) -> Result<{}> {{\n{}\n}}\n",
                alias_fn(name),
                crate::emit::rust_ty(ty),
                expr(model, ty)
            ));
        }
        Shape::Enum { values } => {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("{name}::{}", pascal(v)))
                .collect();
            format!("u.choose(&[{}]).copied()", values.join(", "))
        }
        Shape::Struct { fields, conditions } => {
            let fixups = conditions
                .iter()
                .map(|c| {
                    fixup(
                        model,
                        fields,
                        &c.field,
                        &c.when_field,
                        &c.when_value,
                        "value.",
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let init = fields_init(model, fields);
            if fixups.is_empty() {
                format!("Ok({name} {{ {init} }})")
            } else {
                format!(
                    "let mut value = {name} {{ {init} }};\n{}\nOk(value)",
                    fixups.join("\n")
                )
            }
        }
        Shape::Tagged { variants, .. } => {
            let mut arms = Vec::new();
            let last = variants.len().saturating_sub(1);
            for (index, variant) in variants.iter().enumerate() {
                let fixups = variant
                    .conditions
                    .iter()
                    .map(|c| {
                        fixup(
                            model,
                            &variant.fields,
                            &c.field,
                            &c.when_field,
                            &c.when_value,
                            "",
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let constructor = format!("{name}::{}", variant.name);
                let init = fields_init(model, &variant.fields);
                let pattern = if index == last {
                    "_".to_owned()
                } else {
                    index.to_string()
                };
                if fixups.is_empty() {
                    arms.push(format!("{pattern} => {constructor} {{ {init} }},"));
                } else {
                    let bound: Vec<String> = variant
                        .fields
                        .iter()
                        .filter(|f| {
                            variant
                                .conditions
                                .iter()
                                .any(|c| c.field == f.json || c.when_field == f.json)
                        })
                        .map(|f| f.rust.clone())
                        .collect();
                    arms.push(format!(
                        "{pattern} => {{\nlet mut value = {constructor} {{ {init} }};\nif let {constructor} {{ {}, .. }} = &mut value {{\n{}\n}}\nvalue\n}}",
                        bound.join(", "),
                        fixups.join("\n")
                    ));
                }
            }
            format!(
                "Ok(match u.choose_index({})? {{\n{}\n}})",
                variants.len(),
                arms.join("\n")
            )
        }
    };
    Ok(format!(
        "\nimpl<'a> Arbitrary<'a> for {name} {{\nfn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {{\n{body}\n}}\n}}\n"
    ))
}

/// `field: value?, ..., extra: extra(u)?`, drawn in declaration order.
fn fields_init(model: &Model, fields: &[Field]) -> String {
    let mut init: Vec<String> = fields
        .iter()
        .map(|field| {
            let value = if field.required {
                format!("{}?", expr(model, &field.ty))
            } else {
                format!("option(u, {})?", callable(model, &field.ty))
            };
            format!("{}: {value}", field.rust)
        })
        .collect();
    init.push("extra: extra(u)?".into());
    init.join(", ")
}

/// The function drawing an alias's value.
fn alias_fn(name: &str) -> String {
    format!("any_{}", snake(name))
}

/// `ty`'s drawing as something callable with `u`: a path when the expression is a
/// plain call on `u`, a closure otherwise.
fn callable(model: &Model, ty: &Ty) -> String {
    let expr = expr(model, ty);
    match expr.strip_suffix("(u)") {
        Some(path) if !path.contains(['(', ' ', '.']) => path.to_owned(),
        _ => format!("|u| {expr}"),
    }
}

/// An expression of type `Result<T>`, reading `u`, for a value of `ty` that
/// satisfies its constraints.
fn expr(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::String(rules) => {
            if let Some(pattern) = &rules.pattern {
                let (min, max) = pattern_lengths(pattern);
                return format!("pattern(u, &{}, {min}, {max})", char_ranges(pattern));
            }
            match rules.format {
                Some(Format::IpAddress) => return "ip_address(u)".into(),
                Some(Format::Regex) => return "regex_source(u)".into(),
                Some(Format::Uuid) => return "uuid(u)".into(),
                None => {}
            }
            match (rules.min_length, rules.max_length) {
                (None, None) => "text(u)".into(),
                (min, max) => {
                    let min = min.unwrap_or(0);
                    let max = max.unwrap_or(min + 12).min(min + 12);
                    format!("text_of(u, {min}, {max})")
                }
            }
        }
        Ty::Integer(rules) => match (rules.rust_type(), rules.minimum, rules.maximum) {
            ("i64", None, None) => "i64::arbitrary(u)".into(),
            (rust, min, max) => {
                let min = min.map_or(format!("{rust}::MIN"), |m| format!("{m}{rust}"));
                let max = max.map_or(format!("{rust}::MAX"), |m| format!("{m}{rust}"));
                format!("u.int_in_range({min}..={max})")
            }
        },
        Ty::Number(rules) => match (rules.minimum, rules.maximum) {
            (None, None) => "number(u)".into(),
            (Some(min), Some(max)) => format!("number_in(u, {min:?}, {max:?})"),
            (Some(min), None) => format!("number_in(u, {min:?}, {:?})", min + 1e9),
            (None, Some(max)) => format!("number_in(u, {:?}, {max:?})", max - 1e9),
        },
        Ty::Bool => "bool::arbitrary(u)".into(),
        Ty::Named(name) => match model.item(name).map(|item| &item.shape) {
            Some(Shape::Alias { .. }) => format!("{}(u)", alias_fn(name)),
            _ => format!("{name}::arbitrary(u)"),
        },
        Ty::Array(inner, rules) => {
            let min = rules.min_items.unwrap_or(0);
            let max = rules.max_items.unwrap_or(min + 3).min(min + 3);
            let helper = if rules.unique {
                "unique_array"
            } else {
                "array"
            };
            format!("{helper}(u, {min}, {max}, {})", callable(model, inner))
        }
        Ty::Map(inner) => format!("map(u, {})", callable(model, inner)),
        Ty::Nullable(inner) => format!("option(u, {})", callable(model, inner)),
        Ty::Object => "json_object(u)".into(),
    }
}
