//! A TPM 1.2 for the firmware appliance's VM: Debian's `swtpm`, one per VM, its state in
//! the run's folder and its control socket handed to QEMU's `tpm-tis` device.
//!
//! Why the appliance VM has one: without a TPM device QEMU answers 0 where the TPM's
//! registers would be (0xFED40000), not the all-ones a chipset without a TPM answers, so
//! OVMF takes a TPM to be there and waits out two 750 ms timeouts for it to answer. A
//! TPM 1.2 answers at once, and this OVMF build measures nothing into a 1.2 device (a
//! TPM 2.0 would make it hash the boot, about 3 s more under TCG).
//! [`SoftTpm`] kills `swtpm` by its own PID when dropped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::describe;

/// The emulator; found on `PATH` (Debian's `swtpm`).
pub const SWTPM: &str = "swtpm";
/// How long `swtpm` may take to create its control socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest path a Unix socket address holds.
const SOCKET_PATH_MAX: usize = 107;

pub struct SoftTpm {
    child: Child,
    socket: PathBuf,
}

impl SoftTpm {
    /// Starts `swtpm` with its state in `dir/tpm/` and waits for its control socket.
    pub fn start(dir: &Path) -> Result<Self, String> {
        let state = dir.join("tpm");
        fs::create_dir_all(&state).map_err(|error| format!("cannot create {}: {error}", state.display()))?;
        let socket = state.join("ctrl.sock");
        let socket_text = socket
            .to_str()
            .filter(|text| text.len() <= SOCKET_PATH_MAX && !text.contains(','))
            .ok_or_else(|| format!("{} is too long (or odd) for a Unix socket QEMU can open", socket.display()))?
            .to_owned();
        let state_text = state.to_str().ok_or_else(|| format!("{} is not UTF-8", state.display()))?;
        let log = fs::File::create(state.join("swtpm.log")).map_err(|error| format!("swtpm.log: {error}"))?;
        let mut command = Command::new(SWTPM);
        command
            .args(["socket", "--tpmstate", &format!("dir={state_text}")])
            .args(["--ctrl", &format!("type=unixio,path={socket_text}")])
            // Exit when QEMU closes the control channel, as well as when killed.
            .arg("--terminate")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().map_err(|error| format!("cannot start `{}`: {error}", describe(&command)))?;
        let mut tpm = SoftTpm { child, socket };
        let deadline = Instant::now() + SOCKET_TIMEOUT;
        while !tpm.socket.exists() {
            if let Ok(Some(status)) = tpm.child.try_wait() {
                return Err(format!("swtpm exited ({status}); see {}", state.join("swtpm.log").display()));
            }
            if Instant::now() > deadline {
                return Err(format!("swtpm made no {} within {SOCKET_TIMEOUT:?}", tpm.socket.display()));
            }
            thread::sleep(Duration::from_millis(5));
        }
        Ok(tpm)
    }

    /// QEMU's arguments for a TIS TPM on this emulator.
    pub fn qemu_args(&self) -> Vec<String> {
        vec![
            "-chardev".to_owned(),
            format!("socket,id=tpm-ctrl,path={}", self.socket.display()),
            "-tpmdev".to_owned(),
            "emulator,id=tpm0,chardev=tpm-ctrl".to_owned(),
            "-device".to_owned(),
            "tpm-tis,tpmdev=tpm0".to_owned(),
        ]
    }
}

impl Drop for SoftTpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
