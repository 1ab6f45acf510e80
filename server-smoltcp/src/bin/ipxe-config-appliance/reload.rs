//! Inventories loaded whole into fresh buffers, swapped in only when valid.
//!
//! A reload (SIGHUP, the file changed (inotify, or its modification time), or an Ironic sync) loads the new document beside
//! the current one; on success the new buffers replace the old, on failure the old
//! inventory stays and the load error is logged. Allocation happens here, once per
//! reload, never per request.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use std::fmt::Write as _;

use ipxe_config::{Extent, HeapInventoryBuffers, Inventory, InventoryCapacity, LoadError, RenderConfig, ScriptFit};

/// How many records the inventory may hold: core's `InventoryCapacity`, except that the
/// string pool may be left to the file's length, known only at each load.
#[derive(Debug, Clone, Copy)]
pub struct InventoryLimits {
    /// Node slots.
    pub nodes: usize,
    /// Port slots.
    pub ports: usize,
    /// String pool bytes; `None` sizes it from the file.
    pub string_bytes: Option<usize>,
}

/// Why a file could not become the inventory.
#[derive(Debug)]
pub enum ReloadError {
    /// Reading the file failed.
    Read(std::io::Error),
    /// The capacity asked for overflows the address space.
    Capacity,
    /// The document was rejected.
    Load(LoadError),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(error) => write!(f, "cannot read: {error}"),
            Self::Capacity => write!(f, "the inventory capacity overflows the address space"),
            Self::Load(error) => write!(f, "{error}"),
        }
    }
}

/// A loaded inventory and the buffers it lives in: what a reload or an Ironic sync
/// builds aside and the main loop swaps in whole.
pub struct Loaded {
    buffers: HeapInventoryBuffers,
    extent: Extent,
}

impl Loaded {
    /// Loads the document `json`; nodes whose scripts (with `config`) would not fit
    /// `script_bytes` are quarantined, so no request can meet a script larger than the
    /// response buffer (which would be a 500).
    pub fn from_json(
        json: &[u8],
        capacity: InventoryLimits,
        config: &RenderConfig<'_>,
        script_bytes: usize,
    ) -> Result<Self, ReloadError> {
        // Every pooled string comes from a JSON string of the document with two quotes
        // around it, so its length always suffices for the pool (length headers included).
        let string_bytes = capacity.string_bytes.unwrap_or(json.len()).max(64);
        let mut buffers =
            HeapInventoryBuffers::new(InventoryCapacity::new(capacity.nodes, capacity.ports, string_bytes))
                .ok_or(ReloadError::Capacity)?;
        let mut scratch = vec![0u8; script_bytes];
        let fit = ScriptFit { config, scratch: &mut scratch };
        let extent = buffers.load_fitted(json, fit).map_err(ReloadError::Load)?.extent();
        // Keep only what the inventory uses.
        buffers.shrink_to(extent);
        Ok(Loaded { buffers, extent })
    }

    fn read(
        path: &Path,
        capacity: InventoryLimits,
        config: &RenderConfig<'_>,
        script_bytes: usize,
    ) -> Result<Self, ReloadError> {
        let json = std::fs::read(path).map_err(ReloadError::Read)?;
        Self::from_json(&json, capacity, config, script_bytes)
    }

    /// The inventory.
    pub fn inventory(&self) -> Inventory<'_> {
        self.buffers.inventory(self.extent)
    }
}

/// The inventory file: where the current inventory comes from in file mode.
pub struct InventoryFile {
    path: PathBuf,
    capacity: InventoryLimits,
    /// The largest script a response can carry (the response buffer's body area).
    script_bytes: usize,
    modified: Option<SystemTime>,
}

impl InventoryFile {
    /// Loads `path`; a bad file at start-up is an error. Scripts are checked against
    /// `config` and `script_bytes`, now and on every reload.
    pub fn open(
        path: &Path,
        capacity: InventoryLimits,
        config: &RenderConfig<'_>,
        script_bytes: usize,
    ) -> Result<(Self, Loaded), ReloadError> {
        let modified = modified(path);
        let current = Loaded::read(path, capacity, config, script_bytes)?;
        Ok((InventoryFile { path: path.to_path_buf(), capacity, script_bytes, modified }, current))
    }

    /// Whether the file's modification time differs from the loaded one's.
    pub fn changed_on_disk(&self) -> bool {
        modified(&self.path) != self.modified
    }

    /// Loads the file again, for the caller to swap in.
    pub fn reload(&mut self, config: &RenderConfig<'_>) -> Result<Loaded, ReloadError> {
        // Taken before reading, so a write racing the read triggers one more reload.
        let modified_before = modified(&self.path);
        // Remembered even on failure: a broken file is reported once, not every second.
        self.modified = modified_before;
        Loaded::read(&self.path, self.capacity, config, self.script_bytes)
    }

    /// Takes a load the watcher made: its modification time becomes the loaded one's.
    pub fn watched(&mut self, modified: Option<SystemTime>) {
        self.modified = modified;
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Most quarantined nodes a log line names; the rest are counted.
const NAMED_IN_LOG: usize = 10;

/// `, 2 quarantined: <uuid> (<field>: <reason>), …, and N more` for a load report, or
/// nothing when no node is quarantined.
pub fn quarantine_report(inventory: &Inventory<'_>) -> String {
    let count = inventory.quarantined_count();
    if count == 0 {
        return String::new();
    }
    let mut report = format!(", {count} quarantined:");
    for (position, (uuid, cause)) in inventory.quarantined().take(NAMED_IN_LOG).enumerate() {
        let separator = if position == 0 { " " } else { ", " };
        let _ = write!(report, "{separator}{uuid} ({cause})");
    }
    if count > NAMED_IN_LOG {
        let _ = write!(report, ", and {} more", count - NAMED_IN_LOG);
    }
    report
}

/// The file's modification time, if it can be read.
pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn report_counts_quarantined_nodes_and_names_the_first_ten() {
        let nodes: Vec<String> = (0..12)
            .map(|n| {
                format!(
                    r#"{{"uuid": "{n:08x}-0000-4000-8000-000000000000", "driver": "ipmi",
                    "provision_state": "deploying", "driver_info": {{"kernel_append_params": "a || b"}}}}"#
                )
            })
            .collect();
        let json = format!(r#"{{"nodes": [{}]}}"#, nodes.join(","));
        let mut buffers = HeapInventoryBuffers::new(InventoryCapacity::new(16, 1, 4096)).unwrap();
        let inventory = buffers.load(json.as_bytes()).unwrap();
        let report = quarantine_report(&inventory);
        assert!(report.starts_with(", 12 quarantined: 00000000-0000-4000-8000-000000000000 (driver_info.kernel_append_params: contains a command separator"), "{report}");
        assert!(report.ends_with(", and 2 more"), "{report}");
        assert_eq!(report.matches("-4000-8000-").count(), 10);
        let empty = HeapInventoryBuffers::new(InventoryCapacity::new(1, 1, 64)).unwrap();
        assert_eq!(quarantine_report(&empty.inventory(Extent::default())), "");
    }
}
