//! A file source in memory: boot artifacts for tests without touching the disk.

use std::sync::Arc;

use ipxe_config_server::{FileError, FileHandle, FilePath, FileSource, OpenFile};

/// Named byte strings; at most `max_open` open at once, like a real source.
pub struct MemoryFiles {
    files: Vec<(String, Arc<[u8]>)>,
    open: Vec<Option<usize>>,
    /// Files opened over the source's life.
    pub opened: u64,
}

impl MemoryFiles {
    pub fn new(max_open: usize) -> Self {
        MemoryFiles { files: Vec::new(), open: vec![None; max_open], opened: 0 }
    }

    /// Adds (or replaces) `path` (relative, as [`FilePath`] gives it).
    pub fn insert(&mut self, path: &str, contents: Arc<[u8]>) {
        self.files.retain(|(name, _)| name != path);
        self.files.push((path.to_owned(), contents));
    }

    /// Files open right now: 0 once every response is done or abandoned.
    pub fn open_count(&self) -> usize {
        self.open.iter().filter(|slot| slot.is_some()).count()
    }
}

impl FileSource for MemoryFiles {
    fn open(&mut self, path: &FilePath<'_>) -> Result<OpenFile, FileError> {
        let file = self.files.iter().position(|(name, _)| name == path.as_str()).ok_or(FileError::NotFound)?;
        let slot = self.open.iter().position(Option::is_none).ok_or(FileError::Busy)?;
        self.open[slot] = Some(file);
        self.opened += 1;
        Ok(OpenFile { handle: FileHandle(u32::try_from(slot).unwrap()), len: self.files[file].1.len() as u64 })
    }

    fn read(&mut self, handle: FileHandle, offset: u64, buf: &mut [u8]) -> Result<usize, FileError> {
        let file = self.open.get(handle.0 as usize).copied().flatten().ok_or(FileError::Io)?;
        let contents = &self.files[file].1;
        let start = usize::try_from(offset).unwrap().min(contents.len());
        let len = buf.len().min(contents.len() - start);
        buf[..len].copy_from_slice(&contents[start..start + len]);
        Ok(len)
    }

    fn close(&mut self, handle: FileHandle) {
        let slot = self.open.get_mut(handle.0 as usize).expect("a handle this source gave out");
        assert!(slot.take().is_some(), "file handle {} closed twice", handle.0);
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
