//! The memory an appliance serves from: how much of it ([`ApplianceCapacity`]), and owned
//! buffers of a size fixed at compile time ([`ApplianceBuffers`], for a firmware `static`).
//! A host allocates the same buffers once at start-up instead, from a capacity read from
//! its flags ([`host::leak_buffers`](crate::host::leak_buffers), or
//! [`host::HeapApplianceBuffers`](crate::host::HeapApplianceBuffers) to free them again;
//! feature `host`).
//!
//! Names in this crate and in core: `*Capacity` says how much, `*Buffers` owns the
//! memory, `*Storage` ([`ApplianceStorage`], core's `InventoryStorage`) is the borrowed
//! view of it that [`Appliance::new`](crate::Appliance::new) and core's `load` take.
//! These are the *appliance* buffers (sockets, connections, responses, leases); the
//! inventory's are core's `InventoryBuffers`.

use core::mem::{size_of, MaybeUninit};

use smoltcp::iface::SocketStorage;
use smoltcp::socket::{raw, udp};

use crate::dhcp::Lease;
use crate::files::{FileSource, OpenFiles};
use crate::http::ConnectionSlot;
use crate::storage::{ApplianceStorage, RawStorage, TftpStorage, UdpStorage};
use crate::tftp::MAX_DATA_PACKET;

/// Sockets beside the HTTP connections' and TFTP's: one for DHCP, one for ProxyDHCP's
/// port 4011 and one for router advertisements.
pub const SERVICE_SOCKETS: usize = 3;

/// Queued datagrams each way on the DHCP and ICMPv6 sockets of [`ApplianceBuffers`]: a
/// few, as DHCP messages are answered as they arrive (see [`Appliance::poll`](crate::Appliance::poll)).
pub const PACKET_SLOTS: usize = 4;

/// Payload bytes each way on the DHCP and ICMPv6 sockets of [`ApplianceBuffers`]: one
/// Ethernet frame's worth, at least the 576 bytes a DHCP message may take.
pub const PACKET_BYTES: usize = 1536;

/// Concurrent TFTP transfers of [`ApplianceBuffers`]: firmware boots one machine's
/// PXE ROM at a time in practice, and each transfer costs a window of blocks.
pub const TFTP_TRANSFERS: usize = 2;

/// Blocks a TFTP transfer may have in flight (its send buffer's size) in
/// [`ApplianceBuffers`] and [`ApplianceCapacity::new`]: OVMF asks for a window of 4.
pub const TFTP_WINDOW_BLOCKS: usize = 4;

/// Received-datagram slots and bytes per TFTP transfer socket: ACKs are 4 bytes.
pub const TFTP_RX_SLOTS: usize = 4;
/// See [`TFTP_RX_SLOTS`].
pub const TFTP_RX_BYTES: usize = 512;

/// Room beyond a window in a transfer's send buffer: "unknown transfer ID" errors to strangers.
const TFTP_TX_SPARE_SLOTS: usize = 2;
const TFTP_TX_SPARE_BYTES: usize = 64;

/// How much an appliance's buffers hold: the one place the socket count and the total
/// RAM are worked out from the other sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplianceCapacity {
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
    /// Concurrent TFTP transfers (a socket each, beside the request socket).
    pub tftp_transfers: usize,
    /// Blocks of 1468 bytes each TFTP transfer may have in flight.
    pub tftp_window_blocks: usize,
}

impl ApplianceCapacity {
    /// Eight connections with 4 KiB receive, 8 KiB send and 4 KiB response buffers, a
    /// 4 KiB request scratch, 64 leases and 4 × 1.5 KiB of packet buffers per socket.
    pub const DEFAULT: ApplianceCapacity = ApplianceCapacity::new(8, 4096, 8192, 4096, 64);

    /// Room for `connections` connections with these buffers each and `dhcp_leases`
    /// leases, the way [`ApplianceBuffers`] derives the rest: a request scratch as large
    /// as a receive buffer (a request head must fit in one anyway) and the packet
    /// sockets of [`PACKET_SLOTS`] × [`PACKET_BYTES`], [`TFTP_TRANSFERS`] TFTP transfers
    /// of [`TFTP_WINDOW_BLOCKS`] blocks.
    pub const fn new(
        connections: usize,
        receive_bytes: usize,
        send_bytes: usize,
        response_bytes: usize,
        dhcp_leases: usize,
    ) -> Self {
        ApplianceCapacity {
            connections,
            tcp_rx_bytes: receive_bytes,
            tcp_tx_bytes: send_bytes,
            response_bytes,
            request_scratch_bytes: receive_bytes,
            dhcp_leases,
            packet_slots: PACKET_SLOTS,
            packet_bytes: PACKET_BYTES,
            tftp_transfers: TFTP_TRANSFERS,
            tftp_window_blocks: TFTP_WINDOW_BLOCKS,
        }
    }

    /// Socket table entries: connections plus DHCP (and ProxyDHCP's port 4011) plus
    /// ICMPv6, plus the TFTP request socket and one per transfer.
    pub const fn sockets(&self) -> usize {
        self.connections + SERVICE_SOCKETS + 1 + self.tftp_transfers
    }

    /// Outgoing-datagram slots of one TFTP transfer socket.
    pub const fn tftp_tx_slots(&self) -> usize {
        self.tftp_window_blocks + TFTP_TX_SPARE_SLOTS
    }

    /// Outgoing bytes of one TFTP transfer socket.
    pub const fn tftp_tx_bytes(&self) -> usize {
        self.tftp_window_blocks * MAX_DATA_PACKET + TFTP_TX_SPARE_BYTES
    }

    /// Bytes of all buffers together (what statics for this configuration occupy),
    /// without the open-file slots, whose size depends on the file source.
    ///
    /// ```
    /// use ipxe_config_server::ApplianceCapacity;
    /// assert!(ApplianceCapacity::DEFAULT.total_bytes() < 208 * 1024);
    /// ```
    pub const fn total_bytes(&self) -> usize {
        let per_connection = self.tcp_rx_bytes + self.tcp_tx_bytes + self.response_bytes + size_of::<ConnectionSlot>();
        // DHCP, ICMPv6 and the TFTP request socket.
        let packet_sockets = 3 * (2 * self.packet_bytes)
            + 4 * self.packet_slots * size_of::<udp::PacketMetadata>()
            + 2 * self.packet_slots * size_of::<raw::PacketMetadata>();
        let tftp_transfer = TFTP_RX_BYTES
            + self.tftp_tx_bytes()
            + (TFTP_RX_SLOTS + self.tftp_tx_slots()) * size_of::<udp::PacketMetadata>();
        self.connections * per_connection
            + self.request_scratch_bytes
            + self.dhcp_leases * size_of::<Lease>()
            + self.sockets() * size_of::<SocketStorage<'static>>()
            + packet_sockets
            + self.tftp_transfers * tftp_transfer
    }
}

impl Default for ApplianceCapacity {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The TFTP request socket and one per transfer.
const TFTP_SOCKETS: usize = 1 + TFTP_TRANSFERS;

/// smoltcp's socket table: one entry per connection, then the service sockets, laid out
/// as one array (see [`SocketTable::as_mut_slice`]).
#[repr(C)]
struct SocketTable<'a, const CONNECTIONS: usize> {
    http: [SocketStorage<'a>; CONNECTIONS],
    services: [SocketStorage<'a>; SERVICE_SOCKETS],
    tftp: [SocketStorage<'a>; TFTP_SOCKETS],
}

impl<'a, const CONNECTIONS: usize> SocketTable<'a, CONNECTIONS> {
    /// Built slot by slot rather than copied from a constant, which would put a table's
    /// worth of empty sockets into flash.
    fn empty() -> Self {
        SocketTable {
            http: core::array::from_fn(|_| SocketStorage::EMPTY),
            services: core::array::from_fn(|_| SocketStorage::EMPTY),
            tftp: core::array::from_fn(|_| SocketStorage::EMPTY),
        }
    }

    /// The table as the one slice `SocketSet` takes. Stable Rust cannot name an array
    /// of `CONNECTIONS + 6` entries in a generic type, so the parts are declared apart
    /// and viewed together.
    fn as_mut_slice(&mut self) -> &mut [SocketStorage<'a>] {
        let entries = CONNECTIONS + SERVICE_SOCKETS + TFTP_SOCKETS;
        // reason: the one way to give smoltcp a table sized from a generic parameter
        // without over-allocating whole sockets (hundreds of bytes each)
        #[allow(unsafe_code)]
        // SAFETY: `repr(C)` lays `http`, `services` then `tftp` out in order, and arrays
        // of one element type have no padding between them (an array's size is a multiple
        // of its alignment), so the struct is `entries` consecutive, initialised
        // `SocketStorage`s. The pointer comes from `&mut self`, which covers all of them,
        // and the slice borrows `self` mutably for its whole life.
        unsafe {
            core::slice::from_raw_parts_mut(core::ptr::from_mut(self).cast::<SocketStorage<'a>>(), entries)
        }
    }
}

/// Every buffer of an appliance, owned, of a size fixed at compile time: a firmware image
/// declares one `static` instead of a page of arrays, the way embassy-net's
/// `StackResources` does for its stack.
///
/// `S` is the file source the appliance serves from: the buffers hold its open-file
/// slots, one per connection (a connection streams one file at a time) and one per TFTP
/// transfer, typed as the source's file so a slot is exactly as large as a file handle. The other sizes follow
/// from the parameters as [`ApplianceCapacity::new`] describes; [`Self::CAPACITY`] is
/// the result.
///
/// Only the byte buffers are initialised by [`new`](Self::new); the typed tables
/// (sockets, connections, leases, packet slots, open files), whose empty values are not
/// all zero bytes, are written by [`split`](Self::split). So a `static` of these buffers
/// is all zeros and lies in `.bss`, costing no flash.
///
/// ```
/// use ipxe_config_server::{ApplianceBuffers, NoFiles};
///
/// // On firmware: `static mut APPLIANCE: Buffers = Buffers::new();`, handed out once.
/// type Buffers = ApplianceBuffers<'static, NoFiles, 2, 4096, 8192, 4096, 16>;
/// let buffers: &'static mut Buffers = Box::leak(Box::new(Buffers::new()));
/// let (storage, files) = buffers.split(NoFiles);
/// assert_eq!(storage.sockets.len(), 8);
/// assert_eq!(storage.responses.len(), 2 * 4096);
/// assert_eq!(files.open_count(), 0);
/// ```
pub struct ApplianceBuffers<
    'a,
    S: FileSource,
    const CONNECTIONS: usize,
    const TCP_RX: usize,
    const TCP_TX: usize,
    const RESPONSE: usize,
    const LEASES: usize,
> {
    sockets: MaybeUninit<SocketTable<'a, CONNECTIONS>>,
    connections: MaybeUninit<[ConnectionSlot; CONNECTIONS]>,
    open_files: MaybeUninit<FileTable<S::File, CONNECTIONS>>,
    // Per connection, because an array length cannot be a product of generic parameters
    // on stable Rust; flattened, they are the evenly split buffers the appliance wants.
    tcp_rx: [[u8; TCP_RX]; CONNECTIONS],
    tcp_tx: [[u8; TCP_TX]; CONNECTIONS],
    responses: [[u8; RESPONSE]; CONNECTIONS],
    request_scratch: [u8; TCP_RX],
    leases: MaybeUninit<[Lease; LEASES]>,
    packet_meta: MaybeUninit<PacketMeta>,
    dhcp_rx: [u8; PACKET_BYTES],
    dhcp_tx: [u8; PACKET_BYTES],
    icmpv6_rx: [u8; PACKET_BYTES],
    icmpv6_tx: [u8; PACKET_BYTES],
    tftp_rx: [u8; PACKET_BYTES],
    tftp_tx: [u8; PACKET_BYTES],
    tftp_transfer_rx: [[u8; TFTP_RX_BYTES]; TFTP_TRANSFERS],
    tftp_transfer_tx: [[u8; TFTP_TX_BYTES]; TFTP_TRANSFERS],
}

/// Outgoing bytes of one TFTP transfer socket in [`ApplianceBuffers`].
const TFTP_TX_BYTES: usize = ApplianceCapacity::DEFAULT.tftp_tx_bytes();
/// Outgoing slots of one TFTP transfer socket in [`ApplianceBuffers`].
const TFTP_TX_SLOTS: usize = ApplianceCapacity::DEFAULT.tftp_tx_slots();

/// The open-file slots: one per connection, then one per TFTP transfer, laid out as one
/// array (see [`FileTable::as_mut_slice`]).
#[repr(C)]
struct FileTable<F, const CONNECTIONS: usize> {
    http: [Option<F>; CONNECTIONS],
    tftp: [Option<F>; TFTP_TRANSFERS],
}

impl<F, const CONNECTIONS: usize> FileTable<F, CONNECTIONS> {
    const EMPTY: Self = FileTable { http: [const { None }; CONNECTIONS], tftp: [const { None }; TFTP_TRANSFERS] };

    /// The table as the one slice `OpenFiles` takes, as [`SocketTable::as_mut_slice`].
    fn as_mut_slice(&mut self) -> &mut [Option<F>] {
        let entries = CONNECTIONS + TFTP_TRANSFERS;
        // reason: as for the socket table, an array sized from a generic parameter plus a constant
        #[allow(unsafe_code)]
        // SAFETY: `repr(C)` lays `http` then `tftp` out in order, and two arrays of one
        // element type have no padding between them, so the struct is `entries`
        // consecutive, initialised `Option<F>`s. The pointer comes from `&mut self`,
        // which covers all of them, and the slice borrows `self` mutably for its life.
        unsafe {
            core::slice::from_raw_parts_mut(core::ptr::from_mut(self).cast::<Option<F>>(), entries)
        }
    }
}

/// The packet sockets' metadata slots.
struct PacketMeta {
    dhcp_rx: [udp::PacketMetadata; PACKET_SLOTS],
    dhcp_tx: [udp::PacketMetadata; PACKET_SLOTS],
    icmpv6_rx: [raw::PacketMetadata; PACKET_SLOTS],
    icmpv6_tx: [raw::PacketMetadata; PACKET_SLOTS],
    tftp_rx: [udp::PacketMetadata; PACKET_SLOTS],
    tftp_tx: [udp::PacketMetadata; PACKET_SLOTS],
    tftp_transfer_rx: [udp::PacketMetadata; TFTP_RX_SLOTS * TFTP_TRANSFERS],
    tftp_transfer_tx: [udp::PacketMetadata; TFTP_TX_SLOTS * TFTP_TRANSFERS],
}

impl PacketMeta {
    const EMPTY: Self = PacketMeta {
        dhcp_rx: [udp::PacketMetadata::EMPTY; PACKET_SLOTS],
        dhcp_tx: [udp::PacketMetadata::EMPTY; PACKET_SLOTS],
        icmpv6_rx: [raw::PacketMetadata::EMPTY; PACKET_SLOTS],
        icmpv6_tx: [raw::PacketMetadata::EMPTY; PACKET_SLOTS],
        tftp_rx: [udp::PacketMetadata::EMPTY; PACKET_SLOTS],
        tftp_tx: [udp::PacketMetadata::EMPTY; PACKET_SLOTS],
        tftp_transfer_rx: [udp::PacketMetadata::EMPTY; TFTP_RX_SLOTS * TFTP_TRANSFERS],
        tftp_transfer_tx: [udp::PacketMetadata::EMPTY; TFTP_TX_SLOTS * TFTP_TRANSFERS],
    };
}

impl<
        'a,
        S: FileSource,
        const CONNECTIONS: usize,
        const TCP_RX: usize,
        const TCP_TX: usize,
        const RESPONSE: usize,
        const LEASES: usize,
    > ApplianceBuffers<'a, S, CONNECTIONS, TCP_RX, TCP_TX, RESPONSE, LEASES>
{
    /// What these buffers hold.
    pub const CAPACITY: ApplianceCapacity = ApplianceCapacity::new(CONNECTIONS, TCP_RX, TCP_TX, RESPONSE, LEASES);

    /// Buffers not yet handed out; usable in a `static`.
    pub const fn new() -> Self {
        const {
            assert!(CONNECTIONS > 0, "an appliance with no connection slots serves nothing");
        }
        ApplianceBuffers {
            sockets: MaybeUninit::uninit(),
            connections: MaybeUninit::uninit(),
            open_files: MaybeUninit::uninit(),
            tcp_rx: [[0; TCP_RX]; CONNECTIONS],
            tcp_tx: [[0; TCP_TX]; CONNECTIONS],
            responses: [[0; RESPONSE]; CONNECTIONS],
            request_scratch: [0; TCP_RX],
            leases: MaybeUninit::uninit(),
            packet_meta: MaybeUninit::uninit(),
            dhcp_rx: [0; PACKET_BYTES],
            dhcp_tx: [0; PACKET_BYTES],
            icmpv6_rx: [0; PACKET_BYTES],
            icmpv6_tx: [0; PACKET_BYTES],
            tftp_rx: [0; PACKET_BYTES],
            tftp_tx: [0; PACKET_BYTES],
            tftp_transfer_rx: [[0; TFTP_RX_BYTES]; TFTP_TRANSFERS],
            tftp_transfer_tx: [[0; TFTP_TX_BYTES]; TFTP_TRANSFERS],
        }
    }

    /// Empties the typed tables and lends everything out for the rest of the buffers'
    /// life: the storage for [`Appliance::new`](crate::Appliance::new) and the open-file
    /// table over `source`.
    pub fn split(&'a mut self, source: S) -> (ApplianceStorage<'a>, OpenFiles<'a, S>) {
        let sockets = self.sockets.write(SocketTable::empty()).as_mut_slice();
        let meta = self.packet_meta.write(PacketMeta::EMPTY);
        let storage = ApplianceStorage {
            sockets,
            connections: self.connections.write([ConnectionSlot::EMPTY; CONNECTIONS]),
            tcp_rx: self.tcp_rx.as_flattened_mut(),
            tcp_tx: self.tcp_tx.as_flattened_mut(),
            responses: self.responses.as_flattened_mut(),
            request_scratch: &mut self.request_scratch,
            leases: self.leases.write(core::array::from_fn(|_| Lease::FREE)),
            dhcp: UdpStorage {
                rx_meta: &mut meta.dhcp_rx,
                rx_payload: &mut self.dhcp_rx,
                tx_meta: &mut meta.dhcp_tx,
                tx_payload: &mut self.dhcp_tx,
            },
            icmpv6: RawStorage {
                rx_meta: &mut meta.icmpv6_rx,
                rx_payload: &mut self.icmpv6_rx,
                tx_meta: &mut meta.icmpv6_tx,
                tx_payload: &mut self.icmpv6_tx,
            },
            tftp: TftpStorage {
                listen: UdpStorage {
                    rx_meta: &mut meta.tftp_rx,
                    rx_payload: &mut self.tftp_rx,
                    tx_meta: &mut meta.tftp_tx,
                    tx_payload: &mut self.tftp_tx,
                },
                transfers: TFTP_TRANSFERS,
                rx_meta: &mut meta.tftp_transfer_rx,
                rx_payload: self.tftp_transfer_rx.as_flattened_mut(),
                tx_meta: &mut meta.tftp_transfer_tx,
                tx_payload: self.tftp_transfer_tx.as_flattened_mut(),
            },
        };
        let open_files = self.open_files.write(FileTable::EMPTY).as_mut_slice();
        (storage, OpenFiles::new(source, open_files))
    }
}

impl<
        S: FileSource,
        const CONNECTIONS: usize,
        const TCP_RX: usize,
        const TCP_TX: usize,
        const RESPONSE: usize,
        const LEASES: usize,
    > Default for ApplianceBuffers<'_, S, CONNECTIONS, TCP_RX, TCP_TX, RESPONSE, LEASES>
{
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoFiles;

    type Small = ApplianceBuffers<'static, NoFiles, 1, 512, 1024, 768, 0>;
    type Default8 = ApplianceBuffers<'static, NoFiles, 8, 4096, 8192, 4096, 64>;

    fn leaked<T>(value: T) -> &'static mut T {
        extern crate std;
        std::boxed::Box::leak(std::boxed::Box::new(value))
    }

    #[test]
    fn the_owned_buffers_hold_their_capacity() {
        for (storage, capacity) in [
            (leaked(Small::new()).split(NoFiles).0, Small::CAPACITY),
            (leaked(Default8::new()).split(NoFiles).0, Default8::CAPACITY),
        ] {
            assert_eq!(storage.sockets.len(), capacity.sockets());
            assert_eq!(storage.connections.len(), capacity.connections);
            assert_eq!(storage.tcp_rx.len(), capacity.connections * capacity.tcp_rx_bytes);
            assert_eq!(storage.tcp_tx.len(), capacity.connections * capacity.tcp_tx_bytes);
            assert_eq!(storage.responses.len(), capacity.connections * capacity.response_bytes);
            assert_eq!(storage.request_scratch.len(), capacity.request_scratch_bytes);
            assert_eq!(storage.leases.len(), capacity.dhcp_leases);
            for (meta, payload) in [
                (storage.dhcp.rx_meta.len(), storage.dhcp.rx_payload.len()),
                (storage.icmpv6.tx_meta.len(), storage.icmpv6.tx_payload.len()),
            ] {
                assert_eq!((meta, payload), (capacity.packet_slots, capacity.packet_bytes));
            }
        }
    }

    /// An Ethernet device with nothing to receive, for set-up.
    struct Silent;

    impl smoltcp::phy::Device for Silent {
        type RxToken<'a> = Never;
        type TxToken<'a> = Never;

        fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Never, Never)> {
            None
        }

        fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Never> {
            None
        }

        fn capabilities(&self) -> smoltcp::phy::DeviceCapabilities {
            let mut capabilities = smoltcp::phy::DeviceCapabilities::default();
            capabilities.medium = smoltcp::phy::Medium::Ethernet;
            capabilities.max_transmission_unit = 1514;
            capabilities
        }
    }

    enum Never {}

    impl smoltcp::phy::RxToken for Never {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, _: F) -> R {
            match self {}
        }
    }

    impl smoltcp::phy::TxToken for Never {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, _: usize, _: F) -> R {
            match self {}
        }
    }

    /// With DHCP (or ProxyDHCP), router advertisements and TFTP on, every socket of the
    /// table is taken.
    #[test]
    fn an_appliance_sets_up_in_the_owned_buffers() {
        use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
        let mut settings = crate::ApplianceSettings::new(
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 1), 24),
        );
        settings.dhcp =
            Some(crate::DhcpSettings::new(Ipv4Address::new(10, 0, 0, 100), Ipv4Address::new(10, 0, 0, 163)));
        settings.tftp = Some(crate::TftpSettings::DEFAULT);
        let (storage, files) = leaked(Default8::new()).split(NoFiles);
        let now = smoltcp::time::Instant::ZERO;
        assert!(crate::Appliance::new(settings, storage, files, &mut Silent, now).is_ok());
        // ProxyDHCP takes one socket more (port 4011) and splits the DHCP buffers.
        settings.dhcp = Some(crate::DhcpSettings::proxy());
        let (storage, files) = leaked(Default8::new()).split(NoFiles);
        assert!(crate::Appliance::new(settings, storage, files, &mut Silent, now).is_ok());
    }

    #[test]
    fn the_default_capacity_is_what_the_owned_buffers_derive() {
        assert_eq!(Default8::CAPACITY, ApplianceCapacity::DEFAULT);
        // The byte buffers are what the capacity counts; the rest is typed tables.
        assert!(size_of::<Default8>() >= ApplianceCapacity::DEFAULT.total_bytes());
    }
}
