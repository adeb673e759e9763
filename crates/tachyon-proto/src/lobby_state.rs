//! Client-side lobby state: the lobby a user is in and the list of all lobbies,
//! kept current by the server's JSON merge patches (RFC 7386).
//!
//! `lobby/updated` patches the [`LobbyDetails`] a user got when joining;
//! `lobby/listUpdated` patches the list a `lobby/subscribeList` started, which
//! `lobby/listReset` replaces whole. In a patch `null` removes a member, and
//! objects keyed `"01"`, `"02"`, ... stand for arrays whose items are ordered by
//! their keys (`allyTeamConfig`, `teams`): [`in_order`] reads them as arrays.
//!
//! A patch is applied to the JSON form of the state and the result is read back
//! into its types and validated; if it no longer makes a valid state (a new
//! player without `team`, a `maxTeams` of zero) the patch is refused with a
//! [`PatchError`] and the state stays as it was. Members the types do not name
//! (the lobby's `tags`, a vote's `quorum`) are kept in their `extra` maps, so a
//! patch loses nothing.
//!
//! One wrinkle of the protocol: a merge patch cannot set a member to `null`, only
//! remove it, while a lobby overview requires `currentBattle` (which may be
//! `null`). The list reads a removed `currentBattle` as `null`: no battle.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::message::{
    LobbyAllyTeam, LobbyDetails, LobbyListResetEventData, LobbyListUpdatedEventData, LobbyOverview,
    LobbyUpdatedEventData,
};
use crate::validate::Validate;

/// A patch that cannot be applied; the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// A `lobby/updated` for another lobby than this one.
    #[error("an update for lobby {update:?} applied to lobby {lobby:?}")]
    WrongLobby {
        /// This lobby's id.
        lobby: String,
        /// The update's id.
        update: String,
    },
    /// The patched state breaks its schema; `detail` says how and where.
    #[error("the patched state is invalid: {detail}")]
    Invalid {
        /// What is wrong, and where.
        detail: String,
    },
}

/// The items of a map that stands for an array, in array order: sorted by key
/// (byte order of the keys, which is code point order).
pub fn in_order<T>(map: &BTreeMap<String, T>) -> impl Iterator<Item = &T> {
    map.values()
}

/// The lobby a user is in, from the [`LobbyDetails`] of `lobby/create` or
/// `lobby/join`, kept current by `lobby/updated`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lobby {
    details: LobbyDetails,
}

impl Lobby {
    /// The lobby as the server described it.
    pub fn new(details: LobbyDetails) -> Self {
        Lobby { details }
    }

    /// Its current state.
    pub fn details(&self) -> &LobbyDetails {
        &self.details
    }

    /// Its current state, taken out.
    pub fn into_details(self) -> LobbyDetails {
        self.details
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.details.id
    }

    /// The ally teams, in order.
    pub fn ally_teams(&self) -> impl Iterator<Item = &LobbyAllyTeam> {
        in_order(&self.details.ally_team_config)
    }

    /// Applies a `lobby/updated` event. All or nothing: on error the lobby is
    /// unchanged.
    pub fn apply(&mut self, update: &LobbyUpdatedEventData) -> Result<(), PatchError> {
        if update.id != self.details.id {
            return Err(PatchError::WrongLobby {
                lobby: self.details.id.clone(),
                update: update.id.clone(),
            });
        }
        self.details = patched(&self.details, update, |_| {})?;
        Ok(())
    }
}

/// The list of lobbies a `lobby/subscribeList` follows, by lobby id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LobbyList {
    lobbies: BTreeMap<String, LobbyOverview>,
}

impl LobbyList {
    /// An empty list, before the first `lobby/listReset`.
    pub fn new() -> Self {
        LobbyList::default()
    }

    /// The lobby `id`.
    pub fn get(&self, id: &str) -> Option<&LobbyOverview> {
        self.lobbies.get(id)
    }

    /// The lobbies, by id.
    pub fn lobbies(&self) -> &BTreeMap<String, LobbyOverview> {
        &self.lobbies
    }

    /// How many lobbies there are.
    pub fn len(&self) -> usize {
        self.lobbies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lobbies.is_empty()
    }

    /// Applies a `lobby/listReset` event: the list is replaced whole.
    pub fn reset(&mut self, reset: &LobbyListResetEventData) {
        self.lobbies = reset.lobbies.clone();
    }

    /// Applies a `lobby/listUpdated` event: a merge patch of the list, in which a
    /// new lobby must come whole. All or nothing: on error the list is unchanged.
    pub fn apply(&mut self, update: &LobbyListUpdatedEventData) -> Result<(), PatchError> {
        self.lobbies = patched(&self.lobbies, &update.lobbies, |lobbies| {
            // A merge patch cannot set `currentBattle` to `null`, only remove it,
            // yet a lobby overview requires it: removed means no battle.
            if let Value::Object(lobbies) = lobbies {
                for lobby in lobbies.values_mut() {
                    if let Value::Object(lobby) = lobby {
                        lobby.entry("currentBattle").or_insert(Value::Null);
                    }
                }
            }
        })?;
        Ok(())
    }
}

/// `state` merge-patched with `patch` (RFC 7386), completed by `complete`, read
/// back as a `T` and validated.
fn patched<T, P>(state: &T, patch: &P, complete: impl FnOnce(&mut Value)) -> Result<T, PatchError>
where
    T: Serialize + DeserializeOwned + Validate,
    P: Serialize,
{
    let invalid = |detail: String| PatchError::Invalid { detail };
    let mut document = serde_json::to_value(state).map_err(|e| invalid(e.to_string()))?;
    let patch: Value = serde_json::to_value(patch).map_err(|e| invalid(e.to_string()))?;
    json_patch::merge(&mut document, &patch);
    complete(&mut document);
    let state: T = serde_json::from_value(document).map_err(|e| invalid(e.to_string()))?;
    state.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{LobbyDetails, TeamSetup};
    use serde_json::json;

    /// A lobby with one ally team holding the teams of the lobby docs' example:
    /// `{"teams": {"01": {"maxPlayers": 1}, "02": {"maxPlayers": 2}}}` stands for
    /// `[{"maxPlayers": 1}, {"maxPlayers": 2}]`.
    fn lobby() -> Lobby {
        let details: LobbyDetails = serde_json::from_value(json!({
            "id": "l1",
            "name": "Friday game",
            "mapName": "Red Comet",
            "engineVersion": "2025.01.5",
            "gameVersion": "1.0",
            "gameOptions": {},
            "allyTeamConfig": {
                "0": {
                    "startBox": {"top": 0, "bottom": 0.2, "left": 0, "right": 1},
                    "maxTeams": 2,
                    "teams": {"01": {"maxPlayers": 1}, "02": {"maxPlayers": 2}}
                }
            },
            "areBossesEnabled": true,
            "bosses": {},
            "players": {
                "351": {"id": "351", "allyTeam": "0", "team": "01", "player": "0",
                        "isReady": false, "assetStatus": "complete"}
            },
            "spectators": {
                "123": {"id": "123", "joinQueuePosition": 3},
                "456": {"id": "456", "joinQueuePosition": 1}
            },
            "bots": {}
        }))
        .unwrap();
        Lobby::new(details)
    }

    fn update(patch: Value) -> LobbyUpdatedEventData {
        serde_json::from_value(patch).unwrap()
    }

    fn max_players(lobby: &Lobby) -> Vec<u64> {
        let ally_team = lobby.ally_teams().next().unwrap();
        in_order(&ally_team.teams)
            .map(|t: &TeamSetup| t.max_players)
            .collect()
    }

    #[test]
    fn objects_keyed_by_order_read_as_arrays() {
        assert_eq!(max_players(&lobby()), [1, 2]);
    }

    #[test]
    fn both_patches_of_the_docs_remove_the_first_team() {
        // "Removing the first team can be represented by the following patch
        // objects (they are equivalent)".
        let patches = [
            json!({"id": "l1", "allyTeamConfig": {"0": {"teams": {"01": {"maxPlayers": 2}, "02": null}}}}),
            json!({"id": "l1", "allyTeamConfig": {"0": {"teams": {"01": null}}}}),
        ];
        for patch in patches {
            let mut lobby = lobby();
            lobby.apply(&update(patch.clone())).unwrap();
            assert_eq!(max_players(&lobby), [2], "{patch}");
            assert_eq!(lobby.ally_teams().next().unwrap().teams.len(), 1);
        }
    }

    #[test]
    fn null_removes_and_values_replace() {
        let mut lobby = lobby();
        lobby
            .apply(&update(json!({
                "id": "l1",
                "mapName": "Quicksilver",
                "spectators": {"123": null, "789": {"id": "789", "joinQueuePosition": 10}},
                "players": {"351": {"id": "351", "isReady": true}},
                "currentBattle": {"id": "b1", "startedAt": 1705432698000000i64},
                "tags": {"ranked": {"by": "server"}}
            })))
            .unwrap();
        let details = lobby.details();
        assert_eq!(details.map_name, "Quicksilver");
        assert_eq!(
            details.spectators.keys().collect::<Vec<_>>(),
            ["456", "789"]
        );
        assert!(details.players["351"].is_ready);
        assert_eq!(details.current_battle.as_ref().unwrap().id, "b1");
        // `tags` is not a member of LobbyDetails: kept, not lost.
        assert_eq!(details.extra["tags"], json!({"ranked": {"by": "server"}}));
        lobby
            .apply(&update(
                json!({"id": "l1", "currentBattle": null, "tags": {"ranked": null}}),
            ))
            .unwrap();
        assert_eq!(lobby.details().current_battle, None);
        assert_eq!(lobby.details().extra["tags"], json!({}));
    }

    #[test]
    fn a_patch_that_breaks_the_state_is_refused_whole() {
        let mut lobby = lobby();
        let before = lobby.clone();
        // A new player must come whole: this one lacks `team` and the rest.
        let error = lobby
            .apply(&update(json!({
                "id": "l1",
                "mapName": "changed",
                "players": {"352": {"id": "352"}}
            })))
            .unwrap_err();
        assert!(
            matches!(&error, PatchError::Invalid { detail } if detail.contains("missing field")),
            "{error}"
        );
        assert_eq!(lobby, before);
        // Well-typed, but out of range.
        let error = lobby
            .apply(&update(
                json!({"id": "l1", "allyTeamConfig": {"0": {"maxTeams": 0, "teams": {}}}}),
            ))
            .unwrap_err();
        assert_eq!(
            error,
            PatchError::Invalid {
                detail: "data.allyTeamConfig[\"0\"].maxTeams: 0 is below the minimum 1".into()
            }
        );
        assert_eq!(lobby, before);
        assert_eq!(
            lobby.apply(&update(json!({"id": "l2"}))),
            Err(PatchError::WrongLobby {
                lobby: "l1".into(),
                update: "l2".into()
            })
        );
    }

    fn overview(id: &str, players: u64) -> Value {
        json!({
            "id": id, "name": format!("lobby {id}"), "playerCount": players,
            "maxPlayerCount": 16, "mapName": "m", "engineVersion": "e",
            "gameVersion": "g", "currentBattle": null
        })
    }

    #[test]
    fn the_lobby_list_is_reset_and_patched() {
        let mut list = LobbyList::new();
        assert!(list.is_empty());
        let reset: LobbyListResetEventData = serde_json::from_value(
            json!({"lobbies": {"a": overview("a", 1), "b": overview("b", 2)}}),
        )
        .unwrap();
        list.reset(&reset);
        assert_eq!(list.len(), 2);
        let patch: LobbyListUpdatedEventData = serde_json::from_value(json!({"lobbies": {
            "a": {"id": "a", "playerCount": 5, "currentBattle": {"startedAt": 1}},
            "b": null,
            "c": overview("c", 0)
        }}))
        .unwrap();
        list.apply(&patch).unwrap();
        assert_eq!(list.lobbies().keys().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(list.get("a").unwrap().player_count, 5);
        assert_eq!(
            list.get("a")
                .unwrap()
                .current_battle
                .as_ref()
                .unwrap()
                .started_at,
            1
        );
        // A new lobby that does not come whole is refused, and nothing changes.
        let before = list.clone();
        let patch: LobbyListUpdatedEventData =
            serde_json::from_value(json!({"lobbies": {"a": null, "d": {"id": "d"}}})).unwrap();
        assert!(matches!(
            list.apply(&patch),
            Err(PatchError::Invalid { .. })
        ));
        assert_eq!(list, before);
    }
}
