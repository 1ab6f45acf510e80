//! Arbitrary bytes as the content of one TCP stream to a real `Appliance`, from a smoltcp
//! client interface over an in-memory Ethernet link, with a virtual clock.
//!
//! The first input byte is the plan, the rest the stream:
//!
//! | bits | meaning |
//! |---|---|
//! | 0–1 | segments the stream is cut into, minus one (equal parts, each sent and delivered before the next) |
//! | 2 | 0: the client closes its side (FIN) after the last byte; 1: it stays open, so the server's timeouts end the exchange |
//! | 3–4 | pause between segments: 1 ms, 300 ms, 3 s or 11 s (past the 10 s request deadline) |
//! | 5–7 | ignored |
//!
//! The client reads every response byte until the server closes the connection, which it
//! must do within two minutes (virtual) of the client's last byte. Then:
//!
//! - each response starts `HTTP/1.1 `, a 3-digit status and a space, and parses as a head
//!   with `Content-Type` and `Content-Length`; its body is whole;
//! - no status is 5xx (the one legitimate 500, a script larger than the response buffer,
//!   cannot happen: the buffers are checked against every script at start-up), and every
//!   status is one the server documents (200, 400, 404, 405, 408, 414, 431);
//! - a 200 body is a script starting `#!ipxe` (`Cache-Control: no-store`) or exactly one of
//!   the file source's files; an error body is one short line; a 405 says `Allow`;
//! - nothing follows a `Connection: close` response;
//! - a fresh connection's `GET /boot.ipxe` then gets a 200 and a script, no file is left
//!   open, and the appliance logged no error.

#![no_main]

mod common;

use std::sync::OnceLock;

use ipxe_config::{render, Route};
use ipxe_config_server::http::response::HEAD_RESERVE;
use ipxe_config_server::{Appliance, ApplianceBuffers, ApplianceSettings};
use libfuzzer_sys::fuzz_target;
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Cidr};

use common::{errors_logged, install_logger, wire};
use ipxe_config_testkit::files::StaticFiles;
use ipxe_config_testkit::http::{parse_response, ResponseHead};
use ipxe_config_testkit::inventory::shared_inventory;
use ipxe_config_testkit::link::Wire;
use ipxe_config_testkit::net::{CLIENT_IP, CLIENT_MAC, CONFIG, SERVER_CIDR, SERVER_IP, SERVER_MAC};

/// Two slots: the fuzzed connection may hold one in any state, the check after it
/// takes the other.
const CONNECTIONS: usize = 2;
const TCP_RX_BYTES: usize = 4096;
const TCP_TX_BYTES: usize = 4096;
/// Holds every script of the fixture inventory with room to spare (see [`check_response_buffer`]).
const RESPONSE_BYTES: usize = 8192;
/// No DHCP leases: the fuzzed stream is HTTP only. The request scratch is a receive
/// buffer's size, as the owned buffers make it.
type Buffers<'a> = ApplianceBuffers<'a, StaticFiles, CONNECTIONS, TCP_RX_BYTES, TCP_TX_BYTES, RESPONSE_BYTES, 0>;
/// Longer inputs are cut here: past the 4 KiB head limit nothing new happens.
const MAX_STREAM: usize = 16 * 1024;

/// The server answers with these only (`RequestError`, `RouteError`, files, 405, 408).
const STATUSES: [u16; 7] = [200, 400, 404, 405, 408, 414, 431];

/// Rounds of polling at one instant before the clock moves regardless.
const SETTLE_ROUNDS: usize = 64;

/// How long the server may take to end the exchange after the client's last byte: its
/// longest timer is the 30 s idle timeout, twice (closing, then resetting a peer that
/// never finishes the close).
const EXCHANGE_LIMIT: Duration = Duration::from_secs(120);

/// The boot artifacts served. Neither starts with `H`, so a body cannot be mistaken for
/// the next response's status line; the kernel is longer than the send buffer, so it
/// goes out over several polls.
static FILES: [(&str, &[u8]); 2] = [("hello.txt", b"hello from the fuzz file source\n"), ("ipa.kernel", &KERNEL)];
const KERNEL: [u8; 9000] = kernel();

const fn kernel() -> [u8; 9000] {
    let (mut bytes, mut index, mut value) = ([0u8; 9000], 0, 3u8);
    while index < bytes.len() {
        bytes[index] = value;
        // `value + 7` modulo 251, a prime, so the pattern does not repeat every 256 bytes.
        value = if value >= 244 { value - 244 } else { value + 7 };
        index += 1;
    }
    bytes
}

/// How the stream is sent.
#[derive(Debug, Clone, Copy)]
struct Plan {
    segments: usize,
    client_closes: bool,
    pause: Duration,
}

impl Plan {
    fn new(byte: u8) -> Self {
        Plan {
            segments: 1 + usize::from(byte & 0b11),
            client_closes: byte & 0b100 == 0,
            pause: match (byte >> 3) & 0b11 {
                0 => Duration::from_millis(1),
                1 => Duration::from_millis(300),
                2 => Duration::from_secs(3),
                _ => Duration::from_secs(11),
            },
        }
    }
}

/// The appliance, the client and the link, at one virtual time.
struct Network<'a> {
    now: Instant,
    wire: Wire,
    appliance: Appliance<'a, StaticFiles>,
    client: Interface,
    sockets: SocketSet<'a>,
    handles: [SocketHandle; CONNECTIONS],
    /// Bytes each client socket received.
    received: [Vec<u8>; CONNECTIONS],
}

impl<'a> Network<'a> {
    fn socket(&mut self, index: usize) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.handles[index])
    }

    /// Polls both ends at the current time until no frame moves.
    fn settle(&mut self) {
        for _ in 0..SETTLE_ROUNDS {
            let sent = self.wire.frames_sent();
            self.appliance.poll(self.now, &mut self.wire.appliance_end(), &shared_inventory(), &CONFIG);
            self.client.poll(self.now, &mut self.wire.client_end(), &mut self.sockets);
            self.drain();
            let busy = self.appliance.poll_at(self.now).is_some_and(|at| at <= self.now);
            if self.wire.frames_sent() == sent && !busy {
                return;
            }
        }
    }

    /// Moves the clock to the next timer of either end (at least 1 ms on, at most to
    /// `until`) and polls.
    fn advance(&mut self, until: Instant) {
        let next = [self.appliance.poll_at(self.now), self.client.poll_at(self.now, &self.sockets)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until)
            .min(until)
            .max(self.now + Duration::from_millis(1));
        self.now = next;
        self.settle();
    }

    /// Lets `pause` pass, polling at every timer on the way.
    fn wait(&mut self, pause: Duration) {
        let until = self.now + pause;
        while self.now < until {
            self.advance(until);
        }
    }

    fn drain(&mut self) {
        for (handle, received) in self.handles.iter().zip(self.received.iter_mut()) {
            let socket = self.sockets.get_mut::<tcp::Socket>(*handle);
            while socket.can_recv() {
                let _ = socket.recv(|bytes| {
                    received.extend_from_slice(bytes);
                    (bytes.len(), ())
                });
            }
        }
    }

    /// Connects client socket `index` from `port`; panics if the handshake fails.
    fn connect(&mut self, index: usize, port: u16) {
        let handle = self.handles[index];
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if let Err(error) = socket.connect(self.client.context(), (IpAddress::Ipv4(SERVER_IP), 80), port) {
            panic!("client connect: {error}");
        }
        let until = self.now + Duration::from_secs(5);
        self.settle();
        while self.socket(index).state() != tcp::State::Established {
            assert!(self.now < until, "no handshake with the appliance within 5 s: {}", self.socket(index).state());
            self.advance(until);
        }
    }

    /// Sends `bytes` on socket `index` as the window allows. Stops early if the server
    /// ends the connection; panics if it neither reads nor ends it.
    fn send(&mut self, index: usize, bytes: &[u8]) {
        let mut sent = 0;
        let until = self.now + EXCHANGE_LIMIT;
        while sent < bytes.len() {
            let socket = self.socket(index);
            if !socket.may_send() {
                return;
            }
            let taken = socket.send_slice(&bytes[sent..]).unwrap_or(0);
            sent += taken;
            self.settle();
            if taken == 0 {
                assert!(
                    self.now < until,
                    "the appliance neither read {} more bytes nor ended the connection in {} s",
                    bytes.len() - sent,
                    EXCHANGE_LIMIT.secs()
                );
                self.advance(until);
            }
        }
    }
}

/// The chain script and every node's script of the fixture inventory fit the response
/// buffer with room for the head and a maximal request target (the by-MAC scripts differ
/// from the by-UUID ones by less), so a 500 ("script larger than the response buffer")
/// is a finding, never the configuration. Checked once per run.
fn check_response_buffer() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let inventory = &shared_inventory();
        let mut routes = vec![Route::ChainScript];
        for node in inventory.nodes() {
            let target = format!("/v1/drivers/any/vendor_passthru/ipxe_config?node_uuid={}", node.uuid());
            match Route::parse(target.as_bytes()) {
                Ok(route) => routes.push(route),
                Err(error) => panic!("{target}: {error:?}"),
            }
        }
        let budget = RESPONSE_BYTES - HEAD_RESERVE - ipxe_config::route::MAX_TARGET;
        let mut out = vec![0u8; 64 * 1024];
        for route in &routes {
            let needed = match render(inventory, &CONFIG, route, &mut out) {
                Ok(rendered) => rendered.len,
                Err(short) => short.needed,
            };
            assert!(needed <= budget, "a {needed}-byte script for {route:?}: raise RESPONSE_BYTES");
        }
    });
}

fuzz_target!(|input: &[u8]| {
    let Some((&plan, stream)) = input.split_first() else { return };
    install_logger();
    check_response_buffer();
    exchange(Plan::new(plan), &stream[..stream.len().min(MAX_STREAM)]);
});

fn exchange(plan: Plan, stream: &[u8]) {
    let errors_before = errors_logged();
    // Fresh buffers on the stack each input (about 50 KiB): nothing is allocated, and a
    // `static` would not do, as `split` lends buffers out for their whole life (once).
    let mut buffers = Buffers::new();
    let mut settings = ApplianceSettings::new(SERVER_MAC, SERVER_CIDR);
    settings.router_advertisements = false;
    settings.random_seed = 0x5eed;
    let now = Instant::from_secs(1);
    let mut wire = wire();
    // The server's open-file table gives each response its own `SliceFile`; that every one
    // is given back is checked at the end.
    let (storage, files) = buffers.split(StaticFiles::new(&FILES));
    let appliance = match Appliance::new(settings, storage, files, &mut wire.appliance_end(), now) {
        Ok(appliance) => appliance,
        Err(error) => panic!("appliance set-up: {error}"),
    };

    let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(CLIENT_MAC));
    config.random_seed = 7;
    let mut client = Interface::new(config, &mut wire.client_end(), now);
    client.update_ip_addrs(|addresses| {
        let _ = addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(CLIENT_IP, 24)));
    });
    let mut client_table: [SocketStorage<'_>; CONNECTIONS] = core::array::from_fn(|_| SocketStorage::EMPTY);
    let mut client_buffers: Vec<Vec<u8>> = (0..2 * CONNECTIONS).map(|_| vec![0u8; 16 * 1024]).collect();
    let mut sockets = SocketSet::new(&mut client_table[..]);
    let mut buffers = client_buffers.iter_mut();
    let handles = core::array::from_fn(|_| {
        let (Some(rx), Some(tx)) = (buffers.next(), buffers.next()) else { unreachable!() };
        let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(&mut rx[..]), tcp::SocketBuffer::new(&mut tx[..]));
        // Each segment of the plan goes out as sent, not held back for the previous ACK.
        socket.set_nagle_enabled(false);
        sockets.add(socket)
    });
    let mut net = Network {
        now,
        wire,
        appliance,
        client,
        sockets,
        handles,
        received: [Vec::with_capacity(16 * 1024), Vec::new()],
    };

    net.connect(0, 49152);
    let parts = plan.segments.min(stream.len().max(1));
    for part in 0..parts {
        let segment = &stream[stream.len() * part / parts..stream.len() * (part + 1) / parts];
        net.send(0, segment);
        if part + 1 < parts {
            net.wait(plan.pause);
        }
    }
    if plan.client_closes {
        net.socket(0).close();
    }
    let until = net.now + EXCHANGE_LIMIT;
    while net.socket(0).may_recv() {
        assert!(
            net.now < until,
            "the appliance kept the connection open {} s after the client's last byte ({})",
            EXCHANGE_LIMIT.secs(),
            net.socket(0).state()
        );
        net.advance(until);
    }
    // The client finishes its side too, so the server's socket can go back to listening.
    net.socket(0).close();
    net.settle();

    let stream_has_head = stream.windows(4).any(|window| window == b"HEAD");
    check_responses(&net.received[0], stream_has_head);

    // The appliance still serves a well-behaved client.
    net.connect(1, 49153);
    net.send(1, b"GET /boot.ipxe HTTP/1.1\r\nConnection: keep-alive\r\nUser-Agent: iPXE/1.0.0+git-20190125.36a4c85-5.1\r\nHost: 10.99.0.1\r\n\r\n");
    let until = net.now + Duration::from_secs(10);
    let (status, body) = loop {
        if let Some(response) = whole_response(&net.received[1]) {
            break response;
        }
        assert!(net.now < until, "no answer to GET /boot.ipxe on a fresh connection within 10 s");
        net.advance(until);
    };
    assert_eq!(status, 200, "GET /boot.ipxe on a fresh connection after the fuzzed one");
    assert!(body.starts_with(b"#!ipxe\n"), "GET /boot.ipxe: {}", String::from_utf8_lossy(&body));

    assert_eq!(net.appliance.files_mut().open_count(), 0, "file handles left open");
    assert_eq!(errors_logged(), errors_before, "the appliance logged an error (printed above)");
    assert_eq!(net.wire.dropped(), 0, "the test link dropped a frame: give it more slots");
}

/// The status and body of the first response in `bytes`, once all of it is there.
fn whole_response(bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let (head, body) = parse_response(bytes, false).ok()??;
    Some((head.status, body.to_vec()))
}

/// Checks every response of the fuzzed connection (see the module docs).
///
/// A `HEAD` response carries the `Content-Length` of the `GET` but no body; it is told
/// apart by what follows its head: the next status line or the end of the stream (no
/// body here starts with `HTTP/`). At the end of the stream that is only accepted when
/// the client sent a `HEAD` at all: otherwise the body was cut short.
fn check_responses(stream: &[u8], client_sent_head: bool) {
    let shown = || String::from_utf8_lossy(stream).into_owned();
    let mut rest = stream;
    let mut closed = false;
    while !rest.is_empty() {
        assert!(!closed, "bytes after a `Connection: close` response:\n{}", shown());
        assert!(rest.starts_with(b"HTTP/1.1 "), "a response does not start `HTTP/1.1 `:\n{}", shown());
        let status = match rest.get(9..13) {
            Some([a, b, c, b' ']) if [a, b, c].iter().all(|digit| digit.is_ascii_digit()) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => panic!("no 3-digit status after `HTTP/1.1 `:\n{}", shown()),
        };
        assert!(status < 500, "status {status} for a client's bytes:\n{}", shown());
        assert!(STATUSES.contains(&status), "status {status} is not one the server documents:\n{}", shown());
        let head = match ResponseHead::parse(rest) {
            Ok(Some(head)) => head,
            other => panic!("response head {other:?}:\n{}", shown()),
        };
        let Some(length) = head.content_length() else { panic!("no valid Content-Length:\n{}", shown()) };
        let Some(content_type) = head.header("content-type") else { panic!("no Content-Type:\n{}", shown()) };
        closed = head.header("connection").is_some_and(|value| value.eq_ignore_ascii_case(b"close"));
        let after_head = &rest[head.len..];
        if length > 0 && (after_head.is_empty() || after_head.starts_with(b"HTTP/")) {
            assert!(!after_head.is_empty() || client_sent_head, "body cut short (no HEAD was sent):\n{}", shown());
            rest = after_head;
            continue;
        }
        let Some(body) = after_head.get(..length) else {
            panic!("body of {} bytes where Content-Length says {length}:\n{}", after_head.len(), shown())
        };
        match status {
            200 if content_type == b"text/plain" && body.starts_with(b"#!ipxe\n") => {
                assert_eq!(head.header("cache-control"), Some(&b"no-store"[..]), "script without no-store");
            }
            200 => assert!(
                FILES.iter().any(|(_, contents)| *contents == body),
                "200 with a body that is neither a script nor a file:\n{}",
                shown()
            ),
            _ => {
                assert_eq!(content_type, b"text/plain", "error body type:\n{}", shown());
                let line_ok = body.ends_with(b"\n")
                    && body.len() <= 128
                    && body[..body.len() - 1].iter().all(|&byte| byte.is_ascii_graphic() || byte == b' ');
                assert!(line_ok, "error body is not one short line:\n{}", shown());
                if status == 405 {
                    assert_eq!(head.header("allow"), Some(&b"GET, HEAD"[..]), "405 without Allow");
                }
            }
        }
        rest = &after_head[length..];
    }
}
