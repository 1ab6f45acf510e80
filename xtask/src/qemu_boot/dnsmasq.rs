//! dnsmasq as the DHCP server, with the operator snippet `ipxe-scripts/dnsmasq.conf`:
//! the scenario proving that file points real iPXE at the endpoint.
//! [`Dnsmasq`] stops the process by its own PID when dropped.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};

use super::netns::Namespace;
use super::prereqs::{apt_get, find_on_path, running_as_root};
use crate::cmd::{run, workspace_root};

/// Installs dnsmasq when missing and running as root (the caller checked root already).
pub fn ensure_installed() -> Result<(), String> {
    if find_on_path("dnsmasq").is_some() {
        return Ok(());
    }
    if !running_as_root() {
        return Err("dnsmasq is not installed; as root: apt-get install -y --no-install-recommends dnsmasq-base".into());
    }
    run(apt_get().args(["install", "-y", "--no-install-recommends", "dnsmasq-base"]))
}

pub struct Dnsmasq {
    child: Child,
}

impl Dnsmasq {
    /// Serves DHCP on the namespace's bridge with the operator snippet included.
    pub fn start(namespace: &Namespace, run_dir: &Path) -> Result<Self, String> {
        let snippet = workspace_root().join("ipxe-scripts/dnsmasq.conf");
        let log_path = run_dir.join("dnsmasq.log");
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_too = log.try_clone().map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut command = namespace.command("dnsmasq");
        command
            .arg("--no-daemon")
            .arg(format!("--conf-file={}", snippet.display()))
            // Only the namespace's bridge, no DNS, no lease file: nothing outside the test.
            .args(["--interface=br0", "--bind-interfaces", "--port=0", "--leasefile-ro", "--log-dhcp"])
            .args(["--dhcp-range=10.99.0.100,10.99.0.199,1h", "--pid-file="])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        let child = command.spawn().map_err(|e| format!("cannot start dnsmasq: {e}"))?;
        Ok(Self { child })
    }
}

impl Dnsmasq {
    /// A site DHCP server that hands out addresses and nothing about booting, for the
    /// ProxyDHCP scenarios. It answers at once (`--no-ping`: no 3 s probe of each address).
    pub fn start_addresses_only(namespace: &Namespace, run_dir: &Path) -> Result<Self, String> {
        let log_path = run_dir.join("dnsmasq.log");
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_too = log.try_clone().map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut command = namespace.command("dnsmasq");
        command
            .args(["--no-daemon", "--conf-file=/dev/null", "--no-ping"])
            .args(["--interface=br0", "--bind-interfaces", "--port=0", "--leasefile-ro", "--log-dhcp"])
            .args(["--dhcp-range=10.99.0.100,10.99.0.199,1h", "--pid-file="])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        let child = command.spawn().map_err(|e| format!("cannot start dnsmasq: {e}"))?;
        Ok(Self { child })
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
