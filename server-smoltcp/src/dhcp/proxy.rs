//! ProxyDHCP (PXE 2.1, section 2.2.5): beside a site DHCP server that hands out
//! addresses, this one tells PXE, HTTP Boot and iPXE clients only what to boot.
//!
//! - On port 67 a DISCOVER gets an OFFER with no address (`yiaddr` 0), this server as
//!   `siaddr` and server identifier, option 60 `PXEClient` (`HTTPClient` for HTTP
//!   Boot), and the boot file: the iPXE binary for the client's architecture, or the
//!   script URL for iPXE. A REQUEST on port 67 is the site server's business.
//! - On port 4011 (the boot server port) a REQUEST or INFORM, which PXE clients and
//!   iPXE send once they have their address from the site server, gets an ACK with
//!   the same boot information, sent back to where it came from.
//!
//! No lease is kept, so a client costs no memory. What is rationed is the send buffer, as
//! in the address-giving server, and the replies to MACs the inventory does not know:
//! [`PROXY_STRANGER_BURST`] at once, then [`PROXY_STRANGER_PER_SECOND`], so a flood of
//! DISCOVERs from random MACs turns into neither a broadcast flood nor a log line per
//! packet, while replies to the inventory's nodes are not rationed (a flood that fills the
//! socket's receive queue still delays them, and one forging a node's MAC is answered).
//!
//! Panic contract: nothing here panics, whatever arrives on either port.

use ipxe_config::{Inventory, PortAddress, RenderConfig};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::wire::{
    DhcpMessageType, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, DHCP_CLIENT_PORT, DHCP_SERVER_PORT,
};

use super::bootfile::{bootfile, http_boot_url, Bootfile};
use super::message::{ClientMessage, Reply, HTTP_CLIENT_CLASS, PXE_CLIENT_CLASS};
use super::{answer_for, Answer, CountedWarning, Queued, TokenBucket, STRANGER_BURST, STRANGER_PER_SECOND};
use crate::log_budget::LogBudget;
use crate::logging::Escaped;
use crate::settings::DhcpSettings;
use smoltcp::time::{Duration, Instant};

/// The PXE boot server port.
pub const BOOT_SERVER_PORT: u16 = 4011;

/// Replies to unknown MACs at once: twice the address-giving server's burst of new
/// bindings, since each boot stage of a client asks twice (a DISCOVER on port 67, then a
/// REQUEST on 4011).
pub const PROXY_STRANGER_BURST: u32 = 2 * STRANGER_BURST;

/// Replies to unknown MACs per second once the burst is spent.
pub const PROXY_STRANGER_PER_SECOND: u32 = 2 * STRANGER_PER_SECOND;

/// How often, at most, the rate limit is logged.
const LIMITED_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The ProxyDHCP server's two sockets and settings.
pub(crate) struct ProxyDhcp {
    dhcp: SocketHandle,
    boot_server: SocketHandle,
    settings: DhcpSettings,
    server: Ipv4Cidr,
    http_port: u16,
    tftp: bool,
    /// Lines saying why a client is left unanswered.
    ignored_log: LogBudget,
    /// Replies unknown MACs may still be sent now.
    stranger_budget: TokenBucket,
    /// Strangers left unanswered by the rate limit, warned of every [`LIMITED_LOG_INTERVAL`].
    limited: CountedWarning,
}

/// Which port a message came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Dhcp,
    BootServer,
}

impl ProxyDhcp {
    /// Binds `dhcp` to port 67 and `boot_server` to 4011.
    pub(crate) fn new(
        dhcp: SocketHandle,
        boot_server: SocketHandle,
        sockets: &mut SocketSet<'_>,
        settings: DhcpSettings,
        server: Ipv4Cidr,
        http_port: u16,
        tftp: bool,
    ) -> Self {
        // Cannot fail: the ports are non-zero and the sockets new.
        let _ = sockets.get_mut::<udp::Socket>(dhcp).bind(DHCP_SERVER_PORT);
        let _ = sockets.get_mut::<udp::Socket>(boot_server).bind(BOOT_SERVER_PORT);
        ProxyDhcp {
            dhcp,
            boot_server,
            settings,
            server,
            http_port,
            tftp,
            ignored_log: LogBudget::default(),
            stranger_budget: TokenBucket::full(PROXY_STRANGER_BURST, PROXY_STRANGER_PER_SECOND),
            limited: CountedWarning::default(),
        }
    }

    /// Answers every queued message on both ports; `true` if any was taken off.
    pub(crate) fn poll(
        &mut self,
        sockets: &mut SocketSet<'_>,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> bool {
        let mut progress = false;
        for (handle, port) in [(self.dhcp, Port::Dhcp), (self.boot_server, Port::BootServer)] {
            let socket = sockets.get_mut::<udp::Socket>(handle);
            while let Ok((payload, meta)) = socket.peek() {
                let from = meta.endpoint;
                if let Some(message) = ClientMessage::parse(payload) {
                    if self.answer(socket, &message, port, from, now, inventory, config) == Queued::NoRoom {
                        break;
                    }
                }
                let _ = socket.recv();
                progress = true;
            }
        }
        progress
    }

    #[allow(clippy::too_many_arguments)] // reason: the message, where it came from, and the context to answer it
    fn answer(
        &mut self,
        socket: &mut udp::Socket<'_>,
        message: &ClientMessage,
        port: Port,
        from: IpEndpoint,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> Queued {
        let (kind, to) = match (port, message.kind) {
            (Port::Dhcp, DhcpMessageType::Discover) => {
                (DhcpMessageType::Offer, IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::BROADCAST), DHCP_CLIENT_PORT))
            }
            // The client has its address by now: the answer goes back where it came from.
            (Port::BootServer, DhcpMessageType::Request | DhcpMessageType::Inform) if from.port != 0 => {
                (DhcpMessageType::Ack, from)
            }
            _ => return Queued::Done,
        };
        let Some(boot) = answer_for(&self.settings, self.tftp, message, &mut self.ignored_log, now) else {
            return Queued::Done;
        };
        let shown = PortAddress(message.mac.0);
        let stranger = inventory.node_by_address(&shown).is_none();
        if stranger && !self.stranger_budget.available(now) {
            self.note_limited(shown, now);
            return Queued::Done;
        }
        let server = self.server.address();
        let mut url = Bootfile::new();
        let written = match boot {
            Answer::Script => {
                bootfile(inventory, config, server, self.http_port, message.mac, &self.settings, &mut url).is_some()
            }
            Answer::Tftp { file, .. } => url.push_str(file).is_ok(),
            Answer::Http { file, .. } => http_boot_url(server, self.http_port, file, &mut url).is_some(),
        };
        if !written {
            log_error!("dhcp proxy no reply to mac={shown}: the boot file or URL is longer than 255 bytes");
            return Queued::Dropped;
        }
        let reply = Reply {
            kind,
            to: *message,
            your_ip: Ipv4Address::UNSPECIFIED,
            server_ip: server,
            subnet_mask: self.server.netmask(),
            router: None,
            lease_seconds: 0,
            bootfile: &url,
            // PXE clients and iPXE tell a ProxyDHCP offer by `PXEClient`.
            vendor_class: Some(if matches!(boot, Answer::Http { .. }) { HTTP_CLIENT_CLASS } else { PXE_CLIENT_CLASS }),
            ipxe_options: false,
            proxy: true,
        };
        match reply.send(socket, to, server) {
            Ok(()) => {}
            Err(udp::SendError::BufferFull) => return Queued::NoRoom,
            Err(udp::SendError::Unaddressable) => {
                log_warn!("dhcp proxy reply to mac={shown} dropped: no route to {}", to.addr);
                return Queued::Dropped;
            }
        }
        if stranger {
            self.stranger_budget.spend();
        }
        let verb = if kind == DhcpMessageType::Offer { "proxy-offer" } else { "proxy-ack" };
        let client = match boot {
            Answer::Script => "ipxe",
            Answer::Tftp { .. } => "pxe",
            Answer::Http { .. } => "http-boot",
        };
        log_info!("dhcp {verb} mac={shown} to={} client={client} file={}", to.addr, Escaped(url.as_bytes()));
        Queued::Sent
    }

    /// Counts a stranger left unanswered by the rate limit, and warns at most every
    /// [`LIMITED_LOG_INTERVAL`].
    fn note_limited(&mut self, mac: PortAddress, now: Instant) {
        let Some(count) = self.limited.note(now, LIMITED_LOG_INTERVAL) else { return };
        log_warn!(
            "dhcp proxy rate limit: no reply to unknown mac={mac} ({count} messages unanswered since the last warning); \
             MACs the inventory does not know get {PROXY_STRANGER_BURST} replies at once, then \
             {PROXY_STRANGER_PER_SECOND} a second"
        );
    }
}
