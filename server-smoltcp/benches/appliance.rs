//! The appliance in-process: a client smoltcp interface fetching scripts and files from
//! it over an in-memory Ethernet link, one thread, one process, on a virtual clock (so
//! the figures are CPU cost of both stacks, the HTTP server and the renderer, with no
//! wait). The appliance runs with `ipxe-config-appliance`'s default settings and buffer
//! sizes (32 connections, 64 KiB TCP send buffers, DHCP and router advertisements on),
//! and access logging at `info`, to /dev/null, as the binary logs by default.
//!
//! - `appliance/script-new-connection`: connect, `GET` node 1's script by MAC with
//!   `Connection: close`, read the whole response, close; 16 per iteration.
//! - `appliance/script-keep-alive`: the same `GET`s on one open connection; 16 per iteration.
//! - `appliance/static-file-8MiB`: one 8 MiB file from memory over an open connection.
//!
//! `cargo xtask bench` runs these and compares the rates with the budgets.

// Benchmark set-up: a panic here is a broken harness, not an input path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::hint::black_box;
use std::os::fd::IntoRawFd;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipxe_config_server::host::FdLogger;

use ipxe_config_testkit::files::StaticFiles;
use support::{binary_sizes, settings, Response, World, SCRIPT_BY_MAC};

/// Requests per timed iteration of the script benchmarks.
const BATCH: u64 = 16;
const FILE_PATH: &str = "images/deploy.img";
const FILE_BYTES: usize = 8 << 20;

fn world(image: &'static [u8]) -> World<StaticFiles> {
    // One file held in memory, as flash would hold it on firmware.
    World::new(settings(), &binary_sizes(), StaticFiles::new(Box::leak(Box::new([(FILE_PATH, image)]))))
}

fn install_logger() {
    let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
    // Only fails if a logger is installed already.
    let _ = FdLogger::new(devnull.into_raw_fd(), Some("info")).install();
}

fn bench_appliance(c: &mut Criterion) {
    install_logger();
    let image: &'static [u8] = Vec::leak((0..FILE_BYTES).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect());
    let mut group = c.benchmark_group("appliance");

    let mut w = world(image);
    // Warm-up outside the timing, and a check that the exchange is what it claims.
    let response = w.exchange_on_new_connection(SCRIPT_BY_MAC);
    assert_eq!(response.status, 200);
    assert!(response.body_len > 100, "a deploy script, not an error");
    report_cost("script-new-connection", &mut w, |w| w.exchange_on_new_connection(SCRIPT_BY_MAC));
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("script-new-connection", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                black_box(w.exchange_on_new_connection(SCRIPT_BY_MAC));
            }
        });
    });

    let mut w = world(image);
    w.connect();
    let response = w.exchange(SCRIPT_BY_MAC, true);
    assert_eq!(response.status, 200);
    report_cost("script-keep-alive", &mut w, |w| w.exchange(SCRIPT_BY_MAC, true));
    group.bench_function("script-keep-alive", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                black_box(w.exchange(SCRIPT_BY_MAC, true));
            }
        });
    });

    let mut w = world(image);
    w.connect();
    let target = format!("/{FILE_PATH}");
    w.send_request("GET", &target, true);
    let response = w.read_response_streaming();
    assert_eq!((response.status, response.body_len), (200, FILE_BYTES));
    group.throughput(Throughput::Bytes(FILE_BYTES as u64));
    group.sample_size(10);
    group.bench_function("static-file-8MiB", |b| {
        b.iter(|| {
            w.send_request("GET", &target, true);
            black_box(w.read_response_streaming())
        });
    });
    group.finish();
}

/// What one exchange costs in turns, timer waits and frames, printed once for the record.
fn report_cost(name: &str, w: &mut World<StaticFiles>, exchange: impl FnOnce(&mut World<StaticFiles>) -> Response) {
    let frames = |w: &World<StaticFiles>| w.wire.to_client.carried + w.wire.to_appliance.carried;
    let (turns, waits, carried) = (w.turns, w.timer_waits, frames(w));
    let response = exchange(w);
    println!(
        "{name}: {} turns, {} timer waits, {} frames, script {} bytes",
        w.turns - turns,
        w.timer_waits - waits,
        frames(w) - carried,
        response.body_len
    );
}

criterion_group!(benches, bench_appliance);
criterion_main!(benches);
