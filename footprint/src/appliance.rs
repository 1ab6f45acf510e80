//! The server part of the probe: an `Appliance` with every buffer in one static of
//! [`ApplianceBuffers`] sized as [`ApplianceCapacity::DEFAULT`], with DHCP and router
//! advertisements on and a file table in flash, polled once over a device that never
//! receives.
//!
//! The device is a stub *for a size probe*: it never has a frame, but `black_box` hides
//! that from the optimiser, so the receive path (Ethernet, IPv4/IPv6, TCP, UDP, ICMPv6,
//! HTTP, DHCP, rendering) is linked exactly as a real driver would have it linked.

use core::hint::black_box;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use ipxe_config::{Inventory, InventoryBuffers, InventoryCapacity, InventoryStorage};
use ipxe_config_server::{
    Appliance, ApplianceBuffers, ApplianceCapacity, ApplianceSettings, ApplianceStorage, DhcpSettings, OpenFiles,
};
use ipxe_config_testkit::files::StaticFiles;
use ipxe_config_testkit::net::{CONFIG, POOL_FIRST, SERVER_CIDR, SERVER_MAC};
use ipxe_config_testkit::phy::{Inbox, Outbox, Port, FRAME};
use smoltcp::time::Instant;
use smoltcp::wire::Ipv4Address;

/// The appliance configuration measured.
pub const SIZES: ApplianceCapacity = ApplianceCapacity::DEFAULT;

/// The probe's appliance buffers: sockets, connections, responses, leases, packet
/// buffers and open-file slots in one value.
pub type ProbeBuffers = ApplianceBuffers<
    'static,
    StaticFiles,
    { SIZES.connections },
    { SIZES.tcp_rx_bytes },
    { SIZES.tcp_tx_bytes },
    { SIZES.response_bytes },
    { SIZES.dhcp_leases },
>;

/// Inventory capacity of the probe (the fixture has fewer than 32 nodes).
pub const FLEET: InventoryCapacity = InventoryCapacity::new(32, 32, 4096);

/// The probe's inventory buffers: records, string pool and index in one value.
pub type ProbeInventory = InventoryBuffers<{ FLEET.nodes }, { FLEET.ports }, { FLEET.string_bytes }>;
/// The rendered-script buffer of the render-only probe.
pub const SCRIPT_BYTES: usize = 2048;

/// Every buffer of the probe, as a firmware image would declare it: one static for the
/// appliance, one for the inventory (both all zeros, so in `.bss`), and the script
/// buffer of the render-only part.
pub struct Memory {
    appliance: &'static mut ProbeBuffers,
    inventory: &'static mut ProbeInventory,
    script: &'static mut [u8; SCRIPT_BYTES],
}

/// Bytes of inventory storage in the probe (printed by the host build).
#[cfg(not(target_os = "none"))]
pub const INVENTORY_BYTES: usize = size_of::<ProbeInventory>();

/// Bytes of every static buffer of the probe together (printed by the host build).
#[cfg(not(target_os = "none"))]
pub const MEMORY_BYTES: usize = size_of::<ProbeBuffers>() + size_of::<ProbeInventory>() + SCRIPT_BYTES;

static mut APPLIANCE: ProbeBuffers = ProbeBuffers::new();
static mut INVENTORY: ProbeInventory = ProbeInventory::new();
static mut SCRIPT: [u8; SCRIPT_BYTES] = [0; SCRIPT_BYTES];

static MEMORY_TAKEN: AtomicBool = AtomicBool::new(false);

/// The probe's memory; `None` after the first call.
pub fn take_memory() -> Option<Memory> {
    if MEMORY_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above hands the statics out once, so these are their only references.
    #[allow(unsafe_code)]
    let (appliance, inventory, script) =
        unsafe { (&mut *addr_of_mut!(APPLIANCE), &mut *addr_of_mut!(INVENTORY), &mut *addr_of_mut!(SCRIPT)) };
    Some(Memory { appliance, inventory, script })
}

/// The appliance type the probe builds.
pub type ProbeAppliance = Appliance<'static, StaticFiles>;

/// What firmware might carry: the chain script for operators with their own DHCP server.
static FLASH_FILES: &[(&str, &[u8])] = &[("boot.ipxe", include_bytes!("../../ipxe-scripts/boot.ipxe"))];

/// The receiving side of a device that never has a frame (see the module docs).
pub struct SilentInbox {
    rx: [u8; FRAME],
    /// Length of a received frame: always 0, but the optimiser may not know it.
    rx_len: usize,
}

impl SilentInbox {
    /// Nothing to receive.
    pub const fn new() -> Self {
        SilentInbox { rx: [0; FRAME], rx_len: 0 }
    }
}

impl Inbox for SilentInbox {
    fn ready(&mut self, _now: Instant) -> bool {
        black_box(self.rx_len) != 0
    }

    fn take<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(&self.rx[..black_box(self.rx_len).min(FRAME)])
    }
}

/// The sending side: room for a frame, which goes nowhere.
pub struct DiscardOutbox {
    tx: [u8; FRAME],
}

impl DiscardOutbox {
    /// Room for one frame.
    pub const fn new() -> Self {
        DiscardOutbox { tx: [0; FRAME] }
    }
}

impl Outbox for DiscardOutbox {
    fn put<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let result = f(&mut self.tx[..len.min(FRAME)]);
        black_box(&self.tx);
        result
    }
}

/// Splits `memory` into the appliance's storage and file table, the inventory storage
/// and the script buffer.
pub fn split(
    memory: Memory,
) -> (ApplianceStorage<'static>, OpenFiles<'static, StaticFiles>, InventoryStorage<'static>, &'static mut [u8]) {
    let (storage, files) = memory.appliance.split(StaticFiles::new(black_box(FLASH_FILES)));
    (storage, files, memory.inventory.storage(), memory.script)
}

/// The settings of a firmware appliance: DHCP and router advertisements on.
fn settings() -> ApplianceSettings {
    let mut settings = ApplianceSettings::new(SERVER_MAC, SERVER_CIDR);
    // One pool address per slot of the lease table: .100 to .163 for the default 64.
    let last = Ipv4Address::from(u32::from(POOL_FIRST) + SIZES.dhcp_leases as u32 - 1);
    settings.dhcp = Some(DhcpSettings::new(POOL_FIRST, last));
    settings
}

/// Sets the appliance up in `storage` and polls it once; whether the poll did anything
/// (`None` if set-up failed).
pub fn poll_once(
    storage: ApplianceStorage<'static>,
    files: OpenFiles<'static, StaticFiles>,
    inventory: &Inventory<'_>,
    now: Instant,
) -> Option<bool> {
    let (mut inbox, mut outbox) = (SilentInbox::new(), DiscardOutbox::new());
    let mut device = Port::new(&mut inbox, &mut outbox);
    let mut appliance: ProbeAppliance = Appliance::new(settings(), storage, files, &mut device, now).ok()?;
    let activity = appliance.poll(black_box(now), &mut device, inventory, &CONFIG);
    black_box(appliance.poll_at(now));
    Some(activity)
}
