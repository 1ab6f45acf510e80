//! A real Ironic 39 for tests: installed from PyPI into the venv that `ironic-parity`
//! also uses (`target/ironic-parity/venv`), started standalone on loopback (SQLite,
//! `rpc_transport = none`, fake hardware and power, iPXE boot) with HTTP basic auth (or
//! Keystone tokens, from a real Keystone in its own venv: `keystone`),
//! driven through its API, and stopped by its process group's ID on every path.

pub mod api;
pub mod bench;
pub mod checks;
pub mod keystone;
mod keystone_checks;
pub mod server;
pub mod venv;
