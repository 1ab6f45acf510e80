//! File sources in memory: boot artifacts without touching a disk.
//!
//! [`StaticFiles`] serves a table fixed at build time, as flash would hold it on
//! firmware; with `std`, [`MemoryFiles`] holds files a test adds and replaces, and
//! [`pseudo_random_bytes`] makes their contents.

use ipxe_config_server::{FileError, FilePath, FileSource, SliceFile};

/// Files fixed at build time, by path (relative, as [`FilePath`] gives it).
#[derive(Debug, Clone, Copy)]
pub struct StaticFiles {
    files: &'static [(&'static str, &'static [u8])],
}

impl StaticFiles {
    /// The source serving `files`.
    pub const fn new(files: &'static [(&'static str, &'static [u8])]) -> Self {
        StaticFiles { files }
    }
}

impl FileSource for StaticFiles {
    type File = SliceFile<'static>;

    fn open(&mut self, path: &FilePath<'_>) -> Result<SliceFile<'static>, FileError> {
        let (_, contents) = self.files.iter().find(|(name, _)| *name == path.as_str()).ok_or(FileError::NotFound)?;
        Ok(SliceFile::new(contents))
    }
}

#[cfg(feature = "std")]
pub use owned::{pseudo_random_bytes, MemoryFile, MemoryFiles};

#[cfg(feature = "std")]
mod owned {
    use std::borrow::ToOwned;
    use std::string::String;
    use std::sync::Arc;
    use std::vec::Vec;

    use embedded_io::{ErrorType, Read, Seek, SeekFrom};
    use ipxe_config_server::{FileError, FilePath, FileSource};

    /// Named byte strings. Any number may be open at once: the `OpenFiles` table over the
    /// source (one slot per connection) is what limits them.
    #[derive(Default)]
    pub struct MemoryFiles {
        files: Vec<(String, Arc<[u8]>)>,
        /// Files opened over the source's life.
        pub opened: u64,
    }

    impl MemoryFiles {
        /// No files yet.
        pub fn new() -> Self {
            MemoryFiles::default()
        }

        /// Adds (or replaces) `path` (relative, as [`FilePath`] gives it).
        pub fn insert(&mut self, path: &str, contents: Arc<[u8]>) {
            self.files.retain(|(name, _)| name != path);
            self.files.push((path.to_owned(), contents));
        }
    }

    /// One open file: its bytes (shared, so opening allocates nothing) and a position.
    pub struct MemoryFile {
        contents: Arc<[u8]>,
        position: usize,
    }

    impl FileSource for MemoryFiles {
        type File = MemoryFile;

        fn open(&mut self, path: &FilePath<'_>) -> Result<MemoryFile, FileError> {
            let (_, contents) = self.files.iter().find(|(name, _)| name == path.as_str()).ok_or(FileError::NotFound)?;
            self.opened += 1;
            Ok(MemoryFile { contents: Arc::clone(contents), position: 0 })
        }
    }

    impl ErrorType for MemoryFile {
        type Error = FileError;
    }

    impl Read for MemoryFile {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
            let rest = &self.contents[self.position..];
            let len = buf.len().min(rest.len());
            buf[..len].copy_from_slice(&rest[..len]);
            self.position += len;
            Ok(len)
        }
    }

    impl Seek for MemoryFile {
        fn seek(&mut self, pos: SeekFrom) -> Result<u64, FileError> {
            let target = match pos {
                SeekFrom::Start(offset) => i64::try_from(offset).map_err(|_| FileError::Io)?,
                SeekFrom::End(delta) => i64::try_from(self.contents.len()).map_err(|_| FileError::Io)? + delta,
                SeekFrom::Current(delta) => i64::try_from(self.position).map_err(|_| FileError::Io)? + delta,
            };
            self.position = usize::try_from(target).map_err(|_| FileError::Io)?.min(self.contents.len());
            Ok(self.position as u64)
        }
    }

    /// Bytes that never repeat in a short period, so a misplaced chunk cannot compare equal.
    pub fn pseudo_random_bytes(len: usize, seed: u32) -> Arc<[u8]> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect()
    }
}
