//! Randomized intervals and reconnect backoff, drawn from an injected RNG.

use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::StdRng};

/// The RNG every machine owns: seeded by the caller, so runs are reproducible.
pub type SeededRng = StdRng;

/// An RNG seeded with `seed`. Give each machine its own seed (from the operating
/// system in production, a constant in tests).
pub fn seeded_rng(seed: u64) -> SeededRng {
    StdRng::seed_from_u64(seed)
}

/// The longest delay a timer is ever set for. Configured durations beyond it are
/// treated as "practically never", so adding them to an `Instant` cannot overflow.
pub const MAX_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The instant `after` past `now`, with `after` capped at [`MAX_DELAY`]. Unlike
/// `now + after` it never panics, whatever duration a configuration holds.
pub fn deadline(now: Instant, after: Duration) -> Instant {
    now.checked_add(after.min(MAX_DELAY)).unwrap_or(now)
}

/// A uniformly random duration between a minimum and a maximum, inclusive: a keepalive
/// sent "every 0.5 to 2 seconds", a ping "at least every 10 seconds, randomized".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jitter {
    min: Duration,
    max: Duration,
}

impl Jitter {
    /// Durations in `min..=max`; the bounds are swapped if given in the wrong order.
    pub fn new(min: Duration, max: Duration) -> Self {
        if min <= max {
            Jitter { min, max }
        } else {
            Jitter { min: max, max: min }
        }
    }

    /// The shortest duration drawn.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest duration drawn.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Draws one duration.
    pub fn sample(&self, rng: &mut SeededRng) -> Duration {
        uniform(rng, self.min, self.max)
    }
}

/// Capped exponential backoff with full jitter: after the n-th consecutive failure
/// (counting from 1) the wait is a random time between `min` and `min * 2^n`, never
/// more than `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Delays from `min` growing to at most `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self, rng: &mut SeededRng) -> Duration {
        let ceiling = self
            .min
            .checked_mul(1u32.checked_shl(self.failures + 1).unwrap_or(u32::MAX))
            .map_or(self.max, |grown| grown.min(self.max));
        self.failures = self.failures.saturating_add(1);
        uniform(rng, self.min, ceiling)
    }

    /// Consecutive failures counted so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A connection succeeded: start again from `min`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

fn uniform(rng: &mut SeededRng, min: Duration, max: Duration) -> Duration {
    let span = max.saturating_sub(min).as_nanos();
    let span = u64::try_from(span).unwrap_or(u64::MAX);
    min + Duration::from_nanos(rng.random_range(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bounds() {
        let mut rng = seeded_rng(7);
        let jitter = Jitter::new(Duration::from_secs(2), Duration::from_millis(500));
        assert_eq!(jitter.min(), Duration::from_millis(500));
        for _ in 0..1000 {
            let d = jitter.sample(&mut rng);
            assert!((Duration::from_millis(500)..=Duration::from_secs(2)).contains(&d));
        }
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut rng = seeded_rng(1);
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let ceilings = [2, 4, 8, 8, 8];
        for ceiling in ceilings {
            let d = backoff.next_delay(&mut rng);
            assert!(d >= Duration::from_secs(1), "{d:?}");
            assert!(d <= Duration::from_secs(ceiling), "{d:?} > {ceiling}s");
        }
        assert_eq!(backoff.failures(), 5);
        backoff.reset();
        assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(2));
        let mut fixed = Backoff::new(Duration::from_secs(3), Duration::from_secs(3));
        assert_eq!(fixed.next_delay(&mut rng), Duration::from_secs(3));
    }

    #[test]
    fn backoff_never_overflows() {
        let mut rng = seeded_rng(3);
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(60));
        }
    }

    #[test]
    fn deadline_never_overflows() {
        let now = Instant::now();
        assert_eq!(
            deadline(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert_eq!(deadline(now, Duration::MAX), now + MAX_DELAY);
    }

    #[test]
    fn same_seed_same_draws() {
        let jitter = Jitter::new(Duration::ZERO, Duration::from_secs(1));
        let (mut a, mut b) = (seeded_rng(42), seeded_rng(42));
        for _ in 0..10 {
            assert_eq!(jitter.sample(&mut a), jitter.sample(&mut b));
        }
    }
}
