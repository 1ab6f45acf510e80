//! A simulated Ethernet segment for many clients at once: the appliance on one port and
//! any number of client stations, each its own smoltcp interface with its own MAC.
//!
//! Forwarding is a hub's: every frame a station sends goes to the appliance; a frame the
//! appliance sends goes to the station with its destination MAC, or to every station when
//! it is broadcast or multicast. Stations do not hear each other.
//!
//! Time is virtual and jumps from one event to the next, so a test covering minutes of
//! timeouts runs in milliseconds. Frames are serialised at a line rate (1 Gbit/s by
//! default) on the appliance's port, one queue each way, so transfer times mean something;
//! nothing is ever dropped on the way, except frames to or from a station that has
//! "vanished" (unplugged: it neither sends nor receives, and sends no FIN or RST).
//!
//! DHCP replies (UDP to port 68) are taken out before a station's interface sees them and
//! kept in [`Station::diverted`] when addressed to the station's MAC (`chaddr`), and so are
//! router advertisements: the clients configure themselves by hand, with the exact
//! messages iPXE sends.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::rc::Rc;

use ipxe_config::{Inventory, RenderConfig};
use ipxe_config_server::{Appliance, ApplianceSettings, ApplianceStorage, OpenFiles};
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    DhcpPacket, EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpCidr, IpProtocol,
    Ipv4Address, Ipv4Cidr, Ipv4Packet, UdpPacket,
};

use ipxe_config_testkit::files::MemoryFiles;
use ipxe_config_testkit::http::{take_response, Response};
use ipxe_config_testkit::phy::{Inbox, Port};

use super::autoconf::is_router_advertisement;

/// A frame on the wire, shared between the stations a broadcast reaches.
pub type Frame = Rc<[u8]>;

/// Frames in flight towards one receiver, each with the time its last bit arrives.
type Queue = VecDeque<(Instant, Frame)>;

/// Frames due at one end of the segment: its queue, and for a station, its MAC and where
/// DHCP replies and router advertisements go instead of its interface.
struct Inbound<'p> {
    queue: &'p mut Queue,
    diverted: Option<(EthernetAddress, &'p mut Diverted)>,
}

impl Inbox for Inbound<'_> {
    fn ready(&mut self, now: Instant) -> bool {
        loop {
            let Some((due, frame)) = self.queue.front() else { return false };
            if *due > now {
                return false;
            }
            let Some((mac, diverted)) = &mut self.diverted else { return true };
            if let Some(chaddr) = dhcp_reply_chaddr(frame) {
                if chaddr == *mac {
                    diverted.dhcp.push_back(frame.clone());
                }
            } else if is_router_advertisement(frame) {
                diverted.router_adverts += 1;
            } else {
                return true;
            }
            self.queue.pop_front();
        }
    }

    fn take<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (_, frame) = self.queue.pop_front().expect("`ready` saw a frame");
        f(&frame)
    }
}

/// The `chaddr` of a DHCP server-to-client message (IPv4, UDP 67 → 68), if `frame` is one.
pub fn dhcp_reply_chaddr(frame: &[u8]) -> Option<EthernetAddress> {
    let ethernet = EthernetFrame::new_checked(frame).ok()?;
    if ethernet.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(ethernet.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if (udp.src_port(), udp.dst_port()) != (67, 68) {
        return None;
    }
    Some(DhcpPacket::new_checked(udp.payload()).ok()?.client_hardware_address())
}

/// What a station's client code handles itself rather than its interface.
#[derive(Debug, Default)]
pub struct Diverted {
    /// DHCP replies addressed to the station, oldest first.
    pub dhcp: VecDeque<Frame>,
    /// Router advertisements heard.
    pub router_adverts: usize,
}

/// What a station's driver wants after being called.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tick {
    /// It changed a socket or queued a frame: poll the interface again now.
    pub changed: bool,
    /// Call it again at this time even if nothing arrives.
    pub timer: Option<Instant>,
}

impl Tick {
    /// Nothing to do, no timer.
    pub const IDLE: Tick = Tick { changed: false, timer: None };
}

/// One client machine on the segment.
pub struct Station<'a> {
    pub mac: EthernetAddress,
    pub iface: Interface,
    pub sockets: SocketSet<'a>,
    /// The TCP sockets, in the order they were added.
    pub handles: Vec<SocketHandle>,
    /// Bytes received per socket, when the segment drains them ([`Station::auto_drain`]).
    pub received: Vec<Vec<u8>>,
    /// Sockets the segment must not read: their receive window fills and closes.
    pub paused: Vec<bool>,
    /// Drain every socket after each poll into `received` (off for drivers that read
    /// themselves).
    pub auto_drain: bool,
    /// DHCP replies addressed to this station and router advertisements.
    pub diverted: Diverted,
    /// Raw frames to send (hand-made DHCP messages, injected junk).
    pub outbox: Vec<Vec<u8>>,
    /// Unplugged: sends nothing, receives nothing, is never polled.
    pub vanished: bool,
    inbox: Queue,
    scheduled: Option<Instant>,
    next_port: u16,
}

impl<'a> Station<'a> {
    /// The socket `index` of this station.
    pub fn socket(&mut self, index: usize) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.handles[index])
    }

    /// Sets (or replaces) the station's IPv4 address.
    pub fn set_address(&mut self, address: Ipv4Cidr) {
        self.iface.update_ip_addrs(|addresses| {
            addresses.clear();
            addresses.push(IpCidr::Ipv4(address)).unwrap();
        });
    }

    /// Starts a TCP connection on socket `index` from a fresh local port. A socket still
    /// open is reset first; then `false` is returned and the caller must poll once (so
    /// the RST goes out) and call again.
    pub fn connect(&mut self, index: usize, server: Ipv4Address, port: u16) -> bool {
        let handle = self.handles[index];
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if socket.is_open() {
            socket.abort();
        }
        if socket.remote_endpoint().is_some() {
            return false;
        }
        let local = self.next_port;
        self.next_port = if self.next_port == u16::MAX { 49152 } else { self.next_port + 1 };
        self.received[index].clear();
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.connect(self.iface.context(), (IpAddress::Ipv4(server), port), local).expect("connect");
        true
    }

    fn drain(&mut self) {
        for ((handle, received), paused) in self.handles.iter().zip(self.received.iter_mut()).zip(&self.paused) {
            if *paused {
                continue;
            }
            let socket = self.sockets.get_mut::<tcp::Socket>(*handle);
            while socket.can_recv() {
                let _ = socket.recv(|bytes| {
                    received.extend_from_slice(bytes);
                    (bytes.len(), ())
                });
            }
        }
    }
}

/// Frame and byte counts of one direction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub frames: u64,
    pub bytes: u64,
}

/// What crossed the segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct LanStats {
    /// Stations → appliance.
    pub up: Counts,
    /// Appliance → stations (a broadcast counts once).
    pub down: Counts,
    /// Frames to or from vanished stations, dropped.
    pub vanished: u64,
    /// Unicast frames from the appliance to a MAC no station has.
    pub unknown_destination: u64,
    /// ARP requests the appliance broadcast (it had to look a station up).
    pub appliance_arp_requests: u64,
}

/// The appliance, the stations and the wire between them.
pub struct Lan<'a> {
    pub now: Instant,
    pub appliance: Appliance<'a, MemoryFiles>,
    pub inventory: Inventory<'a>,
    pub config: RenderConfig<'a>,
    pub stations: Vec<Station<'a>>,
    pub stats: LanStats,
    /// Every step advances the clock by at least this much (coarser steps, fewer polls).
    pub quantum: Duration,
    /// Line rate of the appliance's port, each way.
    pub bits_per_second: u64,
    by_mac: HashMap<EthernetAddress, usize>,
    to_appliance: Queue,
    appliance_outbox: Vec<Vec<u8>>,
    appliance_wake: Option<Instant>,
    /// When each direction of the appliance's port is free again, in nanoseconds.
    uplink_free: u64,
    downlink_free: u64,
    wakes: BinaryHeap<Reverse<(Instant, usize)>>,
    steps: u64,
}

/// Bytes an Ethernet frame occupies on the wire: FCS, minimum size, preamble and gap.
fn wire_bytes(len: usize) -> u64 {
    (len + 4).max(64) as u64 + 20
}

impl<'a> Lan<'a> {
    /// Sets up the appliance (its clock starts at 1 s) with no stations yet, in buffers
    /// as `ApplianceBuffers::split` or `host::leak_buffers` hand them out.
    pub fn new(
        settings: ApplianceSettings,
        (storage, files): (ApplianceStorage<'a>, OpenFiles<'a, MemoryFiles>),
        inventory: Inventory<'a>,
        config: RenderConfig<'a>,
    ) -> Self {
        let now = Instant::from_secs(1);
        let (mut queue, mut outbox) = (Queue::new(), Vec::new());
        let mut inbox = Inbound { queue: &mut queue, diverted: None };
        let mut port = Port::new(&mut inbox, &mut outbox);
        let appliance = Appliance::new(settings, storage, files, &mut port, now).expect("appliance set-up");
        Lan {
            now,
            appliance,
            inventory,
            config,
            stations: Vec::new(),
            stats: LanStats::default(),
            quantum: Duration::from_micros(1),
            bits_per_second: 1_000_000_000,
            by_mac: HashMap::new(),
            to_appliance: Queue::new(),
            appliance_outbox: Vec::new(),
            appliance_wake: Some(now),
            uplink_free: 0,
            downlink_free: 0,
            wakes: BinaryHeap::new(),
            steps: 0,
        }
    }

    /// Plugs in a station with TCP sockets `tcp` (given as handles into `sockets`);
    /// returns its index.
    pub fn add_station(
        &mut self,
        mac: EthernetAddress,
        address: Option<Ipv4Cidr>,
        sockets: SocketSet<'a>,
        handles: Vec<SocketHandle>,
    ) -> usize {
        let (mut queue, mut outbox) = (Queue::new(), Vec::new());
        let mut inbox = Inbound { queue: &mut queue, diverted: None };
        let mut port = Port::new(&mut inbox, &mut outbox);
        let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(mac));
        config.random_seed = u64::from_le_bytes([mac.0[0], mac.0[1], mac.0[2], mac.0[3], mac.0[4], mac.0[5], 0x5a, 1]);
        let iface = Interface::new(config, &mut port, self.now);
        let count = handles.len();
        let index = self.stations.len();
        let mut station = Station {
            mac,
            iface,
            sockets,
            handles,
            received: vec![Vec::new(); count],
            paused: vec![false; count],
            auto_drain: true,
            diverted: Diverted::default(),
            outbox: Vec::new(),
            vanished: false,
            inbox: Queue::new(),
            scheduled: None,
            next_port: 49152,
        };
        if let Some(address) = address {
            station.set_address(address);
        }
        self.stations.push(station);
        assert!(self.by_mac.insert(mac, index).is_none(), "two stations with MAC {mac}");
        self.touch(index);
        index
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Has station `index` polled (and its driver called) at the current time.
    pub fn touch(&mut self, index: usize) {
        self.schedule(index, self.now);
    }

    fn schedule(&mut self, index: usize, at: Instant) {
        let station = &mut self.stations[index];
        if station.scheduled.is_some_and(|scheduled| scheduled <= at) {
            return;
        }
        station.scheduled = Some(at);
        self.wakes.push(Reverse((at, index)));
    }

    fn serialise(&self, free: &mut u64, len: usize) -> Instant {
        let now_ns = u64::try_from(self.now.total_micros()).unwrap() * 1000;
        let start = now_ns.max(*free);
        let end = start + wire_bytes(len) * 8 * 1_000_000_000 / self.bits_per_second;
        *free = end;
        // The last bit arrives at `end`; a frame is never due in the instant it was sent.
        Instant::from_micros(i64::try_from(end.div_ceil(1000)).unwrap().max(self.now.total_micros() + 1))
    }

    fn route_up(&mut self, frames: Vec<Vec<u8>>) {
        for frame in frames {
            self.stats.up.frames += 1;
            self.stats.up.bytes += frame.len() as u64;
            let mut free = self.uplink_free;
            let due = self.serialise(&mut free, frame.len());
            self.uplink_free = free;
            self.to_appliance.push_back((due, Rc::from(frame)));
        }
    }

    fn route_down(&mut self, frames: Vec<Vec<u8>>) {
        for frame in frames {
            self.stats.down.frames += 1;
            self.stats.down.bytes += frame.len() as u64;
            let mut free = self.downlink_free;
            let due = self.serialise(&mut free, frame.len());
            self.downlink_free = free;
            let ethernet = EthernetFrame::new_checked(&frame[..]).expect("the appliance sends whole Ethernet frames");
            let destination = ethernet.dst_addr();
            if ethernet.ethertype() == EthernetProtocol::Arp && destination.is_broadcast() {
                self.stats.appliance_arp_requests += 1;
            }
            let frame: Frame = Rc::from(frame);
            if destination.is_broadcast() || destination.is_multicast() {
                for index in 0..self.stations.len() {
                    self.deliver(index, due, frame.clone());
                }
            } else if let Some(&index) = self.by_mac.get(&destination) {
                self.deliver(index, due, frame);
            } else {
                self.stats.unknown_destination += 1;
            }
        }
    }

    fn deliver(&mut self, index: usize, due: Instant, frame: Frame) {
        if self.stations[index].vanished {
            self.stats.vanished += 1;
            return;
        }
        self.stations[index].inbox.push_back((due, frame));
        self.schedule(index, due);
    }

    fn poll_appliance(&mut self) {
        let mut outbox = std::mem::take(&mut self.appliance_outbox);
        let mut inbox = Inbound { queue: &mut self.to_appliance, diverted: None };
        let mut port = Port::new(&mut inbox, &mut outbox);
        self.appliance.poll(self.now, &mut port, &self.inventory, &self.config);
        self.appliance_wake = self.appliance.poll_at(self.now);
        let frames = std::mem::take(&mut outbox);
        self.appliance_outbox = outbox;
        self.route_down(frames);
    }

    fn poll_station(&mut self, index: usize, driver: &mut dyn FnMut(usize, &mut Station<'a>, Instant) -> Tick) {
        let now = self.now;
        let station = &mut self.stations[index];
        if station.vanished {
            self.stats.vanished += station.inbox.len() as u64 + station.outbox.len() as u64;
            station.inbox.clear();
            station.outbox.clear();
            return;
        }
        let mut timer = None;
        for _ in 0..8 {
            let Station { iface, sockets, inbox, outbox, diverted, mac, .. } = &mut *station;
            let mut inbox = Inbound { queue: inbox, diverted: Some((*mac, diverted)) };
            let mut port = Port::new(&mut inbox, outbox);
            iface.poll(now, &mut port, sockets);
            if station.auto_drain {
                station.drain();
            }
            let tick = driver(index, station, now);
            timer = tick.timer;
            if !tick.changed {
                break;
            }
        }
        let frames = std::mem::take(&mut station.outbox);
        let next = [station.inbox.front().map(|(due, _)| *due), station.iface.poll_at(now, &station.sockets), timer]
            .into_iter()
            .flatten()
            .min();
        self.route_up(frames);
        if let Some(next) = next {
            self.schedule(index, next.max(now + Duration::from_micros(1)));
        }
    }

    /// Polls whatever is due now, then moves the clock to the next event, but never past
    /// `limit` and always by at least [`Lan::quantum`]. `driver` is called after every
    /// poll of a station.
    pub fn step_with(&mut self, limit: Instant, driver: &mut dyn FnMut(usize, &mut Station<'a>, Instant) -> Tick) {
        self.steps += 1;
        let appliance_due = self.to_appliance.front().is_some_and(|(due, _)| *due <= self.now)
            || self.appliance_wake.is_some_and(|wake| wake <= self.now);
        if appliance_due {
            self.poll_appliance();
        }
        while let Some(&Reverse((at, index))) = self.wakes.peek() {
            if at > self.now {
                break;
            }
            self.wakes.pop();
            if self.stations[index].scheduled != Some(at) {
                continue;
            }
            self.stations[index].scheduled = None;
            self.poll_station(index, driver);
        }
        // Replies the stations queued may be due before anything else; the appliance may
        // also have more to do in this same instant.
        let next = [
            self.to_appliance.front().map(|(due, _)| *due),
            self.appliance_wake,
            self.wakes.peek().map(|Reverse((at, _))| *at),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(limit);
        let floor = self.now + self.quantum;
        self.now = next.max(floor).min(limit.max(floor));
    }

    /// [`Lan::step_with`] without a driver.
    pub fn step(&mut self, limit: Instant) {
        self.step_with(limit, &mut |_, _, _| Tick::IDLE);
    }

    /// Runs until the clock reaches `until`.
    pub fn advance_to(&mut self, until: Instant) {
        while self.now < until {
            self.step(until);
        }
    }

    /// Runs for `duration` of virtual time.
    pub fn advance(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.advance_to(until);
    }

    /// Steps until `done` holds; `false` if `within` (virtual time) passes first.
    pub fn run_until(&mut self, within: Duration, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let limit = self.now + within;
        loop {
            if done(self) {
                return true;
            }
            if self.now >= limit {
                return false;
            }
            self.step(limit);
        }
    }

    /// Sends raw frames from station `index` (DHCP by hand, junk).
    pub fn inject(&mut self, index: usize, frame: Vec<u8>) {
        self.stations[index].outbox.push(frame);
        self.touch(index);
    }
}

/// TCP sockets for one station, with buffers that live as long as the test.
pub fn leaked_sockets(count: usize, rx_bytes: usize, tx_bytes: usize) -> (SocketSet<'static>, Vec<SocketHandle>) {
    let storage = Box::leak((0..count).map(|_| smoltcp::iface::SocketStorage::EMPTY).collect::<Box<[_]>>());
    let mut sockets = SocketSet::new(&mut storage[..]);
    let handles = (0..count)
        .map(|_| {
            let rx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; rx_bytes]));
            let tx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; tx_bytes]));
            sockets.add(tcp::Socket::new(rx, tx))
        })
        .collect();
    (sockets, handles)
}

/// HTTP over one station's socket, for tests that drive clients step by step.
impl Lan<'_> {
    /// Connects socket `socket` of station `station` to the appliance's port 80 and waits
    /// for the handshake; `false` if refused or not established within `within`.
    pub fn connect(&mut self, station: usize, socket: usize, within: Duration) -> bool {
        let server = self.appliance.ipv4();
        if !self.stations[station].connect(socket, server, 80) {
            self.touch(station);
            self.step(self.now + Duration::from_millis(1));
            assert!(self.stations[station].connect(socket, server, 80), "the reset went out");
        }
        self.touch(station);
        let established =
            self.run_until(within, |lan| !matches!(lan.stations[station].socket(socket).state(), tcp::State::SynSent));
        established && self.stations[station].socket(socket).state() == tcp::State::Established
    }

    /// Queues all of `bytes` on a socket, stepping while its send buffer is full;
    /// `false` if the connection can no longer send or `within` passes.
    pub fn send(&mut self, station: usize, socket: usize, bytes: &[u8], within: Duration) -> bool {
        let limit = self.now + within;
        let mut sent = 0;
        while sent < bytes.len() {
            let tcp = self.stations[station].socket(socket);
            if !tcp.may_send() {
                return false;
            }
            sent += tcp.send_slice(&bytes[sent..]).unwrap_or(0);
            self.touch(station);
            if sent < bytes.len() {
                if self.now >= limit {
                    return false;
                }
                self.step(limit);
            }
        }
        self.step(limit);
        true
    }

    /// Reads one HTTP response (its body too unless `head_only`) from what the socket
    /// received; `None` if the connection ends or `within` passes first.
    pub fn read_response(
        &mut self,
        station: usize,
        socket: usize,
        head_only: bool,
        within: Duration,
    ) -> Option<Response> {
        let limit = self.now + within;
        loop {
            if let Some(response) = take_response(&mut self.stations[station].received[socket], head_only) {
                return Some(response);
            }
            let tcp = self.stations[station].socket(socket);
            if !tcp.may_recv() && !tcp.can_recv() || self.now >= limit {
                return take_response(&mut self.stations[station].received[socket], head_only);
            }
            self.step(limit);
        }
    }

    /// `GET target` (iPXE's headers) on a connected socket.
    pub fn get(&mut self, station: usize, socket: usize, target: &str, within: Duration) -> Option<Response> {
        let request = ipxe_request(target);
        if !self.send(station, socket, request.as_bytes(), within) {
            return None;
        }
        self.read_response(station, socket, false, within)
    }

    /// Whether the appliance ended the connection (FIN or RST received).
    pub fn ended_by_server(&mut self, station: usize, socket: usize) -> bool {
        let tcp = self.stations[station].socket(socket);
        !tcp.may_recv() || tcp.state() == tcp::State::Closed
    }
}

/// A request as iPXE 1.0.0 sends it.
pub fn ipxe_request(target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nConnection: keep-alive\r\nUser-Agent: iPXE/1.0.0+git-20190125.36a4c85-5.1\r\nHost: 10.99.0.1\r\n\r\n"
    )
}

/// A well-behaved client fetching one URL without blocking the test, so attackers can act
/// in the same virtual time: connects, sends iPXE's request, reads the response. A
/// refused or failed connection is tried again after `retry_after`, as an iPXE script's
/// retry loop would.
pub struct Fetch {
    pub station: usize,
    pub socket: usize,
    pub target: String,
    /// When the client started.
    pub started: Instant,
    /// Connections that were refused (RST) or ended before the response.
    pub failed_attempts: usize,
    pub retry_after: Duration,
    state: FetchState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchState {
    Waiting { until: Instant },
    Connecting,
    Reading,
    Done,
}

impl Fetch {
    pub fn new(lan: &Lan<'_>, station: usize, socket: usize, target: &str) -> Self {
        Fetch {
            station,
            socket,
            target: target.to_owned(),
            started: lan.now,
            failed_attempts: 0,
            retry_after: Duration::from_secs(1),
            state: FetchState::Waiting { until: lan.now },
        }
    }

    /// Moves the client along; the response once it is complete.
    pub fn poll(&mut self, lan: &mut Lan<'_>) -> Option<Response> {
        let now = lan.now;
        match self.state {
            FetchState::Waiting { until } => {
                if now >= until {
                    let server = lan.appliance.ipv4();
                    if lan.stations[self.station].connect(self.socket, server, 80) {
                        self.state = FetchState::Connecting;
                    }
                    lan.touch(self.station);
                }
                None
            }
            FetchState::Connecting => {
                match lan.stations[self.station].socket(self.socket).state() {
                    tcp::State::SynSent => {}
                    tcp::State::Established => {
                        let request = ipxe_request(&self.target);
                        let sent = lan.stations[self.station].socket(self.socket).send_slice(request.as_bytes());
                        assert_eq!(sent, Ok(request.len()), "request fits the send buffer");
                        lan.touch(self.station);
                        self.state = FetchState::Reading;
                    }
                    _ => self.retry(now),
                }
                None
            }
            FetchState::Reading => {
                let station = &mut lan.stations[self.station];
                if let Some(response) = take_response(&mut station.received[self.socket], false) {
                    self.state = FetchState::Done;
                    return Some(response);
                }
                let socket = station.socket(self.socket);
                if !socket.may_recv() || socket.state() == tcp::State::Closed {
                    self.retry(now);
                }
                None
            }
            FetchState::Done => None,
        }
    }

    fn retry(&mut self, now: Instant) {
        self.failed_attempts += 1;
        self.state = FetchState::Waiting { until: now + self.retry_after };
    }

    /// When the client next needs the test's attention.
    pub fn wake_at(&self, now: Instant) -> Instant {
        match self.state {
            FetchState::Waiting { until } => until.max(now),
            _ => now + Duration::from_millis(5),
        }
    }
}

/// A bare SYN to the appliance's HTTP port from `source`, sent as station `mac`.
pub fn syn_frame(mac: EthernetAddress, source: Ipv4Address, source_port: u16, seq: u32) -> Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl,
        TcpPacket, TcpRepr, TcpSeqNumber,
    };
    let tcp = TcpRepr {
        src_port: source_port,
        dst_port: 80,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(i32::from_ne_bytes(seq.to_ne_bytes())),
        ack_number: None,
        window_len: 64240,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: source,
        dst_addr: crate::common::SERVER_IP,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let ethernet =
        EthernetRepr { src_addr: mac, dst_addr: crate::common::SERVER_MAC, ethertype: EthernetProtocol::Ipv4 };
    let mut frame = vec![0u8; 14 + 20 + tcp.buffer_len()];
    ethernet.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    let caps = ChecksumCapabilities::default();
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &caps);
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut frame[34..]),
        &IpAddress::Ipv4(source),
        &IpAddress::Ipv4(crate::common::SERVER_IP),
        &caps,
    );
    frame
}
