//! The codec against golden vectors written by hand from the spec, and a table of
//! bad input.

use tipt_proto::{
    Body, DecodeError, Field, Forward, Forwarded, Frame, FrameKind, GetNodeKey, Handshake,
    HandshakeResponse, Kind, MAX_FRAME_LEN, NodeKey, RawValue, decode, decode_to_node, encode,
    is_domain_name,
};

const ID: &[u8] = b"\xa2id";
const PAKT: &[u8] = b"\xa4pakt";
const REQT: &[u8] = b"\xa4reqt";
const BODY: &[u8] = b"\xa4body";
const ERR: &[u8] = b"\xa3err";
const VER: &[u8] = b"\xa3ver";

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn request(id: u8, reqt: u8, body: Body<'_>) -> Frame<'_> {
    Frame {
        id,
        ver: None,
        kind: FrameKind::Request {
            reqt,
            body: Some(body),
        },
    }
}

fn response(id: u8, body: Option<Body<'_>>) -> Frame<'_> {
    Frame {
        id,
        ver: None,
        kind: FrameKind::Response { body },
    }
}

/// Encodes `frame`, checks it against `golden`, and decodes `golden` back to it
/// (bodies typed as the node types them).
fn golden(frame: Frame<'_>, golden: &[u8]) {
    assert_eq!(encode(&frame), golden, "{frame:?}");
    let decoded = decode(golden).unwrap();
    assert_eq!(decoded.id, frame.id);
    assert_eq!(decoded.packet_type(), frame.packet_type());
}

#[test]
fn handshake_request_and_response() {
    let frame = request(0, 0, Body::Handshake(Handshake { ver: "1.0.0" }));
    let bytes = cat(&[
        b"\x84",
        ID,
        b"\x00",
        PAKT,
        b"\x00",
        REQT,
        b"\x00",
        BODY,
        b"\x81",
        VER,
        b"\xa51.0.0",
    ]);
    golden(frame, &bytes);
    assert_eq!(decode_to_node(&bytes).unwrap(), frame);

    let answer = HandshakeResponse {
        ver: "1.2.0",
        comp: true,
    };
    let frame = response(0, Some(Body::HandshakeResponse(answer)));
    let bytes = cat(&[
        b"\x83",
        ID,
        b"\x00",
        PAKT,
        b"\x01",
        BODY,
        b"\x82",
        VER,
        b"\xa51.2.0",
        b"\xa4comp\xc3",
    ]);
    golden(frame, &bytes);
    let FrameKind::Response {
        body: Some(Body::Raw(raw)),
    } = decode(&bytes).unwrap().kind
    else {
        panic!("a response with a body");
    };
    assert_eq!(HandshakeResponse::decode(raw), Ok(answer));
}

#[test]
fn smallest_widths_and_node_in_str8_or_str16() {
    // id 200 needs uint8; a 20-byte node is a fixstr.
    let node = "n".repeat(20);
    let frame = request(200, 0x20, Body::GetNodeKey(GetNodeKey { node: &node }));
    let bytes = cat(&[
        b"\x84",
        ID,
        b"\xcc\xc8",
        PAKT,
        b"\x00",
        REQT,
        b"\x20",
        BODY,
        b"\x81\xa4node\xb4",
        node.as_bytes(),
    ]);
    golden(frame, &bytes);
    // 40 bytes: str8.
    let node = "n".repeat(40);
    let frame = request(1, 0x20, Body::GetNodeKey(GetNodeKey { node: &node }));
    let bytes = cat(&[
        b"\x84",
        ID,
        b"\x01",
        PAKT,
        b"\x00",
        REQT,
        b"\x20",
        BODY,
        b"\x81\xa4node\xd9\x28",
        node.as_bytes(),
    ]);
    golden(frame, &bytes);
    // 500 bytes, the most allowed: str16 (the spec's erratum).
    let node = "n".repeat(500);
    let frame = request(1, 0x20, Body::GetNodeKey(GetNodeKey { node: &node }));
    let bytes = cat(&[
        b"\x84",
        ID,
        b"\x01",
        PAKT,
        b"\x00",
        REQT,
        b"\x20",
        BODY,
        b"\x81\xa4node\xda\x01\xf4",
        node.as_bytes(),
    ]);
    golden(frame, &bytes);
    assert_eq!(decode_to_node(&bytes).unwrap(), frame);
    // The same name in a needlessly wide str16 still decodes.
    let wide = cat(&[
        b"\x84",
        ID,
        b"\x01",
        PAKT,
        b"\x00",
        REQT,
        b"\x20",
        BODY,
        b"\x81\xa4node\xda\x00\x01n",
    ]);
    let frame = request(1, 0x20, Body::GetNodeKey(GetNodeKey { node: "n" }));
    assert_eq!(decode_to_node(&wide).unwrap(), frame);
}

#[test]
fn node_key_in_bin8_and_bin16() {
    let key = [7u8; 300];
    let frame = response(3, Some(Body::NodeKey(NodeKey { key: &key })));
    let bytes = cat(&[
        b"\x83",
        ID,
        b"\x03",
        PAKT,
        b"\x01",
        BODY,
        b"\x81\xa3key\xc5\x01\x2c",
        &key,
    ]);
    golden(frame, &bytes);
    let frame = response(3, Some(Body::NodeKey(NodeKey { key: &key[..3] })));
    let bytes = cat(&[
        b"\x83",
        ID,
        b"\x03",
        PAKT,
        b"\x01",
        BODY,
        b"\x81\xa3key\xc4\x03\x07\x07\x07",
    ]);
    golden(frame, &bytes);
}

#[test]
fn forward_request_and_both_responses() {
    let msg = vec![0xab; 70_000];
    let forward = Forward {
        node: "b.example",
        wait: true,
        msg: &msg,
    };
    let frame = request(9, 0x21, Body::Forward(forward));
    let bytes = cat(&[
        b"\x84",
        ID,
        b"\x09",
        PAKT,
        b"\x00",
        REQT,
        b"\x21",
        BODY,
        b"\x83\xa4node\xa9b.example",
        b"\xa4wait\xc3\xa3msg\xc6\x00\x01\x11\x70",
        &msg,
    ]);
    golden(frame, &bytes);
    let decoded = decode_to_node(&bytes).unwrap();
    let FrameKind::Request {
        body: Some(Body::Forward(got)),
        ..
    } = decoded.kind
    else {
        panic!("a FORWARD");
    };
    // Borrowed from the frame, not copied.
    assert_eq!(got.msg.as_ptr(), bytes[bytes.len() - msg.len()..].as_ptr());

    // wait: false is answered with a nil body.
    let frame = response(9, Some(Body::NIL));
    let bytes = cat(&[b"\x83", ID, b"\x09", PAKT, b"\x01", BODY, b"\xc0"]);
    golden(frame, &bytes);
    assert_eq!(Forwarded::decode(Some(RawValue::NIL)), Ok(None));
    assert_eq!(Forwarded::decode(None), Ok(None));

    let frame = response(9, Some(Body::Forwarded(Forwarded { resp: b"ok" })));
    let bytes = cat(&[
        b"\x83",
        ID,
        b"\x09",
        PAKT,
        b"\x01",
        BODY,
        b"\x81\xa4resp\xc4\x02ok",
    ]);
    golden(frame, &bytes);
}

#[test]
fn raw_bodies_errors_events_and_the_draft_ver() {
    // REGISTER's body is not defined: carried byte-exact, whatever map it is.
    let body = b"\x82\xa1a\x01\x01\x92\xc0\xc4\x01x";
    let frame = request(4, 1, Body::Raw(RawValue::new(body).unwrap()));
    let bytes = cat(&[
        b"\x84", ID, b"\x04", PAKT, b"\x00", REQT, b"\x01", BODY, body,
    ]);
    golden(frame, &bytes);
    assert_eq!(decode_to_node(&bytes).unwrap(), frame);

    let err = RawValue::new(b"\xa6denied").unwrap();
    let frame = Frame {
        id: 4,
        ver: None,
        kind: FrameKind::Error { err },
    };
    golden(
        frame,
        &cat(&[b"\x83", ID, b"\x04", PAKT, b"\x01", ERR, b"\xa6denied"]),
    );

    let frame = Frame {
        id: 0,
        ver: None,
        kind: FrameKind::Event {
            reqt: 0x7f,
            body: None,
        },
    };
    golden(
        frame,
        &cat(&[b"\x83", ID, b"\x00", PAKT, b"\x02", REQT, b"\x7f"]),
    );

    // The draft's root `ver`, first.
    let frame = Frame {
        id: 1,
        ver: Some("1.0.0"),
        kind: FrameKind::Event {
            reqt: 5,
            body: None,
        },
    };
    let bytes = cat(&[
        b"\x84",
        VER,
        b"\xa51.0.0",
        ID,
        b"\x01",
        PAKT,
        b"\x02",
        REQT,
        b"\x05",
    ]);
    golden(frame, &bytes);
    assert_eq!(decode(&bytes).unwrap(), frame);

    // A RESPONSE may carry `reqt: nil`; a reserved request type is kept.
    let bytes = cat(&[b"\x83", ID, b"\x01", PAKT, b"\x01", REQT, b"\xc0"]);
    assert_eq!(decode(&bytes).unwrap(), response(1, None));
    let bytes = cat(&[b"\x83", ID, b"\x01", PAKT, b"\x00", REQT, b"\x10"]);
    assert_eq!(
        decode_to_node(&bytes).unwrap().kind,
        FrameKind::Request {
            reqt: 0x10,
            body: None
        }
    );
}

/// A request of type `reqt` whose body is `body`, verbatim.
fn body_of(reqt: u8, body: &[u8]) -> Vec<u8> {
    cat(&[
        b"\x84",
        ID,
        b"\x01",
        PAKT,
        b"\x00",
        REQT,
        &[reqt],
        BODY,
        body,
    ])
}

#[test]
fn truncation_at_every_byte_is_refused() {
    let frame = encode(&request(
        7,
        0x21,
        Body::Forward(Forward {
            node: "a.example",
            wait: false,
            msg: b"secret",
        }),
    ));
    for cut in 0..frame.len() {
        let error = decode_to_node(&frame[..cut]).unwrap_err();
        assert!(
            matches!(error, DecodeError::Truncated { .. }),
            "cut at {cut}: {error:?}"
        );
    }
    assert!(decode_to_node(&frame).is_ok());
}

#[test]
fn bad_input_table() {
    let header = |pakt: &[u8]| cat(&[ID, b"\x01", PAKT, pakt]);
    let req = |rest: &[u8], entries: u8| {
        cat(&[
            &[0x80 | (entries + 3)],
            &header(b"\x00"),
            REQT,
            b"\x00",
            rest,
        ])
    };
    let huge_str = cat(&[b"\xdb\xff\xff\xff\xff", b"x"]);
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        (
            "root is an array",
            b"\x93\x01\x02\x03".to_vec(),
            DecodeError::WrongType {
                field: Field::Root,
                expected: Kind::Map,
                found: Kind::Array,
            },
        ),
        (
            "map of huge declared length",
            b"\xdf\xff\xff\xff\xff\xa2id\x01".to_vec(),
            DecodeError::Truncated {
                needed: 0x1_ffff_fffe,
                left: 4,
            },
        ),
        (
            "string of huge declared length",
            cat(&[b"\x81", &huge_str]),
            DecodeError::Truncated {
                needed: 0xffff_ffff,
                left: 1,
            },
        ),
        (
            "key not a string",
            b"\x81\x01\x01".to_vec(),
            DecodeError::KeyNotString { found: Kind::Int },
        ),
        (
            "unknown root key",
            cat(&[b"\x83", &header(b"\x01"), b"\xa4what\x01"]),
            DecodeError::UnknownKey {
                map: Field::Root,
                at: 11,
            },
        ),
        (
            "duplicate id",
            cat(&[b"\x83", &header(b"\x01"), ID, b"\x02"]),
            DecodeError::DuplicateKey(Field::Id),
        ),
        (
            "missing id",
            cat(&[b"\x81", PAKT, b"\x01"]),
            DecodeError::MissingField(Field::Id),
        ),
        (
            "missing pakt",
            cat(&[b"\x81", ID, b"\x01"]),
            DecodeError::MissingField(Field::Pakt),
        ),
        (
            "missing reqt on a request",
            cat(&[b"\x82", &header(b"\x00")]),
            DecodeError::MissingField(Field::Reqt),
        ),
        (
            "nil reqt on an event",
            cat(&[b"\x83", &header(b"\x02"), REQT, b"\xc0"]),
            DecodeError::WrongType {
                field: Field::Reqt,
                expected: Kind::Int,
                found: Kind::Nil,
            },
        ),
        (
            "reqt on a response",
            cat(&[b"\x83", &header(b"\x01"), REQT, b"\x00"]),
            DecodeError::ReqtOnResponse,
        ),
        (
            "err on a request",
            req(&cat(&[ERR, b"\xc0"]), 1),
            DecodeError::ErrOutsideResponse,
        ),
        (
            "err beside body",
            cat(&[b"\x84", &header(b"\x01"), ERR, b"\x01", BODY, b"\xc0"]),
            DecodeError::BodyWithErr,
        ),
        (
            "body not a map",
            req(&cat(&[BODY, b"\x92\x01\x02"]), 1),
            DecodeError::BodyNotMap { found: Kind::Array },
        ),
        (
            "id too wide",
            cat(&[b"\x82", ID, b"\xcd\x01\x00", PAKT, b"\x01"]),
            DecodeError::IntegerOutOfRange {
                field: Field::Id,
                value: 256,
            },
        ),
        (
            "negative id",
            cat(&[b"\x82", ID, b"\xff", PAKT, b"\x01"]),
            DecodeError::IntegerOutOfRange {
                field: Field::Id,
                value: -1,
            },
        ),
        (
            "pakt beyond a positive fixint",
            cat(&[b"\x82", ID, b"\x01", PAKT, b"\xcc\x80"]),
            DecodeError::IntegerOutOfRange {
                field: Field::Pakt,
                value: 128,
            },
        ),
        (
            "huge reqt",
            cat(&[
                b"\x83",
                &header(b"\x00"),
                REQT,
                b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
            ]),
            DecodeError::IntegerOutOfRange {
                field: Field::Reqt,
                value: u64::MAX.into(),
            },
        ),
        (
            "unknown packet type",
            cat(&[b"\x82", &header(b"\x03")]),
            DecodeError::UnknownPacketType(3),
        ),
        (
            "id as a string",
            cat(&[b"\x82", ID, b"\xa11", PAKT, b"\x01"]),
            DecodeError::WrongType {
                field: Field::Id,
                expected: Kind::Int,
                found: Kind::Str,
            },
        ),
        (
            "trailing bytes",
            cat(&[b"\x82", &header(b"\x01"), b"\xc0\xc0"]),
            DecodeError::TrailingBytes { len: 2 },
        ),
        (
            "reserved marker",
            cat(&[b"\x82", ID, b"\xc1"]),
            DecodeError::ReservedMarker { at: 4 },
        ),
        (
            "handshake without body",
            req(b"", 0),
            DecodeError::MissingField(Field::Body),
        ),
        (
            "handshake ver not ASCII",
            body_of(0x00, &cat(&[b"\x81", VER, b"\xa2", "é".as_bytes()])),
            DecodeError::NotAscii { field: Field::Ver },
        ),
        (
            "handshake ver over 64 bytes",
            body_of(0x00, &cat(&[b"\x81", VER, b"\xd9\x41", &[b'1'; 65]])),
            DecodeError::TooLong {
                field: Field::Ver,
                len: 65,
                max: 64,
            },
        ),
        (
            "node over 500 bytes",
            body_of(0x20, &cat(&[b"\x81\xa4node\xda\x01\xf5", &[b'n'; 501]])),
            DecodeError::TooLong {
                field: Field::Node,
                len: 501,
                max: 500,
            },
        ),
        (
            "node not UTF-8",
            body_of(0x20, b"\x81\xa4node\xa2\xff\xfe"),
            DecodeError::NotUtf8 { field: Field::Node },
        ),
        (
            "msg over 2 MB",
            body_of(
                0x21,
                &cat(&[
                    b"\x83\xa4node\xa1n\xa4wait\xc2\xa3msg\xc6\x00\x20\x00\x01",
                    &[0; 2 * 1024 * 1024 + 1],
                ]),
            ),
            DecodeError::TooLong {
                field: Field::Msg,
                len: 2 * 1024 * 1024 + 1,
                max: 2 * 1024 * 1024,
            },
        ),
        (
            "msg as a string",
            body_of(0x21, b"\x83\xa4node\xa1n\xa4wait\xc2\xa3msg\xa1m"),
            DecodeError::WrongType {
                field: Field::Msg,
                expected: Kind::Bin,
                found: Kind::Str,
            },
        ),
        (
            "wait as an integer",
            body_of(0x21, b"\x83\xa4node\xa1n\xa4wait\x01\xa3msg\xc4\x00"),
            DecodeError::WrongType {
                field: Field::Wait,
                expected: Kind::Bool,
                found: Kind::Int,
            },
        ),
        (
            "missing msg",
            body_of(0x21, b"\x82\xa4node\xa1n\xa4wait\xc2"),
            DecodeError::MissingField(Field::Msg),
        ),
        (
            "duplicate node",
            body_of(0x20, b"\x82\xa4node\xa1n\xa4node\xa1n"),
            DecodeError::DuplicateKey(Field::Node),
        ),
        (
            "unknown body key",
            body_of(0x20, b"\x82\xa4node\xa1n\xa3why\xc0"),
            DecodeError::UnknownKey {
                map: Field::Body,
                at: 8,
            },
        ),
        (
            "handshake body nil",
            body_of(0x00, b"\xc0"),
            DecodeError::WrongType {
                field: Field::Body,
                expected: Kind::Map,
                found: Kind::Nil,
            },
        ),
        (
            "msg declared longer than the frame",
            body_of(
                0x21,
                b"\x83\xa4node\xa1n\xa4wait\xc2\xa3msg\xc6\x00\x20\x00\x00",
            ),
            DecodeError::Truncated {
                needed: 2 * 1024 * 1024,
                left: 0,
            },
        ),
        (
            "frame over 2.1 MB, refused before parsing",
            vec![0xc0; MAX_FRAME_LEN + 1],
            DecodeError::FrameTooLarge {
                len: MAX_FRAME_LEN + 1,
                max: MAX_FRAME_LEN,
            },
        ),
    ];
    for (name, frame, expected) in cases {
        assert_eq!(decode_to_node(&frame), Err(expected), "{name}");
    }
}

#[test]
fn response_bodies_refuse_what_the_spec_forbids() {
    let key = cat(&[b"\x81\xa3key\xc6\x00\x00\x20\x01", &[0; 8193]]);
    assert_eq!(
        NodeKey::decode(RawValue::new(&key).unwrap()),
        Err(DecodeError::TooLong {
            field: Field::Key,
            len: 8193,
            max: 8192
        })
    );
    let comp = b"\x82\xa3ver\xa11\xa4comp\xc0";
    assert_eq!(
        HandshakeResponse::decode(RawValue::new(comp).unwrap()),
        Err(DecodeError::WrongType {
            field: Field::Comp,
            expected: Kind::Bool,
            found: Kind::Nil
        })
    );
    assert_eq!(
        Forwarded::decode(Some(RawValue::new(b"\x80").unwrap())),
        Err(DecodeError::MissingField(Field::Resp))
    );
    assert_eq!(
        RawValue::new(b"\xc0\xc0"),
        Err(DecodeError::TrailingBytes { len: 1 })
    );
    assert_eq!(
        RawValue::new(b"\x92\x01"),
        Err(DecodeError::Truncated { needed: 2, left: 1 })
    );
}

#[test]
fn domain_names() {
    for good in [
        "node.example",
        "a",
        "xn--bcher-kva.example.",
        "bücher.example",
        "a-b.c",
    ] {
        assert!(is_domain_name(good), "{good}");
    }
    for bad in [
        "", ".", "a..b", "-a.b", "a-.b", "a/b", "a@b", "a:443", "a b", "a?b", "a#b", "a%2f",
    ] {
        assert!(!is_domain_name(bad), "{bad}");
    }
    assert!(!is_domain_name(&"a".repeat(64)));
}
