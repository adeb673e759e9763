//! Decodes one corpus in a loop, for profilers (`valgrind --tool=callgrind`):
//! `decode_loop CORPUS DECODER ROUNDS` with CORPUS `official`, `generated` or a
//! litebridge op name, and DECODER `typed`, `value` or `ignored`.

use std::hint::black_box;
use std::process::ExitCode;

use benches::{litecord_naive, tachyon_corpus, tachyon_naive};
use proto_core::Limits;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, decoder, rounds] = args.as_slice() else {
        eprintln!("usage: decode_loop CORPUS DECODER ROUNDS");
        return ExitCode::FAILURE;
    };
    let rounds: usize = rounds.parse().unwrap_or(1);
    let frames: Vec<String> = match corpus.as_str() {
        "official" => tachyon_corpus::official().unwrap_or_default(),
        "generated" => tachyon_corpus::generated(),
        op => litecord_naive::FRAMES
            .iter()
            .filter(|(name, _)| *name == op)
            .map(|(_, frame)| (*frame).to_owned())
            .collect(),
    };
    let litebridge = !matches!(corpus.as_str(), "official" | "generated");
    let limits = Limits::default();
    let mut ok = 0usize;
    for _ in 0..rounds {
        for frame in &frames {
            let bytes = black_box(frame.as_bytes());
            let accepted = match (decoder.as_str(), litebridge) {
                ("typed", false) => tachyon_proto::decode_slice(bytes).is_ok(),
                ("typed", true) => litecord_proto::decode(bytes, &limits).is_ok(),
                ("value", false) => tachyon_naive::naive_decode(bytes).is_some(),
                ("value", true) => litecord_naive::naive_decode(bytes).is_some(),
                (_, false) => tachyon_naive::floor_decode(bytes),
                (_, true) => litecord_naive::floor_decode(bytes),
            };
            ok += usize::from(accepted);
        }
    }
    println!("{ok} of {} decodes accepted", rounds * frames.len());
    ExitCode::SUCCESS
}
