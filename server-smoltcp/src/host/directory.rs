//! A directory on the host as the file source (`--http-root DIR`).
//!
//! Files are opened relative to a descriptor of the root (`openat`), read with `pread`
//! at the offset the server asks for, and closed when the response ends. Paths reach
//! here already validated ([`FilePath`]): relative, no dot-segments. Symbolic links
//! inside the root are followed: linking images from elsewhere is an operator's choice.
//!
//! No allocation happens per request: the NUL-terminated path is built on the stack and
//! the table of open files is allocated once.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::vec::Vec;

use crate::files::{FileError, FileHandle, FilePath, FileSource, OpenFile, MAX_FILE_PATH};

/// Files under one directory.
#[derive(Debug)]
pub struct DirectoryFiles {
    root: OwnedFd,
    /// Open files; a handle is an index here.
    open: Vec<Option<OwnedFd>>,
}

impl DirectoryFiles {
    /// Opens `root`; at most `max_open` files are open at once (one per connection is
    /// enough: a connection streams one file at a time).
    pub fn open(root: &Path, max_open: usize) -> io::Result<Self> {
        let root = std::fs::File::open(root)?;
        if !root.metadata()?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
        }
        let mut open = Vec::with_capacity(max_open);
        open.resize_with(max_open, || None);
        Ok(DirectoryFiles { root: OwnedFd::from(root), open })
    }

    /// Files currently open (for tests: every response must close its file).
    pub fn open_count(&self) -> usize {
        self.open.iter().filter(|slot| slot.is_some()).count()
    }

    fn fd(&self, handle: FileHandle) -> Option<RawFd> {
        let index = usize::try_from(handle.0).ok()?;
        self.open.get(index)?.as_ref().map(AsRawFd::as_raw_fd)
    }
}

impl FileSource for DirectoryFiles {
    fn open(&mut self, path: &FilePath<'_>) -> Result<OpenFile, FileError> {
        let index = self.open.iter().position(Option::is_none).ok_or(FileError::Busy)?;
        let mut c_path = [0u8; MAX_FILE_PATH + 1];
        let bytes = path.as_str().as_bytes();
        c_path.get_mut(..bytes.len()).ok_or(FileError::NotFound)?.copy_from_slice(bytes);
        // A NUL inside would cut the path short; FilePath rejects control bytes, but the
        // check is cheap and local.
        if bytes.contains(&0) {
            return Err(FileError::NotFound);
        }
        #[allow(unsafe_code)] // reason: openat(2) on a NUL-terminated buffer that lives across the call
        let fd = unsafe {
            libc::openat(
                self.root.as_raw_fd(),
                c_path.as_ptr().cast(),
                libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
            )
        };
        if fd < 0 {
            return Err(match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOENT | libc::ENOTDIR | libc::EISDIR | libc::ELOOP | libc::EACCES) => FileError::NotFound,
                Some(libc::EMFILE | libc::ENFILE) => FileError::Busy,
                _ => FileError::Io,
            });
        }
        #[allow(unsafe_code)] // reason: fd was just returned by openat and is owned by nobody else
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY-free zero value: `stat` is plain old data.
        let mut stat = std::mem::MaybeUninit::<libc::stat>::zeroed();
        #[allow(unsafe_code)] // reason: fstat(2) fills the struct it is given
        let status = unsafe { libc::fstat(file.as_raw_fd(), stat.as_mut_ptr()) };
        if status != 0 {
            return Err(FileError::Io);
        }
        #[allow(unsafe_code)] // reason: fstat succeeded, so the struct is initialised
        let stat = unsafe { stat.assume_init() };
        // Directories, devices and FIFOs are not boot artifacts.
        if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(FileError::NotFound);
        }
        let len = u64::try_from(stat.st_size).map_err(|_| FileError::Io)?;
        let slot = self.open.get_mut(index).ok_or(FileError::Busy)?;
        *slot = Some(file);
        Ok(OpenFile { handle: FileHandle(u32::try_from(index).map_err(|_| FileError::Busy)?), len })
    }

    fn read(&mut self, handle: FileHandle, offset: u64, buf: &mut [u8]) -> Result<usize, FileError> {
        let fd = self.fd(handle).ok_or(FileError::Io)?;
        let offset = libc::off_t::try_from(offset).map_err(|_| FileError::Io)?;
        loop {
            #[allow(unsafe_code)] // reason: pread(2) writes at most buf.len() bytes into buf
            let read = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), offset) };
            if let Ok(read) = usize::try_from(read) {
                return Ok(read);
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(FileError::Io);
            }
        }
    }

    fn close(&mut self, handle: FileHandle) {
        if let Some(slot) = usize::try_from(handle.0).ok().and_then(|index| self.open.get_mut(index)) {
            *slot = None;
        }
    }
}
