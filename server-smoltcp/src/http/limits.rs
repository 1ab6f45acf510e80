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
    /// When every socket is busy, a connection waiting this long for its next request,
    /// a handshake half-open this long, or a request (head or body) still arriving after
    /// this long may be reset so a new client can connect. Keeps a connection that was
    /// just accepted from being taken before its first request arrives.
    pub reclaim_after: Duration,
}

impl HttpLimits {
    /// 4 KiB heads, 1 KiB targets, 30 s idle, 10 s per request head, reclaim after 1 s.
    pub const DEFAULT: HttpLimits = HttpLimits {
        max_header_bytes: 4096,
        max_target_bytes: ipxe_config::route::MAX_TARGET,
        idle_timeout: Duration::from_secs(30),
        request_deadline: Duration::from_secs(10),
        reclaim_after: Duration::from_secs(1),
    };
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
