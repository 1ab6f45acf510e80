//! `cargo xtask qemu-boot`: every scenario, two at a time, then a table of boots.
//!
//! Each scenario gets a fresh `target/qemu-boot/<scenario>/` with the guest's console,
//! QEMU's own log, the appliance's log, its inventory copy and HTTP root. A failure keeps
//! that directory and prints the tails of both logs; `--keep` keeps it on success too.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::appliance::{self, Appliance, Link};
use super::dnsmasq::{self, Dnsmasq};
use super::firmware_vm::{self, ApplianceVm, FirmwareVm, READY_LINE};
use super::guest::{self, Boot, Firmware, GuestSpec};
use super::initrd::{Ending, Tag, CMDLINE_PREFIX, REBOOTING_LINE};
use super::mbr;
use super::netns::{self, Namespace};
use super::paths::fresh_run_dir;
use super::payloads::{self, Payloads};
use super::prereqs::{self, SNPONLY_EFI};
use super::scenarios::{
    Expect, FirmwareAppliance, FirmwareInventory, Network, Scenario, DUPLICATED_NODE, LIFECYCLE_NODE, SCENARIOS,
};
use super::server_log::ServerLog;
use crate::cmd::workspace_root;
use crate::firmware_image::{self, ImageSpec};

/// Two guests at a time: the machine has two cores and TCG keeps one busy per guest.
const PARALLEL_GUESTS: usize = 2;
/// Bound on each wait; a BIOS deploy takes ~5 s, UEFI ~9 s, the lifecycle ~20 s.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Default)]
pub struct Options {
    /// Run only this scenario.
    pub scenario: Option<String>,
    /// Keep every scenario's logs, not only failed ones.
    pub keep: bool,
    /// Run each selected scenario this many times (for medians); 0 means once.
    pub repeat: usize,
    /// Boot one guest at a time (for timings free of the other guest's load).
    pub one_at_a_time: bool,
}

/// What one boot showed.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: &'static str,
    /// From QEMU's start to the appliance logging the first script request.
    pub first_request: Option<Duration>,
    /// From QEMU's start to the scenario's proof (initrd tag, disk marker, error text).
    pub marker: Option<Duration>,
    pub error: Option<String>,
    /// Why the scenario could not run on this machine (printed, never counted as a pass).
    pub skipped: Option<String>,
    /// Firmware scenarios: from the appliance VM's start to its `ready` line.
    pub appliance_serving: Option<Duration>,
    /// Firmware scenarios: the largest artifact sent (bytes) and its rate in MB/s.
    pub artifact_rate: Option<(u64, f64)>,
    /// The first completed TFTP transfer: its file, bytes and milliseconds, as logged.
    pub tftp_sent: Option<(String, u64, u64)>,
}

pub fn run(options: &Options) -> Result<(), String> {
    let outcomes = run_scenarios(options)?;
    print_table(&outcomes);
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.error.is_some()).map(|o| o.name).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} of {} boots failed: {}", failed.len(), outcomes.len(), failed.join(", ")))
    }
}

/// Prepares everything once, then boots the selected scenarios.
pub fn run_scenarios(options: &Options) -> Result<Vec<Outcome>, String> {
    prereqs::ensure()?;
    appliance::build()?;
    let payloads = payloads::build()?;
    let selected = select(options)?;
    // Built once for every firmware scenario (release, with its size budget checked).
    let efi = if selected.iter().any(|s| matches!(s.network, Network::FirmwareVm(_))) {
        Some(firmware_image::build_efi()?)
    } else {
        None
    };
    // The firmware scenarios boot a machine that has booted before: its NVRAM is the one
    // its first power-on left (see `firmware_vm`), and that boot is timed here, alone.
    let with_nic =
        |s: &&Scenario| matches!(s.network, Network::FirmwareVm(_)) && !matches!(s.expect, Expect::ApplianceConsole(_));
    // A failure there fails the firmware scenarios with a NIC; the others still run.
    let nvram = match (&efi, selected.iter().any(with_nic)) {
        (Some(efi), true) => match firmware_vm::first_power_on(efi, "firmware-first-power-on") {
            Ok((serving, nvram)) => {
                println!(
                    "qemu-boot: firmware appliance's first power-on (empty NVRAM) serving {:.2} s after its start",
                    serving.as_secs_f64()
                );
                Ok(Some(nvram))
            }
            Err(error) => {
                println!("qemu-boot: firmware appliance's first power-on FAILED: {error}");
                Err(error)
            }
        },
        _ => Ok(None),
    };
    let prepared = Prepared { payloads, efi, nvram };
    let queue: Vec<(usize, &Scenario)> =
        (0..options.repeat.max(1)).flat_map(|round| selected.iter().map(move |s| (round, *s))).collect();
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..if options.one_at_a_time { 1 } else { PARALLEL_GUESTS } {
            scope.spawn(|| {
                while let Some((round, scenario)) = queue.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = boot(scenario, *round, &prepared, options.keep);
                    let verdict = match (&outcome.error, &outcome.skipped) {
                        (Some(_), _) => "FAILED".to_string(),
                        (None, Some(reason)) => format!("skipped: {reason}"),
                        (None, None) => "passed".to_string(),
                    };
                    println!("qemu-boot: {} {verdict}", scenario.name);
                    if let Some(serving) = outcome.appliance_serving {
                        println!(
                            "qemu-boot: {} appliance VM serving {:.2} s after its start",
                            scenario.name,
                            serving.as_secs_f64()
                        );
                    }
                    if let Some((bytes, rate)) = outcome.artifact_rate {
                        println!("qemu-boot: {} largest artifact {bytes} bytes at {rate:.1} MB/s", scenario.name);
                    }
                    if let Some((file, bytes, ms)) = &outcome.tftp_sent {
                        println!("qemu-boot: {} tftp sent {file} ({bytes} bytes) in {ms} ms", scenario.name);
                    }
                    if let Some(error) = &outcome.error {
                        println!("{error}");
                    }
                    if let Ok(mut all) = outcomes.lock() {
                        all.push(outcome);
                    }
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().map_err(|_| "a scenario thread panicked".to_string())?;
    outcomes.sort_by_key(|o| SCENARIOS.iter().position(|s| s.name == o.name));
    Ok(outcomes)
}

/// What every scenario boots from, prepared once.
struct Prepared {
    payloads: Payloads,
    /// The UEFI application, if a firmware scenario runs.
    efi: Option<std::path::PathBuf>,
    /// The firmware appliance's NVRAM after its first power-on, if a firmware scenario
    /// with a NIC runs (or why that boot failed).
    nvram: Result<Option<std::path::PathBuf>, String>,
}

/// The scenarios `options` names (all of them by default).
fn select(options: &Options) -> Result<Vec<&'static Scenario>, String> {
    let selected: Vec<&Scenario> = match &options.scenario {
        None => SCENARIOS.iter().collect(),
        Some(name) => {
            let found: Vec<&Scenario> = SCENARIOS.iter().filter(|s| s.name == name.as_str()).collect();
            if found.is_empty() {
                let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                return Err(format!("no scenario {name:?}; there are: {}", names.join(", ")));
            }
            found
        }
    };
    Ok(selected)
}

fn boot(scenario: &Scenario, round: usize, prepared: &Prepared, keep: bool) -> Outcome {
    let dir_name = if round == 0 { scenario.name.to_string() } else { format!("{}-{round}", scenario.name) };
    let mut outcome = Outcome {
        name: scenario.name,
        first_request: None,
        marker: None,
        error: None,
        skipped: None,
        appliance_serving: None,
        artifact_rate: None,
        tftp_sent: None,
    };
    if scenario.network.in_namespace() {
        if let Some(reason) = netns::unavailable() {
            outcome.skipped = Some(reason);
            return outcome;
        }
    }
    let run_dir = match fresh_run_dir(&dir_name) {
        Ok(dir) => dir,
        Err(error) => {
            outcome.error = Some(error);
            return outcome;
        }
    };
    let booted = match scenario.network {
        Network::FirmwareVm(vm) => boot_firmware(scenario, vm, prepared, &run_dir, &mut outcome),
        _ if matches!(scenario.expect, Expect::IronicLive) => {
            super::ironic_live::boot_in(&prepared.payloads, &run_dir, &mut outcome)
        }
        Network::Socketpair | Network::DnsmasqBridge | Network::ProxyDhcp => {
            boot_in(scenario, &prepared.payloads, &run_dir, &mut outcome)
        }
    };
    match booted {
        Ok(()) if !keep => {
            let _ = fs::remove_dir_all(&run_dir);
        }
        Ok(()) => {}
        Err(error) => outcome.error = Some(format!("qemu-boot {}: {error}", scenario.name)),
    }
    outcome
}

fn boot_in(scenario: &Scenario, payloads: &Payloads, run_dir: &Path, outcome: &mut Outcome) -> Result<(), String> {
    let lifecycle = matches!(scenario.expect, Expect::DeployThenLocalDisk);
    let http_root = run_dir.join("http-root");
    payloads.fill_http_root(&http_root, |tag| {
        if lifecycle && tag == Tag::Deploy {
            Ending::RebootAfterPause
        } else {
            Ending::PowerOff
        }
    })?;
    if scenario.firmware.own_network_stack() {
        // What the DHCP server's architecture map names for x86-64 UEFI.
        let target = http_root.join("snponly.efi");
        fs::copy(SNPONLY_EFI, &target).map_err(|e| format!("cannot copy {SNPONLY_EFI}: {e}"))?;
    }
    let inventory = run_dir.join("inventory.json");
    let fixture = workspace_root().join("fixtures/inventory.json");
    fs::copy(&fixture, &inventory).map_err(|e| format!("cannot copy {}: {e}", fixture.display()))?;

    let mut spec = GuestSpec::new(scenario.firmware, Boot::NetworkThenDisk, run_dir);
    spec.nic_macs = scenario.macs.iter().map(|mac| (*mac).to_string()).collect();
    spec.local_disk = Some(payloads.local_disk.clone());
    if matches!(scenario.expect, Expect::ChainReturnsToFirmware { .. }) {
        spec.local_disk = Some(payloads.blank_disk.clone());
        spec.floppy = Some(payloads.marker_floppy.clone());
        spec.rom_on_first_nic_only = true;
    }
    spec.allow_reboot = lifecycle;
    // Dropped in reverse order: guest, appliance, dnsmasq, then the namespace itself.
    let (namespace, _dnsmasq) = match scenario.network {
        Network::Socketpair | Network::FirmwareVm(_) => (None, None),
        Network::DnsmasqBridge => {
            dnsmasq::ensure_installed()?;
            let namespace = Namespace::create("qb")?;
            let dnsmasq = Dnsmasq::start(&namespace, run_dir)?;
            spec.tap = Some(guest::TapLink { netns: namespace.name.clone(), ifnames: vec![netns::GUEST_TAP.into()] });
            (Some(namespace), Some(dnsmasq))
        }
        Network::ProxyDhcp => {
            dnsmasq::ensure_installed()?;
            // Named after the scenario: the proxy scenarios run side by side.
            let namespace = Namespace::create(scenario.name)?;
            let dnsmasq = Dnsmasq::start_addresses_only(&namespace, run_dir)?;
            spec.tap = Some(guest::TapLink { netns: namespace.name.clone(), ifnames: vec![netns::GUEST_TAP.into()] });
            (Some(namespace), Some(dnsmasq))
        }
    };
    let guest::Launched { mut guest, appliance_ends } = guest::launch(&spec)?;
    let powered_on = Instant::now().checked_sub(guest.elapsed()).unwrap_or_else(Instant::now);
    let link = match (&namespace, appliance_ends.first()) {
        (Some(namespace), _) => {
            Link::Tap { namespace, ifname: netns::APPLIANCE_TAP, proxy: scenario.network == Network::ProxyDhcp }
        }
        (None, Some(end)) => Link::Socketpair(end),
        (None, None) => return Err("the scenario has no NIC".into()),
    };
    let mut appliance =
        Appliance::start(link, Some(&inventory), &http_root, scenario.appliance_args, run_dir, powered_on)?;

    let result = check(scenario, &mut guest, &mut appliance, &inventory, outcome);
    // The first script request: HTTP Boot fetches iPXE itself (a file) before it.
    outcome.first_request = first_script_request(&appliance);
    outcome.tftp_sent = tftp_sent(&appliance);
    result.map_err(|error| format!("{error}\n--- appliance log tail ---\n{}---", appliance.tail(15)))
}

/// When the appliance logged the first script request (not an artifact).
fn first_script_request(appliance: &dyn ServerLog) -> Option<Duration> {
    appliance
        .find(&|line| (line.starts_with("http ") || line.contains(" http client=")) && !line.contains("lookup=file"))
        .map(|(at, _)| at)
}

/// A boot from the firmware appliance: the image is made for this scenario (its
/// configuration lines and inventory), the client VM started, then the appliance VM on
/// the other end of the client's socketpair.
fn boot_firmware(
    scenario: &Scenario,
    vm: FirmwareAppliance,
    prepared: &Prepared,
    run_dir: &Path,
    outcome: &mut Outcome,
) -> Result<(), String> {
    let efi = prepared.efi.clone().ok_or("the UEFI application was not built")?;
    let http_root = run_dir.join("http-root");
    prepared.payloads.fill_http_root(&http_root, |_| Ending::PowerOff)?;
    let mut artifacts = Vec::new();
    for entry in fs::read_dir(&http_root).map_err(|e| format!("{}: {e}", http_root.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", http_root.display()))?;
        let name = entry.file_name().into_string().map_err(|name| format!("{name:?} is not UTF-8"))?;
        artifacts.push((name, entry.path()));
    }
    // As `cargo xtask firmware-image` does: PXE and HTTP Boot clients need them.
    let artifacts = firmware_image::with_ipxe_binaries(artifacts);
    let inventory = run_dir.join("inventory.json");
    let fixture = workspace_root().join("fixtures/inventory.json");
    fs::copy(&fixture, &inventory).map_err(|e| format!("cannot copy {}: {e}", fixture.display()))?;
    if vm.inventory == FirmwareInventory::Broken {
        duplicate_uuid(&inventory, DUPLICATED_NODE)?;
    }
    let mut config = firmware_image::DEFAULT_CONFIG.to_owned();
    for line in scenario.appliance_args {
        config.push_str(line);
        config.push('\n');
    }
    let image = run_dir.join("appliance.img");
    firmware_image::write_image(&ImageSpec { efi, config, inventory: inventory.clone(), artifacts }, &image)?;
    // The artifacts are in the image now.
    let _ = fs::remove_dir_all(&http_root);

    if let Expect::ApplianceConsole(lines) = scenario.expect {
        // The appliance alone, without a NIC.
        let powered_on = Instant::now();
        let spec =
            ApplianceVm { image: &image, nic: None, nvram: None, decoy_nic_first: vm.decoy_nic_first, tpm: true };
        let mut appliance = FirmwareVm::start(&spec, run_dir, powered_on)?;
        for line in lines {
            let at = appliance
                .wait_for(line, STEP_TIMEOUT, &|text| text.contains(line))
                .map_err(|error| format!("{error}\n--- appliance console tail ---\n{}---", appliance.tail(15)))?;
            outcome.marker = outcome.marker.max(Some(at));
        }
        return Ok(());
    }
    // The appliance first, the client once it serves: iPXE gives up on DHCP after about
    // 15 s, and a loaded machine can take longer than that to boot OVMF twice at once.
    let (client_end, appliance_end) = UnixDatagram::pair().map_err(|e| format!("cannot create a socketpair: {e}"))?;
    let appliance_started = Instant::now();
    let nvram = prepared.nvram.as_ref().map_err(|error| format!("the first power-on failed: {error}"))?;
    let spec = ApplianceVm {
        image: &image,
        nic: Some(&appliance_end),
        nvram: nvram.as_deref(),
        decoy_nic_first: vm.decoy_nic_first,
        tpm: true,
    };
    let mut appliance = FirmwareVm::start(&spec, run_dir, appliance_started)?;
    let serving = appliance
        .wait_for("the appliance's ready line", STEP_TIMEOUT, &|line| line.contains(READY_LINE))
        .map_err(|error| format!("{error}\n--- appliance console tail ---\n{}---", appliance.tail(15)))?;
    outcome.appliance_serving = Some(serving);
    let mut spec = GuestSpec::new(scenario.firmware, Boot::NetworkThenDisk, run_dir);
    spec.nic_macs = scenario.macs.iter().map(|mac| (*mac).to_string()).collect();
    spec.local_disk = Some(prepared.payloads.local_disk.clone());
    let guest::Launched { mut guest, .. } = guest::launch_on(&spec, client_end)?;
    // Timestamps from here on count from the client's power-on, as in the other scenarios.
    let client_on = appliance_started.elapsed().saturating_sub(guest.elapsed());

    let result = check(scenario, &mut guest, &mut appliance, &inventory, outcome);
    outcome.first_request = first_script_request(&appliance).map(|at| at.saturating_sub(client_on));
    outcome.artifact_rate = artifact_rate(&appliance);
    outcome.tftp_sent = tftp_sent(&appliance);
    result.map_err(|error| format!("{error}\n--- appliance console tail ---\n{}---", appliance.tail(15)))
}

/// The largest artifact the appliance sent and its rate in MB/s. The access-log line is
/// written when the response starts, so the transfer is timed from it to the client's
/// next request (iPXE asks for the next file once one is in), on the appliance's own
/// clock (each console line starts with its seconds since start-up).
fn artifact_rate(appliance: &dyn ServerLog) -> Option<(u64, f64)> {
    let lines = appliance.lines().lock().ok()?;
    let requests: Vec<&str> =
        lines.iter().map(|(_, line)| line.as_str()).filter(|line| line.contains(" http client=")).collect();
    let field = |line: &str, name: &str| -> Option<u64> {
        line.split_whitespace().find_map(|word| word.strip_prefix(name)).and_then(|value| value.parse().ok())
    };
    let seconds = |line: &str| -> Option<f64> { line.split_whitespace().next()?.parse().ok() };
    requests
        .windows(2)
        .filter(|pair| pair[0].contains("lookup=file") && pair[0].contains("status=200"))
        .filter_map(|pair| {
            let bytes = field(pair[0], "bytes=")?;
            let took = seconds(pair[1])? - seconds(pair[0])?;
            (took > 0.0).then(|| (bytes, bytes as f64 / took / 1e6))
        })
        .max_by_key(|(bytes, _)| *bytes)
}

/// The first `tftp sent client=… file=… bytes=… ms=…` line's file, bytes and milliseconds.
fn tftp_sent(appliance: &dyn ServerLog) -> Option<(String, u64, u64)> {
    let (_, line) = appliance.find(&|line| line.contains("tftp sent "))?;
    let field = |name: &str| line.split_whitespace().find_map(|word| word.strip_prefix(name));
    Some((field("file=")?.to_owned(), field("bytes=")?.parse().ok()?, field("ms=")?.parse().ok()?))
}

/// The broken inventory of `firmware-error`: the second node takes `uuid`, the first's.
fn duplicate_uuid(inventory: &Path, uuid: &str) -> Result<(), String> {
    let text = fs::read_to_string(inventory).map_err(|e| format!("{}: {e}", inventory.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", inventory.display()))?;
    let second = json["nodes"].get_mut(1).ok_or_else(|| format!("{} has fewer than two nodes", inventory.display()))?;
    second["uuid"] = uuid.into();
    let body = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    fs::write(inventory, body).map_err(|e| format!("{}: {e}", inventory.display()))
}

fn check(
    scenario: &Scenario,
    guest: &mut guest::Guest,
    appliance: &mut dyn ServerLog,
    inventory: &Path,
    outcome: &mut Outcome,
) -> Result<(), String> {
    match scenario.expect {
        Expect::Initrd { tag, cmdline } => {
            outcome.marker = Some(guest.wait_for_console(&tag.console_line(), STEP_TIMEOUT)?);
            // /init prints the command line right after the tag: wait for the whole line.
            guest.wait_until("the CMDLINE= line", STEP_TIMEOUT, |text| complete_cmdline(text).is_some())?;
            let text = guest.console_text()?;
            let line = complete_cmdline(&text).ok_or("no CMDLINE= line on the console")?;
            // Tokens, not the whole line: UEFI firmware adds its own.
            let tokens: Vec<&str> = line.trim_start_matches(CMDLINE_PREFIX).split_whitespace().collect();
            for wanted in cmdline {
                if !tokens.contains(wanted) {
                    return Err(format!("kernel command line lacks {wanted:?}: {line}"));
                }
            }
            let status = guest.wait_for_exit(STEP_TIMEOUT)?;
            if !status.success() {
                return Err(format!("QEMU ended with {status} after the initrd powered off"));
            }
        }
        Expect::LocalDisk => {
            outcome.marker = Some(guest.wait_for_console(mbr::MARKER, STEP_TIMEOUT)?);
            expect_disk_exit(guest)?;
        }
        Expect::Console(lines) => {
            outcome.marker = Some(guest.wait_until("the error script's text", STEP_TIMEOUT, |text| {
                lines.iter().all(|line| text.contains(line))
            })?);
            // The error script ends in `reboot`, which -no-reboot turns into QEMU exiting 0.
            let status = guest.wait_for_exit(STEP_TIMEOUT)?;
            if !status.success() {
                return Err(format!("QEMU ended with {status} after the error script"));
            }
        }
        Expect::DeployThenLocalDisk => {
            guest.wait_for_console(&Tag::Deploy.console_line(), STEP_TIMEOUT)?;
            make_node_active(inventory, LIFECYCLE_NODE)?;
            appliance.reload()?;
            appliance.wait_for("inventory reload", Duration::from_secs(10), &|l| l.contains("inventory reloaded"))?;
            guest.wait_for_console(REBOOTING_LINE, STEP_TIMEOUT)?;
            outcome.marker = Some(guest.wait_for_console(mbr::MARKER, STEP_TIMEOUT)?);
            expect_disk_exit(guest)?;
        }
        Expect::ApplianceConsole(_) => return Err("a scenario without a client has nothing to check here".into()),
        Expect::IronicLive => return Err("ironic-live runs its own steps (ironic_live::boot_in)".into()),
        Expect::ChainReturnsToFirmware { unasked } => {
            outcome.marker = Some(guest.wait_for_console(mbr::MARKER, STEP_TIMEOUT)?);
            expect_disk_exit(guest)?;
            // The marker alone does not prove the chain script ended at once: with
            // `--error-ending exit` its no-known-NIC path also returns to the firmware,
            // after asking about the remaining NICs.
            for mac in unasked {
                let in_url = mac.replace(':', "%3A");
                if let Some((at, line)) = appliance.find(&|line| line.contains(&in_url) || line.contains(mac)) {
                    return Err(format!("the chain script went on to NIC {mac} at {at:.1?}: {line}"));
                }
            }
        }
    }
    if let Some(wanted) = scenario.appliance_log {
        appliance.wait_for(wanted, Duration::from_secs(5), &|line| line.contains(wanted))?;
    }
    Ok(())
}

/// The first `CMDLINE=` line that has been written out to its end.
fn complete_cmdline(text: &str) -> Option<&str> {
    text.split_inclusive('\n').find(|l| l.starts_with(CMDLINE_PREFIX) && l.ends_with('\n')).map(str::trim_end)
}

fn expect_disk_exit(guest: &mut guest::Guest) -> Result<(), String> {
    let status = guest.wait_for_exit(STEP_TIMEOUT)?;
    if status.code() == Some(mbr::EXIT_STATUS) {
        Ok(())
    } else {
        Err(format!("QEMU ended with {status}, not the disk's exit status {}", mbr::EXIT_STATUS))
    }
}

/// What Ironic's API shows once a deploy finished: `active`, a whole-disk image.
fn make_node_active(inventory: &Path, uuid: &str) -> Result<(), String> {
    let text = fs::read_to_string(inventory).map_err(|e| format!("{}: {e}", inventory.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", inventory.display()))?;
    let node = json["nodes"]
        .as_array_mut()
        .and_then(|nodes| nodes.iter_mut().find(|n| n["uuid"] == uuid))
        .ok_or_else(|| format!("no node {uuid} in {}", inventory.display()))?;
    node["provision_state"] = "active".into();
    node["instance_info"] = serde_json::json!({ "image_type": "whole-disk" });
    // Write then rename, so the appliance never reads half a file.
    let temporary = inventory.with_extension("json.new");
    let body = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    fs::write(&temporary, body).map_err(|e| format!("{}: {e}", temporary.display()))?;
    fs::rename(&temporary, inventory).map_err(|e| format!("{}: {e}", inventory.display()))
}

pub fn print_table(outcomes: &[Outcome]) {
    let seconds = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64()));
    println!("\n| scenario | firmware | result | first script request (s) | marker (s) |");
    println!("|---|---|---|---:|---:|");
    for outcome in outcomes {
        let firmware = SCENARIOS.iter().find(|s| s.name == outcome.name).map_or("", |s| match s.firmware {
            Firmware::Bios => "BIOS",
            Firmware::Uefi => "UEFI",
            Firmware::UefiPxe => "UEFI PXE",
            Firmware::UefiHttpBoot => "UEFI HTTP",
        });
        println!(
            "| {} | {firmware} | {} | {} | {} |",
            outcome.name,
            match (&outcome.error, &outcome.skipped) {
                (Some(_), _) => "FAIL",
                (None, Some(_)) => "skipped",
                (None, None) => "pass",
            },
            seconds(outcome.first_request),
            seconds(outcome.marker)
        );
    }
}
