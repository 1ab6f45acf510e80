//! `cargo xtask qemu-boot`: real iPXE, in QEMU, booting nodes from the appliance.
//!
//! This side prepares and runs the guests: host prerequisites, the payloads the
//! appliance serves (kernel, tagged initrds, a local-disk stand-in), and QEMU itself
//! wired to the appliance over a socketpair. `smoke` proves the payloads on their own.

pub mod appliance;
pub mod console;
pub mod cpio;
pub mod dnsmasq;
pub mod fd_pass;
pub mod firmware_vm;
pub mod guest;
pub mod initrd;
pub mod ironic_live;
pub mod kernel;
pub mod mbr;
pub mod netns;
pub mod paths;
pub mod payloads;
pub mod prereqs;
pub mod run;
pub mod scenarios;
pub mod server_log;
pub mod smoke;
pub mod soft_tpm;

pub use run::{run, Options};
pub use smoke::smoke;
