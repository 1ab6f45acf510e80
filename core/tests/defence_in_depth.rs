//! The renderer re-checks what it writes: an inventory viewed over storage that someone
//! else wrote (the C ABI hands callers the bytes; `Inventory::view` trusts them) must not
//! turn a corrupted value into script commands.

// Helpers shared by the tests below; a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::missing_panics_doc)]

mod common;

use ipxe_config::{
    load, render, Extent, Inventory, InventoryCapacity, InventoryStorage, NodeRecord, PortRecord, Refusal,
    RenderConfig, Route, ScriptKind,
};

/// Inventory memory the test owns byte for byte, as a C caller owns the block it gives
/// the C ABI: slices from elsewhere, not core's buffers, whose bytes nobody else can write.
struct ForeignStorage {
    nodes: Vec<NodeRecord>,
    ports: Vec<PortRecord>,
    strings: Vec<u8>,
    extent: Extent,
}

impl ForeignStorage {
    fn inventory(&self) -> Inventory<'_> {
        Inventory::view(&self.nodes, &self.ports, &self.strings, self.extent)
    }
}

/// Loads the fixture, then overwrites the first occurrence of `from` in the string pool
/// with `to` (same length), as a careless or hostile owner of the storage could.
fn corrupted(from: &str, to: &str) -> ForeignStorage {
    assert_eq!(from.len(), to.len());
    let json = std::fs::read(common::fixture("inventory.json")).expect("fixture");
    let capacity = InventoryCapacity::new(64, 64, 16 * 1024);
    let mut storage = ForeignStorage {
        nodes: vec![NodeRecord::EMPTY; capacity.nodes],
        ports: vec![PortRecord::EMPTY; capacity.ports],
        strings: vec![0; capacity.string_bytes],
        extent: Extent::default(),
    };
    let mut index = vec![0; capacity.string_index_slots().expect("fits")];
    let slices = InventoryStorage {
        nodes: &mut storage.nodes,
        ports: &mut storage.ports,
        strings: &mut storage.strings,
        string_index: &mut index,
    };
    storage.extent = load(&json, slices).expect("fixture loads").extent();
    let used = storage.extent.string_bytes;
    let at = storage.strings[..used]
        .windows(from.len())
        .position(|window| window == from.as_bytes())
        .unwrap_or_else(|| panic!("{from:?} not in the pool"));
    storage.strings[at..at + to.len()].copy_from_slice(to.as_bytes());
    storage
}

fn script_for(inventory: &Inventory<'_>, target: &str) -> (String, ipxe_config::Rendered<'static>) {
    let route = Route::parse(target.as_bytes()).expect("valid target");
    let mut out = [0u8; 4096];
    let rendered = render(inventory, &RenderConfig::DEFAULT, &route, &mut out).expect("fits");
    let text = String::from_utf8(out[..rendered.len].to_vec()).expect("UTF-8");
    let summary = ipxe_config::Rendered { state: None, refusal: None, ..rendered };
    (text, summary)
}

#[test]
fn a_corrupted_provision_state_gets_an_error_script_not_a_command() {
    // "deploying" is the deploy nodes' state; a line break would start a new command.
    let storage = corrupted("deploying", "deploy\nsh");
    let inventory = storage.inventory();
    let target = "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52:54:00:00:00:01";
    let route = Route::parse(target.as_bytes()).unwrap();
    let mut out = [0u8; 4096];
    let rendered = render(&inventory, &RenderConfig::DEFAULT, &route, &mut out).unwrap();
    assert_eq!(rendered.kind, ScriptKind::Error);
    assert_eq!(rendered.refusal, Some(Refusal::UnsafeValue("provision_state")));
    let text = std::str::from_utf8(&out[..rendered.len]).unwrap();
    assert!(!text.lines().any(|line| line == "sh" || line.starts_with("sh ")), "{text}");
    assert!(text.contains("provision state: (withheld: not printable)"), "{text}");
}

#[test]
fn a_corrupted_driver_gets_an_error_script_not_a_command() {
    let storage = corrupted("ipmi", "i\nmi");
    let inventory = storage.inventory();
    let (text, rendered) =
        script_for(&inventory, "/v1/drivers/any/vendor_passthru/ipxe_config?port_address=52:54:00:00:00:01");
    assert_eq!(rendered.kind, ScriptKind::Error);
    assert!(!text.lines().any(|line| line.starts_with("mi")), "{text}");
}
