//! One bad node must not block the fleet: quarantine, what still rejects a document,
//! iPXE's kernel-line bounds, and JSON read the way standard parsers read it.

mod common;

use common::Storage;
use ipxe_config::quarantine::{MAX_KERNEL_CMDLINE, MAX_KERNEL_WORDS};
use ipxe_config::{
    load_fitted, render, HeapInventoryBuffers, InventoryCapacity, NodeField, PortAddress, QuarantineProblem, Refusal,
    RenderConfig, Route, ScriptFit, ScriptKind, Uuid,
};

const BAD: &str = "0000000f-0000-4000-8000-00000000000f";
const GOOD: &str = "00000010-0000-4000-8000-000000000010";

fn document(bad_driver_info: &str) -> String {
    format!(
        r#"{{"nodes": [
        {{"uuid": "{BAD}", "driver": "ipmi", "provision_state": "deploying", "driver_info": {bad_driver_info}}},
        {{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "deploying",
          "driver_info": {{"deploy_kernel": "http://x/k", "deploy_ramdisk": "http://x/r"}}}}],
      "ports": [{{"address": "52:54:00:00:00:0f", "node_uuid": "{BAD}"}},
                {{"address": "52:54:00:00:00:10", "node_uuid": "{GOOD}"}}]}}"#
    )
}

fn script(inventory: &ipxe_config::Inventory<'_>, target: &str) -> (Option<Refusal<'static>>, ScriptKind, String) {
    let route = Route::parse(target.as_bytes()).unwrap_or_else(|e| panic!("{target}: {e}"));
    let mut out = vec![0u8; 16 * 1024];
    let rendered = render(inventory, &RenderConfig::DEFAULT, &route, &mut out).unwrap_or_else(|e| panic!("{e}"));
    let refusal = match rendered.refusal {
        Some(Refusal::Quarantined(cause)) => Some(Refusal::Quarantined(cause)),
        Some(_) => Some(Refusal::UnbootableState),
        None => None,
    };
    (refusal, rendered.kind, String::from_utf8_lossy(&out[..rendered.len]).into_owned())
}

#[test]
fn each_unsafe_kind_quarantines_one_node_while_its_neighbour_boots() {
    let cases = [
        r#"{"deploy_kernel": "http://x/k\nshell"}"#,
        r#"{"deploy_kernel": "http://x/\u0000"}"#,
        r#"{"deploy_kernel": "http://x/k\u0009"}"#,
        r#"{"deploy_kernel": "http://x/k i"}"#,
        r#"{"deploy_kernel": "-x"}"#,
        r#"{"kernel_append_params": "a ${x}"}"#,
        r#"{"kernel_append_params": "a && b"}"#,
        r#"{"kernel_append_params": "a #b"}"#,
        // Quotes are ordinary to iPXE (see safety.rs); a word ending in a backslash is not.
        r#"{"kernel_append_params": "a b\\ c"}"#,
    ];
    for driver_info in cases {
        let json = document(driver_info);
        let mut storage = Storage::new(4, 4, 4096);
        let inventory = storage.load(json.as_bytes()).unwrap_or_else(|e| panic!("{driver_info}: {e}"));
        assert_eq!(inventory.node_count(), 2);
        let quarantined: Vec<_> = inventory.quarantined().collect();
        assert_eq!(quarantined.len(), 1, "{driver_info}");
        let (uuid, cause) = quarantined[0];
        assert_eq!(uuid, Uuid::parse_str(BAD).unwrap());
        assert!(matches!(cause.problem, QuarantineProblem::Unsafe(_)), "{driver_info}: {cause:?}");
        // Nothing but the UUID is kept.
        let node = inventory.node_by_uuid(&uuid).unwrap();
        assert_eq!((node.driver(), node.deploy_kernel(), node.deploy_append()), ("", None, None));

        // By MAC and by UUID, whatever the driver asked for: the quarantine error script.
        for target in [
            "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52:54:00:00:00:0f",
            &format!("/v1/drivers/redfish/vendor_passthru/ipxe_config?node_uuid={BAD}"),
        ] {
            let (refusal, kind, text) = script(&inventory, target);
            assert_eq!((refusal, kind), (Some(Refusal::Quarantined(cause)), ScriptKind::Error), "{target}");
            assert!(text.contains(cause.field.path()), "{text}");
            assert!(!text.contains("http://x/"), "a quarantined node's values never reach a script:\n{text}");
        }
        let (refusal, kind, _) =
            script(&inventory, "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52:54:00:00:00:10");
        assert_eq!((refusal, kind), (None, ScriptKind::DeployRamdisk), "the neighbour boots");
    }
}

#[test]
fn syntax_errors_duplicates_and_capacity_still_reject_the_file() {
    let good = document(r#"{"kernel_append_params": "a || b"}"#);
    let cases = [
        (good.replacen(']', "", 1), "invalid JSON"),
        (good.replace(GOOD, BAD), "a second node has this uuid"),
        (good.replace("52:54:00:00:00:10", "52:54:00:00:00:0f"), "address already listed"),
    ];
    for (json, expected) in cases {
        let mut storage = Storage::new(4, 4, 4096);
        let message = storage.load(json.as_bytes()).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
    let mut storage = Storage::new(1, 4, 4096);
    let message = storage.load(good.as_bytes()).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("node capacity"), "{message}");
}

fn words(n: usize) -> String {
    (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
}

#[test]
fn kernel_lines_past_ipxe_bounds_quarantine_the_node() {
    let cases = [
        (words(MAX_KERNEL_WORDS + 1), QuarantineProblem::TooManyWords),
        (format!("x={}", "a".repeat(MAX_KERNEL_CMDLINE)), QuarantineProblem::LineTooLong),
    ];
    for (append, problem) in cases {
        let json = document(&format!(r#"{{"kernel_append_params": "{append}"}}"#));
        let mut storage = Storage::new(4, 4, 8192);
        let inventory = storage.load(json.as_bytes()).unwrap();
        let (_, cause) = inventory.quarantined().next().expect("quarantined");
        assert_eq!((cause.field, cause.problem), (NodeField::DeployAppend, problem));
        let message = cause.to_string();
        assert!(message.starts_with("driver_info.kernel_append_params: "), "{message}");
    }
    // Within the field's bound, but the configured words push the rendered line past it.
    let json = document(&format!(
        r#"{{"deploy_kernel": "http://x/k", "deploy_ramdisk": "http://x/r", "kernel_append_params": "{}"}}"#,
        words(MAX_KERNEL_WORDS - 2)
    ));
    let mut buffers = HeapInventoryBuffers::new(InventoryCapacity::new(4, 4, 8192)).unwrap();
    let mut scratch = vec![0u8; 16 * 1024];
    let config = RenderConfig { ipa_api_url: Some("http://10.99.0.1:6385"), ..RenderConfig::DEFAULT };
    let inventory = buffers.load_fitted(json.as_bytes(), ScriptFit { config: &config, scratch: &mut scratch }).unwrap();
    let quarantined: Vec<_> = inventory.quarantined().collect();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].0, Uuid::parse_str(BAD).unwrap());
    assert_eq!(quarantined[0].1.problem, QuarantineProblem::TooManyWords);
}

#[test]
fn a_script_larger_than_the_response_buffer_quarantines_at_load() {
    // The bad node's URL makes its deploy script about 1.5 KiB longer than its neighbour's.
    let long = format!("http://x/{}", "k".repeat(1500));
    let json = document(&format!(r#"{{"deploy_kernel": "{long}", "deploy_ramdisk": "http://x/r"}}"#));
    let mut storage = Storage::new(4, 4, 8192);
    let inventory = storage.load(json.as_bytes()).unwrap();
    let mut out = vec![0u8; 16 * 1024];
    let route =
        Route::parse(format!("/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={GOOD}").as_bytes()).unwrap();
    let good_len = render(&inventory, &RenderConfig::DEFAULT, &route, &mut out).unwrap().len;

    let mut buffers = HeapInventoryBuffers::new(InventoryCapacity::new(4, 4, 8192)).unwrap();
    let mut scratch = vec![0u8; good_len + 400];
    let fit = ScriptFit { config: &RenderConfig::DEFAULT, scratch: &mut scratch };
    let inventory = load_fitted(json.as_bytes(), &mut buffers, fit).unwrap();
    let quarantined: Vec<_> = inventory.quarantined().collect();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(
        (quarantined[0].1.field, quarantined[0].1.problem),
        (NodeField::Script, QuarantineProblem::ScriptTooLarge)
    );
    let address = PortAddress::parse(b"52:54:00:00:00:0f").unwrap();
    assert!(inventory.node_by_address(&address).and_then(|node| node.quarantine()).is_some());
}

#[test]
fn repeated_keys_reject_the_document() {
    let node = format!(r#"{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active"}}"#);
    let cases = [
        (format!(r#"{{"nodes": [{node}], "nodes": []}}"#), "inventory: nodes: key given twice"),
        (format!(r#"{{"ports": [], "nodes": [{node}], "ports": []}}"#), "inventory: ports: key given twice"),
        (
            format!(
                r#"{{"nodes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active", "provision_state": "deploying"}}]}}"#
            ),
            "provision_state: key given twice",
        ),
        (
            format!(
                r#"{{"nodes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active", "driver_info": {{"deploy_kernel": "http://a", "deploy_kernel": "http://b"}}}}]}}"#
            ),
            "driver_info.deploy_kernel: key given twice",
        ),
        (
            format!(
                r#"{{"nodes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active", "driver_info": {{}}, "driver_info": {{}}}}]}}"#
            ),
            "driver_info: key given twice",
        ),
    ];
    for (json, expected) in cases {
        let mut storage = Storage::new(4, 4, 4096);
        let message = storage.load(json.as_bytes()).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains(expected), "{json}\n  got: {message}");
    }
}

#[test]
fn escaped_keys_are_decoded_before_matching() {
    let json = format!(
        r#"{{"n\u006fdes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision\u005fstate": "active"}}],
        "ports": [{{"address": "52:54:00:00:00:10", "node_uuid": "{GOOD}", "pxe\u005fenabled": false}}]}}"#
    );
    let mut storage = Storage::new(4, 4, 4096);
    let inventory = storage.load(json.as_bytes()).unwrap();
    assert_eq!(inventory.node_count(), 1);
    assert_eq!(inventory.quarantined_count(), 0, "provision_state was read");
    assert_eq!(inventory.port_count(), 0, "pxe_enabled: false was read");
}

#[test]
fn deep_nesting_is_a_load_error_not_a_stack_overflow() {
    // 64 KiB of stack: serde's IgnoredAny would need far more for 100,000 levels.
    let outcome = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let depth = 100_000;
            let json = format!(
                r#"{{"nodes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active", "extra": {}{}}}]}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let mut storage = Storage::new(4, 4, 4096);
            let message = storage.load(json.as_bytes()).map(|_| ()).unwrap_err().to_string();
            let top = format!(r#"{{"x": {}{}, "nodes": []}}"#, "{\"a\":".repeat(depth), "}".repeat(depth));
            let top_message = storage.load(top.as_bytes()).map(|_| ()).unwrap_err().to_string();
            (message, top_message)
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(outcome.0, format!("node #0 (no uuid read): `extra` nests arrays or objects deeper than 32 levels"));
    assert_eq!(outcome.1, "inventory: `x` nests arrays or objects deeper than 32 levels");
    // Within the bound, nesting is fine.
    let json = format!(
        r#"{{"nodes": [{{"uuid": "{GOOD}", "driver": "ipmi", "provision_state": "active", "extra": {}{}}}]}}"#,
        "[".repeat(25),
        "]".repeat(25)
    );
    let mut storage = Storage::new(4, 4, 4096);
    assert!(storage.load(json.as_bytes()).is_ok());
}
