//! What the appliance benchmarks share: the appliance and a client smoltcp interface in
//! one process, joined by the test kit's in-memory Ethernet link, on a virtual clock, and
//! a client that speaks just enough HTTP/1.1 to fetch scripts and files.
//!
//! The client allocates nothing after set-up (its receive buffer is reserved once), so
//! an allocation counted while it runs is the appliance's.
// Each bench binary uses a different subset of these helpers.
#![allow(dead_code)]

use ipxe_config::{Inventory, RenderConfig};
use ipxe_config_server::host::leak_buffers;
use ipxe_config_server::{Appliance, ApplianceCapacity, ApplianceSettings, FileSource};
use ipxe_config_testkit::http::{parse_response, ResponseHead};
use ipxe_config_testkit::inventory::shared_inventory;
use ipxe_config_testkit::link::Wire;
use ipxe_config_testkit::net::{CLIENT_IP, CLIENT_MAC, CONFIG, SERVER_IP};
use smoltcp::iface::{Config as InterfaceConfig, Interface, PollResult, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Cidr};

pub use ipxe_config_testkit::net::settings;

/// Node 1's script by MAC, spelled as iPXE sends `${mac}` in a URL.
pub const SCRIPT_BY_MAC: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01";
/// Node 1's script by UUID, as the appliance's DHCP server hands it out.
pub const SCRIPT_BY_UUID: &str =
    "/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000001-0000-4000-8000-000000000001";

/// Turns without any frame moving or timer due before a wait is declared stuck.
const STUCK_TURNS: usize = 100_000;

/// The buffer sizes `ipxe-config-appliance` allocates by default (its `--max-connections`,
/// `--tcp-rx-bytes`, `--tcp-tx-bytes`, `--response-bytes` and `--max-header-bytes`
/// defaults, a lease per pool address): what a host appliance runs with.
pub fn binary_sizes() -> ApplianceCapacity {
    ApplianceCapacity {
        connections: 32,
        tcp_rx_bytes: 8192,
        tcp_tx_bytes: 65536,
        response_bytes: 16384,
        request_scratch_bytes: 4096,
        dhcp_leases: 100,
        ..ApplianceCapacity::DEFAULT
    }
}

/// A response the client read: status, head length, body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub head_len: usize,
    pub body_len: usize,
}

/// The appliance, one client TCP socket and the wire between them.
pub struct World<F: FileSource<File: 'static>> {
    pub wire: Wire,
    pub appliance: Appliance<'static, F>,
    pub client: Interface,
    pub sockets: SocketSet<'static>,
    pub socket: SocketHandle,
    pub inventory: Inventory<'static>,
    pub config: RenderConfig<'static>,
    pub now: Instant,
    /// Bytes received on the client socket and not yet consumed.
    pub received: Vec<u8>,
    /// Times the clock had to jump to a timer because nothing else could move: each is a
    /// wait (delayed ACK, retransmission) that real time would spend idle.
    pub timer_waits: u64,
    /// Interface polls of both sides together.
    pub turns: u64,
    next_port: u16,
}

impl<F: FileSource<File: 'static>> World<F> {
    pub fn new(settings: ApplianceSettings, sizes: &ApplianceCapacity, files: F) -> Self {
        let mut wire = Wire::new(512);
        let now = Instant::from_secs(1);
        let (storage, files) = leak_buffers(sizes, files);
        let appliance =
            Appliance::new(settings, storage, files, &mut wire.appliance_end(), now).expect("appliance set-up");

        let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(CLIENT_MAC));
        config.random_seed = 7;
        let mut client = Interface::new(config, &mut wire.client_end(), now);
        client.update_ip_addrs(|addresses| {
            addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(CLIENT_IP, 24))).expect("client address");
        });
        let storage: &'static mut [SocketStorage<'static>] = Box::leak(Box::new([SocketStorage::EMPTY]));
        let mut sockets = SocketSet::new(storage);
        let rx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; 65536]));
        let tx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; 4096]));
        let mut socket = tcp::Socket::new(rx, tx);
        // The client acknowledges at once, as iPXE does: a delayed ACK would only stall
        // the exchange on the virtual clock.
        socket.set_ack_delay(None);
        socket.set_nagle_enabled(false);
        let socket = sockets.add(socket);
        World {
            wire,
            appliance,
            client,
            sockets,
            socket,
            inventory: shared_inventory(),
            config: CONFIG,
            now,
            received: Vec::with_capacity(1 << 16),
            timer_waits: 0,
            turns: 0,
            next_port: 49152,
        }
    }

    fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.socket)
    }

    /// Polls the appliance, then the client. When neither moved anything and no frame
    /// is in flight, only a timer can make progress: the clock jumps to the earliest one.
    pub fn turn(&mut self) {
        self.turns += 1;
        let served = self.appliance.poll(self.now, &mut self.wire.appliance_end(), &self.inventory, &self.config);
        let client = self.client.poll(self.now, &mut self.wire.client_end(), &mut self.sockets);
        if served || client != PollResult::None || !self.wire.to_client.is_empty() || !self.wire.to_appliance.is_empty()
        {
            // Time passes a little, as it would on a wire.
            self.now += Duration::from_micros(10);
            return;
        }
        let next = [self.appliance.poll_at(self.now), self.client.poll_at(self.now, &self.sockets)]
            .into_iter()
            .flatten()
            .min();
        self.timer_waits += 1;
        self.now = match next {
            Some(at) if at > self.now => at,
            _ => self.now + Duration::from_micros(10),
        };
    }

    /// Turns until `done` holds.
    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        for _ in 0..STUCK_TURNS {
            if done(self) {
                return;
            }
            self.turn();
        }
        panic!("{what}: not reached in {STUCK_TURNS} turns (state {})", self.tcp().state());
    }

    /// Opens a new connection from a fresh local port.
    pub fn connect(&mut self) {
        if self.tcp().state() != State::Closed {
            self.tcp().abort();
            self.turn();
        }
        self.received.clear();
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
        let cx = self.client.context();
        let socket = self.sockets.get_mut::<tcp::Socket>(self.socket);
        socket.connect(cx, (IpAddress::Ipv4(SERVER_IP), 80), port).expect("connect");
        self.wait_for("connection established", |w| w.tcp().may_send());
    }

    /// Closes the connection and waits until both ends are done with it.
    pub fn close(&mut self) {
        self.tcp().close();
        self.wait_for("connection closed", |w| matches!(w.tcp().state(), State::Closed | State::TimeWait));
        if self.tcp().state() == State::TimeWait {
            // Only when the client closed first; the next connection uses a new port.
            self.tcp().abort();
        }
    }

    /// Sends `GET target` (or `HEAD`).
    pub fn send_request(&mut self, method: &str, target: &str, keep_alive: bool) {
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let mut head = [0u8; 512];
        let len = {
            use std::io::Write as _;
            let mut cursor = std::io::Cursor::new(&mut head[..]);
            write!(
                cursor,
                "{method} {target} HTTP/1.1\r\nHost: 10.99.0.1\r\nUser-Agent: iPXE/1.21.1\r\nConnection: {connection}\r\n\r\n"
            )
            .expect("request fits");
            usize::try_from(cursor.position()).expect("small")
        };
        let mut sent = 0;
        self.wait_for("request sent", |w| {
            let socket = w.sockets.get_mut::<tcp::Socket>(w.socket);
            sent += socket.send_slice(&head[sent..len]).expect("send");
            sent == len
        });
    }

    /// Reads one whole response into `received` (which it leaves there).
    pub fn read_response(&mut self, expect_body: bool) -> Response {
        let mut response = None;
        self.wait_for("response", |w| {
            w.drain();
            response = parse_whole(&w.received, expect_body);
            response.is_some()
        });
        response.expect("response")
    }

    /// Reads one response whose body is counted and dropped, not kept: for large files.
    pub fn read_response_streaming(&mut self) -> Response {
        let mut head = None;
        self.wait_for("response head", |w| {
            w.drain();
            head = parse_head(&w.received);
            head.is_some()
        });
        let (status, head_len, body_len) = head.expect("head");
        let mut body = self.received.len() - head_len;
        self.received.clear();
        self.wait_for("response body", |w| {
            let socket = w.sockets.get_mut::<tcp::Socket>(w.socket);
            while let Ok(read) = socket.recv(|bytes| (bytes.len(), bytes.len())) {
                if read == 0 {
                    break;
                }
                body += read;
            }
            body >= body_len
        });
        assert_eq!(body, body_len, "more body than Content-Length");
        Response { status, head_len, body_len }
    }

    /// One request on the open connection; the response is consumed.
    pub fn exchange(&mut self, target: &str, keep_alive: bool) -> Response {
        self.send_request("GET", target, keep_alive);
        let response = self.read_response(true);
        self.received.drain(..response.head_len + response.body_len);
        response
    }

    /// Connect, `GET target` with `Connection: close`, read the whole response, close.
    pub fn exchange_on_new_connection(&mut self, target: &str) -> Response {
        self.connect();
        let response = self.exchange(target, false);
        self.close();
        response
    }

    fn drain(&mut self) {
        let socket = self.sockets.get_mut::<tcp::Socket>(self.socket);
        let received = &mut self.received;
        while let Ok(read) = socket.recv(|bytes| {
            received.extend_from_slice(bytes);
            (bytes.len(), bytes.len())
        }) {
            if read == 0 {
                break;
            }
        }
    }
}

/// Status, head length and `Content-Length` once a whole head is in `bytes`.
fn parse_head(bytes: &[u8]) -> Option<(u16, usize, usize)> {
    let head = ResponseHead::parse(bytes).expect("HTTP response")?;
    Some((head.status, head.len, head.content_length().expect("Content-Length")))
}

/// The whole response, once it is all in `bytes`.
fn parse_whole(bytes: &[u8], expect_body: bool) -> Option<Response> {
    let (head, body) = parse_response(bytes, !expect_body).expect("HTTP response")?;
    Some(Response { status: head.status, head_len: head.len, body_len: body.len() })
}
