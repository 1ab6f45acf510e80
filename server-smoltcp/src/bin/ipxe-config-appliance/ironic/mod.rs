//! Ironic's API as the inventory source (`--ironic-url`): an HTTP client with the three
//! auth modes, full syncs and incremental polls, and the thread that runs them.

pub mod client;
pub mod fleet;
pub mod keystone;
pub mod setup;
pub mod sync;
pub mod worker;
