//! The codec against the official schemas and examples of Tachyon v1.22.0.
//!
//! `compiled.json` is the referee: the decoder must accept exactly the examples
//! it accepts, round-trip each of them, and refuse the others with the error
//! named for each below.

mod support;

use std::fs;

use serde_json::Value;
use tachyon_proto::{ALL_META, CommandId, DecodeError, MessageKind, decode, encode, meta};

/// The examples `compiled.json` rejects, why, and the error the decoder must give.
/// A fixed list: an example that starts or stops being rejected fails the test.
const REJECTED: &[(&str, CommandId, MessageKind, &str)] = &[
    // `spectators[].userId` is `{}`; a user id is a string.
    (
        "autohost/start/request.json",
        CommandId::AutohostStart,
        MessageKind::Request,
        "invalid type: map, expected a string",
    ),
    // A `voteHistory` entry has no `vote`, which is required.
    (
        "lobby/join/response-success.json",
        CommandId::LobbyJoin,
        MessageKind::Response,
        "missing field `vote`",
    ),
    // A `voteHistory` entry's `kickban` vote has no `userId`, which is required.
    (
        "lobby/updated/event.json",
        CommandId::LobbyUpdated,
        MessageKind::Event,
        "missing field `userId`",
    ),
    // A playlist has no `version`, which is required.
    (
        "matchmaking/list/response-success.json",
        CommandId::MatchmakingList,
        MessageKind::Response,
        "missing field `version`",
    ),
    // `outgoingFriendRequest[].to` is `{}`; a user id is a string.
    (
        "user/self/event.json",
        CommandId::UserSelf,
        MessageKind::Event,
        "invalid type: map, expected a string",
    ),
];

#[test]
fn the_decoder_accepts_exactly_the_examples_the_schema_accepts() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let validator = support::compiled_validator(&shared);
    let examples = support::examples(&shared);
    assert_eq!(examples.len(), 164, "the official examples");
    let mut rejected = Vec::new();
    for (name, text) in &examples {
        let original: Value = serde_json::from_str(text).unwrap();
        let decoded = decode(text);
        if validator.is_valid(&original) {
            let command =
                decoded.unwrap_or_else(|e| panic!("{name}: the schema accepts it, we refuse: {e}"));
            let encoded = encode(&command);
            let reencoded: Value = serde_json::from_str(&encoded).unwrap();
            assert_eq!(reencoded, original, "{name}: decode then encode changed it");
            assert!(
                validator.is_valid(&reencoded),
                "{name}: re-encoded is invalid"
            );
            assert_eq!(
                decode(&encoded).as_ref(),
                Ok(&command),
                "{name}: not stable"
            );
            assert_eq!(encode(&decode(&encoded).unwrap()), encoded, "{name}");
        } else {
            let &(_, command, kind, detail) = REJECTED
                .iter()
                .find(|(listed, ..)| listed == name)
                .unwrap_or_else(|| {
                    panic!("{name}: the schema rejects it, but REJECTED does not list it")
                });
            match decoded {
                Err(DecodeError::InvalidData {
                    command: c,
                    kind: k,
                    detail: d,
                }) if c == command && k == kind && d.contains(detail) => {}
                other => panic!(
                    "{name}: expected InvalidData {{ {command}, {kind}, {detail:?} }}, got {other:?}"
                ),
            }
            rejected.push(name.as_str());
        }
    }
    let listed: Vec<&str> = REJECTED.iter().map(|(name, ..)| *name).collect();
    assert_eq!(
        rejected, listed,
        "REJECTED lists an example the schema accepts"
    );
}

/// Every schema file (`schema/<service>/<command>/<kind>.json`) has a Rust type,
/// and the metadata table says what its `tachyon` block says.
#[test]
fn every_schema_file_has_a_message_type_with_its_metadata() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let root = shared.join("tachyon/schema");
    let mut files = 0;
    let mut kinds = [0usize; 3];
    for service in fs::read_dir(&root).unwrap() {
        let service = service.unwrap().path();
        if !service.is_dir() || service.ends_with("definitions") {
            continue;
        }
        for command in fs::read_dir(&service).unwrap() {
            let command = command.unwrap().path();
            for file in fs::read_dir(&command).unwrap() {
                let file = file.unwrap().path();
                let id = format!(
                    "{}/{}",
                    service.file_name().unwrap().to_str().unwrap(),
                    command.file_name().unwrap().to_str().unwrap()
                );
                let kind = match file.file_stem().unwrap().to_str().unwrap() {
                    "request" => MessageKind::Request,
                    "response" => MessageKind::Response,
                    "event" => MessageKind::Event,
                    other => panic!("unexpected schema file {other}"),
                };
                let schema: Value =
                    serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
                let id: CommandId = id.parse().unwrap();
                let meta = meta(id, kind).unwrap_or_else(|| panic!("no type for {id} {kind}"));
                let tachyon = &schema["tachyon"];
                assert_eq!(tachyon["source"], meta.source.as_str(), "{id} {kind}");
                assert_eq!(tachyon["target"], meta.target.as_str(), "{id} {kind}");
                assert_eq!(
                    tachyon["scopes"],
                    serde_json::json!(meta.scopes),
                    "{id} {kind}"
                );
                files += 1;
                kinds[kind as usize] += 1;
            }
        }
    }
    assert_eq!(files, 164);
    assert_eq!(kinds, [67, 67, 30], "requests, responses, events");
    assert_eq!(ALL_META.len(), 164);
    // 67 commands with a request and a response, 30 events.
    assert_eq!(CommandId::ALL.len(), 97);
    for id in CommandId::ALL {
        assert_eq!(id.as_str().parse(), Ok(id));
        for &kind in id.kinds() {
            assert!(meta(id, kind).is_some(), "{id} {kind}");
        }
    }
}
