//! The appliance: one smoltcp interface running the HTTP server, the DHCP server,
//! router advertisements and the TFTP server, driven by [`Appliance::poll`] over any `phy::Device`.
//!
//! The appliance owns no inventory: each poll borrows the current [`Inventory`] and
//! [`RenderConfig`], so a host can load a new inventory beside the old one and switch between
//! polls. Responses already being sent are unaffected: a script is rendered whole into
//! its connection's buffer before the first byte goes out.
//!
//! Panic contract: [`Appliance::new`] checks every size and address and returns a
//! [`SetupError`] instead of letting smoltcp assert; after that nothing panics, whatever
//! arrives on the wire.

use core::fmt;

use ipxe_config::{Inventory, RenderConfig};
use smoltcp::iface::{Config as InterfaceConfig, Interface, PollIngressSingleResult, PollResult, SocketSet};
use smoltcp::phy::{Device, Medium};
use smoltcp::socket::{raw, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    HardwareAddress, IpAddress, IpCidr, IpProtocol, IpVersion, Ipv4Address, Ipv6Cidr, IPV6_LINK_LOCAL_ALL_ROUTERS,
};

use crate::dhcp::proxy::ProxyDhcp;
use crate::dhcp::DhcpServer;
use crate::files::{FileSource, OpenFiles};
use crate::http::response::HEAD_RESERVE;
use crate::http::{HttpBuffers, HttpServer};
use crate::router_advert::{link_local, RouterAdvertiser};
use crate::service::{IpxeService, RequestCounts};
use crate::settings::ApplianceSettings;
use crate::storage::ApplianceStorage;
use crate::syn_backlog::{Destination, Replay, SynBacklog, SynGate, GATE_FRAME};
use crate::tftp::TftpServer;

/// Rounds of "interface poll, then serve sockets" in one [`Appliance::poll`]: enough to
/// answer a request and push its response out, bounded so one call stays short.
const MAX_ROUNDS: usize = 8;

/// How often, at most, the appliance logs that new connections wait for a socket.
const HELD_BACK_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Smallest buffers the appliance accepts, so an error response always fits.
const MIN_TCP_BUFFER: usize = 256;
const MIN_RESPONSE: usize = HEAD_RESERVE + 256;
const MIN_SCRATCH: usize = 128;
/// A DHCP message is at least 300 bytes on the wire and may be up to 576.
const MIN_DHCP_PAYLOAD: usize = 576;
const MIN_ICMPV6_PAYLOAD: usize = 128;
/// A TFTP request (RFC 1350 requests fit 512 bytes), a few ACKs, and a 512-byte block.
const MIN_TFTP_REQUEST: usize = 516;
const MIN_TFTP_ACKS: usize = 64;
const MIN_TFTP_BLOCK: usize = 516;

/// Why an appliance cannot be set up with these settings and buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupError {
    /// The device does not carry Ethernet frames.
    NotEthernet,
    /// The MAC is multicast, broadcast or all zeros.
    InvalidMac,
    /// The IPv4 address is not a unicast address.
    InvalidAddress,
    /// The HTTP port is 0.
    InvalidPort,
    /// No connection slots.
    NoConnections,
    /// The socket table is too small.
    TooFewSockets {
        /// Entries needed.
        needed: usize,
        /// Entries given.
        given: usize,
    },
    /// A buffer is too small.
    BufferTooSmall {
        /// Which buffer (per connection where it is split).
        buffer: &'static str,
        /// Bytes or slots needed.
        needed: usize,
        /// Bytes or slots given.
        given: usize,
    },
    /// The DHCP range is reversed or not inside the appliance's subnet.
    DhcpRange,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotEthernet => f.write_str("the network device is not an Ethernet device"),
            Self::InvalidMac => f.write_str("the MAC address is not a unicast address"),
            Self::InvalidAddress => f.write_str("the IPv4 address is not a unicast address"),
            Self::InvalidPort => f.write_str("the HTTP port is 0"),
            Self::NoConnections => f.write_str("no HTTP connection slots"),
            Self::TooFewSockets { needed, given } => {
                write!(f, "socket table has {given} entries, {needed} needed")
            }
            Self::BufferTooSmall { buffer, needed, given } => {
                write!(f, "{buffer}: {given} given, at least {needed} needed")
            }
            Self::DhcpRange => f.write_str("the DHCP range is reversed or outside the appliance's subnet"),
        }
    }
}

impl core::error::Error for SetupError {}

/// Connection attempts the SYN gate held back or dropped since they were last logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HeldBack {
    /// Held until a socket was free.
    held: u32,
    /// Dropped because the backlog was full (the clients retransmit).
    dropped: u32,
}

/// An HTTP + DHCP + router-advertisement server on one smoltcp interface, serving files
/// from the source `F`.
pub struct Appliance<'a, F: FileSource> {
    iface: Interface,
    sockets: SocketSet<'a>,
    http: HttpServer<'a>,
    dhcp: Option<DhcpServer<'a>>,
    proxy: Option<ProxyDhcp>,
    adverts: Option<RouterAdvertiser>,
    tftp: Option<TftpServer>,
    files: OpenFiles<'a, F>,
    settings: ApplianceSettings,
    /// The last poll stopped at its round limit with work left.
    busy: bool,
    /// Frames pass through here while every HTTP socket is busy (see `syn_backlog`).
    gate_frame: [u8; GATE_FRAME],
    /// Connection attempts waiting for a socket.
    syn_backlog: SynBacklog,
    /// Connection attempts held back since the last log line about them, and when that was.
    held_back: HeldBack,
    held_back_logged: Option<Instant>,
    /// Requests by what they were answered with, for metrics.
    requests: RequestCounts,
}

fn at_least(buffer: &'static str, given: usize, needed: usize) -> Result<(), SetupError> {
    if given < needed {
        return Err(SetupError::BufferTooSmall { buffer, needed, given });
    }
    Ok(())
}

impl<'a, F: FileSource> Appliance<'a, F> {
    /// Sets up the interface and sockets in `storage`, serving boot artifacts from
    /// `files` (give it a slot per connection). Both come from one call:
    /// [`ApplianceBuffers::split`](crate::ApplianceBuffers::split) on firmware,
    /// [`host::leak_buffers`](crate::host::leak_buffers) on a host. `device` is only asked for its
    /// capabilities; every poll passes it again.
    pub fn new<D: Device + ?Sized>(
        settings: ApplianceSettings,
        storage: ApplianceStorage<'a>,
        files: OpenFiles<'a, F>,
        device: &mut D,
        now: Instant,
    ) -> Result<Self, SetupError> {
        check(&settings, &storage, device)?;
        if storage.connections.len() > smoltcp::config::IFACE_NEIGHBOR_CACHE_COUNT {
            // Not an error (clients may share addresses behind a router), but past this
            // many clients the interface re-resolves them by ARP at one per second.
            log_warn!(
                "{} HTTP connections but room for {} ARP entries: more concurrent clients than that will stall",
                storage.connections.len(),
                smoltcp::config::IFACE_NEIGHBOR_CACHE_COUNT
            );
        }
        let ApplianceStorage {
            sockets,
            connections,
            tcp_rx,
            tcp_tx,
            responses,
            request_scratch,
            leases,
            dhcp,
            icmpv6,
            tftp,
        } = storage;
        let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(settings.mac));
        config.random_seed = settings.random_seed;
        let mut iface = Interface::new(config, device, now);
        iface.update_ip_addrs(|addresses| {
            // Capacity is two (smoltcp's default): room for both.
            let _ = addresses.push(IpCidr::Ipv4(settings.ip));
            if settings.router_advertisements {
                let _ = addresses.push(IpCidr::Ipv6(Ipv6Cidr::new(link_local(settings.mac), 64)));
            }
        });
        if let Some(gateway) = settings.gateway {
            // The route table is empty, so there is room.
            let _ = iface.routes_mut().add_default_ipv4_route(gateway);
        }
        let mut sockets = SocketSet::new(sockets);
        let buffers = HttpBuffers { slots: connections, tcp_rx, tcp_tx, responses, scratch: request_scratch };
        let http = HttpServer::new(&mut sockets, buffers, settings.http, settings.http_port);
        let tftp_on = settings.tftp.is_some();
        let (dhcp, proxy) = match settings.dhcp {
            Some(dhcp_settings) if dhcp_settings.proxy => {
                // Ports 67 and 4011 share the DHCP socket's buffers, half each.
                let (rx_meta_67, rx_meta_4011) = dhcp.rx_meta.split_at_mut(dhcp.rx_meta.len() / 2);
                let (rx_67, rx_4011) = dhcp.rx_payload.split_at_mut(dhcp.rx_payload.len() / 2);
                let (tx_meta_67, tx_meta_4011) = dhcp.tx_meta.split_at_mut(dhcp.tx_meta.len() / 2);
                let (tx_67, tx_4011) = dhcp.tx_payload.split_at_mut(dhcp.tx_payload.len() / 2);
                let port_67 = sockets.add(udp::Socket::new(
                    udp::PacketBuffer::new(rx_meta_67, rx_67),
                    udp::PacketBuffer::new(tx_meta_67, tx_67),
                ));
                let port_4011 = sockets.add(udp::Socket::new(
                    udp::PacketBuffer::new(rx_meta_4011, rx_4011),
                    udp::PacketBuffer::new(tx_meta_4011, tx_4011),
                ));
                let (ip, http_port) = (settings.ip, settings.http_port);
                (None, Some(ProxyDhcp::new(port_67, port_4011, &mut sockets, dhcp_settings, ip, http_port, tftp_on)))
            }
            Some(dhcp_settings) => {
                let socket = udp::Socket::new(
                    udp::PacketBuffer::new(dhcp.rx_meta, dhcp.rx_payload),
                    udp::PacketBuffer::new(dhcp.tx_meta, dhcp.tx_payload),
                );
                let handle = sockets.add(socket);
                let (ip, http_port) = (settings.ip, settings.http_port);
                (Some(DhcpServer::new(handle, &mut sockets, leases, dhcp_settings, ip, http_port, tftp_on)), None)
            }
            None => (None, None),
        };
        let adverts = if settings.router_advertisements {
            // Solicitations go to ff02::2, which smoltcp drops unless the group is joined.
            let _ = iface.join_multicast_group(IPV6_LINK_LOCAL_ALL_ROUTERS);
            let socket = raw::Socket::new(
                Some(IpVersion::Ipv6),
                Some(IpProtocol::Icmpv6),
                raw::PacketBuffer::new(icmpv6.rx_meta, icmpv6.rx_payload),
                raw::PacketBuffer::new(icmpv6.tx_meta, icmpv6.tx_payload),
            );
            Some(RouterAdvertiser::new(sockets.add(socket), settings.mac))
        } else {
            None
        };
        let ip_mtu = device.capabilities().ip_mtu();
        let tftp = settings
            .tftp
            .map(|tftp_settings| TftpServer::new(&mut sockets, tftp, tftp_settings, ip_mtu, settings.random_seed));
        // On a link with a larger MTU (a 64 KiB veth or TAP for fast artifacts) the gate
        // still runs: a frame larger than its buffer is dropped only while every socket is
        // busy, and clients of a boot server send small ones (requests, ACKs); TCP resends
        // any that was dropped. Without the gate, a full pool would reset new clients.
        let gate_frame = [0; GATE_FRAME];
        Ok(Appliance {
            iface,
            sockets,
            http,
            dhcp,
            proxy,
            adverts,
            tftp,
            files,
            settings,
            busy: false,
            gate_frame,
            syn_backlog: SynBacklog::EMPTY,
            held_back: HeldBack::default(),
            held_back_logged: None,
            requests: RequestCounts::default(),
        })
    }

    /// Receives and sends what `device` has and serves every socket, answering HTTP
    /// requests from `inventory` and `config`. Returns whether anything happened.
    pub fn poll<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> bool {
        let mut activity = false;
        self.busy = true;
        for _ in 0..MAX_ROUNDS {
            let changed = self.exchange(now, device, inventory, config);
            let served = self.serve(now, inventory, config);
            activity |= changed | served;
            if !served {
                self.busy = false;
                break;
            }
        }
        activity
    }

    /// The interface's own poll (every received frame in, then every queued frame out),
    /// with two differences for boot storms:
    ///
    /// - DHCP messages are answered as they arrive. When a storm powers on, DISCOVERs come
    ///   back to back; read all at once, they overflowed the DHCP socket's few slots and
    ///   the rest were dropped, each costing its client a retransmission (iPXE waits 1, 2,
    ///   4, 8 s, then gives up). Answering between frames, and sending the replies whenever
    ///   the send buffer fills, keeps up with a burst of any length.
    /// - While no HTTP socket listens, SYNs to the HTTP port are held rather than reset,
    ///   and replayed as soon as a socket listens (see `syn_backlog`): iPXE fails the boot
    ///   on a reset.
    fn exchange<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> bool {
        self.iface.poll_maintenance(now);
        let mut changed = false;
        let (mut held, mut dropped) = (0, 0);
        loop {
            let accepting = self.http.accepting(&self.sockets);
            let frame = &mut self.gate_frame;
            // A socket listens: the client waiting longest gets it first. Bounded: each
            // replay takes a SYN out of the backlog.
            let ingress = if accepting && !self.syn_backlog.is_empty() {
                let Some(len) = self.syn_backlog.take_oldest(now, frame) else { continue };
                let mut replay = Replay::new(device, frame.get(..len).unwrap_or_default());
                let _ = self.iface.poll_ingress_single(now, &mut replay, &mut self.sockets);
                changed = true;
                continue;
            } else if !accepting {
                let to = Destination {
                    mac: self.settings.mac.0,
                    ipv4: self.settings.ip.address().octets(),
                    ipv6: self.settings.router_advertisements.then(|| link_local(self.settings.mac).octets()),
                    port: self.settings.http_port,
                };
                let mut gate = SynGate::new(device, frame, &mut self.syn_backlog, to, now);
                let ingress = self.iface.poll_ingress_single(now, &mut gate, &mut self.sockets);
                held += gate.held;
                dropped += gate.dropped;
                ingress
            } else {
                self.iface.poll_ingress_single(now, device, &mut self.sockets)
            };
            match ingress {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => changed = true,
            }
            let Some(dhcp) = &mut self.dhcp else { continue };
            // Bounded: each pass sends at least one queued reply or answers nothing more.
            while dhcp.backlogged(&self.sockets) {
                changed |= dhcp.poll(&mut self.sockets, now, inventory, config);
                if !dhcp.backlogged(&self.sockets)
                    || self.iface.poll_egress(now, device, &mut self.sockets) == PollResult::None
                {
                    break;
                }
            }
        }
        while self.iface.poll_egress(now, device, &mut self.sockets) == PollResult::SocketStateChanged {
            changed = true;
        }
        self.note_held_back(held, dropped, now);
        changed
    }

    /// Logs, at most every [`HELD_BACK_LOG_INTERVAL`], that clients wait for a socket.
    fn note_held_back(&mut self, held: u32, dropped: u32, now: Instant) {
        self.held_back.held = self.held_back.held.saturating_add(held);
        self.held_back.dropped = self.held_back.dropped.saturating_add(dropped);
        if self.held_back == HeldBack::default()
            || self.held_back_logged.is_some_and(|at| now < at + HELD_BACK_LOG_INTERVAL)
        {
            return;
        }
        log_warn!(
            "http every connection busy: {} connection attempts held until a socket is free, {} dropped \
             (backlog full; the clients retransmit); a larger connection pool would serve them sooner",
            self.held_back.held,
            self.held_back.dropped
        );
        self.held_back = HeldBack::default();
        self.held_back_logged = Some(now);
    }

    fn serve(&mut self, now: Instant, inventory: &Inventory<'_>, config: &RenderConfig<'_>) -> bool {
        let clients_waiting = self.clients_waiting();
        let mut service = IpxeService::new(&mut self.files, inventory, config, &mut self.requests);
        let mut served = self.http.poll(&mut self.sockets, now, self.settings.clock, &mut service, clients_waiting);
        if let Some(dhcp) = &mut self.dhcp {
            served |= dhcp.poll(&mut self.sockets, now, inventory, config);
        }
        if let Some(proxy) = &mut self.proxy {
            served |= proxy.poll(&mut self.sockets, now, inventory, config);
        }
        if let Some(adverts) = &mut self.adverts {
            served |= adverts.poll(&mut self.sockets, now);
        }
        if let Some(tftp) = &mut self.tftp {
            served |= tftp.poll(&mut self.sockets, now, &mut self.files);
        }
        served
    }

    /// Whether new clients wait for an HTTP socket: SYNs are held.
    fn clients_waiting(&self) -> bool {
        !self.syn_backlog.is_empty()
    }

    /// The next time [`Appliance::poll`] must run if no frame arrives first.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        if self.busy || (!self.syn_backlog.is_empty() && self.http.accepting(&self.sockets)) {
            return Some(now);
        }
        let ours = [
            self.iface.poll_at(now, &self.sockets),
            self.http.poll_at(&self.sockets, self.clients_waiting()),
            self.adverts.as_ref().and_then(RouterAdvertiser::poll_at),
            self.tftp.as_ref().and_then(TftpServer::poll_at).map(|at| at.max(now)),
        ];
        ours.into_iter().flatten().min()
    }

    /// Requests answered since start-up, by script kind (or file) and status class.
    pub fn request_counts(&self) -> &RequestCounts {
        &self.requests
    }

    /// DHCP leases bound and unexpired at `now` (0 without the DHCP server).
    pub fn leases_bound(&self, now: Instant) -> usize {
        self.dhcp.as_ref().map_or(0, |dhcp| dhcp.bound_leases(now))
    }

    /// How long the caller may wait for a frame before polling again.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        self.poll_at(now).map(|at| if at > now { at - now } else { Duration::ZERO })
    }

    /// The appliance's IPv4 address.
    pub fn ipv4(&self) -> Ipv4Address {
        self.settings.ip.address()
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &ApplianceSettings {
        &self.settings
    }

    /// The files being served, and their source.
    pub fn files_mut(&mut self) -> &mut OpenFiles<'a, F> {
        &mut self.files
    }
}

fn check<D: Device + ?Sized>(
    settings: &ApplianceSettings,
    storage: &ApplianceStorage<'_>,
    device: &D,
) -> Result<(), SetupError> {
    if device.capabilities().medium != Medium::Ethernet {
        return Err(SetupError::NotEthernet);
    }
    if !settings.mac.is_unicast() {
        return Err(SetupError::InvalidMac);
    }
    if !IpAddress::Ipv4(settings.ip.address()).is_unicast() {
        return Err(SetupError::InvalidAddress);
    }
    if settings.http_port == 0 {
        return Err(SetupError::InvalidPort);
    }
    let connections = storage.connections.len();
    if connections == 0 {
        return Err(SetupError::NoConnections);
    }
    let tftp_sockets = settings.tftp.map_or(0, |_| 1 + storage.tftp.transfers);
    let proxy = settings.dhcp.is_some_and(|dhcp| dhcp.proxy);
    let needed = connections
        + usize::from(settings.dhcp.is_some())
        + usize::from(proxy)
        + usize::from(settings.router_advertisements)
        + tftp_sockets;
    if storage.sockets.len() < needed {
        return Err(SetupError::TooFewSockets { needed, given: storage.sockets.len() });
    }
    at_least("TCP receive buffer per connection", storage.tcp_rx.len() / connections, MIN_TCP_BUFFER)?;
    at_least("TCP send buffer per connection", storage.tcp_tx.len() / connections, MIN_TCP_BUFFER)?;
    at_least("response buffer per connection", storage.responses.len() / connections, MIN_RESPONSE)?;
    at_least("request scratch", storage.request_scratch.len(), MIN_SCRATCH)?;
    if proxy {
        // Ports 67 and 4011 split the DHCP buffers.
        at_least("DHCP receive buffer (ProxyDHCP: two ports)", storage.dhcp.rx_payload.len(), 2 * MIN_DHCP_PAYLOAD)?;
        at_least("DHCP send buffer (ProxyDHCP: two ports)", storage.dhcp.tx_payload.len(), 2 * MIN_DHCP_PAYLOAD)?;
        at_least("DHCP receive slots (ProxyDHCP: two ports)", storage.dhcp.rx_meta.len(), 2)?;
        at_least("DHCP send slots (ProxyDHCP: two ports)", storage.dhcp.tx_meta.len(), 2)?;
    } else if let Some(dhcp) = &settings.dhcp {
        let subnet = settings.ip;
        if u32::from(dhcp.first) > u32::from(dhcp.last)
            || !subnet.contains_addr(&dhcp.first)
            || !subnet.contains_addr(&dhcp.last)
        {
            return Err(SetupError::DhcpRange);
        }
        at_least("DHCP lease table", storage.leases.len(), 1)?;
        at_least("DHCP receive buffer", storage.dhcp.rx_payload.len(), MIN_DHCP_PAYLOAD)?;
        at_least("DHCP send buffer", storage.dhcp.tx_payload.len(), MIN_DHCP_PAYLOAD)?;
        at_least("DHCP receive slots", storage.dhcp.rx_meta.len(), 1)?;
        at_least("DHCP send slots", storage.dhcp.tx_meta.len(), 1)?;
    }
    if let Some(tftp) = &settings.tftp {
        if tftp.port == 0 {
            return Err(SetupError::InvalidPort);
        }
        let listen = &storage.tftp.listen;
        at_least("TFTP request receive buffer", listen.rx_payload.len(), MIN_TFTP_REQUEST)?;
        at_least("TFTP request send buffer", listen.tx_payload.len(), MIN_TFTP_REQUEST)?;
        at_least("TFTP request receive slots", listen.rx_meta.len(), 1)?;
        at_least("TFTP request send slots", listen.tx_meta.len(), 1)?;
        let transfers = storage.tftp.transfers.max(1);
        let tftp = &storage.tftp;
        at_least("TFTP receive buffer per transfer", tftp.rx_payload.len() / transfers, MIN_TFTP_ACKS)?;
        at_least("TFTP receive slots per transfer", tftp.rx_meta.len() / transfers, 1)?;
        // One default-sized block (512 bytes) at least, so every client can be served.
        at_least("TFTP send buffer per transfer", tftp.tx_payload.len() / transfers, MIN_TFTP_BLOCK)?;
        at_least("TFTP send slots per transfer", tftp.tx_meta.len() / transfers, 1)?;
    }
    if settings.router_advertisements {
        at_least("ICMPv6 receive buffer", storage.icmpv6.rx_payload.len(), MIN_ICMPV6_PAYLOAD)?;
        at_least("ICMPv6 send buffer", storage.icmpv6.tx_payload.len(), MIN_ICMPV6_PAYLOAD)?;
        at_least("ICMPv6 receive slots", storage.icmpv6.rx_meta.len(), 1)?;
        at_least("ICMPv6 send slots", storage.icmpv6.tx_meta.len(), 1)?;
    }
    Ok(())
}
