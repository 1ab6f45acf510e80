//! The script URL a DHCP reply hands iPXE (option 67).
//!
//! A MAC the inventory knows gets its node's URL by UUID ("Neutron mode": the DHCP server
//! knew the node). An unknown MAC gets the per-MAC URL with `${mac}` left for iPXE to
//! expand (it expands settings in the filename before fetching), or `/boot.ipxe`.
//!
//! Panic contract: nothing here panics; a URL too long is an error.

use ipxe_config::endpoint::{NodeParam, CHAIN_SCRIPT_PATH, MAC_SETTING};
use ipxe_config::route::DriverName;
use ipxe_config::{BaseUrl, Endpoint, Inventory, PortAddress, RenderConfig, Uuid};
use smoltcp::wire::{EthernetAddress, Ipv4Address};

use crate::settings::{DhcpSettings, KnownMacUrl};

/// Longest option 67 value.
pub const MAX_BOOTFILE: usize = 255;

/// A bootfile URL.
pub type Bootfile = heapless::String<MAX_BOOTFILE>;

/// What the URL points at, for the DHCP log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootTarget {
    /// The node owning the MAC.
    Node(Uuid),
    /// The per-MAC script, for a MAC the inventory does not know.
    UnknownMac,
    /// `/boot.ipxe`.
    Chain,
}

/// Writes the script URL for `mac` into `out`; `None` if it exceeds 255 bytes.
///
/// ```
/// use ipxe_config::{RenderConfig, Inventory};
/// use ipxe_config_server::dhcp::bootfile::{bootfile, Bootfile};
/// use ipxe_config_server::DhcpSettings;
/// use smoltcp::wire::{EthernetAddress, Ipv4Address};
/// let mut url = Bootfile::new();
/// let mac = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
/// let dhcp = DhcpSettings::new(Ipv4Address::new(10, 99, 0, 100), Ipv4Address::new(10, 99, 0, 199));
/// bootfile(&Inventory::EMPTY, &RenderConfig::DEFAULT, Ipv4Address::new(10, 99, 0, 1), 80, mac, &dhcp, &mut url).unwrap();
/// assert_eq!(url, "http://10.99.0.1/v1/drivers/any/vendor_passthru/ipxe_config?port_address=${mac}");
/// ```
pub fn bootfile(
    inventory: &Inventory<'_>,
    config: &RenderConfig<'_>,
    server: Ipv4Address,
    http_port: u16,
    mac: EthernetAddress,
    settings: &DhcpSettings,
    out: &mut Bootfile,
) -> Option<BootTarget> {
    out.clear();
    let base = match config.base_url {
        Some(base) => BaseUrl::Given(base),
        None => BaseUrl::Server { address: server, port: http_port },
    };
    base.write(out).ok()?;
    let node = inventory.node_by_address(&PortAddress(mac.0));
    let target = match node {
        Some(node) => {
            // A driver name the router would refuse cannot go into the path; the
            // configured wildcard driver serves the node whatever its driver.
            let driver = DriverName::new(node.driver()).map_or(config.any_driver, |_| node.driver());
            let param = match settings.known_mac_url {
                KnownMacUrl::NodeUuid => NodeParam::Uuid(node.uuid()),
                KnownMacUrl::PortAddress => NodeParam::AddressSetting(MAC_SETTING),
            };
            Endpoint::new(driver, param).write(out).ok()?;
            BootTarget::Node(node.uuid())
        }
        None if settings.unknown_mac_chain => {
            out.push_str(CHAIN_SCRIPT_PATH).ok()?;
            BootTarget::Chain
        }
        None => {
            Endpoint::new(config.any_driver, NodeParam::AddressSetting(MAC_SETTING)).write(out).ok()?;
            BootTarget::UnknownMac
        }
    };
    Some(target)
}

/// One entry of the architecture map: firmware whose option 93 is `arch` gets `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchBootFile {
    /// The client architecture (RFC 4578, IANA "Processor Architecture Types").
    pub arch: u16,
    /// The iPXE binary, relative to the file root: fetched over TFTP by PXE clients and
    /// over HTTP by HTTP Boot clients. Empty: this architecture gets no answer.
    pub file: &'static str,
}

/// The default architecture map: the binaries Debian's `ipxe` package ships in
/// `/usr/lib/ipxe` (copy them into the file root), and the arm64 build iPXE makes
/// (`bin-arm64-efi/snponly.efi`), which Debian does not ship for amd64.
///
/// - 0, x86 BIOS: `undionly.kpxe` (iPXE over the ROM's own UNDI driver).
/// - 7 and 9, x86-64 UEFI (9 is what some firmware sends for "EFI x86-64"):
///   `snponly.efi` (iPXE over the firmware's SNP driver; `ipxe.efi` brings its own
///   drivers and is five times larger, so takes ~4 s longer to start).
/// - 16, x86-64 UEFI HTTP Boot: the same `snponly.efi`, over HTTP.
/// - 11 and 19, arm64 UEFI and its HTTP Boot: `arm64/snponly.efi`.
pub const DEFAULT_BOOT_FILES: &[ArchBootFile] = &[
    ArchBootFile { arch: 0, file: "undionly.kpxe" },
    ArchBootFile { arch: 7, file: "snponly.efi" },
    ArchBootFile { arch: 9, file: "snponly.efi" },
    ArchBootFile { arch: 11, file: "arm64/snponly.efi" },
    ArchBootFile { arch: 16, file: "snponly.efi" },
    ArchBootFile { arch: 19, file: "arm64/snponly.efi" },
];

/// The file `map` names for `arch`: the first entry for it wins; `None` for an
/// architecture it does not list, or lists with an empty file.
///
/// ```
/// use ipxe_config_server::dhcp::bootfile::{boot_file_for, ArchBootFile, DEFAULT_BOOT_FILES};
/// assert_eq!(boot_file_for(DEFAULT_BOOT_FILES, 7), Some("snponly.efi"));
/// assert_eq!(boot_file_for(DEFAULT_BOOT_FILES, 6), None);
/// let map = [ArchBootFile { arch: 7, file: "" }, ArchBootFile { arch: 7, file: "ipxe.efi" }];
/// assert_eq!(boot_file_for(&map, 7), None);
/// ```
pub fn boot_file_for(map: &[ArchBootFile], arch: u16) -> Option<&'static str> {
    map.iter().find(|entry| entry.arch == arch).map(|entry| entry.file).filter(|file| !file.is_empty())
}

/// Writes the HTTP URL of `file` on the appliance's own HTTP server into `out` (HTTP
/// Boot's option 67); `None` if it exceeds 255 bytes.
///
/// ```
/// use ipxe_config_server::dhcp::bootfile::{http_boot_url, Bootfile};
/// use smoltcp::wire::Ipv4Address;
/// let mut url = Bootfile::new();
/// http_boot_url(Ipv4Address::new(10, 99, 0, 1), 8080, "snponly.efi", &mut url).unwrap();
/// assert_eq!(url, "http://10.99.0.1:8080/snponly.efi");
/// ```
pub fn http_boot_url(server: Ipv4Address, http_port: u16, file: &str, out: &mut Bootfile) -> Option<()> {
    out.clear();
    BaseUrl::Server { address: server, port: http_port }.write(out).ok()?;
    out.push('/').ok()?;
    out.push_str(file).ok()
}
