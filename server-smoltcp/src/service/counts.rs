//! Requests counted by what was answered (script kind, a file, or neither) and status
//! class, for an operator's metrics. Fixed arrays: no allocation, no growth.

use ipxe_config::ScriptKind;

/// What a request was answered with, as metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// A script of this kind.
    Script(ScriptKind),
    /// A file of the HTTP root (or its 404).
    File,
    /// Neither: a malformed request, a bad route, a timeout.
    Other,
}

/// Every [`Answered`] value, in metrics order.
const ANSWERS: [Answered; 9] = [
    Answered::Script(ScriptKind::DeployRamdisk),
    Answered::Script(ScriptKind::RescueRamdisk),
    Answered::Script(ScriptKind::InstanceKernel),
    Answered::Script(ScriptKind::InstanceRamdisk),
    Answered::Script(ScriptKind::LocalDisk),
    Answered::Script(ScriptKind::Error),
    Answered::Script(ScriptKind::Chain),
    Answered::File,
    Answered::Other,
];

/// Status classes: 1xx–5xx.
const CLASSES: usize = 5;

impl Answered {
    /// The metrics label: the script kind's name, `file` or `other`.
    pub fn label(self) -> &'static str {
        match self {
            Answered::Script(kind) => kind.as_str(),
            Answered::File => "file",
            Answered::Other => "other",
        }
    }

    fn index(self) -> usize {
        ANSWERS.iter().position(|answer| *answer == self).unwrap_or(ANSWERS.len() - 1)
    }
}

/// Request counts since start-up.
#[derive(Debug, Clone, Default)]
pub struct RequestCounts {
    counts: [[u64; CLASSES]; ANSWERS.len()],
}

impl RequestCounts {
    /// Counts one request answered with `status`.
    pub fn count(&mut self, answered: Answered, status: u16) {
        let class = usize::from(status / 100).clamp(1, CLASSES) - 1;
        if let Some(slot) = self.counts.get_mut(answered.index()).and_then(|row| row.get_mut(class)) {
            *slot = slot.saturating_add(1);
        }
    }

    /// Every non-zero count: what was answered, the status class (`"2xx"` …), how many.
    pub fn iter(&self) -> impl Iterator<Item = (Answered, &'static str, u64)> + '_ {
        const NAMES: [&str; CLASSES] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        ANSWERS.iter().zip(self.counts.iter()).flat_map(|(answer, row)| {
            NAMES.iter().zip(row.iter()).filter(|(_, count)| **count > 0).map(|(name, count)| (*answer, *name, *count))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_answer_and_status_class() {
        let mut counts = RequestCounts::default();
        counts.count(Answered::Script(ScriptKind::DeployRamdisk), 200);
        counts.count(Answered::Script(ScriptKind::DeployRamdisk), 200);
        counts.count(Answered::Other, 414);
        counts.count(Answered::File, 999);
        let mut seen = counts.iter().map(|(a, class, n)| (a.label(), class, n));
        assert_eq!(seen.next(), Some(("deploy", "2xx", 2)));
        assert_eq!(seen.next(), Some(("file", "5xx", 1)));
        assert_eq!(seen.next(), Some(("other", "4xx", 1)));
        assert_eq!(seen.next(), None);
    }
}
