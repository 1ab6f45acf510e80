//! `cargo xtask qemu-smoke`: proves the payloads boot before any appliance exists.
//!
//! Guests that need no appliance: the cloud kernel with the deploy initrd (the tag and the
//! kernel command line must reach the console, and the power-off must end QEMU with 0);
//! the local-disk image alone (its marker, then QEMU's debug-exit status 33); the
//! lifecycle initrd (it must come back after its reboot); the kernel under OVMF; and
//! a NIC ROM whose first frame must arrive on the appliance's end of the socketpair.
//! When a later boot scenario fails, this separates "the payload is broken" from "iPXE
//! or the appliance did something wrong".

use super::guest::{self, Boot, Firmware, GuestSpec};
use super::initrd::{Ending, Tag, CMDLINE_PREFIX};
use super::mbr;
use super::paths::fresh_run_dir;
use super::payloads::{self, Payloads};
use super::prereqs;
use std::time::{Duration, Instant};

/// The MAC written on the test kernel line, as iPXE would for `BOOTIF=${mac}`.
const SMOKE_MAC: &str = "52:54:00:12:34:56";
/// Generous bounds: measured times are ~2 s (kernel) and well under 1 s (disk) under TCG.
const KERNEL_TIMEOUT: Duration = Duration::from_secs(60);
const DISK_TIMEOUT: Duration = Duration::from_secs(30);
/// The ROM's first frame comes ~2.3 s after start under TCG.
const NIC_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the smoke checks, printing how long each step took.
pub fn smoke() -> Result<(), String> {
    let started = Instant::now();
    prereqs::ensure()?;
    println!("qemu-smoke: prerequisites present ({:.1?})", started.elapsed());

    let started = Instant::now();
    let payloads = payloads::build()?;
    println!("qemu-smoke: payloads ready in {:.1?}: kernel from {}", started.elapsed(), payloads.kernel_package);

    kernel_boots_initrd(&payloads)?;
    local_disk_boots(&payloads)?;
    reboot_initrd_comes_back(&payloads)?;
    uefi_boots_kernel(&payloads)?;
    nic_rom_frame_reaches_appliance_end(&payloads)?;
    println!("qemu-smoke: all passed");
    Ok(())
}

/// The kernel runs the deploy initrd's /init, which reports and powers off.
fn kernel_boots_initrd(payloads: &Payloads) -> Result<(), String> {
    let append = format!("console=ttyS0 BOOTIF={SMOKE_MAC}");
    let boot = Boot::DirectKernel {
        kernel: payloads.kernel.clone(),
        initrd: Some(payloads.initrd(Tag::Deploy, Ending::PowerOff)),
        append: append.clone(),
    };
    let spec = GuestSpec::new(Firmware::Bios, boot, &fresh_run_dir("smoke-kernel")?);
    let mut guest = guest::launch(&spec)?.guest;

    let tag_line = Tag::Deploy.console_line();
    let to_tag = guest.wait_for_console(&tag_line, KERNEL_TIMEOUT)?;
    let status = guest.wait_for_exit(KERNEL_TIMEOUT)?;
    let to_exit = guest.elapsed();
    if status.code() != Some(0) {
        return Err(format!("kernel boot: QEMU exited with {status}, expected 0 after poweroff"));
    }
    let text = guest.console_text()?;
    let cmdline = text
        .lines()
        .find_map(|line| line.strip_prefix(CMDLINE_PREFIX))
        .ok_or_else(|| format!("kernel boot: no {CMDLINE_PREFIX} line on the console"))?;
    // Token match, not equality: the kernel may add its own (initrd=, BOOT_IMAGE=).
    for token in append.split_whitespace() {
        if !cmdline.split_whitespace().any(|seen| seen == token) {
            return Err(format!("kernel boot: {token:?} missing from CMDLINE {cmdline:?}"));
        }
    }
    println!(
        "qemu-smoke: kernel boot: {tag_line} after {to_tag:.1?}, QEMU exited 0 after {to_exit:.1?}; CMDLINE={cmdline}"
    );
    Ok(())
}

/// The lifecycle variant reports, pauses and reboots: with reboots allowed, QEMU's
/// `-kernel` boot runs again and the tag appears a second time.
fn reboot_initrd_comes_back(payloads: &Payloads) -> Result<(), String> {
    let boot = Boot::DirectKernel {
        kernel: payloads.kernel.clone(),
        initrd: Some(payloads.initrd(Tag::Instance, Ending::RebootAfterPause)),
        append: "console=ttyS0".to_owned(),
    };
    let mut spec = GuestSpec::new(Firmware::Bios, boot, &fresh_run_dir("smoke-reboot")?);
    spec.allow_reboot = true;
    let mut guest = guest::launch(&spec)?.guest;

    let tag_line = Tag::Instance.console_line();
    let first = guest.wait_for_console(&tag_line, KERNEL_TIMEOUT)?;
    let second = guest.wait_until(&format!("a second {tag_line:?} after the reboot"), KERNEL_TIMEOUT, |text| {
        text.matches(tag_line.as_str()).count() >= 2
    })?;
    println!("qemu-smoke: reboot variant: {tag_line} after {first:.1?}, again after the reboot at {second:.1?}");
    // Dropping the guest kills it: this variant never powers off by itself.
    Ok(())
}

/// The same kernel and initrd under OVMF: proves the UEFI machine, pflash and
/// variable-store copy before any UEFI network boot depends on them.
fn uefi_boots_kernel(payloads: &Payloads) -> Result<(), String> {
    let boot = Boot::DirectKernel {
        kernel: payloads.kernel.clone(),
        initrd: Some(payloads.initrd(Tag::Rescue, Ending::PowerOff)),
        append: "console=ttyS0".to_owned(),
    };
    let spec = GuestSpec::new(Firmware::Uefi, boot, &fresh_run_dir("smoke-uefi")?);
    let mut guest = guest::launch(&spec)?.guest;

    let tag_line = Tag::Rescue.console_line();
    let to_tag = guest.wait_for_console(&tag_line, KERNEL_TIMEOUT)?;
    let status = guest.wait_for_exit(KERNEL_TIMEOUT)?;
    if status.code() != Some(0) {
        return Err(format!("UEFI kernel boot: QEMU exited with {status}, expected 0"));
    }
    println!(
        "qemu-smoke: UEFI kernel boot: {tag_line} after {to_tag:.1?}, QEMU exited 0 after {:.1?}",
        guest.elapsed()
    );
    Ok(())
}

/// The NIC's iPXE ROM sends its first DHCPDISCOVER into the socketpair: proves the
/// descriptor passing and `-netdev dgram` wiring the scenarios build on.
fn nic_rom_frame_reaches_appliance_end(payloads: &Payloads) -> Result<(), String> {
    let mut spec = GuestSpec::new(Firmware::Bios, Boot::NetworkThenDisk, &fresh_run_dir("smoke-nic")?);
    spec.nic_macs = vec![SMOKE_MAC.to_owned()];
    spec.local_disk = Some(payloads.local_disk.clone());
    let launched = guest::launch(&spec)?;
    let guest = launched.guest;
    let socket = launched.appliance_ends.first().ok_or("NIC wiring: launch returned no appliance end")?;
    socket
        .set_read_timeout(Some(NIC_TIMEOUT))
        .map_err(|error| format!("NIC wiring: cannot set a read timeout: {error}"))?;
    let mut frame = [0u8; 2048];
    let length = socket
        .recv(&mut frame)
        .map_err(|error| format!("NIC wiring: no frame from the guest within {NIC_TIMEOUT:?}: {error}"))?;
    let at = guest.elapsed();
    // Broadcast destination, the guest's MAC as source, IPv4: the ROM's DHCPDISCOVER.
    let source: Vec<String> = frame[6..12].iter().map(|byte| format!("{byte:02x}")).collect();
    let source = source.join(":");
    if length < 14 || frame[..6] != [0xFF; 6] || source != SMOKE_MAC || frame[12..14] != [0x08, 0x00] {
        return Err(format!(
            "NIC wiring: first frame is not a broadcast IPv4 frame from {SMOKE_MAC}: {:02x?}",
            &frame[..length.min(64)]
        ));
    }
    println!("qemu-smoke: NIC wiring: {length}-byte broadcast IPv4 frame from {source} after {at:.1?}");
    // Nothing answers DHCP here; dropping the guest kills it.
    Ok(())
}

/// The local-disk image prints its marker and ends QEMU through isa-debug-exit.
fn local_disk_boots(payloads: &Payloads) -> Result<(), String> {
    let mut spec = GuestSpec::new(Firmware::Bios, Boot::DiskOnly, &fresh_run_dir("smoke-disk")?);
    spec.local_disk = Some(payloads.local_disk.clone());
    let mut guest = guest::launch(&spec)?.guest;

    let to_marker = guest.wait_for_console(mbr::MARKER, DISK_TIMEOUT)?;
    let status = guest.wait_for_exit(DISK_TIMEOUT)?;
    let to_exit = guest.elapsed();
    if status.code() != Some(mbr::EXIT_STATUS) {
        return Err(format!(
            "local disk: QEMU exited with {status}, expected {} from isa-debug-exit",
            mbr::EXIT_STATUS
        ));
    }
    println!(
        "qemu-smoke: local disk: {} after {to_marker:.1?}, QEMU exited {} after {to_exit:.1?}",
        mbr::MARKER,
        mbr::EXIT_STATUS
    );
    Ok(())
}
