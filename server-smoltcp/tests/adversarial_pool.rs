//! Attacks on the connection pool itself: clients that take every socket and keep it by
//! being *slow in a legal way* — reading a response a few KiB at a time through a tiny
//! window, pipelining hundreds of requests and reading their answers slowly, leaving the
//! server's socket in FIN-WAIT-2 after `Connection: close`, opening many connections from
//! one address, and SYNs from spoofed addresses of the subnet. Real smoltcp stacks on a
//! simulated segment (`common/lan.rs`), virtual time.
//!
//! The target for each: while the attack runs (60 s), an honest iPXE-like client (one
//! connection: its script, then a file) is served within 2 s, every time.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::Arc;

use common::lan::{ipxe_request, leaked_sockets, syn_frame, Lan};
use common::log_capture;
use common::{DEPLOYING_NODE, SERVER_IP, SERVER_MAC};
use ipxe_config::RenderConfig;
use ipxe_config_server::host::leak_buffers;
use ipxe_config_server::{ApplianceCapacity, ApplianceSettings};
use ipxe_config_testkit::files::{pseudo_random_bytes, MemoryFiles};
use ipxe_config_testkit::http::take_response;
use smoltcp::socket::tcp::State;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

const SCRIPT_BY_MAC: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";
const BIG_FILE: &str = "images/big.img";
const BIG_FILE_BYTES: usize = 4 << 20;
const FILE: &str = "images/initrd.img";
const FILE_BYTES: usize = 128 << 10;
const POOL: usize = 32;
/// One attacking station per socket of the pool.
const ATTACKERS: u8 = 32;
const ATTACK: Duration = Duration::from_secs(60);
/// What the honest client must get, each time.
const SERVED_WITHIN: Duration = Duration::from_secs(2);

/// The appliance with a pool of 32 and default limits.
fn appliance() -> Lan<'static> {
    log_capture::start();
    let sizes = ApplianceCapacity { connections: POOL, ..ApplianceCapacity::DEFAULT };
    let settings = ApplianceSettings::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 24));
    let mut files = MemoryFiles::new();
    files.insert(BIG_FILE, pseudo_random_bytes(BIG_FILE_BYTES, 0x1234_5678));
    files.insert(FILE, pseudo_random_bytes(FILE_BYTES, 0x0bad_cafe));
    files.insert("small.txt", Arc::from(&b"a small file\n"[..]));
    let config = RenderConfig { base_url: Some("http://10.99.0.1"), ..RenderConfig::DEFAULT };
    Lan::new(settings, leak_buffers(&sizes, files), common::shared_inventory(), config)
}

/// An attacking station `n`: its own MAC and address, `sockets` sockets with a 2 KiB
/// receive buffer (so its window is never more than 2 KiB).
fn attacker(lan: &mut Lan<'static>, n: u8, sockets: usize) -> usize {
    let (set, handles) = leaked_sockets(sockets, 2048, 16384);
    let mac = EthernetAddress([0x02, 0xad, 0x00, 0x00, 0x01, n]);
    lan.add_station(mac, Some(Ipv4Cidr::new(Ipv4Address::new(10, 99, 0, 100 + n), 24)), set, handles)
}

/// How an attacking connection behaves once established.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// Asks for the 4 MiB file and reads 2 KiB every 3 s.
    SlowReader,
    /// Pipelines 300 small requests and reads 2 KiB every 3 s.
    Pipeliner,
    /// `Connection: close`, reads the answer, never closes its own side.
    CloseHold,
}

/// Attacking connections, each reconnecting as soon as the appliance ends it.
struct Attack {
    shape: Shape,
    /// (station, socket) of each connection.
    connections: Vec<(usize, usize)>,
    asked: Vec<bool>,
    next_read: Instant,
    /// Connections the appliance ended.
    ended: usize,
}

impl Attack {
    fn new(shape: Shape, connections: Vec<(usize, usize)>, now: Instant) -> Self {
        let count = connections.len();
        Attack { shape, connections, asked: vec![false; count], next_read: now, ended: 0 }
    }

    /// One attacking connection per station, on `count` stations.
    fn spread(lan: &mut Lan<'static>, shape: Shape, count: u8) -> Self {
        let connections = (0..count).map(|n| (attacker(lan, n, 1), 0)).collect();
        let mut attack = Attack::new(shape, connections, lan.now);
        attack.prepare(lan);
        attack
    }

    fn prepare(&mut self, lan: &mut Lan<'static>) {
        for &(station, socket) in &self.connections {
            // A slow reader reads by hand; the others let the segment drain them.
            lan.stations[station].paused[socket] = self.shape != Shape::CloseHold;
        }
    }

    fn tick(&mut self, lan: &mut Lan<'static>) -> Instant {
        let read_now = lan.now >= self.next_read;
        if read_now {
            self.next_read = lan.now + Duration::from_secs(3);
        }
        let server = lan.appliance.ipv4();
        for (index, &(station, socket)) in self.connections.iter().enumerate() {
            let tcp = lan.stations[station].socket(socket);
            match tcp.state() {
                State::Established | State::CloseWait => {
                    if !self.asked[index] {
                        let request = match self.shape {
                            Shape::SlowReader => ipxe_request(&format!("/{BIG_FILE}")),
                            Shape::Pipeliner => "GET /small.txt HTTP/1.1\r\nHost: 10.99.0.1\r\n\r\n".repeat(300),
                            Shape::CloseHold => {
                                "GET /small.txt HTTP/1.1\r\nHost: 10.99.0.1\r\nConnection: close\r\n\r\n".to_owned()
                            }
                        };
                        let sent = tcp.send_slice(request.as_bytes()).unwrap();
                        assert_eq!(sent, request.len(), "the attack's request fits");
                        self.asked[index] = true;
                        lan.touch(station);
                    } else if read_now && self.shape != Shape::CloseHold {
                        let mut chunk = [0u8; 2048];
                        let _ = tcp.recv_slice(&mut chunk);
                        lan.touch(station);
                    }
                }
                State::SynSent | State::SynReceived => {}
                _ => {
                    if self.asked[index] {
                        self.ended += 1;
                    }
                    self.asked[index] = false;
                    if lan.stations[station].connect(socket, server, 80) {
                        lan.stations[station].received[socket].clear();
                    }
                    lan.touch(station);
                }
            }
        }
        // Reconnect promptly; read on the 3 s clock.
        self.next_read.min(lan.now + Duration::from_millis(20))
    }
}

/// Sockets the honest client takes in turn.
const SOCKETS: usize = 4;

/// The honest client: every `every`, one connection, its script, then [`FILE`].
struct Ipxe {
    station: usize,
    state: IpxeState,
    started: Instant,
    /// How long each round took (to the last byte of the file), or `None` if it failed
    /// or was not done within [`SERVED_WITHIN`].
    rounds: Vec<Option<Duration>>,
    failures: Vec<String>,
    every: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IpxeState {
    Waiting { until: Instant },
    Connecting,
    Script,
    File,
}

impl Ipxe {
    fn new(lan: &mut Lan<'static>, every: Duration) -> Self {
        // One socket per round, in turn: a closed one sits in TIME-WAIT for 10 s.
        let (sockets, handles) = leaked_sockets(SOCKETS, 65536, 16384);
        let mac = EthernetAddress([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);
        let station = lan.add_station(mac, Some(Ipv4Cidr::new(common::CLIENT_IP, 24)), sockets, handles);
        Ipxe {
            station,
            state: IpxeState::Waiting { until: lan.now },
            started: lan.now,
            rounds: Vec::new(),
            failures: Vec::new(),
            every,
        }
    }

    fn socket(&self) -> usize {
        self.rounds.len() % SOCKETS
    }

    fn fail(&mut self, lan: &mut Lan<'static>, why: &str) {
        self.failures.push(format!("round {} at {}: {why}", self.rounds.len(), self.started));
        lan.stations[self.station].socket(self.socket()).abort();
        self.rounds.push(None);
        lan.touch(self.station);
        self.state = IpxeState::Waiting { until: self.started + self.every };
    }

    fn tick(&mut self, lan: &mut Lan<'static>) -> Instant {
        let now = lan.now;
        let station = self.station;
        let socket = self.socket();
        if !matches!(self.state, IpxeState::Waiting { .. }) && now >= self.started + SERVED_WITHIN {
            let state = self.state;
            self.fail(lan, &format!("not served within {SERVED_WITHIN} (stuck in {state:?})"));
            return self.wake(now);
        }
        match self.state {
            IpxeState::Waiting { until } => {
                if now >= until {
                    if lan.stations[station].connect(socket, lan.appliance.ipv4(), 80) {
                        self.started = now;
                        self.state = IpxeState::Connecting;
                    } else {
                        // Its earlier reset goes out with the next poll.
                        self.state = IpxeState::Waiting { until: now + Duration::from_millis(1) };
                    }
                }
                lan.touch(station);
            }
            IpxeState::Connecting => match lan.stations[station].socket(socket).state() {
                State::SynSent => {}
                State::Established => {
                    let request = ipxe_request(SCRIPT_BY_MAC);
                    lan.stations[station].socket(socket).send_slice(request.as_bytes()).unwrap();
                    lan.touch(station);
                    self.state = IpxeState::Script;
                }
                state => self.fail(lan, &format!("connection refused or reset ({state})")),
            },
            IpxeState::Script | IpxeState::File => {
                if let Some(response) = take_response(&mut lan.stations[station].received[socket], false) {
                    assert_eq!(response.status, 200, "{response:?}");
                    if self.state == IpxeState::Script {
                        assert!(response.text().contains(&format!("for node {DEPLOYING_NODE} ")));
                        let request = ipxe_request(&format!("/{FILE}"));
                        lan.stations[station].socket(socket).send_slice(request.as_bytes()).unwrap();
                        lan.touch(station);
                        self.state = IpxeState::File;
                    } else {
                        assert_eq!(response.body.len(), FILE_BYTES);
                        lan.stations[station].socket(socket).close();
                        self.rounds.push(Some(now - self.started));
                        lan.touch(station);
                        self.state = IpxeState::Waiting { until: self.started + self.every };
                    }
                } else if !lan.stations[station].socket(socket).may_recv() {
                    let state = self.state;
                    self.fail(lan, &format!("connection ended during {state:?}"));
                }
            }
        }
        self.wake(now)
    }

    fn wake(&self, now: Instant) -> Instant {
        match self.state {
            IpxeState::Waiting { until } => until.max(now + Duration::from_micros(1)),
            _ => now + Duration::from_millis(5),
        }
    }

    /// Fails the test unless every round was served in time; the slowest round.
    fn assert_always_served(&self, what: &str) -> Duration {
        let slowest = self.rounds.iter().flatten().max().copied().unwrap_or_default();
        println!("{what}: {} rounds, {} failed, slowest served in {slowest}", self.rounds.len(), self.failures.len());
        assert!(self.rounds.len() >= 10, "{what}: only {} rounds ran", self.rounds.len());
        assert!(self.failures.is_empty(), "{what}: the honest client was not served: {:#?}", self.failures);
        slowest
    }
}

/// Runs `attack` and the honest client together for [`ATTACK`].
fn run(lan: &mut Lan<'static>, attack: &mut dyn FnMut(&mut Lan<'static>) -> Instant, honest: &mut Ipxe) {
    let end = lan.now + ATTACK;
    while lan.now < end {
        let wake = attack(lan).min(honest.tick(lan));
        lan.advance_to(wake.min(end).max(lan.now + Duration::from_micros(1)));
    }
}

/// Lets the attack take the pool first, then runs it with the honest client.
fn under_attack(shape: Shape, count: u8) -> (Lan<'static>, Ipxe, Attack) {
    let mut lan = appliance();
    let mut attack = Attack::spread(&mut lan, shape, count);
    let until = lan.now + Duration::from_secs(3);
    while lan.now < until {
        let wake = attack.tick(&mut lan);
        lan.advance_to(wake.min(until));
    }
    let mut honest = Ipxe::new(&mut lan, Duration::from_secs(5));
    let (started, steps) = (std::time::Instant::now(), lan.steps());
    run(&mut lan, &mut |lan| attack.tick(lan), &mut honest);
    println!(
        "{shape:?}: {} steps, {} frames up, {} down, {:?} wall",
        lan.steps() - steps,
        lan.stats.up.frames,
        lan.stats.down.frames,
        started.elapsed()
    );
    (lan, honest, attack)
}

/// 32 slow readers, each asking for a 4 MiB file and reading 2 KiB every 3 s through a
/// 2 KiB window: every socket is sending a response, and none is finishing.
#[test]
fn slow_readers_cannot_lock_out_an_honest_client() {
    let (_lan, honest, attack) = under_attack(Shape::SlowReader, ATTACKERS);
    honest.assert_always_served("slow readers");
    println!("slow readers: {} attacking connections ended", attack.ended);
    log_capture::assert_no_5xx(&log_capture::take());
}

/// 32 connections each pipelining 300 small requests and reading the answers slowly.
#[test]
fn slow_pipeliners_cannot_lock_out_an_honest_client() {
    let (_lan, honest, attack) = under_attack(Shape::Pipeliner, ATTACKERS);
    honest.assert_always_served("slow pipeliners");
    println!("slow pipeliners: {} attacking connections ended", attack.ended);
    log_capture::assert_no_5xx(&log_capture::take());
}

/// 32 clients sending `Connection: close` and never closing their side: each of the
/// appliance's sockets waits in FIN-WAIT-2, and the clients come back when let go.
#[test]
fn close_holders_cannot_lock_out_an_honest_client() {
    let (_lan, honest, attack) = under_attack(Shape::CloseHold, ATTACKERS);
    honest.assert_always_served("close holders");
    println!("close holders: {} attacking connections ended", attack.ended);
    log_capture::assert_no_5xx(&log_capture::take());
}

/// One address opening 32 slow-reading connections: it keeps at most
/// `max_connections_per_client` (8) of them, and the honest client is served.
#[test]
fn one_address_cannot_take_the_pool() {
    let mut lan = appliance();
    let station = attacker(&mut lan, 0, POOL);
    let mut attack = Attack::new(Shape::SlowReader, (0..POOL).map(|socket| (station, socket)).collect(), lan.now);
    attack.prepare(&mut lan);
    let until = lan.now + Duration::from_secs(3);
    while lan.now < until {
        let wake = attack.tick(&mut lan);
        lan.advance_to(wake.min(until));
    }
    let established = (0..POOL).filter(|&socket| lan.stations[station].socket(socket).state() == State::Established);
    assert!(established.count() <= 8, "one address holds more than 8 connections");
    let mut honest = Ipxe::new(&mut lan, Duration::from_secs(5));
    run(&mut lan, &mut |lan| attack.tick(lan), &mut honest);
    honest.assert_always_served("one address");
    let lines = log_capture::take();
    assert!(lines.iter().any(|(_, line)| line.contains("already holds 8 connections")), "the cap was logged");
    log_capture::assert_no_5xx(&lines);
}

/// SYNs at `per_second` from random addresses of the subnet that nobody answers ARP for
/// (spoofed), each from a random port, sent by a station that answers nothing.
struct SynFlood {
    forger: usize,
    mac: EthernetAddress,
    every: Duration,
    next: Instant,
    random: u64,
    sent: u64,
}

impl SynFlood {
    fn new(lan: &mut Lan<'static>, per_second: u64) -> Self {
        let (sockets, handles) = leaked_sockets(1, 1024, 1024);
        let mac = EthernetAddress([0x02, 0xad, 0x00, 0x00, 0xff, 0x01]);
        let forger = lan.add_station(mac, None, sockets, handles);
        let every = Duration::from_micros(1_000_000 / per_second);
        SynFlood { forger, mac, every, next: lan.now, random: 0x9e37_79b9_7f4a_7c15, sent: 0 }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: reproducible, and enough to spread sources and ports.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random
    }

    fn tick(&mut self, lan: &mut Lan<'static>) -> Instant {
        while lan.now >= self.next {
            let random = self.random();
            // 10.99.0.150-249: clear of the appliance, the honest client and other stations.
            let host = 150 + (random % 100) as u8;
            let port = 1024 + ((random >> 8) % 60_000) as u16;
            let frame = syn_frame(self.mac, Ipv4Address::new(10, 99, 0, host), port, (random >> 32) as u32);
            lan.inject(self.forger, frame);
            self.sent += 1;
            self.next += self.every;
        }
        self.next
    }
}

/// 300 SYNs a second from spoofed addresses of the subnet for 60 s: the honest client is
/// still served within 2 s every time.
#[test]
fn spoofed_syn_flood_does_not_lock_out_an_honest_client() {
    let mut lan = appliance();
    let mut flood = SynFlood::new(&mut lan, 300);
    let until = lan.now + Duration::from_secs(3);
    while lan.now < until {
        let wake = flood.tick(&mut lan);
        lan.advance_to(wake.min(until));
    }
    let mut honest = Ipxe::new(&mut lan, Duration::from_secs(5));
    run(&mut lan, &mut |lan| flood.tick(lan), &mut honest);
    println!(
        "spoofed SYN flood: {} SYNs sent, {} ARP requests by the appliance",
        flood.sent, lan.stats.appliance_arp_requests
    );
    honest.assert_always_served("spoofed SYN flood");
    assert_eq!(lan.stats.unknown_destination, 0, "nothing was sent to the forged sources");
    log_capture::assert_no_5xx(&log_capture::take());
}
