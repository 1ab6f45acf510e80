//! One HTTP connection: a TCP socket and the state of the request/response exchange on it.
//!
//! A connection reads a request head, answers it, and (keep-alive) reads the next one,
//! so iPXE fetches its script, kernel and initrd over one connection. Pipelined requests
//! wait in the socket's receive buffer: the head is *peeked* into a shared scratch buffer
//! for parsing and consumed only once answered, so the next request is never lost and
//! answers go out in order. A response longer than the socket's send buffer is written
//! across polls: script bytes from the connection's response buffer, then file bytes read
//! straight into the socket's send buffer.
//!
//! Panic contract: nothing here panics, whatever a peer sends or when it stops.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Instant;

use crate::http::handler::{Exchange, Handler, Rejection, StreamId};
use crate::http::limits::HttpLimits;
use crate::http::reply::{Reply, ReplyBuffer, Sent};
use crate::http::request::{self, Method, Parsed};

/// Per-connection state. The caller provides one per concurrent connection (the
/// connection pool's size), filled with [`ConnectionSlot::EMPTY`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSlot {
    pub(crate) handle: Option<SocketHandle>,
    pub(crate) phase: Phase,
    /// Last time bytes moved either way (or the connection was accepted).
    pub(crate) last_activity: Instant,
    /// When the first byte of the request being read arrived; kept while its body is
    /// skipped, since the body must arrive within the request deadline too.
    pub(crate) request_started: Option<Instant>,
    /// Request body bytes still to skip before the next request head.
    pub(crate) discard: u64,
    /// Bytes that were queued when the head was last found incomplete; nothing new to
    /// parse until more arrive.
    pub(crate) seen: usize,
    /// Since when the listening socket has had a handshake pending (SYN received, no ACK).
    pub(crate) half_open_since: Option<Instant>,
    /// Since when the socket has been closed with its reset still unsent (see
    /// [`ConnectionSlot::step`]).
    pub(crate) reset_pending_since: Option<Instant>,
    /// When the connection last completed [`HttpLimits::send_progress_bytes`] of sending
    /// (or was accepted), and the bytes sent since: kept across the responses of one
    /// connection, so pipelining many small answers is measured like one large one.
    pub(crate) progress_since: Instant,
    pub(crate) progress_bytes: u64,
    /// When we closed the connection (sent, or queued, our FIN).
    pub(crate) closing_since: Instant,
}

/// Why a connection may be reset when every socket is taken and a new client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reclaimable {
    /// Waiting for its next request.
    Idle,
    /// A handshake the client never completed (a SYN, then nothing).
    HalfOpen,
    /// A request head or body still arriving: slow, stalled or a slowloris.
    SlowRequest,
    /// A response going out slower than [`HttpLimits::send_progress_bytes`] per
    /// [`HttpLimits::send_progress_window`]: a slow reader.
    SlowResponse,
    /// Closed by us, and the peer has not finished the close.
    Closing,
}

/// Where a connection is in its exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The socket listens for a client.
    Listening,
    /// Waiting for (the rest of) a request head.
    Reading,
    /// Writing a response.
    Sending(Outgoing),
    /// Closed or aborted by us; waiting for the socket to be done.
    Closing,
}

/// A response being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// Next byte of the response buffer to send.
    pub next: usize,
    /// End of the response buffer part.
    pub end: usize,
    /// Streamed bytes still to send after it.
    pub stream: Option<StreamBody>,
    /// Close once everything is sent.
    pub close_after: bool,
}

/// The unsent rest of a streamed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamBody {
    pub stream: StreamId,
    pub remaining: u64,
}

/// Everything the connections need for one poll.
pub(crate) struct PollContext<'c, H> {
    pub now: Instant,
    /// A finer clock than `now`, for the handler's timings.
    pub clock: Option<fn() -> Instant>,
    pub limits: &'c HttpLimits,
    pub port: u16,
    /// Where request heads are peeked for parsing; shared by every connection.
    pub scratch: &'c mut [u8],
    pub handler: &'c mut H,
}

impl ConnectionSlot {
    /// An unused slot.
    pub const EMPTY: ConnectionSlot = ConnectionSlot {
        handle: None,
        phase: Phase::Listening,
        last_activity: Instant::ZERO,
        request_started: None,
        discard: 0,
        seen: 0,
        half_open_since: None,
        reset_pending_since: None,
        progress_since: Instant::ZERO,
        progress_bytes: 0,
        closing_since: Instant::ZERO,
    };

    /// Whether this connection may be reset to free its socket for a new client, given its
    /// socket's state: `(since, from, why)`, where `from` is when it becomes reclaimable
    /// and `since` orders the candidates (the oldest is taken first).
    ///
    /// Besides connections waiting for their next request, a handshake left half-open and
    /// a request still arriving qualify: iPXE completes its handshake in one round trip
    /// and sends each request whole, so when every socket is taken, a client that has
    /// spent [`HttpLimits::reclaim_after`] on either is holding a socket someone else
    /// needs, and vanished or trickling clients can never keep new ones out for longer
    /// than that. A response qualifies once it has gone
    /// [`HttpLimits::send_progress_window`] without sending
    /// [`HttpLimits::send_progress_bytes`] (the least recently progressing first), so
    /// readers taking a few bytes at a time through a tiny window cannot hold the pool;
    /// a connection we closed qualifies after [`HttpLimits::reclaim_after`] if the peer
    /// has acknowledged everything but not closed (FIN-WAIT-2), or after
    /// [`HttpLimits::closing_timeout`] if it is still taking the last bytes.
    pub(crate) fn reclaimable(&self, state: State, limits: &HttpLimits) -> Option<(Instant, Instant, Reclaimable)> {
        let after = |since: Instant, wait, why| Some((since, since + wait, why));
        match self.phase {
            Phase::Listening if state == State::SynReceived => {
                after(self.half_open_since?, limits.half_open_timeout, Reclaimable::HalfOpen)
            }
            Phase::Reading => match self.request_started {
                Some(started) => after(started, limits.reclaim_after, Reclaimable::SlowRequest),
                None => after(self.last_activity, limits.reclaim_after, Reclaimable::Idle),
            },
            Phase::Sending(_) => after(self.progress_since, limits.send_progress_window, Reclaimable::SlowResponse),
            Phase::Closing if state == State::FinWait2 => {
                after(self.closing_since, limits.reclaim_after, Reclaimable::Closing)
            }
            // Closed: an abort already under way; nothing to take.
            Phase::Closing if state != State::Closed => {
                after(self.closing_since, limits.closing_timeout, Reclaimable::Closing)
            }
            Phase::Listening | Phase::Closing => None,
        }
    }

    /// The next time this connection must be looked at even if no packet arrives.
    pub(crate) fn deadline(&self, state: State, limits: &HttpLimits) -> Option<Instant> {
        if let Some(since) = self.reset_pending_since {
            return Some(since + limits.reclaim_after);
        }
        match self.phase {
            Phase::Listening => None,
            Phase::Reading => Some(match self.request_started {
                Some(started) => started + limits.request_deadline,
                None => self.last_activity + limits.idle_timeout,
            }),
            // Only FIN-WAIT-2 has the short timeout (see `step`).
            Phase::Closing if state == State::FinWait2 => {
                Some((self.last_activity + limits.idle_timeout).min(self.closing_since + limits.closing_timeout))
            }
            Phase::Sending(_) | Phase::Closing => Some(self.last_activity + limits.idle_timeout),
        }
    }

    /// Resets the connection at once (an RST goes out with the next interface poll) and
    /// gives back its stream; the socket listens again once the RST is sent, or after
    /// [`HttpLimits::reclaim_after`] if it cannot be.
    pub(crate) fn abort<H: Handler>(&mut self, socket: &mut tcp::Socket<'_>, handler: &mut H) {
        self.release(handler);
        socket.abort();
        self.phase = Phase::Closing;
    }

    /// Drops a half-open handshake and listens again at once, without the reset: the
    /// peer never acknowledged our SYN-ACK, and a spoofed one cannot even be reached
    /// (the reset would wait for an ARP answer that never comes, holding the socket).
    pub(crate) fn drop_half_open(&mut self, socket: &mut tcp::Socket<'_>, port: u16) {
        socket.abort();
        // Cannot fail: an aborted socket is closed, and the port was checked at set-up.
        let _ = socket.listen(port);
        self.phase = Phase::Listening;
        self.half_open_since = None;
    }

    /// Closes the connection once what is queued is sent (a FIN, not a reset).
    fn close(&mut self, socket: &mut tcp::Socket<'_>, now: Instant) {
        socket.close();
        self.phase = Phase::Closing;
        self.closing_since = now;
    }

    /// Gives back the stream of the response being sent, if any. The phase holds a
    /// stream until it is closed, so it is closed exactly once.
    fn release<H: Handler>(&mut self, handler: &mut H) {
        if let Phase::Sending(Outgoing { stream: Some(body), .. }) = self.phase {
            handler.close_stream(body.stream);
            self.phase = Phase::Closing;
        }
    }

    /// Advances the connection as far as it can go now; `true` if anything changed.
    pub(crate) fn step<H: Handler>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &mut [u8],
        ctx: &mut PollContext<'_, H>,
    ) -> bool {
        let reset_pending = socket.state() == State::Closed && socket.remote_endpoint().is_some();
        if !reset_pending {
            self.reset_pending_since = None;
        }
        match socket.state() {
            // An aborted (or timed-out) socket keeps its peer until the RST is out, and
            // listening before that would swallow the RST. smoltcp sends it only once the
            // peer's MAC is known, which a spoofed or vanished peer never answers for; so
            // the RST gets `reclaim_after` to leave (on a live link it leaves with the
            // next poll), and then the socket listens again without it, so no socket
            // stays out of the pool.
            State::Closed if reset_pending => {
                let since = *self.reset_pending_since.get_or_insert(ctx.now);
                if ctx.now < since + ctx.limits.reclaim_after {
                    return false;
                }
                log_debug!(
                    "http client={:?} unreachable for its reset; the socket listens again without sending it",
                    socket.remote_endpoint()
                );
                self.release(ctx.handler);
                self.reset_pending_since = None;
                let _ = socket.listen(ctx.port);
                self.phase = Phase::Listening;
                return true;
            }
            State::Closed | State::TimeWait => {
                self.release(ctx.handler);
                // Leaving TIME-WAIT early is safe for a server socket: the peer closed
                // first or we reset it, and a new connection gets a new initial sequence.
                let listening = socket.listen(ctx.port).is_ok();
                let changed = self.phase != Phase::Listening;
                self.phase = Phase::Listening;
                return changed || listening;
            }
            State::Listen | State::SynReceived => {
                if self.phase != Phase::Listening {
                    self.release(ctx.handler);
                    self.phase = Phase::Listening;
                    self.half_open_since = None;
                    return true;
                }
                if socket.state() == State::Listen {
                    self.half_open_since = None;
                } else if self.half_open_since.is_none() {
                    self.half_open_since = Some(ctx.now);
                }
                return false;
            }
            _ => {}
        }
        match self.phase {
            Phase::Listening => {
                self.phase = Phase::Reading;
                self.last_activity = ctx.now;
                self.request_started = None;
                self.discard = 0;
                self.seen = 0;
                self.half_open_since = None;
                self.progress_since = ctx.now;
                self.progress_bytes = 0;
                true
            }
            Phase::Reading => self.read(socket, response, ctx),
            Phase::Sending(outgoing) => self.send(socket, response, outgoing, ctx),
            Phase::Closing => {
                // A peer that has everything but never finishes the close (FIN-WAIT-2)
                // holds the socket for nothing: the short timeout. One still taking the
                // last bytes, or gone, has the idle timeout like any transfer.
                let holding =
                    socket.state() == State::FinWait2 && ctx.now >= self.closing_since + ctx.limits.closing_timeout;
                if holding || ctx.now >= self.last_activity + ctx.limits.idle_timeout {
                    log_debug!(
                        "http client={:?} did not finish closing ({}); resetting the connection",
                        socket.remote_endpoint(),
                        socket.state()
                    );
                    socket.abort();
                    return true;
                }
                false
            }
        }
    }

    fn read<H: Handler>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &mut [u8],
        ctx: &mut PollContext<'_, H>,
    ) -> bool {
        let now = ctx.now;
        let mut progress = false;
        if self.discard > 0 {
            let skipped = skip(socket, self.discard);
            if skipped > 0 {
                self.discard -= skipped;
                self.last_activity = now;
                progress = true;
                if self.discard == 0 {
                    self.request_started = None;
                }
            }
        }
        let queued = socket.recv_queue();
        if self.discard > 0 && self.request_started.is_some_and(|started| now >= started + ctx.limits.request_deadline)
        {
            // Each body byte renews the idle timer, so only this deadline bounds a client
            // trickling an endless body (a GET with `Content-Length: 1000000000`, a byte a
            // second). The response was sent already; only a reset is left.
            log_info!(
                "http client={:?} request body not received within the request deadline; resetting the connection",
                socket.remote_endpoint()
            );
            self.abort(socket, ctx.handler);
            return true;
        }
        if self.discard > 0 || queued == 0 {
            if !socket.may_recv() || now >= self.last_activity + ctx.limits.idle_timeout {
                // The client is done with this connection, or kept it idle too long.
                self.close(socket, now);
                self.last_activity = now;
                return true;
            }
            return progress;
        }
        let started = *self.request_started.get_or_insert(now);
        let exchange = Exchange { client: socket.remote_endpoint(), started, now, clock: ctx.clock };
        if now >= started + ctx.limits.request_deadline {
            // Checked before parsing, so a client trickling bytes cannot hold the socket.
            let reply = Reply::text(408, "request head not received in time").closing();
            let sent = ReplyBuffer::new(response, false, false).send(&reply);
            ctx.handler.rejected(Rejection::TooSlow, &exchange, &sent);
            self.start_sending(sent, now, ctx.handler);
            return true;
        }
        if queued == self.seen {
            if !socket.may_recv() {
                // The client closed mid-head; nothing can complete it.
                self.close(socket, now);
                return true;
            }
            return progress;
        }
        let limit = ctx.limits.max_header_bytes.min(ctx.scratch.len()).min(socket.recv_capacity());
        let Some(scratch) = ctx.scratch.get_mut(..limit) else {
            return progress;
        };
        let peeked = socket.peek_slice(scratch).unwrap_or(0);
        let bytes = scratch.get(..peeked).unwrap_or_default();
        match request::parse(bytes, limit, ctx.limits.max_target_bytes) {
            Ok(Parsed::Partial) => {
                self.seen = queued;
                progress
            }
            Ok(Parsed::Complete(request)) => {
                let reply = ReplyBuffer::new(response, request.keep_alive, request.method == Method::Head);
                let sent = ctx.handler.respond(&request, &exchange, reply);
                skip(socket, request.head_len as u64);
                self.discard = request.body_len;
                // The body is bound by the request deadline as well, counted from the head.
                self.request_started = (request.body_len > 0).then_some(started);
                self.seen = 0;
                self.start_sending(sent, now, ctx.handler);
                true
            }
            Err(error) => {
                let reply = Reply::text(error.status(), error.reason()).closing();
                let sent = ReplyBuffer::new(response, false, false).send(&reply);
                ctx.handler.rejected(Rejection::Unparsable(error), &exchange, &sent);
                self.start_sending(sent, now, ctx.handler);
                true
            }
        }
    }

    fn start_sending<H: Handler>(&mut self, sent: Sent, now: Instant, handler: &mut H) {
        if let Some(unread) = sent.unread {
            handler.close_stream(unread);
        }
        // Time spent waiting for this request is not time spent sending: the send-rate
        // clock stops while the client has nothing to read, so a keep-alive client asking
        // for its kernel seconds after its script starts with a clean record.
        if now > self.last_activity {
            self.progress_since = (self.progress_since + (now - self.last_activity)).min(now);
        }
        self.last_activity = now;
        self.phase = Phase::Sending(Outgoing {
            next: sent.placed.start,
            end: sent.placed.end,
            stream: sent.stream.map(|(stream, remaining)| StreamBody { stream, remaining }),
            close_after: sent.close,
        });
    }

    fn send<H: Handler>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &[u8],
        mut outgoing: Outgoing,
        ctx: &mut PollContext<'_, H>,
    ) -> bool {
        let mut moved: u64 = 0;
        while outgoing.next < outgoing.end {
            let pending = response.get(outgoing.next..outgoing.end).unwrap_or_default();
            match socket.send_slice(pending) {
                Ok(0) => break,
                Ok(sent) => {
                    outgoing.next += sent;
                    moved += sent as u64;
                }
                Err(_) => {
                    self.abort(socket, ctx.handler);
                    return true;
                }
            }
        }
        if outgoing.next >= outgoing.end {
            if let Some(mut body) = outgoing.stream {
                // On every failure below, `self.phase` still holds this stream, so
                // `abort` gives it back.
                while body.remaining > 0 && socket.can_send() {
                    let handler = &mut *ctx.handler;
                    let read = socket.send(|free| {
                        let want = usize::try_from(body.remaining).unwrap_or(usize::MAX).min(free.len());
                        let room = free.get_mut(..want).unwrap_or_default();
                        match handler.read_stream(body.stream, room) {
                            Ok(read) => (read.min(want), Ok(read.min(want))),
                            Err(error) => (0, Err(error)),
                        }
                    });
                    match read {
                        Ok(Ok(read)) if read > 0 => {
                            body.remaining -= read as u64;
                            moved += read as u64;
                        }
                        Ok(Ok(_)) => {
                            // The body shrank under us (a file truncated while sent): the
                            // promised Content-Length cannot be kept, and only a reset
                            // tells the client the body is short.
                            log_warn!("file ended {} bytes early; resetting the connection", body.remaining);
                            self.abort(socket, ctx.handler);
                            return true;
                        }
                        Ok(Err(error)) => {
                            log_warn!("file read failed ({error}); resetting the connection");
                            self.abort(socket, ctx.handler);
                            return true;
                        }
                        Err(_) => {
                            self.abort(socket, ctx.handler);
                            return true;
                        }
                    }
                }
                if body.remaining == 0 {
                    ctx.handler.close_stream(body.stream);
                    outgoing.stream = None;
                } else {
                    outgoing.stream = Some(body);
                }
            }
        }
        if moved > 0 {
            self.last_activity = ctx.now;
            self.progress_bytes = self.progress_bytes.saturating_add(moved);
            if self.progress_bytes >= ctx.limits.send_progress_bytes {
                self.progress_since = ctx.now;
                self.progress_bytes = 0;
            }
        }
        if outgoing.next >= outgoing.end && outgoing.stream.is_none() {
            if outgoing.close_after {
                self.close(socket, ctx.now);
            } else {
                self.phase = Phase::Reading;
            }
            return true;
        }
        self.phase = Phase::Sending(outgoing);
        if moved == 0 && ctx.now >= self.last_activity + ctx.limits.idle_timeout {
            log_warn!(
                "http client={:?} stopped reading its response; resetting the connection",
                socket.remote_endpoint()
            );
            self.abort(socket, ctx.handler);
            return true;
        }
        moved > 0
    }
}

/// Consumes up to `count` received bytes; returns how many.
fn skip(socket: &mut tcp::Socket<'_>, count: u64) -> u64 {
    let mut skipped = 0;
    // The receive buffer is a ring: one `recv` reaches at most its end, so take two.
    for _ in 0..2 {
        let want = usize::try_from(count - skipped).unwrap_or(usize::MAX);
        match socket.recv(|bytes| {
            let take = bytes.len().min(want);
            (take, take)
        }) {
            Ok(0) | Err(_) => break,
            Ok(taken) => skipped += taken as u64,
        }
        if skipped == count {
            break;
        }
    }
    skipped
}
