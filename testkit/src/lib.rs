//! What the workspace's tests, benches, fuzz targets and the footprint probe share, so
//! each is written once:
//!
//! - [`net`]: the test network's addresses (appliance, client) and the configuration the
//!   appliance serves with;
//! - [`phy`]: the one `smoltcp::phy::Device` of every in-memory link, over an inbox and an
//!   outbox of frames;
//! - [`files`]: file sources in memory (a static table; with `std`, one that changes);
//! - with `std`: [`dgram`] (a device over a unix datagram socket, to reach the appliance
//!   process), [`link`] (two rings of frames joining the appliance and a client),
//!   [`http`] (one response parser) and [`inventory`] (the fixture inventory, loaded once).
//!
//! Not published. Without the `std` feature it is `no_std` and allocation-free, so the
//! footprint probe can link it for thumbv7em.

#![no_std]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod dgram;
pub mod files;
#[cfg(feature = "std")]
pub mod http;
#[cfg(feature = "std")]
pub mod inventory;
#[cfg(feature = "std")]
pub mod link;
pub mod net;
pub mod phy;
