//! The memory an inventory is loaded into: how much of it ([`InventoryCapacity`]), and
//! owned buffers of that much, either fixed at compile time ([`InventoryBuffers`], for a
//! firmware `static`) or allocated once at start-up (`HeapInventoryBuffers`, feature
//! `alloc`, for a host).
//!
//! These are the *inventory* buffers: records and strings of the fleet. The buffers an
//! appliance serves from (sockets, responses) belong to the server crate.
//!
//! Both kinds lend themselves to [`load`](crate::load()) as an [`InventoryStorage`], and
//! can view the loaded inventory again later from its [`Extent`] without keeping the
//! borrow alive.

use crate::error::LoadError;
use crate::inventory::{Extent, Inventory, InventoryStorage};
use crate::record::{NodeRecord, PortRecord};

/// String fields a node record has, each of which may be a distinct string: driver,
/// provision state, four deploy and rescue image URLs, two sets of kernel parameters,
/// instance kernel and ramdisk, root UUID, boot interface, CPU architecture, boot ISO and
/// ramdisk kernel arguments.
pub const STRINGS_PER_NODE: usize = 15;

/// Slots of the string deduplication table per node: two per string a node can have,
/// so the open-addressing table stays at most half full.
pub const STRING_INDEX_SLOTS_PER_NODE: usize = 2 * STRINGS_PER_NODE;

/// String pool bytes [`InventoryCapacity::for_fleet`] gives each node: its own values
/// (a root UUID, instance image URLs and kernel parameters that differ from node to
/// node, each with a 2-byte length) fit in it; values the fleet shares (deploy images,
/// driver names, states) are stored once and take little of it.
pub const STRING_BYTES_PER_NODE: usize = 256;

/// The smallest pool entry: a 2-byte length and at least one byte (empty strings are
/// not stored).
const MIN_STRING_ENTRY: usize = 3;

/// How much an inventory's buffers hold. This is the one place the string index is
/// sized from the other limits.
///
/// ```
/// # use ipxe_config::InventoryCapacity;
/// let capacity = InventoryCapacity::for_fleet(1000, 2000);
/// assert_eq!(capacity.string_bytes, 256_000);
/// assert_eq!(capacity.string_index_slots(), Some(30_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryCapacity {
    /// Node slots.
    pub nodes: usize,
    /// PXE-enabled port slots.
    pub ports: usize,
    /// Bytes of the deduplicated string pool.
    pub string_bytes: usize,
}

impl InventoryCapacity {
    /// Exactly these limits.
    pub const fn new(nodes: usize, ports: usize, string_bytes: usize) -> Self {
        InventoryCapacity { nodes, ports, string_bytes }
    }

    /// Room for a fleet of `nodes` nodes with `ports` PXE-enabled ports between them,
    /// with [`STRING_BYTES_PER_NODE`] of strings each.
    pub const fn for_fleet(nodes: usize, ports: usize) -> Self {
        InventoryCapacity { nodes, ports, string_bytes: nodes.saturating_mul(STRING_BYTES_PER_NODE) }
    }

    /// Slots of the string deduplication table: two per string the buffers can hold (at
    /// most one per 3 pool bytes, at most [`STRINGS_PER_NODE`] per node), so the table
    /// stays at most half full and is never the limit a load fails on. A node over the
    /// node limit has its strings interned before the loader finds no slot for it; the
    /// table's slack holds them (for one node or more), so the error names the node
    /// limit, the one worth reporting. `None` if the count overflows.
    pub const fn string_index_slots(self) -> Option<usize> {
        let by_bytes = self.string_bytes / MIN_STRING_ENTRY;
        let nodes = if self.nodes == 0 { 1 } else { self.nodes };
        let Some(by_nodes) = nodes.checked_mul(STRINGS_PER_NODE) else { return None };
        let strings = if by_bytes < by_nodes { by_bytes } else { by_nodes };
        strings.checked_mul(2)
    }

    /// Bytes of all the buffers together (records, pool and index, without padding);
    /// `None` if that overflows.
    pub const fn bytes(self) -> Option<usize> {
        let Some(index) = self.string_index_slots() else { return None };
        let parts = [
            self.nodes.checked_mul(size_of::<NodeRecord>()),
            self.ports.checked_mul(size_of::<PortRecord>()),
            Some(self.string_bytes),
            index.checked_mul(size_of::<u32>()),
        ];
        let mut total = 0usize;
        let mut next = 0;
        while next < parts.len() {
            let Some(part) = parts[next] else { return None };
            let Some(sum) = total.checked_add(part) else { return None };
            total = sum;
            next += 1;
        }
        Some(total)
    }
}

/// Inventory buffers of a capacity fixed at compile time, owned: a firmware image
/// declares one `static` (all zero bytes, so it lies in `.bss`) instead of four arrays.
///
/// The string index has [`STRING_INDEX_SLOTS_PER_NODE`] slots per node, at least what
/// [`InventoryCapacity::string_index_slots`] asks for. `NODES` must not be 0.
///
/// ```
/// use ipxe_config::{InventoryBuffers, InventoryCapacity, PortAddress};
///
/// const FLEET: InventoryCapacity = InventoryCapacity::for_fleet(8, 16);
/// type FleetBuffers = InventoryBuffers<{ FLEET.nodes }, { FLEET.ports }, { FLEET.string_bytes }>;
/// // On firmware: `static INVENTORY: StaticCell<FleetBuffers> = …`, or a `static mut`
/// // handed out once.
/// let mut buffers = FleetBuffers::new();
///
/// let json = br#"{"nodes": [{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
///   "driver": "ipmi", "provision_state": "active"}],
///   "ports": [{"address": "52:54:00:12:34:56",
///   "node_uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"}]}"#;
/// let extent = buffers.load(json).unwrap().extent();
/// // Later, without the borrow of the load:
/// let inventory = buffers.inventory(extent);
/// assert!(inventory.node_by_address(&PortAddress::parse(b"525400123456").unwrap()).is_some());
/// ```
pub struct InventoryBuffers<const NODES: usize, const PORTS: usize, const STRING_BYTES: usize> {
    nodes: [NodeRecord; NODES],
    ports: [PortRecord; PORTS],
    strings: [u8; STRING_BYTES],
    // Per node, because an array length cannot be computed from generic parameters on
    // stable Rust; for any realistic pool (over 33 bytes a node) it is the formula's size.
    string_index: [[u32; STRING_INDEX_SLOTS_PER_NODE]; NODES],
}

impl<const NODES: usize, const PORTS: usize, const STRING_BYTES: usize> InventoryBuffers<NODES, PORTS, STRING_BYTES> {
    /// What these buffers hold.
    pub const CAPACITY: InventoryCapacity = InventoryCapacity::new(NODES, PORTS, STRING_BYTES);

    /// Empty buffers; usable in a `static`.
    pub const fn new() -> Self {
        const {
            assert!(NODES > 0, "an inventory with no node slots serves nothing");
        }
        InventoryBuffers {
            nodes: [NodeRecord::EMPTY; NODES],
            ports: [PortRecord::EMPTY; PORTS],
            strings: [0; STRING_BYTES],
            string_index: [[0; STRING_INDEX_SLOTS_PER_NODE]; NODES],
        }
    }

    /// The buffers as the slices [`load`](crate::load()) fills.
    pub fn storage(&mut self) -> InventoryStorage<'_> {
        InventoryStorage {
            nodes: &mut self.nodes,
            ports: &mut self.ports,
            strings: &mut self.strings,
            string_index: self.string_index.as_flattened_mut(),
        }
    }

    /// Loads `json` into these buffers (see [`load`](crate::load())).
    pub fn load(&mut self, json: &[u8]) -> Result<Inventory<'_>, LoadError> {
        crate::load(json, self)
    }

    /// Loads `json` and quarantines nodes whose scripts do not fit (see
    /// [`load_fitted`](crate::load_fitted)).
    pub fn load_fitted(&mut self, json: &[u8], fit: crate::ScriptFit<'_, '_>) -> Result<Inventory<'_>, LoadError> {
        crate::load_fitted(json, self, fit)
    }

    /// The inventory an earlier load put here, from its [`Extent`].
    pub fn inventory(&self, extent: Extent) -> Inventory<'_> {
        Inventory::view(&self.nodes, &self.ports, &self.strings, extent)
    }
}

impl<const NODES: usize, const PORTS: usize, const STRING_BYTES: usize> Default
    for InventoryBuffers<NODES, PORTS, STRING_BYTES>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<'s, const NODES: usize, const PORTS: usize, const STRING_BYTES: usize>
    From<&'s mut InventoryBuffers<NODES, PORTS, STRING_BYTES>> for InventoryStorage<'s>
{
    fn from(buffers: &'s mut InventoryBuffers<NODES, PORTS, STRING_BYTES>) -> Self {
        buffers.storage()
    }
}

#[cfg(feature = "alloc")]
pub use heap::HeapInventoryBuffers;

#[cfg(feature = "alloc")]
mod heap {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::InventoryCapacity;
    use crate::error::LoadError;
    use crate::inventory::{Extent, Inventory, InventoryStorage};
    use crate::record::{NodeRecord, PortRecord};

    /// Inventory buffers allocated once, for a capacity known only at start-up (a host's
    /// command-line flags, the length of an inventory file). Loading and rendering
    /// allocate nothing; only [`HeapInventoryBuffers::new`] and
    /// [`HeapInventoryBuffers::shrink_to`] touch the heap.
    ///
    /// ```
    /// use ipxe_config::{HeapInventoryBuffers, InventoryCapacity};
    ///
    /// let mut buffers = HeapInventoryBuffers::new(InventoryCapacity::for_fleet(4096, 16384)).unwrap();
    /// let extent = buffers.load(br#"{"nodes": [], "ports": []}"#).unwrap().extent();
    /// buffers.shrink_to(extent);
    /// assert_eq!(buffers.inventory(extent).node_count(), 0);
    /// ```
    #[derive(Debug, Clone)]
    pub struct HeapInventoryBuffers {
        nodes: Vec<NodeRecord>,
        ports: Vec<PortRecord>,
        strings: Vec<u8>,
        string_index: Vec<u32>,
    }

    impl HeapInventoryBuffers {
        /// Empty buffers of `capacity`; `None` if the string index size overflows.
        pub fn new(capacity: InventoryCapacity) -> Option<Self> {
            let slots = capacity.string_index_slots()?;
            Some(HeapInventoryBuffers {
                nodes: vec![NodeRecord::EMPTY; capacity.nodes],
                ports: vec![PortRecord::EMPTY; capacity.ports],
                strings: vec![0; capacity.string_bytes],
                string_index: vec![0; slots],
            })
        }

        /// What these buffers hold (zero string index slots once shrunk).
        pub fn capacity(&self) -> InventoryCapacity {
            InventoryCapacity::new(self.nodes.len(), self.ports.len(), self.strings.len())
        }

        /// The buffers as the slices [`load`](crate::load()) fills.
        pub fn storage(&mut self) -> InventoryStorage<'_> {
            InventoryStorage {
                nodes: &mut self.nodes,
                ports: &mut self.ports,
                strings: &mut self.strings,
                string_index: &mut self.string_index,
            }
        }

        /// Loads `json` into these buffers (see [`load`](crate::load())).
        pub fn load(&mut self, json: &[u8]) -> Result<Inventory<'_>, LoadError> {
            crate::load(json, self)
        }

        /// Loads `json` and quarantines nodes whose scripts do not fit (see
        /// [`load_fitted`](crate::load_fitted)).
        pub fn load_fitted(&mut self, json: &[u8], fit: crate::ScriptFit<'_, '_>) -> Result<Inventory<'_>, LoadError> {
            crate::load_fitted(json, self, fit)
        }

        /// The inventory an earlier load put here, from its [`Extent`].
        pub fn inventory(&self, extent: Extent) -> Inventory<'_> {
            Inventory::view(&self.nodes, &self.ports, &self.strings, extent)
        }

        /// Frees everything the inventory at `extent` does not use, the string index
        /// included (it only serves loading). The buffers cannot take another load after
        /// this; a reload loads into new ones.
        pub fn shrink_to(&mut self, extent: Extent) {
            self.nodes.truncate(extent.nodes);
            self.nodes.shrink_to_fit();
            self.ports.truncate(extent.ports);
            self.ports.shrink_to_fit();
            self.strings.truncate(extent.string_bytes);
            self.strings.shrink_to_fit();
            self.string_index = Vec::new();
        }
    }

    impl<'s> From<&'s mut HeapInventoryBuffers> for InventoryStorage<'s> {
        fn from(buffers: &'s mut HeapInventoryBuffers) -> Self {
            buffers.storage()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_sized_for_the_strings_that_fit() {
        assert_eq!(InventoryCapacity::new(1000, 0, 30).string_index_slots(), Some(20), "pool-bound");
        assert_eq!(InventoryCapacity::new(1, 0, 1 << 20).string_index_slots(), Some(30), "node-bound");
        assert_eq!(InventoryCapacity::new(0, 0, 0).string_index_slots(), Some(0));
        assert_eq!(InventoryCapacity::new(0, 0, 1 << 20).string_index_slots(), Some(30), "room for one node");
        assert_eq!(InventoryCapacity::new(usize::MAX, 0, usize::MAX).string_index_slots(), None);
        assert_eq!(InventoryCapacity::new(usize::MAX / 2, 0, 0).bytes(), None);
    }

    #[test]
    fn fixed_buffers_hold_at_least_the_capacity() {
        type Small = InventoryBuffers<1, 2, 4096>;
        type Large = InventoryBuffers<32, 64, 8192>;
        let (mut small, mut large) = (Small::new(), Large::new());
        for (storage, capacity) in [(small.storage(), Small::CAPACITY), (large.storage(), Large::CAPACITY)] {
            assert_eq!(storage.nodes.len(), capacity.nodes);
            assert_eq!(storage.ports.len(), capacity.ports);
            assert_eq!(storage.strings.len(), capacity.string_bytes);
            assert!(storage.string_index.len() >= capacity.string_index_slots().unwrap());
        }
    }

    /// The loader interns a node's strings before it finds no slot for the node: the
    /// index's slack holds them, so the error names the node limit.
    #[test]
    fn one_node_too_many_is_reported_as_the_node_limit() {
        // Two nodes with every string field set, all values distinct.
        let json = br#"{"nodes": [
          {"uuid": "00000000-0000-4000-8000-000000000001", "driver": "d1", "provision_state": "s1",
           "driver_info": {"deploy_kernel": "k1", "deploy_ramdisk": "r1", "rescue_kernel": "rk1",
             "rescue_ramdisk": "rr1", "kernel_append_params": "a1"},
           "instance_info": {"kernel": "ik1", "ramdisk": "ir1", "kernel_append_params": "ia1"},
           "driver_internal_info": {"root_uuid_or_disk_id": "u1"}},
          {"uuid": "00000000-0000-4000-8000-000000000002", "driver": "d2", "provision_state": "s2",
           "driver_info": {"deploy_kernel": "k2", "deploy_ramdisk": "r2", "rescue_kernel": "rk2",
             "rescue_ramdisk": "rr2", "kernel_append_params": "a2"},
           "instance_info": {"kernel": "ik2", "ramdisk": "ir2", "kernel_append_params": "ia2"},
           "driver_internal_info": {"root_uuid_or_disk_id": "u2"}}],
          "ports": []}"#;
        let mut buffers = InventoryBuffers::<1, 1, 4096>::new();
        let error = buffers.load(json).unwrap_err();
        assert_eq!(error.problem, crate::Problem::Capacity(crate::Limit::Nodes(1)));
    }
}
