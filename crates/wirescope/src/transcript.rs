//! Printing an annotated transcript: who said what, when.

use std::time::Instant;

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

    /// A section heading.
    pub(crate) fn heading(&self, text: &str) {
        println!("\n== {text}");
    }

    /// One line: `[  0.123s] who  what`.
    pub(crate) fn line(&self, who: &str, what: impl std::fmt::Display) {
        let elapsed = self.start.elapsed().as_secs_f64();
        println!("[{elapsed:7.3}s] {who:<14} {what}");
    }
}
