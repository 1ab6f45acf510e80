//! Network backends: each one a small link that moves whole Ethernet frames over a file
//! descriptor, wrapped in one `smoltcp::phy::Device` adapter. Nothing else in the program
//! knows which backend runs.
//!
//! smoltcp's own `TunTapInterface`/`RawSocket` are not used: they allocate a `Vec` per
//! frame and panic on I/O errors. Here the frame buffers are allocated once, and a send
//! that fails drops the frame (TCP retransmits). A link the backend reports dead ends the
//! program cleanly, with a log line: a receive error, or a send error the backend calls
//! fatal ([`FrameLink::is_dead`]). Not every death can be seen at once: when QEMU's end
//! of a `--qemu-dgram-fd` socket pair closes, receiving merely finds nothing, forever,
//! and `poll(2)` reports nothing; the dead peer is noticed the next time the appliance
//! sends a frame (an answer, a retransmission, a router advertisement).

mod offload;
mod qemu_dgram;
mod raw_socket;
mod tap;

use std::io;
use std::os::fd::RawFd;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::{Duration, Instant};

use crate::cli::BackendArgs;

pub use qemu_dgram::QemuDgram;
pub use raw_socket::RawSocket;
pub use tap::Tap;

/// Ethernet header bytes before the payload (no FCS, no VLAN tag).
const ETHERNET_HEADER: usize = 14;

/// The payload size of a link that cannot say its own: Ethernet's 1500 bytes.
const DEFAULT_MTU: usize = 1500;

/// Largest payload the appliance uses on a link with a larger MTU: an IPv4 packet's
/// 16-bit total length cannot count past it.
const MAX_MTU: usize = 65_535;

/// Largest Ethernet frame without FCS on a link of the default MTU.
#[cfg(test)]
const MAX_FRAME: usize = DEFAULT_MTU + ETHERNET_HEADER;

/// A file descriptor that carries one Ethernet frame per read and per write.
pub trait FrameLink {
    /// The descriptor to wait on.
    fn fd(&self) -> RawFd;
    /// Reads one frame without blocking; `Ok(None)` when none is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;
    /// Sends one frame.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;
    /// Whether a [`FrameLink::send`] error means the link is gone for good (rather than
    /// one frame lost).
    fn is_dead(&self, _send_error: &io::Error) -> bool {
        false
    }
    /// Whether received frames may carry unfinished checksums. Frames a local sender
    /// hands to a virtual interface with checksum offload (veth, bridges) reach a packet
    /// socket before the checksum is filled in; verifying them would drop every one.
    fn partial_rx_checksums(&self) -> bool {
        false
    }
    /// The link's MTU (payload bytes per frame). Larger frames mean fewer of them: one
    /// system call and one trip through the peer's network stack per frame is what bounds
    /// artifact throughput, so a virtual link (veth, TAP) set to a 64 KiB MTU moves
    /// about forty times the bytes per frame of a 1500-byte one.
    fn mtu(&self) -> usize {
        DEFAULT_MTU
    }
    /// Whether every frame read and written starts with a `virtio_net_hdr`
    /// ([`offload::VNET_HEADER`] bytes), through which TCP checksums are left to the
    /// kernel (see `offload`).
    fn vnet_header(&self) -> bool {
        false
    }
}

/// Opens the backend the command line names.
pub fn open(args: &BackendArgs) -> io::Result<(FrameDevice, &'static str)> {
    let (link, name): (Box<dyn FrameLink>, &'static str) = if let Some(name) = &args.tap {
        (Box::new(Tap::open(name)?), "tap")
    } else if let Some(interface) = &args.raw_socket {
        (Box::new(RawSocket::open(interface)?), "raw-socket")
    } else if let Some(fd) = args.qemu_dgram_fd {
        (Box::new(QemuDgram::from_fd(fd)?), "qemu-dgram-fd")
    } else if let Some(path) = &args.qemu_dgram {
        (Box::new(QemuDgram::bind(path)?), "qemu-dgram")
    } else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no backend given"));
    };
    let device = FrameDevice::new(link);
    log::info!(
        "{name}: MTU {} bytes, TCP checksums {}",
        device.mtu,
        if device.header > 0 { "by the kernel" } else { "by the appliance" }
    );
    Ok((device, name))
}

/// The `phy::Device` over any [`FrameLink`], with its two frame buffers.
pub struct FrameDevice {
    link: Box<dyn FrameLink>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// The link failed for good (peer gone); the program should stop.
    failed: Option<io::Error>,
    /// Payload bytes per frame, as the link reported it at start-up.
    mtu: usize,
    /// Bytes before each frame in `rx` and `tx`: a `virtio_net_hdr`, or nothing.
    header: usize,
}

impl FrameDevice {
    fn new(link: Box<dyn FrameLink>) -> Self {
        let mtu = link.mtu().clamp(DEFAULT_MTU, MAX_MTU);
        let header = if link.vnet_header() { offload::VNET_HEADER } else { 0 };
        let frame = header + mtu + ETHERNET_HEADER;
        FrameDevice { link, rx: vec![0; frame], tx: vec![0; frame], failed: None, mtu, header }
    }

    /// Why the link stopped working, if it did.
    pub fn failure(&self) -> Option<&io::Error> {
        self.failed.as_ref()
    }

    /// Waits until a frame is readable, a signal arrives or `timeout` passes.
    pub fn wait(&self, timeout: Option<Duration>) {
        let mut poll_fd = libc::pollfd { fd: self.link.fd(), events: libc::POLLIN, revents: 0 };
        let millis = timeout.map_or(-1, |t| {
            // Round up: waking a millisecond early only to find nothing due wastes a turn.
            i32::try_from(t.total_micros().div_ceil(1000)).unwrap_or(i32::MAX)
        });
        #[allow(unsafe_code)] // reason: poll(2) on one pollfd that lives across the call
        unsafe {
            libc::poll(&raw mut poll_fd, 1, millis);
        }
    }
}

impl Device for FrameDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if self.failed.is_some() {
            return None;
        }
        match self.link.recv(&mut self.rx) {
            Ok(Some(len)) => Some((
                // A received header says nothing the appliance needs: checksums it may
                // leave unfinished are already not verified on such links.
                RxToken { frame: self.rx.get(self.header..len).unwrap_or_default() },
                TxToken { link: &mut *self.link, buf: &mut self.tx, header: self.header, failed: &mut self.failed },
            )),
            Ok(None) => None,
            Err(error) => {
                log::error!("network link failed: {error}");
                self.failed = Some(error);
                None
            }
        }
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        if self.failed.is_some() {
            return None;
        }
        Some(TxToken { link: &mut *self.link, buf: &mut self.tx, header: self.header, failed: &mut self.failed })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        // smoltcp's Ethernet MTU counts the header too.
        capabilities.max_transmission_unit = self.mtu + ETHERNET_HEADER;
        if self.link.partial_rx_checksums() {
            // Compute on transmit, skip verification on receive (the Ethernet FCS still
            // guards frames that crossed a real wire).
            let tx_only = phy::Checksum::Tx;
            let checksum = &mut capabilities.checksum;
            (checksum.ipv4, checksum.udp, checksum.tcp, checksum.icmpv4, checksum.icmpv6) =
                (tx_only, tx_only, tx_only, tx_only, tx_only);
        }
        if self.header > 0 {
            // The kernel finishes each TCP checksum (see `offload`); received segments are
            // still verified where the link's frames carry finished ones.
            capabilities.checksum.tcp =
                if self.link.partial_rx_checksums() { phy::Checksum::None } else { phy::Checksum::Rx };
        }
        capabilities
    }
}

/// A received frame.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one outgoing frame, after `header` bytes for a `virtio_net_hdr`.
pub struct TxToken<'a> {
    link: &'a mut dyn FrameLink,
    buf: &'a mut [u8],
    header: usize,
    failed: &'a mut Option<io::Error>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let (head, body) = self.buf.split_at_mut(self.header.min(self.buf.len()));
        let frame = body.get_mut(..len).unwrap_or_default();
        let result = f(frame);
        let sent = head.len() + frame.len();
        if let Ok(head) = <&mut [u8; offload::VNET_HEADER]>::try_from(head) {
            offload::prepare(head, frame);
        }
        match self.link.send(self.buf.get(..sent).unwrap_or_default()) {
            Ok(()) => {}
            Err(error) if self.link.is_dead(&error) => {
                log::error!("network link failed: {error}");
                *self.failed = Some(error);
            }
            // Dropped like on a congested wire; TCP retransmits.
            Err(error) => log::debug!("frame of {len} bytes dropped: {error}"),
        }
        result
    }
}

/// The MTU of the host interface `name` (`SIOCGIFMTU`); the default when it cannot be
/// read, so a link that will not say still works at Ethernet's size.
fn interface_mtu(name: &str) -> usize {
    /// `struct ifreq` as `SIOCGIFMTU` fills it: the name, then the MTU in the union.
    #[repr(C)]
    struct MtuRequest {
        name: [u8; libc::IFNAMSIZ],
        mtu: libc::c_int,
        _union_rest: [u8; 20],
    }
    let mut request = MtuRequest { name: [0; libc::IFNAMSIZ], mtu: 0, _union_rest: [0; 20] };
    let bytes = name.as_bytes();
    match request.name.get_mut(..bytes.len()) {
        Some(room) if bytes.len() < libc::IFNAMSIZ && !bytes.contains(&0) => room.copy_from_slice(bytes),
        _ => return DEFAULT_MTU,
    }
    #[allow(unsafe_code)] // reason: a plain socket(2) call; the result is checked
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return DEFAULT_MTU;
    }
    #[allow(unsafe_code)] // reason: raw is a fresh descriptor owned by nobody else
    let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    #[allow(unsafe_code)] // reason: SIOCGIFMTU reads the name and writes the MTU of the ifreq given
    let result = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&socket), libc::SIOCGIFMTU, &raw mut request) };
    if result < 0 {
        return DEFAULT_MTU;
    }
    usize::try_from(request.mtu).unwrap_or(DEFAULT_MTU)
}

/// Sets `O_NONBLOCK` on `fd`.
fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    #[allow(unsafe_code)] // reason: fcntl(2) flag query and update on a descriptor we own
    let result = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bounds how long a blocking send waits for room, so a stalled peer cannot stall the
/// appliance: the frame is dropped instead.
fn set_send_timeout(fd: RawFd, timeout: std::time::Duration) -> io::Result<()> {
    let value = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(1),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
    };
    #[allow(unsafe_code)] // reason: setsockopt(2) reads a timeval of the size given
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&raw const value).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::timeval>()).unwrap_or(0),
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A socket address `recvfrom(2)` fills in: plain old data, for which all-zero bytes are a
/// valid value.
trait SocketAddress: Copy {
    fn zeroed() -> Self;
}

impl SocketAddress for libc::sockaddr_un {
    fn zeroed() -> Self {
        #[allow(unsafe_code)] // reason: sockaddr_un is plain old data; zero is a valid value
        unsafe {
            std::mem::zeroed()
        }
    }
}

impl SocketAddress for libc::sockaddr_ll {
    fn zeroed() -> Self {
        #[allow(unsafe_code)] // reason: sockaddr_ll is plain old data; zero is a valid value
        unsafe {
            std::mem::zeroed()
        }
    }
}

/// One `recvfrom(2)` without blocking: the frame's length, its sender and the sender
/// address's length, or `None` when nothing is waiting.
fn recv_from<A: SocketAddress>(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<(usize, A, libc::socklen_t)>> {
    loop {
        let mut from = A::zeroed();
        let mut from_len = libc::socklen_t::try_from(std::mem::size_of::<A>()).unwrap_or(0);
        #[allow(unsafe_code)] // reason: recvfrom(2) writes at most buf.len() bytes and one A
        let received = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&raw mut from).cast(),
                &raw mut from_len,
            )
        };
        if let Ok(len) = usize::try_from(received) {
            return Ok(Some((len, from, from_len)));
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
}

/// One `recv(2)` without blocking on a socket.
fn recv_dontwait(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        #[allow(unsafe_code)] // reason: recv(2) writes at most buf.len() bytes into buf
        let received = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if let Ok(len) = usize::try_from(received) {
            return Ok(Some(len));
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use std::os::fd::IntoRawFd;
    use std::os::unix::net::UnixDatagram;

    use phy::TxToken as _;

    use super::*;

    /// Sends one frame through the device, as smoltcp would.
    fn send_frame(device: &mut FrameDevice) -> bool {
        let Some(token) = device.transmit(Instant::ZERO) else { return false };
        token.consume(60, |frame| frame.fill(0xab));
        true
    }

    #[test]
    fn qemu_closing_its_end_of_the_socket_pair_ends_the_link_at_the_next_send() {
        let (ours, qemu) = UnixDatagram::pair().unwrap();
        let mut device = FrameDevice::new(Box::new(QemuDgram::from_fd(ours.into_raw_fd()).unwrap()));
        assert!(send_frame(&mut device));
        assert!(device.failure().is_none());
        let mut received = [0u8; MAX_FRAME];
        assert_eq!(qemu.recv(&mut received).unwrap(), 60);
        drop(qemu);
        // Receiving cannot tell: nothing waits, as on a quiet link.
        assert!(device.receive(Instant::ZERO).is_none());
        assert!(device.failure().is_none());
        // The first send is refused, and the link is declared dead.
        assert!(send_frame(&mut device));
        let error = device.failure().unwrap();
        assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED), "{error}");
        assert!(!send_frame(&mut device), "nothing more is sent on a dead link");
    }

    /// A link with a 64 KiB MTU and a `virtio_net_hdr` before each frame, that keeps
    /// what was sent and hands out one queued frame.
    struct OffloadLink {
        sent: std::rc::Rc<std::cell::RefCell<Vec<Vec<u8>>>>,
        incoming: Option<Vec<u8>>,
    }

    impl FrameLink for OffloadLink {
        fn fd(&self) -> RawFd {
            -1
        }
        fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
            Ok(self.incoming.take().map(|frame| {
                buf[..frame.len()].copy_from_slice(&frame);
                frame.len()
            }))
        }
        fn send(&mut self, frame: &[u8]) -> io::Result<()> {
            self.sent.borrow_mut().push(frame.to_vec());
            Ok(())
        }
        fn partial_rx_checksums(&self) -> bool {
            true
        }
        fn mtu(&self) -> usize {
            65_535
        }
        fn vnet_header(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_vnet_link_gets_large_frames_a_header_each_and_no_tcp_checksum_from_smoltcp() {
        let sent = std::rc::Rc::default();
        let mut incoming = vec![0u8; offload::VNET_HEADER];
        incoming.extend_from_slice(&[0x5a; 60]);
        let link = OffloadLink { sent: std::rc::Rc::clone(&sent), incoming: Some(incoming) };
        let mut device = FrameDevice::new(Box::new(link));
        let capabilities = device.capabilities();
        assert_eq!(capabilities.max_transmission_unit, 65_535 + ETHERNET_HEADER);
        assert!(!capabilities.checksum.tcp.tx() && !capabilities.checksum.tcp.rx());
        assert!(capabilities.checksum.udp.tx(), "only TCP is left to the kernel");

        // The header is stripped on receive.
        let (rx, _) = device.receive(Instant::ZERO).unwrap();
        phy::RxToken::consume(rx, |frame| assert_eq!(frame, &[0x5a; 60][..]));

        // A frame of the whole MTU goes out whole, after a header.
        let len = 65_535 + ETHERNET_HEADER;
        device.transmit(Instant::ZERO).unwrap().consume(len, |frame| frame.fill(0xab));
        let sent = sent.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].len(), offload::VNET_HEADER + len);
        assert_eq!(
            &sent[0][..offload::VNET_HEADER],
            &[0; offload::VNET_HEADER],
            "not TCP: nothing asked of the kernel"
        );
        assert!(sent[0][offload::VNET_HEADER..].iter().all(|&byte| byte == 0xab));
    }

    #[test]
    fn a_link_that_reports_a_tiny_mtu_still_gets_ethernet_frames() {
        struct Tiny;
        impl FrameLink for Tiny {
            fn fd(&self) -> RawFd {
                -1
            }
            fn recv(&mut self, _: &mut [u8]) -> io::Result<Option<usize>> {
                Ok(None)
            }
            fn send(&mut self, _: &[u8]) -> io::Result<()> {
                Ok(())
            }
            fn mtu(&self) -> usize {
                68
            }
        }
        let device = FrameDevice::new(Box::new(Tiny));
        assert_eq!(device.capabilities().max_transmission_unit, MAX_FRAME);
        assert!(device.capabilities().checksum.tcp.tx(), "without a header, smoltcp sums");
    }
}
