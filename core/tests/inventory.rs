//! Loading inventories: real Ironic output, deduplication, and every rejection with the
//! exact message an operator reads.

mod common;

use std::fmt::Write as _;

use common::Storage;
use ipxe_config::{BootMode, ImageType, PortAddress, ProvisionState, Uuid};

const UUID: &str = "6f1bc3a4-2e9d-4c1b-8f0e-a1b2c3d4e5f6";

#[test]
fn real_ironic_output_loads_with_escapes_decoded_and_extras_skipped() {
    let storage = common::load_fixture("ironic-detail.json");
    let inventory = storage.inventory();
    assert_eq!(inventory.node_count(), 1);
    assert_eq!(inventory.port_count(), 1, "the pxe_enabled: false port is ignored");
    let node = inventory.node_by_address(&PortAddress::parse(b"b8:59:9f:12:34:56").unwrap()).expect("by MAC");
    assert_eq!(node.uuid(), Uuid::parse_str(UUID).unwrap());
    assert_eq!(node.deploy_kernel(), Some("http://10.99.0.1:8080/images/ipa.kernel"));
    assert_eq!(node.deploy_ramdisk(), Some("http://10.99.0.1:8080/images/ipa.initramfs"));
    assert_eq!(node.provision_state(), ProvisionState::WaitCallBack);
    // `boot_mode` is null, but properties.capabilities says `boot_mode:uefi`, which
    // Ironic reads first (boot_mode_utils.get_boot_mode_for_deploy).
    assert_eq!(node.boot_mode(), BootMode::Uefi);
    assert_eq!(node.cpu_arch(), Some("x86_64"));
    assert_eq!(node.boot_interface(), Some("ipxe"));
    assert_eq!(node.image_type(), ImageType::WholeDisk);
    assert!(inventory.node_by_address(&PortAddress::parse(b"b8:59:9f:12:34:57").unwrap()).is_none());
    assert!(inventory.node_by_uuid(&Uuid::parse_str(UUID).unwrap()).is_some());
}

#[test]
fn ten_thousand_nodes_share_one_copy_of_each_url() {
    let mut json = String::from(r#"{"nodes": ["#);
    for n in 0..10_000u32 {
        if n > 0 {
            json.push(',');
        }
        write!(
            json,
            r#"{{"uuid": "{n:08x}-0000-4000-8000-000000000000", "driver": "ipmi", "provision_state": "deploying",
            "driver_info": {{"deploy_kernel": "http://10.99.0.1/ipa.kernel", "deploy_ramdisk": "http://10.99.0.1/ipa.initramfs"}}}}"#
        )
        .unwrap();
    }
    json.push_str(r#"], "ports": []}"#);
    let mut storage = Storage::new(10_000, 16, 1024);
    let inventory = storage.load(json.as_bytes()).expect("loads");
    assert_eq!(inventory.node_count(), 10_000);
    let expected = ["ipmi", "deploying", "http://10.99.0.1/ipa.kernel", "http://10.99.0.1/ipa.initramfs"]
        .iter()
        .map(|s| s.len() + 2)
        .sum::<usize>();
    assert_eq!(inventory.string_bytes(), expected);
}

fn node_json(driver_info: &str) -> String {
    format!(
        r#"{{"nodes": [{{"driver": "ipmi", "provision_state": "deploying", "driver_info": {driver_info}, "uuid": "{UUID}"}}], "ports": []}}"#
    )
}

fn load_error(json: &str) -> String {
    let mut storage = Storage::new(4, 4, 1024);
    match storage.load(json.as_bytes()) {
        Ok(_) => panic!("accepted: {json}"),
        Err(error) => error.to_string(),
    }
}

/// The one node of `json` loads quarantined; its cause, as the load report prints it.
fn quarantine_of(json: &str) -> String {
    let mut storage = Storage::new(4, 4, 1024);
    let inventory = storage.load(json.as_bytes()).unwrap_or_else(|e| panic!("rejected: {e}\n{json}"));
    let quarantined: Vec<_> = inventory.quarantined().collect();
    assert_eq!(inventory.quarantined_count(), quarantined.len());
    match quarantined.as_slice() {
        [(uuid, cause)] => format!("node {uuid}: {cause}"),
        other => panic!("expected one quarantined node, got {other:?}\n{json}"),
    }
}

#[test]
fn unsafe_values_quarantine_the_node_naming_node_and_field() {
    let cases = [
        (r#"{"deploy_kernel": "http://x/k\nshell"}"#, "driver_info.deploy_kernel: contains a line break"),
        (r#"{"deploy_kernel": "http://x/k\r"}"#, "driver_info.deploy_kernel: contains a line break"),
        (r#"{"deploy_ramdisk": "http://x/\u0000"}"#, "driver_info.deploy_ramdisk: contains a NUL byte"),
        (r#"{"deploy_kernel": "http://x/k i"}"#, "driver_info.deploy_kernel: contains whitespace"),
        (
            r#"{"kernel_append_params": "quiet || shell"}"#,
            "driver_info.kernel_append_params: contains a command separator (`||`, `&&` or `;`)",
        ),
        (
            r#"{"kernel_append_params": "x=${net0/ip}"}"#,
            "driver_info.kernel_append_params: contains `${`, which iPXE would expand",
        ),
        (
            r#"{"kernel_append_params": "quiet #x"}"#,
            "driver_info.kernel_append_params: contains a word starting with `#`, which iPXE reads as a comment",
        ),
        (r#"{"rescue_kernel": "\u001b[2J"}"#, "driver_info.rescue_kernel: contains a control character"),
    ];
    for (driver_info, expected) in cases {
        assert_eq!(quarantine_of(&node_json(driver_info)), format!("node {UUID}: {expected}"), "{driver_info}");
    }
}

#[test]
fn structural_problems_are_named() {
    let node = |uuid: &str| format!(r#"{{"uuid": "{uuid}", "driver": "ipmi", "provision_state": "active"}}"#);
    let port = |mac: &str, uuid: &str| format!(r#"{{"address": "{mac}", "node_uuid": "{uuid}"}}"#);
    let other = "00000000-0000-4000-8000-000000000001";
    let cases = [
        (
            format!(r#"{{"nodes": [{}, {}]}}"#, node(UUID), node(UUID)),
            format!("node {UUID}: uuid: a second node has this uuid"),
        ),
        (
            format!(
                r#"{{"nodes": [{}, {}], "ports": [{}, {}]}}"#,
                node(UUID),
                node(other),
                port("52:54:00:00:00:01", UUID),
                port("52-54-00-00-00-01", other)
            ),
            "port 52:54:00:00:00:01: address: address already listed (for node ".to_string(),
        ),
        (
            format!(r#"{{"nodes": [], "ports": [{}]}}"#, port("52:54:00:00:00:01", other)),
            format!("port 52:54:00:00:00:01: node_uuid: no node {other} in the inventory"),
        ),
        (
            format!(r#"{{"nodes": [], "ports": [{}]}}"#, port("52:54:00:00:00", other)),
            "port #0 (no address read): address: not a MAC address".to_string(),
        ),
        (
            r#"{"nodes": [{"driver": "ipmi", "provision_state": "active"}]}"#.to_string(),
            "node #0 (no uuid read): uuid: missing".to_string(),
        ),
        (
            format!(r#"{{"nodes": [{{"uuid": "{UUID}", "driver": 7}}]}}"#),
            "node #0 (no uuid read): driver: invalid JSON: ".to_string(),
        ),
        (
            format!(r#"{{"nodes": [{}, {}, {}, {}, {}]}}"#, node(UUID), node(UUID), node(UUID), node(UUID), node(UUID)),
            "inventory: more than 4 nodes (node capacity)".to_string(),
        ),
        (r#"{"nodes": ["#.to_string(), "node #0 (no uuid read): invalid JSON: EOF".to_string()),
        ("[1, 2]".to_string(), "inventory: invalid JSON: ".to_string()),
        (
            // An error inside a skipped field names no field rather than the one before it.
            r#"{"nodes": [{"driver": "ipmi", "extra": {"a": [1, }}}]}"#.to_string(),
            "node #0 (no uuid read): invalid JSON: ".to_string(),
        ),
    ];
    for (json, expected) in cases {
        let message = load_error(&json);
        assert!(message.starts_with(&expected), "{json}\n  got:      {message}\n  expected: {expected}…");
    }
    // Values the node cannot boot with quarantine it rather than the file.
    assert_eq!(
        quarantine_of(&format!(r#"{{"nodes": [{{"uuid": "{UUID}", "provision_state": "active"}}]}}"#)),
        format!("node {UUID}: driver: missing")
    );
    assert_eq!(
        quarantine_of(&format!(
            r#"{{"nodes": [{{"uuid": "{UUID}", "driver": "ipmi", "provision_state": "active", "boot_mode": "legacy"}}]}}"#
        )),
        format!("node {UUID}: boot_mode: not a value the field takes")
    );
}

#[test]
fn small_string_pool_is_reported_as_such_and_escapes_are_decoded() {
    let json = node_json(r#"{"deploy_kernel": "http://10.99.0.1/a-rather-long-kernel-url"}"#);
    let mut storage = Storage::new(4, 4, 24);
    let message = storage.load(json.as_bytes()).map(|_| ()).unwrap_err().to_string();
    assert!(message.ends_with("strings need more than 24 bytes (string pool capacity)"), "{message}");

    let json = node_json(r#"{"deploy_kernel": "http:\/\/10.99.0.1\/k\u00e9rnel\ud83d\ude00"}"#);
    let mut storage = Storage::new(4, 4, 1024);
    let inventory = storage.load(json.as_bytes()).expect("loads");
    let node = inventory.node_by_uuid(&Uuid::parse_str(UUID).unwrap()).unwrap();
    assert_eq!(node.deploy_kernel(), Some("http://10.99.0.1/kérnel😀"));
}

#[test]
fn masked_and_empty_values_read_as_absent() {
    let json = node_json(r#"{"deploy_kernel": "******", "deploy_ramdisk": "", "kernel_append_params": null}"#);
    let mut storage = Storage::new(4, 4, 1024);
    let inventory = storage.load(json.as_bytes()).expect("loads");
    let node = inventory.node_by_uuid(&Uuid::parse_str(UUID).unwrap()).unwrap();
    assert_eq!((node.deploy_kernel(), node.deploy_ramdisk(), node.deploy_append()), (None, None, None));
}

/// The boot mode's sources, resolved as Ironic 39's `boot_mode_utils` does.
#[test]
fn boot_mode_is_resolved_from_every_source_in_ironics_order() {
    let cases: [(&str, Option<BootMode>); 8] = [
        (r#""boot_mode": "uefi", "properties": {"capabilities": "boot_mode:bios"}"#, Some(BootMode::Bios)),
        (r#""properties": {"capabilities": " disk_label : gpt , boot_mode : BIOS "}"#, Some(BootMode::Bios)),
        (r#""properties": {"capabilities": {"boot_mode": "bios", "nested": [[1]]}}"#, Some(BootMode::Bios)),
        (r#""instance_info": {"capabilities": "{\"boot_mode\": \"bios\"}"}"#, Some(BootMode::Bios)),
        (
            r#""boot_mode": "bios", "instance_info": {"capabilities": {"secure_boot": "True", "boot_mode": "bios"}}"#,
            Some(BootMode::Uefi),
        ),
        (r#""driver_internal_info": {"deploy_boot_mode": "bios"}, "boot_mode": "uefi""#, Some(BootMode::Bios)),
        (r#""instance_info": {"capabilities": "not json"}"#, None),
        (r#""instance_info": {"deploy_boot_mode": "legacy"}"#, None),
    ];
    for (fields, expected) in cases {
        let json =
            format!(r#"{{"nodes": [{{"uuid": "{UUID}", "driver": "ipmi", "provision_state": "active", {fields}}}]}}"#);
        let mut storage = Storage::new(4, 4, 4096);
        let inventory = storage.load(json.as_bytes()).unwrap_or_else(|e| panic!("{fields}: {e}"));
        let node = inventory.node_by_uuid(&Uuid::parse_str(UUID).unwrap()).unwrap();
        match expected {
            Some(mode) => assert_eq!(node.boot_mode(), mode, "{fields}"),
            None => assert!(node.quarantine().is_some(), "{fields}: quarantined"),
        }
    }
}
