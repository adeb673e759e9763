use std::time::Duration;

use tipt_proto::{
    Body, Frame as TiptFrame, GetNodeKey, Handshake, HandshakeResponse, MAX_FRAME_LEN, NodeKey,
    encode,
};

use super::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn bin(id: u8, kind: FrameKind<'_>) -> FrameData {
    FrameData::Binary(encode(&TiptFrame {
        id,
        ver: None,
        kind,
    }))
}

fn request(id: u8, reqt: NodeRequestType, body: Option<Body<'_>>) -> FrameData {
    bin(id, FrameKind::Request { reqt: reqt.0, body })
}

fn handshake(id: u8) -> FrameData {
    let body = Body::Handshake(Handshake { ver: "1.0.0" });
    request(id, NodeRequestType::HANDSHAKE, Some(body))
}

fn handshake_ok(id: u8) -> FrameData {
    let body = Body::HandshakeResponse(HandshakeResponse {
        ver: "1.0.0",
        comp: true,
    });
    bin(id, FrameKind::Response { body: Some(body) })
}

fn ok(id: u8) -> FrameData {
    bin(id, FrameKind::Response { body: None })
}

fn key_request(id: u8) -> FrameData {
    let body = Body::GetNodeKey(GetNodeKey {
        node: "peer.example",
    });
    request(id, NodeRequestType::GET_NODE_KEY, Some(body))
}

/// Observes `frames` (milliseconds after the start, direction, data), running
/// deadlines first, as the proxy does; returns each frame's violations and
/// the deadline violations, in order.
fn violations(frames: Vec<(u64, Direction, FrameData)>) -> Vec<Vec<String>> {
    let start = Instant::now();
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let mut all = Vec::new();
    for (ms, direction, data) in frames {
        let now = start + Duration::from_millis(ms);
        while let Some(deadline) = observer.poll_deadline().filter(|at| *at <= now) {
            let missed = observer.on_deadline(deadline);
            if !missed.is_empty() {
                all.push(missed);
            }
        }
        let frame = Frame {
            conn: 1,
            at: now - start,
            direction,
            data,
        };
        all.push(observer.observe(now, &frame).violations);
    }
    all
}

fn one(violation: &str) -> Vec<String> {
    vec![violation.to_owned()]
}

#[test]
fn a_frame_is_shown_as_encode_reads_it_or_with_the_decoders_error() {
    let start = Instant::now();
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let frame = Frame {
        conn: 1,
        at: Duration::ZERO,
        direction: C,
        data: key_request(4),
    };
    let FrameData::Binary(bytes) = &frame.data else {
        unreachable!("made binary above");
    };
    let seen = observer.observe(start, &frame);
    assert_eq!(seen.kind, "REQUEST GET_NODE_KEY");
    let shown = seen.value.unwrap();
    assert_eq!(
        shown,
        json!({"id": 4, "pakt": "REQUEST", "reqt": "GET_NODE_KEY", "body": {"node": "peer.example"}})
    );
    // What `encode tipt` makes of the rendering is the frame itself.
    let encoded = crate::tipt::encode_value(&shown.to_string()).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(encoded, hex);

    let bad = [0x81, 0xa1, b'x', 0x01];
    let error = decode_to_node(&bad).unwrap_err();
    // A fresh conversation: the first has broken the HANDSHAKE rule.
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let seen = observer.observe(
        start,
        &Frame {
            data: FrameData::Binary(bad.to_vec()),
            ..frame
        },
    );
    assert_eq!(seen.kind, "(bad frame)");
    assert_eq!(seen.value, Err(format!("{error}  [{error:?}]")));
    assert_eq!(seen.violations, one(&format!("bad frame: {error}")));
}

#[test]
fn a_conversation_by_the_rules_breaks_none() {
    let key = Body::NodeKey(NodeKey { key: b"key" });
    let frames = vec![
        (0, C, FrameData::Open),
        // Not the id the client machine would have picked.
        (1, C, handshake(5)),
        (2, S, handshake_ok(5)),
        (3, C, request(1, NodeRequestType::SIGN_IN, None)),
        (4, S, ok(1)),
        (5, C, key_request(2)),
        (6, S, bin(2, FrameKind::Response { body: Some(key) })),
        // The node asks the client something; the client answers.
        (
            7,
            S,
            bin(
                0,
                FrameKind::Request {
                    reqt: 9,
                    body: None,
                },
            ),
        ),
        (8, C, ok(0)),
        (
            9,
            C,
            FrameData::Close(Some((1000, "client closing".into()))),
        ),
        (
            10,
            S,
            FrameData::Close(Some((1000, "client closing".into()))),
        ),
    ];
    assert_eq!(violations(frames), vec![Vec::<String>::new(); 11]);
}

#[test]
fn a_request_before_handshake_is_flagged_once() {
    let frames = vec![(1, C, request(1, NodeRequestType::GET_INFO, None))];
    assert_eq!(violations(frames), vec![one("HANDSHAKE must come first")]);
}

#[test]
fn a_handshake_after_its_deadline_is_flagged_at_the_deadline() {
    let frames = vec![(3_500, C, handshake(0))];
    assert_eq!(
        violations(frames),
        vec![
            one("closes 1008 \"400: no HANDSHAKE within 3000 ms\""),
            // The node's machine closed: nothing more to check on its side.
            vec![],
        ]
    );
}

#[test]
fn a_response_to_no_request_is_flagged_once() {
    let frames = vec![(1, C, handshake(0)), (2, S, handshake_ok(0)), (3, S, ok(9))];
    assert_eq!(
        violations(frames),
        vec![vec![], vec![], one("response 9 matches no pending request")]
    );
}

#[test]
fn a_reused_request_id_is_flagged_once() {
    let sign_in = || request(1, NodeRequestType::SIGN_IN, None);
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, sign_in()),
        (4, C, sign_in()),
    ];
    assert_eq!(
        violations(frames),
        vec![vec![], vec![], vec![], one("request id 1 is still in use")]
    );
}

#[test]
fn an_oversize_frame_and_a_text_frame_are_flagged() {
    let oversize = vec![0xc0; MAX_FRAME_LEN + 1];
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, FrameData::Binary(oversize)),
    ];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![],
            one(&format!(
                "bad frame: frame of {} bytes exceeds the limit of {MAX_FRAME_LEN}",
                MAX_FRAME_LEN + 1
            )),
        ]
    );
    let frames = vec![(1, S, FrameData::Text("hello".into()))];
    assert_eq!(violations(frames), vec![one("text frame")]);
}

#[test]
fn sign_in_rules_are_flagged_on_the_request_and_the_refusal_matched() {
    let refusal = tipt_proto::RawBuf::string("GET_NODE_KEY requires signing in");
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, key_request(2)),
        (
            4,
            S,
            bin(
                2,
                FrameKind::Error {
                    err: refusal.as_raw(),
                },
            ),
        ),
        (5, C, request(1, NodeRequestType::SIGN_IN, None)),
        (6, S, ok(1)),
        (7, C, request(3, NodeRequestType::SIGN_IN, None)),
    ];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![],
            one("GET_NODE_KEY requires signing in (answered with `err`)"),
            vec![],
            vec![],
            vec![],
            one("SIGN_IN is not allowed once signed in (answered with `err`)"),
        ]
    );
}
