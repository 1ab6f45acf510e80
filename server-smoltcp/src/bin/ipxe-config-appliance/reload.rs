//! The inventory file: loaded whole into fresh buffers, swapped in only when valid.
//!
//! A reload (SIGHUP, or the file's modification time changed) loads the new document
//! beside the current one; on success the new buffers replace the old, on failure the
//! old inventory stays and the load error is logged. Allocation happens here, once per
//! reload, never per request.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ipxe_config::{Extent, HeapInventoryBuffers, Inventory, InventoryCapacity, LoadError};

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

/// A loaded inventory and the buffers it lives in.
struct Loaded {
    buffers: HeapInventoryBuffers,
    extent: Extent,
}

impl Loaded {
    fn read(path: &Path, capacity: InventoryLimits) -> Result<Self, ReloadError> {
        let json = std::fs::read(path).map_err(ReloadError::Read)?;
        // Every pooled string comes from a JSON string of the file with two quotes around
        // it, so the file's length always suffices for the pool (length headers included).
        let string_bytes = capacity.string_bytes.unwrap_or(json.len()).max(64);
        let mut buffers =
            HeapInventoryBuffers::new(InventoryCapacity::new(capacity.nodes, capacity.ports, string_bytes))
                .ok_or(ReloadError::Capacity)?;
        let extent = buffers.load(&json).map_err(ReloadError::Load)?.extent();
        // Keep only what the inventory uses.
        buffers.shrink_to(extent);
        Ok(Loaded { buffers, extent })
    }
}

/// The current inventory and the file it comes from.
pub struct InventoryFile {
    path: PathBuf,
    capacity: InventoryLimits,
    current: Loaded,
    modified: Option<SystemTime>,
}

impl InventoryFile {
    /// Loads `path`; a bad file at start-up is an error.
    pub fn open(path: &Path, capacity: InventoryLimits) -> Result<Self, ReloadError> {
        let modified = modified(path);
        let current = Loaded::read(path, capacity)?;
        Ok(InventoryFile { path: path.to_path_buf(), capacity, current, modified })
    }

    /// The current inventory.
    pub fn inventory(&self) -> Inventory<'_> {
        self.current.buffers.inventory(self.current.extent)
    }

    /// Whether the file's modification time differs from the loaded one's.
    pub fn changed_on_disk(&self) -> bool {
        modified(&self.path) != self.modified
    }

    /// Loads the file again; keeps the current inventory if that fails.
    pub fn reload(&mut self) -> Result<(), ReloadError> {
        // Taken before reading, so a write racing the read triggers one more reload.
        let modified_before = modified(&self.path);
        // Remembered even on failure: a broken file is reported once, not every second.
        self.modified = modified_before;
        self.current = Loaded::read(&self.path, self.capacity)?;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|meta| meta.modified()).ok()
}
