//! Any message from the exported `arbitrary` generator: its encoding decodes back
//! to it and re-encodes to the same bytes, alone and length-prefixed through the
//! stream decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_core::Limits;
use ptpchat_proto::codec::{FrameDecoder, encode_frame};
use ptpchat_proto::{Message, decode, encode};

fuzz_target!(|message: Message| {
    let limits = Limits::default();
    let bytes = encode(&message);
    if bytes.len() > limits.max_frame_len {
        return;
    }
    let decoded = decode(&bytes, &limits).expect("a generated message decodes");
    assert_eq!(decoded, message);
    assert_eq!(encode(&decoded), bytes, "encoding is canonical");
    let mut framing = FrameDecoder::new(limits.max_frame_len);
    framing.push(&encode_frame(&message));
    let body = framing.next_frame().expect("fits").expect("whole frame");
    assert_eq!(&body[..], &bytes[..]);
    assert_eq!(framing.buffered(), 0);
});
