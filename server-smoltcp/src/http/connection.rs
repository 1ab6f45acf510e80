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

use crate::files::{FileHandle, FileSource};
use crate::http::limits::HttpLimits;
use crate::http::request::{self, Parsed};
use crate::http::respond::{self, Answer, Exchange, Sources};

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
    /// File bytes still to send after it.
    pub file: Option<FileBody>,
    /// Close once everything is sent.
    pub close_after: bool,
}

/// The unsent rest of a file body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileBody {
    pub handle: FileHandle,
    pub offset: u64,
    pub remaining: u64,
}

/// What a connection needs from the server for one step.
pub(crate) struct Step<'s, 'r, 'i, F> {
    pub now: Instant,
    pub clock: Option<fn() -> Instant>,
    pub limits: &'s HttpLimits,
    pub port: u16,
    pub scratch: &'s mut [u8],
    pub sources: &'s mut Sources<'r, 'i, F>,
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
    };

    /// Whether (and since when) this connection may be reset to free its socket for a
    /// new client, given its socket's state.
    ///
    /// Besides connections waiting for their next request, a handshake left half-open and
    /// a request still arriving qualify: iPXE completes its handshake in one round trip
    /// and sends each request whole, so when every socket is taken, a client that has
    /// spent [`HttpLimits::reclaim_after`] on either is holding a socket someone else
    /// needs. Without this, eight SYNs from vanished clients, or eight clients sending one
    /// byte per second, kept every new client out for up to the idle timeout (or forever,
    /// for a request body trickled a byte at a time). A response being sent is never taken.
    pub(crate) fn reclaimable(&self, state: State) -> Option<(Instant, Reclaimable)> {
        match self.phase {
            Phase::Listening if state == State::SynReceived => Some((self.half_open_since?, Reclaimable::HalfOpen)),
            Phase::Reading => Some(match self.request_started {
                Some(started) => (started, Reclaimable::SlowRequest),
                None => (self.last_activity, Reclaimable::Idle),
            }),
            Phase::Listening | Phase::Sending(_) | Phase::Closing => None,
        }
    }

    /// The next time this connection must be looked at even if no packet arrives.
    pub(crate) fn deadline(&self, limits: &HttpLimits) -> Option<Instant> {
        if let Some(since) = self.reset_pending_since {
            return Some(since + limits.reclaim_after);
        }
        match self.phase {
            Phase::Listening => None,
            Phase::Reading => Some(match self.request_started {
                Some(started) => started + limits.request_deadline,
                None => self.last_activity + limits.idle_timeout,
            }),
            Phase::Sending(_) | Phase::Closing => Some(self.last_activity + limits.idle_timeout),
        }
    }

    /// Resets the connection at once (an RST goes out with the next interface poll) and
    /// releases its file; the socket listens again once the RST is sent, or after
    /// [`HttpLimits::reclaim_after`] if it cannot be.
    pub(crate) fn abort<F: FileSource>(&mut self, socket: &mut tcp::Socket<'_>, files: &mut F) {
        self.release(files);
        socket.abort();
        self.phase = Phase::Closing;
    }

    fn release<F: FileSource>(&mut self, files: &mut F) {
        if let Phase::Sending(Outgoing { file: Some(body), .. }) = self.phase {
            files.close(body.handle);
            self.phase = Phase::Closing;
        }
    }

    /// Advances the connection as far as it can go now; `true` if anything changed.
    pub(crate) fn step<F: FileSource>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &mut [u8],
        step: &mut Step<'_, '_, '_, F>,
    ) -> bool {
        let reset_pending = socket.state() == State::Closed && socket.remote_endpoint().is_some();
        if !reset_pending {
            self.reset_pending_since = None;
        }
        match socket.state() {
            // An aborted (or timed-out) socket keeps its peer until the RST is out, and
            // listening before that would swallow the RST. But smoltcp sends it only once
            // the peer's MAC is known: a SYN from a spoofed address, or from a client gone
            // before it answered ARP, left the socket closed and never listening again,
            // and a few dozen such SYNs took the whole pool for good. So the RST gets
            // `reclaim_after` to leave (on a live link it leaves with the next poll), and
            // the socket listens again without it if it could not.
            State::Closed if reset_pending => {
                let since = *self.reset_pending_since.get_or_insert(step.now);
                if step.now < since + step.limits.reclaim_after {
                    return false;
                }
                log_debug!(
                    "http client={:?} unreachable for its reset; the socket listens again without sending it",
                    socket.remote_endpoint()
                );
                self.release(step.sources.files);
                self.reset_pending_since = None;
                let _ = socket.listen(step.port);
                self.phase = Phase::Listening;
                return true;
            }
            State::Closed | State::TimeWait => {
                self.release(step.sources.files);
                // Leaving TIME-WAIT early is safe for a server socket: the peer closed
                // first or we reset it, and a new connection gets a new initial sequence.
                let listening = socket.listen(step.port).is_ok();
                let changed = self.phase != Phase::Listening;
                self.phase = Phase::Listening;
                return changed || listening;
            }
            State::Listen | State::SynReceived => {
                if self.phase != Phase::Listening {
                    self.release(step.sources.files);
                    self.phase = Phase::Listening;
                    self.half_open_since = None;
                    return true;
                }
                if socket.state() == State::Listen {
                    self.half_open_since = None;
                } else if self.half_open_since.is_none() {
                    self.half_open_since = Some(step.now);
                }
                return false;
            }
            _ => {}
        }
        match self.phase {
            Phase::Listening => {
                self.phase = Phase::Reading;
                self.last_activity = step.now;
                self.request_started = None;
                self.discard = 0;
                self.seen = 0;
                self.half_open_since = None;
                true
            }
            Phase::Reading => self.read(socket, response, step),
            Phase::Sending(outgoing) => self.send(socket, response, outgoing, step),
            Phase::Closing => {
                if step.now >= self.last_activity + step.limits.idle_timeout {
                    // A peer that never finishes the close (FIN-WAIT-2 forever) loses the socket.
                    socket.abort();
                    return true;
                }
                false
            }
        }
    }

    fn read<F: FileSource>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &mut [u8],
        step: &mut Step<'_, '_, '_, F>,
    ) -> bool {
        let now = step.now;
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
        if self.discard > 0 && self.request_started.is_some_and(|started| now >= started + step.limits.request_deadline)
        {
            // Each body byte renews the idle timer, so without this a client trickling an
            // endless body (a GET with `Content-Length: 1000000000`, a byte a second) held
            // the socket forever. The response was sent already; only a reset is left.
            log_info!(
                "http client={:?} request body not received within the request deadline; resetting the connection",
                socket.remote_endpoint()
            );
            self.abort(socket, step.sources.files);
            return true;
        }
        if self.discard > 0 || queued == 0 {
            if !socket.may_recv() || now >= self.last_activity + step.limits.idle_timeout {
                // The client is done with this connection, or kept it idle too long.
                socket.close();
                self.phase = Phase::Closing;
                self.last_activity = now;
                return true;
            }
            return progress;
        }
        let started = *self.request_started.get_or_insert(now);
        let exchange = Exchange { client: socket.remote_endpoint(), started, now, clock: step.clock };
        if now >= started + step.limits.request_deadline {
            // Checked before parsing, so a client trickling bytes cannot hold the socket.
            let answer = respond::answer_timeout(response, &exchange);
            self.start_sending(answer, now);
            return true;
        }
        if queued == self.seen {
            if !socket.may_recv() {
                // The client closed mid-head; nothing can complete it.
                socket.close();
                self.phase = Phase::Closing;
                return true;
            }
            return progress;
        }
        let limit = step.limits.max_header_bytes.min(step.scratch.len()).min(socket.recv_capacity());
        let Some(scratch) = step.scratch.get_mut(..limit) else {
            return progress;
        };
        let peeked = socket.peek_slice(scratch).unwrap_or(0);
        let bytes = scratch.get(..peeked).unwrap_or_default();
        match request::parse(bytes, limit, step.limits.max_target_bytes) {
            Ok(Parsed::Partial) => {
                self.seen = queued;
                progress
            }
            Ok(Parsed::Complete(request)) => {
                let answer = respond::answer(&request, response, step.sources, &exchange);
                skip(socket, request.head_len as u64);
                self.discard = request.body_len;
                // The body is bound by the request deadline as well, counted from the head.
                self.request_started = (request.body_len > 0).then_some(started);
                self.seen = 0;
                self.start_sending(answer, now);
                true
            }
            Err(error) => {
                let answer = respond::answer_error(error, response, &exchange);
                self.start_sending(answer, now);
                true
            }
        }
    }

    fn start_sending(&mut self, answer: Answer, now: Instant) {
        self.last_activity = now;
        self.phase = Phase::Sending(Outgoing {
            next: answer.placed.start,
            end: answer.placed.end,
            file: answer.file.map(|file| FileBody { handle: file.handle, offset: 0, remaining: file.len }),
            close_after: answer.close_after,
        });
    }

    fn send<F: FileSource>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        response: &[u8],
        mut outgoing: Outgoing,
        step: &mut Step<'_, '_, '_, F>,
    ) -> bool {
        let mut moved = false;
        while outgoing.next < outgoing.end {
            let pending = response.get(outgoing.next..outgoing.end).unwrap_or_default();
            match socket.send_slice(pending) {
                Ok(0) => break,
                Ok(sent) => {
                    outgoing.next += sent;
                    moved = true;
                }
                Err(_) => {
                    self.abort(socket, step.sources.files);
                    return true;
                }
            }
        }
        if outgoing.next >= outgoing.end {
            if let Some(mut body) = outgoing.file {
                let files = &mut *step.sources.files;
                while body.remaining > 0 && socket.can_send() {
                    let read = socket.send(|free| {
                        let want = usize::try_from(body.remaining).unwrap_or(usize::MAX).min(free.len());
                        let room = free.get_mut(..want).unwrap_or_default();
                        match files.read(body.handle, body.offset, room) {
                            Ok(read) => (read.min(want), Ok(read.min(want))),
                            Err(error) => (0, Err(error)),
                        }
                    });
                    match read {
                        Ok(Ok(read)) if read > 0 => {
                            body.offset += read as u64;
                            body.remaining -= read as u64;
                            moved = true;
                        }
                        Ok(Ok(_)) => {
                            // The file shrank under us: the promised Content-Length cannot
                            // be kept, and only a reset tells the client the body is short.
                            log_warn!("file ended {} bytes early; resetting the connection", body.remaining);
                            files.close(body.handle);
                            socket.abort();
                            self.phase = Phase::Closing;
                            return true;
                        }
                        Ok(Err(error)) => {
                            log_warn!("file read failed ({error}); resetting the connection");
                            files.close(body.handle);
                            socket.abort();
                            self.phase = Phase::Closing;
                            return true;
                        }
                        Err(_) => {
                            files.close(body.handle);
                            socket.abort();
                            self.phase = Phase::Closing;
                            return true;
                        }
                    }
                }
                if body.remaining == 0 {
                    files.close(body.handle);
                    outgoing.file = None;
                } else {
                    outgoing.file = Some(body);
                }
            }
        }
        if moved {
            self.last_activity = step.now;
        }
        if outgoing.next >= outgoing.end && outgoing.file.is_none() {
            if outgoing.close_after {
                socket.close();
                self.phase = Phase::Closing;
            } else {
                self.phase = Phase::Reading;
            }
            return true;
        }
        self.phase = Phase::Sending(outgoing);
        if !moved && step.now >= self.last_activity + step.limits.idle_timeout {
            log_warn!(
                "http client={:?} stopped reading its response; resetting the connection",
                socket.remote_endpoint()
            );
            self.abort(socket, step.sources.files);
            return true;
        }
        moved
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
