//! An in-memory Ethernet link between the appliance and one client: two fixed rings of
//! frames, one each way, and a [`Port`] for each end. Frame slots are allocated once, so
//! carrying a frame allocates nothing (the allocation-counting tests and benches rely on
//! it); a full ring drops the frame, as a congested wire would.

use std::vec;
use std::vec::Vec;

use smoltcp::time::Instant;

use crate::phy::{Inbox, Outbox, Port, FRAME};

/// Frames travelling one way.
pub struct FrameRing {
    frames: Vec<[u8; FRAME]>,
    lens: Vec<usize>,
    head: usize,
    count: usize,
    /// Where a frame is written when the ring is full (then dropped).
    spill: [u8; FRAME],
    /// Frames dropped because the ring was full.
    pub dropped: u64,
    /// Frames that went into the ring.
    pub carried: u64,
}

impl FrameRing {
    /// A ring of `slots` frames.
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

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Copies a frame in (tests inject captured frames this way).
    pub fn push(&mut self, frame: &[u8]) {
        self.put(frame.len(), |slot| slot.copy_from_slice(frame));
    }

    /// Takes the oldest frame out.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        Some(self.take(<[u8]>::to_vec))
    }

    fn front(&self) -> &[u8] {
        &self.frames[self.head][..self.lens[self.head]]
    }

    fn advance(&mut self) {
        self.head = (self.head + 1) % self.frames.len();
        self.count -= 1;
    }
}

impl Inbox for FrameRing {
    fn ready(&mut self, _now: Instant) -> bool {
        !self.is_empty()
    }

    fn take<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let result = f(self.front());
        self.advance();
        result
    }
}

impl Outbox for FrameRing {
    fn put<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        assert!(len <= FRAME, "frame of {len} bytes");
        if self.count == self.frames.len() {
            self.dropped += 1;
            return f(&mut self.spill[..len]);
        }
        let tail = (self.head + self.count) % self.frames.len();
        let result = f(&mut self.frames[tail][..len]);
        self.lens[tail] = len;
        self.count += 1;
        self.carried += 1;
        result
    }
}

/// One end of a [`Wire`]: receives from one ring, sends into the other.
pub type End<'w> = Port<'w, FrameRing, FrameRing>;

/// Both directions of the link.
pub struct Wire {
    /// Frames from the appliance to the client.
    pub to_client: FrameRing,
    /// Frames from the client to the appliance.
    pub to_appliance: FrameRing,
}

impl Wire {
    /// A link holding up to `slots` frames each way.
    pub fn new(slots: usize) -> Self {
        Wire { to_client: FrameRing::new(slots), to_appliance: FrameRing::new(slots) }
    }

    /// The appliance's end of the wire.
    pub fn appliance_end(&mut self) -> End<'_> {
        Port::new(&mut self.to_appliance, &mut self.to_client)
    }

    /// The client's end of the wire.
    pub fn client_end(&mut self) -> End<'_> {
        Port::new(&mut self.to_client, &mut self.to_appliance)
    }

    /// Frames sent either way so far, carried or dropped: a poll that changed it moved
    /// something.
    pub fn frames_sent(&self) -> u64 {
        self.to_client.carried + self.to_client.dropped + self.to_appliance.carried + self.to_appliance.dropped
    }

    /// Frames dropped either way because a ring was full.
    pub fn dropped(&self) -> u64 {
        self.to_client.dropped + self.to_appliance.dropped
    }
}
