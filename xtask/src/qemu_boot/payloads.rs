//! Everything a guest boots, built without root and cached under
//! `target/qemu-boot/cache/`:
//!
//! | file | what |
//! |---|---|
//! | `vmlinuz` | Debian's cloud kernel (see [`super::kernel`]) |
//! | `<tag>.initrd` | test initrd that reports `<tag>` and powers off |
//! | `<tag>-reboot.initrd` | the same, but pauses and reboots (lifecycle test) |
//! | `localdisk.img` | the one-sector local disk (see [`super::mbr`]) |
//! | `blankdisk.img` | a one-sector disk with no boot signature: `sanboot` fails on it |
//! | `markerfloppy.img` | a 1.44 MB floppy whose boot sector is the local disk's |
//!
//! The kernel is downloaded only when missing. The initrds and the disk are rebuilt in
//! memory on every run (milliseconds) but written only when their bytes changed, and
//! then by rename: a per-scenario HTTP root made of hard links to an older version keeps
//! seeing the file it linked.

use super::initrd::{self, Ending, Tag};
use super::kernel;
use super::mbr;
use super::paths::cache_dir;
use super::prereqs::BUSYBOX;
use std::fs;
use std::path::{Path, PathBuf};

/// The kernel's file name in an appliance's HTTP root.
#[allow(dead_code, reason = "used by the qemu-boot scenarios, which land with the appliance")]
pub const HTTP_ROOT_KERNEL: &str = "vmlinuz";

/// Paths of the built payloads.
pub struct Payloads {
    /// The guest kernel.
    pub kernel: PathBuf,
    /// The Debian package the kernel came from.
    pub kernel_package: String,
    /// The local-disk image (attach with `snapshot=on`; it is shared by every run).
    pub local_disk: PathBuf,
    /// A disk the BIOS and iPXE's `sanboot` refuse (no 0x55AA signature).
    pub blank_disk: PathBuf,
    /// A floppy booting the local disk's marker code: a boot device after the hard disk.
    pub marker_floppy: PathBuf,
    cache: PathBuf,
}

impl Payloads {
    /// The cached initrd for `tag` with the given ending.
    pub fn initrd(&self, tag: Tag, ending: Ending) -> PathBuf {
        self.cache.join(cached_initrd_name(tag, ending))
    }

    /// Fills `dir` with what the appliance serves: `vmlinuz` and `<tag>.initrd` for each
    /// tag, taking for each tag the ending `ending_for` picks. Hard links where possible
    /// (same file system: free), copies otherwise.
    #[allow(dead_code, reason = "used by the qemu-boot scenarios, which land with the appliance")]
    pub fn fill_http_root(&self, dir: &Path, ending_for: impl Fn(Tag) -> Ending) -> Result<(), String> {
        fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        link_or_copy(&self.kernel, &dir.join(HTTP_ROOT_KERNEL))?;
        for tag in Tag::ALL {
            link_or_copy(&self.initrd(tag, ending_for(tag)), &dir.join(http_root_initrd_name(tag)))?;
        }
        Ok(())
    }
}

/// The initrd's file name in an appliance's HTTP root: `deploy.initrd` and so on.
#[allow(dead_code, reason = "used by the qemu-boot scenarios, which land with the appliance")]
pub fn http_root_initrd_name(tag: Tag) -> String {
    format!("{}.initrd", tag.as_str())
}

/// The initrd's file name in the cache; the ending is part of it so both variants coexist.
fn cached_initrd_name(tag: Tag, ending: Ending) -> String {
    match ending {
        Ending::PowerOff => format!("{}.initrd", tag.as_str()),
        Ending::RebootAfterPause => format!("{}-reboot.initrd", tag.as_str()),
    }
}

/// Builds (or finds in the cache) every payload.
pub fn build() -> Result<Payloads, String> {
    let cache = cache_dir()?;
    let kernel = kernel::ensure(&cache)?;

    let busybox = fs::read(BUSYBOX).map_err(|error| format!("cannot read {BUSYBOX}: {error}"))?;
    for tag in Tag::ALL {
        for ending in Ending::ALL {
            let bytes = initrd::build(tag, ending, &busybox)?;
            write_if_changed(&cache.join(cached_initrd_name(tag, ending)), &bytes)?;
        }
    }

    let local_disk = cache.join("localdisk.img");
    write_if_changed(&local_disk, &mbr::image())?;
    let blank_disk = cache.join("blankdisk.img");
    write_if_changed(&blank_disk, &[0u8; 512])?;
    let marker_floppy = cache.join("markerfloppy.img");
    write_if_changed(&marker_floppy, &mbr::floppy_image())?;

    Ok(Payloads {
        kernel: kernel.vmlinuz,
        kernel_package: kernel.package,
        local_disk,
        blank_disk,
        marker_floppy,
        cache,
    })
}

/// Writes `bytes` to `path` unless it already holds exactly them. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, String> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    fs::write(&partial, bytes).map_err(|error| format!("cannot write {}: {error}", partial.display()))?;
    fs::rename(&partial, path)
        .map_err(|error| format!("cannot move {} to {}: {error}", partial.display(), path.display()))?;
    Ok(true)
}

/// Makes `to` a hard link to `from`, or a copy if linking is impossible (another file
/// system); an existing `to` is replaced.
#[allow(dead_code, reason = "used by the qemu-boot scenarios, which land with the appliance")]
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(), String> {
    match fs::remove_file(to) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot replace {}: {error}", to.display())),
    }
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|error| format!("cannot copy {} to {}: {error}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_keep_both_endings_apart() {
        assert_eq!(cached_initrd_name(Tag::Deploy, Ending::PowerOff), "deploy.initrd");
        assert_eq!(cached_initrd_name(Tag::Deploy, Ending::RebootAfterPause), "deploy-reboot.initrd");
        assert_eq!(http_root_initrd_name(Tag::Rescue), "rescue.initrd");
    }

    #[test]
    fn http_root_gets_each_tag_with_its_chosen_ending() -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("xtask-http-root-{}", std::process::id()));
        let cache = dir.join("cache");
        fs::create_dir_all(&cache).map_err(|error| error.to_string())?;
        for tag in Tag::ALL {
            for ending in Ending::ALL {
                let name = cached_initrd_name(tag, ending);
                write_if_changed(&cache.join(&name), name.as_bytes())?;
            }
        }
        write_if_changed(&cache.join("vmlinuz"), b"kernel")?;
        let payloads = Payloads {
            kernel: cache.join("vmlinuz"),
            kernel_package: "linux-image-test".to_owned(),
            local_disk: cache.join("localdisk.img"),
            blank_disk: cache.join("blankdisk.img"),
            marker_floppy: cache.join("markerfloppy.img"),
            cache: cache.clone(),
        };
        let root = dir.join("root");
        let lifecycle = |tag| match tag {
            Tag::Deploy => Ending::RebootAfterPause,
            Tag::Instance | Tag::Rescue => Ending::PowerOff,
        };
        // Twice: a second fill replaces what the first left.
        payloads.fill_http_root(&root, lifecycle)?;
        payloads.fill_http_root(&root, lifecycle)?;
        let read = |name: &str| fs::read(root.join(name)).map_err(|error| error.to_string());
        assert_eq!(read("vmlinuz")?, b"kernel");
        assert_eq!(read("deploy.initrd")?, b"deploy-reboot.initrd");
        assert_eq!(read("instance.initrd")?, b"instance.initrd");
        assert_eq!(read("rescue.initrd")?, b"rescue.initrd");
        let inode = |path: &Path| fs::metadata(path).map(|meta| meta.ino()).map_err(|e| e.to_string());
        assert_eq!(inode(&root.join("vmlinuz"))?, inode(&payloads.kernel)?, "not a hard link");
        fs::remove_dir_all(&dir).map_err(|error| error.to_string())
    }

    #[test]
    fn rewrite_keeps_hard_links_on_the_old_bytes() -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("xtask-payloads-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
        let cached = dir.join("cached");
        let linked = dir.join("linked");
        assert!(write_if_changed(&cached, b"one")?);
        assert!(!write_if_changed(&cached, b"one")?);
        link_or_copy(&cached, &linked)?;
        assert!(write_if_changed(&cached, b"two")?);
        let read = |path: &Path| fs::read(path).map_err(|error| error.to_string());
        assert_eq!(read(&linked)?, b"one");
        assert_eq!(read(&cached)?, b"two");
        fs::remove_dir_all(&dir).map_err(|error| error.to_string())
    }
}
