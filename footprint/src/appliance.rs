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

use ipxe_config::{Config, Inventory, InventoryBuffers, InventoryCapacity, InventoryStorage};
use ipxe_config_server::{
    Appliance, ApplianceBuffers, ApplianceCapacity, ApplianceStorage, DhcpSettings, FileError, FilePath, FileSource,
    OpenFiles, Settings, SliceFile,
};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// The appliance configuration measured.
pub const SIZES: ApplianceCapacity = ApplianceCapacity::DEFAULT;

/// The probe's appliance buffers: sockets, connections, responses, leases, packet
/// buffers and open-file slots in one value.
pub type ProbeBuffers = ApplianceBuffers<
    'static,
    FlashFiles,
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

const FRAME: usize = 1514;

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
pub type ProbeAppliance = Appliance<'static, FlashFiles>;

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

/// Splits `memory` into the appliance's storage and file table, the inventory storage
/// and the script buffer.
pub fn split(
    memory: Memory,
) -> (ApplianceStorage<'static>, OpenFiles<'static, FlashFiles>, InventoryStorage<'static>, &'static mut [u8]) {
    let (storage, files) = memory.appliance.split(FlashFiles { files: black_box(FLASH_FILES) });
    (storage, files, memory.inventory.storage(), memory.script)
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
    files: OpenFiles<'static, FlashFiles>,
    inventory: &Inventory<'_>,
    now: Instant,
) -> Option<bool> {
    let mut device = SilentDevice::new();
    let mut appliance: ProbeAppliance = Appliance::new(settings(), storage, files, &mut device, now).ok()?;
    let config = Config { base_url: Some("http://10.99.0.1"), ..Config::DEFAULT };
    let activity = appliance.poll(black_box(now), &mut device, inventory, &config);
    black_box(appliance.poll_at(now));
    Some(activity)
}
