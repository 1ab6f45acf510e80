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

use ipxe_config::{Config, Inventory, InventoryBuffers, InventoryCapacity, InventoryStorage};
use ipxe_config_server::{
    Appliance, ApplianceStorage, ConnectionSlot, DhcpSettings, FileError, FilePath, FileSource, Lease, OpenFiles,
    RawStorage, Settings, SliceFile, StorageSizes, UdpStorage,
};
use smoltcp::iface::SocketStorage;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{raw, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// The appliance configuration measured.
pub const SIZES: StorageSizes = StorageSizes::DEFAULT;

/// Inventory capacity of the probe (the fixture has fewer than 32 nodes).
pub const FLEET: InventoryCapacity = InventoryCapacity::new(32, 32, 4096);

/// The probe's inventory buffers: records, string pool and index in one value.
pub type ProbeInventory = InventoryBuffers<{ FLEET.nodes }, { FLEET.ports }, { FLEET.string_bytes }>;
/// The rendered-script buffer of the render-only probe.
pub const SCRIPT_BYTES: usize = 2048;

const FRAME: usize = 1514;

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
pub type ProbeAppliance = Appliance<'static, FlashFiles>;

/// The open-file table's slots.
pub type OpenFileSlots = &'static mut [Option<SliceFile<'static>>; SIZES.connections];

/// Files linked into the image, served by path.
pub struct FlashFiles {
    files: &'static [(&'static str, &'static [u8])],
}

/// What firmware might carry: the chain script for operators with their own DHCP server.
static FLASH_FILES: &[(&str, &[u8])] = &[("boot.ipxe", include_bytes!("../../ipxe-scripts/boot.ipxe"))];

impl FileSource for FlashFiles {
    type File = SliceFile<'static>;

    fn open(&mut self, path: &FilePath<'_>) -> Result<SliceFile<'static>, FileError> {
        let (_, contents) = self.files.iter().find(|(name, _)| *name == path.as_str()).ok_or(FileError::NotFound)?;
        Ok(SliceFile::new(contents))
    }
}

/// A network device that never has a frame (see the module docs) and drops what is sent.
pub struct SilentDevice {
    rx: [u8; FRAME],
    tx: [u8; FRAME],
    /// Length of a received frame: always 0, but the optimiser may not know it.
    rx_len: usize,
}

impl SilentDevice {
    /// A device with nothing to receive.
    pub const fn new() -> Self {
        SilentDevice { rx: [0; FRAME], tx: [0; FRAME], rx_len: 0 }
    }
}

impl Device for SilentDevice {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let len = black_box(self.rx_len);
        if len == 0 {
            return None;
        }
        Some((RxToken { frame: self.rx.get(..len)? }, TxToken { frame: &mut self.tx }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { frame: &mut self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = FRAME;
        capabilities
    }
}

/// A received frame.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for a frame to send; the frame goes nowhere.
pub struct TxToken<'a> {
    frame: &'a mut [u8; FRAME],
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let result = f(&mut self.frame[..len.min(FRAME)]);
        black_box(&self.frame);
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
    let mut settings = Settings::new(
        EthernetAddress([0x02, 0x69, 0x70, 0x78, 0x65, 0x01]),
        Ipv4Cidr::new(Ipv4Address::new(10, 99, 0, 1), 24),
    );
    settings.dhcp = Some(DhcpSettings::new(Ipv4Address::new(10, 99, 0, 100), Ipv4Address::new(10, 99, 0, 163)));
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
    let mut device = SilentDevice::new();
    let files = OpenFiles::new(FlashFiles { files: black_box(FLASH_FILES) }, open_files);
    let mut appliance: ProbeAppliance = Appliance::new(settings(), storage, files, &mut device, now).ok()?;
    let config = Config { base_url: Some("http://10.99.0.1"), ..Config::DEFAULT };
    let activity = appliance.poll(black_box(now), &mut device, inventory, &config);
    black_box(appliance.poll_at(now));
    Some(activity)
}
