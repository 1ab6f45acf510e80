//! A firmware-shaped program: static buffers, an inventory loaded from flash, one request
//! target rendered. Built for `thumbv7em-none-eabihf` it is the honest measure of what the
//! no_std crates cost in `.text`/`.rodata`; on the host it is an ordinary program doing the
//! same work (so `cargo test --workspace` and clippy see it too).

#![cfg_attr(target_os = "none", no_std, no_main)]

use ipxe_config::{load, render, Config, InventoryStorage, NodeRecord, PortRecord, Route};

/// The inventory a firmware image would carry in flash.
static INVENTORY: &[u8] = include_bytes!("../../fixtures/inventory.json");
const TARGET: &[u8] = b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";

/// Loads the inventory and renders one script; returns the script length (0 on error).
fn serve_once(json: &[u8], target: &[u8], storage: InventoryStorage<'_>, out: &mut [u8]) -> usize {
    let Ok(inventory) = load(json, storage) else {
        return 0;
    };
    let Ok(route) = Route::parse(target) else {
        return 0;
    };
    render(&inventory, &Config::DEFAULT, &route, out).map_or(0, |rendered| rendered.len)
}

#[cfg(target_os = "none")]
mod firmware {
    use super::{serve_once, InventoryStorage, NodeRecord, PortRecord, INVENTORY, TARGET};
    use core::hint::black_box;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        loop {}
    }

    /// The reset entry point a linker script would name.
    #[unsafe(no_mangle)]
    pub extern "C" fn _start() -> ! {
        let mut nodes = [NodeRecord::EMPTY; 32];
        let mut ports = [PortRecord::EMPTY; 32];
        let mut strings = [0u8; 4096];
        let mut index = [0u32; 256];
        let mut unescape = [0u8; 512];
        let mut out = [0u8; 2048];
        // black_box keeps the optimiser from folding the whole run into a constant.
        let storage = InventoryStorage {
            nodes: &mut nodes,
            ports: &mut ports,
            strings: &mut strings,
            string_index: &mut index,
            unescape: &mut unescape,
        };
        let len = serve_once(black_box(INVENTORY), black_box(TARGET), storage, &mut out);
        black_box((len, &out));
        loop {}
    }
}

/// On the host: render once as the firmware would, then print the memory figures
/// `cargo xtask bench` reports, as `name=value` lines.
#[cfg(not(target_os = "none"))]
fn main() {
    let mut nodes = vec![NodeRecord::EMPTY; 32];
    let mut ports = vec![PortRecord::EMPTY; 32];
    let (mut strings, mut index, mut unescape, mut out) =
        (vec![0u8; 4096], vec![0u32; 256], vec![0u8; 512], vec![0u8; 2048]);
    let storage = InventoryStorage {
        nodes: &mut nodes,
        ports: &mut ports,
        strings: &mut strings,
        string_index: &mut index,
        unescape: &mut unescape,
    };
    let len = serve_once(INVENTORY, TARGET, storage, &mut out);
    println!("rendered_script_bytes={len}");
    println!("node_record_bytes={}", core::mem::size_of::<NodeRecord>());
    println!("port_record_bytes={}", core::mem::size_of::<PortRecord>());
    let (count, used) = host::ten_thousand_nodes();
    println!("inventory_nodes={count}");
    println!("inventory_bytes_per_node={:.1}", used as f64 / count as f64);
}

#[cfg(not(target_os = "none"))]
mod host {
    use std::fmt::Write as _;

    use ipxe_config::{load, InventoryStorage, NodeRecord, PortRecord};

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
        let mut nodes = vec![NodeRecord::EMPTY; COUNT];
        let mut ports = vec![PortRecord::EMPTY; COUNT];
        let (mut strings, mut index, mut unescape) = (vec![0u8; 1 << 20], vec![0u32; 4 * COUNT], vec![0u8; 4096]);
        let storage = InventoryStorage {
            nodes: &mut nodes,
            ports: &mut ports,
            strings: &mut strings,
            string_index: &mut index,
            unescape: &mut unescape,
        };
        match load(json.as_bytes(), storage) {
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
