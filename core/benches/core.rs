//! Criterion benchmarks for the core: rendering each script kind, lookup by MAC and UUID
//! at 100 / 10,000 / 100,000 nodes, inventory load throughput, and routing.
//! `cargo xtask bench` runs these and compares medians with the budgets.

// Benchmark set-up: a panic here is a bug in the generator, not an input path.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipxe_config::{
    render, BootMode, Extent, HeapInventoryBuffers, Inventory, InventoryCapacity, PortAddress, RenderConfig, Route,
    Uuid,
};

/// Heap inventory buffers for a generated inventory (allocated once, outside the timed
/// loops), and the extent of what was loaded.
struct Storage {
    buffers: HeapInventoryBuffers,
    extent: Extent,
}

impl Storage {
    fn for_nodes(count: usize) -> Self {
        let capacity = InventoryCapacity::new(count, count, 64 * count + 4096);
        Self { buffers: HeapInventoryBuffers::new(capacity).expect("capacity fits"), extent: Extent::default() }
    }

    fn load(&mut self, json: &[u8]) -> Extent {
        match self.buffers.load(json) {
            Ok(inventory) => inventory.extent(),
            Err(error) => panic!("generated inventory rejected: {error}"),
        }
    }

    fn inventory(&self) -> Inventory<'_> {
        self.buffers.inventory(self.extent)
    }
}

fn uuid_of(n: usize) -> String {
    format!("{n:08x}-7a1e-4c3d-9b2a-{:012x}", n.wrapping_mul(2_654_435_761))
}

fn mac_of(n: usize) -> String {
    let b = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

/// Ironic-shaped JSON (`nodes/detail` + `ports/detail` fields, extras included) for `count` nodes.
pub fn ironic_json(count: usize) -> String {
    let states = ["deploying", "active", "available", "clean wait", "rescue wait", "manageable"];
    let mut json = String::from("{\"nodes\": [");
    for n in 0..count {
        if n > 0 {
            json.push(',');
        }
        let _ = write!(
            json,
            r#"{{"uuid": "{uuid}", "name": "node-{n}", "driver": "ipmi", "deploy_interface": "direct",
"provision_state": "{state}", "boot_mode": null, "power_state": "power on", "maintenance": false,
"properties": {{"cpus": 32, "memory_mb": 131072, "local_gb": 893, "cpu_arch": "x86_64"}},
"driver_info": {{"ipmi_address": "10.20.{hi}.{lo}", "ipmi_username": "admin", "ipmi_password": "******",
"deploy_kernel": "http:\/\/10.99.0.1\/images\/ipa.kernel", "deploy_ramdisk": "http:\/\/10.99.0.1\/images\/ipa.initramfs",
"kernel_append_params": "nofb nomodeset vga=normal console=ttyS0,115200n8"}},
"instance_info": {{"image_type": "whole-disk", "image_source": "http://10.99.0.1/images/ubuntu.qcow2"}},
"driver_internal_info": {{"is_whole_disk_image": true, "agent_url": "http://10.99.{hi}.{lo}:9999"}},
"extra": {{}}, "links": [{{"href": "http://10.99.0.1:6385/v1/nodes/{uuid}", "rel": "self"}}]}}"#,
            uuid = uuid_of(n),
            state = states[n % states.len()],
            hi = (n >> 8) & 0xff,
            lo = n & 0xff,
        );
    }
    json.push_str("], \"ports\": [");
    for n in 0..count {
        if n > 0 {
            json.push(',');
        }
        let _ = write!(
            json,
            r#"{{"uuid": "{uuid}", "address": "{mac}", "node_uuid": "{node}", "pxe_enabled": true, "extra": {{}}}}"#,
            uuid = uuid_of(n + 10_000_000),
            mac = mac_of(n),
            node = uuid_of(n),
        );
    }
    json.push_str("]}");
    json
}

const FIXTURE: &[u8] = include_bytes!("../../fixtures/inventory.json");
const EP: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config";

fn bench_render(c: &mut Criterion) {
    let mut storage = Storage::for_nodes(64);
    storage.extent = storage.load(FIXTURE);
    let inventory = storage.inventory();
    let config = RenderConfig {
        base_url: Some("http://10.99.0.1"),
        ipa_api_url: Some("http://10.99.0.1:6385"),
        boot_mode: BootMode::Bios,
        ..RenderConfig::DEFAULT
    };
    let cases = [
        ("deploy", format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A01")),
        ("rescue", format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A05")),
        ("instance", format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A03")),
        ("local-disk", format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A04")),
        ("error", format!("{EP}?port_address=52%3A54%3A00%3A00%3A00%3A06")),
        ("chain", "/boot.ipxe".to_string()),
    ];
    let mut group = c.benchmark_group("render");
    let mut out = vec![0u8; 4096];
    for (name, target) in &cases {
        let route = Route::parse(target.as_bytes()).expect("valid target");
        group.bench_function(*name, |b| {
            b.iter(|| render(black_box(&inventory), &config, black_box(&route), &mut out).map(|r| r.len));
        });
    }
    group.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for count in [100usize, 10_000, 100_000] {
        let mut storage = Storage::for_nodes(count);
        storage.extent = storage.load(ironic_json(count).as_bytes());
        let inventory = storage.inventory();
        // Probe keys spread over the whole inventory, cycled so each call is a fresh search.
        let macs: Vec<PortAddress> =
            (0..1024).map(|i| PortAddress::parse(mac_of(i * 7919 % count).as_bytes()).expect("mac")).collect();
        let uuids: Vec<Uuid> = (0..1024).map(|i| Uuid::parse_str(&uuid_of(i * 7919 % count)).expect("uuid")).collect();
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("mac", count), &count, |b, _| {
            b.iter(|| {
                i = (i + 1) & 1023;
                inventory.node_by_address(black_box(&macs[i])).map(|n| n.record_size_probe())
            });
        });
        group.bench_with_input(BenchmarkId::new("uuid", count), &count, |b, _| {
            b.iter(|| {
                i = (i + 1) & 1023;
                inventory.node_by_uuid(black_box(&uuids[i])).map(|n| n.record_size_probe())
            });
        });
    }
    group.finish();
}

fn bench_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    for count in [1_000usize, 10_000] {
        let json = ironic_json(count);
        let mut storage = Storage::for_nodes(count);
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_with_input(BenchmarkId::new("ironic-json", count), &json, |b, json| {
            b.iter(|| storage.load(black_box(json.as_bytes())));
        });
    }
    group.finish();
}

fn bench_route(c: &mut Criterion) {
    let target = format!("{EP}?port_address=52%3A54%3A00%3A12%3A34%3A56");
    c.bench_function("route/parse-ipxe-target", |b| b.iter(|| Route::parse(black_box(target.as_bytes()))));
}

/// Keeps lookups from being optimised away without measuring anything but the search.
trait Probe {
    fn record_size_probe(&self) -> u8;
}

impl Probe for ipxe_config::Node<'_> {
    fn record_size_probe(&self) -> u8 {
        self.uuid().as_bytes()[0]
    }
}

criterion_group!(benches, bench_render, bench_lookup, bench_load, bench_route);
criterion_main!(benches);
