//! iPXE's script grammar and the checks built on it, shared by the property tests
//! (`tests/script_properties.rs`) and the `render` fuzz target (`fuzz/`, through `#[path]`).
//!
//! - [`ipxe`]: a tokenizer following iPXE's own rules (std only, no dependency).
//! - [`shape`]: compares a rendered script's commands with a reference render's.
//! - [`nodes`]: generated nodes → JSON → what the loader must answer → every route rendered
//!   and compared with a harmless twin.

// Each user (test binary, fuzz target) needs a different part of these modules.
#![allow(dead_code)]

pub mod ipxe;
pub mod nodes;
pub mod shape;
