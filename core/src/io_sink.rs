//! An [`embedded_io::Write`] as the renderer's [`Sink`], kept apart from the slice
//! writer like any optional trait glue.

use core::fmt;

use crate::writer::Sink;

/// An [`embedded_io::Write`] as a [`Sink`]: the first error is kept and nothing more is
/// written after it.
pub(crate) struct IoSink<'w, W: embedded_io::Write> {
    out: &'w mut W,
    len: usize,
    error: Option<W::Error>,
}

impl<'w, W: embedded_io::Write> IoSink<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        Self { out, len: 0, error: None }
    }

    /// Bytes written, or the first error.
    pub(crate) fn finish(self) -> Result<usize, W::Error> {
        match self.error {
            None => Ok(self.len),
            Some(error) => Err(error),
        }
    }
}

impl<W: embedded_io::Write> Sink for IoSink<'_, W> {
    fn bytes(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        // `write_all` panics only if `out` breaks the trait's contract by accepting
        // nothing without an error; a conforming sink reports a full buffer as an error.
        match self.out.write_all(bytes) {
            Ok(()) => self.len += bytes.len(),
            Err(error) => self.error = Some(error),
        }
    }
}

impl<W: embedded_io::Write> fmt::Write for IoSink<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.text(text);
        Ok(())
    }
}
