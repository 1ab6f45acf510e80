//! Reading the appliance's HTTP/1.1 responses as a client does: one parser, on
//! `httparse`, for the head (status, headers, `Content-Length`) and the body behind it.
//!
//! [`ResponseHead::parse`] and [`parse_response`] borrow the bytes and allocate nothing,
//! so the allocation-counting tests and benches can read responses with them;
//! [`take_response`] copies one out into a [`Response`].

use core::fmt;
use std::borrow::ToOwned;
use std::string::String;
use std::vec::Vec;

/// Headers a response may carry; the appliance sends far fewer.
pub const MAX_HEADERS: usize = 32;

/// A response head at the front of a byte stream.
#[derive(Debug, Clone, Copy)]
pub struct ResponseHead<'b> {
    /// The status code.
    pub status: u16,
    /// Bytes of the head, up to and including the blank line.
    pub len: usize,
    headers: [httparse::Header<'b>; MAX_HEADERS],
    count: usize,
}

impl<'b> ResponseHead<'b> {
    /// The head at the front of `bytes`; `Ok(None)` until all of it has arrived.
    pub fn parse(bytes: &'b [u8]) -> Result<Option<Self>, httparse::Error> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(len) = response.parse(bytes)? else { return Ok(None) };
        // A complete head always has a status code.
        let status = response.code.unwrap_or_default();
        let count = response.headers.len();
        let mut head = ResponseHead { status, len, headers: [httparse::EMPTY_HEADER; MAX_HEADERS], count };
        head.headers[..count].copy_from_slice(response.headers);
        Ok(Some(head))
    }

    /// The headers in the order sent.
    pub fn headers(&self) -> &[httparse::Header<'b>] {
        &self.headers[..self.count]
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers().iter().find(|header| header.name.eq_ignore_ascii_case(name)).map(|header| header.value)
    }

    /// `Content-Length`, if present and a number.
    pub fn content_length(&self) -> Option<usize> {
        core::str::from_utf8(self.header("content-length")?).ok()?.parse().ok()
    }
}

/// Why the bytes are not a response the appliance could have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// Not an HTTP/1.x response head.
    Head(httparse::Error),
    /// No `Content-Length`, or not a number: the appliance sends one with every response.
    ContentLength,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Head(error) => write!(f, "not an HTTP response head: {error}"),
            ResponseError::ContentLength => f.write_str("no numeric Content-Length"),
        }
    }
}

impl core::error::Error for ResponseError {}

/// The whole response at the front of `bytes`, its head and its body (empty when
/// `head_only`, as for `HEAD`); `Ok(None)` until all of it has arrived.
pub fn parse_response(bytes: &[u8], head_only: bool) -> Result<Option<(ResponseHead<'_>, &[u8])>, ResponseError> {
    let Some(head) = ResponseHead::parse(bytes).map_err(ResponseError::Head)? else { return Ok(None) };
    let length = head.content_length().ok_or(ResponseError::ContentLength)?;
    let body_len = if head_only { 0 } else { length };
    Ok(bytes.get(head.len..head.len + body_len).map(|body| (head, body)))
}

/// An HTTP response as the client read it, copied out of the stream.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Name and value of every header, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `HEAD`).
    pub body: Vec<u8>,
}

impl Response {
    /// An owned copy of a parsed response.
    pub fn new(head: &ResponseHead<'_>, body: &[u8]) -> Self {
        let headers = head
            .headers()
            .iter()
            .map(|header| (header.name.to_owned(), String::from_utf8_lossy(header.value).into_owned()))
            .collect();
        Response { status: head.status, headers, body: body.to_vec() }
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body as text; panics unless it is UTF-8.
    pub fn text(&self) -> &str {
        core::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// Takes one whole response off the front of `received`; `None` until it has all
/// arrived. Panics on bytes the appliance would never send.
pub fn take_response(received: &mut Vec<u8>, head_only: bool) -> Option<Response> {
    let (response, consumed) = match parse_response(received, head_only) {
        Ok(Some((head, body))) => (Response::new(&head, body), head.len + body.len()),
        Ok(None) => return None,
        Err(error) => panic!("the appliance sent a bad response ({error}): {:?}", String::from_utf8_lossy(received)),
    };
    received.drain(..consumed);
    Some(response)
}
