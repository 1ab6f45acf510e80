//! Loading an Ironic-shaped JSON inventory into caller-provided storage.
//!
//! The document is streamed through serde visitors: each node and port is validated and
//! stored as soon as it is read, strings go straight into the deduplicated pool, and
//! every field this crate does not use (`properties`, `extra`, `links`, …) is skipped.
//! Nothing is kept from a document that fails.

use core::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use uuid::Uuid;

use crate::error::{Limit, LoadError, Problem, Subject};
use crate::inventory::{Inventory, InventoryStorage};
use crate::json_string::{self, UnescapeError};
use crate::mac::PortAddress;
use crate::pool::{PoolBuilder, PoolError, StrRef, MAX_STRING};
use crate::record::{NodeRecord, PortRecord};
use crate::safety::{self, ValueKind};
use crate::state::{BootMode, ImageType};

type JsonError = serde_json_core::de::Error;

/// Ironic's API shows secrets as this; such a value is treated as absent.
const MASKED: &str = "******";

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
    load_into(json, storage.into())
}

fn load_into<'s>(json: &[u8], storage: InventoryStorage<'s>) -> Result<Inventory<'s>, LoadError> {
    let InventoryStorage { nodes, ports, strings, string_index } = storage;
    let mut loader = Loader {
        nodes,
        node_count: 0,
        ports,
        port_count: 0,
        pool: PoolBuilder::new(strings, string_index),
        position: Position::default(),
        error: None,
    };
    // No unescape buffer: strings arrive raw and are decoded by `json_string`, which
    // also handles surrogate pairs (see there).
    let mut deserializer = serde_json_core::de::Deserializer::new(json, None);
    let parsed = DocumentSeed(&mut loader).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    if let Err(json_error) = parsed {
        return Err(loader.error.take().unwrap_or_else(|| loader.json_error(json_error)));
    }
    loader.finish()
}

/// Where the parser is, so a JSON error can name the node and field.
#[derive(Default, Clone, Copy)]
struct Position {
    subject: Option<Subject>,
    field: Option<&'static str>,
}

struct Loader<'s> {
    nodes: &'s mut [NodeRecord],
    node_count: usize,
    ports: &'s mut [PortRecord],
    port_count: usize,
    pool: PoolBuilder<'s>,
    position: Position,
    error: Option<LoadError>,
}

impl<'s> Loader<'s> {
    fn json_error(&self, error: JsonError) -> LoadError {
        LoadError {
            subject: self.position.subject.unwrap_or(Subject::Document),
            field: self.position.field,
            problem: Problem::Json(error),
        }
    }

    /// Records the first semantic error; the parser is then stopped with a generic error.
    fn fail<E: serde::de::Error>(&mut self, error: LoadError) -> E {
        if self.error.is_none() {
            self.error = Some(error);
        }
        E::custom("inventory rejected")
    }

    fn finish(self) -> Result<Inventory<'s>, LoadError> {
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
        Ok(Inventory { nodes, ports, pool: pool.finish() })
    }
}

/// A JSON object key, copied because keys with escapes are not borrowed. Keys longer than
/// any this crate knows are read as the empty key, which matches nothing.
struct Key(heapless::String<32>);

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
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Key, E> {
        Ok(Key(heapless::String::try_from(text).unwrap_or_default()))
    }
}

fn next_key<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Key>, A::Error> {
    map.next_key_seed(Key(heapless::String::new()))
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
        while let Some(key) = next_key(&mut map)? {
            match key.0.as_str() {
                "nodes" => map.next_value_seed(ListSeed { loader: &mut *self.0, kind: ListKind::Nodes })?,
                "ports" => map.next_value_seed(ListSeed { loader: &mut *self.0, kind: ListKind::Ports })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
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
            self.loader.position = Position { subject: Some(subject), field: None };
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
        let mut node = NodeBuilder { record: NodeRecord::EMPTY, uuid: None, problem: None };
        while let Some(key) = next_key(&mut map)? {
            let fields = Fields { pool: &mut loader.pool, position: &mut loader.position };
            node.read_field(key.0.as_str(), fields, &mut map)?;
        }
        let subject = Subject::Node { index: self.index, uuid: node.uuid };
        loader.position = Position { subject: Some(subject), field: None };
        let missing = [
            ("uuid", node.uuid.is_none()),
            ("driver", !node.record.driver.is_some()),
            ("provision_state", !node.record.provision_state.is_some()),
        ];
        let problem = node
            .problem
            .or_else(|| missing.iter().find(|(_, absent)| *absent).map(|(field, _)| (*field, Problem::Missing)));
        if let Some((field, problem)) = problem {
            return Err(loader.fail(LoadError { subject, field: Some(field), problem }));
        }
        let capacity = loader.nodes.len();
        let Some(slot) = loader.nodes.get_mut(loader.node_count) else {
            return Err(loader.fail(LoadError::document(Problem::Capacity(Limit::Nodes(capacity)))));
        };
        *slot = node.record;
        loader.node_count += 1;
        Ok(())
    }
}

/// What a field reader needs from the loader: the pool, and the position for JSON errors.
struct Fields<'l, 's> {
    pool: &'l mut PoolBuilder<'s>,
    position: &'l mut Position,
}

struct NodeBuilder {
    record: NodeRecord,
    uuid: Option<Uuid>,
    problem: Option<FieldProblem>,
}

impl NodeBuilder {
    fn note(&mut self, field: &'static str, problem: Problem) {
        if self.problem.is_none() {
            self.problem = Some((field, problem));
        }
    }

    fn text<'de, A: MapAccess<'de>>(
        &mut self,
        fields: &mut Fields<'_, '_>,
        map: &mut A,
        field: &'static str,
        kind: ValueKind,
    ) -> Result<StrRef, A::Error> {
        fields.position.field = Some(field);
        match map.next_value_seed(TextSeed { pool: &mut *fields.pool, kind })? {
            Ok(reference) => Ok(reference),
            Err(problem) => {
                self.note(field, problem);
                Ok(StrRef::NONE)
            }
        }
    }

    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        mut fields: Fields<'_, '_>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "uuid" => {
                fields.position.field = Some("uuid");
                match map.next_value_seed(WordSeed::<40>)? {
                    Some(text) => match Uuid::try_parse(&text) {
                        Ok(uuid) => {
                            self.uuid = Some(uuid);
                            self.record.uuid = *uuid.as_bytes();
                        }
                        Err(_) => self.note("uuid", Problem::InvalidUuid),
                    },
                    None => self.note("uuid", Problem::InvalidUuid),
                }
            }
            "driver" => {
                self.record.driver = self.text(&mut fields, map, "driver", ValueKind::Token)?;
            }
            "provision_state" => {
                self.record.provision_state = self.text(&mut fields, map, "provision_state", ValueKind::Words)?;
            }
            "deploy_interface" => {
                fields.position.field = Some("deploy_interface");
                self.record.ramdisk_deploy = map.next_value_seed(WordSeed::<32>)?.is_some_and(|w| w == "ramdisk");
            }
            "boot_mode" => {
                fields.position.field = Some("boot_mode");
                if let Some(word) = map.next_value_seed(WordSeed::<16>)? {
                    match BootMode::from_ironic(&word) {
                        Some(mode) => self.record.boot_mode = mode,
                        None => {
                            self.note("boot_mode", Problem::InvalidValue("`bios`, `uefi` or null"));
                        }
                    }
                }
            }
            "driver_info" | "instance_info" | "driver_internal_info" => {
                let section = match key {
                    "driver_info" => Section::DriverInfo,
                    "instance_info" => Section::InstanceInfo,
                    _ => Section::DriverInternalInfo,
                };
                map.next_value_seed(SectionSeed { node: self, fields, section })?;
            }
            _ => {
                // A JSON error in a skipped field must not be blamed on the field before it.
                fields.position.field = None;
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
// Named after the JSON objects they stand for.
#[allow(clippy::enum_variant_names)]
enum Section {
    DriverInfo,
    InstanceInfo,
    DriverInternalInfo,
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
        let SectionSeed { node, fields, section } = self;
        while let Some(key) = next_key(&mut map)? {
            let words = ValueKind::Words;
            let token = ValueKind::Token;
            let record = &mut node.record;
            let target: Option<(&mut StrRef, &'static str, ValueKind)> = match (section, key.0.as_str()) {
                (Section::DriverInfo, "deploy_kernel") => {
                    Some((&mut record.deploy_kernel, "driver_info.deploy_kernel", token))
                }
                (Section::DriverInfo, "deploy_ramdisk") => {
                    Some((&mut record.deploy_ramdisk, "driver_info.deploy_ramdisk", token))
                }
                (Section::DriverInfo, "rescue_kernel") => {
                    Some((&mut record.rescue_kernel, "driver_info.rescue_kernel", token))
                }
                (Section::DriverInfo, "rescue_ramdisk") => {
                    Some((&mut record.rescue_ramdisk, "driver_info.rescue_ramdisk", token))
                }
                (Section::DriverInfo, "kernel_append_params") => {
                    Some((&mut record.deploy_append, "driver_info.kernel_append_params", words))
                }
                (Section::InstanceInfo, "kernel") => Some((&mut record.instance_kernel, "instance_info.kernel", token)),
                (Section::InstanceInfo, "ramdisk") => {
                    Some((&mut record.instance_ramdisk, "instance_info.ramdisk", token))
                }
                (Section::InstanceInfo, "kernel_append_params") => {
                    Some((&mut record.instance_append, "instance_info.kernel_append_params", words))
                }
                (Section::DriverInternalInfo, "root_uuid_or_disk_id") => {
                    Some((&mut record.root_uuid, "driver_internal_info.root_uuid_or_disk_id", token))
                }
                _ => None,
            };
            if let Some((slot, field, kind)) = target {
                fields.position.field = Some(field);
                match map.next_value_seed(TextSeed { pool: &mut *fields.pool, kind })? {
                    Ok(reference) => *slot = reference,
                    Err(problem) => node.note(field, problem),
                }
                continue;
            }
            match (section, key.0.as_str()) {
                (Section::InstanceInfo, "image_type") => {
                    fields.position.field = Some("instance_info.image_type");
                    if let Some(word) = map.next_value_seed(WordSeed::<16>)? {
                        match ImageType::from_ironic(&word) {
                            Some(kind) => node.record.image_type = kind,
                            None => node.note(
                                "instance_info.image_type",
                                Problem::InvalidValue("`partition`, `whole-disk` or null"),
                            ),
                        }
                    }
                }
                (Section::DriverInternalInfo, "is_whole_disk_image") => {
                    fields.position.field = Some("driver_internal_info.is_whole_disk_image");
                    // An explicit image_type wins over this older flag.
                    if map.next_value::<Option<bool>>()? == Some(true) && node.record.image_type == ImageType::Unset {
                        node.record.image_type = ImageType::WholeDisk;
                    }
                }
                _ => {
                    // A JSON error in a skipped field must not be blamed on the field before it.
                    fields.position.field = None;
                    map.next_value::<IgnoredAny>()?;
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
        if raw.is_empty() || raw == MASKED {
            return Ok(Ok(StrRef::NONE));
        }
        let (bytes, slots) = self.pool.capacity();
        let capacity = |error| Problem::Capacity(Limit::from_pool(error, bytes, slots));
        let staging = self.pool.staging();
        let room = staging.len();
        let len = match json_string::unescape(raw, staging) {
            Ok(len) => len,
            Err(UnescapeError::InvalidEscape) => return Ok(Err(Problem::InvalidValue("valid JSON string escapes"))),
            Err(UnescapeError::TooLong) if room < MAX_STRING => return Ok(Err(capacity(PoolError::PoolFull))),
            Err(UnescapeError::TooLong) => return Ok(Err(capacity(PoolError::TooLong))),
        };
        let Some(text) = self.pool.staged(len) else { return Ok(Err(Problem::InvalidValue("UTF-8 text"))) };
        if text.is_empty() || text == MASKED {
            return Ok(Ok(StrRef::NONE));
        }
        if let Err(reason) = safety::check(text, self.kind) {
            return Ok(Err(Problem::Unsafe(reason)));
        }
        Ok(self.pool.commit(len).map_err(capacity))
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
        let text = json_string::unescape(raw, &mut decoded)
            .ok()
            .and_then(|len| core::str::from_utf8(decoded.get(..len)?).ok())
            .unwrap_or_default();
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
        while let Some(key) = next_key(&mut map)? {
            match key.0.as_str() {
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
                _ => {
                    // A JSON error in a skipped field must not be blamed on the field before it.
                    loader.position.field = None;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let subject = Subject::Port { index: self.index, address };
        loader.position = Position { subject: Some(subject), field: None };
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
