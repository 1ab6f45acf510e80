//! Where `qemu-boot` keeps its files: everything lives under `target/qemu-boot/`, so
//! `cargo clean` removes it and nothing is written outside the workspace.
//!
//! - `cache/` holds payloads that survive between runs (the downloaded kernel, the
//!   generated initrds and disk image); it is only ever added to or refreshed in place.
//! - `<name>/` holds one guest's console log, QEMU's own output and any
//!   per-scenario files; it is emptied at the start of each run so that a log never
//!   mixes two boots.

use crate::cmd::workspace_root;
use std::fs;
use std::path::PathBuf;

/// `target/qemu-boot/`.
pub fn qemu_boot_root() -> PathBuf {
    workspace_root().join("target").join("qemu-boot")
}

/// `target/qemu-boot/cache/`, created if missing.
pub fn cache_dir() -> Result<PathBuf, String> {
    let dir = qemu_boot_root().join("cache");
    fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    Ok(dir)
}

/// `target/qemu-boot/<name>/`, emptied and recreated.
pub fn fresh_run_dir(name: &str) -> Result<PathBuf, String> {
    let dir = qemu_boot_root().join(name);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot empty {}: {error}", dir.display())),
    }
    fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    Ok(dir)
}
