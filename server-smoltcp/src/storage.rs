//! The borrowed view of every buffer the appliance uses, as [`Appliance::new`]
//! takes it: lent by [`ApplianceBuffers`] (a firmware `static`), by
//! [`host::leak_buffers`](crate::host::leak_buffers) (allocated once at start-up), or
//! assembled by hand from slices where one `static` cannot hold them all (a firmware that
//! puts socket buffers and tables in different RAM regions). Nothing is allocated
//! afterwards.
//!
//! [`Appliance::new`]: crate::Appliance::new
//! [`ApplianceBuffers`]: crate::ApplianceBuffers

use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};

use crate::dhcp::Lease;
use crate::http::ConnectionSlot;

/// Buffers of one packet socket (metadata slots and payload bytes, each way).
pub struct UdpStorage<'a> {
    /// One slot per queued received datagram.
    pub rx_meta: &'a mut [udp::PacketMetadata],
    /// Received payload bytes.
    pub rx_payload: &'a mut [u8],
    /// One slot per queued outgoing datagram.
    pub tx_meta: &'a mut [udp::PacketMetadata],
    /// Outgoing payload bytes.
    pub tx_payload: &'a mut [u8],
}

/// Buffers of the raw ICMPv6 socket (whole IPv6 packets).
pub struct RawStorage<'a> {
    /// One slot per queued received packet.
    pub rx_meta: &'a mut [raw::PacketMetadata],
    /// Received packet bytes.
    pub rx_payload: &'a mut [u8],
    /// One slot per queued outgoing packet.
    pub tx_meta: &'a mut [raw::PacketMetadata],
    /// Outgoing packet bytes.
    pub tx_payload: &'a mut [u8],
}

/// Buffers of the TFTP server: its request socket's, and the transfer sockets' split
/// evenly into `transfers` shares (one socket, one transfer ID, per transfer).
pub struct TftpStorage<'a> {
    /// The request socket (port 69).
    pub listen: UdpStorage<'a>,
    /// Concurrent transfers: the number of transfer sockets.
    pub transfers: usize,
    /// Received-datagram slots of all transfer sockets.
    pub rx_meta: &'a mut [udp::PacketMetadata],
    /// Received bytes (ACKs) of all transfer sockets.
    pub rx_payload: &'a mut [u8],
    /// Outgoing-datagram slots of all transfer sockets: a window's blocks each.
    pub tx_meta: &'a mut [udp::PacketMetadata],
    /// Outgoing bytes of all transfer sockets: a window's blocks each.
    pub tx_payload: &'a mut [u8],
}

/// All of an appliance's memory, borrowed (the open-file slots apart: they go to
/// [`OpenFiles`](crate::OpenFiles)).
pub struct ApplianceStorage<'a> {
    /// smoltcp's socket table: one per connection slot, plus one for DHCP and one for
    /// router advertisements when those run, and one for TFTP requests plus one per
    /// TFTP transfer when TFTP runs. Fill with [`SocketStorage::EMPTY`].
    pub sockets: &'a mut [SocketStorage<'a>],
    /// One per concurrent HTTP connection: the connection pool's size.
    pub connections: &'a mut [ConnectionSlot],
    /// TCP receive buffers, split evenly between connections. Each share should hold a
    /// whole request head ([`HttpLimits::max_header_bytes`](crate::HttpLimits)).
    pub tcp_rx: &'a mut [u8],
    /// TCP send buffers, split evenly between connections.
    pub tcp_tx: &'a mut [u8],
    /// Response buffers (head plus script), split evenly between connections; a share
    /// must hold the longest script plus 256 bytes for the head.
    pub responses: &'a mut [u8],
    /// Scratch for parsing a request head; shared, as heads are parsed one at a time.
    pub request_scratch: &'a mut [u8],
    /// DHCP lease table: one slot per pool address (a shorter table shortens the pool).
    pub leases: &'a mut [Lease],
    /// DHCP socket buffers.
    pub dhcp: UdpStorage<'a>,
    /// Router-advertisement socket buffers.
    pub icmpv6: RawStorage<'a>,
    /// TFTP socket buffers.
    pub tftp: TftpStorage<'a>,
}
