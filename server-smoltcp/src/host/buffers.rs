//! Appliance buffers allocated once, at start-up, from a capacity known only then (the
//! command-line flags): owned ([`HeapApplianceBuffers`], freed when dropped) or leaked
//! for the life of the process ([`leak_buffers`]).

use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};

use crate::buffers::{ApplianceCapacity, TFTP_RX_BYTES, TFTP_RX_SLOTS};
use crate::dhcp::Lease;
use crate::files::{FileSource, OpenFiles};
use crate::http::ConnectionSlot;
use crate::storage::{ApplianceStorage, RawStorage, TftpStorage, UdpStorage};

/// Every buffer of an appliance, on the heap, of a size chosen at run time: the host's
/// counterpart of [`ApplianceBuffers`](crate::ApplianceBuffers), as core's
/// `HeapInventoryBuffers` is of its `InventoryBuffers`. Only [`new`](Self::new)
/// allocates. Holds the open-file slots, one per connection (a connection streams one
/// file at a time), typed by the file `F` of the source served from: typed by the file
/// rather than the source, so leaking the buffers asks only the file to be `'static`.
///
/// ```
/// use ipxe_config_server::host::HeapApplianceBuffers;
/// use ipxe_config_server::{ApplianceCapacity, NoFiles};
///
/// let capacity = ApplianceCapacity { connections: 3, ..ApplianceCapacity::DEFAULT };
/// let mut buffers = HeapApplianceBuffers::new(&capacity);
/// let (storage, files) = buffers.split(NoFiles);
/// assert_eq!(storage.sockets.len(), 6 + 1 + ApplianceCapacity::DEFAULT.tftp_transfers);
/// assert_eq!(files.open_count(), 0);
/// ```
pub struct HeapApplianceBuffers<'a, F> {
    sockets: Vec<SocketStorage<'a>>,
    connections: Vec<ConnectionSlot>,
    open_files: Vec<Option<F>>,
    tcp_rx: Vec<u8>,
    tcp_tx: Vec<u8>,
    responses: Vec<u8>,
    request_scratch: Vec<u8>,
    leases: Vec<Lease>,
    // One field each way, as the borrowed view has them.
    dhcp_rx_meta: Vec<udp::PacketMetadata>,
    dhcp_rx: Vec<u8>,
    dhcp_tx_meta: Vec<udp::PacketMetadata>,
    dhcp_tx: Vec<u8>,
    icmpv6_rx_meta: Vec<raw::PacketMetadata>,
    icmpv6_rx: Vec<u8>,
    icmpv6_tx_meta: Vec<raw::PacketMetadata>,
    icmpv6_tx: Vec<u8>,
    tftp_rx_meta: Vec<udp::PacketMetadata>,
    tftp_rx: Vec<u8>,
    tftp_tx_meta: Vec<udp::PacketMetadata>,
    tftp_tx: Vec<u8>,
    tftp_transfers: usize,
    tftp_transfer_rx_meta: Vec<udp::PacketMetadata>,
    tftp_transfer_rx: Vec<u8>,
    tftp_transfer_tx_meta: Vec<udp::PacketMetadata>,
    tftp_transfer_tx: Vec<u8>,
}

impl<'a, F> HeapApplianceBuffers<'a, F> {
    /// Allocates every buffer `capacity` describes.
    pub fn new(capacity: &ApplianceCapacity) -> Self {
        let (slots, bytes) = (capacity.packet_slots, capacity.packet_bytes);
        let transfers = capacity.tftp_transfers;
        HeapApplianceBuffers {
            sockets: (0..capacity.sockets()).map(|_| SocketStorage::EMPTY).collect(),
            connections: vec![ConnectionSlot::EMPTY; capacity.connections],
            // One per connection and one per TFTP transfer.
            open_files: (0..capacity.connections + capacity.tftp_transfers).map(|_| None).collect(),
            tcp_rx: vec![0; capacity.connections * capacity.tcp_rx_bytes],
            tcp_tx: vec![0; capacity.connections * capacity.tcp_tx_bytes],
            responses: vec![0; capacity.connections * capacity.response_bytes],
            request_scratch: vec![0; capacity.request_scratch_bytes],
            leases: vec![Lease::FREE; capacity.dhcp_leases],
            dhcp_rx_meta: vec![udp::PacketMetadata::EMPTY; slots],
            dhcp_rx: vec![0; bytes],
            dhcp_tx_meta: vec![udp::PacketMetadata::EMPTY; slots],
            dhcp_tx: vec![0; bytes],
            icmpv6_rx_meta: vec![raw::PacketMetadata::EMPTY; slots],
            icmpv6_rx: vec![0; bytes],
            icmpv6_tx_meta: vec![raw::PacketMetadata::EMPTY; slots],
            icmpv6_tx: vec![0; bytes],
            tftp_rx_meta: vec![udp::PacketMetadata::EMPTY; slots],
            tftp_rx: vec![0; bytes],
            tftp_tx_meta: vec![udp::PacketMetadata::EMPTY; slots],
            tftp_tx: vec![0; bytes],
            tftp_transfers: capacity.tftp_transfers,
            tftp_transfer_rx_meta: vec![udp::PacketMetadata::EMPTY; transfers * TFTP_RX_SLOTS],
            tftp_transfer_rx: vec![0; transfers * TFTP_RX_BYTES],
            tftp_transfer_tx_meta: vec![udp::PacketMetadata::EMPTY; transfers * capacity.tftp_tx_slots()],
            tftp_transfer_tx: vec![0; transfers * capacity.tftp_tx_bytes()],
        }
    }

    /// Lends everything out for the rest of the buffers' life, as
    /// [`ApplianceBuffers::split`](crate::ApplianceBuffers::split) does: the storage for
    /// [`Appliance::new`](crate::Appliance::new) and the open-file table over `source`.
    pub fn split<S: FileSource<File = F>>(&'a mut self, source: S) -> (ApplianceStorage<'a>, OpenFiles<'a, S>) {
        let storage = ApplianceStorage {
            sockets: &mut self.sockets,
            connections: &mut self.connections,
            tcp_rx: &mut self.tcp_rx,
            tcp_tx: &mut self.tcp_tx,
            responses: &mut self.responses,
            request_scratch: &mut self.request_scratch,
            leases: &mut self.leases,
            dhcp: UdpStorage {
                rx_meta: &mut self.dhcp_rx_meta,
                rx_payload: &mut self.dhcp_rx,
                tx_meta: &mut self.dhcp_tx_meta,
                tx_payload: &mut self.dhcp_tx,
            },
            icmpv6: RawStorage {
                rx_meta: &mut self.icmpv6_rx_meta,
                rx_payload: &mut self.icmpv6_rx,
                tx_meta: &mut self.icmpv6_tx_meta,
                tx_payload: &mut self.icmpv6_tx,
            },
            tftp: TftpStorage {
                listen: UdpStorage {
                    rx_meta: &mut self.tftp_rx_meta,
                    rx_payload: &mut self.tftp_rx,
                    tx_meta: &mut self.tftp_tx_meta,
                    tx_payload: &mut self.tftp_tx,
                },
                transfers: self.tftp_transfers,
                rx_meta: &mut self.tftp_transfer_rx_meta,
                rx_payload: &mut self.tftp_transfer_rx,
                tx_meta: &mut self.tftp_transfer_tx_meta,
                tx_payload: &mut self.tftp_transfer_tx,
            },
        };
        (storage, OpenFiles::new(source, &mut self.open_files))
    }
}

/// Allocates every buffer `capacity` describes, the open-file slots over `source`
/// included, and leaks them: the appliance runs until the process exits, and after this
/// nothing is allocated for it again.
///
/// ```
/// use ipxe_config_server::{host, ApplianceCapacity, NoFiles};
///
/// let capacity = ApplianceCapacity { connections: 64, ..ApplianceCapacity::DEFAULT };
/// let (storage, files) = host::leak_buffers(&capacity, NoFiles);
/// assert_eq!(storage.sockets.len(), 67 + 1 + ApplianceCapacity::DEFAULT.tftp_transfers);
/// assert_eq!(files.open_count(), 0);
/// ```
pub fn leak_buffers<S: FileSource<File: 'static>>(
    capacity: &ApplianceCapacity,
    source: S,
) -> (ApplianceStorage<'static>, OpenFiles<'static, S>) {
    Box::leak(Box::new(HeapApplianceBuffers::new(capacity))).split(source)
}
