//! Appliance buffers allocated once, at start-up, from a capacity known only then (the
//! command-line flags), and kept for the life of the process.

use std::boxed::Box;
use std::vec;

use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};

use crate::buffers::ApplianceCapacity;
use crate::dhcp::Lease;
use crate::files::{FileSource, OpenFiles};
use crate::http::ConnectionSlot;
use crate::storage::{ApplianceStorage, RawStorage, UdpStorage};

fn leak<T: Clone>(value: T, count: usize) -> &'static mut [T] {
    Box::leak(vec![value; count].into_boxed_slice())
}

/// Allocates every buffer `capacity` describes, the open-file slots over `source`
/// included (one per connection: a connection streams one file at a time), and leaks
/// them: the appliance runs until the process exits, and after this nothing is allocated
/// for it again. The host's counterpart of
/// [`ApplianceBuffers::split`](crate::ApplianceBuffers::split).
///
/// ```
/// use ipxe_config_server::{host, ApplianceCapacity, NoFiles};
///
/// let capacity = ApplianceCapacity { connections: 64, ..ApplianceCapacity::DEFAULT };
/// let (storage, files) = host::leak_buffers(&capacity, NoFiles);
/// assert_eq!(storage.sockets.len(), 66);
/// assert_eq!(files.open_count(), 0);
/// ```
pub fn leak_buffers<S: FileSource<File: 'static>>(
    capacity: &ApplianceCapacity,
    source: S,
) -> (ApplianceStorage<'static>, OpenFiles<'static, S>) {
    (leak_storage(capacity), OpenFiles::new(source, leak_file_slots(capacity.connections)))
}

/// The buffers of [`leak_buffers`] without the open-file slots, for a caller that sizes
/// those itself (a test's file source that allows fewer open files than connections).
pub fn leak_storage(capacity: &ApplianceCapacity) -> ApplianceStorage<'static> {
    ApplianceStorage {
        sockets: Box::leak((0..capacity.sockets()).map(|_| SocketStorage::EMPTY).collect()),
        connections: leak(ConnectionSlot::EMPTY, capacity.connections),
        tcp_rx: leak(0u8, capacity.connections * capacity.tcp_rx_bytes),
        tcp_tx: leak(0u8, capacity.connections * capacity.tcp_tx_bytes),
        responses: leak(0u8, capacity.connections * capacity.response_bytes),
        request_scratch: leak(0u8, capacity.request_scratch_bytes),
        leases: leak(Lease::FREE, capacity.dhcp_leases),
        dhcp: UdpStorage {
            rx_meta: leak(udp::PacketMetadata::EMPTY, capacity.packet_slots),
            rx_payload: leak(0u8, capacity.packet_bytes),
            tx_meta: leak(udp::PacketMetadata::EMPTY, capacity.packet_slots),
            tx_payload: leak(0u8, capacity.packet_bytes),
        },
        icmpv6: RawStorage {
            rx_meta: leak(raw::PacketMetadata::EMPTY, capacity.packet_slots),
            rx_payload: leak(0u8, capacity.packet_bytes),
            tx_meta: leak(raw::PacketMetadata::EMPTY, capacity.packet_slots),
            tx_payload: leak(0u8, capacity.packet_bytes),
        },
    }
}

/// `count` empty open-file slots for [`OpenFiles`], leaked like the rest of the buffers
/// (see [`leak_storage`]).
pub fn leak_file_slots<T>(count: usize) -> &'static mut [Option<T>] {
    Box::leak((0..count).map(|_| None).collect())
}
