//! Proptest strategies for every generated type and message: values that satisfy
//! their schema, for round-trip and schema-validity properties.

use std::fmt::Write as _;

use crate::emit::{HEADER, rust_ty};
use crate::model::{Data, Field, Format, Item, Model, Pattern, Shape, Ty};
use crate::naming::{pascal, snake};

/// Helpers the generated strategies build on.
const PRELUDE: &str = r#"
//! Proptest strategies for every Tachyon message type, generated beside the types
//! so that each schema constraint has a strategy that keeps to it.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;

use crate::message::*;

/// A character of free text: mostly printable ASCII, sometimes anything.
fn text_char() -> BoxedStrategy<char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => any::<char>(),
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    text_of(0, 12)
}

fn text_of(min: usize, max: usize) -> BoxedStrategy<String> {
    vec(text_char(), min..=max).prop_map(String::from_iter).boxed()
}

/// A string of `min..=max` characters, each from one of `allowed`'s inclusive ranges.
fn pattern(allowed: &'static [(char, char)], min: usize, max: usize) -> BoxedStrategy<String> {
    let ranges = allowed.iter().map(|&(low, high)| proptest::char::range(low, high).boxed());
    vec(proptest::strategy::Union::new(ranges), min..=max).prop_map(String::from_iter).boxed()
}

/// `format: uuid` as the official validators read it: any case, maybe a `urn:uuid:` prefix.
fn uuid() -> BoxedStrategy<String> {
    (any::<bool>(), any::<u128>(), any::<bool>())
        .prop_map(|(urn, bits, upper)| {
            let text = format!(
                "{}{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                if urn { "urn:uuid:" } else { "" },
                bits >> 96,
                (bits >> 80) & 0xffff,
                (bits >> 64) & 0xffff,
                (bits >> 48) & 0xffff,
                bits & 0xffff_ffff_ffff,
            );
            if upper { text.to_ascii_uppercase().replace("URN:UUID:", "urn:uuid:") } else { text }
        })
        .boxed()
}

fn key() -> BoxedStrategy<String> {
    text_of(0, 6)
}

fn number() -> BoxedStrategy<f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO).boxed()
}

fn ip_address() -> BoxedStrategy<String> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
    .boxed()
}

fn regex_source() -> BoxedStrategy<String> {
    prop::sample::select(vec!["^ui:", "[a-z]+\\d{2,3}", "(?:foo|bar)?$", ""])
        .prop_map(String::from)
        .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        number().prop_map(Value::from),
        text().prop_map(Value::from),
    ]
    .boxed()
}

fn json_object() -> BoxedStrategy<JsonObject> {
    btree_map(key(), json_leaf(), 0..3)
        .prop_map(|members| members.into_iter().collect())
        .boxed()
}

/// Members a schema does not name: prefixed so they never shadow one it does.
fn extra() -> BoxedStrategy<JsonObject> {
    let name = vec(proptest::char::range('a', 'z'), 1..=4)
        .prop_map(|letters| format!("x-{}", String::from_iter(letters)));
    prop_oneof![
        3 => Just(JsonObject::new()),
        1 => btree_map(name, json_leaf(), 1..3)
            .prop_map(|members| members.into_iter().collect()),
    ]
    .boxed()
}

/// Any `messageId`: the protocol asks only for a string.
pub fn message_id() -> BoxedStrategy<String> {
    text()
}

/// Any failure with one of `R`'s reasons.
pub fn failure<R: FailureReason>() -> BoxedStrategy<Failure<R>> {
    (prop::sample::select(R::ALL.to_vec()), option::of(text()))
        .prop_map(|(reason, details)| Failure { reason, details })
        .boxed()
}
"#;

/// The source of `src/strategy/messages.rs`.
pub fn file(model: &Model) -> Result<String, String> {
    let mut out = String::from(HEADER);
    out.push_str(PRELUDE);
    for item in &model.items {
        out.push_str(&item_strategy(model, item)?);
    }
    for message in &model.messages {
        let name = &message.name;
        let data = match &message.data {
            Data::None => None,
            Data::Required(ty) => Some(strategy(ty)),
            Data::Optional(ty) => Some(format!("option::of({})", strategy(ty))),
        };
        let body = if message.kind == "response" {
            let reason = message
                .reason_enum
                .clone()
                .unwrap_or_else(|| "GenericReason".into());
            let ok = data.unwrap_or_else(|| "Just(())".into());
            format!(
                "(message_id(), prop_oneof![{ok}.prop_map(Ok), failure::<{reason}>().prop_map(Err)])\n.prop_map(|(message_id, result)| Command::{name}({name} {{ message_id, result }}))"
            )
        } else {
            match data {
                None => format!(
                    "message_id().prop_map(|message_id| Command::{name}({name} {{ message_id }}))"
                ),
                Some(data) => format!(
                    "(message_id(), {data}).prop_map(|(message_id, data)| Command::{name}({name} {{ message_id, data }}))"
                ),
            }
        };
        let _ = writeln!(
            out,
            "\n/// Any valid `{}` {}.\npub fn {}() -> BoxedStrategy<Command> {{\n{body}\n.boxed()\n}}",
            message.id,
            message.kind,
            snake(name)
        );
    }
    out.push_str("\n/// A strategy per message, by type name.\npub fn all() -> Vec<(&'static str, BoxedStrategy<Command>)> {\nvec![\n");
    for message in &model.messages {
        let _ = writeln!(out, "(\"{0}\", {1}()),", message.name, snake(&message.name));
    }
    out.push_str("]\n}\n");
    out.push_str("\n/// The strategy of the message of command `id` and kind `kind`; `None` when the command has no such message.\npub fn of(id: CommandId, kind: MessageKind) -> Option<BoxedStrategy<Command>> {\nmatch (id, kind) {\n");
    for message in &model.messages {
        let kind = pascal(&message.kind);
        let _ = writeln!(
            out,
            "(CommandId::{}, MessageKind::{kind}) => Some({}()),",
            message.command_variant,
            snake(&message.name)
        );
    }
    out.push_str("_ => None,\n}\n}\n");
    Ok(out)
}

fn item_strategy(model: &Model, item: &Item) -> Result<String, String> {
    let name = &item.name;
    let body = match &item.shape {
        Shape::Alias { ty, .. } => strategy(ty),
        Shape::Enum { values } => {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("{name}::{}", pascal(v)))
                .collect();
            format!("prop::sample::select(vec![{}])", values.join(", "))
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
            struct_strategy(fields, &format!("{name} {{"), &fixups)
        }
        Shape::Tagged { variants, .. } => {
            let mut arms = Vec::new();
            for variant in variants {
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
                arms.push(variant_strategy(
                    &variant.fields,
                    &format!("{name}::{}", variant.name),
                    &bound,
                    &fixups,
                ));
            }
            format!("prop_oneof![\n{}\n]", arms.join(",\n"))
        }
    };
    let rust = match &item.shape {
        Shape::Alias { ty, .. } => rust_ty(ty),
        _ => name.clone(),
    };
    Ok(format!(
        "\n/// Any valid `{name}`.\npub fn {}() -> BoxedStrategy<{rust}> {{\n{body}\n.boxed()\n}}\n",
        snake(name)
    ))
}

/// Fields drawn as nested tuples of at most eight (proptest's tuples stop at twelve).
fn drawn(fields: &[Field]) -> (String, String) {
    let mut strategies: Vec<String> = fields.iter().map(field_strategy).collect();
    let mut names: Vec<String> = fields.iter().map(|f| f.rust.clone()).collect();
    strategies.push("extra()".into());
    names.push("extra".into());
    let groups_s: Vec<String> = strategies
        .chunks(8)
        .map(|c| format!("({},)", c.join(", ")))
        .collect();
    let groups_n: Vec<String> = names
        .chunks(8)
        .map(|c| format!("({},)", c.join(", ")))
        .collect();
    (
        format!("({},)", groups_s.join(", ")),
        format!("({},)", groups_n.join(", ")),
    )
}

fn struct_strategy(fields: &[Field], constructor: &str, fixups: &[String]) -> String {
    let (strategies, pattern) = drawn(fields);
    let names: Vec<String> = fields.iter().map(|f| f.rust.clone()).collect();
    let init = if names.is_empty() {
        "extra".to_owned()
    } else {
        format!("{}, extra", names.join(", "))
    };
    if fixups.is_empty() {
        format!("{strategies}.prop_map(|{pattern}| {constructor} {init} }})")
    } else {
        format!(
            "{strategies}.prop_map(|{pattern}| {{\nlet mut value = {constructor} {init} }};\n{}\nvalue\n}})",
            fixups.join("\n")
        )
    }
}

fn variant_strategy(
    fields: &[Field],
    constructor: &str,
    bound: &[String],
    fixups: &[String],
) -> String {
    let (strategies, pattern) = drawn(fields);
    let names: Vec<String> = fields.iter().map(|f| f.rust.clone()).collect();
    let init = if names.is_empty() {
        "extra".to_owned()
    } else {
        format!("{}, extra", names.join(", "))
    };
    if fixups.is_empty() {
        format!("{strategies}.prop_map(|{pattern}| {constructor} {{ {init} }})")
    } else {
        format!(
            "{strategies}.prop_map(|{pattern}| {{\nlet mut value = {constructor} {{ {init} }};\nif let {constructor} {{ {}, .. }} = &mut value {{\n{}\n}}\nvalue\n}})",
            bound.join(", "),
            fixups.join("\n")
        )
    }
}

/// Makes a conditionally required field present when its condition holds. In a
/// struct the fields are reached through `value.`; in a variant they are bound
/// by reference.
pub(crate) fn fixup(
    model: &Model,
    fields: &[Field],
    field: &str,
    when_field: &str,
    when_value: &str,
    access: &str,
) -> Result<String, String> {
    let find = |json: &str| {
        fields
            .iter()
            .find(|f| f.json == json)
            .ok_or_else(|| format!("condition on unknown field {json}"))
    };
    let field = find(field)?;
    let when = find(when_field)?;
    let Ty::Named(enum_name) = &when.ty else {
        return Err(format!("condition on {} which is not an enum", when.json));
    };
    if model.item(enum_name).is_none() {
        return Err(format!("unknown enum {enum_name}"));
    }
    if !matches!(field.ty, Ty::String(_) | Ty::Named(_)) {
        return Err(format!("cannot fill {}", field.json));
    }
    let (check, read, write) = if access.is_empty() {
        (
            format!("*{}", when.rust),
            field.rust.clone(),
            format!("*{}", field.rust),
        )
    } else {
        (
            format!("{access}{}", when.rust),
            format!("{access}{}", field.rust),
            format!("{access}{}", field.rust),
        )
    };
    Ok(format!(
        "if {check} == {enum_name}::{} && {read}.is_none() {{ {write} = Some(\"someone\".into()); }}",
        pascal(when_value)
    ))
}

fn field_strategy(field: &Field) -> String {
    if field.required {
        strategy(&field.ty)
    } else {
        format!("option::of({})", strategy(&field.ty))
    }
}

/// A strategy expression for values of `ty` that satisfy its constraints.
fn strategy(ty: &Ty) -> String {
    match ty {
        Ty::String(rules) => {
            if let Some(pattern) = &rules.pattern {
                let (min, max) = pattern_lengths(pattern);
                return format!("pattern(&{}, {min}, {max})", char_ranges(pattern));
            }
            match rules.format {
                Some(Format::IpAddress) => return "ip_address()".into(),
                Some(Format::Regex) => return "regex_source()".into(),
                Some(Format::Uuid) => return "uuid()".into(),
                None => {}
            }
            match (rules.min_length, rules.max_length) {
                (None, None) => "text()".into(),
                (min, max) => {
                    let min = min.unwrap_or(0);
                    let max = max.unwrap_or(min + 12).min(min + 12);
                    format!("text_of({min}, {max})")
                }
            }
        }
        Ty::Integer(rules) => match (rules.rust_type(), rules.minimum, rules.maximum) {
            ("i64", None, None) => "any::<i64>()".into(),
            (rust, min, max) => {
                let min = min.map_or(format!("{rust}::MIN"), |m| format!("{m}"));
                let max = max.map_or(format!("{rust}::MAX"), |m| format!("{m}"));
                format!("{min}{rust}..={max}")
            }
        },
        Ty::Number(rules) => match (rules.minimum, rules.maximum) {
            (None, None) => "number()".into(),
            (Some(min), Some(max)) => format!("{min:?}f64..={max:?}"),
            (Some(min), None) => format!("{min:?}f64..={:?}", min + 1e9),
            (None, Some(max)) => format!("{:?}f64..={max:?}", max - 1e9),
        },
        Ty::Bool => "any::<bool>()".into(),
        Ty::Named(name) => format!("{}()", snake(name)),
        Ty::Array(inner, rules) => {
            let min = rules.min_items.unwrap_or(0);
            let max = rules.max_items.unwrap_or(min + 3).min(min + 3);
            if rules.unique {
                format!(
                    "btree_set({}, {min}..={max}).prop_map(|items| items.into_iter().collect::<Vec<_>>())",
                    strategy(inner)
                )
            } else {
                format!("vec({}, {min}..={max})", strategy(inner))
            }
        }
        Ty::Map(inner) => format!(
            "btree_map(key(), {}, 0..3).prop_map(|map| map.into_iter().collect::<BTreeMap<_, _>>())",
            strategy(inner)
        ),
        Ty::Nullable(inner) => format!("option::of({})", strategy(inner)),
        Ty::Object => "json_object()".into(),
    }
}

/// The lengths a pattern's strings are drawn from: its own bounds, an open end
/// capped sixteen past the minimum.
pub(crate) fn pattern_lengths(pattern: &Pattern) -> (u64, u64) {
    let max = pattern.max.unwrap_or(pattern.min + 16);
    (pattern.min, max)
}

/// A pattern's allowed characters as a Rust slice literal of inclusive ranges.
pub(crate) fn char_ranges(pattern: &Pattern) -> String {
    let ranges: Vec<String> = pattern
        .allowed
        .iter()
        .map(|(low, high)| format!("({low:?}, {high:?})"))
        .collect();
    format!("[{}]", ranges.join(", "))
}
