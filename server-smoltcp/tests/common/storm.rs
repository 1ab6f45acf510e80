//! A boot storm: N simulated iPXE clients powered on at once on one Ethernet segment
//! with the appliance, each its own smoltcp interface with its own MAC.
//!
//! Each client does what iPXE does from its NIC ROM: DHCPDISCOVER and DHCPREQUEST with
//! user class `iPXE` (retransmitting on iPXE's timer), takes the script URL from option 67
//! (the `node_uuid` form: the appliance knows every MAC), fetches the script, and then,
//! on the same keep-alive connection, the deploy kernel the script names: a 1 MiB file
//! from the appliance's memory-backed file source. It checks that the script names its
//! own node (the UUID the inventory gives its MAC) and that every byte of the file is
//! right as it streams in. Like iPXE, a client fails its boot when DHCP gets no answer
//! after four tries (15 s), when its connection is refused (reset) or its SYNs go
//! unanswered for 16 s, and when a connection ends mid-response.
//!
//! [`run_storm`] runs N clients with the appliance binary's default sizes and returns the
//! (virtual) times; a benchmark can call it with 500.

use std::fmt;
use std::sync::Arc;
use std::time::Instant as WallClock;

use ipxe_config::{HeapInventoryBuffers, InventoryCapacity};
use ipxe_config_server::host::HeapApplianceBuffers;
use ipxe_config_server::{ApplianceCapacity, ApplianceSettings, DhcpSettings, HttpLimits};
use smoltcp::iface::{SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{DhcpMessageType, EthernetAddress, Ipv4Address, Ipv4Cidr};

use ipxe_config_testkit::files::{pseudo_random_bytes, MemoryFiles};
use ipxe_config_testkit::http::{take_response, ResponseHead};
use ipxe_config_testkit::net::{CONFIG, SERVER_IP, SERVER_MAC};

use super::autoconf::{parse_reply, router_solicitation, ClientMessage};
use super::lan::{ipxe_request, Lan, Station, Tick};
/// The deploy kernel every generated node boots, served from memory.
const KERNEL_PATH: &str = "images/ipa.kernel";
const CLIENT_RX: usize = 65536;
const CLIENT_TX: usize = 2048;

/// How big a storm, on what.
#[derive(Debug, Clone)]
pub struct StormConfig {
    pub clients: usize,
    /// Size of the file each client downloads after its script.
    pub file_bytes: usize,
    /// The appliance's sizes (connection pool, buffers); the DHCP lease table is sized
    /// to the clients.
    pub sizes: ApplianceCapacity,
    /// Line rate of the appliance's port.
    pub bits_per_second: u64,
    /// Clients power on spread evenly over this long (zero: all at the same instant).
    pub power_on_spread: Duration,
    /// Give up (and report every unfinished client) after this much virtual time.
    pub time_limit: Duration,
    /// Simulation granularity: the clock advances at least this much per step.
    pub quantum: Duration,
}

impl StormConfig {
    /// `clients` iPXE clients, a 1 MiB file each, the appliance binary's default sizes
    /// (32 connections, 8 KiB receive, 16 KiB response buffers) but a 64 KiB send buffer
    /// (the binary's 512 KiB is for links with a 64 KiB MTU; this one is 1500), 1 Gbit/s.
    pub fn new(clients: usize) -> Self {
        StormConfig {
            clients,
            file_bytes: 1 << 20,
            sizes: ApplianceCapacity {
                connections: 32,
                tcp_rx_bytes: 8192,
                tcp_tx_bytes: 65536,
                response_bytes: 16384,
                ..ApplianceCapacity::DEFAULT
            },
            bits_per_second: 1_000_000_000,
            power_on_spread: Duration::ZERO,
            time_limit: Duration::from_secs(600),
            quantum: Duration::from_micros(50),
        }
    }
}

/// What a storm took.
#[derive(Debug, Clone)]
pub struct StormReport {
    pub clients: usize,
    /// Virtual time from the first power-on to the last client holding its file.
    pub total: Duration,
    /// Per-client time from power-on to holding the file: median, 99th percentile, max.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Per-client time from power-on to holding a DHCP lease: median and 99th percentile.
    pub dhcp_p50: Duration,
    pub dhcp_p99: Duration,
    /// Real time the simulation took.
    pub wall: std::time::Duration,
    /// Connections refused (reset) or timed out: each one a failed boot.
    pub refused: usize,
    /// DHCP messages sent again after no answer.
    pub dhcp_retransmits: usize,
    /// Clients that solicited a router for 16 s without an advertisement.
    pub unanswered_solicitations: usize,
    /// Frames and bytes each way on the appliance's port.
    pub frames_up: u64,
    pub frames_down: u64,
    pub bytes_down: u64,
    /// ARP requests the appliance had to broadcast.
    pub arp_requests: u64,
    /// Simulation steps.
    pub steps: u64,
    /// Clients that did not end with the right script and file, and why.
    pub failures: Vec<String>,
}

impl fmt::Display for StormReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "storm clients={} total_ms={} p50_ms={} p99_ms={} wall_ms={} failed={} max_ms={} dhcp_p50_ms={} dhcp_p99_ms={} refused={} dhcp_retransmits={} unanswered_solicitations={} frames_up={} frames_down={} mbytes_down={} arp_requests={} steps={}",
            self.clients,
            self.total.total_millis(),
            self.p50.total_millis(),
            self.p99.total_millis(),
            self.wall.as_millis(),
            self.failures.len(),
            self.max.total_millis(),
            self.dhcp_p50.total_millis(),
            self.dhcp_p99.total_millis(),
            self.refused,
            self.dhcp_retransmits,
            self.unanswered_solicitations,
            self.frames_up,
            self.frames_down,
            self.bytes_down / 1_000_000,
            self.arp_requests,
            self.steps,
        )
    }
}

/// Runs a storm of `clients` with [`StormConfig::new`]; see [`StormReport::assert_all_booted`].
pub fn run_storm(clients: usize) -> StormReport {
    run_storm_with(&StormConfig::new(clients))
}

impl StormReport {
    /// Panics unless every client got its own script and the whole file.
    pub fn assert_all_booted(&self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} clients failed: {:#?}",
            self.failures.len(),
            self.clients,
            &self.failures[..self.failures.len().min(10)]
        );
    }
}

/// Node `index`'s MAC, UUID and the name in its kernel line.
pub fn node_mac(index: usize) -> EthernetAddress {
    let [_, b, c, d] = u32::try_from(index).unwrap().to_be_bytes();
    EthernetAddress([0x52, 0x54, 0x10, b, c, d])
}

pub fn node_uuid(index: usize) -> String {
    format!("{:08x}-5707-4000-8000-{:012x}", index + 1, index + 1)
}

/// An inventory of `count` nodes, all deploying, each with one PXE port.
pub fn inventory_json(count: usize) -> String {
    let nodes: Vec<String> = (0..count)
        .map(|index| {
            format!(
                r#"{{"uuid": "{uuid}", "name": "storm-{index}", "driver": "ipmi", "deploy_interface": "direct",
  "provision_state": "deploying", "boot_mode": "bios",
  "driver_info": {{"deploy_kernel": "http://10.99.0.1/{KERNEL_PATH}",
    "deploy_ramdisk": "http://10.99.0.1/images/ipa.initramfs",
    "kernel_append_params": "console=ttyS0 storm-node={index}"}},
  "instance_info": {{}}, "driver_internal_info": {{}}}}"#,
                uuid = node_uuid(index)
            )
        })
        .collect();
    let ports: Vec<String> = (0..count)
        .map(|index| {
            format!(
                r#"{{"address": "{}", "node_uuid": "{}", "pxe_enabled": true}}"#,
                ipxe_config::PortAddress(node_mac(index).0),
                node_uuid(index)
            )
        })
        .collect();
    format!("{{\"nodes\": [{}],\n\"ports\": [{}]}}", nodes.join(",\n"), ports.join(",\n"))
}

/// Room for an inventory of `count` nodes, each with one port and a few short strings.
fn storm_capacity(count: usize) -> InventoryCapacity {
    InventoryCapacity::new(count, count, 4096 + count * 128)
}

/// One TCP socket per station, owned.
pub struct StationMemory<'a> {
    tables: Vec<SocketStorage<'a>>,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl<'a> StationMemory<'a> {
    pub fn new(stations: usize, rx_bytes: usize, tx_bytes: usize) -> Self {
        StationMemory {
            tables: (0..stations).map(|_| SocketStorage::EMPTY).collect(),
            rx: vec![0; stations * rx_bytes],
            tx: vec![0; stations * tx_bytes],
        }
    }

    /// A socket set holding one TCP socket, per station.
    pub fn socket_sets(&'a mut self) -> Vec<(SocketSet<'a>, SocketHandle)> {
        let stations = self.tables.len();
        let rx_bytes = self.rx.len() / stations;
        let tx_bytes = self.tx.len() / stations;
        self.tables
            .chunks_mut(1)
            .zip(self.rx.chunks_mut(rx_bytes))
            .zip(self.tx.chunks_mut(tx_bytes))
            .map(|((table, rx), tx)| {
                let mut set = SocketSet::new(table);
                let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
                // iPXE acknowledges every segment at once, and gives up a connection
                // whose SYNs go unanswered for about 16 s.
                socket.set_ack_delay(None);
                socket.set_timeout(Some(Duration::from_secs(16)));
                let handle = set.add(socket);
                (set, handle)
            })
            .collect()
    }
}

/// Where one client is in its boot.
#[derive(Debug)]
enum Phase {
    /// Waiting to power on.
    Off,
    Discovering {
        sent: u32,
        resend_at: Instant,
    },
    Requesting {
        offered: Ipv4Address,
        sent: u32,
        resend_at: Instant,
    },
    /// Bound; waiting for a router advertisement (iPXE finishes configuring the NIC
    /// only when IPv6 autoconfiguration is done too).
    Configuring,
    /// Connect at this time.
    Connect {
        at: Instant,
    },
    Connecting,
    Script,
    File {
        head: Option<usize>,
        received: usize,
    },
    Done,
    Failed,
}

struct Client {
    index: usize,
    mac: EthernetAddress,
    uuid: String,
    xid: u32,
    power_on: Instant,
    phase: Phase,
    /// Router solicitations sent, when the next is due, and whether an advertisement came.
    solicitations: u32,
    solicit_at: Instant,
    advertised: bool,
    /// Response bytes not yet consumed (the script and the file's head).
    buffer: Vec<u8>,
    kernel_target: String,
    bound_at: Option<Instant>,
    done_at: Option<Instant>,
    failure: Option<String>,
    refused: usize,
    retransmits: usize,
    solicitations_unanswered: bool,
}

/// iPXE's DHCP timer (`config/dhcp.h`): 1 s, doubling; it gives up once the next wait
/// would pass 10 s, so four messages are sent (at 0, 1, 3 and 7 s) and DHCP fails at 15 s.
const DHCP_SENDS: u32 = 4;

fn dhcp_wait(sent: u32) -> Duration {
    Duration::from_secs(1 << (sent - 1).min(3))
}

/// iPXE solicits a router for about 16 s before it configures the NIC without one.
const SOLICIT_FOR: Duration = Duration::from_secs(16);

fn send_dhcp(station: &mut Station<'_>, message: ClientMessage) {
    station.outbox.push(message.frame());
}

struct Shared<'f> {
    file: &'f [u8],
    script_url_prefix: String,
}

impl Client {
    fn fail(&mut self, why: &str) -> Tick {
        self.failure = Some(format!("client {} ({}): {why}", self.index, self.mac));
        self.phase = Phase::Failed;
        Tick::IDLE
    }

    /// Sends router solicitations until an advertisement comes, as iPXE's IPv6
    /// configurator does alongside DHCP; the timer for the next one, if any.
    fn solicit(&mut self, station: &mut Station<'_>, now: Instant) -> (bool, Option<Instant>) {
        if self.advertised || self.solicitations_unanswered {
            return (false, None);
        }
        if station.diverted.router_adverts > 0 {
            self.advertised = true;
            return (true, None);
        }
        if now >= self.power_on + SOLICIT_FOR {
            self.solicitations_unanswered = true;
            return (true, None);
        }
        if now < self.solicit_at {
            return (false, Some(self.solicit_at));
        }
        station.outbox.push(router_solicitation(self.mac));
        self.solicitations += 1;
        self.solicit_at = now + Duration::from_secs(1 << (self.solicitations - 1).min(3));
        (true, Some(self.solicit_at.min(self.power_on + SOLICIT_FOR)))
    }

    fn tick(&mut self, station: &mut Station<'_>, now: Instant, shared: &Shared<'_>) -> Tick {
        if matches!(self.phase, Phase::Off) {
            if now < self.power_on {
                return Tick { changed: false, timer: Some(self.power_on) };
            }
            // What a broadcast heard before power-on says does not count.
            station.diverted.router_adverts = 0;
            station.diverted.dhcp.clear();
            send_dhcp(station, ClientMessage::discover(self.mac, self.xid));
            self.phase = Phase::Discovering { sent: 1, resend_at: now + dhcp_wait(1) };
        }
        let (solicited, solicit_timer) = self.solicit(station, now);
        let tick = self.step(station, now, shared);
        let timer = [tick.timer, solicit_timer].into_iter().flatten().min();
        Tick { changed: tick.changed || solicited, timer }
    }

    fn step(&mut self, station: &mut Station<'_>, now: Instant, shared: &Shared<'_>) -> Tick {
        match self.phase {
            Phase::Off | Phase::Done | Phase::Failed => Tick::IDLE,
            Phase::Discovering { sent, resend_at } => {
                while let Some(frame) = station.diverted.dhcp.pop_front() {
                    let Some(reply) = parse_reply(&frame) else { continue };
                    if reply.xid == self.xid && reply.kind == DhcpMessageType::Offer {
                        let server = reply.server_id.unwrap_or(SERVER_IP);
                        send_dhcp(station, ClientMessage::request(self.mac, self.xid, reply.your_ip, server));
                        self.phase =
                            Phase::Requesting { offered: reply.your_ip, sent: 1, resend_at: now + dhcp_wait(1) };
                        return Tick { changed: true, timer: Some(now + dhcp_wait(1)) };
                    }
                }
                if now < resend_at {
                    return Tick { changed: false, timer: Some(resend_at) };
                }
                if sent >= DHCP_SENDS {
                    return self.fail(&format!("no DHCPOFFER after {sent} DISCOVERs: iPXE gives up"));
                }
                self.retransmits += 1;
                send_dhcp(station, ClientMessage::discover(self.mac, self.xid));
                self.phase = Phase::Discovering { sent: sent + 1, resend_at: now + dhcp_wait(sent + 1) };
                Tick { changed: true, timer: Some(now + dhcp_wait(sent + 1)) }
            }
            Phase::Requesting { offered, sent, resend_at } => {
                while let Some(frame) = station.diverted.dhcp.pop_front() {
                    let Some(reply) = parse_reply(&frame) else { continue };
                    if reply.xid != self.xid {
                        continue;
                    }
                    match reply.kind {
                        DhcpMessageType::Ack => {
                            return self.bound(station, now, offered, reply.bootfile.as_deref(), shared)
                        }
                        DhcpMessageType::Nak => return self.fail(&format!("DHCPNAK for {offered}")),
                        _ => {}
                    }
                }
                if now < resend_at {
                    return Tick { changed: false, timer: Some(resend_at) };
                }
                if sent >= DHCP_SENDS {
                    return self.fail(&format!("no DHCPACK after {sent} REQUESTs: iPXE gives up"));
                }
                self.retransmits += 1;
                send_dhcp(station, ClientMessage::request(self.mac, self.xid, offered, SERVER_IP));
                self.phase = Phase::Requesting { offered, sent: sent + 1, resend_at: now + dhcp_wait(sent + 1) };
                Tick { changed: true, timer: Some(now + dhcp_wait(sent + 1)) }
            }
            Phase::Configuring => {
                if self.advertised || self.solicitations_unanswered {
                    self.phase = Phase::Connect { at: now };
                    return Tick { changed: true, timer: None };
                }
                Tick::IDLE
            }
            Phase::Connect { at } => {
                if now < at {
                    return Tick { changed: false, timer: Some(at) };
                }
                if station.connect(0, SERVER_IP, 80) {
                    self.phase = Phase::Connecting;
                    return Tick { changed: true, timer: None };
                }
                // An old connection's reset goes out first.
                Tick { changed: true, timer: Some(now + Duration::from_millis(1)) }
            }
            Phase::Connecting => match station.socket(0).state() {
                tcp::State::SynSent => Tick::IDLE,
                tcp::State::Established => {
                    let request = ipxe_request(&self.script_target(shared));
                    if station.socket(0).send_slice(request.as_bytes()) != Ok(request.len()) {
                        return self.fail("request did not fit the send buffer");
                    }
                    self.phase = Phase::Script;
                    self.buffer.clear();
                    Tick { changed: true, timer: None }
                }
                state => {
                    self.refused += 1;
                    self.fail(&format!("connection refused or timed out ({state}): iPXE fails the boot"))
                }
            },
            Phase::Script => self.read_script(station, now, shared),
            Phase::File { .. } => self.read_file(station, now, shared),
        }
    }

    fn script_target(&self, shared: &Shared<'_>) -> String {
        format!("{}{}", shared.script_url_prefix.trim_start_matches("http://10.99.0.1"), self.uuid)
    }

    fn bound(
        &mut self,
        station: &mut Station<'_>,
        now: Instant,
        address: Ipv4Address,
        bootfile: Option<&str>,
        shared: &Shared<'_>,
    ) -> Tick {
        let expected = format!("{}{}", shared.script_url_prefix, self.uuid);
        if bootfile != Some(expected.as_str()) {
            return self.fail(&format!("option 67 is {bootfile:?}, expected {expected}"));
        }
        station.set_address(Ipv4Cidr::new(address, 16));
        self.bound_at = Some(now);
        self.phase = Phase::Configuring;
        Tick { changed: true, timer: None }
    }

    /// Fails unless the connection is still good for reading.
    fn check_open(&mut self, station: &mut Station<'_>, what: &str) -> Option<Tick> {
        let socket = station.socket(0);
        if !socket.can_recv() && !socket.may_recv() {
            return Some(self.fail(&format!("connection ended ({}) while reading the {what}", socket.state())));
        }
        None
    }

    fn read_script(&mut self, station: &mut Station<'_>, now: Instant, shared: &Shared<'_>) -> Tick {
        let socket = station.socket(0);
        while socket.can_recv() {
            let buffer = &mut self.buffer;
            let _ = socket.recv(|bytes| {
                buffer.extend_from_slice(bytes);
                (bytes.len(), ())
            });
        }
        let Some(response) = take_response(&mut self.buffer, false) else {
            return self.check_open(station, "script").unwrap_or(Tick::IDLE);
        };
        let text = String::from_utf8_lossy(&response.body);
        if response.status != 200 || !text.starts_with("#!ipxe\n") {
            return self.fail(&format!("script response {}: {text}", response.status));
        }
        // The script names its node: the one the inventory gives this client's MAC.
        let names_node = format!("for node {} (provision state: deploying)", self.uuid);
        if !text.contains(&names_node) {
            return self.fail(&format!("script is not for node {}: {text}", self.uuid));
        }
        let Some(kernel) = text.lines().find_map(|line| line.strip_prefix("kernel ")?.split(' ').next()) else {
            return self.fail(&format!("no kernel line: {text}"));
        };
        let Some(target) = kernel.strip_prefix("http://10.99.0.1") else {
            return self.fail(&format!("kernel is not on the appliance: {kernel}"));
        };
        target.clone_into(&mut self.kernel_target);
        if !self.buffer.is_empty() {
            return self.fail("bytes after the script response");
        }
        let request = ipxe_request(&self.kernel_target);
        if station.socket(0).send_slice(request.as_bytes()) != Ok(request.len()) {
            return self.fail("request did not fit the send buffer");
        }
        self.phase = Phase::File { head: None, received: 0 };
        // The file may already be arriving.
        let tick = self.read_file(station, now, shared);
        Tick { changed: true, timer: tick.timer }
    }

    fn read_file(&mut self, station: &mut Station<'_>, now: Instant, shared: &Shared<'_>) -> Tick {
        let Phase::File { mut head, mut received } = self.phase else { return Tick::IDLE };
        let file = shared.file;
        let mut mismatch = None;
        let mut read_any = false;
        loop {
            let socket = station.socket(0);
            if !socket.can_recv() {
                break;
            }
            read_any = true;
            if head.is_none() {
                let buffer = &mut self.buffer;
                let _ = socket.recv(|bytes| {
                    // Only up to the end of the head; the body is checked, not kept.
                    let take = bytes.len().min(4096);
                    buffer.extend_from_slice(&bytes[..take]);
                    (take, ())
                });
                // A head that does not parse yet is waited on; the connection's end fails it.
                let parsed_head = ResponseHead::parse(&self.buffer)
                    .ok()
                    .flatten()
                    .map(|head| (head.len, Some(head.status), head.content_length()));
                if let Some((head_len, code, length)) = parsed_head {
                    if code != Some(200) || length != Some(file.len()) {
                        let shown = String::from_utf8_lossy(&self.buffer[..head_len]).into_owned();
                        return self.fail(&format!("file response head: {shown}"));
                    }
                    head = Some(head_len);
                    let body = self.buffer.split_off(head_len);
                    if body.len() > file.len() || body != file[..body.len()] {
                        mismatch = Some(0);
                    }
                    received = body.len();
                    self.buffer.clear();
                }
                continue;
            }
            let _ = socket.recv(|bytes| {
                let end = received + bytes.len();
                if end > file.len() || bytes != &file[received..end] {
                    mismatch.get_or_insert(received);
                }
                received = end;
                (bytes.len(), ())
            });
        }
        if let Some(at) = mismatch {
            return self.fail(&format!("file differs from byte {at} on"));
        }
        self.phase = Phase::File { head, received };
        if head.is_some() && received == file.len() {
            self.done_at = Some(now);
            self.phase = Phase::Done;
            // Done with this connection (a real client would go on to the initrd).
            station.socket(0).close();
            return Tick { changed: true, timer: None };
        }
        if let Some(tick) = self.check_open(station, "file") {
            return tick;
        }
        Tick { changed: read_any, timer: None }
    }
}

/// Runs a storm as `config` says; the report lists every client that failed.
pub fn run_storm_with(config: &StormConfig) -> StormReport {
    let started = WallClock::now();
    let clients = config.clients;
    let json = inventory_json(clients);
    let mut inventory_memory = HeapInventoryBuffers::new(storm_capacity(clients)).expect("inventory capacity");
    let inventory = inventory_memory.load(json.as_bytes()).expect("generated inventory loads");

    let mut sizes = config.sizes;
    sizes.dhcp_leases = clients + 16;
    let mut settings = ApplianceSettings::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 16));
    settings.http = HttpLimits::DEFAULT;
    let first = Ipv4Address::new(10, 99, 1, 0);
    let last = Ipv4Address::from(u32::from(first) + u32::try_from(sizes.dhcp_leases).unwrap() - 1);
    settings.dhcp = Some(DhcpSettings::new(first, last));
    settings.random_seed = 0x5eed;
    let file = pseudo_random_bytes(config.file_bytes, 0x2545_f491);
    let mut files = MemoryFiles::new();
    files.insert(KERNEL_PATH, Arc::clone(&file));

    // On the heap rather than leaked, so a storm frees its buffers when done.
    let mut appliance_memory = HeapApplianceBuffers::new(&sizes);
    let mut station_memory = StationMemory::new(clients, CLIENT_RX, CLIENT_TX);
    let mut lan = Lan::new(settings, appliance_memory.split(files), inventory, CONFIG);
    lan.quantum = config.quantum;
    lan.bits_per_second = config.bits_per_second;

    let t0 = lan.now;
    let spread = config.power_on_spread.total_micros();
    let mut fleet: Vec<Client> = Vec::with_capacity(clients);
    for (index, (sockets, handle)) in station_memory.socket_sets().into_iter().enumerate() {
        let mac = node_mac(index);
        let station = lan.add_station(mac, None, sockets, vec![handle]);
        lan.stations[station].auto_drain = false;
        let offset = if clients > 1 { spread * index as u64 / (clients as u64 - 1) } else { 0 };
        fleet.push(Client {
            index,
            mac,
            uuid: node_uuid(index),
            xid: 0x1000_0000 | u32::try_from(index).unwrap(),
            power_on: t0 + Duration::from_micros(offset),
            phase: Phase::Off,
            solicitations: 0,
            solicit_at: t0,
            advertised: false,
            buffer: Vec::new(),
            kernel_target: String::new(),
            bound_at: None,
            done_at: None,
            failure: None,
            refused: 0,
            retransmits: 0,
            solicitations_unanswered: false,
        });
    }
    let shared = Shared {
        file: &file,
        script_url_prefix: "http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=".to_owned(),
    };

    let limit = t0 + config.time_limit;
    let finished = std::cell::Cell::new(0);
    let mut driver = |index: usize, station: &mut Station<'_>, now: Instant| {
        let client = &mut fleet[index];
        let before = matches!(client.phase, Phase::Done | Phase::Failed);
        let tick = client.tick(station, now, &shared);
        if !before && matches!(client.phase, Phase::Done | Phase::Failed) {
            finished.set(finished.get() + 1);
        }
        tick
    };
    while finished.get() < clients && lan.now < limit {
        lan.step_with(limit, &mut driver);
    }
    report(&fleet, &mut lan, t0, started)
}

/// What the storm took, from the clients' records; checks that every file was let go.
fn report(fleet: &[Client], lan: &mut Lan<'_>, t0: Instant, started: WallClock) -> StormReport {
    let mut failures: Vec<String> = fleet.iter().filter_map(|client| client.failure.clone()).collect();
    for client in fleet.iter().filter(|client| client.failure.is_none() && client.done_at.is_none()) {
        failures.push(format!(
            "client {} ({}): unfinished at the time limit in {:?}",
            client.index, client.mac, client.phase
        ));
    }
    let mut times: Vec<Duration> = fleet.iter().filter_map(|client| Some(client.done_at? - client.power_on)).collect();
    times.sort();
    let mut bound: Vec<Duration> = fleet.iter().filter_map(|client| Some(client.bound_at? - client.power_on)).collect();
    bound.sort();
    let percentile = |sorted: &[Duration], p: usize| {
        sorted.get((sorted.len() * p).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
    };
    let last_done = fleet.iter().filter_map(|client| client.done_at).max().unwrap_or(t0);
    let open_files = lan.appliance.files_mut().open_count();
    if failures.is_empty() && open_files != 0 {
        // Every client closed its connection; the appliance must let go of every file.
        lan.advance(Duration::from_secs(1));
        let open_files = lan.appliance.files_mut().open_count();
        if open_files != 0 {
            failures.push(format!("{open_files} files still open after every client finished"));
        }
    }
    StormReport {
        clients: fleet.len(),
        total: last_done - t0,
        p50: percentile(&times, 50),
        p99: percentile(&times, 99),
        max: times.last().copied().unwrap_or_default(),
        dhcp_p50: percentile(&bound, 50),
        dhcp_p99: percentile(&bound, 99),
        wall: started.elapsed(),
        refused: fleet.iter().map(|client| client.refused).sum(),
        dhcp_retransmits: fleet.iter().map(|client| client.retransmits).sum(),
        unanswered_solicitations: fleet.iter().filter(|client| client.solicitations_unanswered).count(),
        frames_up: lan.stats.up.frames,
        frames_down: lan.stats.down.frames,
        bytes_down: lan.stats.down.bytes,
        arp_requests: lan.stats.appliance_arp_requests,
        steps: lan.steps(),
        failures,
    }
}
