//! `cargo xtask …`: the project's own automation (CI, real-iPXE boots, benchmarks).
//!
//! This crate is std-only and never a dependency of the product crates.

mod bench;
mod ci;
mod cmd;
mod ffi;
mod firmware_image;
mod fuzz;
mod ironic;
mod ironic_parity;
mod qemu_boot;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "xtask", about = "ipxe-config automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Every test, lint and no_std build, the C link test, real iPXE boots and a
    /// benchmark smoke run (what `.ci/run` runs).
    Ci,
    /// Boots real iPXE in QEMU against the appliance and prints a table of boots.
    QemuBoot {
        /// Run only this scenario.
        #[arg(long)]
        scenario: Option<String>,
        /// Keep every scenario's logs under `target/qemu-boot/<scenario>/` (failures always keep theirs).
        #[arg(long)]
        keep: bool,
        /// Boot each selected scenario this many times.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Boot one scenario at a time (timings free of a second scenario's load).
        #[arg(long)]
        one_at_a_time: bool,
    },
    /// Regenerates core/ffi/include/ipxe_config.h with cbindgen (CI checks it is up to date).
    FfiHeader {
        /// Write nothing; fail if the committed header is not what cbindgen generates.
        #[arg(long)]
        check: bool,
    },
    /// Writes the appliance as a bootable raw disk image (GPT, one FAT EFI System
    /// Partition with EFI/BOOT/BOOTX64.EFI and ipxe-config/), ready for `dd` to a USB stick.
    FirmwareImage {
        /// The image file to write (default: target/ipxe-config-uefi.img in the workspace).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// appliance.conf for the image (default: ip = 10.99.0.1/24, DHCP .100-.199).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// The inventory JSON (default: fixtures/inventory.json).
        #[arg(long)]
        inventory: Option<std::path::PathBuf>,
        /// A folder whose files are served as boot artifacts (kernels, initrds). Debian's
        /// snponly.efi and undionly.kpxe are added unless the folder has a file of that name.
        #[arg(long)]
        artifacts: Option<std::path::PathBuf>,
    },
    /// Boots the qemu-boot payloads without iPXE (kernel + initrd, local disk, OVMF, NIC wiring).
    QemuSmoke,
    /// Runs every cargo-fuzz target for a bounded time (nightly toolchain; installs cargo-fuzz if missing).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Differential test against Ironic 39.0.0's own iPXE template (fetched from PyPI at
    /// test time): what iPXE would boot, per fixture node, ours against Ironic's.
    IronicParity,
    /// The appliance's Ironic client against a real Ironic 39 over TLS: `--ironic-ca`
    /// trusted, the system's roots refused, a wrong password's 401, each said once.
    IronicSource,
    /// Speed and footprint figures against their budgets; writes target/bench/summary.json.
    Bench {
        /// Run each benchmark once as a smoke test; enforce no budget.
        #[arg(long)]
        quick: bool,
        /// Only the side-by-side against nginx (artifacts and scripts over veth and TAP).
        #[arg(long)]
        side_by_side_only: bool,
        /// Only the Ironic source's figures (real Ironic; 1,000 nodes, 20 with --quick).
        #[arg(long)]
        ironic_only: bool,
        /// Only the UEFI appliance's figures (its size, and boots of the image in QEMU).
        #[arg(long)]
        firmware_only: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Ci => ci::run_all(),
        Task::QemuBoot { scenario, keep, repeat, one_at_a_time } => {
            qemu_boot::run(&qemu_boot::Options { scenario, keep, repeat, one_at_a_time })
        }
        Task::FfiHeader { check: false } => ffi::write_header(),
        Task::FfiHeader { check: true } => ffi::check_header(),
        Task::FirmwareImage { out, config, inventory, artifacts } => {
            firmware_image::run_command(&firmware_image::Options { out, config, inventory, artifacts })
        }
        Task::QemuSmoke => qemu_boot::smoke(),
        Task::IronicParity => ironic_parity::run_parity(),
        Task::IronicSource => ironic::checks::run_checks(),
        Task::Bench { quick, side_by_side_only, ironic_only, firmware_only } => {
            bench::run(&bench::Options { quick, side_by_side_only, ironic_only, firmware_only })
        }
        Task::Fuzz { seconds } => fuzz::run(seconds).map(|report| println!("{report}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
