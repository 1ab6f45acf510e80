//! `cargo xtask ironic-parity`: the differential test against Ironic 39.0.0's own iPXE
//! template. The Rust side renders our script for every node of
//! `fixtures/ironic-parity/nodes.json`; `xtask/ironic_parity/compare.py` (in a venv under
//! `target/ironic-parity/`, Ironic fetched from PyPI at test time) renders Ironic's and
//! compares what iPXE would boot. Per-case known differences live in
//! `fixtures/ironic-parity/differences.json`; see `fixtures/ironic-parity/README.md`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cmd::{cargo, run, workspace_root};

const FIXTURE_DIR: &str = "fixtures/ironic-parity";
const WORK_DIR: &str = "target/ironic-parity";

pub fn run_parity() -> Result<(), String> {
    let root = workspace_root();
    let fixtures = root.join(FIXTURE_DIR);
    let work = root.join(WORK_DIR);
    let split = work.join("split");
    let ours = work.join("ours");
    for dir in [&split, &ours] {
        // Stale files of a renamed or removed case must not linger into the comparison.
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    split_inventory(&fixtures.join("nodes.json"), &split)?;
    let settings = our_settings(&fixtures.join("conf.json"))?;

    let mut render = cargo();
    render
        .args(["run", "--quiet", "-p", "ipxe-config", "--example", "ironic_parity", "--"])
        .arg(&ours)
        .args(settings)
        .arg("--")
        .arg(&split);
    run(&mut render)?;

    let mut compare = Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()));
    compare.arg(root.join("xtask/ironic_parity/compare.py")).current_dir(&root);
    run(&mut compare)
}

/// One inventory file per node (with its ports), so one rejected node leaves the rest.
fn split_inventory(path: &Path, out: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let inventory: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let nodes = inventory["nodes"].as_array().ok_or_else(|| format!("{}: no `nodes` list", path.display()))?;
    let ports = inventory["ports"].as_array().cloned().unwrap_or_default();
    for node in nodes {
        let uuid = node["uuid"].as_str().ok_or_else(|| format!("{}: a node without a uuid", path.display()))?;
        let own_ports: Vec<&Value> = ports.iter().filter(|p| p["node_uuid"].as_str() == Some(uuid)).collect();
        let file = out.join(format!("{uuid}.json"));
        let one = serde_json::json!({ "nodes": [node], "ports": own_ports });
        std::fs::write(&file, one.to_string()).map_err(|e| format!("{}: {e}", file.display()))?;
        // The node's own settings of ours, as `extra.parity.ironic_conf` are Ironic's.
        if let Some(ours) = node["extra"]["parity"]["ours"].as_object() {
            let lines: Vec<String> = ours
                .iter()
                .map(|(name, value)| match value {
                    Value::String(text) => format!("{name}={text}"),
                    other => format!("{name}={other}"),
                })
                .collect();
            let settings = out.join(format!("{uuid}.settings"));
            std::fs::write(&settings, lines.join("\n")).map_err(|e| format!("{}: {e}", settings.display()))?;
        }
    }
    Ok(())
}

/// `conf.json`'s `ours` object as the example's `setting=value` arguments.
fn our_settings(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let conf: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let ours = conf["ours"].as_object().ok_or_else(|| format!("{}: no `ours` object", path.display()))?;
    ours.iter()
        .map(|(name, value)| {
            value
                .as_str()
                .map(|v| format!("{name}={v}"))
                .ok_or_else(|| format!("{}: ours.{name} is not a string", path.display()))
        })
        .collect()
}
