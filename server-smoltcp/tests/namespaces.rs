//! The appliance binary in network namespaces of its own: on a TAP device (with `curl`
//! fetching a script and a file, an inventory reload and a clean stop on SIGTERM), and on
//! a raw socket over a veth pair. Needs root, `/dev/net/tun`, `ip` and `curl`; without
//! them each test prints why and passes. Nothing leaves the namespaces, and each is
//! deleted (its appliance killed first) however the test ends.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{scratch_dir, shared_fixture, DEPLOYING_NODE};

const APPLIANCE: &str = env!("CARGO_BIN_EXE_ipxe-config-appliance");

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    #[allow(unsafe_code)] // reason: geteuid(2) has no preconditions
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some("not root".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    for tool in ["ip", "curl"] {
        let found = Command::new(tool).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if found.is_err() {
            return Some(format!("no `{tool}` on PATH"));
        }
    }
    None
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Kills the appliance and deletes the namespace however the test ends.
struct Namespace {
    name: String,
    appliance: Option<Child>,
}

impl Namespace {
    fn exec(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(mut child) = self.appliance.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                #[allow(unsafe_code)] // reason: kill(2) on the PID of our own child
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Lines the appliance wrote to stderr, collected by a reader thread.
type Lines = Arc<Mutex<Vec<String>>>;

fn wait_for_line(lines: &Lines, what: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(line) = lines.lock().unwrap().iter().find(|line| line.contains(what)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "no line with {what:?} in {:#?}", lines.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn curl(namespace: &Namespace, args: &[&str]) -> Vec<u8> {
    let output =
        run(namespace.exec("curl").args(["--silent", "--show-error", "--fail", "--max-time", "10"]).args(args));
    output.stdout
}

/// A fresh namespace with its loopback up, or why there cannot be one.
fn namespace(test: &str) -> Result<Namespace, String> {
    if let Some(reason) = missing_prerequisite() {
        return Err(reason);
    }
    let name = format!("ipxecfg-{test}-{}", std::process::id());
    if !Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success()) {
        return Err("`ip netns add` failed (no privilege for namespaces here)".into());
    }
    let namespace = Namespace { name, appliance: None };
    run(namespace.exec("ip").args(["link", "set", "lo", "up"]));
    Ok(namespace)
}

/// Starts the appliance in `namespace` with `args`; returns its stderr lines once ready.
fn start(namespace: &mut Namespace, args: &[&str]) -> Lines {
    let mut child = namespace
        .exec(APPLIANCE)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the appliance");
    let stderr = child.stderr.take().unwrap();
    namespace.appliance = Some(child);
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    wait_for_line(&lines, "ready ip=", Duration::from_secs(10));
    lines
}

/// Without root, `/dev/net/tun`, `ip` or `curl` these tests cannot run and say why. Where
/// they must run (`cargo xtask ci` as root sets `IPXE_CONFIG_REQUIRE_NAMESPACES`), a
/// missing piece is a failure instead, so a green CI always means curl talked to the
/// TAP and raw-socket backends.
fn skip(reason: &str) {
    assert!(
        std::env::var_os("IPXE_CONFIG_REQUIRE_NAMESPACES").is_none(),
        "namespace test required but cannot run: {reason}"
    );
    println!("skipped: {reason}");
}

#[test]
fn appliance_on_a_raw_socket_serves_curl_over_a_veth_pair() {
    let mut namespace = match namespace("raw") {
        Ok(namespace) => namespace,
        Err(reason) => return skip(&reason),
    };
    // The appliance owns veth0; the namespace's kernel is the client behind veth1.
    run(namespace.exec("ip").args(["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"]));
    run(namespace.exec("ip").args(["link", "set", "veth0", "up"]));
    run(namespace.exec("ip").args(["addr", "add", "10.99.0.2/24", "dev", "veth1"]));
    run(namespace.exec("ip").args(["link", "set", "veth1", "up"]));
    let dir = scratch_dir("raw_namespace");
    let image: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(40_503) >> 7).to_le_bytes()[0]).collect();
    std::fs::write(dir.join("initrd"), &image).unwrap();
    let inventory = shared_fixture("inventory.json");
    let lines = start(
        &mut namespace,
        &[
            "--inventory",
            inventory.to_str().unwrap(),
            "--raw-socket",
            "veth0",
            "--no-dhcp",
            "--http-root",
            dir.to_str().unwrap(),
        ],
    );
    wait_for_line(&lines, "backend=raw-socket", Duration::from_secs(1));
    let script_url = format!("http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE}");
    let script = String::from_utf8(curl(&namespace, &[&script_url])).unwrap();
    assert!(script.starts_with("#!ipxe\n"), "{script}");
    let fetched = curl(&namespace, &["http://10.99.0.1/initrd"]);
    assert!(fetched == image, "file differs: {} bytes of {}", fetched.len(), image.len());
    let head = String::from_utf8(curl(&namespace, &["--head", "http://10.99.0.1/initrd"])).unwrap();
    assert!(head.contains("Content-Length: 2000000"), "{head}");
    drop(namespace);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appliance_on_a_tap_device_serves_curl_in_its_namespace() {
    let mut namespace = match namespace("tap") {
        Ok(namespace) => namespace,
        Err(reason) => return skip(&reason),
    };
    let dir = scratch_dir("tap_namespace");
    let inventory = dir.join("inventory.json");
    let original = std::fs::read_to_string(shared_fixture("inventory.json")).unwrap();
    std::fs::write(&inventory, &original).unwrap();
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("images")).unwrap();
    let kernel: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0]).collect();
    std::fs::write(root.join("images/vmlinuz"), &kernel).unwrap();

    let lines = start(
        &mut namespace,
        &[
            "--inventory",
            inventory.to_str().unwrap(),
            "--tap",
            "tap0",
            "--ip",
            "10.99.0.1/24",
            "--no-dhcp",
            "--http-root",
            root.to_str().unwrap(),
        ],
    );
    let ready = wait_for_line(&lines, "ready ip=", Duration::from_secs(10));
    assert!(ready.contains("ip=10.99.0.1") && ready.contains("backend=tap"), "{ready}");
    // The kernel's side of the TAP device is the client.
    run(namespace.exec("ip").args(["addr", "add", "10.99.0.2/24", "dev", "tap0"]));
    run(namespace.exec("ip").args(["link", "set", "tap0", "up"]));

    let script_url = format!("http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE}");
    let script = String::from_utf8(curl(&namespace, &[&script_url])).unwrap();
    assert!(script.starts_with("#!ipxe\n"), "{script}");
    assert!(script.contains("deploy.initrd"), "{script}");
    wait_for_line(&lines, "script=deploy status=200", Duration::from_secs(5));

    let fetched = curl(&namespace, &["http://10.99.0.1/images/vmlinuz"]);
    assert!(fetched == kernel, "file differs: {} bytes of {}", fetched.len(), kernel.len());
    let by_mac = String::from_utf8(curl(
        &namespace,
        &["http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01"],
    ))
    .unwrap();
    assert_eq!(by_mac, script);

    // A broken inventory is refused and the old one kept…
    let pid = namespace.appliance.as_ref().map(Child::id).unwrap();
    std::fs::write(&inventory, b"{\"nodes\": [").unwrap();
    run(Command::new("kill").args(["-HUP", &pid.to_string()]));
    wait_for_line(&lines, "not reloaded", Duration::from_secs(5));
    let still = String::from_utf8(curl(&namespace, &[&script_url])).unwrap();
    assert_eq!(still, script);
    // …a good one is taken up when the file changes.
    let rescuing = original.replacen("\"provision_state\": \"deploying\"", "\"provision_state\": \"rescuing\"", 1);
    assert_ne!(rescuing, original);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&inventory, rescuing).unwrap();
    wait_for_line(&lines, "inventory reloaded", Duration::from_secs(5));
    let rescue = String::from_utf8(curl(&namespace, &[&script_url])).unwrap();
    assert!(rescue.contains("rescue.initrd"), "{rescue}");

    // SIGTERM stops it cleanly.
    run(Command::new("kill").args(["-TERM", &pid.to_string()]));
    let mut child = namespace.appliance.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            namespace.appliance = Some(child);
            panic!("appliance did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    wait_for_line(&lines, "stopping on signal", Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A BIOS PXE client at protocol level (Debian ships no non-iPXE BIOS PXE ROM): busybox's
/// DHCP client says `PXEClient:Arch:00000` with option 93 = 0 and is handed
/// `undionly.kpxe` with the appliance as next-server; then curl (blksize) and atftp
/// (blksize, windowsize, tsize) fetch it over TFTP from the leased address, byte for byte.
#[test]
fn a_bios_pxe_client_gets_undionly_over_dhcp_and_tftp_on_a_tap_device() {
    const UNDIONLY: &str = "/usr/lib/ipxe/undionly.kpxe";
    let mut namespace = match namespace("pxe") {
        Ok(namespace) => namespace,
        Err(reason) => return skip(&reason),
    };
    for (tool, args) in [("busybox", &["true"][..]), ("atftp", &["--version"][..])] {
        if Command::new(tool).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            return skip(&format!("no `{tool}` on PATH"));
        }
    }
    let Ok(undionly) = std::fs::read(UNDIONLY) else { return skip(&format!("no {UNDIONLY} (Debian package ipxe)")) };
    let dir = scratch_dir("pxe_namespace");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("undionly.kpxe"), &undionly).unwrap();
    // udhcpc runs this on each event; `bound` carries the lease in the environment.
    let lease = dir.join("lease");
    let hook = dir.join("udhcpc-hook");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\n[ \"$1\" = bound ] && echo \"$ip $siaddr $boot_file\" > {}\nexit 0\n", lease.display()),
    )
    .unwrap();
    run(Command::new("chmod").arg("+x").arg(&hook));
    let inventory = shared_fixture("inventory.json");
    let lines = start(
        &mut namespace,
        &["--inventory", inventory.to_str().unwrap(), "--tap", "tap0", "--http-root", root.to_str().unwrap()],
    );
    run(namespace.exec("ip").args(["link", "set", "tap0", "up"]));
    run(namespace.exec("busybox").args(["udhcpc", "-i", "tap0", "-f", "-q", "-n", "-t", "5", "-T", "1"]).args([
        "-s",
        hook.to_str().unwrap(),
        "-V",
        "PXEClient:Arch:00000:UNDI:002001",
        "-x",
        "0x5d:0000",
    ]));
    let lease = std::fs::read_to_string(&lease).unwrap();
    let fields: Vec<&str> = lease.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{lease}");
    assert_eq!(&fields[1..], ["10.99.0.1", "undionly.kpxe"], "next-server and boot file: {lease}");
    wait_for_line(&lines, "firmware=pxe arch=0 file=undionly.kpxe", Duration::from_secs(2));
    run(namespace.exec("ip").args(["addr", "add", &format!("{}/24", fields[0]), "dev", "tap0"]));

    let by_curl = curl(&namespace, &["--tftp-blksize", "1468", "tftp://10.99.0.1/undionly.kpxe"]);
    assert!(by_curl == undionly, "curl: {} bytes of {}", by_curl.len(), undionly.len());
    let size = undionly.len();
    wait_for_line(&lines, &format!("undionly.kpxe bytes={size} blksize=1468 windowsize=1"), Duration::from_secs(1));

    let copy = dir.join("atftp.out");
    run(namespace.exec("atftp").args(["--option", "blksize 1468", "--option", "windowsize 8"]).args([
        "--option",
        "tsize 0",
        "-g",
        "-r",
        "undionly.kpxe",
        "-l",
        copy.to_str().unwrap(),
        "10.99.0.1",
    ]));
    assert!(std::fs::read(&copy).unwrap() == undionly, "atftp: the bytes differ");
    wait_for_line(&lines, "blksize=1468 windowsize=8", Duration::from_secs(1));
    wait_for_line(
        &lines,
        &format!("tftp sent client={} file=undionly.kpxe bytes={size}", fields[0]),
        Duration::from_secs(1),
    );
    drop(namespace);
    let _ = std::fs::remove_dir_all(&dir);
}
