//! std pieces for running the appliance on a host (feature `host`): a directory as the
//! file source, a logger that writes straight to a file descriptor, and the appliance's
//! buffers allocated once at start-up.

pub mod buffers;
pub mod directory;
pub mod logger;

pub use buffers::{leak_buffers, HeapApplianceBuffers};
pub use directory::{DirectoryFiles, HostFile};
pub use logger::FdLogger;
