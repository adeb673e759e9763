//! The wirescope binary, run as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wirescope(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirescope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn decode_prints_typed_messages_and_exact_errors() {
    let input = "{\"op\":2,\"s\":5}\n\n{\"op\":0,\"hb_interval\":\"x\"}\nnope\n";
    let out = wirescope(&["decode", "litebridge"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: HEARTBEAT     Heartbeat\n\
         3: error: `hb_interval` must be an unsigned integer, found a string  \
         [WrongType { field: \"hb_interval\", expected: UnsignedInteger, found: String }]\n\
         4: error: not JSON: syntax error at line 1, column 2  [NotJson { line: 1, column: 2 }]\n"
    );
}

#[test]
fn encode_prints_the_canonical_frame() {
    let out = wirescope(
        &["encode", "litebridge"],
        "{ \"a\": [1, 2], \"w\": \"x\", \"op\": 6, \"extra\": true }\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: {\"op\":6,\"w\":\"x\",\"a\":[1,2]}\n"
    );
}

#[test]
fn limits_are_settable_from_the_command_line() {
    let out = wirescope(
        &["decode", "litebridge", "--max-frame-len", "8"],
        "{\"op\":2,\"s\":5}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: error: frame of 14 bytes exceeds the limit of 8  \
         [Limit(FrameTooLarge { len: 14, max: 8 })]\n"
    );
}

#[test]
fn a_missing_file_is_reported() {
    let out = wirescope(&["decode", "litebridge", "/nonexistent/frames.jsonl"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("wirescope: ")
    );
}

#[test]
fn tachyon_decode_reads_pretty_and_line_frames_and_validates_them() {
    let input = r#"{
  "type": "request",
  "messageId": "m1",
  "commandId": "lobby/join",
  "data": { "id": "lobby-1" }
}
{"type":"request","messageId":"m2","commandId":"lobby/join","data":{"id":7}}
{"type":"event","messageId":"m3","commandId":"lobby/dance"}
"#;
    let out = wirescope(&["decode", "tachyon"], input);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected_head = "1: request lobby/join (user → server, scopes: tachyon.lobby) messageId \"m1\"\n\
         LobbyJoinRequest(\n    LobbyJoinRequest {\n        message_id: \"m1\",\n";
    assert!(stdout.starts_with(expected_head), "{stdout}");
    assert!(
        stdout.contains(
            "\n7: error: invalid lobby/join request data: invalid type: integer `7`, \
             expected a string at line 1 column 74  [InvalidData { command: LobbyJoin, \
             kind: Request, detail: \"invalid type: integer `7`, expected a string at line 1 \
             column 74\" }]\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "8: error: unknown commandId \"lobby/dance\"  [UnknownCommand(\"lobby/dance\")]\n"
        ),
        "{stdout}"
    );
}

#[test]
fn tachyon_encode_prints_the_canonical_frame_and_stops_at_text_that_is_not_json() {
    let input = "{ \"data\": {\"id\": \"l\"}, \"commandId\": \"lobby/join\", \"messageId\": \"m\", \
                 \"type\": \"request\" }\n{\"type\": nope}\n";
    let out = wirescope(&["encode", "tachyon"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: {\"type\":\"request\",\"messageId\":\"m\",\"commandId\":\"lobby/join\",\"data\":{\"id\":\"l\"}}\n\
         2: error: not JSON: expected ident at line 2 column 11\n"
    );
}

#[test]
fn the_tachyon_demo_runs_its_whole_script() {
    let out = wirescope(&["demo", "tachyon"], "");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "refused: HTTP 400 Bad Request",
        "refused: HTTP 401 Unauthorized",
        "the server chose v0.1.tachyon",
        "response system/serverStats: success",
        "response lobby/create: success",
        "applied the patch",
        "\"reason\":\"unauthorized\"",
        "\"reason\":\"command_unimplemented\"",
        "\"reason\":\"invalid_request\"",
        "closed by the server: 1008",
        "→ ping",
        "← pong",
        "CLOSE 1008 \"ping timeout\"",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn ptpchat_decode_and_encode_read_both_generations() {
    let input = "{\"msg_type\":\"hello\"}\n{\n  \"ttl\": 1,\n  \"msg_type\": \"ACK\",\n  \"msg_data\": {\"msg_id\": \"nope\"}\n}\n{\"msg_type\":\"PING\"}\n";
    let out = wirescope(&["decode", "ptpchat"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: HELLO          Message { envelope: Envelope { ttl: None, flood: None, msg_id: None, \
         sender_id: None, target_id: None }, body: Hello(Hello { version: None, node_type: None }) }\n\
         2: error: `msg_id` is not a GUID  [BadGuid { field: \"msg_id\" }]\n\
         7: error: unknown verb \"PING\"  [UnknownVerb(\"PING\")]\n"
    );
    let out = wirescope(
        &["encode", "ptpchat"],
        "{\"msg_data\":{\"dst\":\"\",\"src\":\"40000\",\"x\":1},\"msg_type\":\"connect\",\"ttl\":3}\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: {\"ttl\":3,\"msg_type\":\"CONNECT\",\"msg_data\":{\"dst\":\"\",\"src\":\"40000\"}}\n"
    );
}

#[test]
fn regnode_decode_renders_hex_datagrams_and_encode_reads_the_rendering_back() {
    let input = "02 00 0002 aabb 000000006553f100\n\
                 06 01 04 f0 0000 f1 f2 000000006553f100 f3 \
                 1111111111111111111111111111111111111111111111111111111111111111 6869\n\
                 02 02 0000 000000006553f100 0010 30\n\
                 zz\n";
    let out = wirescope(&["decode", "regnode"], input);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fingerprint = "11".repeat(32);
    assert_eq!(
        stdout,
        format!(
            "1: params=02 shift=0 sig=aabb ts=1700000000 type=keepalive  # client -> peer\n\
             2: params=06 shift=1 sig= ts=1700000000 type=client-event fingerprint={fingerprint} \
             payload=6869  # client -> peer, shifted\n\
             3: error: datagram ends inside Certificate: 16 bytes needed, 1 left  \
             [Truncated {{ field: Certificate, needed: 16, available: 1 }}]\n\
             4: error: not hex: \"zz\"\n"
        )
    );
    let rendering = "params=02 shift=0 sig=aabb ts=1700000000 type=keepalive  # client -> peer\n\
                     params=e2 shift=0 sig= ts=1 type=other code=9 payload=010203\n";
    let out = wirescope(&["encode", "regnode"], rendering);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: 02000002aabb000000006553f100\n2: e20900000000000000000001010203\n"
    );
}

#[test]
fn the_regnode_demo_runs_its_whole_script() {
    let out = wirescope(&["demo", "regnode"], "");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "REGISTER cert",
        "Registered { peer: 127.0.0.1:",
        "KEEPALIVE",
        "message from alice: \"hello bob\"",
        "dropped: replay: packet already seen",
        "dropped: bad signature: signature does not verify",
        "no answer from the peer",
        "message from bob at the new port: \"still there?\"",
        "BadSignature: 1",
        "Replay: 1",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let codes: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split_once("code for ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().last())
        .collect();
    assert_eq!(codes.len(), 2, "{stdout}");
    assert_eq!(codes[0], codes[1]);
    assert_eq!(codes[0].len(), 6);
}
