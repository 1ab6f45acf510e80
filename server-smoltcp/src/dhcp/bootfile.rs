//! The script URL a DHCP reply hands iPXE (option 67).
//!
//! A MAC the inventory knows gets its node's URL by UUID ("Neutron mode": the DHCP server
//! knew the node). An unknown MAC gets the per-MAC URL with `${mac}` left for iPXE to
//! expand (it expands settings in the filename before fetching), or `/boot.ipxe`.
//!
//! Panic contract: nothing here panics; a URL too long is an error.

use core::fmt::Write;

use ipxe_config::route::DriverName;
use ipxe_config::{Config, Inventory, PortAddress, Uuid};
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
/// use ipxe_config::{Config, Inventory};
/// use ipxe_config_server::dhcp::bootfile::{bootfile, Bootfile};
/// use ipxe_config_server::DhcpSettings;
/// use smoltcp::wire::{EthernetAddress, Ipv4Address};
/// let mut url = Bootfile::new();
/// let mac = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
/// let dhcp = DhcpSettings::new(Ipv4Address::new(10, 99, 0, 100), Ipv4Address::new(10, 99, 0, 199));
/// bootfile(&Inventory::EMPTY, &Config::DEFAULT, Ipv4Address::new(10, 99, 0, 1), 80, mac, &dhcp, &mut url).unwrap();
/// assert_eq!(url, "http://10.99.0.1/v1/drivers/any/vendor_passthru/ipxe_config?port_address=${mac}");
/// ```
pub fn bootfile(
    inventory: &Inventory<'_>,
    config: &Config<'_>,
    server: Ipv4Address,
    http_port: u16,
    mac: EthernetAddress,
    settings: &DhcpSettings,
    out: &mut Bootfile,
) -> Option<BootTarget> {
    out.clear();
    match config.base_url {
        Some(base) => out.push_str(base.trim_end_matches('/')).ok()?,
        None if http_port == 80 => write!(out, "http://{server}").ok()?,
        None => write!(out, "http://{server}:{http_port}").ok()?,
    }
    let node = inventory.node_by_address(&PortAddress(mac.0));
    let target = match node {
        Some(node) => {
            // A driver name the router would refuse cannot go into the path; the
            // configured wildcard driver serves the node whatever its driver.
            let driver = DriverName::new(node.driver()).map_or(config.any_driver, |_| node.driver());
            write!(out, "/v1/drivers/{driver}/vendor_passthru/ipxe_config?").ok()?;
            match settings.known_mac_url {
                KnownMacUrl::NodeUuid => write!(out, "node_uuid={}", node.uuid()).ok()?,
                KnownMacUrl::PortAddress => out.push_str("port_address=${mac}").ok()?,
            }
            BootTarget::Node(node.uuid())
        }
        None if settings.unknown_mac_chain => {
            out.push_str("/boot.ipxe").ok()?;
            BootTarget::Chain
        }
        None => {
            write!(out, "/v1/drivers/{}/vendor_passthru/ipxe_config?port_address=${{mac}}", config.any_driver).ok()?;
            BootTarget::UnknownMac
        }
    };
    Some(target)
}
