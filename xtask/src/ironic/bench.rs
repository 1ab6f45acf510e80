//! The Ironic source under load: a real Ironic with N enrolled nodes (the SQLite database
//! cached under `target/bench/ironic-N/`, so enrollment happens once), the appliance
//! syncing from it, and `ironic_freshness` moving nodes through Ironic's API while it
//! asks the appliance for their scripts.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use super::checks::Appliance;
use super::server::{Ironic, IronicDir, PASSWORD, USER};
use crate::cmd::{self, cargo, workspace_root};

/// What one run measured.
pub struct IronicFigures {
    pub nodes: usize,
    /// The appliance's start-up full sync, as it logged it.
    pub full_sync_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// From Ironic's API first showing the new state to the served script.
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub changes: usize,
    /// Requests the appliance sent, per second, counted in Ironic's own access log over
    /// an idle window.
    pub requests_per_second: f64,
}

/// Enrolls `count` available nodes (4 clients at once) and writes `uuid mac` lines.
fn enroll(ironic: &Ironic, count: usize, nodes_file: &Path) -> Result<(), String> {
    println!("bench: enrolling {count} nodes in Ironic (once; the database is kept)");
    let started = Instant::now();
    let lines = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (lines, failure) = (&lines, &failure);
            scope.spawn(move || {
                let api = ironic.api();
                for index in (worker..count).step_by(4) {
                    let mac = format!("52:54:01:{:02x}:{:02x}:{:02x}", index >> 16, (index >> 8) & 0xff, index & 0xff);
                    let result = (|| {
                        let uuid = api.enroll(
                            &json!({
                                "name": format!("bench-{index}"),
                                "driver": "fake-hardware",
                                "boot_interface": "ipxe",
                                "deploy_interface": "ramdisk",
                                "properties": {"capabilities": "boot_mode:bios", "cpu_arch": "x86_64"},
                                "driver_info": {
                                    "deploy_kernel": "http://10.99.0.1/vmlinuz",
                                    "deploy_ramdisk": "http://10.99.0.1/deploy.initrd",
                                    "kernel_append_params": format!("console=ttyS0 bench-node={index}")
                                }
                            }),
                            &mac,
                        )?;
                        api.provision(&uuid, "manage")?;
                        api.wait_for_state(&uuid, "manageable", Duration::from_secs(60))?;
                        api.provision(&uuid, "provide")?;
                        api.wait_for_state(&uuid, "available", Duration::from_secs(60))?;
                        Ok::<String, String>(uuid)
                    })();
                    match result {
                        Ok(uuid) => lines.lock().map(|mut l| l.push(format!("{uuid} {mac}"))).unwrap_or(()),
                        Err(error) => {
                            if let Ok(mut slot) = failure.lock() {
                                slot.get_or_insert(error);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().map_err(|_| "an enrolling thread panicked")? {
        return Err(error);
    }
    let lines = lines.into_inner().map_err(|_| "an enrolling thread panicked")?;
    fs::write(nodes_file, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", nodes_file.display()))?;
    println!("bench: enrolled {count} nodes in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn appliance_requests(ironic_log: &Path) -> usize {
    fs::read_to_string(ironic_log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(" - GET /v1/nodes") || line.contains(" - GET /v1/ports"))
        .count()
}

/// Runs the measurement with `count` nodes and `changes` state changes; `release`
/// builds the appliance as it ships (the quick run takes the debug build already there).
pub fn run(count: usize, changes: usize, idle: Duration, release: bool) -> Result<IronicFigures, String> {
    let profile = if release { "release" } else { "debug" };
    let root = workspace_root().join(format!("target/bench/ironic-{count}"));
    let nodes_file = root.join("nodes.txt");
    let database = root.join("ironic.sqlite");
    let enrolled = fs::read_to_string(&nodes_file).map(|t| t.lines().count()).unwrap_or(0);
    if enrolled != count {
        // A half-enrolled database from an interrupted run starts over.
        let _ = fs::remove_dir_all(&root);
    }
    fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let ironic = Ironic::start(IronicDir {
        root: root.join("ironic"),
        http_root: root.join("http-root"),
        database: database.clone(),
        file_roots: vec![root.clone()],
        tls: None,
        keystone: None,
    })?;
    if enrolled != count {
        enroll(&ironic, count, &nodes_file)?;
    }
    let mut build = cargo();
    build.arg("build");
    if release {
        build.arg("--release");
    }
    cmd::run(build.args([
        "--quiet",
        "-p",
        "ipxe-config-server",
        "--bin",
        "ipxe-config-appliance",
        "--example",
        "ironic_freshness",
    ]))?;
    let socket = root.join("appliance.sock");
    let password_file = root.join("password");
    fs::write(&password_file, PASSWORD).map_err(|e| e.to_string())?;
    let binary = workspace_root().join(format!("target/{profile}/ipxe-config-appliance"));
    let mut args: Vec<String> = ["--ip", "10.99.0.1/24", "--ironic-url", &ironic.url(), "--ironic-auth", "http-basic"]
        .iter()
        .map(ToString::to_string)
        .collect();
    // Full syncs every 10 s, so several run while the changes are measured.
    args.extend(
        ["--ironic-full-sync-seconds", "10", "--ironic-user", USER, "--ironic-password-file"].map(String::from),
    );
    args.push(password_file.display().to_string());
    let mut appliance = Appliance::spawn(&binary, &socket, &args, Some(root.join("appliance.log")))?;
    let synced = appliance.wait_for("inventory synced from Ironic (full sync of", Duration::from_secs(120))?;
    appliance.wait_for("ready ip=", Duration::from_secs(30))?;
    let full_sync_ms: f64 = synced
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|ms| ms.parse().ok())
        .ok_or_else(|| format!("no sync time in: {synced}"))?;

    let output = Command::new(workspace_root().join(format!("target/{profile}/examples/ironic_freshness")))
        .arg(&socket)
        .args([ironic.url().as_str(), USER, PASSWORD])
        .arg(&nodes_file)
        .arg(changes.to_string())
        .output()
        .map_err(|e| format!("cannot run ironic_freshness: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("ironic_freshness failed:\n{text}{}", String::from_utf8_lossy(&output.stderr)));
    }
    let line = text.lines().find(|l| l.starts_with("freshness ")).ok_or("ironic_freshness printed no summary")?;
    let field = |key: &str| -> Result<f64, String> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {key} in: {line}"))
    };

    // Idle load: what the appliance alone sends while nothing changes.
    let ironic_log = root.join("ironic/ironic.log");
    let before = appliance_requests(&ironic_log);
    std::thread::sleep(idle);
    let after = appliance_requests(&ironic_log);
    drop(appliance);
    drop(ironic);
    #[allow(clippy::cast_precision_loss)]
    let requests_per_second = after.saturating_sub(before) as f64 / idle.as_secs_f64();
    Ok(IronicFigures {
        nodes: count,
        full_sync_ms,
        p50_ms: field("p50_ms")?,
        p99_ms: field("p99_ms")?,
        lag_p50_ms: field("lag_p50_ms")?,
        lag_p99_ms: field("lag_p99_ms")?,
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        changes: field("changes")? as usize,
        requests_per_second,
    })
}
