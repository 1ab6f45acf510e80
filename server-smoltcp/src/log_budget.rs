//! A bound on how many lines a second one kind of message may log: the segment is open,
//! and a flood of packets that each earn a line would otherwise fill the host's journal
//! or, on firmware, keep the loop writing to a serial console instead of serving.

use smoltcp::time::{Duration, Instant};

/// At most [`LogBudget::PER_SECOND`] lines a second; the rest are counted and the count
/// goes on the next line written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogBudget {
    second: Option<Instant>,
    written: u32,
    suppressed: u32,
}

impl LogBudget {
    pub(crate) const PER_SECOND: u32 = 8;

    /// `Some(lines suppressed before this one)` if a line may be written now.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<u32> {
        if self.second.is_none_or(|start| now < start || now >= start + Duration::from_secs(1)) {
            self.second = Some(now);
            self.written = 0;
        }
        if self.written >= Self::PER_SECOND {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.written += 1;
        Some(core::mem::take(&mut self.suppressed))
    }
}

/// `" (N more not logged)"` after a log line, when lines were suppressed before it.
pub(crate) struct Suppressed(pub(crate) u32);

impl core::fmt::Display for Suppressed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({n} earlier lines not logged)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_logged_at_a_bounded_rate() {
        let mut budget = LogBudget::default();
        let start = Instant::from_secs(5);
        for _ in 0..LogBudget::PER_SECOND {
            assert_eq!(budget.admit(start), Some(0));
        }
        assert_eq!(budget.admit(start + Duration::from_millis(999)), None);
        assert_eq!(budget.admit(start + Duration::from_millis(999)), None);
        assert_eq!(budget.admit(start + Duration::from_secs(1)), Some(2), "the count comes with the next line");
        assert_eq!(budget.admit(start + Duration::from_secs(1)), Some(0));
    }
}
