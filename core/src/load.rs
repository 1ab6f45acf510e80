//! Loading an Ironic-shaped JSON inventory into caller-provided storage.
//!
//! The document is streamed through serde visitors: each node and port is validated and
//! stored as soon as it is read, strings go straight into the deduplicated pool, and
//! every field this crate does not use (`properties`, `extra`, `links`, …) is skipped.
//! Nothing is kept from a document that fails.

use core::cell::Cell;
use core::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use uuid::Uuid;

use crate::config::RenderConfig;
use crate::error::{KeyText, Limit, LoadError, Problem, Subject};
use crate::inventory::{Inventory, InventoryStorage, Node};
use crate::json_string::{self, UnescapeError};
use crate::mac::PortAddress;
use crate::pool::{PoolBuilder, PoolError, StrRef, MAX_STRING};
use crate::quarantine::{NodeField, Quarantine, QuarantineProblem, MAX_KERNEL_CMDLINE, MAX_KERNEL_WORDS};
use crate::record::{NodeRecord, PortRecord};
use crate::safety::{self, ValueKind};
use crate::state::{BootMode, ImageType};

/// The sources of a node's boot mode, in the order Ironic 39 reads them
/// (`boot_mode_utils.get_boot_mode_for_deploy`, then what `sync_boot_mode` stored, then
/// the BMC's report in the node's `boot_mode` field): the first found wins.
#[derive(Clone, Copy)]
enum ModeSource {
    /// `instance_info.capabilities.secure_boot` `true`: always UEFI.
    SecureBoot,
    InstanceCapabilities,
    InstanceDeployBootMode,
    PropertiesCapabilities,
    InternalDeployBootMode,
    Field,
}

const MODE_SOURCES: usize = 6;

type JsonError = serde_json_core::de::Error;

/// Ironic's API shows secrets as this; such a value is treated as absent.
const MASKED: &str = "******";

/// Deepest nesting of arrays and objects anywhere in the document, the top-level object
/// counting as 1. serde-json-core's own skipping (`IgnoredAny`) recurses once per level
/// with no bound, so a `[[[[…` of 100,000 levels in a node's `extra` overflowed the
/// stack; every nested value is read or skipped through `Skip`, which counts. Ironic's
/// own documents nest 5 or 6 levels (`properties.capabilities`, `links`).
pub const MAX_DEPTH: usize = 32;

/// A string value the loader failed to decode: malformed JSON, which rejects the file.
const BAD_ESCAPES: Problem = Problem::InvalidValue("valid JSON string escapes");
const BAD_UTF8: Problem = Problem::InvalidValue("UTF-8 text");

/// Loads `json` (`{"nodes": […], "ports": […]}`, Ironic API shapes) into `storage`:
/// owned [`InventoryBuffers`](crate::InventoryBuffers) (or heap ones), or an
/// [`InventoryStorage`] of slices from elsewhere.
///
/// ```
/// # use ipxe_config::*;
/// let json = br#"{"nodes": [{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
///   "driver": "ipmi", "provision_state": "active", "links": [{"href": "x"}]}],
///   "ports": [{"address": "52:54:00:12:34:56",
///   "node_uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "pxe_enabled": true}]}"#;
/// let mut buffers = InventoryBuffers::<4, 4, 256>::new();
/// let inventory = load(json, &mut buffers).unwrap();
/// let node = inventory.node_by_address(&PortAddress::parse(b"525400123456").unwrap()).unwrap();
/// assert_eq!(node.provision_state(), ProvisionState::Active);
/// ```
pub fn load<'s>(json: &[u8], storage: impl Into<InventoryStorage<'s>>) -> Result<Inventory<'s>, LoadError> {
    // One copy of the loader whatever the caller passes.
    load_into(json, storage.into(), None)
}

/// What [`load_fitted`] checks every node's scripts against: the settings they are
/// rendered with, and a scratch buffer as large as the largest script the server can
/// send (its response buffer's body area).
pub struct ScriptFit<'f, 'c> {
    /// The settings requests will be answered with.
    pub config: &'f RenderConfig<'c>,
    /// Scratch for rendering; its length is the largest script that may be sent.
    pub scratch: &'f mut [u8],
}

/// [`load`], then every node's scripts are rendered for each path its provision state
/// could take (deploy, rescue, instance) into `fit.scratch`: a node with a script that
/// does not fit, or a kernel line past [`MAX_KERNEL_WORDS`] words or
/// [`MAX_KERNEL_CMDLINE`] bytes with these settings, is quarantined. A server calls this
/// on every load, so no request can meet a script larger than its buffer.
///
/// ```
/// # use ipxe_config::*;
/// # use ipxe_config::load::{load_fitted, ScriptFit};
/// let json = br#"{"nodes": [{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
///   "driver": "ipmi", "provision_state": "deploying",
///   "driver_info": {"deploy_kernel": "http://x/k", "deploy_ramdisk": "http://x/r"}}]}"#;
/// let mut buffers = InventoryBuffers::<4, 4, 256>::new();
/// let mut scratch = [0u8; 256];
/// let fit = ScriptFit { config: &RenderConfig::DEFAULT, scratch: &mut scratch };
/// let inventory = load_fitted(json, &mut buffers, fit).unwrap();
/// assert_eq!(inventory.quarantined_count(), 1, "a deploy script needs more than 256 bytes");
/// ```
pub fn load_fitted<'s>(
    json: &[u8],
    storage: impl Into<InventoryStorage<'s>>,
    fit: ScriptFit<'_, '_>,
) -> Result<Inventory<'s>, LoadError> {
    load_into(json, storage.into(), Some(fit))
}

fn load_into<'s>(
    json: &[u8],
    storage: InventoryStorage<'s>,
    fit: Option<ScriptFit<'_, '_>>,
) -> Result<Inventory<'s>, LoadError> {
    let InventoryStorage { nodes, ports, strings, string_index } = storage;
    let mut loader = Loader {
        nodes,
        node_count: 0,
        ports,
        port_count: 0,
        pool: PoolBuilder::new(strings, string_index),
        position: Position::default(),
        too_deep: Cell::new(false),
        error: None,
    };
    // No unescape buffer: strings arrive raw and are decoded by `json_string`, which
    // also handles surrogate pairs (see there).
    let mut deserializer = serde_json_core::de::Deserializer::new(json, None);
    let parsed = DocumentSeed(&mut loader).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    if let Err(json_error) = parsed {
        return Err(loader.error.take().unwrap_or_else(|| loader.json_error(json_error)));
    }
    loader.finish(fit)
}

/// Where the parser is, so a JSON error can name the node and field.
#[derive(Default, Clone)]
struct Position {
    subject: Option<Subject>,
    field: Option<&'static str>,
    /// The key of the value being skipped, if one is: a nesting error names it.
    skipped: Option<KeyText>,
}

struct Loader<'s> {
    nodes: &'s mut [NodeRecord],
    node_count: usize,
    ports: &'s mut [PortRecord],
    port_count: usize,
    pool: PoolBuilder<'s>,
    position: Position,
    /// Set by [`Skip`] when it stopped the parser at [`MAX_DEPTH`].
    too_deep: Cell<bool>,
    error: Option<LoadError>,
}

impl<'s> Loader<'s> {
    fn json_error(&self, error: JsonError) -> LoadError {
        let problem = if self.too_deep.get() {
            Problem::TooDeep { limit: MAX_DEPTH, within: self.position.skipped.clone() }
        } else {
            Problem::Json(error)
        };
        LoadError { subject: self.position.subject.unwrap_or(Subject::Document), field: self.position.field, problem }
    }

    /// Records the first semantic error; the parser is then stopped with a generic error.
    fn fail<E: serde::de::Error>(&mut self, error: LoadError) -> E {
        if self.error.is_none() {
            self.error = Some(error);
        }
        E::custom("inventory rejected")
    }

    fn finish(self, fit: Option<ScriptFit<'_, '_>>) -> Result<Inventory<'s>, LoadError> {
        let Loader { nodes, node_count, ports, port_count, pool, .. } = self;
        let nodes: &'s mut [NodeRecord] = nodes.get_mut(..node_count).unwrap_or_default();
        let ports: &'s mut [PortRecord] = ports.get_mut(..port_count).unwrap_or_default();
        nodes.sort_unstable_by_key(|a| a.uuid);
        if let Some(pair) = nodes.windows(2).find(|pair| pair.first().map(|n| n.uuid) == pair.get(1).map(|n| n.uuid)) {
            let uuid = pair.first().map(NodeRecord::uuid);
            return Err(LoadError {
                subject: Subject::Node { index: 0, uuid },
                field: Some("uuid"),
                problem: Problem::DuplicateNode,
            });
        }
        ports.sort_unstable_by_key(|a| a.address);
        if let Some([first, second]) = ports.windows(2).find(|pair| matches!(pair, [a, b] if a.address == b.address)) {
            let _ = second;
            return Err(LoadError {
                subject: Subject::Port { index: 0, address: Some(first.address) },
                field: Some("address"),
                problem: Problem::DuplicateAddress { first_node: first.node_uuid() },
            });
        }
        for port in ports.iter_mut() {
            let found = nodes.binary_search_by(|node| node.uuid.cmp(&port.node));
            port.node_index = match found.map(u32::try_from) {
                Ok(Ok(index)) => index,
                _ => {
                    return Err(LoadError {
                        subject: Subject::Port { index: 0, address: Some(port.address) },
                        field: Some("node_uuid"),
                        problem: Problem::UnknownNode(port.node_uuid()),
                    });
                }
            };
        }
        let pool = pool.finish();
        if let Some(fit) = fit {
            for record in nodes.iter_mut() {
                if !record.quarantine.is_some() {
                    let copy = *record;
                    let node = Node { record: &copy, pool };
                    if let Some(cause) = crate::render::unfit(&node, fit.config, fit.scratch) {
                        *record = NodeRecord::quarantined(record.uuid, cause);
                    }
                }
            }
        }
        Ok(Inventory { nodes, ports, pool })
    }
}

/// A JSON object key, copied because keys with escapes are not borrowed, and decoded, so
/// `"pxe\u005fenabled"` matches `pxe_enabled` as a standard parser reads it. Keys longer
/// than any this crate knows are read as the empty key, which matches nothing.
struct Key(KeyText);

impl Key {
    fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Key, E> {
        let mut decoded = [0u8; KeyText::CAPACITY];
        let text = match json_string::unescaped(raw, &mut decoded) {
            Ok(text) => text,
            Err(UnescapeError::TooLong) => "",
            Err(UnescapeError::InvalidEscape) => return Err(E::custom("invalid escape in an object key")),
        };
        Ok(Key(KeyText::new(text)))
    }
}

fn next_key<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Key>, A::Error> {
    map.next_key_seed(Key(KeyText::default()))
}

/// Skips one value of any shape, counting its nesting: serde's `IgnoredAny` recurses
/// without a bound. Past [`MAX_DEPTH`] it sets the loader's flag and stops the parser
/// before going a level deeper, so the stack used is bounded whatever the input.
#[derive(Clone, Copy)]
struct Skip<'l> {
    /// Nesting of the value being skipped, the document's top-level object being 1.
    depth: usize,
    too_deep: &'l Cell<bool>,
}

impl<'l> Skip<'l> {
    fn deeper<E: serde::de::Error>(self) -> Result<Skip<'l>, E> {
        if self.depth >= MAX_DEPTH {
            self.too_deep.set(true);
            return Err(E::custom("nested too deeply"));
        }
        Ok(Skip { depth: self.depth + 1, too_deep: self.too_deep })
    }
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_ignored_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_ignored_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Skips the value of an object member this crate does not read. A JSON error in it
/// must not be blamed on the field before it, so the position names no field, only the
/// key (for a nesting error). `depth` is the nesting of the object holding the member.
fn skip_value<'de, A: MapAccess<'de>>(
    map: &mut A,
    position: &mut Position,
    too_deep: &Cell<bool>,
    key: Key,
    depth: usize,
) -> Result<(), A::Error> {
    position.field = None;
    position.skipped = Some(key.0);
    map.next_value_seed(Skip { depth, too_deep })?;
    position.skipped = None;
    Ok(())
}

/// Marks `bit` as seen in an object; a key read twice rejects the document, as the
/// standard parsers Ironic's clients use would otherwise keep one of the two silently.
fn first_time(seen: &mut u32, bit: u32) -> bool {
    let first = *seen & bit == 0;
    *seen |= bit;
    first
}

struct DocumentSeed<'l, 's>(&'l mut Loader<'s>);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `nodes` and `ports`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0;
        while let Some(key) = next_key(&mut map)? {
            let (kind, name, bit) = match key.as_str() {
                "nodes" => (Some(ListKind::Nodes), "nodes", 1),
                "ports" => (Some(ListKind::Ports), "ports", 2),
                _ => (None, "", 0),
            };
            match kind {
                Some(kind) if first_time(&mut seen, bit) => {
                    map.next_value_seed(ListSeed { loader: &mut *self.0, kind })?;
                }
                Some(_) => {
                    let error =
                        LoadError { subject: Subject::Document, field: Some(name), problem: Problem::RepeatedKey };
                    return Err(self.0.fail(error));
                }
                None => {
                    let loader = &mut *self.0;
                    skip_value(&mut map, &mut loader.position, &loader.too_deep, key, 1)?;
                }
            }
            self.0.position = Position::default();
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum ListKind {
    Nodes,
    Ports,
}

struct ListSeed<'l, 's> {
    loader: &'l mut Loader<'s>,
    kind: ListKind,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let subject = match self.kind {
                ListKind::Nodes => Subject::Node { index, uuid: None },
                ListKind::Ports => Subject::Port { index, address: None },
            };
            self.loader.position = Position { subject: Some(subject), ..Position::default() };
            let more = match self.kind {
                ListKind::Nodes => seq.next_element_seed(NodeSeed { loader: &mut *self.loader, index })?,
                ListKind::Ports => seq.next_element_seed(PortSeed { loader: &mut *self.loader, index })?,
            };
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// A field's value problem, kept until the whole object is read so the error can name
/// the node by its UUID even when `uuid` comes after the bad field.
type FieldProblem = (&'static str, Problem);

/// Nesting of a node object (document, `nodes`, node) and of its sections.
const NODE_DEPTH: usize = 3;
const SECTION_DEPTH: usize = NODE_DEPTH + 1;

struct NodeSeed<'l, 's> {
    loader: &'l mut Loader<'s>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let loader = self.loader;
        let mut node = NodeBuilder {
            record: NodeRecord::EMPTY,
            uuid: None,
            reject: None,
            quarantine: None,
            seen: 0,
            modes: [BootMode::Unset; MODE_SOURCES],
        };
        while let Some(key) = next_key(&mut map)? {
            let fields = Fields { pool: &mut loader.pool, position: &mut loader.position, too_deep: &loader.too_deep };
            node.read_field(key, fields, &mut map)?;
        }
        node.record.boot_mode =
            node.modes.iter().copied().find(|mode| *mode != BootMode::Unset).unwrap_or(BootMode::Unset);
        let subject = Subject::Node { index: self.index, uuid: node.uuid };
        loader.position = Position { subject: Some(subject), ..Position::default() };
        // A node that cannot be named by its UUID cannot be quarantined: nothing could
        // look it up, and its ports would point nowhere.
        let unnamed = node.uuid.is_none().then_some(("uuid", Problem::Missing));
        if let Some((field, problem)) = node.reject.or(unnamed) {
            return Err(loader.fail(LoadError { subject, field: Some(field), problem }));
        }
        for (field, reference) in
            [(NodeField::Driver, node.record.driver), (NodeField::ProvisionState, node.record.provision_state)]
        {
            if !reference.is_some() {
                node.quarantine.get_or_insert(Quarantine { field, problem: QuarantineProblem::Missing });
            }
        }
        let capacity = loader.nodes.len();
        let Some(slot) = loader.nodes.get_mut(loader.node_count) else {
            return Err(loader.fail(LoadError::document(Problem::Capacity(Limit::Nodes(capacity)))));
        };
        *slot = match node.quarantine {
            // Nothing else of the node is kept, so no other value can reach a script.
            Some(cause) => NodeRecord::quarantined(node.record.uuid, cause),
            None => node.record,
        };
        loader.node_count += 1;
        Ok(())
    }
}

/// What a field reader needs from the loader: the pool, and the position for JSON errors.
struct Fields<'l, 's> {
    pool: &'l mut PoolBuilder<'s>,
    position: &'l mut Position,
    too_deep: &'l Cell<bool>,
}

struct NodeBuilder {
    record: NodeRecord,
    uuid: Option<Uuid>,
    /// The first problem that rejects the whole document.
    reject: Option<FieldProblem>,
    /// The first problem that quarantines this node.
    quarantine: Option<Quarantine>,
    /// Fields and sections already read ([`NodeField::bit`], [`Section::bit`]).
    seen: u32,
    /// The boot mode each source gives, by [`ModeSource`].
    modes: [BootMode; MODE_SOURCES],
}

/// How a value problem found while reading a node is handled: `None` rejects the
/// document (malformed JSON, a capacity of the storage), else the node is quarantined.
fn quarantine_problem(problem: &Problem) -> Option<QuarantineProblem> {
    match problem {
        Problem::Unsafe(reason) => Some(QuarantineProblem::Unsafe(*reason)),
        Problem::Missing => Some(QuarantineProblem::Missing),
        Problem::Capacity(Limit::StringLength) => Some(QuarantineProblem::TooLong),
        _ if *problem == BAD_ESCAPES || *problem == BAD_UTF8 => None,
        Problem::InvalidValue(_) => Some(QuarantineProblem::InvalidValue),
        _ => None,
    }
}

impl NodeBuilder {
    fn note(&mut self, field: NodeField, problem: Problem) {
        match quarantine_problem(&problem) {
            Some(cause) => {
                self.quarantine.get_or_insert(Quarantine { field, problem: cause });
            }
            None => {
                self.reject.get_or_insert((field.path(), problem));
            }
        }
    }

    fn set_mode(&mut self, source: ModeSource, mode: BootMode) {
        if let Some(slot) = self.modes.get_mut(source as usize) {
            *slot = mode;
        }
    }

    /// A boot mode word from `field`: `null` is none; a word that is not a mode
    /// quarantines the node (Ironic's `sync_boot_mode` refuses it too).
    fn mode_word(&mut self, field: NodeField, source: ModeSource, word: Option<&str>) {
        if let Some(word) = word {
            match BootMode::from_ironic(word) {
                Some(mode) => self.set_mode(source, mode),
                None => self.note(field, Problem::InvalidValue("`bios`, `uefi` or null")),
            }
        }
    }

    /// Capabilities read from `field`: their boot mode, and `secure_boot`.
    fn capabilities(&mut self, field: NodeField, source: ModeSource, found: Result<Capabilities, Problem>) {
        match found {
            Ok(caps) => {
                if caps.secure_boot {
                    self.set_mode(ModeSource::SecureBoot, BootMode::Uefi);
                }
                self.mode_word(field, source, caps.boot_mode.as_deref());
            }
            Err(problem) => self.note(field, problem),
        }
    }

    /// Whether `field` is read for the first time; a repeat rejects the document.
    fn first_time(&mut self, field: NodeField) -> bool {
        let first = first_time(&mut self.seen, field.bit());
        if !first {
            self.note(field, Problem::RepeatedKey);
        }
        first
    }

    /// Reads a string field into the pool, checked for script safety and for the
    /// bounds iPXE puts on a kernel line (a field alone past them can never render).
    fn text<'de, A: MapAccess<'de>>(
        &mut self,
        fields: &mut Fields<'_, '_>,
        map: &mut A,
        field: NodeField,
        kind: ValueKind,
    ) -> Result<StrRef, A::Error> {
        fields.position.field = Some(field.path());
        // Ironic takes any kernel_append_params that is not None: `""` means "none"
        // (drivers/utils.get_kernel_append_params), unlike an absent value.
        let keep_empty = matches!(field, NodeField::DeployAppend | NodeField::InstanceAppend);
        match map.next_value_seed(TextSeed { pool: &mut *fields.pool, kind, keep_empty })? {
            Ok(reference) => {
                if let Some(problem) = fields.pool.peek(reference).and_then(|text| kernel_bounds(text, field)) {
                    self.quarantine.get_or_insert(Quarantine { field, problem });
                }
                Ok(reference)
            }
            Err(problem) => {
                self.note(field, problem);
                Ok(StrRef::NONE)
            }
        }
    }

    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: Key,
        mut fields: Fields<'_, '_>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let field = match key.as_str() {
            "uuid" => Some(NodeField::Uuid),
            "driver" => Some(NodeField::Driver),
            "provision_state" => Some(NodeField::ProvisionState),
            "deploy_interface" => Some(NodeField::DeployInterface),
            "boot_mode" => Some(NodeField::BootMode),
            "boot_interface" => Some(NodeField::BootInterface),
            _ => None,
        };
        let section = Section::from_key(key.as_str());
        let first = match (field, section) {
            (Some(field), _) => self.first_time(field),
            (None, Some(section)) => {
                let first = first_time(&mut self.seen, section.bit());
                if !first {
                    self.reject.get_or_insert((section.name(), Problem::RepeatedKey));
                }
                first
            }
            (None, None) => true,
        };
        if !first {
            // Read past the repeat; the document is rejected when the node ends.
            return skip_value(map, fields.position, fields.too_deep, key, NODE_DEPTH);
        }
        match (field, section) {
            (Some(NodeField::Uuid), _) => {
                fields.position.field = Some("uuid");
                match map.next_value_seed(WordSeed::<40>)? {
                    Some(text) => match Uuid::try_parse(&text) {
                        Ok(uuid) => {
                            self.uuid = Some(uuid);
                            self.record.uuid = *uuid.as_bytes();
                        }
                        Err(_) => self.note(NodeField::Uuid, Problem::InvalidUuid),
                    },
                    None => self.note(NodeField::Uuid, Problem::InvalidUuid),
                }
            }
            (Some(NodeField::Driver), _) => {
                self.record.driver = self.text(&mut fields, map, NodeField::Driver, ValueKind::Token)?;
            }
            (Some(NodeField::ProvisionState), _) => {
                self.record.provision_state =
                    self.text(&mut fields, map, NodeField::ProvisionState, ValueKind::Words)?;
            }
            (Some(NodeField::DeployInterface), _) => {
                fields.position.field = Some("deploy_interface");
                self.record.ramdisk_deploy = map.next_value_seed(WordSeed::<32>)?.is_some_and(|w| w == "ramdisk");
            }
            (Some(NodeField::BootMode), _) => {
                fields.position.field = Some("boot_mode");
                let word = map.next_value_seed(WordSeed::<16>)?;
                self.mode_word(NodeField::BootMode, ModeSource::Field, word.as_deref());
            }
            (Some(NodeField::BootInterface), _) => {
                self.record.boot_interface = self.text(&mut fields, map, NodeField::BootInterface, ValueKind::Token)?;
            }
            (None, Some(section)) => {
                map.next_value_seed(SectionSeed { node: self, fields, section })?;
            }
            _ => skip_value(map, fields.position, fields.too_deep, key, NODE_DEPTH)?,
        }
        Ok(())
    }
}

/// What iPXE cannot take of a value that goes on a kernel line, whatever else is on the
/// line: see [`crate::quarantine`] for the bounds. The rendered line as a whole is
/// checked by [`load_fitted`], which knows the configured parameters.
fn kernel_bounds(text: &str, field: NodeField) -> Option<QuarantineProblem> {
    if !matches!(field, NodeField::DeployAppend | NodeField::InstanceAppend | NodeField::RamdiskKernelArguments) {
        None
    } else if text.split(' ').filter(|word| !word.is_empty()).count() > MAX_KERNEL_WORDS {
        Some(QuarantineProblem::TooManyWords)
    } else if text.len() > MAX_KERNEL_CMDLINE {
        Some(QuarantineProblem::LineTooLong)
    } else {
        None
    }
}

#[derive(Clone, Copy)]
// Named after the JSON objects they stand for.
#[allow(clippy::enum_variant_names)]
enum Section {
    DriverInfo,
    InstanceInfo,
    DriverInternalInfo,
    Properties,
}

impl Section {
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "driver_info" => Some(Self::DriverInfo),
            "instance_info" => Some(Self::InstanceInfo),
            "driver_internal_info" => Some(Self::DriverInternalInfo),
            "properties" => Some(Self::Properties),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::DriverInfo => "driver_info",
            Self::InstanceInfo => "instance_info",
            Self::DriverInternalInfo => "driver_internal_info",
            Self::Properties => "properties",
        }
    }

    /// Above every [`NodeField::bit`] in a node's "already seen" set.
    fn bit(self) -> u32 {
        1 << (27 + self as u32)
    }

    /// The field a key of this section stands for, and how its value is written.
    fn field(self, key: &str) -> Option<(NodeField, ValueKind)> {
        let words = ValueKind::Words;
        let token = ValueKind::Token;
        Some(match (self, key) {
            (Self::DriverInfo, "deploy_kernel") => (NodeField::DeployKernel, token),
            (Self::DriverInfo, "deploy_ramdisk") => (NodeField::DeployRamdisk, token),
            (Self::DriverInfo, "rescue_kernel") => (NodeField::RescueKernel, token),
            (Self::DriverInfo, "rescue_ramdisk") => (NodeField::RescueRamdisk, token),
            (Self::DriverInfo, "kernel_append_params") => (NodeField::DeployAppend, words),
            (Self::InstanceInfo, "kernel") => (NodeField::InstanceKernel, token),
            (Self::InstanceInfo, "ramdisk") => (NodeField::InstanceRamdisk, token),
            (Self::InstanceInfo, "kernel_append_params") => (NodeField::InstanceAppend, words),
            (Self::InstanceInfo, "image_type") => (NodeField::ImageType, words),
            (Self::DriverInternalInfo, "is_whole_disk_image") => (NodeField::WholeDiskImage, words),
            (Self::InstanceInfo, "ramdisk_kernel_arguments") => (NodeField::RamdiskKernelArguments, words),
            (Self::InstanceInfo, "boot_iso") => (NodeField::BootIso, token),
            (Self::InstanceInfo, "capabilities") => (NodeField::InstanceCapabilities, words),
            (Self::InstanceInfo, "deploy_boot_mode") => (NodeField::InstanceDeployBootMode, words),
            (Self::DriverInternalInfo, "deploy_boot_mode") => (NodeField::InternalDeployBootMode, words),
            (Self::Properties, "cpu_arch") => (NodeField::CpuArch, token),
            (Self::Properties, "capabilities") => (NodeField::PropertiesCapabilities, words),
            _ => return None,
        })
    }
}

impl NodeRecord {
    /// The pooled string a field is stored in, for the fields that are strings.
    fn text_slot(&mut self, field: NodeField) -> Option<&mut StrRef> {
        Some(match field {
            NodeField::Driver => &mut self.driver,
            NodeField::ProvisionState => &mut self.provision_state,
            NodeField::DeployKernel => &mut self.deploy_kernel,
            NodeField::DeployRamdisk => &mut self.deploy_ramdisk,
            NodeField::RescueKernel => &mut self.rescue_kernel,
            NodeField::RescueRamdisk => &mut self.rescue_ramdisk,
            NodeField::DeployAppend => &mut self.deploy_append,
            NodeField::InstanceKernel => &mut self.instance_kernel,
            NodeField::InstanceRamdisk => &mut self.instance_ramdisk,
            NodeField::InstanceAppend => &mut self.instance_append,
            NodeField::BootInterface => &mut self.boot_interface,
            NodeField::CpuArch => &mut self.cpu_arch,
            NodeField::BootIso => &mut self.boot_iso,
            NodeField::RamdiskKernelArguments => &mut self.ramdisk_args,
            _ => return None,
        })
    }
}

struct SectionSeed<'n, 'l, 's> {
    node: &'n mut NodeBuilder,
    fields: Fields<'l, 's>,
    section: Section,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let SectionSeed { node, mut fields, section } = self;
        while let Some(key) = next_key(&mut map)? {
            let Some((field, kind)) = section.field(key.as_str()) else {
                skip_value(&mut map, fields.position, fields.too_deep, key, SECTION_DEPTH)?;
                continue;
            };
            if !node.first_time(field) {
                skip_value(&mut map, fields.position, fields.too_deep, key, SECTION_DEPTH)?;
                continue;
            }
            if node.record.text_slot(field).is_some() {
                let reference = node.text(&mut fields, &mut map, field, kind)?;
                if let Some(slot) = node.record.text_slot(field) {
                    *slot = reference;
                }
                continue;
            }
            fields.position.field = Some(field.path());
            match field {
                NodeField::ImageType => {
                    if let Some(word) = map.next_value_seed(WordSeed::<16>)? {
                        match ImageType::from_ironic(&word) {
                            Some(kind) => node.record.image_type = kind,
                            None => {
                                node.note(field, Problem::InvalidValue("`partition`, `whole-disk` or null"));
                            }
                        }
                    }
                }
                NodeField::InstanceDeployBootMode | NodeField::InternalDeployBootMode => {
                    let source = if field == NodeField::InstanceDeployBootMode {
                        ModeSource::InstanceDeployBootMode
                    } else {
                        ModeSource::InternalDeployBootMode
                    };
                    let word = map.next_value_seed(WordSeed::<16>)?;
                    node.mode_word(field, source, word.as_deref());
                }
                NodeField::InstanceCapabilities | NodeField::PropertiesCapabilities => {
                    let (source, text) = if field == NodeField::InstanceCapabilities {
                        (ModeSource::InstanceCapabilities, CapabilitiesText::Json)
                    } else {
                        (ModeSource::PropertiesCapabilities, CapabilitiesText::Pairs)
                    };
                    let skip = Skip { depth: SECTION_DEPTH + 1, too_deep: fields.too_deep };
                    let found = map.next_value_seed(CapabilitiesSeed { skip, text })?;
                    node.capabilities(field, source, found);
                }
                // An explicit image_type wins over this older flag.
                _ => {
                    if map.next_value::<Option<bool>>()? == Some(true) && node.record.image_type == ImageType::Unset {
                        node.record.image_type = ImageType::WholeDisk;
                    }
                }
            }
        }
        fields.position.field = None;
        Ok(())
    }
}

/// A string value checked for script safety and stored in the pool. `null`, `""` and the
/// masked `******` read as absent; the inner `Err` is a problem with the value itself.
struct TextSeed<'l, 's> {
    pool: &'l mut PoolBuilder<'s>,
    kind: ValueKind,
    /// `""` is stored as an empty string rather than read as absent.
    keep_empty: bool,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_, '_> {
    type Value = Result<StrRef, Problem>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_, '_> {
    type Value = Result<StrRef, Problem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(StrRef::NONE))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
    /// `raw` is the string as written in the document, escapes and all: the deserializer
    /// is given no unescape buffer (see [`crate::json_string`]).
    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Self::Value, E> {
        if (raw.is_empty() && !self.keep_empty) || raw == MASKED {
            return Ok(Ok(StrRef::NONE));
        }
        let (bytes, slots) = self.pool.capacity();
        let capacity = |error| Problem::Capacity(Limit::from_pool(error, bytes, slots));
        let staging = self.pool.staging();
        let room = staging.len();
        let len = match json_string::unescape(raw, staging) {
            Ok(len) => len,
            Err(UnescapeError::InvalidEscape) => return Ok(Err(BAD_ESCAPES)),
            Err(UnescapeError::TooLong) if room < MAX_STRING => return Ok(Err(capacity(PoolError::PoolFull))),
            Err(UnescapeError::TooLong) => return Ok(Err(capacity(PoolError::TooLong))),
        };
        let Some(text) = self.pool.staged(len) else { return Ok(Err(BAD_UTF8)) };
        if (text.is_empty() && !self.keep_empty) || text == MASKED {
            return Ok(Ok(StrRef::NONE));
        }
        if text.is_empty() {
            return Ok(self.pool.commit(0).map_err(capacity));
        }
        if let Err(reason) = safety::check(text, self.kind) {
            return Ok(Err(Problem::Unsafe(reason)));
        }
        Ok(self.pool.commit(len).map_err(capacity))
    }
}

/// How a capabilities value written as a string is read.
#[derive(Clone, Copy)]
enum CapabilitiesText {
    /// `properties.capabilities`: `"boot_mode:bios,secure_boot:true"`
    /// (`drivers/utils.get_node_capability`: items split on `,`, each exactly `k:v`,
    /// others skipped, keys and values stripped).
    Pairs,
    /// `instance_info.capabilities`: an object written as a JSON string
    /// (`common/utils.parse_instance_info_capabilities`).
    Json,
    /// Inside such a JSON string: only an object is capabilities (Ironic's `.get` on
    /// anything else fails).
    ObjectOnly,
}

/// What the loader takes from a capabilities value.
#[derive(Default)]
struct Capabilities {
    boot_mode: Option<heapless::String<16>>,
    secure_boot: bool,
}

impl Capabilities {
    fn set(&mut self, key: &str, value: &str) {
        match key {
            // A longer word is no boot mode: kept as one that fails to parse.
            "boot_mode" => self.boot_mode = Some(heapless::String::try_from(value).unwrap_or_default()),
            // Ironic: `capabilities.get('secure_boot', 'false').lower() == 'true'`.
            "secure_boot" => self.secure_boot = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
}

/// Longest capabilities string read (decoded); Ironic's are a few dozen bytes.
const MAX_CAPABILITIES_TEXT: usize = 512;

/// A capabilities value: an object, or a string as [`CapabilitiesText`] says, or
/// `null`. Nested values are skipped through [`Skip`], which bounds the nesting; the
/// inner `Err` quarantines the node.
struct CapabilitiesSeed<'l> {
    skip: Skip<'l>,
    text: CapabilitiesText,
}

impl<'de> DeserializeSeed<'de> for CapabilitiesSeed<'_> {
    type Value = Result<Capabilities, Problem>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // serde-json-core has no deserialize_any; ignored_any dispatches on the value's
        // first byte (string, array, object, or anything else as unit).
        deserializer.deserialize_ignored_any(self)
    }
}

impl<'de> Visitor<'de> for CapabilitiesSeed<'_> {
    type Value = Result<Capabilities, Problem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object, a string or null")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Capabilities::default()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.skip.visit_seq(seq)?;
        Ok(Err(Problem::InvalidValue("an object or a string")))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.skip.deeper()?;
        let mut caps = Capabilities::default();
        while let Some(key) = next_key(&mut map)? {
            if let Some(value) = map.next_value_seed(CapabilityValue(inner))? {
                caps.set(key.as_str(), &value);
            }
        }
        Ok(Ok(caps))
    }
    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Self::Value, E> {
        let mut decoded = [0u8; MAX_CAPABILITIES_TEXT];
        let Ok(len) = json_string::unescape(raw, &mut decoded) else {
            return Ok(Err(Problem::InvalidValue("capabilities of at most 512 bytes")));
        };
        let Some(text) = decoded.get(..len).and_then(|bytes| core::str::from_utf8(bytes).ok()) else {
            return Ok(Err(BAD_UTF8));
        };
        Ok(match self.text {
            CapabilitiesText::ObjectOnly => Err(Problem::InvalidValue("a JSON object")),
            CapabilitiesText::Pairs => {
                let mut caps = Capabilities::default();
                for item in text.split(',') {
                    let mut parts = item.split(':');
                    if let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) {
                        if !key.is_empty() && !value.is_empty() {
                            caps.set(key.trim(), value.trim());
                        }
                    }
                }
                Ok(caps)
            }
            CapabilitiesText::Json => {
                // Its own small document, parsed with the same bounded skipping.
                let too_deep = Cell::new(false);
                let skip = Skip { depth: 1, too_deep: &too_deep };
                let mut inner = serde_json_core::de::Deserializer::new(decoded.get(..len).unwrap_or_default(), None);
                let seed = CapabilitiesSeed { skip, text: CapabilitiesText::ObjectOnly };
                match seed.deserialize(&mut inner).and_then(|found| inner.end().map(|_| found)) {
                    Ok(found) => found,
                    Err(_) => Err(Problem::InvalidValue("a JSON object")),
                }
            }
        })
    }
}

/// One capability's value: a string (decoded, at most 64 bytes), or `None` for
/// anything else, which is skipped.
struct CapabilityValue<'l>(Skip<'l>);

impl<'de> DeserializeSeed<'de> for CapabilityValue<'_> {
    type Value = Option<heapless::String<64>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_ignored_any(self)
    }
}

impl<'de> Visitor<'de> for CapabilityValue<'_> {
    type Value = Option<heapless::String<64>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Self::Value, E> {
        let mut decoded = [0u8; 64];
        let text = json_string::unescaped(raw, &mut decoded).unwrap_or_default();
        Ok(Some(heapless::String::try_from(text).unwrap_or_default()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map).map(|()| None)
    }
}

/// A short string copied out of the document (UUIDs, enum words); longer text reads as
/// `Some("")`, which no caller accepts. `null` reads as `None`.
struct WordSeed<const N: usize>;

impl<'de, const N: usize> DeserializeSeed<'de> for WordSeed<N> {
    type Value = Option<heapless::String<N>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for WordSeed<N> {
    type Value = Option<heapless::String<N>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<Self::Value, E> {
        let mut decoded = [0u8; N];
        let text = json_string::unescaped(raw, &mut decoded).unwrap_or_default();
        Ok(Some(heapless::String::try_from(text).unwrap_or_default()))
    }
}

struct PortSeed<'l, 's> {
    loader: &'l mut Loader<'s>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for PortSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PortSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let loader = self.loader;
        let mut address = None;
        let mut node = None;
        // Ironic's own default: a port without the field takes part in PXE.
        let mut pxe_enabled = true;
        let mut problem: Option<FieldProblem> = None;
        let mut seen = 0;
        while let Some(key) = next_key(&mut map)? {
            let (name, bit) = match key.as_str() {
                "address" => ("address", 1),
                "node_uuid" => ("node_uuid", 2),
                "pxe_enabled" => ("pxe_enabled", 4),
                _ => ("", 0),
            };
            if bit != 0 && !first_time(&mut seen, bit) {
                problem.get_or_insert((name, Problem::RepeatedKey));
                skip_value(&mut map, &mut loader.position, &loader.too_deep, key, NODE_DEPTH)?;
                continue;
            }
            match key.as_str() {
                "address" => {
                    loader.position.field = Some("address");
                    match map.next_value_seed(WordSeed::<40>)?.map(|w| PortAddress::parse(w.as_bytes())) {
                        Some(Ok(parsed)) => address = Some(parsed),
                        _ => {
                            problem.get_or_insert(("address", Problem::InvalidAddress));
                        }
                    }
                }
                "node_uuid" => {
                    loader.position.field = Some("node_uuid");
                    match map.next_value_seed(WordSeed::<40>)?.map(|w| Uuid::try_parse(&w)) {
                        Some(Ok(uuid)) => node = Some(uuid),
                        _ => {
                            problem.get_or_insert(("node_uuid", Problem::InvalidUuid));
                        }
                    }
                }
                "pxe_enabled" => {
                    loader.position.field = Some("pxe_enabled");
                    pxe_enabled = map.next_value::<Option<bool>>()?.unwrap_or(true);
                }
                _ => skip_value(&mut map, &mut loader.position, &loader.too_deep, key, NODE_DEPTH)?,
            }
        }
        let subject = Subject::Port { index: self.index, address };
        loader.position = Position { subject: Some(subject), ..Position::default() };
        let problem = problem
            .or_else(|| address.is_none().then_some(("address", Problem::Missing)))
            .or_else(|| node.is_none().then_some(("node_uuid", Problem::Missing)));
        if let Some((field, problem)) = problem {
            return Err(loader.fail(LoadError { subject, field: Some(field), problem }));
        }
        if !pxe_enabled {
            return Ok(());
        }
        let capacity = loader.ports.len();
        let (Some(address), Some(node)) = (address, node) else {
            return Ok(());
        };
        let Some(slot) = loader.ports.get_mut(loader.port_count) else {
            return Err(loader.fail(LoadError::document(Problem::Capacity(Limit::Ports(capacity)))));
        };
        *slot = PortRecord { address, node: *node.as_bytes(), node_index: 0 };
        loader.port_count += 1;
        Ok(())
    }
}
