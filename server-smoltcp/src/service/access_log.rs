//! The access log: one line per request, who asked what, what was found, what was sent.

use core::fmt;

use ipxe_config::{ScriptKind, Uuid};

use crate::http::Exchange;
use crate::logging::Escaped;

/// How the request named what it wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
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

/// One access-log line.
pub(crate) struct AccessLine<'l> {
    pub exchange: &'l Exchange,
    pub method: &'l str,
    pub target: &'l [u8],
    pub lookup: Lookup,
    pub node: Option<Uuid>,
    pub state: Option<&'l str>,
    pub script: Option<ScriptKind>,
    pub status: u16,
    pub bytes: u64,
}

impl<'l> AccessLine<'l> {
    /// A request whose head could not be read.
    pub fn unparsed(exchange: &'l Exchange, status: u16, bytes: u64) -> Self {
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
            OrDash(self.state.map(|state| Escaped(state.as_bytes()))),
            OrDash(self.script),
            self.status,
            self.bytes,
            self.exchange.micros(),
        )
    }
}
