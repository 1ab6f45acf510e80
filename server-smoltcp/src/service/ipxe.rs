//! The iPXE service: a rendered script, a boot artifact, or a short error per request.
//!
//! Requests for `/v1/…` and `/boot.ipxe` go to the core router and renderer; every other
//! path goes to the file source (core's [`Route::owns`] decides which). Each request produces one
//! access-log line.
//!
//! Panic contract: nothing here panics, whatever the request.

use ipxe_config::{render, Inventory, NodeKey, Refusal, RenderConfig, Route, ScriptKind, Uuid};

use crate::files::{FileError, FilePath, FileSource, OpenFiles, MAX_FILE_PATH};
use crate::http::reply::{Body, Reply, ReplyBuffer, Sent};
use crate::http::request::{split_target, Method, Request};
use crate::http::{Exchange, Handler, Rejection, StreamId};
use crate::logging::{Escaped, EscapedDisplay};
use crate::service::access_log::{AccessLine, Lookup};
use crate::service::counts::{Answered, RequestCounts};

/// Scripts from the inventory, files from the file source; one poll's worth.
pub struct IpxeService<'s, 'f, 'i, S: FileSource> {
    files: &'s mut OpenFiles<'f, S>,
    inventory: &'s Inventory<'i>,
    config: &'s RenderConfig<'i>,
    counts: &'s mut RequestCounts,
}

/// What a request found, for the access log.
struct Found<'i> {
    lookup: Lookup,
    node: Option<Uuid>,
    state: Option<&'i str>,
    script: Option<ScriptKind>,
    refusal: Option<Refusal<'i>>,
}

impl Found<'_> {
    fn only(lookup: Lookup) -> Self {
        Found { lookup, node: None, state: None, script: None, refusal: None }
    }
}

impl<'s, 'f, 'i, S: FileSource> IpxeService<'s, 'f, 'i, S> {
    /// Answers from `inventory` and `config`, and from `files`; counts every request in
    /// `counts`.
    pub fn new(
        files: &'s mut OpenFiles<'f, S>,
        inventory: &'s Inventory<'i>,
        config: &'s RenderConfig<'i>,
        counts: &'s mut RequestCounts,
    ) -> Self {
        IpxeService { files, inventory, config, counts }
    }

    fn script(&self, target: &[u8], body: &mut [u8]) -> (Reply<'static>, Found<'i>) {
        let route = match Route::parse(target) {
            Ok(route) => route,
            Err(error) => return (Reply::text(error.status(), error.reason()), Found::only(Lookup::None)),
        };
        let lookup = match &route {
            Route::ChainScript => Lookup::Chain,
            Route::NodeScript { key: NodeKey::Uuid(_), .. } => Lookup::Uuid,
            Route::NodeScript { key: NodeKey::Address(_), .. } => Lookup::Mac,
        };
        match render(self.inventory, self.config, &route, body) {
            Ok(rendered) => {
                // A script depends on the node's current state: never cached.
                let reply = Reply::ok("text/plain", Body::Written(rendered.len)).not_stored();
                let found = Found {
                    lookup,
                    node: rendered.node,
                    state: rendered.state,
                    script: Some(rendered.kind),
                    refusal: rendered.refusal,
                };
                (reply, found)
            }
            Err(short) => {
                log_error!(
                    "script needs {} bytes but the response buffer holds {}: raise the response buffer size",
                    short.needed,
                    body.len()
                );
                (Reply::text(500, "script larger than the server's response buffer").closing(), Found::only(lookup))
            }
        }
    }

    fn file(&mut self, path: &[u8]) -> Reply<'static> {
        let mut decoded = [0u8; MAX_FILE_PATH];
        let path = match FilePath::parse(path, &mut decoded) {
            Ok(path) => path,
            Err(error) => return Reply::text(error.status(), error.reason()),
        };
        let opened = match self.files.open(&path) {
            Ok(opened) => opened,
            Err(error) => {
                if error != FileError::NotFound {
                    log_warn!("file {}: {}", Escaped(path.as_str().as_bytes()), error);
                }
                return Reply::text(404, "no such file");
            }
        };
        let content_type = match path.extension() {
            Some("ipxe" | "txt") => "text/plain",
            _ => "application/octet-stream",
        };
        Reply::ok(content_type, Body::Stream { stream: StreamId(opened.handle.0), len: opened.len })
    }
}

impl<S: FileSource> Handler for IpxeService<'_, '_, '_, S> {
    type StreamError = FileError;

    fn respond(&mut self, request: &Request<'_>, exchange: &Exchange, mut reply: ReplyBuffer<'_>) -> Sent {
        let (answer, found) = if request.method == Method::Other {
            // Request bodies are not read, so the connection cannot continue after one.
            (Reply::text(405, "use GET or HEAD").allowing("GET, HEAD").closing(), Found::only(Lookup::None))
        } else if Route::owns(request.target) {
            self.script(request.target, reply.body_mut())
        } else {
            let (path, _query) = split_target(request.target);
            (self.file(path), Found::only(Lookup::File))
        };
        let sent = reply.send(&answer);
        let answered = match (found.script, found.lookup) {
            (Some(kind), _) => Answered::Script(kind),
            (None, Lookup::File) => Answered::File,
            (None, _) => Answered::Other,
        };
        self.counts.count(answered, sent.status());
        let line = AccessLine {
            exchange,
            method: request.method_text,
            target: request.target,
            lookup: found.lookup,
            node: found.node,
            state: found.state,
            script: found.script,
            status: sent.status(),
            bytes: sent.bytes(),
        };
        match found.refusal {
            Some(refusal) => log_warn!("{line} refusal=\"{}\"", EscapedDisplay(&refusal)),
            None => log_info!("{line}"),
        }
        sent
    }

    fn read_stream(&mut self, stream: StreamId, buf: &mut [u8]) -> Result<usize, FileError> {
        self.files.read(crate::files::FileHandle(stream.0), buf)
    }

    fn close_stream(&mut self, stream: StreamId) {
        self.files.close(crate::files::FileHandle(stream.0));
    }

    fn rejected(&mut self, why: Rejection, exchange: &Exchange, sent: &Sent) {
        self.counts.count(Answered::Other, sent.status());
        let line = AccessLine::unparsed(exchange, sent.status(), sent.bytes());
        match why {
            Rejection::Unparsable(error) => log_info!("{line} error=\"{error}\""),
            Rejection::TooSlow => log_info!("{line}"),
        }
    }
}
