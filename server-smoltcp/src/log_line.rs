//! One log line in a fixed buffer, in the appliance's format: seconds since start, level,
//! message. The host binary's logger and the firmware's console both write it, so the
//! two logs read alike and an over-long message is cut the same way, never mid-character.

use core::fmt::{self, Write};

/// A formatted line of at most `N` bytes; a longer message is cut and ends in `…`.
pub struct LogLine<const N: usize> {
    bytes: [u8; N],
    len: usize,
    cut: bool,
}

impl<const N: usize> LogLine<N> {
    /// `"{seconds:>6}.{millis:03} {level:<5} {message}"`, cut to fit.
    pub fn format(seconds: u64, millis: u32, level: impl fmt::Display, message: fmt::Arguments<'_>) -> Self {
        let mut line = LogLine { bytes: [0; N], len: 0, cut: false };
        let _ = write!(line, "{seconds:>6}.{millis:03} {level:<5} {message}");
        if line.cut {
            // Into the room `write_str` kept for it.
            let ellipsis = "…".as_bytes();
            if let Some(to) = line.bytes.get_mut(line.len..line.len + ellipsis.len()) {
                to.copy_from_slice(ellipsis);
                line.len += ellipsis.len();
            }
        }
        line
    }

    /// The line, without a line break.
    pub fn as_str(&self) -> &str {
        // Every byte came from a `str` write cut at a character boundary.
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }

    /// The line ended by a line break (room for it is always kept), to write out whole.
    pub fn terminated(mut self) -> ([u8; N], usize) {
        if let Some(end) = self.bytes.get_mut(self.len) {
            *end = b'\n';
            self.len += 1;
        }
        (self.bytes, self.len)
    }
}

impl<const N: usize> Write for LogLine<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.cut {
            // Nothing after a cut: a later short piece would land before the `…`.
            return Ok(());
        }
        // Keep room for the ellipsis (3 bytes) and the line break.
        let room = N.saturating_sub(self.len + 4);
        let take = if text.len() <= room {
            text.len()
        } else {
            self.cut = true;
            (0..=room).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0)
        };
        if let (Some(to), Some(from)) = (self.bytes.get_mut(self.len..self.len + take), text.as_bytes().get(..take)) {
            to.copy_from_slice(from);
            self.len += take;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let long = "é".repeat(600);
        let line = LogLine::<1024>::format(3, 7, "INFO", format_args!("{long}"));
        assert!(line.as_str().starts_with("     3.007 INFO  éé"));
        assert!(line.as_str().ends_with('…'));
        assert!(line.as_str().len() < 1024);
        let (bytes, len) = line.terminated();
        assert_eq!(bytes[len - 1], b'\n');
    }

    #[test]
    fn short_lines_are_whole() {
        let line = LogLine::<64>::format(12, 345, "WARN", format_args!("dhcp {}", 1));
        assert_eq!(line.as_str(), "    12.345 WARN  dhcp 1");
        let (bytes, len) = line.terminated();
        assert_eq!(&bytes[..len], b"    12.345 WARN  dhcp 1\n");
    }
}
