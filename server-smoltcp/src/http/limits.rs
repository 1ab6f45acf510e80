//! Limits and timeouts of the HTTP server.

use smoltcp::time::Duration;

/// Limits applied to every connection. The number of concurrent connections is not here:
/// it is the number of [`ConnectionSlot`](crate::http::ConnectionSlot)s the caller gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request head (request line and headers); longer is `431`. The effective
    /// limit is also capped by the request scratch buffer and each socket's receive buffer.
    pub max_header_bytes: usize,
    /// Longest request target; longer is `414`.
    pub max_target_bytes: usize,
    /// A connection waiting for its next request, or a client that stopped reading its
    /// response, is closed after this long.
    pub idle_timeout: Duration,
    /// A request head must arrive whole within this long of its first byte (`408`), and
    /// a request body (skipped) within this long of its head's first byte (reset).
    pub request_deadline: Duration,
    /// When every socket is busy and new clients wait, a connection waiting this long for its next request,
    /// a handshake half-open this long, or a request (head or body) still arriving after
    /// this long may be reset so a new client can connect. Keeps a connection that was
    /// just accepted from being taken before its first request arrives.
    pub reclaim_after: Duration,
    /// When every socket is busy and new clients wait, a handshake half-open this long
    /// may be reset (without a reset segment: the peer never completed it). A LAN
    /// handshake takes one round trip, milliseconds; a spoofed SYN never completes, and
    /// each one held a socket for [`HttpLimits::reclaim_after`] plus the time its
    /// undeliverable reset waited, so a few dozen spoofed SYNs a second kept every socket.
    pub half_open_timeout: Duration,
    /// When every socket is busy and new clients wait, a connection with a response outstanding that has not
    /// moved this many bytes into its socket within [`HttpLimits::send_progress_window`]
    /// may be reset, the one whose progress is oldest first. A floor on the send rate
    /// (16 KiB/s by default) that applies only under pressure: with a free socket, a
    /// slow reader (iPXE in an emulator, a long link) keeps its connection for as long
    /// as it reads within the idle timeout.
    pub send_progress_bytes: u64,
    /// See [`HttpLimits::send_progress_bytes`].
    pub send_progress_window: Duration,
    /// A connection we closed whose peer acknowledged everything but never closes its
    /// side (FIN-WAIT-2) is reset after this long; under pressure, after
    /// [`HttpLimits::reclaim_after`]. One still delivering its last bytes may be reset
    /// after this long when every socket is busy.
    pub closing_timeout: Duration,
    /// Connections one client address may hold at once; a newer one is reset as soon as
    /// it is established. iPXE uses one; a NAT in front of many clients may need more.
    pub max_connections_per_client: usize,
}

impl HttpLimits {
    /// 4 KiB heads, 1 KiB targets, 30 s idle, 10 s per request head, reclaim after 1 s
    /// (a half-open handshake after 100 ms),
    /// 16 KiB per second of sending under pressure, 2 s closing, 8 connections per client.
    pub const DEFAULT: HttpLimits = HttpLimits {
        max_header_bytes: 4096,
        max_target_bytes: ipxe_config::route::MAX_TARGET,
        idle_timeout: Duration::from_secs(30),
        request_deadline: Duration::from_secs(10),
        reclaim_after: Duration::from_secs(1),
        half_open_timeout: Duration::from_millis(100),
        send_progress_bytes: 16 * 1024,
        send_progress_window: Duration::from_secs(1),
        closing_timeout: Duration::from_secs(2),
        max_connections_per_client: 8,
    };
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
