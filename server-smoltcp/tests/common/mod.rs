//! Test harness: the appliance and a client on a second smoltcp interface, joined by
//! an in-memory Ethernet link, with a virtual clock.
// Each test binary uses a different subset of these helpers and re-exports.
#![allow(dead_code, unused_imports)]

pub mod autoconf;
pub mod lan;
pub mod log_capture;
pub mod storm;

use std::path::{Path, PathBuf};

use ipxe_config::{Inventory, RenderConfig};
use ipxe_config_server::host::{leak_buffers, DirectoryFiles};
use ipxe_config_server::{Appliance, ApplianceCapacity, ApplianceSettings};
use ipxe_config_testkit::http::{parse_response, take_response};
use ipxe_config_testkit::link::Wire;
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Cidr};

// The kit's names, where the tests have always found them.
pub use ipxe_config_testkit::http::Response;
pub use ipxe_config_testkit::inventory::{shared_fixture, shared_inventory};
pub use ipxe_config_testkit::net::{CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC};

/// Node 1: deploying, BIOS, `ipmi`.
pub const DEPLOYING_NODE: &str = "00000001-0000-4000-8000-000000000001";
/// Node 6: `available`, which has nothing to boot (an error script).
pub const AVAILABLE_NODE: &str = "00000006-0000-4000-8000-000000000006";

/// A file of this crate's `tests/fixtures/`.
pub fn own_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A fresh, empty directory for one test's files.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipxe-config-server-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// What to build.
pub struct Options {
    pub sizes: ApplianceCapacity,
    pub settings: ApplianceSettings,
    pub client_sockets: usize,
    pub client_rx_bytes: usize,
    pub files: PathBuf,
    pub config: RenderConfig<'static>,
}

impl Options {
    pub fn new(test: &str) -> Self {
        Options {
            sizes: ApplianceCapacity::DEFAULT,
            settings: ipxe_config_testkit::net::settings(),
            client_sockets: 4,
            client_rx_bytes: 65536,
            files: scratch_dir(test),
            config: ipxe_config_testkit::net::CONFIG,
        }
    }
}

/// The appliance, the client and the wire between them.
pub struct Harness {
    pub wire: Wire,
    pub appliance: Appliance<'static, DirectoryFiles>,
    pub client: Interface,
    pub client_sockets: SocketSet<'static>,
    pub handles: Vec<SocketHandle>,
    /// Bytes received and not yet consumed, per client socket.
    pub pending: Vec<Vec<u8>>,
    pub inventory: Inventory<'static>,
    pub config: RenderConfig<'static>,
    pub now: Instant,
    pub files: PathBuf,
    next_port: u16,
}

impl Harness {
    pub fn new(options: Options) -> Self {
        let mut wire = Wire::new(512);
        let now = Instant::from_secs(1);
        let source = DirectoryFiles::open(&options.files).expect("file root");
        let (storage, files) = leak_buffers(&options.sizes, source);
        let appliance =
            Appliance::new(options.settings, storage, files, &mut wire.appliance_end(), now).expect("appliance set-up");

        let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(CLIENT_MAC));
        config.random_seed = 7;
        let mut client = Interface::new(config, &mut wire.client_end(), now);
        client.update_ip_addrs(|addresses| {
            addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(CLIENT_IP, 24))).unwrap();
        });
        let storage: &'static mut [SocketStorage<'static>] =
            Box::leak((0..options.client_sockets).map(|_| SocketStorage::EMPTY).collect());
        let mut client_sockets = SocketSet::new(storage);
        let handles = (0..options.client_sockets)
            .map(|_| {
                let rx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; options.client_rx_bytes]));
                let tx = tcp::SocketBuffer::new(Vec::leak(vec![0u8; 16384]));
                client_sockets.add(tcp::Socket::new(rx, tx))
            })
            .collect();
        Harness {
            wire,
            appliance,
            client,
            client_sockets,
            handles,
            pending: (0..options.client_sockets).map(|_| Vec::with_capacity(1 << 16)).collect(),
            inventory: shared_inventory(),
            config: options.config,
            now,
            files: options.files,
            next_port: 49152,
        }
    }

    /// Polls the appliance only (frames to the client stay on the wire).
    pub fn poll_appliance(&mut self) {
        self.appliance.poll(self.now, &mut self.wire.appliance_end(), &self.inventory, &self.config);
    }

    /// Polls both sides, drains the client sockets and advances the clock by 1 ms.
    pub fn step(&mut self) {
        self.poll_appliance();
        self.client.poll(self.now, &mut self.wire.client_end(), &mut self.client_sockets);
        self.drain_sockets();
        self.now += Duration::from_millis(1);
    }

    /// Moves the clock forward, then steps.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.step();
    }

    fn drain_sockets(&mut self) {
        for (handle, pending) in self.handles.iter().zip(self.pending.iter_mut()) {
            let socket = self.client_sockets.get_mut::<tcp::Socket>(*handle);
            while socket.can_recv() {
                let _ = socket.recv(|bytes| {
                    pending.extend_from_slice(bytes);
                    (bytes.len(), ())
                });
            }
        }
    }

    pub fn socket(&mut self, index: usize) -> &mut tcp::Socket<'static> {
        self.client_sockets.get_mut::<tcp::Socket>(self.handles[index])
    }

    /// Opens a new connection on client socket `index` (aborting what it had).
    pub fn connect(&mut self, index: usize) {
        self.start_connect(index);
        self.run_until(5000, |h| h.socket(index).may_send());
    }

    /// Starts a connection without waiting for it.
    pub fn start_connect(&mut self, index: usize) {
        self.pending[index].clear();
        let port = self.next_port;
        self.next_port = self.next_port.wrapping_add(1).max(49152);
        let handle = self.handles[index];
        let socket = self.client_sockets.get_mut::<tcp::Socket>(handle);
        socket.abort();
        // Let the abort go out before reusing the socket.
        self.client.poll(self.now, &mut self.wire.client_end(), &mut self.client_sockets);
        let socket = self.client_sockets.get_mut::<tcp::Socket>(handle);
        socket.connect(self.client.context(), (IpAddress::Ipv4(SERVER_IP), 80), port).expect("connect");
    }

    /// Steps until `done` holds; panics after `limit` steps.
    pub fn run_until(&mut self, limit: usize, mut done: impl FnMut(&mut Self) -> bool) {
        for _ in 0..limit {
            if done(self) {
                return;
            }
            self.step();
        }
        assert!(done(self), "condition not reached in {limit} steps");
    }

    /// Sends all of `bytes` on connection `index`.
    pub fn send(&mut self, index: usize, bytes: &[u8]) {
        let mut sent = 0;
        for _ in 0..100_000 {
            if sent == bytes.len() {
                return;
            }
            sent += self.socket(index).send_slice(&bytes[sent..]).expect("send");
            self.step();
        }
        panic!("could not send {} bytes", bytes.len());
    }

    /// Reads one response head and its body (none for `HEAD`), without allocating:
    /// returns the status, the head length and the body length, still in `pending`.
    pub fn read_response_in_place(&mut self, index: usize, expect_body: bool) -> (u16, usize, usize) {
        for _ in 0..1_000_000 {
            match parse_response(&self.pending[index], !expect_body) {
                Ok(Some((head, body))) => return (head.status, head.len, body.len()),
                Ok(None) => {}
                Err(error) => panic!("HTTP response: {error}"),
            }
            let closed = !self.socket(index).may_recv();
            assert!(!closed, "connection closed mid-response: {:?}", String::from_utf8_lossy(&self.pending[index]));
            self.step();
        }
        panic!("no response");
    }

    /// Reads one response and removes it from `pending`.
    pub fn read_response(&mut self, index: usize, expect_body: bool) -> Response {
        self.read_response_in_place(index, expect_body);
        take_response(&mut self.pending[index], !expect_body).expect("a whole response")
    }

    /// `GET target` on connection `index` (keep-alive).
    pub fn get(&mut self, index: usize, target: &str) -> Response {
        let request = format!("GET {target} HTTP/1.1\r\nHost: 10.99.0.1\r\nConnection: keep-alive\r\n\r\n");
        self.send(index, request.as_bytes());
        self.read_response(index, true)
    }

    /// Whether connection `index` was closed by the appliance (FIN received).
    pub fn closed_by_server(&mut self, index: usize) -> bool {
        let socket = self.socket(index);
        !socket.may_recv()
    }

    /// Writes a file under the appliance's file root.
    pub fn write_file(&self, path: &str, contents: &[u8]) {
        let full = self.files.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files);
    }
}
