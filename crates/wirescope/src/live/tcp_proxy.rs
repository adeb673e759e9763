//! The length-prefixed TCP proxy: bytes forwarded unchanged both ways as they
//! arrive, and cut into frames (a 4-byte big-endian length, then the body) only to
//! be observed. A prefix declaring more than the frame limit is flagged once; the
//! bytes after it are still forwarded, no longer cut.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::proxy::{ProxyConfig, Tap, Taps, bounded, report};
use super::{Direction, Failure, FrameData};

/// Bytes in the length prefix.
const PREFIX_LEN: usize = 4;

/// Bytes read from a socket at a time.
const CHUNK: usize = 16 << 10;

/// Cuts one direction's byte stream into frame bodies.
#[derive(Debug)]
pub(crate) struct Cutter {
    max: usize,
    buffer: Vec<u8>,
    /// Set once a prefix was refused: the stream cannot be cut any more.
    lost: bool,
}

impl Cutter {
    /// A cutter refusing frames over `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Cutter {
            max,
            buffer: Vec::new(),
            lost: false,
        }
    }

    /// Takes `bytes`; returns each frame body they complete, or the error of a
    /// refused prefix (once, after which nothing more is cut).
    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Vec<Result<Vec<u8>, String>> {
        let mut out = Vec::new();
        while !self.lost && !bytes.is_empty() {
            let wanted = match self.buffer.get(..PREFIX_LEN) {
                None => PREFIX_LEN,
                Some(prefix) => {
                    let mut be = [0; PREFIX_LEN];
                    be.copy_from_slice(prefix);
                    let declared = u32::from_be_bytes(be);
                    match usize::try_from(declared)
                        .ok()
                        .filter(|len| *len <= self.max)
                    {
                        Some(len) => PREFIX_LEN + len,
                        None => {
                            self.lost = true;
                            self.buffer = Vec::new();
                            out.push(Err(format!(
                                "declared frame of {declared} bytes exceeds the limit of {}; \
                                 the rest of this direction is forwarded uncut",
                                self.max
                            )));
                            break;
                        }
                    }
                }
            };
            let take = wanted.saturating_sub(self.buffer.len()).min(bytes.len());
            let (head, rest) = bytes.split_at(take);
            self.buffer.extend_from_slice(head);
            bytes = rest;
            if self.buffer.len() == wanted && wanted > PREFIX_LEN {
                out.push(Ok(self.buffer.split_off(PREFIX_LEN)));
                self.buffer.clear();
            } else if self.buffer.len() == wanted && wanted == PREFIX_LEN {
                // A prefix alone: a zero-length frame, or the body is still to come.
                if self.buffer == [0; PREFIX_LEN] {
                    out.push(Ok(Vec::new()));
                    self.buffer.clear();
                }
            }
        }
        out
    }

    /// The stream ended: an error if it ended inside a frame.
    pub(crate) fn finish(&self) -> Option<String> {
        (!self.lost && !self.buffer.is_empty()).then(|| {
            format!(
                "stream ended with {} bytes of an unfinished frame",
                self.buffer.len()
            )
        })
    }
}

/// Accepts clients until `shutdown`, one task per conversation.
pub(crate) async fn run(
    listener: TcpListener,
    upstream: SocketAddr,
    config: Arc<ProxyConfig>,
    taps: Taps,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let mut conversations = JoinSet::new();
    let mut conn = 0;
    tokio::pin!(shutdown);
    loop {
        let (client, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        while conversations.try_join_next().is_some() {}
        if conversations.len() >= config.max_conversations {
            drop(client);
            continue;
        }
        conn += 1;
        let config = config.clone();
        let taps = taps.clone();
        conversations.spawn(async move {
            let connect = TcpStream::connect(upstream);
            match bounded(config.connect_timeout, connect).await {
                Ok(server) => relay(conn, client, server, &config, &taps).await,
                Err(error) => {
                    let error = format!("connecting upstream {upstream}: {error}");
                    report(
                        &taps,
                        Tap::Flag {
                            conn,
                            direction: Direction::ToServer,
                            error,
                        },
                    )
                    .await;
                }
            }
        });
    }
}

/// Forwards bytes both ways until both directions ended, a write fails or stalls,
/// or nothing moved for the idle time.
async fn relay(conn: u64, client: TcpStream, server: TcpStream, config: &ProxyConfig, taps: &Taps) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    report(
        taps,
        Tap::Frame {
            conn,
            direction: Direction::ToServer,
            data: FrameData::Open,
        },
    )
    .await;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut to_server = Cutter::new(config.limits.max_frame_len);
    let mut to_client = Cutter::new(config.limits.max_frame_len);
    let mut client_buf = vec![0; CHUNK];
    let mut server_buf = vec![0; CHUNK];
    let mut client_done = false;
    let mut server_done = false;
    while !(client_done && server_done) {
        let (direction, read) = tokio::select! {
            read = client_read.read(&mut client_buf), if !client_done => (Direction::ToServer, read),
            read = server_read.read(&mut server_buf), if !server_done => (Direction::ToClient, read),
            () = tokio::time::sleep(config.idle_timeout) => {
                let error = format!("no traffic for {:?}", config.idle_timeout);
                report(taps, Tap::Flag { conn, direction: Direction::ToServer, error }).await;
                return;
            }
        };
        let (bytes, cutter, writer) = match direction {
            Direction::ToServer => (&client_buf, &mut to_server, &mut server_write),
            Direction::ToClient => (&server_buf, &mut to_client, &mut client_write),
        };
        let len = match read {
            Ok(len) => len,
            Err(error) => {
                report(
                    taps,
                    Tap::Flag {
                        conn,
                        direction,
                        error: error.to_string(),
                    },
                )
                .await;
                0
            }
        };
        if len == 0 {
            if let Some(error) = cutter.finish() {
                report(
                    taps,
                    Tap::Flag {
                        conn,
                        direction,
                        error,
                    },
                )
                .await;
            }
            let _ = bounded(config.write_timeout, writer.shutdown()).await;
            report(
                taps,
                Tap::Frame {
                    conn,
                    direction,
                    data: FrameData::Close(None),
                },
            )
            .await;
            match direction {
                Direction::ToServer => client_done = true,
                Direction::ToClient => server_done = true,
            }
            continue;
        }
        let chunk = bytes.get(..len).unwrap_or_default();
        let sent = bounded(config.write_timeout, writer.write_all(chunk)).await;
        for cut in cutter.push(chunk) {
            let tap = match cut {
                Ok(body) => Tap::Frame {
                    conn,
                    direction,
                    data: FrameData::Binary(body),
                },
                Err(error) => Tap::Flag {
                    conn,
                    direction,
                    error,
                },
            };
            report(taps, tap).await;
        }
        if let Err(error) = sent {
            let error = format!("forwarding failed: {error}");
            report(
                taps,
                Tap::Flag {
                    conn,
                    direction,
                    error,
                },
            )
            .await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_across_chunks_and_a_refused_prefix_is_flagged_once() {
        let mut cutter = Cutter::new(8);
        assert_eq!(cutter.push(&[0, 0]), vec![]);
        assert_eq!(cutter.push(&[0, 2, b'h']), vec![]);
        assert_eq!(
            cutter.push(&[b'i', 0, 0, 0, 0, 0, 0, 0, 1, b'x', 0]),
            vec![Ok(b"hi".to_vec()), Ok(Vec::new()), Ok(b"x".to_vec())]
        );
        assert_eq!(
            cutter.finish().as_deref(),
            Some("stream ended with 1 bytes of an unfinished frame")
        );
        assert_eq!(
            cutter.push(&[0, 0, 9, 1, 2]),
            vec![Err("declared frame of 9 bytes exceeds the limit of 8; \
                      the rest of this direction is forwarded uncut"
                .to_owned())]
        );
        assert_eq!(cutter.push(&[0, 0, 0, 1, b'y']), vec![]);
        assert_eq!(cutter.finish(), None);
    }
}

#[cfg(test)]
mod proxy_tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::super::Direction;
    use super::super::PeerOptions;
    use super::super::harness::{Proxied, RawTcp, untimed};
    use super::super::proxy::ProxyConfig;
    use super::super::render::transcript;

    /// A server echoing every byte back until the client ends its side.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 64];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn bytes_are_forwarded_unchanged_and_frames_cut_for_observation() {
        let test = async {
            let upstream = echo_server().await;
            let mut config = ProxyConfig::new();
            config.limits.max_frame_len = 16;
            let proxy =
                Proxied::start_with::<RawTcp>(&upstream, PeerOptions::default(), config).await;
            let mut client = TcpStream::connect(proxy.addr).await.unwrap();
            // A frame split across writes, a zero-length one, a violation, then a
            // prefix over the limit followed by bytes the proxy no longer cuts.
            let mut sent = Vec::new();
            for chunk in [
                &[0, 0, 0, 2, b'h'][..],
                &[b'i', 0, 0, 0, 0, 0, 0, 0, 3, b'b', b'a', b'd'],
                &[0, 0, 1, 0, b'x', b'y'],
            ] {
                client.write_all(chunk).await.unwrap();
                sent.extend_from_slice(chunk);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            client.shutdown().await.unwrap();
            let mut echoed = Vec::new();
            client.read_to_end(&mut echoed).await.unwrap();
            assert_eq!(echoed, sent);
            proxy.wait_closed(1).await;
            let finished = proxy.finish().await;
            let to_server: Vec<String> = finished
                .entries
                .iter()
                .filter(|entry| entry.direction == Some(Direction::ToServer))
                .flat_map(|entry| {
                    let text = transcript(entry);
                    text.lines().map(untimed).collect::<Vec<_>>()
                })
                .collect();
            let transcript = finished.transcript();
            assert_eq!(
                to_server,
                [
                    "#1    c>s  open",
                    "#1    c>s  frame         \"6869\"",
                    "#1    c>s  frame         \"\"",
                    "#1    c>s  frame         \"626164\"",
                    "#1    !!!  bad",
                    "#1    c>s  (wire)        error: declared frame of 256 bytes exceeds the limit \
                     of 16; the rest of this direction is forwarded uncut",
                    "#1    c>s  close",
                ]
            );
            // The echo comes back cut the same way.
            assert_eq!(
                transcript
                    .iter()
                    .filter(|l| l.contains("s>c  frame"))
                    .count(),
                3
            );
            assert_eq!(
                transcript
                    .iter()
                    .filter(|l| l.contains("s>c  (wire)"))
                    .count(),
                1
            );
            finished.assert_replay_matches::<RawTcp>();
        };
        tokio::time::timeout(Duration::from_secs(20), test)
            .await
            .unwrap();
    }
}
