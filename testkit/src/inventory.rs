//! The workspace's fixtures: paths into `fixtures/` and the shared inventory, loaded once
//! per process into core's heap inventory buffers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ipxe_config::{Extent, HeapInventoryBuffers, Inventory, InventoryCapacity};

/// `fixtures/inventory.json`: the fleet every test, bench and fuzz target serves.
pub const INVENTORY_JSON: &[u8] = include_bytes!("../../fixtures/inventory.json");

/// Room for the shared inventory (it has fewer than 64 nodes and ports).
pub const SHARED_CAPACITY: InventoryCapacity = InventoryCapacity::new(64, 64, 64 * 1024);

/// A file of the workspace's shared `fixtures/`.
pub fn shared_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name)
}

/// [`INVENTORY_JSON`], loaded on first use. The buffers live in a static, so they stay
/// reachable for the whole run (a leak checker sees no leak) and are loaded once however
/// many appliances a process builds.
pub fn shared_inventory() -> Inventory<'static> {
    static LOADED: OnceLock<(HeapInventoryBuffers, Extent)> = OnceLock::new();
    let (buffers, extent) = LOADED.get_or_init(|| {
        let mut buffers = HeapInventoryBuffers::new(SHARED_CAPACITY).expect("the shared capacity fits memory");
        let extent = match buffers.load(INVENTORY_JSON) {
            Ok(inventory) => inventory.extent(),
            Err(error) => panic!("fixtures/inventory.json does not load: {error}"),
        };
        (buffers, extent)
    });
    buffers.inventory(*extent)
}
