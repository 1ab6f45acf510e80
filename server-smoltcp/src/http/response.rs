//! Response heads, and how a response is laid out in a connection's response buffer.
//!
//! A connection's buffer holds one response: the body is written at [`HEAD_RESERVE`],
//! then the head, whose length depends on `Content-Length`, is written just before it,
//! so the bytes to send are one contiguous run and nothing is moved.
//!
//! Panic contract: nothing here panics; a buffer too small is [`BufferTooSmall`].

use ipxe_config::writer::{BufferTooSmall, ScriptWriter};

/// Bytes kept in front of every body for its head.
pub const HEAD_RESERVE: usize = 256;

/// The reason phrase for the statuses this server sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// A response's status line and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Content-Length` (also sent for `HEAD`, which has no body).
    pub content_length: u64,
    /// Whether the connection stays open; `Connection: close` otherwise.
    pub keep_alive: bool,
    /// `Allow`, for `405`.
    pub allow: Option<&'static str>,
    /// `Cache-Control: no-store`: a script depends on the node's current state.
    pub no_store: bool,
}

impl ResponseHead {
    /// Writes the head, through the blank line, into `out`.
    ///
    /// ```
    /// use ipxe_config_server::http::response::ResponseHead;
    /// let head = ResponseHead { status: 200, content_type: "text/plain", content_length: 7,
    ///     keep_alive: true, allow: None, no_store: false };
    /// let mut out = [0u8; 128];
    /// let len = head.emit(&mut out).unwrap();
    /// assert_eq!(&out[..len], b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
    /// ```
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = ScriptWriter::new(out);
        w.fmt(format_args!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status,
            reason_phrase(self.status),
            self.content_type,
            self.content_length
        ));
        if let Some(allow) = self.allow {
            w.fmt(format_args!("Allow: {allow}\r\n"));
        }
        if self.no_store {
            w.text("Cache-Control: no-store\r\n");
        }
        if !self.keep_alive {
            w.text("Connection: close\r\n");
        }
        w.text("\r\n");
        w.finish()
    }
}

/// The run of bytes to send from a connection's response buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// First byte of the head.
    pub start: usize,
    /// One past the last byte (of the body, or of the head for `HEAD`).
    pub end: usize,
}

/// The part of a response buffer a body is written into.
pub fn body_area(buffer: &mut [u8]) -> &mut [u8] {
    buffer.get_mut(HEAD_RESERVE..).unwrap_or_default()
}

/// Writes `head` in front of a body of `body_len` bytes already in [`body_area`].
pub fn place(
    buffer: &mut [u8],
    head: &ResponseHead,
    body_len: usize,
    send_body: bool,
) -> Result<Placed, BufferTooSmall> {
    let mut scratch = [0u8; HEAD_RESERVE];
    let head_len = head.emit(&mut scratch)?;
    let start = HEAD_RESERVE - head_len;
    let end = if send_body { HEAD_RESERVE + body_len } else { HEAD_RESERVE };
    let needed = HEAD_RESERVE + body_len;
    let (Some(room), Some(written)) = (buffer.get_mut(start..HEAD_RESERVE), scratch.get(..head_len)) else {
        return Err(BufferTooSmall { needed });
    };
    room.copy_from_slice(written);
    if buffer.len() < needed {
        return Err(BufferTooSmall { needed });
    }
    Ok(Placed { start, end })
}
