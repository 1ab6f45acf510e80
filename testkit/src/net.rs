//! The test network: one /24 with the appliance at `.1`, a client at `.50` whose MAC is
//! node 1's PXE port in `fixtures/inventory.json`, and DHCP handing out `.100`–`.199`.

use ipxe_config::RenderConfig;
use ipxe_config_server::{ApplianceSettings, DhcpSettings};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// The appliance's IPv4 address.
pub const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 99, 0, 1);
/// The appliance's MAC (locally administered).
pub const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0x69, 0x70, 0x78, 0x65, 0x01]);
/// The appliance's address and prefix on the test segment.
pub const SERVER_CIDR: Ipv4Cidr = Ipv4Cidr::new(SERVER_IP, 24);
/// A client with a static address.
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(10, 99, 0, 50);
/// Node 1's PXE port in the shared fixture inventory.
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);
/// The first address of the DHCP pool.
pub const POOL_FIRST: Ipv4Address = Ipv4Address::new(10, 99, 0, 100);
/// The last address of the DHCP pool: 100 leases, as `ipxe-config-appliance` sizes it.
pub const POOL_LAST: Ipv4Address = Ipv4Address::new(10, 99, 0, 199);

/// Where the appliance serves: scripts name URLs under it.
pub const BASE_URL: &str = "http://10.99.0.1";

/// The configuration the appliance serves with: the defaults, with URLs on [`BASE_URL`].
pub const CONFIG: RenderConfig<'static> = RenderConfig { base_url: Some(BASE_URL), ..RenderConfig::DEFAULT };

/// The appliance on [`SERVER_CIDR`] with the DHCP pool [`POOL_FIRST`]–[`POOL_LAST`] and
/// router advertisements on: what `ipxe-config-appliance` starts with by default.
pub fn settings() -> ApplianceSettings {
    let mut settings = ApplianceSettings::new(SERVER_MAC, SERVER_CIDR);
    settings.dhcp = Some(DhcpSettings::new(POOL_FIRST, POOL_LAST));
    settings
}
