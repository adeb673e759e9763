//! Proptest strategies for every generated type and message: values that satisfy
//! their schema, for round-trip and schema-validity properties.

use std::fmt::Write as _;

use crate::emit::{HEADER, rust_ty};
use crate::model::{Data, Field, Format, Item, Model, Shape, Ty};
use crate::naming::{pascal, snake};

/// Helpers the generated strategies build on.
const PRELUDE: &str = r#"
//! Proptest strategies for every Tachyon message type, generated beside the types
//! so that each schema constraint has a strategy that keeps to it.

#![allow(clippy::unwrap_used)] // the regexes below are fixed and valid

use std::collections::BTreeMap;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::string::string_regex;
use serde_json::Value;
use tachyon_proto::message::*;

fn text() -> BoxedStrategy<String> {
    "\\PC{0,12}".boxed()
}

fn text_of(min: usize, max: usize) -> BoxedStrategy<String> {
    string_regex(&format!("\\PC{{{min},{max}}}")).unwrap().boxed() // ok: a fixed, valid regex
}

fn pattern(regex: &str) -> BoxedStrategy<String> {
    string_regex(regex).unwrap().boxed() // ok: the schemas' fixed patterns, each run by the round-trip test
}

fn key() -> BoxedStrategy<String> {
    "\\PC{0,6}".boxed()
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
    prop_oneof![
        3 => Just(JsonObject::new()),
        1 => btree_map("x-[a-z]{1,4}", json_leaf(), 1..3)
            .prop_map(|members| members.into_iter().collect()),
    ]
    .boxed()
}

fn message_id() -> BoxedStrategy<String> {
    text()
}

fn failure<R: FailureReason>() -> BoxedStrategy<Failure<R>> {
    (prop::sample::select(R::ALL.to_vec()), option::of(text()))
        .prop_map(|(reason, details)| Failure { reason, details })
        .boxed()
}
"#;

/// The source of `tests/support/strategies.rs`.
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
            "\n/// Any `{}` {}.\npub(crate) fn {}() -> BoxedStrategy<Command> {{\n{body}\n.boxed()\n}}",
            message.id,
            message.kind,
            snake(name)
        );
    }
    out.push_str("\n/// A strategy per message, by type name.\npub(crate) fn all() -> Vec<(&'static str, BoxedStrategy<Command>)> {\nvec![\n");
    for message in &model.messages {
        let _ = writeln!(out, "(\"{0}\", {1}()),", message.name, snake(&message.name));
    }
    out.push_str("]\n}\n");
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
        "\npub(crate) fn {}() -> BoxedStrategy<{rust}> {{\n{body}\n.boxed()\n}}\n",
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
fn fixup(
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
                let regex = pattern
                    .source
                    .trim_start_matches('^')
                    .trim_end_matches('$')
                    .replace("]+", "]{1,16}")
                    .replace("]*", "]{0,16}");
                return format!("pattern({regex:?})");
            }
            match rules.format {
                Some(Format::IpAddress) => return "ip_address()".into(),
                Some(Format::Regex) => return "regex_source()".into(),
                Some(Format::Uuid) => {
                    return "pattern(\"(urn:uuid:)?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\")".into();
                }
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
