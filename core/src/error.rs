//! Load errors: which node or port, which field, and what is wrong with it.

use core::fmt;

use uuid::Uuid;

use crate::mac::PortAddress;
use crate::pool::{PoolError, MAX_STRING};
use crate::safety::UnsafeValue;

/// Why an inventory was rejected. Nothing of a rejected document is used.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// What the error is about.
    pub subject: Subject,
    /// The JSON field, dotted (`driver_info.deploy_kernel`), when one is to blame.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

/// The part of the document an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The document as a whole.
    Document,
    /// The node at this position of `nodes`, with its UUID when it was read.
    Node {
        /// Position in the `nodes` array, from 0.
        index: usize,
        /// The node's UUID, if already known.
        uuid: Option<Uuid>,
    },
    /// The port at this position of `ports`, with its address when it was read.
    Port {
        /// Position in the `ports` array, from 0.
        index: usize,
        /// The port's MAC, if already known.
        address: Option<PortAddress>,
    },
}

/// What is wrong with the document, a node or a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The JSON is malformed or a value has the wrong JSON type.
    Json(serde_json_core::de::Error),
    /// The value would change the script's commands.
    Unsafe(UnsafeValue),
    /// A required field is absent or `null`.
    Missing,
    /// Not a UUID.
    InvalidUuid,
    /// Not a MAC address.
    InvalidAddress,
    /// Not one of the values the field takes (the text names them).
    InvalidValue(&'static str),
    /// Two nodes have this UUID.
    DuplicateNode,
    /// This MAC is listed more than once (on this node or another).
    DuplicateAddress {
        /// The node the address was first seen on.
        first_node: Uuid,
    },
    /// The port names a node that is not in the inventory.
    UnknownNode(Uuid),
    /// A capacity of the caller's storage is exceeded.
    Capacity(Limit),
    /// An object has this key twice (standard parsers would silently keep one).
    RepeatedKey,
    /// Arrays and objects nest deeper than `limit` levels, inside the member `within`.
    TooDeep {
        /// The deepest nesting read ([`MAX_DEPTH`](crate::load::MAX_DEPTH)).
        limit: usize,
        /// The key of the skipped member the nesting is in, if known.
        within: Option<KeyText>,
    },
}

/// An object key as read from the document (decoded, at most [`KeyText::CAPACITY`] bytes;
/// longer keys read as empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyText(heapless::String<{ KeyText::CAPACITY }>);

impl KeyText {
    /// Longest key kept, in bytes: longer than any key this crate reads.
    pub const CAPACITY: usize = 32;

    pub(crate) fn new(text: &str) -> Self {
        Self(heapless::String::try_from(text).unwrap_or_default())
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The capacity an inventory does not fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Node slots.
    Nodes(usize),
    /// Port slots.
    Ports(usize),
    /// Bytes of the string pool.
    StringBytes(usize),
    /// Slots of the string deduplication table.
    StringIndex(usize),
    /// Length of one string.
    StringLength,
}

impl LoadError {
    pub(crate) fn document(problem: Problem) -> Self {
        Self { subject: Subject::Document, field: None, problem }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subject {
            Subject::Document => f.write_str("inventory")?,
            Subject::Node { uuid: Some(uuid), .. } => write!(f, "node {uuid}")?,
            Subject::Node { index, uuid: None } => write!(f, "node #{index} (no uuid read)")?,
            Subject::Port { address: Some(address), .. } => write!(f, "port {address}")?,
            Subject::Port { index, address: None } => write!(f, "port #{index} (no address read)")?,
        }
        if let Some(field) = self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(error) => write!(f, "invalid JSON: {error}"),
            Self::Unsafe(reason) => write!(f, "{reason}"),
            Self::Missing => f.write_str("missing"),
            Self::InvalidUuid => f.write_str("not a UUID"),
            Self::InvalidAddress => f.write_str("not a MAC address"),
            Self::InvalidValue(expected) => write!(f, "expected {expected}"),
            Self::DuplicateNode => f.write_str("a second node has this uuid"),
            Self::DuplicateAddress { first_node } => {
                write!(f, "address already listed (for node {first_node})")
            }
            Self::UnknownNode(uuid) => write!(f, "no node {uuid} in the inventory"),
            Self::Capacity(limit) => write!(f, "{limit}"),
            Self::RepeatedKey => f.write_str("key given twice in one object"),
            Self::TooDeep { limit, within: Some(key) } => {
                write!(f, "`{key}` nests arrays or objects deeper than {limit} levels")
            }
            Self::TooDeep { limit, within: None } => write!(f, "arrays or objects nest deeper than {limit} levels"),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nodes(n) => write!(f, "more than {n} nodes (node capacity)"),
            Self::Ports(n) => write!(f, "more than {n} PXE-enabled ports (port capacity)"),
            Self::StringBytes(n) => {
                write!(f, "strings need more than {n} bytes (string pool capacity)")
            }
            Self::StringIndex(n) => write!(f, "more distinct strings than the {n}-slot string index holds"),
            Self::StringLength => write!(f, "longer than {MAX_STRING} bytes"),
        }
    }
}

impl core::error::Error for LoadError {}

impl Limit {
    pub(crate) fn from_pool(error: PoolError, bytes: usize, slots: usize) -> Self {
        match error {
            PoolError::PoolFull => Self::StringBytes(bytes),
            PoolError::IndexFull => Self::StringIndex(slots),
            PoolError::TooLong => Self::StringLength,
        }
    }
}
