//! The `ironic-live` scenario: the appliance takes its inventory from a real Ironic 39's
//! API (`--ironic-url`, HTTP basic auth) and real iPXE boots what Ironic's state says.
//!
//! 1. Ironic enrolls a node whose PXE port is the guest's MAC, with `file://` deploy
//!    images (Ironic copies them into its `http_root`, which is the appliance's HTTP
//!    root, as `<uuid>/deploy_kernel` …), and deploys it (`direct`) to `wait call-back`.
//! 2. The guest boots the deploy ramdisk from the appliance's script.
//! 3. While that ramdisk pauses before rebooting, the node is undeployed and deployed
//!    again with the `ramdisk` interface, to `active`; the appliance's poll sees it.
//! 4. Ironic is stopped (degraded mode): the appliance logs the outage, and the guest's
//!    next boot is still served, from the last good sync: the instance ramdisk.
//! 5. Ironic starts again on the same database: the appliance logs the recovery.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::appliance::{Appliance, Link};
use super::guest::{self, Boot, Firmware, GuestSpec};
use super::initrd::{Ending, Tag, CMDLINE_PREFIX, REBOOTING_LINE};
use super::payloads::{self, Payloads, HTTP_ROOT_KERNEL};
use super::run::Outcome;
use super::server_log::ServerLog;
use crate::ironic::server::{Ironic, IronicDir, PASSWORD, USER};

/// The guest's only NIC.
pub const MAC: &str = "52:54:00:00:00:31";
const STEP: Duration = Duration::from_secs(120);

/// A loopback HTTP server (Python's `http.server`) with the instance image a `direct`
/// deploy names: Ironic checks that `image_source` answers before it deploys.
struct ImageServer {
    child: Child,
    url: String,
}

impl ImageServer {
    fn start(python: &Path, dir: &Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let child = Command::new(python)
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the image server: {e}"))?;
        let server = ImageServer { child, url: format!("http://127.0.0.1:{port}/disk.img") };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("the image server did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Runs the scenario in `run_dir`.
pub fn boot_in(payloads: &Payloads, run_dir: &Path, outcome: &mut Outcome) -> Result<(), String> {
    let http_root = run_dir.join("http-root");
    payloads.fill_http_root(&http_root, |tag| {
        if tag == Tag::Deploy {
            Ending::RebootAfterPause
        } else {
            Ending::PowerOff
        }
    })?;
    let images = run_dir.join("images");
    fs::create_dir_all(&images).map_err(|e| format!("{}: {e}", images.display()))?;
    let disk = b"an instance image the fake deploy never writes\n";
    fs::write(images.join("disk.img"), disk).map_err(|e| e.to_string())?;

    let mut ironic = Ironic::start(IronicDir {
        root: run_dir.join("ironic"),
        http_root: http_root.clone(),
        database: run_dir.join("ironic/ironic.sqlite"),
        file_roots: vec![http_root.clone()],
        tls: None,
        keystone: None,
    })?;
    let image_server = ImageServer::start(&crate::ironic::venv::python(), &images)?;
    let api = ironic.api();
    let uuid = api.enroll(
        &json!({
            "name": "ironic-live",
            "driver": "fake-hardware",
            "boot_interface": "ipxe",
            "deploy_interface": "direct",
            "properties": {"capabilities": "boot_mode:bios"},
            "driver_info": {
                "deploy_kernel": file_url(&http_root.join(HTTP_ROOT_KERNEL)),
                "deploy_ramdisk": file_url(&http_root.join(payloads::http_root_initrd_name(Tag::Deploy))),
                "kernel_append_params": "console=ttyS0 panic=-1 ipxe-config-node=ironic-live"
            }
        }),
        MAC,
    )?;
    api.provision(&uuid, "manage")?;
    api.wait_for_state(&uuid, "manageable", STEP)?;
    api.provision(&uuid, "provide")?;
    api.wait_for_state(&uuid, "available", STEP)?;
    let checksum = md5_hex(disk);
    api.patch_node(
        &uuid,
        &json!([
            {"op": "add", "path": "/instance_info/image_source", "value": image_server.url},
            {"op": "add", "path": "/instance_info/image_checksum", "value": checksum}
        ]),
    )?;
    api.provision(&uuid, "active")?;
    api.wait_for_state(&uuid, "wait call-back", STEP)?;

    let password_file = run_dir.join("ironic-password");
    fs::write(&password_file, format!("{PASSWORD}\n")).map_err(|e| e.to_string())?;
    let mut spec = GuestSpec::new(Firmware::Bios, Boot::NetworkThenDisk, run_dir);
    spec.nic_macs = vec![MAC.to_owned()];
    spec.allow_reboot = true;
    let guest::Launched { mut guest, appliance_ends } = guest::launch(&spec)?;
    let powered_on = Instant::now().checked_sub(guest.elapsed()).unwrap_or_else(Instant::now);
    let end = appliance_ends.first().ok_or("the guest has no NIC")?;
    let url = ironic.url();
    let password_path = password_file.display().to_string();
    let args = [
        "--ironic-url",
        url.as_str(),
        "--ironic-auth",
        "http-basic",
        "--ironic-user",
        USER,
        "--ironic-password-file",
        password_path.as_str(),
        "--ironic-http-url",
        "http://10.99.0.1",
        "--ironic-retry-ms",
        "200",
    ];
    let mut appliance = Appliance::start(Link::Socketpair(end), None, &http_root, &args, run_dir, powered_on)?;
    let result = follow(&mut ironic, &uuid, &mut guest, &mut appliance, &http_root, outcome);
    outcome.first_request = appliance.find(&|line| line.contains(" http client=")).map(|(at, _)| at);
    result.map_err(|error| format!("{error}\n--- appliance log tail ---\n{}---", appliance.tail(15)))
}

/// Steps 2 to 5, with the guest and the appliance running.
fn follow(
    ironic: &mut Ironic,
    uuid: &str,
    guest: &mut guest::Guest,
    appliance: &mut Appliance,
    http_root: &Path,
    outcome: &mut Outcome,
) -> Result<(), String> {
    guest.wait_for_console(&Tag::Deploy.console_line(), STEP)?;
    expect_cmdline(guest, &["BOOTIF=52:54:00:00:00:31", "ipxe-config-node=ironic-live", "initrd=deploy_ramdisk"])?;

    // Step 3: undeploy, then a ramdisk deploy to active, in Ironic's API.
    let api = ironic.api();
    let changed_at = Instant::now();
    api.provision(uuid, "deleted")?;
    api.wait_for_state(uuid, "available", STEP)?;
    api.patch_node(
        uuid,
        &json!([
            {"op": "replace", "path": "/deploy_interface", "value": "ramdisk"},
            {"op": "add", "path": "/instance_info/kernel", "value": file_url(&http_root.join(HTTP_ROOT_KERNEL))},
            {"op": "add", "path": "/instance_info/ramdisk",
             "value": file_url(&http_root.join(payloads::http_root_initrd_name(Tag::Instance)))},
            {"op": "add", "path": "/instance_info/kernel_append_params",
             "value": "console=ttyS0 ipxe-config-node=ironic-live-active"}
        ]),
    )?;
    api.provision(uuid, "active")?;
    api.wait_for_state(uuid, "active", STEP)?;
    let active_line = format!("node {uuid} active");
    appliance.wait_for("the sync of the active node", Duration::from_secs(10), &|line| line.contains(&active_line))?;
    println!(
        "qemu-boot ironic-live: the state change reached the appliance {:.2} s after the undeploy request",
        changed_at.elapsed().as_secs_f64()
    );

    // Step 4: Ironic goes away before the guest asks again.
    ironic.stop();
    appliance.wait_for("the outage report", Duration::from_secs(10), &|line| line.contains("ironic: sync failed"))?;
    let requests_before = script_requests(appliance);
    guest.wait_for_console(REBOOTING_LINE, STEP)?;
    outcome.marker = Some(guest.wait_for_console(&Tag::Instance.console_line(), STEP)?);
    expect_cmdline(guest, &["ipxe-config-node=ironic-live-active", "initrd=ramdisk"])?;
    if script_requests(appliance) <= requests_before {
        return Err("the instance booted without a script request during the outage".into());
    }
    appliance
        .wait_for("the instance script", Duration::from_secs(5), &|line| line.contains("script=instance-ramdisk"))?;
    if appliance.find(&|line| line.contains("ironic: reachable again")).is_some() {
        return Err("the outage ended before the guest's second boot; the degraded path is unproven".into());
    }
    let status = guest.wait_for_exit(STEP)?;
    if !status.success() {
        return Err(format!("QEMU ended with {status} after the instance ramdisk powered off"));
    }

    // Step 5: Ironic is back; the appliance says so once.
    ironic.resume()?;
    appliance
        .wait_for("the recovery report", Duration::from_secs(20), &|line| line.contains("ironic: reachable again"))?;
    let outages = appliance
        .lines()
        .lock()
        .map(|lines| lines.clone())
        .unwrap_or_default()
        .iter()
        .filter(|(_, line)| line.contains("ironic: sync failed"))
        .count();
    if outages != 1 {
        return Err(format!("the outage was logged {outages} times, not once"));
    }
    Ok(())
}

/// Script requests (`/boot.ipxe` and per-node scripts) the appliance answered 200 so far.
fn script_requests(appliance: &Appliance) -> usize {
    appliance
        .lines()
        .lock()
        .map(|lines| lines.clone())
        .unwrap_or_default()
        .iter()
        .filter(|(_, line)| line.contains(" http client=") && line.contains(" script=") && !line.contains(" script=- "))
        .count()
}

/// The complete `CMDLINE=` line after the latest tag holds every token.
fn expect_cmdline(guest: &mut guest::Guest, tokens: &[&str]) -> Result<(), String> {
    guest.wait_until("the CMDLINE= line", STEP, |text| last_cmdline(text).is_some())?;
    let text = guest.console_text()?;
    let line = last_cmdline(&text).ok_or("no CMDLINE= line")?;
    let words: Vec<&str> = line.trim_start_matches(CMDLINE_PREFIX).split_whitespace().collect();
    match tokens.iter().find(|token| !words.contains(token)) {
        Some(missing) => Err(format!("kernel command line lacks {missing:?}: {line}")),
        None => Ok(()),
    }
}

fn last_cmdline(text: &str) -> Option<String> {
    // Only after the latest tag line, so the first boot's line is not taken for the second's.
    let after_tag = text.rfind(super::initrd::TAG_PREFIX).map_or(text, |at| &text[at..]);
    after_tag
        .split_inclusive('\n')
        .find(|line| line.starts_with(CMDLINE_PREFIX) && line.ends_with('\n'))
        .map(|line| line.trim_end().to_owned())
}

/// MD5 of `bytes` in hex, computed by the venv's Python (Ironic checks the image's).
fn md5_hex(bytes: &[u8]) -> String {
    let output = Command::new(crate::ironic::venv::python())
        .args(["-c", "import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())"])
        .arg(String::from_utf8_lossy(bytes).as_ref())
        .output();
    output.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}
