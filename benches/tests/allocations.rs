//! Heap allocations per decode, counted: litebridge control frames must cost none,
//! and typed Tachyon frames fewer than their `Value` baseline.

use benches::alloc_counter::{CountingAllocator, allocations_during};
use benches::litecord_naive::{FRAMES, naive_decode};
use benches::tachyon_naive::{frames as tachyon_frames, naive_decode as tachyon_naive_decode};
use litecord_proto::{Message, decode};
use proto_core::Limits;
use tachyon_proto::decode_slice;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn control_frames_decode_without_allocating() {
    let limits = Limits::default();
    let control = [
        (r#"{"op":0,"hb_interval":45000}"#, 0),
        (r#"{"op":2}"#, 0),
        (r#"{"op":2,"s":1742}"#, 0),
        (r#"{"op":3}"#, 0),
        (r#"{"op":1,"password":"helloworld"}"#, 0),
        (r#"{"s":"unrelated","op":2,"x":[1,2,3]}"#, 0),
    ];
    for (frame, expected) in control {
        let (message, allocations) = allocations_during(|| decode(frame.as_bytes(), &limits));
        assert!(message.is_ok(), "{frame}");
        assert_eq!(allocations, expected, "{frame}");
    }
}

#[test]
fn requests_allocate_only_their_argument_list() {
    let limits = Limits::default();
    let (message, allocations) =
        allocations_during(|| decode(br#"{"op":4,"w":"x","a":[1,"two"],"n":7}"#, &limits));
    assert!(matches!(message, Ok(Message::Request(_))));
    assert_eq!(allocations, 1);
    // Reading past a value nested two levels or more, serde_json keeps its bracket
    // stack in a buffer: one more allocation, whatever the depth.
    let (message, allocations) =
        allocations_during(|| decode(br#"{"op":4,"w":"x","a":[1,{"k":[[[2]]]}],"n":7}"#, &limits));
    assert!(matches!(message, Ok(Message::Request(_))));
    assert_eq!(allocations, 2);
    let (message, allocations) =
        allocations_during(|| decode(br#"{"op":5,"n":7,"r":{"k":2}}"#, &limits));
    assert!(matches!(message, Ok(Message::Response(_))));
    assert_eq!(allocations, 0);
    let (message, allocations) =
        allocations_during(|| decode(br#"{"op":5,"n":7,"r":{"k":[2,3]}}"#, &limits));
    assert!(matches!(message, Ok(Message::Response(_))));
    assert_eq!(allocations, 1);
}

#[test]
fn the_counter_sees_what_the_naive_baseline_allocates() {
    for (name, frame) in FRAMES {
        let (decoded, allocations) = allocations_during(|| naive_decode(frame.as_bytes()));
        assert!(decoded.is_some(), "{name}");
        assert!(allocations > 0, "{name}");
    }
}

#[test]
fn typed_tachyon_decoding_allocates_less_than_the_value_baseline() {
    for (name, frame) in tachyon_frames() {
        let (typed, typed_allocations) = allocations_during(|| decode_slice(frame.as_bytes()));
        let (naive, naive_allocations) =
            allocations_during(|| tachyon_naive_decode(frame.as_bytes()));
        assert!(typed.is_ok(), "{name}");
        assert!(naive.is_some(), "{name}");
        assert!(
            typed_allocations < naive_allocations,
            "{name}: typed {typed_allocations}, naive {naive_allocations}"
        );
    }
}

#[test]
fn tipt_decodes_every_packet_without_allocating_and_borrows_payloads() {
    use benches::tipt_naive::{frames, naive_decode, typed_decode};
    use tipt_proto::{Body, FrameKind, decode_to_node};

    for (name, packet, frame) in frames() {
        let (typed, allocations) = allocations_during(|| typed_decode(packet, &frame));
        assert!(typed.is_ok(), "{name}");
        // HANDSHAKE included: not one allocation for any packet.
        assert_eq!(allocations, 0, "{name}");
        let (naive, naive_allocations) = allocations_during(|| naive_decode(&frame));
        assert!(naive.is_some(), "{name}");
        assert!(naive_allocations > 0, "{name}");
    }
    let (_, _, large) = frames().pop().unwrap();
    let (decoded, allocations) = allocations_during(|| decode_to_node(&large));
    assert_eq!(allocations, 0);
    let Ok(FrameKind::Request {
        body: Some(Body::Forward(forward)),
        ..
    }) = decoded.map(|frame| frame.kind)
    else {
        panic!("the 2 MB frame is a FORWARD");
    };
    assert_eq!(forward.msg.len(), 2 * 1024 * 1024);
    // The payload is the frame's own bytes, not a copy.
    let offset = large.len() - forward.msg.len();
    assert_eq!(forward.msg.as_ptr(), large[offset..].as_ptr());
}

#[test]
fn regnode_root_packets_decode_without_allocating() {
    use benches::regnode_fixtures::datagrams;
    let fixtures = datagrams();
    assert_eq!(fixtures.len(), 12, "six types, two layouts");
    for (name, bytes) in fixtures {
        let (packet, allocations) = allocations_during(|| regnode_proto::decode(&bytes));
        assert!(packet.is_ok(), "{name}");
        assert_eq!(allocations, 0, "{name}");
    }
}
