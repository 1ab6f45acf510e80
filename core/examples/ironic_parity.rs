//! The Rust half of the differential test against Ironic's own template
//! (`cargo xtask ironic-parity`): renders every node of each given inventory, by UUID,
//! into `<out-dir>/<uuid>.ipxe`, with the settings given as `setting=value` arguments
//! (the `ours` object of `fixtures/ironic-parity/conf.json`, passed on by the xtask).
//!
//! The xtask gives each fixture node an inventory file of its own, `<uuid>.json`: the
//! loader rejects a whole file for one unsafe value, and a rejected node must not hide
//! the others. A rejected file is recorded as `<out-dir>/<file stem>.load-error`. A
//! `<uuid>.settings` file beside it (`setting=value` lines, from the node's
//! `extra.parity.ours`) adds settings for that node, as `extra.parity.ironic_conf` does
//! for Ironic.
//!
//! ```text
//! cargo run -p ipxe-config --example ironic_parity -- target/ironic-parity/ours \
//!     base_url=http://10.99.0.1 boot_mode=uefi … -- target/ironic-parity/split
//! ```

use std::path::Path;
use std::process::ExitCode;

use ipxe_config::config::ArchImages;
use ipxe_config::{load, render, BootMode, InventoryStorage, NodeRecord, PortRecord, RenderConfig, Route};

fn main() -> ExitCode {
    match run() {
        Ok(count) => {
            println!("ironic_parity: rendered {count} node scripts");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("ironic_parity: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ironic_parity <out-dir> [setting=value …] -- <inventory.json or directory of them> …";
    let [out_dir, rest @ ..] = args.as_slice() else { return Err(usage.into()) };
    let split = rest.iter().position(|a| a == "--").ok_or(usage)?;
    let (settings, inventories) = (&rest[..split], &rest[split + 1..]);
    config_from(settings)?.validate().map_err(|e| format!("configuration: {e}"))?;
    let out_dir = Path::new(out_dir);
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut count = 0;
    for path in inventories {
        let path = Path::new(path);
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for file in files {
                count += render_with_settings(&file, out_dir, settings)?;
            }
        } else {
            count += render_with_settings(path, out_dir, settings)?;
        }
    }
    Ok(count)
}

/// The settings for one inventory: the common ones, then its `.settings` file's.
fn render_with_settings(path: &Path, out_dir: &Path, common: &[String]) -> Result<usize, String> {
    let own_path = path.with_extension("settings");
    let own = match std::fs::read_to_string(&own_path) {
        Ok(text) => text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", own_path.display())),
    };
    let all: Vec<String> = common.iter().cloned().chain(own).collect();
    let config = config_from(&all)?;
    config.validate().map_err(|e| format!("{}: configuration: {e}", own_path.display()))?;
    render_inventory(path, out_dir, &config)
}

fn render_inventory(path: &Path, out_dir: &Path, config: &RenderConfig<'_>) -> Result<usize, String> {
    let json = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut nodes, mut ports) = (vec![NodeRecord::EMPTY; 256], vec![PortRecord::EMPTY; 256]);
    let (mut strings, mut index) = (vec![0u8; 64 * 1024], vec![0u32; 2048]);
    let storage =
        InventoryStorage { nodes: &mut nodes, ports: &mut ports, strings: &mut strings, string_index: &mut index };
    let inventory = match load(&json, storage) {
        Ok(inventory) => inventory,
        Err(error) => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let record = out_dir.join(format!("{stem}.load-error"));
            std::fs::write(&record, format!("{error}\n")).map_err(|e| format!("{}: {e}", record.display()))?;
            return Ok(0);
        }
    };
    let mut count = 0;
    for node in inventory.nodes() {
        let uuid = node.uuid();
        // `any_driver` in the request: this test compares boot scripts, not driver checks.
        let target = format!("/v1/drivers/{}/vendor_passthru/ipxe_config?node_uuid={uuid}", config.any_driver);
        let route = Route::parse(target.as_bytes()).map_err(|e| format!("{target}: {e}"))?;
        let mut script = [0u8; 8192];
        let rendered = render(&inventory, config, &route, &mut script).map_err(|e| format!("node {uuid}: {e}"))?;
        let path = out_dir.join(format!("{uuid}.ipxe"));
        std::fs::write(&path, &script[..rendered.len]).map_err(|e| format!("{}: {e}", path.display()))?;
        count += 1;
    }
    Ok(count)
}

/// The settings the parity test names; anything else is a mistake in `conf.json`.
fn config_from(settings: &[String]) -> Result<RenderConfig<'_>, String> {
    let mut config = RenderConfig::DEFAULT;
    for setting in settings {
        let (name, value) = setting.split_once('=').ok_or_else(|| format!("`{setting}`: expected setting=value"))?;
        let slot = match name {
            "base_url" => &mut config.base_url,
            "ipa_api_url" => &mut config.ipa_api_url,
            "deploy_kernel" => &mut config.deploy_kernel,
            "deploy_ramdisk" => &mut config.deploy_ramdisk,
            "rescue_kernel" => &mut config.rescue_kernel,
            "rescue_ramdisk" => &mut config.rescue_ramdisk,
            "append_params" => &mut config.append_params,
            "ironic_http_url" => &mut config.ironic_http_url,
            "ipa_debug" => {
                config.ipa_debug = value.parse().map_err(|_| format!("ipa_debug: `{value}` is not true or false"))?;
                continue;
            }
            "deploy_kernel_by_arch" | "deploy_ramdisk_by_arch" | "rescue_kernel_by_arch" | "rescue_ramdisk_by_arch" => {
                // `ARCH=URL,ARCH=URL`, merged into one entry per architecture.
                let mut table = config.by_arch.to_vec();
                for pair in value.split(',') {
                    let (arch, url) = pair.split_once('=').ok_or_else(|| format!("{name}: expected ARCH=URL"))?;
                    let index = table.iter().position(|images| images.arch == arch).unwrap_or_else(|| {
                        table.push(ArchImages::new(arch));
                        table.len() - 1
                    });
                    let images = &mut table[index];
                    let slot = match name {
                        "deploy_kernel_by_arch" => &mut images.deploy_kernel,
                        "deploy_ramdisk_by_arch" => &mut images.deploy_ramdisk,
                        "rescue_kernel_by_arch" => &mut images.rescue_kernel,
                        _ => &mut images.rescue_ramdisk,
                    };
                    *slot = Some(url);
                }
                // A test program run once: the table lives as long as the settings.
                config.by_arch = table.leak();
                continue;
            }
            "boot_mode" => {
                config.boot_mode = match value {
                    "bios" => BootMode::Bios,
                    "uefi" => BootMode::Uefi,
                    _ => return Err(format!("boot_mode: `{value}` is neither bios nor uefi")),
                };
                continue;
            }
            _ => return Err(format!("unknown setting `{name}`")),
        };
        *slot = Some(value);
    }
    Ok(config)
}
