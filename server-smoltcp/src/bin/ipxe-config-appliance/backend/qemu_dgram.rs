//! `--qemu-dgram-fd FD` and `--qemu-dgram PATH`: QEMU's `-netdev dgram`, which carries
//! one raw Ethernet frame per datagram (no header, no FCS).
//!
//! With `--qemu-dgram-fd`, QEMU exiting is noticed the next time the appliance sends a
//! frame (the send is refused); receiving alone cannot tell a dead peer from a quiet one.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{recv_dontwait, recv_from, set_send_timeout, FrameLink};

/// How long a send waits for room in QEMU's receive queue before the frame is dropped.
/// Waiting (rather than dropping at once) keeps bulk transfers from losing segments.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(200);

/// A unix datagram socket to QEMU.
pub struct QemuDgram {
    fd: OwnedFd,
    /// For a socket bound to a path: where the last frame came from, where replies go.
    peer: Option<(libc::sockaddr_un, libc::socklen_t)>,
    /// The bound path, removed on drop.
    bound: Option<PathBuf>,
}

impl QemuDgram {
    /// Takes an inherited descriptor (one end of a `socketpair(AF_UNIX, SOCK_DGRAM)`).
    pub fn from_fd(raw: RawFd) -> io::Result<Self> {
        let mut kind: libc::c_int = 0;
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(0);
        #[allow(unsafe_code)] // reason: getsockopt(2) writes one c_int
        let result =
            unsafe { libc::getsockopt(raw, libc::SOL_SOCKET, libc::SO_TYPE, (&raw mut kind).cast(), &raw mut len) };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        if kind != libc::SOCK_DGRAM {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "descriptor is not a datagram socket"));
        }
        #[allow(unsafe_code)] // reason: the descriptor was handed to this process to own
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        #[allow(unsafe_code)] // reason: fcntl(2) setting FD_CLOEXEC on a descriptor we own
        unsafe {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        }
        set_send_timeout(fd.as_raw_fd(), SEND_TIMEOUT)?;
        Ok(QemuDgram { fd, peer: None, bound: None })
    }

    /// Binds a unix datagram socket at `path` (replacing a stale socket file there).
    pub fn bind(path: &Path) -> io::Result<Self> {
        let (address, address_len) = unix_address(path)?;
        if std::fs::symlink_metadata(path)
            .is_ok_and(|meta| std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()))
        {
            std::fs::remove_file(path)?;
        }
        #[allow(unsafe_code)] // reason: a plain socket(2) call; the result is checked
        let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(unsafe_code)] // reason: raw is a fresh descriptor owned by nobody else
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        #[allow(unsafe_code)] // reason: bind(2) reads a sockaddr_un of the size given
        let bound = unsafe { libc::bind(fd.as_raw_fd(), (&raw const address).cast(), address_len) };
        if bound < 0 {
            return Err(io::Error::last_os_error());
        }
        set_send_timeout(fd.as_raw_fd(), SEND_TIMEOUT)?;
        Ok(QemuDgram { fd, peer: None, bound: Some(path.to_path_buf()) })
    }
}

fn unix_address(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    #[allow(unsafe_code)] // reason: sockaddr_un is plain old data; zero is a valid value
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::sa_family_t::try_from(libc::AF_UNIX).unwrap_or(1);
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= address.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path too long"));
    }
    for (to, &from) in address.sun_path.iter_mut().zip(bytes) {
        *to = libc::c_char::from_ne_bytes([from]);
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((address, libc::socklen_t::try_from(len).unwrap_or(0)))
}

impl Drop for QemuDgram {
    fn drop(&mut self) {
        if let Some(path) = &self.bound {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl FrameLink for QemuDgram {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if self.bound.is_none() {
            return recv_dontwait(self.fd.as_raw_fd(), buf);
        }
        let Some((len, from, from_len)) = recv_from::<libc::sockaddr_un>(self.fd.as_raw_fd(), buf)? else {
            return Ok(None);
        };
        // An unbound sender has no address to answer; keep the last one that had.
        if usize::try_from(from_len).unwrap_or(0) > std::mem::size_of::<libc::sa_family_t>() {
            self.peer = Some((from, from_len));
        }
        Ok(Some(len))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        #[allow(unsafe_code)] // reason: send(2)/sendto(2) read frame.len() bytes and a sockaddr_un of the size given
        let sent = unsafe {
            match (&self.bound, &self.peer) {
                (None, _) => libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0),
                (Some(_), Some((peer, peer_len))) => libc::sendto(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&raw const *peer).cast(),
                    *peer_len,
                ),
                (Some(_), None) => {
                    return Err(io::Error::new(io::ErrorKind::NotConnected, "no frame received yet"));
                }
            }
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// On an inherited socket pair, QEMU's end closing shows only here: the first send
    /// after it is refused, later ones find the socket disconnected. (A socket bound to a
    /// path has no fixed peer: QEMU may come back and send again, so nothing is fatal.)
    fn is_dead(&self, send_error: &io::Error) -> bool {
        self.bound.is_none() && matches!(send_error.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOTCONN))
    }
}
