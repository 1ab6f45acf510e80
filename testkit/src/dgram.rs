//! A `smoltcp::phy::Device` over a unix datagram socket, one Ethernet frame per datagram:
//! how a test's own client stack talks to the appliance process started with
//! `--qemu-dgram PATH` (no privileges needed).

use std::os::unix::net::UnixDatagram;
use std::vec;
use std::vec::Vec;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};

/// The device; make the socket non-blocking so `receive` returns when nothing waits.
pub struct Dgram(pub UnixDatagram);

/// A received frame.
pub struct Rx(Vec<u8>);
/// A frame to send, on the socket.
pub struct Tx<'a>(&'a UnixDatagram);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        // A lost frame is what a LAN does; TCP retransmits.
        let _ = self.0.send(&frame);
        result
    }
}

impl Device for Dgram {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Rx, Tx<'_>)> {
        let mut buffer = vec![0; 1514];
        let len = self.0.recv(&mut buffer).ok()?;
        buffer.truncate(len);
        Some((Rx(buffer), Tx(&self.0)))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Tx<'_>> {
        Some(Tx(&self.0))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}
