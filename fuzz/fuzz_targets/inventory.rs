//! Arbitrary JSON loaded into small storage (8 nodes, 16 ports, 4 KiB of strings). When it
//! loads, every route of every node (by UUID and by each port, with the any-driver, the
//! node's own driver and another one) and of the server (`/boot.ipxe`, unknown node and
//! MAC) is rendered under two configurations; each script must start with `#!ipxe`, fit
//! where `render` said it would, and use only the renderer's commands, labels and
//! settings (`script_grammar::shape::check_vocabulary`).

#![no_main]

#[path = "../../core/tests/script_grammar/mod.rs"]
mod script_grammar;

use ipxe_config::route::DriverName;
use ipxe_config::{render, BootMode, ErrorEnding, Inventory, InventoryBuffers, RenderConfig, Route};
use libfuzzer_sys::fuzz_target;
use script_grammar::{ipxe, shape};

const CONFIGS: [RenderConfig<'static>; 2] = [
    RenderConfig::DEFAULT,
    RenderConfig {
        base_url: Some("http://10.99.0.1"),
        ipa_api_url: Some("http://10.99.0.1:6385"),
        deploy_kernel: Some("http://10.99.0.1/ipa.kernel"),
        deploy_ramdisk: Some("http://10.99.0.1/ipa.initramfs"),
        append_params: Some("console=ttyS0"),
        boot_mode: BootMode::Bios,
        fetch_timeout_ms: Some(60_000),
        error_pause_seconds: 0,
        error_ending: ErrorEnding::Retry,
        ..RenderConfig::DEFAULT
    },
];

fn check(inventory: &Inventory<'_>, target: &str) {
    let Ok(route) = Route::parse(target.as_bytes()) else {
        return;
    };
    for config in &CONFIGS {
        let mut out = [0u8; 8192];
        let text = match render(inventory, config, &route, &mut out) {
            Ok(rendered) => out[..rendered.len].to_vec(),
            Err(too_small) => {
                let mut big = vec![0u8; too_small.needed];
                match render(inventory, config, &route, &mut big) {
                    Ok(rendered) => {
                        assert_eq!(rendered.len, too_small.needed, "{target}");
                        big
                    }
                    Err(again) => panic!("{target}: needed {} then {}", too_small.needed, again.needed),
                }
            }
        };
        assert!(text.starts_with(b"#!ipxe\n"), "{target}");
        let text = match String::from_utf8(text) {
            Ok(text) => text,
            Err(error) => panic!("{target}: script is not UTF-8: {error}"),
        };
        if let Err(problem) = shape::check_vocabulary(&ipxe::parse(&text)) {
            panic!("{target}: {problem}\n{text}");
        }
    }
}

fuzz_target!(|json: &[u8]| {
    let mut buffers = InventoryBuffers::<8, 16, 4096>::new();
    let Ok(inventory) = buffers.load(json) else {
        return;
    };
    let endpoint = |driver: &str, query: &str| format!("/v1/drivers/{driver}/vendor_passthru/ipxe_config?{query}");
    check(&inventory, "/boot.ipxe");
    check(&inventory, &endpoint("any", "node_uuid=ffffffff-ffff-4fff-bfff-ffffffffffff"));
    check(&inventory, &endpoint("any", "port_address=02%3A00%3A00%3A00%3Aff%3Aff"));
    for node in inventory.nodes() {
        let mut drivers = vec!["any", "other-driver"];
        if DriverName::new(node.driver()).is_some() {
            drivers.push(node.driver());
        }
        for driver in drivers {
            check(&inventory, &endpoint(driver, &format!("node_uuid={}", node.uuid())));
            for port in inventory.ports().iter().filter(|port| port.node_uuid() == node.uuid()) {
                check(&inventory, &endpoint(driver, &format!("port_address={}", port.address())));
            }
        }
    }
});
