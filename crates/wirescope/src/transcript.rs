//! Printing an annotated transcript: who said what, when — as text, or with
//! `demo --json` as one JSON object per frame sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Map, Value, json};

/// Whether the demos print JSON objects instead of the text transcript.
static JSON: AtomicBool = AtomicBool::new(false);

/// Makes every transcript print one JSON object per frame and nothing else.
pub(crate) fn print_json() {
    JSON.store(true, Ordering::Relaxed);
}

/// One frame a demo peer sent, as `demo --json` prints it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentFrame {
    /// The frame's kind (`HELLO`, `request lobby/join`, `close`…).
    pub(crate) kind: String,
    /// The decoded frame as JSON, or the decoder's error.
    pub(crate) value: Result<Value, String>,
}

impl SentFrame {
    /// A close with its code and reason.
    pub(crate) fn close(close: &proto_core::Close) -> Self {
        SentFrame {
            kind: "close".to_owned(),
            value: Ok(json!({"code": close.code, "reason": close.reason})),
        }
    }
}

/// Prints transcript lines stamped with the time since the demo started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transcript {
    start: Instant,
}

impl Transcript {
    pub(crate) fn new() -> Self {
        Transcript {
            start: Instant::now(),
        }
    }

    /// A section heading (not printed as JSON).
    pub(crate) fn heading(&self, text: &str) {
        if !JSON.load(Ordering::Relaxed) {
            println!("\n== {text}");
        }
    }

    /// The blank line ending a demo (not printed as JSON).
    pub(crate) fn end(&self) {
        if !JSON.load(Ordering::Relaxed) {
            println!();
        }
    }

    /// One line: `[  0.123s] who  what` (not printed as JSON).
    pub(crate) fn line(&self, who: &str, what: impl std::fmt::Display) {
        if !JSON.load(Ordering::Relaxed) {
            let elapsed = self.start.elapsed().as_secs_f64();
            println!("[{elapsed:7.3}s] {who:<14} {what}");
        }
    }

    /// A frame `who` of `protocol` sent: the line `→ text`, or with `--json` the
    /// object `{"t", "conn": null, "dir": null, "from": who, "protocol", "kind",
    /// "value" | "error", "violations": []}`.
    pub(crate) fn sent(
        &self,
        who: &str,
        protocol: &str,
        frame: SentFrame,
        text: impl std::fmt::Display,
    ) {
        if !JSON.load(Ordering::Relaxed) {
            self.line(who, format!("→ {text}"));
            return;
        }
        let mut object = Map::new();
        object.insert("t".into(), json!(self.start.elapsed().as_secs_f64()));
        object.insert("conn".into(), Value::Null);
        object.insert("dir".into(), Value::Null);
        object.insert("from".into(), json!(who));
        object.insert("protocol".into(), json!(protocol));
        object.insert("kind".into(), json!(frame.kind));
        match frame.value {
            Ok(value) => object.insert("value".into(), value),
            Err(error) => object.insert("error".into(), json!(error)),
        };
        object.insert("violations".into(), json!([]));
        println!("{}", Value::Object(object));
    }
}
