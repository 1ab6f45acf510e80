//! The table of files the server has open: one slot per connection, a handle per slot.

use embedded_io::{Read, Seek, SeekFrom};

use crate::files::{FileError, FilePath, FileSource};

/// An open file in an [`OpenFiles`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHandle(pub u32);

/// What [`OpenFiles::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFile {
    /// Handle for [`OpenFiles::read`] and [`OpenFiles::close`].
    pub handle: FileHandle,
    /// Length in bytes, sent as `Content-Length`.
    pub len: u64,
}

/// A [`FileSource`] and the files the server has open from it.
///
/// Each connection streams at most one file, so one slot per connection is enough; with
/// fewer, a request finding every slot taken is answered `404` and a warning logged.
///
/// ```
/// use ipxe_config_server::files::{FilePath, OpenFiles, NoFiles};
/// let mut files = OpenFiles::new(NoFiles, &mut []);
/// let mut buf = [0u8; 16];
/// assert!(files.open(&FilePath::parse(b"/ipa.kernel", &mut buf).unwrap()).is_err());
/// assert_eq!(files.open_count(), 0);
/// ```
pub struct OpenFiles<'a, S: FileSource> {
    source: S,
    open: &'a mut [Option<S::File>],
}

impl<'a, S: FileSource> OpenFiles<'a, S> {
    /// Files from `source`, at most `slots.len()` open at once. Every slot should be `None`.
    pub fn new(source: S, slots: &'a mut [Option<S::File>]) -> Self {
        OpenFiles { source, open: slots }
    }

    /// The source the files come from.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// Files open right now: 0 once every response is done or abandoned.
    pub fn open_count(&self) -> usize {
        self.open.iter().filter(|slot| slot.is_some()).count()
    }

    /// Opens `path` in a free slot, positioned at its start.
    pub fn open(&mut self, path: &FilePath<'_>) -> Result<OpenFile, FileError> {
        let index = self.open.iter().position(Option::is_none).ok_or(FileError::Busy)?;
        let handle = FileHandle(u32::try_from(index).map_err(|_| FileError::Busy)?);
        let mut file = self.source.open(path)?;
        let len = file.seek(SeekFrom::End(0)).map_err(|_| FileError::Io)?;
        file.rewind().map_err(|_| FileError::Io)?;
        let slot = self.open.get_mut(index).ok_or(FileError::Busy)?;
        *slot = Some(file);
        Ok(OpenFile { handle, len })
    }

    /// Reads the next bytes of `handle` into `buf`; `Ok(0)` only at the end of the file.
    pub fn read(&mut self, handle: FileHandle, buf: &mut [u8]) -> Result<usize, FileError> {
        let file = usize::try_from(handle.0).ok().and_then(|index| self.open.get_mut(index)?.as_mut());
        file.ok_or(FileError::Io)?.read(buf).map_err(|_| FileError::Io)
    }

    /// Moves `handle` to byte `offset` from the start (a TFTP retransmission reads a
    /// block again).
    pub fn seek(&mut self, handle: FileHandle, offset: u64) -> Result<(), FileError> {
        let file = usize::try_from(handle.0).ok().and_then(|index| self.open.get_mut(index)?.as_mut());
        file.ok_or(FileError::Io)?.seek(SeekFrom::Start(offset)).map(|_| ()).map_err(|_| FileError::Io)
    }

    /// Closes `handle`; a handle already closed is left alone.
    pub fn close(&mut self, handle: FileHandle) {
        if let Some(slot) = usize::try_from(handle.0).ok().and_then(|index| self.open.get_mut(index)) {
            *slot = None;
        }
    }
}
