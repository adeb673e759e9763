//! The schemas turned into Rust-shaped types: structs, string enums, tagged enums,
//! aliases, and one message per schema file.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::json::Json;
use crate::naming::{pascal, singular, snake};
use crate::schema::{MessageSchema, Schemas};

/// The Rust type of a schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `String`
    String(StringRules),
    /// An integer type chosen from the bounds.
    Integer(IntRules),
    /// `f64`
    Number(NumRules),
    /// `bool`
    Bool,
    /// A generated type.
    Named(String),
    /// `Vec<T>`
    Array(Box<Ty>, ArrayRules),
    /// `BTreeMap<String, T>`: an object whose `patternProperties` match any key.
    Map(Box<Ty>),
    /// `Option<T>`: `anyOf [T, null]`.
    Nullable(Box<Ty>),
    /// `JsonObject`: an object the schema says nothing more about.
    Object,
}

/// String constraints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringRules {
    /// `minLength`
    pub min_length: Option<u64>,
    /// `maxLength`
    pub max_length: Option<u64>,
    /// `pattern`, parsed.
    pub pattern: Option<Pattern>,
    /// A `format` the official validators assert.
    pub format: Option<Format>,
}

/// A `pattern` of the shape `^[class]{min,max}$`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// As written in the schema.
    pub source: String,
    /// Allowed characters as inclusive ranges.
    pub allowed: Vec<(char, char)>,
    /// Fewest characters.
    pub min: u64,
    /// Most characters.
    pub max: Option<u64>,
}

/// Formats the generated code checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `anyOf [ipv4, ipv6]`
    IpAddress,
    /// `regex`
    Regex,
    /// `uuid`, as the official validators (ajv-formats) check it.
    Uuid,
}

/// Integer bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntRules {
    /// `minimum`
    pub minimum: Option<i64>,
    /// `maximum`
    pub maximum: Option<i64>,
}

impl IntRules {
    /// The narrowest fitting Rust type: unsigned when the minimum allows it.
    pub fn rust_type(&self) -> &'static str {
        match (self.minimum, self.maximum) {
            (Some(min), Some(max)) if min >= 0 && max <= i64::from(u16::MAX) => "u16",
            (Some(min), _) if min >= 0 => "u64",
            _ => "i64",
        }
    }
}

/// Number bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NumRules {
    /// `minimum`
    pub minimum: Option<f64>,
    /// `maximum`
    pub maximum: Option<f64>,
}

/// Array constraints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArrayRules {
    /// `minItems`
    pub min_items: Option<u64>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `uniqueItems`
    pub unique: bool,
}

/// A member of a struct or of a tagged-enum variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The wire name.
    pub json: String,
    /// The Rust name.
    pub rust: String,
    /// The type, without the `Option` that optionality adds.
    pub ty: Ty,
    /// In the schema's `required`.
    pub required: bool,
    /// From `description`.
    pub description: Option<String>,
    /// From `default`.
    pub default: Option<String>,
}

/// A field required only when another field has a given value (a merged `anyOf`).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The conditionally required field (wire name).
    pub field: String,
    /// The field whose value decides (wire name).
    pub when_field: String,
    /// That field's value (wire name of a string enum value).
    pub when_value: String,
}

/// A generated type.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The Rust name.
    pub name: String,
    /// The generated module it goes to.
    pub module: String,
    /// Its doc paragraphs.
    pub docs: Vec<String>,
    /// What it is.
    pub shape: Shape,
}

/// What a generated type is.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// An object with fixed members.
    Struct {
        /// Its members.
        fields: Vec<Field>,
        /// Conditional requirements.
        conditions: Vec<Condition>,
    },
    /// A string `enum`.
    Enum {
        /// The values, in schema order.
        values: Vec<String>,
    },
    /// `anyOf` objects told apart by a `type` constant.
    Tagged {
        /// The discriminating member, `type`.
        tag: String,
        /// One per value of the tag.
        variants: Vec<Variant>,
    },
    /// A name for another type (`UserId` for `String`).
    Alias {
        /// The aliased type.
        ty: Ty,
        /// From `examples`.
        examples: Vec<String>,
    },
}

/// One variant of a tagged enum.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The tag's value.
    pub tag_value: String,
    /// The Rust name.
    pub name: String,
    /// Its doc paragraphs.
    pub docs: Vec<String>,
    /// Its members besides the tag.
    pub fields: Vec<Field>,
    /// Conditional requirements.
    pub conditions: Vec<Condition>,
}

/// A message's `data`.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// The schema defines none.
    None,
    /// Always there.
    Required(Ty),
    /// May be left out.
    Optional(Ty),
}

/// One message: a request, a response or an event of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `lobby/create`
    pub id: String,
    /// `lobby`
    pub service: String,
    /// `LobbyCreate`, the `CommandId` variant.
    pub command_variant: String,
    /// `request`, `response`, `event`
    pub kind: String,
    /// `LobbyCreateRequest`
    pub name: String,
    /// From the `tachyon` metadata.
    pub source: String,
    /// From the `tachyon` metadata.
    pub target: String,
    /// From the `tachyon` metadata.
    pub scopes: Vec<String>,
    /// The command's description from the docs.
    pub description: Option<String>,
    /// `data` of a request or event, or of a successful response.
    pub data: Data,
    /// For responses: every `reason` of the failed branch, in schema order.
    pub reasons: Vec<String>,
    /// For responses with reasons beyond the generic four: their enum's name.
    pub reason_enum: Option<String>,
}

/// The generic failure reasons every response has.
pub const GENERIC_REASONS: [&str; 4] = [
    "internal_error",
    "unauthorized",
    "invalid_request",
    "command_unimplemented",
];

/// Everything to generate.
#[derive(Debug)]
pub struct Model {
    /// The types, in generation order.
    pub items: Vec<Item>,
    /// The messages, sorted by command id then kind.
    pub messages: Vec<Message>,
}

impl Model {
    /// The item named `name`.
    pub fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.name == name)
    }
}

/// Schema titles that read badly as Rust type names.
const RENAMES: &[(&str, &str)] = &[
    ("VoteActions", "VoteAction"),
    ("VoteOutcomes", "VoteOutcome"),
    // The `anyOf` of `autohost/update`'s `update` has no title of its own.
    ("AutohostUpdateUpdate", "AutohostBattleUpdate"),
    ("AllyTeamConfigItem", "AllyTeamSetup"),
    // The lobby's parts, and the merge patches of them that `lobby/updated` and
    // `lobby/listUpdated` carry.
    ("LobbyDetailsAllyTeamConfig", "LobbyAllyTeam"),
    ("LobbyDetailsPlayer", "LobbyPlayer"),
    ("LobbyDetailsSpectator", "LobbySpectator"),
    ("LobbyDetailsBot", "LobbyBot"),
    ("LobbyDetailsCurrentVote", "LobbyVote"),
    ("LobbyUpdatedAllyTeamConfig", "LobbyAllyTeamPatch"),
    ("LobbyAllyTeamPatchTeam", "TeamSetupPatch"),
    ("LobbyUpdatedPlayer", "LobbyPlayerPatch"),
    ("LobbyUpdatedSpectator", "LobbySpectatorPatch"),
    ("LobbyUpdatedBot", "LobbyBotPatch"),
    ("LobbyUpdatedCurrentVote", "LobbyVotePatch"),
    ("LobbyListUpdatedLobby", "LobbyOverviewPatch"),
    ("MatchmakingQueueQueue", "QueueChoice"),
    ("PartyStateMember", "PartyMember"),
    ("PartyStateInvited", "PartyInvite"),
    ("FriendListFriend", "Friend"),
    // Every member optional: a partial user, sent when something changed.
    ("UserUpdatedUser", "UserUpdate"),
];

/// Anonymous shapes that recur across commands, by their normalized schema: the
/// one shared type each becomes (in the `definitions` module), and its doc.
const SHARED: &[(&str, &str, &str)] = &[
    (
        r#"{"enum":["contributor","admin","moderator","tournament_winner","tournament_caster"]}"#,
        "UserRole",
        "A role a user holds.",
    ),
    (
        r#"{"enum":["missing","downloading","complete"]}"#,
        "AssetStatus",
        "Whether a player has what the battle needs: engine, game and map.",
    ),
    (
        r#"{"enum":["offline","menu","playing","lobby"]}"#,
        "UserStatus",
        "What a user is doing.",
    ),
    (
        r#"{"enum":["pending","yes","no","abstain"]}"#,
        "Vote",
        "Where a voter stands.",
    ),
    (
        r#"{"properties":{"finishedAt":{"type":"integer"},"outcome":{"enum":["passed","failed","cancelled","timeout"]},"vote":{"anyOf":[{"properties":{"type":{"const":"start"}},"required":["type"],"type":"object"},{"properties":{"newMapName":{"type":"string"},"type":{"const":"changeMap"}},"required":["newMapName","type"],"type":"object"},{"properties":{"bossId":{"type":"string"},"type":{"const":"appointBoss"}},"required":["bossId","type"],"type":"object"},{"properties":{"banUntil":{"type":"integer"},"type":{"const":"kickban"},"userId":{"type":"string"}},"required":["type","userId"],"type":"object"}]}},"required":["finishedAt","outcome","vote"],"type":"object"}"#,
        "VoteHistoryEntry",
        "A vote that has ended.",
    ),
    (
        r#"{"properties":{"from":{"type":"string"},"sentAt":{"type":"integer"}},"required":["from","sentAt"],"type":"object"}"#,
        "IncomingFriendRequest",
        "A friend request the user received.",
    ),
    (
        r#"{"properties":{"id":{"type":"string"},"startedAt":{"type":"integer"}},"required":["id","startedAt"],"type":"object"}"#,
        "CurrentBattle",
        "The battle a lobby is playing.",
    ),
    (
        r#"{"properties":{"maxPlayers":{"minimum":1,"type":"integer"}},"required":["maxPlayers"],"type":"object"}"#,
        "TeamSetup",
        "How many players a team takes.",
    ),
    (
        r#"{"properties":{"sentAt":{"type":"integer"},"to":{"type":"string"}},"required":["sentAt","to"],"type":"object"}"#,
        "OutgoingFriendRequest",
        "A friend request the user sent.",
    ),
    (
        r#"{"properties":{"springName":{"type":"string"}},"required":["springName"],"type":"object"}"#,
        "SpringArchive",
        "A game or a map, by its Spring name.",
    ),
    (
        r#"{"properties":{"startedAt":{"type":"integer"}},"required":["startedAt"],"type":"object"}"#,
        "BattleStartedAt",
        "When the battle of a lobby started.",
    ),
    (
        r#"{"properties":{"value":{"type":"number"}},"required":["value"],"type":"object"}"#,
        "Rating",
        "A user's rating.",
    ),
    (
        r#"{"properties":{"value":{"type":"string"}},"required":["value"],"type":"object"}"#,
        "GameOption",
        "The value of a game option.",
    ),
    (
        r#"{"properties":{"version":{"type":"string"}},"required":["version"],"type":"object"}"#,
        "Engine",
        "An engine, by version.",
    ),
    (
        r#"{"properties":{"vote":{"enum":["pending","yes","no","abstain"]}},"required":["vote"],"type":"object"}"#,
        "Voter",
        "How one voter voted.",
    ),
];

fn renamed(name: &str) -> String {
    RENAMES
        .iter()
        .find(|(from, _)| *from == name)
        .map_or_else(|| name.to_owned(), |(_, to)| (*to).to_owned())
}

/// Builds the model of every schema.
pub fn build(schemas: &Schemas) -> Result<Model, String> {
    let mut builder = Builder {
        schemas,
        items: Vec::new(),
        definitions: BTreeMap::new(),
        definition_shapes: Vec::new(),
        shapes_seen: BTreeMap::new(),
    };
    for (stem, schema) in &schemas.definitions {
        let normalized = builder.normalize(schema)?;
        if normalized.get("type") == Some(&Value::String("object".into())) {
            let name = renamed(schema.str_at("title").ok_or(format!("{stem}: no title"))?);
            builder.definition_shapes.push((normalized, name));
        }
    }
    for stem in schemas.definitions.keys() {
        builder.definition(stem)?;
    }
    let mut messages = Vec::new();
    for message in &schemas.messages {
        messages.push(builder.message(message)?);
    }
    if std::env::var_os("TACHYON_CODEGEN_SHAPES").is_some() {
        for (shape, seen) in &builder.shapes_seen {
            if seen.len() > 1 {
                eprintln!("{shape}\n    {seen:?}");
            }
        }
    }
    let mut names = BTreeSet::new();
    for item in &builder.items {
        if !names.insert(item.name.clone()) {
            return Err(format!("two types named {}", item.name));
        }
    }
    for message in &messages {
        if !names.insert(message.name.clone()) {
            return Err(format!("message {} collides with a type", message.name));
        }
    }
    Ok(Model {
        items: builder.items,
        messages,
    })
}

struct Builder<'s> {
    schemas: &'s Schemas,
    items: Vec<Item>,
    /// Definition stem -> its type, once built.
    definitions: BTreeMap<String, Ty>,
    /// Normalized object definitions, so an identical anonymous object reuses them.
    definition_shapes: Vec<(Value, String)>,
    /// Normalized anonymous shapes -> where they were first seen (for [`SHARED`]).
    shapes_seen: BTreeMap<String, Vec<String>>,
}

impl Builder<'_> {
    fn definition_schema(&self, reference: &str) -> Result<(&str, &Json), String> {
        let stem = reference
            .rsplit('/')
            .next()
            .and_then(|file| file.strip_suffix(".json"))
            .ok_or_else(|| format!("unsupported $ref {reference}"))?;
        let (stem, schema) = self
            .schemas
            .definitions
            .get_key_value(stem)
            .ok_or_else(|| format!("$ref to unknown definition {reference}"))?;
        Ok((stem.as_str(), schema))
    }

    /// The schema with `$ref`s inlined, `allOf` merged and annotations dropped, for
    /// comparing shapes.
    fn normalize(&self, schema: &Json) -> Result<Value, String> {
        match schema {
            Json::Object(members) => {
                if let Some(reference) = schema.str_at("$ref") {
                    let (_, target) = self.definition_schema(reference)?;
                    return self.normalize(target);
                }
                if let Some(parts) = schema.get("allOf") {
                    let mut properties = serde_json::Map::new();
                    let mut required = BTreeSet::new();
                    for part in parts.items() {
                        let part = self.normalize(part)?;
                        if let Some(Value::Object(props)) = part.get("properties") {
                            properties.extend(props.clone());
                        }
                        if let Some(Value::Array(names)) = part.get("required") {
                            required
                                .extend(names.iter().filter_map(|n| n.as_str().map(String::from)));
                        }
                    }
                    let mut merged = serde_json::Map::new();
                    merged.insert("type".into(), "object".into());
                    merged.insert("properties".into(), Value::Object(properties));
                    if !required.is_empty() {
                        merged.insert("required".into(), required.into_iter().collect());
                    }
                    return Ok(Value::Object(merged));
                }
                let mut out = serde_json::Map::new();
                for (key, value) in members {
                    if matches!(
                        key.as_str(),
                        "title"
                            | "description"
                            | "examples"
                            | "$id"
                            | "$schema"
                            | "default"
                            | "tachyon"
                    ) {
                        continue;
                    }
                    let mut value = self.normalize(value)?;
                    if key == "required" {
                        if let Value::Array(names) = &mut value {
                            names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                        }
                    }
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Json::Array(items) => items.iter().map(|item| self.normalize(item)).collect(),
            other => Ok(other.to_value()),
        }
    }

    fn push(&mut self, item: Item) -> Ty {
        let name = item.name.clone();
        self.items.push(item);
        Ty::Named(name)
    }

    fn definition(&mut self, stem: &str) -> Result<Ty, String> {
        if let Some(ty) = self.definitions.get(stem) {
            return Ok(ty.clone());
        }
        let schema = self
            .schemas
            .definitions
            .get(stem)
            .ok_or_else(|| format!("unknown definition {stem}"))?;
        let name = renamed(schema.str_at("title").ok_or(format!("{stem}: no title"))?);
        let docs = vec![description(schema).unwrap_or_else(|| {
            let what = crate::naming::humanize(stem).to_lowercase();
            let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "An"
            } else {
                "A"
            };
            format!("{article} {what}, as `definitions/{stem}.json` defines it.")
        })];
        // Anything without its own members (a string, an array, a map) is an alias.
        let is_primitive = schema.get("enum").is_none()
            && schema.get("anyOf").is_none()
            && schema.get("allOf").is_none()
            && schema
                .get("properties")
                .is_none_or(|p| p.members().is_empty());
        let ty = if is_primitive {
            let ty = self.ty(schema, &name, "Item", "definitions")?;
            let examples = schema
                .get("examples")
                .map(|e| e.items().iter().map(Json::to_string).collect())
                .unwrap_or_default();
            self.push(Item {
                name,
                module: "definitions".into(),
                docs,
                shape: Shape::Alias { ty, examples },
            })
        } else {
            self.named(schema, &name, "definitions", docs)?
        };
        self.definitions.insert(stem.to_owned(), ty.clone());
        Ok(ty)
    }

    /// A type that gets a name: struct, enum or tagged enum.
    fn named(
        &mut self,
        schema: &Json,
        name: &str,
        module: &str,
        docs: Vec<String>,
    ) -> Result<Ty, String> {
        if let Some(values) = schema.get("enum") {
            let values = values
                .items()
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or(format!("{name}: non-string enum"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(self.push(Item {
                name: name.to_owned(),
                module: module.to_owned(),
                docs,
                shape: Shape::Enum { values },
            }));
        }
        if schema.get("anyOf").is_some() {
            let variants = self.variants(schema, name, module)?;
            return Ok(self.push(Item {
                name: name.to_owned(),
                module: module.to_owned(),
                docs,
                shape: Shape::Tagged {
                    tag: "type".into(),
                    variants,
                },
            }));
        }
        let object = self.flatten(schema)?;
        let fields = self.fields(&object, name, module)?;
        Ok(self.push(Item {
            name: name.to_owned(),
            module: module.to_owned(),
            docs,
            shape: Shape::Struct {
                fields,
                conditions: Vec::new(),
            },
        }))
    }

    /// An anonymous object, enum or union: reuses a definition or a shared type
    /// of the same shape, else becomes a new type named `name`.
    fn anonymous(
        &mut self,
        schema: &Json,
        name: &str,
        module: &str,
        fallback: &str,
    ) -> Result<Ty, String> {
        let normalized = self.normalize(schema)?;
        if let Some((_, existing)) = self
            .definition_shapes
            .iter()
            .find(|(shape, _)| *shape == normalized)
        {
            let existing = existing.clone();
            let stem = self
                .schemas
                .definitions
                .iter()
                .find(|(_, s)| s.str_at("title").map(renamed).as_deref() == Some(existing.as_str()))
                .map(|(stem, _)| stem.clone());
            if let Some(stem) = stem {
                return self.definition(&stem);
            }
        }
        let key = normalized.to_string();
        self.shapes_seen
            .entry(key.clone())
            .or_default()
            .push(name.to_owned());
        if let Some((_, shared, doc)) = SHARED.iter().find(|(shape, ..)| *shape == key) {
            if self.items.iter().any(|item| item.name == *shared) {
                return Ok(Ty::Named((*shared).to_owned()));
            }
            let docs = vec![description(schema).unwrap_or_else(|| (*doc).to_owned())];
            return self.named(schema, shared, "definitions", docs);
        }
        let docs = vec![description(schema).unwrap_or_else(|| fallback.to_owned())];
        let name = renamed(name);
        self.named(schema, &name, module, docs)
    }

    /// The type of `schema`, a member of the type `owner`; `field` names it
    /// (`Item` for a definition's array items).
    fn ty(&mut self, schema: &Json, owner: &str, field: &str, module: &str) -> Result<Ty, String> {
        if let Some(reference) = schema.str_at("$ref") {
            let (stem, _) = self.definition_schema(reference)?;
            let stem = stem.to_owned();
            return self.definition(&stem);
        }
        let direct = format!("{}{}", owner_prefix(owner), pascal(field));
        let member_doc = format!("The `{field}` member of `{owner}`.");
        let item = format!("{}{}", owner_prefix(owner), pascal(&singular(field)));
        if let Some(branches) = schema.get("anyOf") {
            let branches = branches.items();
            let non_null: Vec<&Json> = branches
                .iter()
                .filter(|b| b.str_at("type") != Some("null"))
                .collect();
            if non_null.len() + 1 == branches.len() && non_null.len() == 1 {
                let inner = self.ty(non_null[0], owner, field, module)?;
                return Ok(Ty::Nullable(Box::new(inner)));
            }
            if branches.iter().all(|b| {
                b.str_at("type") == Some("string")
                    && matches!(b.str_at("format"), Some("ipv4" | "ipv6"))
            }) {
                return Ok(Ty::String(StringRules {
                    format: Some(Format::IpAddress),
                    ..StringRules::default()
                }));
            }
            return self.anonymous(schema, &direct, module, &member_doc);
        }
        if schema.get("allOf").is_some() || schema.get("enum").is_some() {
            return self.anonymous(schema, &direct, module, &member_doc);
        }
        if schema.get("const").is_some() {
            return Err(format!("{owner}.{field}: a const outside a tagged union"));
        }
        match schema.str_at("type") {
            Some("string") => Ok(Ty::String(string_rules(
                schema,
                &format!("{owner}.{field}"),
            )?)),
            Some("integer") => Ok(Ty::Integer(IntRules {
                minimum: schema.get("minimum").and_then(Json::as_i64),
                maximum: schema.get("maximum").and_then(Json::as_i64),
            })),
            Some("number") => Ok(Ty::Number(NumRules {
                minimum: schema.get("minimum").and_then(Json::as_f64),
                maximum: schema.get("maximum").and_then(Json::as_f64),
            })),
            Some("boolean") => Ok(Ty::Bool),
            Some("array") => {
                let items = schema
                    .get("items")
                    .ok_or_else(|| format!("{owner}.{field}: array without items"))?;
                let doc = format!("An item of the `{field}` array of `{owner}`.");
                let inner = self.ty_named(items, owner, &item, field, module, &doc)?;
                Ok(Ty::Array(
                    Box::new(inner),
                    ArrayRules {
                        min_items: schema
                            .get("minItems")
                            .and_then(Json::as_i64)
                            .map(|n| n as u64),
                        max_items: schema
                            .get("maxItems")
                            .and_then(Json::as_i64)
                            .map(|n| n as u64),
                        unique: schema.get("uniqueItems") == Some(&Json::Bool(true)),
                    },
                ))
            }
            Some("object") => {
                if let Some(patterns) = schema.get("patternProperties") {
                    let [(_, values)] = patterns.members() else {
                        return Err(format!("{owner}.{field}: several patternProperties"));
                    };
                    if !schema
                        .get("properties")
                        .is_none_or(|p| p.members().is_empty())
                    {
                        return Err(format!("{owner}.{field}: properties and patternProperties"));
                    }
                    let doc = format!("A value of the `{field}` map of `{owner}`.");
                    let inner = self.ty_named(values, owner, &item, field, module, &doc)?;
                    return Ok(Ty::Map(Box::new(inner)));
                }
                if schema
                    .get("properties")
                    .is_none_or(|p| p.members().is_empty())
                {
                    return Ok(Ty::Object);
                }
                self.anonymous(schema, &direct, module, &member_doc)
            }
            other => Err(format!("{owner}.{field}: unsupported type {other:?}")),
        }
    }

    /// The type of an array item or map value, named `name` if it needs a type.
    fn ty_named(
        &mut self,
        schema: &Json,
        owner: &str,
        name: &str,
        field: &str,
        module: &str,
        doc: &str,
    ) -> Result<Ty, String> {
        let needs_name = schema.get("$ref").is_none()
            && (schema.get("enum").is_some()
                || schema.get("allOf").is_some()
                || (schema.str_at("type") == Some("object")
                    && schema.get("patternProperties").is_none()
                    && schema
                        .get("properties")
                        .is_some_and(|p| !p.members().is_empty())));
        if needs_name {
            return self.anonymous(schema, name, module, doc);
        }
        if let Some(branches) = schema.get("anyOf") {
            let branches = branches.items();
            let non_null: Vec<&Json> = branches
                .iter()
                .filter(|b| b.str_at("type") != Some("null"))
                .collect();
            if non_null.len() + 1 == branches.len() && non_null.len() == 1 {
                let inner = self.ty_named(non_null[0], owner, name, field, module, doc)?;
                return Ok(Ty::Nullable(Box::new(inner)));
            }
        }
        self.ty(schema, owner, &singular(field), module)
    }

    /// Properties and required names of an object schema, `allOf` and `$ref` merged.
    fn flatten(&self, schema: &Json) -> Result<FlatObject, String> {
        if let Some(reference) = schema.str_at("$ref") {
            let (_, target) = self.definition_schema(reference)?;
            return self.flatten(target);
        }
        let mut flat = FlatObject::default();
        if let Some(parts) = schema.get("allOf") {
            for part in parts.items() {
                let part = self.flatten(part)?;
                for (name, property) in part.properties {
                    if !flat.properties.iter().any(|(n, _)| *n == name) {
                        flat.properties.push((name, property));
                    }
                }
                flat.required.extend(part.required);
            }
            return Ok(flat);
        }
        if let Some(properties) = schema.get("properties") {
            flat.properties = properties.members().to_vec();
        }
        if let Some(required) = schema.get("required") {
            flat.required = required
                .items()
                .iter()
                .filter_map(|r| r.as_str().map(String::from))
                .collect();
        }
        Ok(flat)
    }

    fn fields(
        &mut self,
        object: &FlatObject,
        owner: &str,
        module: &str,
    ) -> Result<Vec<Field>, String> {
        let mut fields = Vec::new();
        for (json, schema) in &object.properties {
            let ty = self.ty(schema, owner, json, module)?;
            fields.push(Field {
                json: json.clone(),
                rust: snake(json),
                ty,
                required: object.required.contains(json),
                description: description(schema),
                default: schema.get("default").map(Json::to_string),
            });
        }
        for required in &object.required {
            if !object.properties.iter().any(|(name, _)| name == required) {
                return Err(format!("{owner}: required {required} is not a property"));
            }
        }
        Ok(fields)
    }

    /// The variants of an `anyOf` whose branches are objects with a `type` constant;
    /// branches sharing a tag value (a nested `anyOf`) merge into one variant.
    fn variants(
        &mut self,
        schema: &Json,
        name: &str,
        module: &str,
    ) -> Result<Vec<Variant>, String> {
        let mut groups: Vec<(String, Vec<&Json>, Vec<String>)> = Vec::new();
        for branch in schema.get("anyOf").map(Json::items).unwrap_or_default() {
            let mut docs: Vec<String> = description(branch).into_iter().collect();
            let leaves: Vec<&Json> = match branch.get("anyOf") {
                Some(nested) => nested.items().iter().collect(),
                None => vec![branch],
            };
            for leaf in leaves {
                let tag = leaf
                    .get("properties")
                    .and_then(|p| p.get("type"))
                    .and_then(|t| t.get("const"))
                    .and_then(Json::as_str)
                    .ok_or_else(|| format!("{name}: an anyOf branch without a type constant"))?
                    .to_owned();
                match groups.iter_mut().find(|(t, _, _)| *t == tag) {
                    Some((_, leaves, _)) => leaves.push(leaf),
                    None => groups.push((tag, vec![leaf], std::mem::take(&mut docs))),
                }
            }
        }
        let mut variants = Vec::new();
        for (tag, leaves, docs) in groups {
            let variant_name = pascal(&tag);
            let (object, conditions) = merge_branches(&leaves, &tag)?;
            let fields = self.fields(&object, &variant_name, module);
            variants.push(Variant {
                tag_value: tag,
                name: variant_name,
                docs,
                fields: fields?,
                conditions,
            });
        }
        Ok(variants)
    }

    fn message(&mut self, message: &MessageSchema) -> Result<Message, String> {
        let schema = &message.schema;
        let tachyon = schema
            .get("tachyon")
            .ok_or_else(|| format!("{}: no tachyon metadata", message.id()))?;
        let name = schema
            .str_at("title")
            .ok_or_else(|| format!("{}: no title", message.id()))?
            .to_owned();
        let command_variant = format!("{}{}", pascal(&message.service), pascal(&message.command));
        if name != format!("{command_variant}{}", pascal(&message.kind)) {
            return Err(format!("{}: unexpected title {name}", message.id()));
        }
        let (body, reasons) = if message.kind == "response" {
            let branches = schema.get("anyOf").map(Json::items).unwrap_or_default();
            let [ok, failed] = branches else {
                return Err(format!(
                    "{}: a response is not anyOf [ok, failed]",
                    message.id()
                ));
            };
            let reasons: Vec<String> = failed
                .get("properties")
                .and_then(|p| p.get("reason"))
                .and_then(|r| r.get("enum"))
                .map(|e| {
                    e.items()
                        .iter()
                        .filter_map(|r| r.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if !GENERIC_REASONS
                .iter()
                .all(|g| reasons.iter().any(|r| r == g))
            {
                return Err(format!("{}: reasons lack a generic one", message.id()));
            }
            (ok, reasons)
        } else {
            (schema, Vec::new())
        };
        let data = self.message_data(body, message);
        let reason_enum = (reasons.len() > 4).then(|| format!("{command_variant}FailReason"));
        Ok(Message {
            id: message.id(),
            service: message.service.clone(),
            command_variant,
            kind: message.kind.clone(),
            name,
            source: tachyon.str_at("source").unwrap_or_default().to_owned(),
            target: tachyon.str_at("target").unwrap_or_default().to_owned(),
            scopes: tachyon
                .get("scopes")
                .map(|s| {
                    s.items()
                        .iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            description: self.schemas.descriptions.get(&message.id()).cloned(),
            data: data?,
            reasons,
            reason_enum,
        })
    }

    fn message_data(&mut self, body: &Json, message: &MessageSchema) -> Result<Data, String> {
        let Some(data) = body.get("properties").and_then(|p| p.get("data")) else {
            return Ok(Data::None);
        };
        let required = body
            .get("required")
            .is_some_and(|r| r.items().iter().any(|n| n.as_str() == Some("data")));
        let ty = if let Some(reference) = data.str_at("$ref") {
            let (stem, _) = self.definition_schema(reference)?;
            let stem = stem.to_owned();
            self.definition(&stem)?
        } else {
            let title = data
                .str_at("title")
                .ok_or_else(|| format!("{}: data without a title", message.id()))?
                .to_owned();
            let what = match message.kind.as_str() {
                "response" => format!("a successful `{}` response", message.id()),
                kind => format!("the `{}` {kind}", message.id()),
            };
            let docs = vec![description(data).unwrap_or_else(|| format!("The data of {what}."))];
            self.named(data, &title, &message.service, docs)?
        };
        Ok(if required {
            Data::Required(ty)
        } else {
            Data::Optional(ty)
        })
    }
}

#[derive(Debug, Default)]
struct FlatObject {
    properties: Vec<(String, Json)>,
    required: Vec<String>,
}

/// `LobbyCreateRequestData` -> `LobbyCreate`: nested types of a message's data
/// are named after the command, not after the data struct.
fn owner_prefix(owner: &str) -> &str {
    for suffix in ["OkResponseData", "RequestData", "EventData"] {
        if let Some(prefix) = owner.strip_suffix(suffix) {
            return prefix;
        }
    }
    owner
}

fn description(schema: &Json) -> Option<String> {
    schema.str_at("description").map(String::from)
}

/// Merges the branches of one tag value into one object: properties united (string
/// enums and constants of one property united into one enum), required names
/// intersected, and each branch's extra required names turned into conditions on
/// its discriminating constant.
fn merge_branches(leaves: &[&Json], tag: &str) -> Result<(FlatObject, Vec<Condition>), String> {
    let required_of = |leaf: &Json| -> Vec<String> {
        leaf.get("required")
            .map(|r| {
                r.items()
                    .iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut object = FlatObject::default();
    for leaf in leaves {
        for (name, property) in leaf
            .get("properties")
            .map(Json::members)
            .unwrap_or_default()
        {
            if name == "type" {
                continue;
            }
            match object.properties.iter_mut().find(|(n, _)| n == name) {
                None => object.properties.push((name.clone(), property.clone())),
                Some((_, existing)) => *existing = union_enum(existing, property, tag)?,
            }
        }
    }
    let mut required: Vec<String> = required_of(leaves[0]);
    for leaf in &leaves[1..] {
        let theirs = required_of(leaf);
        required.retain(|name| theirs.contains(name));
    }
    required.retain(|name| name != "type");
    let mut conditions = Vec::new();
    if leaves.len() > 1 {
        for leaf in leaves {
            let extra: Vec<String> = required_of(leaf)
                .into_iter()
                .filter(|name| name != "type" && !required.contains(name))
                .collect();
            if extra.is_empty() {
                continue;
            }
            let (when_field, when_value) = leaf
                .get("properties")
                .map(Json::members)
                .unwrap_or_default()
                .iter()
                .find_map(|(name, p)| {
                    (name != "type")
                        .then(|| p.get("const").and_then(Json::as_str))
                        .flatten()
                        .map(|value| (name.clone(), value.to_owned()))
                })
                .ok_or_else(|| {
                    format!("{tag}: merged branches without a discriminating constant")
                })?;
            for name in extra {
                conditions.push(Condition {
                    field: name,
                    when_field: when_field.clone(),
                    when_value: when_value.clone(),
                });
            }
        }
    }
    object.required = required;
    Ok((object, conditions))
}

/// One string enum holding the values of two `enum`/`const` schemas.
fn union_enum(a: &Json, b: &Json, tag: &str) -> Result<Json, String> {
    let values = |s: &Json| -> Option<Vec<Json>> {
        if let Some(c) = s.get("const") {
            return Some(vec![c.clone()]);
        }
        s.get("enum").map(|e| e.items().to_vec())
    };
    if a == b {
        return Ok(a.clone());
    }
    let (Some(mut left), Some(right)) = (values(a), values(b)) else {
        return Err(format!("{tag}: branches disagree on a property"));
    };
    for value in right {
        if !left.contains(&value) {
            left.push(value);
        }
    }
    Ok(Json::Object(vec![("enum".into(), Json::Array(left))]))
}

fn string_rules(schema: &Json, at: &str) -> Result<StringRules, String> {
    let mut rules = StringRules {
        min_length: schema
            .get("minLength")
            .and_then(Json::as_i64)
            .map(|n| n as u64),
        max_length: schema
            .get("maxLength")
            .and_then(Json::as_i64)
            .map(|n| n as u64),
        ..StringRules::default()
    };
    if let Some(pattern) = schema.str_at("pattern") {
        rules.pattern = Some(parse_pattern(pattern).ok_or_else(|| {
            format!("{at}: pattern {pattern} is not of the supported shape ^[class]{{n,m}}$")
        })?);
    }
    match schema.str_at("format") {
        None => {}
        Some("regex") => rules.format = Some(Format::Regex),
        Some("ipv4" | "ipv6") => return Err(format!("{at}: a lone ip format")),
        // Draft-07 does not define `uuid`, but the official validators add it
        // (ajv-formats) and refuse strings that are not UUIDs.
        Some("uuid") => rules.format = Some(Format::Uuid),
        Some(other) => return Err(format!("{at}: unsupported format {other}")),
    }
    Ok(rules)
}

/// Parses `^[class]quantifier$` where the class holds literal characters and
/// `a-z` ranges, and the quantifier is `+`, `*`, `{n}`, `{n,}` or `{n,m}`.
pub fn parse_pattern(source: &str) -> Option<Pattern> {
    let inner = source.strip_prefix("^[")?.strip_suffix('$')?;
    let (class, quantifier) = inner.split_once(']')?;
    let chars: Vec<char> = class.chars().collect();
    if chars.is_empty() || chars.contains(&'\\') || chars[0] == '^' {
        return None;
    }
    let mut allowed = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            allowed.push((chars[i], chars[i + 2]));
            i += 3;
        } else {
            allowed.push((chars[i], chars[i]));
            i += 1;
        }
    }
    let (min, max) = match quantifier {
        "+" => (1, None),
        "*" => (0, None),
        "" => (1, Some(1)),
        braces => {
            let inner = braces.strip_prefix('{')?.strip_suffix('}')?;
            match inner.split_once(',') {
                None => {
                    let n = inner.parse().ok()?;
                    (n, Some(n))
                }
                Some((min, "")) => (min.parse().ok()?, None),
                Some((min, max)) => (min.parse().ok()?, Some(max.parse().ok()?)),
            }
        }
    };
    Some(Pattern {
        source: source.to_owned(),
        allowed,
        min,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_of_the_supported_shape() {
        let engine = parse_pattern("^[0-9a-zA-Z .+-]+$").unwrap();
        assert_eq!(
            engine.allowed,
            vec![
                ('0', '9'),
                ('a', 'z'),
                ('A', 'Z'),
                (' ', ' '),
                ('.', '.'),
                ('+', '+'),
                ('-', '-')
            ]
        );
        assert_eq!((engine.min, engine.max), (1, None));
        let hash = parse_pattern("^[a-fA-F0-9]{128}$").unwrap();
        assert_eq!((hash.min, hash.max), (128, Some(128)));
        assert_eq!(parse_pattern("^(a|b)$"), None);
        assert_eq!(parse_pattern("^[\\d]+$"), None);
    }
}
