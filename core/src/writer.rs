//! `ScriptWriter`: text into a caller's buffer that never truncates silently.

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

    /// Appends formatted text.
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) {
        // `write_str` never fails, so neither does this.
        let _ = fmt::Write::write_fmt(self, args);
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
}
