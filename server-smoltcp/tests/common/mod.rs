//! Test harness: the appliance and a client on a second smoltcp interface, joined by
//! an in-memory Ethernet link, with a virtual clock.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod autoconf;
pub mod lan;
pub mod link;
pub mod log_capture;
pub mod memory_files;
pub mod storm;

use std::path::{Path, PathBuf};

use ipxe_config::{load, Config, Inventory, InventoryStorage, NodeRecord, PortRecord};
use ipxe_config_server::host::{leak_file_slots, leak_storage, DirectoryFiles};
use ipxe_config_server::{Appliance, DhcpSettings, OpenFiles, Settings, StorageSizes};
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

use link::Wire;

pub const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 99, 0, 1);
pub const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0x69, 0x70, 0x78, 0x65, 0x01]);
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(10, 99, 0, 50);
/// Node 1's PXE port in the shared fixture inventory.
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);
/// Node 1: deploying, BIOS, `ipmi`.
pub const DEPLOYING_NODE: &str = "00000001-0000-4000-8000-000000000001";
/// Node 6: `available`, which has nothing to boot (an error script).
pub const AVAILABLE_NODE: &str = "00000006-0000-4000-8000-000000000006";

/// A file of the workspace's shared `fixtures/`.
pub fn shared_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name)
}

/// A file of this crate's `tests/fixtures/`.
pub fn own_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Loads the shared inventory into storage that lives for the whole test.
pub fn shared_inventory() -> Inventory<'static> {
    let json = std::fs::read(shared_fixture("inventory.json")).expect("fixtures/inventory.json");
    let storage = InventoryStorage {
        nodes: Vec::leak(vec![NodeRecord::EMPTY; 64]),
        ports: Vec::leak(vec![PortRecord::EMPTY; 64]),
        strings: Vec::leak(vec![0; 64 * 1024]),
        string_index: Vec::leak(vec![0; 1024]),
    };
    load(&json, storage).expect("fixture inventory loads")
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
    pub sizes: StorageSizes,
    pub settings: Settings,
    pub client_sockets: usize,
    pub client_rx_bytes: usize,
    pub files: PathBuf,
    pub config: Config<'static>,
}

impl Options {
    pub fn new(test: &str) -> Self {
        let mut settings = Settings::new(SERVER_MAC, Ipv4Cidr::new(SERVER_IP, 24));
        settings.dhcp = Some(DhcpSettings::new(Ipv4Address::new(10, 99, 0, 100), Ipv4Address::new(10, 99, 0, 199)));
        Options {
            sizes: StorageSizes::DEFAULT,
            settings,
            client_sockets: 4,
            client_rx_bytes: 65536,
            files: scratch_dir(test),
            config: Config { base_url: Some("http://10.99.0.1"), ..Config::DEFAULT },
        }
    }
}

/// An HTTP response as the client read it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
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
    pub config: Config<'static>,
    pub now: Instant,
    pub files: PathBuf,
    next_port: u16,
}

impl Harness {
    pub fn new(options: Options) -> Self {
        let mut wire = Wire::new(512);
        let now = Instant::from_secs(1);
        let storage = leak_storage(&options.sizes);
        let source = DirectoryFiles::open(&options.files).expect("file root");
        let files = OpenFiles::new(source, leak_file_slots(options.sizes.connections));
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
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head_len) = response.parse(&self.pending[index]).expect("HTTP response") {
                let status = response.code.expect("status");
                let body_len = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap().parse::<usize>().unwrap())
                    .expect("Content-Length");
                let body_len = if expect_body { body_len } else { 0 };
                if self.pending[index].len() >= head_len + body_len {
                    return (status, head_len, body_len);
                }
            }
            let closed = !self.socket(index).may_recv();
            assert!(!closed, "connection closed mid-response: {:?}", String::from_utf8_lossy(&self.pending[index]));
            self.step();
        }
        panic!("no response");
    }

    /// Reads one response and removes it from `pending`.
    pub fn read_response(&mut self, index: usize, expect_body: bool) -> Response {
        let (status, head_len, body_len) = self.read_response_in_place(index, expect_body);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        parsed.parse(&self.pending[index]).unwrap();
        let headers =
            parsed.headers.iter().map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned())).collect();
        let body = self.pending[index][head_len..head_len + body_len].to_vec();
        self.pending[index].drain(..head_len + body_len);
        Response { status, headers, body }
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
