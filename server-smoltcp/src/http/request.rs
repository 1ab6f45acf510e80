//! HTTP/1.1 request heads, parsed with `httparse` into what the server acts on.
//!
//! Panic contract: [`parse`] never panics, whatever the bytes.

use core::fmt;

use httparse::Status;

/// Headers read from one request; more is `431`.
pub const MAX_HEADERS: usize = 32;

/// Room for a method, two spaces and `HTTP/1.1\r\n` around a target of the maximum
/// length, so a request line is judged too long (`414`) before the head limit (`431`).
const REQUEST_LINE_SLACK: usize = 32;

/// Request methods the server distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: the same headers as `GET`, no body.
    Head,
    /// Anything else: `405`.
    Other,
}

/// A complete request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'b> {
    /// The method.
    pub method: Method,
    /// The method as sent, for the log.
    pub method_text: &'b str,
    /// The request target as sent (origin or absolute form).
    pub target: &'b [u8],
    /// Whether the client keeps the connection open after the response.
    pub keep_alive: bool,
    /// `Content-Length` of a request body the server skips.
    pub body_len: u64,
    /// Bytes of the head, to consume from the connection.
    pub head_len: usize,
}

/// The result of looking at the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'b> {
    /// A whole head.
    Complete(Request<'b>),
    /// Not yet a whole head; wait for more bytes.
    Partial,
}

/// Why a request cannot be answered normally; the connection is closed after the error
/// response, since the request's framing cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Not HTTP/1.x: `400`.
    Malformed,
    /// The request line is longer than the target limit allows: `414`.
    TargetTooLong,
    /// The head is longer than the header limit, or has too many headers: `431`.
    HeadTooLarge,
    /// `Content-Length` is not a number, or given twice with different values: `400`.
    BadContentLength,
    /// `Transfer-Encoding` on a request: this server takes no request bodies (`400`).
    BodyNotAccepted,
}

impl RequestError {
    /// The HTTP status for the error.
    pub fn status(self) -> u16 {
        match self {
            Self::TargetTooLong => 414,
            Self::HeadTooLarge => 431,
            Self::Malformed | Self::BadContentLength | Self::BodyNotAccepted => 400,
        }
    }

    /// A short reason for the response body.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed HTTP request",
            Self::TargetTooLong => "request target too long",
            Self::HeadTooLarge => "request header fields too large",
            Self::BadContentLength => "invalid Content-Length",
            Self::BodyNotAccepted => "request bodies with Transfer-Encoding are not accepted",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl core::error::Error for RequestError {}

/// Parses the bytes received so far. `max_head` is the most the caller could buffer:
/// a head still incomplete at that length is too large.
///
/// ```
/// use ipxe_config_server::http::request::{parse, Method, Parsed};
/// let bytes = b"GET /boot.ipxe HTTP/1.1\r\nConnection: keep-alive\r\nHost: x\r\n\r\nGET /";
/// let Parsed::Complete(request) = parse(bytes, 4096, 1024).unwrap() else { panic!() };
/// assert_eq!(request.method, Method::Get);
/// assert_eq!(request.target, b"/boot.ipxe");
/// assert!(request.keep_alive);
/// assert_eq!(request.head_len, bytes.len() - 5);
/// assert_eq!(parse(b"GET /boot.ipxe HT", 4096, 1024), Ok(Parsed::Partial));
/// ```
pub fn parse(bytes: &[u8], max_head: usize, max_target: usize) -> Result<Parsed<'_>, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let status = request.parse(bytes).map_err(|error| match error {
        httparse::Error::TooManyHeaders => RequestError::HeadTooLarge,
        _ => RequestError::Malformed,
    });
    let request_line_done = bytes.contains(&b'\n');
    let head_len = match status? {
        Status::Partial => {
            return if !request_line_done && bytes.len() > max_target + REQUEST_LINE_SLACK {
                Err(RequestError::TargetTooLong)
            } else if bytes.len() >= max_head {
                Err(if request_line_done { RequestError::HeadTooLarge } else { RequestError::TargetTooLong })
            } else {
                Ok(Parsed::Partial)
            };
        }
        Status::Complete(len) => len,
    };
    let (Some(method_text), Some(target), Some(version)) = (request.method, request.path, request.version) else {
        return Err(RequestError::Malformed);
    };
    if head_len > max_head {
        return Err(RequestError::HeadTooLarge);
    }
    if target.len() > max_target {
        return Err(RequestError::TargetTooLong);
    }
    let method = match method_text {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    // HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked.
    let mut keep_alive = version == 1;
    let mut body_len: Option<u64> = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value = parse_decimal(header.value.trim_ascii()).ok_or(RequestError::BadContentLength)?;
            if body_len.is_some_and(|previous| previous != value) {
                return Err(RequestError::BadContentLength);
            }
            body_len = Some(value);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(RequestError::BodyNotAccepted);
        }
    }
    Ok(Parsed::Complete(Request {
        method,
        method_text,
        target: target.as_bytes(),
        keep_alive,
        body_len: body_len.unwrap_or(0),
        head_len,
    }))
}

fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.iter().try_fold(0u64, |value, &digit| digit.is_ascii_digit().then(|| value * 10 + u64::from(digit - b'0')))
}

/// Splits a request target into path and query (absolute form included): the core
/// router's own split, so scripts and files see every target the same way.
pub use ipxe_config::route::split_target;

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> Request<'_> {
        match parse(bytes, 4096, 1024) {
            Ok(Parsed::Complete(request)) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_ipxe_request_shape() {
        let bytes = b"GET /v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A12%3A34%3A56 HTTP/1.1\r\nConnection: keep-alive\r\nUser-Agent: iPXE/1.0.0+git-20190125.36a4c85-5.1\r\nHost: 10.99.0.1\r\n\r\n";
        let request = complete(bytes);
        assert_eq!(request.method, Method::Get);
        assert!(request.keep_alive);
        assert_eq!(request.body_len, 0);
        assert_eq!(request.head_len, bytes.len());
    }

    #[test]
    fn connection_semantics_follow_the_version() {
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!complete(b"GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n").keep_alive);
        assert!(complete(b"GET / HTTP/1.1\r\n\r\n").keep_alive);
    }

    #[test]
    fn methods_and_bodies() {
        assert_eq!(complete(b"HEAD / HTTP/1.1\r\n\r\n").method, Method::Head);
        let post = complete(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n");
        assert_eq!((post.method, post.body_len), (Method::Other, 12));
        for (bytes, error) in [
            (&b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"[..], RequestError::BadContentLength),
            (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", RequestError::BadContentLength),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", RequestError::BodyNotAccepted),
            (b"GET / SPDY/3\r\n\r\n", RequestError::Malformed),
            (b"\x00\x01\x02\r\n\r\n", RequestError::Malformed),
        ] {
            assert_eq!(parse(bytes, 4096, 1024), Err(error), "{bytes:?}");
        }
    }

    #[test]
    fn limits_give_414_and_431() {
        let mut long_line = [b'a'; 1100];
        long_line[..5].copy_from_slice(b"GET /");
        assert_eq!(parse(&long_line, 4096, 1024), Err(RequestError::TargetTooLong));
        let mut big_head = [b'x'; 600];
        big_head[..18].copy_from_slice(b"GET / HTTP/1.1\r\nX:");
        assert_eq!(parse(&big_head, 512, 64), Err(RequestError::HeadTooLarge));
        let mut many = heapless::Vec::<u8, 1024>::new();
        many.extend_from_slice(b"GET / HTTP/1.1\r\n").unwrap();
        for _ in 0..=MAX_HEADERS {
            many.extend_from_slice(b"A: b\r\n").unwrap();
        }
        many.extend_from_slice(b"\r\n").unwrap();
        assert_eq!(parse(&many, 4096, 1024), Err(RequestError::HeadTooLarge));
    }
}
