//! A firmware-shaped program: static buffers, an inventory loaded from flash, one request
//! target rendered. Built for `thumbv7em-none-eabihf` it is the honest measure of what the
//! no_std crates cost in `.text`/`.rodata`; on the host it is an ordinary program doing the
//! same work (so `cargo test --workspace` and clippy see it too).

#![cfg_attr(target_os = "none", no_std, no_main)]

use ipxe_config::{load, render, Config, InventoryStorage, NodeRecord, PortRecord, Route};

/// The inventory a firmware image would carry in flash.
static INVENTORY: &[u8] = include_bytes!("../../fixtures/inventory.json");
const TARGET: &[u8] =
    b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";

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

#[cfg(not(target_os = "none"))]
fn main() {
    let mut nodes = vec![NodeRecord::EMPTY; 32];
    let mut ports = vec![PortRecord::EMPTY; 32];
    let (mut strings, mut index, mut unescape, mut out) = (
        vec![0u8; 4096],
        vec![0u32; 256],
        vec![0u8; 512],
        vec![0u8; 2048],
    );
    let storage = InventoryStorage {
        nodes: &mut nodes,
        ports: &mut ports,
        strings: &mut strings,
        string_index: &mut index,
        unescape: &mut unescape,
    };
    let len = serve_once(INVENTORY, TARGET, storage, &mut out);
    println!("rendered {len} bytes");
}
