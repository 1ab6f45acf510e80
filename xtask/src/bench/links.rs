//! The links and servers of the side-by-side benchmark: two throwaway network namespaces
//! (the servers' and the clients'), a veth pair for nginx, a veth pair for the appliance
//! on `--raw-socket`, and a TAP device in the clients' namespace for the appliance on
//! `--tap`, all of the same MTU, and a veth of 1500 bytes for nginx once more. Nothing reaches the host's interfaces; the
//! namespaces are deleted and the servers killed (by their own PIDs) however the run ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cmd::describe;
use crate::qemu_boot::prereqs::{apt_get, find_on_path, running_as_root};

/// Every link's MTU: the largest a TAP device takes (65,535 less its 14-byte header; a
/// veth takes 65,535). Frames this size are what lets a userspace stack reach line rate
/// (see the README's Performance section); nginx gets the same links.
pub const LINK_MTU: u32 = 65_521;

/// Addresses: nginx's veth, the appliance's veth (its own stack's address; the
/// interface itself has none), the appliance's TAP; the client's side is `.2` in each.
pub const NGINX_ADDRESS: &str = "10.77.0.1";
/// nginx again, on a veth of Ethernet's 1500-byte MTU (where the kernel's segmentation
/// offload serves it best).
pub const NGINX_1500_ADDRESS: &str = "10.77.3.1";
pub const RAW_ADDRESS: &str = "10.77.1.1";
pub const TAP_ADDRESS: &str = "10.77.2.1";

/// Programs the benchmark runs, and the Debian package of each.
const TOOLS: [(&str, &str); 4] = [("ip", "iproute2"), ("nginx", "nginx"), ("wrk", "wrk"), ("curl", "curl")];

/// Installs what is missing when root; otherwise says what to install.
pub fn ensure_tools() -> Result<(), String> {
    if !running_as_root() {
        return Err("the side-by-side benchmark needs root (network namespaces, TAP devices)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("the side-by-side benchmark needs /dev/net/tun".into());
    }
    let missing: Vec<&str> =
        TOOLS.iter().filter(|(program, _)| find_on_path(program).is_none()).map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("bench: installing missing packages: {}", missing.join(" "));
    crate::cmd::run(apt_get().arg("update"))?;
    crate::cmd::run(apt_get().args(["install", "-y", "--no-install-recommends"]).args(&missing))?;
    match TOOLS.iter().find(|(program, _)| find_on_path(program).is_none()) {
        Some((program, package)) => Err(format!("`{program}` is still missing after installing {package}")),
        None => Ok(()),
    }
}

/// The two namespaces and their links.
pub struct Links {
    /// Where nginx and the appliance on `--raw-socket` run.
    pub servers: String,
    /// Where the clients run, and the appliance on `--tap` (a TAP device's other end is
    /// the namespace's own stack).
    pub clients: String,
}

/// The appliance's veth end (no address: the appliance's own stack answers on it).
pub const RAW_INTERFACE: &str = "bvr0";
/// The TAP device the appliance opens in the clients' namespace.
pub const TAP_INTERFACE: &str = "btap0";

impl Links {
    pub fn create() -> Result<Self, String> {
        let pid = std::process::id();
        let links = Links { servers: format!("ipxecfg-bench-srv-{pid}"), clients: format!("ipxecfg-bench-cli-{pid}") };
        for name in [&links.servers, &links.clients] {
            // A namespace left by a killed earlier run of the same PID would make `add` fail.
            let _ = Command::new("ip").args(["netns", "del", name]).output();
            ip(&["netns", "add", name])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        let (s, c) = (links.servers.as_str(), links.clients.as_str());
        let mtu = LINK_MTU.to_string();
        for (server_end, client_end) in [("bvn0", "bvn1"), (RAW_INTERFACE, "bvr1")] {
            ip(&[
                "-n", s, "link", "add", server_end, "mtu", &mtu, "type", "veth", "peer", "name", client_end, "netns",
                c, "mtu", &mtu,
            ])?;
        }
        ip(&["-n", s, "link", "add", "bvm0", "type", "veth", "peer", "name", "bvm1", "netns", c])?;
        ip(&["-n", s, "addr", "add", &format!("{NGINX_ADDRESS}/24"), "dev", "bvn0"])?;
        ip(&["-n", s, "addr", "add", &format!("{NGINX_1500_ADDRESS}/24"), "dev", "bvm0"])?;
        ip(&["-n", c, "addr", "add", "10.77.3.2/24", "dev", "bvm1"])?;
        ip(&["-n", c, "addr", "add", "10.77.0.2/24", "dev", "bvn1"])?;
        ip(&["-n", c, "addr", "add", "10.77.1.2/24", "dev", "bvr1"])?;
        ip(&["-n", c, "tuntap", "add", "dev", TAP_INTERFACE, "mode", "tap"])?;
        ip(&["-n", c, "link", "set", TAP_INTERFACE, "mtu", &mtu])?;
        ip(&["-n", c, "addr", "add", "10.77.2.2/24", "dev", TAP_INTERFACE])?;
        for (namespace, interface) in
            [(s, "bvn0"), (s, "bvm0"), (s, RAW_INTERFACE), (c, "bvn1"), (c, "bvm1"), (c, "bvr1"), (c, TAP_INTERFACE)]
        {
            ip(&["-n", namespace, "link", "set", interface, "up"])?;
        }
        // Clients opening a connection per request leave TIME-WAIT sockets behind: let the
        // clients' namespace reuse them and use every port.
        links.sysctl(c, "net.ipv4.tcp_tw_reuse", "1")?;
        links.sysctl(c, "net.ipv4.ip_local_port_range", "1024 65535")?;
        Ok(links)
    }

    fn sysctl(&self, namespace: &str, key: &str, value: &str) -> Result<(), String> {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", namespace, "sysctl", "-q", "-w", &format!("{key}={value}")]);
        output_of(&mut command).map(drop)
    }

    /// `program` inside `namespace` (`ip netns exec` execs it in place: same PID).
    pub fn command(namespace: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", namespace, program]);
        command
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for name in [&self.servers, &self.clients] {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// A server process, killed by its PID when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    /// Starts `command`; when `ready_line` is given, waits for a stderr line starting
    /// with it.
    pub fn start(name: &'static str, mut command: Command, ready_line: Option<&str>) -> Result<Self, String> {
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("cannot start `{}`: {e}", describe(&command)))?;
        let stderr = child.stderr.take();
        let server = Server { child };
        let Some(stderr) = stderr else { return Ok(server) };
        let (lines_tx, lines_rx) = mpsc::channel();
        // Drained for the process's whole life, so a chatty server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let Some(ready_line) = ready_line else { return Ok(server) };
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match lines_rx.recv_timeout(left) {
                Ok(line) if line.starts_with(ready_line) => return Ok(server),
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        Err(format!("{name} did not print `{ready_line}` within 15 s; it printed:\n{}", seen.join("\n")))
    }
}

impl Server {
    /// The server's PID (`ip netns exec` execs it in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to completion; its stdout, or an error with its stderr.
pub fn output_of(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("cannot run `{}`: {e}", describe(command)))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("`{}` failed: {}", describe(command), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let mut command = Command::new("ip");
    command.args(args);
    output_of(&mut command).map(drop)
}
