//! ptpchat messages, one per verb, and the baselines our codec is measured against.

use serde::de::IgnoredAny;
use serde_json::Value;

/// One realistic latest-generation message per verb (and the early RELAY), named by verb.
pub const MESSAGES: [(&str, &str); 14] = [
    (
        "hello",
        r#"{"ttl":1,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"HELLO","msg_data":{"version":"ptpchat-rs 0.1.0","attributes":{"node_type":"client"}}}"#,
    ),
    (
        "ack",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"ACK","msg_data":{"msg_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}}"#,
    ),
    (
        "nack",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"NACK","msg_data":{"msg_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}}"#,
    ),
    (
        "join",
        r#"{"ttl":32,"flood":true,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"JOIN","msg_data":{"channel":"general","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}}"#,
    ),
    (
        "channel",
        r#"{"ttl":32,"flood":true,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"CHANNEL","msg_data":{"channel":"general","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a","members":[{"node_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e"},{"node_id":"c0ffee00-1234-4abc-8def-0123456789ab"},{"node_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6c"}],"closed":false}}"#,
    ),
    (
        "leave",
        r#"{"ttl":32,"flood":true,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"LEAVE","msg_data":{"channel":"general","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}}"#,
    ),
    (
        "getcertificate",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"GETCERTIFICATE","msg_data":{}}"#,
    ),
    (
        "certificate",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"CERTIFICATE","msg_data":{"recipient_id":"c0ffee00-1234-4abc-8def-0123456789ab","certificate":"MIIBszCCAVmgAwIBAgIUQ0k7kqI2bXyW4sQ8d0dQ9mJm3r0wCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMcHRwY2hhdCBub2RlMB4XDTI2MDEwMTAwMDAwMFoXDTI3MDEwMTAwMDAwMFowFzEVMBMGA1UEAwwMcHRwY2hhdCBub2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}}"#,
    ),
    (
        "getkey",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"GETKEY","msg_data":{"channel":"secret","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}}"#,
    ),
    (
        "key",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"KEY","msg_data":{"channel":"secret","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a","cipher":"aes-256-gcm","key":"q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng="}}"#,
    ),
    (
        "message",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","target_id":"c0ffee00-1234-4abc-8def-0123456789ab","msg_type":"MESSAGE","msg_data":{"recipient":[{"node_id":"c0ffee00-1234-4abc-8def-0123456789ab"}],"timestamp":"2026-12-07T19:00:00Z","channel":"general","channel_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a","message":"SGVsbG8sIHdvcmxkISBUaGlzIGlzIGEgc2lnbmVkIG1lc3NhZ2Uu"}}"#,
    ),
    (
        "routing",
        r#"{"ttl":1,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"ROUTING","msg_data":{"node_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","nodes":[{"node_id":"c0ffee00-1234-4abc-8def-0123456789ab","ttl":1},{"node_id":"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a","ttl":2},{"node_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6c","ttl":3},{"node_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6d","ttl":3}]}}"#,
    ),
    (
        "connect",
        r#"{"ttl":32,"flood":false,"msg_id":"6f1a3c2e-8a44-4f0e-9b7d-1c2d3e4f5a6b","sender_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","msg_type":"CONNECT","msg_data":{"src_node_id":"0b5e1d7c-2f3a-4c8b-a9e6-7d6c5b4a3f2e","dst_node_id":"c0ffee00-1234-4abc-8def-0123456789ab","dst":"","src":"198.51.100.7:40000"}}"#,
    ),
    (
        "relay",
        r#"{"msg_type":"RELAY","msg_data":{"to":"198.51.100.7:40000","data":"aGk="}}"#,
    ),
];

/// The naive decoder: parse into a `Value` and check the verb is one of ours.
pub fn naive_decode(message: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(message).ok()?;
    let verb = value.get("msg_type")?.as_str()?;
    const VERBS: [&str; 14] = [
        "HELLO",
        "ACK",
        "NACK",
        "JOIN",
        "CHANNEL",
        "LEAVE",
        "GETCERTIFICATE",
        "CERTIFICATE",
        "GETKEY",
        "KEY",
        "MESSAGE",
        "ROUTING",
        "CONNECT",
        "RELAY",
    ];
    VERBS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(verb))
        .then_some(value)
}

/// The naive encoder: serialize the `Value`.
pub fn naive_encode(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The floor: parse and discard.
pub fn floor_decode(message: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(message).is_ok()
}
