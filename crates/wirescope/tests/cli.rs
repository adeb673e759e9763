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
