//! A directory on the host as the file source (`--http-root DIR`).
//!
//! Files are opened relative to a descriptor of the root; each open file is a
//! [`HostFile`], read with `read(2)` and measured with `lseek(2)`, closed when the server
//! drops it. Paths reach here already validated ([`FilePath`]): relative, no dot-segments.
//!
//! No file outside the root is ever served. Symbolic links are followed only while they
//! stay beneath it: on Linux 5.6 and later each open is `openat2(2)` with
//! `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, so a link from `kernels/current` to
//! `kernels/v2` works, while a link to `/etc/shadow`, or to `..` and on up, is refused
//! (`404`) by the kernel at every step of the walk. Where the kernel lacks `openat2`
//! (`ENOSYS`), no symbolic link is followed at all: each directory of the path is opened
//! with `O_NOFOLLOW | O_DIRECTORY` and the file with `O_NOFOLLOW`. Which of the two is in
//! force is logged when the root is opened.
//!
//! Every open is non-blocking: opening a FIFO for reading otherwise waits for a writer,
//! and one left under the root froze the whole appliance. Only regular files are served.
//!
//! No allocation happens per request: the NUL-terminated path is built on the stack, and
//! an open file is its descriptor.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use embedded_io::{ErrorType, Read, Seek, SeekFrom};

use crate::files::{FileError, FilePath, FileSource, MAX_FILE_PATH};

/// Flags of every open: read-only, and never blocking (a FIFO would wait for a writer).
const OPEN_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;

/// How opens are kept beneath the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confinement {
    /// `openat2(2)` with `RESOLVE_BENEATH`: symbolic links that stay beneath the root work.
    Beneath,
    /// The kernel has no `openat2`: no symbolic link is followed.
    NoSymlinks,
}

/// Files under one directory.
#[derive(Debug)]
pub struct DirectoryFiles {
    root: OwnedFd,
    confinement: Confinement,
}

impl DirectoryFiles {
    /// Opens `root`.
    pub fn open(root: &Path) -> io::Result<Self> {
        let root = std::fs::File::open(root)?;
        if !root.metadata()?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
        }
        let root = OwnedFd::from(root);
        let confinement = if beneath_supported(&root) {
            log_info!("--http-root: symbolic links are followed while they stay beneath the root (openat2)");
            Confinement::Beneath
        } else {
            log_warn!("--http-root: the kernel has no openat2(2); no symbolic link under the root is followed");
            Confinement::NoSymlinks
        };
        Ok(DirectoryFiles { root, confinement })
    }
}

/// A regular file opened under the root; closed when dropped.
#[derive(Debug)]
pub struct HostFile(OwnedFd);

impl ErrorType for HostFile {
    type Error = FileError;
}

impl Read for HostFile {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        loop {
            #[allow(unsafe_code)] // reason: read(2) writes at most buf.len() bytes into buf
            let read = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if let Ok(read) = usize::try_from(read) {
                return Ok(read);
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(FileError::Io);
            }
        }
    }
}

impl Seek for HostFile {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, FileError> {
        let (offset, whence) = match pos {
            SeekFrom::Start(offset) => (libc::off_t::try_from(offset).map_err(|_| FileError::Io)?, libc::SEEK_SET),
            SeekFrom::End(delta) => (libc::off_t::try_from(delta).map_err(|_| FileError::Io)?, libc::SEEK_END),
            SeekFrom::Current(delta) => (libc::off_t::try_from(delta).map_err(|_| FileError::Io)?, libc::SEEK_CUR),
        };
        #[allow(unsafe_code)] // reason: lseek(2) on a descriptor this value owns
        let position = unsafe { libc::lseek(self.0.as_raw_fd(), offset, whence) };
        u64::try_from(position).map_err(|_| FileError::Io)
    }
}

/// Whether `openat2(2)` with `RESOLVE_BENEATH` works here (Linux 5.6 and later).
#[cfg(target_os = "linux")]
fn beneath_supported(root: &OwnedFd) -> bool {
    match open_beneath(root.as_raw_fd(), c".".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_DIRECTORY) {
        Ok(_) => true,
        // A seccomp filter that does not know the call may answer EPERM instead of ENOSYS.
        Err(error) => !matches!(error.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)),
    }
}

#[cfg(not(target_os = "linux"))]
fn beneath_supported(_root: &OwnedFd) -> bool {
    false
}

/// `openat2(dir, path, flags)` resolving every component beneath `dir`, magic links refused.
#[cfg(target_os = "linux")]
fn open_beneath(dir: RawFd, path: *const libc::c_char, flags: libc::c_int) -> io::Result<OwnedFd> {
    #[allow(unsafe_code)] // reason: open_how is plain old data; zero is a valid value
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags).unwrap_or(0);
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        #[allow(unsafe_code)] // reason: openat2(2) reads a NUL-terminated path and an open_how of the size given
        let fd = unsafe {
            libc::syscall(libc::SYS_openat2, dir, path, &raw const how, std::mem::size_of::<libc::open_how>())
        };
        if let Ok(fd) = RawFd::try_from(fd) {
            if fd >= 0 {
                #[allow(unsafe_code)] // reason: fd was just returned by openat2 and is owned by nobody else
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        let error = io::Error::last_os_error();
        // EAGAIN: a rename raced the walk; the kernel asks for a retry.
        if !matches!(error.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
            return Err(error);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(_dir: RawFd, _path: *const libc::c_char, _flags: libc::c_int) -> io::Result<OwnedFd> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// `openat(dir, path, flags)`.
fn open_at(dir: RawFd, path: *const libc::c_char, flags: libc::c_int) -> io::Result<OwnedFd> {
    #[allow(unsafe_code)] // reason: openat(2) on a NUL-terminated buffer that lives across the call
    let fd = unsafe { libc::openat(dir, path, flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(unsafe_code)] // reason: fd was just returned by openat and is owned by nobody else
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the `/`-separated, NUL-terminated `path` under `root` following no symbolic
/// link: each directory with `O_NOFOLLOW | O_DIRECTORY`, the file with `O_NOFOLLOW`.
/// The separators in `path` are overwritten with NULs on the way.
fn open_without_symlinks(root: RawFd, path: &mut [u8]) -> io::Result<OwnedFd> {
    let mut dir: Option<OwnedFd> = None;
    let mut start = 0;
    while let Some(slash) = path.get(start..).and_then(|rest| rest.iter().position(|&b| b == b'/')) {
        let end = start + slash;
        if let Some(separator) = path.get_mut(end) {
            *separator = 0;
        }
        let segment = path.get(start..).unwrap_or_default().as_ptr().cast();
        let parent = dir.as_ref().map_or(root, AsRawFd::as_raw_fd);
        dir = Some(open_at(parent, segment, libc::O_RDONLY | libc::O_CLOEXEC | libc::O_DIRECTORY | libc::O_NOFOLLOW)?);
        start = end + 1;
    }
    let name = path.get(start..).unwrap_or_default().as_ptr().cast();
    open_at(dir.as_ref().map_or(root, AsRawFd::as_raw_fd), name, OPEN_FLAGS | libc::O_NOFOLLOW)
}

impl FileSource for DirectoryFiles {
    type File = HostFile;

    fn open(&mut self, path: &FilePath<'_>) -> Result<HostFile, FileError> {
        let mut c_path = [0u8; MAX_FILE_PATH + 1];
        let bytes = path.as_str().as_bytes();
        c_path.get_mut(..bytes.len()).ok_or(FileError::NotFound)?.copy_from_slice(bytes);
        // A NUL inside would cut the path short; FilePath rejects control bytes, but the
        // check is cheap and local.
        if bytes.contains(&0) {
            return Err(FileError::NotFound);
        }
        let root = self.root.as_raw_fd();
        let opened = match self.confinement {
            Confinement::Beneath => open_beneath(root, c_path.as_ptr().cast(), OPEN_FLAGS),
            Confinement::NoSymlinks => open_without_symlinks(root, c_path.get_mut(..=bytes.len()).unwrap_or_default()),
        };
        let file = opened.map_err(|error| match error.raw_os_error() {
            // EXDEV: the path left the root (RESOLVE_BENEATH); ELOOP: a symbolic link where
            // none may be followed.
            Some(libc::ENOENT | libc::ENOTDIR | libc::EISDIR | libc::ELOOP | libc::EXDEV | libc::EACCES) => {
                FileError::NotFound
            }
            Some(libc::EMFILE | libc::ENFILE) => FileError::Busy,
            _ => FileError::Io,
        })?;
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
        Ok(HostFile(file))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;
    use std::vec::Vec;
    use std::{format, println, vec};

    use super::*;

    /// A fresh directory holding `root/` (the file root) and `outside.txt` beside it.
    fn layout(test: &str) -> (PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!("ipxe-config-directory-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("kernels/v2")).unwrap();
        std::fs::write(root.join("kernels/v2/vmlinuz"), b"kernel v2").unwrap();
        std::fs::write(base.join("outside.txt"), b"secret").unwrap();
        (base, root)
    }

    fn files(root: &Path, confinement: Confinement) -> DirectoryFiles {
        let dir = OwnedFd::from(std::fs::File::open(root).unwrap());
        DirectoryFiles { root: dir, confinement }
    }

    fn open(files: &mut DirectoryFiles, path: &str) -> Result<Vec<u8>, FileError> {
        let mut buf = [0u8; 256];
        let path = FilePath::parse(format!("/{path}").as_bytes(), &mut buf).unwrap();
        let mut file = files.open(&path)?;
        let len = file.seek(SeekFrom::End(0)).unwrap();
        file.rewind().unwrap();
        let mut contents = vec![0u8; usize::try_from(len).unwrap()];
        let read = file.read(&mut contents).unwrap();
        contents.truncate(read);
        Ok(contents)
    }

    fn modes(root: &Path) -> Vec<DirectoryFiles> {
        let mut modes = vec![files(root, Confinement::NoSymlinks)];
        if beneath_supported(&OwnedFd::from(std::fs::File::open(root).unwrap())) {
            modes.push(files(root, Confinement::Beneath));
        } else {
            println!("openat2 not available: only the fallback is tested");
        }
        modes
    }

    #[test]
    fn plain_files_are_served_in_both_modes() {
        let (base, root) = layout("plain");
        for mut files in modes(&root) {
            assert_eq!(open(&mut files, "kernels/v2/vmlinuz").unwrap(), b"kernel v2", "{:?}", files.confinement);
            assert_eq!(open(&mut files, "kernels/v3/vmlinuz"), Err(FileError::NotFound));
            assert_eq!(open(&mut files, "kernels"), Err(FileError::NotFound), "a directory");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn symlinks_never_leave_the_root() {
        let (base, root) = layout("symlinks");
        symlink("v2", root.join("kernels/current")).unwrap();
        symlink("kernels/v2/vmlinuz", root.join("vmlinuz")).unwrap();
        symlink(base.join("outside.txt"), root.join("absolute")).unwrap();
        symlink("../outside.txt", root.join("relative")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        symlink("..", root.join("up")).unwrap();
        for mut files in modes(&root) {
            let mode = files.confinement;
            for escape in ["absolute", "relative", "etc/hostname", "up/outside.txt", "up/root/kernels/v2/vmlinuz"] {
                assert_eq!(open(&mut files, escape), Err(FileError::NotFound), "{escape} ({mode:?})");
            }
            for inside in ["vmlinuz", "kernels/current/vmlinuz"] {
                let expected =
                    if mode == Confinement::Beneath { Ok(b"kernel v2".to_vec()) } else { Err(FileError::NotFound) };
                assert_eq!(open(&mut files, inside), expected, "{inside} ({mode:?})");
            }
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let (base, root) = layout("fifo");
        let fifo = std::ffi::CString::new(root.join("pipe").into_os_string().into_encoded_bytes()).unwrap();
        #[allow(unsafe_code)] // reason: mkfifo(3) on a NUL-terminated path
        let made = unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) };
        assert_eq!(made, 0, "{}", io::Error::last_os_error());
        for files in modes(&root) {
            let (done, finished) = mpsc::channel();
            // On a thread: an open that blocks must fail the test, not hang it.
            std::thread::spawn(move || {
                let mut files = files;
                let _ = done.send(open(&mut files, "pipe"));
            });
            let result = finished.recv_timeout(Duration::from_secs(5)).expect("opening a FIFO blocked");
            assert_eq!(result, Err(FileError::NotFound));
        }
        std::fs::remove_dir_all(base).unwrap();
    }
}
