//! `ScriptWriter`: text into a caller's buffer that never truncates silently; and the
//! `Sink` seam the renderer writes through, so the same code fills a slice or an
//! [`embedded_io::Write`] (`io_sink.rs`).

use core::fmt;

/// The buffer was too small; `needed` is the full length of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// Bytes the whole output needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "output buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// Writes into a fixed buffer. Past the end it keeps counting instead of failing, so one
/// pass tells the caller the exact size it needs.
pub struct ScriptWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> ScriptWriter<'b> {
    /// A writer over `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Appends bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if let Some(room) = self.buf.get_mut(self.len..end) {
            room.copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Appends text.
    pub fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// Appends a decimal number.
    pub fn number(&mut self, value: u32) {
        Sink::number(self, value);
    }

    /// Appends a UUID in its hyphenated lower-case form.
    pub fn uuid(&mut self, uuid: &uuid::Uuid) {
        Sink::uuid(self, uuid);
    }

    /// Appends formatted text.
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) {
        Sink::fmt(self, args);
    }

    /// Bytes written (or needed, if past the end).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The output length, or the size needed if it did not fit.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.len <= self.buf.len() {
            Ok(self.len)
        } else {
            Err(BufferTooSmall { needed: self.len })
        }
    }
}

impl fmt::Write for ScriptWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.text(text);
        Ok(())
    }
}

/// Where the renderer's text goes. Appending cannot fail here: a sink keeps the first
/// failure (a full buffer, an I/O error) and reports it when the script is done, so the
/// script code reads as straight-line text.
pub(crate) trait Sink: fmt::Write {
    /// Appends bytes.
    fn bytes(&mut self, bytes: &[u8]);

    /// Appends text.
    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// Appends a decimal number.
    fn number(&mut self, value: u32) {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        let mut rest = value;
        loop {
            start -= 1;
            if let Some(digit) = digits.get_mut(start) {
                // `rest % 10` is below 10, so the cast cannot truncate.
                *digit = b'0' + (rest % 10) as u8;
            }
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.bytes(digits.get(start..).unwrap_or_default());
    }

    /// Appends a UUID in its hyphenated lower-case form.
    fn uuid(&mut self, uuid: &uuid::Uuid) {
        let mut buffer = uuid::Uuid::encode_buffer();
        self.text(uuid.hyphenated().encode_lower(&mut buffer));
    }

    /// Appends formatted text.
    fn fmt(&mut self, args: fmt::Arguments<'_>) {
        // A sink's `write_str` never fails (it keeps the failure), so neither does this.
        let _ = fmt::Write::write_fmt(self, args);
    }
}

impl Sink for ScriptWriter<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        ScriptWriter::bytes(self, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_full_size_when_short() {
        let mut buf = [0u8; 4];
        let mut writer = ScriptWriter::new(&mut buf);
        writer.text("#!ipxe\n");
        assert_eq!(writer.finish(), Err(BufferTooSmall { needed: 7 }));
        let mut buf = [0u8; 7];
        let mut writer = ScriptWriter::new(&mut buf);
        writer.text("#!ipxe\n");
        assert_eq!(writer.finish(), Ok(7));
        assert_eq!(&buf, b"#!ipxe\n");
    }

    #[test]
    fn writes_numbers_in_decimal() {
        let mut buf = [0u8; 32];
        let mut writer = ScriptWriter::new(&mut buf);
        for value in [0, 7, 10, 60_000, u32::MAX] {
            writer.number(value);
            writer.text(" ");
        }
        let len = writer.finish().unwrap();
        assert_eq!(&buf[..len], b"0 7 10 60000 4294967295 ");
    }
}
