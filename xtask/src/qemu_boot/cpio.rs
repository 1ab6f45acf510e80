//! Writing a "newc" cpio archive, the format Linux unpacks as an initramfs.
//!
//! Written by hand so that building a test initrd needs neither root (device nodes
//! are just header fields here, not `mknod`) nor a `cpio` binary. The archive is left
//! uncompressed: the kernel accepts that, and the test initrds are small.
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex fields),
//! the NUL-terminated name, padding to a multiple of 4, the data, padding again. The
//! archive ends with an entry named `TRAILER!!!`. Inode numbers only need to be
//! distinct (the kernel uses them to spot hard links); timestamps are zero so the same
//! inputs give the same bytes, which lets the cache compare rather than rewrite.

/// Mode bits for the file types this writer emits (`S_IFDIR`, `S_IFREG`, `S_IFCHR`).
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFCHR: u32 = 0o020_000;

/// An archive being built in memory.
pub struct NewcArchive {
    bytes: Vec<u8>,
    next_inode: u32,
}

/// The header fields that differ between entries.
struct Entry<'a> {
    name: &'a str,
    mode: u32,
    nlink: u32,
    device: (u32, u32),
    data: &'a [u8],
}

impl NewcArchive {
    /// An empty archive.
    pub fn new() -> Self {
        NewcArchive { bytes: Vec::new(), next_inode: 1 }
    }

    /// A directory; `path` is relative to the root (`"dev"`, not `"/dev"`).
    pub fn directory(&mut self, path: &str, permissions: u32) -> Result<(), String> {
        self.entry(&Entry {
            name: path,
            mode: S_IFDIR | permissions,
            // "." and the parent's entry for it; the kernel does not check.
            nlink: 2,
            device: (0, 0),
            data: &[],
        })
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, permissions: u32, contents: &[u8]) -> Result<(), String> {
        self.entry(&Entry { name: path, mode: S_IFREG | permissions, nlink: 1, device: (0, 0), data: contents })
    }

    /// A character device node with the given major and minor numbers.
    pub fn char_device(&mut self, path: &str, permissions: u32, major: u32, minor: u32) -> Result<(), String> {
        self.entry(&Entry { name: path, mode: S_IFCHR | permissions, nlink: 1, device: (major, minor), data: &[] })
    }

    /// Appends the trailer and returns the archive's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        // The trailer is an ordinary header with inode 0 and nothing else set.
        self.next_inode = 0;
        self.entry(&Entry { name: "TRAILER!!!", mode: 0, nlink: 1, device: (0, 0), data: &[] })?;
        Ok(self.bytes)
    }

    fn entry(&mut self, entry: &Entry<'_>) -> Result<(), String> {
        if entry.name.is_empty() || entry.name.starts_with('/') || entry.name.contains('\0') {
            return Err(format!("cpio: entry name {:?} must be non-empty, relative and without NUL", entry.name));
        }
        let too_big = |what: &str| format!("cpio: {}: {what} does not fit a newc field", entry.name);
        let file_size = u32::try_from(entry.data.len()).map_err(|_| too_big("size"))?;
        // The name size counts the terminating NUL.
        let name_size = u32::try_from(entry.name.len() + 1).map_err(|_| too_big("name"))?;
        let inode = self.next_inode;
        self.next_inode = self.next_inode.wrapping_add(1);
        let fields: [u32; 13] = [
            inode,
            entry.mode,
            0, // uid
            0, // gid
            entry.nlink,
            0, // mtime
            file_size,
            0,              // devmajor: the device holding the file; meaningless in an initramfs
            0,              // devminor
            entry.device.0, // rdevmajor: what a device node refers to
            entry.device.1, // rdevminor
            name_size,
            0, // check: only used by the "crc" variant (070702)
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(entry.name.as_bytes());
        self.bytes.push(0);
        self.pad_to_four();
        self.bytes.extend_from_slice(entry.data);
        self.pad_to_four();
        Ok(())
    }

    fn pad_to_four(&mut self) {
        self.bytes.resize(self.bytes.len().next_multiple_of(4), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry as read back: name, mode, rdev (major, minor), data.
    type ReadEntry = (String, u32, (u32, u32), Vec<u8>);

    /// A strict reader, independent of the writer, to check what was written.
    fn read_back(archive: &[u8]) -> Vec<ReadEntry> {
        let mut entries = Vec::new();
        let mut at: usize = 0;
        loop {
            assert!(at.is_multiple_of(4), "entry not aligned");
            assert_eq!(&archive[at..at + 6], b"070701");
            let field = |index: usize| {
                let start = at + 6 + index * 8;
                let text = std::str::from_utf8(&archive[start..start + 8]).expect("ascii");
                u32::from_str_radix(text, 16).expect("hex")
            };
            let (mode, size, rdev, name_size) = (field(1), field(6), (field(9), field(10)), field(11));
            let name_start = at + 110;
            let name_end = name_start + name_size as usize - 1;
            let name = std::str::from_utf8(&archive[name_start..name_end]).expect("utf-8");
            assert_eq!(archive[name_end], 0, "name not NUL-terminated");
            let data_start = (name_end + 1).next_multiple_of(4);
            let data_end = data_start + size as usize;
            if name == "TRAILER!!!" {
                assert_eq!(data_end.next_multiple_of(4), archive.len());
                return entries;
            }
            entries.push((name.to_owned(), mode, rdev, archive[data_start..data_end].to_vec()));
            at = data_end.next_multiple_of(4);
        }
    }

    #[test]
    fn entries_read_back_with_types_and_contents() -> Result<(), String> {
        let mut archive = NewcArchive::new();
        archive.directory("dev", 0o755)?;
        archive.char_device("dev/console", 0o600, 5, 1)?;
        archive.file("init", 0o755, b"#!/bin/sh\n")?;
        archive.file("odd", 0o644, b"abcde")?;
        let entries = read_back(&archive.finish()?);
        assert_eq!(
            entries,
            vec![
                ("dev".to_owned(), 0o040_755, (0, 0), vec![]),
                ("dev/console".to_owned(), 0o020_600, (5, 1), vec![]),
                ("init".to_owned(), 0o100_755, (0, 0), b"#!/bin/sh\n".to_vec()),
                ("odd".to_owned(), 0o100_644, (0, 0), b"abcde".to_vec()),
            ]
        );
        Ok(())
    }

    #[test]
    fn same_inputs_give_same_bytes() -> Result<(), String> {
        let build = || {
            let mut archive = NewcArchive::new();
            archive.file("a", 0o644, b"x")?;
            archive.finish()
        };
        assert_eq!(build()?, build()?);
        Ok(())
    }

    #[test]
    fn absolute_names_are_refused() {
        let mut archive = NewcArchive::new();
        assert!(archive.file("/init", 0o755, b"").is_err());
        assert!(archive.directory("", 0o755).is_err());
    }
}
