//! The `phy::Device` of every in-memory link: a [`Port`] receives from an [`Inbox`] and
//! sends into an [`Outbox`]. A link says only how frames are held (fixed rings, queues
//! with arrival times, a buffer that never fills); the token plumbing smoltcp asks for is
//! written here once.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Largest Ethernet frame carried (no FCS): the MTU every port reports.
pub const FRAME: usize = 1514;

/// Where a port's received frames come from.
pub trait Inbox {
    /// Whether a frame can be received at `now` (the polling interface's clock).
    fn ready(&mut self, now: Instant) -> bool;

    /// Hands the oldest ready frame to `f` and takes it off; called only after
    /// [`Inbox::ready`] said yes.
    fn take<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R;
}

/// Where a port's sent frames go.
pub trait Outbox {
    /// Lends `f` room for a frame of `len` bytes (at most [`FRAME`]) and sends what it wrote.
    fn put<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R;
}

/// One end of a link as smoltcp sees it.
pub struct Port<'p, I, O> {
    inbox: &'p mut I,
    outbox: &'p mut O,
}

impl<'p, I: Inbox, O: Outbox> Port<'p, I, O> {
    /// A port receiving from `inbox` and sending into `outbox`.
    pub fn new(inbox: &'p mut I, outbox: &'p mut O) -> Self {
        Port { inbox, outbox }
    }
}

impl<I: Inbox, O: Outbox> Device for Port<'_, I, O> {
    type RxToken<'a>
        = RxToken<'a, I>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, O>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken<'_, I>, TxToken<'_, O>)> {
        if !self.inbox.ready(timestamp) {
            return None;
        }
        Some((RxToken { inbox: self.inbox }, TxToken { outbox: self.outbox }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_, O>> {
        Some(TxToken { outbox: self.outbox })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = FRAME;
        capabilities
    }
}

/// A frame to receive: the oldest ready one of the port's inbox.
pub struct RxToken<'a, I> {
    inbox: &'a mut I,
}

impl<I: Inbox> phy::RxToken for RxToken<'_, I> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        self.inbox.take(f)
    }
}

/// Room for a frame to send into the port's outbox.
pub struct TxToken<'a, O> {
    outbox: &'a mut O,
}

impl<O: Outbox> phy::TxToken for TxToken<'_, O> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.outbox.put(len, f)
    }
}

/// Sent frames, each in its own allocation: for a link that routes them afterwards.
#[cfg(feature = "std")]
impl Outbox for std::vec::Vec<std::vec::Vec<u8>> {
    fn put<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        assert!(len <= FRAME, "a frame of {len} bytes, over the MTU");
        let mut frame = std::vec![0u8; len];
        let result = f(&mut frame);
        self.push(frame);
        result
    }
}
