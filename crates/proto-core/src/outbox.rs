//! The queue of outputs a machine has produced and its driver has not yet polled.

use std::collections::VecDeque;
use std::time::Instant;

use crate::io::{Close, Output, Payload, Peer, Transmit};

/// Outputs in the order the machine produced them; a machine's
/// [`poll_output`](crate::Machine::poll_output) pops from the front.
#[derive(Debug)]
pub struct Outbox<E> {
    queue: VecDeque<Output<E>>,
}

impl<E> Default for Outbox<E> {
    fn default() -> Self {
        Outbox {
            queue: VecDeque::new(),
        }
    }
}

impl<E> Outbox<E> {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a frame for the single connection.
    pub fn transmit(&mut self, payload: Payload) {
        self.queue.push_back(Output::transmit(payload));
    }

    /// Queues a frame for `to`.
    pub fn transmit_to(&mut self, to: Peer, payload: Payload) {
        self.queue.push_back(Output::Transmit(Transmit {
            to: Some(to),
            payload,
        }));
    }

    /// Queues an application event.
    pub fn event(&mut self, event: E) {
        self.queue.push_back(Output::Event(event));
    }

    /// Queues the close of the single connection.
    pub fn close(&mut self, close: Close) {
        self.queue.push_back(Output::close(close));
    }

    /// Queues the close of link `peer`.
    pub fn close_peer(&mut self, peer: Peer, close: Close) {
        self.queue.push_back(Output::Close {
            peer: Some(peer),
            close,
        });
    }

    /// Queues a request to reconnect at `at`.
    pub fn reconnect(&mut self, at: Instant) {
        self.queue.push_back(Output::Reconnect { at });
    }

    /// The oldest output.
    pub fn pop(&mut self) -> Option<Output<E>> {
        self.queue.pop_front()
    }

    /// How many outputs wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
