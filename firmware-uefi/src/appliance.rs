//! The appliance's memory, one `static` per part, handed out once; and the sizes that fix
//! it at compile time.

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use ipxe_config::{InventoryBuffers, InventoryCapacity, InventoryStorage, NodeRecord, PortRecord};
use ipxe_config_server::dhcp::bootfile::{ArchBootFile, DEFAULT_BOOT_FILES};
use ipxe_config_server::http::response::HEAD_RESERVE;
use ipxe_config_server::ApplianceBuffers;

use crate::esp::EspFiles;
use crate::snp::NicBuffers;

/// Concurrent HTTP connections: a rack's worth of nodes fetching artifacts at once.
pub const CONNECTIONS: usize = 16;
const TCP_RX: usize = 4096;
/// Send window per connection: artifacts stream at what one window per round trip gives,
/// and firmware memory is plentiful (16 × 64 KiB).
const TCP_TX: usize = 65_536;
/// A response buffer holds a whole rendered script.
const RESPONSE: usize = 8192;
/// DHCP leases: the largest pool the configuration may name.
pub const LEASES: usize = 1024;
/// The largest script: a response buffer less its head.
pub const SCRIPT_BYTES: usize = RESPONSE - HEAD_RESERVE;

/// The architecture map: `appliance.conf`'s `boot_file` lines, then the defaults.
pub const BOOT_FILE_SLOTS: usize = crate::config::MAX_BOOT_FILES + DEFAULT_BOOT_FILES.len();

/// The fleet the inventory buffers hold.
pub const FLEET: InventoryCapacity = InventoryCapacity::for_fleet(2048, 8192);
/// The largest inventory file read.
pub const INVENTORY_FILE_BYTES: usize = 4 << 20;
/// The largest configuration file read.
pub const CONFIG_FILE_BYTES: usize = 16 << 10;

/// The appliance's buffers (sockets, connections, responses, leases, open artifacts).
pub type Buffers = ApplianceBuffers<'static, EspFiles, CONNECTIONS, TCP_RX, TCP_TX, RESPONSE, LEASES>;
/// The inventory's records, string pool and index.
type Inventory = InventoryBuffers<{ FLEET.nodes }, { FLEET.ports }, { FLEET.string_bytes }>;

/// Every buffer of the image. All are zero bytes in the image, so they cost `.bss`, not file size.
pub struct Memory {
    pub appliance: &'static mut Buffers,
    /// The inventory's records, string pool and index.
    pub nodes: &'static mut [NodeRecord],
    pub ports: &'static mut [PortRecord],
    pub strings: &'static mut [u8],
    pub string_index: &'static mut [u32],
    pub nic: &'static mut NicBuffers,
    pub inventory_file: &'static mut [u8; INVENTORY_FILE_BYTES],
    pub config_file: &'static mut [u8; CONFIG_FILE_BYTES],
    pub script: &'static mut [u8; SCRIPT_BYTES],
    pub base_url: &'static mut heapless::String<64>,
    pub boot_files: &'static mut [ArchBootFile; BOOT_FILE_SLOTS],
}

static mut APPLIANCE: Buffers = Buffers::new();
// One static: empty records are zero bytes, so the inventory lies in `.bss` and costs the
// image file nothing.
static mut INVENTORY: Inventory = Inventory::new();
static mut NIC: NicBuffers = NicBuffers::new();
static mut INVENTORY_FILE: [u8; INVENTORY_FILE_BYTES] = [0; INVENTORY_FILE_BYTES];
static mut CONFIG_FILE: [u8; CONFIG_FILE_BYTES] = [0; CONFIG_FILE_BYTES];
static mut SCRIPT: [u8; SCRIPT_BYTES] = [0; SCRIPT_BYTES];
static mut BASE_URL: heapless::String<64> = heapless::String::new();
static mut BOOT_FILES: [ArchBootFile; BOOT_FILE_SLOTS] = [ArchBootFile { arch: 0, file: "" }; BOOT_FILE_SLOTS];

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The image's memory; `None` after the first call.
pub fn take_memory() -> Option<Memory> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above hands the statics out once, so these are their only references.
    #[allow(unsafe_code)]
    unsafe {
        let InventoryStorage { nodes, ports, strings, string_index } = (*addr_of_mut!(INVENTORY)).storage();
        Some(Memory {
            appliance: &mut *addr_of_mut!(APPLIANCE),
            nodes,
            ports,
            strings,
            string_index,
            nic: &mut *addr_of_mut!(NIC),
            inventory_file: &mut *addr_of_mut!(INVENTORY_FILE),
            config_file: &mut *addr_of_mut!(CONFIG_FILE),
            script: &mut *addr_of_mut!(SCRIPT),
            base_url: &mut *addr_of_mut!(BASE_URL),
            boot_files: &mut *addr_of_mut!(BOOT_FILES),
        })
    }
}
