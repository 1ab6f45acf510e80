//! What an appliance is: its addresses, which services it runs, and their limits.

use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use crate::dhcp::bootfile::{ArchBootFile, DEFAULT_BOOT_FILES};
use crate::http::HttpLimits;
pub use crate::tftp::TftpSettings;

/// The appliance's identity on the link and the services it runs.
#[derive(Debug, Clone, Copy)]
pub struct ApplianceSettings {
    /// The interface's MAC address; its IPv6 link-local address is derived from it.
    pub mac: EthernetAddress,
    /// The appliance's IPv4 address and prefix (`10.99.0.1/24`).
    pub ip: Ipv4Cidr,
    /// A default route for the appliance itself, if clients may sit behind a router.
    pub gateway: Option<Ipv4Address>,
    /// TCP port of the HTTP server.
    pub http_port: u16,
    /// HTTP limits and timeouts.
    pub http: HttpLimits,
    /// The DHCP server, or `None` when another server hands out addresses.
    pub dhcp: Option<DhcpSettings>,
    /// Answer ICMPv6 router solicitations. iPXE waits ~16 s for a router advertisement
    /// before it finishes configuring a NIC; an advertisement saying "no router, no
    /// DHCPv6" ends that wait at once.
    pub router_advertisements: bool,
    /// The TFTP server for PXE firmware, or `None` (iPXE and HTTP Boot clients need none).
    pub tftp: Option<TftpSettings>,
    /// Seed for TCP initial sequence numbers and ports; vary it per boot.
    pub random_seed: u64,
    /// A finer clock than the poll timestamp, same epoch, for the per-request
    /// microseconds in the access log. `None` measures in poll timestamps.
    pub clock: Option<fn() -> Instant>,
}

impl ApplianceSettings {
    /// ApplianceSettings with the defaults for everything but the addresses: HTTP on port 80 with
    /// [`HttpLimits::DEFAULT`], no DHCP, no TFTP, router advertisements on.
    pub fn new(mac: EthernetAddress, ip: Ipv4Cidr) -> Self {
        ApplianceSettings {
            mac,
            ip,
            gateway: None,
            http_port: 80,
            http: HttpLimits::DEFAULT,
            dhcp: None,
            router_advertisements: true,
            tftp: None,
            random_seed: 0,
            clock: None,
        }
    }
}

/// The DHCP server's address pool and what it tells clients.
#[derive(Debug, Clone, Copy)]
pub struct DhcpSettings {
    /// First address handed out.
    pub first: Ipv4Address,
    /// Last address handed out (inclusive); the range must lie in the appliance's subnet.
    pub last: Ipv4Address,
    /// Lease time in seconds.
    pub lease_seconds: u32,
    /// Router option for clients, if any.
    pub router: Option<Ipv4Address>,
    /// How the script URL names a node whose MAC the inventory knows.
    pub known_mac_url: KnownMacUrl,
    /// Hand MACs the inventory does not know `/boot.ipxe` (the chain script) instead of
    /// the per-MAC script URL.
    pub unknown_mac_chain: bool,
    /// The iPXE binary for each firmware architecture (option 93), handed to PXE
    /// clients (over TFTP) and UEFI HTTP Boot clients (over HTTP).
    pub boot_files: &'static [ArchBootFile],
    /// ProxyDHCP: another server hands out addresses; this one answers PXE, HTTP Boot
    /// and iPXE clients with boot information only, on port 67 and on 4011, and the
    /// pool (`first`, `last`, the lease table) is unused.
    pub proxy: bool,
}

/// How a DHCP reply's script URL names a node the appliance knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KnownMacUrl {
    /// `?node_uuid=<uuid>`: the spec's "Neutron mode", the lookup cannot miss.
    #[default]
    NodeUuid,
    /// `?port_address=${mac}`, as for unknown MACs: the script is looked up by the MAC
    /// iPXE reports, exactly as with an external DHCP server.
    PortAddress,
}

impl DhcpSettings {
    /// ProxyDHCP settings: boot information only, beside the site's DHCP server.
    pub fn proxy() -> Self {
        DhcpSettings { proxy: true, ..DhcpSettings::new(Ipv4Address::UNSPECIFIED, Ipv4Address::UNSPECIFIED) }
    }

    /// A pool from `first` to `last` with a one-hour lease, no router, and
    /// [`DEFAULT_BOOT_FILES`] for firmware clients.
    pub fn new(first: Ipv4Address, last: Ipv4Address) -> Self {
        DhcpSettings {
            first,
            last,
            lease_seconds: 3600,
            router: None,
            known_mac_url: KnownMacUrl::NodeUuid,
            unknown_mac_chain: false,
            boot_files: DEFAULT_BOOT_FILES,
            proxy: false,
        }
    }
}
