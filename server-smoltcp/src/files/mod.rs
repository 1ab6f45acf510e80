//! Boot artifacts (kernels, initrds) served from a file source, streamed in chunks.
//!
//! Every path other than the script endpoints (`/v1/…`, `/boot.ipxe`) is looked up in a
//! [`FileSource`]. The path is percent-decoded and checked *before* the source sees it:
//! a [`FilePath`] never contains `..`, `.`, empty segments, a leading `/`, a backslash or
//! a control byte, so no source can be walked out of its root by a request.
//!
//! A source only opens files; an open file is any [`embedded_io::Read`] +
//! [`embedded_io::Seek`] value, so a firmware file system (a FAT crate on flash, UEFI's
//! SimpleFileSystem behind a small adapter) plugs in as it is. The server keeps the open
//! files in an [`OpenFiles`] table, one slot per connection.
//!
//! Panic contract: nothing here panics, whatever bytes a request carries.

mod memory;
mod open;
mod path;

use core::fmt;

pub use memory::SliceFile;
pub use open::{FileHandle, OpenFile, OpenFiles};
pub use path::{FilePath, FilePathError};

/// Longest decoded file path, in bytes.
pub const MAX_FILE_PATH: usize = 1024;

/// Why a file could not be opened or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileError {
    /// No such file (or it is not a regular file): `404`.
    NotFound,
    /// The source cannot open another file right now.
    Busy,
    /// An I/O error.
    Io,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "no such file",
            Self::Busy => "too many open files",
            Self::Io => "I/O error",
        })
    }
}

impl core::error::Error for FileError {}

impl embedded_io::Error for FileError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::NotFound => embedded_io::ErrorKind::NotFound,
            Self::Busy => embedded_io::ErrorKind::OutOfMemory,
            Self::Io => embedded_io::ErrorKind::Other,
        }
    }
}

/// Where boot artifacts come from: a directory on the host, flash on firmware.
///
/// The server opens a file once per request, learns its length by seeking to the end,
/// reads it front to back in chunks as large as the TCP send buffer has room for, and
/// drops it when the response is done or the connection dies.
pub trait FileSource {
    /// An open file.
    type File: embedded_io::Read + embedded_io::Seek;

    /// Opens `path` (already validated, relative to the source's root). Only regular
    /// files are boot artifacts: anything else is [`FileError::NotFound`].
    fn open(&mut self, path: &FilePath<'_>) -> Result<Self::File, FileError>;
}

/// A source without files: every file request is `404`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileSource for NoFiles {
    type File = SliceFile<'static>;

    fn open(&mut self, _path: &FilePath<'_>) -> Result<Self::File, FileError> {
        Err(FileError::NotFound)
    }
}
