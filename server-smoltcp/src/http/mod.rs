//! The HTTP/1.1 transport: a fixed pool of TCP sockets, each carrying one
//! [`ConnectionSlot`]. It parses request heads, enforces [`HttpLimits`] and sends replies;
//! what a request means is a [`Handler`]'s business (see [`crate::service`]).
//!
//! The pool's size is the number of concurrent connections. A socket that is not
//! connected listens; when no socket listens, the connection that has been reclaimable
//! longest is reset so a waiting client can connect: one waiting for its next request, a
//! handshake left half-open, or a request still arriving after
//! [`HttpLimits::reclaim_after`]; a response that has not moved
//! [`HttpLimits::send_progress_bytes`] in [`HttpLimits::send_progress_window`] (the least
//! recently progressing first); a close the peer does not finish. Only a client waiting
//! for a socket (a SYN held by the SYN gate) is pressure; without it only the timeouts end
//! a connection, so a slow but live client is never cut. One client address holds at most
//! [`HttpLimits::max_connections_per_client`] connections.
//!
//! Panic contract: nothing here panics at run time; sizes are checked once, at set-up.

pub mod connection;
pub mod handler;
pub mod limits;
pub mod reply;
pub mod request;
pub mod response;

use smoltcp::iface::SocketSet;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;

pub use connection::ConnectionSlot;
pub use handler::{Exchange, Handler, Rejection, StreamId};
pub use limits::HttpLimits;
pub use reply::{Body, Reply, ReplyBuffer, Sent};

use connection::{PollContext, Reclaimable};

/// Steps one connection may take in one poll: several pipelined requests can be
/// answered back to back, but one busy client cannot starve the others.
const MAX_STEPS_PER_POLL: usize = 16;

/// The connection pool and the buffers its responses are built in.
pub(crate) struct HttpServer<'a> {
    slots: &'a mut [ConnectionSlot],
    responses: &'a mut [u8],
    response_size: usize,
    scratch: &'a mut [u8],
    limits: HttpLimits,
    port: u16,
}

/// The HTTP server's part of the appliance's storage.
pub(crate) struct HttpBuffers<'a> {
    pub slots: &'a mut [ConnectionSlot],
    pub tcp_rx: &'a mut [u8],
    pub tcp_tx: &'a mut [u8],
    pub responses: &'a mut [u8],
    pub scratch: &'a mut [u8],
}

impl<'a> HttpServer<'a> {
    /// Adds one TCP socket per slot, with the receive and send arenas split evenly.
    ///
    /// The caller has checked that every part is non-empty and that the socket set has
    /// room for one socket per slot.
    pub(crate) fn new(sockets: &mut SocketSet<'a>, buffers: HttpBuffers<'a>, limits: HttpLimits, port: u16) -> Self {
        let HttpBuffers { slots, tcp_rx, tcp_tx, responses, scratch } = buffers;
        let count = slots.len().max(1);
        let rx_size = (tcp_rx.len() / count).max(1);
        let tx_size = (tcp_tx.len() / count).max(1);
        let response_size = responses.len() / count;
        for ((slot, rx), tx) in
            slots.iter_mut().zip(tcp_rx.chunks_exact_mut(rx_size)).zip(tcp_tx.chunks_exact_mut(tx_size))
        {
            let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
            // Without this a vanished peer would hold a socket through retransmissions
            // for as long as smoltcp keeps trying.
            socket.set_timeout(Some(limits.idle_timeout));
            // Responses are written whole; Nagle would only delay their last segment.
            socket.set_nagle_enabled(false);
            // Cannot fail: the port is checked to be non-zero at set-up.
            let _ = socket.listen(port);
            *slot = ConnectionSlot { handle: Some(sockets.add(socket)), ..ConnectionSlot::EMPTY };
        }
        HttpServer { slots, responses, response_size, scratch, limits, port }
    }

    /// Advances every connection, answering requests with `handler`; `true` if anything
    /// changed. `clock`, if given, is a finer clock than `now` for the handler's timings.
    /// `clients_waiting`: new clients wait for a socket (the pool is under pressure), so
    /// slow responses and unfinished closes may be reclaimed too.
    pub(crate) fn poll<H: Handler>(
        &mut self,
        sockets: &mut SocketSet<'a>,
        now: Instant,
        clock: Option<fn() -> Instant>,
        handler: &mut H,
        clients_waiting: bool,
    ) -> bool {
        let mut progress = false;
        let cap = self.limits.max_connections_per_client;
        for index in 0..self.slots.len() {
            let Some(client) = self.newly_over_cap(sockets, index) else { continue };
            log_info!("http client={client} already holds {cap} connections; resetting its new one");
            if let Some(slot) = self.slots.get_mut(index) {
                if let Some(handle) = slot.handle {
                    slot.abort(sockets.get_mut::<tcp::Socket>(handle), handler);
                }
            }
            progress = true;
        }
        let mut ctx = PollContext {
            now,
            clock,
            limits: &self.limits,
            port: self.port,
            scratch: &mut *self.scratch,
            handler: &mut *handler,
        };
        for (slot, response) in self.slots.iter_mut().zip(self.responses.chunks_exact_mut(self.response_size.max(1))) {
            let Some(handle) = slot.handle else { continue };
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            for _ in 0..MAX_STEPS_PER_POLL {
                if !slot.step(socket, response, &mut ctx) {
                    break;
                }
                progress = true;
            }
        }
        progress | self.reclaim(sockets, now, handler, clients_waiting)
    }

    /// The client's address if the connection in slot `index` was just established (not
    /// yet served) and its client already holds the most connections allowed.
    fn newly_over_cap(&self, sockets: &SocketSet<'a>, index: usize) -> Option<smoltcp::wire::IpAddress> {
        let slot = self.slots.get(index)?;
        let socket = sockets.get::<tcp::Socket>(slot.handle?);
        if slot.phase != connection::Phase::Listening
            || matches!(socket.state(), tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
        {
            return None;
        }
        let client = socket.remote_endpoint()?.addr;
        // Connections of this client already served, and those established in the same
        // poll that this pass admitted before this one (they are still `Listening`), so a
        // burst of handshakes completing together cannot pass the cap. A socket waiting
        // to send its reset (closed) holds nothing.
        let held = self
            .slots
            .iter()
            .enumerate()
            .filter(|&(other, slot)| other != index && (slot.phase != connection::Phase::Listening || other < index))
            .filter_map(|(_, slot)| {
                let socket = sockets.get::<tcp::Socket>(slot.handle?);
                let connected =
                    !matches!(socket.state(), tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed);
                connected.then(|| socket.remote_endpoint()).flatten()
            })
            .filter(|endpoint| endpoint.addr == client)
            .count();
        (held >= self.limits.max_connections_per_client).then_some(client)
    }

    /// Whether a new client can connect now: some socket is listening (one that has
    /// received a SYN is busy until the handshake completes or times out).
    pub(crate) fn accepting(&self, sockets: &SocketSet<'a>) -> bool {
        self.slots
            .iter()
            .filter_map(|slot| slot.handle)
            .any(|handle| sockets.get::<tcp::Socket>(handle).state() == tcp::State::Listen)
    }

    /// When no socket listens, resets the connection that has been reclaimable longest
    /// (see [`ConnectionSlot::reclaimable`]).
    fn reclaim<H: Handler>(
        &mut self,
        sockets: &mut SocketSet<'a>,
        now: Instant,
        handler: &mut H,
        clients_waiting: bool,
    ) -> bool {
        if self.accepting(sockets) {
            return false;
        }
        let limits = &self.limits;
        let victim = self
            .slots
            .iter_mut()
            .filter_map(|slot| {
                let state = sockets.get::<tcp::Socket>(slot.handle?).state();
                let (since, from, why) = slot.reclaimable(state, limits)?;
                (pressing(why, clients_waiting) && now >= from).then_some((since, why, slot))
            })
            .min_by_key(|(since, ..)| *since);
        let Some((since, why, slot)) = victim else { return false };
        let Some(handle) = slot.handle else { return false };
        let socket = sockets.get_mut::<tcp::Socket>(handle);
        let client = socket.remote_endpoint();
        let millis = (now - since).total_millis();
        match why {
            Reclaimable::Idle => log_debug!("http client={client:?} idle {millis} ms reset to free a socket for a new client"),
            Reclaimable::HalfOpen => log_info!(
                "http client={client:?} left its handshake half-open {millis} ms; reset to free a socket for a new client"
            ),
            Reclaimable::SlowRequest => log_info!(
                "http client={client:?} still sending its request after {millis} ms; reset to free a socket for a new client"
            ),
            Reclaimable::SlowResponse => log_info!(
                "http client={client:?} read under {} bytes of its response in {millis} ms; reset to free a socket for a new client",
                limits.send_progress_bytes
            ),
            Reclaimable::Closing => log_info!(
                "http client={client:?} has not finished closing after {millis} ms; reset to free a socket for a new client"
            ),
        }
        if why == Reclaimable::HalfOpen {
            slot.drop_half_open(socket, self.port);
        } else {
            slot.abort(socket, handler);
        }
        true
    }

    /// The earliest time a connection times out, or may be reclaimed.
    pub(crate) fn poll_at(&self, sockets: &SocketSet<'a>, clients_waiting: bool) -> Option<Instant> {
        let all_busy = !self.accepting(sockets);
        self.slots
            .iter()
            .filter_map(|slot| {
                let state = sockets.get::<tcp::Socket>(slot.handle?).state();
                let reclaim = if all_busy {
                    slot.reclaimable(state, &self.limits)
                        .filter(|&(_, _, why)| pressing(why, clients_waiting))
                        .map(|(_, from, _)| from)
                } else {
                    None
                };
                match (slot.deadline(state, &self.limits), reclaim) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min()
    }
}

/// Whether a connection reclaimable for `why` may be taken now: only when new clients
/// are actually waiting for a socket, whatever the reason. A socket freed for nobody
/// helps no one, and resetting a slow handshake (a routed client, a loaded emulator), a
/// keep-alive connection between its script and its kernel, or a slow reader would fail
/// an honest boot.
fn pressing(_why: Reclaimable, clients_waiting: bool) -> bool {
    clients_waiting
}
