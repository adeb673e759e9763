//! The simulator's guarantees, checked with small probe machines.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{Close, Input, LinkId, Machine, Output, Payload, Peer, Transmit};
use proto_sim::{Delivery, Fate, LinkConfig, Sim, SimError};

/// What a probe saw, as its events.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Opened(Option<Peer>),
    Received(Option<Peer>, Vec<u8>, Instant),
    Pong(Option<Peer>, Vec<u8>),
    Closed(Option<Peer>, Option<Close>),
    Timer(Instant),
}

#[derive(Debug, PartialEq, Eq)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {:?}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Reports every input, refuses frames that say "bad", sends what the test asks, and
/// wakes at the instants the test sets.
#[derive(Default)]
struct Probe {
    outputs: VecDeque<Output<Seen>>,
    timers: Vec<Instant>,
}

impl Probe {
    fn send(&mut self, to: Option<Peer>, bytes: &'static [u8]) {
        self.outputs.push_back(Output::Transmit(Transmit {
            to,
            payload: Payload::Binary(Bytes::from_static(bytes)),
        }));
    }

    fn wake_at(&mut self, at: Instant) {
        self.timers.push(at);
        self.timers.sort();
    }
}

impl Machine for Probe {
    type Event = Seen;
    type Error = Refused;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), Refused> {
        let seen = match input {
            Input::Opened { from } => Seen::Opened(from),
            Input::Received {
                from,
                data: proto_core::Data::Pong(bytes),
            } => Seen::Pong(from, bytes.to_vec()),
            Input::Received { from, data } => {
                if data.as_bytes() == b"bad" {
                    return Err(Refused("bad".into()));
                }
                Seen::Received(from, data.as_bytes().to_vec(), now)
            }
            Input::Closed { from, close } => Seen::Closed(from, close),
        };
        self.outputs.push_back(Output::Event(seen));
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) {
        while self.timers.first().is_some_and(|&at| at <= now) {
            self.timers.remove(0);
            self.outputs.push_back(Output::Event(Seen::Timer(now)));
        }
    }

    fn poll_output(&mut self) -> Option<Output<Seen>> {
        self.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().copied()
    }
}

/// A second machine type, to show different types share one simulator.
#[derive(Default)]
struct Counter {
    frames: usize,
    outputs: VecDeque<Output<usize>>,
}

impl Machine for Counter {
    type Event = usize;
    type Error = Refused;

    fn handle_input(&mut self, _now: Instant, input: Input<'_>) -> Result<(), Refused> {
        if let Input::Received { from, .. } = input {
            self.frames += 1;
            self.outputs.push_back(Output::Event(self.frames));
            self.outputs.push_back(Output::Transmit(Transmit {
                to: from,
                payload: Payload::Text(format!("count {}", self.frames)),
            }));
        }
        Ok(())
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_output(&mut self) -> Option<Output<usize>> {
        self.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn link(id: u64) -> Option<Peer> {
    Some(Peer::Link(LinkId(id)))
}

#[test]
fn stream_links_open_both_ends_and_deliver_after_their_latency() {
    let mut sim = Sim::new(1);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    let c = sim.add(Probe::default());
    sim.connect(a, c, LinkConfig::default());
    let (at_a, at_b) = sim.connect(a, b, LinkConfig::ideal(ms(30)));
    assert_eq!((at_a, at_b), (LinkId(1), LinkId(0)));
    assert_eq!(
        sim.events(a),
        [Seen::Opened(link(0)), Seen::Opened(link(1))]
    );
    assert_eq!(sim.events(b), [Seen::Opened(link(0))]);

    sim.machine(a).send(link(1), b"one");
    sim.machine(a).send(link(1), b"two");
    let t0 = sim.now();
    assert_eq!(sim.step(), Some(t0 + ms(30)));
    assert_eq!(sim.step(), Some(t0 + ms(30)));
    assert_eq!(sim.step(), None);
    assert_eq!(
        sim.events(b),
        [
            Seen::Received(link(0), b"one".to_vec(), t0 + ms(30)),
            Seen::Received(link(0), b"two".to_vec(), t0 + ms(30)),
        ]
    );
    assert_eq!(
        sim.trace()[0],
        Delivery {
            at: t0 + ms(30),
            from: (a.index(), link(1)),
            to: (Some(b.index()), link(0)),
            bytes: Bytes::from_static(b"one"),
            fate: Fate::Delivered,
        }
    );
    assert!(sim.events(c).len() == 1, "c only saw its link open");
}

#[test]
fn jitter_never_reorders_a_stream() {
    let mut sim = Sim::new(2);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    let cfg = LinkConfig {
        jitter: ms(50),
        loss: 1.0,
        duplicate: 1.0,
        reorder: 1.0,
        ..LinkConfig::ideal(ms(10))
    };
    let (la, _) = sim.connect(a, b, cfg);
    let frames: [&'static [u8]; 5] = [b"0", b"1", b"2", b"3", b"4"];
    for (i, frame) in frames.iter().enumerate() {
        sim.machine(a).send(Some(Peer::Link(la)), frame);
        sim.run_for(ms(i as u64 % 3)).unwrap();
    }
    sim.run_for(ms(200)).unwrap();
    let got: Vec<Vec<u8>> = sim
        .events(b)
        .into_iter()
        .filter_map(|seen| match seen {
            Seen::Received(_, bytes, _) => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(got, frames.map(<[u8]>::to_vec));
    assert!(sim.trace().iter().all(|d| d.fate == Fate::Delivered));
}

#[test]
fn datagrams_carry_the_senders_address() {
    let mut sim = Sim::new(3);
    let a = sim.add_at(Probe::default(), addr(1));
    let b = sim.add_at(Probe::default(), addr(2));
    sim.set_datagram_default(LinkConfig::ideal(ms(5)));
    sim.set_datagram_path(addr(1), addr(2), LinkConfig::ideal(ms(40)));
    sim.machine(a).send(Some(Peer::Addr(addr(2))), b"ping");
    sim.machine(b).send(Some(Peer::Addr(addr(1))), b"pong");
    let t0 = sim.now();
    sim.run_for(ms(100)).unwrap();
    assert_eq!(
        sim.events(b),
        [Seen::Received(
            Some(Peer::Addr(addr(1))),
            b"ping".to_vec(),
            t0 + ms(40)
        )]
    );
    assert_eq!(
        sim.events(a),
        [Seen::Received(
            Some(Peer::Addr(addr(2))),
            b"pong".to_vec(),
            t0 + ms(5)
        )]
    );
    assert_eq!(sim.addr(a), Some(addr(1)));
    let first = &sim.trace()[0];
    assert_eq!(first.from, (b.index(), Some(Peer::Addr(addr(2)))));
    assert_eq!(first.to, (Some(a.index()), Some(Peer::Addr(addr(1)))));
}

#[test]
fn datagrams_without_a_node_at_either_end_are_undeliverable() {
    let mut sim = Sim::new(4);
    let a = sim.add_at(Probe::default(), addr(1));
    let unbound = sim.add(Probe::default());
    sim.machine(a).send(Some(Peer::Addr(addr(9))), b"nobody");
    sim.machine(unbound)
        .send(Some(Peer::Addr(addr(1))), b"no source");
    sim.machine(unbound).send(None, b"no link");
    sim.run_for(ms(10)).unwrap();
    let fates: Vec<_> = sim.trace().iter().map(|d| (d.to, d.fate)).collect();
    assert_eq!(
        fates,
        [
            ((None, Some(Peer::Addr(addr(9)))), Fate::Undeliverable),
            (
                (Some(a.index()), Some(Peer::Addr(addr(1)))),
                Fate::Undeliverable
            ),
            ((None, None), Fate::Undeliverable),
        ]
    );
    assert_eq!(sim.events(a), []);
}

/// Sends `count` datagrams from one node to another over `cfg` and returns the trace.
fn blast(seed: u64, cfg: LinkConfig, count: usize) -> (Vec<Delivery>, usize) {
    let mut sim = Sim::new(seed);
    let a = sim.add_at(Probe::default(), addr(1));
    let b = sim.add_at(Probe::default(), addr(2));
    sim.set_datagram_default(cfg);
    for _ in 0..count {
        sim.machine(a).send(Some(Peer::Addr(addr(2))), b"x");
        sim.run_for(ms(1)).unwrap();
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let received = sim.events(b).len();
    (sim.trace().to_vec(), received)
}

#[test]
fn loss_duplication_and_reordering_follow_their_rates_and_the_seed() {
    let cfg = LinkConfig {
        latency: ms(20),
        jitter: ms(3),
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.2,
    };
    let (trace, received) = blast(11, cfg, 10_000);
    let count = |fate| trace.iter().filter(|d| d.fate == fate).count();
    let (lost, dup, reordered) = (
        count(Fate::Lost),
        count(Fate::Duplicated),
        count(Fate::Reordered),
    );
    let delivered = count(Fate::Delivered);
    assert_eq!(lost + delivered + reordered, 10_000);
    assert_eq!(received, delivered + reordered + dup);
    assert!((850..=1150).contains(&lost), "lost {lost}");
    // Duplicates and reorders are drawn for the datagrams that were not lost.
    assert!((350..=550).contains(&dup), "duplicated {dup}");
    assert!((1600..=2000).contains(&reordered), "reordered {reordered}");

    // Reordering really lets later datagrams overtake: arrivals are not in send order.
    let held = trace
        .windows(2)
        .filter(|pair| pair[0].at > pair[1].at)
        .count();
    assert_eq!(held, 0, "the trace is recorded in arrival order");

    let (again, _) = blast(11, cfg, 10_000);
    assert_eq!(trace, again, "one seed, one trace");
    let (other, _) = blast(12, cfg, 10_000);
    assert_ne!(trace, other);
}

#[test]
fn reordered_datagrams_arrive_after_later_ones() {
    let mut sim = Sim::new(5);
    let a = sim.add_at(Probe::default(), addr(1));
    let b = sim.add_at(Probe::default(), addr(2));
    sim.set_datagram_path(
        addr(1),
        addr(2),
        LinkConfig {
            reorder: 1.0,
            ..LinkConfig::ideal(ms(10))
        },
    );
    sim.machine(a).send(Some(Peer::Addr(addr(2))), b"first");
    sim.run_for(ms(5)).unwrap();
    sim.set_datagram_path(addr(1), addr(2), LinkConfig::ideal(ms(10)));
    sim.machine(a).send(Some(Peer::Addr(addr(2))), b"second");
    sim.run_for(ms(50)).unwrap();
    let order: Vec<_> = sim
        .trace()
        .iter()
        .map(|d| (d.bytes.clone(), d.fate))
        .collect();
    assert_eq!(
        order,
        [
            (Bytes::from_static(b"second"), Fate::Delivered),
            (Bytes::from_static(b"first"), Fate::Reordered),
        ]
    );
    assert_eq!(sim.trace()[1].at, sim.start() + ms(20));
    assert_eq!(sim.events(b).len(), 2);
}

#[test]
fn run_until_is_bounded_in_time_and_steps_and_stops_when_idle() {
    let mut sim = Sim::new(6);
    let a = sim.add(Probe::default());
    let t0 = sim.now();
    for n in 1..=100 {
        sim.machine(a).wake_at(t0 + ms(10 * n));
    }
    assert_eq!(
        sim.run_until(ms(25), |_| false),
        Err(SimError::TimeLimit { now: t0 + ms(25) })
    );
    assert_eq!(
        sim.events(a),
        [Seen::Timer(t0 + ms(10)), Seen::Timer(t0 + ms(20))]
    );

    sim.set_step_limit(3);
    assert_eq!(
        sim.run_until(Duration::from_secs(10), |_| false),
        Err(SimError::StepLimit { steps: 3 })
    );
    assert_eq!(sim.now(), t0 + ms(50));
    assert_eq!(
        sim.run_for(Duration::from_secs(10)),
        Err(SimError::StepLimit { steps: 3 })
    );

    sim.set_step_limit(proto_sim::DEFAULT_STEP_LIMIT);
    let mut timers = 0;
    let at = sim.run_until(Duration::from_secs(10), |sim| {
        timers += sim.events(a).len();
        timers >= 10
    });
    // Six wake-ups were still undrained (30 ms to 80 ms); four more make ten.
    assert_eq!(at, Ok(t0 + ms(120)));
    assert_eq!(
        sim.run_until(Duration::from_secs(10), |_| false),
        Err(SimError::Idle { now: t0 + ms(1000) })
    );
    assert_eq!(sim.step(), None);
}

#[test]
fn run_for_handles_what_is_due_at_its_end_and_sets_the_clock() {
    let mut sim = Sim::new(7);
    let a = sim.add(Probe::default());
    let t0 = sim.now();
    sim.machine(a).wake_at(t0 + ms(10));
    sim.machine(a).wake_at(t0 + ms(11));
    sim.run_for(ms(10)).unwrap();
    assert_eq!(sim.now(), t0 + ms(10));
    assert_eq!(sim.events(a), [Seen::Timer(t0 + ms(10))]);
    sim.run_for(ms(10)).unwrap();
    assert_eq!(sim.events(a), [Seen::Timer(t0 + ms(11))]);
    assert_eq!(sim.now(), t0 + ms(20));
}

#[test]
fn a_cut_link_tells_both_ends_and_drops_what_is_in_flight() {
    let mut sim = Sim::new(8);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    let (la, lb) = sim.connect(a, b, LinkConfig::ideal(ms(10)));
    sim.events(a);
    sim.events(b);
    sim.machine(a).send(Some(Peer::Link(la)), b"in flight");
    sim.run_for(ms(5)).unwrap();
    sim.cut(a, la);
    assert!(!sim.is_open(a, la) && !sim.is_open(b, lb));
    assert_eq!(sim.events(a), [Seen::Closed(Some(Peer::Link(la)), None)]);
    assert_eq!(sim.events(b), [Seen::Closed(Some(Peer::Link(lb)), None)]);
    sim.machine(b).send(Some(Peer::Link(lb)), b"after");
    sim.run_for(ms(50)).unwrap();
    let fates: Vec<_> = sim
        .trace()
        .iter()
        .map(|d| (d.bytes.clone(), d.fate))
        .collect();
    assert_eq!(
        fates,
        [
            (Bytes::from_static(b"after"), Fate::Undeliverable),
            (Bytes::from_static(b"in flight"), Fate::Undeliverable),
        ]
    );
    assert_eq!(sim.events(b), []);
    sim.cut(b, lb);
    assert_eq!(sim.events(a), [], "a second cut tells nobody");
}

#[test]
fn a_close_follows_the_frames_sent_before_it() {
    let mut sim = Sim::new(9);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    let (la, lb) = sim.connect(a, b, LinkConfig::ideal(ms(10)));
    sim.events(b);
    let bye = Close::new(4000, "bye");
    sim.machine(a).send(Some(Peer::Link(la)), b"last words");
    sim.machine(a).outputs.push_back(Output::Close {
        peer: Some(Peer::Link(la)),
        close: bye.clone(),
    });
    sim.machine(b).send(Some(Peer::Link(lb)), b"too late");
    sim.machine(a).send(Some(Peer::Link(la)), b"after close");
    sim.run_for(ms(50)).unwrap();
    assert_eq!(
        sim.events(b),
        [
            Seen::Received(
                Some(Peer::Link(lb)),
                b"last words".to_vec(),
                sim.start() + ms(10)
            ),
            Seen::Closed(Some(Peer::Link(lb)), Some(bye.clone())),
        ]
    );
    assert_eq!(sim.events(a), [Seen::Opened(Some(Peer::Link(la)))]);
    assert_eq!(sim.closes(a), [(Some(Peer::Link(la)), bye)]);
    let fates: Vec<_> = sim
        .trace()
        .iter()
        .map(|d| (d.bytes.clone(), d.fate))
        .collect();
    assert_eq!(
        fates,
        [
            (Bytes::from_static(b"after close"), Fate::Undeliverable),
            (Bytes::from_static(b"last words"), Fate::Delivered),
            (Bytes::from_static(b"too late"), Fate::Undeliverable),
        ]
    );
}

#[test]
fn single_connection_machines_speak_without_naming_the_link() {
    let mut sim = Sim::new(10);
    let client = sim.add(Probe::default());
    let server = sim.add(Counter::default());
    let (lc, _) = sim.connect_single(client, server, LinkConfig::ideal(ms(3)));
    assert_eq!(sim.events(client), [Seen::Opened(None)]);
    sim.machine(client).send(None, b"a");
    sim.machine(client).send(None, b"b");
    sim.run_for(ms(10)).unwrap();
    assert_eq!(sim.events(server), [1, 2]);
    assert_eq!(sim.machine(server).frames, 2);
    let replied = sim.start() + ms(6);
    assert_eq!(
        sim.events(client),
        [
            Seen::Received(None, b"count 1".to_vec(), replied),
            Seen::Received(None, b"count 2".to_vec(), replied),
        ]
    );
    sim.cut(client, lc);
    assert_eq!(sim.events(client), [Seen::Closed(None, None)]);
}

#[test]
fn refused_inputs_are_kept_as_errors() {
    let mut sim = Sim::new(14);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    sim.connect_single(a, b, LinkConfig::default());
    sim.machine(a).send(None, b"bad");
    sim.machine(a).send(None, b"good");
    sim.run_for(ms(5)).unwrap();
    assert_eq!(sim.errors(b), ["refused \"bad\""]);
    assert_eq!(sim.errors(b), Vec::<String>::new());
    assert_eq!(
        sim.events(b),
        [
            Seen::Opened(None),
            Seen::Received(None, b"good".to_vec(), sim.start() + ms(1)),
        ]
    );
}

#[test]
fn pings_are_answered_by_the_transport() {
    let mut sim = Sim::new(11);
    let (a, b) = (sim.add(Probe::default()), sim.add(Probe::default()));
    let (la, _) = sim.connect(a, b, LinkConfig::ideal(ms(7)));
    sim.events(a);
    sim.events(b);
    sim.machine(a).outputs.push_back(Output::Transmit(Transmit {
        to: Some(Peer::Link(la)),
        payload: Payload::Ping(Bytes::from_static(b"p")),
    }));
    sim.run_for(ms(20)).unwrap();
    assert_eq!(sim.events(b), []);
    assert_eq!(
        sim.events(a),
        [Seen::Pong(Some(Peer::Link(la)), b"p".to_vec())]
    );
    assert_eq!(sim.trace().len(), 2);
    assert_eq!(sim.trace()[1].at, sim.start() + ms(14));
}

/// A client that asks to reconnect 100 ms after losing its connection.
#[derive(Default)]
struct Redialer {
    outputs: VecDeque<Output<&'static str>>,
}

impl Machine for Redialer {
    type Event = &'static str;
    type Error = Refused;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), Refused> {
        match input {
            Input::Opened { .. } => self.outputs.push_back(Output::Event("opened")),
            Input::Closed { .. } => {
                self.outputs.push_back(Output::Event("closed"));
                self.outputs
                    .push_back(Output::Reconnect { at: now + ms(100) });
            }
            Input::Received { .. } => {}
        }
        Ok(())
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_output(&mut self) -> Option<Output<&'static str>> {
        self.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn reconnect_requests_are_recorded_and_optionally_honoured() {
    let mut sim = Sim::new(12);
    let client = sim.add(Redialer::default());
    let server = sim.add(Probe::default());
    let (lc, _) = sim.connect_single(client, server, LinkConfig::ideal(ms(1)));
    sim.cut(client, lc);
    sim.run_for(ms(500)).unwrap();
    assert_eq!(sim.events(client), ["opened", "closed"]);
    assert_eq!(sim.reconnects(client), [sim.start() + ms(100)]);

    sim.reopen_on_reconnect(true);
    let (lc, _) = sim.connect_single(client, server, LinkConfig::ideal(ms(1)));
    sim.cut(client, lc);
    assert_eq!(sim.events(client), ["opened", "closed"]);
    let t = sim.now();
    sim.run_until(Duration::from_secs(1), |sim| {
        sim.events(client).contains(&"opened")
    })
    .unwrap();
    assert_eq!(sim.now(), t + ms(100));
    assert_eq!(
        sim.events(server),
        [
            Seen::Opened(None),
            Seen::Closed(None, None),
            Seen::Opened(None),
            Seen::Closed(None, None),
            Seen::Opened(None),
        ]
    );
}

#[test]
fn machines_of_different_types_share_one_network() {
    let mut sim = Sim::new(13);
    let probe = sim.add(Probe::default());
    let counter = sim.add(Counter::default());
    let (lp, lc) = sim.connect(probe, counter, LinkConfig::default());
    sim.machine(probe).send(Some(Peer::Link(lp)), b"x");
    sim.run_until(Duration::from_secs(1), |sim| {
        sim.machine(counter).frames == 1
    })
    .unwrap();
    assert_eq!(sim.events(counter), [1]);
    sim.run_for(ms(5)).unwrap();
    assert_eq!(
        sim.events(probe),
        [
            Seen::Opened(Some(Peer::Link(lp))),
            Seen::Received(
                Some(Peer::Link(lp)),
                b"count 1".to_vec(),
                sim.start() + ms(2)
            ),
        ]
    );
    assert_eq!(lc, LinkId(0));
}

#[test]
#[should_panic(expected = "issued by another Sim")]
fn handles_from_another_simulator_are_refused() {
    let mut first = Sim::new(0);
    let mut second = Sim::new(0);
    let node = first.add(Probe::default());
    second.add(Probe::default());
    second.machine(node);
}

#[test]
#[should_panic(expected = "issued by another Sim")]
fn links_to_another_simulators_node_are_refused() {
    let mut first = Sim::new(0);
    let mut second = Sim::new(0);
    let stranger = first.add(Probe::default());
    let local = second.add(Probe::default());
    second.connect(local, stranger, LinkConfig::default());
}

#[test]
fn datagrams_arrive_as_binary_and_pings_have_no_transport_to_answer_them() {
    let mut sim = Sim::new(15);
    let a = sim.add_at(Probe::default(), addr(1));
    let b = sim.add_at(Probe::default(), addr(2));
    for payload in [
        Payload::Text("text".into()),
        Payload::Ping(Bytes::from_static(b"ping")),
    ] {
        sim.machine(a).outputs.push_back(Output::Transmit(Transmit {
            to: Some(Peer::Addr(addr(2))),
            payload,
        }));
    }
    sim.run_for(ms(10)).unwrap();
    assert_eq!(
        sim.events(b),
        [Seen::Received(
            Some(Peer::Addr(addr(1))),
            b"text".to_vec(),
            sim.start() + ms(1)
        )]
    );
    let fates: Vec<_> = sim
        .trace()
        .iter()
        .map(|d| (d.bytes.clone(), d.fate))
        .collect();
    assert_eq!(
        fates,
        [
            (Bytes::from_static(b"ping"), Fate::Undeliverable),
            (Bytes::from_static(b"text"), Fate::Delivered),
        ]
    );
}

#[test]
fn the_trace_can_be_drained_or_turned_off() {
    let mut sim = Sim::new(16);
    let a = sim.add_at(Probe::default(), addr(1));
    let b = sim.add_at(Probe::default(), addr(2));
    sim.machine(a).send(Some(Peer::Addr(addr(2))), b"one");
    sim.run_for(ms(5)).unwrap();
    assert_eq!(sim.take_trace().len(), 1);
    assert_eq!(sim.trace(), []);
    sim.set_tracing(false);
    sim.machine(a).send(Some(Peer::Addr(addr(2))), b"two");
    sim.run_for(ms(5)).unwrap();
    assert_eq!(sim.trace(), []);
    assert_eq!(sim.events(b).len(), 2, "delivery goes on untraced");
}
