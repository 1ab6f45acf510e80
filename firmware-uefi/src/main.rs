//! `ipxe-config-uefi`: the appliance as a UEFI application. Booted from a USB stick or
//! an ESP, it reads its configuration and inventory from `\ipxe-config\` on the volume
//! it was loaded from, opens the first NIC with a UEFI driver, and serves DHCP, router
//! advertisements, iPXE scripts and the artifacts folder from it until powered off.
//!
//! It stays a boot-services application (no ExitBootServices): the firmware's drivers
//! run the NIC and the disk. Start-up turns the firmware watchdog off (it would reset
//! the machine 5 minutes after the application started).
//!
//! Built for any other target the program only says what it is, so the workspace's host
//! builds and tests cover the parts that do not touch the firmware (`config`).

#![cfg_attr(target_os = "uefi", no_std, no_main)]

mod config;

#[cfg(target_os = "uefi")]
mod appliance;
#[cfg(target_os = "uefi")]
mod clock;
#[cfg(target_os = "uefi")]
mod console;
#[cfg(target_os = "uefi")]
mod esp;
#[cfg(target_os = "uefi")]
mod run;
#[cfg(target_os = "uefi")]
mod snp;

#[cfg(target_os = "uefi")]
#[uefi::entry]
fn main() -> uefi::Status {
    run::main()
}

#[cfg(not(target_os = "uefi"))]
fn main() {
    // Keeps the parser linked (and linted) in host builds.
    let _ = config::parse(b"ip = 10.99.0.1/24\n")
        .map(|parsed| (config::default_range(parsed.ip.0, parsed.ip.1), parsed.boot_files.as_slice().len()));
    println!("ipxe-config-uefi is a UEFI application: build it with --target x86_64-unknown-uefi");
}
