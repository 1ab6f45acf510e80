//! The appliance process a scenario boots its guest from.
//!
//! Started from the workspace's own build with the guest's socketpair end inherited as
//! `--qemu-dgram-fd`; its log (stderr) is read line by line on a thread, each line
//! stamped with the time since the guest was powered on, and copied to `appliance.log`.
//! [`Appliance`] stops the process by its own PID when dropped, on every path.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use super::fd_pass;
use super::netns::Namespace;
use super::server_log::{LogLines, ServerLog};
use crate::cmd::{cargo, run, workspace_root};

/// The binary `cargo build -p ipxe-config-server` leaves behind.
pub fn binary() -> PathBuf {
    workspace_root().join("target/debug/ipxe-config-appliance")
}

/// Builds the appliance from this workspace (a debug build: it is what the tests run).
pub fn build() -> Result<(), String> {
    run(cargo().args(["build", "--quiet", "-p", "ipxe-config-server", "--bin", "ipxe-config-appliance"]))
}

/// How the appliance reaches the guest.
pub enum Link<'a> {
    /// Its end of the guest's NIC socketpair; the appliance also serves DHCP.
    Socketpair(&'a UnixDatagram),
    /// A TAP device on the namespace's bridge; addresses come from another server there
    /// (the appliance then runs no DHCP server, or a ProxyDHCP one if `proxy`).
    Tap { namespace: &'a Namespace, ifname: &'a str, proxy: bool },
}

pub struct Appliance {
    child: Child,
    lines: LogLines,
    reader: Option<thread::JoinHandle<()>>,
    log_path: PathBuf,
}

impl Appliance {
    /// Starts the appliance on `link`, with the `inventory` file or (`None`) the source
    /// `extra_args` name. `powered_on` is when the guest started, the zero of every log
    /// timestamp.
    pub fn start(
        link: Link<'_>,
        inventory: Option<&Path>,
        http_root: &Path,
        extra_args: &[&str],
        run_dir: &Path,
        powered_on: Instant,
    ) -> Result<Self, String> {
        let program = binary();
        let program_text = program.to_str().ok_or("the appliance's path is not UTF-8")?;
        let mut command = match link {
            Link::Socketpair(end) => {
                let mut command = Command::new(&program);
                let fd = fd_pass::inherit(&mut command, end);
                command.arg("--qemu-dgram-fd").arg(fd.to_string());
                command
            }
            Link::Tap { namespace, ifname, proxy } => {
                let mut command = namespace.command(program_text);
                command.args(["--tap", ifname]);
                if !proxy {
                    command.arg("--no-dhcp");
                }
                command
            }
        };
        if let Some(inventory) = inventory {
            command.arg("--inventory").arg(inventory);
        }
        command
            .arg("--http-root")
            .arg(http_root)
            .args(["--ip", "10.99.0.1/24"])
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", binary().display()))?;
        let log_path = run_dir.join("appliance.log");
        let mut log_file = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let lines: LogLines = Arc::default();
        let stderr = child.stderr.take().ok_or("appliance stderr not captured")?;
        let collected = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if let Ok(mut lines) = collected.lock() {
                    lines.push((powered_on.elapsed(), line));
                }
            }
        });
        Ok(Self { child, lines, reader: Some(reader), log_path })
    }
}

impl ServerLog for Appliance {
    fn lines(&self) -> &LogLines {
        &self.lines
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("the appliance exited ({status}); log: {}", self.log_path.display())),
            _ => None,
        }
    }

    fn reload(&self) -> Result<(), String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) on our own child's PID; no memory is involved.
        if unsafe { libc::kill(pid, libc::SIGHUP) } == 0 {
            Ok(())
        } else {
            Err(format!("cannot signal the appliance: {}", std::io::Error::last_os_error()))
        }
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        // By its own PID, whatever state the scenario ended in.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
