//! What both roles share on one connection: request bookkeeping in both directions,
//! and the frames and events queued for the driver.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use proto_core::{Close, IdAllocator, Outbox, Output, Payload, PendingTable, deadline};

use crate::codec::encode;
use crate::error::{CallError, InputError};
use crate::event::{Disconnect, Event, IncomingRequest, RequestFailure, RequestId};
use crate::message::{Dispatch, Message, Request, Response};
use crate::raw::RawJson;

/// One connection's shared state, owned by a [`Client`](crate::Client) or a
/// [`Server`](crate::Server).
#[derive(Debug)]
pub(crate) struct Session {
    outbox: Outbox<Event>,
    /// This side's requests, keyed by the integer nonce they carried.
    outgoing: PendingTable<u64, ()>,
    nonces: IdAllocator,
    /// Nonces (as JSON text) of the peer's requests the application has not answered.
    incoming: HashSet<Box<str>>,
    max_incoming: usize,
    request_timeout: Duration,
}

impl Session {
    pub(crate) fn new(request_timeout: Duration, max_pending: usize) -> Self {
        Session {
            outbox: Outbox::new(),
            outgoing: PendingTable::new(max_pending),
            nonces: IdAllocator::sequential(1),
            incoming: HashSet::new(),
            max_incoming: max_pending,
            request_timeout,
        }
    }

    pub(crate) fn send(&mut self, message: &Message<'_>) {
        self.outbox.transmit(Payload::Text(encode(message)));
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.outbox.event(event);
    }

    pub(crate) fn reconnect(&mut self, at: Instant) {
        self.outbox.reconnect(at);
    }

    pub(crate) fn poll_output(&mut self) -> Option<Output<Event>> {
        let output = self.outbox.pop();
        if output.is_none() {
            // Once drained, the buffer goes too: an idle connection holds none (a
            // server has thousands), at the price of one allocation per burst.
            self.outbox = Outbox::new();
        }
        output
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.outgoing.next_deadline()
    }

    /// Sends a REQUEST with a fresh nonce, due back within the request timeout.
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<RequestId, CallError> {
        let outgoing = &self.outgoing;
        let nonce = self
            .nonces
            .allocate(|nonce| outgoing.contains(&nonce))
            .ok_or(CallError::Pending(proto_core::PendingError::Full {
                capacity: outgoing.capacity(),
            }))?;
        self.outgoing
            .insert(nonce, deadline(now, self.request_timeout), ())?;
        self.send(&Message::Request(Request {
            what: Cow::Borrowed(what),
            args,
            nonce: RawJson::from_u64(nonce),
        }));
        Ok(RequestId(nonce))
    }

    /// Answers the peer's request with `nonce`.
    pub(crate) fn respond(
        &mut self,
        nonce: &RawJson<'_>,
        data: RawJson<'_>,
    ) -> Result<(), CallError> {
        if !self.incoming.remove(nonce.get()) {
            return Err(CallError::UnknownNonce);
        }
        self.send(&Message::Response(Response {
            nonce: nonce.clone(),
            data,
        }));
        Ok(())
    }

    pub(crate) fn dispatch(&mut self, what: &str, args: Vec<RawJson<'_>>) {
        self.send(&Message::Dispatch(Dispatch {
            what: Cow::Borrowed(what),
            args,
        }));
    }

    /// Records the peer's request and hands it to the application.
    pub(crate) fn on_request(&mut self, request: Request<'_>) -> Result<(), InputError> {
        if self.incoming.contains(request.nonce.get()) {
            return Err(InputError::DuplicateNonce);
        }
        if self.incoming.len() >= self.max_incoming {
            return Err(InputError::TooManyRequests {
                max: self.max_incoming,
            });
        }
        self.incoming.insert(request.nonce.get().into());
        self.emit(Event::Request(IncomingRequest {
            nonce: request.nonce.into_owned(),
            what: request.what.into_owned(),
            args: request.args.into_iter().map(RawJson::into_owned).collect(),
        }));
        Ok(())
    }

    /// Matches a RESPONSE to the request that carried its nonce.
    pub(crate) fn on_response(&mut self, response: Response<'_>) -> Result<(), InputError> {
        let nonce = response
            .nonce
            .parse::<u64>()
            .map_err(|_| InputError::UnmatchedResponse)?;
        self.outgoing
            .remove(&nonce)
            .ok_or(InputError::UnmatchedResponse)?;
        self.emit(Event::Response {
            id: RequestId(nonce),
            data: response.data.into_owned(),
        });
        Ok(())
    }

    pub(crate) fn on_dispatch(&mut self, dispatch: Dispatch<'_>) {
        self.emit(Event::Dispatch {
            what: dispatch.what.into_owned(),
            args: dispatch.args.into_iter().map(RawJson::into_owned).collect(),
        });
    }

    /// Fails every request whose timeout has passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((nonce, ())) = self.outgoing.pop_expired(now) {
            self.emit(Event::RequestFailed {
                id: RequestId(nonce),
                reason: RequestFailure::TimedOut,
            });
        }
    }

    /// Closes the connection from this side.
    pub(crate) fn close(&mut self, close: Close) {
        self.outbox.close(close.clone());
        self.end(Disconnect::Local(close));
    }

    /// The connection is over: every request in flight fails, the peer's unanswered
    /// requests are forgotten, and the application hears why.
    pub(crate) fn end(&mut self, disconnect: Disconnect) {
        for (nonce, ()) in self.outgoing.drain() {
            self.emit(Event::RequestFailed {
                id: RequestId(nonce),
                reason: RequestFailure::ConnectionLost,
            });
        }
        self.incoming.clear();
        self.emit(Event::Disconnected(disconnect));
    }
}
