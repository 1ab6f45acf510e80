//! The server part of the probe: an `Appliance` with every buffer in one static, sized
//! as [`StorageSizes::DEFAULT`], with DHCP and router advertisements on and a file table
//! in flash, polled once over a device that never receives.
//!
//! The device is a stub *for a size probe*: it never has a frame, but `black_box` hides
//! that from the optimiser, so the receive path (Ethernet, IPv4/IPv6, TCP, UDP, ICMPv6,
//! HTTP, DHCP, rendering) is linked exactly as a real driver would have it linked.

use core::hint::black_box;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use ipxe_config::{Inventory, InventoryBuffers, InventoryCapacity, InventoryStorage};
use ipxe_config_server::{
    Appliance, ApplianceStorage, ConnectionSlot, DhcpSettings, Lease, OpenFiles, RawStorage, Settings, SliceFile,
    StorageSizes, UdpStorage,
};
use ipxe_config_testkit::files::StaticFiles;
use ipxe_config_testkit::net::{CONFIG, POOL_FIRST, SERVER_CIDR, SERVER_MAC};
use ipxe_config_testkit::phy::{Inbox, Outbox, Port, FRAME};
use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};
use smoltcp::time::Instant;
use smoltcp::wire::Ipv4Address;

/// The appliance configuration measured.
pub const SIZES: StorageSizes = StorageSizes::DEFAULT;

/// Inventory capacity of the probe (the fixture has fewer than 32 nodes).
pub const FLEET: InventoryCapacity = InventoryCapacity::new(32, 32, 4096);

/// The probe's inventory buffers: records, string pool and index in one value.
pub type ProbeInventory = InventoryBuffers<{ FLEET.nodes }, { FLEET.ports }, { FLEET.string_bytes }>;
/// The rendered-script buffer of the render-only probe.
pub const SCRIPT_BYTES: usize = 2048;

/// Every buffer of the probe, as a firmware image would lay it out: the byte buffers and
/// the inventory buffers (empty records are zero bytes too), all zeros, in `.bss`; the
/// tables of typed slots, whose empty values are not all zero bytes, in `.data`.
pub struct Memory {
    buffers: &'static mut Buffers,
    tables: &'static mut Tables,
}

struct Buffers {
    tcp_rx: [u8; SIZES.connections * SIZES.tcp_rx_bytes],
    tcp_tx: [u8; SIZES.connections * SIZES.tcp_tx_bytes],
    responses: [u8; SIZES.connections * SIZES.response_bytes],
    request_scratch: [u8; SIZES.request_scratch_bytes],
    dhcp_rx: [u8; SIZES.packet_bytes],
    dhcp_tx: [u8; SIZES.packet_bytes],
    icmpv6_rx: [u8; SIZES.packet_bytes],
    icmpv6_tx: [u8; SIZES.packet_bytes],
    inventory: ProbeInventory,
    script: [u8; SCRIPT_BYTES],
}

struct Tables {
    sockets: [SocketStorage<'static>; SIZES.sockets()],
    connections: [ConnectionSlot; SIZES.connections],
    /// One open file per connection; a flash file is a slice, so a slot is small.
    open_files: [Option<SliceFile<'static>>; SIZES.connections],
    leases: [Lease; SIZES.dhcp_leases],
    dhcp_rx_meta: [udp::PacketMetadata; SIZES.packet_slots],
    dhcp_tx_meta: [udp::PacketMetadata; SIZES.packet_slots],
    icmpv6_rx_meta: [raw::PacketMetadata; SIZES.packet_slots],
    icmpv6_tx_meta: [raw::PacketMetadata; SIZES.packet_slots],
}

/// Bytes of inventory storage in the probe (printed by the host build).
#[cfg(not(target_os = "none"))]
pub const INVENTORY_BYTES: usize = size_of::<ProbeInventory>();

/// Bytes of every static buffer of the probe together (printed by the host build).
#[cfg(not(target_os = "none"))]
pub const MEMORY_BYTES: usize = size_of::<Buffers>() + size_of::<Tables>();

static mut BUFFERS: Buffers = Buffers {
    tcp_rx: [0; SIZES.connections * SIZES.tcp_rx_bytes],
    tcp_tx: [0; SIZES.connections * SIZES.tcp_tx_bytes],
    responses: [0; SIZES.connections * SIZES.response_bytes],
    request_scratch: [0; SIZES.request_scratch_bytes],
    dhcp_rx: [0; SIZES.packet_bytes],
    dhcp_tx: [0; SIZES.packet_bytes],
    icmpv6_rx: [0; SIZES.packet_bytes],
    icmpv6_tx: [0; SIZES.packet_bytes],
    inventory: ProbeInventory::new(),
    script: [0; SCRIPT_BYTES],
};

static mut TABLES: Tables = Tables {
    sockets: [SocketStorage::EMPTY; SIZES.sockets()],
    connections: [ConnectionSlot::EMPTY; SIZES.connections],
    open_files: [None; SIZES.connections],
    leases: [Lease::FREE; SIZES.dhcp_leases],
    dhcp_rx_meta: [udp::PacketMetadata::EMPTY; SIZES.packet_slots],
    dhcp_tx_meta: [udp::PacketMetadata::EMPTY; SIZES.packet_slots],
    icmpv6_rx_meta: [raw::PacketMetadata::EMPTY; SIZES.packet_slots],
    icmpv6_tx_meta: [raw::PacketMetadata::EMPTY; SIZES.packet_slots],
};

static MEMORY_TAKEN: AtomicBool = AtomicBool::new(false);

/// The probe's memory; `None` after the first call.
pub fn take_memory() -> Option<Memory> {
    if MEMORY_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above hands the statics out once, so these are their only references.
    #[allow(unsafe_code)]
    let (buffers, tables) = unsafe { (&mut *addr_of_mut!(BUFFERS), &mut *addr_of_mut!(TABLES)) };
    Some(Memory { buffers, tables })
}

/// The appliance type the probe builds.
pub type ProbeAppliance = Appliance<'static, StaticFiles>;

/// The open-file table's slots.
pub type OpenFileSlots = &'static mut [Option<SliceFile<'static>>; SIZES.connections];

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

/// Splits `memory` into the appliance's storage, the inventory storage and the script buffer.
pub fn split(
    memory: Memory,
) -> (ApplianceStorage<'static>, OpenFileSlots, InventoryStorage<'static>, &'static mut [u8]) {
    let Buffers {
        tcp_rx,
        tcp_tx,
        responses,
        request_scratch,
        dhcp_rx,
        dhcp_tx,
        icmpv6_rx,
        icmpv6_tx,
        inventory,
        script,
    } = memory.buffers;
    let Tables { sockets, connections, open_files, leases, dhcp_rx_meta, dhcp_tx_meta, icmpv6_rx_meta, icmpv6_tx_meta } =
        memory.tables;
    let storage = ApplianceStorage {
        sockets,
        connections,
        tcp_rx,
        tcp_tx,
        responses,
        request_scratch,
        leases,
        dhcp: UdpStorage { rx_meta: dhcp_rx_meta, rx_payload: dhcp_rx, tx_meta: dhcp_tx_meta, tx_payload: dhcp_tx },
        icmpv6: RawStorage {
            rx_meta: icmpv6_rx_meta,
            rx_payload: icmpv6_rx,
            tx_meta: icmpv6_tx_meta,
            tx_payload: icmpv6_tx,
        },
    };
    (storage, open_files, inventory.storage(), script)
}

/// The settings of a firmware appliance: DHCP and router advertisements on.
fn settings() -> Settings {
    let mut settings = Settings::new(SERVER_MAC, SERVER_CIDR);
    // One pool address per slot of the lease table: .100 to .163 for the default 64.
    let last = Ipv4Address::from(u32::from(POOL_FIRST) + SIZES.dhcp_leases as u32 - 1);
    settings.dhcp = Some(DhcpSettings::new(POOL_FIRST, last));
    settings
}

/// Sets the appliance up in `storage` and polls it once; whether the poll did anything
/// (`None` if set-up failed).
pub fn poll_once(
    storage: ApplianceStorage<'static>,
    open_files: OpenFileSlots,
    inventory: &Inventory<'_>,
    now: Instant,
) -> Option<bool> {
    let (mut inbox, mut outbox) = (SilentInbox::new(), DiscardOutbox::new());
    let mut device = Port::new(&mut inbox, &mut outbox);
    let files = OpenFiles::new(StaticFiles::new(black_box(FLASH_FILES)), open_files);
    let mut appliance: ProbeAppliance = Appliance::new(settings(), storage, files, &mut device, now).ok()?;
    let activity = appliance.poll(black_box(now), &mut device, inventory, &CONFIG);
    black_box(appliance.poll_at(now));
    Some(activity)
}
