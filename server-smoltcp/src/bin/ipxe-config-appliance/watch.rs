//! File mode's fast path: the inventory file's directory is watched with inotify, and a
//! file closed after writing or renamed into place is loaded at once on a thread of its
//! own, then handed to the loop like an Ironic sync. The loop's once-a-second
//! modification-time check stays as the fallback (a file system without inotify, a
//! writer that never closes).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::SystemTime;

use inotify::{Inotify, WatchMask};
use ipxe_config::RenderConfig;

use crate::reload::{modified, InventoryLimits, Loaded, ReloadError};

/// A load the watcher made, and the modification time it saw before reading.
pub struct FileUpdate {
    pub loaded: Result<Loaded, ReloadError>,
    pub modified: Option<SystemTime>,
}

/// Starts watching `path`; each change sends one [`FileUpdate`].
pub fn watch(
    path: &Path,
    limits: InventoryLimits,
    config: RenderConfig<'static>,
    script_bytes: usize,
) -> std::io::Result<Receiver<FileUpdate>> {
    let path: PathBuf = std::path::absolute(path)?;
    let directory = path.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
    let mut inotify = Inotify::init()?;
    // The directory, not the file: a file replaced by rename is a new inode.
    inotify.watches().add(&directory, WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO)?;
    let (sender, updates) = mpsc::channel();
    std::thread::Builder::new().name("inventory-watch".into()).spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            let Ok(events) = inotify.read_events_blocking(&mut buffer) else { return };
            // One load for a burst of events about the file.
            if !events.into_iter().any(|event| event.name == Some(name.as_os_str())) {
                continue;
            }
            let seen = modified(&path);
            let loaded = std::fs::read(&path)
                .map_err(ReloadError::Read)
                .and_then(|json| Loaded::from_json(&json, limits, &config, script_bytes));
            if sender.send(FileUpdate { loaded, modified: seen }).is_err() {
                return;
            }
        }
    })?;
    Ok(updates)
}
