//! The seam between the HTTP transport and what a request means.
//!
//! The transport parses a request head, enforces the limits, and sends what a
//! [`Handler`] answers; the handler decides the answer (an iPXE script, a file, a metric)
//! and keeps its own access log. A handler that streams bodies (files) hands out a
//! [`StreamId`] per body, which the transport reads across polls and always gives back
//! through [`Handler::close_stream`], whether the body was sent whole, cut short by the
//! peer, or never sent (a `HEAD`).

use core::fmt;

use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

use crate::http::reply::{ReplyBuffer, Sent};
use crate::http::request::{Request, RequestError};

/// Answers requests on behalf of the HTTP transport.
pub trait Handler {
    /// Why a stream could not be read, for the log line of the reset that follows.
    type StreamError: fmt::Display;

    /// Answers a complete request head: writes any body into `reply`, then sends it with
    /// [`ReplyBuffer::send`] and returns what that gave.
    fn respond(&mut self, request: &Request<'_>, exchange: &Exchange, reply: ReplyBuffer<'_>) -> Sent;

    /// Reads the next bytes of `stream` into `buf`; `Ok(0)` only at its end.
    fn read_stream(&mut self, stream: StreamId, buf: &mut [u8]) -> Result<usize, Self::StreamError>;

    /// Releases `stream`; the transport calls it exactly once per stream it was given.
    fn close_stream(&mut self, stream: StreamId);

    /// The transport answered a request itself (`sent`), before any handler saw it.
    fn rejected(&mut self, why: Rejection, exchange: &Exchange, sent: &Sent) {
        let _ = (why, exchange, sent);
    }
}

/// A streamed body, named by the handler that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamId(pub u32);

/// Why the transport answered a request without a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The head could not be parsed or broke a limit.
    Unparsable(RequestError),
    /// The head did not arrive within the request deadline (`408`).
    TooSlow,
}

/// Who asked and when.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    /// The peer, while the socket knows it.
    pub client: Option<IpEndpoint>,
    /// When the request's first byte was seen.
    pub started: Instant,
    /// The poll's timestamp.
    pub now: Instant,
    /// A finer clock (same epoch), read when a log line is written.
    pub clock: Option<fn() -> Instant>,
}

impl Exchange {
    /// Time from the request's first byte to now (its response being ready).
    pub fn micros(&self) -> i64 {
        let done = self.clock.map_or(self.now, |clock| clock());
        (done.total_micros() - self.started.total_micros()).max(0)
    }
}
