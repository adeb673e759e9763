//! What both ends of a connection keep: the outbox, their own requests by `u8`
//! id until answered, and the peer's requests until the application answers.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proto_core::{
    Close, IdAllocator, Outbox, Output, Payload, PendingError, PendingTable, deadline,
};

use crate::body::Body;
use crate::error::{CallError, InputError};
use crate::frame::{Frame, FrameKind, encode};
use crate::raw::RawValue;

/// How many ids a direction has.
const ID_SPACE: u64 = 256;

/// The bookkeeping of one connection, generic over the machine's events.
#[derive(Debug)]
pub(crate) struct Link<E> {
    outbox: Outbox<E>,
    /// This side's requests awaiting a response: id → `reqt`.
    sent: PendingTable<u8, u8>,
    /// Ids of requests that timed out: reserved until their late response comes.
    abandoned: HashSet<u8>,
    ids: IdAllocator,
    /// The peer's requests not answered yet: id → `reqt`.
    received: HashMap<u8, u8>,
    /// The draft's root `ver`, put in every frame when set.
    root_version: Option<String>,
}

impl<E> Link<E> {
    pub(crate) fn new(root_version: Option<String>) -> Self {
        Link {
            outbox: Outbox::new(),
            sent: PendingTable::new(ID_SPACE as usize),
            abandoned: HashSet::new(),
            ids: IdAllocator::bounded(ID_SPACE, 0),
            received: HashMap::new(),
            root_version,
        }
    }

    pub(crate) fn emit(&mut self, event: E) {
        self.outbox.event(event);
    }

    pub(crate) fn poll_output(&mut self) -> Option<Output<E>> {
        self.outbox.pop()
    }

    pub(crate) fn ping(&mut self) {
        self.outbox.transmit(Payload::Ping(bytes::Bytes::new()));
    }

    pub(crate) fn close(&mut self, close: Close) {
        self.outbox.close(close);
    }

    pub(crate) fn send(&mut self, id: u8, kind: FrameKind<'_>) {
        let frame = Frame {
            id,
            ver: self.root_version.as_deref(),
            kind,
        };
        self.outbox.transmit(Payload::Binary(encode(&frame).into()));
    }

    /// Sends a request with a free id, recording it until `timeout` has passed.
    pub(crate) fn request(
        &mut self,
        now: Instant,
        timeout: Duration,
        reqt: u8,
        body: Option<Body<'_>>,
    ) -> Result<u8, CallError> {
        let (sent, abandoned) = (&self.sent, &self.abandoned);
        let id = self
            .ids
            .allocate(|id| {
                let id = id as u8;
                sent.contains(&id) || abandoned.contains(&id)
            })
            .ok_or(CallError::IdsExhausted)? as u8;
        self.sent.insert(id, deadline(now, timeout), reqt)?;
        self.send(id, FrameKind::Request { reqt, body });
        Ok(id)
    }

    /// Records a frame this side sent without the machine (see the machines'
    /// `record_sent`): a request awaits its response until `timeout` has passed; a
    /// response settles the peer's request and gives its `reqt`, `None` when none
    /// with that id is unanswered here.
    pub(crate) fn record_sent(
        &mut self,
        now: Instant,
        timeout: Duration,
        frame: &Frame<'_>,
    ) -> Result<Option<u8>, CallError> {
        match frame.kind {
            FrameKind::Request { reqt, .. } => {
                // A timed-out request's id stays reserved until its late response.
                if self.abandoned.contains(&frame.id) {
                    return Err(CallError::Pending(PendingError::Duplicate));
                }
                self.sent.insert(frame.id, deadline(now, timeout), reqt)?;
                Ok(None)
            }
            FrameKind::Response { .. } | FrameKind::Error { .. } => {
                Ok(self.received.remove(&frame.id))
            }
            FrameKind::Event { .. } => Ok(None),
        }
    }

    /// Stops awaiting the response to this side's request `id`.
    pub(crate) fn forget(&mut self, id: u8) {
        self.sent.remove(&id);
    }

    /// The `reqt` of the request a response with `id` answers; `Ok(None)` for a
    /// late answer to a request that timed out, which frees its id.
    pub(crate) fn answered(&mut self, id: u8) -> Result<Option<u8>, InputError> {
        if let Some(reqt) = self.sent.remove(&id) {
            return Ok(Some(reqt));
        }
        if self.abandoned.remove(&id) {
            return Ok(None);
        }
        Err(InputError::UnmatchedResponse(id))
    }

    /// Records a request from the peer; its id must not be in use.
    pub(crate) fn received(&mut self, id: u8, reqt: u8) -> Result<(), InputError> {
        if self.received.contains_key(&id) {
            return Err(InputError::DuplicateId(id));
        }
        self.received.insert(id, reqt);
        Ok(())
    }

    /// Whether the peer's request `id` is unanswered.
    pub(crate) fn is_received(&self, id: u8) -> bool {
        self.received.contains_key(&id)
    }

    /// Answers the peer's request `id`, if it is unanswered and `accepts` its type.
    pub(crate) fn answer(
        &mut self,
        id: u8,
        accepts: impl FnOnce(u8) -> bool,
        kind: FrameKind<'_>,
    ) -> Result<(), CallError> {
        match self.received.get(&id) {
            Some(&reqt) if accepts(reqt) => {
                self.received.remove(&id);
                self.send(id, kind);
                Ok(())
            }
            _ => Err(CallError::UnknownRequest(id)),
        }
    }

    /// Answers the peer's request `id` with an error.
    pub(crate) fn answer_error(&mut self, id: u8, err: RawValue<'_>) -> Result<(), CallError> {
        self.answer(id, |_| true, FrameKind::Error { err })
    }

    /// The earliest request deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.sent.next_deadline()
    }

    /// Takes out one request past its deadline, reserving its id.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(u8, u8)> {
        let (id, reqt) = self.sent.pop_expired(now)?;
        self.abandoned.insert(id);
        Some((id, reqt))
    }

    /// The connection is over: every request this side sent, and the peer's
    /// unanswered ones, are dropped; the ids of the former are returned.
    pub(crate) fn end(&mut self) -> Vec<u8> {
        self.received.clear();
        self.abandoned.clear();
        self.sent.drain().into_iter().map(|(id, _)| id).collect()
    }
}
