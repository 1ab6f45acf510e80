//! A loaded inventory: sorted records plus their string pool, and lookups into it.

use uuid::Uuid;

use crate::mac::PortAddress;
use crate::pool::{Pool, StrRef};
use crate::quarantine::Quarantine;
use crate::record::{NodeRecord, PortRecord};
use crate::state::{BootMode, ImageType, ProvisionState};

/// The slices an inventory is loaded into, borrowed. Nothing is allocated: usually they
/// are lent by owned [`InventoryBuffers`](crate::InventoryBuffers) (a firmware `static`)
/// or [`HeapInventoryBuffers`](crate::buffers) (a host, sized at start-up); the C ABI
/// carves them from one block of the caller's. Size the string index with
/// [`InventoryCapacity::string_index_slots`](crate::InventoryCapacity::string_index_slots).
pub struct InventoryStorage<'s> {
    /// One slot per node; the length is the node capacity.
    pub nodes: &'s mut [NodeRecord],
    /// One slot per PXE-enabled port; the length is the port capacity.
    pub ports: &'s mut [PortRecord],
    /// Bytes for the deduplicated string pool.
    pub strings: &'s mut [u8],
    /// Deduplication table; give it about twice as many slots as distinct strings.
    pub string_index: &'s mut [u32],
}

/// A loaded, validated inventory: nodes sorted by UUID, ports sorted by MAC.
#[derive(Debug, Clone, Copy)]
pub struct Inventory<'s> {
    pub(crate) nodes: &'s [NodeRecord],
    pub(crate) ports: &'s [PortRecord],
    pub(crate) pool: Pool<'s>,
}

impl Inventory<'static> {
    /// An inventory with no nodes.
    pub const EMPTY: Inventory<'static> = Inventory { nodes: &[], ports: &[], pool: Pool::EMPTY };
}

/// Where a loaded inventory lies in its storage, so an owner of the storage can view it
/// again later ([`Inventory::view`]) without keeping a borrow alive, e.g. across an FFI
/// boundary or while a second storage is being loaded for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extent {
    /// Node slots in use, from the start.
    pub nodes: usize,
    /// Port slots in use, from the start.
    pub ports: usize,
    /// String pool bytes in use, from the start.
    pub string_bytes: usize,
}

impl<'s> Inventory<'s> {
    /// Where this inventory lies in the storage it was loaded into.
    pub fn extent(&self) -> Extent {
        Extent { nodes: self.nodes.len(), ports: self.ports.len(), string_bytes: self.pool.used() }
    }

    /// Views an inventory that [`load`](crate::load()) put into these slices earlier.
    ///
    /// Given other slices, lookups may miss, but nothing panics: every access is checked.
    pub fn view(nodes: &'s [NodeRecord], ports: &'s [PortRecord], strings: &'s [u8], extent: Extent) -> Self {
        Inventory {
            nodes: nodes.get(..extent.nodes).unwrap_or_default(),
            ports: ports.get(..extent.ports).unwrap_or_default(),
            pool: Pool::new(strings.get(..extent.string_bytes).unwrap_or_default()),
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of PXE-enabled ports.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// Bytes used by the string pool.
    pub fn string_bytes(&self) -> usize {
        self.pool.used()
    }

    /// The node with this UUID (binary search).
    pub fn node_by_uuid(&self, uuid: &Uuid) -> Option<Node<'s>> {
        let key = uuid.as_bytes();
        let index = self.nodes.binary_search_by(|node| node.uuid.cmp(key)).ok()?;
        self.nodes.get(index).map(|record| Node { record, pool: self.pool })
    }

    /// The node owning this PXE-enabled port (one binary search).
    pub fn node_by_address(&self, address: &PortAddress) -> Option<Node<'s>> {
        let index = self.ports.binary_search_by(|port| port.address.cmp(address)).ok()?;
        let port = self.ports.get(index)?;
        let record = self.nodes.get(usize::try_from(port.node_index).ok()?)?;
        // A view over other slices could disagree; never return the wrong node.
        (record.uuid == port.node).then_some(Node { record, pool: self.pool })
    }

    /// All nodes, in UUID order.
    pub fn nodes(&self) -> impl Iterator<Item = Node<'s>> + '_ {
        let pool = self.pool;
        self.nodes.iter().map(move |record| Node { record, pool })
    }

    /// The quarantined nodes, in UUID order: each one's UUID and why it is quarantined.
    /// Their requests get an error script naming the field; the rest of the fleet boots.
    pub fn quarantined(&self) -> impl Iterator<Item = (Uuid, Quarantine)> + '_ {
        self.nodes.iter().filter_map(|record| Some((record.uuid(), record.quarantine.get()?)))
    }

    /// Number of quarantined nodes.
    pub fn quarantined_count(&self) -> usize {
        self.nodes.iter().filter(|record| record.quarantine.is_some()).count()
    }

    /// All PXE-enabled ports, in MAC order.
    pub fn ports(&self) -> &'s [PortRecord] {
        self.ports
    }
}

/// A node with access to its strings.
#[derive(Debug, Clone, Copy)]
pub struct Node<'s> {
    pub(crate) record: &'s NodeRecord,
    pub(crate) pool: Pool<'s>,
}

impl<'s> Node<'s> {
    fn text(&self, reference: StrRef) -> Option<&'s str> {
        self.pool.get(reference)
    }

    /// The node's UUID.
    pub fn uuid(&self) -> Uuid {
        self.record.uuid()
    }
    /// Why the node is quarantined, if it is; it then has no other values.
    pub fn quarantine(&self) -> Option<Quarantine> {
        self.record.quarantine.get()
    }
    /// `driver`.
    pub fn driver(&self) -> &'s str {
        self.text(self.record.driver).unwrap_or("")
    }
    /// `provision_state`, as Ironic spells it.
    pub fn provision_state_text(&self) -> &'s str {
        self.text(self.record.provision_state).unwrap_or("")
    }
    /// `provision_state`, classified.
    pub fn provision_state(&self) -> ProvisionState {
        ProvisionState::from_ironic(self.provision_state_text())
    }
    /// The boot mode Ironic 39 resolves for the node (`boot_mode_utils.get_boot_mode`,
    /// `sync_boot_mode`), first found of: `instance_info.capabilities` `secure_boot:
    /// true` (UEFI), `instance_info.capabilities` `boot_mode` (an object or one as a
    /// JSON string), `instance_info.deploy_boot_mode`, `properties.capabilities`
    /// `boot_mode` (`"k:v,k:v"`; an object is read too, where Ironic fails),
    /// `driver_internal_info.deploy_boot_mode`, the `boot_mode` field. Unset when none
    /// says: the configured default applies.
    pub fn boot_mode(&self) -> BootMode {
        self.record.boot_mode
    }
    /// `instance_info.image_type`, or whole-disk from `driver_internal_info.is_whole_disk_image`.
    pub fn image_type(&self) -> ImageType {
        self.record.image_type
    }
    /// `deploy_interface` is `ramdisk`.
    pub fn ramdisk_deploy(&self) -> bool {
        self.record.ramdisk_deploy
    }
    /// `driver_info.deploy_kernel`.
    pub fn deploy_kernel(&self) -> Option<&'s str> {
        self.text(self.record.deploy_kernel)
    }
    /// `driver_info.deploy_ramdisk`.
    pub fn deploy_ramdisk(&self) -> Option<&'s str> {
        self.text(self.record.deploy_ramdisk)
    }
    /// `driver_info.rescue_kernel`.
    pub fn rescue_kernel(&self) -> Option<&'s str> {
        self.text(self.record.rescue_kernel)
    }
    /// `driver_info.rescue_ramdisk`.
    pub fn rescue_ramdisk(&self) -> Option<&'s str> {
        self.text(self.record.rescue_ramdisk)
    }
    /// `driver_info.kernel_append_params`; `Some("")` when given as `""`, which Ironic
    /// takes as "no parameters" (only `null`/absent falls through to the default).
    pub fn deploy_append(&self) -> Option<&'s str> {
        self.text(self.record.deploy_append)
    }
    /// `instance_info.kernel`.
    pub fn instance_kernel(&self) -> Option<&'s str> {
        self.text(self.record.instance_kernel)
    }
    /// `instance_info.ramdisk`.
    pub fn instance_ramdisk(&self) -> Option<&'s str> {
        self.text(self.record.instance_ramdisk)
    }
    /// `instance_info.kernel_append_params`; as [`Node::deploy_append`], `""` is kept.
    pub fn instance_append(&self) -> Option<&'s str> {
        self.text(self.record.instance_append)
    }
    /// `boot_interface`; absent or `null` is served as iPXE.
    pub fn boot_interface(&self) -> Option<&'s str> {
        self.text(self.record.boot_interface)
    }
    /// `properties.cpu_arch`, which picks the `*_by_arch` default images.
    pub fn cpu_arch(&self) -> Option<&'s str> {
        self.text(self.record.cpu_arch)
    }
    /// `instance_info.boot_iso`: a ramdisk deploy boots it with `sanboot`.
    pub fn boot_iso(&self) -> Option<&'s str> {
        self.text(self.record.boot_iso)
    }
    /// `instance_info.ramdisk_kernel_arguments`, after the parameters on a ramdisk
    /// deploy's kernel line.
    pub fn ramdisk_kernel_arguments(&self) -> Option<&'s str> {
        self.text(self.record.ramdisk_args)
    }
}
