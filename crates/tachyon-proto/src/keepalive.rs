//! The server's keepalive: WebSocket pings at randomized intervals, each of which
//! must be answered before the next is due.

use std::time::Instant;

use bytes::Bytes;
use proto_core::{Jitter, SeededRng, deadline};

/// The previous ping was still unanswered when the next one fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unanswered;

#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Jitter,
    next_at: Option<Instant>,
    /// The payload of the ping sent last, until its pong comes.
    awaiting: Option<u64>,
    sent: u64,
}

impl Keepalive {
    pub(crate) fn new(interval: Jitter) -> Self {
        Keepalive {
            interval,
            next_at: None,
            awaiting: None,
            sent: 0,
        }
    }

    /// The connection is up: the first ping is due one interval from now.
    pub(crate) fn start(&mut self, now: Instant, rng: &mut SeededRng) {
        self.awaiting = None;
        self.next_at = Some(deadline(now, self.interval.sample(rng)));
    }

    pub(crate) fn stop(&mut self) {
        self.next_at = None;
        self.awaiting = None;
    }

    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// The ping due at `now`, or [`Unanswered`] if the last one got no pong.
    pub(crate) fn fire(&mut self, now: Instant, rng: &mut SeededRng) -> Result<Bytes, Unanswered> {
        if self.awaiting.is_some() {
            self.stop();
            return Err(Unanswered);
        }
        // A counter tells this ping's pong from a stale or unsolicited one.
        self.sent = self.sent.wrapping_add(1);
        self.awaiting = Some(self.sent);
        self.next_at = Some(deadline(now, self.interval.sample(rng)));
        Ok(Bytes::copy_from_slice(&self.sent.to_be_bytes()))
    }

    /// A pong came; it answers the last ping if it carries its payload.
    pub(crate) fn on_pong(&mut self, payload: &[u8]) {
        if let Some(expected) = self.awaiting
            && payload == expected.to_be_bytes()
        {
            self.awaiting = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::seeded_rng;
    use std::time::Duration;

    #[test]
    fn pings_within_the_interval_and_gives_up_on_a_missing_pong() {
        let mut rng = seeded_rng(5);
        let interval = Jitter::new(Duration::from_secs(5), Duration::from_secs(10));
        let mut keepalive = Keepalive::new(interval);
        let t0 = Instant::now();
        keepalive.start(t0, &mut rng);
        let first = keepalive.next_at().unwrap();
        assert!(first >= t0 + Duration::from_secs(5) && first <= t0 + Duration::from_secs(10));

        let ping = keepalive.fire(first, &mut rng).unwrap();
        assert_eq!(&ping[..], &1u64.to_be_bytes());
        keepalive.on_pong(&2u64.to_be_bytes()); // not ours
        keepalive.on_pong(&ping);
        let second = keepalive.next_at().unwrap();
        assert!(second >= first + Duration::from_secs(5));
        assert_eq!(
            &keepalive.fire(second, &mut rng).unwrap()[..],
            &2u64.to_be_bytes()
        );

        let third = keepalive.next_at().unwrap();
        assert_eq!(keepalive.fire(third, &mut rng), Err(Unanswered));
        assert_eq!(keepalive.next_at(), None);
    }
}
