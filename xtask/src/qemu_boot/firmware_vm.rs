//! The firmware appliance as a second QEMU guest: OVMF booting the image from
//! `cargo xtask firmware-image` as its disk, its NIC on the client's socketpair.
//!
//! Its NIC has no option ROM (`romfile=`), so OVMF's own VirtioNetDxe provides the
//! Simple Network Protocol, as a server NIC's UEFI driver would. The appliance's log
//! is its serial console: a thread reads the file QEMU writes, strips the terminal's
//! escape sequences and stamps each complete line with the time since the client was
//! powered on, so it reads like the host appliance's log. [`FirmwareVm`] kills QEMU by
//! its own PID when dropped.
//!
//! A machine's NVRAM outlives its boots, and only its very first power-on finds it empty:
//! OVMF then writes its boot options, console paths and memory-type table into the
//! variable store, about 1.3 s more under TCG. [`first_power_on`] is that boot, timed on
//! its own; the scenarios then boot with the NVRAM it left, as every later boot of a real
//! appliance does.

use std::fs::{self, File};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::console;
use super::fd_pass;
use super::paths::fresh_run_dir;
use super::prereqs::{OVMF_CODE, OVMF_VARS, QEMU};
use super::server_log::{LogLines, ServerLog};
use super::soft_tpm::SoftTpm;
use crate::cmd::describe;
use crate::firmware_image::{self, ImageSpec};

/// The appliance VM's MAC (the client's are 52:54:00:00:00:xx).
const APPLIANCE_MAC: &str = "52:54:00:99:00:01";
/// The unwired NIC of a two-NIC appliance VM.
const DECOY_MAC: &str = "52:54:00:99:00:02";
/// How often the console file is read.
const READ_INTERVAL: Duration = Duration::from_millis(20);
/// Bound on a default image's wait for the ready line.
const FIRST_POWER_ON_TIMEOUT: Duration = Duration::from_secs(120);
/// What the appliance's console prints once it serves.
pub const READY_LINE: &str = " ready ip=";

pub struct FirmwareVm {
    child: Child,
    lines: LogLines,
    stop: Arc<AtomicBool>,
    reader: Option<thread::JoinHandle<()>>,
    console: PathBuf,
    /// Dropped after QEMU is killed (fields drop after `Drop::drop`).
    _tpm: Option<SoftTpm>,
}

/// What the appliance VM is made of.
pub struct ApplianceVm<'a> {
    /// The disk image (never written: `snapshot=on`).
    pub image: &'a Path,
    /// Its NIC's end of the socketpair; no NIC at all without one.
    pub nic: Option<&'a UnixDatagram>,
    /// A copy of this becomes its variable store; OVMF's empty one without it.
    pub nvram: Option<&'a Path>,
    /// An unwired NIC before the wired one on the PCI bus.
    pub decoy_nic_first: bool,
    /// A TPM 1.2 (see `soft_tpm`).
    pub tpm: bool,
}

impl FirmwareVm {
    /// Boots `vm`; log timestamps count from `powered_on`.
    pub fn start(vm: &ApplianceVm<'_>, run_dir: &Path, powered_on: Instant) -> Result<Self, String> {
        let console = run_dir.join("appliance-console.log");
        let vars = Self::nvram_in(run_dir);
        let from = vm.nvram.unwrap_or(Path::new(OVMF_VARS));
        fs::copy(from, &vars).map_err(|error| format!("cannot copy {}: {error}", from.display()))?;
        let path = |path: &Path| {
            path.to_str()
                .filter(|text| !text.contains(','))
                .map(str::to_owned)
                .ok_or_else(|| format!("path {} cannot be given to QEMU", path.display()))
        };
        let mut command = Command::new(QEMU);
        let mut nic = Vec::new();
        if vm.decoy_nic_first {
            // No netdev: QEMU warns that it has no peer, and nothing it sends goes anywhere.
            nic.extend(["-device".to_owned(), format!("virtio-net-pci,mac={DECOY_MAC},romfile=")]);
        }
        nic.extend(match vm.nic {
            Some(end) => {
                let fd = fd_pass::inherit(&mut command, end);
                vec![
                    "-netdev".to_owned(),
                    format!("dgram,id=n0,local.type=fd,local.str={fd}"),
                    "-device".to_owned(),
                    format!("virtio-net-pci,netdev=n0,mac={APPLIANCE_MAC},romfile="),
                ]
            }
            // Without this QEMU adds a default NIC on user networking.
            None => vec!["-nic".to_owned(), "none".to_owned()],
        });
        command
            .args(["-accel", "tcg", "-smp", "1", "-m", "256", "-display", "none", "-monitor", "none", "-no-reboot"])
            .args(["-machine", "q35"])
            .args(["-serial", &format!("file:{}", path(&console)?)])
            .args(["-drive", &format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}")])
            .args(["-drive", &format!("if=pflash,format=raw,unit=1,file={}", path(&vars)?)])
            .args(["-drive", &format!("if=none,id=esp,format=raw,snapshot=on,file={}", path(vm.image)?)])
            .args(["-device", "virtio-blk-pci,drive=esp,bootindex=0"])
            .args(nic);
        let tpm = if vm.tpm { Some(SoftTpm::start(run_dir)?) } else { None };
        if let Some(tpm) = &tpm {
            command.args(tpm.qemu_args());
        }
        let qemu_log = run_dir.join("appliance-qemu.log");
        let log = File::create(&qemu_log).map_err(|error| format!("{}: {error}", qemu_log.display()))?;
        let log_too = log.try_clone().map_err(|error| format!("{}: {error}", qemu_log.display()))?;
        command.stdin(Stdio::null()).stdout(log).stderr(log_too);
        fs::write(run_dir.join("appliance-qemu.cmdline"), format!("{}\n", describe(&command)))
            .map_err(|error| format!("{}: {error}", run_dir.display()))?;
        let child = command.spawn().map_err(|error| format!("cannot start `{}`: {error}", describe(&command)))?;
        let lines: LogLines = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (lines, stop, console) = (Arc::clone(&lines), Arc::clone(&stop), console.clone());
            thread::spawn(move || follow(&console, &lines, &stop, powered_on))
        };
        Ok(FirmwareVm { child, lines, stop, reader: Some(reader), console, _tpm: tpm })
    }

    /// Where the VM in `run_dir` keeps its variable store.
    fn nvram_in(run_dir: &Path) -> PathBuf {
        run_dir.join("appliance-OVMF_VARS.fd")
    }
}

/// The appliance's first power-on: [`boot_default_image`] with OVMF's empty variable
/// store and a TPM, as in the scenarios.
pub fn first_power_on(efi: &Path, dir_name: &str) -> Result<(Duration, PathBuf), String> {
    boot_default_image(efi, dir_name, None, true)
}

/// Boots the image `cargo xtask firmware-image` makes by default, with a copy of `nvram`
/// (OVMF's empty store without it), a TPM or none, and its NIC on a socketpair nobody else
/// holds. Returns the time from QEMU's start to the ready line and the NVRAM the boot
/// left, in `target/qemu-boot/<dir_name>/`.
pub fn boot_default_image(
    efi: &Path,
    dir_name: &str,
    nvram: Option<&Path>,
    tpm: bool,
) -> Result<(Duration, PathBuf), String> {
    let run_dir = fresh_run_dir(dir_name)?;
    let image = run_dir.join("appliance.img");
    firmware_image::write_image(&ImageSpec::default_for(efi.to_owned()), &image)?;
    let (_peer, end) = UnixDatagram::pair().map_err(|e| format!("cannot create a socketpair: {e}"))?;
    let vm_spec = ApplianceVm { image: &image, nic: Some(&end), nvram, decoy_nic_first: false, tpm };
    let mut vm = FirmwareVm::start(&vm_spec, &run_dir, Instant::now())?;
    let serving = vm
        .wait_for("the appliance's ready line", FIRST_POWER_ON_TIMEOUT, &|line| line.contains(READY_LINE))
        .map_err(|error| format!("{dir_name}: {error}\n--- appliance console tail ---\n{}---", vm.tail(15)))?;
    // OVMF wrote its variables before it loaded the application; QEMU is killed only now.
    drop(vm);
    let _ = fs::remove_file(&image);
    Ok((serving, FirmwareVm::nvram_in(&run_dir)))
}

/// Appends each complete console line to `lines` until `stop`.
fn follow(console: &Path, lines: &LogLines, stop: &AtomicBool, powered_on: Instant) {
    let mut complete = 0;
    loop {
        let finished = stop.load(Ordering::SeqCst);
        if let Ok(text) = console::read_text(console) {
            let whole: Vec<&str> = text.split_inclusive('\n').filter(|line| line.ends_with('\n')).collect();
            if let Ok(mut lines) = lines.lock() {
                for line in whole.iter().skip(complete) {
                    lines.push((powered_on.elapsed(), line.trim_end().to_owned()));
                }
            }
            complete = complete.max(whole.len());
        }
        if finished {
            return;
        }
        thread::sleep(READ_INTERVAL);
    }
}

impl ServerLog for FirmwareVm {
    fn lines(&self) -> &LogLines {
        &self.lines
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                Some(format!("the appliance VM exited ({status}); console: {}", self.console.display()))
            }
            _ => None,
        }
    }

    fn reload(&self) -> Result<(), String> {
        Err("the firmware appliance reads its inventory once, at start-up".into())
    }
}

impl Drop for FirmwareVm {
    fn drop(&mut self) {
        // By its own PID, whatever state the scenario ended in.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
