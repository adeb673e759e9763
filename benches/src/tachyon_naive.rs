//! Large Tachyon frames and the baselines our codec is measured against.
//!
//! The frames are built once, deterministically, from fixed tables: the same bytes on
//! every run and every machine, so numbers from two runs compare.

use std::fmt::Write as _;

use serde_json::Value;

/// How many lobbies the `lobby/listReset` frame lists.
pub const LIST_RESET_LOBBIES: usize = 200;

/// The large frames, named: a `lobby/create` request with every optional member set
/// and long maps, and a `lobby/listReset` event listing [`LIST_RESET_LOBBIES`]
/// lobbies.
pub fn frames() -> [(&'static str, String); 2] {
    [
        ("lobby_create", lobby_create_request()),
        ("lobby_list_reset", lobby_list_reset_event()),
    ]
}

/// Game option names as a Recoil game would send them.
const GAME_OPTIONS: [&str; 48] = [
    "startmetal",
    "startenergy",
    "startmetalstorage",
    "startenergystorage",
    "maxunits",
    "deathmode",
    "fixedallies",
    "ffa_mode",
    "disablemapdamage",
    "map_waterlevel",
    "map_tidal",
    "map_atmosphere",
    "unit_restrictions_notech3",
    "unit_restrictions_noair",
    "unit_restrictions_nonukes",
    "unit_restrictions_nolrpc",
    "experimentalshields",
    "experimentalxpgain",
    "experimentalbuildrange",
    "multiplier_builddistance",
    "multiplier_buildpower",
    "multiplier_metalextraction",
    "multiplier_energyconversion",
    "multiplier_energyproduction",
    "multiplier_resourceincome",
    "multiplier_maxvelocity",
    "multiplier_turnrate",
    "multiplier_weapondamage",
    "multiplier_weaponrange",
    "multiplier_maxdamage",
    "scavengers_difficulty",
    "scavengers_spawn_multiplier",
    "raptor_difficulty",
    "raptor_queen_count",
    "raptor_spawntimemult",
    "coop",
    "teamcolors_anonymous_mode",
    "emprework",
    "lootboxes",
    "assistdronesenabled",
    "commanderbuildersenabled",
    "critters",
    "ruins",
    "ruins_density",
    "tweakdefs",
    "tweakunits",
    "allowuserwidgets",
    "allowmapmutators",
];

/// Map names of the kind lobbies are hosted on.
const MAP_NAMES: [&str; 8] = [
    "Supreme Isthmus Remake v2.1",
    "Throne Acidic Glacier v1.4",
    "All That Glitters v2.2",
    "Eight Horses 1.0 (tournament layout)",
    "Comet Catcher Remake 1.8",
    "Red Comet Remake 1.8",
    "Tempest Dry 1.3",
    "Ravaged Remake v1.2",
];

/// A `lobby/create` request with every optional member of its `data` set: 16 ally
/// teams, 48 game options and 16 free-form tags.
pub fn lobby_create_request() -> String {
    let mut frame = String::with_capacity(8 << 10);
    frame.push_str(r#"{"type":"request","messageId":"9b0e6c1a-4f3d-4e2a-8a61-3f0d2c7b5e94","commandId":"lobby/create","data":{"#);
    frame.push_str(r#""name":"[EU] 8v8 Supreme Isthmus — no rush 10 min, balanced teams, all skill levels welcome","#);
    frame.push_str(
        r#""mapName":"Supreme Isthmus Remake v2.1 (20x20, water level -40, tournament edition)","#,
    );
    frame.push_str(r#""allyTeamConfig":["#);
    for ally in 0..16u32 {
        if ally > 0 {
            frame.push(',');
        }
        // Boxes strictly inside (0, 1) with power-of-two denominators: exact in
        // binary, and never printed as an integer (`0`, `1`), which would come
        // back from the typed encoder as `0.0`, `1.0`.
        let left = f64::from(2 * ally + 1) / 64.0;
        let top = f64::from(1 + ally % 4) / 16.0;
        let teams = 1 + ally % 4;
        let _ = write!(
            frame,
            r#"{{"maxTeams":{teams},"startBox":{{"top":{top},"bottom":{},"left":{left},"right":{}}},"teams":["#,
            top + 0.5,
            left + 0.03125,
        );
        for team in 0..teams {
            if team > 0 {
                frame.push(',');
            }
            let _ = write!(frame, r#"{{"maxPlayers":{}}}"#, 1 + (ally + team) % 3);
        }
        frame.push_str("]}");
    }
    frame.push_str(r#"],"areBossesEnabled":false,"gameOptions":{"#);
    for (index, name) in GAME_OPTIONS.iter().enumerate() {
        if index > 0 {
            frame.push(',');
        }
        let _ = write!(frame, r#""{name}":{{"value":"{}"}}"#, 250 * (index + 1));
    }
    frame.push_str(r#"},"tags":{"#);
    for tag in 0..16u32 {
        if tag > 0 {
            frame.push(',');
        }
        let _ = write!(
            frame,
            r#""tag_{tag:02}":{{"label":"tournament round {tag} of the spring cup","weight":{},"visible":{},"since":{}}}"#,
            f64::from(tag) + 0.5,
            tag % 2 == 0,
            1_705_432_698_000_000_u64 + u64::from(tag) * 3_600_000_000,
        );
    }
    frame.push_str("}}}");
    frame
}

/// A `lobby/listReset` event listing [`LIST_RESET_LOBBIES`] lobbies, each a full
/// overview, half of them in a battle.
pub fn lobby_list_reset_event() -> String {
    let mut frame = String::with_capacity(64 << 10);
    frame.push_str(r#"{"type":"event","messageId":"e2f41c07-8d9b-4b6a-9e35-71a0c4d2f8b3","commandId":"lobby/listReset","data":{"lobbies":{"#);
    for index in 0..LIST_RESET_LOBBIES {
        if index > 0 {
            frame.push(',');
        }
        let id = lobby_id(index);
        let map = MAP_NAMES[index % MAP_NAMES.len()];
        let max_players = 2 * (1 + index % 8);
        let players = (index * 7) % (max_players + 1);
        let battle = if index % 2 == 0 {
            format!(
                r#"{{"startedAt":{}}}"#,
                1_705_432_698_000_000_u64 + index as u64 * 61_000_000
            )
        } else {
            "null".to_owned()
        };
        let _ = write!(
            frame,
            r#""{id}":{{"id":"{id}","name":"Lobby {index}: {map} — casual games, be nice","playerCount":{players},"maxPlayerCount":{max_players},"mapName":"{map}","engineVersion":"2025.04.08","gameVersion":"Beyond All Reason test-27934-6d3a1b9","currentBattle":{battle}}}"#,
        );
    }
    frame.push_str("}}}");
    frame
}

/// A 24-hex-digit lobby id, as servers hand them out, distinct per index.
fn lobby_id(index: usize) -> String {
    // SplitMix64: a fixed, well-spread sequence without a dependency.
    let mut z = (index as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("{:08x}{z:016x}", index as u32)
}

/// The naive decoder: parse into a `Value`, then check the envelope the way a
/// hand-written client does before dispatching on `commandId`. Returns the whole
/// frame, with `data` left as a `Value` tree for the handler to pick from.
pub fn naive_decode(frame: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(frame).ok()?;
    let object = value.as_object()?;
    let kind = object.get("type")?.as_str()?;
    object.get("messageId")?.as_str()?;
    object.get("commandId")?.as_str()?;
    match kind {
        "request" | "event" => {}
        "response" => match object.get("status")?.as_str()? {
            "success" => {}
            "failed" => {
                object.get("reason")?.as_str()?;
            }
            _ => return None,
        },
        _ => return None,
    }
    if let Some(data) = object.get("data") {
        data.as_object()?;
    }
    Some(value)
}

/// The naive encoder: serialize the `Value` tree. A client that holds its commands
/// as `Value`s already has the envelope in the tree, so this is all it does.
pub fn naive_encode(frame: &Value) -> String {
    frame.to_string()
}

/// The floor: parse the frame and throw it away.
pub fn floor_decode(frame: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(frame).is_ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tachyon_proto::{Command, decode, encode};

    use super::*;

    #[test]
    fn the_frames_decode_and_round_trip() {
        for (name, frame) in frames() {
            let command = decode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
            let encoded = encode(&command);
            assert_eq!(decode(&encoded).as_ref(), Ok(&command), "{name}");
            // Same members and values; the encoder may order map keys differently.
            let original: Value = serde_json::from_str(&frame).unwrap();
            let reencoded: Value = serde_json::from_str(&encoded).unwrap();
            assert_eq!(reencoded, original, "{name}");
            assert_eq!(naive_decode(frame.as_bytes()), Some(original), "{name}");
            assert!(floor_decode(frame.as_bytes()), "{name}");
        }
    }

    #[test]
    fn the_frames_are_as_large_as_described() {
        let Ok(Command::LobbyCreateRequest(create)) = decode(&lobby_create_request()) else {
            panic!("lobby/create");
        };
        let data = create.data;
        assert_eq!(data.ally_team_config.len(), 16);
        assert_eq!(data.are_bosses_enabled, Some(false));
        assert_eq!(data.game_options.map(|o| o.len()), Some(GAME_OPTIONS.len()));
        assert_eq!(data.tags.map(|t| t.len()), Some(16));
        let Ok(Command::LobbyListResetEvent(reset)) = decode(&lobby_list_reset_event()) else {
            panic!("lobby/listReset");
        };
        let lobbies = reset.data.lobbies;
        assert_eq!(lobbies.len(), LIST_RESET_LOBBIES, "lobby ids are distinct");
        let in_battle = lobbies.values().filter(|l| l.current_battle.is_some());
        assert_eq!(in_battle.count(), LIST_RESET_LOBBIES / 2);
    }

    #[test]
    fn the_frames_are_valid_against_the_official_schema() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
        let compiled = shared.join("tachyon/schema/compiled.json");
        if !compiled.is_file() {
            // Under CI a missing `../shared` fails rather than skips, as in the
            // protocol crate's conformance tests.
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{} is missing, and CI=true",
                compiled.display()
            );
            eprintln!("SKIPPED: {} is missing", compiled.display());
            return;
        }
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&compiled).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for (name, frame) in frames() {
            let value: Value = serde_json::from_str(&frame).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
        // The validator has teeth: a start box off the map is refused.
        let off_map = lobby_create_request().replacen(r#""top":0.0625"#, r#""top":1.5"#, 1);
        assert_ne!(off_map, lobby_create_request());
        let value: Value = serde_json::from_str(&off_map).unwrap();
        assert!(!validator.is_valid(&value));
    }

    #[test]
    fn the_naive_decoder_checks_the_envelope() {
        for frame in [
            "[]",
            r#"{"type":"request","commandId":"lobby/leave"}"#,
            r#"{"type":"ping","messageId":"m","commandId":"lobby/leave"}"#,
            r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":"ok"}"#,
            r#"{"type":"response","messageId":"m","commandId":"lobby/leave","status":"failed"}"#,
            r#"{"type":"event","messageId":"m","commandId":"lobby/left","data":7}"#,
        ] {
            assert_eq!(naive_decode(frame.as_bytes()), None, "{frame}");
        }
        assert!(
            naive_decode(br#"{"type":"request","messageId":"m","commandId":"lobby/leave"}"#)
                .is_some()
        );
    }
}
