//! `wirescope decode tipt` and `encode tipt`, run as a user would.

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
fn decode_reads_hex_and_base64_and_prints_json_or_the_exact_error() {
    let input = "84a2696400a470616b7400a47265717400a4626f647981a3766572a5312e302e30\n\
                 hKJpZACkcGFrdACkcmVxdACkYm9keYGjdmVypTEuMC4w\n\
                 \n\
                 82a26964cd0100a470616b7401\n\
                 84a2696407a470616b7400a47265717421a4626f647983a46e6f6465a9622e6578616d706c65a477616974c3a36d7367c403010203\n";
    let out = wirescope(&["decode", "tipt"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: REQUEST HANDSHAKE      {\"id\":0,\"pakt\":\"REQUEST\",\"reqt\":\"HANDSHAKE\",\"body\":{\"ver\":\"1.0.0\"}}\n\
         2: REQUEST HANDSHAKE      {\"id\":0,\"pakt\":\"REQUEST\",\"reqt\":\"HANDSHAKE\",\"body\":{\"ver\":\"1.0.0\"}}\n\
         4: error: `id` = 256 is outside its declared range  [IntegerOutOfRange { field: Id, value: 256 }]\n\
         5: REQUEST FORWARD        {\"id\":7,\"pakt\":\"REQUEST\",\"reqt\":\"FORWARD\",\"body\":{\"node\":\"b.example\",\"wait\":true,\"msg\":{\"$bin\":\"010203\"}}}\n"
    );
}

#[test]
fn encode_prints_the_canonical_frame_in_hex() {
    let input = r#"{"id":7,"pakt":"REQUEST","reqt":"FORWARD","body":{"wait":true,"node":"b.example","msg":{"$bin":"010203"}}}
{"id":1,"pakt":1,"err":"deny"}
{"id":3,"pakt":"EVENT","reqt":5,"body":{"$map":[[1,2]]}}
{"id":1,"pakt":"RESPONSE","reqt":1}
{"id":0,"pakt":"REQUEST","reqt":"HANDSHAKE","body":{"ver":"é"}}
"#;
    let out = wirescope(&["encode", "tipt"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1: 84a2696407a470616b7400a47265717421a4626f647983a46e6f6465a9622e6578616d706c65a477616974c3a36d7367c403010203\n\
         2: 83a2696401a470616b7401a3657272a464656e79\n\
         3: 84a2696403a470616b7402a47265717405a4626f6479810102\n\
         4: error: a RESPONSE carries no `reqt`\n\
         5: error: `ver` is not ASCII  [NotAscii { field: Ver }]\n"
    );
}

#[test]
fn decode_and_encode_round_trip() {
    let frame = "83a2696409a470616b7401a4626f647981a4726573709201c0";
    let decoded = wirescope(&["decode", "tipt"], frame);
    let text = String::from_utf8(decoded.stdout).unwrap();
    let json = text
        .split_once('{')
        .map(|(_, rest)| format!("{{{rest}"))
        .unwrap();
    let encoded = wirescope(&["encode", "tipt"], &json);
    assert_eq!(
        String::from_utf8(encoded.stdout).unwrap(),
        format!("1: {frame}\n")
    );
}
