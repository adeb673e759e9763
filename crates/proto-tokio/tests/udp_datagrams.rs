//! One machine over a real loopback UDP socket through `UdpDriver`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{Data, Input, LinkId, Machine, Output, Payload, Peer, Transmit};
use proto_tokio::{Activity, PeerTraffic, UdpConfig, UdpDriver, Unsent};
use tokio::net::UdpSocket;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    Datagram(SocketAddr, Vec<u8>),
    Woke,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("datagram without a sender address")]
struct NoAddr;

/// Answers every datagram with `re:` and its bytes, and wakes once at `wake_at`.
#[derive(Default)]
struct Echo {
    outputs: VecDeque<Output<Heard>>,
    wake_at: Option<Instant>,
}

impl Machine for Echo {
    type Event = Heard;
    type Error = NoAddr;

    fn handle_input(&mut self, _now: Instant, input: Input<'_>) -> Result<(), NoAddr> {
        let Input::Received {
            from: Some(Peer::Addr(from)),
            data: Data::Binary(bytes),
        } = input
        else {
            return Err(NoAddr);
        };
        let mut reply = b"re:".to_vec();
        reply.extend_from_slice(bytes);
        self.outputs.push_back(Output::Transmit(Transmit {
            to: Some(Peer::Addr(from)),
            payload: Payload::Binary(Bytes::from(reply)),
        }));
        self.outputs
            .push_back(Output::Event(Heard::Datagram(from, bytes.to_vec())));
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.wake_at.is_some_and(|at| at <= now) {
            self.wake_at = None;
            self.outputs.push_back(Output::Event(Heard::Woke));
        }
    }

    fn poll_output(&mut self) -> Option<Output<Heard>> {
        self.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wake_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tapped {
    Oversize(SocketAddr),
    Unsent(Option<Peer>, Unsent),
}

#[tokio::test]
async fn datagrams_round_trip_and_bad_ones_are_reported() {
    tokio::time::timeout(Duration::from_secs(10), async {
        let tapped = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&tapped);
        let config = UdpConfig {
            max_datagram_len: 100,
            ..UdpConfig::default()
        };
        let mut driver = UdpDriver::bind(Echo::default(), "127.0.0.1:0", config)
            .await
            .unwrap()
            .with_tap(move |traffic| {
                let tapped = match traffic {
                    PeerTraffic::Oversize { from } => Tapped::Oversize(from),
                    PeerTraffic::Unsent { to, reason } => Tapped::Unsent(to, reason),
                    _ => return,
                };
                log.lock().unwrap().push(tapped);
            });
        let addr = driver.local_addr().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();

        peer.send_to(&[b'x'; 101], addr).await.unwrap();
        peer.send_to(b"one", addr).await.unwrap();
        assert_eq!(
            driver.next().await,
            Some(Activity::Event(Heard::Datagram(peer_addr, b"one".to_vec())))
        );
        // The answer goes out on the next call; the machine's timer is honoured too.
        driver.machine().wake_at = Some(Instant::now() + Duration::from_millis(30));
        assert_eq!(driver.next().await, Some(Activity::Event(Heard::Woke)));
        let mut buf = [0u8; 200];
        let (n, from) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"re:one"[..], addr));

        // Exactly the maximum passes.
        peer.send_to(&[b'y'; 100], addr).await.unwrap();
        assert_eq!(
            driver.next().await,
            Some(Activity::Event(Heard::Datagram(peer_addr, vec![b'y'; 100])))
        );

        // Transmits the driver cannot send are reported, not fatal: no address, a link
        // on a datagram socket, and one over the maximum (this answer: 103 bytes).
        driver
            .machine()
            .outputs
            .push_back(Output::Transmit(Transmit {
                to: None,
                payload: Payload::Binary(Bytes::from_static(b"nowhere")),
            }));
        driver
            .machine()
            .outputs
            .push_back(Output::Transmit(Transmit {
                to: Some(Peer::Link(LinkId(3))),
                payload: Payload::Binary(Bytes::from_static(b"no link")),
            }));
        peer.send_to(b"two", addr).await.unwrap();
        assert_eq!(
            driver.next().await,
            Some(Activity::Event(Heard::Datagram(peer_addr, b"two".to_vec())))
        );
        driver.machine().wake_at = Some(Instant::now() + Duration::from_millis(10));
        assert_eq!(driver.next().await, Some(Activity::Event(Heard::Woke)));
        let (n, _) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"re:two", "the oversize answer was never sent");
        assert_eq!(
            *tapped.lock().unwrap(),
            [
                Tapped::Oversize(peer_addr),
                Tapped::Unsent(
                    Some(Peer::Addr(peer_addr)),
                    Unsent::TooLarge { len: 103, max: 100 }
                ),
                Tapped::Unsent(None, Unsent::NoRoute),
                Tapped::Unsent(Some(Peer::Link(LinkId(3))), Unsent::NoRoute),
            ]
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn two_drivers_talk_and_another_task_calls_through_the_mailbox() {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut a = UdpDriver::bind(Echo::default(), "127.0.0.1:0", UdpConfig::default())
            .await
            .unwrap();
        let mut b = UdpDriver::bind(Echo::default(), "127.0.0.1:0", UdpConfig::default())
            .await
            .unwrap();
        let b_addr = b.local_addr().unwrap();
        let mailbox = a.mailbox();
        let b_task = tokio::spawn(async move {
            // b answers a's greeting; a answers b's answer, and so on: take three.
            let mut heard = Vec::new();
            while heard.len() < 3 {
                if let Some(Activity::Event(Heard::Datagram(_, bytes))) = b.next().await {
                    heard.push(bytes);
                }
            }
            heard
        });
        mailbox
            .send(move |echo, _| {
                echo.outputs.push_back(Output::Transmit(Transmit {
                    to: Some(Peer::Addr(b_addr)),
                    payload: Payload::Text("hi".into()),
                }));
            })
            .await
            .unwrap();
        let mut heard = Vec::new();
        while heard.len() < 2 {
            if let Some(Activity::Event(Heard::Datagram(from, bytes))) = a.next().await {
                assert_eq!(from, b_addr);
                heard.push(bytes);
            }
        }
        assert_eq!(heard, [b"re:hi".to_vec(), b"re:re:re:hi".to_vec()]);
        let b_heard = b_task.await.unwrap();
        assert_eq!(
            b_heard,
            [
                b"hi".to_vec(),
                b"re:re:hi".to_vec(),
                b"re:re:re:re:hi".to_vec()
            ]
        );
    })
    .await
    .unwrap();
}
