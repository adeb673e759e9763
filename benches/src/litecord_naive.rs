//! Litebridge frames and the baselines our codec is measured against.

use serde_json::{Value, json};

/// One realistic frame per op, named by op.
pub const FRAMES: [(&str, &str); 7] = [
    ("hello", r#"{"op":0,"hb_interval":45000}"#),
    ("hello_ack", r#"{"op":1,"password":"f3b2c9d47a1e6c08b5d2"}"#),
    ("heartbeat", r#"{"op":2,"s":1742}"#),
    ("heartbeat_ack", r#"{"op":3}"#),
    (
        "request",
        r#"{"op":4,"w":"TOKEN_VALIDATE","a":["MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",{"guild_id":"198622483471925248","bot":false}],"n":"8f14e45fceea167a5a36dedd4bea2543"}"#,
    ),
    (
        "response",
        r#"{"op":5,"n":"8f14e45fceea167a5a36dedd4bea2543","r":{"valid":true,"user_id":"198622483471925248","scopes":["identify","guilds","messages.read"],"expires_at":1893456000}}"#,
    ),
    (
        "dispatch",
        r#"{"op":6,"w":"PRESENCE_UPDATE","a":[{"user_id":"198622483471925248","status":"online","game":{"name":"Litecord","type":0}}]}"#,
    ),
];

/// What a user without our crate gets after decoding: owned `Value`s picked out of a
/// `Value` tree.
#[derive(Debug, Clone, PartialEq)]
pub enum NaiveMessage {
    /// OP 0.
    Hello(u64),
    /// OP 1.
    HelloAck(String),
    /// OP 2.
    Heartbeat,
    /// OP 3.
    HeartbeatAck,
    /// OP 4.
    Request(String, Vec<Value>, Value),
    /// OP 5.
    Response(Value, Value),
    /// OP 6.
    Dispatch(String, Vec<Value>),
}

/// The naive decoder: parse into a `Value`, then pick fields.
pub fn naive_decode(frame: &[u8]) -> Option<NaiveMessage> {
    let mut value: Value = serde_json::from_slice(frame).ok()?;
    let object = value.as_object_mut()?;
    let op = object.get("op")?.as_u64()?;
    let mut take = |key: &str| object.remove(key);
    Some(match op {
        0 => NaiveMessage::Hello(take("hb_interval")?.as_u64()?),
        1 => NaiveMessage::HelloAck(take("password")?.as_str()?.to_owned()),
        2 => NaiveMessage::Heartbeat,
        3 => NaiveMessage::HeartbeatAck,
        4 => {
            let what = take("w")?.as_str()?.to_owned();
            let Value::Array(args) = take("a")? else {
                return None;
            };
            NaiveMessage::Request(what, args, take("n")?)
        }
        5 => NaiveMessage::Response(take("n")?, take("r")?),
        6 => {
            let what = take("w")?.as_str()?.to_owned();
            let Value::Array(args) = take("a")? else {
                return None;
            };
            NaiveMessage::Dispatch(what, args)
        }
        _ => return None,
    })
}

/// The naive encoder: build a `Value` with `json!`, then serialize it.
pub fn naive_encode(message: &NaiveMessage) -> String {
    let value = match message {
        NaiveMessage::Hello(interval) => json!({ "op": 0, "hb_interval": interval }),
        NaiveMessage::HelloAck(password) => json!({ "op": 1, "password": password }),
        NaiveMessage::Heartbeat => json!({ "op": 2 }),
        NaiveMessage::HeartbeatAck => json!({ "op": 3 }),
        NaiveMessage::Request(what, args, nonce) => {
            json!({ "op": 4, "w": what, "a": args, "n": nonce })
        }
        NaiveMessage::Response(nonce, data) => json!({ "op": 5, "n": nonce, "r": data }),
        NaiveMessage::Dispatch(what, args) => json!({ "op": 6, "w": what, "a": args }),
    };
    value.to_string()
}

/// The floor: parse the frame and throw it away.
pub fn floor_decode(frame: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(frame).is_ok()
}
