//! The HTTP endpoint is public and unauthenticated: these tests throw at it what a hostile
//! or broken network can — slowloris, half-open and vanishing clients, resets mid-transfer,
//! clients that never read, oversized and malformed requests, bodies on GET, a thousand
//! pipelined requests — over real smoltcp stacks on a simulated segment (`common/lan.rs`),
//! in virtual time. Each test ends by checking that a well-behaved client (node 1's NIC,
//! asking as iPXE does) still gets its script, and that no 5xx was ever sent.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::Arc;

use common::lan::{leaked_sockets, syn_frame, Fetch, Lan};
use common::log_capture;
use common::{Response, DEPLOYING_NODE, SERVER_IP, SERVER_MAC};
use ipxe_config::RenderConfig;
use ipxe_config_server::host::leak_buffers;
use ipxe_config_server::{ApplianceCapacity, ApplianceSettings, HttpLimits};
use ipxe_config_testkit::files::{pseudo_random_bytes, MemoryFiles};
use smoltcp::socket::tcp::State;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// Node 1's PXE NIC, deploying: the well-behaved client.
const NODE_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);
/// What iPXE asks for with `${mac}` in the URL.
const SCRIPT_BY_MAC: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";
const BIG_FILE: &str = "images/big.img";
const BIG_FILE_BYTES: usize = 4 << 20;
const LIMITS: HttpLimits = HttpLimits::DEFAULT;

/// The appliance with a pool of `connections` (the defaults otherwise) and a 4 MiB file.
fn appliance(connections: usize) -> Lan<'static> {
    log_capture::start();
    let sizes = ApplianceCapacity { connections, ..ApplianceCapacity::DEFAULT };
    let settings = ApplianceSettings::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 24));
    let mut files = MemoryFiles::new();
    files.insert(BIG_FILE, pseudo_random_bytes(BIG_FILE_BYTES, 0x1234_5678));
    files.insert("small.txt", Arc::from(&b"a small file\n"[..]));
    let config = RenderConfig { base_url: Some("http://10.99.0.1"), ..RenderConfig::DEFAULT };
    Lan::new(settings, leak_buffers(&sizes, files), common::shared_inventory(), config)
}

/// A client station `n` (its own MAC and address) with two sockets.
fn client(lan: &mut Lan<'static>, n: u8) -> usize {
    let (sockets, handles) = leaked_sockets(2, 65536, 16384);
    let mac = EthernetAddress([0x02, 0xad, 0x00, 0x00, 0x00, n]);
    lan.add_station(mac, Some(Ipv4Cidr::new(smoltcp::wire::Ipv4Address::new(10, 99, 0, 100 + n), 24)), sockets, handles)
}

/// Node 1's NIC, as a station.
fn node(lan: &mut Lan<'static>) -> usize {
    let (sockets, handles) = leaked_sockets(2, 65536, 16384);
    lan.add_station(NODE_MAC, Some(Ipv4Cidr::new(common::CLIENT_IP, 24)), sockets, handles)
}

/// The script node 1 must get.
fn assert_node_script(response: &Response) {
    assert_eq!(response.status, 200, "{response:?}");
    let text = response.text();
    assert!(text.starts_with("#!ipxe\n"), "{text}");
    assert!(text.contains(&format!("for node {DEPLOYING_NODE} ")), "{text}");
    assert!(text.contains("\nkernel http://10.99.0.1/vmlinuz "), "{text}");
}

/// A well-behaved client is served at once on a fresh connection, and nothing the test
/// did made the appliance answer 5xx.
fn assert_recovered(lan: &mut Lan<'static>, station: usize) {
    assert!(lan.connect(station, 1, Duration::from_secs(5)), "a normal client can connect");
    let response = lan.get(station, 1, SCRIPT_BY_MAC, Duration::from_secs(5)).expect("a normal client gets an answer");
    assert_node_script(&response);
    lan.stations[station].socket(1).close();
    lan.advance(Duration::from_millis(100));
    log_capture::assert_no_5xx(&log_capture::take());
}

/// Runs `tick` (attackers, clients) and the segment together until `tick` says done or
/// `within` passes; `tick` returns when it next needs to run.
fn drive(lan: &mut Lan<'static>, within: Duration, mut tick: impl FnMut(&mut Lan<'static>) -> (bool, Instant)) -> bool {
    let limit = lan.now + within;
    loop {
        let (done, wake) = tick(lan);
        if done {
            return true;
        }
        if lan.now >= limit {
            return false;
        }
        lan.advance_to(wake.min(limit).max(lan.now + Duration::from_micros(1)));
    }
}

/// Attackers that each hold a connection by sending it one byte per second: first
/// `opening` (if any) at once, then `drip` byte by byte, forever. One whose connection
/// the appliance ends reconnects at its next tick and starts over.
struct Trickle {
    stations: Vec<usize>,
    opening: Vec<u8>,
    drip: Vec<u8>,
    sent: Vec<usize>,
    next: Instant,
    /// Connections the appliance ended (responses, resets).
    pub dropped: usize,
}

impl Trickle {
    fn new(lan: &mut Lan<'static>, count: u8, opening: &[u8], drip: &[u8]) -> Self {
        let stations = (0..count).map(|n| client(lan, n)).collect();
        Trickle {
            stations,
            opening: opening.to_vec(),
            drip: drip.to_vec(),
            sent: vec![0; usize::from(count)],
            next: lan.now,
            dropped: 0,
        }
    }

    fn tick(&mut self, lan: &mut Lan<'static>) -> Instant {
        if lan.now < self.next {
            return self.next;
        }
        self.next = lan.now + Duration::from_secs(1);
        for (index, &station) in self.stations.iter().enumerate() {
            let server = lan.appliance.ipv4();
            let state = lan.stations[station].socket(0).state();
            match state {
                State::Established if lan.stations[station].socket(0).may_recv() => {
                    let socket = lan.stations[station].socket(0);
                    if self.sent[index] == 0 && !self.opening.is_empty() {
                        socket.send_slice(&self.opening).unwrap();
                    }
                    let byte = self.drip[self.sent[index] % self.drip.len()];
                    socket.send_slice(&[byte]).unwrap();
                    self.sent[index] += 1;
                }
                State::SynSent | State::SynReceived => {}
                _ => {
                    if self.sent[index] > 0 {
                        self.dropped += 1;
                    }
                    self.sent[index] = 0;
                    lan.stations[station].connect(0, server, 80);
                }
            }
            lan.touch(station);
        }
        self.next
    }
}

/// Every socket of the pool held by slowloris clients (a request head at one byte per
/// second, reconnecting whenever the appliance drops them); a well-behaved client that
/// arrives then must still be served within the idle timeout plus a second.
#[test]
fn slowloris_heads_cannot_lock_out_a_well_behaved_client() {
    let mut lan = appliance(8);
    let mut attack =
        Trickle::new(&mut lan, 8, b"", b"GET /boot.ipxe HTTP/1.1\r\nHost: 10.99.0.1\r\nX-Slow: aaaaaaaaaaaa");
    let honest = served_despite(&mut lan, &mut attack, "slowloris heads");
    let statuses = log_capture::statuses(&log_capture::take());
    assert!(statuses.iter().all(|&status| status == 200 || status == 408), "{statuses:?}");
    assert_recovered_after(&mut lan, honest, &mut attack);
}

/// The same with the request body: a GET announcing a large `Content-Length`, then one
/// body byte per second (the "slow POST" shape).
#[test]
fn slow_request_bodies_cannot_lock_out_a_well_behaved_client() {
    let mut lan = appliance(8);
    let mut attack = Trickle::new(
        &mut lan,
        8,
        b"GET /boot.ipxe HTTP/1.1\r\nHost: 10.99.0.1\r\nContent-Length: 1000000000\r\n\r\n",
        b"x",
    );
    let honest = served_despite(&mut lan, &mut attack, "slow bodies");
    assert_recovered_after(&mut lan, honest, &mut attack);
}

/// Lets `attack` take every socket, then checks that a well-behaved client arriving now
/// gets its script within the idle timeout plus a second; returns that client's station.
fn served_despite(lan: &mut Lan<'static>, attack: &mut Trickle, what: &str) -> usize {
    let honest = node(lan);
    drive(lan, Duration::from_secs(3), |lan| (false, attack.tick(lan)));
    let mut fetch = Fetch::new(lan, honest, 0, SCRIPT_BY_MAC);
    let mut response = None;
    let served = drive(lan, LIMITS.idle_timeout + Duration::from_secs(1), |lan| {
        let next = attack.tick(lan);
        response = fetch.poll(lan);
        (response.is_some(), next.min(fetch.wake_at(lan.now)))
    });
    let waited = lan.now - fetch.started;
    assert!(served, "well-behaved client not served in {waited} (tries refused or failed: {})", fetch.failed_attempts);
    assert_node_script(&response.unwrap());
    println!("{what}: served after {waited}, {} attacker connections ended", attack.dropped);
    honest
}

/// Stops an attack (its stations vanish) and checks a normal client.
fn assert_recovered_after(lan: &mut Lan<'static>, honest: usize, attack: &mut Trickle) {
    for &station in &attack.stations {
        lan.stations[station].vanished = true;
    }
    assert_recovered(lan, honest);
}

/// Clients that send a SYN and vanish (no ACK, no RST) fill the pool with half-open
/// connections; a well-behaved client arriving then is served within the idle timeout
/// plus a second.
#[test]
fn half_open_connections_do_not_hold_the_pool() {
    let mut lan = appliance(8);
    let attackers: Vec<usize> = (0..8).map(|n| client(&mut lan, n)).collect();
    // Each resolves the appliance's MAC first (a whole connection), so the SYN leaves at once.
    for &station in &attackers {
        assert!(lan.connect(station, 1, Duration::from_secs(1)));
        lan.stations[station].socket(1).abort();
        lan.touch(station);
    }
    lan.advance(Duration::from_millis(10));
    let sent_before = lan.stats.up.frames;
    for &station in &attackers {
        assert!(lan.stations[station].connect(0, SERVER_IP, 80));
        lan.touch(station);
    }
    // The SYNs go out; then the clients are unplugged.
    lan.step(lan.now + Duration::from_micros(1));
    assert_eq!(lan.stats.up.frames - sent_before, 8, "one SYN each");
    for &station in &attackers {
        lan.stations[station].vanished = true;
    }
    lan.advance(Duration::from_millis(10));
    let honest = node(&mut lan);
    let mut fetch = Fetch::new(&lan, honest, 0, SCRIPT_BY_MAC);
    let mut response = None;
    let served = drive(&mut lan, LIMITS.idle_timeout + Duration::from_secs(1), |lan| {
        response = fetch.poll(lan);
        (response.is_some(), fetch.wake_at(lan.now))
    });
    let waited = lan.now - fetch.started;
    assert!(served, "not served in {waited} ({} tries failed)", fetch.failed_attempts);
    println!("half-open: served after {waited}");
    assert_node_script(&response.unwrap());
    assert_recovered(&mut lan, honest);
}

/// SYNs from addresses in the subnet that nobody answers ARP for (spoofed, or clients gone
/// before the appliance looked them up): the SYN-ACK cannot leave, the half-open
/// connections are reclaimed, and the reset that reclaiming sends cannot leave either.
/// The sockets must listen again all the same; they used to stay closed for good, and two
/// pool-fuls of such SYNs took HTTP down until a restart.
#[test]
fn syns_from_addresses_that_never_answer_arp_do_not_take_the_pool() {
    let mut lan = appliance(8);
    // A station without an address: it sends the forged frames and answers no ARP.
    let (sockets, handles) = leaked_sockets(1, 1024, 1024);
    let forger_mac = EthernetAddress([0x02, 0xad, 0x00, 0x00, 0xff, 0x01]);
    let forger = lan.add_station(forger_mac, None, sockets, handles);
    let arp_before = lan.stats.appliance_arp_requests;
    // Two pool-fuls: eight take the sockets, eight wait in the SYN backlog.
    for n in 0..16u8 {
        lan.inject(forger, syn_frame(forger_mac, Ipv4Address::new(10, 99, 0, 200 + n), 40_000 + u16::from(n), 0x1000));
    }
    // Every attempt is taken, left half-open, reclaimed and its reset found undeliverable.
    lan.advance(Duration::from_secs(5));
    assert!(lan.stats.appliance_arp_requests > arp_before, "the appliance looked the forged sources up");
    assert_eq!(lan.stats.unknown_destination, 0, "nothing was sent to the forged sources");
    let honest = node(&mut lan);
    let mut fetch = Fetch::new(&lan, honest, 0, SCRIPT_BY_MAC);
    let mut response = None;
    let served = drive(&mut lan, Duration::from_secs(5), |lan| {
        response = fetch.poll(lan);
        (response.is_some(), fetch.wake_at(lan.now))
    });
    let waited = lan.now - fetch.started;
    assert!(served, "not served in {waited} ({} tries failed)", fetch.failed_attempts);
    println!("unanswered ARP: served after {waited}");
    assert_node_script(&response.unwrap());
    assert_recovered(&mut lan, honest);
}

/// Clients that vanish in the middle of their request head (no FIN, no RST) fill the
/// pool; a well-behaved client is served within the idle timeout plus a second.
#[test]
fn clients_vanishing_mid_request_do_not_hold_the_pool() {
    let mut lan = appliance(8);
    let attackers: Vec<usize> = (0..8).map(|n| client(&mut lan, n)).collect();
    for &station in &attackers {
        assert!(lan.connect(station, 0, Duration::from_secs(1)));
        assert!(lan.send(station, 0, b"GET /boot.ipxe HTTP/1.1\r\nHost: 10.99", Duration::from_secs(1)));
    }
    lan.advance(Duration::from_millis(50));
    for &station in &attackers {
        lan.stations[station].vanished = true;
    }
    let honest = node(&mut lan);
    let mut fetch = Fetch::new(&lan, honest, 0, SCRIPT_BY_MAC);
    let mut response = None;
    let served = drive(&mut lan, LIMITS.idle_timeout + Duration::from_secs(1), |lan| {
        response = fetch.poll(lan);
        (response.is_some(), fetch.wake_at(lan.now))
    });
    let waited = lan.now - fetch.started;
    assert!(served, "not served in {waited} ({} tries failed)", fetch.failed_attempts);
    println!("vanished mid-request: served after {waited}");
    assert_node_script(&response.unwrap());
    assert_recovered(&mut lan, honest);
}

/// Waits until the appliance has no file open; how long that took.
fn files_released(lan: &mut Lan<'static>, within: Duration) -> Option<Duration> {
    let start = lan.now;
    lan.run_until(within, |lan| lan.appliance.files_mut().open_count() == 0).then(|| lan.now - start)
}

/// A client that vanishes while downloading a large file: the appliance lets go of the
/// file and the socket once its peer has been silent for the idle timeout.
#[test]
fn client_vanishing_mid_download_is_let_go() {
    let mut lan = appliance(8);
    let leaver = client(&mut lan, 1);
    assert!(lan.connect(leaver, 0, Duration::from_secs(1)));
    assert!(lan.send(leaver, 0, format!("GET /{BIG_FILE} HTTP/1.1\r\n\r\n").as_bytes(), Duration::from_secs(1)));
    lan.run_until(Duration::from_secs(5), |lan| lan.stations[leaver].received[0].len() > 200_000);
    lan.stations[leaver].vanished = true;
    assert_eq!(lan.appliance.files_mut().open_count(), 1);
    let released = files_released(&mut lan, LIMITS.idle_timeout + Duration::from_secs(1));
    assert!(released.is_some(), "the file is still open");
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

/// A client resetting its connection in the middle of a large response: the file is
/// closed at once and the socket serves the next client.
#[test]
fn reset_in_the_middle_of_a_large_response() {
    let mut lan = appliance(1);
    let resetter = client(&mut lan, 1);
    assert!(lan.connect(resetter, 0, Duration::from_secs(1)));
    assert!(lan.send(resetter, 0, format!("GET /{BIG_FILE} HTTP/1.1\r\n\r\n").as_bytes(), Duration::from_secs(1)));
    lan.run_until(Duration::from_secs(5), |lan| lan.stations[resetter].received[0].len() > 300_000);
    assert_eq!(lan.appliance.files_mut().open_count(), 1);
    lan.stations[resetter].socket(0).abort();
    lan.touch(resetter);
    let released = files_released(&mut lan, Duration::from_millis(100));
    assert!(released.is_some(), "the file stays open after the client's RST");
    // The only socket is free again: a client is served straight away.
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

/// A client that never reads while downloading a big file (its window closes): the
/// transfer stalls, other clients are served meanwhile, and after the idle timeout the
/// appliance resets it and closes the file.
#[test]
fn client_that_never_reads_is_reset_after_the_idle_timeout() {
    let mut lan = appliance(8);
    let stalled = client(&mut lan, 1);
    lan.stations[stalled].paused[0] = true;
    assert!(lan.connect(stalled, 0, Duration::from_secs(1)));
    assert!(lan.send(stalled, 0, format!("GET /{BIG_FILE} HTTP/1.1\r\n\r\n").as_bytes(), Duration::from_secs(1)));
    lan.advance(Duration::from_secs(1));
    assert_eq!(lan.stations[stalled].socket(0).recv_queue(), 65536, "the client's window is full");
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
    assert_eq!(lan.appliance.files_mut().open_count(), 1, "the stalled transfer is still on");
    let released = files_released(&mut lan, LIMITS.idle_timeout + Duration::from_secs(1));
    assert!(released.is_some(), "the stalled transfer was never abandoned");
    lan.run_until(Duration::from_secs(1), |lan| lan.stations[stalled].socket(0).state() == State::Closed);
    assert_eq!(lan.stations[stalled].socket(0).state(), State::Closed, "reset by the appliance");
    assert_recovered(&mut lan, honest);
}

/// Sends `request` on a fresh connection of `station`; the response (if any) and whether
/// the appliance ended the connection afterwards.
fn exchange(lan: &mut Lan<'static>, station: usize, request: &[u8]) -> (Option<Response>, bool) {
    assert!(lan.connect(station, 0, Duration::from_secs(1)));
    // The appliance may answer and close before all of a long request is taken.
    lan.send(station, 0, request, Duration::from_secs(2));
    let response = lan.read_response(station, 0, false, LIMITS.request_deadline + Duration::from_secs(1));
    lan.run_until(Duration::from_secs(1), |lan| lan.ended_by_server(station, 0));
    let ended = lan.ended_by_server(station, 0);
    (response, ended)
}

#[test]
fn oversized_heads_get_431() {
    let mut lan = appliance(8);
    let rude = client(&mut lan, 1);
    let mut many_headers = b"GET /boot.ipxe HTTP/1.1\r\n".to_vec();
    for n in 0..40 {
        many_headers.extend_from_slice(format!("X-{n}: y\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let one_huge = format!("GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n", "c".repeat(8000)).into_bytes();
    // A head that never ends: a megabyte of header lines.
    let mut endless = b"GET /boot.ipxe HTTP/1.1\r\n".to_vec();
    while endless.len() < 1 << 20 {
        endless.extend_from_slice(b"X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    }
    for request in [many_headers, one_huge, endless] {
        let (response, ended) = exchange(&mut lan, rude, &request);
        let response = response.expect("an answer");
        assert_eq!(response.status, 431, "{}", response.text());
        assert!(ended, "the connection is closed after a 431");
    }
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

#[test]
fn ten_kilobyte_target_gets_414() {
    let mut lan = appliance(8);
    let rude = client(&mut lan, 1);
    for target in [
        format!("/{}", "a".repeat(10 * 1024)),
        format!("/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={}", "0".repeat(10 * 1024)),
    ] {
        let (response, ended) =
            exchange(&mut lan, rude, format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let response = response.expect("an answer");
        assert_eq!(response.status, 414, "{}", response.text());
        assert!(ended);
    }
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

#[test]
fn garbage_gets_a_4xx_and_a_closed_connection() {
    let mut lan = appliance(8);
    let rude = client(&mut lan, 1);
    let random: Vec<u8> = pseudo_random_bytes(64 * 1024, 0x0bad_f00d).to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random),
        ("NUL bytes", vec![0u8; 3000]),
        ("TLS ClientHello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x5e\x2f\x00\x00\r\n\r\n".to_vec()),
        ("SSH banner", b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec()),
        ("lone line breaks", b"\r\n".repeat(3000)),
        ("bare LF head", b"GET /boot.ipxe HTTP/1.1\nHost: x\n\n".to_vec()),
        ("space before colon", b"GET /boot.ipxe HTTP/1.1\r\nHost : x\r\n\r\n".to_vec()),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("invalid method bytes", b"G\x01T /boot.ipxe HTTP/1.1\r\n\r\n".to_vec()),
        ("control bytes in target", b"GET /boot\x7f.ipxe HTTP/1.1\r\n\r\n".to_vec()),
        ("unterminated head", b"GET /boot.ipxe HTTP/1.1\r\nHost: x".to_vec()),
        ("huge Content-Length", b"GET /boot.ipxe HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec()),
        ("negative Content-Length", b"GET /boot.ipxe HTTP/1.1\r\nContent-Length: -1\r\n\r\n".to_vec()),
    ];
    for (what, request) in cases {
        let (response, ended) = exchange(&mut lan, rude, &request);
        let Some(response) = response else { panic!("{what}: no answer") };
        // A bare-LF head is tolerated by the parser (RFC 9112 §2.2 allows it).
        if what == "bare LF head" {
            assert_eq!(response.status, 200, "{what}");
            continue;
        }
        assert!((400..500).contains(&response.status), "{what}: {}", response.status);
        assert!(ended, "{what}: connection left open after {}", response.status);
    }
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

/// HTTP/0.9 has no version and no headers (`GET /boot.ipxe` and a line break): it gets a
/// prompt `400`, not a wait for a head that will never come.
#[test]
fn http_0_9_requests_are_refused_at_once() {
    let mut lan = appliance(8);
    let old = client(&mut lan, 1);
    for request in [&b"GET /boot.ipxe\r\n"[..], b"GET /boot.ipxe\n", b"GET /\r\n"] {
        let started = lan.now;
        let (response, ended) = exchange(&mut lan, old, request);
        let response = response.expect("an answer");
        assert_eq!(response.status, 400, "{:?}: {}", String::from_utf8_lossy(request), response.text());
        assert!(lan.now - started < Duration::from_secs(2), "answered after {}", lan.now - started);
        assert!(ended);
    }
    let honest = node(&mut lan);
    assert_recovered(&mut lan, honest);
}

/// Absolute-form targets (`GET http://host/path`, what a client sends to a proxy) are
/// answered exactly like the origin form.
#[test]
fn absolute_form_targets_are_served_like_origin_form() {
    let mut lan = appliance(8);
    let station = node(&mut lan);
    assert!(lan.connect(station, 0, Duration::from_secs(1)));
    let by_uuid = format!("/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE}");
    for (origin, absolute) in [
        (by_uuid.clone(), format!("http://10.99.0.1{by_uuid}")),
        (by_uuid.clone(), format!("HTTP://10.99.0.1:80{by_uuid}")),
        (SCRIPT_BY_MAC.to_owned(), format!("http://10.99.0.1{SCRIPT_BY_MAC}")),
        ("/boot.ipxe".to_owned(), "http://another.host.example/boot.ipxe".to_owned()),
        ("/small.txt".to_owned(), "http://10.99.0.1/small.txt".to_owned()),
    ] {
        let expected = lan.get(station, 0, &origin, Duration::from_secs(1)).unwrap();
        let got = lan.get(station, 0, &absolute, Duration::from_secs(1)).unwrap();
        assert_eq!(got.status, 200, "{absolute}");
        assert_eq!(got.body, expected.body, "{absolute}");
        assert_eq!(got.header("Content-Type"), expected.header("Content-Type"), "{absolute}");
    }
    // No path at all is the root, which is nothing.
    let root = lan.get(station, 0, "http://10.99.0.1", Duration::from_secs(1)).unwrap();
    assert_eq!(root.status, 404);
    assert_recovered(&mut lan, station);
}

/// A GET with a body: with `Content-Length` the body is skipped and the next pipelined
/// request answered; chunked bodies are refused (`400`, connection closed); a body that
/// is announced but never sent does not hold the connection past the request deadline.
#[test]
fn bodies_on_get() {
    let mut lan = appliance(8);
    let station = node(&mut lan);
    assert!(lan.connect(station, 0, Duration::from_secs(1)));
    let with_body = format!(
        "GET {SCRIPT_BY_MAC} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET {SCRIPT_BY_MAC} HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    assert!(lan.send(station, 0, with_body.as_bytes(), Duration::from_secs(1)));
    assert_node_script(&lan.read_response(station, 0, false, Duration::from_secs(1)).unwrap());
    assert_node_script(&lan.read_response(station, 0, false, Duration::from_secs(1)).unwrap());
    // The body arriving in pieces, seconds apart, is skipped too.
    let head = format!("GET {SCRIPT_BY_MAC} HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab");
    assert!(lan.send(station, 0, head.as_bytes(), Duration::from_secs(1)));
    assert_node_script(&lan.read_response(station, 0, false, Duration::from_secs(1)).unwrap());
    lan.advance(Duration::from_secs(2));
    assert!(lan.send(station, 0, b"cdef", Duration::from_secs(1)));
    assert_eq!(lan.get(station, 0, "/small.txt", Duration::from_secs(1)).unwrap().body, b"a small file\n");

    let chunked = format!(
        "GET {SCRIPT_BY_MAC} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /boot.ipxe HTTP/1.1\r\n\r\n"
    );
    let (response, ended) = exchange(&mut lan, station, chunked.as_bytes());
    assert_eq!(response.unwrap().status, 400);
    assert!(ended, "no request is read after a chunked body");

    // Announced, never sent: answered, then the connection goes once the request
    // deadline passes, not after an idle timeout that each trickled byte would renew.
    assert!(lan.connect(station, 0, Duration::from_secs(1)));
    let never = format!("GET {SCRIPT_BY_MAC} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    assert!(lan.send(station, 0, never.as_bytes(), Duration::from_secs(1)));
    assert_node_script(&lan.read_response(station, 0, false, Duration::from_secs(1)).unwrap());
    let started = lan.now;
    assert!(
        lan.run_until(LIMITS.request_deadline + Duration::from_secs(1), |lan| lan.ended_by_server(station, 0)),
        "connection still held {} after a body that never came",
        lan.now - started
    );
    assert_recovered(&mut lan, station);
}

/// A thousand requests in one burst on one connection, mixing scripts by UUID and by MAC,
/// the chain script, a file and a HEAD: all answered, in order, each with its own body.
#[test]
fn thousand_pipelined_requests_are_answered_in_order() {
    let mut lan = appliance(8);
    let station = node(&mut lan);
    let targets = [
        "/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000002-0000-4000-8000-000000000002".to_owned(),
        SCRIPT_BY_MAC.to_owned(),
        "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52-54-00-00-00-03".to_owned(),
        "/v1/drivers/any/vendor_passthru/ipxe_config?node_uuid=00000005-0000-4000-8000-000000000005".to_owned(),
        "/boot.ipxe".to_owned(),
        "/small.txt".to_owned(),
    ];
    assert!(lan.connect(station, 0, Duration::from_secs(1)));
    let expected: Vec<Vec<u8>> =
        targets.iter().map(|target| lan.get(station, 0, target, Duration::from_secs(1)).unwrap().body).collect();
    // Different scripts, so a response out of order cannot pass.
    for (i, a) in expected.iter().enumerate() {
        for b in &expected[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let mut burst = Vec::new();
    let mut order = Vec::new();
    for n in 0..1000 {
        let which = (n * 7 + n / 3) % targets.len();
        let method = if n % 97 == 0 { "HEAD" } else { "GET" };
        burst.extend_from_slice(format!("{method} {} HTTP/1.1\r\nHost: 10.99.0.1\r\n\r\n", targets[which]).as_bytes());
        order.push((which, method == "HEAD"));
    }
    assert!(lan.send(station, 0, &burst, Duration::from_secs(30)));
    for (n, &(which, head)) in order.iter().enumerate() {
        let response = lan
            .read_response(station, 0, head, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("response {n} of 1000 missing"));
        assert_eq!(response.status, 200, "response {n}");
        if head {
            assert_eq!(response.header("Content-Length"), Some(expected[which].len().to_string().as_str()));
        } else {
            assert_eq!(response.body, expected[which], "response {n} (target {})", targets[which]);
        }
    }
    assert!(lan.stations[station].received[0].is_empty(), "nothing after the last response");
    assert_eq!(lan.stations[station].socket(0).state(), State::Established, "kept alive throughout");
    let statuses = log_capture::statuses(&log_capture::take());
    assert_eq!(statuses.len(), targets.len() + 1000);
    assert_recovered(&mut lan, station);
}

/// Percent-decoded paths reach the file source and its warning; Unicode line separators
/// (U+2028, U+2029, NEL), C1 controls and bidi overrides in them must not split or forge
/// a log line. A path component longer than the host allows (ENAMETOOLONG) is an I/O error,
/// which is logged with the path.
#[test]
fn hostile_bytes_in_a_file_path_are_escaped_in_every_log_line() {
    log_capture::start();
    let mut harness = common::Harness::new(common::Options::new("hostile-log-path"));
    harness.write_file("images/present.img", b"x");
    harness.connect(0);
    let hostile = ["%E2%80%A8", "%E2%80%A9", "%C2%85", "%C2%9B", "%E2%80%AE"];
    for (n, piece) in hostile.iter().enumerate() {
        // Enough two- or three-byte characters for a component over Linux's 255-byte NAME_MAX.
        let bytes = piece.len() / 3;
        let target = format!("/images/{n}{}forged status=500", piece.repeat(256 / bytes + 1)).replace(' ', "%20");
        let response = harness.get(0, &target);
        assert_eq!(response.status, 404, "{target}: {response:?}");
    }
    let lines = log_capture::take();
    let warnings = lines.iter().filter(|(_, line)| line.starts_with("file ")).count();
    assert_eq!(warnings, hostile.len(), "one warning per failed open: {lines:?}");
    for (_, line) in &lines {
        assert!(
            line.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "a log line carries a raw non-ASCII or control character: {line:?}"
        );
    }
    log_capture::assert_no_5xx(&lines);
}
