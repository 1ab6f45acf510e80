//! The ESP the image booted from: the configuration and inventory read whole at start-up,
//! and the boot artifacts served from its `artifacts` folder as an embedded-io
//! [`FileSource`], each request reading the file in chunks straight into the TCP buffer.
//!
//! Layout (`\ipxe-config\` beside `\EFI\BOOT\BOOTX64.EFI`):
//! `appliance.conf` (see `config`), `inventory.json` and `artifacts\…`.

use core::fmt;

use embedded_io::{ErrorType, Read, Seek, SeekFrom};
use ipxe_config_server::{FileError, FilePath, FileSource};
use uefi::proto::media::file::{Directory, File, FileAttribute, FileMode, RegularFile};
use uefi::{CStr16, Status};

/// The folder everything lives in, on the volume the image was loaded from.
pub const FOLDER: &str = "\\ipxe-config";
/// The files in it.
pub const CONFIG_FILE: &str = "\\ipxe-config\\appliance.conf";
/// See [`CONFIG_FILE`].
pub const INVENTORY_FILE: &str = "\\ipxe-config\\inventory.json";
/// See [`CONFIG_FILE`].
pub const ARTIFACTS_FOLDER: &str = "\\ipxe-config\\artifacts";

/// UCS-2 units of the longest path opened: the longest request path under the folder.
const MAX_UCS2_PATH: usize = ipxe_config_server::files::MAX_FILE_PATH + 64;

/// Why a start-up file could not be read.
#[derive(Debug, Clone, Copy)]
pub enum ReadError {
    /// Opening it failed (absent, say).
    Open(Status),
    /// Reading it failed.
    Read(Status),
    /// It is larger than the buffer it is read into.
    TooLarge { limit: usize },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open(Status::NOT_FOUND) => f.write_str("not found"),
            Self::Open(status) => write!(f, "cannot open: {status:?}"),
            Self::Read(status) => write!(f, "cannot read: {status:?}"),
            Self::TooLarge { limit } => write!(f, "larger than the {limit} bytes this image reads"),
        }
    }
}

/// `path` (ASCII, with backslashes) as a NUL-terminated UCS-2 string in `buf`.
fn ucs2<'b>(path: &str, buf: &'b mut [u16]) -> Option<&'b CStr16> {
    let mut len = 0;
    for unit in path.encode_utf16() {
        // `/` from a request path is a folder separator on FAT too.
        let unit = if unit == u16::from(b'/') { u16::from(b'\\') } else { unit };
        *buf.get_mut(len)? = unit;
        len += 1;
    }
    *buf.get_mut(len)? = 0;
    CStr16::from_u16_with_nul(buf.get(..=len)?).ok()
}

fn open_regular(root: &mut Directory, path: &str) -> Result<RegularFile, Status> {
    let mut buf = [0u16; MAX_UCS2_PATH];
    let name = ucs2(path, &mut buf).ok_or(Status::INVALID_PARAMETER)?;
    let handle = root.open(name, FileMode::Read, FileAttribute::empty()).map_err(|error| error.status())?;
    handle.into_regular_file().ok_or(Status::NOT_FOUND)
}

/// Reads the whole of `path` into `buf`; the bytes read.
pub fn read_whole<'b>(root: &mut Directory, path: &str, buf: &'b mut [u8]) -> Result<&'b [u8], ReadError> {
    let mut file = open_regular(root, path).map_err(ReadError::Open)?;
    let mut len = 0;
    loop {
        let Some(rest) = buf.get_mut(len..).filter(|rest| !rest.is_empty()) else {
            // Full: one more byte means the file does not fit.
            let mut probe = [0u8; 1];
            return match file.read(&mut probe) {
                Ok(0) => Ok(buf.get(..len).unwrap_or_default()),
                Ok(_) => Err(ReadError::TooLarge { limit: buf.len() }),
                Err(error) => Err(ReadError::Read(error.status())),
            };
        };
        match file.read(rest) {
            Ok(0) => return Ok(buf.get(..len).unwrap_or_default()),
            Ok(count) => len += count,
            Err(error) => return Err(ReadError::Read(error.status())),
        }
    }
}

/// Whether `relative` (a `/`-separated path under [`ARTIFACTS_FOLDER`]) is a file there.
pub fn artifact_exists(root: &mut Directory, relative: &str) -> bool {
    let mut full = heapless::String::<{ MAX_UCS2_PATH }>::new();
    full.push_str(ARTIFACTS_FOLDER).is_ok()
        && full.push('\\').is_ok()
        && full.push_str(relative).is_ok()
        && open_regular(root, &full).is_ok()
}

/// The artifacts folder as a file source.
pub struct EspFiles {
    root: Directory,
}

impl EspFiles {
    /// Serves files under [`ARTIFACTS_FOLDER`] of `root`.
    pub fn new(root: Directory) -> Self {
        EspFiles { root }
    }
}

impl FileSource for EspFiles {
    type File = EspFile;

    fn open(&mut self, path: &FilePath<'_>) -> Result<EspFile, FileError> {
        let mut full = heapless::String::<{ MAX_UCS2_PATH }>::new();
        // A FilePath has no `..`, `.` or empty segment and no backslash (see its docs),
        // so it cannot leave the folder.
        full.push_str(ARTIFACTS_FOLDER).map_err(|_| FileError::NotFound)?;
        full.push('\\').map_err(|_| FileError::NotFound)?;
        full.push_str(path.as_str()).map_err(|_| FileError::NotFound)?;
        match open_regular(&mut self.root, &full) {
            Ok(file) => Ok(EspFile { file }),
            Err(Status::NOT_FOUND | Status::INVALID_PARAMETER) => Err(FileError::NotFound),
            Err(Status::OUT_OF_RESOURCES) => Err(FileError::Busy),
            Err(_) => Err(FileError::Io),
        }
    }
}

/// An open artifact.
pub struct EspFile {
    file: RegularFile,
}

impl ErrorType for EspFile {
    type Error = FileError;
}

impl Read for EspFile {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        self.file.read(buf).map_err(|_| FileError::Io)
    }
}

impl Seek for EspFile {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, FileError> {
        let io = |_| FileError::Io;
        let target = match pos {
            SeekFrom::Start(offset) => offset,
            SeekFrom::End(delta) => {
                self.file.set_position(RegularFile::END_OF_FILE).map_err(io)?;
                let end = self.file.get_position().map_err(io)?;
                end.checked_add_signed(delta).ok_or(FileError::Io)?
            }
            SeekFrom::Current(delta) => {
                let here = self.file.get_position().map_err(io)?;
                here.checked_add_signed(delta).ok_or(FileError::Io)?
            }
        };
        self.file.set_position(target).map_err(io)?;
        Ok(target)
    }
}
