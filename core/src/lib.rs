#![doc = include_str!("../README.md")]
#![no_std]

// Only for `HeapInventoryBuffers`, the host's one allocation at start-up.
#[cfg(feature = "alloc")]
extern crate alloc;

pub mod buffers;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod hash;
pub mod inventory;
mod io_sink;
pub mod json_string;
pub mod load;
pub mod mac;
pub mod percent;
pub mod pool;
pub mod quarantine;
mod quarantine_code;
pub mod record;
pub mod render;
pub mod route;
pub mod safety;
pub mod state;
pub mod writer;

#[cfg(feature = "alloc")]
pub use buffers::HeapInventoryBuffers;
pub use buffers::{InventoryBuffers, InventoryCapacity};
pub use config::{ErrorEnding, RenderConfig};
pub use endpoint::{BaseUrl, Endpoint, NodeParam};
pub use error::{KeyText, Limit, LoadError, Problem, Subject};
pub use inventory::{Extent, Inventory, InventoryStorage, Node};
pub use load::{load, load_fitted, ScriptFit};
pub use mac::PortAddress;
pub use quarantine::{NodeField, Quarantine, QuarantineProblem};
pub use record::{NodeRecord, PortRecord};
pub use render::{render, render_to, Refusal, Rendered, ScriptKind};
pub use route::{NodeKey, Route, RouteError};
pub use state::{BootMode, BootPath, ImageType, ProvisionState};
pub use uuid::Uuid;
pub use writer::BufferTooSmall;
