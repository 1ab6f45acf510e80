//! HTTP over real smoltcp stacks: a client interface talking to the appliance through
//! an in-memory Ethernet link.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Harness, Options, AVAILABLE_NODE, DEPLOYING_NODE};
use smoltcp::socket::tcp::State;
use smoltcp::time::Duration;

fn script_target(key: &str) -> String {
    format!("/v1/drivers/ipmi/vendor_passthru/ipxe_config?{key}")
}

fn harness(test: &str) -> Harness {
    Harness::new(Options::new(test))
}

#[test]
fn script_by_uuid() {
    let mut h = harness("script_by_uuid");
    h.connect(0);
    let response = h.get(0, &script_target(&format!("node_uuid={DEPLOYING_NODE}")));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert!(response.text().starts_with("#!ipxe\n"), "{}", response.text());
    assert!(response.text().contains("kernel http://10.99.0.1/vmlinuz"), "{}", response.text());
}

#[test]
fn script_by_mac_spelled_as_ipxe_sends_it() {
    let mut h = harness("script_by_mac");
    h.connect(0);
    let by_mac = h.get(0, &script_target("port_address=52%3A54%3A00%3A00%3A00%3A01"));
    assert_eq!(by_mac.status, 200);
    assert!(by_mac.text().starts_with("#!ipxe\n"));
    assert!(by_mac.text().contains("initrd"), "{}", by_mac.text());
    // Other spellings of the same MAC reach the same node.
    let dashed = h.get(0, &script_target("port_address=52-54-00-00-00-01"));
    assert!(dashed.text().contains("kernel http://10.99.0.1/vmlinuz"));
}

#[test]
fn unbootable_and_unknown_nodes_get_error_scripts() {
    let mut h = harness("error_scripts");
    h.connect(0);
    for key in [
        format!("node_uuid={AVAILABLE_NODE}"),
        "node_uuid=99999999-0000-4000-8000-000000000000".to_owned(),
        "port_address=02:00:00:00:00:99".to_owned(),
    ] {
        let response = h.get(0, &script_target(&key));
        assert_eq!(response.status, 200, "{key}");
        assert!(response.text().starts_with("#!ipxe\n"), "{key}");
        assert!(!response.text().contains("\nkernel "), "{key}: {}", response.text());
    }
}

#[test]
fn chain_script() {
    let mut h = harness("chain_script");
    h.connect(0);
    let response = h.get(0, "/boot.ipxe");
    assert_eq!(response.status, 200);
    assert!(response.text().starts_with("#!ipxe\n"));
    assert!(response.text().contains("port_address="), "{}", response.text());
}

#[test]
fn keep_alive_serves_script_kernel_and_initrd_on_one_connection() {
    let mut h = harness("keep_alive");
    h.write_file("vmlinuz", b"kernel bytes");
    h.write_file("deploy.initrd", b"initrd bytes");
    h.connect(0);
    let local = h.socket(0).local_endpoint();
    let script = h.get(0, &script_target(&format!("node_uuid={DEPLOYING_NODE}")));
    assert_eq!(script.status, 200);
    let kernel = h.get(0, "/vmlinuz");
    assert_eq!((kernel.status, kernel.body.as_slice()), (200, &b"kernel bytes"[..]));
    assert_eq!(kernel.header("Content-Type"), Some("application/octet-stream"));
    let initrd = h.get(0, "/deploy.initrd");
    assert_eq!((initrd.status, initrd.body.as_slice()), (200, &b"initrd bytes"[..]));
    assert_eq!(h.socket(0).state(), State::Established);
    assert_eq!(h.socket(0).local_endpoint(), local, "one connection throughout");
    assert_eq!(h.appliance.files_mut().open_count(), 0);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = harness("pipelining");
    h.write_file("a.txt", b"first file\n");
    h.write_file("b.bin", b"second");
    h.connect(0);
    let script = script_target(&format!("node_uuid={DEPLOYING_NODE}"));
    let requests = format!(
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET {script} HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /b.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    h.send(0, requests.as_bytes());
    let first = h.read_response(0, true);
    assert_eq!((first.status, first.text()), (200, "first file\n"));
    assert_eq!(first.header("Content-Type"), Some("text/plain"));
    let second = h.read_response(0, true);
    assert!(second.text().starts_with("#!ipxe\n"));
    let head = h.read_response(0, false);
    assert_eq!((head.status, head.header("Content-Length")), (200, Some("6")));
    let fourth = h.read_response(0, true);
    assert_eq!(fourth.body, b"second");
    let fifth = h.read_response(0, true);
    assert_eq!(fifth.status, 404);
    assert!(h.pending[0].is_empty(), "nothing after the last response");
}

#[test]
fn ten_concurrent_clients() {
    let mut options = Options::new("concurrent");
    options.sizes.connections = 10;
    options.client_sockets = 10;
    // One client address holds all ten (the harness has one client station).
    options.settings.http.max_connections_per_client = 10;
    let mut h = Harness::new(options);
    h.write_file("initrd", &vec![7u8; 100_000]);
    for index in 0..10 {
        h.start_connect(index);
    }
    h.run_until(5000, |h| (0..10).all(|i| h.socket(i).state() == State::Established));
    for index in 0..10 {
        let target =
            if index % 2 == 0 { script_target(&format!("node_uuid={DEPLOYING_NODE}")) } else { "/initrd".to_owned() };
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        let sent = h.socket(index).send_slice(request.as_bytes()).unwrap();
        assert_eq!(sent, request.len());
    }
    for index in 0..10 {
        let response = h.read_response(index, true);
        assert_eq!(response.status, 200, "client {index}");
        if index % 2 == 0 {
            assert!(response.text().starts_with("#!ipxe\n"));
        } else {
            assert_eq!(response.body, vec![7u8; 100_000]);
        }
    }
    for index in 0..10 {
        assert_eq!(h.socket(index).state(), State::Established, "client {index} kept alive");
    }
}

#[test]
fn multi_megabyte_file_is_sent_byte_for_byte() {
    let mut h = harness("large_file");
    // Not a repeating pattern: a misplaced chunk would not compare equal.
    let mut state = 0x2545_f491_u32;
    let contents: Vec<u8> = (0..6 * 1024 * 1024 + 123)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    h.write_file("images/ipa.initramfs", &contents);
    h.connect(0);
    let response = h.get(0, "/images/ipa.initramfs");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Length"), Some(contents.len().to_string().as_str()));
    assert!(response.body == contents, "body differs from the file");
    assert_eq!(h.appliance.files_mut().open_count(), 0);
    assert_eq!(h.socket(0).state(), State::Established);
}

#[test]
fn script_longer_than_the_send_buffer_is_not_truncated() {
    let mut options = Options::new("small_send_buffer");
    options.sizes.tcp_tx_bytes = 256;
    let mut h = Harness::new(options);
    h.connect(0);
    let response = h.get(0, &script_target(&format!("node_uuid={DEPLOYING_NODE}")));
    assert!(response.body.len() > 256, "script of {} bytes", response.body.len());
    assert!(response.text().trim_end().ends_with("boot") || response.text().contains("\nboot"));
    assert_eq!(response.header("Content-Length"), Some(response.body.len().to_string().as_str()));
}

#[test]
fn head_is_get_without_the_body() {
    let mut h = harness("head");
    h.write_file("vmlinuz", &[1u8; 5000]);
    h.connect(0);
    let script = script_target(&format!("node_uuid={DEPLOYING_NODE}"));
    let get = h.get(0, &script);
    h.send(0, format!("HEAD {script} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let head = h.read_response(0, false);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some(get.body.len().to_string().as_str()));
    assert_eq!(head.header("Content-Type"), Some("text/plain"));
    h.send(0, b"HEAD /vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n");
    let file_head = h.read_response(0, false);
    assert_eq!(file_head.header("Content-Length"), Some("5000"));
    // Had a body followed either HEAD, this GET's response would not parse.
    let after = h.get(0, "/boot.ipxe");
    assert_eq!(after.status, 200);
    assert!(after.text().starts_with("#!ipxe\n"));
    assert_eq!(h.appliance.files_mut().open_count(), 0);
}

/// Sends `request` on a fresh connection; returns the response and whether the server
/// closed the connection after it.
fn exchange(h: &mut Harness, request: &[u8]) -> (common::Response, bool) {
    h.connect(0);
    h.send(0, request);
    let response = h.read_response(0, true);
    for _ in 0..50 {
        h.step();
    }
    let closed = h.closed_by_server(0);
    (response, closed)
}

#[test]
fn every_bad_request_gets_its_4xx() {
    let mut h = harness("bad_requests");
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(2000));
    let big_header = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n", "b".repeat(5000));
    let cases: Vec<(Vec<u8>, u16, bool, &str)> = vec![
        (b"GET / SPDY/3\r\n\r\n".to_vec(), 400, true, "malformed"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(), 400, true, "malformed"),
        (b"GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), 400, true, "Transfer-Encoding"),
        (
            format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", script_target("node_uuid=nope")).into_bytes(),
            400,
            false,
            "node_uuid is not a UUID",
        ),
        (
            format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", script_target("")).into_bytes(),
            400,
            false,
            "node_uuid or port_address",
        ),
        (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400, false, "file root"),
        (b"GET /images/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400, false, "file root"),
        (b"GET /v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 404, false, "no such resource"),
        (b"GET /missing.img HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 404, false, "no such file"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 404, false, "no such resource"),
        (b"POST /boot.ipxe HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".to_vec(), 405, true, "GET or HEAD"),
        (b"DELETE /boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 405, true, "GET or HEAD"),
        (long_target.into_bytes(), 414, true, "too long"),
        (big_header.into_bytes(), 431, true, "too large"),
    ];
    for (request, status, closes, reason) in cases {
        let (response, closed) = exchange(&mut h, &request);
        let shown = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        assert_eq!(response.status, status, "{shown}");
        assert_eq!(response.header("Content-Type"), Some("text/plain"), "{shown}");
        assert!(response.text().contains(reason), "{shown}: {}", response.text());
        assert_eq!(closed, closes, "{shown}: connection closed after the response");
        if status == 405 {
            assert_eq!(response.header("Allow"), Some("GET, HEAD"));
        }
    }
}

#[test]
fn request_body_of_a_get_is_skipped() {
    let mut h = harness("get_body");
    h.connect(0);
    h.send(0, b"GET /boot.ipxe HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /boot.ipxe HTTP/1.1\r\n\r\n");
    assert_eq!(h.read_response(0, true).status, 200);
    assert_eq!(h.read_response(0, true).status, 200);
}

#[test]
fn http_1_0_without_keep_alive_is_closed_after_the_response() {
    let mut h = harness("http10");
    h.connect(0);
    h.send(0, b"GET /boot.ipxe HTTP/1.0\r\n\r\n");
    let response = h.read_response(0, true);
    assert_eq!(response.header("Connection"), Some("close"));
    h.run_until(100, |h| h.closed_by_server(0));
}

#[test]
fn idle_connection_is_closed_after_the_idle_timeout() {
    let mut h = harness("idle_timeout");
    h.connect(0);
    assert_eq!(h.get(0, "/boot.ipxe").status, 200);
    h.advance(Duration::from_secs(29));
    assert!(!h.closed_by_server(0));
    h.advance(Duration::from_secs(2));
    h.run_until(100, |h| h.closed_by_server(0));
}

#[test]
fn slow_request_head_gets_408() {
    let mut h = harness("slow_head");
    h.connect(0);
    h.send(0, b"GET /boot.ipxe HTTP/1.1\r\nHost");
    h.advance(Duration::from_secs(5));
    h.send(0, b": x\r\nX-Slow: 1");
    h.advance(Duration::from_secs(6));
    let response = h.read_response(0, true);
    assert_eq!(response.status, 408);
    h.run_until(100, |h| h.closed_by_server(0));
}

#[test]
fn idle_longest_connection_is_reclaimed_when_every_socket_is_busy() {
    let mut options = Options::new("reclaim");
    options.sizes.connections = 2;
    options.client_sockets = 4;
    let mut h = Harness::new(options);
    h.connect(0);
    assert_eq!(h.get(0, "/boot.ipxe").status, 200);
    h.advance(Duration::from_millis(500));
    h.connect(1);
    assert_eq!(h.get(1, "/boot.ipxe").status, 200);
    // Both sockets are taken, but nobody waits: idle connections are left alone.
    h.advance(Duration::from_millis(1100));
    assert_eq!(h.socket(0).state(), State::Established);
    assert_eq!(h.socket(1).state(), State::Established);
    // A new client waits: the one idle longest (0) is reset for it.
    h.connect(2);
    assert_eq!(h.socket(0).state(), State::Closed);
    assert_eq!(h.socket(1).state(), State::Established);
    assert_eq!(h.get(2, "/boot.ipxe").status, 200);
    // Full again, and one more waits: now 1 is the one idle longest; the fresh one stays.
    h.advance(Duration::from_millis(1100));
    h.connect(3);
    assert_eq!(h.socket(1).state(), State::Closed);
    assert_eq!(h.socket(2).state(), State::Established);
    assert_eq!(h.get(3, "/boot.ipxe").status, 200);
}

/// A stalled response is reclaimed only under pressure (see `adversarial_pool.rs` for the
/// send-rate rule): with no other client waiting, a reader that stops for seconds keeps
/// its connection and gets the whole response.
#[test]
fn stalled_response_is_not_reclaimed_without_pressure() {
    let mut options = Options::new("no_reclaim_busy");
    options.sizes.connections = 1;
    options.client_sockets = 2;
    options.client_rx_bytes = 1024;
    let mut h = Harness::new(options);
    h.write_file("big", &vec![3u8; 300_000]);
    h.connect(0);
    h.send(0, b"GET /big HTTP/1.1\r\n\r\n");
    // The only socket is busy with a response that does not move for far longer than the
    // send-progress window, and nobody else wants a socket…
    for _ in 0..10 {
        h.advance(Duration::from_millis(200));
    }
    // …so the transfer goes on.
    assert_eq!(h.socket(0).state(), State::Established);
    let (status, head, len) = h.read_response_in_place(0, true);
    assert_eq!((status, len), (200, 300_000));
    assert_eq!(h.pending[0].len(), head + len);
}

/// Handshakes of one client completing in one burst are counted one by one against the
/// per-client cap (8 by default): the ones past it are reset, the rest are served.
#[test]
fn a_burst_of_handshakes_from_one_address_cannot_pass_the_cap() {
    let mut options = Options::new("cap_burst");
    options.sizes.connections = 10;
    options.client_sockets = 10;
    let cap = options.settings.http.max_connections_per_client;
    let mut h = Harness::new(options);
    for index in 0..10 {
        h.start_connect(index);
    }
    h.run_until(5000, |h| (0..10).all(|i| matches!(h.socket(i).state(), State::Established | State::Closed)));
    h.advance(Duration::from_millis(200));
    let open: Vec<usize> = (0..10).filter(|&i| h.socket(i).state() == State::Established).collect();
    assert_eq!(open.len(), cap, "connections left open: {open:?}");
    for index in open {
        assert_eq!(h.get(index, "/boot.ipxe").status, 200, "client socket {index}");
    }
}
