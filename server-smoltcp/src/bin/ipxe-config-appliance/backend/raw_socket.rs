//! `--raw-socket IFACE`: an `AF_PACKET` socket on a host interface, in promiscuous mode
//! so frames for the appliance's own MAC arrive.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{interface_mtu, recv_from, set_send_timeout, FrameLink};

/// `ETH_P_ALL` in network byte order, as `AF_PACKET` wants it.
fn all_protocols() -> u16 {
    u16::try_from(libc::ETH_P_ALL).unwrap_or(3).to_be()
}

/// A packet socket bound to one interface.
pub struct RawSocket {
    fd: OwnedFd,
    /// The interface's MTU when the socket was opened.
    mtu: usize,
    /// Frames carry a `virtio_net_hdr` (`PACKET_VNET_HDR`), so the kernel finishes TCP checksums.
    vnet_header: bool,
}

impl RawSocket {
    /// Opens a packet socket on `interface`.
    pub fn open(interface: &str) -> io::Result<Self> {
        let name = CString::new(interface).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
        #[allow(unsafe_code)] // reason: if_nametoindex(3) reads a NUL-terminated string
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(unsafe_code)] // reason: a plain socket(2) call; the result is checked
        let raw =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(all_protocols())) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(unsafe_code)] // reason: raw is a fresh descriptor owned by nobody else
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let index = i32::try_from(index).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
        #[allow(unsafe_code)] // reason: sockaddr_ll is plain old data; zero is a valid value
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = u16::try_from(libc::AF_PACKET).unwrap_or(17);
        address.sll_protocol = all_protocols();
        address.sll_ifindex = index;
        #[allow(unsafe_code)] // reason: bind(2) reads a sockaddr_ll of the size given
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const address).cast(),
                libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap_or(0),
            )
        };
        if bound < 0 {
            return Err(io::Error::last_os_error());
        }
        let membership = libc::packet_mreq {
            mr_ifindex: index,
            mr_type: u16::try_from(libc::PACKET_MR_PROMISC).unwrap_or(1),
            mr_alen: 0,
            mr_address: [0; 8],
        };
        #[allow(unsafe_code)] // reason: setsockopt(2) reads a packet_mreq of the size given
        let promiscuous = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&raw const membership).cast(),
                libc::socklen_t::try_from(std::mem::size_of::<libc::packet_mreq>()).unwrap_or(0),
            )
        };
        if promiscuous < 0 {
            return Err(io::Error::last_os_error());
        }
        set_send_timeout(fd.as_raw_fd(), std::time::Duration::from_millis(100))?;
        let vnet_header = match set_int_option(fd.as_raw_fd(), libc::PACKET_VNET_HDR, 1) {
            Ok(()) => true,
            Err(error) => {
                log::warn!(
                    "raw-socket {interface}: no PACKET_VNET_HDR ({error}); the appliance sums TCP checksums itself"
                );
                false
            }
        };
        Ok(RawSocket { fd, mtu: interface_mtu(interface), vnet_header })
    }
}

/// `setsockopt(fd, SOL_PACKET, option, &value)` for an `int` option.
fn set_int_option(fd: RawFd, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    #[allow(unsafe_code)] // reason: setsockopt(2) reads an int of the size given
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            option,
            (&raw const value).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(0),
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl FrameLink for RawSocket {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match recv_from::<libc::sockaddr_ll>(self.fd.as_raw_fd(), buf)? {
                // Frames the host itself sends on the interface are seen here too.
                Some((_, from, _)) if from.sll_pkttype == libc::PACKET_OUTGOING => {}
                Some((len, _, _)) => return Ok(Some(len)),
                None => return Ok(None),
            }
        }
    }

    fn partial_rx_checksums(&self) -> bool {
        true
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn vnet_header(&self) -> bool {
        self.vnet_header
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        #[allow(unsafe_code)] // reason: send(2) reads at most frame.len() bytes from frame
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
