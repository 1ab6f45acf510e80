//! What a handler answers with, and how it is laid into a connection's response buffer.
//!
//! A [`Reply`] names every part of a response; [`ReplyBuffer::send`] writes its head in
//! front of the body (see [`response`](crate::http::response)) and gives the transport a
//! [`Sent`]: the bytes to send, the stream to follow them, and whether to close.
//!
//! Panic contract: nothing here panics; a reply that does not fit closes the connection.

use ipxe_config::writer::ScriptWriter;

use crate::http::handler::StreamId;
use crate::http::response::{body_area, place, Placed, ResponseHead};

/// The body of a [`Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'r> {
    /// A short plain-text reason; a newline is added.
    Text(&'r str),
    /// The first `len` bytes of [`ReplyBuffer::body_mut`], written by the handler.
    Written(usize),
    /// `len` bytes read from a stream after the head.
    Stream {
        /// Read with [`Handler::read_stream`](crate::http::Handler::read_stream).
        stream: StreamId,
        /// Sent as `Content-Length`.
        len: u64,
    },
}

/// One response.
///
/// ```
/// use ipxe_config_server::http::reply::{Body, Reply};
/// let reply = Reply::text(405, "use GET or HEAD").allowing("GET, HEAD").closing();
/// assert_eq!(reply.body, Body::Text("use GET or HEAD"));
/// assert!(reply.close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'r> {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// What follows the head (nothing, for `HEAD`).
    pub body: Body<'r>,
    /// Close the connection once the reply is sent, whatever the client asked for.
    pub close: bool,
    /// `Allow`, for `405`.
    pub allow: Option<&'static str>,
    /// `Cache-Control: no-store`, for bodies that depend on state changing between requests.
    pub no_store: bool,
}

impl<'r> Reply<'r> {
    /// A `text/plain` reply of `reason` and a newline.
    pub fn text(status: u16, reason: &'r str) -> Self {
        Reply {
            status,
            content_type: "text/plain",
            body: Body::Text(reason),
            close: false,
            allow: None,
            no_store: false,
        }
    }

    /// A `200` of `content_type` with `body`.
    pub fn ok(content_type: &'static str, body: Body<'r>) -> Self {
        Reply { status: 200, content_type, body, close: false, allow: None, no_store: false }
    }

    /// The same reply, closing the connection after it.
    #[must_use]
    pub fn closing(self) -> Self {
        Reply { close: true, ..self }
    }

    /// The same reply, with `Allow: methods`.
    #[must_use]
    pub fn allowing(self, methods: &'static str) -> Self {
        Reply { allow: Some(methods), ..self }
    }

    /// The same reply, with `Cache-Control: no-store`.
    #[must_use]
    pub fn not_stored(self) -> Self {
        Reply { no_store: true, ..self }
    }
}

/// A connection's response buffer, lent to a handler for one reply.
pub struct ReplyBuffer<'b> {
    buffer: &'b mut [u8],
    keep_alive: bool,
    head_only: bool,
}

impl<'b> ReplyBuffer<'b> {
    /// `buffer` for a request that asked to keep the connection (`keep_alive`) and
    /// whether it was a `HEAD`.
    pub(crate) fn new(buffer: &'b mut [u8], keep_alive: bool, head_only: bool) -> Self {
        ReplyBuffer { buffer, keep_alive, head_only }
    }

    /// Where a [`Body::Written`] body goes.
    pub fn body_mut(&mut self) -> &mut [u8] {
        body_area(self.buffer)
    }

    /// Writes the head (and a text body) in front of the body; nothing to send and the
    /// connection closed if the reply does not fit.
    pub fn send(self, reply: &Reply<'_>) -> Sent {
        let keep_alive = self.keep_alive && !reply.close;
        let (body_len, stream) = match reply.body {
            Body::Text(reason) => {
                let mut w = ScriptWriter::new(body_area(self.buffer));
                w.text(reason);
                w.text("\n");
                match w.finish() {
                    Ok(len) => (len, None),
                    Err(_) => return Sent::nothing(reply.status, None),
                }
            }
            Body::Written(len) => (len, None),
            Body::Stream { stream, len } => (0, Some((stream, len))),
        };
        let head = ResponseHead {
            status: reply.status,
            content_type: reply.content_type,
            content_length: body_len as u64 + stream.map_or(0, |(_, len)| len),
            keep_alive,
            allow: reply.allow,
            no_store: reply.no_store,
        };
        let Ok(placed) = place(self.buffer, &head, body_len, !self.head_only) else {
            return Sent::nothing(reply.status, stream.map(|(stream, _)| stream));
        };
        // An empty stream and a `HEAD` have nothing to read: the stream is given back at once.
        let (stream, unread) = match stream {
            Some((stream, len)) if len > 0 && !self.head_only => (Some((stream, len)), None),
            other => (None, other.map(|(stream, _)| stream)),
        };
        Sent { placed, stream, unread, close: !keep_alive, status: reply.status }
    }
}

/// A reply laid out for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub(crate) placed: Placed,
    /// Streamed after the buffer part, with its length.
    pub(crate) stream: Option<(StreamId, u64)>,
    /// A stream the reply will not read, for the transport to give back.
    pub(crate) unread: Option<StreamId>,
    pub(crate) close: bool,
    status: u16,
}

impl Sent {
    /// Nothing to send: the connection is closed (only when even an error response does
    /// not fit, which [`Appliance::new`](crate::Appliance::new) rules out).
    fn nothing(status: u16, unread: Option<StreamId>) -> Self {
        Sent { placed: Placed { start: 0, end: 0 }, stream: None, unread, close: true, status }
    }

    /// The status sent, or `500` when the reply did not fit and nothing is sent.
    pub fn status(&self) -> u16 {
        if self.placed.end == 0 {
            500
        } else {
            self.status
        }
    }

    /// Bytes to send: head, body and stream.
    pub fn bytes(&self) -> u64 {
        (self.placed.end - self.placed.start) as u64 + self.stream.map_or(0, |(_, len)| len)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;
    use crate::http::response::HEAD_RESERVE;

    fn sent_bytes<'b>(buffer: &'b [u8], sent: &Sent) -> &'b [u8] {
        &buffer[sent.placed.start..sent.placed.end]
    }

    #[test]
    fn text_response_is_contiguous() {
        let mut buffer = [0u8; 512];
        let reply = Reply::text(405, "use GET or HEAD").allowing("GET, HEAD").closing();
        let sent = ReplyBuffer::new(&mut buffer, true, false).send(&reply);
        assert_eq!(
            core::str::from_utf8(sent_bytes(&buffer, &sent)).unwrap(),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\nuse GET or HEAD\n"
        );
        assert!(sent.close);
        let head_only = ReplyBuffer::new(&mut buffer, true, true).send(&Reply::text(404, "no such resource"));
        assert!(sent_bytes(&buffer, &head_only).ends_with(b"Content-Length: 17\r\n\r\n"));
        assert!(!head_only.close);
    }

    #[test]
    fn a_stream_follows_the_head_unless_there_is_nothing_to_read() {
        let mut buffer = [0u8; 512];
        let file = Reply::ok("application/octet-stream", Body::Stream { stream: StreamId(3), len: 10 });
        let sent = ReplyBuffer::new(&mut buffer, true, false).send(&file);
        assert_eq!((sent.stream, sent.unread), (Some((StreamId(3), 10)), None));
        assert!(sent_bytes(&buffer, &sent).ends_with(b"Content-Length: 10\r\n\r\n"));
        let head = ReplyBuffer::new(&mut buffer, true, true).send(&file);
        assert_eq!((head.stream, head.unread), (None, Some(StreamId(3))));
        let empty = Reply::ok("text/plain", Body::Stream { stream: StreamId(4), len: 0 });
        let sent = ReplyBuffer::new(&mut buffer, false, false).send(&empty);
        assert_eq!((sent.stream, sent.unread, sent.close), (None, Some(StreamId(4)), true));
    }

    #[test]
    fn a_reply_that_does_not_fit_sends_nothing_and_closes() {
        let mut buffer = [0u8; HEAD_RESERVE + 4];
        let sent = ReplyBuffer::new(&mut buffer, true, false).send(&Reply::text(400, "too long a reason"));
        assert_eq!((sent.bytes(), sent.close), (0, true));
        let mut tiny = [0u8; 8];
        let file = Reply::ok("text/plain", Body::Stream { stream: StreamId(1), len: 5 });
        let sent = ReplyBuffer::new(&mut tiny, true, false).send(&file);
        assert_eq!((sent.bytes(), sent.unread), (0, Some(StreamId(1))));
    }
}
