//! The Python venv with Ironic 39.0.0: reused when present, created when missing.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{run, workspace_root};

pub const IRONIC_VERSION: &str = "39.0.0";

/// The venv `cargo xtask ironic-parity` creates; both tasks share it.
pub fn dir() -> PathBuf {
    workspace_root().join("target/ironic-parity/venv")
}

/// Its interpreter. Console scripts are not used: their `#!` lines name the path the
/// venv was created at, which a copied `target/` does not keep.
pub fn python() -> PathBuf {
    dir().join("bin/python")
}

fn installed_version() -> Option<String> {
    let output = Command::new(python())
        .args(["-c", "import importlib.metadata as m; print(m.version('ironic'))"])
        .output()
        .ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Makes sure the venv holds Ironic 39.0.0 (~20 s the first time, nothing after).
pub fn ensure() -> Result<PathBuf, String> {
    if installed_version().as_deref() == Some(IRONIC_VERSION) {
        return Ok(python());
    }
    let venv = dir();
    if !python().exists() {
        let system = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        run(Command::new(system).arg("-m").arg("venv").arg(&venv))?;
    }
    println!("ironic: installing ironic=={IRONIC_VERSION} into {}", venv.display());
    run(Command::new(python())
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("ironic=={IRONIC_VERSION}")))?;
    match installed_version() {
        Some(version) if version == IRONIC_VERSION => Ok(python()),
        other => Err(format!("the venv {} holds ironic {other:?}, not {IRONIC_VERSION}", venv.display())),
    }
}
