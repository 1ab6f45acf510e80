//! std pieces for running the appliance on a host (feature `host`): a directory as the
//! file source, a logger that writes straight to a file descriptor, and buffers
//! allocated once at start-up.

pub mod directory;
pub mod logger;
pub mod storage;

pub use directory::{DirectoryFiles, HostFile};
pub use logger::FdLogger;
pub use storage::{leak_file_slots, leak_storage};
