//! Checking a stream of records: one observer per conversation, fed each frame
//! at `start + at` and its deadlines in time order. The live proxy and replay
//! both run this, which is why a replayed capture prints what the proxy printed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::capture::Record;
use super::render::Entry;
use super::{Frame, FrameData, LiveProtocol, Observer, PeerOptions};

/// The most conversations checked at once: past it, the one quiet the longest is
/// forgotten (conversations that end without a close both ways, such as UDP
/// sessions, would otherwise pile up). Decided on record times, so replay forgets
/// the same ones.
pub(crate) const MAX_CONVERSATIONS: usize = 4096;

/// Makes an observer for a conversation starting at the instant given.
type MakeObserver = fn(&PeerOptions, Instant) -> Box<dyn Observer>;

/// The observers of every open conversation, and the clock they share.
pub(crate) struct Checker {
    start: Instant,
    options: PeerOptions,
    make: MakeObserver,
    conversations: BTreeMap<u64, Conversation>,
}

struct Conversation {
    observer: Box<dyn Observer>,
    /// When its last frame came.
    last: Duration,
    /// Which directions have carried a close; when both have, the conversation is
    /// over and its observer is dropped.
    closed: BTreeSet<&'static str>,
}

impl Checker {
    /// A checker of `P`'s conversations whose records count time from `start`.
    pub(crate) fn new<P: LiveProtocol>(options: PeerOptions, start: Instant) -> Self {
        Checker {
            start,
            options,
            make: P::observer,
            conversations: BTreeMap::new(),
        }
    }

    /// The instant records count from.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// The earliest deadline of any conversation.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next_deadline_after(None)
    }

    /// The earliest deadline of any conversation later than `after`: a timer
    /// that fired waits for the next one even if an observer keeps naming a
    /// deadline already run.
    pub(crate) fn next_deadline_after(&self, after: Option<Instant>) -> Option<Instant> {
        self.conversations
            .values()
            .filter_map(|conversation| conversation.observer.poll_deadline())
            .filter(|deadline| after.is_none_or(|after| *deadline > after))
            .min()
    }

    /// Checks one record: first every deadline up to its time, then the record.
    pub(crate) fn check(&mut self, record: &Record) -> Vec<Entry> {
        let mut entries = self.advance(record.at());
        match record {
            Record::Time(_) => {}
            Record::Flag {
                at,
                conn,
                direction,
                error,
            } => entries.push(Entry::flag(*at, *conn, *direction, error.clone())),
            Record::Frame(frame) => entries.push(self.observe(frame)),
        }
        entries
    }

    /// Runs every deadline at or before `start + at`, earliest first (ties by
    /// conversation), each stamped at its own instant.
    pub(crate) fn advance(&mut self, at: Duration) -> Vec<Entry> {
        let now = self.start + at;
        let mut entries = Vec::new();
        // An observer whose deadline does not move on is asked once per call.
        let mut done = BTreeSet::new();
        loop {
            let due = self
                .conversations
                .iter()
                .filter(|(conn, _)| !done.contains(*conn))
                .filter_map(|(conn, c)| c.observer.poll_deadline().map(|d| (d, *conn)))
                .filter(|(deadline, _)| *deadline <= now)
                .min();
            let Some((deadline, conn)) = due else {
                return entries;
            };
            let Some(conversation) = self.conversations.get_mut(&conn) else {
                return entries;
            };
            let violations = conversation.observer.on_deadline(deadline);
            if conversation.observer.poll_deadline() <= Some(deadline) {
                done.insert(conn);
            }
            if !violations.is_empty() {
                let at = deadline.saturating_duration_since(self.start);
                entries.push(Entry::deadline(at, conn, violations));
            }
        }
    }

    fn observe(&mut self, frame: &Frame) -> Entry {
        let now = self.start + frame.at;
        if !self.conversations.contains_key(&frame.conn)
            && self.conversations.len() >= MAX_CONVERSATIONS
        {
            let quietest = self
                .conversations
                .iter()
                .min_by_key(|(conn, c)| (c.last, **conn))
                .map(|(conn, _)| *conn);
            if let Some(conn) = quietest {
                self.conversations.remove(&conn);
            }
        }
        let make = self.make;
        let options = &self.options;
        let conversation = self
            .conversations
            .entry(frame.conn)
            .or_insert_with(|| Conversation {
                observer: make(options, now),
                last: frame.at,
                closed: BTreeSet::new(),
            });
        conversation.last = frame.at;
        let observation = conversation.observer.observe(now, frame);
        if matches!(frame.data, FrameData::Close(_)) {
            conversation.closed.insert(frame.direction.as_str());
            if conversation.closed.len() == 2 {
                self.conversations.remove(&frame.conn);
            }
        }
        Entry {
            at: frame.at,
            conn: frame.conn,
            direction: Some(frame.direction),
            observation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BoxFuture, Console, Direction, Failure, Observation, Wire};
    use super::*;
    use std::net::SocketAddr;

    /// Says `tick` every 100 ms after a conversation opens, and counts frames.
    struct Ticker {
        next: Option<Instant>,
        frames: usize,
    }

    impl Observer for Ticker {
        fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
            self.frames += 1;
            if frame.data == FrameData::Open {
                self.next = Some(now + Duration::from_millis(100));
            }
            if matches!(frame.data, FrameData::Close(_)) {
                self.next = None;
            }
            Observation {
                kind: format!("frame {}", self.frames),
                value: Ok(serde_json::Value::Null),
                violations: Vec::new(),
            }
        }

        fn poll_deadline(&self) -> Option<Instant> {
            self.next
        }

        fn on_deadline(&mut self, now: Instant) -> Vec<String> {
            self.next = Some(now + Duration::from_millis(100));
            vec!["tick".into()]
        }
    }

    struct Ticking;

    impl LiveProtocol for Ticking {
        const NAME: &'static str = "ticking";
        const WIRE: Wire = Wire::Udp;

        fn observer(_: &PeerOptions, _: Instant) -> Box<dyn Observer> {
            Box::new(Ticker {
                next: None,
                frames: 0,
            })
        }

        fn serve(_: PeerOptions, _: SocketAddr, _: Console) -> BoxFuture<Result<(), Failure>> {
            Box::pin(async { Ok(()) })
        }

        fn connect(_: PeerOptions, _: String, _: Console) -> BoxFuture<Result<(), Failure>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn frame(ms: u64, conn: u64, direction: Direction, data: FrameData) -> Record {
        Record::Frame(Frame {
            conn,
            at: Duration::from_millis(ms),
            direction,
            data,
        })
    }

    #[test]
    fn deadlines_run_before_the_frame_that_passes_them_stamped_at_their_instant() {
        let mut checker = Checker::new::<Ticking>(PeerOptions::default(), Instant::now());
        let mut entries = Vec::new();
        for record in [
            frame(0, 1, Direction::ToServer, FrameData::Open),
            frame(50, 2, Direction::ToServer, FrameData::Open),
            frame(250, 1, Direction::ToClient, FrameData::Binary(vec![1])),
            Record::Time(Duration::from_millis(260)),
            frame(300, 1, Direction::ToServer, FrameData::Close(None)),
            frame(300, 1, Direction::ToClient, FrameData::Close(None)),
        ] {
            entries.extend(checker.check(&record));
        }
        let summary: Vec<(u128, u64, String)> = entries
            .iter()
            .map(|e| (e.at.as_millis(), e.conn, e.observation.kind.clone()))
            .collect();
        let expected = [
            (0, 1, "frame 1"),
            (50, 2, "frame 1"),
            (100, 1, "deadline"),
            (150, 2, "deadline"),
            (200, 1, "deadline"),
            (250, 2, "deadline"),
            (250, 1, "frame 2"),
            (300, 1, "deadline"),
            (300, 1, "frame 3"),
            (300, 1, "frame 4"),
        ];
        let expected: Vec<(u128, u64, String)> = expected
            .iter()
            .map(|(at, conn, kind)| (*at, *conn, (*kind).to_owned()))
            .collect();
        assert_eq!(summary, expected);
        // Conversation 1 is over; 2 still ticks.
        assert_eq!(checker.conversations.len(), 1);
        assert_eq!(
            checker.next_deadline(),
            Some(checker.start() + Duration::from_millis(350))
        );
    }

    #[test]
    fn past_the_most_conversations_the_quietest_is_forgotten() {
        let mut checker = Checker::new::<Ticking>(PeerOptions::default(), Instant::now());
        let max = u64::try_from(MAX_CONVERSATIONS).unwrap();
        for conn in 1..=max {
            checker.check(&frame(
                0,
                conn,
                Direction::ToServer,
                FrameData::Binary(vec![]),
            ));
        }
        // Conversation 1 speaks again; 2 is now the quietest.
        checker.check(&frame(1, 1, Direction::ToServer, FrameData::Binary(vec![])));
        checker.check(&frame(
            2,
            max + 1,
            Direction::ToServer,
            FrameData::Binary(vec![]),
        ));
        assert_eq!(checker.conversations.len(), MAX_CONVERSATIONS);
        assert!(checker.conversations.contains_key(&1));
        assert!(!checker.conversations.contains_key(&2));
        assert!(checker.conversations.contains_key(&(max + 1)));
    }
}
