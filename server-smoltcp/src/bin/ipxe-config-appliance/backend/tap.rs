//! `--tap NAME`: a Linux TAP device; each read and write is one Ethernet frame.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::{interface_mtu, set_nonblocking, FrameLink};

/// `struct ifreq` as `TUNSETIFF` and `SIOCGIFFLAGS`/`SIOCSIFFLAGS` read it: the name, then flags in
/// the union that makes the struct 40 bytes.
#[repr(C)]
struct InterfaceRequest {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _union_rest: [u8; 22],
}

impl InterfaceRequest {
    fn new(name: &str) -> io::Result<Self> {
        let mut request = InterfaceRequest { name: [0; libc::IFNAMSIZ], flags: 0, _union_rest: [0; 22] };
        let bytes = name.as_bytes();
        // The kernel wants a NUL inside the 16 bytes.
        match request.name.get_mut(..bytes.len()) {
            Some(room) if bytes.len() < libc::IFNAMSIZ && !bytes.contains(&0) => room.copy_from_slice(bytes),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name too long")),
        }
        Ok(request)
    }
}

/// An open TAP device.
pub struct Tap {
    fd: OwnedFd,
    /// The device's MTU when it was opened (`ip link set NAME mtu 65535` raises it).
    mtu: usize,
}

impl Tap {
    /// Attaches to TAP device `name`, creating it if needed, and sets its link up.
    pub fn open(name: &str) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_CLOEXEC).open("/dev/net/tun")?;
        let mut request = InterfaceRequest::new(name)?;
        // IFF_NO_PI: frames without the 4-byte packet-information header. IFF_VNET_HDR: a
        // 10-byte virtio_net_hdr before each frame instead, through which the kernel
        // finishes TCP checksums (see `offload`). Without TUNSETOFFLOAD the kernel still
        // hands the appliance frames with finished checksums, which are verified.
        request.flags = libc::c_short::try_from(libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR).unwrap_or(0);
        #[allow(unsafe_code)] // reason: TUNSETIFF reads and writes the ifreq it is given
        let result = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &raw mut request) };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        set_nonblocking(file.as_raw_fd())?;
        if let Err(error) = set_link_up(name) {
            log::warn!("tap {name}: could not set the link up ({error}); do it with `ip link set {name} up`");
        }
        Ok(Tap { fd: OwnedFd::from(file), mtu: interface_mtu(name) })
    }
}

/// `ip link set NAME up`, through SIOCSIFFLAGS.
fn set_link_up(name: &str) -> io::Result<()> {
    #[allow(unsafe_code)] // reason: a plain socket(2) call; the result is checked
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(unsafe_code)] // reason: raw is a fresh descriptor owned by nobody else
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let mut request = InterfaceRequest::new(name)?;
    #[allow(unsafe_code)] // reason: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq given
    let result = unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) < 0 {
            -1
        } else {
            request.flags |= libc::c_short::try_from(libc::IFF_UP).unwrap_or(0);
            libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut request)
        }
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl FrameLink for Tap {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            #[allow(unsafe_code)] // reason: read(2) writes at most buf.len() bytes into buf
            let read = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if let Ok(len) = usize::try_from(read) {
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

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn vnet_header(&self) -> bool {
        true
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        #[allow(unsafe_code)] // reason: write(2) reads at most frame.len() bytes from frame
        let written = unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if written < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
