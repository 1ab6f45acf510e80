//! A boot storm: many simulated iPXE clients at once on one Ethernet segment with the
//! appliance (see `common/storm.rs`): the binary's default sizes (32 connections), 1 Gbit/s,
//! everyone powered on in the same instant. Every client must end with its own node's
//! script and the whole 1 MiB kernel, byte for byte, and no DHCP message, connection or
//! response may be lost on the way.
//!
//! `STORM_CLIENTS=500 cargo test -p ipxe-config-server --release --test boot_storm -- --nocapture`
//! runs a bigger one and prints `storm clients=… total_ms=… p50_ms=… p99_ms=… wall_ms=…`
//! (`STORM_CONNECTIONS` overrides the pool size).
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::log_capture;
use common::storm::{run_storm_with, StormConfig};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |value| value.parse().unwrap_or_else(|_| panic!("{name} is a number")))
}

#[test]
fn every_client_of_a_storm_gets_its_script_and_file() {
    let mut config = StormConfig::new(env("STORM_CLIENTS", 100));
    config.sizes.connections = env("STORM_CONNECTIONS", config.sizes.connections);
    log_capture::start();
    let report = run_storm_with(&config);
    println!("{report}");
    report.assert_all_booted();
    assert_eq!(report.refused, 0, "no connection refused");
    assert_eq!(report.dhcp_retransmits, 0, "no DHCP message lost");
    assert_eq!(report.unanswered_solicitations, 0, "every router solicitation answered");
    let lines = log_capture::take();
    log_capture::assert_no_5xx(&lines);
    let statuses = log_capture::statuses(&lines);
    assert_eq!(statuses.len(), 2 * config.clients, "one script and one file per client");
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
}
