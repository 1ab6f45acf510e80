//! Writing a `Display` value into a caller's `char` buffer as a C string.

use core::fmt::{self, Write};

/// Writes `message` into `buf` NUL-terminated, cutting it (at a UTF-8 character boundary)
/// to fit. An empty buffer gets nothing; a one-byte buffer gets only the NUL. Returns
/// the length written, without the NUL.
pub fn write_c_string(buf: &mut [u8], message: impl fmt::Display) -> usize {
    let Some(room) = buf.len().checked_sub(1) else {
        return 0;
    };
    let mut writer = Truncating { buf: buf.get_mut(..room).unwrap_or_default(), len: 0 };
    // The writer never fails; a cut message is still the most useful start of it.
    let _ = write!(writer, "{message}");
    let len = writer.len;
    if let Some(terminator) = buf.get_mut(len) {
        *terminator = 0;
    }
    len
}

/// A `fmt::Write` over a fixed buffer that keeps what fits and drops the rest.
struct Truncating<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Write for Truncating<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let free = self.buf.len().saturating_sub(self.len);
        let mut take = text.len().min(free);
        while !text.is_char_boundary(take) {
            take = take.saturating_sub(1);
        }
        let end = self.len.saturating_add(take);
        if let (Some(room), Some(part)) = (self.buf.get_mut(self.len..end), text.get(..take)) {
            room.copy_from_slice(part.as_bytes());
            self.len = end;
        }
        if take < text.len() {
            // Stop at the first cut, so a later short piece cannot land after a gap.
            self.buf = &mut [];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_terminates_and_never_overflows() {
        let mut buf = [0xffu8; 8];
        assert_eq!(write_c_string(&mut buf, "abc"), 3);
        assert_eq!(&buf[..4], b"abc\0");

        let mut buf = [0xffu8; 9];
        assert_eq!(write_c_string(&mut buf[..4], "abcdef"), 3);
        assert_eq!(&buf[..5], b"abc\0\xff");

        let mut one = [0xffu8; 1];
        assert_eq!(write_c_string(&mut one, "abc"), 0);
        assert_eq!(one, [0]);

        assert_eq!(write_c_string(&mut [], "abc"), 0);
    }

    #[test]
    fn cuts_at_a_character_boundary() {
        let mut buf = [0xffu8; 4];
        assert_eq!(write_c_string(&mut buf, "aé…"), 3);
        assert_eq!(&buf, "aé\0".as_bytes());
        let mut buf = [0xffu8; 3];
        assert_eq!(write_c_string(&mut buf, "aé"), 1);
        assert_eq!(&buf[..2], b"a\0");
    }

    #[test]
    fn stops_at_the_first_cut() {
        let mut buf = [0xffu8; 4];
        let message = format_args!("{}{}", "a…", "b");
        assert_eq!(write_c_string(&mut buf, message), 1);
        assert_eq!(&buf[..2], b"a\0");
    }
}
