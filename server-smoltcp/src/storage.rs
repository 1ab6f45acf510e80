//! Every buffer the appliance uses, provided by the caller: statics on firmware, memory
//! allocated once at start-up on a host. Nothing is allocated afterwards.

use core::mem::size_of;

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

/// All of an appliance's memory.
pub struct ApplianceStorage<'a> {
    /// smoltcp's socket table: one per connection slot, plus one for DHCP and one for
    /// router advertisements when those run. Fill with [`SocketStorage::EMPTY`].
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
}

/// Sizes of every buffer, for a caller that allocates them (see
/// [`host::leak_storage`](crate::host::leak_storage)) or to compute the RAM a
/// configuration needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageSizes {
    /// Concurrent HTTP connections.
    pub connections: usize,
    /// TCP receive buffer per connection.
    pub tcp_rx_bytes: usize,
    /// TCP send buffer per connection.
    pub tcp_tx_bytes: usize,
    /// Response buffer per connection.
    pub response_bytes: usize,
    /// The shared request scratch.
    pub request_scratch_bytes: usize,
    /// DHCP lease slots.
    pub dhcp_leases: usize,
    /// Queued datagrams each way on the DHCP and ICMPv6 sockets.
    pub packet_slots: usize,
    /// Payload bytes each way on the DHCP and ICMPv6 sockets.
    pub packet_bytes: usize,
}

impl StorageSizes {
    /// Eight connections with 4 KiB receive, 8 KiB send and 4 KiB response buffers, a
    /// 4 KiB request scratch, 64 leases and 4 × 1.5 KiB of packet buffers per socket.
    pub const DEFAULT: StorageSizes = StorageSizes {
        connections: 8,
        tcp_rx_bytes: 4096,
        tcp_tx_bytes: 8192,
        response_bytes: 4096,
        request_scratch_bytes: 4096,
        dhcp_leases: 64,
        packet_slots: 4,
        packet_bytes: 1536,
    };

    /// Socket table entries: connections plus DHCP plus ICMPv6.
    pub const fn sockets(&self) -> usize {
        self.connections + 2
    }

    /// Bytes of all buffers together (what statics for this configuration occupy).
    ///
    /// ```
    /// use ipxe_config_server::StorageSizes;
    /// assert!(StorageSizes::DEFAULT.total_bytes() < 192 * 1024);
    /// ```
    pub const fn total_bytes(&self) -> usize {
        let per_connection = self.tcp_rx_bytes + self.tcp_tx_bytes + self.response_bytes + size_of::<ConnectionSlot>();
        let packet_sockets = 2 * (2 * self.packet_bytes)
            + 2 * self.packet_slots * size_of::<udp::PacketMetadata>()
            + 2 * self.packet_slots * size_of::<raw::PacketMetadata>();
        self.connections * per_connection
            + self.request_scratch_bytes
            + self.dhcp_leases * size_of::<Lease>()
            + self.sockets() * size_of::<SocketStorage<'static>>()
            + packet_sockets
    }
}

impl Default for StorageSizes {
    fn default() -> Self {
        Self::DEFAULT
    }
}
