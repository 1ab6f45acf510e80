//! Launching one QEMU guest the way the boot scenarios need it, and watching it.
//!
//! The guest's NICs are wired to the test's own network stack through
//! `socketpair(AF_UNIX, SOCK_DGRAM)`: QEMU carries one Ethernet frame per datagram on
//! its end (`-netdev dgram,local.type=fd`), and the other end goes to the appliance.
//! No root, no TAP device, no port or path to race for, nothing left behind.
//!
//! Choices taken from measurements on this machine kind (`shared/notes/qemu-ipxe.md`):
//! always TCG (under nested KVM iPXE's real-mode code is far slower); on BIOS
//! `graphics=off`, so SeaBIOS mirrors the screen, where Debian's iPXE writes, to COM1;
//! `virtio-net-pci`, the fastest NIC model.
//!
//! [`Guest`] owns the QEMU process: dropping it kills QEMU by its PID and reaps it,
//! so a failed check, a timeout or a panic never leaves a VM running.

use super::console;
use super::fd_pass;
use super::prereqs::{OVMF_CODE, OVMF_VARS, QEMU};
use crate::cmd::describe;
use std::fs::{self, File};
use std::os::fd::RawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often the console log and the process are looked at while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Console lines shown in an error message.
const TAIL_LINES: usize = 30;

/// The machine's firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS on the `pc` machine; boots the NIC ROM's legacy iPXE.
    Bios,
    /// OVMF on `q35`; boots the NIC ROM's EFI iPXE.
    Uefi,
    /// OVMF on `q35` with NICs that carry no iPXE ROM (`romfile=`): OVMF's own PXE
    /// client (VirtioNetDxe, DHCP, TFTP) must be handed iPXE.
    UefiPxe,
    /// As [`Firmware::UefiPxe`] with PXE turned off through fw_cfg, so OVMF goes
    /// straight to UEFI HTTP Boot (with PXE on it starts HTTP Boot only after ~127 s).
    UefiHttpBoot,
}

impl Firmware {
    /// Whether the machine runs OVMF.
    pub fn is_uefi(self) -> bool {
        !matches!(self, Firmware::Bios)
    }

    /// Whether the firmware boots the network itself, without an iPXE ROM.
    pub fn own_network_stack(self) -> bool {
        matches!(self, Firmware::UefiPxe | Firmware::UefiHttpBoot)
    }
}

/// Where the guest boots from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Boot {
    /// The NICs' iPXE ROMs in order, then the local disk: a bare-metal node.
    NetworkThenDisk,
    /// The local disk alone.
    DiskOnly,
    /// QEMU loads a Linux kernel itself (`-kernel`): for proving payloads, or for
    /// booting `/boot/ipxe.lkrn` without the ROM's fixed start-up delay.
    DirectKernel {
        /// The bzImage.
        kernel: PathBuf,
        /// The initrd, if any.
        initrd: Option<PathBuf>,
        /// The kernel command line.
        append: String,
    },
}

/// Everything that varies between guests.
#[derive(Clone, Debug)]
pub struct GuestSpec {
    /// BIOS or UEFI.
    pub firmware: Firmware,
    /// What boots.
    pub boot: Boot,
    /// One virtio NIC per MAC (`52:54:00:12:34:56` form), each on its own socketpair;
    /// none means no NIC at all.
    pub nic_macs: Vec<String>,
    /// A raw disk image attached as the first IDE disk, never written to (`snapshot=on`).
    pub local_disk: Option<PathBuf>,
    /// A raw floppy image (`snapshot=on`), which SeaBIOS boots after the hard disk
    /// (`-boot order=nca`): proof that the firmware moved past the network and the disk.
    pub floppy: Option<PathBuf>,
    /// Only the first NIC carries an iPXE option ROM. iPXE still drives the others (it
    /// probes every NIC it has a driver for), but the firmware has a single network boot
    /// entry, so once that iPXE returns, the firmware goes on to its disks rather than
    /// starting iPXE again on a NIC that has no DHCP server.
    pub rom_on_first_nic_only: bool,
    /// Let a guest reboot go back to the firmware; otherwise (`-no-reboot`) a reboot
    /// ends QEMU with status 0, like a power-off.
    pub allow_reboot: bool,
    /// Guest RAM.
    pub memory_mib: u32,
    /// Attach the NICs to TAP devices inside a network namespace instead of socketpairs
    /// (QEMU then runs inside that namespace): for scenarios whose DHCP server is a real
    /// program on a real (namespaced) link, such as dnsmasq.
    pub tap: Option<TapLink>,
    /// Where `console.log`, `qemu.log` and (UEFI) the variable store copy are written.
    pub run_dir: PathBuf,
}

impl GuestSpec {
    /// A spec with no NIC, no disk, 512 MiB and `-no-reboot`.
    pub fn new(firmware: Firmware, boot: Boot, run_dir: &Path) -> Self {
        GuestSpec {
            firmware,
            boot,
            nic_macs: Vec::new(),
            local_disk: None,
            floppy: None,
            rom_on_first_nic_only: false,
            allow_reboot: false,
            memory_mib: 512,
            tap: None,
            run_dir: run_dir.to_path_buf(),
        }
    }
}

/// Where a TAP-attached guest's NICs go: the namespace it runs in and one TAP device per NIC.
#[derive(Clone, Debug)]
pub struct TapLink {
    pub netns: String,
    pub ifnames: Vec<String>,
}

/// A started guest and the appliance's ends of its NICs' socketpairs, in NIC order.
pub struct Launched {
    /// The running guest.
    pub guest: Guest,
    /// Hand each to the appliance (see [`fd_pass::inherit`]); QEMU has the peers.
    pub appliance_ends: Vec<UnixDatagram>,
}

/// A running QEMU process; killed and reaped when dropped.
pub struct Guest {
    child: Child,
    console: PathBuf,
    started: Instant,
    exit: Option<ExitStatus>,
}

/// Starts QEMU for `spec`.
pub fn launch(spec: &GuestSpec) -> Result<Launched, String> {
    launch_with(spec, None)
}

/// Starts QEMU for `spec` with its first NIC on `guest_end`, a socketpair end whose peer
/// is already in use (by an appliance VM that was started first, say); later NICs get
/// socketpairs of their own.
pub fn launch_on(spec: &GuestSpec, guest_end: UnixDatagram) -> Result<Launched, String> {
    launch_with(spec, Some(guest_end))
}

fn launch_with(spec: &GuestSpec, mut first_guest_end: Option<UnixDatagram>) -> Result<Launched, String> {
    fs::create_dir_all(&spec.run_dir).map_err(|error| format!("cannot create {}: {error}", spec.run_dir.display()))?;
    let console = spec.run_dir.join("console.log");
    let qemu_log = spec.run_dir.join("qemu.log");

    let mut command = match &spec.tap {
        // `ip netns exec` execs QEMU in place, so the PID stays QEMU's own.
        Some(tap) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", &tap.netns, QEMU]);
            command
        }
        None => Command::new(QEMU),
    };
    let mut guest_ends = Vec::with_capacity(spec.nic_macs.len());
    let mut appliance_ends = Vec::with_capacity(spec.nic_macs.len());
    let mut nic_fds = Vec::with_capacity(spec.nic_macs.len());
    for mac in spec.nic_macs.iter().filter(|_| spec.tap.is_none()) {
        let guest_end = match first_guest_end.take() {
            Some(given) => given,
            None => {
                let (guest_end, appliance_end) = UnixDatagram::pair()
                    .map_err(|error| format!("cannot create a socketpair for NIC {mac}: {error}"))?;
                appliance_ends.push(appliance_end);
                guest_end
            }
        };
        nic_fds.push(fd_pass::inherit(&mut command, &guest_end));
        guest_ends.push(guest_end);
    }

    let ovmf_vars = spec.run_dir.join("OVMF_VARS.fd");
    if spec.firmware.is_uefi() {
        // A private copy: OVMF writes boot entries into its variable store, and runs
        // must neither share nor inherit them.
        fs::copy(OVMF_VARS, &ovmf_vars)
            .map_err(|error| format!("cannot copy {OVMF_VARS} to {}: {error}", ovmf_vars.display()))?;
    }
    command.args(qemu_args(spec, &nic_fds, &console, &ovmf_vars)?);

    let log = File::create(&qemu_log).map_err(|error| format!("cannot create {}: {error}", qemu_log.display()))?;
    let log_too = log.try_clone().map_err(|error| format!("cannot reopen {}: {error}", qemu_log.display()))?;
    command.stdin(Stdio::null()).stdout(log).stderr(log_too);
    fs::write(spec.run_dir.join("qemu.cmdline"), format!("{}\n", describe(&command)))
        .map_err(|error| format!("cannot write the command line into {}: {error}", spec.run_dir.display()))?;

    let child = command.spawn().map_err(|error| format!("cannot start `{}`: {error}", describe(&command)))?;
    // QEMU holds its own copies now; closing ours means that when QEMU dies the
    // appliance's reads see it rather than a socket kept alive by this process.
    drop(guest_ends);
    Ok(Launched { guest: Guest { child, console, started: Instant::now(), exit: None }, appliance_ends })
}

/// QEMU's arguments for `spec`, with the NICs on the given descriptor numbers.
fn qemu_args(spec: &GuestSpec, nic_fds: &[RawFd], console: &Path, ovmf_vars: &Path) -> Result<Vec<String>, String> {
    let mut args: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|item| (*item).to_owned()));
    push(&["-accel", "tcg", "-smp", "1", "-display", "none", "-monitor", "none"]);
    push(&["-m", &spec.memory_mib.to_string()]);
    push(&["-serial", &format!("file:{}", option_path(console)?)]);
    if !spec.allow_reboot {
        push(&["-no-reboot"]);
    }
    match spec.firmware {
        Firmware::Bios => push(&["-machine", "pc,graphics=off"]),
        Firmware::Uefi | Firmware::UefiPxe | Firmware::UefiHttpBoot => {
            push(&["-machine", "q35"]);
            push(&[
                "-drive",
                &format!("if=pflash,format=raw,unit=0,readonly=on,file={}", option_path(Path::new(OVMF_CODE))?),
            ]);
            push(&["-drive", &format!("if=pflash,format=raw,unit=1,file={}", option_path(ovmf_vars)?)]);
            if spec.firmware == Firmware::UefiHttpBoot {
                push(&["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]);
                push(&["-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"]);
            }
        }
    }

    if spec.nic_macs.is_empty() {
        // Without this QEMU adds a default NIC on user networking.
        push(&["-nic", "none"]);
    }
    for (index, mac) in spec.nic_macs.iter().enumerate() {
        check_mac(mac)?;
        let netdev = match (&spec.tap, nic_fds.get(index)) {
            (Some(tap), _) => {
                let ifname = tap.ifnames.get(index).ok_or_else(|| format!("no TAP device for NIC {mac}"))?;
                format!("tap,id=n{index},ifname={ifname},script=no,downscript=no")
            }
            (None, Some(fd)) => format!("dgram,id=n{index},local.type=fd,local.str={fd}"),
            (None, None) => return Err(format!("no socketpair for NIC {mac}")),
        };
        push(&["-netdev", &netdev]);
        let mut device = format!("virtio-net-pci,netdev=n{index},mac={mac}");
        if spec.firmware.is_uefi() && spec.boot == Boot::NetworkThenDisk {
            // OVMF ignores `-boot order`; boot priority comes from bootindex.
            device.push_str(&format!(",bootindex={}", index + 1));
        }
        if (spec.rom_on_first_nic_only && index > 0) || spec.firmware.own_network_stack() {
            device.push_str(",romfile=");
        }
        push(&["-device", &device]);
    }

    if let Some(disk) = &spec.local_disk {
        push(&["-drive", &format!("file={},format=raw,if=ide,snapshot=on", option_path(disk)?)]);
    }
    if let Some(floppy) = &spec.floppy {
        push(&["-drive", &format!("file={},format=raw,if=floppy,snapshot=on", option_path(floppy)?)]);
    }
    // Lets the local-disk stand-in end QEMU with a status of its own (see mbr.rs).
    push(&["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);

    match &spec.boot {
        Boot::NetworkThenDisk if spec.firmware == Firmware::Bios && spec.floppy.is_some() => {
            push(&["-boot", "order=nca"]);
        }
        Boot::NetworkThenDisk if spec.firmware == Firmware::Bios => push(&["-boot", "order=nc"]),
        Boot::DiskOnly if spec.firmware == Firmware::Bios => push(&["-boot", "order=c"]),
        Boot::NetworkThenDisk | Boot::DiskOnly => {}
        Boot::DirectKernel { kernel, initrd, append } => {
            push(&["-kernel", option_path(kernel)?]);
            if let Some(initrd) = initrd {
                push(&["-initrd", option_path(initrd)?]);
            }
            push(&["-append", append]);
        }
    }
    Ok(args)
}

/// A path as it can appear inside a QEMU option string. QEMU splits those at commas,
/// and a path that is not UTF-8 cannot be written into one faithfully: both are refused
/// rather than escaped, since every path here is under `target/`.
fn option_path(path: &Path) -> Result<&str, String> {
    path.to_str()
        .filter(|text| !text.contains(','))
        .ok_or_else(|| format!("path {} cannot be given to QEMU (comma or not UTF-8)", path.display()))
}

/// A MAC in the `52:54:00:12:34:56` form QEMU takes; anything else could smuggle extra
/// options into the `-device` string.
fn check_mac(mac: &str) -> Result<(), String> {
    let groups: Vec<&str> = mac.split(':').collect();
    let valid = groups.len() == 6
        && groups.iter().all(|group| group.len() == 2 && group.bytes().all(|byte| byte.is_ascii_hexdigit()));
    if valid {
        Ok(())
    } else {
        Err(format!("NIC MAC {mac:?} is not of the form 52:54:00:12:34:56"))
    }
}

impl Guest {
    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The console so far, escape sequences stripped.
    pub fn console_text(&self) -> Result<String, String> {
        console::read_text(&self.console)
    }

    /// QEMU's exit status, if it has exited.
    pub fn try_exit(&mut self) -> Result<Option<ExitStatus>, String> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .map_err(|error| format!("cannot check QEMU (pid {}): {error}", self.child.id()))?;
        }
        Ok(self.exit)
    }

    /// Waits until the console contains `needle`; returns the time since QEMU started.
    /// Fails at `timeout` (counted from this call) or as soon as QEMU exits without it.
    pub fn wait_for_console(&mut self, needle: &str, timeout: Duration) -> Result<Duration, String> {
        self.wait_until(&format!("{needle:?} on the console"), timeout, |text| text.contains(needle))
    }

    /// Waits until `ready` holds for the console text; `what` names the condition in errors.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        loop {
            // Looked at before the text: output written just before exiting still counts.
            let exited = self.try_exit()?;
            let text = self.console_text()?;
            if ready(&text) {
                return Ok(self.elapsed());
            }
            if let Some(status) = exited {
                return Err(self.failure(&format!("QEMU exited ({status}) before {what}"), &text));
            }
            if Instant::now() >= deadline {
                return Err(self.failure(&format!("no {what} within {timeout:?}"), &text));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits for QEMU to exit by itself; returns its status.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let text = self.console_text()?;
                return Err(self.failure(&format!("QEMU still running after {timeout:?}"), &text));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// An error message with the console's last lines and where the logs are.
    fn failure(&self, what: &str, console_text: &str) -> String {
        let run_dir = self.console.parent().unwrap_or(Path::new("."));
        format!(
            "{what} (after {:.1?}; logs in {})\n--- console tail ---\n{}\n---",
            self.elapsed(),
            run_dir.display(),
            console::tail(console_text, TAIL_LINES)
        )
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Child::kill sends SIGKILL to this child's own PID; nothing else is touched.
        // QEMU has no state worth a graceful stop, and SIGKILL cannot be ignored.
        if let Err(error) = self.child.kill() {
            eprintln!("qemu-boot: cannot kill QEMU (pid {}): {error}", self.child.id());
        }
        if let Err(error) = self.child.wait() {
            eprintln!("qemu-boot: cannot reap QEMU (pid {}): {error}", self.child.id());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(spec: &GuestSpec, fds: &[RawFd]) -> String {
        qemu_args(spec, fds, Path::new("/run/console.log"), Path::new("/run/OVMF_VARS.fd"))
            .expect("valid spec")
            .join(" ")
    }

    #[test]
    fn bios_network_boot_matches_the_measured_command_line() {
        let mut spec = GuestSpec::new(Firmware::Bios, Boot::NetworkThenDisk, Path::new("/run"));
        spec.nic_macs = vec!["52:54:00:12:34:56".to_owned()];
        spec.local_disk = Some(PathBuf::from("/cache/localdisk.img"));
        let args = joined(&spec, &[7]);
        for expected in [
            "-accel tcg",
            "-serial file:/run/console.log",
            "-no-reboot",
            "-machine pc,graphics=off",
            "-netdev dgram,id=n0,local.type=fd,local.str=7",
            "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 ",
            "-drive file=/cache/localdisk.img,format=raw,if=ide,snapshot=on",
            "-device isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-boot order=nc",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
        assert!(!args.contains("-nic none"));
    }

    #[test]
    fn a_floppy_boots_after_the_disk_and_later_nics_have_no_rom() {
        let mut spec = GuestSpec::new(Firmware::Bios, Boot::NetworkThenDisk, Path::new("/run"));
        spec.nic_macs = vec!["52:54:00:12:34:56".to_owned(), "52:54:00:12:34:57".to_owned()];
        spec.floppy = Some(PathBuf::from("/cache/markerfloppy.img"));
        spec.rom_on_first_nic_only = true;
        let args = joined(&spec, &[7, 9]);
        assert!(args.contains("mac=52:54:00:12:34:56 "), "{args}");
        assert!(args.contains("mac=52:54:00:12:34:57,romfile= "), "{args}");
        assert!(args.contains("-drive file=/cache/markerfloppy.img,format=raw,if=floppy,snapshot=on"));
        assert!(args.contains("-boot order=nca"));
    }

    #[test]
    fn uefi_uses_pflash_and_bootindex() {
        let mut spec = GuestSpec::new(Firmware::Uefi, Boot::NetworkThenDisk, Path::new("/run"));
        spec.nic_macs = vec!["52:54:00:12:34:56".to_owned(), "52:54:00:12:34:57".to_owned()];
        spec.allow_reboot = true;
        let args = joined(&spec, &[7, 9]);
        assert!(args.contains("-machine q35"));
        assert!(args.contains(&format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}")));
        assert!(args.contains("if=pflash,format=raw,unit=1,file=/run/OVMF_VARS.fd"));
        assert!(args.contains("mac=52:54:00:12:34:56,bootindex=1"));
        assert!(args.contains("local.str=9 -device virtio-net-pci,netdev=n1,mac=52:54:00:12:34:57,bootindex=2"));
        assert!(!args.contains("-no-reboot"));
        assert!(!args.contains("graphics=off"));
        assert!(!args.contains("-boot"));
    }

    #[test]
    fn firmware_network_boot_has_no_ipxe_rom() {
        let mut spec = GuestSpec::new(Firmware::UefiPxe, Boot::NetworkThenDisk, Path::new("/run"));
        spec.nic_macs = vec!["52:54:00:12:34:56".to_owned()];
        let args = joined(&spec, &[7]);
        assert!(args.contains("mac=52:54:00:12:34:56,bootindex=1,romfile= "), "{args}");
        assert!(!args.contains("-fw_cfg"), "{args}");
        spec.firmware = Firmware::UefiHttpBoot;
        let args = joined(&spec, &[7]);
        assert!(args.contains("-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n"), "{args}");
        assert!(args.contains("-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n"), "{args}");
        assert!(args.contains("romfile= "), "{args}");
    }

    #[test]
    fn direct_kernel_without_nic_disables_the_default_nic() {
        let boot = Boot::DirectKernel {
            kernel: PathBuf::from("/cache/vmlinuz"),
            initrd: Some(PathBuf::from("/cache/deploy.initrd")),
            append: "console=ttyS0 BOOTIF=52:54:00:12:34:56".to_owned(),
        };
        let args = qemu_args(
            &GuestSpec::new(Firmware::Bios, boot, Path::new("/run")),
            &[],
            Path::new("/run/console.log"),
            Path::new("/run/OVMF_VARS.fd"),
        )
        .expect("valid spec");
        assert!(args.windows(2).any(|pair| pair == ["-nic", "none"]));
        assert!(args.windows(2).any(|pair| pair == ["-append", "console=ttyS0 BOOTIF=52:54:00:12:34:56"]));
        assert!(args.windows(2).any(|pair| pair == ["-initrd", "/cache/deploy.initrd"]));
    }

    #[test]
    fn bad_macs_and_comma_paths_are_refused() {
        let mut spec = GuestSpec::new(Firmware::Bios, Boot::NetworkThenDisk, Path::new("/run"));
        spec.nic_macs = vec!["52:54:00:12:34:56,romfile=x".to_owned()];
        assert!(qemu_args(&spec, &[7], Path::new("/c"), Path::new("/v")).is_err());
        spec.nic_macs.clear();
        spec.local_disk = Some(PathBuf::from("/a,b.img"));
        assert!(qemu_args(&spec, &[], Path::new("/c"), Path::new("/v")).is_err());
    }
}
