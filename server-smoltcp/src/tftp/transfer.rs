//! One read transfer's progress: which block goes out next, what an ACK means, when to
//! retransmit. No sockets and no file here, so every rule is tested on its own.
//!
//! Blocks are counted from 1 in a `u64`; on the wire the number is that count modulo
//! 65536 (block numbers roll over to 0, as iPXE, OVMF, tftp-hpa and curl expect), so
//! files of any length go through. An ACK is matched to the one block in flight with
//! its wire number: with at most a window in flight, that block is unique.
//!
//! Retransmission is driven by the timer alone: a duplicate ACK is ignored rather than
//! answered with the next block again, which is what doubles the traffic in the
//! "Sorcerer's Apprentice" bug (RFC 1123 4.2.3.1). With a window (RFC 7440), an ACK
//! for a block before the last one sent means the client missed the next: the window
//! starts again after it.

use smoltcp::time::{Duration, Instant};

/// What is to be sent next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The OACK.
    OptionAck,
    /// A block of the file.
    Block {
        /// Where it starts in the file.
        offset: u64,
        /// Its length: the block size, or less for the last.
        len: usize,
        /// Its number on the wire.
        wire: u16,
    },
}

/// What an ACK did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    /// New blocks are acknowledged.
    Progress,
    /// The last block is acknowledged: the transfer is complete.
    Complete,
    /// A block already acknowledged (a duplicate), or one never sent: ignored.
    Ignored,
}

/// A read transfer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    len: u64,
    block_size: u16,
    window: u16,
    timeout: Duration,
    /// An OACK is owed and not yet acknowledged with ACK 0.
    oack_pending: bool,
    /// The OACK went out since the last (re)transmission point.
    oack_sent: bool,
    /// Highest block acknowledged (0: none).
    acked: u64,
    /// Highest block sent since the last (re)transmission point.
    sent: u64,
    /// When to retransmit if nothing new is acknowledged.
    deadline: Instant,
    /// Retransmissions since the last progress.
    retries: u8,
}

impl Progress {
    /// A transfer of `len` bytes in blocks of `block_size` (non-zero), up to `window`
    /// (non-zero) blocks in flight, starting with an OACK if `oack`.
    pub fn new(len: u64, block_size: u16, window: u16, timeout: Duration, oack: bool, now: Instant) -> Self {
        Progress {
            len,
            block_size: block_size.max(1),
            window: window.max(1),
            timeout,
            oack_pending: oack,
            oack_sent: false,
            acked: 0,
            sent: 0,
            deadline: now + timeout,
            retries: 0,
        }
    }

    /// The number of the last block: the one shorter than a full block (0 bytes when
    /// the length is a multiple of the block size, as RFC 1350 requires).
    pub fn last_block(&self) -> u64 {
        self.len / u64::from(self.block_size) + 1
    }

    /// What to send now, if anything: call [`Progress::sent`] once it is queued.
    pub fn next(&self) -> Option<Next> {
        if self.oack_pending {
            return (!self.oack_sent).then_some(Next::OptionAck);
        }
        let limit = (self.acked + u64::from(self.window)).min(self.last_block());
        if self.sent >= limit {
            return None;
        }
        let block = self.sent + 1;
        let offset = (block - 1) * u64::from(self.block_size);
        let len = self.len.saturating_sub(offset).min(u64::from(self.block_size));
        // Truncation intended: wire numbers roll over. `len` is at most a block (u16).
        #[allow(clippy::cast_possible_truncation)]
        Some(Next::Block { offset, len: len as usize, wire: block as u16 })
    }

    /// Records that what [`Progress::next`] returned went out.
    pub fn sent(&mut self) {
        if self.oack_pending {
            self.oack_sent = true;
        } else {
            self.sent += 1;
        }
    }

    /// Takes an ACK of wire block `wire`.
    pub fn ack(&mut self, wire: u16, now: Instant) -> Acked {
        if self.oack_pending {
            if wire != 0 || !self.oack_sent {
                return Acked::Ignored;
            }
            self.oack_pending = false;
            self.progressed(now);
            return Acked::Progress;
        }
        // The block in flight (acked, sent] whose wire number this is.
        let in_flight = self.sent - self.acked;
        // Truncation intended: wire numbers are the count modulo 65536.
        #[allow(clippy::cast_possible_truncation)]
        let distance = u64::from(wire.wrapping_sub(self.acked as u16));
        if distance == 0 || distance > in_flight {
            return Acked::Ignored;
        }
        self.acked += distance;
        // Blocks after it were lost: the next window starts right after it.
        self.sent = self.acked;
        self.progressed(now);
        if self.acked >= self.last_block() {
            Acked::Complete
        } else {
            Acked::Progress
        }
    }

    fn progressed(&mut self, now: Instant) {
        self.retries = 0;
        self.deadline = now + self.timeout;
    }

    /// When the transfer must be looked at again.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// At the deadline: everything not acknowledged goes out again. `false` once
    /// `max_retries` retransmissions brought nothing (give up).
    pub fn timed_out(&mut self, now: Instant, max_retries: u8) -> bool {
        if self.retries >= max_retries {
            return false;
        }
        self.retries += 1;
        self.oack_sent = false;
        self.sent = self.acked;
        self.deadline = now + self.timeout;
        true
    }

    /// Blocks acknowledged so far.
    pub fn acked_blocks(&self) -> u64 {
        self.acked
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// Sends everything `next` offers; the wire numbers sent.
    fn drain(progress: &mut Progress) -> heapless::Vec<u16, 16> {
        let mut sent = heapless::Vec::new();
        while let Some(next) = progress.next() {
            if let Next::Block { wire, .. } = next {
                sent.push(wire).unwrap();
            } else {
                sent.push(u16::MAX).unwrap();
            }
            progress.sent();
        }
        sent
    }

    #[test]
    fn blocks_cover_the_file_and_end_short() {
        let now = Instant::ZERO;
        let mut p = Progress::new(1024, 512, 1, SECOND, false, now);
        assert_eq!(p.last_block(), 3, "a multiple of the block size ends with an empty block");
        assert_eq!(p.next(), Some(Next::Block { offset: 0, len: 512, wire: 1 }));
        p.sent();
        assert_eq!(p.next(), None, "window 1: one block in flight");
        assert_eq!(p.ack(1, now), Acked::Progress);
        p.sent();
        assert_eq!(p.ack(2, now), Acked::Progress);
        assert_eq!(p.next(), Some(Next::Block { offset: 1024, len: 0, wire: 3 }));
        p.sent();
        assert_eq!(p.ack(3, now), Acked::Complete);
    }

    #[test]
    fn a_duplicate_ack_sends_nothing() {
        let now = Instant::ZERO;
        let mut p = Progress::new(5000, 512, 1, SECOND, false, now);
        drain(&mut p);
        assert_eq!(p.ack(1, now), Acked::Progress);
        assert_eq!(drain(&mut p), [2]);
        assert_eq!(p.ack(1, now), Acked::Ignored, "the duplicate of ACK 1");
        assert_eq!(drain(&mut p), [0u16; 0], "no Sorcerer's Apprentice");
        assert_eq!(p.ack(7, now), Acked::Ignored, "never sent");
    }

    #[test]
    fn the_oack_waits_for_ack_zero() {
        let now = Instant::ZERO;
        let mut p = Progress::new(100, 512, 4, SECOND, true, now);
        assert_eq!(p.ack(0, now), Acked::Ignored, "ACK 0 before the OACK went out");
        assert_eq!(drain(&mut p), [u16::MAX]);
        assert_eq!(p.ack(1, now), Acked::Ignored);
        assert_eq!(p.ack(0, now), Acked::Progress);
        assert_eq!(drain(&mut p), [1]);
        assert_eq!(p.ack(1, now), Acked::Complete);
    }

    #[test]
    fn a_window_restarts_after_the_last_block_received() {
        let now = Instant::ZERO;
        let mut p = Progress::new(10 * 512, 512, 4, SECOND, false, now);
        assert_eq!(drain(&mut p), [1, 2, 3, 4]);
        assert_eq!(p.ack(2, now), Acked::Progress, "3 was lost");
        assert_eq!(drain(&mut p), [3, 4, 5, 6]);
        assert_eq!(p.ack(6, now), Acked::Progress);
        assert_eq!(drain(&mut p), [7, 8, 9, 10]);
        assert_eq!(p.ack(10, now), Acked::Progress);
        assert_eq!(drain(&mut p), [11], "the empty last block");
        assert_eq!(p.ack(11, now), Acked::Complete);
    }

    #[test]
    fn timeouts_resend_the_window_then_give_up() {
        let now = Instant::ZERO;
        let mut p = Progress::new(10 * 512, 512, 2, SECOND, false, now);
        assert_eq!(drain(&mut p), [1, 2]);
        assert_eq!(p.deadline(), now + SECOND);
        for retry in 1..=3u32 {
            assert!(p.timed_out(now + SECOND * retry, 3));
            assert_eq!(drain(&mut p), [1, 2]);
        }
        assert!(!p.timed_out(now + SECOND * 4, 3));
        assert_eq!(p.ack(2, now + SECOND * 4), Acked::Progress);
        assert!(p.timed_out(now + SECOND * 5, 3), "progress resets the count");
    }

    #[test]
    fn block_numbers_roll_over() {
        let now = Instant::ZERO;
        let len = 70_000 * 8;
        let mut p = Progress::new(len, 8, 8, SECOND, false, now);
        let mut acked = 0u64;
        loop {
            let sent = drain(&mut p);
            let Some(&last) = sent.last() else { break };
            acked += u64::try_from(sent.len()).unwrap_or(0);
            match p.ack(last, now) {
                Acked::Complete => break,
                Acked::Progress => {}
                Acked::Ignored => panic!("ack {last} ignored after {acked} blocks"),
            }
        }
        assert_eq!(p.acked_blocks(), 70_001);
    }
}
