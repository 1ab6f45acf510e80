//! An in-memory Ethernet link: two fixed rings of frames, one each way, and a
//! `phy::Device` for each end. Frame slots are allocated once; a full ring drops the
//! frame, as a congested wire would.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

const FRAME: usize = 1514;

/// Frames travelling one way.
pub struct FrameRing {
    frames: Vec<[u8; FRAME]>,
    lens: Vec<usize>,
    head: usize,
    count: usize,
    /// Where a frame is written when the ring is full (then dropped).
    spill: [u8; FRAME],
    pub dropped: usize,
    pub carried: usize,
}

impl FrameRing {
    pub fn new(slots: usize) -> Self {
        FrameRing {
            frames: vec![[0; FRAME]; slots],
            lens: vec![0; slots],
            head: 0,
            count: 0,
            spill: [0; FRAME],
            dropped: 0,
            carried: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Copies a frame in (tests inject captured frames this way).
    pub fn push(&mut self, frame: &[u8]) {
        let slot = self.reserve(frame.len());
        slot.copy_from_slice(frame);
        self.commit(frame.len());
    }

    /// Takes the oldest frame out.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let frame = self.frames[self.head][..self.lens[self.head]].to_vec();
        self.advance();
        Some(frame)
    }

    fn front(&self) -> &[u8] {
        &self.frames[self.head][..self.lens[self.head]]
    }

    fn advance(&mut self) {
        self.head = (self.head + 1) % self.frames.len();
        self.count -= 1;
    }

    fn reserve(&mut self, len: usize) -> &mut [u8] {
        assert!(len <= FRAME, "frame of {len} bytes");
        if self.count == self.frames.len() {
            return &mut self.spill[..len];
        }
        let tail = (self.head + self.count) % self.frames.len();
        &mut self.frames[tail][..len]
    }

    fn commit(&mut self, len: usize) {
        if self.count == self.frames.len() {
            self.dropped += 1;
            return;
        }
        let tail = (self.head + self.count) % self.frames.len();
        self.lens[tail] = len;
        self.count += 1;
        self.carried += 1;
    }
}

/// Both directions of the link.
pub struct Wire {
    /// Frames from the appliance to the client.
    pub to_client: FrameRing,
    /// Frames from the client to the appliance.
    pub to_appliance: FrameRing,
}

impl Wire {
    pub fn new(slots: usize) -> Self {
        Wire { to_client: FrameRing::new(slots), to_appliance: FrameRing::new(slots) }
    }

    /// The appliance's end of the wire.
    pub fn appliance_end(&mut self) -> End<'_> {
        End { rx: &mut self.to_appliance, tx: &mut self.to_client }
    }

    /// The client's end of the wire.
    pub fn client_end(&mut self) -> End<'_> {
        End { rx: &mut self.to_client, tx: &mut self.to_appliance }
    }
}

/// One end: receives from one ring, sends into the other.
pub struct End<'w> {
    rx: &'w mut FrameRing,
    tx: &'w mut FrameRing,
}

impl Device for End<'_> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if self.rx.is_empty() {
            return None;
        }
        Some((RxToken { ring: self.rx }, TxToken { ring: self.tx }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { ring: self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = FRAME;
        capabilities
    }
}

pub struct RxToken<'a> {
    ring: &'a mut FrameRing,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(self.ring.front());
        self.ring.advance();
        result
    }
}

pub struct TxToken<'a> {
    ring: &'a mut FrameRing,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let result = f(self.ring.reserve(len));
        self.ring.commit(len);
        result
    }
}
