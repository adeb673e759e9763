//! How a simulated link or datagram path treats what crosses it.

use std::time::Duration;

/// The behaviour of one link or datagram path.
///
/// Stream links (TCP-like) honour only `latency` and `jitter`: they are reliable and
/// ordered per direction. Datagram paths honour every field. Probabilities are
/// clamped to `0.0..=1.0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way delay of every frame.
    pub latency: Duration,
    /// An extra delay drawn uniformly from `0..=jitter` per frame.
    pub jitter: Duration,
    /// The chance a datagram is lost.
    pub loss: f64,
    /// The chance a delivered datagram arrives a second time.
    pub duplicate: f64,
    /// The chance a datagram is held back by one more latency plus jitter (at least
    /// a millisecond), so that datagrams sent after it overtake it.
    pub reorder: f64,
}

impl LinkConfig {
    /// A path that delivers everything once, in order, after `latency`.
    pub fn ideal(latency: Duration) -> Self {
        LinkConfig {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
        }
    }
}

impl Default for LinkConfig {
    /// An ideal path with 1 ms of latency.
    fn default() -> Self {
        LinkConfig::ideal(Duration::from_millis(1))
    }
}
