//! `cargo xtask ci`: formatting, lints, tests, no_std builds, the C link test, real iPXE
//! boots in QEMU and a benchmark smoke run — everything `.ci/run` promises.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd::{cargo, run, workspace_root};

/// Targets the `#![no_std]` crates must build for.
pub const NO_STD_TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "x86_64-unknown-none"];

/// The UEFI targets of the firmware image (`firmware-uefi/`): x86_64 is booted by the
/// qemu-boot scenarios, aarch64 is built only.
pub const UEFI_TARGETS: [&str; 2] = [crate::firmware_image::UEFI_TARGET, crate::firmware_image::UEFI_TARGET_AARCH64];

/// The `#![no_std]` library crates and the cargo flags that leave their std parts out.
const NO_STD_CRATES: [(&str, &[&str]); 2] = [("ipxe-config", &[]), ("ipxe-config-server", &["--no-default-features"])];

/// Long enough to replay the seed corpora and explore a little; real runs use `cargo xtask fuzz`.
const FUZZ_SECONDS_PER_TARGET: u64 = 20;

type Step = (&'static str, fn() -> Result<(), String>);

pub fn run_all() -> Result<(), String> {
    let steps: Vec<Step> = vec![
        ("rustup targets", ensure_targets),
        ("host packages", host_packages),
        ("cargo fmt --check", || run(cargo().args(["fmt", "--all", "--check"]))),
        ("clippy", || run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))),
        ("rustdoc", || run(cargo().args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))),
        ("cargo test", workspace_tests),
        ("no_std builds", no_std_builds),
        ("firmware builds", firmware_builds),
        ("C header drift", crate::ffi::check_header),
        ("C link test", crate::ffi::c_link_test),
        ("ironic-parity", crate::ironic_parity::run_parity),
        ("ironic-source", crate::ironic::checks::run_checks),
        ("qemu-boot", || crate::qemu_boot::run(&crate::qemu_boot::Options::default())),
        ("bench --quick", || {
            crate::bench::run(&crate::bench::Options {
                quick: true,
                side_by_side_only: false,
                ironic_only: false,
                firmware_only: false,
            })
        }),
        ("fuzz (short)", || crate::fuzz::run(FUZZ_SECONDS_PER_TARGET).map(|report| println!("{report}"))),
    ];
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    for (name, step) in steps {
        println!("\n==> ci: {name}");
        let started = Instant::now();
        let result = step();
        timings.push((name, started.elapsed()));
        if let Err(message) = result {
            print_timings(&timings);
            return Err(format!("ci step `{name}` failed: {message}"));
        }
    }
    print_timings(&timings);
    println!("ci: all {} steps passed", timings.len());
    Ok(())
}

fn print_timings(timings: &[(&str, Duration)]) {
    println!("\nci step timings:");
    for (name, elapsed) in timings {
        println!("  {name:<20} {:>7.1} s", elapsed.as_secs_f64());
    }
}

/// Fresh machines set `RUSTUP_AUTO_INSTALL=0`, so the toolchain file alone does not
/// bring the cross targets; `rustup target add` is idempotent.
pub fn ensure_targets() -> Result<(), String> {
    let mut command = Command::new("rustup");
    command.arg("target").arg("add").args(NO_STD_TARGETS).args(UEFI_TARGETS).current_dir(workspace_root());
    run(&mut command)
}

/// Every crate's tests, then the server library's own tests once more as firmware builds
/// it (no `host` feature: smaller SYN backlog, no logging backend).
fn workspace_tests() -> Result<(), String> {
    let mut tests = cargo();
    tests.args(["test", "--workspace"]);
    if crate::qemu_boot::prereqs::running_as_root() {
        // CI runs as root: the TAP and raw-socket tests must really run, not skip.
        tests.env("IPXE_CONFIG_REQUIRE_NAMESPACES", "1");
    }
    run(&mut tests)?;
    run(cargo().args(["test", "-p", "ipxe-config-server", "--no-default-features", "--lib"]))
}

/// Debian packages the tests use: QEMU and friends for qemu-boot, `curl` and `ip` for
/// the TAP tests and `atftp` (a TFTP client that asks for windowsize) for the BIOS PXE
/// one (which otherwise skip), `openssl` for `ironic-source`'s certificates. Installed
/// when running as root, as CI does.
fn host_packages() -> Result<(), String> {
    use crate::qemu_boot::prereqs::{apt_get, ensure, find_on_path, running_as_root};
    ensure()?;
    let missing: Vec<&str> = [("curl", "curl"), ("ip", "iproute2"), ("atftp", "atftp"), ("openssl", "openssl")]
        .iter()
        .filter(|(p, _)| find_on_path(p).is_none())
        .map(|(_, d)| *d)
        .collect();
    if missing.is_empty() || !running_as_root() {
        return Ok(());
    }
    run(apt_get().args(["install", "-y", "--no-install-recommends"]).args(&missing))
}

/// The UEFI application for both targets, linted as firmware (the workspace's clippy
/// run sees only its host stub), and the x86_64 image against its size budget.
fn firmware_builds() -> Result<(), String> {
    for target in UEFI_TARGETS {
        let package = ["-p", "ipxe-config-firmware-uefi", "--target", target, "--release"];
        run(cargo().arg("clippy").args(package).args(["--", "-D", "warnings"]))?;
        crate::firmware_image::build_for(target)?;
    }
    crate::firmware_image::build_efi().map(|_| ())
}

fn no_std_builds() -> Result<(), String> {
    for target in NO_STD_TARGETS {
        for (package, flags) in NO_STD_CRATES {
            run(cargo().args(["build", "--release", "-p", package, "--target", target]).args(flags))?;
        }
    }
    // The firmware-shaped binary proves the crates link without std on a microcontroller.
    run(cargo().args(["build", "--release", "-p", "footprint", "--target", "thumbv7em-none-eabihf"]))
}
