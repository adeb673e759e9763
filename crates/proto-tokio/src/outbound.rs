//! The outbound side of backpressure: a connection's frames waiting for the socket,
//! bounded in bytes, and the policy that says when a slow peer is cut off.

use std::collections::VecDeque;
use std::time::Duration;

use proto_core::Transmit;

/// How a driver treats a peer that does not take what it is sent.
///
/// Frames the machine emits wait in an [`OutboundQueue`] of at most
/// `max_queued_bytes`; while more than `pause_reading_above` bytes wait, the driver
/// stops reading the peer (so its requests stop producing answers it will not read)
/// but keeps firing the machine's timers. A peer that lets the queue overflow, or
/// that takes nothing for `send_timeout` while frames wait, is closed; closing, the
/// close frame included, takes at most `close_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure {
    /// The most bytes of frames that may wait for one peer; one more frame is
    /// refused and the peer closed. A frame is always accepted into an empty queue,
    /// so a single frame larger than this still goes out.
    pub max_queued_bytes: usize,
    /// Above this many waiting bytes the driver stops reading the peer until the
    /// queue drains below it again.
    pub pause_reading_above: usize,
    /// How long frames may wait with the peer taking none of them before it is closed.
    pub send_timeout: Duration,
    /// How long closing a connection may take, from the first queued frame to the
    /// peer's answer to the close frame; after that the socket is dropped.
    pub close_timeout: Duration,
}

impl Default for Backpressure {
    /// 1 MiB queued at most, reading paused above 64 KiB, 10 s to make progress,
    /// 1 s to close.
    fn default() -> Self {
        Backpressure {
            max_queued_bytes: 1 << 20,
            pause_reading_above: 64 << 10,
            send_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(1),
        }
    }
}

/// The queue was full: the frame was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{queued} bytes already wait to be sent; {len} more would pass the limit of {max}")]
pub struct QueueFull {
    /// Bytes already queued.
    pub queued: usize,
    /// The refused frame's length.
    pub len: usize,
    /// The queue's limit.
    pub max: usize,
}

/// Frames waiting for one peer's socket, in order, bounded in bytes.
///
/// Empty, it holds no heap memory; it keeps the capacity it grew to while in use.
#[derive(Debug, Clone, Default)]
pub struct OutboundQueue {
    frames: VecDeque<Transmit>,
    bytes: usize,
    max_bytes: usize,
}

impl OutboundQueue {
    /// An empty queue holding at most `max_bytes` (plus one frame when empty).
    pub fn new(max_bytes: usize) -> Self {
        OutboundQueue {
            frames: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Appends `transmit`, or refuses it when the queue would pass its limit.
    pub fn push(&mut self, transmit: Transmit) -> Result<(), QueueFull> {
        let len = transmit.payload.as_bytes().len();
        let total = self.bytes.saturating_add(len);
        if !self.frames.is_empty() && total > self.max_bytes {
            return Err(QueueFull {
                queued: self.bytes,
                len,
                max: self.max_bytes,
            });
        }
        self.bytes = total;
        self.frames.push_back(transmit);
        Ok(())
    }

    /// Takes the oldest frame.
    pub fn pop(&mut self) -> Option<Transmit> {
        let transmit = self.frames.pop_front()?;
        self.bytes -= transmit.payload.as_bytes().len();
        Some(transmit)
    }

    /// Drops every frame.
    pub fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }

    /// Bytes of the frames waiting.
    pub fn queued_bytes(&self) -> usize {
        self.bytes
    }

    /// How many frames wait.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame waits.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proto_core::Payload;

    use super::*;

    fn frame(len: usize) -> Transmit {
        Transmit {
            to: None,
            payload: Payload::Binary(Bytes::from(vec![0; len])),
        }
    }

    #[test]
    fn refuses_a_frame_that_would_pass_the_limit() {
        let mut queue = OutboundQueue::new(10);
        queue.push(frame(6)).unwrap();
        queue.push(frame(4)).unwrap();
        assert_eq!(
            queue.push(frame(1)),
            Err(QueueFull {
                queued: 10,
                len: 1,
                max: 10
            })
        );
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop(), Some(frame(6)));
        assert_eq!(queue.queued_bytes(), 4);
        queue.push(frame(6)).unwrap();
        assert_eq!(queue.queued_bytes(), 10);
    }

    #[test]
    fn an_empty_queue_takes_one_oversize_frame() {
        let mut queue = OutboundQueue::new(10);
        queue.push(frame(50)).unwrap();
        assert_eq!(queue.queued_bytes(), 50);
        assert!(queue.push(frame(0)).is_err());
        queue.clear();
        assert!(queue.is_empty());
        assert_eq!(queue.queued_bytes(), 0);
        assert_eq!(queue.pop(), None);
    }
}
