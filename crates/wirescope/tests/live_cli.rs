//! The live commands run as a user would: `replay` of a capture file and
//! `decode --json`.

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

/// Writes `text` to a file of its own and returns its path.
fn capture_file(name: &str, text: &str) -> String {
    let path =
        std::env::temp_dir().join(format!("wirescope-{}-{name}.capture", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const CAPTURE: &str = r#"wirescope-capture 1 litebridge
0.000000 1 c>s open
0.001000 1 s>c text "{\"op\":0,\"hb_interval\":200}"
0.002000 1 c>s text "{\"op\":1,\"password\":\"helloworld\"}"
0.400000 time
0.401000 1 s>c close 4003 "heartbeat timeout"
"#;

#[test]
fn replay_checks_a_capture_with_its_recorded_times() {
    let path = capture_file("heartbeat", CAPTURE);
    let out = wirescope(&["replay", "litebridge", &path], "");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "[  0.000s] #1    c>s  open\n\
         [  0.001s] #1    s>c  HELLO         {\"hb_interval\":200,\"op\":0}\n\
         [  0.002s] #1    c>s  HELLO_ACK     {\"op\":1,\"password\":\"helloworld\"}\n\
         [  0.302s] #1    ---  deadline\n\
         [  0.302s] #1    !!!  closes 4003 \"heartbeat timeout\"\n\
         [  0.401s] #1    s>c  close         {\"code\":4003,\"reason\":\"heartbeat timeout\"}\n"
    );
    let out = wirescope(&["replay", "litebridge", "--json", &path], "");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[3],
        serde_json::json!({"t": 0.302, "conn": 1, "dir": null, "protocol": "litebridge",
            "kind": "deadline", "value": null,
            "violations": ["closes 4003 \"heartbeat timeout\""]})
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_hostile_capture_gets_a_line_numbered_error() {
    let path = capture_file(
        "hostile",
        "wirescope-capture 1 litebridge\n0.000000 1 c>s open\nx\n",
    );
    let out = wirescope(&["replay", "litebridge", &path], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "wirescope: capture line 3: bad time: \"x\"\n"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn decode_json_prints_one_object_per_frame() {
    let out = wirescope(
        &["decode", "litebridge", "--json"],
        "{\"op\":2}\n\n{\"op\":7}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"conn\":null,\"dir\":null,\"kind\":\"HEARTBEAT\",\"line\":1,\"protocol\":\"litebridge\",\
         \"t\":null,\"value\":{\"op\":2},\"violations\":[]}\n\
         {\"conn\":null,\"dir\":null,\"error\":\"unknown op 7  [UnknownOp(7)]\",\
         \"kind\":\"(bad frame)\",\"line\":3,\"protocol\":\"litebridge\",\"t\":null,\
         \"violations\":[]}\n"
    );
}
