#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(feature = "host")]
extern crate std;

#[macro_use]
mod logging;
mod log_budget;

pub mod appliance;
pub mod buffers;
pub mod dhcp;
pub mod files;
pub mod http;
pub mod log_line;
pub mod router_advert;
pub mod service;
pub mod settings;
pub mod storage;
mod syn_backlog;
pub mod tftp;

#[cfg(feature = "host")]
pub mod host;

pub use appliance::{Appliance, SetupError};
pub use buffers::{ApplianceBuffers, ApplianceCapacity};
pub use dhcp::Lease;
pub use files::{FileError, FileHandle, FilePath, FileSource, NoFiles, OpenFile, OpenFiles, SliceFile};
pub use http::{ConnectionSlot, HttpLimits};
pub use settings::{ApplianceSettings, DhcpSettings, KnownMacUrl, TftpSettings};
pub use storage::{ApplianceStorage, RawStorage, TftpStorage, UdpStorage};
