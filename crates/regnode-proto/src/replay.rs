//! Replay protection: the timestamp window around now, the bounded set of packets
//! already seen inside it, and the wall-clock anchor that turns `Instant`s into Unix
//! seconds.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Maps the driver's `Instant`s to Unix time, from one reading the application took
/// when it built the machine: machines never read a clock themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// An instant.
    pub at: Instant,
    /// The Unix time (UTC) at that instant.
    pub unix: Duration,
}

impl WallClock {
    /// `unix` was the Unix time at `at`.
    pub fn new(at: Instant, unix: Duration) -> Self {
        WallClock { at, unix }
    }

    /// The Unix time in whole seconds at `now`.
    pub fn unix_secs(&self, now: Instant) -> u64 {
        let unix = match now.checked_duration_since(self.at) {
            Some(after) => self.unix.saturating_add(after),
            None => self.unix.saturating_sub(self.at.duration_since(now)),
        };
        unix.as_secs()
    }
}

/// How replays are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayConfig {
    /// How far a timestamp may be from now, either way, and how long a seen packet is
    /// remembered.
    pub window: Duration,
    /// The most packets remembered at once. When full, the oldest is forgotten and
    /// every timestamp up to its own is refused from then on, so memory stays bounded
    /// without letting a forgotten packet back in.
    pub capacity: usize,
}

impl Default for ReplayConfig {
    /// A 60-second window and 65,536 remembered packets.
    fn default() -> Self {
        ReplayConfig {
            window: Duration::from_secs(60),
            capacity: 65_536,
        }
    }
}

/// Why a signed packet was refused as a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The timestamp is further from now than the window allows.
    #[error("timestamp {timestamp} is outside the window around {now}")]
    OutsideWindow {
        /// The packet's timestamp.
        timestamp: u64,
        /// Now, in Unix seconds.
        now: u64,
    },
    /// The same sender already sent the same signed bytes.
    #[error("packet already seen")]
    Seen,
    /// The timestamp is at or below that of a packet forgotten to bound memory.
    #[error("timestamp {timestamp} is not after {floor}, the last one forgotten")]
    Forgotten {
        /// The packet's timestamp.
        timestamp: u64,
        /// The newest timestamp forgotten.
        floor: u64,
    },
}

/// The identity of one signed packet: a digest of its sender and signed bytes.
pub type ReplayKey = [u8; 16];

/// Remembers the signed packets seen inside the window.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    config: ReplayConfig,
    seen: BTreeSet<(u64, ReplayKey)>,
    floor: Option<u64>,
}

impl ReplayGuard {
    /// An empty guard.
    pub fn new(config: ReplayConfig) -> Self {
        ReplayGuard {
            config,
            seen: BTreeSet::new(),
            floor: None,
        }
    }

    /// The key of a packet from `sender` whose signature covers `signed`
    /// (`timestamp || payload`). The type byte is unsigned and so left out: a replay
    /// with its type changed is still a replay.
    pub fn key(sender: &[u8], signed: &[u8]) -> ReplayKey {
        let mut hasher = Sha256::new();
        hasher.update((sender.len() as u64).to_be_bytes());
        hasher.update(sender);
        hasher.update(signed);
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Refuses a replay, or remembers the packet and accepts it. Call it only for
    /// packets whose signature verified, so forged packets cannot fill the memory.
    pub fn check(&mut self, now: u64, timestamp: u64, key: ReplayKey) -> Result<(), ReplayError> {
        let window = self.config.window.as_secs();
        if timestamp.abs_diff(now) > window {
            return Err(ReplayError::OutsideWindow { timestamp, now });
        }
        if let Some(floor) = self.floor.filter(|&floor| timestamp <= floor) {
            return Err(ReplayError::Forgotten { timestamp, floor });
        }
        let oldest = now.saturating_sub(window);
        while self.seen.first().is_some_and(|&(at, _)| at < oldest) {
            self.seen.pop_first();
        }
        if !self.seen.insert((timestamp, key)) {
            return Err(ReplayError::Seen);
        }
        while self.seen.len() > self.config.capacity.max(1) {
            if let Some((at, _)) = self.seen.pop_first() {
                self.floor = Some(self.floor.map_or(at, |floor| floor.max(at)));
            }
        }
        Ok(())
    }

    /// How many packets are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(capacity: usize) -> ReplayGuard {
        ReplayGuard::new(ReplayConfig {
            window: Duration::from_secs(60),
            capacity,
        })
    }

    #[test]
    fn window_is_inclusive_both_ways() {
        let mut guard = guard(10);
        assert_eq!(guard.check(1000, 940, [1; 16]), Ok(()));
        assert_eq!(guard.check(1000, 1060, [2; 16]), Ok(()));
        assert_eq!(
            guard.check(1000, 939, [3; 16]),
            Err(ReplayError::OutsideWindow {
                timestamp: 939,
                now: 1000
            })
        );
        assert_eq!(
            guard.check(1000, 1061, [4; 16]),
            Err(ReplayError::OutsideWindow {
                timestamp: 1061,
                now: 1000
            })
        );
    }

    #[test]
    fn a_seen_packet_is_refused_a_new_one_accepted() {
        let mut guard = guard(10);
        let key = ReplayGuard::key(b"alice", b"signed");
        assert_eq!(guard.check(1000, 1000, key), Ok(()));
        assert_eq!(guard.check(1001, 1000, key), Err(ReplayError::Seen));
        assert_eq!(
            guard.check(1000, 1000, ReplayGuard::key(b"bob", b"signed")),
            Ok(())
        );
    }

    #[test]
    fn old_entries_leave_with_the_window() {
        let mut guard = guard(10);
        guard.check(1000, 1000, [1; 16]).unwrap();
        guard.check(1030, 1030, [2; 16]).unwrap();
        assert_eq!(guard.len(), 2);
        guard.check(1070, 1070, [3; 16]).unwrap();
        assert_eq!(guard.len(), 2);
    }

    #[test]
    fn a_full_guard_forgets_the_oldest_and_refuses_at_or_below_it() {
        let mut guard = guard(2);
        guard.check(1000, 1000, [1; 16]).unwrap();
        guard.check(1000, 1001, [2; 16]).unwrap();
        guard.check(1000, 1002, [3; 16]).unwrap();
        assert_eq!(guard.len(), 2);
        assert_eq!(
            guard.check(1000, 1000, [1; 16]),
            Err(ReplayError::Forgotten {
                timestamp: 1000,
                floor: 1000
            })
        );
        assert_eq!(guard.check(1000, 1001, [2; 16]), Err(ReplayError::Seen));
    }

    #[test]
    fn wall_clock_maps_both_sides_of_its_anchor() {
        let at = Instant::now() + Duration::from_secs(10);
        let clock = WallClock::new(at, Duration::from_secs(1_700_000_000));
        assert_eq!(
            clock.unix_secs(at + Duration::from_millis(2500)),
            1_700_000_002
        );
        assert_eq!(clock.unix_secs(at - Duration::from_secs(5)), 1_699_999_995);
    }
}
