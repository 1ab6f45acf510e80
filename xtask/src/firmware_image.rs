//! `cargo xtask firmware-image`: the appliance as a bootable disk image.
//!
//! Builds `ipxe-config-uefi.efi` (release, `x86_64-unknown-uefi`), checks it against its
//! size budget, and writes a raw disk image: a GPT with one EFI System Partition holding
//! `EFI/BOOT/BOOTX64.EFI` (the path firmware boots from removable media) and
//! `ipxe-config/` with `appliance.conf`, `inventory.json` and `artifacts/`. The artifacts
//! always include Debian's iPXE binaries for PXE and HTTP Boot firmware (see
//! [`IPXE_BINARIES`]), so the default image boots a machine whose ROM is not iPXE. The
//! image can be written to a USB stick with `dd`, or given to QEMU as a disk.
//!
//! The FAT file system is made by Debian's `mkfs.fat` and filled with `mtools`, the
//! partition table written by `sfdisk`: no file-system code of our own. Volume ID and
//! disk GUIDs are fixed so that two builds of the same inputs differ only in the files'
//! timestamps.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cmd::{cargo, describe, run, workspace_root};
use crate::qemu_boot::prereqs::{SNPONLY_EFI, UNDIONLY_KPXE};

/// The Rust target the booted image is built for.
pub const UEFI_TARGET: &str = "x86_64-unknown-uefi";
/// The second firmware target, built in CI only.
pub const UEFI_TARGET_AARCH64: &str = "aarch64-unknown-uefi";
/// Largest `.efi` accepted: it is read from a USB stick by firmware that may be slow,
/// and a growth past this means something large got linked in (a static that is not
/// all zeros, say, which is stored whole in the file).
pub const EFI_BUDGET_BYTES: u64 = 512 * 1024;

/// Where the partition starts: 1 MiB, the usual alignment.
const PARTITION_START: u64 = 1 << 20;
/// Room left after the partition for the backup GPT (33 sectors; a MiB keeps alignment).
const TAIL: u64 = 1 << 20;
/// Smallest file system made: FAT32 needs 65,525 clusters, 32 MiB of 512-byte ones.
/// FAT32 rather than the FAT12/16 `mkfs.fat` would pick for a small image: the UEFI
/// specification names FAT32 for system partitions, and some firmware boots only that.
const MIN_FAT_BYTES: u64 = 34 << 20;
/// The EFI System Partition type.
const ESP_TYPE: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

/// The configuration an image gets when none is given: the scenarios' addresses.
pub const DEFAULT_CONFIG: &str = "\
# ipxe-config appliance (UEFI image). One key = value per line; see the README.
ip = 10.99.0.1/24
dhcp_range = 10.99.0.100-10.99.0.199
";

/// The iPXE binaries every image's artifacts get, under the names the appliance's default
/// architecture map hands firmware (`undionly.kpxe` for BIOS PXE, `snponly.efi` for
/// x86-64 UEFI PXE and HTTP Boot): Debian's `ipxe` package, a qemu-boot prerequisite.
pub const IPXE_BINARIES: [(&str, &str); 2] = [("snponly.efi", SNPONLY_EFI), ("undionly.kpxe", UNDIONLY_KPXE)];

/// `artifacts` with [`IPXE_BINARIES`] added, unless it has a file of the same name
/// already (the operator's own build of iPXE wins), sorted by name.
pub fn with_ipxe_binaries(mut artifacts: Vec<(String, PathBuf)>) -> Vec<(String, PathBuf)> {
    for (name, path) in IPXE_BINARIES {
        if !artifacts.iter().any(|(given, _)| given == name) {
            artifacts.push((name.to_owned(), PathBuf::from(path)));
        }
    }
    artifacts.sort();
    artifacts
}

/// What goes into an image.
pub struct ImageSpec {
    /// The `.efi` to boot.
    pub efi: PathBuf,
    /// `appliance.conf`'s text.
    pub config: String,
    /// The inventory JSON file copied as `inventory.json`.
    pub inventory: PathBuf,
    /// Files copied into `artifacts/`, each as (name in the folder, source path).
    pub artifacts: Vec<(String, PathBuf)>,
}

/// Builds the UEFI application; returns its path after checking the size budget.
pub fn build_efi() -> Result<PathBuf, String> {
    build_for(UEFI_TARGET)?;
    let efi = efi_path(UEFI_TARGET);
    let size = fs::metadata(&efi).map_err(|error| format!("{}: {error}", efi.display()))?.len();
    if size > EFI_BUDGET_BYTES {
        return Err(format!(
            "{} is {size} bytes, over its budget of {EFI_BUDGET_BYTES} (512 KiB); a non-zero static is stored whole in the file",
            efi.display()
        ));
    }
    Ok(efi)
}

/// `cargo build --release` of the UEFI application for `target`.
pub fn build_for(target: &str) -> Result<(), String> {
    run(cargo().args(["build", "--quiet", "--release", "-p", "ipxe-config-firmware-uefi", "--target", target]))
}

/// The built application for `target`.
pub fn efi_path(target: &str) -> PathBuf {
    workspace_root().join("target").join(target).join("release/ipxe-config-uefi.efi")
}

impl ImageSpec {
    /// What `cargo xtask firmware-image` writes with no options: `efi`, the default
    /// configuration, the fixture inventory and the two iPXE binaries as artifacts.
    pub fn default_for(efi: PathBuf) -> Self {
        ImageSpec {
            efi,
            config: DEFAULT_CONFIG.to_owned(),
            inventory: workspace_root().join("fixtures/inventory.json"),
            artifacts: with_ipxe_binaries(Vec::new()),
        }
    }
}

/// Writes the disk image `out` from `spec`.
pub fn write_image(spec: &ImageSpec, out: &Path) -> Result<(), String> {
    let mut payload = file_len(&spec.efi)? + file_len(&spec.inventory)? + spec.config.len() as u64;
    for (name, path) in &spec.artifacts {
        check_name(name)?;
        payload += file_len(path)?;
    }
    // FAT's tables and cluster slack, and room for an operator to add a file later.
    let fat_bytes = round_up_mib(payload + payload / 8 + (8 << 20)).max(MIN_FAT_BYTES);
    let work = out.with_extension("esp.tmp");
    let _ = fs::remove_file(&work);
    let result = build_fat(spec, &work, fat_bytes).and_then(|()| assemble(&work, fat_bytes, out));
    let _ = fs::remove_file(&work);
    result
}

fn build_fat(spec: &ImageSpec, fat: &Path, fat_bytes: u64) -> Result<(), String> {
    let text = |path: &Path| path.to_str().map(str::to_owned).ok_or_else(|| format!("{} is not UTF-8", path.display()));
    let fat_text = text(fat)?;
    // -C creates the file (size in KiB); a fixed volume ID keeps builds comparable.
    quiet(
        Command::new("mkfs.fat")
            .args(["-C", "-F", "32", "-n", "IPXECONFIG", "-i", "1ec0f1a5", &fat_text])
            .arg((fat_bytes / 1024).to_string()),
    )?;
    let config = fat.with_extension("conf.tmp");
    fs::write(&config, &spec.config).map_err(|error| format!("{}: {error}", config.display()))?;
    let image = fat_text;
    let result = (|| {
        for dir in ["::/EFI", "::/EFI/BOOT", "::/ipxe-config", "::/ipxe-config/artifacts"] {
            quiet(Command::new("mmd").args(["-i", &image, dir]))?;
        }
        let copies: Vec<(PathBuf, String)> = [
            (spec.efi.clone(), "::/EFI/BOOT/BOOTX64.EFI".to_owned()),
            (config.clone(), "::/ipxe-config/appliance.conf".to_owned()),
            (spec.inventory.clone(), "::/ipxe-config/inventory.json".to_owned()),
        ]
        .into_iter()
        .chain(spec.artifacts.iter().map(|(name, path)| (path.clone(), format!("::/ipxe-config/artifacts/{name}"))))
        .collect();
        for (from, to) in copies {
            quiet(Command::new("mcopy").args(["-i", &image, "-o"]).arg(&from).arg(&to))?;
        }
        Ok(())
    })();
    let _ = fs::remove_file(&config);
    result
}

/// The GPT around the file system: sfdisk writes the tables into a file of the final
/// size, then the file system is copied in at the partition's offset.
fn assemble(fat: &Path, fat_bytes: u64, out: &Path) -> Result<(), String> {
    let total = PARTITION_START + fat_bytes + TAIL;
    {
        let file = File::create(out).map_err(|error| format!("cannot create {}: {error}", out.display()))?;
        file.set_len(total).map_err(|error| format!("{}: {error}", out.display()))?;
    }
    let script = format!(
        "label: gpt\nlabel-id: 1EC0F1A5-0000-4000-8000-1EC0F1A50000\nfirst-lba: 34\n\
         start={}, size={}, type={ESP_TYPE}, uuid=1EC0F1A5-0000-4000-8000-1EC0F1A50001, name=\"ipxe-config\"\n",
        PARTITION_START / 512,
        fat_bytes / 512
    );
    let mut sfdisk = Command::new("sfdisk");
    sfdisk.args(["--quiet", "--no-reread", "--no-tell-kernel"]).arg(out);
    sfdisk.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = sfdisk.spawn().map_err(|error| format!("cannot start `{}`: {error}", describe(&sfdisk)))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).map_err(|error| format!("sfdisk: {error}"))?;
    }
    let output = child.wait_with_output().map_err(|error| format!("sfdisk: {error}"))?;
    if !output.status.success() {
        return Err(format!("`{}` failed: {}", describe(&sfdisk), String::from_utf8_lossy(&output.stderr)));
    }
    let mut source = File::open(fat).map_err(|error| format!("{}: {error}", fat.display()))?;
    let mut disk =
        fs::OpenOptions::new().write(true).open(out).map_err(|error| format!("{}: {error}", out.display()))?;
    disk.seek(SeekFrom::Start(PARTITION_START)).map_err(|error| format!("{}: {error}", out.display()))?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let count = source.read(&mut buffer).map_err(|error| format!("{}: {error}", fat.display()))?;
        if count == 0 {
            break;
        }
        disk.write_all(&buffer[..count]).map_err(|error| format!("{}: {error}", out.display()))?;
    }
    Ok(())
}

/// Runs a tool, showing its output only when it fails.
fn quiet(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|error| format!("cannot start `{}`: {error}", describe(command)))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}{}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn file_len(path: &Path) -> Result<u64, String> {
    fs::metadata(path).map(|meta| meta.len()).map_err(|error| format!("{}: {error}", path.display()))
}

fn round_up_mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20) << 20
}

/// An artifact's name: one plain FAT-safe path segment, so it cannot land outside
/// `artifacts/` or be read by mtools as an option.
fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte));
    if fine {
        Ok(())
    } else {
        Err(format!("artifact name {name:?} must be letters, digits, '.', '_' or '-'"))
    }
}

/// Options of `cargo xtask firmware-image`.
pub struct Options {
    /// Where the image goes (default `target/ipxe-config-uefi.img` of the workspace).
    pub out: Option<PathBuf>,
    /// The configuration file (default: [`DEFAULT_CONFIG`]).
    pub config: Option<PathBuf>,
    /// The inventory (default: `fixtures/inventory.json`).
    pub inventory: Option<PathBuf>,
    /// A folder whose files become the artifacts.
    pub artifacts: Option<PathBuf>,
}

/// `cargo xtask firmware-image`.
pub fn run_command(options: &Options) -> Result<(), String> {
    crate::qemu_boot::prereqs::ensure()?;
    let efi = build_efi()?;
    let mut spec = ImageSpec::default_for(efi.clone());
    if let Some(path) = &options.config {
        spec.config = fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    if let Some(inventory) = &options.inventory {
        spec.inventory.clone_from(inventory);
    }
    if let Some(dir) = &options.artifacts {
        let mut artifacts = Vec::new();
        let entries = fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("{}: {error}", dir.display()))?;
            let path = entry.path();
            if path.is_file() {
                let name = entry.file_name().into_string().map_err(|name| format!("{name:?} is not UTF-8"))?;
                artifacts.push((name, path));
            }
        }
        spec.artifacts = with_ipxe_binaries(artifacts);
    }
    let out = options.out.clone().unwrap_or_else(|| workspace_root().join("target/ipxe-config-uefi.img"));
    write_image(&spec, &out)?;
    println!(
        "firmware-image: {} ({} bytes; {} is {} bytes of the {EFI_BUDGET_BYTES}-byte budget)",
        out.display(),
        file_len(&out)?,
        efi.display(),
        file_len(&efi)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_stay_in_their_folder() {
        assert!(check_name("vmlinuz").is_ok());
        assert!(check_name("deploy.initrd").is_ok());
        for bad in ["", "../x", "a/b", "-o", ".hidden", "a b", "a\\b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    /// A real image made by the real tools: a GPT whose one partition is an ESP, holding
    /// a FAT32 file system with every file where the firmware and the appliance look.
    #[test]
    fn an_image_holds_the_layout_the_appliance_reads() -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("ipxe-config-image-test-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let efi = dir.join("app.efi");
        let kernel = dir.join("vmlinuz");
        fs::write(&efi, b"MZ stand-in").map_err(|e| e.to_string())?;
        fs::write(&kernel, vec![7u8; 300_000]).map_err(|e| e.to_string())?;
        let spec = ImageSpec {
            efi,
            config: DEFAULT_CONFIG.to_owned(),
            inventory: workspace_root().join("fixtures/inventory.json"),
            artifacts: vec![("vmlinuz".to_owned(), kernel)],
        };
        let image = dir.join("disk.img");
        let result = (|| {
            write_image(&spec, &image)?;
            let table = Command::new("sfdisk").arg("--dump").arg(&image).output().map_err(|e| e.to_string())?;
            let table = String::from_utf8_lossy(&table.stdout);
            assert!(table.contains("label: gpt"), "{table}");
            assert!(table.contains(&format!("start=        2048, size=       {},", MIN_FAT_BYTES / 512)), "{table}");
            assert!(table.contains(&format!("type={ESP_TYPE}")), "{table}");
            let bytes = fs::read(&image).map_err(|e| e.to_string())?;
            let boot_sector = &bytes[PARTITION_START as usize..PARTITION_START as usize + 512];
            assert_eq!(&boot_sector[82..90], b"FAT32   ");
            let on_esp = format!("{}@@1M", image.display());
            let read = |path: &str| -> Result<Vec<u8>, String> {
                let output = Command::new("mtype").args(["-i", &on_esp, path]).output().map_err(|e| e.to_string())?;
                if output.status.success() {
                    Ok(output.stdout)
                } else {
                    Err(format!("mtype {path}: {}", String::from_utf8_lossy(&output.stderr)))
                }
            };
            assert_eq!(read("::/EFI/BOOT/BOOTX64.EFI")?, b"MZ stand-in");
            assert_eq!(read("::/ipxe-config/appliance.conf")?, DEFAULT_CONFIG.as_bytes());
            assert_eq!(read("::/ipxe-config/artifacts/vmlinuz")?.len(), 300_000);
            let fixture = fs::read(&spec.inventory).map_err(|e| e.to_string())?;
            assert_eq!(read("::/ipxe-config/inventory.json")?, fixture);
            Ok(())
        })();
        let _ = fs::remove_dir_all(&dir);
        result
    }

    #[test]
    fn the_ipxe_binaries_join_the_artifacts_unless_given() {
        let given =
            vec![("vmlinuz".to_owned(), PathBuf::from("/k")), ("snponly.efi".to_owned(), PathBuf::from("/mine"))];
        let names: Vec<(String, PathBuf)> = with_ipxe_binaries(given);
        assert_eq!(
            names,
            [
                ("snponly.efi".to_owned(), PathBuf::from("/mine")),
                ("undionly.kpxe".to_owned(), PathBuf::from(UNDIONLY_KPXE)),
                ("vmlinuz".to_owned(), PathBuf::from("/k")),
            ]
        );
        let defaults: Vec<String> = with_ipxe_binaries(Vec::new()).into_iter().map(|(name, _)| name).collect();
        assert_eq!(defaults, ["snponly.efi", "undionly.kpxe"]);
    }

    #[test]
    fn the_file_system_is_rounded_to_whole_mebibytes() {
        assert_eq!(round_up_mib(1), 1 << 20);
        assert_eq!(round_up_mib(1 << 20), 1 << 20);
        assert_eq!(round_up_mib((1 << 20) + 1), 2 << 20);
    }
}
