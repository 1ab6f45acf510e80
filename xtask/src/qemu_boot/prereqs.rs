//! Making sure the host has what a real-iPXE boot needs: QEMU, Debian's iPXE ROMs,
//! OVMF, a static busybox for the test initrds, and the Debian tools that fetch and
//! unpack the kernel.
//!
//! Everything comes from Debian packages. Running as root (as CI does), the missing
//! ones are installed; otherwise the error spells out the exact `apt-get` line, because
//! a developer without root should not find out one package at a time.

use crate::cmd::run;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's static busybox; its path is fixed by the package.
pub const BUSYBOX: &str = "/bin/busybox";
/// The BIOS+EFI iPXE ROM QEMU loads for `virtio-net-pci`.
pub const VIRTIO_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";
/// iPXE as a Linux-bootable image, for `-kernel` boots that skip the NIC ROM.
pub const IPXE_LKRN: &str = "/boot/ipxe.lkrn";
/// Debian's iPXE for UEFI firmware on x86-64 (over the firmware's own network driver),
/// which the appliance hands OVMF's PXE and HTTP Boot clients.
pub const SNPONLY_EFI: &str = "/usr/lib/ipxe/snponly.efi";
/// Debian's iPXE for BIOS PXE ROMs.
pub const UNDIONLY_KPXE: &str = "/usr/lib/ipxe/undionly.kpxe";
/// OVMF code (read-only flash) and the pristine variable store (copied for each run).
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// See [`OVMF_CODE`].
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// The emulator; found on `PATH`.
pub const QEMU: &str = "qemu-system-x86_64";

/// Something the host must have.
enum Needed {
    /// A program looked up on `PATH`.
    Program(&'static str),
    /// A file at a fixed path.
    File(&'static str),
    /// A statically linked executable: the initrd has no libc beside it.
    StaticExecutable(&'static str),
}

/// Each requirement and the Debian package that brings it.
const REQUIREMENTS: [(Needed, &str); 17] = [
    (Needed::Program(QEMU), "qemu-system-x86"),
    (Needed::File(VIRTIO_ROM), "ipxe-qemu"),
    (Needed::File(IPXE_LKRN), "ipxe"),
    (Needed::File(SNPONLY_EFI), "ipxe"),
    (Needed::File(UNDIONLY_KPXE), "ipxe"),
    (Needed::File(OVMF_CODE), "ovmf"),
    (Needed::File(OVMF_VARS), "ovmf"),
    // Debian's dynamic `busybox` package also installs /bin/busybox; only
    // `busybox-static` replaces it with one that runs alone in an initrd.
    (Needed::StaticExecutable(BUSYBOX), "busybox-static"),
    (Needed::Program("tar"), "tar"),
    (Needed::Program("dpkg-deb"), "dpkg"),
    (Needed::Program("apt-get"), "apt"),
    (Needed::Program("apt-cache"), "apt"),
    // The firmware image's ESP: a FAT file system made and filled by Debian's tools, and
    // its GPT partition table.
    (Needed::Program("mkfs.fat"), "dosfstools"),
    (Needed::Program("mmd"), "mtools"),
    (Needed::Program("mcopy"), "mtools"),
    (Needed::Program("sfdisk"), "fdisk"),
    // The firmware appliance VM's TPM (see `soft_tpm`).
    (Needed::Program(super::soft_tpm::SWTPM), "swtpm"),
];

/// Checks every requirement; installs missing packages when running as root.
pub fn ensure() -> Result<(), String> {
    let missing = missing_packages()?;
    if missing.is_empty() {
        return Ok(());
    }
    // apt itself cannot be installed with apt: this is not a Debian-like host.
    if missing.iter().any(|package| *package == "apt" || *package == "dpkg") {
        return Err(format!(
            "qemu-boot needs a Debian-like host with apt-get and dpkg-deb; missing packages: {}",
            missing.join(" ")
        ));
    }
    let install_line = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !running_as_root() {
        return Err(format!(
            "qemu-boot needs packages that are not installed; as root, run:\n  apt-get update && {install_line}"
        ));
    }
    println!("qemu-boot: installing missing packages: {}", missing.join(" "));
    run(apt_get().arg("update"))?;
    run(apt_get().args(["install", "-y", "--no-install-recommends"]).args(&missing))?;
    let still_missing = missing_packages()?;
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(format!("after `{install_line}`, still missing what these packages provide: {}", still_missing.join(" ")))
    }
}

/// The packages whose files are missing, each named once.
fn missing_packages() -> Result<Vec<&'static str>, String> {
    let mut missing: Vec<&'static str> = Vec::new();
    for (needed, package) in &REQUIREMENTS {
        let present = match *needed {
            Needed::Program(name) => find_on_path(name).is_some(),
            Needed::File(path) => Path::new(path).is_file(),
            Needed::StaticExecutable(path) => Path::new(path).is_file() && !has_program_interpreter(Path::new(path))?,
        };
        if !present && !missing.contains(package) {
            missing.push(package);
        }
    }
    Ok(missing)
}

/// `apt-get` that never stops to ask (CI has no standard input).
pub fn apt_get() -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// Whether this process may install packages.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The first executable file called `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| {
        candidate.metadata().map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}

/// Whether an ELF executable asks for a dynamic loader (has a `PT_INTERP` program
/// header), i.e. is *not* static. Only 64-bit little-endian ELF is expected here; any
/// other file is reported as an error rather than guessed about.
pub fn has_program_interpreter(path: &Path) -> Result<bool, String> {
    const PT_INTERP: u32 = 3;
    let failed = |what: &str| format!("{}: {what}", path.display());
    let mut file = File::open(path).map_err(|error| failed(&format!("cannot open: {error}")))?;
    // The header and program headers of any executable sit in its first pages.
    let mut head = Vec::new();
    file.by_ref().take(64 * 1024).read_to_end(&mut head).map_err(|error| failed(&format!("cannot read: {error}")))?;
    // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1).
    if head.len() < 64 || head[..4] != *b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Err(failed("not a 64-bit little-endian ELF file"));
    }
    // Offsets of e_phoff, e_phentsize and e_phnum in the 64-bit header.
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([head[at], head[at + 1]]));
    let mut phoff = [0u8; 8];
    phoff.copy_from_slice(&head[32..40]);
    let program_headers = u64::from_le_bytes(phoff);
    let entry_size = u16_at(54);
    let entry_count = u16_at(56);
    for index in 0..entry_count {
        let start = usize::try_from(program_headers)
            .ok()
            .and_then(|offset| offset.checked_add(index * entry_size))
            .ok_or_else(|| failed("program header offset out of range"))?;
        let p_type = head.get(start..start + 4).ok_or_else(|| failed("program headers beyond the first 64 KiB"))?;
        if u32::from_le_bytes([p_type[0], p_type[1], p_type[2], p_type[3]]) == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-program-ipxe-config").is_none());
    }

    #[test]
    fn a_dynamic_executable_has_an_interpreter() {
        // The test binary itself is dynamically linked against glibc.
        let me = std::env::current_exe().expect("test binary path");
        assert_eq!(has_program_interpreter(&me), Ok(true));
    }

    #[test]
    fn a_non_elf_file_is_an_error() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert!(has_program_interpreter(&manifest).is_err());
    }
}
