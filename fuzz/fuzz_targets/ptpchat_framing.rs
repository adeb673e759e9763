//! An arbitrary byte stream, cut at arbitrary points, through the length-prefix
//! frame decoder.
//!
//! Invariants: no panic; the frames do not depend on where the stream was cut; no
//! frame is longer than the maximum, and the decoder never holds more than one
//! frame's worth of bytes beyond what it was last given.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ptpchat_proto::codec::{FrameDecoder, PREFIX_LEN};

const MAX: usize = 64;

#[derive(Debug, Arbitrary)]
struct Input {
    stream: Vec<u8>,
    cuts: Vec<u8>,
}

/// Every frame of `pieces`, and whether the stream was refused.
fn frames<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<Vec<u8>>, bool) {
    let mut decoder = FrameDecoder::new(MAX);
    let mut out = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= MAX);
                    out.push(frame.to_vec());
                }
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
        assert!(
            decoder.buffered() < PREFIX_LEN + MAX,
            "{}",
            decoder.buffered()
        );
    }
    (out, false)
}

fuzz_target!(|input: Input| {
    let whole = frames(std::iter::once(&input.stream[..]));
    let mut pieces = Vec::new();
    let mut rest = &input.stream[..];
    for &cut in &input.cuts {
        let at = usize::from(cut).min(rest.len());
        let (piece, tail) = rest.split_at(at);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    assert_eq!(frames(pieces.into_iter()), whole);
});
