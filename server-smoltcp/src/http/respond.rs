//! Deciding the response to one request: a rendered script, a file, or a short error.
//!
//! Requests for `/v1/…` and `/boot.ipxe` go to the core router and renderer; every other
//! path goes to the [`FileSource`]. Each request produces one access-log line.
//!
//! Panic contract: nothing here panics, whatever the request.

use core::fmt;

use ipxe_config::{render, Config, Inventory, NodeKey, Route, ScriptKind, Uuid};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

use crate::files::{FilePath, FileSource, OpenFile, MAX_FILE_PATH};
use crate::http::request::{split_target, Method, Request, RequestError};
use crate::http::response::{body_area, place, place_text, Placed, ResponseHead};
use crate::logging::Escaped;

/// What to send for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Head (and script or error body) in the connection's response buffer.
    pub placed: Placed,
    /// A file body streamed after the head.
    pub file: Option<OpenFile>,
    /// Close the connection once the response is sent.
    pub close_after: bool,
}

impl Answer {
    /// Nothing to send: the connection is closed (only when even an error response does
    /// not fit, which [`Appliance::new`](crate::Appliance::new) rules out).
    const CLOSE: Answer = Answer { placed: Placed { start: 0, end: 0 }, file: None, close_after: true };

    fn bytes(&self) -> u64 {
        (self.placed.end - self.placed.start) as u64 + self.file.map_or(0, |file| file.len)
    }
}

/// How the request named what it wanted, for the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Uuid,
    Mac,
    Chain,
    File,
    None,
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Uuid => "uuid",
            Self::Mac => "mac",
            Self::Chain => "chain",
            Self::File => "file",
            Self::None => "-",
        })
    }
}

/// `-` for an absent value in a log line.
struct OrDash<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for OrDash<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// One access-log line: who asked what, what was found, what was sent.
struct AccessLine<'l> {
    exchange: &'l Exchange,
    method: &'l str,
    target: &'l [u8],
    lookup: Lookup,
    node: Option<Uuid>,
    state: Option<&'l str>,
    script: Option<ScriptKind>,
    status: u16,
    bytes: u64,
}

impl<'l> AccessLine<'l> {
    /// A request whose head could not be read.
    fn unparsed(exchange: &'l Exchange, status: u16, bytes: u64) -> Self {
        AccessLine {
            exchange,
            method: "-",
            target: b"-",
            lookup: Lookup::None,
            node: None,
            state: None,
            script: None,
            status,
            bytes,
        }
    }
}

impl fmt::Display for AccessLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "http client={} \"{} {}\" lookup={} node={} state={} script={} status={} bytes={} us={}",
            OrDash(self.exchange.client),
            self.method,
            Escaped(self.target),
            self.lookup,
            OrDash(self.node),
            OrDash(self.state),
            OrDash(self.script),
            self.status,
            self.bytes,
            self.exchange.micros(),
        )
    }
}

/// Who asked and when, for the access log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange {
    pub client: Option<IpEndpoint>,
    /// When the request's first byte was seen.
    pub started: Instant,
    /// The poll's timestamp.
    pub now: Instant,
    /// A finer clock (same epoch), read when the log line is written.
    pub clock: Option<fn() -> Instant>,
}

impl Exchange {
    /// Time from the request's first byte to its response being ready.
    fn micros(&self) -> i64 {
        let done = self.clock.map_or(self.now, |clock| clock());
        (done.total_micros() - self.started.total_micros()).max(0)
    }
}

/// The shared state a response is made from.
pub(crate) struct Sources<'r, 'i, F> {
    pub files: &'r mut F,
    pub inventory: &'r Inventory<'i>,
    pub config: &'r Config<'i>,
}

/// The outcome of the script and file paths, before logging.
struct Outcome<'i> {
    answer: Answer,
    status: u16,
    lookup: Lookup,
    node: Option<Uuid>,
    state: Option<&'i str>,
    script: Option<ScriptKind>,
    refusal: Option<ipxe_config::Refusal<'i>>,
}

impl Outcome<'_> {
    fn plain(answer: Answer, status: u16, lookup: Lookup) -> Self {
        Outcome { answer, status, lookup, node: None, state: None, script: None, refusal: None }
    }
}

/// Answers a complete request head.
pub(crate) fn answer<F: FileSource>(
    request: &Request<'_>,
    buffer: &mut [u8],
    sources: &mut Sources<'_, '_, F>,
    exchange: &Exchange,
) -> Answer {
    let send_body = request.method == Method::Get;
    let outcome = if request.method == Method::Other {
        // Request bodies are not read, so the connection cannot continue after one.
        let answer = text(buffer, 405, "use GET or HEAD", false, true, Some("GET, HEAD"));
        Outcome::plain(answer, 405, Lookup::None)
    } else if Route::owns(request.target) {
        script(request, buffer, sources, send_body)
    } else {
        let (path, _query) = split_target(request.target);
        file(path, request.keep_alive, buffer, sources.files, send_body)
    };
    let line = AccessLine {
        exchange,
        method: request.method_text,
        target: request.target,
        lookup: outcome.lookup,
        node: outcome.node,
        state: outcome.state,
        script: outcome.script,
        status: outcome.status,
        bytes: outcome.answer.bytes(),
    };
    match outcome.refusal {
        Some(refusal) => log_warn!("{line} refusal=\"{refusal}\""),
        None => log_info!("{line}"),
    }
    outcome.answer
}

/// Answers a request whose head could not be used; the connection closes after it.
pub(crate) fn answer_error(error: RequestError, buffer: &mut [u8], exchange: &Exchange) -> Answer {
    let answer = text(buffer, error.status(), error.reason(), false, true, None);
    let line = AccessLine::unparsed(exchange, error.status(), answer.bytes());
    log_info!("{line} error=\"{error}\"");
    answer
}

/// `408`: the request head did not arrive in time.
pub(crate) fn answer_timeout(buffer: &mut [u8], exchange: &Exchange) -> Answer {
    let answer = text(buffer, 408, "request head not received in time", false, true, None);
    let line = AccessLine::unparsed(exchange, 408, answer.bytes());
    log_info!("{line}");
    answer
}

fn text(
    buffer: &mut [u8],
    status: u16,
    reason: &str,
    keep_alive: bool,
    send_body: bool,
    allow: Option<&'static str>,
) -> Answer {
    match place_text(buffer, status, reason, keep_alive, send_body, allow) {
        Ok(placed) => Answer { placed, file: None, close_after: !keep_alive },
        Err(_) => Answer::CLOSE,
    }
}

fn script<'i, F>(
    request: &Request<'_>,
    buffer: &mut [u8],
    sources: &mut Sources<'_, 'i, F>,
    send_body: bool,
) -> Outcome<'i> {
    let keep_alive = request.keep_alive;
    let route = match Route::parse(request.target) {
        Ok(route) => route,
        Err(error) => {
            let answer = text(buffer, error.status(), error.reason(), keep_alive, send_body, None);
            return Outcome::plain(answer, error.status(), Lookup::None);
        }
    };
    let lookup = match &route {
        Route::ChainScript => Lookup::Chain,
        Route::NodeScript { key: NodeKey::Uuid(_), .. } => Lookup::Uuid,
        Route::NodeScript { key: NodeKey::Address(_), .. } => Lookup::Mac,
    };
    let rendered = match render(sources.inventory, sources.config, &route, body_area(buffer)) {
        Ok(rendered) => rendered,
        Err(short) => {
            log_error!(
                "script needs {} bytes but the response buffer holds {}: raise the response buffer size",
                short.needed,
                body_area(buffer).len()
            );
            let answer = text(buffer, 500, "script larger than the server's response buffer", false, send_body, None);
            return Outcome::plain(answer, 500, lookup);
        }
    };
    let head = ResponseHead {
        status: 200,
        content_type: "text/plain",
        content_length: rendered.len as u64,
        keep_alive,
        allow: None,
        no_store: true,
    };
    let answer = match place(buffer, &head, rendered.len, send_body) {
        Ok(placed) => Answer { placed, file: None, close_after: !keep_alive },
        Err(_) => Answer::CLOSE,
    };
    Outcome {
        answer,
        status: 200,
        lookup,
        node: rendered.node,
        state: rendered.state,
        script: Some(rendered.kind),
        refusal: rendered.refusal,
    }
}

fn file<F: FileSource>(
    path: &[u8],
    keep_alive: bool,
    buffer: &mut [u8],
    files: &mut F,
    send_body: bool,
) -> Outcome<'static> {
    let mut decoded = [0u8; MAX_FILE_PATH];
    let path = match FilePath::parse(path, &mut decoded) {
        Ok(path) => path,
        Err(error) => {
            let status = error.status();
            let answer = text(buffer, status, error.reason(), keep_alive, send_body, None);
            return Outcome::plain(answer, status, Lookup::File);
        }
    };
    let opened = match files.open(&path) {
        Ok(opened) => opened,
        Err(error) => {
            if error != crate::files::FileError::NotFound {
                log_warn!("file {}: {}", path.as_str(), error);
            }
            let answer = text(buffer, 404, "no such file", keep_alive, send_body, None);
            return Outcome::plain(answer, 404, Lookup::File);
        }
    };
    let content_type = match path.extension() {
        Some("ipxe" | "txt") => "text/plain",
        _ => "application/octet-stream",
    };
    let head = ResponseHead {
        status: 200,
        content_type,
        content_length: opened.len,
        keep_alive,
        allow: None,
        no_store: false,
    };
    let Ok(placed) = place(buffer, &head, 0, true) else {
        files.close(opened.handle);
        return Outcome::plain(Answer::CLOSE, 500, Lookup::File);
    };
    let file = if send_body && opened.len > 0 {
        Some(opened)
    } else {
        files.close(opened.handle);
        None
    };
    let answer = Answer { placed, file, close_after: !keep_alive };
    Outcome::plain(answer, 200, Lookup::File)
}
