//! A firmware-shaped program: static buffers, an inventory loaded from flash, one request
//! target rendered, and the appliance (HTTP, DHCP, router advertisements on smoltcp) set
//! up in static memory and polled once. Built for `thumbv7em-none-eabihf` it is the honest
//! measure of what the no_std crates cost in `.text`/`.rodata`; on the host it is an
//! ordinary program doing the same work (so `cargo test --workspace` and clippy see it
//! too) that prints the memory figures.

#![cfg_attr(target_os = "none", no_std, no_main)]

mod appliance;

use ipxe_config::{load, render, RenderConfig, Route};
use smoltcp::time::Instant;

use appliance::Memory;

/// The inventory a firmware image would carry in flash.
static INVENTORY: &[u8] = include_bytes!("../../fixtures/inventory.json");
const TARGET: &[u8] = b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";

/// What one run did.
struct Outcome {
    /// Length of the rendered script (0 on error).
    script_len: usize,
    /// Whether the appliance set up (`None`: it did not) and did anything in its poll.
    polled: Option<bool>,
}

/// Loads the inventory into `memory`, renders one script, then sets the appliance up and
/// polls it once.
fn serve_once(json: &[u8], target: &[u8], memory: Memory, now: Instant) -> Outcome {
    let (storage, files, inventory_storage, script) = appliance::split(memory);
    let Ok(inventory) = load(json, inventory_storage) else {
        return Outcome { script_len: 0, polled: None };
    };
    let script_len = Route::parse(target)
        .ok()
        .and_then(|route| render(&inventory, &RenderConfig::DEFAULT, &route, script).ok())
        .map_or(0, |rendered| rendered.len);
    let polled = appliance::poll_once(storage, files, &inventory, now);
    Outcome { script_len, polled }
}

#[cfg(target_os = "none")]
mod firmware {
    use super::{appliance, serve_once, Instant, INVENTORY, TARGET};
    use core::hint::black_box;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        loop {
            core::hint::spin_loop();
        }
    }

    /// The reset entry point a linker script would name.
    #[unsafe(no_mangle)]
    pub extern "C" fn _start() -> ! {
        if let Some(memory) = appliance::take_memory() {
            // black_box keeps the optimiser from folding the whole run into a constant.
            let outcome = serve_once(black_box(INVENTORY), black_box(TARGET), memory, black_box(Instant::ZERO));
            black_box((outcome.script_len, outcome.polled));
        }
        loop {
            core::hint::spin_loop();
        }
    }
}

/// On the host: do what the firmware does, then print the memory figures
/// `cargo xtask bench` reports, as `name=value` lines.
#[cfg(not(target_os = "none"))]
fn main() {
    use appliance::{ProbeAppliance, INVENTORY_BYTES, MEMORY_BYTES, SIZES};
    use ipxe_config::{NodeRecord, PortRecord};

    let Some(memory) = appliance::take_memory() else {
        unreachable!("main runs once");
    };
    let outcome = serve_once(INVENTORY, TARGET, memory, Instant::from_secs(1));
    println!("rendered_script_bytes={}", outcome.script_len);
    match outcome.polled {
        Some(activity) => println!("appliance_first_poll_activity={activity}"),
        None => {
            eprintln!("the appliance did not set up");
            std::process::exit(1);
        }
    }
    println!("node_record_bytes={}", size_of::<NodeRecord>());
    println!("port_record_bytes={}", size_of::<PortRecord>());
    let (count, used) = host::ten_thousand_nodes();
    println!("inventory_nodes={count}");
    println!("inventory_bytes_per_node={:.1}", used as f64 / count as f64);
    println!("appliance_storage_bytes={}", SIZES.total_bytes());
    println!("appliance_struct_bytes={}", size_of::<ProbeAppliance>());
    println!("probe_inventory_storage_bytes={INVENTORY_BYTES}");
    // What the default configuration needs in static RAM: its buffers, the appliance
    // value and the inventory storage.
    let static_ram = SIZES.total_bytes() + size_of::<ProbeAppliance>() + INVENTORY_BYTES;
    println!("appliance_static_ram_bytes={static_ram}");
    // All the probe's statics, the render-only script buffer included: a check on the above.
    println!("probe_static_memory_bytes={MEMORY_BYTES}");
}

#[cfg(not(target_os = "none"))]
mod host {
    use std::fmt::Write as _;

    use ipxe_config::{HeapInventoryBuffers, InventoryCapacity, NodeRecord, PortRecord};

    /// Loads 10,000 Ironic-shaped nodes (half deploying with shared image URLs, half
    /// active partition images with a unique root UUID each, one port each) and returns
    /// the node count and the bytes their records, ports and strings occupy.
    pub fn ten_thousand_nodes() -> (usize, usize) {
        const COUNT: usize = 10_000;
        let mut json = String::from("{\"nodes\": [");
        for n in 0..COUNT {
            let separator = if n == 0 { "" } else { "," };
            let (state, instance) = if n % 2 == 0 {
                ("deploying", String::new())
            } else {
                (
                    "active",
                    format!(
                        r#", "instance_info": {{"image_type": "partition", "kernel": "http://10.99.0.1/vmlinuz",
                        "ramdisk": "http://10.99.0.1/initrd"}}, "driver_internal_info": {{"root_uuid_or_disk_id": "{n:08x}-1111-4222-8333-444455556666"}}"#
                    ),
                )
            };
            let _ = write!(
                json,
                r#"{separator}{{"uuid": "{n:08x}-0000-4000-8000-000000000000", "driver": "ipmi", "provision_state": "{state}",
                "driver_info": {{"deploy_kernel": "http://10.99.0.1/ipa.kernel", "deploy_ramdisk": "http://10.99.0.1/ipa.initramfs",
                "kernel_append_params": "console=ttyS0,115200n8 nofb"}}{instance}}}"#
            );
        }
        json.push_str("], \"ports\": [");
        for n in 0..COUNT {
            let separator = if n == 0 { "" } else { "," };
            let [_, a, b, c] = u32::try_from(n).unwrap_or(0).to_be_bytes();
            let _ = write!(
                json,
                r#"{separator}{{"address": "52:54:00:{a:02x}:{b:02x}:{c:02x}", "node_uuid": "{n:08x}-0000-4000-8000-000000000000"}}"#
            );
        }
        json.push_str("]}");
        let Some(mut buffers) = HeapInventoryBuffers::new(InventoryCapacity::new(COUNT, COUNT, 1 << 20)) else {
            return (1, 0);
        };
        match buffers.load(json.as_bytes()) {
            Ok(inventory) => {
                let records = inventory.node_count() * core::mem::size_of::<NodeRecord>()
                    + inventory.port_count() * core::mem::size_of::<PortRecord>();
                (inventory.node_count(), records + inventory.string_bytes())
            }
            Err(error) => {
                eprintln!("generated inventory rejected: {error}");
                (1, 0)
            }
        }
    }
}
