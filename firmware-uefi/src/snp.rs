//! The NIC: UEFI's Simple Network Protocol as a `smoltcp::phy::Device`.
//!
//! Firmware connects drivers only to the devices in its boot order, so at start-up a NIC
//! usually has no driver yet: [`open`] connects PCI functions until one gives a NIC (not
//! recursively, so the firmware's own network stack does not bind the NIC beside us), then
//! takes the first handle with SNP. SNP starts STOPPED on most drivers and must be started and
//! initialised; receive filters are set from what the driver offers.
//!
//! A frame handed to `Transmit` stays the driver's until `GetStatus` gives its buffer
//! back, so frames go out of a pool of buffers that are marked in flight until the
//! driver recycles them. With every buffer in flight the device reports no transmit
//! token, and smoltcp tries again on a later poll.

use core::fmt;

use ipxe_config::PortAddress;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use uefi::boot::{self, ScopedProtocol, SearchType};
use uefi::proto::network::snp::{NetworkState, ReceiveFlags, SimpleNetwork};
use uefi::{Identify, Status};

/// Largest Ethernet frame without FCS: 1500 bytes of payload and the 14-byte header.
pub const FRAME: usize = 1514;
/// The receive buffer: larger than any frame we answer. SNP leaves a frame that does not
/// fit in its queue (`BUFFER_TOO_SMALL`), and every later Receive meets it again, so one
/// jumbo frame from the wire would stop the appliance's receiving for good; a buffer
/// beyond jumbo size takes whatever a driver delivers, and what is too long is dropped.
const RX_BUFFER: usize = 16 * 1024;
/// Oversized frames dropped in one `receive` before it gives up until the next poll: a
/// flood of them must not keep the loop from its sockets.
const MAX_SKIPPED_IN_A_ROW: usize = 16;
/// Transmit buffers: the driver may hold this many frames at once (VirtioNetDxe was seen
/// holding 32 in a burst of artifact data).
const TX_POOL: usize = 32;

/// The device's buffers, in a `static`: the driver holds pointers into the pool, so it
/// must never move.
pub struct NicBuffers {
    rx: [u8; RX_BUFFER],
    pool: TxPool,
}

/// The transmit buffers and which of them the driver holds.
struct TxPool {
    frames: [[u8; FRAME]; TX_POOL],
    /// Bit `i` set: `frames[i]` belongs to the driver.
    in_flight: u32,
}

impl NicBuffers {
    /// Empty buffers; usable in a `static`.
    #[allow(clippy::large_stack_arrays)] // reason: evaluated at compile time, into the static
    pub const fn new() -> Self {
        NicBuffers { rx: [0; RX_BUFFER], pool: TxPool { frames: [[0; FRAME]; TX_POOL], in_flight: 0 } }
    }
}

/// NICs named by MAC when the wanted one is not among them.
const LISTED_NICS: usize = 8;

/// Why no NIC could be used.
#[derive(Debug, Clone)]
pub enum NicError {
    /// No handle has the Simple Network Protocol.
    NoSnp,
    /// `nic_mac` names a MAC no NIC has; the MACs of those found (the first few).
    NotFound { wanted: [u8; 6], found: heapless::Vec<[u8; 6], LISTED_NICS> },
    /// The NIC was found but could not be opened, started or initialised.
    Setup { step: &'static str, status: Status },
}

impl fmt::Display for NicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSnp => f.write_str(
                "no network interface: no handle has the Simple Network Protocol \
                 (EFI_SIMPLE_NETWORK_PROTOCOL) after connecting drivers to every PCI function; the NIC needs a UEFI driver (its option ROM, or the firmware's own)",
            ),
            Self::NotFound { wanted, found } => {
                write!(
                    f,
                    "no network interface has mac={} (nic_mac in appliance.conf); the NICs found:",
                    PortAddress(*wanted)
                )?;
                for mac in found {
                    write!(f, " {}", PortAddress(*mac))?;
                }
                Ok(())
            }
            Self::Setup { step, status } => write!(f, "the network interface failed at {step}: {status:?}"),
        }
    }
}

/// The opened NIC.
pub struct SnpDevice {
    snp: ScopedProtocol<SimpleNetwork>,
    buffers: &'static mut NicBuffers,
    /// Frames received so far, for the idle loop.
    received: u64,
}

/// What [`open`] found, for the start-up line.
pub struct NicInfo {
    pub mac: [u8; 6],
    pub filters: u32,
    pub handles_connected: usize,
}

/// EFI_PCI_IO_PROTOCOL: every PCI function has it once the bus is enumerated.
const PCI_IO: uefi::Guid = uefi::guid!("4cf5b200-68b8-4ca5-9eec-b23e3f50029a");

/// Connects drivers to PCI functions (every handle if the firmware has no PCI) until one
/// has given the NIC wanted (the one with MAC `wanted`, or any), then opens, starts and
/// initialises it.
pub fn open(buffers: &'static mut NicBuffers, wanted: Option<[u8; 6]>) -> Result<(SnpDevice, NicInfo), NicError> {
    let mut handles_connected = 0;
    if chosen_nic(wanted).is_none() {
        // A NIC is a PCI function on every machine this image targets; connecting only those
        // skips the hundreds of other handles (and their drivers' start-up). Stopping at the
        // NIC spares the storage controllers' probing (AHCI's port scan is the slowest
        // start-up step left under QEMU).
        let candidates = boot::locate_handle_buffer(SearchType::ByProtocol(&PCI_IO))
            .or_else(|_| boot::locate_handle_buffer(SearchType::AllHandles));
        if let Ok(handles) = candidates {
            for handle in handles.iter() {
                // Most handles have no driver to connect; only the NICs' result matters,
                // and it shows as an SNP handle.
                if boot::connect_controller(*handle, &[], None, false).is_ok() {
                    handles_connected += 1;
                    if chosen_nic(wanted).is_some() {
                        break;
                    }
                }
            }
        }
    }
    let handle = match (chosen_nic(wanted), wanted) {
        (Some(handle), _) => handle,
        (None, None) => return Err(NicError::NoSnp),
        (None, Some(wanted)) => {
            let handles = boot::locate_handle_buffer(SearchType::ByProtocol(&SimpleNetwork::GUID))
                .map_err(|_| NicError::NoSnp)?;
            let mut found: heapless::Vec<[u8; 6], LISTED_NICS> = heapless::Vec::new();
            // Both of a NIC's MACs where they differ: `nic_mac` may name either.
            let macs = handles.iter().filter_map(|handle| nic_macs(*handle)).flat_map(|(current, permanent)| {
                core::iter::once(current).chain((permanent != current).then_some(permanent))
            });
            for mac in macs {
                if found.push(mac).is_err() {
                    break;
                }
            }
            return Err(if found.is_empty() { NicError::NoSnp } else { NicError::NotFound { wanted, found } });
        }
    };
    let mut snp = boot::open_protocol_exclusive::<SimpleNetwork>(handle)
        .map_err(|error| NicError::Setup { step: "OpenProtocol", status: error.status() })?;
    if snp.mode().state == NetworkState::STOPPED {
        snp.start().map_err(|error| NicError::Setup { step: "Start", status: error.status() })?;
    }
    if snp.mode().state == NetworkState::STARTED {
        snp.initialize(0, 0).map_err(|error| NicError::Setup { step: "Initialize", status: error.status() })?;
    }
    let filters = receive_filters(&mut snp)?;
    let mut mac = [0; 6];
    mac.copy_from_slice(snp.mode().current_address.0.get(..6).unwrap_or(&[0; 6]));
    let device = SnpDevice { snp, buffers, received: 0 };
    Ok((device, NicInfo { mac, filters, handles_connected }))
}

/// The first handle with the Simple Network Protocol, or with `wanted` as its current or
/// permanent MAC.
fn chosen_nic(wanted: Option<[u8; 6]>) -> Option<uefi::Handle> {
    let handles = boot::locate_handle_buffer(SearchType::ByProtocol(&SimpleNetwork::GUID)).ok()?;
    let Some(wanted) = wanted else { return handles.first().copied() };
    handles
        .iter()
        .copied()
        .find(|handle| nic_macs(*handle).is_some_and(|(current, permanent)| current == wanted || permanent == wanted))
}

/// A NIC's current and permanent MAC. Opening it exclusively detaches the firmware's own
/// network stack from it, if bound: the appliance is the only network user of this machine.
fn nic_macs(handle: uefi::Handle) -> Option<([u8; 6], [u8; 6])> {
    let snp = boot::open_protocol_exclusive::<SimpleNetwork>(handle).ok()?;
    let mode = snp.mode();
    let six = |address: &[u8]| -> Option<[u8; 6]> { address.get(..6)?.try_into().ok() };
    Some((six(&mode.current_address.0)?, six(&mode.permanent_address.0)?))
}

/// Unicast and broadcast, and all multicast the driver can give: IPv6 router
/// solicitations and neighbour discovery arrive on multicast groups.
fn receive_filters(snp: &mut SimpleNetwork) -> Result<u32, NicError> {
    let offered = ReceiveFlags::from_bits_truncate(snp.mode().receive_filter_mask);
    let mut enable = ReceiveFlags::UNICAST | ReceiveFlags::BROADCAST;
    if offered.contains(ReceiveFlags::PROMISCUOUS_MULTICAST) {
        enable |= ReceiveFlags::PROMISCUOUS_MULTICAST;
    } else if offered.contains(ReceiveFlags::PROMISCUOUS) {
        // No way to take every multicast group but taking everything.
        enable |= ReceiveFlags::PROMISCUOUS;
    }
    let enable = enable & offered;
    snp.receive_filters(enable, ReceiveFlags::empty(), false, None)
        .map_err(|error| NicError::Setup { step: "ReceiveFilters", status: error.status() })?;
    Ok(enable.bits())
}

impl SnpDevice {
    /// Frames received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes back every buffer the driver is done with.
    fn recycle(snp: &mut SimpleNetwork, pool: &mut TxPool) {
        while pool.in_flight != 0 {
            let Ok(Some(done)) = snp.get_recycled_transmit_buffer_status() else { break };
            let done = done.as_ptr().cast_const();
            if let Some(index) = pool.frames.iter().position(|slot| slot.as_ptr() == done) {
                pool.in_flight &= !(1 << index);
            }
        }
    }
}

/// A received frame.
pub struct SnpRx<'a> {
    frame: &'a [u8],
}

/// Room for a frame in a free pool buffer.
pub struct SnpTx<'a> {
    snp: &'a SimpleNetwork,
    pool: &'a mut TxPool,
    index: usize,
}

impl phy::RxToken for SnpRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl phy::TxToken for SnpTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(FRAME);
        let Some(slot) = self.pool.frames.get_mut(self.index) else {
            // The index came from the pool's own bounds; this arm only satisfies the type.
            return f(&mut []);
        };
        let result = f(slot.get_mut(..len).unwrap_or_default());
        // The frame is whole (header included): the driver adds nothing.
        if self.snp.transmit(0, slot.get_mut(..len).unwrap_or_default(), None, None, None).is_ok() {
            self.pool.in_flight |= 1 << self.index;
        }
        // Refused (queue full, link down): the frame is dropped; TCP retransmits and DHCP
        // clients ask again.
        result
    }
}

impl phy::Device for SnpDevice {
    type RxToken<'a> = SnpRx<'a>;
    type TxToken<'a> = SnpTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(SnpRx<'_>, SnpTx<'_>)> {
        let NicBuffers { rx, pool } = &mut *self.buffers;
        Self::recycle(&mut self.snp, pool);
        // A received frame comes with room for a reply (smoltcp answers ARP and SYNs at
        // once): without a free buffer, leave the frame queued in the driver.
        let index = free_slot(pool.in_flight)?;
        let mut wanted = None;
        for _ in 0..MAX_SKIPPED_IN_A_ROW {
            let len = self.snp.receive(rx, None, None, None, None).ok()?;
            self.received += 1;
            // Longer than Ethernet's 1514 bytes: not for us (and smoltcp's MTU is that). It
            // is dropped here and the next frame read, so a jumbo frame does not end the
            // poll's batch as an empty queue would.
            if len <= FRAME {
                wanted = Some(len);
                break;
            }
        }
        let frame = rx.get(..wanted?)?;
        Some((SnpRx { frame }, SnpTx { snp: &self.snp, pool, index }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<SnpTx<'_>> {
        let pool = &mut self.buffers.pool;
        Self::recycle(&mut self.snp, pool);
        let index = free_slot(pool.in_flight)?;
        Some(SnpTx { snp: &self.snp, pool, index })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        let mode = self.snp.mode();
        let mtu = usize::try_from(mode.max_packet_size.saturating_add(mode.media_header_size)).unwrap_or(FRAME);
        capabilities.max_transmission_unit = mtu.clamp(576, FRAME);
        capabilities
    }
}

fn free_slot(in_flight: u32) -> Option<usize> {
    let index = usize::try_from((!in_flight).trailing_zeros()).ok()?;
    (index < TX_POOL).then_some(index)
}
