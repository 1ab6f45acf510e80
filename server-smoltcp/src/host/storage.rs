//! Appliance buffers allocated once, at start-up, and kept for the life of the process.

use std::boxed::Box;
use std::vec;

use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};

use crate::dhcp::Lease;
use crate::http::ConnectionSlot;
use crate::storage::{ApplianceStorage, RawStorage, StorageSizes, UdpStorage};

fn leak<T: Clone>(value: T, count: usize) -> &'static mut [T] {
    Box::leak(vec![value; count].into_boxed_slice())
}

/// Allocates every buffer `sizes` describes and leaks it: the appliance runs until the
/// process exits, and after this nothing is allocated for it again.
pub fn leak_storage(sizes: &StorageSizes) -> ApplianceStorage<'static> {
    ApplianceStorage {
        sockets: Box::leak((0..sizes.sockets()).map(|_| SocketStorage::EMPTY).collect()),
        connections: leak(ConnectionSlot::EMPTY, sizes.connections),
        tcp_rx: leak(0u8, sizes.connections * sizes.tcp_rx_bytes),
        tcp_tx: leak(0u8, sizes.connections * sizes.tcp_tx_bytes),
        responses: leak(0u8, sizes.connections * sizes.response_bytes),
        request_scratch: leak(0u8, sizes.request_scratch_bytes),
        leases: leak(Lease::FREE, sizes.dhcp_leases),
        dhcp: UdpStorage {
            rx_meta: leak(udp::PacketMetadata::EMPTY, sizes.packet_slots),
            rx_payload: leak(0u8, sizes.packet_bytes),
            tx_meta: leak(udp::PacketMetadata::EMPTY, sizes.packet_slots),
            tx_payload: leak(0u8, sizes.packet_bytes),
        },
        icmpv6: RawStorage {
            rx_meta: leak(raw::PacketMetadata::EMPTY, sizes.packet_slots),
            rx_payload: leak(0u8, sizes.packet_bytes),
            tx_meta: leak(raw::PacketMetadata::EMPTY, sizes.packet_slots),
            tx_payload: leak(0u8, sizes.packet_bytes),
        },
    }
}

/// `count` empty open-file slots for [`OpenFiles`](crate::files::OpenFiles), leaked like
/// the rest of the storage: one per connection.
pub fn leak_file_slots<T>(count: usize) -> &'static mut [Option<T>] {
    Box::leak((0..count).map(|_| None).collect())
}
