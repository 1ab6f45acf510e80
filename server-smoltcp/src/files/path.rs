//! Request paths a file source may be given: percent-decoded, relative, never climbing
//! out of the root.
//!
//! Panic contract: nothing here panics, whatever bytes a request carries.

use core::fmt;

use ipxe_config::percent;

/// A request path that is safe to hand to a file source: relative, `/`-separated,
/// every segment a plain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePath<'p>(&'p str);

/// Why a request path is not a [`FilePath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePathError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded path is longer than the buffer it is decoded into ([`MAX_FILE_PATH`](super::MAX_FILE_PATH)
    /// on the server): `414`.
    TooLong,
    /// A segment starting with `.` (`..` included), a backslash, a control byte or invalid UTF-8.
    Unsafe,
    /// The path names the root itself.
    Empty,
}

impl FilePathError {
    /// The HTTP status answering it.
    ///
    /// ```
    /// use ipxe_config_server::files::FilePathError;
    /// assert_eq!(FilePathError::TooLong.status(), 414);
    /// assert_eq!(FilePathError::BadEscape.status(), 400);
    /// ```
    pub fn status(self) -> u16 {
        match self {
            Self::BadEscape | Self::Unsafe => 400,
            Self::TooLong => 414,
            Self::Empty => 404,
        }
    }

    /// A short reason for the response body.
    pub fn reason(self) -> &'static str {
        match self {
            Self::BadEscape => "malformed percent-escape in the path",
            Self::TooLong => "file path too long",
            Self::Unsafe => "path is not a plain file name under the file root",
            Self::Empty => "no such resource",
        }
    }
}

impl fmt::Display for FilePathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl core::error::Error for FilePathError {}

impl<'p> FilePath<'p> {
    /// Percent-decodes the path part of a request target (`/images/ipa.kernel`) into
    /// `buf` and checks every segment.
    ///
    /// ```
    /// use ipxe_config_server::files::{FilePath, FilePathError};
    /// let mut buf = [0u8; 64];
    /// assert_eq!(FilePath::parse(b"/images/ipa%2Ekernel", &mut buf).unwrap().as_str(), "images/ipa.kernel");
    /// assert_eq!(FilePath::parse(b"/images/%2e%2e/%2e%2e/etc/passwd", &mut buf), Err(FilePathError::Unsafe));
    /// assert_eq!(FilePath::parse(b"/a/..%2Fb", &mut buf), Err(FilePathError::Unsafe));
    /// ```
    pub fn parse(path: &[u8], buf: &'p mut [u8]) -> Result<Self, FilePathError> {
        let decoded = percent::decode(path, buf).map_err(|error| match error {
            percent::PercentError::BadEscape => FilePathError::BadEscape,
            percent::PercentError::TooLong => FilePathError::TooLong,
        })?;
        let text = core::str::from_utf8(decoded).map_err(|_| FilePathError::Unsafe)?;
        // A request path is absolute; a second leading slash would be an empty segment.
        let relative = text.strip_prefix('/').ok_or(FilePathError::Unsafe)?;
        Self::relative(relative)
    }

    /// Checks a path that is already plain text, relative to the root (a TFTP file
    /// name: no percent-escapes there), with the same rules as [`FilePath::parse`].
    ///
    /// ```
    /// use ipxe_config_server::files::{FilePath, FilePathError};
    /// assert_eq!(FilePath::relative("ipxe/snponly.efi").unwrap().as_str(), "ipxe/snponly.efi");
    /// assert_eq!(FilePath::relative("a%2Fb").unwrap().as_str(), "a%2Fb");
    /// assert_eq!(FilePath::relative("../etc/passwd"), Err(FilePathError::Unsafe));
    /// ```
    pub fn relative(relative: &'p str) -> Result<Self, FilePathError> {
        if relative.len() > super::MAX_FILE_PATH {
            return Err(FilePathError::TooLong);
        }
        if relative.is_empty() {
            return Err(FilePathError::Empty);
        }
        // Dot-segments would climb out of the root; other dot-files (`.git`, `.ssh`)
        // are never boot artifacts, so they are refused as well.
        let plain_segment = |segment: &str| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment.bytes().all(|b| b >= 0x20 && b != 0x7f && b != b'\\')
        };
        if !relative.split('/').all(plain_segment) {
            return Err(FilePathError::Unsafe);
        }
        Ok(FilePath(relative))
    }

    /// The relative path, segments separated by `/`.
    pub fn as_str(&self) -> &'p str {
        self.0
    }

    /// The last segment's extension, if any (`kernel` in `ipa.kernel`).
    pub fn extension(&self) -> Option<&'p str> {
        let name = self.0.rsplit('/').next()?;
        let (stem, extension) = name.rsplit_once('.')?;
        (!stem.is_empty()).then_some(extension)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_nested_names() {
        let mut buf = [0u8; 64];
        let path = FilePath::parse(b"/images/deploy/ipa.initramfs", &mut buf).unwrap();
        assert_eq!(path.as_str(), "images/deploy/ipa.initramfs");
        assert_eq!(path.extension(), Some("initramfs"));
    }

    #[test]
    fn rejects_every_escape_from_the_root() {
        for target in [
            &b"/../etc/passwd"[..],
            b"/images/../../x",
            b"/%2e%2e/x",
            b"/%2E%2E%2Fx",
            b"//etc/passwd",
            b"/%2Fetc/passwd",
            b"/a/./b",
            b"/a//b",
            b"/a\\..\\b",
            b"/a%5C..%5Cb",
            b"/.git/config",
            b"/a%00b",
            b"/a%0Ab",
            b"/a/",
            b"relative",
        ] {
            let mut buf = [0u8; 64];
            assert!(FilePath::parse(target, &mut buf).is_err(), "{target:?}");
        }
        let mut buf = [0u8; 64];
        assert_eq!(FilePath::parse(b"/", &mut buf), Err(FilePathError::Empty));
        assert_eq!(FilePath::parse(b"/a%zz", &mut buf), Err(FilePathError::BadEscape));
        let mut small = [0u8; 4];
        assert_eq!(FilePath::parse(b"/abcdef", &mut small), Err(FilePathError::TooLong));
        assert_eq!(FilePathError::TooLong.status(), 414);
    }
}
