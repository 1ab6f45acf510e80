//! A throwaway network namespace with a bridge, for scenarios whose DHCP server is a
//! real program (dnsmasq) on a real link: the guest's TAP device, the appliance's TAP
//! device and the bridge's own address (where dnsmasq listens) all live inside it, so
//! no frame reaches the host's interfaces. Needs root and `/dev/net/tun`.
//! [`Namespace`] deletes the namespace when dropped, on every path.

use std::path::Path;
use std::process::Command;

use super::prereqs::{find_on_path, running_as_root};
use crate::cmd::describe;

/// The bridge's own address: dnsmasq answers from it. The appliance is 10.99.0.1.
pub const BRIDGE_ADDRESS: &str = "10.99.0.2/24";
/// The guest's TAP device and the appliance's.
pub const GUEST_TAP: &str = "tapguest";
pub const APPLIANCE_TAP: &str = "tapappl";

/// Why a namespace cannot be made here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !running_as_root() {
        return Some("needs root (network namespaces and TAP devices)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    find_on_path("ip").is_none().then(|| "no `ip` (iproute2)".into())
}

pub struct Namespace {
    pub name: String,
}

impl Namespace {
    /// Creates `ipxecfg-<tag>-<pid>` with a bridge enslaving both TAP devices.
    pub fn create(tag: &str) -> Result<Self, String> {
        let name = format!("ipxecfg-{tag}-{}", std::process::id());
        // A namespace left by a killed earlier run of the same PID would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name])?;
        let namespace = Self { name };
        let n = namespace.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        ip(&["-n", n, "link", "add", "br0", "type", "bridge"])?;
        for tap in [GUEST_TAP, APPLIANCE_TAP] {
            ip(&["-n", n, "tuntap", "add", "dev", tap, "mode", "tap"])?;
            ip(&["-n", n, "link", "set", tap, "master", "br0"])?;
            ip(&["-n", n, "link", "set", tap, "up"])?;
        }
        ip(&["-n", n, "addr", "add", BRIDGE_ADDRESS, "dev", "br0"])?;
        ip(&["-n", n, "link", "set", "br0", "up"])?;
        Ok(namespace)
    }

    /// `command` run inside the namespace (`ip netns exec` execs it in place: same PID).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let mut command = Command::new("ip");
    command.args(args);
    let output = command.output().map_err(|e| format!("cannot run `{}`: {e}", describe(&command)))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed: {}", describe(&command), String::from_utf8_lossy(&output.stderr).trim()))
    }
}
