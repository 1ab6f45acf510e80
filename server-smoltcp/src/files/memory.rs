//! A file whose bytes are already in memory: linked into a firmware image, or a test's.

use embedded_io::{ErrorType, Read, Seek, SeekFrom};

use crate::files::FileError;

/// Bytes read front to back as a file; a seek outside them is [`FileError::Io`].
///
/// ```
/// use embedded_io::{Read, Seek, SeekFrom};
/// use ipxe_config_server::files::SliceFile;
/// let mut file = SliceFile::new(b"#!ipxe\n");
/// assert_eq!(file.seek(SeekFrom::End(0)).unwrap(), 7);
/// file.rewind().unwrap();
/// let mut buf = [0u8; 4];
/// assert_eq!(file.read(&mut buf).unwrap(), 4);
/// assert_eq!(&buf, b"#!ip");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceFile<'b> {
    bytes: &'b [u8],
    position: usize,
}

impl<'b> SliceFile<'b> {
    /// A file holding `bytes`, positioned at its start.
    pub const fn new(bytes: &'b [u8]) -> Self {
        SliceFile { bytes, position: 0 }
    }
}

impl ErrorType for SliceFile<'_> {
    type Error = FileError;
}

impl Read for SliceFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let len = rest.len().min(buf.len());
        let (Some(to), Some(from)) = (buf.get_mut(..len), rest.get(..len)) else { return Ok(0) };
        to.copy_from_slice(from);
        self.position += len;
        Ok(len)
    }
}

impl Seek for SliceFile<'_> {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, FileError> {
        let (base, delta) = match pos {
            SeekFrom::Start(offset) => (0, i64::try_from(offset).map_err(|_| FileError::Io)?),
            SeekFrom::End(delta) => (self.bytes.len(), delta),
            SeekFrom::Current(delta) => (self.position, delta),
        };
        let base = i64::try_from(base).map_err(|_| FileError::Io)?;
        let target = base.checked_add(delta).ok_or(FileError::Io)?;
        let position = usize::try_from(target).map_err(|_| FileError::Io)?;
        if position > self.bytes.len() {
            return Err(FileError::Io);
        }
        self.position = position;
        Ok(position as u64)
    }
}
