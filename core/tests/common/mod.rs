//! Shared by the integration tests: fixture loading into heap inventory buffers, and the
//! golden cases (one per row of the DESIGN.md state table, plus the error paths).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};

use ipxe_config::config::ArchImages;
use ipxe_config::{
    BootMode, ErrorEnding, Extent, HeapInventoryBuffers, Inventory, InventoryCapacity, LoadError, RenderConfig,
};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name)
}

/// Inventory buffers allocated once, like the host binary does at start-up, and the
/// extent of the last inventory loaded into them.
pub struct Storage {
    buffers: HeapInventoryBuffers,
    pub extent: Extent,
}

impl Storage {
    pub fn new(nodes: usize, ports: usize, string_bytes: usize) -> Self {
        let capacity = InventoryCapacity::new(nodes, ports, string_bytes);
        let buffers = HeapInventoryBuffers::new(capacity).unwrap_or_else(|| panic!("{capacity:?} overflows"));
        Self { buffers, extent: Extent::default() }
    }

    pub fn load(&mut self, json: &[u8]) -> Result<Inventory<'_>, LoadError> {
        let inventory = self.buffers.load(json)?;
        self.extent = inventory.extent();
        Ok(inventory)
    }

    pub fn inventory(&self) -> Inventory<'_> {
        self.buffers.inventory(self.extent)
    }
}

pub fn load_fixture(name: &str) -> Storage {
    let json = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut storage = Storage::new(64, 64, 16 * 1024);
    if let Err(error) = storage.load(&json) {
        panic!("{name}: {error}");
    }
    storage
}

/// The configuration the golden scripts were rendered with.
pub const GOLDEN_CONFIG: RenderConfig<'static> = RenderConfig {
    base_url: Some("http://10.99.0.1"),
    ipa_api_url: Some("http://10.99.0.1:6385"),
    error_pause_seconds: 5,
    ..RenderConfig::DEFAULT
};

/// [`GOLDEN_CONFIG`] with Ironic's `[deploy]http_url`, for images Ironic serves copies of.
pub const IRONIC_COPIES: RenderConfig<'static> =
    RenderConfig { ironic_http_url: Some("http://10.99.0.1:8080"), ..GOLDEN_CONFIG };

/// [`GOLDEN_CONFIG`] with default images and an aarch64 pair (Ironic's `*_by_arch`).
const BY_ARCH: RenderConfig<'static> = RenderConfig {
    deploy_kernel: Some("http://10.99.0.1/ipa.kernel"),
    deploy_ramdisk: Some("http://10.99.0.1/ipa.initramfs"),
    by_arch: &[ArchImages {
        deploy_kernel: Some("http://10.99.0.1/ipa-aarch64.kernel"),
        deploy_ramdisk: Some("http://10.99.0.1/ipa-aarch64.initramfs"),
        ..ArchImages::new("aarch64")
    }],
    ..GOLDEN_CONFIG
};

pub struct GoldenCase {
    pub name: &'static str,
    pub target: &'static str,
    pub config: RenderConfig<'static>,
}

const EP: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config";

/// A fallback given as a path on this server (Ironic's `ipxe_fallback_script` is a file name).
const FALLBACK_CONFIG: RenderConfig<'static> =
    RenderConfig { unknown_node_fallback: Some("inspector.ipxe"), ..GOLDEN_CONFIG };

pub fn golden_cases() -> Vec<GoldenCase> {
    let case = |name, target: String, config| GoldenCase { name, target: Box::leak(target.into_boxed_str()), config };
    let mac = |n: u8| format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A{n:02x}");
    let uuid = |n: u32| format!("{EP}?node_uuid={n:08x}-0000-4000-8000-{n:012x}");
    vec![
        case("deploy-by-mac", mac(1), GOLDEN_CONFIG),
        case("deploy-wait-call-back-by-uuid", uuid(2), GOLDEN_CONFIG),
        case(
            "deploy-with-timeout",
            mac(1),
            RenderConfig { fetch_timeout_ms: Some(60_000), retries: 3, ..GOLDEN_CONFIG },
        ),
        case(
            "cleaning-redfish",
            "/v1/drivers/redfish/vendor_passthru/ipxe_config?port_address=52-54-00-00-00-0D".into(),
            GOLDEN_CONFIG,
        ),
        case("rescue-wait", mac(5), GOLDEN_CONFIG),
        // Ironic 39 has no netboot: an active partition image boots from its disk.
        case("active-partition-local-disk", mac(3), GOLDEN_CONFIG),
        case("active-ramdisk", mac(0x0b), GOLDEN_CONFIG),
        case("active-local-bios", mac(4), GOLDEN_CONFIG),
        case("active-local-uefi-default", mac(0x0c), GOLDEN_CONFIG),
        case("active-local-bios-default", mac(0x0c), RenderConfig { boot_mode: BootMode::Bios, ..GOLDEN_CONFIG }),
        case("error-unbootable-state", mac(6), GOLDEN_CONFIG),
        case(
            "error-unbootable-state-retry",
            uuid(6),
            RenderConfig { error_ending: ErrorEnding::Retry, ..GOLDEN_CONFIG },
        ),
        case("error-unknown-node", uuid(0x99), GOLDEN_CONFIG),
        case("error-unknown-mac-exit", mac(0x77), RenderConfig { error_ending: ErrorEnding::Exit, ..GOLDEN_CONFIG }),
        case(
            "error-driver-mismatch",
            "/v1/drivers/redfish/vendor_passthru/ipxe_config?port_address=525400000001".into(),
            GOLDEN_CONFIG,
        ),
        case("error-missing-deploy-kernel", mac(0x0e), GOLDEN_CONFIG),
        case("inspect-wait-callback", uuid(0x20), GOLDEN_CONFIG),
        case("error-rescue-finished", uuid(0x21), GOLDEN_CONFIG),
        case("error-boot-interface-pxe", uuid(0x22), GOLDEN_CONFIG),
        case("active-ramdisk-boot-iso", uuid(0x23), IRONIC_COPIES),
        case("deploy-ironic-copies-debug", uuid(0x24), RenderConfig { ipa_debug: true, ..IRONIC_COPIES }),
        case("error-not-fetchable", uuid(0x24), GOLDEN_CONFIG),
        case("active-local-capabilities", uuid(0x25), GOLDEN_CONFIG),
        case("deploy-by-arch", uuid(0x26), BY_ARCH),
        case("boot-ipxe-chain", "/boot.ipxe".into(), GOLDEN_CONFIG),
        case("boot-ipxe-chain-next-server", "/boot.ipxe".into(), RenderConfig::DEFAULT),
        case("boot-ipxe-chain-fallback", "/boot.ipxe".into(), FALLBACK_CONFIG),
        case("error-unknown-mac-fallback", mac(0x77), FALLBACK_CONFIG),
        case(
            "error-unknown-node-fallback-url",
            uuid(0x99),
            RenderConfig { unknown_node_fallback: Some("http://10.99.0.2/inspector.ipxe"), ..RenderConfig::DEFAULT },
        ),
    ]
}
