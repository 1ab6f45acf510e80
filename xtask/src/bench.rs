//! `cargo xtask bench`: measured speed and footprint against the budgets.
//!
//! Micro-benchmarks are criterion's (medians with their 95% interval, read back from
//! `target/criterion/**/new/estimates.json`): the core's renderer, lookup and loader, and
//! the appliance in-process (a client smoltcp stack fetching scripts and a file over an
//! in-memory link). Allocations per request come from the server's `alloc_per_request`
//! bench (a counting allocator around 10,000 requests in the binary's configuration).
//! Footprint figures come from the `footprint` crate (record sizes, bytes per node, static
//! RAM of the default appliance configuration, `.text`/`.rodata` of the thumbv7em build
//! linking core and server). One table is printed and `target/bench/summary.json`
//! written. `--quick` runs every benchmark once as a smoke test and enforces nothing.
//! The side-by-side (`side_by_side`) serves an artifact and a script from real nginx and
//! from the appliance on `--raw-socket` and `--tap`, in network namespaces of its own;
//! `--side-by-side-only` runs just that.

mod links;
mod side_by_side;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::cmd::{self, cargo, workspace_root};

pub struct Options {
    /// Run each benchmark once (criterion `--test`), report no timings, enforce nothing.
    pub quick: bool,
    /// Only the side-by-side against nginx.
    pub side_by_side_only: bool,
    /// Only the Ironic source's figures.
    pub ironic_only: bool,
    /// Only the UEFI appliance's figures.
    pub firmware_only: bool,
}

/// A limit a figure must stay within.
#[derive(Clone, Copy)]
enum Budget {
    AtMost(f64),
    AtLeast(f64),
}

struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    /// The 95% confidence interval of the median, for criterion figures.
    spread: Option<(f64, f64)>,
    budget: Option<Budget>,
}

impl Figure {
    fn within_budget(&self) -> Option<bool> {
        self.budget.map(|budget| match budget {
            Budget::AtMost(limit) => self.value <= limit,
            Budget::AtLeast(limit) => self.value >= limit,
        })
    }
}

/// Criterion benchmarks: (cargo package, bench target).
const CRITERION_BENCHES: [(&str, &str); 2] = [("ipxe-config", "core"), ("ipxe-config-server", "appliance")];

pub fn run(options: &Options) -> Result<(), String> {
    if options.side_by_side_only {
        return report(side_by_side::figures(options.quick)?, options.quick);
    }
    // A part alone is printed and checked, but leaves the full run's summary as it is.
    let part = if options.ironic_only {
        Some(ironic_figures(options.quick)?)
    } else if options.firmware_only {
        Some(firmware_figures()?)
    } else {
        None
    };
    if let Some(figures) = part {
        print_table(&figures);
        let over: Vec<&str> =
            figures.iter().filter(|f| f.within_budget() == Some(false)).map(|f| f.name.as_str()).collect();
        return if options.quick || over.is_empty() {
            Ok(())
        } else {
            Err(format!("over budget: {}", over.join(", ")))
        };
    }
    for (package, bench) in CRITERION_BENCHES {
        let mut command = cargo();
        command.args(["bench", "-p", package, "--bench", bench, "--"]);
        if options.quick {
            command.arg("--test");
        } else {
            command.args(["--warm-up-time", "1", "--measurement-time", "4", "--noplot"]);
        }
        cmd::run(&mut command)?;
    }
    let mut figures = Vec::new();
    if !options.quick {
        figures.extend(criterion_figures()?);
        figures.extend(appliance_figures()?);
    }
    figures.push(allocation_figure(options.quick)?);
    figures.extend(footprint_figures()?);
    // In a quick run too: one short round proves the namespaces, nginx and both backends work.
    figures.extend(side_by_side::figures(options.quick)?);
    if !options.quick {
        figures.extend(boot_figures()?);
        figures.extend(firmware_figures()?);
        figures.extend(storm_figures()?);
    }
    figures.extend(ironic_figures(options.quick)?);
    report(figures, options.quick)
}

/// Prints the table, writes the summary and fails on a figure over budget (not in a quick run).
fn report(figures: Vec<Figure>, quick: bool) -> Result<(), String> {
    print_table(&figures);
    write_summary(&figures, quick)?;
    let over: Vec<&str> =
        figures.iter().filter(|f| f.within_budget() == Some(false)).map(|f| f.name.as_str()).collect();
    if !quick && !over.is_empty() {
        return Err(format!("over budget: {}", over.join(", ")));
    }
    Ok(())
}

/// One criterion median, in nanoseconds, with its interval.
fn criterion_median(id: &str) -> Result<(f64, (f64, f64)), String> {
    let path = workspace_root().join("target/criterion").join(id).join("new/estimates.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e} (did the benchmark run?)", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let median = &json["median"];
    let number = |value: &serde_json::Value| value.as_f64().ok_or_else(|| format!("{}: no median", path.display()));
    Ok((
        number(&median["point_estimate"])?,
        (
            number(&median["confidence_interval"]["lower_bound"])?,
            number(&median["confidence_interval"]["upper_bound"])?,
        ),
    ))
}

fn criterion_figures() -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let timed = |name: &str, id: &str, budget: Option<Budget>| -> Result<Figure, String> {
        let (value, spread) = criterion_median(id)?;
        Ok(Figure { name: name.to_string(), value, unit: "ns", spread: Some(spread), budget })
    };
    for kind in ["deploy", "rescue", "instance", "local-disk", "error", "chain"] {
        let budget = (kind == "deploy").then_some(Budget::AtMost(500.0));
        figures.push(timed(&format!("render {kind} script"), &format!("render/{kind}"), budget)?);
    }
    for key in ["mac", "uuid"] {
        for nodes in [100, 10_000, 100_000] {
            let budget = (nodes == 100_000).then_some(Budget::AtMost(150.0));
            figures.push(timed(&format!("lookup by {key}, {nodes} nodes"), &format!("lookup/{key}/{nodes}"), budget)?);
        }
    }
    for nodes in [1_000u32, 10_000] {
        let id = format!("load/ironic-json/{nodes}");
        let (ns, (low, high)) = criterion_median(&id)?;
        let bytes = json_bytes(&id)?;
        // MB/s = bytes / ns * 1e3; the interval inverts (a slower time is a lower rate).
        let rate = |time: f64| bytes / time * 1e3;
        figures.push(Figure {
            name: format!("load Ironic JSON, {nodes} nodes"),
            value: rate(ns),
            unit: "MB/s",
            spread: Some((rate(high), rate(low))),
            budget: Some(Budget::AtLeast(50.0)),
        });
        let per_node = |time: f64| time / 1e3 / f64::from(nodes);
        figures.push(Figure {
            name: format!("load time per node, {nodes} nodes"),
            value: per_node(ns),
            unit: "µs",
            spread: Some((per_node(low), per_node(high))),
            budget: None,
        });
    }
    figures.push(timed("route parse of an iPXE target", "route_parse-ipxe-target", None)?);
    Ok(figures)
}

/// The input size criterion recorded for a throughput benchmark.
fn json_bytes(id: &str) -> Result<f64, String> {
    throughput(id, "Bytes")
}

/// The throughput of kind `kind` (`Bytes`, `Elements`) criterion recorded for `id`.
fn throughput(id: &str, kind: &str) -> Result<f64, String> {
    let path = workspace_root().join("target/criterion").join(id).join("new/benchmark.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    json["throughput"][kind].as_f64().ok_or_else(|| format!("{}: no {kind} throughput", path.display()))
}

/// A criterion median as a rate: `per_iteration` units per iteration, scaled by `scale`
/// per nanosecond; the interval inverts (a slower time is a lower rate).
fn rate_figure(
    name: &str,
    id: &str,
    kind: &str,
    scale: f64,
    unit: &'static str,
    budget: Option<Budget>,
) -> Result<Figure, String> {
    let (ns, (low, high)) = criterion_median(id)?;
    let per_iteration = throughput(id, kind)?;
    let rate = |time: f64| per_iteration / time * scale;
    Ok(Figure { name: name.to_string(), value: rate(ns), unit, spread: Some((rate(high), rate(low))), budget })
}

/// The appliance in-process: script requests per second and file throughput.
fn appliance_figures() -> Result<Vec<Figure>, String> {
    Ok(vec![
        rate_figure(
            "appliance script requests/s, new connection",
            "appliance/script-new-connection",
            "Elements",
            1e9,
            "req/s",
            Some(Budget::AtLeast(20_000.0)),
        )?,
        rate_figure(
            "appliance script requests/s, keep-alive",
            "appliance/script-keep-alive",
            "Elements",
            1e9,
            "req/s",
            None,
        )?,
        rate_figure("appliance static file MB/s", "appliance/static-file-8MiB", "Bytes", 1e3, "MB/s", None)?,
    ])
}

/// Allocations per request in the host appliance's steady state (must be 0).
fn allocation_figure(quick: bool) -> Result<Figure, String> {
    let mut command = cargo();
    command.args(["bench", "-p", "ipxe-config-server", "--bench", "alloc_per_request"]);
    if quick {
        command.args(["--", "--test"]);
    }
    println!("$ {}", cmd::describe(&command));
    let output = command.output().map_err(|e| format!("cannot run alloc_per_request: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        return Err(format!("alloc_per_request failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("allocations_per_request="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("alloc_per_request printed no allocations_per_request")?;
    Ok(Figure {
        name: "allocations per request (steady state)".into(),
        value,
        unit: "",
        spread: None,
        budget: Some(Budget::AtMost(0.0)),
    })
}

/// Scenario whose boots are timed: BIOS, NIC ROM, DHCP hands `?node_uuid=`.
const TIMED_SCENARIO: &str = "deploy-uuid";

/// Seconds from QEMU's start to the first script request and to the deploy initrd's tag,
/// median of 3 real iPXE boots, one after another so no other guest competes for a core.
/// Clients in the simulated boot storm.
const STORM_CLIENTS: u32 = 500;

/// The simulated boot storm (`server-smoltcp/tests/boot_storm.rs`): every client does
/// DHCP, fetches its script and a 1 MiB file over a shared 1 Gbit/s segment; the test
/// fails unless all boot. Times are simulated (the link's, not this machine's).
fn storm_figures() -> Result<Vec<Figure>, String> {
    let output = cargo()
        .args(["test", "--quiet", "--release", "-p", "ipxe-config-server", "--test", "boot_storm", "--", "--nocapture"])
        .env("STORM_CLIENTS", STORM_CLIENTS.to_string())
        .output()
        .map_err(|e| format!("cannot run the boot storm: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("boot storm failed:\n{text}{}", String::from_utf8_lossy(&output.stderr)));
    }
    let line = text.lines().find(|l| l.starts_with("storm clients=")).ok_or("the boot storm printed no summary")?;
    let field = |key: &str| -> Result<f64, String> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("boot storm summary has no {key}: {line}"))
    };
    let seconds = |key: &str| field(key).map(|ms| ms / 1000.0);
    let plain = |name: String, value: f64, unit, budget| Figure { name, value, unit, spread: None, budget };
    Ok(vec![
        plain(
            format!("boot storm, {STORM_CLIENTS} clients: all booted in (simulated)"),
            seconds("total_ms")?,
            "s",
            None,
        ),
        plain(format!("boot storm, {STORM_CLIENTS} clients: p50 per client"), seconds("p50_ms")?, "s", None),
        plain(format!("boot storm, {STORM_CLIENTS} clients: p99 per client"), seconds("p99_ms")?, "s", None),
        plain(
            format!("boot storm, {STORM_CLIENTS} clients: failed boots"),
            field("failed")?,
            "",
            Some(Budget::AtMost(0.0)),
        ),
    ])
}

/// The Ironic source against a real Ironic: 1,000 nodes (20 with `--quick`).
fn ironic_figures(quick: bool) -> Result<Vec<Figure>, String> {
    let (nodes, changes, idle) = if quick { (20, 10, 2) } else { (1000, 100, 10) };
    let measured = crate::ironic::bench::run(nodes, changes, std::time::Duration::from_secs(idle), !quick)?;
    let n = measured.nodes;
    let plain = |name: String, value: f64, unit, budget| Figure { name, value, unit, spread: None, budget };
    Ok(vec![
        plain(format!("Ironic source, {n} nodes: full sync at start-up"), measured.full_sync_ms, "ms", None),
        plain(
            format!("Ironic source, {n} nodes: state change to served script, p50 of {}", measured.changes),
            measured.p50_ms,
            "ms",
            None,
        ),
        plain(
            format!("Ironic source, {n} nodes: state change to served script, p99 of {}", measured.changes),
            measured.p99_ms,
            "ms",
            None,
        ),
        plain(
            format!("Ironic source, {n} nodes: state shown by Ironic's API to served script, p50"),
            measured.lag_p50_ms,
            "ms",
            None,
        ),
        plain(
            format!("Ironic source, {n} nodes: state shown by Ironic's API to served script, p99"),
            measured.lag_p99_ms,
            "ms",
            Some(Budget::AtMost(1000.0)),
        ),
        plain(
            format!("Ironic source, {n} nodes: requests/s sent to Ironic when idle"),
            measured.requests_per_second,
            "req/s",
            None,
        ),
    ])
}

fn boot_figures() -> Result<Vec<Figure>, String> {
    let options = crate::qemu_boot::Options {
        scenario: Some(TIMED_SCENARIO.to_string()),
        keep: false,
        repeat: 3,
        one_at_a_time: true,
    };
    let outcomes = crate::qemu_boot::run::run_scenarios(&options)?;
    if let Some(failed) = outcomes.iter().find_map(|o| o.error.as_ref()) {
        return Err(failed.clone());
    }
    let median = |mut values: Vec<f64>| -> Result<(f64, (f64, f64)), String> {
        values.sort_by(f64::total_cmp);
        let middle = *values.get(values.len() / 2).ok_or("no boots measured")?;
        Ok((middle, (values.first().copied().unwrap_or(middle), values.last().copied().unwrap_or(middle))))
    };
    let (first, first_range) =
        median(outcomes.iter().filter_map(|o| o.first_request).map(|d| d.as_secs_f64()).collect())?;
    let (marker, marker_range) = median(outcomes.iter().filter_map(|o| o.marker).map(|d| d.as_secs_f64()).collect())?;
    Ok(vec![
        Figure {
            name: "BIOS boot: QEMU start to first script request".into(),
            value: first,
            unit: "s",
            spread: Some(first_range),
            budget: Some(Budget::AtMost(2.4)),
        },
        Figure {
            name: "BIOS boot: QEMU start to deploy initrd tag".into(),
            value: marker,
            unit: "s",
            spread: Some(marker_range),
            budget: None,
        },
    ])
}

/// The firmware appliance: its `.efi` size, medians of three `firmware-deploy` boots one
/// at a time (two VMs: the appliance in OVMF, a BIOS iPXE client; the appliance boots with
/// the NVRAM its first power-on left, and a TPM 1.2), of three first power-ons, and of
/// three boots of a VM without a TPM.
fn firmware_figures() -> Result<Vec<Figure>, String> {
    let options = crate::qemu_boot::Options {
        scenario: Some("firmware-deploy".to_string()),
        keep: false,
        repeat: 3,
        one_at_a_time: true,
    };
    let outcomes = crate::qemu_boot::run::run_scenarios(&options)?;
    if let Some(failed) = outcomes.iter().find_map(|o| o.error.as_ref()) {
        return Err(failed.clone());
    }
    use crate::qemu_boot::firmware_vm;
    let efi = crate::firmware_image::efi_path(crate::firmware_image::UEFI_TARGET);
    let efi_bytes = fs::metadata(&efi).map_err(|e| format!("{}: {e}", efi.display()))?.len();
    let median = |mut values: Vec<f64>| -> Result<(f64, (f64, f64)), String> {
        values.sort_by(f64::total_cmp);
        let middle = *values.get(values.len() / 2).ok_or("no firmware boots measured")?;
        Ok((middle, (values.first().copied().unwrap_or(middle), values.last().copied().unwrap_or(middle))))
    };
    let seconds = |pick: fn(&crate::qemu_boot::run::Outcome) -> Option<std::time::Duration>| {
        median(outcomes.iter().filter_map(pick).map(|d| d.as_secs_f64()).collect())
    };
    let (serving, serving_range) = seconds(|o| o.appliance_serving)?;
    // A brand-new machine's boot, when OVMF fills its empty NVRAM: three of them.
    let mut first_boots = Vec::new();
    let mut nvram = None;
    for _ in 0..3 {
        let (serving, left) = firmware_vm::first_power_on(&efi, "bench-first-power-on")?;
        first_boots.push(serving.as_secs_f64());
        nvram = Some(left);
    }
    let (first_boot, first_boot_range) = median(first_boots)?;
    // And without the TPM, whose absence costs OVMF two 750 ms timeouts under QEMU.
    let mut without_tpm = Vec::new();
    for _ in 0..3 {
        let (serving, _) = firmware_vm::boot_default_image(&efi, "bench-no-tpm", nvram.as_deref(), false)?;
        without_tpm.push(serving.as_secs_f64());
    }
    let (no_tpm, no_tpm_range) = median(without_tpm)?;
    let (first, first_range) = seconds(|o| o.first_request)?;
    let (rate, rate_range) = median(outcomes.iter().filter_map(|o| o.artifact_rate).map(|(_, rate)| rate).collect())?;
    let figure = |name: &str, value, unit, spread, budget| Figure { name: name.into(), value, unit, spread, budget };
    Ok(vec![
        figure(
            "UEFI appliance: .efi size (x86_64)",
            efi_bytes as f64 / 1024.0,
            "KiB",
            None,
            Some(Budget::AtMost(512.0)),
        ),
        figure("UEFI appliance: VM start to serving", serving, "s", Some(serving_range), Some(Budget::AtMost(4.0))),
        figure(
            "UEFI appliance: first power-on (empty NVRAM) to serving",
            first_boot,
            "s",
            Some(first_boot_range),
            None,
        ),
        figure("UEFI appliance: VM start to serving, VM without a TPM", no_tpm, "s", Some(no_tpm_range), None),
        figure("UEFI appliance: client start to first script request", first, "s", Some(first_range), None),
        figure("UEFI appliance: kernel download inside QEMU", rate, "MB/s", Some(rate_range), None),
    ])
}

fn footprint_figures() -> Result<Vec<Figure>, String> {
    let output = cargo()
        .args(["run", "--quiet", "--release", "-p", "footprint"])
        .output()
        .map_err(|e| format!("cannot run footprint: {e}"))?;
    if !output.status.success() {
        return Err(format!("footprint failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> Result<f64, String> {
        text.lines()
            .find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("footprint printed no {key}"))
    };
    let plain = |name: &str, value: f64, unit, budget| Figure { name: name.into(), value, unit, spread: None, budget };
    let mut figures = vec![
        // 64 B of boot data, a quarantine cause, and the four strings Ironic parity reads
        // (boot interface, CPU arch, boot ISO, ramdisk kernel arguments).
        plain("node record (size_of)", value("node_record_bytes")?, "B", Some(Budget::AtMost(80.0))),
        plain("port record (size_of)", value("port_record_bytes")?, "B", None),
        plain("bytes per node incl. strings, 10k nodes", value("inventory_bytes_per_node")?, "B", None),
        plain("static RAM, default appliance config", value("appliance_static_ram_bytes")? / 1024.0, "KiB", None),
    ];
    cmd::run(cargo().args(["build", "--quiet", "--release", "-p", "footprint", "--target", "thumbv7em-none-eabihf"]))?;
    let elf = workspace_root().join("target/thumbv7em-none-eabihf/release/footprint");
    let sections = section_sizes(&elf)?;
    // Raised from 96 KiB when Ironic-parity rendering, load-time script fitting and the
    // hostile-client rules (DHCP shares, pool reclaim) took it to ~106 KiB; then from
    // 112 KiB when booting firmware that is not iPXE (TFTP server, ProxyDHCP, the
    // architecture map, ICMP echo) took it to ~116 KiB.
    figures.push(plain("thumbv7em .text (core + server)", sections.text / 1024.0, "KiB", Some(Budget::AtMost(120.0))));
    figures.push(plain("thumbv7em .rodata (core + server, incl. 9 KB fixture)", sections.rodata / 1024.0, "KiB", None));
    figures.push(plain("thumbv7em .data + .bss (probe statics)", (sections.data + sections.bss) / 1024.0, "KiB", None));
    Ok(figures)
}

/// Section sizes of an ELF file, in bytes.
struct Sections {
    text: f64,
    rodata: f64,
    data: f64,
    bss: f64,
}

fn section_sizes(path: &Path) -> Result<Sections, String> {
    use object::{Object, ObjectSection};
    let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = object::File::parse(&*data).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = |name: &str| file.section_by_name(name).map_or(0.0, |s| s.size() as f64);
    Ok(Sections { text: size(".text"), rodata: size(".rodata"), data: size(".data"), bss: size(".bss") })
}

fn print_table(figures: &[Figure]) {
    println!("\n{:<54} {:>12} {:<6} {:>22} {:>12}", "figure", "median", "unit", "interval", "budget");
    for figure in figures {
        let spread = figure.spread.map_or(String::new(), |(low, high)| format!("{low:.1} – {high:.1}"));
        let budget = match figure.budget {
            Some(Budget::AtMost(limit)) => format!("≤ {limit}"),
            Some(Budget::AtLeast(limit)) => format!("≥ {limit}"),
            None => String::new(),
        };
        let verdict = match figure.within_budget() {
            Some(true) => "ok",
            Some(false) => "OVER",
            None => "",
        };
        println!(
            "{:<54} {:>12.1} {:<6} {:>22} {:>12} {verdict}",
            figure.name, figure.value, figure.unit, spread, budget
        );
    }
}

fn write_summary(figures: &[Figure], quick: bool) -> Result<(), String> {
    let entries: Vec<serde_json::Value> = figures
        .iter()
        .map(|f| {
            serde_json::json!({
                "figure": f.name,
                "value": f.value,
                "unit": f.unit,
                "interval": f.spread.map(|(low, high)| [low, high]),
                "budget": f.budget.map(|b| match b {
                    Budget::AtMost(limit) => format!("<= {limit}"),
                    Budget::AtLeast(limit) => format!(">= {limit}"),
                }),
                "ok": f.within_budget(),
            })
        })
        .collect();
    let summary = serde_json::json!({ "quick": quick, "machine": machine(), "figures": entries });
    let dir = workspace_root().join("target/bench");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
    fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nwrote {}", path.display());
    Ok(())
}

/// CPU model and core count, so a figure is never read without its machine.
fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split(':').nth(1)))
        .map_or("unknown CPU", str::trim);
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mut text = String::new();
    let _ = write!(text, "{model}, {cores} cores");
    text
}
