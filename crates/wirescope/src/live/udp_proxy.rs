//! The UDP proxy: each client address gets its own socket to the upstream, so the
//! upstream's answers find their way back; datagrams are forwarded unchanged both
//! ways. Sessions are bounded in number and forgotten after the idle time.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::proxy::{ProxyConfig, Tap, Taps, report};
use super::{Direction, Failure, FrameData};

/// The largest datagram UDP carries.
const MAX_DATAGRAM: usize = 65_535;

/// Datagrams from one client waiting for its session; more are dropped, as a
/// congested network would.
const SESSION_QUEUE: usize = 64;

/// The sessions by client address.
type Sessions = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

/// Receives datagrams until `shutdown`, one session task per client address.
pub(crate) async fn run(
    socket: UdpSocket,
    upstream: SocketAddr,
    config: Arc<ProxyConfig>,
    taps: Taps,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let socket = Arc::new(socket);
    let sessions: Sessions = Arc::default();
    let mut tasks = JoinSet::new();
    let mut conn = 0;
    let mut buffer = vec![0; MAX_DATAGRAM];
    tokio::pin!(shutdown);
    loop {
        let (len, client) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            received = socket.recv_from(&mut buffer) => received?,
        };
        let datagram = buffer.get(..len).unwrap_or_default().to_vec();
        while tasks.try_join_next().is_some() {}
        let existing = sessions
            .lock()
            .map_err(|_| "session table lock poisoned")?
            .get(&client)
            .cloned();
        let sender = match existing {
            Some(sender) => sender,
            None => {
                if tasks.len() >= config.max_conversations {
                    continue;
                }
                conn += 1;
                let (sender, receiver) = mpsc::channel(SESSION_QUEUE);
                sessions
                    .lock()
                    .map_err(|_| "session table lock poisoned")?
                    .insert(client, sender.clone());
                let session = Session {
                    conn,
                    client,
                    upstream,
                    listener: socket.clone(),
                    sessions: sessions.clone(),
                    config: config.clone(),
                    taps: taps.clone(),
                };
                tasks.spawn(session.run(receiver));
                sender
            }
        };
        // A session that cannot keep up loses datagrams; the others go on.
        let _ = sender.try_send(datagram);
    }
}

/// One client address's conversation.
struct Session {
    conn: u64,
    client: SocketAddr,
    upstream: SocketAddr,
    listener: Arc<UdpSocket>,
    sessions: Sessions,
    config: Arc<ProxyConfig>,
    taps: Taps,
}

impl Session {
    async fn run(self, mut from_client: mpsc::Receiver<Vec<u8>>) {
        let conn = self.conn;
        if let Err(error) = self.relay(&mut from_client).await {
            let error = format!("session ended: {error}");
            report(
                &self.taps,
                Tap::Flag {
                    conn,
                    direction: Direction::ToServer,
                    error,
                },
            )
            .await;
        }
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&self.client);
        }
    }

    async fn relay(&self, from_client: &mut mpsc::Receiver<Vec<u8>>) -> Result<(), Failure> {
        let conn = self.conn;
        let local: SocketAddr = match self.upstream {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(self.upstream).await?;
        report(
            &self.taps,
            Tap::Frame {
                conn,
                direction: Direction::ToServer,
                data: FrameData::Open,
            },
        )
        .await;
        let mut buffer = vec![0; MAX_DATAGRAM];
        loop {
            let (direction, datagram) = tokio::select! {
                datagram = from_client.recv() => {
                    let Some(datagram) = datagram else { return Ok(()) };
                    socket.send(&datagram).await?;
                    (Direction::ToServer, datagram)
                }
                received = socket.recv(&mut buffer) => {
                    let datagram = buffer.get(..received?).unwrap_or_default().to_vec();
                    self.listener.send_to(&datagram, self.client).await?;
                    (Direction::ToClient, datagram)
                }
                () = tokio::time::sleep(self.config.idle_timeout) => return Ok(()),
            };
            let max = self.config.limits.max_frame_len;
            if datagram.len() > max {
                let error = format!(
                    "datagram of {} bytes exceeds the limit of {max}",
                    datagram.len()
                );
                report(
                    &self.taps,
                    Tap::Flag {
                        conn,
                        direction,
                        error,
                    },
                )
                .await;
                continue;
            }
            report(
                &self.taps,
                Tap::Frame {
                    conn,
                    direction,
                    data: FrameData::Binary(datagram),
                },
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::UdpSocket;

    use super::super::PeerOptions;
    use super::super::capture::Record;
    use super::super::harness::{Proxied, RawUdp};

    #[tokio::test]
    async fn datagrams_are_forwarded_both_ways_per_client_address() {
        let test = async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let upstream = server.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                let mut buf = [0; 64];
                while let Ok((n, from)) = server.recv_from(&mut buf).await {
                    let mut answer = b"re:".to_vec();
                    answer.extend_from_slice(&buf[..n]);
                    server.send_to(&answer, from).await.unwrap();
                }
            });
            let proxy = Proxied::start::<RawUdp>(&upstream, PeerOptions::default()).await;
            let mut buf = [0; 64];
            // Two client addresses: two sessions, the first used twice.
            let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let second = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for (socket, datagram) in [(&first, &b"a"[..]), (&second, b"bad"), (&first, b"c")] {
                socket.send_to(datagram, proxy.addr).await.unwrap();
                let n = socket.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], [b"re:", datagram].concat());
            }
            proxy
                .wait_until(|records| {
                    records
                        .iter()
                        .filter(|r| matches!(r, Record::Frame(_)))
                        .count()
                        == 8
                })
                .await;
            let finished = proxy.finish().await;
            assert_eq!(
                finished.transcript(),
                [
                    "#1    c>s  open",
                    "#1    c>s  frame         \"61\"",
                    "#1    s>c  frame         \"72653a61\"",
                    "#2    c>s  open",
                    "#2    c>s  frame         \"626164\"",
                    "#2    !!!  bad",
                    "#2    s>c  frame         \"72653a626164\"",
                    "#1    c>s  frame         \"63\"",
                    "#1    s>c  frame         \"72653a63\"",
                ]
            );
            finished.assert_replay_matches::<RawUdp>();
        };
        tokio::time::timeout(Duration::from_secs(20), test)
            .await
            .unwrap();
    }
}
