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
    DhcpMessageType, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, DHCP_CLIENT_PORT, DHCP_SERVER_PORT,
};

pub use lease::Lease;

use crate::settings::DhcpSettings;
use bootfile::{bootfile, BootTarget, Bootfile};
use lease::LeaseTable;
use message::{ClientMessage, Reply};

/// How long an offered address is held for the client's REQUEST.
const OFFER_HOLD: Duration = Duration::from_secs(60);

/// How often, at most, pool exhaustion is logged: a flood of DISCOVERs from random MACs
/// would otherwise write one line per packet.
const EXHAUSTED_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The DHCP server's socket, pool and settings.
pub(crate) struct DhcpServer<'a> {
    handle: SocketHandle,
    leases: LeaseTable<'a>,
    settings: DhcpSettings,
    server: Ipv4Cidr,
    http_port: u16,
    /// DISCOVERs left unanswered for want of an address since the last warning, and when
    /// that warning was written.
    unanswered: u32,
    exhausted_logged: Option<Instant>,
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
        DhcpServer { handle, leases, settings, server, http_port, unanswered: 0, exhausted_logged: None }
    }

    /// Answers every queued client message; `true` if any was taken off the socket.
    ///
    /// A message is only taken off once its reply is queued: when the send buffer is full
    /// (a burst of DISCOVERs from a boot storm), the rest wait in the receive buffer for
    /// the next call, after the interface has sent the replies before them. Taking them
    /// off and dropping the replies instead cost each of those clients a retransmission,
    /// and iPXE gives up DHCP after four of those.
    pub(crate) fn poll(
        &mut self,
        sockets: &mut SocketSet<'a>,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) -> bool {
        let socket = sockets.get_mut::<udp::Socket>(self.handle);
        let mut progress = false;
        while let Ok((payload, _meta)) = socket.peek() {
            if let Some(message) = ClientMessage::parse(payload) {
                if self.answer(socket, &message, now, inventory, config) == Queued::NoRoom {
                    break;
                }
            }
            let _ = socket.recv();
            progress = true;
        }
        progress
    }

    /// Whether messages wait that the last [`DhcpServer::poll`] could not answer yet.
    pub(crate) fn backlogged(&self, sockets: &SocketSet<'a>) -> bool {
        sockets.get::<udp::Socket>(self.handle).can_recv()
    }

    fn answer(
        &mut self,
        socket: &mut udp::Socket<'_>,
        message: &ClientMessage,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) -> Queued {
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
            return Queued::Done;
        }
        let ours = self.server.address();
        match message.kind {
            DhcpMessageType::Discover => {
                let (index, taken_over) = match self.leases.choose(mac, now) {
                    Some(index) => (index, false),
                    // The appliance is there to boot the inventory's nodes: one of them
                    // may take an address merely offered to a MAC nobody knows (a flood of
                    // DISCOVERs from random MACs holds every address for a minute).
                    None if inventory.node_by_address(&shown).is_some() => {
                        let stranger =
                            |other: EthernetAddress| inventory.node_by_address(&PortAddress(other.0)).is_none();
                        let Some(index) = self.leases.stranger_offer(now, stranger) else {
                            self.note_exhausted(shown, now);
                            return Queued::Done;
                        };
                        (index, true)
                    }
                    None => {
                        self.note_exhausted(shown, now);
                        return Queued::Done;
                    }
                };
                let address = self.leases.address(index);
                let queued = self.reply(socket, DhcpMessageType::Offer, message, address, inventory, config);
                if queued == Queued::Sent {
                    if taken_over {
                        log_info!("dhcp pool exhausted: mac={shown} of the inventory takes {address}, offered to an unknown MAC");
                    }
                    self.leases.offer(index, mac, now, OFFER_HOLD);
                }
                queued
            }
            DhcpMessageType::Request => {
                if message.server_id.is_some_and(|id| id != ours) {
                    // The client took another server's offer: ours is free again.
                    self.leases.release_offer(mac);
                    return Queued::Done;
                }
                let requested =
                    message.requested_ip.or((!message.client_ip.is_unspecified()).then_some(message.client_ip));
                let granted = requested.and_then(|address| self.leases.grantable(address, mac, now));
                if let (Some(index), Some(address)) = (granted, requested) {
                    let queued = self.reply(socket, DhcpMessageType::Ack, message, address, inventory, config);
                    if queued == Queued::Sent {
                        let lease = Duration::from_secs(u64::from(self.settings.lease_seconds));
                        self.leases.bind(index, mac, now, lease);
                    }
                    queued
                } else {
                    let queued =
                        self.reply(socket, DhcpMessageType::Nak, message, Ipv4Address::UNSPECIFIED, inventory, config);
                    if queued == Queued::Sent {
                        log_info!(
                            "dhcp nak mac={shown} requested={}",
                            requested.map_or(Ipv4Address::UNSPECIFIED, |a| a)
                        );
                    }
                    queued
                }
            }
            DhcpMessageType::Release if message.server_id.is_none_or(|id| id == ours) => {
                self.leases.release(mac);
                log_info!("dhcp release mac={shown}");
                Queued::Done
            }
            DhcpMessageType::Decline if message.server_id.is_none_or(|id| id == ours) => {
                if let Some(address) = message.requested_ip {
                    let hold = Duration::from_secs(u64::from(self.settings.lease_seconds));
                    if self.leases.decline(address, mac, now, hold) {
                        log_warn!("dhcp decline mac={shown} ip={address}: address in use on the link");
                    } else {
                        log_info!("dhcp ignoring decline mac={shown} ip={address}: not the address's holder");
                    }
                }
                Queued::Done
            }
            _ => Queued::Done,
        }
    }

    /// Counts a DISCOVER left unanswered, and warns at most every
    /// [`EXHAUSTED_LOG_INTERVAL`].
    fn note_exhausted(&mut self, mac: PortAddress, now: Instant) {
        self.unanswered = self.unanswered.saturating_add(1);
        if self.exhausted_logged.is_some_and(|at| now < at + EXHAUSTED_LOG_INTERVAL) {
            return;
        }
        log_warn!(
            "dhcp pool exhausted: no address for mac={mac} ({} DISCOVERs unanswered since the last warning); \
             every address is bound or offered (offers are held {} s)",
            self.unanswered,
            OFFER_HOLD.secs()
        );
        self.unanswered = 0;
        self.exhausted_logged = Some(now);
    }

    fn reply(
        &self,
        socket: &mut udp::Socket<'_>,
        kind: DhcpMessageType,
        message: &ClientMessage,
        your_ip: Ipv4Address,
        inventory: &Inventory<'_>,
        config: &Config<'_>,
    ) -> Queued {
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
                return Queued::Dropped;
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
        match socket.send(reply.buffer_len(), metadata) {
            Ok(buf) => {
                // Cannot fail: the buffer has the reply's length and the URL fits option 67.
                let _ = reply.emit(buf);
            }
            Err(udp::SendError::BufferFull) => return Queued::NoRoom,
            Err(udp::SendError::Unaddressable) => {
                log_warn!("dhcp reply to mac={shown} dropped: no route to the broadcast address");
                return Queued::Dropped;
            }
        }
        let verb = match kind {
            DhcpMessageType::Offer => "offer",
            DhcpMessageType::Ack => "ack",
            _ => return Queued::Sent,
        };
        let node = match target {
            Some(BootTarget::Node(uuid)) => Some(uuid),
            _ => None,
        };
        match node {
            Some(uuid) => log_info!("dhcp {verb} mac={shown} ip={your_ip} node={uuid} url={url}"),
            None => log_info!("dhcp {verb} mac={shown} ip={your_ip} node=- url={url}"),
        }
        Queued::Sent
    }
}

/// What became of a client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queued {
    /// The reply is in the send buffer.
    Sent,
    /// Needs no reply, or cannot have one.
    Done,
    /// No reply because it could not be built (logged).
    Dropped,
    /// The reply does not fit the send buffer now; keep the message queued.
    NoRoom,
}
