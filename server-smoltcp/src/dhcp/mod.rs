//! A DHCP server for iPXE clients on UDP port 67.
//!
//! Only clients whose user class (option 77) says `iPXE` are answered: a firmware PXE ROM
//! asking first is logged and left alone (it is another server's job to hand it iPXE).
//! DISCOVER gets an OFFER, REQUEST an ACK, or a NAK for an address this server cannot
//! give; a REQUEST naming another server frees our offer. Every reply carries the script
//! URL (option 67 and the BOOTP `file` field) and option 175/176 so iPXE does not wait
//! for ProxyDHCP, and goes to the broadcast address: the client has no address yet.
//!
//! Panic contract: nothing here panics, whatever arrives on port 67.

pub mod bootfile;
pub mod lease;
pub mod message;

use ipxe_config::{Config, Inventory, PortAddress};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    DhcpMessageType, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, DHCP_CLIENT_PORT, DHCP_SERVER_PORT,
};

pub use lease::Lease;

use crate::settings::DhcpSettings;
use bootfile::{bootfile, BootTarget, Bootfile};
use lease::LeaseTable;
use message::{ClientMessage, Reply};

/// How long an offered address is held for the client's REQUEST.
const OFFER_HOLD: Duration = Duration::from_secs(60);

/// The DHCP server's socket, pool and settings.
pub(crate) struct DhcpServer<'a> {
    handle: SocketHandle,
    leases: LeaseTable<'a>,
    settings: DhcpSettings,
    server: Ipv4Cidr,
    http_port: u16,
}

impl<'a> DhcpServer<'a> {
    /// Binds the socket to port 67 and sets up the pool.
    pub(crate) fn new(
        handle: SocketHandle,
        sockets: &mut SocketSet<'a>,
        leases: &'a mut [Lease],
        settings: DhcpSettings,
        server: Ipv4Cidr,
        http_port: u16,
    ) -> Self {
        // Cannot fail: the port is non-zero and the socket new.
        let _ = sockets.get_mut::<udp::Socket>(handle).bind(DHCP_SERVER_PORT);
        let mut reserved = [server.address(); 2];
        if let Some(router) = settings.router {
            reserved[1] = router;
        }
        let leases = LeaseTable::new(leases, settings.first, settings.last, &reserved);
        DhcpServer { handle, leases, settings, server, http_port }
    }

    /// Addresses in the pool.
    pub(crate) fn pool_size(&self) -> usize {
        self.leases.len()
    }

    /// Answers every queued client message; `true` if any arrived.
    pub(crate) fn poll(
        &mut self,
        sockets: &mut SocketSet<'a>,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) -> bool {
        let socket = sockets.get_mut::<udp::Socket>(self.handle);
        let mut progress = false;
        while socket.can_recv() {
            let Ok((payload, _meta)) = socket.recv() else { break };
            progress = true;
            let Some(message) = ClientMessage::parse(payload) else { continue };
            self.answer(socket, &message, now, inventory, config);
        }
        progress
    }

    fn answer(
        &mut self,
        socket: &mut udp::Socket<'_>,
        message: &ClientMessage,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) {
        let mac = message.mac;
        // Logged as iPXE and Ironic spell MACs: lower case with colons.
        let shown = PortAddress(mac.0);
        if !message.ipxe {
            if matches!(message.kind, DhcpMessageType::Discover) {
                log_info!(
                    "dhcp ignoring mac={shown} (no iPXE user class{}): another DHCP server must chain it to iPXE",
                    if message.pxe_client { ", PXE firmware" } else { "" }
                );
            }
            return;
        }
        let ours = self.server.address();
        match message.kind {
            DhcpMessageType::Discover => {
                let Some(index) = self.leases.choose(mac, now) else {
                    log_warn!("dhcp pool exhausted: no address for mac={shown}");
                    return;
                };
                self.leases.offer(index, mac, now, OFFER_HOLD);
                let address = self.leases.address(index);
                self.reply(socket, DhcpMessageType::Offer, message, address, inventory, config);
            }
            DhcpMessageType::Request => {
                if message.server_id.is_some_and(|id| id != ours) {
                    // The client took another server's offer.
                    self.leases.release(mac);
                    return;
                }
                let requested =
                    message.requested_ip.or((!message.client_ip.is_unspecified()).then_some(message.client_ip));
                let granted = requested.and_then(|address| self.leases.grantable(address, mac, now));
                if let (Some(index), Some(address)) = (granted, requested) {
                    let lease = Duration::from_secs(u64::from(self.settings.lease_seconds));
                    self.leases.bind(index, mac, now, lease);
                    self.reply(socket, DhcpMessageType::Ack, message, address, inventory, config);
                } else {
                    log_info!("dhcp nak mac={shown} requested={}", requested.map_or(Ipv4Address::UNSPECIFIED, |a| a));
                    self.reply(socket, DhcpMessageType::Nak, message, Ipv4Address::UNSPECIFIED, inventory, config);
                }
            }
            DhcpMessageType::Release if message.server_id.is_none_or(|id| id == ours) => {
                self.leases.release(mac);
                log_info!("dhcp release mac={shown}");
            }
            DhcpMessageType::Decline if message.server_id.is_none_or(|id| id == ours) => {
                if let Some(address) = message.requested_ip {
                    let hold = Duration::from_secs(u64::from(self.settings.lease_seconds));
                    self.leases.decline(address, now, hold);
                    log_warn!("dhcp decline mac={shown} ip={address}: address in use on the link");
                }
            }
            _ => {}
        }
    }

    fn reply(
        &self,
        socket: &mut udp::Socket<'_>,
        kind: DhcpMessageType,
        message: &ClientMessage,
        your_ip: Ipv4Address,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) {
        let mac = message.mac;
        let shown = PortAddress(mac.0);
        let mut url = Bootfile::new();
        let target = if kind == DhcpMessageType::Nak {
            None
        } else {
            let target =
                bootfile(inventory, config, self.server.address(), self.http_port, mac, &self.settings, &mut url);
            if target.is_none() {
                log_error!("dhcp no reply to mac={shown}: the script URL is longer than 255 bytes");
                return;
            }
            target
        };
        let reply = Reply {
            kind,
            to: *message,
            your_ip,
            server_ip: self.server.address(),
            subnet_mask: self.server.netmask(),
            router: self.settings.router,
            lease_seconds: self.settings.lease_seconds,
            bootfile: &url,
        };
        let broadcast = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::BROADCAST), DHCP_CLIENT_PORT);
        let metadata = udp::UdpMetadata {
            endpoint: broadcast,
            local_address: Some(IpAddress::Ipv4(self.server.address())),
            meta: smoltcp::phy::PacketMeta::default(),
        };
        let sent = match socket.send(reply.buffer_len(), metadata) {
            Ok(buf) => reply.emit(buf).is_some(),
            Err(_) => false,
        };
        if !sent {
            log_warn!("dhcp reply to mac={shown} dropped: send buffer full");
            return;
        }
        let verb = match kind {
            DhcpMessageType::Offer => "offer",
            DhcpMessageType::Ack => "ack",
            _ => return,
        };
        let node = match target {
            Some(BootTarget::Node(uuid)) => Some(uuid),
            _ => None,
        };
        match node {
            Some(uuid) => log_info!("dhcp {verb} mac={shown} ip={your_ip} node={uuid} url={url}"),
            None => log_info!("dhcp {verb} mac={shown} ip={your_ip} node=- url={url}"),
        }
    }
}
