//! Compact node and port records; strings live in the shared [`Pool`](crate::pool::Pool).

use uuid::Uuid;

use crate::mac::PortAddress;
use crate::pool::StrRef;
use crate::quarantine::Quarantine;
use crate::quarantine_code::QuarantineCode;
use crate::state::{BootMode, ImageType};

/// One node, as stored: 16 bytes of UUID, 4-byte string references and one-byte enums.
/// The budget is 84 bytes a node, excluding its strings (a test asserts it): the UUID,
/// fifteen string references, the quarantine cause and the enums; the boot mode's
/// sources are resolved at load into the one `boot_mode` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRecord {
    pub(crate) uuid: [u8; 16],
    pub(crate) driver: StrRef,
    pub(crate) provision_state: StrRef,
    pub(crate) deploy_kernel: StrRef,
    pub(crate) deploy_ramdisk: StrRef,
    pub(crate) rescue_kernel: StrRef,
    pub(crate) rescue_ramdisk: StrRef,
    pub(crate) deploy_append: StrRef,
    pub(crate) instance_kernel: StrRef,
    pub(crate) instance_ramdisk: StrRef,
    pub(crate) instance_append: StrRef,
    pub(crate) boot_interface: StrRef,
    pub(crate) cpu_arch: StrRef,
    pub(crate) boot_iso: StrRef,
    pub(crate) ramdisk_args: StrRef,
    /// Resolved at load from every source Ironic reads, in its order.
    pub(crate) boot_mode: BootMode,
    pub(crate) image_type: ImageType,
    /// `deploy_interface: ramdisk`: the active instance is itself a ramdisk.
    pub(crate) ramdisk_deploy: bool,
    /// Set for a quarantined node, whose other values are then all empty.
    pub(crate) quarantine: QuarantineCode,
}

impl NodeRecord {
    /// An unused slot; storage is filled with it before loading.
    pub const EMPTY: NodeRecord = NodeRecord {
        uuid: [0; 16],
        driver: StrRef::NONE,
        provision_state: StrRef::NONE,
        deploy_kernel: StrRef::NONE,
        deploy_ramdisk: StrRef::NONE,
        rescue_kernel: StrRef::NONE,
        rescue_ramdisk: StrRef::NONE,
        deploy_append: StrRef::NONE,
        instance_kernel: StrRef::NONE,
        instance_ramdisk: StrRef::NONE,
        instance_append: StrRef::NONE,
        boot_interface: StrRef::NONE,
        cpu_arch: StrRef::NONE,
        boot_iso: StrRef::NONE,
        ramdisk_args: StrRef::NONE,
        boot_mode: BootMode::Unset,
        image_type: ImageType::Unset,
        ramdisk_deploy: false,
        quarantine: QuarantineCode::NONE,
    };

    /// A quarantined node: its UUID and the cause, nothing else, so no value of it can
    /// reach a script.
    pub(crate) fn quarantined(uuid: [u8; 16], cause: Quarantine) -> Self {
        NodeRecord { uuid, quarantine: QuarantineCode::of(cause), ..Self::EMPTY }
    }

    /// The node's UUID.
    pub fn uuid(&self) -> Uuid {
        Uuid::from_bytes(self.uuid)
    }
}

impl Default for NodeRecord {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// One PXE-enabled port: its MAC, the UUID of the node it belongs to, and that node's
/// position in the sorted node table (set at the end of loading), so a lookup by MAC is a
/// single binary search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortRecord {
    pub(crate) address: PortAddress,
    pub(crate) node: [u8; 16],
    pub(crate) node_index: u32,
}

impl PortRecord {
    /// An unused slot.
    pub const EMPTY: PortRecord = PortRecord { address: PortAddress([0; 6]), node: [0; 16], node_index: 0 };

    /// The port's MAC address.
    pub fn address(&self) -> PortAddress {
        self.address
    }

    /// The UUID of the port's node.
    pub fn node_uuid(&self) -> Uuid {
        Uuid::from_bytes(self.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stay_within_budget() {
        assert_eq!(core::mem::size_of::<NodeRecord>(), 80);
        assert_eq!(core::mem::size_of::<PortRecord>(), 28);
    }
}
